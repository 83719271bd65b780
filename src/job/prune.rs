//! Applying a retention plan: list a policy's snapshots to the last page (the one owned
//! listing, [`owned`](super::owned)), plan (pure, in [`retention`](crate::retention)), delete
//! what the plan deletes with bounded concurrency, wait for each delete, and report every
//! snapshot. The I/O of pruning lives here, with the job; `retention` sends no request.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::opts::DEFAULT_CONCURRENCY;
use super::owned::{OwnedQuery, owned};
use crate::client::ServiceClient;
use crate::error::{Error, Result, WaitError, WaitErrorKind};
use crate::retention::{Decision, PIN_KEY, POLICY_KEY, Plan, Policy, Reason, is_owned, is_pinned, plan_owned};
use crate::snapshots::{self, Snapshot, SnapshotStatus, WaitOpts};
use crate::timestamp::{Fraction, write as write_time};

/// What [`prune`] does: the policy, and how it applies it.
///
/// Made with [`PruneOpts::new`], changed with the chainable setters; every setting has a
/// getter. Defaults: every volume that has snapshots owned by the policy, deletes for real,
/// `now` the current time, [`DEFAULT_CONCURRENCY`] deletes at once, the client's wait
/// settings, the caller's project only.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::job::PruneOpts;
/// use cinder_snapshots::retention::Policy;
/// use cinder_snapshots::snapshots::WaitOpts;
/// use time::macros::datetime;
///
/// let policy = Policy::builder("nightly-db").keep_daily(7).keep_weekly(4).build()?;
/// let opts = PruneOpts::new(policy)
///     .volumes(["5aa119a8-d25b-45a7-8d1b-88e127885635"])
///     .dry_run(true)
///     .now(datetime!(2026-11-28 02:00 UTC))
///     .concurrency(2)
///     .wait_opts(WaitOpts::new().timeout(Duration::from_secs(600)));
/// assert!(opts.is_dry_run());
/// assert_eq!(opts.get_concurrency(), 2);
/// assert_eq!(opts.get_volumes().map(|v| v.len()), Some(1));
/// // At least one delete at a time.
/// assert_eq!(opts.get_page_size(), None);
/// let _wait: &WaitOpts = opts.get_wait_opts();
/// assert_eq!(opts.concurrency(0).get_concurrency(), 1);
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PruneOpts {
    policy: Policy,
    volumes: Option<BTreeSet<String>>,
    dry_run: bool,
    now: Option<OffsetDateTime>,
    concurrency: usize,
    wait: WaitOpts,
    all_projects: bool,
    page_size: Option<u32>,
}

impl PruneOpts {
    /// Prunes the snapshots `policy` owns, on every volume that has some.
    pub fn new(policy: Policy) -> Self {
        PruneOpts {
            policy,
            volumes: None,
            dry_run: false,
            now: None,
            concurrency: DEFAULT_CONCURRENCY,
            wait: WaitOpts::new(),
            all_projects: false,
            page_size: None,
        }
    }

