//! What a run reports: per volume, in totals, and as it goes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::prune::PruneReport;
use super::{Unresolved, Window};
use crate::error::Error;
use crate::snapshots::SnapshotStatus;
use crate::volumes::VolumeStatus;

/// The counts a run hands its [progress callback](super::JobOpts::progress): after the
/// creates, and after every poll of the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Volumes selected.
    pub total: usize,
    /// Snapshots created by this run (adopted ones included).
    pub created: usize,
    /// Snapshots of this window found and reused.
    pub reused: usize,
    /// Snapshots of this run (created or reused) seen `available`.
    pub available: usize,
    /// Volumes failed so far (create refused, snapshot in error, ...).
    pub failed: usize,
    /// Snapshots still waited for.
    pub pending: usize,
    /// Time since the run started.
    #[serde(rename = "elapsed_s", serialize_with = "secs")]
    pub elapsed: Duration,
}

/// What a run did for one volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VolumeAction {
    /// A snapshot for this window was made by this run (or adopted: its create's answer was
    /// lost but the snapshot was found).
    Created,
    /// A snapshot for this window already existed (`creating` or `available`) and was used.
    Reused,
    /// Dry run: a snapshot would be made.
    WouldCreate,
    /// Dry run: the snapshot of this window already exists.
    WouldReuse,
    /// Not snapshotted: the volume's status, over quota, or a stop before its create.
    Skipped,
    /// The create or the wait failed, or the snapshot went to `error`.
    Failed,
}

impl VolumeAction {
    /// `created`, `reused`, `would_create`, `would_reuse`, `skipped`, `failed` (the JSON
    /// form).
    pub fn as_str(&self) -> &'static str {
        match self {
            VolumeAction::Created => "created",
            VolumeAction::Reused => "reused",
            VolumeAction::WouldCreate => "would_create",
            VolumeAction::WouldReuse => "would_reuse",
            VolumeAction::Skipped => "skipped",
            VolumeAction::Failed => "failed",
        }
    }
}

