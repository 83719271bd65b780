//! The scheduled job (`job::run`, `job::check`) against the fake cloud: the exact requests
//! of a run, idempotence in a window and after a crash, a snapshot gone to error, over
//! quota midway, in-use volumes by microversion, paged listings of what is pending, dry runs,
//! selection past a page cap, and the monitoring check.
#![cfg(feature = "testing")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinder_snapshots::job::{self, CheckOpts, CheckStatus, JobOpts, JobReport, Progress, RUN_KEY, VolumeAction, WINDOW_KEY, Window};
use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus};
use cinder_snapshots::testing::{FakeCloud, PROJECT_ID, Rule, VolumeSpec};
use cinder_snapshots::volumes::VolumeStatus;
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, ServiceClient};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-11-27 02:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-11-28 02:00 UTC);
/// The window label of DAY3's daily window.
const WINDOW3: &str = "2026-11-28T00:00:00Z";

fn policy() -> Policy {
    Policy::builder("nightly").keep_daily(2).build().unwrap()
}

/// A job on the volumes tagged backup=nightly at `now`, polling fast.
fn opts(now: OffsetDateTime) -> JobOpts {
    JobOpts::new(policy())
        .select_tag("backup", "nightly")
        .now(now)
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(20))
}

/// `n` volumes tagged backup=nightly (named vol-00, vol-01, ...) and one untagged.
fn fleet(cloud: &FakeCloud, n: usize) -> Vec<String> {
    let ids = (0..n).map(|i| cloud.add_volume_with(&VolumeSpec::new(format!("vol-{i:02}")).metadata("backup", "nightly"))).collect();
    cloud.add_volume_with(&VolumeSpec::new("untagged"));
    ids
}

/// Runs the job at `now` (the fake's clock set to it).
fn run_at(cloud: &FakeCloud, client: &ServiceClient, o: JobOpts, now: OffsetDateTime) -> JobReport {
    cloud.set_now(now);
    job::run(client, &o.now(now)).unwrap()
}

/// The fake's ids replaced by `{id}` in a path or a query value.
fn template(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(i) = out.find("00000000-0000-4000-8000-") {
        let end = (i + 36).min(out.len());
        out.replace_range(i..end, "{id}");
    }
    out
}

/// Every Cinder request since the last clear, as `METHOD path?k=v&k=v` with ids templated,
/// counted.
fn calls(cloud: &FakeCloud) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in cloud.requests() {
        let (method, path, query) = r.call();
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = template(&if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{}", q.join("&")) });
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn count(calls: &BTreeMap<String, usize>, prefix: &str) -> usize {
    calls.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, n)| n).sum()
}

fn expect(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

const TAG_LISTING: &str = r#"GET volumes/detail?with_count=true&metadata={"backup":"nightly"}"#;

fn window_listing(window: &str) -> String {
    format!(r#"GET snapshots/detail?with_count=true&metadata={{"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"{window}"}}"#)
}

/// The wait's listing of the window's snapshots still `creating` (the polls between the first
/// and the last).
fn creating_listing(window: &str) -> String {
    format!(
        r#"GET snapshots/detail?with_count=true&status=creating&metadata={{"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"{window}"}}"#
    )
}

/// The window's listings in the order sent: `whole` (every status) or `creating`
/// (`status=creating`), `+page` for a page after the first (a marker).
fn window_listings(cloud: &FakeCloud) -> Vec<String> {
    cloud
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.relative_path() == "snapshots/detail")
        .filter(|r| r.query.iter().any(|(k, v)| k == "metadata" && v.contains("cinder-snapshots.window")))
        .map(|r| {
            let kind = if r.query.iter().any(|(k, v)| k == "status" && v == "creating") { "creating" } else { "whole" };
            if r.query.iter().any(|(k, _)| k == "marker") { format!("{kind}+page") } else { kind.to_owned() }
        })
        .collect()
}

/// The prune's listing: one for all the volumes pruned (the policy's label filtered by the
/// server, the volumes on the client), the one owned listing, so with `with_count` (3.45+).
const PRUNE_LISTING: &str = r#"GET snapshots/detail?with_count=true&metadata={"cinder-snapshots.policy":"nightly"}"#;

/// The quota preflight's read of the caller's project's quota set.
fn quota_set() -> String {
    format!("GET os-quota-sets/{PROJECT_ID}?usage=True")
}

/// The snapshots the fake holds of one volume, oldest first.
fn snaps_of(cloud: &FakeCloud, volume: &str) -> Vec<snapshots::Snapshot> {
    cloud.snapshots().into_iter().filter(|s| s.volume_id == volume).collect()
}

/// Three days of runs: the third prunes the first day's snapshots (keep daily 2), with the
/// exact requests: one tag listing, one window listing before the creates and one per poll,
/// one POST per volume, one prune listing per volume, one DELETE and its waits per doomed
/// snapshot. The snapshots carry the retention labels, the window and the run id.
#[test]
fn a_run_creates_waits_labels_and_prunes() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    let day1 = run_at(&cloud, &client, opts(DAY1), DAY1);
    assert!(day1.is_success(), "{day1:?}");
    run_at(&cloud, &client, opts(DAY2), DAY2);
    let day1_ids: Vec<String> = day1.volumes().iter().map(|v| v.snapshot_id.clone().unwrap()).collect();

    cloud.clear_requests();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let report = run_at(&cloud, &client, opts(DAY3).progress(move |p| sink.lock().unwrap().push(*p)), DAY3);

    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.window(), &Window::Daily);
    assert_eq!(report.window_start(), datetime!(2026-11-28 00:00 UTC));
    assert_eq!(report.polls(), 2, "one poll sees them creating, the next available");
    let t = report.totals();
    assert_eq!((t.volumes, t.created, t.reused, t.available, t.failed, t.skipped, t.pruned, t.prune_failed), (3, 3, 0, 3, 0, 0, 3, 0));
    // The volumes in the listing's order (newest first, ties by id descending).
    let listed: Vec<&str> = report.volumes().iter().map(|v| v.volume_id.as_str()).collect();
    let mut want: Vec<&str> = vols.iter().map(String::as_str).collect();
    want.reverse();
    assert_eq!(listed, want);
    for (v, old) in report.volumes().iter().zip(&day1_ids) {
        assert_eq!(v.action, VolumeAction::Created);
        assert_eq!(v.snapshot_status, Some(SnapshotStatus::Available));
        assert_eq!(v.pruned, std::slice::from_ref(old), "{}", v.volume_id);
        assert_eq!((v.error.as_ref().map(ToString::to_string).as_deref(), v.prune_skipped.as_deref()), (None, None));
    }
    assert_eq!(
        calls(&cloud),
        expect(&[
            (TAG_LISTING, 1),
            // Before the creates; the first poll's and the last's, every status.
            (&window_listing(WINDOW3), 3),
            // The second poll's: none is left creating, so the whole listing follows.
            (&creating_listing(WINDOW3), 1),
            (&quota_set(), 1),
            ("POST snapshots", 3),
            (PRUNE_LISTING, 1),
            ("DELETE snapshots/{id}", 3),
            ("GET snapshots/{id}", 6),
        ])
    );
    assert_eq!(window_listings(&cloud), ["whole", "whole", "creating", "whole"]);
    // Labels, name, description.
    let made = cloud.snapshots().into_iter().find(|s| Some(&s.id) == report.volumes()[0].snapshot_id.as_ref()).unwrap();
    // Unique per volume and window: the first 8 hex digits of the volume id at the end.
    assert_eq!(made.name, Some(format!("nightly-20261128T0000Z-{}", &made.volume_id[..8])));
    assert_eq!(
        made.description.as_deref(),
        Some(format!("cinder-snapshots job, window {WINDOW3} (daily), run {}", report.run_id()).as_str())
    );
    let mut labels = retention::labels(&policy(), DAY3);
    labels.insert(WINDOW_KEY.into(), WINDOW3.into());
    labels.insert(RUN_KEY.into(), report.run_id().into());
    assert_eq!(made.metadata, labels);
    assert_eq!(report.run_id().len(), 16);
    // Each volume keeps days 2 and 3.
    for v in &vols {
        let days: Vec<OffsetDateTime> = snaps_of(&cloud, v).iter().map(|s| s.created_at.unwrap()).collect();
        assert_eq!(days, [DAY2, DAY3]);
    }
    // Progress: after the creates, after each poll, at the end.
    let seen = seen.lock().unwrap();
    let counts: Vec<(usize, usize, usize, usize)> = seen.iter().map(|p| (p.total, p.created, p.available, p.pending)).collect();
    assert_eq!(counts, [(3, 3, 0, 3), (3, 3, 0, 3), (3, 3, 3, 0), (3, 3, 3, 0)]);
    // The JSON report.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["window"], "daily");
    assert_eq!(json["window_start"], WINDOW3);
    assert_eq!(json["run_id"], report.run_id());
    assert_eq!(json["totals"]["created"], 3);
    assert_eq!(json["volumes"][0]["action"], "created");
    assert_eq!(json["volumes"][0]["pruned"], json!([day1_ids[0]]));
    assert_eq!(json["prune"]["counts"]["deleted"], 3);
}

