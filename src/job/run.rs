//! [`run`]: select, find what the window has, create, wait, prune, report.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::hooks::PostOutcome;
use super::opts::JobOpts;
use super::opts::Selected;
use super::prune::{Outcome, PruneOpts, PruneReport};
use super::report::{JobReport, Progress, VolumeAction, VolumeReport};
use super::{RUN_KEY, WINDOW_KEY, label_time};
use crate::client::{Microversion, ServiceClient};
use crate::error::{Error, Result};
use crate::retention::{self, is_owned};
use crate::snapshots::{self, CreateOpts, Snapshot, SnapshotStatus, WaitOpts};
use crate::volumes::VolumeStatus;
use crate::waiting::{Pacer, Paused};

/// From this microversion an in-use volume is snapshotted without `force`, and `force=false`
/// is a 400.
const IN_USE_WITHOUT_FORCE: Microversion = Microversion::new(3, 66);
/// Consecutive failed polls of the wait tolerated when their errors are transient (or a 404:
/// a page's marker deleted between two pages).
const MAX_TRANSIENT_POLLS: u32 = 3;
/// The growth of the poll interval.
const BACKOFF: f64 = 1.5;
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
        reports: volumes.iter().map(|v| VolumeReport::new(v.id.clone(), v.name.clone(), v.status.as_str().to_owned())).collect(),
        pending: HashMap::new(),
        lost: HashMap::new(),
        errored: Vec::new(),
        timed_out: false,
        over_quota: false,
        polls: 0,
        quota: None,
        deadline: client.sleeper().now().checked_add(opts.deadline),
    };
    let name = |volume_id: &str| snapshot_name(policy.id(), window_start, volume_id);
    let to_create = job.plan(&volumes)?;
    let to_create = if opts.dry_run { to_create } else { job.preflight(&volumes, to_create, now)? };
    // The volumes named that did not resolve come after the others, in the order given.
    for m in missing {
        let mut r = VolumeReport::new(m.given, m.name, String::new());
        r.action = VolumeAction::Failed;
        r.error = Some(m.error.full_message());
        r.unresolved = Some(m.why);
        job.reports.push(r);
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
    Ok(JobReport {
        run_id: job.run_id,
        window,
        window_start,
        dry_run: opts.dry_run,
        timed_out: job.timed_out,
        over_quota: job.over_quota,
        no_volume_matched,
        all_projects: opts.selection.is_all_projects(),
        clock_skew,
        elapsed: started.elapsed(),
        polls: job.polls,
        volumes: job.reports,
        prune,
        quota: job.quota,
        interrupted: job.interrupted,
        on_failure: None,
    })
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
    reports: Vec<VolumeReport>,
    /// Snapshots waited for: id -> index of the volume.
    pending: HashMap<String, usize>,
    /// Creates whose answer was lost: volume id -> (index, the error).
    lost: HashMap<String, (usize, Error)>,
    /// Volumes whose snapshot went to `error` during the wait.
    errored: Vec<usize>,
    timed_out: bool,
    over_quota: bool,
    polls: usize,
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
    OverQuota(String),
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
}

