//! The `cinder-snapshots` tool against mocked servers replaying recorded exchanges: the exact
//! requests, what it prints (tables, `--json`), its exit codes, and the token cache across
//! runs. Each run gets a clean environment: only the variables given here.
#![cfg(feature = "cli")]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;
use mockito::Server;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");
const COMMANDS: &str = "list, show, create, update, set-metadata, unset-metadata, delete, force-delete, reset-status, wait";
const SNAP: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";

struct Env {
    cache: PathBuf,
    vars: Vec<(String, String)>,
}

impl Env {
    /// The recorded admin against `server`, pinned to 3.71, with a private cache directory.
    fn admin(server: &Server, name: &str) -> Self {
        let cache = std::env::temp_dir().join(format!("cinder-snapshots-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let vars = [
            ("OS_AUTH_URL", format!("{}/v3", server.url())),
            ("OS_USERNAME", "admin".into()),
            ("OS_PASSWORD", PASSWORD.into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_NAME", "admin".into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_VOLUME_API_VERSION", "3.71".into()),
        ];
        Env { cache, vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .env("XDG_CACHE_HOME", &self.cache)
            .env("HOME", &self.cache)
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run the tool")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.cache);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn usage_errors_exit_2_without_a_request() {
    let server = Server::new();
    let env = Env::admin(&server, "usage");
    for (args, want) in [
        (&["frobnicate"][..], format!("unknown command \"frobnicate\"; the commands are {COMMANDS}")),
        (&["list", "--limit", "many"][..], "--limit \"many\" is not a whole number".to_owned()),
        (&["create", "--volume", "v", "--property", "novalue"][..], "--property \"novalue\" is not KEY=VALUE".to_owned()),
        (&["show"][..], "wrong number of arguments; usage: cinder-snapshots show SNAPSHOT".to_owned()),
        (&[][..], format!("no command given; the commands are {COMMANDS}")),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&out), format!("cinder-snapshots: {want}\nTry 'cinder-snapshots --help'.\n"), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let help = env.run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Exit codes:\n  0  success"), "{}", stdout(&help));
}

#[test]
fn list_json_sends_the_recorded_request_and_prints_the_stable_shape() {
    let mut server = Server::new();
    let env = Env::admin(&server, "list");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_list_detail");
    let m = f.mock(&mut server).expect(1).create();
    let out = env.run(&["--json", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ks.assert();
    m.assert();
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let recorded = f.response_json();
    let snaps = recorded["snapshots"].as_array().unwrap();
    let printed = printed.as_array().unwrap();
    assert_eq!(printed.len(), snaps.len());
    for (p, r) in printed.iter().zip(snaps) {
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
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
        for k in ["id", "name", "description", "volume_id", "status", "size", "metadata", "user_id", "consumes_quota"] {
            assert_eq!(p[k], r[k], "{k}");
        }
        assert_eq!(p["progress"], r["os-extended-snapshot-attributes:progress"]);
        assert_eq!(p["project_id"], r["os-extended-snapshot-attributes:project_id"]);
        // The server's zone-less microseconds, as RFC 3339 UTC.
        assert_eq!(p["created_at"], json!(format!("{}Z", r["created_at"].as_str().unwrap())));
    }
}

#[test]
fn show_prints_a_table_and_a_missing_snapshot_exits_1() {
    let mut server = Server::new();
    let env = Env::admin(&server, "show");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
    let ok = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let out = env.run(&["--no-token-cache", "show", SNAP]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ok.assert();
    let table = stdout(&out);
    assert!(table.starts_with("+-------------+"), "{table}");
    assert!(table.contains(&format!("| id          | {SNAP} |")), "{table}");

    let missing = Fixture::load("mv371_snapshot_show_missing");
    let m = missing.mock(&mut server).expect(1).create();
    let id = missing.path.rsplit('/').next().unwrap().to_owned();
    let out = env.run(&["--no-token-cache", "show", &id]);
    assert_eq!(out.status.code(), Some(1));
    m.assert();
    let err = stderr(&out);
    assert!(err.starts_with("cinder-snapshots: ") && err.contains("404") && err.contains("req-"), "{err}");
}

#[test]
fn waits_exit_3_on_timeout_and_4_on_failure() {
    let mut server = Server::new();
    let env = Env::admin(&server, "waits");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").create();
    let creating = Fixture::load("mv371_snapshot_show_immediately_after_create");
    let _c = creating.mock(&mut server).create();
    let out = env.run(&["wait", SNAP, "--timeout", "0.5"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.lines().next().unwrap_or_default().starts_with(&format!("{SNAP} creating")), "progress first: {err}");
    assert!(err.contains("did not reach available"), "{err}");

    let failed = Fixture::load("mv371_snapshot_show_error");
    let _f = failed.mock(&mut server).create();
    let id = failed.path.rsplit('/').next().unwrap().to_owned();
    let out = env.run(&["wait", &id, "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("went to error"), "{}", stderr(&out));
}

#[test]
fn two_runs_make_one_keystone_request() {
    let mut server = Server::new();
    let env = Env::admin(&server, "cache");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    for _ in 0..2 {
        let out = env.run(&["--json", "show", SNAP]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    ks.assert();
    show.assert();
    let dir = env.cache.join("cinder-snapshots");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert!(!std::fs::read_to_string(&files[0]).unwrap().contains(PASSWORD));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
