//! Quotas and rate limits: the `quotas` module (quota set with usage, limits, the room)
//! against the fake cloud as Cinder 29 answers, the fake's quota enforcement, and the
//! client's pause after a rate limiter's refusal.
#![cfg(feature = "testing")]

use std::time::Duration;

use cinder_snapshots::quotas::{self, Room, RoomSource};
use cinder_snapshots::snapshots::{self, CreateOpts};
use cinder_snapshots::testing::{Account, FakeCloud, MEMBER_PROJECT_ID, ManualClock, PROJECT_ID, Refusal, Rule, VolumeSpec};

/// The Cinder requests since the last clear, as (method, path below the project, query).
fn calls(cloud: &FakeCloud) -> Vec<(String, String, Vec<(String, String)>)> {
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

fn call(method: &str, path: &str, query: &[(&str, &str)]) -> (String, String, Vec<(String, String)>) {
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
fn paused_client(cloud: &FakeCloud, clock: &std::sync::Arc<ManualClock>) -> cinder_snapshots::ServiceClient {
    cloud.client_builder().clock(clock.clone()).build().unwrap()
}

/// A limiter's 429 on a DELETE: the pause asked for in each of the three headers is waited
/// (on the client's clock: no real sleep), then the delete is sent again and done.
#[test]
fn a_limiters_429_pauses_then_the_delete_is_resent() {
    for header in ["Retry-After", "X-RateLimit-Retry-After", "X-Retry-After"] {
        let cloud = FakeCloud::start();
        cloud.set_snapshot_creating_reads(0);
        let volume = cloud.add_volume("db");
        let clock = ManualClock::new();
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
    let clock = ManualClock::new();
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
    let clock = ManualClock::new();
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
    let clock = ManualClock::new();
    let client = cloud
        .client_builder()
        .clock(clock.clone())
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
