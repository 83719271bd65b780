//! The job spec: parsing, every mistake named by file, line and key path, and the jobs it
//! resolves to (the same `JobOpts` as the command line's flags).
#![cfg(feature = "clouds-yaml")]

use std::time::Duration;

use cinder_snapshots::job::{Selection, Window};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::spec::{PolicySpec, Project, Settings, Spec, job_opts};

const BASE: &str = "version: 1
defaults:
  concurrency: 4
  wait-timeout: 1h
policies:
  nightly:
    keep-daily: 7
    keep-weekly: 4
    warn: 26h
    crit: 50h
  monthly:
    keep-monthly: 12
    every: monthly
selections:
  databases:
    select: {backup: nightly}
    exclude: [scratch]
    policies: [nightly, monthly]
targets:
  web-r1:
    cloud: prod
    region: RegionOne
    project: web
    selections: [databases]
";

fn parse(text: &str) -> Result<Spec, String> {
    Spec::parse(text, "estate.yaml").map_err(|e| e.to_string())
}

#[test]
fn the_example_parses_to_its_policies_selections_and_targets() {
    let spec = parse(BASE).unwrap();
    assert_eq!(spec.origin(), "estate.yaml");
    let ids: Vec<&str> = spec.policies().iter().map(PolicySpec::id).collect();
    assert_eq!(ids, ["nightly", "monthly"]);
    let nightly = spec.policy("nightly").unwrap();
    assert_eq!(nightly.policy.as_ref().unwrap().rules_string(), "daily=7,weekly=4,utc-offset=+00:00");
    assert_eq!((nightly.warn, nightly.crit), (Some(Duration::from_secs(26 * 3600)), Some(Duration::from_secs(50 * 3600))));
    assert_eq!(spec.policy("monthly").unwrap().every, Some(Window::Monthly));
    let sel = spec.selection("databases").unwrap();
    assert_eq!(sel.selection.tags(), [("backup".to_owned(), "nightly".to_owned())]);
    assert_eq!(sel.selection.excluded(), ["scratch"]);
    assert_eq!(sel.policies, ["nightly", "monthly"]);
    let t = &spec.targets()[0];
    assert_eq!((t.name.as_str(), t.line, t.cloud.as_deref(), t.region.as_deref()), ("web-r1", 20, Some("prod"), Some("RegionOne")));
    assert_eq!(t.project, Some(Project::Name { name: "web".into(), domain: "Default".into() }));
    assert_eq!(t.settings.concurrency, Some(4));
    assert_eq!(t.settings.wait_timeout, Some(Duration::from_secs(3600)));
    let jobs = spec.jobs(t);
    let pairs: Vec<(&str, &str)> = jobs.iter().map(|j| (j.policy.as_str(), j.selection.as_str())).collect();
    assert_eq!(pairs, [("nightly", "databases"), ("monthly", "databases")]);
    assert!(jobs[0].check.is_some(), "nightly has warn and crit");
    assert!(jobs[1].check.is_none(), "monthly has no thresholds");
    assert_eq!(jobs[0].opts.as_ref().unwrap().get_concurrency(), 4);
    assert_eq!(jobs[1].opts.as_ref().unwrap().window(), Window::Monthly);
}

