//! [`run`]: select, find what the window has, create, wait, prune, report.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::hooks::PostOutcome;
use super::opts::JobOpts;
use super::opts::Selected;
use super::prune::{Outcome, PruneOpts, PruneReport};
use super::report::{JobReport, Progress, PruneError, VolumeAction, VolumeError, VolumeReport, Warning};
use super::{RUN_KEY, WINDOW_KEY, label_time};
use crate::client::{Microversion, PollPolicy, ServiceClient};
use crate::error::{Error, Result};
use crate::retention::{self, is_owned};
use crate::snapshots::{self, CreateOpts, Snapshot, SnapshotStatus, WaitOpts};
use crate::volumes::VolumeStatus;
use crate::waiting::{Pacer, Paused};

/// From this microversion an in-use volume is snapshotted without `force`, and `force=false`
/// is a 400.
const IN_USE_WITHOUT_FORCE: Microversion = Microversion::new(3, 66);
/// The longest a snapshot's name may be (Cinder's limit).
const MAX_NAME_CHARS: usize = 255;

/// Runs the job (see the [module docs](super) for the steps and guarantees).
///
/// # Errors
///
/// Before anything is created: an empty selection ([`Error::InvalidInput`] "no volumes
/// selected"), every project asked for without Cinder's admin view
/// ([`Error::AdminViewRequired`]), a window out of the calendar's range, a selection's listing
/// error (a tag listing that fails on any page, an authentication error), the listing of the
/// window's snapshots, and the quota preflight's: [`Error::QuotaExceeded`] with
/// [`JobOpts::all_or_nothing`] when not every volume fits, the listing of the policy's
/// snapshots when the room is short, the quota read again after `prune_first` deleted. A
/// volume named that does not resolve (no such id, no name or several matching) is not an
/// error: it is a [`Failed`](VolumeAction::Failed) volume of the report with
/// [`VolumeReport::unresolved`], and the others are done. From then on, failures are per
/// volume, in the report: a run that has created snapshots always returns its report.
///
/// A run that fails (an error, or a report that is not a success) runs
/// [`JobOpts::on_failure`] once at its end ([`JobReport::on_failure`]).
pub fn run(client: &ServiceClient, opts: &JobOpts) -> Result<JobReport> {
    let result = run_job(client, opts);
    let Some(cmd) = opts.hooks.on_failure.as_deref() else { return result };
    match result {
        Ok(mut report) if !report.is_success() => {
            report.on_failure = Some(super::hooks::on_failure(cmd, opts, Some(&report), None));
            Ok(report)
        }
        Err(e) => {
            let _ = super::hooks::on_failure(cmd, opts, None, Some(&e));
            Err(e)
        }
        ok => ok,
    }
}

/// [`run`] but for its on-failure hook.
fn run_job(client: &ServiceClient, opts: &JobOpts) -> Result<JobReport> {
    let started = Instant::now();
    if opts.selection.is_empty() {
        return Err(super::opts::no_selection());
    }
    let mv = client.microversion()?;
    if opts.selection.is_all_projects() {
        // A member's all_tenants is dropped by Cinder without a word: refuse instead.
        crate::volumes::require_admin_view(client)?;
    }
    let super::opts::Resolved { found: volumes, missing, elsewhere } =
        opts.selection.resolve_all(client, opts.page_size, opts.policy.id())?;
    let no_volume_matched = volumes.is_empty() && missing.is_empty() && elsewhere == 0 && !opts.allow_empty;
    // The window on Cinder's clock: the selection's answers carried its Date (a host whose
    // clock is a day behind must not take yesterday's window for today's). JobOpts::now wins.
    let clock_skew = client.clock_skew();
    let now = opts.now.unwrap_or_else(|| client.now());
    let window = opts.window();
    let policy = &opts.policy;
    let window_start = window
        .start(now, policy.calendar())
        .ok_or_else(|| Error::InvalidInput(format!("the {window} window containing {} is out of range", label_time(now))))?;
    let window_label = label_time(window_start);

    let run_id = new_run_id();
    let mut job = Job {
        hooks: super::hooks::Tracker::new(&opts.hooks, policy.id(), &window_label, &run_id),
        interrupted: false,
        client,
        opts,
        started,
        mv,
        window_label,
        now,
        run_id,
        steps: volumes.iter().map(|_| Step::Selected).collect(),
        reports: volumes.iter().map(|v| VolumeReport::new(v.id.clone(), v.name.clone(), v.status.as_str().to_owned())).collect(),
        timed_out: false,
        over_quota: false,
        polls: 0,
        poll: opts.poll_policy(client),
        quota: None,
        deadline: client.sleeper().now().checked_add(opts.deadline),
    };
    let name = |volume_id: &str| snapshot_name(policy.id(), window_start, volume_id);
    let to_create = job.plan(&volumes)?;
    let to_create = if opts.dry_run { to_create } else { job.preflight(&volumes, to_create, now)? };
    // The volumes named that did not resolve come after the others, in the order given.
    for m in missing {
        let mut r = VolumeReport::new(m.given, m.name, String::new());
        r.unresolved = Some(m.why);
        job.reports.push(r);
        job.steps.push(Step::Failed { snap: None, error: VolumeError::Lookup(Arc::new(m.error)) });
    }
    // The reports hold what the rest needs: memory stays flat in N but for the report.
    drop(volumes);
    if !opts.dry_run {
        job.create_all(&to_create, &name, now);
        job.report_progress();
        job.wait();
        job.clean_errored();
        job.thaw(Some(PostOutcome::Failed));
    }
    let prune = job.prune();
    job.report_progress();
    let Job { steps, reports, run_id, timed_out, over_quota, polls, quota, interrupted, .. } = job;
    Ok(JobReport {
        run_id,
        window,
        window_start,
        dry_run: opts.dry_run,
        timed_out,
        over_quota,
        no_volume_matched,
        all_projects: opts.selection.is_all_projects(),
        clock_skew,
        elapsed: started.elapsed(),
        polls,
        volumes: steps.into_iter().zip(reports).map(|(step, report)| step.report(report)).collect(),
        prune,
        quota,
        interrupted,
        on_failure: None,
    })
}