/// `created`, `reused`, `would create`, `would reuse`, `skipped`, `failed`.
impl fmt::Display for VolumeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// As [`VolumeAction::as_str`].
impl Serialize for VolumeAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One volume of a [`JobReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VolumeReport {
    /// The volume's id.
    pub volume_id: String,
    /// Its name, if it has one.
    pub volume_name: Option<String>,
    /// Its status when selected (`available`, `in-use`, ...).
    pub volume_status: String,
    /// What the run did.
    pub action: VolumeAction,
    /// The snapshot of this window (made, reused, or the one that failed), if any.
    pub snapshot_id: Option<String>,
    /// The snapshot's last status seen.
    pub snapshot_status: Option<SnapshotStatus>,
    /// Why it failed or was skipped, typed (its `Display` is the whole message, with
    /// Cinder's user message when there is one; the JSON has that text).
    pub error: Option<VolumeError>,
    /// Snapshots the prune deleted (dry run: would delete).
    pub pruned: Vec<String>,
    /// Snapshots the prune failed to delete, or why the prune failed (the JSON has each as
    /// its text: `"<id>: <error>"`).
    pub prune_errors: Vec<PruneError>,
    /// Why this volume was not pruned, when it was not.
    pub prune_skipped: Option<String>,
    /// Snapshots of this volume for this window in `error` (left by an earlier run, or gone
    /// to error in this one) that the job deleted (dry run: would delete).
    pub zombies: Vec<String>,
    /// What went wrong without failing the volume (a zombie that could not be deleted, a
    /// pre-hook that failed when the volume is snapshotted anyway); the JSON has their text.
    pub warnings: Vec<Warning>,
    /// When the quota preflight skipped this volume: every quota that binds, with what the
    /// run needed and the room left (see [`JobReport::quota`]).
    pub quota: Vec<crate::quotas::Shortfall>,
    /// A volume given by id or name that did not resolve: why (then `volume_id` is the
    /// text as given, `volume_status` is empty, the action is
    /// [`Failed`](VolumeAction::Failed) and `error` the look-up's message).
    pub unresolved: Option<Unresolved>,
    /// The hooks run for this volume, in order (pre, then post), each with the end of its
    /// output.
    pub hooks: Vec<super::HookRun>,
}

impl VolumeReport {
    pub(crate) fn new(volume_id: String, volume_name: Option<String>, volume_status: String) -> Self {
        VolumeReport {
            volume_id,
            volume_name,
            volume_status,
            action: VolumeAction::Skipped,
            snapshot_id: None,
            snapshot_status: None,
            error: None,
            pruned: Vec::new(),
            prune_errors: Vec::new(),
            prune_skipped: None,
            zombies: Vec::new(),
            warnings: Vec::new(),
            quota: Vec::new(),
            unresolved: None,
            hooks: Vec::new(),
        }
    }

    /// The name, else the id.
    pub fn label(&self) -> &str {
        self.volume_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.volume_id)
    }
}

/// A request's error kept in a report ([`QuotaPreflight::unreadable`](super::QuotaPreflight::unreadable)):
/// shared (`Arc`, so that the report clones), its `Display` the error's whole message (the
/// JSON has that text), two equal when their texts are.
#[derive(Debug, Clone)]
pub struct ReportedError(Arc<Error>);

impl ReportedError {
    pub(crate) fn new(e: Error) -> Self {
        ReportedError(Arc::new(e))
    }

    /// The error.
    pub fn error(&self) -> &Error {
        &self.0
    }
}

/// [`Error::full_message`].
impl fmt::Display for ReportedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.full_message())
    }
}

impl std::error::Error for ReportedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// By their texts.
impl PartialEq for ReportedError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for ReportedError {}

/// As its text.
impl Serialize for ReportedError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a volume of a [`JobReport`] failed or was skipped ([`VolumeReport::error`]).
///
/// Its `Display` is the line the report prints (and the JSON's `"error"` text); the
/// variants that come from a request carry its [`Error`] ([`error`](Self::error)). Shared
/// (`Arc`) so that a report clones. Two are equal when their texts are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VolumeError {
    /// The volume's status when selected does not allow a snapshot: `volume is <status>`.
    VolumeStatus(VolumeStatus),
    /// The quota preflight found no room for it (the shortfalls are in
    /// [`VolumeReport::quota`]): `over quota, not snapshotted: <shortfalls>`.
    QuotaShort(Vec<crate::quotas::Shortfall>),
    /// Its create, or an earlier one (then this create was not sent), was answered 413:
    /// `over quota: <Cinder's message>`.
    OverQuota(Arc<Error>),
    /// The creates stopped before this volume (not sent).
    NotSent,
    /// Cinder refused the create: `create failed: <error>`.
    Create(Arc<Error>),
    /// The create's answer was lost (a transport error, a 5xx) and the wait found no
    /// snapshot of it: `create failed: <error>; no snapshot of it was found`.
    CreateLost(Arc<Error>),
    /// A rate limiter refused the create `refused` times; it was not sent again.
    RateLimited {
        /// The last refusal.
        error: Arc<Error>,
        /// How many times it was refused.
        refused: u32,
    },
    /// The run's deadline passes before the create can be sent.
    PastDeadline {
        /// The run's [`deadline`](super::JobOpts::deadline).
        deadline: Duration,
    },
    /// The pre-hook failed: `not snapshotted: pre-hook failed (<how>)`.
    PreHook(String),
    /// The run was interrupted (SIGTERM/SIGINT) before this volume's create.
    Interrupted,
    /// The run was interrupted while this volume's snapshot was creating (a re-run reuses it).
    InterruptedWaiting,
    /// The worker sending this volume's create panicked: `create worker panicked: <message>`
    /// (the other volumes go on). Only where panics unwind (Rust's default): a program built
    /// with `panic = "abort"`, as this package's own release binaries are, ends at the panic.
    Panicked(String),
    /// The snapshot left the window's listing during the wait.
    Disappeared {
        /// The snapshot.
        snapshot_id: String,
    },
    /// The snapshot went to a status that is neither `available` nor on its way there (nor
    /// `error`).
    WentTo {
        /// The snapshot.
        snapshot_id: String,
        /// The status.
        status: SnapshotStatus,
    },
    /// The snapshot went to `error`: Cinder's user message about it, and whether the job
    /// deleted it.
    SnapshotError {
        /// The snapshot.
        snapshot_id: String,
        /// Cinder's newest user message about it (3.3+), if any.
        message: Option<String>,
        /// Whether the job deleted it.
        deleted: bool,
        /// Why deleting it failed, when it did.
        delete_error: Option<Arc<Error>>,
    },
    /// The wait's deadline passed before the snapshot became `available`.
    TimedOut {
        /// The snapshot.
        snapshot_id: String,
        /// How long the wait waited.
        waited: Duration,
        /// The last status seen.
        last_status: Option<SnapshotStatus>,
    },
    /// The wait's listing failed (past the transient errors tolerated).
    WaitListing(Arc<Error>),
    /// A volume given by id or name that did not resolve: the look-up's error (see
    /// [`VolumeReport::unresolved`]).
    Lookup(Arc<Error>),
    /// The post-hook failed (after `earlier`, when the volume had failed already).
    PostHook {
        /// Why the volume had failed before its post-hook, if it had.
        earlier: Option<Box<VolumeError>>,
        /// `post-hook failed (<how>): filesystem may still be frozen`.
        why: String,
    },
}

