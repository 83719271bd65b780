//! Hooks around each volume's snapshot (`JobOpts::pre_hook`, `post_hook`, `on_failure`)
//! against the fake cloud: hooks are small shell scripts appending to a file in a temporary
//! directory; the order, the exact environment, cloud text never executed, the post-hook on
//! every path (available, create refused, wait timeout, hook timeout, cancel), a failing
//! pre-hook skipping, a failing post-hook failing, the output's tail, the on-failure hook.
#![cfg(feature = "testing")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cinder_snapshots::job::{self, HookKind, JobOpts, JobReport, OUTPUT_TAIL, PostOutcome, VolumeAction};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::testing::{FakeCloud, Rule, VolumeSpec};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-28 02:00 UTC);
const WINDOW: &str = "2026-11-28T00:00:00Z";

/// A temporary directory for one test's hook files.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("cinder-snapshots-hooks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn path(&self, f: &str) -> String {
        self.0.join(f).display().to_string()
    }
    /// The log the hooks append to.
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.0.join("log")).unwrap_or_default().lines().map(str::to_owned).collect()
    }
    /// A hook that appends `<kind> <volume name> <snapshot status> <outcome>` to the log and
    /// writes its whole CINDER_SNAPSHOTS_ environment to `<kind>-<volume id>`, then runs `then`.
    fn hook(&self, kind: &str, then: &str) -> String {
        format!(
            "echo \"{kind} $CINDER_SNAPSHOTS_VOLUME_NAME $CINDER_SNAPSHOTS_SNAPSHOT_STATUS $CINDER_SNAPSHOTS_OUTCOME\" >> '{log}'; \
             env | grep ^CINDER_SNAPSHOTS_ | sort > '{dir}/{kind}-'\"$CINDER_SNAPSHOTS_VOLUME_ID\"; {then}",
            log = self.path("log"),
            dir = self.0.display()
        )
    }
    fn env_of(&self, kind: &str, volume: &str) -> Vec<String> {
        std::fs::read_to_string(self.0.join(format!("{kind}-{volume}"))).unwrap_or_default().lines().map(str::to_owned).collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn opts(dir: &Dir) -> JobOpts {
    JobOpts::new(Policy::builder("nightly").keep_daily(2).build().unwrap())
        .select_tag("backup", "nightly")
        .now(NOW)
        .concurrency(1)
        .poll_interval(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(20))
        .pre_hook(dir.hook("pre", ""))
        .post_hook(dir.hook("post", ""))
}

fn tagged(cloud: &FakeCloud, name: &str) -> String {
    cloud.add_volume_with(&VolumeSpec::new(name).metadata("backup", "nightly"))
}

fn run(cloud: &FakeCloud, o: &JobOpts) -> JobReport {
    cloud.set_now(NOW);
    job::run(&cloud.client(), o).unwrap()
}

#[test]
fn pre_create_available_post_in_order_with_the_exact_environment_and_no_cloud_text_executed() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(2);
    let dir = Dir::new("order");
    let evil = format!("$(touch {}) `touch {}` ' \" ; x", dir.path("pwned1"), dir.path("pwned2"));
    let a = tagged(&cloud, "db-a");
    let b = tagged(&cloud, &evil);
    let report = run(&cloud, &opts(&dir));
    assert!(report.is_success(), "{report:?}");
    assert!(!dir.0.join("pwned1").exists() && !dir.0.join("pwned2").exists(), "cloud text was executed");
    // Both pre-hooks before the creates' wait; each post-hook once its snapshot is available.
    let names: Vec<String> = report.volumes().iter().map(|v| v.volume_name.clone().unwrap()).collect();
    let mut expected: Vec<String> = names.iter().map(|n| format!("pre {n}  ")).collect();
    expected.extend(names.iter().map(|n| format!("post {n} available available")));
    assert_eq!(dir.log(), expected);
    let snaps = cloud.snapshots();
    assert_eq!(snaps.len(), 2);
    for (id, name) in [(&a, "db-a"), (&b, evil.as_str())] {
        let v = report.volume(id).unwrap();
        let snap = v.snapshot_id.clone().unwrap();
        let base = ["CINDER_SNAPSHOTS_POLICY=nightly".to_owned(), format!("CINDER_SNAPSHOTS_RUN_ID={}", report.run_id())];
        let mut pre = vec![
            "CINDER_SNAPSHOTS_HOOK=pre".to_owned(),
            base[0].clone(),
            base[1].clone(),
            format!("CINDER_SNAPSHOTS_VOLUME_ID={id}"),
            format!("CINDER_SNAPSHOTS_VOLUME_NAME={name}"),
            format!("CINDER_SNAPSHOTS_WINDOW={WINDOW}"),
        ];
        pre.sort();
        assert_eq!(dir.env_of("pre", id), pre);
        let mut post = vec![
            "CINDER_SNAPSHOTS_HOOK=post".to_owned(),
            "CINDER_SNAPSHOTS_OUTCOME=available".to_owned(),
            base[0].clone(),
            base[1].clone(),
            format!("CINDER_SNAPSHOTS_SNAPSHOT_ID={snap}"),
            "CINDER_SNAPSHOTS_SNAPSHOT_STATUS=available".to_owned(),
            format!("CINDER_SNAPSHOTS_VOLUME_ID={id}"),
            format!("CINDER_SNAPSHOTS_VOLUME_NAME={name}"),
            format!("CINDER_SNAPSHOTS_WINDOW={WINDOW}"),
        ];
        post.sort();
        assert_eq!(dir.env_of("post", id), post);
        let kinds: Vec<(HookKind, Option<i32>, Option<PostOutcome>)> = v.hooks.iter().map(|h| (h.hook, h.exit_code, h.outcome)).collect();
        assert_eq!(kinds, [(HookKind::Pre, Some(0), None), (HookKind::Post, Some(0), Some(PostOutcome::Available))]);
    }
}

