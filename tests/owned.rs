//! `job::owned`, the one listing of the snapshots a policy owns, on `FakeCloud`: the exact
//! requests at each microversion (the label filter from 3.22, `with_count` from 3.45, below
//! 3.22 the project's whole listing filtered on the client), what the client re-checks
//! (another policy, a hand-made snapshot, a label format this version does not know), and
//! that run, prune and check all list through it.
#![cfg(feature = "testing")]

use std::collections::BTreeMap;
use std::time::Duration;

use cinder_snapshots::job::{self, CheckOpts, JobOpts, OwnedQuery, PruneOpts, WINDOW_KEY};
use cinder_snapshots::retention::{FORMAT_KEY, POLICY_KEY, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus};
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
use cinder_snapshots::{Microversion, MicroversionPolicy, ServiceClient};
use time::macros::datetime;

/// The requests Cinder saw (Keystone's token requests left out), as `METHOD path?query`
/// (query decoded), with their counts.
fn calls(cloud: &FakeCloud) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in cloud.requests() {
        let (method, path, query) = r.call();
        if path.contains("auth/tokens") {
            continue;
        }
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{}", q.join("&")) };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn client_at(cloud: &FakeCloud, minor: u16) -> ServiceClient {
    cloud.client_builder().microversion(MicroversionPolicy::Pinned(Microversion::new(3, minor))).build().unwrap()
}

/// The snapshots of the scenario, by role.
struct Estate {
    vol_a: String,
    vol_b: String,
    /// Owned by `nightly`, volume A, window w1.
    owned_a: String,
    /// Owned by `nightly`, volume B, no window.
    owned_b: String,
}

/// Volume A and B; on them: two snapshots owned by `nightly`, one of policy `weekly`, one
/// made by hand, and one labelled `nightly` in label format 2 (a newer version's).
fn estate(cloud: &FakeCloud) -> Estate {
    let vol_a = cloud.add_volume_with(&VolumeSpec::new("a"));
    let vol_b = cloud.add_volume_with(&VolumeSpec::new("b"));
    let client = cloud.client();
    let make = |vol: &str, name: &str, labels: &[(&str, &str)]| -> String {
        let opts = labels.iter().fold(CreateOpts::new(vol).name(name), |o, (k, v)| o.metadata(*k, *v));
        snapshots::create(&client, &opts).unwrap().id
    };
    let owned_a = make(&vol_a, "owned-a", &[(POLICY_KEY, "nightly"), (WINDOW_KEY, "w1")]);
    let owned_b = make(&vol_b, "owned-b", &[(POLICY_KEY, "nightly"), (FORMAT_KEY, "1")]);
    make(&vol_a, "weekly", &[(POLICY_KEY, "weekly")]);
    make(&vol_a, "by-hand", &[]);
    make(&vol_b, "newer-format", &[(POLICY_KEY, "nightly"), (FORMAT_KEY, "2")]);
    cloud.clear_requests();
    Estate { vol_a, vol_b, owned_a, owned_b }
}

fn names(client: &ServiceClient, query: &OwnedQuery) -> Vec<String> {
    let mut out: Vec<String> = job::owned(client, query).unwrap().all().unwrap().into_iter().map(|s| s.name.unwrap_or_default()).collect();
    out.sort();
    out
}

const POLICY_FILTER: &str = r#"metadata={"cinder-snapshots.policy":"nightly"}"#;

/// One listing at every microversion; the label filter from 3.22, `with_count` from 3.45;
/// below 3.22 every snapshot of the project is read and the owned ones kept here. The
/// snapshot with the label in format 2, the other policy's and the hand-made one are never
/// listed as owned.
#[test]
fn one_listing_filtered_by_the_label_from_3_22_with_count_from_3_45() {
    for (minor, query) in [
        (71, format!("with_count=true&{POLICY_FILTER}")),
        (45, format!("with_count=true&{POLICY_FILTER}")),
        (44, POLICY_FILTER.to_owned()),
        (22, POLICY_FILTER.to_owned()),
        (21, String::new()),
        (0, String::new()),
    ] {
        let cloud = FakeCloud::start();
        let e = estate(&cloud);
        let client = client_at(&cloud, minor);
        cloud.clear_requests();
        assert_eq!(names(&client, &OwnedQuery::new("nightly")), ["owned-a", "owned-b"], "3.{minor}");
        let listing = if query.is_empty() { "GET snapshots/detail".to_owned() } else { format!("GET snapshots/detail?{query}") };
        assert_eq!(calls(&cloud), BTreeMap::from([(listing, 1)]), "3.{minor}");
        // The ids are the ones made for the policy.
        let ids: Vec<String> = job::owned(&client, &OwnedQuery::new("nightly")).unwrap().map(|s| s.unwrap().id).collect();
        assert!(ids.contains(&e.owned_a) && ids.contains(&e.owned_b) && ids.len() == 2, "3.{minor}: {ids:?}");
    }
}