impl VolumeError {
    /// The error of the request behind it, when there is one.
    pub fn error(&self) -> Option<&Error> {
        match self {
            VolumeError::OverQuota(e)
            | VolumeError::Create(e)
            | VolumeError::CreateLost(e)
            | VolumeError::RateLimited { error: e, .. }
            | VolumeError::WaitListing(e)
            | VolumeError::Lookup(e) => Some(e),
            VolumeError::SnapshotError { delete_error, .. } => delete_error.as_deref(),
            VolumeError::PostHook { earlier, .. } => earlier.as_ref().and_then(|e| e.error()),
            _ => None,
        }
    }
}

impl fmt::Display for VolumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeError::VolumeStatus(s) => write!(f, "volume is {}", s.as_str()),
            VolumeError::QuotaShort(short) => write!(f, "over quota, not snapshotted: {}", crate::error::shortfalls_text(short)),
            VolumeError::OverQuota(e) => write!(f, "over quota: {}", e.api().map_or_else(|| e.full_message(), |a| a.message.clone())),
            VolumeError::NotSent => f.write_str("not snapshotted: the creates stopped before this volume"),
            VolumeError::Create(e) => write!(f, "create failed: {}", e.full_message()),
            VolumeError::CreateLost(e) => write!(f, "create failed: {}; no snapshot of it was found", e.full_message()),
            VolumeError::RateLimited { error, refused } => {
                write!(f, "create refused by a rate limiter {refused} times, not sent again: {}", error.full_message())
            }
            VolumeError::PastDeadline { deadline } => write!(
                f,
                "not snapshotted: the run's deadline ({} s) passes before its create can be sent (a rate limiter's pause, or the run's length)",
                deadline.as_secs()
            ),
            VolumeError::PreHook(why) => write!(f, "not snapshotted: {why}"),
            VolumeError::Interrupted => f.write_str("not snapshotted: the run was interrupted (SIGTERM/SIGINT) before its create"),
            VolumeError::InterruptedWaiting => {
                f.write_str("interrupted (SIGTERM/SIGINT) while its snapshot was creating; a re-run reuses it")
            }
            VolumeError::Panicked(message) => write!(f, "create worker panicked: {message}"),
            VolumeError::Disappeared { snapshot_id } => write!(f, "snapshot {snapshot_id} disappeared during the wait"),
            VolumeError::WentTo { snapshot_id, status } => write!(f, "snapshot {snapshot_id} went to {status} during the wait"),
            VolumeError::SnapshotError { snapshot_id, message, deleted, delete_error } => {
                write!(f, "snapshot {snapshot_id} went to error")?;
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
                match (deleted, delete_error) {
                    (true, _) => f.write_str("; the job deleted it"),
                    (false, Some(e)) => write!(f, "; deleting it failed: {}", e.full_message()),
                    (false, None) => Ok(()),
                }
            }
            VolumeError::TimedOut { snapshot_id, waited, last_status } => write!(
                f,
                "snapshot {snapshot_id} did not become available within {:.1} s (last status: {})",
                waited.as_secs_f64(),
                last_status.as_ref().map_or("unknown".to_owned(), ToString::to_string)
            ),
            VolumeError::WaitListing(e) => write!(f, "the wait's listing failed: {}", e.full_message()),
            VolumeError::Lookup(e) => f.write_str(&e.full_message()),
            VolumeError::PostHook { earlier: Some(e), why } => write!(f, "{e}; {why}"),
            VolumeError::PostHook { earlier: None, why } => f.write_str(why),
        }
    }
}

