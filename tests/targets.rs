//! Many targets in one process (`spec::run_targets`) on the fake cloud: two projects of one
//! FakeCloud (admin and member) and a second FakeCloud as a second region; a target with a
//! wrong password fails alone; duplicate targets are refused before any create; a volume's
//! policy choice; a flag-form cron line moved into a spec keeps owning its snapshots; the
//! check's output.
#![cfg(all(feature = "testing", feature = "clouds-yaml"))]

use std::time::Duration;

use cinder_snapshots::job::{JobOpts, Selection, Window};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::spec::{Mode, Outcome, PolicySpec, Settings, Spec, Target, TargetsError, TargetsOpts, TargetsReport, run_targets};
use cinder_snapshots::testing::{Account, FakeCloud, VolumeSpec};
use cinder_snapshots::{Result, ServiceClient, ServiceClientBuilder, job};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY1: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-11-27 02:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-11-28 02:00 UTC);

/// Two fakes: cloud `one` (admin and member projects) and cloud `two`.
struct Estate {
    one: FakeCloud,
    two: FakeCloud,
}

impl Estate {
    fn new() -> Estate {
        let e = Estate { one: FakeCloud::start(), two: FakeCloud::start() };
        for c in [&e.one, &e.two] {
            c.set_snapshot_creating_reads(0);
        }
        e
    }

    /// The connector: the cloud by name (`one-bad`: cloud one with a wrong password), the
    /// account by the target's project name.
    fn connect(&self, t: &Target) -> Result<ServiceClient> {
        let account = if t.project_label() == Some(Account::Member.project_name()) { Account::Member } else { Account::Admin };
        match t.cloud.as_deref() {
            Some("one") => self.one.client_builder_as(account).build(),
            Some("two") => self.two.client_builder_as(account).build(),
            Some("one-bad") => {
                let vars = self
                    .one
                    .os_vars_as(account)
                    .into_iter()
                    .map(|(k, v)| if k == "OS_PASSWORD" { (k, "wrong".to_owned()) } else { (k, v) });
                ServiceClientBuilder::from_vars(vars)?.build()
            }
            other => panic!("no cloud {other:?}"),
        }
    }
}

fn spec(targets: &str) -> Spec {
    let text = format!(
        "version: 1
policies:
  nightly:
    keep-daily: 2
    warn: 26h
    crit: 50h
  monthly:
    keep-monthly: 12
selections:
  db:
    select: {{backup: nightly}}
    policies: [nightly]
targets:
{targets}"
    );
    Spec::parse(&text, "estate.yaml").unwrap()
}

/// Every job at `now`, polling fast.
fn opts(mode: Mode, now: OffsetDateTime) -> TargetsOpts {
    TargetsOpts::new(mode).adjust(move |o: JobOpts| o.now(now).poll_interval(Duration::from_millis(1), Duration::from_millis(5)))
}

fn posts(cloud: &FakeCloud) -> usize {
    cloud.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/snapshots")).count()
}

fn run(estate: &Estate, spec: &Spec, mode: Mode, now: OffsetDateTime) -> TargetsReport {
    estate.one.set_now(now);
    estate.two.set_now(now);
    run_targets(spec, |t| estate.connect(t), &opts(mode, now)).unwrap()
}

