//! The monitoring check (`job::check`) against the fake cloud and a silent server: what it
//! judges (future-dated snapshots, snapshots in error, two in a window, more than the policy
//! keeps, owned snapshots of volumes no longer selected, volumes nobody selects, the
//! cloud's clock), the shape of its output whatever the cloud's names hold, its perfdata in
//! every state, and its one deadline.
#![cfg(feature = "testing")]

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use cinder_snapshots::job::{self, CheckOpts, CheckReport, CheckStatus, EXCLUDE_KEY, WINDOW_KEY};
use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus, WaitOpts};
use cinder_snapshots::testing::{FakeCloud, Rule, VolumeSpec};
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, ServiceClient, TransportErrorKind};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-11-28 02:00 UTC);
const HOUR: Duration = Duration::from_secs(3600);
const WARN: Duration = Duration::from_secs(26 * 3600);
const CRIT: Duration = Duration::from_secs(50 * 3600);

fn policy() -> Policy {
    Policy::builder("nightly").keep_daily(2).build().unwrap()
}

/// A check of the volumes tagged backup=nightly at `now`.
fn opts(now: OffsetDateTime) -> CheckOpts {
    CheckOpts::new("nightly", WARN, CRIT).select_tag("backup", "nightly").now(now)
}

/// A volume tagged backup=nightly, `gib` large, created at DAY1.
fn volume(cloud: &FakeCloud, name: &str, gib: u64) -> String {
    cloud.set_now(DAY1);
    cloud.add_volume_with(&VolumeSpec::new(name).size(gib).metadata("backup", "nightly"))
}

/// An owned snapshot of `volume` made at `at` for the window starting `window`, available.
fn owned(cloud: &FakeCloud, client: &ServiceClient, volume: &str, at: OffsetDateTime, window: &str) -> String {
    cloud.set_now(at);
    let mut create = CreateOpts::new(volume).name(format!("nightly-{window}"));
    for (k, v) in retention::labels(&policy(), at) {
        create = create.metadata(k, v);
    }
    let snap = snapshots::create(client, &create.metadata(WINDOW_KEY, window)).unwrap();
    snapshots::wait_for_status(
        client,
        &snap.id,
        SnapshotStatus::Available,
        &WaitOpts::new().initial_interval(Duration::from_millis(1)).max_interval(Duration::from_millis(5)),
    )
    .unwrap();
    snap.id
}

fn window(at: OffsetDateTime) -> String {
    format!("{}T00:00:00Z", at.date())
}

/// The labels of the perfdata after the one `|`, in order.
fn perf_labels(report: &CheckReport) -> Vec<String> {
    let line = report.status_line();
    let (_, perf) = line.split_once(" | ").unwrap();
    perf.split(' ')
        .map(|m| {
            let (label, rest) = m.split_once('=').unwrap();
            // value[UOM];warn;crit;min (max does not apply: dropped, as the guidelines allow).
            assert_eq!(rest.matches(';').count(), 3, "{m}");
            label.to_owned()
        })
        .collect()
}

