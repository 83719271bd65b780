//! `FakeCloud` (feature `testing`) driven through the crate's public API only: the calls a
//! downstream snapshot tool makes, the exact requests the fake saw, its clock, its faults, and
//! retention against a history days old.
#![cfg(feature = "testing")]

use std::time::Duration;

use cinder_snapshots::retention::{self, Outcome, Policy, PruneOpts};
use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, SortDir, SortKey, WaitOpts};
use cinder_snapshots::testing::{FakeCloud, PROJECT_ID, Rule, SeenRequest};
use cinder_snapshots::{Error, ServiceClientBuilder, WaitErrorKind, volumes};
use time::macros::datetime;

fn seen(method: &str, path: &str, query: &[(&str, &str)]) -> SeenRequest {
    SeenRequest { method: method.into(), path: path.into(), query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn p(rest: &str) -> String {
    format!("/v3/{PROJECT_ID}/{rest}")
}

/// Creates, waits for, lists past a page cap of 3 (7 snapshots: pages of 3, 3 and 1, each
/// asked with the marker of the previous page's last item) and deletes, with the exact
/// requests of each step.
#[test]
fn create_wait_list_past_a_page_cap_and_delete() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(3);
    let volume = cloud.add_volume("data");
    let client = cloud.client();

    let mut ids = Vec::new();
    for i in 0..7 {
        let snap = snapshots::create(&client, &CreateOpts::new(&volume).name(format!("s{i}"))).unwrap();
        assert_eq!(snap.status, SnapshotStatus::Creating);
        ids.push(snap.id);
        cloud.advance(Duration::from_secs(60));
    }
    cloud.clear_requests();
    let snap = snapshots::wait_for_status(&client, &ids[0], SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    assert_eq!(snap.status, SnapshotStatus::Available);
    // One read sees `creating` (the default), the next `available`.
    assert_eq!(cloud.requests(), vec![seen("GET", &p(&format!("snapshots/{}", ids[0])), &[]); 2]);

    cloud.clear_requests();
    let listed: Vec<String> = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap().into_iter().map(|s| s.id).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(
        cloud.requests(),
        vec![
            seen("GET", &p("snapshots/detail"), &[]),
            seen("GET", &p("snapshots/detail"), &[("marker", &ids[4])]),
            seen("GET", &p("snapshots/detail"), &[("marker", &ids[1])]),
        ]
    );
    // The listing moved every snapshot past `creating`.
    assert!(cloud.snapshots().iter().all(|s| s.status == SnapshotStatus::Available));

    cloud.clear_requests();
    snapshots::delete(&client, &ids[3]).unwrap();
    assert_eq!(cloud.snapshots().iter().find(|s| s.id == ids[3]).map(|s| s.status.clone()), Some(SnapshotStatus::Deleting));
    snapshots::wait_for_delete(&client, &ids[3], &WaitOpts::new()).unwrap();
    let path = p(&format!("snapshots/{}", ids[3]));
    assert_eq!(cloud.requests(), vec![seen("DELETE", &path, &[]), seen("GET", &path, &[]), seen("GET", &path, &[])]);
    assert_eq!(cloud.snapshots().len(), 6);
    assert!(cloud.snapshots().iter().all(|s| s.id != ids[3]));
}

/// A fresh client's first call: Keystone, the version root (microversion discovery), then the
/// call; a missing snapshot is Cinder's 404 `itemNotFound` with its message and a request id.
#[test]
fn the_requests_seen_are_exact_and_a_missing_snapshot_is_cinders_404() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let id = "74344084-0ece-4eee-8e71-3fd1fd9a65d5";
    let err = snapshots::get(&client, id).unwrap_err();
    assert!(err.is_not_found());
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.fault.as_deref(), Some("itemNotFound"));
    assert_eq!(api.message, format!("Snapshot {id} could not be found."));
    assert!(api.request_id.as_deref().is_some_and(|r| r.starts_with("req-")));
    assert_eq!(client.microversion().unwrap().to_string(), "3.71");
    assert_eq!(
        cloud.requests(),
        vec![seen("POST", "/v3/auth/tokens", &[]), seen("GET", "/", &[]), seen("GET", &p(&format!("snapshots/{id}")), &[])]
    );
}