#[test]
fn a_failing_pre_hook_skips_its_volume_and_its_post_hook_still_runs() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("prefail");
    let a = tagged(&cloud, "db-a");
    let b = tagged(&cloud, "db-b");
    let o = opts(&dir).pre_hook(dir.hook("pre", "[ \"$CINDER_SNAPSHOTS_VOLUME_NAME\" != db-b ]"));
    let report = run(&cloud, &o);
    let vb = report.volume(&b).unwrap();
    assert_eq!(vb.action, VolumeAction::Skipped);
    assert_eq!(vb.error.as_ref().map(ToString::to_string).as_deref(), Some("not snapshotted: pre-hook failed (exited 1)"));
    assert_eq!(cloud.snapshots().iter().map(|s| s.volume_id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&a));
    assert_eq!(report.volume(&a).unwrap().action, VolumeAction::Created);
    assert!(dir.log().contains(&"post db-b  not_created".to_owned()), "{:?}", dir.log());
    assert!(!report.is_success());
    // Snapshot anyway: created, with a warning.
    let cloud = FakeCloud::start();
    let b = tagged(&cloud, "db-b");
    let report = run(&cloud, &o.clone().snapshot_on_pre_hook_failure(true));
    let vb = report.volume(&b).unwrap();
    assert_eq!(vb.action, VolumeAction::Created);
    assert_eq!(vb.warnings, [cinder_snapshots::job::Warning::PreHookFailed("exited 1".into())]);
    assert_eq!(vb.warnings[0].to_string(), "pre-hook failed (exited 1); snapshotted anyway");
    assert!(report.is_success());
}

#[test]
fn the_post_hook_runs_when_the_create_is_refused() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("refused");
    let a = tagged(&cloud, "db-a");
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 400);
    let report = run(&cloud, &opts(&dir));
    assert_eq!(report.volume(&a).unwrap().action, VolumeAction::Failed);
    assert_eq!(dir.log(), ["pre db-a  ", "post db-a  not_created"]);
}

#[test]
fn the_post_hook_runs_at_the_wait_timeout_and_at_the_hook_timeout() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("timeouts");
    let a = tagged(&cloud, "db-a");
    cloud.set_snapshot_creating_reads(1_000_000);
    let report = run(&cloud, &opts(&dir).timeout(Duration::from_millis(300)));
    assert!(report.timed_out());
    assert_eq!(dir.log(), ["pre db-a  ", "post db-a creating deadline"]);
    assert_eq!(report.volume(&a).unwrap().hooks[1].outcome, Some(PostOutcome::Deadline));
    // The hook timeout since the pre-hook passes first: the thaw does not wait for the copy.
    let dir = Dir::new("hooktimeout");
    let cloud = FakeCloud::start();
    tagged(&cloud, "db-a");
    cloud.set_snapshot_creating_reads(1_000_000);
    let report = run(&cloud, &opts(&dir).timeout(Duration::from_secs(2)).hook_timeout(Duration::from_millis(200)));
    assert!(report.timed_out());
    assert_eq!(dir.log(), ["pre db-a  ", "post db-a creating hook_timeout"]);
}

#[test]
fn a_failing_post_hook_fails_the_volume_and_its_output_tail_is_kept() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("postfail");
    let a = tagged(&cloud, "db-a");
    let o = opts(&dir).pre_hook("head -c 3000 /dev/zero | tr '\\0' x; echo END").post_hook("echo thaw failed >&2; exit 4");
    let report = run(&cloud, &o);
    let v = report.volume(&a).unwrap();
    assert_eq!(v.action, VolumeAction::Failed);
    assert_eq!(v.error.as_ref().map(ToString::to_string).as_deref(), Some("post-hook failed (exited 4): filesystem may still be frozen"));
    assert_eq!(v.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    assert!(!report.is_success());
    let pre = &v.hooks[0];
    assert_eq!((pre.output.len(), pre.output_truncated), (OUTPUT_TAIL, true));
    assert!(pre.output.ends_with("xxEND\n"));
    assert_eq!((v.hooks[1].output.as_str(), v.hooks[1].exit_code), ("thaw failed\n", Some(4)));
}