/// Item 6: a snapshot dated in the future (beyond the 5 minutes allowed) is not fresh: the
/// volume is judged by its newest snapshot that is not, and the text says so. Failed before
/// (the future snapshot's age was 0: OK).
#[test]
fn a_snapshot_dated_in_the_future_does_not_count_as_fresh() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let db = volume(&cloud, "db", 1);
    let web = volume(&cloud, "web", 1);
    // db: 30 h old, and one dated a day ahead; web: one dated 4 minutes ahead (allowed).
    let old = owned(&cloud, &client, &db, DAY3 - 30 * HOUR, &window(DAY3 - 30 * HOUR));
    owned(&cloud, &client, &db, DAY3 + 24 * HOUR, &window(DAY3 + 24 * HOUR));
    let near = owned(&cloud, &client, &web, DAY3 + Duration::from_secs(240), &window(DAY3));
    let report = job::check(&client, &opts(DAY3)).unwrap();
    type Seen<'a> = (&'a str, Option<&'a str>, Option<u64>, usize, CheckStatus);
    let seen: Vec<Seen> =
        report.volumes().iter().map(|v| (v.label(), v.snapshot_id.as_deref(), v.age.map(|a| a.as_secs()), v.future, v.status)).collect();
    assert_eq!(
        seen,
        [("web", Some(near.as_str()), Some(0), 0, CheckStatus::Ok), ("db", Some(old.as_str()), Some(30 * 3600), 1, CheckStatus::Warning)]
    );
    assert_eq!(report.status(), CheckStatus::Warning);
    assert_eq!(report.details(), ["WARNING db: newest snapshot 1d6h old; 1 snapshot dated in the future (more than 5min ahead)"]);
    assert!(report.status_line().contains(" future=1;;;0 "), "{}", report.status_line());
    // Its only snapshot in the future: CRITICAL, as with none.
    let lone = volume(&cloud, "lone", 1);
    owned(&cloud, &client, &lone, DAY3 + 24 * HOUR, &window(DAY3 + 24 * HOUR));
    let report = job::check(&client, &CheckOpts::new("nightly", WARN, CRIT).select_volume(lone).now(DAY3)).unwrap();
    assert_eq!(report.status(), CheckStatus::Critical);
    assert_eq!(
        report.details()[0],
        "CRITICAL lone: no snapshot, volume created 2d ago; 1 snapshot dated in the future (more than 5min ahead)"
    );
}

/// A volume without a snapshot, created a moment after the check's time (within the 5 min
/// the clocks may differ: Cinder's `Date` has whole seconds), is just made: CRITICAL with its
/// age at least 1 s, not the critical age that a creation time far in the future (beyond
/// the allowed skew) gives. Failed before: a creation time a second ahead gave the critical
/// age ("volume created 2d2h ago").
#[test]
fn a_volume_created_within_the_allowed_skew_is_just_made() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    cloud.set_now(DAY3 + Duration::from_secs(1));
    let near = cloud.add_volume_with(&VolumeSpec::new("near").size(1));
    cloud.set_now(DAY3 + 24 * HOUR);
    let far = cloud.add_volume_with(&VolumeSpec::new("far").size(1));
    let report = job::check(&client, &CheckOpts::new("nightly", WARN, CRIT).select_volume(near).select_volume(far).now(DAY3)).unwrap();
    let ages: Vec<(&str, u64)> = report.volumes().iter().map(|v| (v.label(), v.judged_age.as_secs())).collect();
    assert!(ages.contains(&("near", 1)) && ages.contains(&("far", CRIT.as_secs())), "{ages:?}");
    assert_eq!(report.status(), CheckStatus::Critical);
    assert!(report.details().iter().any(|d| d == "CRITICAL near: no snapshot, volume created 1s ago"), "{:?}", report.details());
}

/// Item 7: names from the cloud cannot add a line or a `|` (a second `|` would let anyone
/// who names a volume forge the status text and perfdata). Failed before (the name went
/// into the line as it was).
#[test]
fn cloud_text_cannot_change_the_shape_of_the_output() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    for name in ["db|x=1", "two\nlines", "evil\r\nCINDER-SNAPSHOTS OK - fine | age=0s"] {
        volume(&cloud, name, 1);
    }
    let report = job::check(&client, &opts(DAY3)).unwrap();
    let out = report.output();
    assert_eq!(out.matches('|').count(), 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("CINDER-SNAPSHOTS CRITICAL - 3 volumes, 3 critical: "), "{out}");
    assert!(lines[0].split(" | ").next().unwrap().chars().count() <= job::FIRST_LINE_MAX, "{out}");
    assert!(lines[1..].iter().all(|l| l.starts_with("CRITICAL ")), "{out}");
    assert!(out.contains("CRITICAL evil\\u{d}\\u{a}CINDER-SNAPSHOTS OK - fine \\u{7c} age=0s: no snapshot"), "{out}");
    assert!(out.contains("CRITICAL db\\u{7c}x=1: no snapshot, volume created 2d ago\n"), "{out}");
}

