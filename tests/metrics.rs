//! Metrics files of runs and checks against the fake cloud (`job::MetricsFile`): the exact
//! file of a run, the last success kept by a failed run, escaped labels, a check's file,
//! the file named after the target in a directory, no temporary file left.
#![cfg(feature = "testing")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use cinder_snapshots::ServiceClient;
use cinder_snapshots::job::{self, CheckOpts, JobOpts, MetricsFile, Selection};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::testing::{FakeCloud, PROJECT_ID, Rule, VolumeSpec};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-11-27 02:00 UTC);

/// A fresh directory under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cs-metrics-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn opts(now: OffsetDateTime) -> JobOpts {
    JobOpts::new(Policy::builder("nightly").keep_daily(2).build().unwrap())
        .select_tag("backup", "nightly")
        .now(now)
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(20))
}

/// Runs the job at `now` and writes its metrics to `file` (state in `state`).
fn run_and_write(cloud: &FakeCloud, client: &ServiceClient, now: OffsetDateTime, file: &Path, state: &Path) -> String {
    cloud.set_now(now);
    let o = opts(now);
    let outcome = job::run(client, &o);
    let written = MetricsFile::new(file).state_dir(state).write_run(client, &o, outcome.as_ref()).unwrap();
    assert_eq!(written.as_deref(), Some(file));
    std::fs::read_to_string(file).unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The whole file of a successful run, byte for byte: HELP and TYPE lines, the target's
/// labels, the counts, each volume's newest snapshot (its name escaped), the quota's room;
/// no timestamps; no temporary file left in the directory.
#[test]
fn a_run_writes_every_metric_exactly() {
    let cloud = FakeCloud::start();
    let a = cloud.add_volume_with(&VolumeSpec::new("db \"main\"\\data\nx").size(3).metadata("backup", "nightly"));
    let b = cloud.add_volume_with(&VolumeSpec::new("web").size(1).metadata("backup", "nightly"));
    cloud.set_quota("snapshots", 10);
    cloud.set_quota("gigabytes", 100);
    let client = cloud.client();
    let dir = scratch("exact");
    let file = dir.join("job.prom");
    let text = run_and_write(&cloud, &client, DAY1, &file, &dir.join("state"));
    let t = DAY1.unix_timestamp();
    let l = format!("policy=\"nightly\",project=\"{PROJECT_ID}\"");
    let expected = format!(
        "# HELP cinder_snapshots_last_success_timestamp_seconds The end of the last successful run of this target (0: none yet).
# TYPE cinder_snapshots_last_success_timestamp_seconds gauge
cinder_snapshots_last_success_timestamp_seconds{{{l}}} {t}
# HELP cinder_snapshots_last_run_timestamp_seconds The time of the last run, whatever its outcome.
# TYPE cinder_snapshots_last_run_timestamp_seconds gauge
cinder_snapshots_last_run_timestamp_seconds{{{l}}} {t}
# HELP cinder_snapshots_last_run_success 1 when the last run succeeded, else 0.
# TYPE cinder_snapshots_last_run_success gauge
cinder_snapshots_last_run_success{{{l}}} 1
# HELP cinder_snapshots_last_run_volumes The last run's volumes by outcome.
# TYPE cinder_snapshots_last_run_volumes gauge
cinder_snapshots_last_run_volumes{{{l},outcome=\"selected\"}} 2
cinder_snapshots_last_run_volumes{{{l},outcome=\"created\"}} 2
cinder_snapshots_last_run_volumes{{{l},outcome=\"reused\"}} 0
cinder_snapshots_last_run_volumes{{{l},outcome=\"available\"}} 2
cinder_snapshots_last_run_volumes{{{l},outcome=\"failed\"}} 0
cinder_snapshots_last_run_volumes{{{l},outcome=\"skipped\"}} 0
# HELP cinder_snapshots_last_run_pruned_snapshots Snapshots the last run's prune deleted.
# TYPE cinder_snapshots_last_run_pruned_snapshots gauge
cinder_snapshots_last_run_pruned_snapshots{{{l}}} 0
# HELP cinder_snapshots_last_run_prune_failures The last run's prune failures.
# TYPE cinder_snapshots_last_run_prune_failures gauge
cinder_snapshots_last_run_prune_failures{{{l}}} 0
# HELP cinder_snapshots_last_run_timed_out 1 when the last run's wait timed out, else 0.
# TYPE cinder_snapshots_last_run_timed_out gauge
cinder_snapshots_last_run_timed_out{{{l}}} 0
# HELP cinder_snapshots_newest_snapshot_timestamp_seconds The creation time of the newest available snapshot the policy owns, per selected volume (0: none).
# TYPE cinder_snapshots_newest_snapshot_timestamp_seconds gauge
cinder_snapshots_newest_snapshot_timestamp_seconds{{{l},volume_id=\"{b}\",volume_name=\"web\"}} {t}
cinder_snapshots_newest_snapshot_timestamp_seconds{{{l},volume_id=\"{a}\",volume_name=\"db \\\"main\\\"\\\\data\\nx\"}} {t}
# HELP cinder_snapshots_quota_free_snapshots The snapshots the project's quota has room for (+Inf: unlimited).
# TYPE cinder_snapshots_quota_free_snapshots gauge
cinder_snapshots_quota_free_snapshots{{{l},quota=\"snapshots\"}} 8
cinder_snapshots_quota_free_snapshots{{{l},quota=\"snapshots___DEFAULT__\"}} +Inf
# HELP cinder_snapshots_quota_free_bytes The bytes the project's gigabytes quota has room for (+Inf: unlimited).
# TYPE cinder_snapshots_quota_free_bytes gauge
cinder_snapshots_quota_free_bytes{{{l},quota=\"gigabytes\"}} {}
cinder_snapshots_quota_free_bytes{{{l},quota=\"gigabytes___DEFAULT__\"}} +Inf
# HELP cinder_snapshots_metrics_complete 1 when the snapshots and the quota were read, else 0 (some samples are missing).
# TYPE cinder_snapshots_metrics_complete gauge
cinder_snapshots_metrics_complete{{{l}}} 1
",
        // 100 GiB less the volumes' 4 and their snapshots' 4.
        92u64 * 1_073_741_824
    );
    assert_eq!(text, expected);
    assert_eq!(files_in(&dir), ["job.prom", "state"]);
    assert_eq!(files_in(&dir.join("state")).len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A failed run (every create refused) keeps the last success's time and says 0; the next
/// successful run moves it. Without the kept state the failed run's file would say 0 or
/// its own time.
#[test]
fn a_failed_run_keeps_the_last_success() {
    let cloud = FakeCloud::start();
    cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    let client = cloud.client();
    let dir = scratch("keep");
    let (file, state) = (dir.join("job.prom"), dir.join("state"));
    let ok = run_and_write(&cloud, &client, DAY1, &file, &state);
    let day1 = DAY1.unix_timestamp();
    let line = |text: &str, name: &str| text.lines().find(|l| l.starts_with(name)).map(|l| l.rsplit(' ').next().unwrap().to_owned());
    assert_eq!(line(&ok, "cinder_snapshots_last_success_timestamp_seconds{").unwrap(), day1.to_string());

    cloud.fail_next(1, Rule::method("POST", "snapshots"), 500);
    let failed = run_and_write(&cloud, &client, DAY2, &file, &state);
    assert_eq!(line(&failed, "cinder_snapshots_last_success_timestamp_seconds{").unwrap(), day1.to_string(), "{failed}");
    assert_eq!(line(&failed, "cinder_snapshots_last_run_timestamp_seconds{").unwrap(), DAY2.unix_timestamp().to_string());
    assert_eq!(line(&failed, "cinder_snapshots_last_run_success{").unwrap(), "0");
    assert!(failed.contains("outcome=\"failed\"} 1\n"), "{failed}");

    // A run that fails before anything (the volume listing answered 500: not retried)
    // writes every family too.
    cloud.set_now(DAY2);
    cloud.fail_next(1, Rule::get("volumes/detail"), 500);
    let none = opts(DAY2);
    let outcome = job::run(&client, &none);
    assert!(outcome.is_err(), "{outcome:?}");
    MetricsFile::new(&file).state_dir(&state).write_run(&client, &none, outcome.as_ref()).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(line(&text, "cinder_snapshots_last_success_timestamp_seconds{").unwrap(), day1.to_string(), "{text}");
    assert_eq!(text.matches("# TYPE ").count(), 11, "{text}");

    let again = run_and_write(&cloud, &client, DAY2 + Duration::from_secs(60), &file, &state);
    assert_eq!(line(&again, "cinder_snapshots_last_success_timestamp_seconds{").unwrap(), (DAY2.unix_timestamp() + 60).to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A check writes the newest snapshot times and the quota only (never last_success), to a
/// file named after the target when given a directory, apart from the run's file.
#[test]
fn a_check_writes_its_gauges_only_and_a_directory_gets_the_targets_file() {
    let cloud = FakeCloud::start();
    let v = cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    cloud.add_volume_with(&VolumeSpec::new("new").metadata("backup", "nightly"));
    let client = cloud.client();
    let dir = scratch("check");
    cloud.set_now(DAY1);
    job::run(&client, &opts(DAY1).selection(Selection::new().volume("db"))).unwrap();
    let c = CheckOpts::new("nightly", Duration::from_secs(3600), Duration::from_secs(7200)).select_tag("backup", "nightly").now(DAY2);
    let report = job::check(&client, &c);
    let written = MetricsFile::new(&dir).state_dir(dir.join("state")).write_check(&client, &c, report.as_ref()).unwrap();
    let name = MetricsFile::file_name(&client, "nightly", true);
    assert!(name.starts_with("cinder-snapshots-check-nightly-") && name.ends_with(".prom"), "{name}");
    assert_eq!(written, dir.join(&name));
    assert_eq!(files_in(&dir), [name]);
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(!text.contains("last_success") && !text.contains("last_run"), "{text}");
    let families: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).collect();
    assert_eq!(
        families,
        [
            "cinder_snapshots_newest_snapshot_timestamp_seconds gauge",
            "cinder_snapshots_quota_free_snapshots gauge",
            "cinder_snapshots_quota_free_bytes gauge",
            "cinder_snapshots_metrics_complete gauge"
        ]
    );
    assert!(text.contains(&format!("volume_id=\"{v}\",volume_name=\"db\"}} {}\n", DAY1.unix_timestamp())), "{text}");
    assert!(text.contains("volume_name=\"new\"} 0\n"), "{text}");
    // The run's default name differs: the two never overwrite each other.
    assert_ne!(MetricsFile::file_name(&client, "nightly", false), MetricsFile::file_name(&client, "nightly", true));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A quota that cannot be read (500) leaves the quota samples out and says
/// `metrics_complete 0`; a check that failed (its listing answered 500) writes no
/// per-volume sample: never a stale or invented value.
#[test]
fn what_could_not_be_read_is_left_out_and_said() {
    let cloud = FakeCloud::start();
    cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    cloud.set_quota("snapshots", 10);
    let client = cloud.client();
    let dir = scratch("unread");
    cloud.set_now(DAY1);
    job::run(&client, &opts(DAY1)).unwrap();
    let c = CheckOpts::new("nightly", Duration::from_secs(3600), Duration::from_secs(7200)).select_tag("backup", "nightly").now(DAY2);
    let file = dir.join("check.prom");
    let samples = |text: &str, name: &str| text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).count();

    let report = job::check(&client, &c);
    cloud.fail_next(1, Rule::get("os-quota-sets"), 500);
    MetricsFile::new(&file).write_check(&client, &c, report.as_ref()).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(samples(&text, "cinder_snapshots_newest_snapshot_timestamp_seconds"), 1, "{text}");
    assert_eq!(samples(&text, "cinder_snapshots_quota_free_snapshots") + samples(&text, "cinder_snapshots_quota_free_bytes"), 0, "{text}");
    assert!(text.ends_with(&format!("cinder_snapshots_metrics_complete{{policy=\"nightly\",project=\"{PROJECT_ID}\"}} 0\n")), "{text}");

    cloud.fail_next(1, Rule::get("snapshots/detail"), 500);
    let report = job::check(&client, &c);
    assert!(report.is_err());
    MetricsFile::new(&file).write_check(&client, &c, report.as_ref()).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(samples(&text, "cinder_snapshots_newest_snapshot_timestamp_seconds"), 0, "{text}");
    assert_eq!(samples(&text, "cinder_snapshots_quota_free_snapshots"), 2, "{text}");
    assert!(text.ends_with("} 0\n"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
