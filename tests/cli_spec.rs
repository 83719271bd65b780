//! `run`, `check`, `prune` and `plan` with `--config FILE` (the job spec), end to end: the
//! tool against two projects of a FakeCloud and a target with a wrong password, through a
//! clouds.yaml; the spec's mistakes (exit 2, `check`: UNKNOWN); options refused beside
//! `--config`; duplicate targets; the estate's lock.
#![cfg(all(feature = "cli", feature = "testing"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cinder_snapshots::testing::{Account, FakeCloud, PASSWORD, VolumeSpec};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

/// A private directory with a clouds.yaml for `cloud` (clouds `admin`, `member`, `bad`)
/// and `estate.yaml`.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, cloud: &FakeCloud, spec: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("cinder-snapshots-cli-spec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let entry = |account: Account, password: &str| {
            format!(
                "    auth:\n      auth_url: {}\n      username: {}\n      password: {password}\n      user_domain_name: Default\n      \
                 project_name: {}\n      project_domain_name: Default\n    region_name: RegionOne\n",
                cloud.auth_url(),
                account.username(),
                account.project_name()
            )
        };
        let clouds = format!(
            "clouds:\n  admin:\n{}  member:\n{}  bad:\n{}",
            entry(Account::Admin, PASSWORD),
            entry(Account::Member, PASSWORD),
            entry(Account::Member, "wrong")
        );
        std::fs::write(dir.join("clouds.yaml"), clouds).unwrap();
        std::fs::write(dir.join("estate.yaml"), spec).unwrap();
        Dir(dir)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(&self.0)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.0)
            .env("XDG_STATE_HOME", self.0.join("state"))
            .env("XDG_CACHE_HOME", self.0.join("cache"))
            .env("OS_CLIENT_CONFIG_FILE", self.0.join("clouds.yaml"))
            .output()
            .unwrap()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const POLICIES: &str = "version: 1
policies:
  nightly:
    keep-daily: 7
    warn: 26h
    crit: 50h
selections:
  db:
    select: {backup: nightly}
    policies: [nightly]
targets:
";

fn fleet() -> FakeCloud {
    let cloud = FakeCloud::start();
    // Whole seconds: the tool's time comes from Cinder's Date header (whole seconds), so a
    // snapshot made at 12:00:00.5 would be 'dated in the future' at 12:00:00.
    cloud.set_now(time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());
    cloud.set_snapshot_creating_reads(0);
    cloud.add_volume_with(&VolumeSpec::new("a-db").metadata("backup", "nightly"));
    cloud.add_volume_with(&VolumeSpec::new("m-db").metadata("backup", "nightly").owner(Account::Member));
    cloud
}

fn posts(cloud: &FakeCloud) -> usize {
    cloud.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/snapshots")).count()
}