/// Item 8: a volume with no snapshot is CRITICAL and its age is the time since it was
/// created (never 0); every metric is there in every state, each `label=value;warn;crit;min`.
/// Failed before (no age metric without a snapshot; no min, no other metrics).
#[test]
fn perfdata_has_every_metric_in_every_state() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let db = volume(&cloud, "db", 1);
    let expected = [
        "age",
        "volumes",
        "ok",
        "warning",
        "critical",
        "snapshots",
        "size",
        "errors",
        "duplicates",
        "excess",
        "future",
        "unselected",
        "uncovered",
        "skew",
    ];
    let critical = job::check(&client, &opts(DAY3)).unwrap();
    assert_eq!(critical.status(), CheckStatus::Critical);
    assert!(critical.status_line().contains(" | age=172800s;93600;180000;0 volumes=1;;;0 "), "{}", critical.status_line());
    assert_eq!(critical.volumes()[0].judged_age, Duration::from_secs(2 * 86_400));
    owned(&cloud, &client, &db, DAY3 - 30 * HOUR, &window(DAY3 - 30 * HOUR));
    let warning = job::check(&client, &opts(DAY3)).unwrap();
    assert_eq!(warning.status(), CheckStatus::Warning);
    let ok = job::check(&client, &opts(DAY3 - 29 * HOUR)).unwrap();
    assert_eq!(ok.status(), CheckStatus::Ok);
    let unknown = job::check(&client, &CheckOpts::new("nightly", WARN, CRIT).select_tag("backup", "none").now(DAY3)).unwrap();
    assert_eq!(unknown.status(), CheckStatus::Unknown);
    for report in [&critical, &warning, &ok, &unknown] {
        assert_eq!(perf_labels(report), expected, "{}", report.status_line());
    }
    assert!(ok.status_line().ends_with(" | age=3600s;93600;180000;0 volumes=1;;;0 ok=1;;;0 warning=0;;;0 critical=0;;;0 snapshots=1;;;0 size=1073741824B;;;0 errors=0;;;0 duplicates=0;;;0 excess=0;;;0 future=0;;;0 unselected=0;;;0 uncovered=U;;;0 skew=U;300;;0"));
}

/// WARNING for owned snapshots in error or error_deleting, two owned snapshots of a volume
/// in one window, and more owned snapshots than the policy keeps plus one; each with its
/// count and GiB. Failed before (only the newest available snapshot's age was judged: OK).
#[test]
fn error_duplicate_and_excess_snapshots_warn() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let a = volume(&cloud, "vol-a", 10);
    let b = volume(&cloud, "vol-b", 20);
    let c = volume(&cloud, "vol-c", 5);
    // vol-a: fresh, plus two older in error and error_deleting.
    owned(&cloud, &client, &a, DAY3, &window(DAY3));
    for (i, status) in [SnapshotStatus::Error, SnapshotStatus::ErrorDeleting].into_iter().enumerate() {
        let at = DAY3 - (i as u32 + 1) * 24 * HOUR;
        let id = owned(&cloud, &client, &a, at, &window(at));
        snapshots::reset_status(&client, &id, status).unwrap();
    }
    // vol-b: two in today's window (two hosts ran at once).
    owned(&cloud, &client, &b, DAY3, &window(DAY3));
    owned(&cloud, &client, &b, DAY3 + Duration::from_secs(60), &window(DAY3));
    // vol-c: 5 days of snapshots under keep-daily 2 (the prune stopped).
    for d in 0..5u32 {
        let at = DAY3 - d * 24 * HOUR;
        owned(&cloud, &client, &c, at, &window(at));
    }
    let now = DAY3 + HOUR;
    let report = job::check(&client, &opts(now).policy(policy())).unwrap();
    assert_eq!(report.status(), CheckStatus::Warning);
    assert_eq!(
        report.details(),
        [
            "WARNING vol-c: newest snapshot 1h old; 5 snapshots (25 GiB), more than the 2 the policy keeps plus one: is the prune running?",
            "WARNING vol-b: newest snapshot 59min old; 1 snapshot in a window that has a newer one (20 GiB)",
            "WARNING vol-a: newest snapshot 1h old; 2 snapshots in error (20 GiB)",
        ]
    );
    assert!(report.status_line().starts_with("CINDER-SNAPSHOTS WARNING - 3 volumes, 3 warning: vol-c, vol-b, vol-a | "));
    assert!(
        report.status_line().contains(" snapshots=10;;;0 size=102005473280B;;;0 errors=2;;;0 duplicates=1;;;0 excess=2;;;0 "),
        "{}",
        report.status_line()
    );
    // Without the policy's rules the count is not judged; the rest is.
    let report = job::check(&client, &opts(now)).unwrap();
    assert_eq!(
        report.volumes().iter().map(|v| v.status).collect::<Vec<_>>(),
        [CheckStatus::Ok, CheckStatus::Warning, CheckStatus::Warning]
    );
    // keep-within has no count bound: not judged either.
    let within = Policy::builder("nightly").keep_within(cinder_snapshots::duration::CalendarDuration::days(1)).build().unwrap();
    assert_eq!(job::check(&client, &opts(now).policy(within)).unwrap().volumes()[0].status, CheckStatus::Ok);
}