#[test]
fn every_target_is_done_in_one_run_and_a_wrong_password_fails_alone() {
    let estate = Estate::new();
    let a = estate.one.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    let m = estate.one.add_volume_with(&VolumeSpec::new("m-db").metadata("backup", "nightly").owner(Account::Member));
    let b = estate.two.add_volume_with(&VolumeSpec::new("b-db").metadata("backup", "nightly"));
    estate.one.add_volume_with(&VolumeSpec::new("untagged"));
    let spec = spec(
        "  admin:\n    cloud: one\n    project: admin\n    selections: [db]\n\
         \x20 broken:\n    cloud: one-bad\n    project: demo\n    selections: [db]\n\
         \x20 member:\n    cloud: one\n    project: demo\n    selections: [db]\n\
         \x20 second:\n    cloud: two\n    region: RegionTwo\n    project: admin\n    selections: [db]\n",
    );
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let report = run(&estate, &spec, Mode::Run, now);
    let codes: Vec<(&str, u8)> = report.targets.iter().map(|t| (t.name.as_str(), t.exit_code)).collect();
    assert_eq!(codes, [("admin", 0), ("broken", 1), ("member", 0), ("second", 0)]);
    assert_eq!(report.exit_code, 1);
    let broken = &report.targets[1];
    assert!(broken.error.as_ref().is_some_and(|e| e.to_string().contains("401")), "{:?}", broken.error);
    assert!(broken.jobs.is_empty());
    // One snapshot per volume, each in its volume's own project, labelled nightly.
    let one: Vec<(String, Option<String>)> =
        estate.one.snapshots().into_iter().map(|s| (s.volume_id, s.metadata.get("cinder-snapshots.policy").cloned())).collect();
    assert_eq!(one, [(a.clone(), Some("nightly".to_owned())), (m.clone(), Some("nightly".to_owned()))]);
    let two: Vec<String> = estate.two.snapshots().into_iter().map(|s| s.volume_id).collect();
    assert_eq!(two, std::slice::from_ref(&b));
    assert_eq!((posts(&estate.one), posts(&estate.two)), (2, 1));
    // Each section holds its own job's report.
    for (t, volume) in [(0, &a), (2, &m), (3, &b)] {
        let jobs = &report.targets[t].jobs;
        assert_eq!(jobs.len(), 1);
        let Outcome::Run(r) = &jobs[0].outcome else { panic!("{:?}", jobs[0].outcome) };
        let ids: Vec<&str> = r.volumes().iter().map(|v| v.volume_id.as_str()).collect();
        assert_eq!(ids, [volume.as_str()]);
    }
    // The JSON shape of the contract.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["exit_code"], 1);
    let second = &json["targets"][3];
    assert_eq!(
        (&second["name"], &second["cloud"], &second["region"], &second["project"], &second["exit_code"], &second["error"]),
        (&"second".into(), &"two".into(), &"RegionTwo".into(), &"admin".into(), &0.into(), &serde_json::Value::Null)
    );
    assert_eq!((&second["jobs"][0]["policy"], &second["jobs"][0]["selection"]), (&"nightly".into(), &"db".into()));
    assert_eq!(second["jobs"][0]["volumes"][0]["volume_id"], b.as_str());
    assert!(json["targets"][1]["error"].as_str().is_some_and(|e| e.contains("401")));

    // The check of the same estate: the broken target UNKNOWN, the others OK.
    let check = run(&estate, &spec, Mode::Check, now);
    assert_eq!(check.exit_code, 3);
    let out = check.check_output();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].split(" | ").next().unwrap(), "CINDER-SNAPSHOTS UNKNOWN - 4 targets, 3 volumes: broken",);
    assert!(lines[0].split(" | ").next().unwrap().chars().count() <= 80);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with("target broken: UNKNOWN: authentication failed"), "{}", lines[1]);
}

#[test]
fn two_targets_on_one_project_with_a_common_policy_are_refused_before_any_create() {
    let estate = Estate::new();
    estate.one.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    let spec = spec(
        "  web:\n    cloud: one\n    project: admin\n    selections: [db]\n\
         \x20 also-web:\n    cloud: one\n    selections: [db]\n",
    );
    let err = run_targets(&spec, |t| estate.connect(t), &opts(Mode::Run, DAY1)).unwrap_err();
    let TargetsError::Duplicate { first, second, policy, .. } = &err else { panic!("{err:?}") };
    assert_eq!((first.as_str(), second.as_str(), policy.as_str()), ("web", "also-web", "nightly"));
    assert!(err.to_string().starts_with("targets web and also-web are the same project"), "{err}");
    assert_eq!(posts(&estate.one), 0);
    assert!(estate.one.snapshots().is_empty());
}