/// The `OS_*` variables give a client that authenticates and lists.
#[test]
fn os_vars_give_a_working_client() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = ServiceClientBuilder::from_vars(cloud.os_vars()).unwrap().build().unwrap();
    snapshots::create(&client, &CreateOpts::new(&volume).name("one")).unwrap();
    let all = snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert_eq!(all.iter().map(|s| s.name.as_deref()).collect::<Vec<_>>(), vec![Some("one")]);
    assert_eq!(client.endpoint().unwrap().as_str(), cloud.endpoint());
}

/// `created_at` comes from the fake's clock, exactly, and moves with it.
#[test]
fn the_clock_sets_created_at() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    cloud.set_now(datetime!(2020-01-02 03:04:05.123456 UTC));
    let first = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.advance(Duration::from_secs(86_400 * 3));
    let second = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(first.created_at, Some(datetime!(2020-01-02 03:04:05.123456 UTC)));
    assert_eq!(second.created_at, Some(datetime!(2020-01-05 03:04:05.123456 UTC)));
    assert_eq!(cloud.now(), datetime!(2020-01-05 03:04:05.123456 UTC));
    let listed = snapshots::list_detail(&client, &ListOpts::new().sort(SortKey::CreatedAt, SortDir::Asc)).unwrap().all().unwrap();
    assert_eq!(listed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), vec![first.id, second.id]);
}

/// A policy's history of 10 daily snapshots (plus one made by hand): `plan` keeps 3, and
/// `prune` deletes exactly the 7 planned, leaving the kept ones and the hand-made one.
#[test]
fn prune_deletes_exactly_what_plan_deletes_in_a_history_days_old() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let policy = Policy::builder("nightly").keep_daily(3).build().unwrap();
    let start = datetime!(2026-10-01 02:00 UTC);
    cloud.set_now(start);
    for day in 0..10 {
        let labels = retention::labels(&policy, cloud.now());
        let opts = labels.into_iter().fold(CreateOpts::new(&volume).name(format!("nightly-{day}")), |o, (k, v)| o.metadata(k, v));
        snapshots::create(&client, &opts).unwrap();
        cloud.advance(Duration::from_secs(86_400));
    }
    let by_hand = snapshots::create(&client, &CreateOpts::new(&volume).name("by-hand")).unwrap();
    let now = cloud.now();

    let history = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert_eq!(history.len(), 11);
    let plan = retention::plan(&history, &policy, now);
    let mut planned: Vec<String> = plan.to_delete().map(|d| d.snapshot().id.clone()).collect();
    planned.sort();
    assert_eq!(planned.len(), 7);

    let report = retention::prune(&client, &PruneOpts::new(policy).volumes([volume.as_str()]).now(now)).unwrap();
    let mut deleted: Vec<String> =
        report.outcomes().iter().filter(|o| matches!(o.outcome(), Outcome::Deleted)).map(|o| o.snapshot().id.clone()).collect();
    deleted.sort();
    assert_eq!(deleted, planned);
    assert_eq!(report.failures().count(), 0);

    let mut left: Vec<String> = cloud.snapshots().into_iter().map(|s| s.id).collect();
    left.sort();
    let mut expected: Vec<String> = history.iter().map(|s| s.id.clone()).filter(|id| !planned.contains(id)).collect();
    expected.sort();
    assert_eq!(left, expected);
    assert!(left.contains(&by_hand.id));
    let deletes = cloud.requests().iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deletes, 7);
}

