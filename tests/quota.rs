//! Quotas and rate limits: the `quotas` module (quota set with usage, limits, the room)
//! against the fake cloud as Cinder 29 answers, the fake's quota enforcement, and the
//! client's pause after a rate limiter's refusal.
#![cfg(feature = "testing")]

use std::time::Duration;

use cinder_snapshots::quotas::{self, Room, RoomSource};
use cinder_snapshots::snapshots::{self, CreateOpts};
use cinder_snapshots::testing::{Account, FakeCloud, MEMBER_PROJECT_ID, ManualSleeper, PROJECT_ID, Refusal, Rule, VolumeSpec};

/// The Cinder requests since the last clear, as (method, path below the project, query).
/// (method, path below the project, query).
type Call = (String, String, Vec<(String, String)>);

fn calls(cloud: &FakeCloud) -> Vec<Call> {
    cloud
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/") && r.path != "/v3/auth/tokens")
        .map(|r| {
            let (m, p, q) = r.call();
            (m.to_owned(), p.to_owned(), q.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
        })
        .collect()
}

fn call(method: &str, path: &str, query: &[(&str, &str)]) -> Call {
    (method.to_owned(), path.to_owned(), query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// The quota set with usage, as the real Cinder 29 answered it (recorded on the local
/// cloud): limit, in_use and reserved per key; snapshots count toward the gigabytes;
/// room = limit - in_use - reserved; -1 is unlimited.
#[test]
fn the_quota_set_gives_the_room_left() {
    let cloud = FakeCloud::start();
    cloud.set_cinder_default_quotas();
    let volume = cloud.add_volume_with(&VolumeSpec::new("db").size(5));
    let client = cloud.client();
    for _ in 0..2 {
        snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    }
    cloud.set_quota_reserved("snapshots", 3);
    cloud.clear_requests();
    let set = quotas::get_usage(&client, PROJECT_ID).unwrap();
    assert_eq!(calls(&cloud), vec![call("GET", &format!("os-quota-sets/{PROJECT_ID}"), &[("usage", "True")])]);
    assert_eq!(set.project_id, PROJECT_ID);
    let u = set.usages["snapshots"];
    assert_eq!((u.limit, u.in_use, u.reserved), (10, 2, 3));
    let g = set.usages["gigabytes"];
    assert_eq!((g.limit, g.in_use, g.reserved), (1000, 15, 0), "the volume's 5 GiB and two 5 GiB snapshots");
    assert_eq!(set.room("snapshots"), Room::Left(5));
    assert_eq!(set.room("gigabytes"), Room::Left(985));
    assert_eq!(set.room(&quotas::type_key("snapshots", "__DEFAULT__")), Room::Unlimited);
    assert_eq!(set.room("snapshots_nosuchtype"), Room::Unknown);
    assert_eq!(set.usages.len(), 10);

    // room(): the caller's project, from the quota set.
    let room = quotas::room(&client).unwrap();
    assert_eq!(room.source, RoomSource::QuotaSet);
    assert_eq!(room.room("snapshots"), Room::Left(5));
}

/// A member reads its own project's quota set, not another's (Cinder's 403); when the quota
/// set is not readable the room comes from the limits API (project-wide keys only, no
/// reservations), and when neither is readable every room is unknown.
#[test]
fn the_room_falls_back_to_the_limits_then_to_unknown() {
    let cloud = FakeCloud::start();
    cloud.set_quota("snapshots", 4);
    let volume = cloud.add_volume_with(&VolumeSpec::new("theirs").size(2).owner(Account::Member));
    let member = cloud.client_as(Account::Member);
    snapshots::create(&member, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(quotas::get_usage(&member, MEMBER_PROJECT_ID).unwrap().room("snapshots"), Room::Left(3));
    let err = quotas::get_usage(&member, PROJECT_ID).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref()), (403, Some("forbidden")));
    assert_eq!(api.message, "Policy doesn't allow volume_extension:quotas:show to be performed.");

    cloud.fail_next(1, Rule::get("os-quota-sets"), 403);
    cloud.clear_requests();
    let room = quotas::room(&member).unwrap();
    assert_eq!(
        calls(&cloud),
        vec![call("GET", &format!("os-quota-sets/{MEMBER_PROJECT_ID}"), &[("usage", "True")]), call("GET", "limits", &[])]
    );
    assert_eq!(room.source, RoomSource::Limits);
    assert_eq!(room.room("snapshots"), Room::Left(3));
    assert_eq!(room.room("gigabytes"), Room::Unlimited);
    assert_eq!(room.room("snapshots___DEFAULT__"), Room::Unknown, "the limits API has no per-type keys");
    let limits = room.limits.unwrap();
    assert_eq!((limits.max_total_snapshots, limits.total_snapshots_used, limits.total_gigabytes_used), (Some(4), Some(1), Some(4)));

    cloud.fail_next(1, Rule::get("os-quota-sets"), 404);
    cloud.fail_next(1, Rule::get("limits"), 403);
    let room = quotas::room(&member).unwrap();
    assert_eq!(room.source, RoomSource::None);
    assert_eq!(room.room("snapshots"), Room::Unknown);

    // Any other failure is an error, not an unknown room.
    cloud.fail_next(1, Rule::get("os-quota-sets"), 500);
    assert_eq!(quotas::room(&member).unwrap_err().status(), Some(500));
}

/// Cinder's 413 bodies for each quota a snapshot create meets, the first key over in sorted
/// order: the gigabytes (snapshots count toward them), the per-type gigabytes, the count.
#[test]
fn creates_beyond_each_quota_get_cinders_413() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume_with(&VolumeSpec::new("db").size(1));
    let client = cloud.client();
    let message = |c: &cinder_snapshots::ServiceClient| {
        let e = snapshots::create(c, &CreateOpts::new(&volume)).unwrap_err();
        let api = e.api().unwrap();
        assert_eq!((api.status, api.fault.as_deref(), api.retry_after), (413, Some("overLimit"), Some(Duration::ZERO)));
        api.message.clone()
    };
    cloud.set_quota("gigabytes", 1);
    assert_eq!(
        message(&client),
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 1G, quota is 1G and 1G has been consumed."
    );
    // Both over: the gigabytes are named (Cinder 29 on the local cloud answers the same).
    cloud.set_quota("snapshots", 0);
    assert!(message(&client).starts_with("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota."));
    cloud.set_quota("gigabytes", 1000);
    cloud.set_quota("snapshots", 1);
    snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(message(&client), "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded");
    cloud.set_quota("snapshots", 10);
    cloud.set_quota("snapshots___DEFAULT__", 1);
    assert_eq!(message(&client), "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded");
    cloud.set_quota("snapshots___DEFAULT__", -1);
    cloud.set_quota("gigabytes___DEFAULT__", 1);
    assert_eq!(
        message(&client),
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes___DEFAULT__ quota. Requested 1G, quota is 1G and 2G has been consumed."
    );
    assert_eq!(cloud.snapshots().len(), 1);
}

/// A client on `cloud` whose pauses move `clock` instead of sleeping.
fn paused_client(cloud: &FakeCloud, clock: &std::sync::Arc<ManualSleeper>) -> cinder_snapshots::ServiceClient {
    cloud.client_builder().sleeper(clock.clone()).build().unwrap()
}

/// A limiter's 429 on a DELETE: the pause asked for in each of the three headers is waited
/// (on the client's clock: no real sleep), then the delete is sent again and done.
#[test]
fn a_limiters_429_pauses_then_the_delete_is_resent() {
    for header in ["Retry-After", "X-RateLimit-Retry-After", "X-Retry-After"] {
        let cloud = FakeCloud::start();
        cloud.set_snapshot_creating_reads(0);
        let volume = cloud.add_volume("db");
        let clock = ManualSleeper::new();
        let client = paused_client(&cloud, &clock);
        let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
        snapshots::get(&client, &snap.id).unwrap();
        cloud.refuse_next(1, Rule::method("DELETE", "snapshots"), Refusal::too_many(header, "7"));
        cloud.clear_requests();
        snapshots::delete(&client, &snap.id).unwrap();
        let path = format!("snapshots/{}", snap.id);
        assert_eq!(calls(&cloud), vec![call("DELETE", &path, &[]), call("DELETE", &path, &[])], "{header}");
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)], "{header}: one pause of 7 s before the resend");
    }
}

