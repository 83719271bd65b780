//! A volume's policy choice (`cinder-snapshots.policies`) read by the job's own selection:
//! a name not among the allowed policies is a failed volume (`run`: a failed row with the
//! typed reason, exit 1; `check`: CRITICAL), a valid choice of another policy leaves the
//! volume to that policy (not a failure, not "no volume matched"); the command line's flag
//! form (a one-entry spec through `spec::run_targets`) does the same.
#![cfg(all(feature = "cli", feature = "testing"))]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use cinder_snapshots::job::{self, CheckOpts, CheckStatus, JobOpts, POLICIES_KEY, Selection, Unresolved, VolumeAction};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
use cinder_snapshots::{Error, spec};
use serde_json::{Value, json};
use time::OffsetDateTime;

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

fn nightly() -> Policy {
    Policy::builder("nightly").keep_daily(7).build().unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn cloud() -> FakeCloud {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    cloud
}

/// The volume listings (`GET .../volumes/detail`) the cloud answered.
fn volume_listings(cloud: &FakeCloud) -> usize {
    cloud.requests().iter().filter(|r| r.method == "GET" && r.path.contains("/volumes/detail")).count()
}

#[test]
fn a_volume_naming_a_policy_not_allowed_is_a_failed_row_with_the_typed_reason() {
    let cloud = cloud();
    let ok = cloud.add_volume_with(&VolumeSpec::new("ok").metadata("backup", "nightly"));
    let bad = cloud.add_volume_with(&VolumeSpec::new("bad").metadata("backup", "nightly").metadata(POLICIES_KEY, "nightly,weekly"));
    let client = cloud.client();
    let report = job::run(&client, &JobOpts::new(nightly()).select_tag("backup", "nightly").now(now())).unwrap();
    // One listing of the volumes: the choice is read from it.
    assert_eq!(volume_listings(&cloud), 1);
    let rows: Vec<(&str, Option<&str>, VolumeAction)> =
        report.volumes().iter().map(|v| (v.volume_id.as_str(), v.volume_name.as_deref(), v.action)).collect();
    assert_eq!(rows, [(ok.as_str(), Some("ok"), VolumeAction::Created), (bad.as_str(), Some("bad"), VolumeAction::Failed)]);
    let row = &report.volumes()[1];
    assert_eq!(
        row.unresolved,
        Some(Unresolved::PolicyChoice { given: "nightly,weekly".into(), unknown: "weekly".into(), allowed: vec!["nightly".into()] })
    );
    assert_eq!(
        row.error.as_ref().map(ToString::to_string).as_deref(),
        Some(
            "volume bad: cinder-snapshots.policies=\"nightly,weekly\" names \"weekly\", not one of the policies of its selection (nightly)"
        )
    );
    assert_eq!(row.prune_skipped.as_deref(), Some("not pruned: its policy choice is refused"));
    assert!(!report.is_success());
    assert!(!report.no_volume_matched());
    // Nothing was made for the refused volume.
    let made: Vec<String> = cloud.snapshots().into_iter().map(|s| s.volume_id).collect();
    assert_eq!(made, [ok]);
    // Its JSON: the reason tagged as the other unresolved rows are.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["volumes"][1]["unresolved"],
        json!({"reason": "policy_choice", "given": "nightly,weekly", "unknown": "weekly", "allowed": ["nightly"]})
    );
}

#[test]
fn a_valid_choice_of_another_policy_leaves_the_volume_to_it_and_is_no_failure() {
    let cloud = cloud();
    cloud.add_volume_with(&VolumeSpec::new("monthly-only").metadata("backup", "nightly").metadata(POLICIES_KEY, " monthly "));
    let client = cloud.client();
    let selection = Selection::new().tag("backup", "nightly").policies(["nightly", "monthly"]);
    let report = job::run(&client, &JobOpts::new(nightly()).selection(selection.clone()).now(now())).unwrap();
    // Its only volume went to monthly: nothing to do, and not "no volume matched".
    assert!(report.volumes().is_empty());
    assert!(!report.no_volume_matched());
    assert!(report.is_success());
    assert!(cloud.snapshots().is_empty());
    // The check of nightly: not UNKNOWN ("no volume matched") either.
    let day = Duration::from_secs(86_400);
    let check = job::check(&client, &CheckOpts::new("nightly", day, day * 2).selection(selection)).unwrap();
    assert!(check.volumes().is_empty());
    assert_eq!(check.status(), CheckStatus::Ok);
    // A selection that matches nothing at all is still "no volume matched".
    let none = job::run(&client, &JobOpts::new(nightly()).select_tag("backup", "never").now(now())).unwrap();
    assert!(none.no_volume_matched());
}