/// Where one volume is in a run: each step of the run moves it on; its public
/// [`VolumeReport`] (action, snapshot, error) is derived from it at the end, and the
/// [`Progress`] counts as the run goes.
#[derive(Debug)]
enum Step {
    /// Selected; to be snapshotted (the creates have not reached it yet).
    Selected,
    /// Dry run: a snapshot would be made.
    WouldCreate,
    /// Dry run: this window's snapshot exists.
    WouldReuse(Snap),
    /// Not snapshotted (its status, the quota, a stop before its create, its pre-hook).
    Skipped(VolumeError),
    /// This window's snapshot (made, adopted or reused) is waited for: its last status seen
    /// is on its way to `available`.
    Waiting(Snap),
    /// Its snapshot was `creating` and is no longer (a poll of the snapshots still
    /// `creating` left it out): its final status comes from the next whole listing.
    Left(Snap),
    /// Its create's answer was lost: the wait looks for its snapshot by volume.
    Lost(Arc<Error>),
    /// Its snapshot went to `error` during the wait: the job deletes it after the wait.
    Errored(Snap),
    /// Its snapshot is `available`.
    Available(Snap),
    /// Failed, with its snapshot when there is one.
    Failed { snap: Option<Snap>, error: VolumeError },
}

/// This window's snapshot of a volume, as last seen.
#[derive(Debug, Clone)]
struct Snap {
    id: String,
    status: SnapshotStatus,
    /// Made (or adopted) by this run, or found and reused.
    reused: bool,
}

impl Snap {
    fn new(id: String, status: SnapshotStatus, reused: bool) -> Self {
        Snap { id, status, reused }
    }

    fn action(&self) -> VolumeAction {
        if self.reused { VolumeAction::Reused } else { VolumeAction::Created }
    }
}

impl Step {
    /// The report's action.
    fn action(&self) -> VolumeAction {
        match self {
            Step::Selected | Step::Skipped(_) => VolumeAction::Skipped,
            Step::WouldCreate => VolumeAction::WouldCreate,
            Step::WouldReuse(_) => VolumeAction::WouldReuse,
            Step::Waiting(s) | Step::Left(s) | Step::Available(s) => s.action(),
            Step::Lost(_) | Step::Errored(_) | Step::Failed { .. } => VolumeAction::Failed,
        }
    }

    /// The snapshot of this window, if the volume has one.
    fn snap(&self) -> Option<&Snap> {
        match self {
            Step::WouldReuse(s) | Step::Waiting(s) | Step::Left(s) | Step::Errored(s) | Step::Available(s) => Some(s),
            Step::Failed { snap, .. } => snap.as_ref(),
            Step::Selected | Step::WouldCreate | Step::Skipped(_) | Step::Lost(_) => None,
        }
    }

    /// Why it failed or was skipped (what it is at the end of the run).
    fn error(&self) -> Option<VolumeError> {
        match self {
            Step::Skipped(e) | Step::Failed { error: e, .. } => Some(e.clone()),
            Step::Lost(e) => Some(VolumeError::CreateLost(e.clone())),
            Step::Errored(s) => {
                Some(VolumeError::SnapshotError { snapshot_id: s.id.clone(), message: None, deleted: false, delete_error: None })
            }
            _ => None,
        }
    }

    /// Whether its snapshot is still waited for (or looked for, after a lost answer).
    fn is_pending(&self) -> bool {
        matches!(self, Step::Waiting(_) | Step::Left(_) | Step::Lost(_))
    }

    /// The volume's public report: `report` (its facts and what the steps gathered) with the
    /// action, the snapshot and the error of this step.
    fn report(self, mut report: VolumeReport) -> VolumeReport {
        report.action = self.action();
        let snap = self.snap();
        report.snapshot_id = snap.map(|s| s.id.clone());
        report.snapshot_status = snap.map(|s| s.status.clone());
        report.error = self.error();
        report
    }
}

/// A run in progress.
struct Job<'a> {
    client: &'a ServiceClient,
    opts: &'a JobOpts,
    started: Instant,
    mv: Microversion,
    window_label: String,
    /// The run's time: [`JobOpts::now`], else Cinder's clock when the run selected.
    now: OffsetDateTime,
    run_id: String,
    /// Where each volume is, in the order selected.
    steps: Vec<Step>,
    /// Each volume's facts and what the steps gather (zombies, warnings, hooks, quota,
    /// prune); its action, snapshot and error come from `steps` at the end.
    reports: Vec<VolumeReport>,
    timed_out: bool,
    over_quota: bool,
    polls: usize,
    /// The one poll configuration of the run: the client's [`PollPolicy`] with
    /// [`JobOpts::timeout`] and [`JobOpts::poll_interval`] laid over it.
    poll: PollPolicy,
    /// The quota preflight's findings.
    quota: Option<super::QuotaPreflight>,
    /// The end of the run's [`JobOpts::deadline`] on the client's clock (`None`: beyond it).
    deadline: Option<Instant>,
    /// The volumes between their pre-hook and their post-hook.
    hooks: super::hooks::Tracker,
    /// The cancel flag stopped the run.
    interrupted: bool,
}

