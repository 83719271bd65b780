//! The `cinder-snapshots` tool against mocked servers replaying recorded exchanges: the exact
//! requests it sends, what it prints (tables, `--json`), its exit codes, and the token cache
//! across runs. Each run gets a clean environment: `PATH`, a private `HOME` and
//! `XDG_CACHE_HOME`, and only the `OS_*` variables given here.
//!
//! Every server here refuses (and counts) any request no mock expects, so that "exactly
//! these requests" is checked, not only "at least these".
#![cfg(feature = "cli")]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");
const COMMANDS: &str = "list, show, create, update, set-metadata, unset-metadata, pin, unpin, set, unset, delete, force-delete, reset-status, wait, prune, run, plan, check, report, volume list, volume show, volume set, volume unset, restore, revert, completions, help";
/// mv371-snap-alpha, the snapshot of most recordings.
const ALPHA: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";
/// mv371-snap-gamma, deleted in the recordings.
const GAMMA: &str = "aaebd564-12d4-4b04-b345-84a9284c76f5";
/// The snapshot without a name, put in error and force-deleted in the recordings.
const MINIMAL: &str = "81be3ab0-82b3-4737-b1e4-c5402ec07aa1";
/// mv371-snap-delta, still creating when its delete was refused.
const DELTA: &str = "352f0bfe-e32b-43f5-a4ab-cc51fcb64f6b";
const VOLUME: &str = "72c062d8-37e8-4eec-812d-fd9c1bca6bb4";

/// The environment of one test's runs, with a private home and cache directory.
struct Env {
    home: PathBuf,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(name: &str, vars: Vec<(&str, String)>) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let home =
            std::env::temp_dir().join(format!("cinder-snapshots-cli-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("temp home");
        Env { home, vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    /// The recorded admin against `server`, pinned to 3.71.
    fn admin(server: &Server, name: &str) -> Self {
        Env::new(
            name,
            vec![
                ("OS_AUTH_URL", format!("{}/v3", server.url())),
                ("OS_USERNAME", "admin".into()),
                ("OS_PASSWORD", PASSWORD.into()),
                ("OS_USER_DOMAIN_NAME", "Default".into()),
                ("OS_PROJECT_NAME", "admin".into()),
                ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
                ("OS_VOLUME_API_VERSION", "3.71".into()),
            ],
        )
    }

    /// The recorded member (user and project `demo`) against `server`, pinned to 3.71.
    fn demo(server: &Server, name: &str) -> Self {
        let mut env = Env::admin(server, name);
        env.set("OS_USERNAME", "demo");
        env.set("OS_PROJECT_NAME", "demo");
        env
    }

    fn set(&mut self, key: &str, value: &str) {
        self.unset(key);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    fn unset(&mut self, key: &str) {
        self.vars.retain(|(k, _)| k != key);
    }

    fn cache(&self) -> PathBuf {
        self.home.join("cache")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.cache())
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run the tool")
    }

    /// Runs and expects exit code 0 and nothing on stderr but progress; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server whose unexpected requests are counted: call `.assert()` on what this returns at
/// the end. Made first, these mocks only get the requests no later mock matches.
fn strict() -> (ServerGuard, Vec<Mock>) {
    let mut server = Server::new();
    let unexpected = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
        .iter()
        .map(|m| server.mock(m, Matcher::Any).with_status(599).with_body("unexpected request").expect(0).create())
        .collect();
    (server, unexpected)
}

fn assert_all(mocks: &[Mock]) {
    mocks.iter().for_each(Mock::assert);
}

/// A mock of Cinder at `path` (with `query`), answered with a recorded exchange's answer.
fn answered_with(server: &mut Server, method: &str, path: &str, query: Matcher, fixture: &str) -> Mock {
    let m = server
        .mock(method, path)
        .match_query(query)
        .match_header("x-auth-token", TOKEN)
        .match_header("openstack-api-version", "volume 3.71");
    Fixture::load(fixture).respond(server, m)
}

fn snapshot_path(id: &str) -> String {
    format!("/v3/{ADMIN_PROJECT}/snapshots/{id}")
}

// ------------------------------------------------------------------ usage, help, version

#[test]
fn usage_errors_exit_2_without_a_request() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "usage");
    for (args, want) in [
        (&["frobnicate"][..], format!("unknown command \"frobnicate\"; the commands are {COMMANDS}\nTry 'cinder-snapshots --help'.")),
        (&[][..], format!("no command given; the commands are {COMMANDS}\nTry 'cinder-snapshots --help'.")),
        (&["--bogus", "list"][..], "unknown option --bogus\nTry 'cinder-snapshots --help'.".to_owned()),
        (&["list", "--bogus"][..], "list has no option --bogus\nTry 'cinder-snapshots list --help'.".to_owned()),
        (
            &["list", "--limit", "many"][..],
            "--limit \"many\" is not a whole number above 0\nTry 'cinder-snapshots list --help'.".to_owned(),
        ),
        (&["list", "--long=yes"][..], "unexpected argument for option '--long': \"yes\"\nTry 'cinder-snapshots list --help'.".to_owned()),
        (
            &["create", "--volume", VOLUME, "--property", "novalue"][..],
            "--property \"novalue\" is not KEY=VALUE\nTry 'cinder-snapshots create --help'.".to_owned(),
        ),
        (&["create", "nightly"][..], "create needs --volume VOLUME\nTry 'cinder-snapshots create --help'.".to_owned()),
        (&["show"][..], "missing argument; usage: cinder-snapshots show SNAPSHOT\nTry 'cinder-snapshots show --help'.".to_owned()),
        (&["update", ALPHA][..], "update needs --name or --description\nTry 'cinder-snapshots update --help'.".to_owned()),
        (
            &["set-metadata", ALPHA, "a=1", "b"][..],
            "metadata item \"b\" is not KEY=VALUE\nTry 'cinder-snapshots set-metadata --help'.".to_owned(),
        ),
        (&["reset-status", ALPHA][..], "reset-status needs --state STATUS\nTry 'cinder-snapshots reset-status --help'.".to_owned()),
        (
            &["wait", ALPHA, "--timeout", "soon"][..],
            "--timeout \"soon\" is not a duration: a number of seconds (30, 1.5) or a duration such as 30s, 5min, 2h, 1d\nTry 'cinder-snapshots wait --help'."
                .to_owned(),
        ),
        (&["delete", ALPHA, "--wait-timeout", "5"][..], "--wait-timeout needs --wait\nTry 'cinder-snapshots delete --help'.".to_owned()),
        // Regressions: these panicked (wait, create) or listed nothing with exit 0 (list).
        (
            &["wait", ALPHA, "--timeout", "1e300"][..],
            "--timeout \"1e300\" has the unknown unit \"e\": the units are w, d, h, min and s, as in 1d, 2h, 5min, 30s\n\
             Try 'cinder-snapshots wait --help'."
                .to_owned(),
        ),
        (
            &["wait", ALPHA, "--timeout", "99999999999999999999999"][..],
            "--timeout \"99999999999999999999999\" is out of range: at most a year (365d, 31536000 seconds)\nTry 'cinder-snapshots wait --help'."
                .to_owned(),
        ),
        (
            &["create", "--volume", VOLUME, "--wait", "--wait-timeout", "31536001"][..],
            "--wait-timeout \"31536001\" is out of range: at most a year (365d, 31536000 seconds)\nTry 'cinder-snapshots create --help'."
                .to_owned(),
        ),
        (
            &["list", "--status", "bogus"][..],
            "--status \"bogus\" is not a snapshot status (available, error, creating, deleting, deleted, error_deleting, unmanaging, \
             backing-up, restoring, updating)\nTry 'cinder-snapshots list --help'."
                .to_owned(),
        ),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("cinder-snapshots: {want}\n"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_all(&unexpected);
}

#[test]
fn input_the_crate_refuses_exits_2() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "refused");
    let out = env.run(&["create", "--volume", VOLUME, "--description", "two\nlines"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("cinder-snapshots: invalid input: ") && err.ends_with("\nTry 'cinder-snapshots --help'.\n"), "{err}");
    assert_all(&unexpected);
    // A filter the pinned microversion does not have: refused before any Cinder request
    // (listing authenticates first, even with a pinned microversion).
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "refused-filter");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let out = env.run(&["--os-volume-api-version", "3.0", "list", "--property", "tier=gold"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("the metadata filter needs microversion 3.22"), "{}", stderr(&out));
    ks.assert();
    assert_all(&unexpected);
}

#[test]
fn help_version_and_help_per_command() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "help");
    let help = env.ok(&["--help"]);
    for want in [
        "Usage: cinder-snapshots [GLOBAL OPTIONS] COMMAND [ARGS]",
        "  set-metadata    add or change metadata items, keeping the others",
        "  --os-volume-api-version 3|3.N",
        "--no-token-cache",
        "Exit codes:\n  0  success\n  1  the cloud or the network said no",
        "  2  usage:",
        "  3  a wait timed out",
        "  4  a wait ended in failure",
        "id, name, description, volume_id, status, size,",
    ] {
        assert!(help.contains(want), "--help lacks {want:?}:\n{help}");
    }
    assert_eq!(env.ok(&["-h"]), help);
    let list = env.ok(&["list", "--help"]);
    assert!(list.starts_with("Usage: cinder-snapshots [GLOBAL OPTIONS] list [OPTIONS]\n"), "{list}");
    assert!(list.contains("  --limit N ") && list.contains("  --property KEY=VALUE "), "{list}");
    let wait = env.ok(&["wait", "-h"]);
    assert!(wait.contains("--status STATUS") && wait.contains("Exit 3 when the time runs out"), "{wait}");
    assert_eq!(env.ok(&["--version"]), format!("cinder-snapshots {}\n", env!("CARGO_PKG_VERSION")));
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ list and show

const JSON_KEYS: [&str; 14] = [
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
    "volume_id",
];

/// A printed snapshot object against the recorded one it came from.
fn assert_same_snapshot(printed: &Value, recorded: &Value) {
    let keys: Vec<&str> = printed.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, JSON_KEYS);
    for k in ["id", "name", "description", "volume_id", "status", "size", "metadata", "user_id", "consumes_quota", "group_snapshot_id"] {
        assert_eq!(printed[k], recorded[k], "{k}");
    }
    assert_eq!(printed["progress"], recorded["os-extended-snapshot-attributes:progress"]);
    assert_eq!(printed["project_id"], recorded["os-extended-snapshot-attributes:project_id"]);
    // The server's zone-less microseconds, as RFC 3339 UTC.
    for k in ["created_at", "updated_at"] {
        match recorded[k].as_str() {
            Some(t) => assert_eq!(printed[k], json!(format!("{t}Z")), "{k}"),
            None => assert_eq!(printed[k], Value::Null, "{k}"),
        }
    }
}

#[test]
fn list_json_sends_the_recorded_request_and_prints_the_stable_shape() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "list");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_list_detail");
    let m = f.mock(&mut server).expect(1).create();
    let out = env.run(&["--json", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    assert_all(&[ks, m]);
    assert_all(&unexpected);
    let text = stdout(&out);
    let printed: Value = serde_json::from_str(&text).unwrap();
    let recorded = f.response_json();
    let snaps = recorded["snapshots"].as_array().unwrap();
    let printed = printed.as_array().unwrap();
    assert_eq!(printed.len(), snaps.len());
    for (p, r) in printed.iter().zip(snaps) {
        assert_same_snapshot(p, r);
    }
    assert_eq!(text.lines().count(), snaps.len() + 2, "one snapshot per line: {text}");
}

#[test]
fn list_tables_and_the_limit() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "list-table");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_list_detail");
    let m = f.mock(&mut server).expect(1).create();
    let recorded = f.response_json();
    let snaps = recorded["snapshots"].as_array().unwrap();

    let table = env.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), snaps.len() + 4, "{table}");
    let header: Vec<&str> = lines[1].split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["ID", "Name", "Description", "Status", "Size"]);
    assert!(lines[0].starts_with("+--") && lines[2] == lines[0] && lines[lines.len() - 1] == lines[0], "{table}");
    for (line, snap) in lines[3..].iter().zip(snaps) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let want =
            [snap["id"].as_str().unwrap(), snap["name"].as_str().unwrap_or(""), snap["description"].as_str().unwrap_or(""), "available"];
        assert_eq!(&cells[1..5], want, "{line}");
        assert_eq!(cells[5], snap["size"].to_string());
    }

    m.assert();

    // --long --limit 2: the limit is sent as the page size (regression: a whole server page
    // was fetched and cut), two rows printed, and no second page is asked for.
    let page = Fixture::load("mv371_detail_limit2_page1");
    let m = page.mock(&mut server).expect(1).create();
    let table = env.ok(&["list", "--long", "--limit", "2"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + 4, "{table}");
    let header: Vec<&str> = lines[1].split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["ID", "Name", "Description", "Status", "Size", "Created At", "Volume", "Properties"]);
    let gamma: Vec<&str> = lines[4].split('|').map(str::trim).collect();
    assert_eq!(gamma[1], GAMMA);
    assert_eq!(&gamma[6..9], ["2026-11-24T01:13:52.951100Z", VOLUME, "tier='silver'"], "{table}");
    m.assert();
    assert_all(&unexpected);
}

/// Regression: control characters from the server reached the terminal raw in tables (ESC
/// and OSC sequences, CR, LF: a name could forge table rows), and a timestamp at the edge of
/// what parses (`9999-12-31T23:59:59-01:00`, year 10000 in UTC) aborted `list --long`,
/// `show` and `--json`.
#[test]
fn hostile_text_and_timestamps_are_printed_safely() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "hostile");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_list_detail");
    let mut body = f.response_json();
    let evil = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r| forged | row |\n+---+\u{9b}31m\u{202e}";
    let first = &mut body["snapshots"][0];
    first["name"] = json!(evil);
    first["description"] = json!("line1\nline2");
    first["metadata"] = json!({"k\u{1b}[1m": "v\r"});
    first["created_at"] = json!("9999-12-31T23:59:59-01:00");
    let id = first["id"].as_str().unwrap().to_owned();
    let listing = server
        .mock("GET", f.path.as_str())
        .match_query(Matcher::Missing)
        .with_status(200)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
        .expect(2)
        .create();
    let one = server
        .mock("GET", snapshot_path(&id).as_str())
        .with_status(200)
        .with_header("Content-Type", "application/json")
        .with_body(json!({"snapshot": body["snapshots"][0].clone()}).to_string())
        .expect(2)
        .create();
    let rows = body["snapshots"].as_array().unwrap().len();
    for args in [&["list", "--long"][..], &["show", &id][..]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{args:?} printed a control character: {text:?}");
        assert!(!text.contains('\u{202e}'), "{args:?} printed a bidi override: {text:?}");
        // Every line is a rule or a row of the table: nothing forged.
        assert!(text.lines().all(|l| l.starts_with("+-") || l.starts_with("| ")), "{text}");
        assert!(text.contains("evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{d}| forged | row |\\u{a}+---+\\u{9b}31m\\u{202e}"), "{text}");
        if args[0] == "list" {
            assert_eq!(text.lines().count(), rows + 4, "{text}");
        }
    }
    // JSON escapes everything by itself; the unreadable time is null, not a crash.
    let printed = env.json(&["--json", "show", &id]);
    assert_eq!((printed["name"].as_str(), &printed["created_at"]), (Some(evil), &Value::Null));
    let printed = env.json(&["--json", "list"]);
    assert_eq!(printed[0]["metadata"], json!({"k\u{1b}[1m": "v\r"}));
    assert_all(&[listing, one]);
    assert_all(&unexpected);
}

