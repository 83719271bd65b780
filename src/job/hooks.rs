//! Hooks around each volume's snapshot, and one when a run fails: [`Hooks`], [`HookRun`].
//!
//! A hook is the operator's own command text, run as `/bin/sh -c CMD` with no argument
//! added: nothing from the cloud is ever put into the command line. What the hook needs to
//! know reaches it through its environment only (see [`ENV_PREFIX`] and the README's table):
//!
//! | variable | pre | post | on-failure |
//! |---|---|---|---|
//! | `CINDER_SNAPSHOTS_HOOK` | `pre` | `post` | `on-failure` |
//! | `CINDER_SNAPSHOTS_POLICY` | policy id | policy id | policy id |
//! | `CINDER_SNAPSHOTS_WINDOW` | window start (RFC 3339) | same | same (empty if the run failed before) |
//! | `CINDER_SNAPSHOTS_RUN_ID` | run id | run id | run id (empty if the run failed before) |
//! | `CINDER_SNAPSHOTS_VOLUME_ID` | volume id | volume id | |
//! | `CINDER_SNAPSHOTS_VOLUME_NAME` | volume name (empty: none) | same | |
//! | `CINDER_SNAPSHOTS_SNAPSHOT_ID` | | the snapshot (empty: none) | |
//! | `CINDER_SNAPSHOTS_SNAPSHOT_STATUS` | | its last status seen (empty: none) | |
//! | `CINDER_SNAPSHOTS_OUTCOME` | | [`PostOutcome`] | `failed`, `timed_out`, `interrupted`, `error` |
//! | `CINDER_SNAPSHOTS_SUMMARY` | | | the run's summary line |
//! | `CINDER_SNAPSHOTS_VOLUMES`, `_CREATED`, `_REUSED`, `_FAILED`, `_SKIPPED` | | | the counts |
//! | `CINDER_SNAPSHOTS_ERROR` | | | the run's error, when it returned one |
//!
//! The hook inherits the tool's environment but for the secrets of the `OS_*` variables
//! (any `OS_` variable whose name holds `PASSWORD`, `TOKEN`, `SECRET` or `KEY`), which are
//! removed. A NUL in a cloud value (which an environment cannot hold) becomes U+FFFD.
//!
//! Each hook runs in a process group of its own, with stdin from `/dev/null` and its stdout
//! and stderr together into an unlinked temporary file; at [`Hooks::timeout`] the whole
//! group is killed (SIGKILL). The last [`OUTPUT_TAIL`] bytes of that output are kept in
//! [`HookRun::output`].

use std::collections::HashMap;
#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::io::{Read, Seek, SeekFrom};
#[cfg(unix)]
use std::os::unix::process::{CommandExt, ExitStatusExt};
#[cfg(unix)]
use std::process::{Command, Stdio};
use std::sync::Mutex;
#[cfg(unix)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::report::{JobReport, VolumeReport};
use crate::snapshots::SnapshotStatus;

/// The prefix of every variable a hook is given.
pub const ENV_PREFIX: &str = "CINDER_SNAPSHOTS_";

/// The longest a hook may run unless told otherwise (5 minutes).
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// How much of a hook's output (stdout and stderr together, the end) a [`HookRun`] keeps:
/// 1 KiB.
pub const OUTPUT_TAIL: usize = 1024;

/// The commands a [`run`](super::run) runs around each volume's snapshot, and when it fails.
///
/// Set through [`JobOpts`](super::JobOpts)'s `pre_hook`, `post_hook`, `on_failure`,
/// `hook_timeout`, `snapshot_on_pre_hook_failure`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hooks {
    /// Run before each volume's create (a freeze).
    pub pre: Option<String>,
    /// Run once the volume's snapshot leaves `creating` (a thaw); always once a pre-hook ran.
    pub post: Option<String>,
    /// Run once at the end of a run that failed.
    pub on_failure: Option<String>,
    /// The longest one hook may run; also how long after its pre-hook a volume's post-hook
    /// runs at the latest, its snapshot still `creating` or not.
    pub timeout: Duration,
    /// A failing pre-hook does not skip the volume: it is snapshotted anyway.
    pub snapshot_on_pre_hook_failure: bool,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks { pre: None, post: None, on_failure: None, timeout: DEFAULT_HOOK_TIMEOUT, snapshot_on_pre_hook_failure: false }
    }
}