/// The result of one create.
enum Created {
    /// The new snapshot's id and status.
    Made(String, SnapshotStatus),
    /// Cinder's 413.
    OverQuota(Arc<Error>),
    /// A rate limiter refused every send (or the deadline came first): the error, and how
    /// many times it refused.
    Limited(Error, u32),
    /// The run's deadline passes before the create can be sent.
    PastDeadline,
    /// The answer was lost: the snapshot may exist.
    Lost(Error),
    Refused(Error),
    /// The pre-hook failed: no create.
    PreHookFailed(String),
    /// The cancel flag was set before the create.
    Interrupted,
    /// The worker panicked: the panic's message.
    Panicked(String),
}

impl Job<'_> {
    /// The listing of this window's owned snapshots (the one owned listing, to the last page).
    fn window_listing(&self) -> Result<super::Owned> {
        super::owned(self.client, &self.window_query())
    }

    /// The query of this window's owned snapshots.
    fn window_query(&self) -> super::OwnedQuery {
        let mut query = super::OwnedQuery::new(self.opts.policy.id())
            .label(WINDOW_KEY, self.window_label.as_str())
            .all_projects(self.opts.selection.is_all_projects());
        if let Some(n) = self.opts.page_size {
            query = query.page_size(n);
        }
        query
    }

    /// Whether a listed snapshot is the policy's, for this window (checked again whatever
    /// the server filtered).
    fn is_ours(&self, snap: &Snapshot) -> bool {
        is_owned(snap, self.opts.policy.id()) && snap.metadata.get(WINDOW_KEY).is_some_and(|w| *w == self.window_label)
    }

    /// Step 1 and 2: skips the volumes that cannot be snapshotted, reuses the window's
    /// snapshots, deletes the window's zombies; returns the indexes of the volumes to
    /// snapshot.
    fn plan(&mut self, volumes: &[Selected]) -> Result<Vec<usize>> {
        let wanted: HashSet<&str> = volumes.iter().map(|v| v.id.as_str()).collect();
        let mut existing: HashMap<String, Vec<Snapshot>> = HashMap::new();
        if !volumes.is_empty() {
            for snap in self.window_listing()? {
                let snap = snap?;
                if self.is_ours(&snap) && wanted.contains(snap.volume_id.as_str()) {
                    existing.entry(snap.volume_id.clone()).or_default().push(snap);
                }
            }
        }
        let dry = self.opts.dry_run;
        let mut to_create = Vec::new();
        for (i, volume) in volumes.iter().enumerate() {
            let (Some(step), Some(report)) = (self.steps.get_mut(i), self.reports.get_mut(i)) else { continue };
            let mut found = existing.remove(&volume.id).unwrap_or_default();
            // Newest first (equal times: smaller id first), as the retention plan orders
            // them, so that the one reused is the one the plan keeps when two runs made one
            // each (it deletes the older as a duplicate in the window); the choice does not
            // depend on the listing's order.
            found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
            let reusable =
                found.iter().find(|s| s.status == SnapshotStatus::Available).or_else(|| found.iter().find(|s| is_transient(&s.status)));
            if let Some(s) = reusable {
                let snap = Snap::new(s.id.clone(), s.status.clone(), true);
                *step = match &s.status {
                    _ if dry => Step::WouldReuse(snap),
                    SnapshotStatus::Available => Step::Available(snap),
                    _ => Step::Waiting(snap),
                };
                continue;
            }
            // The window's snapshot is reused whatever the volume's status now; a new one
            // needs the volume available or in-use.
            if !matches!(volume.status, VolumeStatus::Available | VolumeStatus::InUse) {
                *step = Step::Skipped(VolumeError::VolumeStatus(volume.status.clone()));
                continue;
            }
            for zombie in found.iter().filter(|s| s.status.is_failure()) {
                if dry {
                    report.zombies.push(zombie.id.clone());
                    continue;
                }
                match snapshots::delete(self.client, &zombie.id) {
                    Ok(()) => report.zombies.push(zombie.id.clone()),
                    Err(e) if e.is_not_found() => report.zombies.push(zombie.id.clone()),
                    Err(e) => report.warnings.push(Warning::ZombieNotDeleted {
                        snapshot_id: zombie.id.clone(),
                        status: zombie.status.clone(),
                        error: Arc::new(e),
                    }),
                }
            }
            if dry {
                *step = Step::WouldCreate;
            } else {
                to_create.push(i);
            }
        }
        Ok(to_create)
    }

    /// Step 3: the creates, `concurrency` at a time; a 413 stops the ones not yet sent. A
    /// worker that panics fails its volume (the others go on).
    fn create_all(&mut self, to_create: &[usize], name: &(dyn Fn(&str) -> String + Sync), now: OffsetDateTime) {
        let mut labels = retention::labels(&self.opts.policy, now);
        labels.insert(WINDOW_KEY.to_owned(), self.window_label.clone());
        labels.insert(RUN_KEY.to_owned(), self.run_id.clone());
        let description = format!("cinder-snapshots job, window {} ({}), run {}", self.window_label, self.opts.window(), self.run_id);
        let force_in_use = self.mv < IN_USE_WITHOUT_FORCE;
        let this = &*self;
        let reports = &self.reports;
        let create_opts = |i: usize| -> Option<CreateOpts> {
            let volume = reports.get(i)?;
            let base = CreateOpts::new(volume.volume_id.as_str())
                .name(name(&volume.volume_id))
                .description(description.as_str())
                .force(force_in_use && volume.volume_status == VolumeStatus::InUse.as_str());
            Some(labels.iter().fold(base, |o, (k, v)| o.metadata(k, v)))
        };
        let stop = AtomicBool::new(false);
        let create_one = |i: usize| -> Option<Created> {
            let opts = create_opts(i)?;
            let volume_id = reports.get(i).map(|r| r.volume_id.as_str())?;
            if this.opts.is_cancelled() {
                return Some(Created::Interrupted);
            }
            if let Some(why) = reports.get(i).and_then(|r| this.hooks.pre(i, r)) {
                return Some(Created::PreHookFailed(why));
            }
            if this.opts.is_cancelled() {
                return Some(Created::Interrupted);
            }
            Some(match this.create_paced(&opts, volume_id) {
                Paced::Made(snap) => Created::Made(snap.id, snap.status),
                Paced::Limited(e, refused) => Created::Limited(e, refused),
                Paced::PastDeadline => Created::PastDeadline,
                Paced::Failed(e) if e.is_over_quota() => {
                    stop.store(true, Ordering::SeqCst);
                    Created::OverQuota(Arc::new(e))
                }
                Paced::Failed(e) if maybe_created(&e) => Created::Lost(e),
                Paced::Failed(e) => Created::Refused(e),
            })
        };
        let results = crate::pool::in_pool(to_create.len(), self.opts.concurrency, "job-create", &stop, |n| {
            let i = *to_create.get(n)?;
            // A panic is this volume's failure, not the end of its worker (nor of the run).
            std::panic::catch_unwind(AssertUnwindSafe(|| create_one(i)))
                .unwrap_or_else(|panic| Some(Created::Panicked(panic_message(panic.as_ref()))))
        });
        self.hooks.record(&mut self.reports);
        let quota_error: Option<Arc<Error>> = results.iter().find_map(|r| match r {
            Some(Created::OverQuota(e)) => Some(e.clone()),
            _ => None,
        });
        for (result, &i) in results.into_iter().zip(to_create) {
            let Some(step) = self.steps.get_mut(i) else { continue };
            *step = match result {
                Some(Created::Made(id, status)) => Step::Waiting(Snap::new(id, status, false)),
                Some(Created::OverQuota(e)) => {
                    self.over_quota = true;
                    Step::Skipped(VolumeError::OverQuota(e))
                }
                Some(Created::Lost(e)) => Step::Lost(Arc::new(e)),
                Some(Created::Refused(e)) => Step::Failed { snap: None, error: VolumeError::Create(Arc::new(e)) },
                Some(Created::Limited(e, refused)) => {
                    Step::Failed { snap: None, error: VolumeError::RateLimited { error: Arc::new(e), refused } }
                }
                Some(Created::PastDeadline) => {
                    Step::Failed { snap: None, error: VolumeError::PastDeadline { deadline: self.opts.deadline } }
                }
                Some(Created::PreHookFailed(why)) => Step::Skipped(VolumeError::PreHook(why)),
                Some(Created::Interrupted) => {
                    self.interrupted = true;
                    Step::Skipped(VolumeError::Interrupted)
                }
                Some(Created::Panicked(message)) => Step::Failed { snap: None, error: VolumeError::Panicked(message) },
                None => Step::Skipped(quota_error.clone().map_or(VolumeError::NotSent, VolumeError::OverQuota)),
            };
        }
        self.thaw(None);
    }

    /// Whether some volume's snapshot is still waited for.
    fn any_pending(&self) -> bool {
        self.steps.iter().any(Step::is_pending)
    }

    /// Step 4: polls (see [`poll`](Self::poll)) until every snapshot is settled or the deadline.
    fn wait(&mut self) {
        let p = &self.poll;
        let left = self.time_left();
        let mut pacer = Pacer::new(Some(p.timeout.map_or(left, |t| t.min(left))), p.initial_interval, p.backoff_factor, p.max_interval);
        let max_transient = p.max_transient_errors;
        let mut transient = 0u32;
        while self.any_pending() {
            match pacer.pause(|| self.opts.is_cancelled() || self.hooks.due()) {
                Paused::TimedOut => {
                    self.time_out(pacer.elapsed());
                    break;
                }
                Paused::Cancelled if self.opts.is_cancelled() => {
                    self.interrupted = true;
                    self.fail_waiting(&VolumeError::InterruptedWaiting);
                    break;
                }
                Paused::Cancelled => {
                    self.thaw(None);
                    continue;
                }
                Paused::Slept => {}
            }
            match self.poll() {
                Ok(()) => transient = 0,
                // A 404 during a poll is a marker deleted between two pages (a zombie going
                // away): the next poll lists again.
                Err(e) if (e.is_transient() || e.is_not_found()) && transient < max_transient => {
                    transient = transient.saturating_add(1);
                    continue;
                }
                Err(e) => {
                    self.fail_waiting(&VolumeError::WaitListing(Arc::new(e)));
                    break;
                }
            }
            self.report_progress();
            if !self.steps.iter().any(|s| matches!(s, Step::Waiting(_) | Step::Left(_))) {
                // A lost create's snapshot exists by now if it was made at all: Cinder
                // writes it before answering.
                self.give_up_lost();
            }
            self.thaw(None);
        }
        self.thaw(None);
    }

    /// Runs the post-hook of every volume whose snapshot left `creating` (or was never
    /// made), of every volume whose hook timeout since its pre-hook passed, and with
    /// `force`, of every one still waited for. A post-hook that fails fails its volume.
    fn thaw(&mut self, force: Option<PostOutcome>) {
        for (i, since) in self.hooks.frozen() {
            let Some(step) = self.steps.get(i) else { continue };
            let outcome = match (step.is_pending(), force) {
                (true, Some(o)) => o,
                (true, None) if since.elapsed() >= self.hooks.timeout() => PostOutcome::HookTimeout,
                (true, None) => continue,
                (false, _) => self.settled_outcome(step),
            };
            let Some(r) = self.reports.get_mut(i) else { continue };
            let snap = step.snap();
            let Some(why) = self.hooks.post(i, r, (snap.map(|s| s.id.as_str()), snap.map(|s| &s.status)), outcome) else { continue };
            let failed = Step::Failed { snap: snap.cloned(), error: VolumeError::PostHook { earlier: step.error().map(Box::new), why } };
            if let Some(step) = self.steps.get_mut(i) {
                *step = failed;
            }
        }
    }

    /// Why a volume no longer waited for gets its post-hook.
    fn settled_outcome(&self, step: &Step) -> PostOutcome {
        match step.snap() {
            None => PostOutcome::NotCreated,
            Some(s) if s.status == SnapshotStatus::Available => PostOutcome::Available,
            Some(s) if s.status.is_failure() => PostOutcome::Error,
            _ if self.interrupted => PostOutcome::Interrupted,
            _ if self.timed_out => PostOutcome::Deadline,
            _ => PostOutcome::Failed,
        }
    }

    /// One poll, reading only what is pending where it can. The whole window (every
    /// status) on the first poll, while a lost create's snapshot is looked for, while a
    /// volume waits for its post-hook (its outcome needs the final status at once), while a
    /// snapshot waited for is in a transient status other than `creating` (a reused one
    /// `backing-up`, say), and once none is left `creating`. Otherwise only the snapshots
    /// still `creating` (`status=creating`, with the labels' filter): the rows read shrink
    /// as they finish. A snapshot missing from that listing has left `creating`
    /// ([`Step::Left`]); when none is left `creating`, one whole listing (in the same poll)
    /// reads every final status: no GET per snapshot, about `ceil(pending / page)` requests
    /// per poll.
    fn poll(&mut self) -> Result<()> {
        if !self.whole_listing_needed() {
            self.list_creating()?;
            if self.steps.iter().any(|s| matches!(s, Step::Waiting(_))) {
                self.polls = self.polls.saturating_add(1);
                return Ok(());
            }
        }
        self.list_whole()?;
        self.polls = self.polls.saturating_add(1);
        Ok(())
    }

    /// Whether the next poll lists the whole window (see [`poll`](Self::poll)).
    fn whole_listing_needed(&self) -> bool {
        let mut waiting = false;
        for step in &self.steps {
            match step {
                Step::Lost(_) => return true,
                Step::Waiting(s) if s.status != SnapshotStatus::Creating => return true,
                Step::Waiting(_) => waiting = true,
                _ => {}
            }
        }
        self.polls == 0 || !waiting || !self.hooks.frozen().is_empty()
    }

    /// The window's snapshots still `creating`: those waited for and not in it have left
    /// `creating`.
    fn list_creating(&mut self) -> Result<()> {
        let mut still: HashSet<String> = HashSet::new();
        for snap in self.creating_listing()? {
            let snap = snap?;
            if snap.status == SnapshotStatus::Creating && self.is_ours(&snap) {
                still.insert(snap.id);
            }
        }
        for step in &mut self.steps {
            if let Step::Waiting(snap) = step {
                if !still.contains(&snap.id) {
                    *step = Step::Left(snap.clone());
                }
            }
        }
        Ok(())
    }

    /// The listing of this window's owned snapshots still `creating` (to the last page):
    /// [`window_listing`](Self::window_listing)'s with `status=creating`, which Cinder
    /// allows every caller beside the metadata filter (its default `resource_filters.json`)
    /// and ANDs with it.
    fn creating_listing(&self) -> Result<super::Owned> {
        super::owned(self.client, &self.window_query().status(SnapshotStatus::Creating))
    }

    /// The whole window's listing: each waited snapshot's status (those that left
    /// `creating` too), the lost creates' snapshots adopted by volume.
    fn list_whole(&mut self) -> Result<()> {
        let known_zombies: HashSet<&str> = self.reports.iter().flat_map(|r| r.zombies.iter().map(String::as_str)).collect();
        let mut waited: HashMap<String, usize> = HashMap::new();
        let mut lost: HashMap<&str, usize> = HashMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Waiting(s) | Step::Left(s) => {
                    waited.insert(s.id.clone(), i);
                }
                Step::Lost(_) => {
                    if let Some(r) = self.reports.get(i) {
                        lost.insert(r.volume_id.as_str(), i);
                    }
                }
                _ => {}
            }
        }
        let mut seen: HashMap<String, SnapshotStatus> = HashMap::new();
        let mut adopted: Vec<(usize, String)> = Vec::new();
        for snap in self.window_listing()? {
            let snap = snap?;
            if !self.is_ours(&snap) {
                continue;
            }
            if waited.contains_key(&snap.id) {
                seen.insert(snap.id, snap.status);
            } else if let Some(&i) = lost.get(snap.volume_id.as_str()) {
                if !known_zombies.contains(snap.id.as_str()) && !matches!(snap.status, SnapshotStatus::Deleting | SnapshotStatus::Deleted) {
                    lost.remove(snap.volume_id.as_str());
                    adopted.push((i, snap.id.clone()));
                    seen.insert(snap.id, snap.status);
                }
            }
        }
        for (i, id) in adopted {
            if let Some(step) = self.steps.get_mut(i) {
                *step = Step::Waiting(Snap::new(id.clone(), SnapshotStatus::Creating, false));
                waited.insert(id, i);
            }
        }
        for (id, i) in waited {
            let Some(step) = self.steps.get_mut(i) else { continue };
            let (Step::Waiting(mut snap) | Step::Left(mut snap)) = std::mem::replace(step, Step::Selected) else { continue };
            let Some(status) = seen.remove(&id) else {
                *step = Step::Failed { snap: Some(snap), error: VolumeError::Disappeared { snapshot_id: id } };
                continue;
            };
            snap.status = status;
            *step = match &snap.status {
                SnapshotStatus::Available => Step::Available(snap),
                SnapshotStatus::Error => Step::Errored(snap),
                s if is_transient(s) => Step::Waiting(snap),
                s => {
                    let error = VolumeError::WentTo { snapshot_id: id, status: s.clone() };
                    Step::Failed { snap: Some(snap), error }
                }
            };
        }
        Ok(())
    }

    /// The deadline passed: every snapshot still waited for fails, and so does every lost
    /// create.
    /// Those that left `creating` get their final status from one last whole listing first.
    fn time_out(&mut self, waited: Duration) {
        self.timed_out = true;
        if self.steps.iter().any(|s| matches!(s, Step::Left(_))) {
            // Its failure leaves them timed out, their last status unknown.
            let _ = self.list_whole();
        }
        for step in &mut self.steps {
            match step {
                Step::Waiting(snap) => {
                    let error = VolumeError::TimedOut { snapshot_id: snap.id.clone(), waited, last_status: Some(snap.status.clone()) };
                    *step = Step::Failed { snap: Some(snap.clone()), error };
                }
                Step::Left(snap) => {
                    let error = VolumeError::TimedOut { snapshot_id: snap.id.clone(), waited, last_status: None };
                    *step = Step::Failed { snap: Some(snap.clone()), error };
                }
                _ => {}
            }
        }
        self.give_up_lost();
    }

    /// The wait cannot go on: every snapshot waited for fails with `why`.
    fn fail_waiting(&mut self, why: &VolumeError) {
        for step in &mut self.steps {
            if let Step::Waiting(snap) | Step::Left(snap) = step {
                *step = Step::Failed { snap: Some(snap.clone()), error: why.clone() };
            }
        }
        self.give_up_lost();
    }

    /// The lost creates whose snapshot was not found fail with their create's error.
    fn give_up_lost(&mut self) {
        for step in &mut self.steps {
            if let Step::Lost(e) = step {
                *step = Step::Failed { snap: None, error: VolumeError::CreateLost(e.clone()) };
            }
        }
    }

    /// The snapshots that went to `error`: Cinder's user message, then the job deletes its
    /// zombie and waits for the delete (within the deadline), `concurrency` at a time.
    fn clean_errored(&mut self) {
        let jobs: Vec<(usize, String)> = self
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Step::Errored(snap) => Some((i, snap.id.clone())),
                _ => None,
            })
            .collect();
        if jobs.is_empty() {
            return;
        }
        let left = self.poll.timeout.map(|t| t.saturating_sub(self.started.elapsed()).max(Duration::from_secs(60).min(t)));
        let wait = wait_opts(&self.poll, left);
        let client = self.client;
        let results = crate::pool::in_pool(jobs.len(), self.opts.concurrency, "job-clean", &AtomicBool::new(false), |n| {
            jobs.get(n).map(|(_, id)| clean_one(client, id, &wait))
        });
        for ((i, id), out) in jobs.into_iter().zip(results) {
            let (Some(step), Some(r)) = (self.steps.get_mut(i), self.reports.get_mut(i)) else { continue };
            let Step::Errored(snap) = std::mem::replace(step, Step::Selected) else { continue };
            let error = match out {
                Some(Cleaned { message, deleted, delete_error }) => {
                    if deleted {
                        r.zombies.push(id.clone());
                    }
                    VolumeError::SnapshotError { snapshot_id: id, message, deleted, delete_error: delete_error.map(Arc::new) }
                }
                None => VolumeError::SnapshotError { snapshot_id: id, message: None, deleted: false, delete_error: None },
            };
            *step = Step::Failed { snap: Some(snap), error };
        }
    }

    /// Step 5: prunes the volumes whose snapshot of this window is `available` (dry run:
    /// those that would have one), and says why the others are not pruned.
    fn prune(&mut self) -> Option<Arc<PruneReport>> {
        if self.opts.is_cancelled() {
            self.interrupted = true;
            for r in &mut self.reports {
                r.prune_skipped = Some("not pruned: the run was interrupted (SIGTERM/SIGINT)".to_owned());
            }
            return None;
        }
        let dry = self.opts.dry_run;
        let mut eligible: Vec<String> = Vec::new();
        let mut eligible_ix: Vec<usize> = Vec::new();
        for (i, (step, r)) in self.steps.iter().zip(&mut self.reports).enumerate() {
            if matches!(step, Step::Available(_) | Step::WouldCreate | Step::WouldReuse(_)) {
                eligible.push(r.volume_id.clone());
                eligible_ix.push(i);
                continue;
            }
            r.prune_skipped = Some(match step.action() {
                _ if matches!(r.unresolved, Some(super::Unresolved::PolicyChoice { .. })) => {
                    "not pruned: its policy choice is refused".to_owned()
                }
                _ if r.unresolved.is_some() => "not pruned: the volume was not found".to_owned(),
                VolumeAction::Skipped => "not pruned: the volume was not snapshotted in this run".to_owned(),
                VolumeAction::Failed => "not pruned: its snapshot for this window failed".to_owned(),
                _ => format!(
                    "not pruned: its snapshot for this window is {}, not available",
                    step.snap().map_or("unknown".to_owned(), |s| s.status.to_string())
                ),
            });
        }
        if eligible.is_empty() {
            return None;
        }
        let mut prune_opts = PruneOpts::new(self.opts.policy.clone())
            .volumes(eligible.iter().cloned())
            .dry_run(dry)
            .now(self.now)
            .concurrency(self.opts.concurrency)
            .all_projects(self.opts.selection.is_all_projects())
            .wait_opts(wait_opts(&self.poll, self.poll.timeout));
        if let Some(n) = self.opts.page_size {
            prune_opts = prune_opts.page_size(n);
        }
        let index: HashMap<String, usize> = self.reports.iter().enumerate().map(|(i, r)| (r.volume_id.clone(), i)).collect();
        match super::prune(self.client, &prune_opts) {
            Ok(report) => {
                let report = Arc::new(report);
                for o in report.outcomes() {
                    let snap = o.snapshot();
                    let Some(&i) = index.get(snap.volume_id.as_str()) else { continue };
                    let Some(r) = self.reports.get_mut(i) else { continue };
                    match o.outcome() {
                        Outcome::Deleted | Outcome::WouldDelete => r.pruned.push(snap.id.clone()),
                        Outcome::Failed(_) => {
                            r.prune_errors.push(PruneError::Delete { snapshot_id: snap.id.clone(), report: report.clone() })
                        }
                        _ => {}
                    }
                }
                Some(report)
            }
            Err(e) => {
                let e = Arc::new(e);
                for i in eligible_ix {
                    if let Some(r) = self.reports.get_mut(i) {
                        r.prune_errors.push(PruneError::Listing(e.clone()));
                    }
                }
                None
            }
        }
    }

    /// Calls the progress callback with the counts, from the volumes' steps.
    fn report_progress(&self) {
        let Some(f) = &self.opts.progress else { return };
        let mut p = Progress {
            total: self.steps.len(),
            created: 0,
            reused: 0,
            available: 0,
            failed: 0,
            pending: 0,
            elapsed: self.started.elapsed(),
        };
        let add = |n: &mut usize| *n = n.saturating_add(1);
        for step in &self.steps {
            match step {
                // A lost create is pending until found (or given up), not failed.
                Step::Lost(_) => add(&mut p.pending),
                Step::Errored(_) | Step::Failed { .. } => add(&mut p.failed),
                Step::Waiting(s) | Step::Left(s) | Step::Available(s) => {
                    add(if s.reused { &mut p.reused } else { &mut p.created });
                    add(if matches!(step, Step::Available(_)) { &mut p.available } else { &mut p.pending });
                }
                _ => {}
            }
        }
        f(&p);
    }
}