impl Job<'_> {
    /// The listing of this window's owned snapshots (the one owned listing, to the last page).
    fn window_listing(&self) -> Result<super::Owned> {
        let mut query = super::OwnedQuery::new(self.opts.policy.id())
            .label(WINDOW_KEY, self.window_label.as_str())
            .all_projects(self.opts.selection.is_all_projects());
        if let Some(n) = self.opts.page_size {
            query = query.page_size(n);
        }
        super::owned(self.client, &query)
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
            let mut found = existing.remove(&volume.id).unwrap_or_default();
            // Newest first (equal times: smaller id first), as the retention plan orders
            // them, so that the one reused is the one the plan keeps when two runs made one
            // each (it deletes the older as a duplicate in the window); the choice does not
            // depend on the listing's order.
            found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
            let reusable = found
                .iter()
                .find(|s| s.status == SnapshotStatus::Available)
                .or_else(|| found.iter().find(|s| is_transient(&s.status)))
                .cloned();
            if let Some(snap) = reusable {
                let report = &mut self.reports[i];
                report.action = if dry { VolumeAction::WouldReuse } else { VolumeAction::Reused };
                report.snapshot_id = Some(snap.id.clone());
                if !dry && snap.status != SnapshotStatus::Available {
                    self.pending.insert(snap.id.clone(), i);
                }
                report.snapshot_status = Some(snap.status);
                continue;
            }
            // The window's snapshot is reused whatever the volume's status now; a new one
            // needs the volume available or in-use.
            if !matches!(volume.status, VolumeStatus::Available | VolumeStatus::InUse) {
                self.reports[i].error = Some(format!("volume is {}", volume.status.as_str()));
                continue;
            }
            for zombie in found.iter().filter(|s| s.status.is_failure()) {
                let report = &mut self.reports[i];
                if dry {
                    report.zombies.push(zombie.id.clone());
                    continue;
                }
                match snapshots::delete(self.client, &zombie.id) {
                    Ok(()) => report.zombies.push(zombie.id.clone()),
                    Err(e) if e.is_not_found() => report.zombies.push(zombie.id.clone()),
                    Err(e) => report.warnings.push(format!(
                        "snapshot {} of an earlier run is {} and could not be deleted: {}",
                        zombie.id,
                        zombie.status,
                        e.full_message()
                    )),
                }
            }
            if dry {
                self.reports[i].action = VolumeAction::WouldCreate;
            } else {
                to_create.push(i);
            }
        }
        Ok(to_create)
    }

    /// Step 3: the creates, `concurrency` at a time; a 413 stops the ones not yet sent.
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
        let results = crate::pool::in_pool(to_create.len(), self.opts.concurrency, "job-create", &stop, |n| {
            let i = *to_create.get(n)?;
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
                    Created::OverQuota(e.api().map_or_else(|| e.full_message(), |a| a.message.clone()))
                }
                Paced::Failed(e) if maybe_created(&e) => Created::Lost(e),
                Paced::Failed(e) => Created::Refused(e),
            })
        });
        self.hooks.record(&mut self.reports);
        let mut quota_message: Option<String> = None;
        for result in &results {
            if let Some(Created::OverQuota(m)) = result {
                quota_message.get_or_insert_with(|| m.clone());
            }
        }
        for (result, &i) in results.into_iter().zip(to_create) {
            let Some(report) = self.reports.get_mut(i) else { continue };
            match result {
                Some(Created::Made(id, status)) => {
                    report.action = VolumeAction::Created;
                    report.snapshot_id = Some(id.clone());
                    report.snapshot_status = Some(status);
                    self.pending.insert(id, i);
                }
                Some(Created::OverQuota(m)) => {
                    self.over_quota = true;
                    report.action = VolumeAction::Skipped;
                    report.error = Some(format!("over quota: {m}"));
                }
                Some(Created::Lost(e)) => {
                    report.action = VolumeAction::Failed;
                    report.error = Some(format!("create failed: {}", e.full_message()));
                    self.lost.insert(report.volume_id.clone(), (i, e));
                }
                Some(Created::Refused(e)) => {
                    report.action = VolumeAction::Failed;
                    report.error = Some(format!("create failed: {}", e.full_message()));
                }
                Some(Created::Limited(e, refused)) => {
                    report.action = VolumeAction::Failed;
                    report.error = Some(format!("create refused by a rate limiter {refused} times, not sent again: {}", e.full_message()));
                }
                Some(Created::PastDeadline) => {
                    report.action = VolumeAction::Failed;
                    report.error = Some(format!(
                        "not snapshotted: the run's deadline ({} s) passes before its create can be sent (a rate limiter's pause, or the run's length)",
                        self.opts.deadline.as_secs()
                    ));
                }
                Some(Created::PreHookFailed(why)) => {
                    report.action = VolumeAction::Skipped;
                    report.error = Some(format!("not snapshotted: {why}"));
                }
                Some(Created::Interrupted) => {
                    self.interrupted = true;
                    report.action = VolumeAction::Skipped;
                    report.error = Some("not snapshotted: the run was interrupted (SIGTERM/SIGINT) before its create".to_owned());
                }
                None => {
                    report.action = VolumeAction::Skipped;
                    report.error = Some(match &quota_message {
                        Some(m) => format!("over quota: {m}"),
                        None => "not snapshotted: the creates stopped before this volume".to_owned(),
                    });
                }
            }
        }
        self.thaw(None);
    }

    /// Step 4: one paged listing per poll until every snapshot is settled or the deadline.
    fn wait(&mut self) {
        let opts = self.opts;
        let mut pacer = Pacer::new(Some(opts.timeout.min(self.time_left())), opts.initial_interval, BACKOFF, opts.max_interval);
        let mut transient = 0u32;
        while !self.pending.is_empty() || !self.lost.is_empty() {
            match pacer.pause(|| self.opts.is_cancelled() || self.hooks.due()) {
                Paused::TimedOut => {
                    self.time_out(pacer.elapsed());
                    break;
                }
                Paused::Cancelled if self.opts.is_cancelled() => {
                    self.interrupted = true;
                    self.fail_waiting("interrupted (SIGTERM/SIGINT) while its snapshot was creating; a re-run reuses it");
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
                Err(e) if (e.is_transient() || e.is_not_found()) && transient < MAX_TRANSIENT_POLLS => {
                    transient = transient.saturating_add(1);
                    continue;
                }
                Err(e) => {
                    self.fail_waiting(&format!("the wait's listing failed: {}", e.full_message()));
                    break;
                }
            }
            self.report_progress();
            if self.pending.is_empty() && !self.lost.is_empty() {
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
    /// `force`, of every one still waited for.
    fn thaw(&mut self, force: Option<PostOutcome>) {
        for (i, since) in self.hooks.frozen() {
            let waited = self.pending.values().any(|&v| v == i) || self.lost.values().any(|(v, _)| *v == i);
            let outcome = match (waited, force) {
                (true, Some(o)) => o,
                (true, None) if since.elapsed() >= self.hooks.timeout() => PostOutcome::HookTimeout,
                (true, None) => continue,
                (false, _) => self.reports.get(i).map_or(PostOutcome::Failed, |r| self.settled_outcome(r)),
            };
            if let Some(r) = self.reports.get_mut(i) {
                self.hooks.post(i, r, outcome);
            }
        }
    }

    /// Why a volume no longer waited for gets its post-hook.
    fn settled_outcome(&self, r: &VolumeReport) -> PostOutcome {
        match &r.snapshot_status {
            _ if r.snapshot_id.is_none() => PostOutcome::NotCreated,
            Some(SnapshotStatus::Available) => PostOutcome::Available,
            Some(s) if s.is_failure() => PostOutcome::Error,
            _ if self.interrupted => PostOutcome::Interrupted,
            _ if self.timed_out => PostOutcome::Deadline,
            _ => PostOutcome::Failed,
        }
    }

    /// One poll: the window's listing, each pending snapshot's status, the lost creates'
    /// snapshots adopted by volume.
    fn poll(&mut self) -> Result<()> {
        let mut seen: HashMap<String, SnapshotStatus> = HashMap::new();
        let mut adopted: Vec<(String, usize, SnapshotStatus)> = Vec::new();
        let known_zombies: HashSet<String> = self.reports.iter().flat_map(|r| r.zombies.iter().cloned()).collect();
        for snap in self.window_listing()? {
            let snap = snap?;
            if !self.is_ours(&snap) {
                continue;
            }
            if self.pending.contains_key(&snap.id) {
                seen.insert(snap.id, snap.status);
            } else if let Some((i, _)) = self.lost.get(&snap.volume_id) {
                if !known_zombies.contains(&snap.id) && !matches!(snap.status, SnapshotStatus::Deleting | SnapshotStatus::Deleted) {
                    adopted.push((snap.volume_id.clone(), *i, snap.status.clone()));
                    seen.insert(snap.id.clone(), snap.status);
                    if let Some(r) = self.reports.get_mut(*i) {
                        r.snapshot_id = Some(snap.id.clone());
                    }
                    self.pending.insert(snap.id, *i);
                }
            }
        }
        self.polls = self.polls.saturating_add(1);
        for (volume, i, _) in adopted {
            self.lost.remove(&volume);
            if let Some(r) = self.reports.get_mut(i) {
                r.action = VolumeAction::Created;
                r.error = None;
            }
        }
        let pending: Vec<(String, usize)> = self.pending.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for (id, i) in pending {
            let Some(report) = self.reports.get_mut(i) else { continue };
            let Some(status) = seen.remove(&id) else {
                report.action = VolumeAction::Failed;
                report.error = Some(format!("snapshot {id} disappeared during the wait"));
                self.pending.remove(&id);
                continue;
            };
            report.snapshot_status = Some(status.clone());
            match status {
                SnapshotStatus::Available => {
                    self.pending.remove(&id);
                }
                SnapshotStatus::Error => {
                    self.errored.push(i);
                    self.pending.remove(&id);
                }
                s if is_transient(&s) => {}
                s => {
                    report.action = VolumeAction::Failed;
                    report.error = Some(format!("snapshot {id} went to {s} during the wait"));
                    self.pending.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// The deadline passed: every snapshot still pending fails, and so does every lost create.
    fn time_out(&mut self, waited: Duration) {
        self.timed_out = true;
        for (id, i) in std::mem::take(&mut self.pending) {
            if let Some(r) = self.reports.get_mut(i) {
                let status = r.snapshot_status.as_ref().map_or("unknown".to_owned(), |s| s.to_string());
                r.action = VolumeAction::Failed;
                r.error =
                    Some(format!("snapshot {id} did not become available within {:.1} s (last status: {status})", waited.as_secs_f64()));
            }
        }
        self.give_up_lost();
    }

    /// The wait cannot go on: every pending snapshot fails with `why`.
    fn fail_waiting(&mut self, why: &str) {
        for (_, i) in std::mem::take(&mut self.pending) {
            if let Some(r) = self.reports.get_mut(i) {
                r.action = VolumeAction::Failed;
                r.error = Some(why.to_owned());
            }
        }
        self.give_up_lost();
    }

    /// The lost creates whose snapshot was not found fail with their create's error.
    fn give_up_lost(&mut self) {
        for (_, (i, e)) in std::mem::take(&mut self.lost) {
            if let Some(r) = self.reports.get_mut(i) {
                r.action = VolumeAction::Failed;
                r.error = Some(format!("create failed: {}; no snapshot of it was found", e.full_message()));
            }
        }
    }

    /// The snapshots that went to `error`: Cinder's user message, then the job deletes its
    /// zombie and waits for the delete (within the deadline), `concurrency` at a time.
    fn clean_errored(&mut self) {
        let errored = std::mem::take(&mut self.errored);
        let jobs: Vec<(usize, String)> = errored.iter().filter_map(|&i| Some((i, self.reports.get(i)?.snapshot_id.clone()?))).collect();
        if jobs.is_empty() {
            return;
        }
        let left = self.opts.timeout.saturating_sub(self.started.elapsed()).max(Duration::from_secs(60).min(self.opts.timeout));
        let wait = WaitOpts::new()
            .timeout(left)
            .initial_interval(self.opts.initial_interval)
            .max_interval(self.opts.max_interval)
            .backoff_factor(BACKOFF);
        let client = self.client;
        let results = crate::pool::in_pool(jobs.len(), self.opts.concurrency, "job-clean", &AtomicBool::new(false), |n| {
            jobs.get(n).map(|(_, id)| clean_one(client, id, &wait))
        });
        for ((i, id), out) in jobs.into_iter().zip(results) {
            let Some(r) = self.reports.get_mut(i) else { continue };
            r.action = VolumeAction::Failed;
            r.snapshot_status = Some(SnapshotStatus::Error);
            match out {
                Some(Cleaned { message, deleted, delete_error }) => {
                    let mut text = message;
                    if deleted {
                        r.zombies.push(id);
                        text.push_str("; the job deleted it");
                    } else if let Some(e) = delete_error {
                        text.push_str(&format!("; deleting it failed: {e}"));
                    }
                    r.error = Some(text);
                }
                None => r.error = Some(format!("snapshot {id} went to error")),
            }
        }
    }

    /// Step 5: prunes the volumes whose snapshot of this window is `available` (dry run:
    /// those that would have one), and says why the others are not pruned.
    fn prune(&mut self) -> Option<PruneReport> {
        if self.opts.is_cancelled() {
            self.interrupted = true;
            for r in &mut self.reports {
                r.prune_skipped = Some("not pruned: the run was interrupted (SIGTERM/SIGINT)".to_owned());
            }
            return None;
        }
        let dry = self.opts.dry_run;
        let mut eligible: Vec<String> = Vec::new();
        for r in &mut self.reports {
            let ok = match r.action {
                VolumeAction::Created | VolumeAction::Reused => r.snapshot_status == Some(SnapshotStatus::Available),
                VolumeAction::WouldCreate | VolumeAction::WouldReuse => true,
                _ => false,
            };
            if ok {
                eligible.push(r.volume_id.clone());
                continue;
            }
            r.prune_skipped = Some(match r.action {
                _ if matches!(r.unresolved, Some(super::Unresolved::PolicyChoice { .. })) => {
                    "not pruned: its policy choice is refused".to_owned()
                }
                _ if r.unresolved.is_some() => "not pruned: the volume was not found".to_owned(),
                VolumeAction::Skipped => "not pruned: the volume was not snapshotted in this run".to_owned(),
                VolumeAction::Failed => "not pruned: its snapshot for this window failed".to_owned(),
                _ => format!(
                    "not pruned: its snapshot for this window is {}, not available",
                    r.snapshot_status.as_ref().map_or("unknown".to_owned(), |s| s.to_string())
                ),
            });
        }
        if eligible.is_empty() {
            return None;
        }
        let wait = WaitOpts::new()
            .timeout(self.opts.timeout)
            .initial_interval(self.opts.initial_interval)
            .max_interval(self.opts.max_interval)
            .backoff_factor(BACKOFF);
        let mut prune_opts = PruneOpts::new(self.opts.policy.clone())
            .volumes(eligible.iter().cloned())
            .dry_run(dry)
            .now(self.now)
            .concurrency(self.opts.concurrency)
            .all_projects(self.opts.selection.is_all_projects())
            .wait_opts(wait);
        if let Some(n) = self.opts.page_size {
            prune_opts = prune_opts.page_size(n);
        }
        let index: HashMap<String, usize> = self.reports.iter().enumerate().map(|(i, r)| (r.volume_id.clone(), i)).collect();
        let eligible_ix: Vec<usize> = eligible.iter().filter_map(|v| index.get(v.as_str()).copied()).collect();
        match super::prune(self.client, &prune_opts) {
            Ok(report) => {
                for o in report.outcomes() {
                    let snap = o.snapshot();
                    let Some(&i) = index.get(snap.volume_id.as_str()) else { continue };
                    let Some(r) = self.reports.get_mut(i) else { continue };
                    match o.outcome() {
                        Outcome::Deleted | Outcome::WouldDelete => r.pruned.push(snap.id.clone()),
                        Outcome::Failed(e) => r.prune_errors.push(format!("{}: {}", snap.id, e.full_message())),
                        _ => {}
                    }
                }
                Some(report)
            }
            Err(e) => {
                let why = format!("the prune's listing failed, nothing was deleted: {}", e.full_message());
                for i in eligible_ix {
                    if let Some(r) = self.reports.get_mut(i) {
                        r.prune_errors.push(why.clone());
                    }
                }
                None
            }
        }
    }

    /// Calls the progress callback with the counts.
    fn report_progress(&self) {
        let Some(f) = &self.opts.progress else { return };
        let mut p = Progress {
            total: self.reports.len(),
            created: 0,
            reused: 0,
            available: 0,
            failed: 0,
            pending: self.pending.len().saturating_add(self.lost.len()),
            elapsed: self.started.elapsed(),
        };
        for r in &self.reports {
            match r.action {
                VolumeAction::Created => p.created += 1,
                VolumeAction::Reused => p.reused += 1,
                VolumeAction::Failed => p.failed += 1,
                _ => {}
            }
            if matches!(r.action, VolumeAction::Created | VolumeAction::Reused) && r.snapshot_status == Some(SnapshotStatus::Available) {
                p.available += 1;
            }
        }
        // Lost creates are counted failed until found; they are pending, not failed.
        p.failed = p.failed.saturating_sub(self.lost.len());
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
        let (to_create, found) = super::preflight::preflight(&ctx, volumes, to_create, &mut self.reports)?;
        if found.as_ref().is_some_and(|f| f.skipped > 0) {
            self.over_quota = true;
        }
        self.quota = found;
        Ok(to_create)
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
    /// `snapshot <id> went to error[: <Cinder's user message>]`.
    message: String,
    /// Whether it is gone.
    deleted: bool,
    /// Why it is not.
    delete_error: Option<String>,
}

/// Reads Cinder's user message about a snapshot that went to `error`, deletes it and waits
/// until it is gone.
fn clean_one(client: &ServiceClient, id: &str, wait: &WaitOpts) -> Cleaned {
    // Cinder's newest user message about it (3.3+), as a failed wait reports it.
    let message = match crate::waiting::newest_user_message(client, id) {
        Some(m) => format!("snapshot {id} went to error: {m}"),
        None => format!("snapshot {id} went to error"),
    };
    let gone = |deleted: bool, delete_error: Option<String>| Cleaned { message: message.clone(), deleted, delete_error };
    match snapshots::delete(client, id) {
        Ok(()) => {}
        Err(e) if e.is_not_found() => return gone(true, None),
        Err(e) => return gone(false, Some(e.full_message())),
    }
    match snapshots::wait_for_delete(client, id, wait) {
        Ok(()) => gone(true, None),
        Err(e) => gone(false, Some(e.full_message())),
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