    /// Only the snapshots of these volumes (ids). Calling it again replaces the set. An empty
    /// set prunes nothing (not "every volume"): a job that snapshots some volumes and prunes
    /// only those whose new snapshot succeeded passes exactly those, even when none did.
    pub fn volumes<I, S>(mut self, volume_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.volumes = Some(volume_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Plans only: lists and plans, sends no delete, and reports the snapshots the plan
    /// deletes as [`Outcome::WouldDelete`].
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Plans as if it were this time (default: the current time when [`prune`] starts), to
    /// replay a past decision or to test one. It only decides which snapshots are dated in
    /// the future (kept and not counted); the rules count from the newest snapshot.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// How many snapshots are deleted (and waited for) at once; 0 counts as 1. With any
    /// concurrency the prune ends by its one deadline (see [`wait_opts`](Self::wait_opts)).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How the deletes are waited for (timeout, intervals, cancel flag, progress callback;
    /// default: the client's [`PollPolicy`](crate::PollPolicy)). The timeout is ONE deadline
    /// for the whole prune, counted from its start, not one per delete: a delete still
    /// waited for at the deadline, and a delete not sent by then (it is not sent), is
    /// [`Outcome::Failed`] with an [`Error::Wait`] of kind
    /// [`TimedOut`](crate::WaitErrorKind::TimedOut). The progress callback is called from
    /// several threads when the concurrency is above 1.
    pub fn wait_opts(mut self, wait: WaitOpts) -> Self {
        self.wait = wait;
        self
    }

    /// Admins: the snapshots of every project (`all_tenants=1`), not only the client's.
    /// Without Cinder's admin view [`prune`] refuses ([`Error::AdminViewRequired`]) rather
    /// than prune the caller's own project only.
    pub fn all_projects(mut self, all: bool) -> Self {
        self.all_projects = all;
        self
    }

    /// The `limit` of every page of the listing (default: the server's cap); `job::run`
    /// passes its own ([`JobOpts::page_size`](super::JobOpts::page_size)).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The volumes pruned: `None` for every volume with owned snapshots.
    pub fn get_volumes(&self) -> Option<&BTreeSet<String>> {
        self.volumes.as_ref()
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The `now` given, if any.
    pub fn get_now(&self) -> Option<OffsetDateTime> {
        self.now
    }

    /// How many deletes run at once (at least 1).
    pub fn get_concurrency(&self) -> usize {
        self.concurrency
    }

    /// Whether every project's snapshots are pruned.
    pub fn is_all_projects(&self) -> bool {
        self.all_projects
    }

    /// How the deletes are waited for.
    pub fn get_wait_opts(&self) -> &WaitOpts {
        &self.wait
    }

    /// The `limit` of every listing page, when given.
    pub fn get_page_size(&self) -> Option<u32> {
        self.page_size
    }
}

/// What happened to one snapshot in a [`prune`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The plan keeps it (see the decision's reasons); nothing was sent.
    Kept,
    /// Dry run: the plan deletes it, but nothing was sent.
    WouldDelete,
    /// Deleted: the delete was accepted and the snapshot is gone (or the delete answered
    /// 404: it was gone already).
    Deleted,
    /// The plan deletes it, but it was not deleted: the delete was refused (such as a 400
    /// for a snapshot in the wrong state), the wait ended without the snapshot gone
    /// (`error_deleting`, back to `available`, timed out, cancelled), or the safety checks
    /// before the delete refused it (then no request was sent).
    Failed(Error),
}

impl Outcome {
    /// `kept`, `would delete`, `deleted` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Kept => "kept",
            Outcome::WouldDelete => "would delete",
            Outcome::Deleted => "deleted",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The error of a failure.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// `kept`, `would delete`, `deleted`, or `failed: <the error>`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Failed(e) => write!(f, "failed: {}", e.full_message()),
            other => f.write_str(other.name()),
        }
    }
}

/// One snapshot of a [`PruneReport`]: the plan's decision and what was done.
#[derive(Debug)]
pub struct SnapshotOutcome {
    decision: Decision,
    outcome: Outcome,
}

impl SnapshotOutcome {
    /// The plan's decision (the snapshot as listed, keep or delete, the reasons).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The snapshot as listed.
    pub fn snapshot(&self) -> &Snapshot {
        self.decision.snapshot()
    }

    /// What was done.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
}

/// How many snapshots of a [`PruneReport`] had each [`Outcome`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PruneCounts {
    /// Kept by the plan.
    pub kept: usize,
    /// Deleted.
    pub deleted: usize,
    /// Dry run: would be deleted.
    pub would_delete: usize,
    /// To delete, but not deleted.
    pub failed: usize,
    /// Of the snapshots to delete (deleted, would delete or failed), those in `error`
    /// ([`Reason::InError`]).
    pub in_error: usize,
    /// Of the snapshots to delete, the older duplicates in a window
    /// ([`Reason::DuplicateInWindow`]).
    pub duplicates: usize,
    /// Kept: labelled with the policy's id in a label format this version does not know
    /// ([`Reason::UnknownLabelFormat`]).
    pub unknown_format: usize,
}