/// The result of a create sent again after a rate limiter's refusals.
enum Paced {
    Made(Snapshot),
    /// Refused by the limiter more times than the client's retries allow, or the deadline
    /// would pass during the pause: the last refusal and their count.
    Limited(Error, u32),
    PastDeadline,
    Failed(Error),
}

impl Job<'_> {
    /// The time left before the run's deadline.
    fn time_left(&self) -> Duration {
        self.deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(self.client.sleeper().now()))
    }

    /// The quota preflight (see [`preflight`](super::preflight)).
    fn preflight(&mut self, volumes: &[Selected], to_create: Vec<usize>, now: OffsetDateTime) -> Result<Vec<usize>> {
        let ctx = super::preflight::Ctx {
            client: self.client,
            opts: self.opts,
            window_label: &self.window_label,
            now,
            time_left: self.time_left(),
        };
        let (fit, found) = super::preflight::preflight(&ctx, volumes, to_create.clone(), &mut self.reports)?;
        if found.as_ref().is_some_and(|f| f.skipped > 0) {
            self.over_quota = true;
        }
        self.quota = found;
        // The volumes that do not fit are skipped, with their shortfalls.
        let fits: HashSet<usize> = fit.iter().copied().collect();
        for i in to_create.into_iter().filter(|i| !fits.contains(i)) {
            let short = self.reports.get(i).map(|r| r.quota.clone()).unwrap_or_default();
            if let Some(step) = self.steps.get_mut(i) {
                *step = Step::Skipped(VolumeError::QuotaShort(short));
            }
        }
        Ok(fit)
    }

    /// One create; after a rate limiter's refusal (the client holds every create and delete
    /// for the pause asked), the window's listing is checked for this volume's snapshot
    /// (a refused request was not processed, but never two snapshots of a volume in one
    /// window), then the create is sent again; at most the client's retry count of times,
    /// and never past the run's deadline.
    fn create_paced(&self, opts: &CreateOpts, volume_id: &str) -> Paced {
        let max = self.client.retry_policy().max_retries;
        let mut refused = 0u32;
        loop {
            // The client would hold this create for the pause: not past the deadline.
            let left = self.time_left();
            if left.is_zero() || self.client.pause_left() >= left {
                return Paced::PastDeadline;
            }
            let e = match snapshots::create(self.client, opts) {
                Ok(snap) => return Paced::Made(snap),
                Err(e) if e.is_rate_limited() => e,
                Err(e) => return Paced::Failed(e),
            };
            refused = refused.saturating_add(1);
            if refused > max || self.client.pause_left() >= self.time_left() {
                return Paced::Limited(e, refused);
            }
            match self.window_snapshot_of(volume_id) {
                Ok(Some(snap)) => return Paced::Made(snap),
                Ok(None) => {}
                Err(_) => return Paced::Limited(e, refused),
            }
        }
    }

    /// This window's owned snapshot of `volume_id` (not deleting), if the listing has one.
    fn window_snapshot_of(&self, volume_id: &str) -> Result<Option<Snapshot>> {
        for snap in self.window_listing()? {
            let snap = snap?;
            if snap.volume_id == volume_id
                && self.is_ours(&snap)
                && !matches!(snap.status, SnapshotStatus::Deleting | SnapshotStatus::Deleted)
                && !snap.status.is_failure()
            {
                return Ok(Some(snap));
            }
        }
        Ok(None)
    }
}