#[test]
fn list_filters_are_sent_as_recorded() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "list-filters");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // --project implies --all-projects, as in the openstack command.
    let project = Fixture::load("mv371_detail_all_tenants_project_id");
    let p = project.mock(&mut server).expect(1).create();
    let printed = env.json(&["list", "--project", DEMO_PROJECT, "--json"]);
    let ids: Vec<&Value> = printed.as_array().unwrap().iter().map(|s| &s["id"]).collect();
    let recorded = project.response_json();
    assert_eq!(ids, recorded["snapshots"].as_array().unwrap().iter().map(|s| &s["id"]).collect::<Vec<_>>());
    let all = Fixture::load("mv371_detail_all_tenants").mock(&mut server).expect(1).create();
    env.ok(&["list", "--all-projects"]);
    assert_all(&[p, all]);
    assert_all(&unexpected);
}

#[test]
fn show_prints_a_table_and_a_missing_snapshot_exits_1() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "show");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let ok = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let table = env.ok(&["show", ALPHA]);
    let rows: Vec<Vec<&str>> =
        table.lines().filter(|l| l.starts_with('|')).map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect()).collect();
    assert_eq!(rows[0], ["Field", "Value"]);
    let field =
        |name: &str| rows.iter().find(|r| r[0] == name).map(|r| r.get(1).copied().unwrap_or("")).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(field("id"), ALPHA);
    assert_eq!(field("name"), "mv371-snap-alpha");
    assert_eq!(field("properties"), "purpose='fixture', tier='gold'");
    assert_eq!(field("status"), "available");
    assert_eq!(field("progress"), "100%");
    ok.assert();

    let missing = Fixture::load("mv371_snapshot_show_missing");
    let m = missing.mock(&mut server).expect(1).create();
    let id = missing.path.rsplit('/').next().unwrap().to_owned();
    let out = env.run(&["show", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    m.assert();
    let request_id = missing.response_header("x-openstack-request-id").unwrap();
    assert_eq!(
        stderr(&out),
        format!(
            "cinder-snapshots: GET {}{} answered HTTP 404 itemNotFound: Snapshot {id} could not be found. (request id {request_id})\n",
            server.url(),
            missing.path
        )
    );
    assert_all(&unexpected);
}

#[test]
fn show_by_name() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "by-name");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // Not an id: tried as one (Cinder answers 404, as recorded), then listed by name.
    let as_id = answered_with(&mut server, "GET", &snapshot_path("mv371-snap-alpha"), Matcher::Missing, "mv371_snapshot_show_missing")
        .expect(1)
        .create();
    let by_name = answered_with(
        &mut server,
        "GET",
        &format!("/v3/{ADMIN_PROJECT}/snapshots/detail"),
        Matcher::Exact("name=mv371-snap-alpha".into()),
        "mv371_list_filter_name",
    )
    .expect(1)
    .create();
    let printed = env.json(&["--json", "show", "mv371-snap-alpha"]);
    assert_eq!((printed["id"].as_str(), printed["name"].as_str()), (Some(ALPHA), Some("mv371-snap-alpha")));
    assert_all(&[as_id, by_name]);

    // A name nothing has: the recorded 404 of a non-id, then the recorded empty listing.
    let as_id = Fixture::load("mv371_snapshot_show_id_space_encoded").mock(&mut server).expect(1).create();
    let by_name = answered_with(
        &mut server,
        "GET",
        &format!("/v3/{ADMIN_PROJECT}/snapshots/detail"),
        Matcher::Exact("name=a%20b".into()),
        "mv371_list_filter_status_error_empty",
    )
    .expect(1)
    .create();
    let out = env.run(&["show", "a b"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "cinder-snapshots: not found: no snapshot is named \"a b\"\n");
    assert_all(&[as_id, by_name]);
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ changes

#[test]
fn create_with_wait_prints_the_available_snapshot() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "create");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let create = Fixture::load("mv371_snapshot_create_force_metadata").mock(&mut server).expect(1).create();
    let creating = Fixture::load("mv371_snapshot_show_immediately_after_create").mock(&mut server).expect(1).create();
    let available = Fixture::load("mv371_snapshot_show_available");
    let done = available.mock(&mut server).expect(1).create();
    let out = env.run(&[
        "--json",
        "create",
        "--volume",
        VOLUME,
        "--description",
        "alpha snapshot",
        "--force",
        "--property",
        "purpose=fixture",
        "--property",
        "tier=gold",
        "--wait",
        "--wait-timeout",
        "30",
        "mv371-snap-alpha",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_all(&[create, creating, done]);
    assert_all(&unexpected);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_same_snapshot(&printed, &available.response_json()["snapshot"]);
    // Not a terminal: one plain line per change of status or progress.
    let progress = stderr(&out);
    let lines: Vec<&str> = progress.lines().collect();
    assert!(lines.len() >= 2, "{progress}");
    assert!(lines[0].starts_with(&format!("{ALPHA} creating")), "{progress}");
    assert!(lines[lines.len() - 1].starts_with(&format!("{ALPHA} available 100% (")), "{progress}");
    assert!(!progress.contains('\r'));
}

#[test]
fn create_without_wait_prints_the_answer() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "create-minimal");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_snapshot_create_minimal");
    let create = f.mock(&mut server).expect(1).create();
    let printed = env.json(&["create", "--volume", VOLUME, "--json"]);
    assert_eq!(printed["id"], f.response_json()["snapshot"]["id"]);
    assert_eq!((printed["status"].as_str(), &printed["name"]), (Some("creating"), &Value::Null));
    create.assert();
    assert_all(&unexpected);
}

#[test]
fn update_and_metadata() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "update");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let update = Fixture::load("mv371_snapshot_update_name_description").mock(&mut server).expect(1).create();
    let printed = env.json(&["--json", "update", ALPHA, "--name", "mv371-snap-alpha-renamed", "--description", "renamed"]);
    assert_eq!((printed["name"].as_str(), printed["description"].as_str()), (Some("mv371-snap-alpha-renamed"), Some("renamed")));
    update.assert();

    let merge = Fixture::load("mv371_metadata_create_merge").mock(&mut server).expect(2).create();
    let printed = env.json(&["set-metadata", ALPHA, "env=test", "owner=rust", "--json"]);
    assert_eq!(printed, json!({"purpose": "fixture", "tier": "gold", "env": "test", "owner": "rust"}));
    let table = env.ok(&["set-metadata", ALPHA, "env=test", "owner=rust"]);
    assert!(table.contains("| Key     | Value   |") && table.contains("| purpose | fixture |"), "{table}");
    merge.assert();

    let unset = Fixture::load("mv371_metadata_delete_key").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["unset-metadata", ALPHA, "only"]), "", "nothing printed");
    unset.assert();
    assert_all(&unexpected);

    // The same request recorded once the key was gone: the cloud says no.
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "unset-missing");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let missing = Fixture::load("mv371_metadata_delete_missing_key").mock(&mut server).expect(1).create();
    let out = env.run(&["unset-metadata", ALPHA, "only"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("404 itemNotFound: Snapshot {ALPHA} has no metadata with key only.")), "{}", stderr(&out));
    missing.assert();
    assert_all(&unexpected);
}

#[test]
fn delete_with_wait_prints_nothing() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "delete");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let delete = Fixture::load("mv371_snapshot_delete").mock(&mut server).expect(1).create();
    let deleting = Fixture::load("mv371_snapshot_show_right_after_delete").mock(&mut server).expect(1).create();
    let gone = Fixture::load("mv371_snapshot_show_after_delete").mock(&mut server).expect(1).create();
    let out = env.run(&["delete", GAMMA, "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).starts_with(&format!("{GAMMA} deleting")), "{}", stderr(&out));
    assert_all(&[delete, deleting, gone]);
    assert_all(&unexpected);
}

#[test]
fn deleting_several_tries_every_one_and_exits_with_the_failure() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "delete-several");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let refused = Fixture::load("mv371_snapshot_delete_while_creating");
    let r = refused.mock(&mut server).expect(1).create();
    let ok = Fixture::load("mv371_snapshot_delete").mock(&mut server).expect(1).create();
    let out = env.run(&["delete", DELTA, GAMMA]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("cinder-snapshots: DELETE {}{} answered HTTP 400 badRequest: ", server.url(), refused.path)), "{err}");
    assert_all(&[r, ok]);
    assert_all(&unexpected);

    // With --wait: the accepted delete is still waited for.
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "delete-several-wait");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let mocks = [
        "mv371_snapshot_delete_while_creating",
        "mv371_snapshot_delete",
        "mv371_snapshot_show_right_after_delete",
        "mv371_snapshot_show_after_delete",
    ]
    .map(|f| Fixture::load(f).mock(&mut server).expect(1).create());
    let out = env.run(&["delete", DELTA, GAMMA, "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("cinder-snapshots: DELETE ") && lines[1].starts_with(&format!("{GAMMA} deleting")), "{err}");
    assert_all(&mocks);
    assert_all(&unexpected);
}

#[test]
fn the_admin_actions() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "actions");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let reset = Fixture::load("mv371_action_reset_status_to_error").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["reset-status", MINIMAL, "--state", "error"]), "");
    let force = Fixture::load("mv371_action_force_delete").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["force-delete", MINIMAL]), "");
    let missing = Fixture::load("mv371_action_force_delete_missing_snapshot");
    let m = missing.mock(&mut server).expect(1).create();
    let id = missing.path.split('/').nth_back(1).unwrap().to_owned();
    let out = env.run(&["force-delete", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    assert_all(&[reset, force, m]);
    assert_all(&unexpected);
}

#[test]
fn a_member_is_refused_the_admin_actions() {
    let (mut server, unexpected) = strict();
    let env = Env::demo(&server, "member");
    let ks = keystone(&mut server, "keystone_auth_tokens_demo").expect(1).create();
    let forbidden = Fixture::load("mv371_demo_action_force_delete_forbidden");
    let m = forbidden.mock(&mut server).expect(1).create();
    let id = forbidden.path.split('/').nth_back(1).unwrap().to_owned();
    let out = env.run(&["force-delete", &id]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("cinder-snapshots: POST {}{} answered HTTP 403", server.url(), forbidden.path)), "{err}");
    assert_all(&[ks, m]);
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ waits

#[test]
fn waits_exit_3_on_timeout_and_4_on_failure() {
    let mut server = Server::new();
    let env = Env::admin(&server, "waits");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // Still creating when the time runs out.
    let creating = Fixture::load("mv371_snapshot_show_immediately_after_create").mock(&mut server).expect_at_least(2).create();
    let out = env.run(&["wait", ALPHA, "--timeout", "0.5"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with(&format!("{ALPHA} creating 0% (")), "progress first: {err}");
    let last = lines[lines.len() - 1];
    assert!(last.starts_with(&format!("cinder-snapshots: snapshot {ALPHA} did not reach available within 0.")), "{err}");
    assert!(last.ends_with(" s (last status: creating)"), "{err}");
    creating.assert();

    // The recorded snapshot in error: the wait ends at once. (Cinder's user messages are
    // asked for too; this server has none, which the wait tolerates.)
    let failed = Fixture::load("mv371_snapshot_show_error");
    let f = failed.mock(&mut server).expect(2).create();
    let out = env.run(&["wait", MINIMAL, "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("{MINIMAL} error 100% (")), "{err}");
    assert!(err.contains(&format!("cinder-snapshots: snapshot {MINIMAL} went to error while waiting for available")), "{err}");
    f.assert();
}

#[test]
fn waits_that_succeed() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "waits-ok");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // Already available: one look, printed.
    let available = Fixture::load("mv371_snapshot_show_available");
    let a = available.mock(&mut server).expect(1).create();
    let printed = env.json(&["--json", "wait", ALPHA]);
    assert_same_snapshot(&printed, &available.response_json()["snapshot"]);
    // Already deleted: one look, nothing printed.
    let gone = Fixture::load("mv371_snapshot_show_after_delete").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["wait", GAMMA, "--status", "deleted", "--json"]), "");
    assert_all(&[a, gone]);
    // A snapshot that never existed is "not found" (1), not a failed wait.
    let missing = Fixture::load("mv371_snapshot_show_missing");
    let m = missing.mock(&mut server).expect(1).create();
    let out = env.run(&["wait", missing.path.rsplit('/').next().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("404 itemNotFound"), "{}", stderr(&out));
    m.assert();
    assert_all(&unexpected);
}

#[test]
fn on_a_terminal_the_progress_is_one_redrawn_line() {
    // `script` (util-linux) gives the tool a terminal; without it there is nothing to check.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command to make a terminal with");
        return;
    }
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "terminal");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let creating = Fixture::load("mv371_snapshot_show_immediately_after_create").mock(&mut server).expect(2).create();
    let done = Fixture::load("mv371_snapshot_show_available").mock(&mut server).expect(1).create();
    let line = format!("{BIN} wait {ALPHA} --timeout 30");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("XDG_CACHE_HOME", env.cache())
        .envs(env.vars.iter().map(|(k, v)| (k, v)))
        .output();
    let out = out.expect("run script");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // What the terminal got: stderr's redrawn line, then stdout's table.
    let screen = stdout(&out);
    assert!(screen.starts_with(&format!("\r{ALPHA} creating       [--------------------]   0%     0 s\x1b[K")), "{screen:?}");
    let done_line = screen.find(&format!("\r{ALPHA} available      [####################] 100% ")).expect("the bar at 100%");
    assert!(screen[done_line..].contains(" s\x1b[K\r\n"), "the line is ended once done: {screen:?}");
    assert!(screen.contains("| Field "), "{screen:?}");
    assert_all(&[creating, done]);
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ configuration, token cache, debug

#[test]
fn two_runs_make_one_keystone_request() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "cache");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    for _ in 0..2 {
        env.json(&["--json", "show", ALPHA]);
    }
    assert_all(&[ks, show]);
    assert_all(&unexpected);
    let dir = env.cache().join("cinder-snapshots");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains(PASSWORD), "the cache never holds the password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }
}