impl std::error::Error for VolumeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// By their texts.
impl PartialEq for VolumeError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// As its text.
impl Serialize for VolumeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A prune failure of one volume ([`VolumeReport::prune_errors`]).
#[derive(Clone)]
#[non_exhaustive]
pub enum PruneError {
    /// The prune's delete of this snapshot failed; the error is the prune report's
    /// ([`Outcome::Failed`](super::Outcome::Failed)): `<id>: <error>`.
    Delete {
        /// The snapshot.
        snapshot_id: String,
        /// The prune's report, which holds the error.
        report: Arc<PruneReport>,
    },
    /// The prune's listing failed: nothing was deleted.
    Listing(Arc<Error>),
    /// The quota preflight's delete of this snapshot to make room failed
    /// ([`JobOpts::prune_first`](super::JobOpts::prune_first)).
    PruneFirst {
        /// The snapshot.
        snapshot_id: String,
        /// Why.
        error: Arc<Error>,
    },
}

impl PruneError {
    /// The snapshot, when one delete failed.
    pub fn snapshot_id(&self) -> Option<&str> {
        match self {
            PruneError::Delete { snapshot_id, .. } | PruneError::PruneFirst { snapshot_id, .. } => Some(snapshot_id),
            PruneError::Listing(_) => None,
        }
    }

    /// The error.
    pub fn error(&self) -> Option<&Error> {
        match self {
            PruneError::Delete { snapshot_id, report } => report.get(snapshot_id).and_then(|o| o.outcome().error()),
            PruneError::Listing(e) | PruneError::PruneFirst { error: e, .. } => Some(e),
        }
    }
}

impl fmt::Display for PruneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PruneError::Delete { snapshot_id, .. } => {
                write!(f, "{snapshot_id}: {}", self.error().map_or_else(|| "failed".to_owned(), Error::full_message))
            }
            PruneError::Listing(e) => write!(f, "the prune's listing failed, nothing was deleted: {}", e.full_message()),
            PruneError::PruneFirst { snapshot_id, error } => {
                write!(f, "{snapshot_id}: deleting it first to make room failed: {}", error.full_message())
            }
        }
    }
}

/// Its text (the prune report is not repeated).
impl fmt::Debug for PruneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PruneError").field(&self.to_string()).finish()
    }
}