#[test]
fn a_volume_chooses_among_its_selections_policies_and_an_unknown_name_fails_it() {
    let estate = Estate::new();
    let both = estate.one.add_volume_with(&VolumeSpec::new("both").metadata("backup", "nightly"));
    let monthly = estate
        .one
        .add_volume_with(&VolumeSpec::new("only-monthly").metadata("backup", "nightly").metadata("cinder-snapshots.policies", "monthly"));
    let wrong = estate
        .one
        .add_volume_with(&VolumeSpec::new("wrong").metadata("backup", "nightly").metadata("cinder-snapshots.policies", "nightly, weekly"));
    let text = "version: 1
policies:
  nightly:
    keep-daily: 2
    warn: 26h
    crit: 50h
  monthly:
    keep-monthly: 12
selections:
  db:
    select: {backup: nightly}
    policies: [nightly, monthly]
  named:
    volumes: [both]
    policies: [nightly]
targets:
  web:
    cloud: one
    selections: [db, named]
";
    let spec = Spec::parse(text, "estate.yaml").unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let report = run(&estate, &spec, Mode::Run, now);
    let t = &report.targets[0];
    assert_eq!((t.exit_code, report.exit_code), (1, 1));
    // `wrong` is a failed row of each job of its selection, with the typed reason.
    for j in &t.jobs {
        let Outcome::Run(r) = &j.outcome else { panic!("{:?}", j.outcome) };
        let row = r.volumes().iter().find(|v| v.volume_id == wrong).unwrap();
        assert_eq!(row.action, job::VolumeAction::Failed);
        assert_eq!(
            row.unresolved,
            Some(job::Unresolved::PolicyChoice {
                given: "nightly, weekly".to_owned(),
                unknown: "weekly".to_owned(),
                allowed: vec!["nightly".to_owned(), "monthly".to_owned()],
            })
        );
        assert_eq!(
            row.error.as_ref().map(ToString::to_string).as_deref(),
            Some(
                "volume wrong: cinder-snapshots.policies=\"nightly, weekly\" names \"weekly\", not one of the policies of its selection (nightly, monthly)"
            )
        );
        assert!(!r.is_success());
    }
    // nightly: `both` only (its second selection `named` adds nothing: done once); monthly:
    // both and only-monthly; `wrong`: nothing.
    let mut made: Vec<(String, String)> = estate
        .one
        .snapshots()
        .into_iter()
        .map(|s| (s.volume_id, s.metadata.get("cinder-snapshots.policy").cloned().unwrap_or_default()))
        .collect();
    made.sort();
    let mut want =
        vec![(both.clone(), "nightly".to_owned()), (both.clone(), "monthly".to_owned()), (monthly.clone(), "monthly".to_owned())];
    want.sort();
    assert_eq!(made, want);
    let pairs: Vec<(&str, &str)> = t.jobs.iter().map(|j| (j.policy.as_str(), j.selection.as_str())).collect();
    assert_eq!(pairs, [("nightly", "db"), ("monthly", "db")], "the named selection's nightly job has nothing left to do");
    // The check: the volume with the unknown choice is CRITICAL.
    let check = run(&estate, &spec, Mode::Check, now);
    assert_eq!(check.exit_code, 2);
    let out = check.check_output();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].split(" | ").next().unwrap(), "CINDER-SNAPSHOTS CRITICAL - 1 target, 2 volumes: web/wrong");
    assert_eq!(lines[1], "target web: CRITICAL: nightly CINDER-SNAPSHOTS CRITICAL - 2 volumes, 1 critical: wrong");
    assert_eq!(
        lines[2],
        "web/wrong: CRITICAL (nightly): cinder-snapshots.policies=\"nightly, weekly\" names \"weekly\", not one of the policies of its selection (nightly, monthly)"
    );
    assert_eq!(lines.len(), 3, "{out}");
    // The check's JSON names the bad choice on the volume.
    let Outcome::Check(c) = &check.targets[0].jobs[0].outcome else { panic!() };
    let v = c.volumes().iter().find(|v| v.volume_id == wrong).unwrap();
    assert_eq!(v.status, job::CheckStatus::Critical);
    assert_eq!(v.policy_choice.as_ref().map(|p| p.unknown.as_str()), Some("weekly"));
}

