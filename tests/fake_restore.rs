//! Enrolment and restore without guessing, against the fake cloud: volume metadata merge,
//! replace and key delete; the newest `available` owned snapshot of a volume
//! (`volumes::latest_owned_snapshot`); the snapshot Cinder calls the latest
//! (`volumes::latest_snapshot`) and the revert to it (`volumes::revert_to_latest`), refused
//! with nothing sent unless it is `available`. The exact requests of each.
#![cfg(feature = "testing")]

use std::collections::BTreeMap;
use std::time::Duration;

use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus};
use cinder_snapshots::testing::{Account, FakeCloud, VolumeSpec};
use cinder_snapshots::volumes::{self, RevertRefusal, UpdateMetadataOpts, VolumeStatus, WaitOpts};
use cinder_snapshots::{Error, ServiceClient};
use time::macros::datetime;

/// Every Cinder request since the last clear, as `METHOD path?k=v&k=v`.
fn calls(cloud: &FakeCloud) -> Vec<String> {
    cloud
        .requests()
        .iter()
        .map(|r| {
            let (method, path, query) = r.call();
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{}", q.join("&")) }
        })
        .collect()
}

/// A snapshot of `volume` made by `policy` (its labels), or by hand (`None`), one minute after
/// the previous one on the fake's clock; waited for unless `creating` is asked.
fn snap(cloud: &FakeCloud, client: &ServiceClient, volume: &str, policy: Option<&str>, creating: bool) -> String {
    cloud.advance(Duration::from_secs(60));
    cloud.set_snapshot_creating_reads(if creating { 1000 } else { 0 });
    let mut opts = CreateOpts::new(volume).name("s");
    if let Some(p) = policy {
        let policy = Policy::builder(p).keep_daily(7).build().unwrap();
        for (k, v) in retention::labels(&policy, cloud.now()) {
            opts = opts.metadata(k, v);
        }
    }
    snapshots::create(client, &opts).unwrap().id
}

fn listing(volume: &str) -> String {
    format!("GET snapshots/detail?all_tenants=1&volume_id={volume}")
}

#[test]
fn volume_metadata_is_merged_replaced_and_removed_as_cinder_does() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume_with(&VolumeSpec::new("db").metadata("tier", "gold"));
    let client = cloud.client();
    volumes::get(&client, &volume).unwrap(); // authenticated, the version known
    cloud.clear_requests();
    let all = volumes::merge_metadata(&client, &volume, &UpdateMetadataOpts::new().set("backup", "nightly")).unwrap();
    let want = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>();
    assert_eq!(all, want(&[("backup", "nightly"), ("tier", "gold")]));
    assert_eq!(volumes::get(&client, &volume).unwrap().metadata, all);
    assert_eq!(volumes::get_metadata(&client, &volume).unwrap(), all);
    volumes::delete_metadata_key(&client, &volume, "tier").unwrap();
    assert_eq!(volumes::get_metadata(&client, &volume).unwrap(), want(&[("backup", "nightly")]));
    let err = volumes::delete_metadata_key(&client, &volume, "tier").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, format!("Volume {volume} has no metadata with key tier."));
    let all = volumes::update_metadata(&client, &volume, &UpdateMetadataOpts::new().set("x", "y")).unwrap();
    assert_eq!(all, want(&[("x", "y")]));
    let path = format!("volumes/{volume}/metadata");
    assert_eq!(
        calls(&cloud),
        [
            format!("POST {path}"),
            format!("GET volumes/{volume}"),
            format!("GET {path}"),
            format!("DELETE {path}/tier"),
            format!("GET {path}"),
            format!("DELETE {path}/tier"),
            format!("PUT {path}"),
        ]
    );
    let bodies: Vec<serde_json::Value> = cloud.requests().into_iter().filter_map(|r| r.body).collect();
    assert_eq!(bodies, [serde_json::json!({"metadata": {"backup": "nightly"}}), serde_json::json!({"metadata": {"x": "y"}})]);
    // A volume in maintenance: Cinder 29's 400s (checked live), after a missing key's 404.
    cloud.set_volume_status(&volume, VolumeStatus::Maintenance);
    let err = volumes::merge_metadata(&client, &volume, &UpdateMetadataOpts::new().set("a", "b")).unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message.as_str()),
        (Some(400), "Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status.")
    );
    let err = volumes::delete_metadata_key(&client, &volume, "x").unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message.as_str()),
        (Some(400), "Invalid volume: Deleting volume metadata is not allowed for volumes in maintenance status.")
    );
    assert!(volumes::delete_metadata_key(&client, &volume, "nope").unwrap_err().is_not_found());
    assert_eq!(volumes::get_metadata(&client, &volume).unwrap(), want(&[("x", "y")]));
    cloud.set_volume_status(&volume, VolumeStatus::Available);
    // A member cannot tag another project's volume: Cinder's 404.
    let err = volumes::merge_metadata(&cloud.client_as(Account::Member), &volume, &UpdateMetadataOpts::new().set("a", "b")).unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[test]