#[test]
fn a_warm_run_sends_exactly_one_request() {
    // Microversion negotiated (nothing pinned): the first run asks Keystone and the service
    // root; every later run finds both in the token cache and sends only its own request.
    let (mut server, unexpected) = strict();
    let mut env = Env::admin(&server, "warm");
    env.unset("OS_VOLUME_API_VERSION");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let discovery = versions(&mut server).expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(3).create();
    for _ in 0..3 {
        env.json(&["--json", "show", ALPHA]);
    }
    assert_all(&[ks, discovery, show]);
    assert_all(&unexpected);
}

#[test]
fn without_the_token_cache_every_run_authenticates() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "no-cache");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    for _ in 0..2 {
        env.json(&["--no-token-cache", "--json", "show", ALPHA]);
    }
    assert_all(&[ks, show]);
    assert_all(&unexpected);
    assert!(!env.cache().exists(), "nothing written");
}

#[test]
fn debug_prints_one_line_per_request_and_no_secret() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "debug");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show");
    let m = show.mock(&mut server).expect(2).create();
    let request_id = show.response_header("x-openstack-request-id").unwrap();
    let first = env.run(&["--debug", "show", ALPHA]);
    let second = env.run(&["show", ALPHA, "--debug"]);
    assert_eq!((first.status.code(), second.status.code()), (Some(0), Some(0)));
    assert_eq!(first.stdout, second.stdout);
    let (first, second) = (stderr(&first), stderr(&second));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 2, "{first}");
    assert!(lines[0].starts_with(&format!("debug: POST {}/v3/auth/tokens 201 in ", server.url())), "{first}");
    assert!(lines[1].starts_with(&format!("debug: GET {}{} 200 in ", server.url(), show.path)), "{first}");
    assert!(lines[1].ends_with(&format!("request id {request_id}")), "{first}");
    let lines: Vec<&str> = second.lines().collect();
    assert_eq!(lines.len(), 2, "{second}");
    assert!(lines[0].starts_with("debug: token cache ") && lines[0].ends_with(": hit"), "{second}");
    assert!(lines[1].starts_with("debug: GET "), "{second}");
    for text in [&first, &second] {
        assert!(!text.contains(PASSWORD) && !text.contains(TOKEN), "a secret in {text}");
    }
    m.assert();
    assert_all(&unexpected);
}

#[test]
fn options_override_the_environment() {
    let (mut server, unexpected) = strict();
    let mut env = Env::admin(&server, "override");
    env.set("OS_PASSWORD", "not-the-password");
    env.unset("OS_VOLUME_API_VERSION");
    env.set("OS_REGION_NAME", "NoSuchRegion");
    // The recorded token request carries the password of the option, not the variable's.
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    let pinned =
        ["--os-password", PASSWORD, "--os-region-name", "", "--no-token-cache", "--json", "show", ALPHA, "--os-volume-api-version"];
    env.json(&[&pinned[..], &["3.71"]].concat());
    // Without a pinned version: the recorded discovery first.
    let discovery = versions(&mut server).expect(1).create();
    env.json(&pinned[..pinned.len() - 1]);
    assert_all(&[ks, show, discovery]);
    assert_all(&unexpected);
}

#[test]
fn keystone_refusing_exits_1_without_the_password() {
    let (mut server, unexpected) = strict();
    let mut env = Env::admin(&server, "refused-auth");
    for var in ["OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME"] {
        env.unset(var);
    }
    // The recording: user admin, password "wrong", no scope.
    let refused = Fixture::load("keystone_auth_tokens_bad_password");
    let m = server
        .mock("POST", "/v3/auth/tokens")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(refused.request_json().unwrap()));
    let ks = refused.respond(&server, m).expect(1).create();
    let out = env.run(&["--os-password", "wrong", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("cinder-snapshots: authentication failed: Keystone refused the credentials: POST "), "{err}");
    assert!(err.contains("401") && !err.contains("wrong"), "{err}");
    ks.assert();
    assert_all(&unexpected);
}