/// Every mistake: file, line, key path, message (exact).
#[test]
fn every_mistake_names_the_file_the_line_and_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("    keep-daily: 7", "    keep-daly: 7", "estate.yaml:7: policies.nightly.keep-daly: unknown key (did you mean keep-daily?)"),
        (
            "    keep-daily: 7",
            "    keep-daily: -1",
            "estate.yaml:7: policies.nightly.keep-daily: \"-1\" is not a whole number from 0 to 4294967295 nor unlimited",
        ),
        ("    keep-daily: 7", "    keep-daily: [7]", "estate.yaml:7: policies.nightly.keep-daily: expected a single value, found a list"),
        ("  wait-timeout: 1h", "  wait-timeout: 2m", "WAIT"),
        ("  concurrency: 4", "  concurrency: 0", "estate.yaml:3: defaults.concurrency: \"0\" is not a whole number from 1 to 64"),
        ("  concurrency: 4", "  concurency: 4", "estate.yaml:3: defaults.concurency: unknown key (did you mean concurrency?)"),
        ("version: 1", "version: 2", "estate.yaml:1: version: 2 is not a version this tool reads (version: 1)"),
        ("version: 1\n", "", "estate.yaml:1: version: missing: the spec begins with version: 1"),
        (
            "  nightly:\n",
            "  night/ly:\n",
            "estate.yaml:6: policies.night/ly: invalid retention policy id \"night/ly\": it contains '/'; only ASCII letters, digits and -_:. and space are allowed",
        ),
        ("    every: monthly", "    every: fortnightly", "EVERY"),
        (
            "    crit: 50h",
            "    crit: 20h",
            "estate.yaml:10: policies.nightly.crit: is shorter than warn: a snapshot would be critical before it is a warning",
        ),
        ("    crit: 50h\n", "", "estate.yaml:9: policies.nightly.warn: goes with crit: give both thresholds"),
        (
            "    keep-monthly: 12\n",
            "    utc-offset: \"+01:00\"\n",
            "estate.yaml:11: policies.monthly: a policy needs at least one rule (keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly, keep-within or keep-within-* above 0)",
        ),
        (
            "    keep-weekly: 4\n",
            "    keep-weekly: 4\n    utc-offset: \"+1\"\n",
            "estate.yaml:9: policies.nightly.utc-offset: \"+1\" is not an offset such as +02:00, -05:00 or +05:45",
        ),
        (
            "    policies: [nightly, monthly]",
            "    policies: [nightly, weekly]",
            "estate.yaml:18: selections.databases.policies: \"weekly\" is no policy of the spec (its policies: nightly, monthly)",
        ),
        (
            "    policies: [nightly, monthly]",
            "    policies: []",
            "estate.yaml:18: selections.databases.policies: is empty: name the policies applied",
        ),
        (
            "    select: {backup: nightly}\n",
            "",
            "estate.yaml:15: selections.databases: selects no volume: give select, volumes or all: true",
        ),
        (
            "    select: {backup: nightly}\n",
            "    select: {backup: nightly}\n    all: true\n",
            "estate.yaml:15: selections.databases: select, volumes and all do not go together: choose one way to select the volumes",
        ),
        ("    exclude: [scratch]", "    exclude: scratch", "estate.yaml:17: selections.databases.exclude: expected a list, found a string"),
        (
            "    selections: [databases]",
            "    selections: [dbs]",
            "estate.yaml:24: targets.web-r1.selections: \"dbs\" is no selection of the spec (its selections: databases)",
        ),
        ("    selections: [databases]\n", "", "estate.yaml:20: targets.web-r1: has no selections: name the selections done"),
        ("    cloud: prod\n", "", "estate.yaml:20: targets.web-r1: has no cloud: name an entry of clouds.yaml"),
        (
            "    project: web",
            "    all-projects: true",
            "estate.yaml:23: targets.web-r1.all-projects: unknown key (known: cloud, region, regions, project, project-id, project-domain, selections, allow-empty, concurrency, wait-timeout, deadline, max-pause)",
        ),
        (
            "    region: RegionOne",
            "    region: RegionOne\n    regions: [A]",
            "estate.yaml:23: targets.web-r1.regions: region and regions do not go together: choose one",
        ),
        (
            "    cloud: prod",
            "    cloud: prod\n    allow-empty: yes",
            "estate.yaml:22: targets.web-r1.allow-empty: expected true or false, found a string",
        ),
        ("policies:\n", "policy:\n", "estate.yaml:5: policy: unknown key (did you mean policies?)"),
    ];
    let mut wrong: Vec<String> = Vec::new();
    for (from, to, want) in cases {
        assert!(BASE.contains(from), "{from:?} is not in the base");
        let text = BASE.replacen(from, to, 1);
        let got = parse(&text).expect_err(&format!("{to:?} was accepted"));
        match *want {
            "WAIT" => assert!(got.starts_with("estate.yaml:4: defaults.wait-timeout: \"2m\" "), "{got}"),
            "EVERY" => assert!(got.starts_with("estate.yaml:13: policies.monthly.every: "), "{got}"),
            _ if got != *want => wrong.push(format!("after {from:?} -> {to:?}:\n  got  {got}\n  want {want}")),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_targets_own_allow_empty_wins_over_the_defaults() {
    let text = BASE.replace("  wait-timeout: 1h\n", "  wait-timeout: 1h\n  allow-empty: true\n");
    assert!(parse(&text).unwrap().targets()[0].settings.allow_empty);
    let text = text.replace("    cloud: prod\n", "    cloud: prod\n    allow-empty: false\n");
    assert!(!parse(&text).unwrap().targets()[0].settings.allow_empty);
}

#[test]
fn a_yaml_syntax_error_names_its_line() {
    let got = parse("version: 1\npolicies:\n  nightly: [1\n").unwrap_err();
    assert!(got.starts_with("estate.yaml:"), "{got}");
    assert!(got.contains("not YAML"), "{got}");
}

#[test]
fn regions_expand_to_one_target_each_and_target_limits_to_names() {
    let text = BASE
        .replace("    region: RegionOne\n", "    regions: [RegionOne, RegionTwo]\n")
        .replace("    project: web\n", "    project-id: 0123abcd\n");
    let spec = parse(&text).unwrap();
    let names: Vec<&str> = spec.targets().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["web-r1/RegionOne", "web-r1/RegionTwo"]);
    assert_eq!(spec.targets()[1].region.as_deref(), Some("RegionTwo"));
    assert_eq!(spec.targets()[1].project, Some(Project::Id("0123abcd".into())));
    assert_eq!(spec.only(&["web-r1".into()]).unwrap().targets().len(), 2);
    let one = spec.only(&["web-r1/RegionTwo".into()]).unwrap();
    assert_eq!(one.targets().len(), 1);
    assert_eq!(one.targets()[0].name, "web-r1/RegionTwo");
    assert_eq!(
        spec.only(&["web-r9".into()]).unwrap_err().to_string(),
        "estate.yaml:0: targets: --target \"web-r9\" is no target of the spec (its targets: web-r1/RegionOne, web-r1/RegionTwo)"
    );
}

/// The spec's job and the command line's flags make the same `JobOpts` (one function).
#[test]
fn a_spec_resolves_to_the_same_job_opts_as_the_flags() {
    let spec = parse(BASE).unwrap();
    let from_spec = spec.jobs(&spec.targets()[0]).remove(0).opts.unwrap();
    // What `run --select backup=nightly --policy nightly --keep-daily 7 --keep-weekly 4
    // --concurrency 4 --wait-timeout 1h` builds (the flag form is a one-entry spec).
    let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build().unwrap();
    let settings = Settings::new().with_concurrency(Some(4)).with_wait_timeout(Some(Duration::from_secs(3600)));
    let selection = Selection::new().tag("backup", "nightly").exclude("scratch");
    let flags = Spec::single(PolicySpec::new(policy.clone()), selection.clone(), settings.clone());
    let from_flags = flags.jobs(&flags.targets()[0]).remove(0).opts.unwrap();
    // The spec's selection carries the policies its volumes may choose among (nightly,
    // monthly); the one-entry spec's, its one policy: otherwise the same options.
    assert_eq!(from_spec.get_selection().allowed_policies(), ["nightly", "monthly"]);
    assert_eq!(from_flags.get_selection().allowed_policies(), ["nightly"]);
    let narrowed = from_spec.clone().selection(from_spec.get_selection().clone().policies(["nightly"]));
    assert_eq!(format!("{narrowed:?}"), format!("{from_flags:?}"));
    let direct = job_opts(&PolicySpec::new(policy), &selection.policies(["nightly"]), &settings).unwrap();
    assert_eq!(format!("{narrowed:?}"), format!("{direct:?}"));
    assert_eq!(flags.targets()[0].name, "default");
}

#[test]
fn the_example_file_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/estate.yaml");
    let spec = Spec::from_path(path).unwrap();
    assert!(spec.targets().len() >= 2);
    let missing = Spec::from_path("/nonexistent/estate.yaml").unwrap_err();
    assert_eq!((missing.line, missing.path.as_str()), (0, ""));
}
