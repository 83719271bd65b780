//! The `cinder-snapshots` tool against the real local cloud: every command, its tables, its
//! JSON and its exit codes, the token cache across runs, and the scheduled job (`run` twice
//! in one window, the second creating nothing; `check` giving each of its exit codes).
//!
//! Ignored by plain `cargo test`. `scripts/live-tests` runs it with the admin's `OS_*`
//! variables in the environment and `MEMBER_ENV` naming the member's env file; by hand,
//! with the local cloud up (`scripts/local-cloud status`):
//!
//! ```sh
//! set -a; source .local-cloud/admin.env; set +a
//! MEMBER_ENV=.local-cloud/member.env cargo test --features cli --test live_cli -- --ignored --test-threads=1
//! ```
//!
//! Each test makes its own volume and snapshots and removes them when it ends, also when it
//! fails (the `Scratch` guard). Every run of the tool gets a private token cache directory.
#![cfg(feature = "cli")]

mod livecloud;

use livecloud::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cinder_snapshots::{Request, ServiceClient, ServiceClientBuilder, snapshots};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

/// A private token cache directory, and what the test made, removed at the end.
struct Scratch {
    admin: ServiceClient,
    cache: PathBuf,
    /// `OS_*` variables replacing the environment's in every run (the member's), if any.
    vars: Option<Vec<(String, String)>>,
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
            vars: None,
            volumes: Mutex::default(),
            snapshots: Mutex::default(),
        }
    }

    /// Runs the tool with the environment's OS_* variables (or the member's) and the private
    /// cache.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(BIN);
        command.args(args).env("XDG_CACHE_HOME", &self.cache);
        if let Some(vars) = &self.vars {
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("OS_") {
                    command.env_remove(k);
                }
            }
            command.envs(vars.iter().map(|(k, v)| (k, v)));
        }
        command.output().expect("run the tool")
    }

    /// Runs the tool and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Runs the tool with `--json` and expects success; returns what it printed.
    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(&[&["--json"], args].concat());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }

    /// Runs the tool and expects it to fail with `code`; returns stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", String::from_utf8_lossy(&out.stdout));
        err
    }

    /// A 1 GiB volume of the admin's, available.
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

    /// Notes a snapshot the tool made, for the clean-up; returns its id.
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

    // create --wait --json, with properties: the stable shape, available.
    let out = s.run(&[
        "--json",
        "create",
        "--volume",
        &volume,
        "--property",
        "tier=gold",
        "--property",
        "owner=cli",
        "--description",
        "from the tool",
        "--wait",
        "--wait-timeout",
        "120",
        &name,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let id = s.created(&created);
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "consumes_quota",
            "created_at",
            "description",
            "group_snapshot_id",
            "id",
            "metadata",
            "name",
            "progress",
            "project_id",
            "size",
            "status",
            "updated_at",
            "user_id",
            "volume_id"
        ]
    );
    assert_eq!(created["status"], "available");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["description"], "from the tool");
    assert_eq!(created["metadata"], json!({"tier": "gold", "owner": "cli"}));
    assert_eq!(created["volume_id"], volume.as_str());
    assert_eq!(created["size"], 1);
    assert!(created["created_at"].as_str().is_some_and(|t| t.len() == 27 && t.ends_with('Z')), "{created}");
    // Not a terminal: one plain progress line per change, the last one `available`.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.lines().next().is_some_and(|l| l.starts_with(&format!("{id} creating"))), "{progress}");
    assert!(progress.lines().last().is_some_and(|l| l.starts_with(&format!("{id} available "))), "{progress}");

    // list --json and list --long find it.
    let listed = s.json(&["list", "--volume", &volume]);
    assert_eq!(listed.as_array().map(|a| a.iter().map(|s| s["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));
    assert_eq!(listed[0], created, "list and create print the same object");
    let table = s.ok(&["list", "--long", "--property", "tier=gold", "--name", &name]);
    assert!(table.contains("| ID ") && table.contains("| Created At ") && table.contains("| Properties "), "{table}");
    let row = table.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("{id} in {table}"));
    assert!(row.contains(&volume) && row.contains("owner='cli', tier='gold'") && row.contains("| available |"), "{row}");
    assert_eq!(s.json(&["list", "--name", "no-such-snapshot-name"]), json!([]));
    assert_eq!(s.json(&["list", "--limit", "1"]).as_array().map(Vec::len), Some(1));

    // show by id and by name.
    let shown = s.json(&["show", &id]);
    assert_eq!(shown, created);
    assert_eq!(s.json(&["show", &name])["id"], id.as_str(), "by name");
    let table = s.ok(&["show", &name]);
    assert!(table.contains(&format!("| id                | {id} |")) && table.contains("| status            | available"), "{table}");

    // update, set-metadata, unset-metadata.
    let updated = s.json(&["update", &id, "--description", "changed"]);
    assert_eq!((updated["description"].as_str(), updated["name"].as_str()), (Some("changed"), Some(name.as_str())));
    let merged = s.json(&["set-metadata", &name, "a=1", "b=two words"]);
    assert_eq!(merged, json!({"tier": "gold", "owner": "cli", "a": "1", "b": "two words"}));
    assert_eq!(s.ok(&["unset-metadata", &id, "tier", "a"]), "");
    assert_eq!(s.json(&["show", &id])["metadata"], json!({"owner": "cli", "b": "two words"}));
    // A key that is not there: the other key is still removed, and the exit code says no.
    let err = s.fails(1, &["unset-metadata", &id, "no-such-key", "owner"]);
    assert!(err.contains("404") && err.contains("no-such-key"), "{err}");
    assert_eq!(s.json(&["show", &id])["metadata"], json!({"b": "two words"}));

    // wait for what it already is.
    let waited = s.json(&["wait", &id, "--timeout", "60"]);
    assert_eq!(waited["status"], "available");

    // reset-status (admin), then a wait that ends in failure: exit 4.
    assert_eq!(s.ok(&["reset-status", &id, "--state", "error"]), "");
    assert_eq!(s.json(&["show", &id])["status"], "error");
    let err = s.fails(4, &["wait", &id, "--timeout", "30"]);
    assert!(err.contains(&format!("cinder-snapshots: snapshot {id} went to error while waiting for available")), "{err}");
    assert_eq!(s.json(&["wait", &id, "--status", "error"])["status"], "error");

    // force-delete, and wait until it is gone.
    assert_eq!(s.ok(&["force-delete", &id]), "");
    assert_eq!(s.ok(&["wait", &id, "--status", "deleted", "--timeout", "60"]), "");
    let err = s.fails(1, &["show", &id]);
    assert!(err.starts_with("cinder-snapshots: GET ") && err.contains("404 itemNotFound"), "{err}");

    // delete --wait, by name, on a second snapshot.
    let second = s.json(&["create", "--volume", &volume, "--wait", &format!("{name}-2")]);
    let second_id = s.created(&second);
    let out = s.run(&["delete", "--wait", "--wait-timeout", "60", &format!("{name}-2")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let err = s.fails(1, &["show", &second_id]);
    assert!(err.contains("404"), "{err}");
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn errors_and_exit_codes() {
    let s = Scratch::new("errors");
    let missing = "00000000-0000-4000-8000-000000000000";
    let err = s.fails(1, &["show", missing]);
    assert!(
        err.starts_with("cinder-snapshots: GET ")
            && err.contains(&format!("answered HTTP 404 itemNotFound: Snapshot {missing} could not be found. (request id req-")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = s.fails(1, &["wait", missing]);
    assert!(err.contains("404"), "{err}");
    let err = s.fails(1, &["show", "no-such-snapshot-name"]);
    assert_eq!(err, "cinder-snapshots: not found: no snapshot is named \"no-such-snapshot-name\"\n");
    let err = s.fails(1, &["delete", missing]);
    assert!(err.contains("404"), "{err}");
    // Already gone is what `wait --status deleted` waits for.
    assert_eq!(s.ok(&["wait", missing, "--status", "deleted"]), "");

    let err = s.fails(2, &["list", "--limit", "many"]);
    assert!(err.ends_with("Try 'cinder-snapshots list --help'.\n"), "{err}");
    s.fails(2, &["reset-status", missing, "--state", "frozen"]);
    let err = s.fails(1, &["--os-password", "wrong-password", "--no-token-cache", "list"]);
    assert!(err.contains("authentication failed: Keystone refused the credentials") && !err.contains("wrong-password"), "{err}");
    let err = s.fails(1, &["--os-interface", "sideways", "list"]);
    assert!(err.contains("OS_INTERFACE"), "{err}");
    let err = s.fails(1, &["--os-auth-url", "http://127.0.0.1:9/v3", "--no-token-cache", "list"]);
    assert!(err.contains("127.0.0.1:9"), "{err}");
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn a_member_cannot_do_the_admin_actions() {
    let Ok(path) = std::env::var("MEMBER_ENV") else {
        panic!("MEMBER_ENV names the member's env file (scripts/live-tests sets it)");
    };
    let mut s = Scratch::new("member");
    let member_vars = read_env_file(&path);
    let member = ServiceClientBuilder::from_vars(member_vars.clone()).and_then(|b| b.build()).expect("the member's client");
    // The member's own snapshot, of the member's own volume.
    let v: Value = member
        .send(Request::post(["volumes"]).json(json!({"volume": {"size": 1, "name": "live-cli-member"}})))
        .unwrap()
        .json("volume")
        .unwrap();
    let volume = v["volume"]["id"].as_str().expect("volume id").to_owned();
    s.volumes.lock().unwrap().push(volume.clone());
    let start = Instant::now();
    while member.send(Request::get(["volumes", volume.as_str()])).unwrap().json::<Value>("volume").unwrap()["volume"]["status"]
        != "available"
    {
        assert!(start.elapsed() < Duration::from_secs(120), "volume {volume} not available");
        std::thread::sleep(Duration::from_millis(300));
    }
    s.vars = Some(member_vars);
    let snap = s.json(&["create", "--volume", &volume, "--wait", "member-snap"]);
    let id = s.created(&snap);
    assert_eq!(snap["status"], "available");
    let err = s.fails(1, &["reset-status", &id, "--state", "error"]);
    assert!(err.contains("answered HTTP 403"), "{err}");
    let err = s.fails(1, &["force-delete", &id]);
    assert!(err.contains("answered HTTP 403"), "{err}");
    assert_eq!(s.json(&["show", &id])["status"], "available", "nothing changed");
    assert_eq!(s.ok(&["delete", "--wait", &id]), "");
}

/// The token requests in `--debug` output.
fn token_requests(stderr: &[u8]) -> usize {
    String::from_utf8_lossy(stderr).lines().filter(|l| l.starts_with("debug: POST ") && l.contains("/auth/tokens ")).count()
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn two_runs_make_one_keystone_request() {
    let s = Scratch::new("cache");
    let first = s.run(&["--debug", "list"]);
    let second = s.run(&["--debug", "list"]);
    assert!(first.status.success() && second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!((token_requests(&first.stderr), token_requests(&second.stderr)), (1, 0));
    let second_log = String::from_utf8_lossy(&second.stderr);
    assert!(second_log.lines().any(|l| l.starts_with("debug: token cache ") && l.ends_with(": hit")), "{second_log}");
    let files: Vec<PathBuf> = std::fs::read_dir(s.cache.join("cinder-snapshots")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let password = std::env::var("OS_PASSWORD").unwrap();
    assert!(!text.contains(&password), "the cache never holds the password");
    for log in [&first.stderr, &second.stderr] {
        assert!(!String::from_utf8_lossy(log).contains(&password), "no password in --debug output");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Without the cache, every run asks Keystone.
    let third = s.run(&["--debug", "--no-token-cache", "list"]);
    let fourth = s.run(&["--debug", "--no-token-cache", "list"]);
    assert_eq!((token_requests(&third.stderr), token_requests(&fourth.stderr)), (1, 1));
}

impl Scratch {
    /// A 1 GiB volume of the admin's with the metadata item `backup=tag`, available.
    fn tagged_volume(&self, name: &str, tag: &str) -> String {
        let body = json!({"volume": {"size": 1, "name": name, "metadata": {"backup": tag}}});
        let v: Value = self.admin.send(Request::post(["volumes"]).json(body)).unwrap().json("volume").unwrap();
        let id = v["volume"]["id"].as_str().expect("volume id").to_owned();
        self.volumes.lock().unwrap().push(id.clone());
        let start = Instant::now();
        while self.admin.send(Request::get(["volumes", id.as_str()])).unwrap().json::<Value>("volume").unwrap()["volume"]["status"]
            != "available"
        {
            assert!(start.elapsed() < Duration::from_secs(120), "volume {id} not available");
            std::thread::sleep(Duration::from_millis(300));
        }
        id
    }

    /// The ids of the snapshots labelled with `policy` (all of them noted for the clean-up).
    fn policy_snapshots(&self, policy: &str) -> Vec<String> {
        let opts = snapshots::ListOpts::new().metadata("cinder-snapshots.policy", policy);
        let ids: Vec<String> = snapshots::list_detail(&self.admin, &opts).unwrap().map(|s| s.unwrap().id).collect();
        let mut noted = self.snapshots.lock().unwrap();
        for id in &ids {
            if !noted.contains(id) {
                noted.push(id.clone());
            }
        }
        ids
    }

    /// Runs the tool and expects exit `code`; returns stdout.
    fn exits(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }
}

/// The strings as `&str`s.
fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn run_twice_in_a_window_and_check_each_exit_code() {
    let s = Scratch::new("job");
    let tag = format!("live-cli-{}", std::process::id());
    let policy = format!("live-cli-{}", std::process::id());
    // Within the local cloud's default quotas (10 volumes, 10 snapshots), with room for the
    // three volumes and snapshots scripts/demo leaves.
    const N: usize = 6;
    let volumes: Vec<String> = (1..=N).map(|n| s.tagged_volume(&format!("{tag}-{n}"), &tag)).collect();
    let select = format!("backup={tag}");
    let check = |warn: &str, crit: &str| -> Vec<String> {
        ["check", "--select", &select, "--policy", &policy, "--warn", warn, "--crit", crit].map(str::to_owned).to_vec()
    };

    // Nothing made yet: CRITICAL.
    let line = s.exits(2, &args(&check("26h", "50h")));
    assert!(line.starts_with(&format!("CINDER-SNAPSHOTS CRITICAL - {N} volumes, {N} critical: ")), "{line}");
    assert!(line.contains(&format!(" volumes={N};;;0 ok=0;;;0 warning=0;;;0 critical={N};;;0 ")), "{line}");
    assert_eq!(line.lines().filter(|l| l.starts_with("CRITICAL ") && l.contains(": no snapshot, volume created ")).count(), N, "{line}");

    // The first run: one snapshot per volume, available, labelled.
    let run = ["run", "--select", &select, "--policy", &policy, "--keep-daily", "7", "--wait-timeout", "5min"];
    let report: Value = serde_json::from_str(&s.exits(0, &[&run[..], &["--json"]].concat())).expect("the JSON report");
    let made = s.policy_snapshots(&policy);
    assert_eq!(report["totals"]["created"], N, "{report}");
    assert_eq!(report["totals"]["available"], N, "{report}");
    assert_eq!(made.len(), N);
    let mut reported: Vec<String> =
        report["volumes"].as_array().unwrap().iter().map(|v| v["volume_id"].as_str().unwrap().to_owned()).collect();
    reported.sort();
    let mut want = volumes.clone();
    want.sort();
    assert_eq!(reported, want);

    // The second run in the same window creates nothing.
    let text = s.exits(0, &run);
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.starts_with(&format!("{N} volumes: 0 created, {N} reused, {N} available, 0 failed, 0 skipped; 0 pruned")), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("| reused ")).count(), N, "{text}");
    assert_eq!(s.policy_snapshots(&policy).len(), N, "no duplicate");

    // check: OK, WARNING, CRITICAL, UNKNOWN.
    let line = s.exits(0, &args(&check("26h", "50h")));
    assert!(
        line.starts_with(&format!("CINDER-SNAPSHOTS OK - {N} volumes, oldest "))
            && line.contains(&format!("volumes={N};;;0 ok={N};;;0 warning=0;;;0 critical=0;;;0")),
        "{line}"
    );
    let line = s.exits(1, &args(&check("0s", "1d")));
    assert!(
        line.starts_with("CINDER-SNAPSHOTS WARNING - ") && line.contains(&format!("ok=0;;;0 warning={N};;;0 critical=0;;;0")),
        "{line}"
    );
    let line = s.exits(2, &args(&check("0s", "0s")));
    assert!(line.starts_with("CINDER-SNAPSHOTS CRITICAL - ") && line.contains(&format!("critical={N};;;0")), "{line}");
    let line = s.exits(3, &["check", "--select", "backup=no-such-tag", "--policy", &policy, "--warn", "1h", "--crit", "2h"]);
    assert!(line.starts_with("CINDER-SNAPSHOTS UNKNOWN - no volume selected"), "{line}");
    let healthy = check("26h", "50h");
    let unreachable = [&["--os-auth-url", "http://127.0.0.1:9/v3", "--no-token-cache"][..], &args(&healthy)].concat();
    let line = s.exits(3, &unreachable);
    assert!(line.starts_with("CINDER-SNAPSHOTS UNKNOWN - ") && line.contains("127.0.0.1:9"), "{line}");
}

/// The formats of issue 23 on what the real Cinder 29 answers: `-f yaml` reads back as the
/// `--json` listing, `--os-compat` has the `openstack` command's keys with the same values,
/// `-f shell` reads back in a real shell, `--sort-column` orders the rows.
#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
#[cfg(feature = "clouds-yaml")]
fn formats_against_the_real_cloud() {
    let s = Scratch::new("formats");
    let volume = s.volume();
    let hostile = format!("live-cli: a # \"b\" 'c' $(touch PWNED) `x` yes ünï {}", std::process::id());
    let quick = snapshots::WaitOpts::new().timeout(Duration::from_secs(120)).initial_interval(Duration::from_millis(300));
    let mut ids = Vec::new();
    for name in [hostile.as_str(), "live-cli-b", "live-cli-a"] {
        let opts = snapshots::CreateOpts::new(&volume).name(name).metadata("k", "v: # \"w\"").metadata("yes", "null");
        let id = snapshots::create(&s.admin, &opts).expect("create").id;
        s.snapshots.lock().unwrap().push(id.clone());
        snapshots::wait_for_status(&s.admin, &id, snapshots::SnapshotStatus::Available, &quick).expect("available");
        ids.push(id);
    }
    let json = s.json(&["list", "--volume", &volume]);
    let yaml: Value = yaml_serde::from_str(&s.ok(&["list", "--volume", &volume, "--long", "-f", "yaml"])).expect("YAML");
    assert_eq!(yaml, json);
    assert_eq!(json.as_array().map(Vec::len), Some(3));
    // --os-compat: the openstack command's keys, the same values.
    let compat = s.ok(&["list", "--volume", &volume, "--long", "-f", "json", "--os-compat"]);
    let compat: Value = serde_json::from_str(&compat).expect("JSON");
    for (ours, theirs) in json.as_array().unwrap().iter().zip(compat.as_array().unwrap()) {
        let pairs = [
            ("id", "ID"),
            ("name", "Name"),
            ("description", "Description"),
            ("status", "Status"),
            ("size", "Size"),
            ("created_at", "Created At"),
            ("volume_id", "Volume"),
            ("metadata", "Properties"),
        ];
        assert_eq!(theirs.as_object().map(|o| o.len()), Some(pairs.len()), "{theirs}");
        for (key, header) in pairs {
            assert_eq!(ours[key], theirs[header], "{header}");
        }
    }
    // -f shell: eval sets the text and runs nothing.
    let dir = s.cache.join("shell");
    std::fs::create_dir_all(&dir).unwrap();
    let lines = s.ok(&["show", &ids[0], "-f", "shell", "--prefix", "s_", "-c", "name", "-c", "status", "-c", "size"]);
    let sh = Command::new("sh")
        .arg("-c")
        .arg(format!("{lines}printf '%s|%s|%s' \"$s_name\" \"$s_status\" \"$s_size\""))
        .current_dir(&dir)
        .output()
        .expect("sh");
    assert_eq!(String::from_utf8_lossy(&sh.stdout), format!("{hostile}|available|1"));
    assert!(!dir.join("PWNED").exists());
    // --sort-column: by name.
    let names = s.ok(&["list", "--volume", &volume, "-f", "value", "-c", "name", "--sort-column", "name"]);
    assert_eq!(names, format!("live-cli-a\nlive-cli-b\n{hostile}\n"));
}

/// Pins against the real Cinder: `pin` by name sets the label (its real metadata answers),
/// a prune keeps the pinned snapshot (`pinned`) while it deletes its unpinned neighbour with
/// its reason, and after `unpin` the next prune deletes it. The durations in their new
/// spellings: `--wait-timeout 2min`, a bare `120`, and `--keep-within` in restic's units.
#[test]
#[ignore = "needs the local cloud (scripts/live-tests)"]
fn pin_protects_a_snapshot_from_prune_until_unpinned() {
    let s = Scratch::new("pin");
    let volume = s.volume();
    let policy = format!("live-pin-{}", std::process::id());
    let label = format!("cinder-snapshots.policy={policy}");
    let mut ids = Vec::new();
    for (n, timeout) in [(1, "2min"), (2, "120"), (3, "2min")] {
        let name = format!("{policy}-{n}");
        let created = s.json(&["create", "--volume", &volume, "--property", &label, "--wait", "--wait-timeout", timeout, &name]);
        ids.push(s.created(&created));
    }
    let pinned_name = format!("{policy}-1");
    assert_eq!(s.ok(&["pin", &pinned_name, "--note", "before the upgrade"]), "");
    let shown = s.json(&["show", &ids[0]]);
    assert_eq!(shown["metadata"]["cinder-snapshots.pin"], "before the upgrade", "{shown}");

    // keep-last 1: the pinned one stays, the middle one goes with its reason.
    let report = s.json(&["prune", "--policy", &policy, "--keep-last", "1", "--volume", &volume, "--wait-timeout", "2min"]);
    let decision = |id: &str| report["decisions"].as_array().unwrap().iter().find(|d| d["id"] == id).cloned().unwrap();
    assert_eq!((decision(&ids[0])["action"].clone(), decision(&ids[0])["reasons"].clone()), (json!("keep"), json!(["pinned"])));
    assert_eq!(
        (decision(&ids[1])["outcome"].clone(), decision(&ids[1])["reasons"].clone()),
        (json!("deleted"), json!(["not among the last 1"]))
    );
    assert_eq!(decision(&ids[2])["reasons"], json!(["last 1", "newest"]));

    // keep-within in restic's units keeps both (the pinned one is also within).
    let report = s.json(&["prune", "--policy", &policy, "--keep-within", "1d", "--volume", &volume, "--dry-run"]);
    assert_eq!(report["counts"]["would_delete"], 0, "{report}");

    assert_eq!(s.ok(&["unpin", &pinned_name]), "");
    assert_eq!(s.ok(&["unpin", &pinned_name]), "", "unpinning again changes nothing");
    let shown = s.json(&["show", &ids[0]]);
    assert!(shown["metadata"].get("cinder-snapshots.pin").is_none(), "{shown}");
    let report = s.json(&["prune", "--policy", &policy, "--keep-last", "1", "--volume", &volume, "--wait-timeout", "120"]);
    assert_eq!(decision_outcome(&report, &ids[0]), "deleted");
    assert_eq!(s.policy_snapshots(&policy), [ids[2].clone()]);
}

fn decision_outcome(report: &Value, id: &str) -> String {
    let d = report["decisions"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap();
    d["outcome"].as_str().unwrap().to_owned()
}