/// The result of a [`prune`]: the plan, and one [`SnapshotOutcome`] per snapshot of the plan,
/// in the plan's order (volume, then newest first).
///
/// ```
/// use cinder_snapshots::job::{Outcome, PruneReport};
/// fn summary(report: &PruneReport) -> String {
///     let c = report.counts();
///     let mut text = format!("{} deleted, {} kept, {} failed", c.deleted, c.kept, c.failed);
///     for failed in report.failures() {
///         text.push_str(&format!("\n{}: {}", failed.snapshot().id, failed.outcome()));
///     }
///     text
/// }
/// ```
#[derive(Debug)]
pub struct PruneReport {
    plan: Plan,
    outcomes: Vec<SnapshotOutcome>,
    dry_run: bool,
}

impl PruneReport {
    /// The plan that was applied.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Every snapshot with what was done, in the plan's order.
    pub fn outcomes(&self) -> &[SnapshotOutcome] {
        &self.outcomes
    }

    /// The outcome of one snapshot, by id.
    pub fn get(&self, snapshot_id: &str) -> Option<&SnapshotOutcome> {
        self.outcomes.iter().find(|o| o.snapshot().id == snapshot_id)
    }

    /// The snapshots whose delete failed.
    pub fn failures(&self) -> impl Iterator<Item = &SnapshotOutcome> {
        self.outcomes.iter().filter(|o| matches!(o.outcome, Outcome::Failed(_)))
    }

    /// Whether this was a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// How many snapshots had each outcome.
    pub fn counts(&self) -> PruneCounts {
        let mut c = PruneCounts::default();
        for o in &self.outcomes {
            let n = match o.outcome {
                Outcome::Kept => &mut c.kept,
                Outcome::WouldDelete => &mut c.would_delete,
                Outcome::Deleted => &mut c.deleted,
                Outcome::Failed(_) => &mut c.failed,
            };
            *n = n.saturating_add(1);
            for reason in o.decision.reasons() {
                let n = match reason {
                    Reason::InError => &mut c.in_error,
                    Reason::DuplicateInWindow => &mut c.duplicates,
                    Reason::UnknownLabelFormat(_) => &mut c.unknown_format,
                    _ => continue,
                };
                *n = n.saturating_add(1);
            }
        }
        c
    }

    /// `true` when no delete failed.
    pub fn is_success(&self) -> bool {
        self.failures().next().is_none()
    }
}

/// `{"policy", "rules", "now", "dry_run", "counts": {"kept", "deleted", "would_delete",
/// "failed", "in_error", "duplicates", "unknown_format"}, "decisions": [...]}`: the [`Plan`]'s JSON with, in each decision, `"outcome"`
/// (`"kept"`, `"would delete"`, `"deleted"`, `"failed"`) and `"error"` (the failure's
/// message, else null).
impl Serialize for PruneReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PruneReport", 6)?;
        st.serialize_field("policy", self.plan.policy().id())?;
        st.serialize_field("rules", &self.plan.policy().rules_string())?;
        st.serialize_field("now", &write_time(self.plan.now(), Fraction::Trimmed))?;
        st.serialize_field("dry_run", &self.dry_run)?;
        st.serialize_field("counts", &self.counts())?;
        st.serialize_field("decisions", &self.outcomes)?;
        st.end()
    }
}

/// The decision's fields ([`Decision`]'s JSON) plus `outcome` and `error`.
impl Serialize for SnapshotOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (d, snap) = (&self.decision, self.decision.snapshot());
        let mut st = s.serialize_struct("SnapshotOutcome", 9)?;
        st.serialize_field("id", &snap.id)?;
        st.serialize_field("volume_id", &snap.volume_id)?;
        st.serialize_field("name", &snap.name)?;
        st.serialize_field("status", &snap.status)?;
        st.serialize_field("created_at", &snap.created_at.map(|t| write_time(t, Fraction::Trimmed)))?;
        st.serialize_field("action", &d.action())?;
        st.serialize_field("reasons", d.reasons())?;
        st.serialize_field("outcome", self.outcome.name())?;
        st.serialize_field("error", &self.outcome.error().map(Error::full_message))?;
        st.end()
    }
}