/// What became of a snapshot that went to `error`.
struct Cleaned {
    /// Cinder's newest user message about it (3.3+), if any.
    message: Option<String>,
    /// Whether it is gone.
    deleted: bool,
    /// Why it is not.
    delete_error: Option<Error>,
}

/// Reads Cinder's user message about a snapshot that went to `error`, deletes it and waits
/// until it is gone.
fn clean_one(client: &ServiceClient, id: &str, wait: &WaitOpts) -> Cleaned {
    // Cinder's newest user message about it (3.3+), as a failed wait reports it.
    let message = crate::waiting::newest_user_message(client, id);
    let (deleted, delete_error) = match snapshots::delete(client, id) {
        Ok(()) => match snapshots::wait_for_delete(client, id, wait) {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        },
        Err(e) if e.is_not_found() => (true, None),
        Err(e) => (false, Some(e)),
    };
    Cleaned { message, deleted, delete_error }
}

/// The text of a panic's payload (a `&str` or a `String`, as `panic!` makes them).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The options of a wait of the job (a delete's) as its poll policy says, bounded by
/// `timeout` (`None`: no bound but the run's deadline).
pub(super) fn wait_opts(poll: &PollPolicy, timeout: Option<Duration>) -> WaitOpts {
    let wait = WaitOpts::new()
        .initial_interval(poll.initial_interval)
        .max_interval(poll.max_interval)
        .backoff_factor(poll.backoff_factor)
        .max_transient_errors(poll.max_transient_errors);
    match timeout {
        Some(t) => wait.timeout(t),
        None => wait.forever(),
    }
}