#[test]
fn configuration_errors_exit_1_before_any_request() {
    let (server, unexpected) = strict();
    let mut env = Env::admin(&server, "config");
    let out = env.run(&["--os-interface", "sideways", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("cinder-snapshots: configuration error: OS_INTERFACE"), "{}", stderr(&out));
    let out = env.run(&["--os-volume-api-version", "2", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("OS_VOLUME_API_VERSION"), "{}", stderr(&out));
    env.unset("OS_AUTH_URL");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("cinder-snapshots: configuration error: OS_AUTH_URL is not set"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(PASSWORD));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let out = env.command(&["list"]).env("OS_PROJECT_NAME", std::ffi::OsStr::from_bytes(b"bad\xff")).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stderr(&out), "cinder-snapshots: configuration error: the environment variable OS_PROJECT_NAME is not valid UTF-8\n");
    }
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ durations

/// Every duration option of the tool through the same spellings: accepted (the command then
/// stops at the configuration error, exit 1, before any request) or refused with its message
/// (exit 2; check: UNKNOWN, 3). One grammar: timeouts take bare seconds, retention durations
/// are restic's calendar (`m` = months), the others refuse `m` and point to `min`.
#[test]
fn every_duration_option_reads_the_same_spellings() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "durations");
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Kind {
        Timeout,
        Window,
        Threshold,
        Retention,
    }
    use Kind::*;
    let options: Vec<(Kind, Vec<&str>)> = vec![
        (Timeout, vec!["create", "--volume", "v", "--wait", "--wait-timeout"]),
        (Timeout, vec!["delete", "s", "--wait", "--wait-timeout"]),
        (Timeout, vec!["restore", "s", "--wait", "--wait-timeout"]),
        (Timeout, vec!["revert", "v", "--snapshot", "s", "--wait", "--wait-timeout"]),
        (Timeout, vec!["wait", "s", "--timeout"]),
        (Timeout, vec!["prune", "--policy", "p", "--keep-last", "1", "--wait-timeout"]),
        (Timeout, vec!["run", "--all", "--policy", "p", "--keep-last", "1", "--wait-timeout"]),
        (Timeout, vec!["run", "--all", "--policy", "p", "--keep-last", "1", "--deadline"]),
        (Timeout, vec!["run", "--all", "--policy", "p", "--keep-last", "1", "--max-pause"]),
        (Timeout, vec!["run", "--all", "--policy", "p", "--keep-last", "1", "--hook-timeout"]),
        (Timeout, vec!["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--timeout"]),
        (Window, vec!["run", "--all", "--policy", "p", "--keep-last", "1", "--every"]),
        (Threshold, vec!["check", "--all", "--policy", "p", "--crit", "400d", "--warn"]),
        (Threshold, vec!["check", "--all", "--policy", "p", "--warn", "1s", "--crit"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within-hourly"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within-daily"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within-weekly"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within-monthly"]),
        (Retention, vec!["prune", "--policy", "p", "--keep-within-yearly"]),
        (Retention, vec!["run", "--all", "--policy", "p", "--keep-within"]),
        (Retention, vec!["run", "--all", "--policy", "p", "--keep-within-daily"]),
    ];
    // (spelling, what each kind says: None accepted, Some(message) refused)
    let m = Some("uses m: write min for minutes (m means months, and only in retention durations)");
    let no_unit = Some("has no unit: write 30s, 5min, 2h or 1d (a bare number is seconds only for timeouts)");
    let calendar_y = Some("uses \"y\": years and months are calendar units, for retention durations only");
    let exact_bad = Some("is not a duration: the units are w, d, h, min and s, as in 1d, 2h, 5min, 30s");
    let timeout_bad = Some("is not a duration: a number of seconds (30, 1.5) or a duration such as 30s, 5min, 2h, 1d");
    let calendar_bad = Some("is not a duration: the units are y (years), m (months), d (days) and h (hours), as in 1y2m3d4h");
    let spellings: [(&str, [Option<&str>; 4]); 11] = [
        ("30", [None, no_unit, no_unit, Some("has no unit: write 1y, 2m (months), 3d or 4h, as restic does")]),
        ("1.5", [None, no_unit, no_unit, calendar_bad]),
        ("90m", [m, m, m, None]),
        ("1m", [m, m, m, None]),
        ("5min", [None, None, None, Some("has the unknown unit \"min\"")]),
        ("30s", [None, Some("is too short: a window lasts at least 1 minute"), None, Some("has the unknown unit \"s\"")]),
        ("2h", [None, None, None, None]),
        ("1d", [None, None, None, None]),
        ("1y2m3d4h", [calendar_y, calendar_y, calendar_y, None]),
        ("-1h", [timeout_bad, exact_bad, exact_bad, calendar_bad]),
        (
            "1d1d",
            [
                Some("gives the unit \"d\" twice"),
                Some("gives the unit \"d\" twice"),
                Some("gives the unit \"d\" twice"),
                Some("gives the unit \"d\" twice"),
            ],
        ),
    ];
    let kinds = [Timeout, Window, Threshold, Retention];
    let mut checked = 0;
    for (kind, words) in &options {
        let option = *words.last().unwrap();
        for (spelling, says) in &spellings {
            let want = says[kinds.iter().position(|k| k == kind).unwrap()];
            let mut args: Vec<&str> = vec!["--os-interface", "sideways"];
            args.extend(words.iter().copied());
            args.push(spelling);
            let out = env.run(&args);
            let err = stderr(&out);
            match want {
                None => {
                    assert_eq!(out.status.code(), Some(if words[0] == "check" { 3 } else { 1 }), "{args:?}: {err}");
                    assert!(err.contains("configuration error: OS_INTERFACE"), "{args:?}: {err}");
                }
                Some(message) => {
                    let want = if *kind == Window {
                        format!("--every: window \"{spelling}\" {message}")
                    } else {
                        format!("{option} \"{spelling}\" {message}")
                    };
                    assert_eq!(out.status.code(), Some(if words[0] == "check" { 3 } else { 2 }), "{args:?}: {err}");
                    assert!(err.starts_with("cinder-snapshots: ") && err.contains(&want), "{args:?}: {err}\nwant {want}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, options.len() * spellings.len());
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ prune

/// A snapshot object of the recorded detail listing (`mv371_detail_limit2_page1`, a real
/// Cinder answer) with these values changed; owned by policy `nightly` when `owned`.
fn prune_snapshot(n: u32, created: &str, owned: bool) -> Value {
    let mut s = Fixture::load("mv371_detail_limit2_page1").response_json()["snapshots"][0].clone();
    s["id"] = json!(prune_id(n));
    s["name"] = json!(format!("nightly-{n}"));
    s["volume_id"] = json!(VOLUME);
    s["created_at"] = json!(format!("{created}.000000"));
    s["metadata"] = if owned {
        json!({"cinder-snapshots.policy": "nightly", "cinder-snapshots.run-at": format!("{created}Z"),
               "cinder-snapshots.rules": "last=1,utc-offset=+00:00", "cinder-snapshots.label-format": "1"})
    } else {
        json!({"purpose": "made by hand"})
    };
    s
}

fn prune_id(n: u32) -> String {
    format!("5e0c1a2b-0000-4000-8000-{n:012}")
}

/// The one listing page of policy `nightly` (metadata filter), answered with these snapshots
/// and the recorded page's headers.
fn prune_listing(server: &mut Server, snaps: &[Value]) -> Mock {
    let query = format!("with_count=true&metadata={}", encode(r#"{"cinder-snapshots.policy":"nightly"}"#));
    let body = json!({ "snapshots": snaps }).to_string();
    answered_with(server, "GET", &format!("/v3/{ADMIN_PROJECT}/snapshots/detail"), Matcher::Exact(query), "mv371_detail_limit2_page1")
        .with_body(body)
        .expect(1)
        .create()
}

/// Three owned snapshots, newest first: 3 (11-22), 2 (11-21), 1 (11-20).
fn three_owned() -> Vec<Value> {
    vec![
        prune_snapshot(3, "2026-11-22T02:00:00", true),
        prune_snapshot(2, "2026-11-21T02:00:00", true),
        prune_snapshot(1, "2026-11-20T02:00:00", true),
    ]
}

/// The cells of a table's line.
fn cells(line: &str) -> Vec<&str> {
    line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect()
}

#[test]
fn prune_refuses_an_empty_policy_and_bad_rules_with_exit_2_and_no_request() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "prune-usage");
    let empty = "prune needs at least one rule (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, \
                 --keep-yearly, --keep-within or --keep-within-* above 0): a policy with no rule would delete every snapshot it owns \
                 but the newest";
    for (args, want) in [
        (&["prune", "--policy", "nightly"][..], empty.to_owned()),
        (&["prune", "--policy", "nightly", "--dry-run", "--keep-daily", "0"][..], empty.to_owned()),
        (&["prune", "--keep-daily", "7"][..], "prune needs --policy ID".to_owned()),
        (
            &["prune", "--policy", "nightly", "--keep-within", "3 days"][..],
            "--keep-within \"3 days\" is not a duration: the units are y (years), m (months), d (days) and h (hours), as in 1y2m3d4h"
                .to_owned(),
        ),
        (
            &["prune", "--policy", "nightly", "--keep-daily", "1", "--utc-offset", "CET"][..],
            "--utc-offset \"CET\" is not an offset such as +02:00, -05:00 or +05:45".to_owned(),
        ),
        (
            &["prune", "--policy", "night/ly", "--keep-daily", "1"][..],
            "--policy: invalid retention policy id \"night/ly\": it contains '/'; only ASCII letters, digits and -_:. and space are allowed"
                .to_owned(),
        ),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("cinder-snapshots: {want}\nTry 'cinder-snapshots prune --help'.\n"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_all(&unexpected);
}

#[test]
fn prune_dry_run_prints_the_plan_and_deletes_nothing() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "prune-dry");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let listing = prune_listing(&mut server, &three_owned());
    let out = env.ok(&["prune", "--policy", "nightly", "--keep-last", "2", "--dry-run"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3 + 4 + 1, "{out}");
    assert_eq!(cells(lines[1]), ["ID", "Name", "Volume", "Created At", "Action", "Reasons"]);
    assert_eq!(cells(lines[3]), [prune_id(3).as_str(), "nightly-3", VOLUME, "2026-11-22T02:00:00.000000Z", "keep", "last 1, newest"]);
    assert_eq!(cells(lines[4]), [prune_id(2).as_str(), "nightly-2", VOLUME, "2026-11-21T02:00:00.000000Z", "keep", "last 2"]);
    assert_eq!(
        cells(lines[5]),
        [prune_id(1).as_str(), "nightly-1", VOLUME, "2026-11-20T02:00:00.000000Z", "delete", "not among the last 2"]
    );
    assert_eq!(lines[7], "dry run: 1 to delete, 2 to keep; nothing was deleted (policy \"nightly\": keep last 2 (calendar in UTC))");
    assert_all(&[ks, listing]);

    // --json: the same as data.
    let listing = prune_listing(&mut server, &three_owned());
    let data = env.json(&["--json", "prune", "--policy", "nightly", "--keep-last", "2", "--dry-run"]);
    assert_eq!(
        (data["policy"].clone(), data["rules"].clone(), data["dry_run"].clone()),
        (json!("nightly"), json!("last=2,utc-offset=+00:00"), json!(true))
    );
    assert_eq!(
        data["counts"],
        json!({"kept": 2, "deleted": 0, "would_delete": 1, "failed": 0, "in_error": 0, "duplicates": 0, "unknown_format": 0})
    );
    let decisions = data["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 3);
    assert_eq!(
        decisions[2],
        json!({"id": prune_id(1), "volume_id": VOLUME, "name": "nightly-1", "status": "available", "created_at": "2026-11-20T02:00:00Z",
               "action": "delete", "reasons": ["not among the last 2"], "outcome": "would delete", "error": null})
    );
    assert_eq!(decisions[0]["reasons"], json!(["last 1", "newest"]));
    listing.assert();
    // The catch-all DELETE saw nothing.
    assert_all(&unexpected);
}

/// Issue 20 in the CLI: an owned snapshot in error is to delete with its reason, one in a
/// label format this version does not know is kept with its reason, and the summary line
/// counts both. Fails before: the error snapshot was kept ("not available (error)") and the
/// format-99 one counted (it took "last 2", so snapshot 2 was to delete).
#[test]
fn prune_dry_run_names_error_snapshots_and_unknown_label_formats() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "prune-issue20");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let mut newer = prune_snapshot(5, "2026-11-23T02:00:00", true);
    newer["metadata"]["cinder-snapshots.label-format"] = json!("99");
    let mut errored = prune_snapshot(4, "2026-11-19T02:00:00", true);
    errored["status"] = json!("error");
    let mut snaps = vec![newer];
    snaps.extend(three_owned());
    snaps.push(errored);
    let listing = prune_listing(&mut server, &snaps);
    let out = env.ok(&["prune", "--policy", "nightly", "--keep-last", "2", "--dry-run"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3 + 6 + 1, "{out}");
    assert_eq!(cells(lines[3])[4..], ["keep", "label format \"99\" is not known to this version"]);
    assert_eq!(cells(lines[4])[4..], ["keep", "last 1, newest"]);
    assert_eq!(cells(lines[5])[4..], ["keep", "last 2"]);
    assert_eq!(cells(lines[6])[4..], ["delete", "not among the last 2"]);
    assert_eq!(cells(lines[7])[4..], ["delete", "in error: holds no data"]);
    assert_eq!(
        lines[9],
        "dry run: 2 to delete, 3 to keep (to delete: 1 in error; kept: 1 with an unknown label format); nothing was deleted (policy \"nightly\": keep last 2 (calendar in UTC))"
    );
    assert_all(&[ks, listing]);
    assert_all(&unexpected);
}

#[test]
fn prune_deletes_reports_each_outcome_and_exits_1_when_a_delete_fails() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "prune-run");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // A hand-made snapshot in the answer (as from a server ignoring the filter): never deleted.
    let mut snaps = three_owned();
    snaps.push(prune_snapshot(9, "2026-11-01T02:00:00", false));
    let listing = prune_listing(&mut server, &snaps);
    let path = |n: u32| format!("/v3/{ADMIN_PROJECT}/snapshots/{}", prune_id(n));
    // 2: deleted (the recorded 202, then the recorded 404); 1: refused (the recorded 400).
    let deleted = answered_with(&mut server, "DELETE", &path(2), Matcher::Missing, "mv371_snapshot_delete").expect(1).create();
    let gone = answered_with(&mut server, "GET", &path(2), Matcher::Missing, "mv371_snapshot_show_after_delete").expect(1).create();
    let refused =
        answered_with(&mut server, "DELETE", &path(1), Matcher::Missing, "mv371_snapshot_delete_while_creating").expect(1).create();
    let out = env.run(&["prune", "--policy", "nightly", "--keep-last", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "cinder-snapshots: 1 of 2 deletes failed (see the output)\n");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3 + 4 + 1, "{text}");
    assert_eq!(cells(lines[1]), ["ID", "Name", "Volume", "Created At", "Action", "Reasons", "Outcome"]);
    assert_eq!(cells(lines[3])[4..], ["keep", "last 1, newest", "kept"]);
    assert_eq!(cells(lines[4])[4..], ["delete", "not among the last 1", "deleted"]);
    let failed = cells(lines[5]);
    assert_eq!(failed[..6], [prune_id(1).as_str(), "nightly-1", VOLUME, "2026-11-20T02:00:00.000000Z", "delete", "not among the last 1"]);
    assert!(
        failed[6].starts_with(&format!(
            "failed: DELETE {}{} answered HTTP 400 badRequest: Invalid snapshot: Snapshot status must be available",
            server.url(),
            path(1)
        )),
        "{text}"
    );
    assert!(!text.contains(&prune_id(9)), "the hand-made snapshot is not even listed: {text}");
    assert_eq!(lines[7], "1 deleted, 1 kept, 1 failed (policy \"nightly\": keep last 1 (calendar in UTC))");
    assert_all(&[listing, deleted, gone, refused]);
    assert_all(&unexpected);
}

#[test]
fn prune_stops_on_a_listing_error_with_exit_1_before_any_delete() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "prune-listing");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // The volume filter and the metadata filter. No 500 of a listing was recorded: Cinder's
    // fault envelope, as its other errors have.
    let query = format!("with_count=true&volume_id={VOLUME}&metadata={}", encode(r#"{"cinder-snapshots.policy":"nightly"}"#));
    let failing = server
        .mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/detail").as_str())
        .match_query(Matcher::Exact(query))
        .with_status(500)
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"computeFault": {"code": 500, "message": "The server has either erred or is incapable of performing the requested operation."}}"#)
        .expect(1)
        .create();
    let out = env.run(&["prune", "--policy", "nightly", "--keep-last", "1", "--volume", VOLUME]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).starts_with("cinder-snapshots: GET ") && stderr(&out).contains("answered HTTP 500 computeFault"),
        "{}",
        stderr(&out)
    );
    failing.assert();
    assert_all(&unexpected);
}

#[test]
fn prune_help() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "prune-help");
    let help = env.ok(&["--help"]);
    for want in [
        "  prune           delete the snapshots a retention policy no longer keeps",
        "prune prints its report",
        "prune:\n     the listing failed",
        "a prune policy with\n     no rule",
    ] {
        assert!(help.contains(want), "--help lacks {want:?}:\n{help}");
    }
    let prune = env.ok(&["prune", "--help"]);
    assert!(prune.starts_with("Usage: cinder-snapshots [GLOBAL OPTIONS] prune --policy ID --keep-... N [OPTIONS]\n"), "{prune}");
    for want in
        ["--keep-within DURATION", "--utc-offset +HH:MM", "--volume VOLUME", "--dry-run", "--all-projects", "never listed nor deleted"]
    {
        assert!(prune.contains(want), "prune --help lacks {want:?}:\n{prune}");
    }
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ volumes, restore, revert

/// restore-alpha, the volume of the volume recordings.
const VOL_ALPHA: &str = "3453439c-00d5-459b-bbef-2b38a15cffd7";
/// Alpha's first snapshot.
const VOL_SNAP1: &str = "b4677381-19a2-4dec-9851-3353bb2f0fb0";
/// restored-alpha, made from VOL_SNAP1.
const RESTORED: &str = "2505d2e2-b712-4f4e-ae89-93236d05272f";

fn volumes_detail_path() -> String {
    format!("/v3/{ADMIN_PROJECT}/volumes/detail")
}

/// The volume listing by name, answered with `fixture`'s volumes.
fn volume_by_name(server: &mut Server, name: &str, fixture: &str) -> Mock {
    answered_with(server, "GET", &volumes_detail_path(), Matcher::Exact(format!("name={name}")), fixture)
}

#[test]
fn a_volume_name_is_resolved_never_sent_as_an_id() {
    // Regression: `list --volume NAME` sent the name as volume_id and printed an empty table
    // with exit 0, which a backup script reads as "no backups exist".
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "volume-name");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let lookup = volume_by_name(&mut server, "restore-alpha", "mv371_volumes_detail_filters").expect(1).create();
    let listing = answered_with(
        &mut server,
        "GET",
        &format!("/v3/{ADMIN_PROJECT}/snapshots/detail"),
        Matcher::Exact(format!("volume_id={VOL_ALPHA}")),
        "mv371_list_filter_status_error_empty",
    )
    .expect(1)
    .create();
    assert_eq!(env.json(&["--json", "list", "--volume", "restore-alpha"]), json!([]));
    assert_all(&[lookup, listing]);

    // No volume has the name: exit 1, and no snapshot listing.
    let none = volume_by_name(&mut server, "nope", "mv371_volumes_detail_bootable_true").expect(1).create();
    let out = env.run(&["list", "--volume", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "cinder-snapshots: not found: no volume is named \"nope\"\n");
    assert!(out.stdout.is_empty());
    none.assert();

    // Two volumes have it: exit 1 with both ids, and no snapshot is created.
    let mut twice = Fixture::load("mv371_volumes_detail_filters").response_json();
    let mut copy = twice["volumes"][0].clone();
    copy["id"] = json!("0b0b0b0b-0000-4000-8000-000000000000");
    twice["volumes"].as_array_mut().unwrap().push(copy);
    let dup = server
        .mock("GET", volumes_detail_path().as_str())
        .match_query(Matcher::Exact("name=restore-alpha".into()))
        .with_body(twice.to_string())
        .expect(1)
        .create();
    let out = env.run(&["create", "--volume", "restore-alpha", "nightly"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("cinder-snapshots: 2 volumes are named \"restore-alpha\": {VOL_ALPHA}, 0b0b0b0b-0000-4000-8000-000000000000\n")
    );
    dup.assert();
    assert_all(&unexpected);
}

#[test]
fn volume_list_json_and_tables() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "volume-list");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_volumes_detail_metadata");
    let m = f.mock(&mut server).expect(2).create();
    let printed = env.json(&["--json", "volume", "list", "--property", "backup=nightly"]);
    let recorded = f.response_json();
    let printed = printed.as_array().unwrap();
    assert_eq!(printed.len(), 2);
    for (p, r) in printed.iter().zip(recorded["volumes"].as_array().unwrap()) {
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "attached_to",
                "availability_zone",
                "bootable",
                "created_at",
                "description",
                "group_id",
                "id",
                "metadata",
                "name",
                "project_id",
                "size",
                "snapshot_id",
                "status",
                "updated_at",
                "user_id",
                "volume_type"
            ]
        );
        for key in ["id", "name", "description", "status", "size", "metadata", "availability_zone", "volume_type", "snapshot_id"] {
            assert_eq!(p[key], r[key], "{key}");
        }
        assert_eq!((&p["bootable"], &p["attached_to"]), (&json!(false), &json!([])));
        assert_eq!(p["project_id"], r["os-vol-tenant-attr:tenant_id"]);
        assert_eq!(p["created_at"], json!(format!("{}Z", r["created_at"].as_str().unwrap())));
    }
    let table = env.ok(&["volume", "list", "--long", "--property", "backup=nightly"]);
    let header = table.lines().nth(1).unwrap();
    for col in ["ID", "Name", "Status", "Size", "Attached to", "Type", "Bootable", "Properties"] {
        assert!(header.contains(col), "{table}");
    }
    assert!(table.contains("restore-beta") && table.contains("__DEFAULT__") && table.contains("backup='nightly'"), "{table}");
    m.assert();
    assert_all(&unexpected);
}

#[test]
fn volume_show_by_id_and_by_name() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "volume-show");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let by_id = Fixture::load("mv371_volumes_show").mock(&mut server).expect(1).create();
    let printed = env.json(&["--json", "volume", "show", VOL_ALPHA]);
    assert_eq!((printed["id"].as_str(), printed["name"].as_str()), (Some(VOL_ALPHA), Some("restore-alpha")));
    by_id.assert();
    // By name: only the listing by name, never GET /volumes/NAME.
    let by_name = volume_by_name(&mut server, "restore-alpha", "mv371_volumes_detail_filters").expect(1).create();
    let table = env.ok(&["volume", "show", "restore-alpha"]);
    assert!(table.contains(VOL_ALPHA) && table.contains("restore tests") && table.contains("backup='nightly'"), "{table}");
    by_name.assert();
    assert_all(&unexpected);
}

#[test]
fn restore_creates_a_volume_from_a_snapshot_and_waits() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "restore");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let create = Fixture::load("mv371_volumes_create_from_snapshot").mock(&mut server).expect(1).create();
    let available = Fixture::load("mv371_volumes_wait_from_snapshot");
    let done = available.mock(&mut server).expect(1).create();
    let out = env.run(&["--json", "restore", VOL_SNAP1, "--name", "restored-alpha", "--wait", "--wait-timeout", "30"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((printed["id"].as_str(), printed["status"].as_str()), (Some(RESTORED), Some("available")));
    assert_eq!((printed["snapshot_id"].as_str(), &printed["size"]), (Some(VOL_SNAP1), &json!(1)));
    let progress = stderr(&out);
    assert!(progress.starts_with(&format!("{RESTORED} creating (")), "{progress}");
    assert!(progress.lines().last().unwrap().starts_with(&format!("{RESTORED} available (")), "{progress}");
    assert_all(&[create, done]);
    assert_all(&unexpected);
}

#[test]
fn revert_waits_until_available_and_cinders_refusals_exit_1() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "revert");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let revert = Fixture::load("mv371_volumes_revert").mock(&mut server).expect(1).create();
    let done = Fixture::load("mv371_volumes_wait_revert").mock(&mut server).expect(1).create();
    let printed = env.json(&["--json", "revert", VOL_ALPHA, "--snapshot", VOL_SNAP1, "--wait"]);
    assert_eq!((printed["id"].as_str(), printed["status"].as_str()), (Some(VOL_ALPHA), Some("available")));
    assert_all(&[revert, done]);
    // Not the latest snapshot: Cinder's 400, explained in our words (not Cinder's text), exit 1.
    let refused = Fixture::load("mv371_volumes_revert_not_latest").mock(&mut server).expect(1).create();
    let out = env.run(&["revert", VOL_ALPHA, "--snapshot", VOL_SNAP1]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "cinder-snapshots: Cinder reverts a volume only to its latest snapshot, and {VOL_SNAP1} is not the latest of volume {VOL_ALPHA}.\n\
             To revert to the latest: cinder-snapshots revert {VOL_ALPHA} --latest\n\
             To get an older snapshot's data back, make a new volume from it: cinder-snapshots restore {VOL_SNAP1}\n"
        )
    );
    refused.assert();
    assert_all(&unexpected);
    // Below 3.40: refused before any request to Cinder, exit 2.
    let (mut server, unexpected) = strict();
    let mut env = Env::admin(&server, "revert-339");
    env.set("OS_VOLUME_API_VERSION", "3.39");
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect_at_most(1).create();
    let out = env.run(&["revert", VOL_ALPHA, "--snapshot", VOL_SNAP1]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("reverting a volume to a snapshot needs microversion 3.40 or later; the client uses 3.39"));
    ks.assert();
    assert_all(&unexpected);
}