/// A cron line `run --select backup=nightly --policy nightly --keep-daily 7` moved into a
/// spec with the policy key `nightly`: every snapshot it made is still owned and pruned.
#[test]
fn a_flag_form_job_moved_into_a_spec_keeps_owning_and_pruning_its_snapshots() {
    let estate = Estate::new();
    let vols: Vec<String> =
        (0..3).map(|i| estate.one.add_volume_with(&VolumeSpec::new(format!("db-{i}")).metadata("backup", "nightly"))).collect();
    let client = estate.one.client();
    // The flag form (a one-entry spec, as the command line builds it), three nights.
    let policy = Policy::builder("nightly").keep_daily(7).build().unwrap();
    let flags = Spec::single(PolicySpec::new(policy), Selection::new().tag("backup", "nightly"), Settings::new());
    let flag_job = flags.jobs(&flags.targets()[0]).remove(0).opts.unwrap();
    for day in [DAY1, DAY2, DAY3] {
        estate.one.set_now(day);
        let r = job::run(&client, &flag_job.clone().now(day).poll_interval(Duration::from_millis(1), Duration::from_millis(5))).unwrap();
        assert!(r.is_success());
    }
    let before = estate.one.snapshots();
    assert_eq!(before.len(), 9);
    // The spec keeps one a day: its prune deletes the two older nights of every volume.
    let text = "version: 1\npolicies:\n  nightly:\n    keep-daily: 1\n    every: daily\nselections:\n  db:\n    select: {backup: nightly}\n    policies: [nightly]\ntargets:\n  web:\n    cloud: one\n    selections: [db]\n";
    let spec = Spec::parse(text, "estate.yaml").unwrap();
    assert_eq!(spec.policy("nightly").unwrap().every, Some(Window::Daily));
    let report = run(&estate, &spec, Mode::Prune, DAY3);
    assert_eq!(report.exit_code, 0);
    let Outcome::Prune(p) = &report.targets[0].jobs[0].outcome else { panic!() };
    assert_eq!(p.counts().deleted, 6);
    let left: Vec<(String, OffsetDateTime)> = estate.one.snapshots().into_iter().map(|s| (s.volume_id, s.created_at.unwrap())).collect();
    let mut want: Vec<(String, OffsetDateTime)> = vols.iter().map(|v| (v.clone(), DAY3)).collect();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    want.sort();
    assert_eq!(left_sorted, want);
    // The next night through the spec's run: the window's snapshot made, the previous pruned.
    let next = DAY3 + time::Duration::days(1);
    let report = run(&estate, &spec, Mode::Run, next);
    assert_eq!(report.exit_code, 0);
    let days: Vec<OffsetDateTime> = estate.one.snapshots().into_iter().map(|s| s.created_at.unwrap()).collect();
    assert_eq!(days, [next, next, next]);
}

#[test]
fn plan_creates_and_deletes_nothing_and_says_what_it_would_do() {
    let estate = Estate::new();
    estate.one.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    let spec = spec("  web:\n    cloud: one\n    selections: [db]\n");
    let report = run(&estate, &spec, Mode::Plan, DAY1);
    assert_eq!(report.exit_code, 0);
    let Outcome::Run(r) = &report.targets[0].jobs[0].outcome else { panic!() };
    assert!(r.is_dry_run());
    assert_eq!(r.volumes()[0].action.as_str(), "would_create");
    assert_eq!(posts(&estate.one), 0);
}