/// Statuses that end in `available` by themselves.
fn is_transient(status: &SnapshotStatus) -> bool {
    matches!(status, SnapshotStatus::Creating | SnapshotStatus::BackingUp | SnapshotStatus::Restoring | SnapshotStatus::Updating)
}

/// Whether a failed create may still have made its snapshot: its answer was lost (a
/// transport error) or a gateway answered for Cinder (5xx). A 4xx is Cinder's refusal.
fn maybe_created(e: &Error) -> bool {
    match e {
        Error::Transport { .. } => true,
        _ => e.status().is_some_and(|s| s >= 500),
    }
}

/// `<policy id>-<YYYYmmddTHHMMZ>-<first 8 hex digits of the volume id>`: unique per volume
/// and window (a restore by name finds one snapshot), the policy id cut so that the name
/// fits 255 characters. The job finds its snapshots by their labels, never by this name.
fn snapshot_name(policy_id: &str, window_start: OffsetDateTime, volume_id: &str) -> String {
    let t = window_start.checked_to_offset(time::UtcOffset::UTC).unwrap_or(window_start);
    let stamp =
        format!("{}{:02}{:02}T{:02}{:02}Z", crate::timestamp::format_year(t.year()), u8::from(t.month()), t.day(), t.hour(), t.minute());
    let volume: String = volume_id.chars().filter(char::is_ascii_hexdigit).take(8).collect::<String>().to_ascii_lowercase();
    let tail = format!("-{stamp}-{volume}");
    let room = MAX_NAME_CHARS.saturating_sub(tail.chars().count());
    let id: String = policy_id.chars().take(room).collect();
    format!("{id}{tail}")
}