/// WARNING for owned snapshots of volumes the selection no longer covers, and (asked) for
/// volumes nobody selects that are not excluded. Failed before (neither was looked at).
#[test]
fn unselected_snapshots_and_uncovered_volumes_warn() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let db = volume(&cloud, "db", 1);
    owned(&cloud, &client, &db, DAY3, &window(DAY3));
    // Once selected, now untagged, with two owned snapshots.
    cloud.set_now(DAY1);
    let old = cloud.add_volume_with(&VolumeSpec::new("old").size(3));
    owned(&cloud, &client, &old, DAY3 - 24 * HOUR, &window(DAY3 - 24 * HOUR));
    owned(&cloud, &client, &old, DAY3, &window(DAY3));
    // Never selected: one left out on purpose, one forgotten.
    cloud.set_now(DAY1);
    cloud.add_volume_with(&VolumeSpec::new("scratch").size(7).metadata(EXCLUDE_KEY, "true"));
    cloud.add_volume_with(&VolumeSpec::new("forgotten").size(8));
    let report = job::check(&client, &opts(DAY3 + HOUR)).unwrap();
    assert_eq!(report.status(), CheckStatus::Warning);
    assert_eq!((report.unselected().count, report.unselected().gib), (2, 6));
    assert_eq!(report.unselected().volumes, std::slice::from_ref(&old));
    assert!(report.uncovered().is_none());
    assert_eq!(
        report.details(),
        [format!("WARNING unselected: 2 snapshots (6 GiB) owned by nightly on 1 volume the selection does not cover: {old}")]
    );
    assert!(
        report.status_line().starts_with("CINDER-SNAPSHOTS WARNING - 1 volume, 1 other problem, oldest 1h | "),
        "{}",
        report.status_line()
    );
    assert!(report.status_line().contains(" unselected=2;;;0 uncovered=U;;;0 "));
    let report = job::check(&client, &opts(DAY3 + HOUR).warn_uncovered(true)).unwrap();
    let uncovered = report.uncovered().unwrap();
    assert_eq!((uncovered.count, uncovered.gib, uncovered.volumes.clone()), (2, 11, vec!["forgotten".to_owned(), "old".to_owned()]));
    assert_eq!(
        report.details()[1],
        "WARNING uncovered: 2 volumes (11 GiB) not in this selection and not excluded (cinder-snapshots.exclude=true): forgotten, old"
    );
    assert!(report.status_line().contains(" uncovered=2;;;0 "));
    // Every volume selected: nothing is uncovered.
    let all = CheckOpts::new("nightly", WARN, CRIT).all_volumes(true).now(DAY3 + HOUR).warn_uncovered(true);
    assert_eq!(job::check(&client, &all).unwrap().uncovered().map(|u| u.count), Some(0));
}

