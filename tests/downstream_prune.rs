//! How a program built on this crate tests its own logic with `FakeCloud` (feature
//! `testing`): a downstream "prune old snapshots" function, written only with the crate's
//! public API, tested with a moved clock (snapshots days old), a page cap, a delete the
//! backend fails and a transient 503.
#![cfg(feature = "testing")]

use std::time::Duration;

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, SortDir, SortKey, WaitOpts};
use cinder_snapshots::testing::{FakeCloud, Rule};
use cinder_snapshots::{Error, ServiceClient, WaitErrorKind};
use time::OffsetDateTime;
use time::macros::datetime;

// ---------------------------------------------------------------------------------------
// The downstream code under test (what a user's cron job would contain).

/// What [`prune_old_snapshots`] did.
#[derive(Debug, Default, PartialEq)]
struct PruneReport {
    /// Deleted and gone.
    deleted: Vec<String>,
    /// Kept: among the newest `keep_newest`, not old enough, or not in a deletable status.
    kept: Vec<String>,
    /// The delete failed: the id and why.
    failed: Vec<(String, String)>,
}

/// Deletes the snapshots of `volume_id` created more than `max_age` before `now`, always
/// keeping the `keep_newest` newest ones and any snapshot that is not `available` or
/// `error` (one being created or deleted is left alone). A failed delete is reported and
/// the others go on.
fn prune_old_snapshots(
    client: &ServiceClient,
    volume_id: &str,
    max_age: Duration,
    keep_newest: usize,
    now: OffsetDateTime,
) -> Result<PruneReport, Error> {
    let opts = ListOpts::new().volume_id(volume_id).sort(SortKey::CreatedAt, SortDir::Desc);
    let all = snapshots::list_detail(client, &opts)?.all()?;
    let cutoff = now - max_age;
    let mut report = PruneReport::default();
    for (i, snap) in all.into_iter().enumerate() {
        let old = snap.created_at.is_some_and(|t| t < cutoff);
        let deletable = matches!(snap.status, SnapshotStatus::Available | SnapshotStatus::Error);
        if i < keep_newest || !old || !deletable {
            report.kept.push(snap.id);
            continue;
        }
        let outcome = snapshots::delete(client, &snap.id).and_then(|()| snapshots::wait_for_delete(client, &snap.id, &WaitOpts::new()));
        match outcome {
            Ok(()) => report.deleted.push(snap.id),
            Err(e) => report.failed.push((snap.id, e.to_string())),
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// Its tests, against the fake.

const DAY: Duration = Duration::from_secs(86_400);

/// One snapshot a day for `days` days from 2026-01-01 02:00 UTC (the fake's clock moves a day
/// after each); returns their ids, oldest first. The clock ends a day after the last one.
fn daily_history(cloud: &FakeCloud, client: &ServiceClient, volume: &str, days: usize) -> Vec<String> {
    cloud.set_now(datetime!(2026-01-01 02:00 UTC));
    (0..days)
        .map(|day| {
            let id = snapshots::create(client, &CreateOpts::new(volume).name(format!("nightly-{day}"))).unwrap().id;
            cloud.advance(DAY);
            id
        })
        .collect()
}

/// Ten daily snapshots, the clock on day 10: those older than a week go (days 0 to 2), the
/// rest stay; the listing pages past a cap of 4 and each delete is one DELETE.
#[test]
fn deletes_what_is_older_than_the_max_age() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(4);
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let other = cloud.add_volume("other");
    let client = cloud.client();
    let ids = daily_history(&cloud, &client, &volume, 10);
    // Another volume's old snapshot is not this prune's business.
    cloud.set_now(datetime!(2025-06-01 00:00 UTC));
    let foreign = snapshots::create(&client, &CreateOpts::new(&other)).unwrap().id;
    cloud.set_now(datetime!(2026-01-11 02:00 UTC));

    cloud.clear_requests();
    // Exactly 7 days old is not older than 7 days: day 3 (2026-01-04 02:00) stays.
    let report = prune_old_snapshots(&client, &volume, 7 * DAY, 2, cloud.now()).unwrap();
    assert_eq!(report.deleted, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    assert!(report.failed.is_empty());
    assert_eq!(report.kept, ids[3..].iter().rev().cloned().collect::<Vec<_>>());

    let left: Vec<String> = cloud.snapshots().into_iter().map(|s| s.id).collect();
    let mut expected = vec![foreign];
    expected.extend(ids[3..].iter().cloned());
    assert_eq!(left, expected);
    let calls: Vec<(String, String)> = cloud.requests().iter().map(|r| (r.method.clone(), r.relative_path().to_owned())).collect();
    let listings = calls.iter().filter(|(m, p)| m == "GET" && p == "snapshots/detail").count();
    assert_eq!(listings, 3, "10 snapshots in pages of 4");
    let deletes: Vec<&str> = calls.iter().filter(|(m, _)| m == "DELETE").map(|(_, p)| p.as_str()).collect();
    assert_eq!(deletes, ids[..3].iter().rev().map(|id| format!("snapshots/{id}")).collect::<Vec<_>>());
}

/// The newest `keep_newest` stay even when they are old: a month later nothing new was
/// made, and two are kept all the same.
#[test]
fn keeps_the_newest_whatever_their_age() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let ids = daily_history(&cloud, &client, &volume, 5);
    cloud.advance(30 * DAY);
    let report = prune_old_snapshots(&client, &volume, 7 * DAY, 2, cloud.now()).unwrap();
    assert_eq!(report.kept, [ids[4].clone(), ids[3].clone()]);
    assert_eq!(report.deleted, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
}

/// The backend fails one delete (the snapshot ends `error_deleting`): it is reported failed
/// with the wait's error, the other old snapshots are deleted, and it stays behind for a
/// human to look at.
#[test]
fn a_failing_delete_is_reported_and_the_others_go_on() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let ids = daily_history(&cloud, &client, &volume, 6);
    cloud.fail_delete(&ids[1]);
    let report = prune_old_snapshots(&client, &volume, 2 * DAY, 1, cloud.now()).unwrap();
    assert_eq!(report.deleted, [ids[3].clone(), ids[2].clone(), ids[0].clone()]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, ids[1]);
    let left: Vec<(String, SnapshotStatus)> = cloud.snapshots().into_iter().map(|s| (s.id, s.status)).collect();
    assert_eq!(
        left,
        [
            (ids[1].clone(), SnapshotStatus::ErrorDeleting),
            (ids[4].clone(), SnapshotStatus::Available),
            (ids[5].clone(), SnapshotStatus::Available)
        ]
    );
    // The wait ended on the failure status, not at its timeout.
    let err = snapshots::wait_for_delete(&client, &ids[1], &WaitOpts::new()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("not a wait error: {err}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error_deleting".into()));
}

/// A snapshot still `creating` (or one that failed to create: `error`, which may be deleted)
/// is handled by status: the creating one is kept, the error one deleted.
#[test]
fn snapshots_in_transition_are_left_alone() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    cloud.set_now(datetime!(2026-01-01 02:00 UTC));
    cloud.set_snapshot_creating_reads(1000);
    let stuck = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap().id;
    cloud.set_snapshot_creating_reads(0);
    cloud.fail_next_snapshots(1, Some("backend full"));
    let failed = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap().id;
    cloud.advance(30 * DAY);
    let report = prune_old_snapshots(&client, &volume, DAY, 0, cloud.now()).unwrap();
    assert_eq!(report.deleted, vec![failed]);
    assert_eq!(report.kept, vec![stuck]);
}

/// A 503 on the listing is retried by the client; the prune does not see it.
#[test]
fn a_transient_503_is_retried_underneath() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let ids = daily_history(&cloud, &client, &volume, 3);
    cloud.fail_next(1, Rule::get("snapshots/detail"), 503);
    let report = prune_old_snapshots(&client, &volume, DAY, 1, cloud.now()).unwrap();
    assert_eq!(report.deleted, [ids[1].clone(), ids[0].clone()]);
    let listings = cloud.requests().iter().filter(|r| r.relative_path() == "snapshots/detail").count();
    assert_eq!(listings, 2, "the 503 and its retry");
}