/// Applies a retention policy: lists the snapshots it owns, plans, deletes what the plan
/// deletes, and reports every snapshot.
///
/// 1. **Lists every candidate, to the last page**, with the one owned listing
///    ([`owned`](super::owned)). From microversion
///    3.22: one listing of the policy's label (the `metadata` filter on
///    [`POLICY_KEY`]), whatever the number of volumes given to
///    [`PruneOpts::volumes`] (with the `volume_id` filter too when there is exactly one),
///    with `with_count` from 3.45.
///    Below 3.22: one listing of everything, or one per volume given. Either way only the
///    snapshots carrying the policy's id (and of the volumes given) are kept: a server that
///    ignores a filter changes nothing; those in a label format this version does not know
///    are kept and reported by the plan. **Any listing error ends the prune before any
///    delete** and is returned, also a listing that is not exact (an id twice: see
///    [`Pager`](crate::paging::Pager)).
/// 2. **Plans** with [`retention::plan`](crate::retention::plan) at [`PruneOpts::now`].
/// 3. Unless it is a dry run, **deletes** the snapshots the plan deletes, at most
///    [`PruneOpts::concurrency`] at a time, and waits until each is gone
///    ([`wait_for_delete`](crate::snapshots::wait_for_delete) with
///    [`PruneOpts::wait_opts`]), all within ONE deadline, the wait's timeout counted from
///    the prune's start: at the deadline the waits end and no further delete is sent
///    (those are [`Outcome::Failed`] with a timed-out [`Error::Wait`]), so a prune of N
///    snapshots stuck in `deleting` ends at about the deadline, not after
///    `ceil(N / concurrency)` timeouts. A delete that fails (a 400 for the snapshot's state, a wait
///    ending in `error_deleting`, ...) is reported as [`Outcome::Failed`] and the others go
///    on.
///
/// Before each delete, the snapshot is checked again, as listed: it must be owned by the
/// policy, not pinned, `available` (or `error` when the plan deletes it as in error), and
/// not the newest `available` owned snapshot of its volume (the plan never deletes those;
/// the check guards the guarantee). A snapshot failing a check is
/// reported as [`Outcome::Failed`] with an [`Error::InvalidInput`] saying why, and no request
/// is sent for it.
///
/// # Errors
///
/// The listing's error (authentication, transport, an API error on any page, a filter the
/// microversion refuses, ...): nothing was deleted. With [`PruneOpts::all_projects`],
/// [`Error::AdminViewRequired`] when Cinder does not give the client the admin view. Failed deletes are not errors: see
/// [`PruneReport::is_success`].
///
/// ```no_run
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, PruneOpts};
/// use cinder_snapshots::retention::Policy;
///
/// let client = ServiceClient::from_env()?;
/// let policy = Policy::builder("nightly-db").keep_daily(7).keep_weekly(4).build()?;
///
/// // See what would go, and why.
/// let report = job::prune(&client, &PruneOpts::new(policy.clone()).dry_run(true))?;
/// for o in report.outcomes() {
///     println!("{} {} {}", o.snapshot().id, o.decision().action(), o.decision().reasons_text());
/// }
///
/// // Then do it.
/// let report = job::prune(&client, &PruneOpts::new(policy))?;
/// for failed in report.failures() {
///     eprintln!("{}: {}", failed.snapshot().id, failed.outcome());
/// }
/// let counts = report.counts();
/// println!("{} deleted, {} kept, {} failed", counts.deleted, counts.kept, counts.failed);
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn prune(client: &ServiceClient, opts: &PruneOpts) -> Result<PruneReport> {
    // One deadline for the whole prune (`None`: none), whatever the number of deletes.
    let started = Instant::now();
    let deadline = opts.wait.policy(client).timeout.map(|t| (started, t));
    let now = opts.now.unwrap_or_else(OffsetDateTime::now_utc);
    let candidates = list_candidates(client, opts)?;
    // The ids the deletes must never touch are read first; then every snapshot of the
    // listing moves into the plan (held once, shared with the outcomes).
    let protected: BTreeSet<String> = if opts.dry_run {
        BTreeSet::new()
    } else {
        newest_available(&candidates, &opts.policy, now).into_iter().map(str::to_owned).collect()
    };
    let plan = plan_owned(candidates, &opts.policy, now);
    let mut outcomes: Vec<SnapshotOutcome> = plan
        .decisions()
        .iter()
        .map(|d| SnapshotOutcome {
            decision: d.clone(),
            // A delete's outcome is replaced below unless this is a dry run.
            outcome: if d.is_delete() { Outcome::WouldDelete } else { Outcome::Kept },
        })
        .collect();
    if !opts.dry_run {
        let mut targets: Vec<(usize, &Snapshot)> = Vec::new();
        let mut done: Vec<(usize, Outcome)> = Vec::new();
        for (i, d) in plan.decisions().iter().enumerate().filter(|(_, d)| d.is_delete()) {
            match refusal(d.snapshot(), d.reasons(), &opts.policy, &protected) {
                Some(why) => done.push((i, Outcome::Failed(Error::InvalidInput(why)))),
                None => targets.push((i, d.snapshot())),
            }
        }
        let deleted = delete_all(client, &targets, opts, deadline);
        done.extend(targets.iter().map(|(i, _)| *i).zip(deleted));
        for (i, outcome) in done {
            if let Some(o) = outcomes.get_mut(i) {
                o.outcome = outcome;
            }
        }
    }
    Ok(PruneReport { plan, outcomes, dry_run: opts.dry_run })
}