/// A second run in the same window creates nothing: no POST, no wait, every snapshot reused,
/// and the prune deletes nothing more.
#[test]
fn a_second_run_in_the_same_window_creates_nothing() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    let first = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert_eq!(first.totals().created, 3);

    cloud.clear_requests();
    // Later the same day.
    let later = DAY3 + Duration::from_secs(6 * 3600);
    let second = run_at(&cloud, &client, opts(later), later);
    assert!(second.is_success());
    assert_eq!(calls(&cloud), expect(&[(TAG_LISTING, 1), (&window_listing(WINDOW3), 1), (PRUNE_LISTING, 1)]));
    assert_eq!(second.polls(), 0);
    let t = second.totals();
    assert_eq!((t.created, t.reused, t.available, t.pruned), (0, 3, 3, 0));
    for (v, f) in second.volumes().iter().zip(first.volumes()) {
        assert_eq!(v.action, VolumeAction::Reused);
        assert_eq!(v.snapshot_id, f.snapshot_id);
    }
    for v in &vols {
        assert_eq!(snaps_of(&cloud, v).len(), 1);
    }
}

/// Below 3.22 (no metadata filter) the window's listing is the project's whole listing,
/// filtered here: another policy's snapshot of the window, or this policy's of another
/// window, is never reused.
#[test]
fn below_3_22_the_window_listing_is_filtered_on_the_client() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let admin = cloud.client();
    cloud.set_now(DAY3);
    // vols[0]: another policy's snapshot labelled with this window; vols[1]: this policy's
    // of yesterday's window.
    let mut other = CreateOpts::new(&vols[0]).name("other");
    for (k, v) in retention::labels(&Policy::builder("weekly").keep_weekly(4).build().unwrap(), DAY3) {
        other = other.metadata(k, v);
    }
    snapshots::create(&admin, &other.metadata(WINDOW_KEY, WINDOW3)).unwrap();
    leftover(&admin, &vols[1], DAY2, "2026-11-27T00:00:00Z");
    let client = cloud.client_builder().microversion(MicroversionPolicy::Pinned(Microversion::new(3, 21))).build().unwrap();
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.totals().created, 2);
    let c = calls(&cloud);
    // No metadata filter (and no with_count below 3.45): the whole listing each time.
    assert_eq!(c.get("GET snapshots/detail"), Some(&(1 + report.polls())), "{c:#?}");
    assert_eq!(c.get("POST snapshots"), Some(&2));
    for v in &vols {
        assert_eq!(snaps_of(&cloud, v).len(), 2, "{v}");
    }
}

/// The wait's deadline: the snapshots still `creating` fail their volumes (not pruned), the
/// report says it timed out, and a later run in the window reuses them.
#[test]
fn the_wait_deadline_ends_the_run_and_a_rerun_picks_the_snapshots_up() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let client = cloud.client();
    cloud.set_snapshot_creating_reads(1_000_000);
    let report = run_at(&cloud, &client, opts(DAY3).timeout(Duration::from_millis(100)), DAY3);
    assert!(report.timed_out());
    assert!(!report.is_success());
    for v in report.volumes() {
        assert_eq!((v.action, v.snapshot_status.clone()), (VolumeAction::Failed, Some(SnapshotStatus::Creating)));
        let error = v.error.as_ref().unwrap().to_string();
        let id = v.snapshot_id.as_deref().unwrap();
        assert!(error.starts_with(&format!("snapshot {id} did not become available within 0.")), "{error}");
        assert!(error.ends_with(" s (last status: creating)"), "{error}");
        assert_eq!(v.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    }
    assert_eq!(serde_json::to_value(&report).unwrap()["timed_out"], true);
    // The backend finishes them later.
    for v in report.volumes() {
        snapshots::reset_status(&client, v.snapshot_id.as_deref().unwrap(), SnapshotStatus::Available).unwrap();
    }
    let rerun = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert!(rerun.is_success(), "{rerun:#?}");
    assert_eq!((rerun.totals().reused, rerun.totals().created), (2, 0));
    for (v, r) in rerun.volumes().iter().zip(report.volumes()) {
        assert_eq!(v.snapshot_id, r.snapshot_id);
    }
    assert_eq!(cloud.snapshots().len(), vols.len());
}

/// The window's snapshot is reused even when its volume can no longer be snapshotted (here
/// in maintenance); a volume in that state without one is skipped with its status.
#[test]
fn the_windows_snapshot_is_reused_whatever_the_volume_status_now() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let client = cloud.client();
    let first = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert_eq!(first.totals().created, 2);
    for v in &vols {
        assert!(cloud.set_volume_status(v, VolumeStatus::Maintenance));
    }
    let again = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert_eq!(again.totals().reused, 2, "{again:#?}");
    let next_day = run_at(&cloud, &client, opts(DAY3 + Duration::from_secs(86_400)), DAY3 + Duration::from_secs(86_400));
    for v in next_day.volumes() {
        assert_eq!(
            (v.action, v.error.as_ref().map(ToString::to_string).as_deref()),
            (VolumeAction::Skipped, Some("volume is maintenance"))
        );
    }
}

/// A listing page whose marker vanished (404) during a poll is listed again at the next poll
/// instead of failing every pending snapshot.
#[test]
fn a_poll_answered_404_is_listed_again() {
    let cloud = Arc::new(FakeCloud::start());
    fleet(&cloud, 2);
    let client = cloud.client();
    let fake = cloud.clone();
    let armed = AtomicBool::new(false);
    // Right after the creates, before the first poll.
    let o = opts(DAY3).progress(move |_| {
        if !armed.swap(true, Ordering::SeqCst) {
            fake.fail_next(1, Rule::get("snapshots/detail"), 404);
        }
    });
    cloud.clear_requests();
    let report = run_at(&cloud, &client, o, DAY3);
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.totals().available, 2);
    // The listing before the creates, the poll answered 404, then the counted polls.
    assert_eq!(count(&calls(&cloud), &window_listing(WINDOW3)), 2 + report.polls());
}

/// Creates a snapshot of `volume` labelled as a run of `now`'s daily window would
/// (another run id), as a killed run leaves it.
fn leftover(client: &ServiceClient, volume: &str, now: OffsetDateTime, window: &str) -> String {
    let mut create = CreateOpts::new(volume).name("nightly-killed");
    for (k, v) in retention::labels(&policy(), now) {
        create = create.metadata(k, v);
    }
    create = create.metadata(WINDOW_KEY, window).metadata(RUN_KEY, "killedkilledkill");
    snapshots::create(client, &create).unwrap().id
}

/// A run killed after its creates (the snapshots still `creating`, no report) and run
/// again: the new run reuses and waits for them, creates only the one missing, and leaves
/// one snapshot per volume.
#[test]
fn a_rerun_after_a_crash_reuses_the_snapshots_left_creating() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    cloud.set_now(DAY3);
    cloud.set_snapshot_creating_reads(3);
    // The killed run made the snapshots of vol-00 and vol-01, not vol-02's.
    let left: Vec<String> = vols[..2].iter().map(|v| leftover(&client, v, DAY3, WINDOW3)).collect();
    assert!(cloud.snapshots().iter().all(|s| s.status == SnapshotStatus::Creating));

    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3 + Duration::from_secs(600)), DAY3 + Duration::from_secs(600));
    assert!(report.is_success(), "{report:#?}");
    let by_volume = |v: &str| report.volume(v).unwrap();
    for (v, id) in vols.iter().zip(&left) {
        assert_eq!(by_volume(v).action, VolumeAction::Reused);
        assert_eq!(by_volume(v).snapshot_id.as_ref(), Some(id));
        assert_eq!(by_volume(v).snapshot_status, Some(SnapshotStatus::Available));
    }
    assert_eq!(by_volume(&vols[2]).action, VolumeAction::Created);
    let c = calls(&cloud);
    assert_eq!(count(&c, "POST "), 1);
    assert_eq!(count(&c, "DELETE "), 0);
    // Before the creates, the first poll and the last every status; the polls between
    // (the last one's first listing too) only what is still creating.
    assert_eq!(count(&c, &window_listing(WINDOW3)), 3, "{c:#?}");
    assert_eq!(count(&c, &creating_listing(WINDOW3)), report.polls() - 1, "{c:#?}");
    for v in &vols {
        assert_eq!(snaps_of(&cloud, v).len(), 1, "one snapshot of {v}");
    }
}

/// The snapshot name's format changed (the volume id's first 8 hex digits were added): a
/// window's snapshot made by an older version, under the old name, is still found by its
/// labels and reused; names are never used to find the job's snapshots.
#[test]
fn a_windows_snapshot_under_the_old_name_format_is_reused() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    cloud.set_now(DAY3);
    let mut create = CreateOpts::new(vols[0].as_str()).name("nightly-20261128T0000Z");
    for (k, v) in retention::labels(&policy(), DAY3) {
        create = create.metadata(k, v);
    }
    let old = snapshots::create(&client, &create.metadata(WINDOW_KEY, WINDOW3).metadata(RUN_KEY, "0123456789abcdef")).unwrap().id;
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3 + Duration::from_secs(60)), DAY3 + Duration::from_secs(60));
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.volume(&vols[0]).unwrap().action, VolumeAction::Reused);
    assert_eq!(report.volume(&vols[0]).unwrap().snapshot_id.as_ref(), Some(&old));
    assert_eq!(count(&calls(&cloud), "POST "), 0);
    assert_eq!(snaps_of(&cloud, &vols[0]).len(), 1);
}