/// A refused create (POST) is not resent by the client, but the pause holds every create and
/// delete of the client and its clones until it ends; reads go on at once.
#[test]
fn the_pause_holds_every_create_and_delete_of_the_client() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    client.authenticate().unwrap();
    cloud.refuse_next(1, Rule::method("POST", "snapshots"), Refusal::too_many("X-Retry-After", "5"));
    cloud.clear_requests();
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    assert!(err.is_rate_limited() && err.is_transient() && !err.is_over_quota(), "{err}");
    assert_eq!(err.api().unwrap().retry_after, Some(Duration::from_secs(5)));
    assert_eq!(calls(&cloud).len(), 1, "a POST is never resent by the client");
    assert_eq!(client.pause_left(), Duration::from_secs(5));
    // A read is not held.
    snapshots::list_detail(&client, &snapshots::ListOpts::new()).unwrap().all().unwrap();
    assert!(clock.sleeps().is_empty());
    // A clone's create waits for the pause, then goes.
    let clone = client.clone();
    let snap = snapshots::create(&clone, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
    assert_eq!(client.pause_left(), Duration::ZERO);
    assert_eq!(cloud.snapshots().iter().map(|s| s.id.clone()).collect::<Vec<_>>(), vec![snap.id]);
}

/// Cinder's legacy limiter: a 413 `overLimitFault` with `Retry-After: 0` is a limiter's
/// refusal (a pause of 1 s, then the delete again); a quota's 413 `overLimit` is never
/// retried and sets no pause.
#[test]
fn an_over_limit_fault_pauses_a_second_and_a_quota_never_retries() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    snapshots::get(&client, &snap.id).unwrap();
    cloud.refuse_next(1, Rule::method("DELETE", "snapshots"), Refusal::over_limit_fault("0"));
    cloud.clear_requests();
    snapshots::delete(&client, &snap.id).unwrap();
    assert_eq!(calls(&cloud).len(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)], "Retry-After: 0 from a limiter counts as 1 s");

    cloud.refuse_next(1, Rule::method("POST", "snapshots"), Refusal::over_limit_fault("3"));
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref(), api.message.as_str()), (413, Some("overLimitFault"), "This request was rate-limited."));
    assert!(err.is_rate_limited() && !err.is_over_quota());

    cloud.set_snapshot_quota(Some(0));
    clock.advance(Duration::from_secs(10));
    cloud.clear_requests();
    let before = clock.sleeps().len();
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    assert!(err.is_over_quota() && !err.is_rate_limited() && !err.is_transient(), "{err}");
    assert_eq!(calls(&cloud).len(), 1);
    assert_eq!(client.pause_left(), Duration::ZERO, "a quota's 413 sets no pause");
    assert_eq!(clock.sleeps().len(), before);
}

