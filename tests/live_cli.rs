//! The `cinder-snapshots` tool against the real local cloud (scripts/live-tests): every
//! command, its JSON and its exit codes, and the token cache across runs. Ignored by plain
//! `cargo test`; needs the admin's OS_* variables in the environment.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cinder_snapshots::{Request, ServiceClient, snapshots};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

/// A private token cache directory, and what the test made, removed at the end.
struct Scratch {
    admin: ServiceClient,
    cache: PathBuf,
    volumes: Mutex<Vec<String>>,
    snapshots: Mutex<Vec<String>>,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let cache = std::env::temp_dir().join(format!("cinder-snapshots-live-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        Scratch {
            admin: ServiceClient::from_env().expect("the admin's OS_* variables"),
            cache,
            volumes: Mutex::default(),
            snapshots: Mutex::default(),
        }
    }

    /// Runs the tool with the environment's OS_* variables and the private cache.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("XDG_CACHE_HOME", &self.cache).output().expect("run the tool")
    }

    /// Runs the tool and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }

    fn volume(&self) -> String {
        let v: Value = self
            .admin
            .send(Request::post(["volumes"]).json(json!({"volume": {"size": 1, "name": "live-cli"}})))
            .unwrap()
            .json("volume")
            .unwrap();
        let id = v["volume"]["id"].as_str().expect("volume id").to_owned();
        self.volumes.lock().unwrap().push(id.clone());
        let start = Instant::now();
        loop {
            let v: Value = self.admin.send(Request::get(["volumes", id.as_str()])).unwrap().json("volume").unwrap();
            if v["volume"]["status"] == "available" {
                return id;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "volume {id} not available: {v}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn created(&self, snapshot: &Value) -> String {
        let id = snapshot["id"].as_str().expect("id").to_owned();
        self.snapshots.lock().unwrap().push(id.clone());
        id
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let quick = snapshots::WaitOpts::new().timeout(Duration::from_secs(60)).initial_interval(Duration::from_millis(200));
        for id in self.snapshots.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = snapshots::force_delete(&self.admin, id);
            let _ = snapshots::wait_for_delete(&self.admin, id, &quick);
        }
        for id in self.volumes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = self.admin.send(Request::delete(["volumes", id.as_str()]));
        }
        let _ = std::fs::remove_dir_all(&self.cache);
    }
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn every_command_against_the_real_cloud() {
    let s = Scratch::new("commands");
    let volume = s.volume();
    let name = format!("live-cli-{}", std::process::id());

    let created = s.json(&["create", "--volume", &volume, "--property", "tier=gold", "--description", "from the tool", "--wait", &name]);
    let id = s.created(&created);
    assert_eq!(created["status"], "available");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["metadata"], json!({"tier": "gold"}));
    assert_eq!(created["volume_id"], volume.as_str());
    assert!(created["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{created}");

    let listed = s.json(&["list", "--volume", &volume]);
    assert_eq!(listed.as_array().map(|a| a.iter().map(|s| s["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));
    let table = s.ok(&["list", "--long", "--property", "tier=gold", "--name", &name]);
    assert!(table.contains(&id) && table.contains("tier='gold'") && table.contains("Created At"), "{table}");
    assert_eq!(s.json(&["list", "--name", "no-such-snapshot-name"]), json!([]));

    assert_eq!(s.json(&["show", &id])["id"], id.as_str());
    assert_eq!(s.json(&["show", &name])["id"], id.as_str(), "by name");
    let shown = s.ok(&["show", &id]);
    assert!(shown.contains("| status") && shown.contains("available"), "{shown}");

    let updated = s.json(&["update", &id, "--description", "changed"]);
    assert_eq!(updated["description"], "changed");

    let merged = s.json(&["set-metadata", &id, "a=1", "b=two words"]);
    assert_eq!(merged, json!({"tier": "gold", "a": "1", "b": "two words"}));
    s.ok(&["unset-metadata", &id, "tier", "a"]);
    assert_eq!(s.json(&["show", &id])["metadata"], json!({"b": "two words"}));

    let waited = s.json(&["wait", &id, "--timeout", "60"]);
    assert_eq!(waited["status"], "available");

    s.ok(&["reset-status", &id, "--state", "error"]);
    assert_eq!(s.json(&["show", &id])["status"], "error");
    // Waiting for available on a snapshot in error ends with exit code 4.
    let out = s.run(&["wait", &id, "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("went to error"));
    s.ok(&["force-delete", &id]);
    s.ok(&["wait", &id, "--status", "deleted", "--timeout", "60"]);

    // delete --wait on a second snapshot.
    let out = s.run(&["--json", "create", "--volume", &volume, "--wait", &format!("{name}-2")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    let second_id = s.created(&second);
    // Not a terminal: one plain progress line per change, the last one `available`.
    let progress = String::from_utf8_lossy(&out.stderr);
    let last = progress.lines().last().unwrap_or_default();
    assert!(last.starts_with(&format!("{second_id} available ")), "{progress}");
    let out = s.run(&["delete", "--wait", "--wait-timeout", "60", &second_id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let out = s.run(&["show", &second_id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn errors_and_exit_codes() {
    let s = Scratch::new("errors");
    let out = s.run(&["show", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("cinder-snapshots: ") && err.contains("404") && err.contains("req-"), "{err}");

    let out = s.run(&["list", "--limit", "many"]);
    assert_eq!(out.status.code(), Some(2));
    let out = s.run(&["--os-password", "wrong-password", "--no-token-cache", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Keystone") && !err.contains("wrong-password"), "{err}");
    let out = s.run(&["--os-interface", "sideways", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OS_INTERFACE"));
}

/// Counts the token requests in `--debug` output.
fn token_requests(stderr: &[u8]) -> usize {
    String::from_utf8_lossy(stderr).lines().filter(|l| l.starts_with("debug: POST ") && l.contains("/auth/tokens")).count()
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn two_runs_make_one_keystone_request() {
    let s = Scratch::new("cache");
    let first = s.run(&["--debug", "list"]);
    let second = s.run(&["--debug", "list"]);
    assert!(first.status.success() && second.status.success());
    assert_eq!((token_requests(&first.stderr), token_requests(&second.stderr)), (1, 0));
    assert!(String::from_utf8_lossy(&second.stderr).contains("token cache"), "the second run used the cache");
    let files: Vec<PathBuf> = std::fs::read_dir(s.cache.join("cinder-snapshots")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let password = std::env::var("OS_PASSWORD").unwrap();
    assert!(!text.contains(&password), "the cache never holds the password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Without the cache, every run asks Keystone.
    let third = s.run(&["--debug", "--no-token-cache", "list"]);
    assert_eq!(token_requests(&third.stderr), 1);
}