/// Ages on Cinder's clock (the `Date` of its answers), not the host's; a skew over 5
/// minutes is WARNING and named. Failed before (the host's clock: a snapshot made an hour
/// ago by a cloud a day ahead was dated in the future; no skew judged).
#[test]
fn ages_are_on_cinders_clock_and_a_skew_warns() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let cloud_now = OffsetDateTime::now_utc() + 24 * HOUR;
    cloud.set_now(cloud_now - 48 * HOUR);
    let db = cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    owned(&cloud, &client, &db, cloud_now - HOUR, &window(cloud_now - HOUR));
    cloud.set_now(cloud_now);
    let report = job::check(&client, &CheckOpts::new("nightly", WARN, CRIT).select_tag("backup", "nightly")).unwrap();
    let age = report.volumes()[0].age.unwrap().as_secs();
    assert!((3590..=3610).contains(&age), "{age}");
    assert_eq!(report.volumes()[0].status, CheckStatus::Ok);
    let offset = report.clock_offset().unwrap().whole_seconds();
    assert!((86_390..=86_410).contains(&offset), "{offset}");
    assert_eq!(report.status(), CheckStatus::Warning);
    assert!(
        report.details()[0].starts_with("WARNING clock: Cinder's clock is 23h59min")
            || report.details()[0].starts_with("WARNING clock: Cinder's clock is 1d")
    );
    assert!(report.details()[0].ends_with(" ahead of this host's (more than 5min)"), "{:?}", report.details());
    assert!(report.status_line().contains(" skew=86"), "{}", report.status_line());
}

/// An incomplete listing is never judged: the check fails (UNKNOWN), whatever it read.
#[test]
fn a_listing_that_fails_is_an_error_not_a_verdict() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let db = volume(&cloud, "db", 1);
    owned(&cloud, &client, &db, DAY3, &window(DAY3));
    cloud.fail_next(1, Rule::get("snapshots/detail"), 500);
    let err = job::check(&client, &opts(DAY3)).unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
}

/// Item 9: one deadline for the whole check. A Cinder that accepts the connection and never
/// answers gives an error (UNKNOWN) by the deadline, not after the client's 60 s request
/// timeout. Failed before (no deadline: 60 s and more).
#[test]
fn a_silent_cinder_fails_the_check_by_its_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            held.push(stream); // accepted, read, never answered
        }
    });
    let client = ServiceClient::with_token(&format!("http://{addr}/v3/p"), "tok")
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .build()
        .unwrap();
    let deadline = Duration::from_millis(1500);
    let started = Instant::now();
    let err = job::check(&client, &opts(DAY3).timeout(deadline)).unwrap_err();
    let took = started.elapsed();
    assert!(took < 2 * deadline, "{took:?}");
    assert!(took >= deadline - Duration::from_millis(100), "{took:?}");
    assert!(matches!(&err, Error::Transport { source, .. } if source.kind() == TransportErrorKind::Timeout), "{err:?}");
}

/// The check asks ownership by the policy id alone: an id a policy cannot have is refused
/// before any request with the policy's own message (no made-up `keep_last(1)` policy is
/// built to judge it), and a valid id with no rules given judges the snapshots carrying it
/// (not one labelled in a format this version does not know).
#[test]
fn the_policy_id_alone_judges_ownership() {
    let cloud = FakeCloud::start();
    let vol = volume(&cloud, "db", 1);
    let client = cloud.client();
    cloud.set_now(DAY3);
    let labels = retention::labels(&policy(), DAY3);
    let owned = labels.iter().fold(CreateOpts::new(&vol).name("owned"), |o, (k, v)| o.metadata(k, v));
    snapshots::create(&client, &owned).unwrap();
    let newer = labels
        .iter()
        .fold(CreateOpts::new(&vol).name("format-2"), |o, (k, v)| o.metadata(k, if k == retention::FORMAT_KEY { "2" } else { v }));
    snapshots::create(&client, &newer).unwrap();
    cloud.clear_requests();
    let err = job::check(&client, &CheckOpts::new("night/ly", WARN, CRIT).select_tag("backup", "nightly").now(DAY3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration error: invalid retention policy id \"night/ly\": it contains '/'; only ASCII letters, digits and -_:. and space are allowed"
    );
    assert!(cloud.requests().is_empty(), "refused before any request");
    let report = job::check(&client, &opts(DAY3)).unwrap();
    let owned: Vec<(&str, usize)> = report.volumes().iter().map(|v| (v.volume_id.as_str(), v.owned)).collect();
    assert_eq!(owned, [(vol.as_str(), 1)]);
}