/// A pause asked for longer than `max_retry_after` (the one knob, the CLI's `--max-pause`):
/// the refused request's answer comes back at once, and the hold on the next create is
/// capped at it.
#[test]
fn a_pause_longer_than_the_maximum_ends_the_retries_and_holds_at_most_the_maximum() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let clock = ManualSleeper::new();
    let client = cloud
        .client_builder()
        .sleeper(clock.clone())
        .retry_policy(cinder_snapshots::RetryPolicy::new().max_retry_after(Duration::from_secs(20)))
        .build()
        .unwrap();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    snapshots::get(&client, &snap.id).unwrap();
    cloud.refuse_next(1, Rule::method("DELETE", "snapshots"), Refusal::too_many("Retry-After", "120"));
    cloud.clear_requests();
    let err = snapshots::delete(&client, &snap.id).unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(calls(&cloud).len(), 1);
    assert!(clock.sleeps().is_empty());
    assert_eq!(client.pause_left(), Duration::from_secs(20));
    snapshots::delete(&client, &snap.id).unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(20)]);
}

// ---- The job's quota preflight -------------------------------------------------------

use cinder_snapshots::job::{self, JobOpts, JobReport, VolumeAction, WINDOW_KEY};
use cinder_snapshots::quotas::Shortfall;
use cinder_snapshots::retention::Policy;
use cinder_snapshots::{Error, ServiceClient};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-11-27 02:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-11-28 02:00 UTC);