#[test]
fn volume_commands_usage_errors_exit_2() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "volume-usage");
    for (args, want) in [
        (&["volume"][..], format!("volume needs a command; the commands are {COMMANDS}\nTry 'cinder-snapshots --help'.")),
        (&["volume", "frob"][..], format!("unknown command \"volume frob\"; the commands are {COMMANDS}\nTry 'cinder-snapshots --help'.")),
        (&["revert", VOL_ALPHA][..], "revert needs --snapshot SNAPSHOT or --latest\nTry 'cinder-snapshots revert --help'.".to_owned()),
        (
            &["restore", VOL_SNAP1, "--size", "0"][..],
            "--size \"0\" is not a whole number of GiB above 0\nTry 'cinder-snapshots restore --help'.".to_owned(),
        ),
        (
            &["volume", "show"][..],
            "missing argument; usage: cinder-snapshots volume show VOLUME\nTry 'cinder-snapshots volume show --help'.".to_owned(),
        ),
        (
            &["volume", "list", "--status", "bogus"][..],
            "--status \"bogus\" is not a volume status (available, in-use, creating, error, deleting, error_deleting, attaching, \
             detaching, reserved, maintenance, extending, reverting, ...)\nTry 'cinder-snapshots volume list --help'."
                .to_owned(),
        ),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("cinder-snapshots: {want}\n"), "{args:?}");
    }
    let help = env.ok(&["volume", "list", "--help"]);
    assert!(help.starts_with("Usage: cinder-snapshots [GLOBAL OPTIONS] volume list [OPTIONS]\n"), "{help}");
    let all = env.ok(&["--help"]);
    for want in ["  volume list     list volumes", "  restore         create a new volume from a snapshot", "A volume object has exactly"] {
        assert!(all.contains(want), "--help lacks {want:?}:\n{all}");
    }
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ formats, columns, openstack spellings, completions

#[test]
fn list_in_every_format_and_with_columns() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "formats");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("mv371_list_detail");
    let recorded = f.response_json();
    let snaps = recorded["snapshots"].as_array().unwrap().clone();
    let runs = 10;
    let m = f.mock(&mut server).expect(runs).create();
    let ids: Vec<&str> = snaps.iter().map(|s| s["id"].as_str().unwrap()).collect();

    // -f value -c id: the ids, one a line, and nothing else (no jq needed).
    assert_eq!(env.ok(&["list", "-f", "value", "-c", "id"]), ids.iter().map(|id| format!("{id}\n")).collect::<String>());
    // Several columns: separated by one space, in the order given; a header name works too.
    let text = env.ok(&["list", "--format", "value", "--column", "Size", "-c", "ID", "-c", "status"]);
    let want: String =
        snaps.iter().map(|s| format!("{} {} {}\n", s["size"], s["id"].as_str().unwrap(), s["status"].as_str().unwrap())).collect();
    assert_eq!(text, want);
    // -f value without -c: the table's columns (ID Name Description Status Size).
    let text = env.ok(&["list", "-f", "value"]);
    let first = &snaps[0];
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "{} {} {} {} {}",
            first["id"].as_str().unwrap(),
            first["name"].as_str().unwrap_or(""),
            first["description"].as_str().unwrap_or(""),
            first["status"].as_str().unwrap(),
            first["size"]
        )
    );
    assert_eq!(text.lines().count(), snaps.len());
    // CSV: the headers and text quoted, numbers not, as the openstack command writes it.
    let text = env.ok(&["list", "-f", "csv", "-c", "ID", "-c", "Created At", "-c", "size"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "\"ID\",\"Created At\",\"Size\"");
    assert_eq!(lines.len(), snaps.len() + 1);
    for (line, s) in lines[1..].iter().zip(&snaps) {
        assert_eq!(*line, format!("\"{}\",\"{}Z\",{}", s["id"].as_str().unwrap(), s["created_at"].as_str().unwrap(), s["size"]));
    }
    let text = env.ok(&["list", "-f", "csv"]);
    assert_eq!(text.lines().next(), Some("\"ID\",\"Name\",\"Description\",\"Status\",\"Size\""));
    // A table with a column --long has, without --long; RFC 3339 UTC timestamps.
    let table = env.ok(&["list", "-c", "id", "-c", "created_at"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(cells(lines[1]), ["ID", "Created At"]);
    assert_eq!(cells(lines[3]), [ids[0], &format!("{}Z", snaps[0]["created_at"].as_str().unwrap())]);
    // -f json is --json; -c keeps only those keys.
    let json = env.json(&["list", "-f", "json"]);
    assert_eq!(json, env.json(&["list", "--json"]));
    assert_eq!(json.as_array().unwrap().len(), snaps.len());
    let picked = env.json(&["list", "-f", "json", "-c", "id", "-c", "Volume"]);
    let want: Vec<Value> = snaps.iter().map(|s| json!({"id": s["id"], "volume_id": s["volume_id"]})).collect();
    assert_eq!(picked, json!(want));
    // The last format given wins, as with any option.
    assert_eq!(env.ok(&["--json", "list", "-f", "value", "-c", "id"]).lines().count(), snaps.len());
    m.assert();
    assert_all(&unexpected);
}

#[test]
fn show_and_volume_commands_in_every_format() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "formats-show");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(4).create();
    // One object: -f value prints one value a line, as openstack's does.
    assert_eq!(env.ok(&["show", ALPHA, "-f", "value", "-c", "status"]), "available\n");
    assert_eq!(
        env.ok(&["show", ALPHA, "-f", "value", "-c", "name", "-c", "size", "-c", "properties"]),
        "mv371-snap-alpha\n1\npurpose='fixture', tier='gold'\n"
    );
    assert_eq!(env.ok(&["show", ALPHA, "-f", "csv", "-c", "id", "-c", "size"]), format!("\"id\",\"size\"\n\"{ALPHA}\",1\n"));
    assert_eq!(env.json(&["show", ALPHA, "--json", "-c", "id", "-c", "status"]), json!({"id": ALPHA, "status": "available"}));
    show.assert();
    let volumes = Fixture::load("mv371_volumes_detail_metadata");
    let recorded = volumes.response_json();
    let listing = volumes.mock(&mut server).expect(2).create();
    let text = env.ok(&["volume", "list", "--property", "backup=nightly", "-f", "value", "-c", "id", "-c", "name"]);
    let want: String = recorded["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{} {}\n", v["id"].as_str().unwrap(), v["name"].as_str().unwrap()))
        .collect();
    assert_eq!(text, want);
    let text = env.ok(&["volume", "list", "--property", "backup=nightly", "-f", "csv", "-c", "name", "-c", "size", "-c", "bootable"]);
    assert!(text.starts_with("\"Name\",\"Size\",\"Bootable\"\n\"restore-"), "{text}");
    assert!(text.lines().skip(1).all(|l| l.ends_with(",1,\"false\"")), "{text}");
    listing.assert();
    let one = Fixture::load("mv371_volumes_show").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["volume", "show", VOL_ALPHA, "-f", "value", "-c", "status", "-c", "type"]), "available\n__DEFAULT__\n");
    one.assert();
    assert_all(&unexpected);
}

#[test]
fn bad_formats_and_columns_exit_2_without_a_request() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "formats-usage");
    for (args, want) in [
        (
            &["list", "-f", "xml"][..],
            "-f \"xml\" is not a format: table, json, value, csv, yaml or shell\nTry 'cinder-snapshots list --help'.",
        ),
        (
            &["list", "-c", "nope"][..],
            "list has no column \"nope\"; its columns are ID, Name, Description, Status, Size, Created At, Volume, Properties\n\
             Try 'cinder-snapshots list --help'.",
        ),
        (&["delete", ALPHA, "-c", "id"][..], "delete prints no columns: -c does not apply\nTry 'cinder-snapshots delete --help'."),
        (
            &["prune", "--policy", "p", "--keep-last", "1", "--json", "-c", "id"][..],
            "-c does not apply to prune's JSON report (it is printed whole)\nTry 'cinder-snapshots prune --help'.",
        ),
        (&["list", "-f"][..], "missing argument for option '-f'\nTry 'cinder-snapshots list --help'."),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("cinder-snapshots: {want}\n"), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    assert_all(&unexpected);
}

#[test]
fn the_openstack_spellings_send_what_ours_send() {
    let (mut server, unexpected) = strict();
    let env = Env::admin(&server, "openstack-spellings");
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // set --property: the merge set-metadata sends; openstack's set prints nothing.
    let merge = Fixture::load("mv371_metadata_create_merge").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["set", ALPHA, "--property", "env=test", "--property", "owner=rust"]), "");
    merge.assert();
    // set --name --description: the update `update` sends.
    let update = Fixture::load("mv371_snapshot_update_name_description").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["set", ALPHA, "--name", "mv371-snap-alpha-renamed", "--description", "renamed"]), "");
    update.assert();
    // Both in one set: both requests.
    let update = Fixture::load("mv371_snapshot_update_name_description").mock(&mut server).expect(1).create();
    let merge = Fixture::load("mv371_metadata_create_merge").mock(&mut server).expect(1).create();
    assert_eq!(
        env.ok(&[
            "set",
            ALPHA,
            "--name",
            "mv371-snap-alpha-renamed",
            "--description",
            "renamed",
            "--property",
            "env=test",
            "--property",
            "owner=rust"
        ]),
        ""
    );
    assert_all(&[update, merge]);
    // set --state: reset-status's os-reset_status.
    let reset = Fixture::load("mv371_action_reset_status_to_error").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["set", MINIMAL, "--state", "error"]), "");
    reset.assert();
    // unset --property: unset-metadata's DELETE of the key.
    let unset = Fixture::load("mv371_metadata_delete_key").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["unset", ALPHA, "--property", "only"]), "");
    unset.assert();
    // delete --force: force-delete's os-force_delete.
    let force = Fixture::load("mv371_action_force_delete").mock(&mut server).expect(1).create();
    assert_eq!(env.ok(&["delete", "--force", MINIMAL]), "");
    force.assert();
    assert_all(&unexpected);
    // Their usage errors, before any request.
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "openstack-spellings-usage");
    for (args, want) in [
        (&["set", ALPHA][..], "set needs --name, --description, --property or --state\nTry 'cinder-snapshots set --help'."),
        (&["set", ALPHA, "--property", "novalue"][..], "--property \"novalue\" is not KEY=VALUE\nTry 'cinder-snapshots set --help'."),
        (&["set", ALPHA, "--state", "frozen"][..], "is not a snapshot status"),
        (&["unset", ALPHA][..], "unset needs --property KEY\nTry 'cinder-snapshots unset --help'."),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    // The help shows both spellings.
    for (cmd, want) in [
        ("set-metadata", "Also spelled: set SNAPSHOT --property KEY=VALUE..."),
        ("unset-metadata", "Also spelled: unset SNAPSHOT --property KEY..."),
        ("reset-status", "Also spelled: set SNAPSHOT --state STATUS"),
        ("force-delete", "Also spelled: delete --force SNAPSHOT..."),
        ("update", "Also spelled: set SNAPSHOT --name NAME --description TEXT"),
        ("set", "Also spelled: update, set-metadata, reset-status"),
        ("unset", "Also spelled: unset-metadata SNAPSHOT KEY..."),
        ("delete", "Also spelled: force-delete SNAPSHOT..."),
    ] {
        let help = env.ok(&[cmd, "--help"]);
        assert!(help.contains(want), "{cmd} --help lacks {want:?}:\n{help}");
    }
    assert!(env.ok(&["--help"]).contains("set SNAPSHOT --property KEY=VALUE (set-metadata)"));
    assert_all(&unexpected);
}

#[test]
fn every_command_has_a_help_with_its_options_defaults_and_an_example() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "help-each");
    let top = env.ok(&["--help"]);
    for cmd in COMMANDS.split(", ") {
        let args: Vec<&str> = cmd.split(' ').chain(["--help"]).collect();
        let help = env.ok(&args);
        assert!(help.starts_with(&format!("Usage: cinder-snapshots [GLOBAL OPTIONS] {cmd}")), "{help}");
        assert!(help.contains(&format!("Examples:\n  cinder-snapshots {cmd}")) || help.contains("Examples:\n  id=$("), "{help}");
        assert!(help.ends_with("Global options, output formats and exit codes: cinder-snapshots --help\n"), "{help}");
        assert!(top.contains(&format!("\n  {cmd} ")), "{cmd} in --help");
    }
    for (args, want) in [
        (
            &["delete", "--help"][..],
            "  --wait-timeout DURATION  give up waiting after this long: 30s, 5min, 2h, or bare seconds (needs --wait) (default: 30min)",
        ),
        (&["wait", "--help"][..], "(default: available)"),
        (&["prune", "--help"][..], "count hours, days, weeks, months, years in this UTC offset (default: +00:00)"),
        (&["run", "--help"][..], "snapshot this many volumes at a time (1 to 64) (default: 4)"),
        (&["list", "--help"][..], "Without -c: ID, Name, Description, Status, Size; --long shows them all."),
        (&["show", "--help"][..], "-c COLUMN (repeatable)"),
        (&["--help"][..], "  -f, --format FORMAT"),
        (&["--help"][..], "  csv    a header line, then one line a row"),
    ] {
        let help = env.ok(args);
        assert!(help.contains(want), "{args:?} lacks {want:?}:\n{help}");
    }
    assert_all(&unexpected);
}

