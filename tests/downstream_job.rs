//! A job on the fake cloud written as a new user writes it from the README (`job::run(&client,
//! &JobOpts::new(policy).select_tag("backup", "nightly"))`), with no poll setting: the run
//! takes the client's poll policy, which the fake's clients carry with intervals of a few
//! milliseconds, so this test runs in a fraction of a second (issue 22: it took 135 s when the
//! job had its own 1 s to 30 s polls).
#![cfg(feature = "testing")]

use cinder_snapshots::job::{self, JobOpts, VolumeAction};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::snapshots::SnapshotStatus;
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};

#[test]
fn a_nightly_job_on_the_fake_cloud_as_the_readme_shows_it() {
    let cloud = FakeCloud::start();
    let tagged: Vec<String> =
        (0..3).map(|i| cloud.add_volume_with(&VolumeSpec::new(format!("db-{i}")).metadata("backup", "nightly"))).collect();
    let untagged = cloud.add_volume("scratch");
    let client = cloud.client();
    let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build().unwrap();
    let opts = JobOpts::new(policy).select_tag("backup", "nightly");

    let report = job::run(&client, &opts).unwrap();
    assert!(report.is_success(), "{report:#?}");
    let t = report.totals();
    assert_eq!((t.volumes, t.created, t.reused, t.available, t.failed, t.skipped), (3, 3, 0, 3, 0, 0));
    let mut done: Vec<&str> = report.volumes().iter().map(|v| v.volume_id.as_str()).collect();
    done.sort_unstable();
    let mut want: Vec<&str> = tagged.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(done, want);
    // One available snapshot per tagged volume on the fake, none of the untagged one.
    let snaps = cloud.snapshots();
    assert_eq!(snaps.len(), 3);
    for v in report.volumes() {
        assert_eq!(v.action, VolumeAction::Created);
        let made: Vec<_> = snaps.iter().filter(|s| s.volume_id == v.volume_id).collect();
        assert_eq!(made.len(), 1, "{}", v.volume_id);
        assert_eq!(Some(&made[0].id), v.snapshot_id.as_ref());
        assert_eq!(made[0].status, SnapshotStatus::Available);
    }
    assert!(snaps.iter().all(|s| s.volume_id != untagged));

    // Run again in the same window: every snapshot reused, nothing created.
    let again = job::run(&client, &opts).unwrap();
    assert!(again.is_success(), "{again:#?}");
    let t = again.totals();
    assert_eq!((t.volumes, t.created, t.reused, t.available), (3, 0, 3, 3));
    assert_eq!(cloud.snapshots().len(), 3);
    for v in again.volumes() {
        assert_eq!(v.action, VolumeAction::Reused);
        assert_eq!(v.snapshot_id, report.volume(&v.volume_id).and_then(|r| r.snapshot_id.clone()));
    }
}
