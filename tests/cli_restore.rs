//! The tool's enrolment and restore commands against the crate's FakeCloud (a real HTTP
//! Keystone and Cinder in this process, the tool in a child process): `volume set` /
//! `volume unset`, `restore --volume V --latest [--policy P]`, `revert V --latest`; the
//! exact requests each sends, what it prints and its exit code.
#![cfg(all(feature = "cli", feature = "testing"))]

use std::process::Output;
use std::time::Duration;

use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts};
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
use cinder_snapshots::volumes::VolumeStatus;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

/// Runs the tool as the fake's admin, in a clean environment with a private home.
fn run(cloud: &FakeCloud, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("cinder-snapshots-cli-restore-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("temp home");
    std::process::Command::new(BIN)
        .args(args)
        .arg("--no-token-cache")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .envs(cloud.os_vars())
        .output()
        .expect("run the tool")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every Cinder request, as `METHOD path?k=v&k=v`, with its JSON body when it has one.
fn calls(cloud: &FakeCloud) -> Vec<(String, Option<Value>)> {
    cloud
        .requests()
        .into_iter()
        .filter(|r| r.relative_path() != "/v3/auth/tokens" && r.relative_path() != "/")
        .map(|r| {
            let (method, path, query) = r.call();
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let line = if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{}", q.join("&")) };
            (line, r.body.clone())
        })
        .collect()
}

/// A snapshot of `volume` made by `policy` (its labels) or by hand (`None`), a minute after
/// the previous one on the fake's clock.
fn snap(cloud: &FakeCloud, volume: &str, policy: Option<&str>) -> String {
    cloud.advance(Duration::from_secs(60));
    let mut opts = CreateOpts::new(volume).name("s");
    if let Some(p) = policy {
        let policy = Policy::builder(p).keep_daily(7).build().unwrap();
        for (k, v) in retention::labels(&policy, cloud.now()) {
            opts = opts.metadata(k, v);
        }
    }
    snapshots::create(&cloud.client(), &opts).unwrap().id
}

#[test]
fn volume_set_enrols_a_volume_and_unset_removes_its_items() {
    let cloud = FakeCloud::start();
    let id = cloud.add_volume_with(&VolumeSpec::new("db").metadata("tier", "gold"));
    let out = run(&cloud, &["volume", "set", "db", "--property", "backup=nightly", "--property", "owner=ops"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((stdout(&out).as_str(), stderr(&out).as_str()), ("", ""));
    assert_eq!(
        calls(&cloud),
        [
            ("GET volumes/detail?name=db".to_owned(), None),
            (format!("POST volumes/{id}/metadata"), Some(json!({"metadata": {"backup": "nightly", "owner": "ops"}}))),
        ]
    );
    let volume = cloud.volumes().into_iter().find(|v| v.id == id).unwrap();
    let keys: Vec<&str> = volume.metadata.keys().map(String::as_str).collect();
    assert_eq!(keys, ["backup", "owner", "tier"], "merged, the others kept");
    // Now the job's selection finds it.
    let listed = run(&cloud, &["volume", "list", "--property", "backup=nightly", "-f", "value", "-c", "id"]);
    assert_eq!(stdout(&listed), format!("{id}\n"));

    cloud.clear_requests();
    let out = run(&cloud, &["volume", "unset", &id, "--property", "owner", "--property", "nope"]);
    assert_eq!(out.status.code(), Some(1), "a key not set is an error; the others are still removed");
    let text = stderr(&out);
    let want = format!("cinder-snapshots: DELETE {}/volumes/{id}/metadata/nope answered HTTP 404 itemNotFound: ", cloud.endpoint());
    assert!(text.starts_with(&want), "{text}");
    assert!(text.contains(&format!("Volume {id} has no metadata with key nope.")) && text.lines().count() == 1, "{text}");
    assert_eq!(
        calls(&cloud).into_iter().map(|(l, _)| l).collect::<Vec<_>>(),
        [format!("DELETE volumes/{id}/metadata/owner"), format!("DELETE volumes/{id}/metadata/nope")]
    );
    let volume = cloud.volumes().into_iter().find(|v| v.id == id).unwrap();
    assert_eq!(volume.metadata.keys().map(String::as_str).collect::<Vec<_>>(), ["backup", "tier"]);
    // Usage: no --property.
    let out = run(&cloud, &["volume", "set", "db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("volume set needs --property KEY=VALUE"), "{}", stderr(&out));
}

#[test]
fn restore_latest_makes_a_volume_from_the_newest_available_owned_snapshot() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let _old = snap(&cloud, &volume, Some("nightly"));
    let nightly = snap(&cloud, &volume, Some("nightly"));
    let hourly = snap(&cloud, &volume, Some("hourly"));
    let _by_hand = snap(&cloud, &volume, None);
    cloud.clear_requests();
    let out = run(&cloud, &["--json", "restore", "--volume", "db", "--latest", "--policy", "nightly", "--name", "db-restored"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).expect("one volume object");
    assert_eq!((printed["snapshot_id"].as_str(), printed["name"].as_str()), (Some(nightly.as_str()), Some("db-restored")));
    assert_eq!(
        calls(&cloud),
        [
            ("GET volumes/detail?name=db".to_owned(), None),
            (format!("GET snapshots/detail?all_tenants=1&volume_id={volume}"), None),
            ("POST volumes".to_owned(), Some(json!({"volume": {"snapshot_id": nightly, "name": "db-restored"}}))),
        ]
    );
    // Without --policy: any policy's newest (never the one made by hand).
    let out = run(&cloud, &["--json", "restore", "--volume", &volume, "--latest"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(printed["snapshot_id"].as_str(), Some(hourly.as_str()));
    // None of that policy: exit 1, nothing created.
    cloud.clear_requests();
    let out = run(&cloud, &["restore", "--volume", &volume, "--latest", "--policy", "weekly"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("cinder-snapshots: not found: volume {volume} has no available snapshot of policy \"weekly\"\n"));
    assert!(calls(&cloud).iter().all(|(l, _)| !l.starts_with("POST")), "{:?}", calls(&cloud));
}

#[test]
fn revert_latest_is_refused_with_nothing_sent_while_the_latest_is_creating() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let _good = snap(&cloud, &volume, Some("nightly"));
    cloud.set_snapshot_creating_reads(1000);
    let creating = snap(&cloud, &volume, None);
    cloud.clear_requests();
    let out = run(&cloud, &["revert", &volume, "--latest", "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "cinder-snapshots: not reverting volume {volume}: its latest snapshot ({creating}, status creating) is not available, and Cinder would leave\n\
             the volume stuck in reverting. Wait for the snapshot (cinder-snapshots wait SNAPSHOT) or delete it, then\n\
             try again. Nothing was sent.\n"
        )
    );
    assert_eq!(calls(&cloud), [(format!("GET snapshots/detail?all_tenants=1&volume_id={volume}"), None)]);
    assert_eq!(cloud.volumes()[0].status, VolumeStatus::Available);
}

#[test]
fn revert_latest_reverts_to_cinders_latest_and_waits() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let _owned = snap(&cloud, &volume, Some("nightly"));
    // Cinder's latest is the newest of any owner: this one, made by hand.
    let latest = snap(&cloud, &volume, None);
    cloud.clear_requests();
    let out = run(&cloud, &["--json", "revert", "db", "--latest", "--wait", "--wait-timeout", "30"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((printed["id"].as_str(), printed["status"].as_str()), (Some(volume.as_str()), Some("available")));
    let sent = calls(&cloud);
    assert_eq!(
        sent[..3],
        [
            ("GET volumes/detail?name=db".to_owned(), None),
            (format!("GET snapshots/detail?all_tenants=1&volume_id={volume}"), None),
            (format!("POST volumes/{volume}/action"), Some(json!({"revert": {"snapshot_id": latest}}))),
        ]
    );
    assert!(sent[3..].iter().all(|(l, _)| *l == format!("GET volumes/{volume}")), "then only the wait's reads: {sent:?}");
}

/// Snapshots of several volumes under one name (what the job made before names carried the
/// volume id): `restore NAME` lists them and says how to pick one; nothing is created.
#[test]
fn restore_by_a_name_several_snapshots_share_says_how_to_choose() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let a = cloud.add_volume("a");
    let b = cloud.add_volume("b");
    let client = cloud.client();
    let ids: Vec<String> = [&a, &b]
        .iter()
        .map(|v| snapshots::create(&client, &CreateOpts::new(v.as_str()).name("nightly-20261206T0000Z")).unwrap().id)
        .collect();
    cloud.clear_requests();
    let out = run(&cloud, &["restore", "nightly-20261206T0000Z"]);
    assert_eq!(out.status.code(), Some(1));
    let mut listed = ids.clone();
    listed.sort_by(|x, y| y.cmp(x)); // the listing's order: newest first, ties by id descending
    assert_eq!(
        stderr(&out),
        format!(
            "cinder-snapshots: 2 snapshots are named \"nightly-20261206T0000Z\": {}\n\
             To restore a volume's newest snapshot: cinder-snapshots restore --volume VOLUME --latest [--policy ID]; or give a snapshot id\n",
            listed.join(", ")
        )
    );
    assert!(calls(&cloud).iter().all(|(l, _)| !l.starts_with("POST")), "nothing created: {:?}", calls(&cloud));
}