#[test]
fn the_check_makes_a_refused_choice_critical_naming_it() {
    let cloud = cloud();
    let bad = cloud.add_volume_with(&VolumeSpec::new("bad").metadata("backup", "nightly").metadata(POLICIES_KEY, "hourly"));
    let client = cloud.client();
    let day = Duration::from_secs(86_400);
    let check = job::check(&client, &CheckOpts::new("nightly", day, day * 2).select_tag("backup", "nightly")).unwrap();
    assert_eq!(check.status(), CheckStatus::Critical);
    let v = &check.volumes()[0];
    assert_eq!((v.volume_id.as_str(), v.status), (bad.as_str(), CheckStatus::Critical));
    let choice = v.policy_choice.as_ref().unwrap();
    assert_eq!((choice.given.as_str(), choice.unknown.as_str(), choice.allowed.as_str()), ("hourly", "hourly", "nightly"));
    assert_eq!(
        check.details(),
        ["CRITICAL bad: cinder-snapshots.policies=\"hourly\" names \"hourly\", not one of the policies of its selection (nightly)"]
    );
    // The typed error of the choice.
    let e = Error::PolicyChoice(Box::new(choice.clone()));
    assert_eq!(
        e.to_string(),
        "volume bad: cinder-snapshots.policies=\"hourly\" names \"hourly\", not one of the policies of its selection (nightly)"
    );
}

/// A volume in two selections of one target with the same policy is done once, with one
/// listing per job (no listing of the executor's own).
#[test]
fn a_spec_volume_in_two_selections_is_done_once_without_a_listing_of_its_own() {
    let cloud = cloud();
    let both = cloud.add_volume_with(&VolumeSpec::new("both").metadata("backup", "nightly"));
    let text = "version: 1
policies:
  nightly:
    keep-daily: 2
selections:
  tagged:
    select: {backup: nightly}
    policies: [nightly]
  named:
    volumes: [both]
    policies: [nightly]
targets:
  web:
    cloud: one
    selections: [tagged, named]
";
    let spec = spec::Spec::parse(text, "estate.yaml").unwrap();
    let opts = spec::TargetsOpts::new(spec::Mode::Run).adjust(|o| o.now(now()));
    let report = spec::run_targets(&spec, |_| cloud.client_builder().build(), &opts).unwrap();
    assert_eq!(report.exit_code, 0);
    let jobs: Vec<(&str, &str)> = report.targets[0].jobs.iter().map(|j| (j.policy.as_str(), j.selection.as_str())).collect();
    assert_eq!(jobs, [("nightly", "tagged")], "the named selection's job had nothing left");
    let made: Vec<String> = cloud.snapshots().into_iter().map(|s| s.volume_id).collect();
    assert_eq!(made, [both]);
    // The tagged job's one listing; the named job looked its volume up by name (a listing
    // filtered on the name).
    assert_eq!(volume_listings(&cloud), 2);
}

/// The binary with the fake's `OS_*` variables and a private home.
fn cli(cloud: &FakeCloud, name: &str, args: &[&str]) -> Output {
    let home: PathBuf = std::env::temp_dir().join(format!("cinder-snapshots-policy-choice-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .envs(cloud.os_vars())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    out
}

#[test]
fn the_flag_form_fails_a_volume_choosing_an_unknown_policy_exit_1_and_check_critical() {
    let cloud = cloud();
    let ok = cloud.add_volume_with(&VolumeSpec::new("ok").metadata("backup", "nightly"));
    let bad = cloud.add_volume_with(&VolumeSpec::new("bad").metadata("backup", "nightly").metadata(POLICIES_KEY, "monthly"));
    let run = cli(&cloud, "run", &["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--json"]);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let json: Value = serde_json::from_slice(&run.stdout).unwrap();
    let rows = json["volumes"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["volume_id"].as_str(), rows[0]["action"].as_str()), (Some(ok.as_str()), Some("created")));
    assert_eq!((rows[1]["volume_id"].as_str(), rows[1]["action"].as_str()), (Some(bad.as_str()), Some("failed")));
    assert_eq!(rows[1]["unresolved"], json!({"reason": "policy_choice", "given": "monthly", "unknown": "monthly", "allowed": ["nightly"]}));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("cinder-snapshots: 1 failed, 0 skipped, 0 prune failures (see the output)"), "{stderr}");
    let check = cli(&cloud, "check", &["check", "--select", "backup=nightly", "--policy", "nightly", "--warn", "26h", "--crit", "50h"]);
    assert_eq!(check.status.code(), Some(2), "{}", String::from_utf8_lossy(&check.stderr));
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.starts_with("CINDER-SNAPSHOTS CRITICAL - 2 volumes, 1 critical: bad |"), "{text}");
    assert!(
        text.contains(
            "\nCRITICAL bad: cinder-snapshots.policies=\"monthly\" names \"monthly\", not one of the policies of its selection (nightly)"
        ),
        "{text}"
    );
}