fn job_opts(now: OffsetDateTime) -> JobOpts {
    JobOpts::new(Policy::builder("nightly").keep_daily(2).build().unwrap())
        .select_tag("backup", "nightly")
        .now(now)
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(20))
}

/// `n` volumes tagged backup=nightly of `size` GiB; their ids ascend with their index.
fn tagged(cloud: &FakeCloud, n: usize, size: u64) -> Vec<String> {
    (0..n).map(|i| cloud.add_volume_with(&VolumeSpec::new(format!("vol-{i}")).size(size).metadata("backup", "nightly"))).collect()
}

fn run_job(cloud: &FakeCloud, client: &ServiceClient, o: JobOpts, now: OffsetDateTime) -> cinder_snapshots::Result<JobReport> {
    cloud.set_now(now);
    job::run(client, &o.now(now))
}

fn posts(cloud: &FakeCloud) -> usize {
    calls(cloud).iter().filter(|(m, p, _)| m == "POST" && p == "snapshots").count()
}

/// Four volumes; day 1 snapshots all, day 2 only the last two; on day 3 the snapshots quota
/// leaves room for 2 of the 4: the two whose newest snapshot is oldest (then by id) are
/// created, the other two skipped with the numbers (typed: needed 4, room 2), exit != 0.
#[test]
fn the_preflight_creates_what_fits_and_skips_the_rest_with_the_numbers() {
    let cloud = FakeCloud::start();
    let vols = tagged(&cloud, 4, 1);
    let client = cloud.client();
    assert!(run_job(&cloud, &client, job_opts(DAY1), DAY1).unwrap().is_success());
    let day2 = job_opts(DAY2).selection(cinder_snapshots::job::Selection::new().volume(&vols[2]).volume(&vols[3]));
    assert!(run_job(&cloud, &client, day2, DAY2).unwrap().is_success());
    cloud.set_quota("snapshots", 8);
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3), DAY3).unwrap();
    assert!(!report.is_success());
    assert_eq!(posts(&cloud), 2, "only the creates that fit are sent");
    let quota = report.quota().unwrap();
    assert_eq!(quota.source, RoomSource::QuotaSet);
    assert_eq!(quota.binding, vec![Shortfall::new("snapshots", 4, 2)]);
    assert_eq!(quota.needed["snapshots"], 4);
    assert_eq!(quota.needed["gigabytes"], 4);
    assert_eq!(quota.room["snapshots"], Room::Left(2));
    assert_eq!((quota.skipped, quota.gigabytes_only), (2, false));
    for v in &vols[..2] {
        let r = report.volume(v).unwrap();
        assert_eq!((r.action, r.snapshot_status.clone()), (VolumeAction::Created, Some(snapshots::SnapshotStatus::Available)));
        assert!(r.quota.is_empty());
    }
    for v in &vols[2..] {
        let r = report.volume(v).unwrap();
        assert_eq!(r.action, VolumeAction::Skipped);
        assert_eq!(r.quota, vec![Shortfall::new("snapshots", 4, 2)]);
        assert_eq!(r.error.as_ref().map(ToString::to_string).as_deref(), Some("over quota, not snapshotted: snapshots: 4 needed, 2 left"));
        assert_eq!(r.prune_skipped.as_deref(), Some("not pruned: the volume was not snapshotted in this run"));
    }
    assert!(report.over_quota());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["quota"]["binding"], serde_json::json!([{"key": "snapshots", "needed": 4, "room": 2}]));
    let skipped_json = json["volumes"].as_array().unwrap().iter().find(|v| v["volume_id"] == vols[3].as_str()).unwrap();
    assert_eq!(skipped_json["quota"][0]["needed"], 4);
    assert_eq!(json["quota"]["room"]["snapshots"], serde_json::json!({"kind": "left", "left": 2}));
}