impl std::error::Error for PruneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// By their texts.
impl PartialEq for PruneError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// As its text.
impl Serialize for PruneError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What went wrong for a volume without failing it ([`VolumeReport::warnings`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Warning {
    /// A snapshot of an earlier run for this window, in a failure status, that the job could
    /// not delete.
    ZombieNotDeleted {
        /// The snapshot.
        snapshot_id: String,
        /// Its status.
        status: SnapshotStatus,
        /// Why the delete failed.
        error: Arc<Error>,
    },
    /// The pre-hook failed and the volume was snapshotted anyway
    /// ([`JobOpts::snapshot_on_pre_hook_failure`](super::JobOpts::snapshot_on_pre_hook_failure)):
    /// how it failed (`exited 1`, ...).
    PreHookFailed(String),
}

impl Warning {
    /// The error of the request behind it, when there is one.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Warning::ZombieNotDeleted { error, .. } => Some(error),
            Warning::PreHookFailed(_) => None,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ZombieNotDeleted { snapshot_id, status, error } => {
                write!(f, "snapshot {snapshot_id} of an earlier run is {status} and could not be deleted: {}", error.full_message())
            }
            Warning::PreHookFailed(how) => write!(f, "pre-hook failed ({how}); snapshotted anyway"),
        }
    }
}