/// A create whose answer is lost (the fake makes the snapshot, then closes the connection
/// without an answer: a transport error): the wait's listing finds the snapshot by its labels
/// and volume and adopts it; no second create, no leak. Without a snapshot to find (a
/// gateway's 504, nothing made), the volume fails with the create's error.
#[test]
fn a_create_whose_answer_was_lost_is_adopted_by_the_wait() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let client = cloud.client();
    cloud.set_now(DAY3);
    cloud.lose_next_answers(1, Rule::method("POST", "snapshots"));
    cloud.clear_requests();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let o = opts(DAY3).concurrency(1).progress(move |p| sink.lock().unwrap().push(*p));
    let report = run_at(&cloud, &client, o, DAY3);
    assert!(report.is_success(), "{report:#?}");
    // Right after the creates the job knows one snapshot made and waits for two: the lost
    // create's answer never came.
    let first = seen.lock().unwrap()[0];
    assert_eq!((first.created, first.failed, first.pending), (1, 0, 2), "{first:#?}");
    // One POST per volume, the first one's answer lost; its volume is the one in its body.
    let posts: Vec<serde_json::Value> =
        cloud.requests().into_iter().filter(|r| r.method == "POST" && r.relative_path() == "snapshots").filter_map(|r| r.body).collect();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    let volume = posts[0]["snapshot"]["volume_id"].as_str().unwrap().to_owned();
    assert!(vols.contains(&volume), "{volume}");
    assert_ne!(posts[1]["snapshot"]["volume_id"], posts[0]["snapshot"]["volume_id"]);
    // The snapshot the fake made for the lost POST is the one adopted.
    let made = snaps_of(&cloud, &volume);
    assert_eq!(made.len(), 1, "{made:#?}");
    let v = report.volume(&volume).unwrap();
    assert_eq!(v.action, VolumeAction::Created, "{v:#?}");
    assert_eq!(v.snapshot_id.as_deref(), Some(made[0].id.as_str()));
    assert_eq!(v.snapshot_status, Some(SnapshotStatus::Available));
    assert_eq!(v.error, None);
    for v in &vols {
        assert_eq!(snaps_of(&cloud, v).len(), 1, "one snapshot of {v}");
    }
    assert_eq!(cloud.snapshots().len(), 2);

    // Nothing to find: the volume fails with the create's error after one poll.
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 504);
    let report = run_at(&cloud, &client, opts(DAY3), DAY3);
    let v = report.volume(&vols[0]).unwrap();
    assert_eq!(v.action, VolumeAction::Failed);
    let error = v.error.as_ref().unwrap().to_string();
    assert!(error.starts_with("create failed: POST http://"), "{error}");
    assert!(error.contains("/snapshots answered HTTP 504 computeFault: The fake cloud was told to fail this request."), "{error}");
    assert!(error.ends_with("; no snapshot of it was found"), "{error}");
    assert_eq!(report.polls(), 1);
    assert_eq!(v.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    assert!(cloud.snapshots().is_empty());
}

/// A zombie of an earlier run of this window (a snapshot in `error`) is deleted by the job
/// and a new snapshot made.
#[test]
fn a_zombie_of_an_earlier_run_is_deleted_and_replaced() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    cloud.set_now(DAY3);
    cloud.set_snapshot_creating_reads(0);
    let zombie = leftover(&client, &vols[0], DAY3, WINDOW3);
    cloud.fail_snapshot(Some(&zombie), Some("backend down"));
    assert_eq!(cloud.snapshots()[0].status, SnapshotStatus::Creating);
    // The listing before the creates moves it to error.
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3), DAY3);
    let v = &report.volumes()[0];
    assert_eq!(v.action, VolumeAction::Created, "{v:#?}");
    assert_eq!(v.zombies, std::slice::from_ref(&zombie));
    assert!(report.is_success());
    let c = calls(&cloud);
    assert_eq!(c.get("DELETE snapshots/{id}"), Some(&1));
    assert_eq!(count(&c, "POST snapshots"), 1);
    let left = snaps_of(&cloud, &vols[0]);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, *v.snapshot_id.as_ref().unwrap());
    assert_ne!(left[0].id, zombie);
}

/// A snapshot that goes to `error` during the wait: reported with Cinder's user message,
/// deleted by the job (the delete waited for), its volume not pruned; the others pruned.
#[test]
fn a_snapshot_gone_to_error_is_deleted_reported_and_its_volume_not_pruned() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    run_at(&cloud, &client, opts(DAY1), DAY1);
    run_at(&cloud, &client, opts(DAY2), DAY2);
    // The next snapshot created fails; with one create at a time, that is the first
    // volume's (the listing's first: the newest, vols[2]).
    cloud.fail_next_snapshots(1, Some("Snapshot failed: the backend is out of space."));
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
    assert!(!report.is_success());
    let failed = report.volume(&vols[2]).unwrap();
    let id = failed.snapshot_id.clone().unwrap();
    assert_eq!(failed.action, VolumeAction::Failed);
    assert_eq!(failed.snapshot_status, Some(SnapshotStatus::Error));
    assert_eq!(
        failed.error.as_ref().map(ToString::to_string).as_deref(),
        Some(format!("snapshot {id} went to error: Snapshot failed: the backend is out of space.; the job deleted it").as_str())
    );
    assert_eq!(failed.zombies, std::slice::from_ref(&id));
    assert_eq!(failed.pruned, Vec::<String>::new());
    assert_eq!(failed.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    // Its two earlier snapshots are still there, the failed one is gone.
    let days: Vec<OffsetDateTime> = snaps_of(&cloud, &vols[2]).iter().map(|s| s.created_at.unwrap()).collect();
    assert_eq!(days, [DAY1, DAY2]);
    for v in &vols[..2] {
        let r = report.volume(v).unwrap();
        assert_eq!((r.action, r.pruned.len()), (VolumeAction::Created, 1));
        let days: Vec<OffsetDateTime> = snaps_of(&cloud, v).iter().map(|s| s.created_at.unwrap()).collect();
        assert_eq!(days, [DAY2, DAY3]);
    }
    let t = report.totals();
    assert_eq!((t.created, t.failed, t.available, t.pruned), (2, 1, 2, 2));
    let c = calls(&cloud);
    // The user message, read once; the failed snapshot's delete and 2 prune deletes.
    assert_eq!(c.get(&format!("GET messages?resource_uuid={}", template(&id))), Some(&1), "{c:#?}");
    assert_eq!(c.get("DELETE snapshots/{id}"), Some(&3));
    // One prune listing for the two others (the deletes above show which were pruned).
    assert_eq!(count(&c, PRUNE_LISTING), 1);
}

/// Over quota midway (the quota not readable, 403, so the preflight cannot see it coming):
/// the creates after the 413 are not sent, their volumes are skipped with Cinder's message,
/// the snapshots already made are waited for, reported and pruned.
#[test]
fn over_quota_midway_stops_the_creates_and_keeps_the_made_ones() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 5);
    let client = cloud.client();
    cloud.set_snapshot_quota(Some(3));
    cloud.fail_next(1, Rule::get("os-quota-sets"), 403);
    cloud.fail_next(1, Rule::get("limits"), 403);
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
    assert!(report.over_quota());
    assert!(!report.is_success());
    let t = report.totals();
    assert_eq!((t.created, t.available, t.skipped, t.failed), (3, 3, 2, 0));
    // Four POSTs: three made, the fourth refused; the fifth never sent.
    let c = calls(&cloud);
    assert_eq!(count(&c, "POST snapshots"), 4);
    assert_eq!(count(&c, PRUNE_LISTING), 1);
    // The listing's order is newest first: vols[4] .. vols[0]; the last two are skipped.
    for v in &vols[..2] {
        let r = report.volume(v).unwrap();
        assert_eq!(r.action, VolumeAction::Skipped);
        assert_eq!(
            r.error.as_ref().map(ToString::to_string).as_deref(),
            Some("over quota: SnapshotLimitExceeded: Maximum number of snapshots allowed (3) exceeded")
        );
        assert_eq!(r.prune_skipped.as_deref(), Some("not pruned: the volume was not snapshotted in this run"));
        assert_eq!(r.snapshot_id, None);
    }
    for v in &vols[2..] {
        let r = report.volume(v).unwrap();
        assert_eq!((r.action, r.snapshot_status.clone()), (VolumeAction::Created, Some(SnapshotStatus::Available)));
        assert_eq!(r.prune_skipped, None);
    }
    assert_eq!(cloud.snapshots().len(), 3);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["over_quota"], true);
    assert_eq!(json["totals"]["skipped"], 2);
}

