//! The live suite of the volumes module: listing beyond the server's page cap with every
//! filter, a volume created from a snapshot, a revert to a snapshot and Cinder's refusals,
//! against a real Keystone and Cinder.
//!
//! Ignored by plain `cargo test`. Run like tests/live.rs: the admin's `OS_*` variables in
//! the environment, `MEMBER_ENV` naming the member's env file and `LOCAL_CLOUD_MAX_LIMIT`
//! the page cap the cloud was started with (`scripts/local-cloud up --max-limit 15`), then
//! `cargo test --test live_volumes -- --ignored --test-threads=1`.
//!
//! What the local cloud's backend (Cinder's fake LVM driver, `FakeLoggingVolumeDriver`)
//! does: it really completes a create from a snapshot (the volume goes `creating` to
//! `available` with the snapshot's id and size) and a revert (the volume goes `reverting`
//! to `available`, the snapshot `restoring` to `available`); it writes no data, so what a
//! real backend does to the data is not checked. Cinder's own checks (only the latest
//! snapshot, only an available volume) are real.
//!
//! Each test makes its own volumes and snapshots (through the crate's own `volumes` and
//! `snapshots` modules) and removes them when it ends, also when it fails (`Scratch`).

mod livecloud;

use livecloud::*;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use cinder_snapshots::snapshots::{self, SnapshotStatus};
use cinder_snapshots::volumes::{self, CreateOpts, ListOpts, RevertRefusal, SortDir, SortKey, Volume, VolumeStatus, WaitOpts};
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, Request, ServiceClient, ServiceClientBuilder};
use serde_json::json;

const MV30: Microversion = Microversion::new(3, 0);

/// Polls fast: the fake backend moves a volume in about 0.2 s.
fn quick() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(100)).max_interval(Duration::from_secs(1)).timeout(Duration::from_secs(60))
}

fn snap_quick() -> snapshots::WaitOpts {
    snapshots::WaitOpts::new()
        .initial_interval(Duration::from_millis(100))
        .max_interval(Duration::from_secs(1))
        .timeout(Duration::from_secs(60))
}

fn client(vars: &[(String, String)], policy: MicroversionPolicy) -> ServiceClient {
    ServiceClientBuilder::from_vars(vars.to_vec()).expect("OS_* variables").microversion(policy).build().expect("client")
}

struct Clients {
    admin: ServiceClient,
    admin30: ServiceClient,
    member: ServiceClient,
}

fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let admin_vars = admin_vars();
        let c = Clients {
            admin: client(&admin_vars, MicroversionPolicy::Negotiate),
            admin30: client(&admin_vars, MicroversionPolicy::Pinned(MV30)),
            member: client(&member_vars(), MicroversionPolicy::Negotiate),
        };
        let project = project_of(&c.admin);
        c.admin
            .send(
                Request::put(["os-quota-sets", project.as_str()])
                    .json(json!({"quota_set": {"snapshots": 200, "volumes": 100, "gigabytes": 1000}})),
            )
            .expect("raise quotas");
        c
    })
}

/// The project id: the last segment of the catalog endpoint (`.../v3/<project>`).
fn project_of(client: &ServiceClient) -> String {
    let endpoint = client.endpoint().expect("endpoint");
    endpoint.path_segments().and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned)).expect("project in endpoint")
}

/// A tag unique to this run, so that listings see only this test's volumes.
fn run_tag(what: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{what}-{}-{nanos}", std::process::id())
}

/// Volumes and snapshots made by one test, removed when it ends (also on panic).
struct Scratch {
    owner: ServiceClient,
    volumes: Mutex<Vec<String>>,
    snapshots: Mutex<Vec<String>>,
}

impl Scratch {
    fn new(owner: &ServiceClient) -> Scratch {
        Scratch { owner: owner.clone(), volumes: Mutex::new(Vec::new()), snapshots: Mutex::new(Vec::new()) }
    }

    /// Creates a volume with the module, remembers it; not waited for.
    fn start_volume(&self, opts: &CreateOpts) -> Volume {
        let v = volumes::create(&self.owner, opts).expect("create volume");
        self.volumes.lock().unwrap().push(v.id.clone());
        v
    }