/// Which hook a [`HookRun`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HookKind {
    /// `--pre-hook`.
    Pre,
    /// `--post-hook`.
    Post,
    /// `--on-failure`.
    OnFailure,
}

impl HookKind {
    /// `pre`, `post`, `on-failure` (the value of `CINDER_SNAPSHOTS_HOOK`).
    pub fn as_str(&self) -> &'static str {
        match self {
            HookKind::Pre => "pre",
            HookKind::Post => "post",
            HookKind::OnFailure => "on-failure",
        }
    }
}

/// Why a post-hook ran (`CINDER_SNAPSHOTS_OUTCOME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PostOutcome {
    /// The snapshot is `available`.
    Available,
    /// The snapshot went to `error` (or another failure status).
    Error,
    /// The hook timeout passed since the pre-hook with the snapshot still `creating`.
    HookTimeout,
    /// The run's wait ended (its timeout or deadline) with the snapshot still `creating`.
    Deadline,
    /// SIGTERM/SIGINT (the run's cancel flag).
    Interrupted,
    /// No snapshot was made: the create was refused, lost and not found, not sent, or the
    /// pre-hook failed.
    NotCreated,
    /// The wait failed otherwise (a listing error, the snapshot disappeared).
    Failed,
}

impl PostOutcome {
    /// `available`, `error`, `hook_timeout`, `deadline`, `interrupted`, `not_created`,
    /// `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PostOutcome::Available => "available",
            PostOutcome::Error => "error",
            PostOutcome::HookTimeout => "hook_timeout",
            PostOutcome::Deadline => "deadline",
            PostOutcome::Interrupted => "interrupted",
            PostOutcome::NotCreated => "not_created",
            PostOutcome::Failed => "failed",
        }
    }
}

/// One hook that ran: how it ended and the end of its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HookRun {
    /// Which hook.
    pub hook: HookKind,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did (9 after a timeout).
    pub signal: Option<i32>,
    /// Whether its timeout passed (its process group was killed).
    pub timed_out: bool,
    /// Why it could not be started, when it could not.
    pub spawn_error: Option<String>,
    /// The last [`OUTPUT_TAIL`] bytes of its stdout and stderr (invalid UTF-8 replaced).
    pub output: String,
    /// Whether `output` is only the end of what it wrote.
    pub output_truncated: bool,
    /// How long it ran.
    #[serde(rename = "elapsed_s", serialize_with = "secs")]
    pub elapsed: Duration,
    /// For a post-hook: why it ran.
    pub outcome: Option<PostOutcome>,
}

impl HookRun {
    /// Whether it exited 0 within its timeout.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.spawn_error.is_none()
    }

    /// `exited 3`, `killed at its timeout (5 s)`, `killed by signal 15`, `could not start: ..`.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.spawn_error {
            return format!("could not start: {e}");
        }
        if self.timed_out {
            return format!("killed at its timeout ({:.1} s)", self.elapsed.as_secs_f64());
        }
        match (self.exit_code, self.signal) {
            (Some(c), _) => format!("exited {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "ended".to_owned(),
        }
    }
}

/// A duration as seconds (f64).
fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(unix)]
/// Whether an inherited variable is a secret a hook is not given.
fn is_secret(name: &str) -> bool {
    name.starts_with("OS_") && ["PASSWORD", "TOKEN", "SECRET", "KEY"].iter().any(|w| name.contains(w))
}

#[cfg(unix)]
/// A value an environment can hold: NUL becomes U+FFFD.
fn env_value(v: &str) -> String {
    v.replace('\0', "\u{fffd}")
}