#[test]
fn on_failure_runs_once_with_the_summary_and_not_after_a_success() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("onfailure");
    tagged(&cloud, "db-a");
    tagged(&cloud, "db-b");
    let o = opts(&dir).on_failure(format!("env | grep ^CINDER_SNAPSHOTS_ | grep -v RUN_ID | sort >> '{}'", dir.path("failure")));
    let report = run(&cloud, &o);
    assert!(report.is_success() && report.on_failure().is_none());
    assert!(!dir.0.join("failure").exists());
    let cloud = FakeCloud::start();
    tagged(&cloud, "db-a");
    tagged(&cloud, "db-b");
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 400);
    let report = run(&cloud, &o);
    assert_eq!(report.on_failure().map(|h| h.succeeded()), Some(true));
    let text = std::fs::read_to_string(dir.0.join("failure")).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "CINDER_SNAPSHOTS_CREATED=1",
            "CINDER_SNAPSHOTS_FAILED=1",
            "CINDER_SNAPSHOTS_HOOK=on-failure",
            "CINDER_SNAPSHOTS_OUTCOME=failed",
            "CINDER_SNAPSHOTS_POLICY=nightly",
            "CINDER_SNAPSHOTS_REUSED=0",
            "CINDER_SNAPSHOTS_SKIPPED=0",
            "CINDER_SNAPSHOTS_SUMMARY=failed: 2 volumes, 1 created, 0 reused, 1 failed, 0 skipped, 0 prune failures",
            "CINDER_SNAPSHOTS_VOLUMES=2",
            &format!("CINDER_SNAPSHOTS_WINDOW={WINDOW}"),
        ]
    );
}

#[test]
fn the_cancel_flag_mid_wait_runs_the_post_hooks_and_prunes_nothing() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("cancel");
    let a = tagged(&cloud, "db-a");
    cloud.set_snapshot_creating_reads(1_000_000);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Set once the create is done: the wait sees it.
    let o = opts(&dir).cancel_flag(stop).progress(move |p| {
        if p.created > 0 {
            flag.store(true, Ordering::SeqCst)
        }
    });
    let report = run(&cloud, &o);
    assert!(report.interrupted() && !report.timed_out() && !report.is_success());
    assert_eq!(dir.log(), ["pre db-a  ", "post db-a creating interrupted"]);
    let v = report.volume(&a).unwrap();
    assert_eq!(v.action, VolumeAction::Failed);
    assert_eq!(v.prune_skipped.as_deref(), Some("not pruned: the run was interrupted (SIGTERM/SIGINT)"));
    assert!(report.prune_report().is_none());
}

#[test]
fn a_lost_create_is_adopted_and_its_post_hook_runs_once_it_is_available() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("lost");
    let a = tagged(&cloud, "db-a");
    cloud.lose_next_answers(1, Rule::method("POST", "snapshots"));
    let report = run(&cloud, &opts(&dir));
    let v = report.volume(&a).unwrap();
    assert_eq!(v.action, VolumeAction::Created, "{report:?}");
    assert_eq!(dir.log(), ["pre db-a  ", "post db-a available available"]);
    assert_eq!(dir.env_of("post", &a).iter().filter(|l| l.starts_with("CINDER_SNAPSHOTS_SNAPSHOT_ID=")).count(), 1);
    assert!(dir.env_of("post", &a).contains(&format!("CINDER_SNAPSHOTS_SNAPSHOT_ID={}", v.snapshot_id.clone().unwrap())));
}

#[test]
fn on_failure_runs_when_the_run_returns_an_error() {
    let cloud = FakeCloud::start();
    let dir = Dir::new("onerror");
    tagged(&cloud, "db-a");
    // The window's listing refused: the run stops before any create, with an error.
    cloud.fail_next(1, Rule::get("snapshots/detail"), 403);
    let o = opts(&dir).on_failure(format!(
        "echo \"$CINDER_SNAPSHOTS_OUTCOME|$CINDER_SNAPSHOTS_RUN_ID|$CINDER_SNAPSHOTS_ERROR\" > '{}'",
        dir.path("failure")
    ));
    cloud.set_now(NOW);
    let e = job::run(&cloud.client(), &o).unwrap_err();
    let text = std::fs::read_to_string(dir.0.join("failure")).unwrap();
    assert_eq!(text, format!("error||{}\n", e.full_message()));
    assert!(dir.log().is_empty(), "no volume hook ran");
}
