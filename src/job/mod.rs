//! The scheduled job, whole: snapshot a fleet of volumes once per window, wait for all the
//! snapshots together, prune each volume with a retention policy, and report; plus
//! [`check`], the monitoring check of the same snapshots.
//!
//! This is the job run from cron or a systemd timer. [`run`] with [`JobOpts`] does, for the
//! volumes of a [`Selection`]:
//!
//! 1. **Selects** the volumes: every volume with some metadata tags, volumes by id or by
//!    name (a name must match exactly one volume), or every volume of the project (admins:
//!    of every project); each listing is read to its last page, and a volume selected twice
//!    is done once. A volume neither `available` nor `in-use` is
//!    [`Skipped`](VolumeAction::Skipped), with its status as the reason (unless this
//!    window's snapshot of it exists already: that one is reused). A volume named that
//!    does not resolve (no such id, no such name, a name matching several) is
//!    [`Failed`](VolumeAction::Failed) with [`VolumeReport::unresolved`] and the others are
//!    done. A selection matching no volume at all does nothing and fails
//!    ([`JobReport::no_volume_matched`]) unless [`JobOpts::allow_empty`].
//! 2. **Finds what this window already has** (idempotence): ONE complete listing of the
//!    snapshots labelled with the policy and this [`Window`] (server-side `metadata` filter
//!    from microversion 3.22; below it, every snapshot of the project is listed and filtered
//!    here; either way ownership is checked again here with
//!    [`retention::is_owned`](crate::retention::is_owned)). An owned snapshot of the
//!    volume for this window that is `creating` or `available` is
//!    [reused](VolumeAction::Reused), never duplicated; one in `error` or `error_deleting`
//!    (left by an earlier run of this window) is the job's own zombie: it is deleted and a
//!    new snapshot is made.
//! 3. **Checks the quota** ([`QuotaPreflight`], [`JobReport::quota`]): the room of the
//!    caller's project ([`quotas::room`](crate::quotas::room): where Cinder puts the
//!    snapshots, also for other projects' volumes) against what the creates need (a snapshot
//!    and its GiB per volume, project-wide and per volume type). Short of `snapshots`: with
//!    [`JobOpts::prune_first`] the plan's deletes make room first; then the volumes that fit
//!    are created (newest snapshot oldest first, then by id) and the others
//!    [`Skipped`](VolumeAction::Skipped) with [`VolumeReport::quota`];
//!    [`JobOpts::all_or_nothing`] creates nothing ([`Error::QuotaExceeded`](crate::Error::QuotaExceeded)).
//!    Short of `gigabytes` only: said, and the creates are tried.
//!
//!    **Creates** the missing snapshots, [`JobOpts::concurrency`] at a time, each with the
//!    retention labels ([`retention::labels`](crate::retention::labels)) plus
//!    [`WINDOW_KEY`] (the window's start) and [`RUN_KEY`] (this run's id), named
//!    `<policy id>-<window start as YYYYmmddTHHMMZ>-<first 8 hex digits of the volume id>`
//!    (unique per volume and window; the snapshots are found by their labels, never by
//!    name). An `in-use` volume is snapshotted with
//!    `force=true` below microversion 3.66 and with no `force` flag from 3.66 on (where
//!    `force=false` is a 400). A create is never retried (POST); a create whose answer was
//!    lost (a timeout, a closed connection, a 5xx) may still have made the snapshot: the wait
//!    listing finds it by its labels and volume and adopts it, so nothing leaks and nothing
//!    is duplicated. A rate limiter's refusal (429, or the 413 `overLimitFault`) pauses
//!    every create and delete of the client (see [`RetryPolicy`](crate::RetryPolicy)); the
//!    refused create is sent again after the window's listing shows no snapshot of that
//!    volume, at most the client's retry count of times and never past
//!    [`JobOpts::deadline`]. An over-quota answer (413) stops further creates (those in flight
//!    finish): the volumes not sent are [`Skipped`](VolumeAction::Skipped) with
//!    `over quota: <Cinder's message>` and [`JobReport::over_quota`] is set; the snapshots
//!    already made are still waited for, reported and pruned.
//! 4. **Waits for all of them together**: paged listings with the server-side filter on the
//!    policy and window labels (from 3.22; below, the project's whole listing filtered
//!    here), never one GET per snapshot, reading only what is still pending: the first poll,
//!    every poll while a lost create's snapshot is looked for (or a volume waits for its
//!    post-hook), and the last list the whole window (every status: lost creates adopted,
//!    errors seen); the polls between list only the snapshots still `creating`
//!    (`status=creating`), so the rows read shrink as snapshots finish, and when none is
//!    left `creating` one whole listing gives every final status. About `ceil(pending / P)`
//!    requests per poll for page size P ([`JobOpts::page_size`]); the polls are paced by the
//!    client's [`PollPolicy`](crate::PollPolicy) (its intervals and timeout, unless
//!    [`JobOpts::poll_interval`] or [`JobOpts::timeout`] set others), the wait ends at the
//!    timeout ([`JobReport::timed_out`]), and [`JobOpts::progress`] sees the
//!    counts after every poll. A snapshot that ends in `error` gets Cinder's user message
//!    (`/messages`, 3.3+), is deleted by the job (that delete waited for, within the
//!    deadline), and its volume is [`Failed`](VolumeAction::Failed) with that message.
//! 5. **Prunes** with [`prune`] (its listing to the last
//!    page before any delete, its checks before each delete) only the volumes whose snapshot
//!    for this window is `available`; a volume whose create or wait failed, or that was
//!    skipped, is not pruned, and [`VolumeReport::prune_skipped`] says why.
//! 6. **Reports** per volume and in totals ([`JobReport`], `Serialize`).
//!
//! A run killed at any point and started again in the same window finishes the work: the
//! snapshots already made (even `creating`) are found by step 2 and reused, a zombie is
//! cleaned up, and nothing is pruned before its volume's snapshot is `available`.
//!
//! A dry run ([`JobOpts::dry_run`]) lists and plans only: no create, no delete. It reports
//! [`WouldCreate`](VolumeAction::WouldCreate) / [`WouldReuse`](VolumeAction::WouldReuse)
//! and, in [`VolumeReport::pruned`], what the prune would delete on the snapshots there are
//! now (the plan, with the reasons that keep the others, is [`JobReport::prune_report`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use cinder_snapshots::ServiceClient;
//! use cinder_snapshots::job::{self, JobOpts, Window};
//! use cinder_snapshots::retention::Policy;
//!
//! let client = ServiceClient::from_env()?;
//! let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build()?;
//! let opts = JobOpts::new(policy)
//!     .select_tag("backup", "nightly")
//!     .every(Window::Daily)
//!     .concurrency(4)
//!     .timeout(Duration::from_secs(3600))
//!     .progress(|p| eprintln!("{} created, {} available, {} failed of {}", p.created, p.available, p.failed, p.total));
//! let report = job::run(&client, &opts)?;
//! for v in report.volumes() {
//!     println!("{} {} {:?} {:?}", v.volume_id, v.action, v.snapshot_id, v.error);
//! }
//! let t = report.totals();
//! println!("{} created, {} reused, {} failed, {} skipped, {} pruned", t.created, t.reused, t.failed, t.skipped, t.pruned);
//! std::process::exit(if report.timed_out() { 3 } else if report.is_success() { 0 } else { 1 });
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! [`check`] reports, for the selected volumes, the age of the newest `available` snapshot
//! the policy owns against a warning and a critical age, in the conventions of monitoring
//! plugins ([`CheckReport::status_line`], [`CheckStatus::code`]).