    /// A volume, available.
    fn volume(&self, opts: &CreateOpts) -> Volume {
        let v = self.start_volume(opts);
        volumes::wait_for_status(&self.owner, &v.id, VolumeStatus::Available, &quick()).expect("volume available")
    }

    /// A snapshot of `volume`, available.
    fn snapshot(&self, volume: &str, name: &str) -> snapshots::Snapshot {
        let s = snapshots::create(&self.owner, &snapshots::CreateOpts::new(volume).name(name)).expect("create snapshot");
        self.snapshots.lock().unwrap().push(s.id.clone());
        snapshots::wait_for_status(&self.owner, &s.id, SnapshotStatus::Available, &snap_quick()).expect("snapshot available")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let admin = &clients().admin;
        // Volumes made from a snapshot first, then snapshots, then the rest.
        let snaps = std::mem::take(&mut *self.snapshots.lock().unwrap_or_else(|e| e.into_inner()));
        let vols = std::mem::take(&mut *self.volumes.lock().unwrap_or_else(|e| e.into_inner()));
        let reset = json!({"os-reset_status": {"status": "available", "attach_status": "detached"}});
        let delete = |id: &String| {
            let _ = admin.send(Request::post(["volumes", id.as_str(), "action"]).json(reset.clone()));
            let _ = volumes::delete(&self.owner, id);
        };
        let (restored, plain): (Vec<&String>, Vec<&String>) =
            vols.iter().partition(|id| volumes::get(admin, id).map(|v| v.snapshot_id.is_some()).unwrap_or(false));
        for id in &restored {
            delete(id);
        }
        for id in &snaps {
            let _ = snapshots::force_delete(admin, id);
        }
        for id in &snaps {
            let _ = snapshots::wait_for_delete(admin, id, &snap_quick());
        }
        for id in &plain {
            delete(id);
        }
        for id in &vols {
            let _ = volumes::wait_for_delete(admin, id, &quick());
        }
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn volumes_above_the_page_cap_are_listed_with_every_filter() {
    let Some(cap) = std::env::var("LOCAL_CLOUD_MAX_LIMIT").ok().and_then(|v| v.parse::<usize>().ok()) else {
        panic!("LOCAL_CLOUD_MAX_LIMIT is not set: start the cloud with a low page cap (--max-limit)");
    };
    assert!((2..=40).contains(&cap), "the page cap ({cap}) is too high for this test to list beyond it");
    let n = cap + 2;
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let tag = run_tag("lv");
    let mut made = Vec::new();
    for i in 0..n {
        let opts = CreateOpts::new(1).name(format!("{tag}-{i:02}")).metadata("live-run", tag.as_str());
        made.push(scratch.start_volume(&opts).id);
    }
    for id in &made {
        volumes::wait_for_status(&c.admin, id, VolumeStatus::Available, &quick()).unwrap();
    }
    let mine = || ListOpts::new().metadata("live-run", tag.as_str());

    // Beyond the cap: one page of the cap, then the rest, each volume once, in order.
    let by_name = mine().sort(SortKey::Name, SortDir::Asc);
    let pages: Vec<_> = volumes::list_detail(&c.admin, &by_name).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [cap, n - cap]);
    let ids: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(|v| v.id.clone())).collect();
    assert_eq!(ids, made, "every volume once, sorted by name");
    // The summary view and a small limit: the same volumes.
    let summary: Vec<String> = volumes::list(&c.admin, &by_name.clone().limit(4)).unwrap().map(|v| v.unwrap().id).collect();
    assert_eq!(summary, made);
    // At 3.0 the metadata filter works too (for volumes it predates 3.22).
    let at30: Vec<String> =
        volumes::list_detail(&c.admin30, &mine().sort(SortKey::Name, SortDir::Asc)).unwrap().map(|v| v.unwrap().id).collect();
    assert_eq!(at30, made);
    // with_count: the total on every page.
    let counted: Vec<_> = volumes::list_detail(&c.admin, &mine().with_count(true)).unwrap().pages().map(|p| p.unwrap().count).collect();
    assert_eq!(counted, [Some(n as u64), Some(n as u64)]);
    // Descending by size then name, with a marker: what follows the marker.
    let desc: Vec<String> = volumes::list_detail(&c.admin, &mine().sort(SortKey::Size, SortDir::Desc).sort(SortKey::Name, SortDir::Desc))
        .unwrap()
        .map(|v| v.unwrap().id)
        .collect();
    let mut reversed = made.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);
    let after: Vec<String> =
        volumes::list_detail(&c.admin, &by_name.clone().marker(made[cap - 1].clone())).unwrap().map(|v| v.unwrap().id).collect();
    assert_eq!(after, made[cap..]);

    // Each filter.
    let count = |opts: ListOpts| volumes::list_detail(&c.admin, &opts).unwrap().count();
    assert_eq!(count(mine().name(format!("{tag}-03"))), 1);
    assert_eq!(count(mine().status(VolumeStatus::Available)), n);
    assert_eq!(count(mine().status(VolumeStatus::InUse)), 0);
    assert_eq!(count(mine().bootable(false)), n);
    assert_eq!(count(mine().bootable(true)), 0);
    assert_eq!(count(mine().availability_zone("nova")), n);
    assert_eq!(count(mine().availability_zone("elsewhere")), 0);
    let ones = (0..n).filter(|i| format!("{i:02}").starts_with('1')).count();
    assert_eq!(count(ListOpts::new().name_like(format!("{tag}-1"))), ones);
    let project = project_of(&c.admin);
    assert_eq!(count(mine().all_projects(true).project_id(project.as_str())), n);
    // The member sees none of the admin's volumes.
    assert_eq!(volumes::list_detail(&c.member, &mine()).unwrap().count(), 0);
    // Every field a snapshot tool uses.
    let v = volumes::find_by_name(&c.admin, &format!("{tag}-05")).unwrap();
    assert_eq!(v.id, made[5]);
    assert_eq!((v.size, v.bootable, v.status.clone()), (1, false, VolumeStatus::Available));
    assert_eq!(v.metadata.get("live-run"), Some(&tag));
    assert_eq!(v.project_id.as_deref(), Some(project.as_str()));
    assert!(v.created_at.is_some() && v.updated_at.is_some() && v.volume_type.is_some());
    assert_eq!(v.request_id, None, "find_by_name returns the listing's volume: no request id");
    let err = volumes::find_by_name(&c.admin, &format!("{tag}-none")).unwrap_err();
    assert!(matches!(err, Error::NoMatch(_)), "{err}");
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn a_volume_from_a_snapshot_is_created_and_waited_for() {
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let tag = run_tag("restore");
    let source = scratch.volume(&CreateOpts::new(1).name(format!("{tag}-source")));
    let snap = scratch.snapshot(&source.id, &format!("{tag}-snap"));

    // The snapshot's size: none sent.
    let restored = scratch.start_volume(&CreateOpts::from_snapshot(&snap.id).name(format!("{tag}-restored")));
    assert_eq!((restored.status.clone(), restored.snapshot_id.as_deref()), (VolumeStatus::Creating, Some(snap.id.as_str())));
    let restored = volumes::wait_for_status(&c.admin, &restored.id, VolumeStatus::Available, &quick()).unwrap();
    assert_eq!((restored.size, restored.snapshot_id.as_deref()), (1, Some(snap.id.as_str())));
    assert!(restored.request_id.is_some());
    // Larger than the snapshot.
    let bigger = scratch.volume(&CreateOpts::from_snapshot(&snap.id).size(2).name(format!("{tag}-bigger")));
    assert_eq!((bigger.size, bigger.snapshot_id.as_deref()), (2, Some(snap.id.as_str())));

    // Delete one and wait until it is gone.
    volumes::delete(&c.admin, &bigger.id).unwrap();
    volumes::wait_for_delete(&c.admin, &bigger.id, &quick()).unwrap();
    assert!(volumes::get(&c.admin, &bigger.id).unwrap_err().is_not_found());
    // A volume with snapshots cannot be deleted: Cinder's 400.
    let err = volumes::delete(&c.admin, &source.id).unwrap_err();
    assert!(err.is_bad_request() && err.api().unwrap().message.contains("have snapshots"), "{err}");
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn revert_to_the_latest_snapshot_and_cinders_refusals() {
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let tag = run_tag("revert");
    let v = scratch.volume(&CreateOpts::new(1).name(format!("{tag}-vol")));

    // No snapshot yet.
    let err = volumes::revert_to_snapshot(&c.admin, &v.id, "0b0b0b0b-0000-4000-8000-000000000000").unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NoSnapshots), "{err}");
    assert_eq!(err.api().unwrap().message, format!("Volume {} doesn't have any snapshots.", v.id));

    let s1 = scratch.snapshot(&v.id, &format!("{tag}-1"));
    // Below 3.40: refused before any request, the version named.
    let err = volumes::revert_to_snapshot(&c.admin30, &v.id, &s1.id).unwrap_err();
    assert!(matches!(&err, Error::InvalidInput(m) if m.contains("needs microversion 3.40")), "{err}");
    // The revert: reverting, then available again; the snapshot is available again too.
    volumes::revert_to_snapshot(&c.admin, &v.id, &s1.id).unwrap();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let reverted =
        volumes::wait_for_revert(&c.admin, &v.id, &quick().on_progress(move |v| log.lock().unwrap().push(v.status.clone()))).unwrap();
    assert_eq!(reverted.status, VolumeStatus::Available);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&VolumeStatus::Available));
    assert!(seen.iter().all(|s| matches!(s, VolumeStatus::Reverting | VolumeStatus::Available)), "{seen:?}");
    let s1_after = snapshots::wait_for_status(&c.admin, &s1.id, SnapshotStatus::Available, &snap_quick()).unwrap();
    assert_eq!(s1_after.volume_id, v.id);

    // Only the latest snapshot.
    let s2 = scratch.snapshot(&v.id, &format!("{tag}-2"));
    let err = volumes::revert_to_snapshot(&c.admin, &v.id, &s1.id).unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NotLatestSnapshot), "{err}");
    assert_eq!(err.api().map(|a| a.status), Some(400));
    // Only an available volume: Cinder's 409.
    let reset = |status: &str| {
        c.admin.send(Request::post(["volumes", v.id.as_str(), "action"]).json(json!({"os-reset_status": {"status": status}}))).unwrap();
    };
    reset("error");
    let err = volumes::revert_to_snapshot(&c.admin, &v.id, &s2.id).unwrap_err();
    reset("available");
    assert!(err.is_conflict(), "{err}");
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::VolumeNotAvailable), "{err}");
    // Only an available snapshot: Cinder's 409.
    snapshots::reset_status(&c.admin, &s2.id, SnapshotStatus::Error).unwrap();
    let err = volumes::revert_to_snapshot(&c.admin, &v.id, &s2.id).unwrap_err();
    snapshots::reset_status(&c.admin, &s2.id, SnapshotStatus::Available).unwrap();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::SnapshotNotAvailable), "{err}");
    // Cinder (29) marked the volume `reverting` before it checked the snapshot, and leaves it
    // so: only an admin's reset-status brings it back.
    assert_eq!(volumes::get(&c.admin, &v.id).unwrap().status, VolumeStatus::Reverting);
    reset("available");
    // The latest one reverts.
    volumes::revert_to_snapshot(&c.admin, &v.id, &s2.id).unwrap();
    volumes::wait_for_revert(&c.admin, &v.id, &quick()).unwrap();
    // Not once the volume has grown since the snapshot: Cinder's 400.
    c.admin.send(Request::post(["volumes", v.id.as_str(), "action"]).json(json!({"os-extend": {"new_size": 2}}))).unwrap();
    // The extend is asynchronous: the status may still read available before it starts.
    let start = std::time::Instant::now();
    let grown = loop {
        let now = volumes::get(&c.admin, &v.id).unwrap();
        if now.size == 2 && now.status == VolumeStatus::Available {
            break now;
        }
        assert!(start.elapsed() < Duration::from_secs(60) && now.status != VolumeStatus::ErrorExtending, "{now:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(grown.size, 2);
    let err = volumes::revert_to_snapshot(&c.admin, &v.id, &s2.id).unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::SizeMismatch), "{err}");
    assert!(err.api().unwrap().message.contains("The volume size must be equal to the snapshot size"), "{err}");
}