/// Another label (the window) is one more `metadata` item from 3.22 and checked here below
/// it; the label format 2 snapshot is listed only when asked for (the prune's plan reports
/// it); the status is a server filter checked here too.
#[test]
fn labels_status_and_unknown_formats() {
    for (minor, query) in
        [(71, r#"with_count=true&metadata={"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"w1"}"#), (21, "")]
    {
        let cloud = FakeCloud::start();
        estate(&cloud);
        let client = client_at(&cloud, minor);
        cloud.clear_requests();
        assert_eq!(names(&client, &OwnedQuery::new("nightly").label(WINDOW_KEY, "w1")), ["owned-a"], "3.{minor}");
        let listing = if query.is_empty() { "GET snapshots/detail".to_owned() } else { format!("GET snapshots/detail?{query}") };
        assert_eq!(calls(&cloud), BTreeMap::from([(listing, 1)]), "3.{minor}");
        assert_eq!(names(&client, &OwnedQuery::new("nightly").unknown_formats(true)), ["newer-format", "owned-a", "owned-b"], "3.{minor}");
        assert_eq!(names(&client, &OwnedQuery::new("weekly")), ["weekly"], "3.{minor}");
        assert!(names(&client, &OwnedQuery::new("nightly").status(SnapshotStatus::Error)).is_empty(), "3.{minor}");
    }
}

/// Volumes: from 3.22 one listing whatever their number (`volume_id` when there is exactly
/// one), below 3.22 one listing per volume; the volumes are kept on the client either way.
#[test]
fn volumes_are_one_listing_from_3_22_and_one_per_volume_below() {
    let cloud = FakeCloud::start();
    let e = estate(&cloud);
    let both = [e.vol_a.clone(), e.vol_b.clone()];
    let client = client_at(&cloud, 71);
    assert_eq!(names(&client, &OwnedQuery::new("nightly").volumes(both.clone())), ["owned-a", "owned-b"]);
    assert_eq!(calls(&cloud), BTreeMap::from([(format!("GET snapshots/detail?with_count=true&{POLICY_FILTER}"), 1)]));
    cloud.clear_requests();
    assert_eq!(names(&client, &OwnedQuery::new("nightly").volumes([e.vol_b.clone()])), ["owned-b"]);
    assert_eq!(calls(&cloud), BTreeMap::from([(format!("GET snapshots/detail?with_count=true&volume_id={}&{POLICY_FILTER}", e.vol_b), 1)]));
    cloud.clear_requests();
    let old = client_at(&cloud, 21);
    cloud.clear_requests();
    assert_eq!(names(&old, &OwnedQuery::new("nightly").volumes(both)), ["owned-a", "owned-b"]);
    assert_eq!(
        calls(&cloud),
        BTreeMap::from([
            (format!("GET snapshots/detail?volume_id={}", e.vol_a), 1),
            (format!("GET snapshots/detail?volume_id={}", e.vol_b), 1)
        ])
    );
    cloud.clear_requests();
    assert!(names(&client, &OwnedQuery::new("nightly").volumes(Vec::<String>::new())).is_empty());
    assert!(calls(&cloud).is_empty(), "an empty set of volumes sends nothing");
}

/// Run (its window listing), prune and check all list the policy's snapshots with the one
/// owned listing: the same query shape, and none of them takes the label format 2
/// snapshot, the other policy's or the hand-made one as owned.
#[test]
fn run_prune_and_check_list_through_the_one_owned_listing() {
    let cloud = FakeCloud::start();
    let e = estate(&cloud);
    let client = client_at(&cloud, 71);
    let now = datetime!(2026-11-28 02:00 UTC);
    cloud.set_now(now);
    let policy = Policy::builder("nightly").keep_last(5).build().unwrap();

    // Prune (dry run): the owned listing, with the format 2 snapshot kept and reported.
    cloud.clear_requests();
    let report = job::prune(&client, &PruneOpts::new(policy.clone()).now(now).dry_run(true)).unwrap();
    assert_eq!(calls(&cloud), BTreeMap::from([(format!("GET snapshots/detail?with_count=true&{POLICY_FILTER}"), 1)]));
    let mut listed: Vec<&str> = report.outcomes().iter().map(|o| o.snapshot().name.as_deref().unwrap_or_default()).collect();
    listed.sort_unstable();
    assert_eq!(listed, ["newer-format", "owned-a", "owned-b"]);
    assert_eq!(report.counts().unknown_format, 1);

    // Check: the same listing; the two owned snapshots counted, the format 2 one not.
    cloud.clear_requests();
    let check = job::check(
        &client,
        &CheckOpts::new("nightly", Duration::from_secs(3600), Duration::from_secs(7200))
            .select_volume(e.vol_a.as_str())
            .select_volume(e.vol_b.as_str())
            .now(now),
    )
    .unwrap();
    let c = calls(&cloud);
    assert_eq!(c.get(&format!("GET snapshots/detail?with_count=true&{POLICY_FILTER}")), Some(&1), "{c:#?}");
    assert_eq!(c.keys().filter(|k| k.starts_with("GET snapshots/detail")).count(), 1, "{c:#?}");
    let owned: Vec<(String, usize)> = check.volumes().iter().map(|v| (v.volume_id.clone(), v.owned)).collect();
    assert_eq!(owned, [(e.vol_a.clone(), 1), (e.vol_b.clone(), 1)]);

    // Run: its window listing is the owned listing with the window label.
    cloud.clear_requests();
    let run = job::run(
        &client,
        &JobOpts::new(policy)
            .select_volume(e.vol_a.as_str())
            .now(now)
            .dry_run(true)
            .poll_interval(Duration::from_millis(1), Duration::from_millis(5)),
    )
    .unwrap();
    assert!(run.is_success(), "{run:#?}");
    let c = calls(&cloud);
    let window = r#"GET snapshots/detail?with_count=true&metadata={"cinder-snapshots.policy":"nightly","cinder-snapshots.window":"2026-11-28T00:00:00Z"}"#;
    assert_eq!(c.get(window), Some(&1), "{c:#?}");
}