/// Every snapshot owned by the policy (on the volumes given), and every one labelled with its
/// id in a label format this version does not know, each once, listed to the end with the
/// one owned listing ([`owned`]: from 3.22 one listing of the policy's label whatever the
/// number of volumes, so a thousand volumes cost a few requests, not a thousand; below 3.22
/// one listing per volume given, or one of every snapshot without volumes).
fn list_candidates(client: &ServiceClient, opts: &PruneOpts) -> Result<Vec<Snapshot>> {
    if opts.volumes.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(Vec::new());
    }
    if opts.all_projects {
        // A member's all_tenants is dropped by Cinder without a word: refuse instead.
        crate::volumes::require_admin_view(client)?;
    }
    owned(client, &owned_query(opts))?.all()
}

/// The owned listing's query of a prune.
fn owned_query(opts: &PruneOpts) -> OwnedQuery {
    let mut query = OwnedQuery::new(opts.policy.id()).all_projects(opts.all_projects).unknown_formats(true);
    if let Some(n) = opts.page_size {
        query = query.page_size(n);
    }
    match &opts.volumes {
        Some(set) => query.volumes(set.iter().cloned()),
        None => query,
    }
}

/// The ids of the newest `available` owned snapshot of each volume: among all of them, and
/// among those not dated after `now` (equal times: the smaller id counts as the newer, as in
/// the plan).
fn newest_available<'a>(snapshots: &'a [Snapshot], policy: &Policy, now: OffsetDateTime) -> BTreeSet<&'a str> {
    let mut newest: BTreeMap<(&str, bool), (OffsetDateTime, &str)> = BTreeMap::new();
    for s in snapshots {
        let Some(at) = s.created_at else { continue };
        if s.status != SnapshotStatus::Available || !is_owned(s, policy.id()) {
            continue;
        }
        let scopes: &[bool] = if at <= now { &[false, true] } else { &[false] };
        for &not_future in scopes {
            let slot = newest.entry((s.volume_id.as_str(), not_future)).or_insert((at, s.id.as_str()));
            if at > slot.0 || (at == slot.0 && s.id.as_str() < slot.1) {
                *slot = (at, s.id.as_str());
            }
        }
    }
    newest.into_values().map(|(_, id)| id).collect()
}