/// Exit 3 only when every failure is a wait timeout; any other failure makes it 1.
#[test]
fn every_failure_a_wait_timeout_exits_3_and_any_other_failure_1() {
    let estate = Estate::new();
    for c in [&estate.one, &estate.two] {
        c.set_snapshot_creating_reads(u32::MAX);
    }
    estate.one.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    estate.two.add_volume_with(&VolumeSpec::new("b-db").metadata("backup", "nightly"));
    let text = "  one:\n    cloud: one\n    selections: [db]\n  two:\n    cloud: two\n    selections: [db]\n";
    let never = |mode| {
        TargetsOpts::new(mode).adjust(|o: JobOpts| {
            o.now(DAY1).poll_interval(Duration::from_millis(1), Duration::from_millis(2)).timeout(Duration::from_millis(20))
        })
    };
    estate.one.set_now(DAY1);
    estate.two.set_now(DAY1);
    let report = run_targets(&spec(text), |t| estate.connect(t), &never(Mode::Run)).unwrap();
    let codes: Vec<u8> = report.targets.iter().map(|t| t.exit_code).collect();
    assert_eq!((codes, report.exit_code), (vec![3, 3], 3));
    let with_bad = format!("{text}  bad:\n    cloud: one-bad\n    project: demo\n    selections: [db]\n");
    let report = run_targets(&spec(&with_bad), |t| estate.connect(t), &never(Mode::Run)).unwrap();
    let codes: Vec<u8> = report.targets.iter().map(|t| t.exit_code).collect();
    assert_eq!((codes, report.exit_code), (vec![3, 3, 1], 1));
}

/// The flag form of `check --policy nightly --warn 26h --crit 50h` with no `--keep-*` is a
/// one-entry spec whose policy has no rule (`PolicySpec::check_only`: none made up): through
/// `run_targets` it gives the very report `job::check` gives, and the same one with rules;
/// such a policy cannot be run, planned or pruned (a failed job, nothing sent).
#[test]
fn a_check_only_one_entry_spec_gives_the_checks_own_report_and_cannot_run() {
    let estate = Estate::new();
    let vols: Vec<String> =
        (0..2).map(|i| estate.one.add_volume_with(&VolumeSpec::new(format!("db-{i}")).metadata("backup", "nightly"))).collect();
    let client = estate.one.client();
    estate.one.set_now(DAY1);
    let made = JobOpts::new(Policy::builder("nightly").keep_daily(7).build().unwrap())
        .select_tag("backup", "nightly")
        .now(DAY1)
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5));
    assert!(job::run(&client, &made).unwrap().is_success());
    let now = DAY1 + time::Duration::hours(30);
    estate.one.set_now(now);
    let (warn, crit) = (Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600));
    let selection = Selection::new().tag("backup", "nightly");
    let flags = job::CheckOpts::new("nightly", warn, crit).selection(selection.clone()).now(now);
    let direct = job::check(&client, &flags).unwrap();
    assert_eq!(direct.status(), job::CheckStatus::Warning);
    assert_eq!(direct.volumes().len(), 2);

    let one_entry = |policy: PolicySpec, mode: Mode, cli: job::CheckOpts| {
        let spec = Spec::single(policy, selection.clone(), Settings::new());
        let opts = TargetsOpts::new(mode).adjust_check(move |o| cli.clone().selection(o.get_selection().clone()));
        let before = estate.one.requests().len();
        let report = run_targets(&spec, |_| Ok(client.clone()), &opts).unwrap();
        (report, estate.one.requests().len() - before)
    };
    let direct_requests = {
        let before = estate.one.requests().len();
        job::check(&client, &flags).unwrap();
        estate.one.requests().len() - before
    };
    let (report, requests) = one_entry(PolicySpec::check_only("nightly", warn, crit), Mode::Check, flags.clone());
    assert_eq!(requests, direct_requests, "the spec's path adds no request");
    assert_eq!(report.exit_code, 1);
    let t = &report.targets[0];
    assert_eq!((t.name.as_str(), t.exit_code, t.jobs.len()), ("default", 1, 1));
    let Outcome::Check(r) = &t.jobs[0].outcome else { panic!("{:?}", t.jobs[0].outcome) };
    assert_eq!(r.output(), direct.output());
    assert_eq!(serde_json::to_value(&**r).unwrap(), serde_json::to_value(&direct).unwrap());

    // With rules (`--keep-daily 7`): the count judged as job::check judges it.
    let rules = Policy::builder("nightly").keep_daily(7).build().unwrap();
    let with_rules = flags.clone().policy(rules.clone());
    let mut policy = PolicySpec::new(rules);
    (policy.warn, policy.crit) = (Some(warn), Some(crit));
    let (report, _) = one_entry(policy, Mode::Check, with_rules.clone());
    let Outcome::Check(r) = &report.targets[0].jobs[0].outcome else { panic!() };
    assert_eq!(serde_json::to_value(&**r).unwrap(), serde_json::to_value(job::check(&client, &with_rules).unwrap()).unwrap());

    // A policy without rules is never run, planned or pruned.
    let snapshots = estate.one.snapshots().len();
    for mode in [Mode::Run, Mode::Plan, Mode::Prune] {
        let (report, _) = one_entry(PolicySpec::check_only("nightly", warn, crit), mode, flags.clone());
        assert_eq!(report.exit_code, 1, "{mode:?}");
        let Outcome::Failed { error } = &report.targets[0].jobs[0].outcome else { panic!("{mode:?}") };
        assert_eq!(
            error.to_string(),
            "configuration error: policy nightly has no keep rule: it can be checked, not run, planned or pruned"
        );
    }
    assert_eq!(estate.one.snapshots().len(), snapshots);
    assert_eq!(vols.len(), 2);
}