/// `all_or_nothing`: not all fit, nothing is created; the typed error has the numbers.
#[test]
fn all_or_nothing_creates_nothing_when_not_all_fit() {
    let cloud = FakeCloud::start();
    tagged(&cloud, 3, 1);
    let client = cloud.client();
    cloud.set_quota("snapshots", 2);
    cloud.clear_requests();
    let err = run_job(&cloud, &client, job_opts(DAY3).all_or_nothing(true), DAY3).unwrap_err();
    let Error::QuotaExceeded { shortfalls } = &err else { panic!("{err}") };
    assert_eq!(shortfalls, &vec![Shortfall::new("snapshots", 3, 2)]);
    assert_eq!(err.to_string(), "over quota, nothing created (all or nothing): snapshots: 3 needed, 2 left");
    assert_eq!(posts(&cloud), 0);
    assert!(cloud.snapshots().is_empty());
    // When all fit, it runs as usual.
    cloud.set_quota("snapshots", 3);
    assert!(run_job(&cloud, &client, job_opts(DAY3).all_or_nothing(true), DAY3).unwrap().is_success());
}

/// Only a gigabytes quota binds: the report says so and every create is tried; the one
/// Cinder refuses (413) is skipped with Cinder's message, as without a preflight.
#[test]
fn only_gigabytes_binding_tries_the_creates_anyway() {
    let cloud = FakeCloud::start();
    tagged(&cloud, 3, 10);
    let client = cloud.client();
    // 30 GiB of volumes in use; room for 25 more: two 10 GiB snapshots.
    cloud.set_quota("gigabytes", 55);
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).concurrency(1), DAY3).unwrap();
    let quota = report.quota().unwrap();
    assert!(quota.gigabytes_only);
    assert_eq!(quota.binding, vec![Shortfall::new("gigabytes", 30, 25)]);
    assert_eq!(quota.skipped, 0);
    assert_eq!(posts(&cloud), 3, "every create is tried");
    let t = report.totals();
    assert_eq!((t.created, t.skipped), (2, 1));
    let skipped = report.volumes().iter().find(|v| v.action == VolumeAction::Skipped).unwrap();
    assert!(
        skipped.error.as_ref().map(ToString::to_string).as_deref().unwrap().starts_with("over quota: VolumeSizeExceedsAvailableQuota"),
        "{skipped:?}"
    );
}

/// `prune_first`: two volumes with two daily snapshots each (keep daily 2), no room: the day-1
/// snapshots (which the plan deletes once today's exists) are deleted first, oldest first,
/// then both are created. A volume whose previous snapshot is not `available` gives nothing.
#[test]
fn prune_first_makes_room_with_what_the_plan_would_delete() {
    let cloud = FakeCloud::start();
    let vols = tagged(&cloud, 2, 1);
    let client = cloud.client();
    run_job(&cloud, &client, job_opts(DAY1), DAY1).unwrap();
    run_job(&cloud, &client, job_opts(DAY2), DAY2).unwrap();
    let day1: Vec<String> = cloud.snapshots().iter().filter(|s| s.created_at == Some(DAY1)).map(|s| s.id.clone()).collect();
    assert_eq!(day1.len(), 2);
    cloud.set_quota("snapshots", 4);
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).prune_first(true), DAY3).unwrap();
    assert!(report.is_success(), "{report:#?}");
    let quota = report.quota().unwrap();
    let mut pruned = quota.pruned_first.clone();
    pruned.sort();
    let mut want = day1.clone();
    want.sort();
    assert_eq!(pruned, want);
    assert_eq!(quota.binding, Vec::<Shortfall>::new(), "after the deletes the room is enough");
    assert_eq!(posts(&cloud), 2);
    for v in &vols {
        let days: Vec<_> = cloud.snapshots().iter().filter(|s| &s.volume_id == v).map(|s| s.created_at).collect();
        assert_eq!(days, vec![Some(DAY2), Some(DAY3)]);
    }
}