/// In-use volumes: below 3.66 the job sends `force=true` (the fake, as Cinder, refuses an
/// in-use volume without it); from 3.66 it sends no force flag. The exact create bodies come
/// from the fake's request log, and the fake shows each is accepted.
#[test]
fn in_use_volumes_are_forced_below_3_66_and_not_from_it() {
    for (minor, force) in [(65, true), (66, false), (71, false)] {
        let cloud = FakeCloud::start();
        let in_use = cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly").attached_to("server-1"));
        let free = cloud.add_volume_with(&VolumeSpec::new("scratch").metadata("backup", "nightly"));
        let client = cloud.client_builder().microversion(MicroversionPolicy::Pinned(Microversion::new(3, minor))).build().unwrap();
        cloud.clear_requests();
        let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
        assert!(report.is_success(), "3.{minor}: {report:#?}");
        assert_eq!(report.volume(&in_use).unwrap().volume_status, "in-use");
        assert_eq!(report.volume(&in_use).unwrap().action, VolumeAction::Created);
        assert_eq!(report.volume(&free).unwrap().action, VolumeAction::Created);
        let mut bodies: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for r in cloud.requests().into_iter().filter(|r| r.method == "POST" && r.relative_path() == "snapshots") {
            assert_eq!(r.microversion, Some(format!("volume 3.{minor}")));
            let body = r.body.unwrap();
            let volume = body["snapshot"]["volume_id"].as_str().unwrap().to_owned();
            assert!(bodies.insert(volume, body).is_none(), "3.{minor}: one create per volume");
        }
        let run = report.run_id();
        let want = |volume: &str, forced: bool| {
            let mut body = json!({"snapshot": {
                "volume_id": volume,
                "name": format!("nightly-20261128T0000Z-{}", &volume[..8]),
                "description": format!("cinder-snapshots job, window {WINDOW3} (daily), run {run}"),
                "metadata": {
                    "cinder-snapshots.label-format": "1",
                    "cinder-snapshots.policy": "nightly",
                    "cinder-snapshots.rules": "daily=2,utc-offset=+00:00",
                    "cinder-snapshots.run-at": "2026-11-28T02:00:00Z",
                    "cinder-snapshots.window": WINDOW3,
                    "cinder-snapshots.run": run,
                },
            }});
            if forced {
                body["snapshot"]["force"] = json!(true);
            }
            body
        };
        let expected = BTreeMap::from([(in_use.clone(), want(&in_use, force)), (free.clone(), want(&free, false))]);
        assert_eq!(bodies, expected, "3.{minor}");
    }
}

/// The wait polls with paged listings, never a GET per snapshot: 25 snapshots with pages of
/// 10 are 3 requests for each whole listing (before the creates, the first poll, the last),
/// and the polls between list only the snapshots still `creating`.
#[test]
fn each_poll_is_one_paged_listing() {
    let cloud = FakeCloud::start();
    fleet(&cloud, 25);
    let client = cloud.client();
    cloud.set_snapshot_creating_reads(4);
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).page_size(10), DAY3);
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.totals().available, 25);
    let c = calls(&cloud);
    let listing = format!(
        r#"GET snapshots/detail?with_count=true&limit=10&metadata={{"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"{WINDOW3}"}}"#
    );
    // Before the creates: one request (nothing yet). Then 3 for the first poll and 3 for the
    // last: pages of 10, 10, 5.
    assert_eq!(c.get(&listing), Some(&3), "{c:#?}");
    assert_eq!(count(&c, &format!("{listing}&marker=")), 4);
    assert_eq!(report.polls(), 3, "{:?}", window_listings(&cloud));
    // Between them, the snapshots still creating: the second poll's first page held 10 (the
    // fake moves them on as it is read: none was left on the next page), the third's none.
    assert_eq!(
        window_listings(&cloud),
        ["whole", "whole", "whole+page", "whole+page", "creating", "creating+page", "creating", "whole", "whole+page", "whole+page"]
    );
    // Not one GET of a snapshot.
    assert_eq!(count(&c, "GET snapshots/{id}"), 0);
    // The selection with the page size too: 25 volumes, pages of 10.
    assert_eq!(count(&c, r#"GET volumes/detail?with_count=true&limit=10&metadata={"backup":"nightly"}"#), 3);
}

/// N a multiple of P (20 snapshots, pages of 10): 2 requests per whole listing (the first
/// poll's and the last's), with `with_count` (3.45+) ending the listing at its last item.
/// Below 3.45 Cinder links a full last page to an empty one, so each takes one request more,
/// as the pager documents.
#[test]
fn an_exact_multiple_of_the_page_size_takes_n_over_p_requests_per_poll() {
    for (minor, per_poll, query) in [(71, 2, "with_count=true&limit=10"), (44, 3, "limit=10")] {
        let cloud = FakeCloud::start();
        fleet(&cloud, 20);
        let client = cloud.client_builder().microversion(MicroversionPolicy::Pinned(Microversion::new(3, minor))).build().unwrap();
        cloud.set_snapshot_creating_reads(4);
        cloud.clear_requests();
        let report = run_at(&cloud, &client, opts(DAY3).page_size(10), DAY3);
        assert!(report.is_success(), "{report:#?}");
        let c = calls(&cloud);
        let listing = format!(
            r#"GET snapshots/detail?{query}&metadata={{"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"{WINDOW3}"}}"#
        );
        let polls = report.polls();
        assert!(polls >= 2, "3.{minor}: {polls}");
        // Before the creates, nothing: one request for an empty page; then the first poll
        // and the last list the whole window.
        assert_eq!(count(&c, &listing), 1 + per_poll * 2, "3.{minor}: {c:#?}");
    }
}

/// A dry run sends no POST and no DELETE: it reports what it would create or reuse, the
/// zombies and the snapshots the prune would delete.
#[test]
fn a_dry_run_creates_and_deletes_nothing() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let client = cloud.client();
    let day1 = run_at(&cloud, &client, opts(DAY1), DAY1);
    run_at(&cloud, &client, opts(DAY2), DAY2);
    let before = cloud.snapshots();

    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).dry_run(true), DAY3);
    assert!(report.is_dry_run());
    let c = calls(&cloud);
    assert_eq!(count(&c, "POST"), 0);
    assert_eq!(count(&c, "DELETE"), 0);
    assert_eq!(c, expect(&[(TAG_LISTING, 1), (&window_listing(WINDOW3), 1), (PRUNE_LISTING, 1)]));
    assert_eq!(cloud.snapshots(), before);
    let t = report.totals();
    assert_eq!((t.would_create, t.created, t.pruned), (2, 0, 0));
    for v in report.volumes() {
        assert_eq!(v.action, VolumeAction::WouldCreate);
        // On the snapshots there are now (days 1 and 2), keep daily 2 deletes nothing.
        assert_eq!(v.pruned, Vec::<String>::new());
    }
    assert_eq!(report.prune_report().unwrap().counts().kept, 4);

    // After the real day-3 run, a dry run reuses, and with keep daily 1 would delete day 2.
    run_at(&cloud, &client, opts(DAY3), DAY3);
    cloud.clear_requests();
    let strict = Policy::builder("nightly").keep_daily(1).build().unwrap();
    let o = opts(DAY3).dry_run(true);
    let o = JobOpts::new(strict).selection(o.get_selection().clone()).now(DAY3).dry_run(true);
    let report = job::run(&client, &o).unwrap();
    let c = calls(&cloud);
    assert_eq!((count(&c, "POST"), count(&c, "DELETE")), (0, 0));
    for v in report.volumes() {
        assert_eq!(v.action, VolumeAction::WouldReuse);
        assert_eq!(v.pruned.len(), 1);
        let day2 = snaps_of(&cloud, &v.volume_id).into_iter().find(|s| s.created_at == Some(DAY2)).unwrap();
        assert_eq!(v.pruned, [day2.id]);
    }
    assert_eq!(report.totals().would_reuse, 2);
    assert!(day1.volumes().iter().all(|v| !cloud.snapshots().iter().any(|s| Some(&s.id) == v.snapshot_id.as_ref())));
    assert_eq!(vols.len(), 2);
}

/// A selection by tag is listed to the last page past the server's page cap; a volume
/// selected twice (by tag and by name, and by id) is done once; a volume neither
/// available nor in-use is skipped with its status.
#[test]
fn a_selection_by_tag_is_listed_to_the_last_page_and_each_volume_done_once() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(3);
    let vols = fleet(&cloud, 7);
    let broken = cloud.add_volume_with(&VolumeSpec::new("broken").metadata("backup", "nightly").status(VolumeStatus::Error));
    let client = cloud.client();
    cloud.clear_requests();
    let o = opts(DAY3).select_volume("vol-03").select_volume(vols[5].clone());
    let report = run_at(&cloud, &client, o, DAY3);
    // 8 tagged volumes: pages of 3, 3, 2.
    let c = calls(&cloud);
    assert_eq!(count(&c, "GET volumes/detail?with_count=true&metadata="), 3, "{c:#?}");
    assert_eq!(count(&c, r#"GET volumes/detail?with_count=true&metadata={"backup":"nightly"}&marker="#), 2);
    assert_eq!(count(&c, "GET volumes/detail?name=vol-03"), 1);
    assert_eq!(count(&c, "GET volumes/{id}"), 1);
    assert_eq!(report.volumes().len(), 8);
    assert_eq!(count(&c, "POST snapshots"), 7);
    let b = report.volume(&broken).unwrap();
    assert_eq!((b.action, b.error.as_ref().map(ToString::to_string).as_deref()), (VolumeAction::Skipped, Some("volume is error")));
    assert_eq!(b.volume_status, "error");
    for v in &vols {
        assert_eq!(snaps_of(&cloud, v).len(), 1);
    }
}

/// Nothing selected is an error before any request; a selection matching no volume is a
/// failed run that does nothing (`no_volume_matched`), unless `allow_empty`.
#[test]
fn nothing_selected_is_an_error() {
    let cloud = FakeCloud::start();
    fleet(&cloud, 1);
    let client = cloud.client();
    let err = job::run(&client, &JobOpts::new(policy()).now(DAY3)).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m == "no volumes selected: select volumes by tag, by id or name, or all volumes"),
        "{err}"
    );
    let err = job::check(&client, &CheckOpts::new("nightly", Duration::from_secs(60), Duration::from_secs(120))).unwrap_err();
    assert!(matches!(&err, Error::InvalidInput(m) if m.starts_with("no volumes selected")), "{err}");
    // all_projects alone is a scope, not a selection.
    assert!(job::run(&client, &JobOpts::new(policy()).all_projects(true)).is_err());
    assert!(cloud.requests().is_empty());

    // every volume: the tagged one and the untagged one.
    let report = run_at(
        &cloud,
        &client,
        JobOpts::new(policy()).all_volumes(true).poll_interval(Duration::from_millis(1), Duration::from_millis(5)),
        DAY3,
    );
    assert_eq!(report.totals().created, 2);
    assert!(!report.no_volume_matched());
}