mod check;
mod estate;
mod hooks;
#[cfg(all(unix, feature = "lock"))]
mod lock;
mod metrics;
mod opts;
mod owned;
mod pin;
mod preflight;
mod prune;
mod report;
mod run;
mod window;

pub use check::{
    CheckOpts, CheckReport, CheckStatus, CheckVolume, DEFAULT_CHECK_TIMEOUT, EXCLUDE_KEY, FIRST_LINE_MAX, Stray, check, unknown_output,
};
pub use estate::{QuotaFit, Report, ReportOpts, ReportVolume, report};
pub use hooks::{DEFAULT_HOOK_TIMEOUT, ENV_PREFIX, HookKind, HookRun, Hooks, OUTPUT_TAIL, PostOutcome};
#[cfg(all(unix, feature = "lock"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "lock"))))]
pub use lock::{Holder, JobLock, LockError};
pub use metrics::{METRICS_PREFIX, MetricsError, MetricsFile};
pub use opts::{DEFAULT_CONCURRENCY, DEFAULT_DEADLINE, JobOpts, MAX_CONCURRENCY, POLICIES_KEY, PolicyChoiceError, Selection, Unresolved};
pub use owned::{Owned, OwnedQuery, owned};
pub use pin::{pin, unpin};
pub use preflight::QuotaPreflight;
pub use prune::{Outcome, PruneCounts, PruneOpts, PruneReport, SnapshotOutcome, prune};
pub use report::{JobReport, Progress, PruneError, ReportedError, Totals, VolumeAction, VolumeError, VolumeReport, Warning};
pub use run::run;
pub use window::Window;

/// The metadata key holding the start of the window a snapshot was made for (RFC 3339 in
/// UTC, whole seconds: `2026-11-28T00:00:00Z`), on every snapshot [`run`] creates. Defined
/// in [`retention`](crate::retention::WINDOW_KEY), which judges duplicates in a window.
pub use crate::retention::WINDOW_KEY;

/// The metadata key holding the id of the run that created a snapshot (16 hex digits).
pub const RUN_KEY: &str = "cinder-snapshots.run";

/// The 16 hex digits naming a job's target, the cloud, the project and the policy (FNV-1a of
/// `<client identity> | policy <id>`): the job lock's file name, the metrics' state file and
/// default file name. `None` when the client has neither credentials nor an endpoint.
pub(crate) fn target_hash(client: &crate::ServiceClient, policy_id: &str) -> Option<String> {
    let key = format!("{} | policy {policy_id}", client.identity()?);
    Some(format!("{:016x}", crate::auth::fnv1a(key.as_bytes())))
}

/// A time as the labels write it: RFC 3339 in UTC, whole seconds.
pub(crate) fn label_time(t: time::OffsetDateTime) -> String {
    crate::timestamp::write(t, crate::timestamp::Fraction::Whole)
}