#[cfg(unix)]
/// A fresh name for the output file.
fn output_path() -> std::path::PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("cinder-snapshots-hook-{}-{n}-{nanos}", std::process::id()))
}

#[cfg(unix)]
/// Opens an unlinked temporary file for the hook's output (mode 0600).
fn output_file() -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = output_path();
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
    // Unlinked at once: nothing is left behind, whatever happens next.
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(unix)]
/// The last [`OUTPUT_TAIL`] bytes of the file, and whether there was more.
fn tail(file: &mut File) -> (String, bool) {
    let len = file.metadata().map_or(0, |m| m.len());
    let keep = len.min(OUTPUT_TAIL as u64);
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(len.saturating_sub(keep))).is_ok() {
        let _ = file.take(keep).read_to_end(&mut buf);
    }
    let text = String::from_utf8_lossy(&buf);
    // A character cut at the start shows as U+FFFD: dropped.
    let text = if len > keep { text.trim_start_matches('\u{fffd}').to_owned() } else { text.into_owned() };
    (text, len > keep)
}

#[cfg(unix)]
/// Kills a process group (SIGKILL), through the shell's `kill` (no unsafe code here).
fn kill_group(pgid: u32) {
    let _ = Command::new("/bin/sh")
        .args(["-c", "kill -s KILL -- \"-$1\" 2>/dev/null", "sh", &pgid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(unix)]
/// Runs `cmd` with `/bin/sh -c`, these variables added, at most `timeout`.
pub(crate) fn run_hook(hook: HookKind, cmd: &str, env: &[(&str, String)], timeout: Duration) -> HookRun {
    let started = Instant::now();
    let mut run = HookRun {
        hook,
        exit_code: None,
        signal: None,
        timed_out: false,
        spawn_error: None,
        output: String::new(),
        output_truncated: false,
        elapsed: Duration::ZERO,
        outcome: None,
    };
    let mut out = match output_file() {
        Ok(f) => f,
        Err(e) => {
            run.spawn_error = Some(format!("cannot make its output file in {}: {e}", std::env::temp_dir().display()));
            return run;
        }
    };
    let (stdout, stderr) = match (out.try_clone(), out.try_clone()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            run.spawn_error = Some(format!("cannot share its output file: {e}"));
            return run;
        }
    };
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd).stdin(Stdio::null()).stdout(stdout).stderr(stderr).process_group(0);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| is_secret(n) || n.starts_with(ENV_PREFIX)) {
            command.env_remove(&name);
        }
    }
    command.env(format!("{ENV_PREFIX}HOOK"), hook.as_str());
    for (k, v) in env {
        command.env(format!("{ENV_PREFIX}{k}"), env_value(v));
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            run.spawn_error = Some(e.to_string());
            run.elapsed = started.elapsed();
            return run;
        }
    };
    drop(command);
    let deadline = started.checked_add(timeout);
    let mut nap = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            run.timed_out = true;
            kill_group(child.id());
            let _ = child.kill();
            break child.wait().ok();
        }
        let left = deadline.map_or(nap, |d| d.saturating_duration_since(Instant::now()));
        std::thread::sleep(nap.min(left).max(Duration::from_millis(1)));
        nap = (nap * 2).min(Duration::from_millis(50));
    };
    run.elapsed = started.elapsed();
    if let Some(status) = status {
        run.exit_code = status.code();
        run.signal = status.signal();
    }
    let (text, truncated) = tail(&mut out);
    run.output = text;
    run.output_truncated = truncated;
    run
}

/// Hooks need a Unix shell and process groups: elsewhere each hook fails to start.
#[cfg(not(unix))]
pub(crate) fn run_hook(hook: HookKind, _cmd: &str, _env: &[(&str, String)], _timeout: Duration) -> HookRun {
    HookRun {
        hook,
        exit_code: None,
        signal: None,
        timed_out: false,
        spawn_error: Some("hooks run on Unix systems only".to_owned()),
        output: String::new(),
        output_truncated: false,
        elapsed: Duration::ZERO,
        outcome: None,
    }
}