/// A misspelt tag matches no volume: the run does nothing (the tag listing, no snapshot
/// request) and is a failure, `no_volume_matched`, named in the JSON; `allow_empty` makes
/// it a success. (Before: an empty, successful run.)
#[test]
fn a_selection_matching_no_volume_is_a_failure_unless_allow_empty() {
    let cloud = FakeCloud::start();
    fleet(&cloud, 2);
    let client = cloud.client();
    let o = JobOpts::new(policy()).select_tag("backup", "nigthly").now(DAY3);
    assert_eq!(o.get_selection().to_string(), "--select backup=nigthly");
    cloud.clear_requests();
    let report = job::run(&client, &o).unwrap();
    assert_eq!(report.volumes().len(), 0);
    assert!(report.no_volume_matched() && !report.is_success());
    assert_eq!(serde_json::to_value(&report).unwrap()["no_volume_matched"], json!(true));
    assert_eq!(
        calls(&cloud),
        expect(&[("GET /", 1), (r#"GET volumes/detail?with_count=true&metadata={"backup":"nigthly"}"#, 1), ("POST /v3/auth/tokens", 1)])
    );
    let report = job::run(&client, &o.clone().allow_empty(true)).unwrap();
    assert!(!report.no_volume_matched() && report.is_success());
    assert!(cloud.snapshots().is_empty());
    // Tags matching nothing while a volume named matches: the selection as a whole matched.
    let report = run_at(&cloud, &client, opts(DAY3).select_tag("tier", "none").select_volume("vol-01"), DAY3);
    assert!(!report.no_volume_matched() && report.is_success(), "{report:?}");
    assert_eq!(report.totals().created, 1);
    let s = job::Selection::new().tag("a b", "c").volume("v").all(true).all_projects(true);
    assert_eq!(s.to_string(), r#"--select "a b=c" --volume v --all --all-projects"#);
}

/// `--volume db-1 --volume nope --volume db-2` (and an id that does not exist, a name two
/// volumes have): the volumes that resolve are snapshotted and pruned; each of the others
/// is a failed volume with the typed reason and the text as given; the run is not a
/// success. (Before: the run returned the look-up's error before any create.)
#[test]
fn a_volume_that_does_not_resolve_fails_alone_and_the_others_are_done() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 2);
    let twin1 = cloud.add_volume("twin");
    let twin2 = cloud.add_volume("twin");
    let client = cloud.client();
    let gone = "00000000-0000-4000-8000-00000000dead";
    let o = JobOpts::new(policy())
        .select_volume("vol-00")
        .select_volume("nope")
        .select_volume(gone)
        .select_volume("twin")
        .select_volume("vol-01")
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5));
    let report = run_at(&cloud, &client, o, DAY3);
    assert!(!report.is_success() && !report.no_volume_matched());
    let ids: Vec<&str> = report.volumes().iter().map(|v| v.volume_id.as_str()).collect();
    assert_eq!(ids, [vols[0].as_str(), vols[1].as_str(), "nope", gone, "twin"]);
    for v in &report.volumes()[..2] {
        assert_eq!(
            (v.action, v.snapshot_status.clone(), v.unresolved.clone()),
            (VolumeAction::Created, Some(SnapshotStatus::Available), None)
        );
        assert_eq!(snaps_of(&cloud, &v.volume_id).len(), 1);
    }
    /// Action, why, error, why not pruned.
    type Row<'a> = (VolumeAction, Option<job::Unresolved>, Option<String>, Option<&'a str>);
    let failed: Vec<Row> = report.volumes()[2..]
        .iter()
        .map(|v| (v.action, v.unresolved.clone(), v.error.as_ref().map(ToString::to_string), v.prune_skipped.as_deref()))
        .collect();
    // Typed: the look-up's own error.
    assert!(report.volumes()[2].error.as_ref().and_then(|e| e.error()).is_some_and(cinder_snapshots::Error::is_not_found));
    let mut twins = vec![twin1, twin2];
    twins.sort_unstable();
    let twins_listed = match &failed[2].1 {
        Some(job::Unresolved::Ambiguous { ids }) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(twins_listed, twins);
    let skipped = Some("not pruned: the volume was not found");
    assert_eq!(
        failed[0],
        (VolumeAction::Failed, Some(job::Unresolved::NotFound), Some("not found: no volume is named \"nope\"".to_owned()), skipped)
    );
    assert_eq!((failed[1].0, failed[1].1.clone(), failed[1].3), (VolumeAction::Failed, Some(job::Unresolved::NotFound), skipped));
    assert!(failed[1].2.as_ref().is_some_and(|e| e.contains("could not be found")), "{:?}", failed[1].2);
    assert_eq!(failed[2].0, VolumeAction::Failed);
    let t = report.totals();
    assert_eq!((t.volumes, t.created, t.failed), (5, 2, 3));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["volumes"][2]["unresolved"], json!({"reason": "not_found"}));
    assert_eq!(json["volumes"][0]["unresolved"], json!(null));
    assert_eq!(json["volumes"][4]["unresolved"]["reason"], "ambiguous");
}

/// `all_projects` with a member's credentials: Cinder would drop `all_tenants` silently, so
/// run and prune refuse with `Error::AdminViewRequired` after one probe (a volume listing
/// without `os-vol-host-attr:host`), before anything else. With the admin's: the member's
/// volume is snapshotted, and the snapshot lands in the ADMIN's project (Cinder creates it in
/// the caller's); the report says all projects. (Before: the member's run went on, on its
/// own project, with exit 0.)
#[test]
fn all_projects_needs_the_admin_view_and_snapshots_land_in_the_callers_project() {
    use cinder_snapshots::testing::{Account, MEMBER_PROJECT_ID, PROJECT_ID};
    let cloud = FakeCloud::start();
    let theirs = cloud.add_volume_with(&VolumeSpec::new("theirs").metadata("backup", "nightly").owner(Account::Member));
    let member = cloud.client_as(Account::Member);
    cloud.clear_requests();
    let err = job::run(&member, &opts(DAY3).all_projects(true)).unwrap_err();
    assert!(matches!(err, Error::AdminViewRequired), "{err}");
    assert!(err.to_string().contains("context_is_admin"), "{err}");
    let err = job::prune(&member, &job::PruneOpts::new(policy()).all_projects(true)).unwrap_err();
    assert!(matches!(err, Error::AdminViewRequired), "{err}");
    let check = job::CheckOpts::new("nightly", Duration::from_secs(3600), Duration::from_secs(7200)).select_tag("backup", "nightly");
    let err = job::check(&member, &check.all_projects(true)).unwrap_err();
    assert!(matches!(err, Error::AdminViewRequired), "{err}");
    assert_eq!(calls(&cloud), expect(&[("GET /", 1), ("GET volumes/detail?all_tenants=1&limit=1", 3), ("POST /v3/auth/tokens", 1)]));
    assert_eq!(cinder_snapshots::volumes::admin_view(&member).unwrap(), Some(false));
    assert!(cloud.snapshots().is_empty());

    let admin = cloud.client();
    assert_eq!(cinder_snapshots::volumes::admin_view(&admin).unwrap(), Some(true));
    let report = run_at(&cloud, &admin, opts(DAY3).all_projects(true), DAY3);
    assert!(report.is_success() && report.all_projects(), "{report:?}");
    assert_eq!(serde_json::to_value(&report).unwrap()["all_projects"], json!(true));
    let snaps = snaps_of(&cloud, &theirs);
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].project_id.as_deref(), Some(PROJECT_ID), "in the caller's project, not {MEMBER_PROJECT_ID}");
    // The member does not see it.
    let listed = snapshots::list_detail(&member, &snapshots::ListOpts::new()).unwrap().all().unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