/// Runs `_cinder_snapshots` of the bash script on the words (the last one being completed).
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _cinder_snapshots; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = Command::new("bash").args(["-c", &program]).output().expect("bash");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn completion_scripts_come_from_the_parsers_table_and_the_shells_accept_them() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "completions");
    let bash = env.ok(&["completions", "bash"]);
    let path = env.home.join("cinder-snapshots.bash");
    std::fs::write(&path, &bash).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().expect("bash");
    assert!(check.status.success(), "bash -n: {}", stderr(&check));
    let top: Vec<String> = bash_complete(&path, &["cinder-snapshots", ""]);
    let mut want: Vec<&str> = COMMANDS.split(", ").map(|c| c.split(' ').next().unwrap()).collect();
    want.dedup();
    assert_eq!(top, want);
    for (words, want) in [
        (&["cinder-snapshots", "volume", ""][..], &["list", "show", "set", "unset"][..]),
        (&["cinder-snapshots", "--os-cloud", "prod", "volume", "l"][..], &["list"][..]),
        (&["cinder-snapshots", "list", "--st"][..], &["--status"][..]),
        (&["cinder-snapshots", "-f", ""][..], &["table", "json", "value", "csv", "yaml", "shell"][..]),
        (&["cinder-snapshots", "list", "-c", "cr"][..], &["created_at"][..]),
        (&["cinder-snapshots", "volume", "list", "-c", "a"][..], &["attached_to"][..]),
        (&["cinder-snapshots", "delete", "--f"][..], &["--force", "--format"][..]),
        (&["cinder-snapshots", "set", "x", "--state", "err"][..], &["error", "error_deleting"][..]),
        (&["cinder-snapshots", "completions", ""][..], &["bash", "zsh", "fish"][..]),
        (&["cinder-snapshots", "run", "--every", "h"][..], &["hourly"][..]),
    ] {
        assert_eq!(bash_complete(&path, words), want, "{words:?}");
    }
    // zsh and fish: checked by the shells when they are installed.
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let script = env.ok(&["completions", shell]);
        assert!(script.contains("--keep-daily") && script.contains("created_at"), "{shell}");
        if Command::new(shell).arg("--version").output().is_err() {
            eprintln!("{shell} is not installed: its script is not checked by the shell");
            continue;
        }
        let path = env.home.join(format!("cinder-snapshots.{shell}"));
        std::fs::write(&path, &script).unwrap();
        let out = Command::new(shell).args(check).arg(&path).output().expect("shell");
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        // And what they offer: fish's own `complete -C`; zsh's function with compadd and
        // _files stood in for (they need a terminal's completion system).
        let program = match shell {
            "fish" => format!(
                "source '{}'; complete -C'cinder-snapshots volume '; complete -C'cinder-snapshots list -c cr'; \
                 complete -C'cinder-snapshots --os-cloud x list --status err'",
                path.display()
            ),
            _ => format!(
                "compadd() {{ print -l -- \"${{(@P)argv[-1]}}\" }}; _files() {{ print FILES }}; compdef() {{ }}; source '{}'; \
                 words=(cinder-snapshots volume ''); CURRENT=3; _cinder_snapshots; \
                 words=(cinder-snapshots -f ''); CURRENT=3; _cinder_snapshots; \
                 words=(cinder-snapshots --os-cacert ''); CURRENT=3; _cinder_snapshots",
                path.display()
            ),
        };
        let out = Command::new(shell).args(["-c", &program]).output().expect("shell");
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let offered: Vec<String> = stdout(&out).lines().map(|l| l.split('\t').next().unwrap_or_default().to_owned()).collect();
        let want: &[&str] = match shell {
            "fish" => &["list", "show", "created_at", "error", "error_deleting"],
            _ => &["list", "show", "table", "json", "value", "csv", "FILES"],
        };
        assert_eq!(offered, want, "{shell}: {}", stdout(&out));
    }
    let out = env.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "cinder-snapshots: completions for \"tcsh\": the shells are bash, zsh and fish\nTry 'cinder-snapshots completions --help'.\n"
    );
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ run and check