fn the_newest_available_owned_snapshot_is_the_one_to_restore() {
    let cloud = FakeCloud::start();
    cloud.set_now(datetime!(2026-11-28 02:00 UTC));
    let volume = cloud.add_volume("db");
    let other = cloud.add_volume("other");
    let client = cloud.client();
    let _older = snap(&cloud, &client, &volume, Some("nightly"), false);
    let nightly = snap(&cloud, &client, &volume, Some("nightly"), false);
    let hourly = snap(&cloud, &client, &volume, Some("hourly"), false);
    let _by_hand = snap(&cloud, &client, &volume, None, false);
    let _other_volume = snap(&cloud, &client, &other, Some("nightly"), false);
    let creating = snap(&cloud, &client, &volume, Some("nightly"), true);
    cloud.clear_requests();
    assert_eq!(volumes::latest_owned_snapshot(&client, &volume, Some("nightly")).unwrap().id, nightly);
    assert_eq!(calls(&cloud), [listing(&volume)]);
    // Without a policy: any policy's (hourly's is newer); never the one made by hand.
    assert_eq!(volumes::latest_owned_snapshot(&client, &volume, None).unwrap().id, hourly);
    // What Cinder calls the latest: the newest of any status and owner.
    let latest = volumes::latest_snapshot(&client, &volume).unwrap().unwrap();
    assert_eq!((latest.id.as_str(), latest.status.clone()), (creating.as_str(), SnapshotStatus::Creating));
    let err = volumes::latest_owned_snapshot(&client, &volume, Some("weekly")).unwrap_err();
    assert!(matches!(&err, Error::NoMatch(m) if m.contains("no available snapshot of policy \"weekly\"")), "{err}");
    let empty = cloud.add_volume("empty");
    assert!(volumes::latest_snapshot(&client, &empty).unwrap().is_none());
    assert!(matches!(volumes::latest_owned_snapshot(&client, &empty, None), Err(Error::NoMatch(_))));
}

#[test]
fn every_page_is_read_before_the_newest_is_chosen() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(2);
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let ids: Vec<String> = (0..5).map(|_| snap(&cloud, &client, &volume, Some("nightly"), false)).collect();
    cloud.clear_requests();
    assert_eq!(volumes::latest_owned_snapshot(&client, &volume, Some("nightly")).unwrap().id, ids[4]);
    assert_eq!(calls(&cloud).len(), 3, "5 snapshots, pages of 2: {:?}", calls(&cloud));
}

#[test]
fn a_revert_to_a_latest_that_is_not_available_is_refused_with_nothing_sent() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let _good = snap(&cloud, &client, &volume, Some("nightly"), false);
    let creating = snap(&cloud, &client, &volume, Some("nightly"), true);
    cloud.clear_requests();
    let err = volumes::revert_to_latest(&client, &volume).unwrap_err();
    let Error::RevertRefused { volume_id, snapshot, reason } = &err else { panic!("{err:?}") };
    assert_eq!((volume_id, reason), (&volume, &RevertRefusal::SnapshotNotAvailable));
    assert_eq!(snapshot.as_deref(), Some(format!("{creating}, status creating").as_str()));
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::SnapshotNotAvailable));
    assert_eq!(calls(&cloud), [listing(&volume)], "only the listing: no revert sent");
    // The volume is untouched (Cinder would have left it `reverting`).
    assert_eq!(volumes::get(&client, &volume).unwrap().status, VolumeStatus::Available);
    // No snapshot at all: refused too.
    let empty = cloud.add_volume("empty");
    let err = volumes::revert_to_latest(&client, &empty).unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NoSnapshots), "{err}");
}

#[test]
fn a_revert_to_the_available_latest_is_sent_with_its_id() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let _older = snap(&cloud, &client, &volume, Some("nightly"), false);
    let latest = snap(&cloud, &client, &volume, None, false);
    cloud.clear_requests();
    assert_eq!(volumes::revert_to_latest(&client, &volume).unwrap().id, latest);
    assert_eq!(calls(&cloud), [listing(&volume), format!("POST volumes/{volume}/action")]);
    let body = cloud.requests().into_iter().find_map(|r| r.body).unwrap();
    assert_eq!(body, serde_json::json!({"revert": {"snapshot_id": latest}}));
    let wait = WaitOpts::new().initial_interval(Duration::from_millis(1)).max_interval(Duration::from_millis(5));
    assert_eq!(volumes::wait_for_revert(&client, &volume, &wait).unwrap().status, VolumeStatus::Available);
}

#[test]
fn two_snapshots_at_the_newest_instant_make_the_latest_ambiguous() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("db");
    let client = cloud.client();
    let a = snap(&cloud, &client, &volume, Some("nightly"), false);
    // The fake's clock does not move: the same created_at.
    let b = snapshots::create(&client, &CreateOpts::new(volume.as_str())).unwrap().id;
    cloud.clear_requests();
    let err = volumes::revert_to_latest(&client, &volume).unwrap_err();
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::AmbiguousLatest), "{err}");
    let text = err.to_string();
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    assert_eq!(calls(&cloud), [listing(&volume)]);
}