/// `prune_first` never touches a volume whose previous window did not end `available`; the
/// room it makes goes to the volumes in order (newest available snapshot oldest first).
#[test]
fn prune_first_skips_a_volume_whose_previous_window_failed() {
    let cloud = FakeCloud::start();
    let vols = tagged(&cloud, 2, 1);
    let client = cloud.client();
    run_job(&cloud, &client, job_opts(DAY1), DAY1).unwrap();
    run_job(&cloud, &client, job_opts(DAY2), DAY2).unwrap();
    let b_day2 = cloud.snapshots().iter().find(|s| s.volume_id == vols[1] && s.created_at == Some(DAY2)).unwrap().id.clone();
    cloud.fail_snapshot(Some(&b_day2), None);
    let a_day1 = cloud.snapshots().iter().find(|s| s.volume_id == vols[0] && s.created_at == Some(DAY1)).unwrap().id.clone();
    cloud.set_quota("snapshots", 4);
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).prune_first(true), DAY3).unwrap();
    // Deleted: the first volume's day-1 snapshot (to make room), and the second volume's
    // day-2 snapshot in error by the run's prune (it holds no data); nothing else.
    let mut deleted: Vec<String> =
        cloud.requests().iter().filter(|r| r.method == "DELETE").filter_map(|r| r.path.rsplit('/').next().map(str::to_owned)).collect();
    deleted.sort();
    let mut want = vec![a_day1.clone(), b_day2.clone()];
    want.sort();
    assert_eq!(deleted, want, "only the first volume's day-1 snapshot and the snapshot in error");
    let quota = report.quota().unwrap();
    assert_eq!(quota.pruned_first, vec![a_day1.clone()], "prune-first deleted the day-1 snapshot only");
    assert_eq!(quota.binding, vec![Shortfall::new("snapshots", 2, 1)]);
    // vol-1's newest available snapshot (day 1) is older than vol-0's (day 2): it goes first.
    assert_eq!(report.volume(&vols[1]).unwrap().action, VolumeAction::Created);
    let a = report.volume(&vols[0]).unwrap();
    assert_eq!((a.action, a.quota.clone()), (VolumeAction::Skipped, vec![Shortfall::new("snapshots", 2, 1)]));
    // The snapshot in error was not prune-first's to delete: the run's prune deleted it.
    assert!(!quota.pruned_first.contains(&b_day2));
    assert!(!cloud.snapshots().iter().any(|s| s.id == b_day2));
}

/// `--all-projects`: Cinder puts the snapshots in the caller's project, so the preflight
/// reads the caller's quota set, not the volumes' project's.
#[test]
fn all_projects_reads_the_callers_quota() {
    let cloud = FakeCloud::start();
    let theirs: Vec<String> = (0..2)
        .map(|i| cloud.add_volume_with(&VolumeSpec::new(format!("m-{i}")).metadata("backup", "nightly").owner(Account::Member)))
        .collect();
    let member = cloud.client_as(Account::Member);
    for v in &theirs {
        snapshots::create(&member, &CreateOpts::new(v)).unwrap();
    }
    cloud.set_quota("snapshots", 2);
    // The member's project is full; the admin's is empty.
    assert_eq!(quotas::room(&member).unwrap().room("snapshots"), Room::Left(0));
    let admin = cloud.client();
    cloud.clear_requests();
    let report = run_job(&cloud, &admin, job_opts(DAY3).all_projects(true), DAY3).unwrap();
    assert!(report.is_success(), "{report:#?}");
    assert!(calls(&cloud).contains(&call("GET", &format!("os-quota-sets/{PROJECT_ID}"), &[("usage", "True")])));
    assert_eq!(report.quota().unwrap().room["snapshots"], Room::Left(2));
    let made: Vec<_> = cloud.snapshots().into_iter().filter(|s| s.metadata.contains_key(WINDOW_KEY)).collect();
    assert_eq!(made.len(), 2);
    assert!(made.iter().all(|s| s.project_id.as_deref() == Some(PROJECT_ID)), "in the caller's project");
}

// ---- The job under a rate limiter ---------------------------------------------------