#[test]
fn each_target_hands_on_the_sections_in_the_specs_order_and_keeps_no_jobs() {
    let estate = Estate::new();
    estate.one.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    estate.one.add_volume_with(&VolumeSpec::new("m-db").metadata("backup", "nightly").owner(Account::Member));
    estate.two.add_volume_with(&VolumeSpec::new("b-db").metadata("backup", "nightly"));
    // Cloud two's target comes first: it runs beside cloud one's, which run in turn; the
    // wrong password fails at once, before the others are done.
    let spec = spec(
        "  second:\n    cloud: two\n    region: RegionTwo\n    project: admin\n    selections: [db]\n\
         \x20 broken:\n    cloud: one-bad\n    project: demo\n    selections: [db]\n\
         \x20 admin:\n    cloud: one\n    project: admin\n    selections: [db]\n\
         \x20 member:\n    cloud: one\n    project: demo\n    selections: [db]\n",
    );
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    estate.one.set_now(now);
    estate.two.set_now(now);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    let opts = opts(Mode::Run, now).each_target(move |t| {
        let volumes: Vec<usize> = t
            .jobs
            .iter()
            .map(|j| match &j.outcome {
                Outcome::Run(r) => r.volumes().len(),
                _ => 0,
            })
            .collect();
        sink.lock().unwrap().push((t.name.clone(), t.exit_code, volumes));
    });
    let report = run_targets(&spec, |t| estate.connect(t), &opts).unwrap();
    // Each section once, in the spec's order, with its jobs' reports.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("second".to_owned(), 0, vec![1]),
            ("broken".to_owned(), 1, vec![]),
            ("admin".to_owned(), 0, vec![1]),
            ("member".to_owned(), 0, vec![1])
        ]
    );
    // The report keeps every target's name, exit code and error, and no jobs.
    let kept: Vec<(&str, u8, usize, bool)> =
        report.targets.iter().map(|t| (t.name.as_str(), t.exit_code, t.jobs.len(), t.error.is_some())).collect();
    assert_eq!(kept, [("second", 0, 0, false), ("broken", 1, 0, true), ("admin", 0, 0, false), ("member", 0, 0, false)]);
    assert_eq!(report.exit_code, 1);
    assert_eq!((posts(&estate.one), posts(&estate.two)), (2, 1));
}