/// The command-line tool's volume commands against the live cloud: names resolved to ids,
/// restore and revert with their waits.
#[cfg(feature = "cli")]
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn the_tool_resolves_names_restores_and_reverts() {
    use std::process::{Command, Output};
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let tag = run_tag("lvcli");
    let v = scratch.volume(&CreateOpts::new(1).name(format!("{tag}-vol")));
    let snap = scratch.snapshot(&v.id, &format!("{tag}-snap"));
    let cache = std::env::temp_dir().join(format!("cinder-snapshots-live-volumes-{}", std::process::id()));
    let run = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_cinder-snapshots")).args(args).env("XDG_CACHE_HOME", &cache).output().expect("run the tool")
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let vol_name = format!("{tag}-vol");
    let snap_name = format!("{tag}-snap");

    // The volume by name: its snapshots, and the volume itself.
    let listed = json(&["--json", "list", "--volume", &vol_name]);
    assert_eq!(listed.as_array().map(|a| a.iter().map(|s| s["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(snap.id)]));
    let shown = json(&["--json", "volume", "show", &vol_name]);
    assert_eq!((shown["id"].as_str(), shown["bootable"].as_bool()), (Some(v.id.as_str()), Some(false)));
    let listed = json(&["--json", "volume", "list", "--name", &vol_name]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    // A name no volume has: exit 1, nothing listed.
    let out = run(&["list", "--volume", &format!("{tag}-none")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no volume is named"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());

    // restore by the snapshot's name, and wait.
    let restored = json(&["--json", "restore", &snap_name, "--name", &format!("{tag}-restored"), "--wait", "--wait-timeout", "60"]);
    let restored_id = restored["id"].as_str().expect("id").to_owned();
    scratch.volumes.lock().unwrap().push(restored_id.clone());
    assert_eq!((restored["status"].as_str(), restored["snapshot_id"].as_str()), (Some("available"), Some(snap.id.as_str())));
    // revert by names, and wait.
    let reverted = json(&["--json", "revert", &vol_name, "--snapshot", &snap_name, "--wait", "--wait-timeout", "60"]);
    assert_eq!((reverted["id"].as_str(), reverted["status"].as_str()), (Some(v.id.as_str()), Some("available")));
    // At 3.39: refused by the tool, exit 2.
    let out = run(&["--os-volume-api-version", "3.39", "revert", &v.id, "--snapshot", &snap.id]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&cache);
}

/// Enrolment and restore without guessing, through the tool against the real Cinder:
/// `volume set`/`unset` (the metadata calls), a job run on two enrolled volumes (names
/// unique per volume, so a restore by name finds one), `restore --volume V --latest
/// --policy P`, and `revert V --latest`: refused with the volume untouched while Cinder's
/// latest is not available, then reverted to it (a snapshot made by hand: Cinder's latest is
/// the newest of any owner).
#[cfg(feature = "cli")]
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn the_tool_enrols_volumes_and_restores_and_reverts_without_guessing() {
    use std::process::{Command, Output};
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let tag = run_tag("enrol");
    let v1 = scratch.volume(&CreateOpts::new(1).name(format!("{tag}-1")));
    let v2 = scratch.volume(&CreateOpts::new(1).name(format!("{tag}-2")));
    let cache = std::env::temp_dir().join(format!("cinder-snapshots-live-enrol-{}", std::process::id()));
    let run = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_cinder-snapshots")).args(args).env("XDG_CACHE_HOME", &cache).output().expect("run the tool")
    };
    let ok = |args: &[&str]| -> String {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}")) };

    // Enrolment: merged into the volume's metadata, found by the job's selection.
    let select = format!("backup={tag}");
    assert_eq!(ok(&["volume", "set", &format!("{tag}-1"), "--property", &select, "--property", "owner=ops"]), "");
    assert_eq!(ok(&["volume", "set", &v2.id, "--property", &select]), "");
    let meta = volumes::get_metadata(&c.admin, &v1.id).unwrap();
    assert_eq!((meta.get("backup"), meta.get("owner")), (Some(&tag), Some(&"ops".to_owned())));
    assert_eq!(ok(&["volume", "unset", &v1.id, "--property", "owner"]), "");
    assert_eq!(volumes::get_metadata(&c.admin, &v1.id).unwrap().get("owner"), None);
    let out = run(&["volume", "unset", &v1.id, "--property", "owner"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no metadata with key owner"), "{}", String::from_utf8_lossy(&out.stderr));
    let mut listed: Vec<String> =
        ok(&["volume", "list", "--property", &select, "-f", "value", "-c", "id"]).lines().map(str::to_owned).collect();
    listed.sort();
    let mut want = vec![v1.id.clone(), v2.id.clone()];
    want.sort();
    assert_eq!(listed, want);

    // The job on the enrolled volumes: one snapshot each, names unique per volume.
    let report = json(&["--json", "run", "--select", &select, "--policy", &tag, "--keep-daily", "7", "--wait-timeout", "2min"]);
    let made: Vec<(String, String)> = report["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["volume_id"].as_str().unwrap().to_owned(), v["snapshot_id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(made.len(), 2, "{report}");
    scratch.snapshots.lock().unwrap().extend(made.iter().map(|(_, s)| s.clone()));
    let job_snap = |volume: &str| made.iter().find(|(v, _)| v == volume).map(|(_, s)| s.clone()).unwrap();
    let name1 = snapshots::get(&c.admin, &job_snap(&v1.id)).unwrap().name.unwrap();
    let name2 = snapshots::get(&c.admin, &job_snap(&v2.id)).unwrap().name.unwrap();
    assert!(name1.starts_with(&format!("{tag}-")) && name1.ends_with(&format!("Z-{}", &v1.id[..8])), "{name1}");
    assert_ne!(name1, name2);
    // A restore by the job snapshot's name finds exactly one.
    let restored = json(&["--json", "restore", &name1, "--name", &format!("{tag}-byname"), "--wait", "--wait-timeout", "60"]);
    scratch.volumes.lock().unwrap().push(restored["id"].as_str().unwrap().to_owned());
    assert_eq!(restored["snapshot_id"].as_str(), Some(job_snap(&v1.id).as_str()));

    // A snapshot by hand, newer: Cinder's latest, never restore --latest's.
    let by_hand = scratch.snapshot(&v1.id, &format!("{tag}-hand"));
    let restored = json(&[
        "--json",
        "restore",
        "--volume",
        &format!("{tag}-1"),
        "--latest",
        "--policy",
        &tag,
        "--name",
        &format!("{tag}-latest"),
        "--wait",
        "--wait-timeout",
        "60",
    ]);
    scratch.volumes.lock().unwrap().push(restored["id"].as_str().unwrap().to_owned());
    assert_eq!((restored["snapshot_id"].as_str(), restored["status"].as_str()), (Some(job_snap(&v1.id).as_str()), Some("available")));
    let out = run(&["restore", "--volume", &v1.id, "--latest", "--policy", &format!("{tag}-other")]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    // revert --latest while Cinder's latest is not available (set back to creating by the
    // admin): refused, nothing sent, the volume still available (not stuck reverting).
    snapshots::reset_status(&c.admin, &by_hand.id, SnapshotStatus::Creating).unwrap();
    let out = run(&["revert", &v1.id, "--latest"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("its latest snapshot ({}, status creating) is not available", by_hand.id)), "{text}");
    assert_eq!(volumes::get(&c.admin, &v1.id).unwrap().status, VolumeStatus::Available);
    // Available again: reverted to it (made by hand: Cinder's latest is of any owner).
    snapshots::reset_status(&c.admin, &by_hand.id, SnapshotStatus::Available).unwrap();
    let err = volumes::revert_to_snapshot(&c.admin, &v1.id, &job_snap(&v1.id)).unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NotLatestSnapshot), "Cinder agrees: the job's is not the latest");
    let reverted = json(&["--json", "revert", &format!("{tag}-1"), "--latest", "--wait", "--wait-timeout", "60"]);
    assert_eq!((reverted["id"].as_str(), reverted["status"].as_str()), (Some(v1.id.as_str()), Some("available")));
    // The library's own pick is the same.
    assert_eq!(volumes::latest_snapshot(&c.admin, &v1.id).unwrap().map(|s| s.id), Some(by_hand.id.clone()));
    let _ = std::fs::remove_dir_all(&cache);
}