/// Windows are on Cinder's clock (the Date of its answers): with the host's clock a day
/// behind Cinder's, the next run makes today's snapshot (not "reused" yesterday's, exit 0)
/// and names the skew; `JobOpts::now` still wins. (Before: the host's clock chose the
/// window, and the second run reused the first one's snapshot.)
#[test]
fn the_window_is_chosen_on_cinders_clock_and_a_skew_is_reported() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    let host = OffsetDateTime::now_utc();
    let base = JobOpts::new(policy())
        .select_tag("backup", "nightly")
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(20));
    cloud.set_now(host);
    let first = job::run(&client, &base).unwrap();
    assert!(first.is_success() && first.totals().created == 1, "{first:?}");
    assert_eq!(first.clock_skew(), None);
    // Cinder's clock a day ahead of the host's.
    cloud.set_now(host + time::Duration::days(1));
    let second = job::run(&client, &base).unwrap();
    assert!(second.is_success(), "{second:?}");
    assert_eq!(second.volumes()[0].action, VolumeAction::Created);
    assert_eq!(second.window_start(), first.window_start() + time::Duration::days(1));
    let skew = second.clock_skew().expect("a day of skew is reported");
    assert!((skew - time::Duration::days(1)).abs() < time::Duration::seconds(5), "{skew}");
    let json = serde_json::to_value(&second).unwrap();
    assert!(json["clock_skew_s"].as_i64().is_some_and(|s| (s - 86_400).abs() < 5), "{}", json["clock_skew_s"]);
    assert_eq!(snaps_of(&cloud, &vols[0]).len(), 2);
    assert_eq!(snaps_of(&cloud, &vols[0])[1].metadata[WINDOW_KEY], second.window_label());
    // JobOpts::now wins over both clocks: the first window, whose snapshot is reused.
    let third = job::run(&client, &base.clone().now(host)).unwrap();
    assert_eq!((third.volumes()[0].action, third.window_start()), (VolumeAction::Reused, first.window_start()));
}

/// check(): OK, WARNING, CRITICAL (old or none), UNKNOWN when no volume matched; only
/// available snapshots owned by the policy count.
#[test]
fn check_statuses_and_status_line() {
    let cloud = FakeCloud::start();
    cloud.set_now(DAY1);
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    // vol-00 and vol-01 snapshotted on day 2, vol-01 also on day 3 02:00; vol-02 never (by
    // this policy; a snapshot by hand does not count).
    let o = JobOpts::new(policy())
        .select_volume(vols[0].clone())
        .select_volume(vols[1].clone())
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5));
    run_at(&cloud, &client, o, DAY2);
    run_at(
        &cloud,
        &client,
        JobOpts::new(policy()).select_volume(vols[1].clone()).poll_interval(Duration::from_millis(1), Duration::from_millis(5)),
        DAY3,
    );
    cloud.set_now(DAY3);
    snapshots::create(&client, &CreateOpts::new(&vols[2]).name("by hand")).unwrap();

    let (warn, crit) = (Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600));
    let at = |now: OffsetDateTime| CheckOpts::new("nightly", warn, crit).select_tag("backup", "nightly").now(now);
    let noon = DAY3 + Duration::from_secs(10 * 3600); // vol-00: 34 h, vol-01: 10 h
    cloud.clear_requests();
    let report = job::check(&client, &at(noon)).unwrap();
    assert_eq!(report.status(), CheckStatus::Critical);
    let statuses: Vec<(&str, CheckStatus, Option<u64>)> =
        report.volumes().iter().map(|v| (v.label(), v.status, v.age.map(|a| a.as_secs()))).collect();
    assert_eq!(
        statuses,
        [
            ("vol-02", CheckStatus::Critical, None),
            ("vol-01", CheckStatus::Ok, Some(36_000)),
            ("vol-00", CheckStatus::Warning, Some(122_400))
        ]
    );
    // vol-02 has no snapshot: its age is the time since it was created (DAY1), never 0.
    assert_eq!(
        report.output(),
        "CINDER-SNAPSHOTS CRITICAL - 3 volumes, 1 critical, 1 warning: vol-02, vol-00 | age=208800s;93600;180000;0 \
         volumes=3;;;0 ok=1;;;0 warning=1;;;0 critical=1;;;0 snapshots=3;;;0 size=3221225472B;;;0 errors=0;;;0 duplicates=0;;;0 \
         excess=0;;;0 future=0;;;0 unselected=0;;;0 uncovered=U;;;0 skew=U;300;;0\n\
         CRITICAL vol-02: no snapshot, volume created 2d10h ago\n\
         WARNING vol-00: newest snapshot 1d10h old\n"
    );
    // One tag listing and ONE snapshot listing (the policy's filter, every status).
    assert_eq!(
        calls(&cloud),
        expect(&[(TAG_LISTING, 1), (r#"GET snapshots/detail?with_count=true&metadata={"cinder-snapshots.policy":"nightly"}"#, 1)])
    );

    let two = CheckOpts::new("nightly", warn, crit).select_volume("vol-00").select_volume("vol-01");
    let report = job::check(&client, &two.clone().now(DAY3)).unwrap();
    assert_eq!(report.status(), CheckStatus::Ok);
    assert_eq!(report.status().code(), 0);
    assert_eq!(
        report.output(),
        "CINDER-SNAPSHOTS OK - 2 volumes, oldest 1d | age=86400s;93600;180000;0 volumes=2;;;0 ok=2;;;0 warning=0;;;0 \
         critical=0;;;0 snapshots=3;;;0 size=3221225472B;;;0 errors=0;;;0 duplicates=0;;;0 excess=0;;;0 future=0;;;0 \
         unselected=0;;;0 uncovered=U;;;0 skew=U;300;;0\n"
    );
    let report = job::check(&client, &two.clone().now(noon)).unwrap();
    assert_eq!((report.status(), report.status().code()), (CheckStatus::Warning, 1));
    let report = job::check(&client, &two.now(DAY2 + Duration::from_secs(50 * 3600))).unwrap();
    assert_eq!((report.status(), report.status().code()), (CheckStatus::Critical, 2));
    // Another policy owns nothing here.
    let other = job::check(&client, &CheckOpts::new("weekly", warn, crit).select_volume("vol-01").now(DAY3)).unwrap();
    assert_eq!(other.status(), CheckStatus::Critical);

    let none = job::check(&client, &CheckOpts::new("nightly", warn, crit).select_tag("backup", "none").now(DAY3)).unwrap();
    assert_eq!((none.status(), none.status().code()), (CheckStatus::Unknown, 3));
    assert_eq!(
        none.output(),
        "CINDER-SNAPSHOTS UNKNOWN - no volume selected | age=0s;93600;180000;0 volumes=0;;;0 ok=0;;;0 warning=0;;;0 \
         critical=0;;;0 snapshots=0;;;0 size=0B;;;0 errors=0;;;0 duplicates=0;;;0 excess=0;;;0 future=0;;;0 unselected=0;;;0 \
         uncovered=U;;;0 skew=U;300;;0\n"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "CRITICAL");
}

// ------------------------------------------------------------- issue 20: what prune judges

/// Creates a snapshot of `volume` labelled as a run of the policy for `window` would, with
/// `extra` metadata on top (overriding), then sets its status (admin `os-reset_status`).
fn labelled(
    client: &ServiceClient,
    volume: &str,
    now: OffsetDateTime,
    window: &str,
    extra: &[(&str, &str)],
    status: SnapshotStatus,
) -> String {
    let mut create = CreateOpts::new(volume).name("labelled");
    let mut labels = retention::labels(&policy(), now);
    labels.insert(WINDOW_KEY.into(), window.into());
    for (k, v) in extra {
        labels.insert((*k).into(), (*v).into());
    }
    for (k, v) in labels {
        create = create.metadata(k, v);
    }
    let id = snapshots::create(client, &create).unwrap().id;
    snapshots::reset_status(client, &id, status).unwrap();
    id
}

const DAY0: OffsetDateTime = datetime!(2026-11-25 02:00 UTC);
const WINDOW0: &str = "2026-11-25T00:00:00Z";

/// An owned snapshot left in `error` by an earlier window is deleted by the next run's prune
/// (reason "in error: holds no data", counted), and by a prune of its own; a pinned one, one
/// in `error_deleting`, another policy's and a hand-made one in error are never touched.
/// Fails before the in-error rule: nothing was deleted ("not available (error)").
#[test]
fn owned_snapshots_left_in_error_are_deleted_by_run_and_prune_unless_pinned() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    run_at(&cloud, &client, opts(DAY1), DAY1);
    // Left by a run of an earlier window (dated before DAY1's).
    cloud.set_now(DAY0);
    let in_error = labelled(&client, &vols[0], DAY0, WINDOW0, &[], SnapshotStatus::Error);
    let pinned = labelled(&client, &vols[0], DAY0, WINDOW0, &[(retention::PIN_KEY, "keep for the audit")], SnapshotStatus::Error);
    let stuck = labelled(&client, &vols[0], DAY0, WINDOW0, &[], SnapshotStatus::ErrorDeleting);
    let others = labelled(&client, &vols[0], DAY0, WINDOW0, &[(retention::POLICY_KEY, "weekly")], SnapshotStatus::Error);
    let by_hand = snapshots::create(&client, &CreateOpts::new(&vols[0]).name("by hand")).unwrap().id;
    snapshots::reset_status(&client, &by_hand, SnapshotStatus::Error).unwrap();

    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert!(report.is_success(), "{report:#?}");
    let v = report.volume(&vols[0]).unwrap();
    assert_eq!(v.pruned, std::slice::from_ref(&in_error));
    let prune = report.prune_report().unwrap();
    let c = prune.counts();
    assert_eq!((c.deleted, c.in_error, c.failed), (1, 1, 0));
    let d = prune.get(&in_error).unwrap().decision();
    assert_eq!((d.is_delete(), d.reasons_text()), (true, "in error: holds no data".to_owned()));
    assert_eq!(prune.get(&pinned).unwrap().decision().reasons_text(), "not available (error), pinned");
    assert_eq!(prune.get(&stuck).unwrap().decision().reasons_text(), "not available (error_deleting)");
    assert_eq!(count(&calls(&cloud), "DELETE snapshots/"), 1);
    let left: Vec<String> = snaps_of(&cloud, &vols[0]).into_iter().map(|s| s.id).collect();
    for id in [&pinned, &stuck, &others, &by_hand] {
        assert!(left.contains(id), "{id} must be left");
    }
    assert!(!left.contains(&in_error));

    // prune alone: another owned error snapshot goes, the rest stays.
    let again = labelled(&client, &vols[0], DAY0, WINDOW0, &[], SnapshotStatus::Error);
    cloud.clear_requests();
    let pruned = job::prune(&client, &job::PruneOpts::new(policy()).now(DAY3)).unwrap();
    assert_eq!((pruned.counts().deleted, pruned.counts().in_error), (1, 1));
    assert!(pruned.get(&again).is_some_and(|o| o.outcome().name() == "deleted"));
    assert_eq!(count(&calls(&cloud), "DELETE snapshots/"), 1);
}

/// A snapshot labelled with this policy's id in a label format this version does not know
/// ("99", a newer version's) is kept and reported by the run's prune and by prune alone,
/// counted, and never reused by the run. Fails before the format check: the run's prune
/// deleted it (the oldest of three days, keep daily 2).
#[test]
fn a_newer_label_format_is_never_deleted_nor_reused() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    cloud.set_now(DAY0);
    let newer = labelled(&client, &vols[0], DAY0, WINDOW0, &[(retention::FORMAT_KEY, "99")], SnapshotStatus::Available);
    run_at(&cloud, &client, opts(DAY1), DAY1);
    run_at(&cloud, &client, opts(DAY2), DAY2);
    // Its twin in this window: the run does not reuse it, it creates its own.
    cloud.set_now(DAY3);
    let twin = labelled(&client, &vols[0], DAY3, WINDOW3, &[(retention::FORMAT_KEY, "99")], SnapshotStatus::Available);
    let report = run_at(&cloud, &client, opts(DAY3 + Duration::from_secs(60)), DAY3 + Duration::from_secs(60));
    assert!(report.is_success(), "{report:#?}");
    let v = report.volume(&vols[0]).unwrap();
    assert_eq!(v.action, VolumeAction::Created);
    assert_ne!(v.snapshot_id.as_ref(), Some(&twin));
    let prune = report.prune_report().unwrap();
    assert_eq!(prune.counts().unknown_format, 2);
    assert_eq!(prune.get(&newer).unwrap().decision().reasons_text(), "label format \"99\" is not known to this version");
    let pruned = job::prune(&client, &job::PruneOpts::new(Policy::builder("nightly").keep_last(1).build().unwrap())).unwrap();
    assert_eq!(pruned.counts().unknown_format, 2);
    let left: Vec<String> = snaps_of(&cloud, &vols[0]).into_iter().map(|s| s.id).collect();
    assert!(left.contains(&newer) && left.contains(&twin), "{left:?}");
    assert_eq!(left.len(), 3, "the two of format 99 and the newest");
}