/// By their texts.
impl PartialEq for Warning {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// As its text.
impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How many volumes and snapshots a [`JobReport`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Totals {
    /// Volumes selected.
    pub volumes: usize,
    /// Volumes with a snapshot made by this run ([`VolumeAction::Created`]).
    pub created: usize,
    /// Volumes whose snapshot of this window was reused.
    pub reused: usize,
    /// Volumes whose snapshot of this window is `available` at the end.
    pub available: usize,
    /// Volumes [`Failed`](VolumeAction::Failed).
    pub failed: usize,
    /// Volumes [`Skipped`](VolumeAction::Skipped).
    pub skipped: usize,
    /// Snapshots the prune deleted (dry run: would delete).
    pub pruned: usize,
    /// Prune failures (a delete that failed, or a volume whose prune listing failed).
    pub prune_failed: usize,
    /// Dry run: volumes that would get a snapshot.
    pub would_create: usize,
    /// Dry run: volumes whose snapshot of this window exists.
    pub would_reuse: usize,
}

/// The result of a [`run`](super::run): every selected volume, in the order selected, with
/// what was done, and the run's facts.
///
/// Serialised (`--json`) as `{"run_id", "window", "window_start", "dry_run", "timed_out",
/// "over_quota", "no_volume_matched", "all_projects", "clock_skew_s" (Cinder's clock minus the
/// host's in seconds beyond 5 minutes, else null), "elapsed_s", "polls", "totals": {..}, "volumes": [..], "prune": <the
/// prune's report, or null>, "quota": <the quota preflight, or null>}`; times RFC 3339 in UTC, durations in seconds.
#[derive(Debug)]
pub struct JobReport {
    pub(crate) run_id: String,
    pub(crate) window: Window,
    pub(crate) window_start: OffsetDateTime,
    pub(crate) dry_run: bool,
    pub(crate) timed_out: bool,
    pub(crate) over_quota: bool,
    pub(crate) no_volume_matched: bool,
    pub(crate) all_projects: bool,
    pub(crate) clock_skew: Option<time::Duration>,
    pub(crate) elapsed: Duration,
    pub(crate) polls: usize,
    pub(crate) volumes: Vec<VolumeReport>,
    /// Shared with the [`PruneError::Delete`] of the volumes.
    pub(crate) prune: Option<Arc<PruneReport>>,
    pub(crate) quota: Option<super::QuotaPreflight>,
    pub(crate) interrupted: bool,
    pub(crate) on_failure: Option<super::HookRun>,
}

impl JobReport {
    /// Every selected volume, in the order selected.
    pub fn volumes(&self) -> &[VolumeReport] {
        &self.volumes
    }

    /// One volume, by id.
    pub fn volume(&self, volume_id: &str) -> Option<&VolumeReport> {
        self.volumes.iter().find(|v| v.volume_id == volume_id)
    }

    /// The counts.
    pub fn totals(&self) -> Totals {
        let mut t = Totals { volumes: self.volumes.len(), ..Totals::default() };
        let add = |n: &mut usize, k: usize| *n = n.saturating_add(k);
        for v in &self.volumes {
            let slot = match v.action {
                VolumeAction::Created => &mut t.created,
                VolumeAction::Reused => &mut t.reused,
                VolumeAction::WouldCreate => &mut t.would_create,
                VolumeAction::WouldReuse => &mut t.would_reuse,
                VolumeAction::Skipped => &mut t.skipped,
                VolumeAction::Failed => &mut t.failed,
            };
            add(slot, 1);
            if matches!(v.action, VolumeAction::Created | VolumeAction::Reused) && v.snapshot_status == Some(SnapshotStatus::Available) {
                add(&mut t.available, 1);
            }
            add(&mut t.pruned, v.pruned.len());
            add(&mut t.prune_failed, v.prune_errors.len());
        }
        t
    }

    /// The window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The start of the window (in UTC), as labelled on the snapshots.
    pub fn window_start(&self) -> OffsetDateTime {
        self.window_start
    }

    /// The start of the window as the [`WINDOW_KEY`](super::WINDOW_KEY) label writes it:
    /// RFC 3339 in UTC, whole seconds (`2026-11-28T00:00:00Z`).
    pub fn window_label(&self) -> String {
        super::label_time(self.window_start)
    }

    /// This run's id (16 hex digits), the [`RUN_KEY`](super::RUN_KEY) label of the
    /// snapshots it made.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// How long the run took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many polls the wait made: each one paged listing, but the last, which lists the
    /// snapshots still `creating`, finds none and lists the whole window once more.
    pub fn polls(&self) -> usize {
        self.polls
    }

    /// Whether this was a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Whether the wait's deadline passed with snapshots still not `available` (their
    /// volumes are [`Failed`](VolumeAction::Failed) and not pruned).
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Whether a create was answered 413 (over quota): later creates were not sent.
    pub fn over_quota(&self) -> bool {
        self.over_quota
    }

    /// The quota preflight: the room read before the first create, what the run needed,
    /// every quota that binds, what `prune_first` deleted. `None` when nothing was to be
    /// created (or a dry run).
    pub fn quota(&self) -> Option<&super::QuotaPreflight> {
        self.quota.as_ref()
    }

    /// The prune's own report (the plan with the reasons that keep each snapshot, and each
    /// delete's outcome); `None` when no volume was pruned.
    pub fn prune_report(&self) -> Option<&PruneReport> {
        self.prune.as_deref()
    }

    /// Whether the run was stopped by its [cancel flag](super::JobOpts::cancel_flag)
    /// (SIGTERM/SIGINT in the tool): no create sent after it, nothing pruned.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// The on-failure hook's run, when the run failed and one was given.
    pub fn on_failure(&self) -> Option<&super::HookRun> {
        self.on_failure.as_ref()
    }

    /// Whether the selection matched no volume (and no volume named failed to resolve)
    /// without [`JobOpts::allow_empty`](super::JobOpts::allow_empty): nothing was done, and
    /// that is a failure.
    pub fn no_volume_matched(&self) -> bool {
        self.no_volume_matched
    }

    /// Whether the volumes of every project were selected ([`Selection::all_projects`](super::Selection::all_projects)):
    /// then the snapshots were made in the caller's project, not the volumes' (Cinder
    /// creates a snapshot in the project of the token): they count against the caller's
    /// quota and the volumes' owners do not see them.
    pub fn all_projects(&self) -> bool {
        self.all_projects
    }

    /// Cinder's clock minus the host's when they differ by more than
    /// [`CLOCK_SKEW_ALLOWED`](crate::client::CLOCK_SKEW_ALLOWED) (5 minutes), as the `Date` of
    /// Cinder's answers showed it when the run chose its window; `None` within it (or when
    /// Cinder sent no `Date`). The window and the labels are on Cinder's clock either way
    /// (unless [`JobOpts::now`](super::JobOpts::now) was given).
    pub fn clock_skew(&self) -> Option<time::Duration> {
        self.clock_skew
    }

    /// `true` when nothing failed, nothing was skipped, the wait did not time out, no
    /// prune failed, some volume matched (or [`JobOpts::allow_empty`](super::JobOpts::allow_empty)), and the
    /// run was not interrupted.
    pub fn is_success(&self) -> bool {
        let t = self.totals();
        t.failed == 0 && t.skipped == 0 && t.prune_failed == 0 && !self.timed_out && !self.no_volume_matched && !self.interrupted
    }
}

impl Serialize for JobReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("JobReport", 17)?;
        st.serialize_field("run_id", &self.run_id)?;
        st.serialize_field("window", &self.window)?;
        st.serialize_field("window_start", &super::label_time(self.window_start))?;
        st.serialize_field("dry_run", &self.dry_run)?;
        st.serialize_field("timed_out", &self.timed_out)?;
        st.serialize_field("over_quota", &self.over_quota)?;
        st.serialize_field("no_volume_matched", &self.no_volume_matched)?;
        st.serialize_field("all_projects", &self.all_projects)?;
        st.serialize_field("clock_skew_s", &self.clock_skew.map(|d| d.whole_seconds()))?;
        st.serialize_field("elapsed_s", &self.elapsed.as_secs_f64())?;
        st.serialize_field("polls", &self.polls)?;
        st.serialize_field("totals", &self.totals())?;
        st.serialize_field("volumes", &self.volumes)?;
        st.serialize_field("prune", &self.prune.as_deref())?;
        st.serialize_field("quota", &self.quota)?;
        st.serialize_field("interrupted", &self.interrupted)?;
        st.serialize_field("on_failure", &self.on_failure)?;
        st.end()
    }
}

