//! What a run reports: per volume, in totals, and as it goes.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::prune::PruneReport;
use super::{Unresolved, Window};
use crate::snapshots::SnapshotStatus;

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
    /// Why it failed or was skipped: the whole message, with Cinder's user message when
    /// there is one.
    pub error: Option<String>,
    /// Snapshots the prune deleted (dry run: would delete).
    pub pruned: Vec<String>,
    /// Snapshots the prune failed to delete, or why the prune failed: `"<id>: <error>"`.
    pub prune_errors: Vec<String>,
    /// Why this volume was not pruned, when it was not.
    pub prune_skipped: Option<String>,
    /// Snapshots of this volume for this window in `error` (left by an earlier run, or gone
    /// to error in this one) that the job deleted (dry run: would delete).
    pub zombies: Vec<String>,
    /// What went wrong without failing the volume (a zombie that could not be deleted).
    pub warnings: Vec<String>,
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
    pub(crate) prune: Option<PruneReport>,
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

    /// How many polls (paged listings) the wait made.
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
        self.prune.as_ref()
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
        st.serialize_field("prune", &self.prune)?;
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
        b.error = Some("volume is error".into());
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
        assert_eq!(json["totals"]["skipped"], 1);
        assert_eq!(json["prune"], serde_json::Value::Null);
        assert_eq!(VolumeAction::WouldCreate.to_string(), "would create");
    }
}