/// Why a snapshot the plan deletes (for `reasons`) must not be deleted after all, if it must
/// not.
fn refusal(snap: &Snapshot, reasons: &[Reason], policy: &Policy, protected: &BTreeSet<String>) -> Option<String> {
    let id = &snap.id;
    if !is_owned(snap, policy.id()) {
        return Some(format!(
            "refusing to delete snapshot {id}: it is not owned by retention policy {:?} (no {POLICY_KEY} label with that id)",
            policy.id()
        ));
    }
    if is_pinned(snap) {
        return Some(format!("refusing to delete snapshot {id}: it is pinned ({PIN_KEY})"));
    }
    let in_error = reasons == [Reason::InError];
    if in_error && snap.status != SnapshotStatus::Error {
        return Some(format!("refusing to delete snapshot {id}: it is {}, not error", snap.status));
    }
    if !in_error && snap.status != SnapshotStatus::Available {
        return Some(format!("refusing to delete snapshot {id}: it is {}, not available", snap.status));
    }
    if protected.contains(id) {
        return Some(format!(
            "refusing to delete snapshot {id}: it is the newest available snapshot of volume {} owned by retention policy {:?}",
            snap.volume_id,
            policy.id()
        ));
    }
    None
}

/// Deletes and waits for each target, at most `opts.concurrency` at a time, all by the one
/// `deadline` (its start and length); one outcome per target, in order.
fn delete_all(
    client: &ServiceClient,
    targets: &[(usize, &Snapshot)],
    opts: &PruneOpts,
    deadline: Option<(Instant, Duration)>,
) -> Vec<Outcome> {
    let never = AtomicBool::new(false);
    let done = crate::pool::in_pool(targets.len(), opts.concurrency, "prune-delete", &never, |i| {
        let (_, snap) = targets.get(i)?;
        let wait = match deadline {
            None => opts.wait.clone(),
            Some((start, timeout)) => {
                let elapsed = start.elapsed();
                let left = timeout.saturating_sub(elapsed);
                if left.is_zero() {
                    return Some(Outcome::Failed(not_sent(snap, elapsed)));
                }
                opts.wait.clone().timeout(left)
            }
        };
        Some(delete_one(client, snap, &wait))
    });
    done.into_iter()
        .zip(targets)
        .map(|(slot, (_, snap))| {
            slot.unwrap_or_else(|| {
                Outcome::Failed(Error::InvalidInput(format!("the delete of snapshot {} did not complete: its worker stopped", snap.id)))
            })
        })
        .collect()
}

/// The prune's deadline passed before this snapshot's delete was sent (it was not sent).
fn not_sent(snap: &Snapshot, elapsed: Duration) -> Error {
    Error::Wait(Box::new(WaitError {
        kind: WaitErrorKind::TimedOut,
        resource: "snapshot",
        id: snap.id.clone(),
        target: "deleted".to_owned(),
        last_status: Some(snap.status.to_string()),
        elapsed,
        user_message: None,
        last: None,
    }))
}