/// Two 503s on the next GETs of snapshots are retried; the third GET answers.
#[test]
fn a_503_on_the_next_gets_is_retried() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.clear_requests();
    cloud.fail_next(2, Rule::get("snapshots"), 503);
    let got = snapshots::get(&client, &snap.id).unwrap();
    assert_eq!(got.id, snap.id);
    assert_eq!(cloud.requests(), vec![seen("GET", &p(&format!("snapshots/{}", snap.id)), &[]); 3]);
}

/// A quota's 413 on create is `overLimit`, and is not retried.
#[test]
fn a_413_on_create_is_over_limit_and_not_retried() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    client.authenticate().unwrap();
    cloud.clear_requests();
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 413);
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    assert!(err.is_over_limit());
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("overLimit"));
    let posts: Vec<SeenRequest> = cloud.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts, vec![seen("POST", &p("snapshots"), &[])]);
    assert!(cloud.snapshots().is_empty());
}

/// A snapshot driven to `error` ends the wait as `Failed`, with Cinder's user message read
/// from `/messages?resource_uuid=<id>`.
#[test]
fn a_snapshot_driven_to_error_carries_the_user_message() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    cloud.fail_snapshot(None, Some("Snapshot failed: the backend is full."));
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    let err = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("not a wait error: {err}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
    assert_eq!(w.last_status.as_deref(), Some("error"));
    assert_eq!(w.user_message.as_deref(), Some("Snapshot failed: the backend is full."));
    assert!(cloud.requests().contains(&seen("GET", &p("messages"), &[("resource_uuid", &snap.id)])));
}

/// Volumes: create (available after the configured reads), list with a metadata filter,
/// delete refused while a snapshot exists, then deleted.
#[test]
fn volumes_create_filter_and_delete() {
    let cloud = FakeCloud::start();
    cloud.set_volume_creating_reads(1);
    let client = cloud.client();
    let tagged = volumes::create(&client, &volumes::CreateOpts::new(2).name("tagged").metadata("backup", "nightly")).unwrap();
    volumes::create(&client, &volumes::CreateOpts::new(1).name("plain")).unwrap();
    let tagged = volumes::wait_for_status(&client, &tagged.id, volumes::VolumeStatus::Available, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(tagged.size, 2);
    let found = volumes::list_detail(&client, &volumes::ListOpts::new().metadata("backup", "nightly")).unwrap().all().unwrap();
    assert_eq!(found.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), vec![tagged.id.clone()]);

    let snap = snapshots::create(&client, &CreateOpts::new(&tagged.id)).unwrap();
    let err = volumes::delete(&client, &tagged.id).unwrap_err();
    assert!(err.is_bad_request());
    snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    snapshots::delete(&client, &snap.id).unwrap();
    snapshots::wait_for_delete(&client, &snap.id, &WaitOpts::new()).unwrap();
    volumes::delete(&client, &tagged.id).unwrap();
    volumes::wait_for_delete(&client, &tagged.id, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(cloud.volumes().iter().map(|v| v.name.as_deref()).collect::<Vec<_>>(), vec![Some("plain")]);
}

/// `with_count` and a `limit`: `count` on every page, next links with the fake's own host,
/// every original parameter kept and the marker last.
#[test]
fn with_count_and_limit_page_as_cinder_does() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    for i in 0..5 {
        snapshots::create(&client, &CreateOpts::new(&volume).name(format!("s{i}")).metadata("tier", "gold")).unwrap();
        cloud.advance(Duration::from_secs(1));
    }
    cloud.clear_requests();
    let opts = ListOpts::new().limit(2).with_count(true).metadata("tier", "gold");
    let pages: Vec<_> = snapshots::list_detail(&client, &opts).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [2, 2, 1]);
    assert!(pages.iter().all(|p| p.count == Some(5)));
    let queries: Vec<Vec<(String, String)>> = cloud.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(queries.len(), 3);
    assert_eq!(
        queries[0],
        [("with_count", "true"), ("limit", "2"), ("metadata", "{\"tier\":\"gold\"}")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(queries[1].last().map(|(k, _)| k.as_str()), Some("marker"));
    assert_eq!(queries[1][..3], queries[0][..]);
}