#[test]
fn run_config_does_every_target_and_a_wrong_password_fails_alone_then_check_names_it() {
    let cloud = fleet();
    let spec = format!(
        "{POLICIES}  admin:\n    cloud: admin\n    selections: [db]\n  \
         broken:\n    cloud: bad\n    selections: [db]\n  member:\n    cloud: member\n    project: demo\n    selections: [db]\n"
    );
    let dir = Dir::new("run", &cloud, &spec);
    let out = dir.run(&["run", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        heads,
        [
            "== target admin (cloud admin): ok",
            "== target broken (cloud bad): failed (exit 1)",
            "== target member (cloud member, project demo): ok"
        ]
    );
    assert!(text.ends_with("3 targets: 2 succeeded, 1 failed\n"), "{text}");
    assert!(stderr(&out).contains("cinder-snapshots: 1 of 3 targets failed (see the output)"), "{}", stderr(&out));
    assert_eq!(posts(&cloud), 2);
    assert_eq!(cloud.snapshots().len(), 2);

    // The check: UNKNOWN for the target that cannot authenticate, its line after the first.
    let out = dir.run(&["check", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let (first, perf) = lines[0].split_once(" | ").unwrap();
    assert_eq!(first, "CINDER-SNAPSHOTS UNKNOWN - 3 targets, 2 volumes: broken");
    assert_eq!(
        perf,
        "targets=3;;;0 volumes=2;;;0 ok_targets=2;;;0 warning_targets=0;;;0 critical_targets=0;;;0 unknown_targets=1;;;0 failing_volumes=0;;;0"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("target broken: UNKNOWN: authentication failed: Keystone refused the credentials"), "{}", lines[1]);

    // --target: only the targets named; the JSON report's shape.
    let out = dir.run(&["run", "--config", "estate.yaml", "--target", "member", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["targets"].as_array().unwrap().len(), 1);
    let t = &json["targets"][0];
    assert_eq!((&t["name"], &t["cloud"], &t["project"], &t["exit_code"]), (&"member".into(), &"member".into(), &"demo".into(), &0.into()));
    assert_eq!(t["jobs"][0]["volumes"][0]["action"], "reused");
    assert_eq!(posts(&cloud), 2, "the window's snapshot is reused");
}

#[test]
fn plan_config_creates_nothing_and_shows_each_target() {
    let cloud = fleet();
    let spec = format!("{POLICIES}  admin:\n    cloud: admin\n    selections: [db]\n");
    let dir = Dir::new("plan", &cloud, &spec);
    let out = dir.run(&["plan", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("== target admin (cloud admin): ok\n-- policy nightly on selection db\n"), "{text}");
    assert_eq!(posts(&cloud), 0);
    // run --dry-run --config is the same plan (but for the run id).
    let out = dir.run(&["run", "--config", "estate.yaml", "--dry-run"]);
    let no_run_id = |t: &str| t.lines().map(|l| l.split(", run ").next().unwrap_or_default().to_owned()).collect::<Vec<_>>();
    assert_eq!((out.status.code(), no_run_id(&stdout(&out))), (Some(0), no_run_id(&text)));
    assert_eq!(posts(&cloud), 0);
    // After a run, the plan shows the snapshot there is, kept, with the rule's reason.
    assert_eq!(dir.run(&["run", "--config", "estate.yaml"]).status.code(), Some(0));
    let id = cloud.snapshots()[0].id.clone();
    let out = dir.run(&["plan", "--config", "estate.yaml"]);
    let text = stdout(&out);
    assert!(text.contains("| would reuse |"), "{text}");
    let row = text.lines().find(|l| l.starts_with(&format!("| {id} "))).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("keep") && row.contains("daily"), "{row}");
}

#[test]
fn mistakes_in_the_spec_and_beside_it_exit_2_and_check_is_unknown() {
    let cloud = fleet();
    let spec = "version: 1\npolicies:\n  nightly:\n    keep-daly: 7\n";
    let dir = Dir::new("mistakes", &cloud, spec);
    let want = "estate.yaml:4: policies.nightly.keep-daly: unknown key (did you mean keep-daily?)";
    for cmd in ["run", "prune", "plan"] {
        let out = dir.run(&[cmd, "--config", "estate.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(stderr(&out).starts_with(&format!("cinder-snapshots: {want}\n")), "{cmd}: {}", stderr(&out));
    }
    let out = dir.run(&["check", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS UNKNOWN - "), "{}", stdout(&out));
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--config", "estate.yaml", "--policy", "p"], "cinder-snapshots: --config does not go with --policy: the spec sets it\n"),
        (
            &["run", "--config", "estate.yaml", "--select", "a=b"],
            "cinder-snapshots: --config does not go with --select: the spec sets it\n",
        ),
        (
            &["prune", "--config", "estate.yaml", "--dry-run"],
            "cinder-snapshots: --config does not go with --dry-run: plan --config FILE is the dry run of a spec\n",
        ),
        (&["run", "--all", "--policy", "p", "--keep-daily", "1", "--target", "x"], "cinder-snapshots: --target goes with --config FILE\n"),
        (&["plan"], "cinder-snapshots: plan needs --config FILE\n"),
    ];
    std::fs::write(dir.path().join("nothing.yaml"), "version: 1\npolicies:\n  p:\n    keep-daily: 1\nselections:\n  s:\n    all: true\n    policies: [p]\ntargets:\n  t:\n    cloud: admin\n    selections: [s]\n").unwrap();
    let out = dir.run(&["check", "--config", "nothing.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with("cinder-snapshots: nothing.yaml: no policy of these targets has warn and crit: nothing to check\n"),
        "{}",
        stderr(&out)
    );
    for (args, want) in cases {
        let out = dir.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).starts_with(want), "{args:?}: {}", stderr(&out));
    }
    assert!(cloud.requests().is_empty(), "no request for a mistake");
}

#[test]
fn an_unknown_target_and_duplicate_targets_exit_2_before_any_create() {
    let cloud = fleet();
    let spec = format!(
        "{POLICIES}  web:\n    cloud: admin\n    selections: [db]\n  also-web:\n    cloud: admin\n    project: admin\n    selections: [db]\n"
    );
    let dir = Dir::new("dup", &cloud, &spec);
    let out = dir.run(&["run", "--config", "estate.yaml", "--target", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("cinder-snapshots: --target \"nope\" is no target of the spec (its targets: web, also-web)\n"),
        "{}",
        stderr(&out)
    );
    let out = dir.run(&["run", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("cinder-snapshots: targets web and also-web are the same project "), "{}", stderr(&out));
    assert_eq!(posts(&cloud), 0);
    let out = dir.run(&["check", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(3));
}

#[cfg(unix)]
#[test]
fn the_estate_lock_held_exits_5_with_no_request() {
    let cloud = fleet();
    let spec = format!("{POLICIES}  admin:\n    cloud: admin\n    selections: [db]\n");
    let dir = Dir::new("lock", &cloud, &spec);
    let lock = dir.path().join("estate.lock");
    let _held = cinder_snapshots::job::JobLock::acquire(&lock).unwrap();
    let out = dir.run(&["run", "--config", "estate.yaml", "--lock-file", lock.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(cloud.requests().is_empty());
}

/// The flag form of `check` goes through the spec's code path: `check --os-cloud admin
/// --select backup=nightly --policy nightly --warn 26h --crit 50h` prints the report that
/// `check --config` gives for a one-target spec of that policy and selection (its job's
/// section), with the same exit code and the same number of requests.
#[test]
fn the_flag_form_of_check_and_a_one_entry_spec_give_the_same_report() {
    let cloud = fleet();
    let spec = format!("{POLICIES}  admin:\n    cloud: admin\n    selections: [db]\n");
    let dir = Dir::new("flag-check", &cloud, &spec);
    let out = dir.run(&["run", "--config", "estate.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let flags = ["--os-cloud", "admin", "check", "--select", "backup=nightly", "--policy", "nightly", "--warn", "26h", "--crit", "50h"];
    for rules in [&[][..], &["--keep-daily", "7"][..]] {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend_from_slice(rules);
        let before = cloud.requests().len();
        let out = dir.run(&[&args[..], &["--json"]].concat());
        let flag_requests = cloud.requests().len() - before;
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        let flag: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let before = cloud.requests().len();
        let out = dir.run(&["check", "--config", "estate.yaml", "--json"]);
        let spec_requests = cloud.requests().len() - before;
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut job = json["targets"][0]["jobs"][0].clone();
        assert_eq!(job["selection"], "db");
        job.as_object_mut().unwrap().remove("selection");
        // The spec's policy has its rules (7 kept); the flag form's only with --keep-daily 7.
        assert_eq!(job["keep_limit"], 7);
        assert_eq!(flag["keep_limit"], if rules.is_empty() { serde_json::Value::Null } else { 7.into() });
        let (mut job, mut flag_same) = (job, flag.clone());
        for report in [&mut job, &mut flag_same] {
            report.as_object_mut().unwrap().remove("keep_limit");
            // So does the cloud's offset from it (the fake's clock is fixed).
            report.as_object_mut().unwrap().remove("clock_offset_s");
            let line = steady(report["status_line"].as_str().unwrap());
            report["status_line"] = line.into();
            // The ages in seconds run with the host's clock between the two processes.
            for v in report["volumes"].as_array_mut().unwrap() {
                let v = v.as_object_mut().unwrap();
                assert!(v.remove("age_s").unwrap().as_f64().unwrap() < 60.0);
                assert!(v.remove("judged_age_s").unwrap().as_f64().unwrap() < 60.0);
            }
        }
        assert_eq!(job, flag_same, "{rules:?}");
        assert_eq!(flag["status"], "OK");
        assert_eq!(flag["volumes"].as_array().unwrap().len(), 1);
        assert_eq!(flag_requests, spec_requests, "{rules:?}");
        // The plugin's lines: today's status line, the volume's.
        let out = dir.run(&args);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).starts_with("CINDER-SNAPSHOTS OK - "), "{}", stdout(&out));
        let want = flag["status_line"].as_str().map(|l| format!("{l}\n")).unwrap_or_default() + &details(&flag);
        assert_eq!(steady(&stdout(&out)), steady(&want));
    }
}

/// The check's detail lines of its JSON report, each with its newline.
fn details(report: &serde_json::Value) -> String {
    report["details"].as_array().map(|d| d.iter().filter_map(|l| l.as_str()).map(|l| format!("{l}\n")).collect()).unwrap_or_default()
}

/// A check's text without its `skew=` perfdata (the host's clock runs on from one process to
/// the next, the fake cloud's is fixed).
fn steady(text: &str) -> String {
    text.split(' ').filter(|w| !w.starts_with("skew=")).collect::<Vec<_>>().join(" ")
}