/// A duration as seconds (f64).
fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn totals_and_json() {
        let mut a = VolumeReport::new("va".into(), Some("a".into()), "available".into());
        a.action = VolumeAction::Created;
        a.snapshot_id = Some("sa".into());
        a.snapshot_status = Some(SnapshotStatus::Available);
        a.pruned = vec!["old".into()];
        let mut b = VolumeReport::new("vb".into(), None, "error".into());
        b.error = Some(VolumeError::VolumeStatus(VolumeStatus::Error));
        let report = JobReport {
            run_id: "0123456789abcdef".into(),
            window: Window::Daily,
            window_start: datetime!(2026-11-28 00:00 UTC),
            dry_run: false,
            timed_out: false,
            over_quota: false,
            no_volume_matched: false,
            all_projects: false,
            clock_skew: None,
            elapsed: Duration::from_millis(1500),
            polls: 2,
            volumes: vec![a, b],
            prune: None,
            quota: None,
            interrupted: false,
            on_failure: None,
        };
        let t = report.totals();
        assert_eq!((t.volumes, t.created, t.available, t.skipped, t.pruned, t.failed), (2, 1, 1, 1, 1, 0));
        assert!(!report.is_success());
        assert_eq!(report.volumes()[1].label(), "vb");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["window"], "daily");
        assert_eq!(json["window_start"], "2026-11-28T00:00:00Z");
        assert_eq!(json["elapsed_s"], 1.5);
        assert_eq!(json["volumes"][0]["action"], "created");
        assert_eq!(json["volumes"][0]["snapshot_status"], "available");
        assert_eq!(json["volumes"][1]["action"], "skipped");
        // Typed errors are their text in the JSON, as before.
        assert_eq!(json["volumes"][1]["error"], "volume is error");
        assert_eq!(json["volumes"][0]["error"], serde_json::Value::Null);
        assert_eq!(json["totals"]["skipped"], 1);
        assert_eq!(json["prune"], serde_json::Value::Null);
        assert_eq!(VolumeAction::WouldCreate.to_string(), "would create");
    }
}