/// 16 random hex digits (std's randomly keyed hasher over the time and the process id).
fn new_run_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_and_ids() {
        let vol = "3F2A9C1D-0b1f-4c8e-9d51-3d0c8a4c7e11";
        assert_eq!(snapshot_name("nightly", datetime!(2026-11-28 00:00 UTC), vol), "nightly-20261128T0000Z-3f2a9c1d");
        assert_eq!(snapshot_name("n", datetime!(2026-11-28 01:00 +02:00), vol), "n-20261127T2300Z-3f2a9c1d");
        // Two volumes, one window: two names.
        let other = "0b1f5b58-7c2c-4d8e-9d51-3d0c8a4c7e11";
        assert_ne!(snapshot_name("n", datetime!(2026-11-28 00:00 UTC), vol), snapshot_name("n", datetime!(2026-11-28 00:00 UTC), other));
        let long = "p".repeat(255);
        let name = snapshot_name(&long, datetime!(2026-11-28 00:00 UTC), vol);
        assert_eq!(name.chars().count(), 255);
        assert!(name.ends_with("-20261128T0000Z-3f2a9c1d"));
        // An id that is not hex (a fake's) gives what hex digits it has; the name stays valid.
        assert_eq!(snapshot_name("n", datetime!(2026-11-28 00:00 UTC), "vol-1"), "n-20261128T0000Z-1");
        let (a, b) = (new_run_id(), new_run_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn lost_answers() {
        assert!(!maybe_created(&Error::InvalidInput("x".into())));
        assert!(is_transient(&SnapshotStatus::Creating));
        assert!(!is_transient(&SnapshotStatus::Error));
        assert!(!is_transient(&SnapshotStatus::Deleting));
    }
}
