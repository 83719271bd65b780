//! `job::report` against the fake cloud: per volume the policy's snapshots, GiB, newest and
//! age (the check's listing), and whether the steady state fits the quota, with the exact
//! requests.
#![cfg(feature = "testing")]

use std::time::Duration;

use cinder_snapshots::duration::CalendarDuration;
use cinder_snapshots::job::{self, JobOpts, ReportOpts};
use cinder_snapshots::quotas::Room;
use cinder_snapshots::retention::Policy;
use cinder_snapshots::testing::{FakeCloud, PROJECT_ID, VolumeSpec};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-11-27 02:00 UTC);

/// A volume as the test reads it: id, name, size, snapshots, GiB, newest, age in seconds.
type Row<'a> = (&'a str, Option<&'a str>, u64, usize, u64, Option<OffsetDateTime>, Option<u64>);
/// A quota's fit: key, needed, held, room, fits.
type Fit<'a> = (&'a str, Option<u64>, u64, Room, Option<bool>);

fn policy() -> Policy {
    Policy::builder("nightly").keep_daily(2).keep_weekly(1).build().unwrap()
}

/// Two volumes (3 and 1 GiB) with two nightly runs: 4 snapshots, 8 GiB. The steady state
/// holds (2 + 1 + 1) per volume: 8 snapshots and 16 GiB, of which 4 and 8 are held.
fn two_runs(cloud: &FakeCloud) -> (String, String) {
    let a = cloud.add_volume_with(&VolumeSpec::new("db").size(3).metadata("backup", "nightly"));
    let b = cloud.add_volume_with(&VolumeSpec::new("web").size(1).metadata("backup", "nightly"));
    cloud.add_volume_with(&VolumeSpec::new("other").size(50));
    let client = cloud.client();
    for day in [DAY1, DAY2] {
        cloud.set_now(day);
        let o = JobOpts::new(policy())
            .select_tag("backup", "nightly")
            .now(day)
            .poll_interval(Duration::from_millis(1), Duration::from_millis(5));
        assert!(job::run(&client, &o).unwrap().is_success());
    }
    (a, b)
}

#[test]
fn a_report_counts_each_volume_and_judges_the_steady_state() {
    let cloud = FakeCloud::start();
    let (a, b) = two_runs(&cloud);
    // Room: 10 snapshots - 4 held = 6 left (4 more needed: fits); 70 GiB - 54 of volumes
    // - 8 of snapshots = 8 left (8 more needed: fits, exactly).
    cloud.set_quota("snapshots", 10);
    cloud.set_quota("gigabytes", 70);
    let client = cloud.client();
    cloud.clear_requests();
    let now = DAY2 + Duration::from_secs(3600);
    let opts = ReportOpts::new(policy()).select_tag("backup", "nightly").now(now);
    let report = job::report(&client, &opts).unwrap();
    let calls: Vec<String> = cloud
        .requests()
        .iter()
        .map(|r| {
            let (method, path, query) = r.call();
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{}", q.join("&")) }
        })
        .collect();
    // A new client: its token and the version root, then ONE listing of the volumes, ONE of
    // the policy's snapshots (the check's), the quota set.
    assert_eq!(
        calls,
        [
            "POST /v3/auth/tokens".to_owned(),
            "GET /".to_owned(),
            r#"GET volumes/detail?with_count=true&metadata={"backup":"nightly"}"#.to_owned(),
            r#"GET snapshots/detail?with_count=true&metadata={"cinder-snapshots.policy":"nightly"}"#.to_owned(),
            format!("GET os-quota-sets/{PROJECT_ID}?usage=True"),
        ],
        "{calls:?}"
    );
    assert_eq!(report.project.as_deref(), Some(PROJECT_ID));
    assert_eq!(report.steady_count, Some(3));
    let rows: Vec<Row> = report
        .volumes
        .iter()
        .map(|v| (v.volume_id.as_str(), v.volume_name.as_deref(), v.volume_size, v.snapshots, v.gib, v.newest, v.age.map(|d| d.as_secs())))
        .collect();
    assert_eq!(
        rows,
        [(b.as_str(), Some("web"), 1, 2, 2, Some(DAY2), Some(3600)), (a.as_str(), Some("db"), 3, 2, 6, Some(DAY2), Some(3600))]
    );
    assert_eq!(report.totals(), (4, 8));
    let q: Vec<Fit> = report.quota.iter().map(|q| (q.key.as_str(), q.needed, q.held, q.room, q.fits)).collect();
    assert_eq!(q, [("snapshots", Some(8), 4, Room::Left(6), Some(true)), ("gigabytes", Some(16), 8, Room::Left(8), Some(true))]);
    assert!(report.fits());

    // One snapshot less of room: 4 more needed, 3 left: does not fit; unlimited gigabytes fit.
    cloud.set_quota("snapshots", 7);
    cloud.set_quota("gigabytes", -1);
    let report = job::report(&client, &opts).unwrap();
    let q: Vec<Fit> = report.quota.iter().map(|q| (q.key.as_str(), q.needed, q.held, q.room, q.fits)).collect();
    assert_eq!(q, [("snapshots", Some(8), 4, Room::Left(3), Some(false)), ("gigabytes", Some(16), 8, Room::Unlimited, Some(true))]);
    assert!(!report.fits());

    // A pinned snapshot is kept beyond the rules: the steady state holds it too (8 + 1
    // snapshots, 16 + 3 GiB for the 3 GiB volume's).
    cloud.set_quota("snapshots", 10);
    let pinned = cloud.snapshots().into_iter().find(|s| s.volume_id == a).unwrap();
    job::pin(&client, &pinned.id, "legal hold").unwrap();
    let report = job::report(&client, &opts).unwrap();
    assert_eq!(report.volumes.iter().map(|v| v.pinned).collect::<Vec<_>>(), [0, 1]);
    let q: Vec<Fit> = report.quota.iter().map(|q| (q.key.as_str(), q.needed, q.held, q.room, q.fits)).collect();
    assert_eq!(q, [("snapshots", Some(9), 4, Room::Left(6), Some(true)), ("gigabytes", Some(19), 8, Room::Unlimited, Some(true))]);

    // keep-within has no bound: the fit cannot be judged, never said to fit.
    let within = Policy::builder("nightly").keep_within(CalendarDuration::days(1)).build().unwrap();
    let report = job::report(&client, &ReportOpts::new(within).select_tag("backup", "nightly").now(now)).unwrap();
    assert_eq!(report.steady_count, None);
    assert!(report.quota.iter().all(|q| q.needed.is_none() && q.fits.is_none()));
    assert!(!report.fits());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["fits"], false);
    assert_eq!(json["volumes"][1]["age_s"], 3600);
    assert_eq!(json["volumes"][1]["newest"], "2026-11-27T02:00:00Z");
}