/// A limiter refuses the first create with a 5 s pause: the job checks the window's listing
/// for that volume's snapshot, then sends it again once the pause is over (on the client's
/// clock: no real sleep); every volume gets exactly one snapshot.
#[test]
fn a_refused_create_is_sent_again_after_the_pause() {
    let cloud = FakeCloud::start();
    let vols = tagged(&cloud, 3, 1);
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    cloud.refuse_next(1, Rule::method("POST", "snapshots"), Refusal::too_many("Retry-After", "5"));
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).concurrency(1), DAY3).unwrap();
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(posts(&cloud), 4, "the refused one once more");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
    let window_listings = calls(&cloud)
        .iter()
        .filter(|(m, p, q)| m == "GET" && p == "snapshots/detail" && q.iter().any(|(_, v)| v.contains(WINDOW_KEY)))
        .count();
    // The last poll lists what is still creating, finds none, and lists the whole window.
    assert_eq!(window_listings, 2 + report.polls() + 1, "the plan's, the check before the resend, one per poll and the last whole");
    for v in &vols {
        assert_eq!(cloud.snapshots().iter().filter(|s| &s.volume_id == v).count(), 1);
    }
}

/// Refused more times than the client's retries (3): that volume fails and is not pruned; the
/// others are done. Cinder's legacy 413 `overLimitFault` is a limiter too, not a quota: it does
/// not stop the other creates.
#[test]
fn a_create_refused_past_the_retries_fails_that_volume_only() {
    let cloud = FakeCloud::start();
    let vols = tagged(&cloud, 3, 1);
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    cloud.refuse_next(4, Rule::method("POST", "snapshots"), Refusal::over_limit_fault("0"));
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).concurrency(1), DAY3).unwrap();
    assert!(!report.is_success());
    assert!(!report.over_quota());
    assert_eq!(posts(&cloud), 4 + 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 4], "1 s before each of the 3 resends and before the next volume's create");
    let failed: Vec<_> = report.volumes().iter().filter(|v| v.action == VolumeAction::Failed).collect();
    assert_eq!(failed.len(), 1);
    let f = failed[0];
    assert!(f.error.as_ref().map(ToString::to_string).as_deref().unwrap().starts_with("create refused by a rate limiter 4 times"), "{f:?}");
    assert_eq!(f.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    assert_eq!(report.totals().created, 2);
    assert_eq!(cloud.snapshots().len(), 2);
    let _ = vols;
}

/// The run's deadline bounds the pauses: a pause that would end past it fails the refused
/// volume and leaves the later creates unsent (never sent past the deadline).
#[test]
fn the_deadline_bounds_the_pauses() {
    let cloud = FakeCloud::start();
    tagged(&cloud, 3, 1);
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    cloud.refuse_next(1, Rule::method("POST", "snapshots"), Refusal::too_many("X-RateLimit-Retry-After", "30"));
    cloud.clear_requests();
    let report = run_job(&cloud, &client, job_opts(DAY3).concurrency(1).deadline(Duration::from_secs(10)), DAY3).unwrap();
    assert!(!report.is_success());
    assert_eq!(posts(&cloud), 1);
    assert!(clock.sleeps().is_empty(), "nothing waits for a pause that ends past the deadline");
    let errors: Vec<String> = report.volumes().iter().filter_map(|v| v.error.as_ref().map(ToString::to_string)).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors.iter().filter(|e| e.starts_with("create refused by a rate limiter 1 times")).count(), 1);
    assert_eq!(errors.iter().filter(|e| e.starts_with("not snapshotted: the run's deadline (10 s) passes")).count(), 2, "{errors:?}");
    assert!(cloud.snapshots().is_empty());
}

/// `Retry-After` as an HTTP date: the pause lasts until then.
#[test]
fn a_pause_given_as_an_http_date_lasts_until_then() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let clock = ManualSleeper::new();
    let client = paused_client(&cloud, &clock);
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let date = format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        names[at.weekday().number_days_from_monday() as usize],
        at.day(),
        months[at.month() as usize - 1],
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    );
    cloud.refuse_next(1, Rule::method("POST", "snapshots"), Refusal::too_many("Retry-After", date));
    assert!(snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err().is_rate_limited());
    snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    let slept = clock.sleeps();
    assert_eq!(slept.len(), 1);
    assert!(slept[0] > Duration::from_secs(27) && slept[0] <= Duration::from_secs(30), "{slept:?}");
}