/// Deletes one snapshot and waits until it is gone.
fn delete_one(client: &ServiceClient, snap: &Snapshot, wait: &WaitOpts) -> Outcome {
    match snapshots::delete(client, &snap.id) {
        Ok(()) => {}
        Err(e) if e.is_not_found() => return Outcome::Deleted,
        Err(e) => return Outcome::Failed(e),
    }
    match snapshots::wait_for_delete(client, &snap.id, wait) {
        Ok(()) => Outcome::Deleted,
        Err(e) => Outcome::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn snap(id: &str, volume: &str, created: &str, status: &str, owner: Option<&str>) -> Snapshot {
        let metadata = owner.map_or(json!({}), |o| json!({ POLICY_KEY: o }));
        serde_json::from_value(json!({"id": id, "volume_id": volume, "status": status, "created_at": created, "metadata": metadata}))
            .unwrap()
    }

    const NOW: OffsetDateTime = datetime!(2026-11-28 00:00 UTC);

    #[test]
    fn the_newest_available_owned_snapshot_of_each_volume_is_protected() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let history = [
            snap("a1", "va", "2026-11-27T00:00:00Z", "available", Some("p")),
            snap("a0", "va", "2026-11-27T00:00:00Z", "available", Some("p")), // same time, smaller id: newer
            snap("a2", "va", "2026-11-26T00:00:00Z", "available", Some("p")),
            snap("ac", "va", "2026-11-27T12:00:00Z", "creating", Some("p")),
            snap("am", "va", "2026-11-27T13:00:00Z", "available", None),
            snap("af", "va", "2026-11-29T00:00:00Z", "available", Some("p")), // future: protected too
            snap("b1", "vb", "2026-11-01T00:00:00Z", "available", Some("p")),
            snap("bo", "vb", "2026-11-02T00:00:00Z", "available", Some("other")),
        ];
        let protected = newest_available(&history, &policy, NOW);
        assert_eq!(protected.into_iter().collect::<Vec<_>>(), ["a0", "af", "b1"]);
    }

    #[test]
    fn the_checks_before_a_delete_refuse_with_the_reason() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let protected = BTreeSet::from(["n".to_owned()]);
        let ok = snap("o", "v", "2026-11-01T00:00:00Z", "available", Some("p"));
        assert_eq!(refusal(&ok, &[], &policy, &protected), None);
        let errored = snap("e", "v", "2026-11-01T00:00:00Z", "error", Some("p"));
        assert_eq!(refusal(&errored, &[Reason::InError], &policy, &protected), None);
        assert_eq!(
            refusal(&ok, &[Reason::InError], &policy, &protected).as_deref(),
            Some("refusing to delete snapshot o: it is available, not error")
        );
        let mut pinned = ok.clone();
        pinned.metadata.insert(PIN_KEY.to_owned(), "yes".to_owned());
        assert_eq!(
            refusal(&pinned, &[], &policy, &protected).as_deref(),
            Some("refusing to delete snapshot o: it is pinned (cinder-snapshots.pin)")
        );
        let cases = [
            (
                snap("m", "v", "2026-11-01T00:00:00Z", "available", None),
                "refusing to delete snapshot m: it is not owned by retention policy \"p\" (no cinder-snapshots.policy label with that id)",
            ),
            (
                snap("x", "v", "2026-11-01T00:00:00Z", "available", Some("P")),
                "refusing to delete snapshot x: it is not owned by retention policy \"p\" (no cinder-snapshots.policy label with that id)",
            ),
            (snap("e", "v", "2026-11-01T00:00:00Z", "error", Some("p")), "refusing to delete snapshot e: it is error, not available"),
            (
                snap("n", "v", "2026-11-01T00:00:00Z", "available", Some("p")),
                "refusing to delete snapshot n: it is the newest available snapshot of volume v owned by retention policy \"p\"",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(refusal(&s, &[], &policy, &protected).as_deref(), Some(want), "{}", s.id);
        }
    }

    /// The prune lists through the one owned listing, with the policy's id, its volumes,
    /// the project scope, and the snapshots in a label format it does not know (the plan
    /// keeps and reports them).
    #[test]
    fn the_prune_lists_with_the_one_owned_listing() {
        let policy = Policy::builder("nightly").keep_daily(1).build().unwrap();
        let opts = PruneOpts::new(policy).all_projects(true);
        assert_eq!(owned_query(&opts), OwnedQuery::new("nightly").all_projects(true).unknown_formats(true));
        assert_eq!(
            owned_query(&opts.volumes(["v"]).page_size(7)),
            OwnedQuery::new("nightly").all_projects(true).unknown_formats(true).volumes(["v"]).page_size(7)
        );
    }

    #[test]
    fn outcomes_display() {
        assert_eq!(Outcome::Kept.to_string(), "kept");
        assert_eq!(Outcome::WouldDelete.to_string(), "would delete");
        assert_eq!(Outcome::Deleted.to_string(), "deleted");
        assert_eq!(Outcome::Failed(Error::InvalidInput("no".into())).to_string(), "failed: invalid input: no");
    }
}