/// The hooks of one run: which volumes are between their pre-hook and their post-hook
/// (shared by the create workers), and the pre-hooks' runs until they reach the report.
pub(crate) struct Tracker {
    hooks: Hooks,
    base: Vec<(&'static str, String)>,
    /// Volume index -> when its pre-hook ended (or its create began, without a pre-hook).
    frozen: Mutex<HashMap<usize, Instant>>,
    runs: Mutex<Vec<(usize, HookRun)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A volume's own variables.
fn volume_env(r: &VolumeReport) -> [(&'static str, String); 2] {
    [("VOLUME_ID", r.volume_id.clone()), ("VOLUME_NAME", r.volume_name.clone().unwrap_or_default())]
}

impl Tracker {
    pub(crate) fn new(hooks: &Hooks, policy: &str, window: &str, run_id: &str) -> Self {
        Tracker {
            hooks: hooks.clone(),
            base: vec![("POLICY", policy.to_owned()), ("WINDOW", window.to_owned()), ("RUN_ID", run_id.to_owned())],
            frozen: Mutex::new(HashMap::new()),
            runs: Mutex::new(Vec::new()),
        }
    }

    /// Before volume `i`'s create (in a worker): marks it for its post-hook, runs its
    /// pre-hook; `Some(why)` when the volume is to be skipped (the pre-hook failed).
    pub(crate) fn pre(&self, i: usize, r: &VolumeReport) -> Option<String> {
        if self.hooks.pre.is_none() && self.hooks.post.is_none() {
            return None;
        }
        let Some(cmd) = self.hooks.pre.as_deref() else {
            lock(&self.frozen).insert(i, Instant::now());
            return None;
        };
        // Marked before it runs: a panic or a kill of the hook still gets its post-hook.
        lock(&self.frozen).insert(i, Instant::now());
        let mut env = self.base.clone();
        env.extend(volume_env(r));
        let run = run_hook(HookKind::Pre, cmd, &env, self.hooks.timeout);
        let failed = (!run.succeeded()).then(|| format!("pre-hook failed ({})", run.describe()));
        lock(&self.frozen).insert(i, Instant::now());
        lock(&self.runs).push((i, run));
        match failed {
            Some(why) if !self.hooks.snapshot_on_pre_hook_failure => Some(why),
            _ => None,
        }
    }

    /// Moves the pre-hooks' runs into their volumes' reports.
    pub(crate) fn record(&self, reports: &mut [VolumeReport]) {
        for (i, run) in std::mem::take(&mut *lock(&self.runs)) {
            if let Some(r) = reports.get_mut(i) {
                if !run.succeeded() && self.hooks.snapshot_on_pre_hook_failure {
                    r.warnings.push(super::Warning::PreHookFailed(run.describe()));
                }
                r.hooks.push(run);
            }
        }
    }

    /// The volumes waiting for their post-hook, with when their pre-hook ended.
    pub(crate) fn frozen(&self) -> Vec<(usize, Instant)> {
        let mut v: Vec<(usize, Instant)> = lock(&self.frozen).iter().map(|(i, t)| (*i, *t)).collect();
        v.sort_unstable_by_key(|(i, _)| *i);
        v
    }

    /// Whether some volume's hook timeout since its pre-hook has passed.
    pub(crate) fn due(&self) -> bool {
        lock(&self.frozen).values().any(|t| t.elapsed() >= self.hooks.timeout)
    }

    /// The hook timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.hooks.timeout
    }

    /// Runs volume `i`'s post-hook (once), with its snapshot's id and last status;
    /// `Some(why)` when it failed (the volume fails: the caller says so).
    pub(crate) fn post(
        &self,
        i: usize,
        r: &mut VolumeReport,
        snapshot: (Option<&str>, Option<&SnapshotStatus>),
        outcome: PostOutcome,
    ) -> Option<String> {
        // Once: only a volume still marked frozen gets it.
        lock(&self.frozen).remove(&i)?;
        let cmd = self.hooks.post.as_deref()?;
        let mut env = self.base.clone();
        env.extend(volume_env(r));
        env.push(("SNAPSHOT_ID", snapshot.0.unwrap_or_default().to_owned()));
        env.push(("SNAPSHOT_STATUS", snapshot.1.map(ToString::to_string).unwrap_or_default()));
        env.push(("OUTCOME", outcome.as_str().to_owned()));
        let mut run = run_hook(HookKind::Post, cmd, &env, self.hooks.timeout);
        run.outcome = Some(outcome);
        let failed = (!run.succeeded()).then(|| format!("post-hook failed ({}): filesystem may still be frozen", run.describe()));
        r.hooks.push(run);
        failed
    }
}

/// Runs the on-failure hook with the run's summary (`report`), or its error.
pub(crate) fn on_failure(cmd: &str, opts: &super::JobOpts, report: Option<&JobReport>, error: Option<&crate::Error>) -> HookRun {
    let mut env: Vec<(&str, String)> = vec![("POLICY", opts.policy().id().to_owned())];
    match report {
        Some(rep) => {
            let t = rep.totals();
            let outcome = if rep.interrupted() {
                "interrupted"
            } else if rep.timed_out() {
                "timed_out"
            } else {
                "failed"
            };
            env.extend([
                ("WINDOW", rep.window_label()),
                ("RUN_ID", rep.run_id().to_owned()),
                ("OUTCOME", outcome.to_owned()),
                ("VOLUMES", t.volumes.to_string()),
                ("CREATED", t.created.to_string()),
                ("REUSED", t.reused.to_string()),
                ("FAILED", t.failed.to_string()),
                ("SKIPPED", t.skipped.to_string()),
                (
                    "SUMMARY",
                    format!(
                        "{outcome}: {} volumes, {} created, {} reused, {} failed, {} skipped, {} prune failures",
                        t.volumes, t.created, t.reused, t.failed, t.skipped, t.prune_failed
                    ),
                ),
            ]);
        }
        None => {
            let e = error.map(crate::Error::full_message).unwrap_or_default();
            env.extend([
                ("WINDOW", String::new()),
                ("RUN_ID", String::new()),
                ("OUTCOME", "error".to_owned()),
                ("SUMMARY", format!("error: {e}")),
                ("ERROR", e),
            ]);
        }
    }
    run_hook(HookKind::OnFailure, cmd, &env, opts.hooks.timeout)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn exit_env_output_and_timeout() {
        let env = [("VOLUME_NAME", "a\0b".to_owned())];
        let r = run_hook(
            HookKind::Pre,
            "printf '%s|%s' \"$CINDER_SNAPSHOTS_HOOK\" \"$CINDER_SNAPSHOTS_VOLUME_NAME\"; echo err >&2; exit 3",
            &env,
            Duration::from_secs(10),
        );
        assert_eq!((r.exit_code, r.timed_out, r.succeeded()), (Some(3), false, false));
        assert_eq!(r.output, "pre|a\u{fffd}berr\n");
        assert_eq!(r.describe(), "exited 3");
        let r = run_hook(HookKind::Post, "head -c 3000 /dev/zero | tr '\\0' x; echo END", &[], Duration::from_secs(10));
        assert!(r.succeeded());
        assert!(r.output_truncated);
        assert_eq!(r.output.len(), OUTPUT_TAIL);
        assert!(r.output.ends_with("xxEND\n"));
        // The group is killed: the background sleep too (else the wait would not end).
        let t = Instant::now();
        let r = run_hook(HookKind::Post, "sleep 30 & echo started; wait", &[], Duration::from_millis(300));
        assert!(r.timed_out);
        assert_eq!(r.signal, Some(9));
        assert_eq!(r.output, "started\n");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(is_secret("OS_PASSWORD") && is_secret("OS_APPLICATION_CREDENTIAL_SECRET") && !is_secret("OS_AUTH_URL"));
    }
}