#[test]
fn run_and_check_usage_errors_exit_2_or_unknown_without_a_request() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "job-usage");
    let empty = "run needs at least one rule (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, \
                 --keep-yearly, --keep-within or --keep-within-* above 0): a policy with no rule would delete every snapshot it owns \
                 but the newest";
    for (args, want) in [
        (&["run", "--policy", "p", "--keep-daily", "7"][..], "run needs --select KEY=VALUE, --volume VOLUME or --all: which volumes?"),
        (
            &["run", "--select", "a=b", "--all", "--policy", "p", "--keep-daily", "7"][..],
            "--select, --volume and --all do not go together: choose one way to select the volumes",
        ),
        (
            &["run", "--volume", "v", "--all-projects", "--policy", "p", "--keep-daily", "7"][..],
            "--all-projects goes with --select or --all, not --volume",
        ),
        (&["run", "--select", "nokey", "--policy", "p", "--keep-daily", "7"][..], "--select \"nokey\" is not KEY=VALUE"),
        (&["run", "--all", "--keep-daily", "7"][..], "run needs --policy ID"),
        (&["run", "--all", "--policy", "p"][..], empty),
        (&["run", "--all", "--policy", "a/b", "--keep-daily", "1"][..], "--policy: invalid retention policy id \"a/b\""),
        (
            &["run", "--all", "--policy", "p", "--keep-daily", "1", "--every", "soon"][..],
            "--every: window \"soon\" is not a duration: the units are w, d, h, min and s",
        ),
        (&["run", "--all", "--policy", "p", "--keep-daily", "1", "--every", "30s"][..], "a window lasts at least 1 minute"),
        (
            &["run", "--all", "--policy", "p", "--keep-daily", "1", "--concurrency", "0"][..],
            "--concurrency \"0\" is not a whole number above 0",
        ),
        (&["run", "--all", "--policy", "p", "--keep-daily", "1", "--concurrency", "65"][..], "--concurrency \"65\" is more than 64"),
        (&["run", "--all", "--policy", "p", "--keep-daily", "1", "--wait-timeout", "10m"][..], "--wait-timeout \"10m\" uses m: write min"),
        (&["run", "--all", "--policy", "p", "--keep-daily", "1", "--json", "-c", "action"][..], "-c does not apply to run's JSON report"),
        (
            &["run", "--all", "--policy", "p", "--keep-daily", "1", "-c", "bogus"][..],
            "run has no column \"bogus\"; its columns are Volume, Name",
        ),
        (&["check", "--policy", "p", "--warn", "1h", "--crit", "2h"][..], "check needs --select KEY=VALUE, --volume VOLUME or --all"),
        (&["check", "--all", "--warn", "1h", "--crit", "2h"][..], "check needs --policy ID"),
        (&["check", "--all", "--policy", "p", "--crit", "2h"][..], "check needs --warn DURATION"),
        (&["check", "--all", "--policy", "p", "--warn", "1h"][..], "check needs --crit DURATION"),
        (&["check", "--all", "--policy", "p", "--warn", "26", "--crit", "50h"][..], "--warn \"26\" has no unit"),
        (
            &["check", "--all", "--policy", "p", "--warn", "50h", "--crit", "26h"][..],
            "--crit is shorter than --warn: a snapshot would be critical before it is a warning",
        ),
        (&["check", "--all", "--policy", "a/b", "--warn", "1h", "--crit", "2h"][..], "--policy: invalid retention policy id"),
        (&["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--timeout", "0s"][..], "--timeout \"0s\" leaves no time"),
        (
            &["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--timeout", "soon"][..],
            "--timeout \"soon\" is not a duration",
        ),
        (
            &["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--keep-daily", "x"][..],
            "--keep-daily \"x\" is not a whole number",
        ),
        (&["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "-z"][..], "unknown option -z"),
        (&["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--wait"][..], "check has no option --wait"),
        // A single-value option given twice (issue 20, item 14; before: the last one won).
        (&["run", "--all", "--policy", "p", "--policy", "q", "--keep-daily", "7"][..], "--policy is given twice: it takes one value"),
        (&["create", "--volume", "db-1", "--volume", "db-2", "x"][..], "--volume is given twice: it takes one value"),
        (&["prune", "--policy", "p", "--keep-daily", "7", "--keep-daily", "8"][..], "--keep-daily is given twice: it takes one value"),
        (
            &["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--crit", "3h"][..],
            "--crit is given twice: it takes one value",
        ),
        (&["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "-f", "json", "-f", "table"][..], "--format is given twice"),
    ] {
        let out = env.run(args);
        let err = stderr(&out);
        assert!(err.starts_with("cinder-snapshots: ") && err.contains(want), "{args:?}: {err}");
        assert!(err.ends_with(&format!("\nTry 'cinder-snapshots {} --help'.\n", args[0])), "{args:?}: {err}");
        if args[0] == "check" {
            // A monitoring check: a wrong command line is UNKNOWN (3), with its status line.
            assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
            let text = String::from_utf8(out.stdout.clone()).unwrap();
            assert!(text.starts_with("CINDER-SNAPSHOTS UNKNOWN - ") && text.contains(want) && text.ends_with('\n'), "{args:?}: {text}");
            // The first line within 80 characters; the whole message on a second when it did not fit.
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[0].chars().count() <= 80 && lines.len() <= 2 && !text.contains('|'), "{text}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
    assert_all(&unexpected);
}

/// A check command line that is wrong before its command word (a global option's error)
/// is the check's: UNKNOWN (3), never 2 (CRITICAL). Failed before (exit 2, no status line).
#[test]
fn a_check_command_line_wrong_before_the_command_word_is_unknown() {
    let (server, unexpected) = strict();
    let env = Env::admin(&server, "check-usage-globals");
    let check = ["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h"];
    for (before, want) in [
        (&["-f", "bogus"][..], "-f \"bogus\" is not a format"),
        (&["--frobnicate"][..], "unknown option --frobnicate"),
        (&["-z"][..], "unknown option -z"),
        (&["--os-cloud", "check", "--bogus"][..], "unknown option --bogus"),
    ] {
        let args = [before, &check[..]].concat();
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - ") && stdout(&out).contains(want), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).ends_with("\nTry 'cinder-snapshots check --help'.\n"), "{args:?}: {}", stderr(&out));
    }
    // Not a check: still 2.
    let out = env.run(&["-f", "bogus", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert_all(&unexpected);
}

/// `check --timeout`: one deadline for the whole check, Keystone's token request included.
/// A server that accepts the connection and never answers gives UNKNOWN within it. Failed
/// before (no --timeout; 60 s per request).
#[test]
fn check_timeout_ends_a_silent_cloud_with_unknown() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.read(&mut [0u8; 4096]);
            held.push(stream);
        }
    });
    let mut env = Env::new("check-timeout", vec![]);
    for (k, v) in [
        ("OS_AUTH_URL", format!("http://{addr}/v3")),
        ("OS_USERNAME", "u".to_owned()),
        ("OS_PASSWORD", "p".to_owned()),
        ("OS_PROJECT_NAME", "p".to_owned()),
        ("OS_USER_DOMAIN_NAME", "Default".to_owned()),
        ("OS_PROJECT_DOMAIN_NAME", "Default".to_owned()),
    ] {
        env.set(k, &v);
    }
    let started = std::time::Instant::now();
    let out = env.run(&["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--timeout", "1s", "--no-token-cache"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - POST http://"), "{}", stdout(&out));
}

#[cfg(feature = "testing")]
mod against_the_fake_cloud {
    //! `run` and `check` against the crate's FakeCloud (feature `testing`): a real HTTP
    //! Keystone and Cinder in this process, driven by the tool in a child process.

    use super::*;
    use cinder_snapshots::testing::{FakeCloud, Rule, VolumeSpec};

    /// The environment of the fake's admin.
    fn env(fake: &FakeCloud, name: &str) -> Env {
        let mut env = Env::new(name, vec![]);
        env.vars = fake.os_vars();
        env
    }

    /// Three volumes tagged backup=nightly and one not tagged; returns the tagged ids.
    fn fleet(fake: &FakeCloud) -> Vec<String> {
        fake.add_volume("untagged");
        (1..=3).map(|n| fake.add_volume_with(&VolumeSpec::new(format!("db-{n}")).metadata("backup", "nightly"))).collect()
    }

    const RUN: [&str; 8] = ["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--no-token-cache"];

    /// `pin` and `unpin` by name: the pin label set with the note (default "pinned"), then
    /// removed; unpinning again succeeds and changes nothing; an unknown snapshot exits 1.
    #[test]
    fn pin_and_unpin_a_snapshot_by_name() {
        let fake = FakeCloud::start();
        fake.set_snapshot_creating_reads(0);
        let volume = fake.add_volume("data");
        let client = fake.client();
        let snap =
            cinder_snapshots::snapshots::create(&client, &cinder_snapshots::snapshots::CreateOpts::new(&volume).name("before-upgrade"))
                .unwrap();
        let env = env(&fake, "pin");
        let meta = || fake.snapshots().into_iter().find(|s| s.id == snap.id).unwrap().metadata;
        assert_eq!(env.ok(&["pin", "before-upgrade", "--no-token-cache"]), "");
        assert_eq!(meta().get("cinder-snapshots.pin").map(String::as_str), Some("pinned"));
        assert_eq!(env.ok(&["pin", "before-upgrade", "--note", "release 2.0", "--no-token-cache"]), "");
        assert_eq!(meta().get("cinder-snapshots.pin").map(String::as_str), Some("release 2.0"));
        assert_eq!(env.ok(&["unpin", &snap.id, "--no-token-cache"]), "");
        assert!(!meta().contains_key("cinder-snapshots.pin"));
        assert_eq!(env.ok(&["unpin", "before-upgrade", "--no-token-cache"]), "");
        let out = env.run(&["pin", "no-such-snapshot", "--no-token-cache"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }

    #[test]
    fn a_run_then_a_second_run_in_the_same_window_creates_nothing() {
        let fake = FakeCloud::start();
        let ids = fleet(&fake);
        let env = env(&fake, "job-run");
        let out = env.run(&[&RUN[..], &["--json"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        // The keys `run --help` documents.
        let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "all_projects",
                "clock_skew_s",
                "dry_run",
                "elapsed_s",
                "interrupted",
                "no_volume_matched",
                "on_failure",
                "over_quota",
                "polls",
                "prune",
                "quota",
                "run_id",
                "timed_out",
                "totals",
                "volumes",
                "window",
                "window_start"
            ]
        );
        let keys: Vec<&str> = report["quota"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["binding", "gigabytes_only", "needed", "pruned_first", "room", "skipped", "source", "unreadable"]);
        assert_eq!(report["quota"]["source"], "quota_set");
        let keys: Vec<&str> = report["volumes"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "action",
                "error",
                "hooks",
                "prune_errors",
                "prune_skipped",
                "pruned",
                "quota",
                "snapshot_id",
                "snapshot_status",
                "unresolved",
                "volume_id",
                "volume_name",
                "volume_status",
                "warnings",
                "zombies"
            ]
        );
        assert_eq!(report["totals"]["volumes"], 3);
        assert_eq!((report["totals"]["created"].clone(), report["totals"]["available"].clone()), (json!(3), json!(3)));
        assert_eq!((report["timed_out"].clone(), report["dry_run"].clone()), (json!(false), json!(false)));
        let mut reported: Vec<&str> = report["volumes"].as_array().unwrap().iter().map(|v| v["volume_id"].as_str().unwrap()).collect();
        reported.sort_unstable();
        let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(reported, want, "the tagged volumes only");
        assert!(report["volumes"].as_array().unwrap().iter().all(|v| v["action"] == "created" && v["snapshot_status"] == "available"));
        assert_eq!(fake.snapshots().len(), 3);
        // Not a terminal: one plain progress line per change of the counts, the last one done.
        let progress = stderr(&out);
        let last = progress.lines().last().unwrap_or_default();
        assert!(last.starts_with("3 created, 0 reused, 3 available, 0 failed of 3; 0 pending ("), "{progress}");
        assert!(!progress.contains('\r'), "{progress:?}");

        // Again, in the same window: every snapshot reused, none created; a table and a summary.
        let text = env.ok(&RUN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(cells(lines[1]), ["Volume", "Name", "Action", "Snapshot", "Status", "Pruned", "Error"]);
        assert_eq!(lines.len(), 3 + 4 + 1, "{text}");
        for line in &lines[3..6] {
            let row = cells(line);
            assert_eq!(row[2..], ["reused", row[3], "available", "0"], "{text}");
        }
        let summary = lines[7];
        assert!(
            summary.starts_with(
                "3 volumes: 0 created, 3 reused, 3 available, 0 failed, 0 skipped; 0 pruned, 0 prune failures (window daily from "
            ),
            "{summary}"
        );
        assert_eq!(fake.snapshots().len(), 3, "nothing created by the second run");
        // The window as the snapshots' label writes it (whole seconds, Z).
        let label = fake.snapshots()[0].metadata["cinder-snapshots.window"].clone();
        assert!(label.ends_with(":00:00Z") && !label.contains('.'), "{label}");
        assert!(summary.contains(&format!("(window daily from {label}, run ")), "{summary}");
        // Value and CSV: the rows only.
        let text = env.ok(&[&RUN[..], &["-f", "value", "-c", "action", "-c", "status"]].concat());
        assert_eq!(text, "reused available\n".repeat(3));
        let text = env.ok(&[&RUN[..], &["-f", "csv", "-c", "volume", "-c", "pruned", "--dry-run"]].concat());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "\"Volume\",\"Pruned\"");
        assert!(lines[1..].iter().all(|l| l.ends_with("\",0")) && lines.len() == 4, "{text}");
        assert_eq!(fake.snapshots().len(), 3);
    }

    #[test]
    fn a_failed_snapshot_or_over_quota_exits_1_and_a_timed_out_wait_exits_3() {
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = env(&fake, "job-failures");
        fake.fail_next_snapshots(1, Some("the backend refused"));
        let out = env.run(&RUN);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        let failed: Vec<&str> = text.lines().filter(|l| l.contains("| failed ")).collect();
        assert_eq!(failed.len(), 1, "{text}");
        assert!(failed[0].contains("the backend refused"), "{text}");
        assert!(text.contains(" 2 created, 0 reused, 2 available, 1 failed, 0 skipped;"), "{text}");
        assert!(stderr(&out).ends_with("cinder-snapshots: 1 failed, 0 skipped, 0 prune failures (see the output)\n"), "{}", stderr(&out));

        // Over quota, seen by the preflight: the volume that does not fit is skipped with the
        // numbers, exit 1.
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = super::against_the_fake_cloud::env(&fake, "job-quota");
        fake.set_snapshot_quota(Some(2));
        let out = env.run(&[&RUN[..], &["--concurrency", "1"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        let skipped: Vec<&str> = text.lines().filter(|l| l.contains("| skipped ")).collect();
        assert_eq!(skipped.len(), 1, "{text}");
        assert!(skipped[0].contains("over quota, not snapshotted: snapshots: 3 needed, 2 left"), "{text}");
        assert!(text.contains(" 2 created, 0 reused, 2 available, 0 failed, 1 skipped;"), "{text}");
        assert!(text.trim_end().ends_with("; over quota: 1 not snapshotted (snapshots: 3 needed, 2 left)"), "{text}");
        assert!(
            stderr(&out).contains("cinder-snapshots: over quota: 1 volumes skipped (snapshots: 3 needed, 2 left)\n"),
            "{}",
            stderr(&out)
        );
        assert_eq!(fake.snapshots().len(), 2);
        // --all-or-nothing: nothing created, exit 1 with the numbers.
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = super::against_the_fake_cloud::env(&fake, "job-quota-all");
        fake.set_snapshot_quota(Some(2));
        let out = env.run(&[&RUN[..], &["--all-or-nothing"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stderr(&out), "cinder-snapshots: over quota, nothing created (all or nothing): snapshots: 3 needed, 2 left\n");
        assert!(fake.snapshots().is_empty());
        // The quota not readable (403): the 413 midway stops the later creates, as before.
        fake.fail_next(1, Rule::get("os-quota-sets"), 403);
        fake.fail_next(1, Rule::get("limits"), 403);
        let out = env.run(&[&RUN[..], &["--concurrency", "1"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.lines().any(|l| l.contains("| skipped ") && l.contains("SnapshotLimitExceeded")), "{text}");
        assert!(text.trim_end().ends_with("; over quota: later creates were not sent"), "{text}");

        // Snapshots that stay creating past --wait-timeout: exit 3.
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = super::against_the_fake_cloud::env(&fake, "job-timeout");
        fake.set_snapshot_creating_reads(1000);
        let out = env.run(&[&RUN[..], &["--wait-timeout", "1s"]].concat());
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stdout(&out).contains("; the wait timed out"), "{}", stdout(&out));
        assert!(
            stderr(&out)
                .ends_with("cinder-snapshots: the wait timed out: the snapshots still creating are kept and reused by the next run\n"),
            "{}",
            stderr(&out)
        );
    }

    /// A misspelt tag: exit 1 naming the selection, nothing sent but the listing;
    /// `--allow-empty`: exit 0. `--volume db-1 --volume nope --volume db-2`: db-1 and db-2
    /// snapshotted, nope a failed row, exit 1. (Before: exit 0, and exit 1 before any
    /// create.)
    #[test]
    fn run_fails_when_nothing_matched_and_does_the_volumes_that_resolve() {
        let fake = FakeCloud::start();
        let ids = fleet(&fake);
        let env = env(&fake, "job-nothing");
        let typo = ["run", "--select", "backup=nigthly", "--policy", "nightly", "--keep-daily", "7", "--no-token-cache"];
        let out = env.run(&typo);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).ends_with("cinder-snapshots: no volume matched --select backup=nigthly (--allow-empty makes that a success)\n"),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).trim_end().ends_with("; no volume matched"), "{}", stdout(&out));
        let out = env.run(&[&typo[..], &["--allow-empty"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(fake.snapshots().is_empty());

        let named = [
            "run",
            "--volume",
            "db-1",
            "--volume",
            "nope",
            "--volume",
            "db-2",
            "--policy",
            "nightly",
            "--keep-daily",
            "7",
            "--json",
            "--no-token-cache",
        ];
        let out = env.run(&named);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        let rows: Vec<(&str, &str)> = report["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["volume_id"].as_str().unwrap(), v["action"].as_str().unwrap()))
            .collect();
        assert_eq!(rows, [(ids[0].as_str(), "created"), (ids[1].as_str(), "created"), ("nope", "failed")]);
        assert_eq!(report["volumes"][2]["unresolved"], json!({"reason": "not_found"}));
        assert_eq!(report["volumes"][2]["error"], "not found: no volume is named \"nope\"");
        assert_eq!(fake.snapshots().len(), 2);
    }

    /// A valid token in the cache (left by `list`) and a wrong password: run, prune and
    /// check authenticate anyway and fail with Keystone's refusal (exit 1; check UNKNOWN);
    /// with --token-cache they use the cached token, as `list` does. (Before: run and check
    /// succeeded on the cached token.)
    #[test]
    fn run_prune_and_check_authenticate_at_every_start_unless_token_cache() {
        let fake = FakeCloud::start();
        fleet(&fake);
        let mut env = env(&fake, "job-credentials");
        env.ok(&["volume", "list"]);
        assert!(env.cache().join("cinder-snapshots").exists(), "list keeps its token");
        env.set("OS_PASSWORD", "not-the-password");
        env.ok(&["volume", "list"]);
        let run = ["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7"];
        let prune = ["prune", "--policy", "nightly", "--keep-daily", "7"];
        let check = ["check", "--select", "backup=nightly", "--policy", "nightly", "--warn", "26h", "--crit", "50h"];
        for args in [&run[..], &prune[..]] {
            let out = env.run(args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).starts_with("cinder-snapshots: authentication failed: "), "{args:?}: {}", stderr(&out));
            assert!(!stderr(&out).contains("not-the-password"));
        }
        let out = env.run(&check);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - authentication failed: "), "{}", stdout(&out));
        assert!(fake.snapshots().is_empty());
        // Asked for, the cache is used: the cached token still works.
        env.ok(&[&run[..], &["--token-cache"]].concat());
        assert_eq!(fake.snapshots().len(), 3);
        env.ok(&[&prune[..], &["--token-cache"]].concat());
        let out = env.run(&[&check[..], &["--token-cache"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }

    /// The job's lock: held (here by the test, through the library), `run` and `prune`
    /// exit 5 at once naming the holder's pid, with no request; a dry run takes no lock.
    /// Two runs started together with the default lock file: the second exits 5 with the
    /// first's pid while the first one works, and creates nothing. (Before: both ran.)
    #[test]
    fn a_second_run_of_the_same_job_exits_5_naming_the_holder() {
        use cinder_snapshots::job::JobLock;
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = env(&fake, "job-lock");
        let path = env.home.join("held.lock");
        let held = JobLock::acquire(&path).unwrap();
        let lock = path.to_str().unwrap();
        fake.clear_requests();
        let prune = ["prune", "--policy", "nightly", "--keep-daily", "7", "--no-token-cache"];
        for args in [&RUN[..], &prune[..]] {
            let out = env.run(&[args, &["--lock-file", lock]].concat());
            assert_eq!(out.status.code(), Some(5), "{args:?}: {}", stderr(&out));
            assert_eq!(
                stderr(&out),
                format!(
                    "cinder-snapshots: another run of this job is running (pid {}, started {}); lock file {lock}\n",
                    std::process::id(),
                    held.holder().started
                )
            );
            assert!(out.stdout.is_empty());
        }
        assert!(fake.requests().is_empty(), "{:?}", fake.requests());
        env.ok(&[&RUN[..], &["--lock-file", lock, "--dry-run"]].concat());
        drop(held);

        // Two runs at once on the default lock file: the first waits for its snapshots
        // (at least its first poll interval, 1 s), the second exits 5 with the first's pid.
        let first = env.command(&[&RUN[..], &["--json"]].concat()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let locks = env.home.join(".local/state/cinder-snapshots/locks");
        let mut waited = 0;
        let file = loop {
            let found = std::fs::read_dir(&locks).ok().and_then(|d| d.filter_map(Result::ok).map(|e| e.path()).next());
            if let Some(f) = found.filter(|f| std::fs::read_to_string(f).is_ok_and(|t| t.starts_with("pid="))) {
                break f;
            }
            waited += 1;
            assert!(waited < 500, "no lock file in {}", locks.display());
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert!(file.file_name().unwrap().to_str().unwrap().starts_with("job-"), "{}", file.display());
        let second = env.run(&RUN);
        assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
        let err = stderr(&second);
        assert!(err.starts_with(&format!("cinder-snapshots: another run of this job is running (pid {}, started ", first.id())), "{err}");
        let first = first.wait_with_output().unwrap();
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        assert_eq!(fake.snapshots().len(), 3, "one snapshot a volume: the second run made none");
        // Released when the first ended: a third run works (and reuses).
        let text = env.ok(&RUN);
        assert!(text.contains(" 0 created, 3 reused,"), "{text}");
    }

    /// `run --all-projects` and `prune --all-projects` with a member's credentials: exit 2,
    /// naming Cinder's context_is_admin rule, nothing created. With the admin's: exit 0 and
    /// the summary says where the snapshots are. (Before: the member's run went on, exit 0.)
    #[test]
    fn all_projects_without_the_admin_view_is_refused_with_exit_2() {
        use cinder_snapshots::testing::Account;
        let fake = FakeCloud::start();
        fake.add_volume_with(&VolumeSpec::new("theirs").metadata("backup", "nightly").owner(Account::Member));
        let mut member = Env::new("job-member", vec![]);
        member.vars = fake.os_vars_as(Account::Member);
        let prune = ["prune", "--policy", "nightly", "--keep-daily", "7", "--all-projects"];
        for args in [&[&RUN[..], &["--all-projects"]].concat()[..], &prune[..]] {
            let out = member.run(args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(err.starts_with("cinder-snapshots: --all-projects needs Cinder's admin view"), "{err}");
            assert!(err.contains("context_is_admin, role admin by default"), "{err}");
        }
        assert!(fake.snapshots().is_empty());
        // check: the same refusal, UNKNOWN (3) as every configuration error of a check.
        let out = member.run(&[&CHECK[..], &["--all-projects"]].concat());
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - --all-projects needs Cinder's admin view"), "{}", stdout(&out));
        let admin = env(&fake, "job-admin");
        let text = admin.ok(&[&RUN[..], &["--all-projects"]].concat());
        assert!(
            text.trim_end().ends_with("; all projects: the snapshots are in this caller's project (its quota), not the volumes' projects"),
            "{text}"
        );
        assert_eq!(fake.snapshots().len(), 1);
    }

    /// Cinder's clock a day ahead of the host's: the run makes the new window's snapshot and
    /// its output ends with a line naming the skew. (Before: the host's window, reused.)
    #[test]
    fn a_clock_skew_is_named_and_the_window_is_cinders() {
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = env(&fake, "job-clock");
        fake.set_now(time::OffsetDateTime::now_utc());
        env.ok(&RUN);
        fake.set_now(time::OffsetDateTime::now_utc() + time::Duration::days(1));
        let text = env.ok(&RUN);
        assert!(text.contains(" 3 created, 0 reused,"), "{text}");
        let last = text.lines().last().unwrap_or_default();
        assert!(last.starts_with("clock: Cinder's clock is 86"), "{text}");
        assert!(last.ends_with(" s ahead of this host's (more than 5 min): the window and the labels are on Cinder's"), "{text}");
        assert_eq!(fake.snapshots().len(), 6);
    }

    #[test]
    fn on_a_terminal_the_run_shows_one_redrawn_line_of_counts() {
        if Command::new("script").arg("--version").output().is_err() {
            eprintln!("skipped: no `script` command to make a terminal with");
            return;
        }
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = env(&fake, "job-terminal");
        let line = format!("{BIN} {}", RUN.join(" "));
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &env.home)
            .env("XDG_CACHE_HOME", env.cache())
            .envs(env.vars.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run script");
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let screen = stdout(&out);
        assert!(screen.starts_with("\r3 created, 0 reused, 0 available, 0 failed of 3; 3 pending ("), "{screen:?}");
        let done = screen.find("\r3 created, 0 reused, 3 available, 0 failed of 3; 0 pending (").expect("the last counts");
        assert!(screen[done..].contains(")\x1b[K\r\n+--"), "the line is ended before the table: {screen:?}");
    }

    const CHECK: [&str; 10] =
        ["check", "--select", "backup=nightly", "--policy", "nightly", "--warn", "26h", "--crit", "50h", "--no-token-cache"];

    /// A volume named `db|x=1` (or with a line break) cannot add a `|` or a line to the
    /// check's output. Failed before (the name went into the status line as it was).
    #[test]
    fn check_output_has_one_bar_whatever_the_names() {
        let fake = FakeCloud::start();
        for name in ["db|x=1", "a\nCINDER-SNAPSHOTS OK - all good | age=0s"] {
            fake.add_volume_with(&VolumeSpec::new(name).metadata("backup", "nightly"));
        }
        let env = env(&fake, "check-names");
        let out = env.run(&CHECK);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.matches('|').count(), 1, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("CINDER-SNAPSHOTS CRITICAL - 2 volumes, 2 critical: "), "{text}");
        assert!(lines[0].split(" | ").next().unwrap().chars().count() <= 80, "{text}");
        assert!(text.contains("\nCRITICAL db\\u{7c}x=1: no snapshot, volume created "), "{text}");
        assert!(text.contains("\nCRITICAL a\\u{a}CINDER-SNAPSHOTS OK - all good \\u{7c} age=0s: no snapshot"), "{text}");
    }

    #[test]
    fn check_gives_each_exit_code() {
        let fake = FakeCloud::start();
        let ids = fleet(&fake);
        let env = env(&fake, "job-check");
        // No snapshot yet: CRITICAL, a line per volume, the age since its creation.
        let out = env.run(&CHECK);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("CINDER-SNAPSHOTS CRITICAL - 3 volumes, 3 critical: db-3, db-2, db-1 | age="), "{text}");
        assert!(lines[0].contains(";93600;180000;0 volumes=3;;;0 ok=0;;;0 warning=0;;;0 critical=3;;;0 snapshots=0;;;0 "), "{text}");
        assert_eq!(lines.len(), 4, "{text}");
        for (line, name) in lines[1..].iter().zip(["db-3", "db-2", "db-1"]) {
            assert!(line.starts_with(&format!("CRITICAL {name}: no snapshot, volume created ")) && line.ends_with("s ago"), "{text}");
        }
        // Snapshots made 30 hours ago (by the fake's clock): WARNING.
        let now = fake.now();
        fake.set_now(now - time::Duration::hours(30));
        env.ok(&RUN);
        fake.set_now(now);
        let out = env.run(&CHECK);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let line = stdout(&out);
        assert!(line.starts_with("CINDER-SNAPSHOTS WARNING - 3 volumes, 3 warning: db-3, db-2, db-1 | age=10"), "{line}");
        assert!(line.contains(";93600;180000;0 volumes=3;;;0 ok=0;;;0 warning=3;;;0 critical=0;;;0 snapshots=3;;;0 "), "{line}");
        assert!(line.contains("\nWARNING db-1: newest snapshot 1d"), "{line}");
        assert!(line.ends_with(" old\n"), "{line}");
        // A fresh run does nothing (the window has its snapshots); a new window's snapshot: OK.
        let out = env.run(&[&RUN[..], &["--every", "1h"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let out = env.run(&CHECK);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS OK - 3 volumes, oldest "), "{}", stdout(&out));
        // One row a volume with -f value; the report with --json.
        let text = env.ok(&[&CHECK[..], &["-f", "value", "-c", "volume", "-c", "status"]].concat());
        let mut rows: Vec<String> = text.lines().map(str::to_owned).collect();
        rows.sort_unstable();
        let mut want: Vec<String> = ids.iter().map(|id| format!("{id} OK")).collect();
        want.sort_unstable();
        assert_eq!(rows, want);
        let report = env.json(&[&CHECK[..], &["--json"]].concat());
        let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "clock_offset_s",
                "code",
                "crit_s",
                "details",
                "keep_limit",
                "now",
                "policy",
                "status",
                "status_line",
                "uncovered",
                "unselected",
                "volumes",
                "warn_s"
            ]
        );
        let keys: Vec<&str> = report["volumes"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "age_s",
                "duplicate_gib",
                "duplicates",
                "error_gib",
                "errors",
                "excess",
                "future",
                "judged_age_s",
                "newest",
                "owned",
                "owned_gib",
                "snapshot_id",
                "status",
                "volume_created",
                "volume_id",
                "volume_name"
            ]
        );
        assert_eq!(
            (report["status"].clone(), report["code"].clone(), report["volumes"].as_array().map(Vec::len)),
            (json!("OK"), json!(0), Some(3))
        );
        // No volume matches the selection: UNKNOWN.
        let out = env.run(&["check", "--select", "backup=none", "--policy", "nightly", "--warn", "26h", "--crit", "50h"]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - no volume selected | age=0s;93600;180000;0 volumes=0;;;0 "),
            "{}",
            stdout(&out)
        );
        // The cloud answering 500: UNKNOWN, the error in the line.
        fake.fail_next(1, Rule::get("volumes"), 500);
        let out = env.run(&CHECK);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let line = stdout(&out);
        assert!(line.starts_with("CINDER-SNAPSHOTS UNKNOWN - GET ") && line.contains("answered HTTP 500"), "{line}");
        assert!(line.lines().count() <= 2 && line.lines().next().unwrap().chars().count() <= 80 && !line.contains('|'), "{line}");
        // Keystone not there at all: UNKNOWN too.
        let mut gone = Env::new("job-check-gone", vec![]);
        gone.vars = fake.os_vars();
        gone.set("OS_AUTH_URL", "http://127.0.0.1:9/v3");
        let out = gone.run(&CHECK);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - "), "{}", stdout(&out));
        assert!(!stdout(&out).contains(&fake.os_vars().iter().find(|(k, _)| k == "OS_PASSWORD").unwrap().1), "no secret");
    }

    /// `run --metrics-file DIR` writes the target's file in DIR and keeps the last success
    /// under $HOME/.local/state; a failed run (exit 1) keeps it; `check --metrics-file`
    /// writes its own file, without last_success.
    #[test]
    fn run_and_check_write_metrics_files() {
        let fake = FakeCloud::start();
        fleet(&fake);
        let env = env(&fake, "job-metrics");
        let dir = env.home.join("textfile");
        std::fs::create_dir_all(&dir).unwrap();
        let dir_arg = dir.to_str().unwrap();
        let out = env.run(&[&RUN[..], &["--metrics-file", dir_arg]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let files = |d: &std::path::Path| {
            let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        };
        let names = files(&dir);
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].starts_with("cinder-snapshots-nightly-") && names[0].ends_with(".prom"), "{names:?}");
        let value =
            |text: &str, prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(|l| l.rsplit(' ').next().unwrap().to_owned());
        let first = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        let success = value(&first, "cinder_snapshots_last_success_timestamp_seconds{").unwrap();
        assert_ne!(success, "0");
        let state = env.home.join(".local/state/cinder-snapshots/metrics");
        assert_eq!(files(&state).len(), 1);

        // A run that fails (a volume that does not exist): exit 1, the last success unchanged.
        let failing = [
            "run",
            "--volume",
            "no-such-volume",
            "--policy",
            "nightly",
            "--keep-daily",
            "7",
            "--no-token-cache",
            "--metrics-file",
            dir_arg,
        ];
        let out = env.run(&failing);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let second = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        assert_eq!(value(&second, "cinder_snapshots_last_success_timestamp_seconds{").unwrap(), success, "{second}");
        assert_eq!(value(&second, "cinder_snapshots_last_run_success{").unwrap(), "0");
        assert_eq!(value(&second, "cinder_snapshots_metrics_complete{").unwrap(), "0");

        let check = env.home.join("check.prom");
        let out = env.run(&[
            "check",
            "--select",
            "backup=nightly",
            "--policy",
            "nightly",
            "--warn",
            "3d",
            "--crit",
            "4d",
            "--no-token-cache",
            "--metrics-file",
            check.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
        let text = std::fs::read_to_string(&check).unwrap();
        assert_eq!(text.matches("cinder_snapshots_newest_snapshot_timestamp_seconds{").count(), 3, "{text}");
        assert!(!text.contains("last_success"), "{text}");
        // A metrics file that cannot be written: the check is UNKNOWN at least.
        let out = env.run(&[
            "check",
            "--select",
            "backup=nightly",
            "--policy",
            "nightly",
            "--warn",
            "3d",
            "--crit",
            "4d",
            "--no-token-cache",
            "--metrics-file",
            "/proc/no/such/dir/m.prom",
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("the metrics were not written: cannot write /proc/no/such/dir"), "{}", stderr(&out));
    }

    /// `report` as a table with its quota lines, as JSON, as CSV, as values; exit 1 when a
    /// quota does not fit.
    #[test]
    fn report_in_each_format() {
        let fake = FakeCloud::start();
        let ids = fleet(&fake);
        let env = env(&fake, "job-report");
        env.ok(&RUN);
        fake.set_quota("snapshots", 9);
        let report = ["report", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--no-token-cache"];
        let out = env.run(&report);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let table = stdout(&out);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].contains("| Volume") && lines[1].contains("| Snapshots | GiB | Errors | Newest") && lines[1].ends_with("| Age |"),
            "{table}"
        );
        assert_eq!(lines.iter().filter(|l| l.contains("| db-")).count(), 3, "{table}");
        let tail: Vec<&str> = lines.iter().rev().take(3).rev().copied().collect();
        assert_eq!(
            tail,
            [
                "3 snapshots (3 GiB) owned by nightly on 3 volumes; steady state 7 + 1 per volume",
                "quota snapshots: steady state needs 24, holds 3, 6 left: DOES NOT FIT",
                "quota gigabytes: steady state needs 24 GiB, holds 3 GiB, unlimited: fits",
            ],
            "{table}"
        );
        // Room for 21 more: fits, exit 0; before, 6 left: exit 1.
        fake.set_quota("snapshots", 24);
        let json = env.json(&[&report[..], &["--json"]].concat());
        assert_eq!(json["fits"], true);
        assert_eq!((json["snapshots"].clone(), json["gib"].clone(), json["steady_count"].clone()), (json!(3), json!(3), json!(7)));
        assert_eq!(
            json["quota"][0],
            json!({"key": "snapshots", "needed": 24, "held": 3, "room": {"kind": "left", "left": 21}, "fits": true})
        );
        let keys: Vec<&str> = json["volumes"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["age_s", "errors", "gib", "newest", "pinned", "snapshots", "volume_id", "volume_name", "volume_size"]);
        let csv = env.ok(&[&report[..], &["-f", "csv"]].concat());
        let mut rows = csv.lines();
        assert_eq!(rows.next(), Some(r#""Volume","Name","Size","Snapshots","GiB","Errors","Newest","Age""#));
        let mut seen: Vec<String> = rows.map(|r| r.split(',').next().unwrap().trim_matches('"').to_owned()).collect();
        seen.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(seen, want);
        let values = env.ok(&[&report[..], &["-f", "value", "-c", "Name", "-c", "Snapshots"]].concat());
        let mut values: Vec<&str> = values.lines().collect();
        values.sort();
        assert_eq!(values, ["db-1 1", "db-2 1", "db-3 1"]);
        fake.set_quota("snapshots", 9);
        let out = env.run(&[&report[..], &["-f", "csv"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
}

#[cfg(feature = "testing")]
mod hooks_against_the_fake_cloud {
    //! `run --pre-hook/--post-hook/--on-failure` and SIGTERM, the tool in a child process.

    use super::*;
    use cinder_snapshots::testing::{FakeCloud, VolumeSpec};

    const RUN: [&str; 8] = ["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--no-token-cache"];

    #[test]
    fn sigterm_mid_wait_runs_the_post_hook_and_exits_1() {
        let fake = FakeCloud::start();
        fake.add_volume_with(&VolumeSpec::new("db-1").metadata("backup", "nightly"));
        fake.set_snapshot_creating_reads(1_000_000);
        let mut env = Env::new("hooks-sigterm", vec![]);
        env.vars = fake.os_vars();
        let log = env.home.join("log");
        let pre = format!("echo \"pre $CINDER_SNAPSHOTS_VOLUME_NAME\" >> '{}'", log.display());
        let post = format!("echo \"post $CINDER_SNAPSHOTS_VOLUME_NAME $CINDER_SNAPSHOTS_OUTCOME\" >> '{}'", log.display());
        let fail = format!("echo \"on-failure $CINDER_SNAPSHOTS_OUTCOME\" >> '{}'", log.display());
        let child = env
            .command(&[&RUN[..], &["--pre-hook", &pre, "--post-hook", &post, "--on-failure", &fail, "--json"]].concat())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the tool");
        // Mid-wait: the pre-hook ran and the snapshot is creating.
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("pre db-1") || fake.snapshots().is_empty() {
            assert!(started.elapsed() < std::time::Duration::from_secs(30), "the run did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        let out = child.wait_with_output().expect("the tool ends");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "pre db-1\npost db-1 interrupted\non-failure interrupted\n");
        let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        assert_eq!(report["interrupted"], true);
        assert_eq!(report["volumes"][0]["hooks"][1]["outcome"], "interrupted");
        assert_eq!(report["on_failure"]["exit_code"], 0);
        assert!(
            stderr(&out).ends_with(
                "cinder-snapshots: interrupted (SIGTERM/SIGINT): no further create was sent, the post-hooks due ran, nothing was pruned\n"
            ),
            "{}",
            stderr(&out)
        );
        assert_eq!(fake.snapshots().len(), 1, "the snapshot in flight is kept for the next run");
    }

    #[test]
    fn a_failing_post_hook_exits_1_and_says_the_filesystem_may_still_be_frozen() {
        let fake = FakeCloud::start();
        fake.add_volume_with(&VolumeSpec::new("db-1").metadata("backup", "nightly"));
        let mut env = Env::new("hooks-postfail", vec![]);
        env.vars = fake.os_vars();
        let out = env.run(&[&RUN[..], &["--pre-hook", "true", "--post-hook", "echo cannot thaw; exit 2"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stdout(&out).contains("post-hook failed (exited 2): filesystem may still be frozen"), "{}", stdout(&out));
        // A failing pre-hook: skipped, no create.
        let fake = FakeCloud::start();
        fake.add_volume_with(&VolumeSpec::new("db-1").metadata("backup", "nightly"));
        env.vars = fake.os_vars();
        let out = env.run(&[&RUN[..], &["--pre-hook", "exit 5", "--json"]].concat());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        assert_eq!(report["volumes"][0]["action"], "skipped");
        assert_eq!(report["volumes"][0]["error"], "not snapshotted: pre-hook failed (exited 5)");
        assert!(fake.snapshots().is_empty());
    }
}