/// Two runs at once left two owned snapshots of a volume in one window: the next run reuses
/// the newer (the one the plan keeps) and its prune deletes the older ("duplicate in
/// window", counted); while the newer is still `creating` both are kept. Fails before the
/// duplicate rule: both stayed (the run reused the older) and the prune deleted nothing.
#[test]
fn the_older_of_two_snapshots_in_a_window_is_deleted_once_the_newer_is_available() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 1);
    let client = cloud.client();
    cloud.set_now(DAY3);
    let older = labelled(&client, &vols[0], DAY3, WINDOW3, &[], SnapshotStatus::Available);
    cloud.advance(Duration::from_secs(30));
    let newer = labelled(&client, &vols[0], DAY3, WINDOW3, &[], SnapshotStatus::Creating);
    let later = DAY3 + Duration::from_secs(600);
    let first = run_at(&cloud, &client, opts(later), later);
    assert_eq!(first.prune_report().map(|p| p.counts().duplicates), Some(0), "{first:#?}");
    assert_eq!(snaps_of(&cloud, &vols[0]).len(), 2);

    snapshots::reset_status(&client, &newer, SnapshotStatus::Available).unwrap();
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(later), later);
    assert!(report.is_success(), "{report:#?}");
    let v = report.volume(&vols[0]).unwrap();
    assert_eq!((v.action, v.snapshot_id.as_ref()), (VolumeAction::Reused, Some(&newer)));
    assert_eq!(v.pruned, std::slice::from_ref(&older));
    let prune = report.prune_report().unwrap();
    assert_eq!((prune.counts().duplicates, prune.counts().deleted), (1, 1));
    assert_eq!(prune.get(&older).unwrap().decision().reasons_text(), "duplicate in window");
    assert_eq!(count(&calls(&cloud), "DELETE snapshots/"), 1);
    assert_eq!(snaps_of(&cloud, &vols[0]).into_iter().map(|s| s.id).collect::<Vec<_>>(), [newer]);
}

/// A listing that repeats an id on its next page (a hostile server: an inclusive marker) is
/// an error: the run's prune deletes nothing and says why, the run is not a success, and
/// prune alone fails before any delete. Fails before the pager's exactness check: the prune
/// listed one snapshot twice and deleted.
#[test]
fn a_listing_that_repeats_an_id_deletes_nothing() {
    let cloud = Arc::new(FakeCloud::start());
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    run_at(&cloud, &client, opts(DAY1), DAY1);
    run_at(&cloud, &client, opts(DAY2), DAY2);
    cloud.set_page_cap(2);
    let fake = cloud.clone();
    let armed = AtomicBool::new(false);
    // After the last poll (nothing pending), before the prune's listing.
    let o = opts(DAY3).progress(move |p| {
        if p.pending == 0 && p.available == p.total && !armed.swap(true, Ordering::SeqCst) {
            fake.repeat_marker_items(1, Rule::get("snapshots/detail"));
        }
    });
    cloud.clear_requests();
    let report = run_at(&cloud, &client, o, DAY3);
    assert!(!report.is_success());
    assert_eq!(report.totals().available, 3);
    for v in report.volumes() {
        assert!(v.pruned.is_empty());
        assert_eq!(v.prune_errors.len(), 1, "{v:?}");
        let e = v.prune_errors[0].to_string();
        assert!(e.starts_with("the prune's listing failed, nothing was deleted: "), "{e}");
        assert!(e.contains("twice"), "{e}");
        // Typed: the listing's own error.
        assert!(matches!(&v.prune_errors[0], job::PruneError::Listing(_)), "{:?}", v.prune_errors[0]);
        assert!(v.prune_errors[0].error().is_some());
    }
    assert_eq!(count(&calls(&cloud), "DELETE "), 0);
    assert_eq!(cloud.snapshots().len(), 9);

    cloud.repeat_marker_items(1, Rule::get("snapshots/detail"));
    let err = job::prune(&client, &job::PruneOpts::new(policy()).volumes(vols.clone()).now(DAY3)).unwrap_err();
    assert!(matches!(&err, Error::InvalidResponse { message, .. } if message.contains("twice")), "{err:?}");
    assert_eq!(count(&calls(&cloud), "DELETE "), 0);
    assert_eq!(cloud.snapshots().len(), 9);
}

/// A sleeper (the client's clock) that panics on the `nth` time a create worker reads it:
/// with one create at a time, each create reads it once before it is sent, so the `nth`
/// volume's worker panics before its create.
#[derive(Debug)]
struct PanicsInWorker {
    nth: usize,
    reads: std::sync::atomic::AtomicUsize,
}

impl cinder_snapshots::client::Sleeper for PanicsInWorker {
    fn now(&self) -> std::time::Instant {
        if std::thread::current().name() == Some("job-create") && self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.nth {
            panic!("injected by the test");
        }
        std::time::Instant::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A create worker that panics fails ITS volume, with the panic's message, and the other
/// volumes are done (before: the panic was swallowed and the volume reported "not
/// snapshotted: the creates stopped before this volume").
#[test]
fn a_create_worker_that_panics_fails_its_volume_and_the_others_are_done() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let sleeper = Arc::new(PanicsInWorker { nth: 2, reads: Default::default() });
    let client = cloud.client_builder().sleeper(sleeper).build().unwrap();
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
    assert!(!report.is_success());
    // Selected newest first: the second volume in the report is the second create.
    let v = &report.volumes()[1];
    assert_eq!(v.action, VolumeAction::Failed, "{v:?}");
    assert_eq!(v.error, Some(job::VolumeError::Panicked("injected by the test".into())));
    assert_eq!(v.error.as_ref().unwrap().to_string(), "create worker panicked: injected by the test");
    assert_eq!((v.snapshot_id.as_deref(), v.prune_skipped.as_deref()), (None, Some("not pruned: its snapshot for this window failed")));
    assert!(snaps_of(&cloud, &v.volume_id).is_empty());
    // The others: created, available, one snapshot each; 2 creates sent.
    for other in [&report.volumes()[0], &report.volumes()[2]] {
        assert_eq!((other.action, other.snapshot_status.clone()), (VolumeAction::Created, Some(SnapshotStatus::Available)), "{other:?}");
        assert_eq!(snaps_of(&cloud, &other.volume_id).len(), 1);
    }
    assert_eq!(count(&calls(&cloud), "POST snapshots"), 2);
    let t = report.totals();
    assert_eq!((t.volumes, t.created, t.failed, t.skipped), (3, 2, 1, 0));
    assert!(vols.contains(&v.volume_id));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["volumes"][1]["error"], "create worker panicked: injected by the test");
}

/// Issue 22 item 3: the wait reads only what is still pending. 10 snapshots finishing over
/// several polls (pages of 4): the first poll lists the whole window (10 rows), the polls
/// between only the snapshots still `creating` (7 rows, then 3, then none), and once none is
/// left creating ONE whole listing gives every final status (no GET per snapshot): the one
/// that went to `error` mid-wait is still seen, reported and deleted. 30 rows read, not 40.
#[test]
fn the_wait_lists_only_the_snapshots_still_creating_between_the_first_and_the_last_poll() {
    let cloud = Arc::new(FakeCloud::start());
    let vols = fleet(&cloud, 10);
    let client = cloud.client();
    // Nothing finishes by itself: the test moves them on after each poll.
    cloud.set_snapshot_creating_reads(1000);
    let errored: Arc<Mutex<Option<String>>> = Arc::default();
    let (fake, admin, bad) = (cloud.clone(), cloud.client(), errored.clone());
    let calls_seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let progress = move |_: &Progress| {
        // Oldest first: the order of the creates.
        let ids: Vec<String> = fake.snapshots().into_iter().map(|s| s.id).collect();
        let to = |range: std::ops::Range<usize>, status: SnapshotStatus| {
            for id in &ids[range] {
                snapshots::reset_status(&admin, id, status.clone()).unwrap();
            }
        };
        match calls_seen.fetch_add(1, Ordering::SeqCst) {
            // After the first poll: 3 finish.
            1 => to(0..3, SnapshotStatus::Available),
            // After the second: 3 more, and one goes to error.
            2 => {
                to(3..6, SnapshotStatus::Available);
                to(6..7, SnapshotStatus::Error);
                *bad.lock().unwrap() = Some(ids[6].clone());
            }
            // After the third: the last 3.
            3 => to(7..10, SnapshotStatus::Available),
            _ => {}
        }
    };
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).page_size(4).concurrency(1).progress(progress), DAY3);
    assert_eq!(report.polls(), 4);
    assert_eq!(
        window_listings(&cloud),
        [
            // Before the creates: nothing yet.
            "whole",
            // The first poll: 10 rows, pages of 4, 4, 2.
            "whole",
            "whole+page",
            "whole+page",
            // The second: the 7 still creating (4, 3).
            "creating",
            "creating+page",
            // The third: 3.
            "creating",
            // The fourth: none left creating, so the whole window once: 9 available, 1 error.
            "creating",
            "whole",
            "whole+page",
            "whole+page",
        ]
    );
    let c = calls(&cloud);
    let page = |kind: &str| {
        format!(
            r#"GET snapshots/detail?with_count=true&limit=4{kind}&metadata={{"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"{WINDOW3}"}}"#
        )
    };
    assert_eq!(c.get(&page("")), Some(&3), "{c:#?}");
    assert_eq!(c.get(&page("&status=creating")), Some(&3), "{c:#?}");
    // Not one GET of a snapshot but the error's delete's wait (`deleting`, then gone).
    assert_eq!(count(&c, "GET snapshots/{id}"), 2, "{c:#?}");
    // The one that went to error mid-wait: seen by the last whole listing, deleted, failed.
    let bad = errored.lock().unwrap().clone().unwrap();
    let failed: Vec<&job::VolumeReport> = report.volumes().iter().filter(|v| v.action == VolumeAction::Failed).collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    assert_eq!(failed[0].snapshot_id.as_deref(), Some(bad.as_str()));
    assert_eq!(failed[0].snapshot_status, Some(SnapshotStatus::Error));
    assert_eq!(failed[0].error.as_ref().unwrap().to_string(), format!("snapshot {bad} went to error; the job deleted it"));
    assert_eq!(failed[0].zombies, std::slice::from_ref(&bad));
    assert_eq!(c.get("DELETE snapshots/{id}"), Some(&1));
    let t = report.totals();
    assert_eq!((t.volumes, t.created, t.available, t.failed), (10, 9, 9, 1));
    assert!(cloud.snapshots().iter().all(|s| s.status == SnapshotStatus::Available && s.id != bad));
    assert_eq!(cloud.snapshots().len(), 9);
    assert!(vols.contains(&failed[0].volume_id));
}

/// A lost create's answer makes the polls list the whole window until its snapshot is
/// adopted (then the polls between list only what is still creating, the adopted one
/// included), or until nothing else is waited for (then it fails with its create's error):
/// lost creates are still adopted with the filtered polls.
#[test]
fn a_lost_create_keeps_the_polls_whole_until_adopted_or_given_up() {
    // Adopted by the first poll (the fake made the snapshot before the answer was lost).
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    cloud.set_snapshot_creating_reads(3);
    cloud.lose_next_answers(1, Rule::method("POST", "snapshots"));
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(count(&calls(&cloud), "POST snapshots"), 3);
    for v in &vols {
        let r = report.volume(v).unwrap();
        assert_eq!((r.action, r.snapshot_status.clone()), (VolumeAction::Created, Some(SnapshotStatus::Available)), "{r:?}");
        assert_eq!(snaps_of(&cloud, v).len(), 1);
    }
    // Each listing reads the fake's snapshots once (3 reads each): before the creates; the
    // first poll (whole: the lost one adopted); then only what is still creating.
    assert_eq!(window_listings(&cloud), ["whole", "whole", "creating", "creating", "creating", "whole"]);
    assert_eq!(report.polls(), 4);

    // Nothing made (a gateway's 504): the polls stay whole while the lost create is looked
    // for, and it fails once the others are done.
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 3);
    let client = cloud.client();
    cloud.set_snapshot_creating_reads(3);
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 504);
    cloud.clear_requests();
    let report = run_at(&cloud, &client, opts(DAY3).concurrency(1), DAY3);
    let failed: Vec<&job::VolumeReport> = report.volumes().iter().filter(|v| v.action == VolumeAction::Failed).collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    let e = failed[0].error.as_ref().unwrap();
    assert!(matches!(e, job::VolumeError::CreateLost(_)), "{e:?}");
    assert_eq!(e.error().and_then(cinder_snapshots::Error::status), Some(504));
    assert!(e.to_string().ends_with("; no snapshot of it was found"), "{e}");
    assert!(vols.contains(&failed[0].volume_id));
    let listings = window_listings(&cloud);
    assert!(listings.iter().all(|l| l == "whole"), "{listings:?}");
    assert_eq!(listings.len(), 1 + report.polls());
    assert_eq!(report.totals().available, 2);
}

/// The fake as Cinder: a snapshot marker that the filters leave out (it left `creating`
/// between two pages of a `status=creating` listing) is loaded by id, and the next page goes
/// on after its place; the fake answered 404 (Cinder's for an unknown marker), which made
/// the wait's filtered polls fail and list again.
#[test]
fn a_creating_listing_goes_on_after_a_marker_that_left_creating() {
    let cloud = FakeCloud::start();
    let vols = fleet(&cloud, 5);
    let client = cloud.client();
    cloud.set_snapshot_creating_reads(1000);
    for v in &vols {
        snapshots::create(&client, &CreateOpts::new(v.as_str())).unwrap();
    }
    let list = snapshots::ListOpts::new().status(SnapshotStatus::Creating).limit(2);
    let mut pager = snapshots::list_detail(&client, &list).unwrap();
    let first: Vec<String> = pager.by_ref().take(2).map(|s| s.unwrap().id).collect();
    // The marker of the next page leaves `creating`.
    snapshots::reset_status(&client, &first[1], SnapshotStatus::Available).unwrap();
    let rest: Vec<String> = pager.map(|s| s.unwrap().id).collect();
    assert_eq!(rest.len(), 3, "{rest:?}");
    let mut all: Vec<String> = first.into_iter().chain(rest).collect();
    all.sort_unstable();
    let mut made: Vec<String> = cloud.snapshots().into_iter().map(|s| s.id).collect();
    made.sort_unstable();
    assert_eq!(all, made);
}

/// The quota preflight's read failing (a 500, not the 403/404 that leave the room unknown):
/// the creates go on as without a preflight, and the report keeps the read's error typed
/// (`ReportedError`: its status and its text; the JSON has the text, as before).
#[test]
fn a_quota_read_that_fails_is_kept_typed_in_the_report_and_the_creates_go_on() {
    let cloud = FakeCloud::start();
    fleet(&cloud, 2);
    let client = cloud.client();
    cloud.fail_next(1, Rule::get("os-quota-sets"), 500);
    let report = run_at(&cloud, &client, opts(DAY3), DAY3);
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.totals().created, 2);
    let why = report.quota().and_then(|q| q.unreadable.clone()).unwrap();
    assert_eq!(why.error().status(), Some(500));
    let text = why.to_string();
    assert!(text.starts_with("GET http://") && text.contains("answered HTTP 500"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["quota"]["unreadable"], json!(text));
}
