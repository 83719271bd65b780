//! Many targets in one process: [`run_targets`] connects every target of a [`Spec`] (through
//! the caller's connector), refuses two targets on the same endpoint and project with a
//! common policy, then runs, plans, prunes or checks each target's jobs. A target's failure
//! is its own section of the [`TargetsReport`] and never stops the others; targets on
//! different Cinder endpoints run in parallel, those on one endpoint one after the other
//! (so an endpoint never has more than one target's `concurrency` in flight).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::ser::Serializer;

use super::{Job, Spec, Target};
use crate::client::ServiceClient;
use crate::error::{Error, Result, WaitErrorKind};
use crate::job::{self, CheckOpts, CheckReport, CheckStatus, JobOpts, JobReport, Selection};
use crate::job::{PruneOpts, PruneReport};

/// The most targets worked on at once (one per Cinder endpoint at a time).
pub const MAX_PARALLEL_ENDPOINTS: usize = 8;

/// What [`run_targets`] does with each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `run`: the scheduled job ([`job::run`]).
    Run,
    /// `plan`: the dry run of every job (no create, no delete), with the prune's reasons.
    Plan,
    /// `prune`: the retention policy applied to each selection's volumes ([`job::prune`]).
    Prune,
    /// `check`: the monitoring check of each job whose policy has `warn` and `crit`.
    Check,
}

/// A change made to every job's options (the command line's run flags: hooks, dry run, a
/// cancel flag, ...).
pub type Adjust = Arc<dyn Fn(JobOpts) -> JobOpts + Send + Sync>;

/// A change made to every check's options (the command line's check flags: timeout,
/// `--warn-uncovered`, ...).
pub type AdjustCheck = Arc<dyn Fn(CheckOpts) -> CheckOpts + Send + Sync>;

/// A sink for the targets' sections as they finish ([`TargetsOpts::each_target`]).
pub type EachTarget = Arc<dyn Fn(&TargetReport) + Send + Sync>;

/// How [`run_targets`] runs.
#[derive(Clone)]
#[must_use]
pub struct TargetsOpts {
    mode: Mode,
    adjust: Option<Adjust>,
    adjust_check: Option<AdjustCheck>,
    each_target: Option<EachTarget>,
    parallel: usize,
}

impl std::fmt::Debug for TargetsOpts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetsOpts")
            .field("mode", &self.mode)
            .field("adjust", &self.adjust.is_some())
            .field("adjust_check", &self.adjust_check.is_some())
            .field("each_target", &self.each_target.is_some())
            .field("parallel", &self.parallel)
            .finish()
    }
}

impl TargetsOpts {
    /// Every job in `mode`, up to [`MAX_PARALLEL_ENDPOINTS`] endpoints at once.
    pub fn new(mode: Mode) -> Self {
        TargetsOpts { mode, adjust: None, adjust_check: None, each_target: None, parallel: MAX_PARALLEL_ENDPOINTS }
    }

    /// Changes every job's options before it runs (`run` and `plan`).
    pub fn adjust(mut self, f: impl Fn(JobOpts) -> JobOpts + Send + Sync + 'static) -> Self {
        self.adjust = Some(Arc::new(f));
        self
    }

    /// Changes every check's options before it runs (`check`), after the job's selection is
    /// set: `f` gets the spec's check of the job and returns the one run.
    pub fn adjust_check(mut self, f: impl Fn(CheckOpts) -> CheckOpts + Send + Sync + 'static) -> Self {
        self.adjust_check = Some(Arc::new(f));
        self
    }

    /// Hands each target's section to `f` once the target is done, in the spec's order (a
    /// section waits for the ones before it), and then drops its jobs: the report
    /// [`run_targets`] returns keeps every target's name, place, exit code and error, with
    /// no jobs. An estate's memory is then its targets in flight, not all its reports (a
    /// tool prints each section as it comes). `f` runs on the executor's threads, one call
    /// at a time.
    pub fn each_target(mut self, f: impl Fn(&TargetReport) + Send + Sync + 'static) -> Self {
        self.each_target = Some(Arc::new(f));
        self
    }

    /// How many endpoints are worked on at once (1 to [`MAX_PARALLEL_ENDPOINTS`]).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.clamp(1, MAX_PARALLEL_ENDPOINTS);
        self
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// Why a whole run over a spec is refused before any create (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetsError {
    /// Two targets resolve to the same Cinder endpoint and project and share a policy: one
    /// volume would be snapshotted twice by one run.
    #[error(
        "targets {first} and {second} are the same project {project} on the same endpoint {endpoint} with the common policy {policy}: one volume would be done twice; keep one of them"
    )]
    Duplicate {
        /// The first target, in the spec's order.
        first: String,
        /// The second.
        second: String,
        /// The endpoint (scheme, host and port).
        endpoint: String,
        /// The project id.
        project: String,
        /// A policy both apply.
        policy: String,
    },
}

/// Why a target failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// An error of the cloud: authentication, endpoint, listing, ...
    #[error(transparent)]
    Cloud(#[from] Error),
    /// The target's worker panicked (a bug): the other targets are done.
    #[error("the target's worker panicked: {0}")]
    Panicked(String),
}

/// What one job of a target gave.
#[derive(Debug, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Outcome {
    /// `run` and `plan`.
    Run(Box<JobReport>),
    /// `prune`.
    Prune(Box<PruneReport>),
    /// `check`.
    Check(Box<CheckReport>),
    /// The job's call failed.
    Failed {
        /// The error.
        #[serde(serialize_with = "error_text")]
        error: Error,
    },
}

/// One job of a target's section.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct TargetJob {
    /// The policy id.
    pub policy: String,
    /// The selection's name.
    pub selection: String,
    /// Its report (or its error).
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One target's section of the report.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct TargetReport {
    /// The target's name.
    pub name: String,
    /// Its cloud.
    pub cloud: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// Its project (name or id as the spec gives it).
    pub project: Option<String>,
    /// Its exit code: 0, 1 (failed), 3 (every failure a wait timeout); `check`: the plugin's.
    pub exit_code: u8,
    /// Why it failed as a whole, if it did.
    #[serde(serialize_with = "target_error_text")]
    pub error: Option<TargetError>,
    /// Its jobs, in the spec's order (a volume refused for its [`POLICIES_KEY`](super::POLICIES_KEY) choice is
    /// a failed row of its jobs, a CRITICAL volume of its checks).
    pub jobs: Vec<TargetJob>,
}

/// The report of [`run_targets`]: one section per target, in the spec's order.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct TargetsReport {
    /// The sections.
    pub targets: Vec<TargetReport>,
    /// The process's exit code: 0 when every target succeeded, 3 when every failure is a
    /// wait timeout, 1 otherwise; `check`: the worst state's plugin code.
    pub exit_code: u8,
}

impl TargetsReport {
    /// The number of volumes the jobs covered (each volume once per target).
    pub fn volume_count(&self) -> usize {
        self.targets.iter().map(TargetReport::volume_count).sum()
    }
}

impl TargetReport {
    /// The number of distinct volumes of its jobs.
    pub fn volume_count(&self) -> usize {
        let mut ids: HashSet<&str> = HashSet::new();
        for j in &self.jobs {
            match &j.outcome {
                Outcome::Run(r) => ids.extend(r.volumes().iter().map(|v| v.volume_id.as_str())),
                Outcome::Check(r) => ids.extend(r.volumes().iter().map(|v| v.volume_id.as_str())),
                Outcome::Prune(r) => ids.extend(r.outcomes().iter().map(|o| o.snapshot().volume_id.as_str())),
                Outcome::Failed { .. } => {}
            }
        }
        ids.len()
    }
}

fn error_text<S: Serializer>(e: &Error, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&e.full_message())
}

fn target_error_text<S: Serializer>(e: &Option<TargetError>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match e {
        Some(TargetError::Cloud(e)) => s.serialize_str(&e.full_message()),
        Some(other) => s.serialize_str(&other.to_string()),
        None => s.serialize_none(),
    }
}

/// 3 for a wait that timed out, 1 for any other error.
fn error_code(e: &Error) -> u8 {
    match e {
        Error::Wait(w) if w.kind == WaitErrorKind::TimedOut => 3,
        _ => 1,
    }
}

/// The code of several failures: 0 when none, 3 when every one is a timeout, else 1.
fn combine(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().fold(0, |acc, c| match (acc, c) {
        (0, c) => c,
        (a, 0) => a,
        (3, 3) => 3,
        _ => 1,
    })
}

/// The worst of several plugin codes: CRITICAL, then UNKNOWN, then WARNING, then OK.
fn worst_check(codes: impl IntoIterator<Item = u8>) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        1 => 1,
        3 => 2,
        _ => 3,
    };
    codes.into_iter().fold(0, |a, c| if rank(c) > rank(a) { c } else { a })
}

/// Runs `f` on every item, at most `workers` at once (scoped threads); each result in its
/// item's place; a panic is that item's `Err` with its message.
fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<std::result::Result<R, String>> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<std::result::Result<R, String>>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|p| {
                        p.downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_default()
                    });
                    let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    slots.into_inner().unwrap_or_else(PoisonError::into_inner).into_iter().map(|r| r.unwrap_or_else(|| Err("not run".to_owned()))).collect()
}

/// In [`Mode::Check`], the instant a target's connection must be made by: now plus the
/// longest timeout of its checks (as the command line adjusts them); `None` otherwise.
fn connect_deadline(spec: &Spec, t: &Target, opts: &TargetsOpts) -> Option<std::time::Instant> {
    if opts.mode != Mode::Check {
        return None;
    }
    let longest = spec
        .jobs(t)
        .into_iter()
        .filter_map(|j| j.check)
        .map(|c| match &opts.adjust_check {
            Some(adjust) => adjust(c).get_timeout(),
            None => c.get_timeout(),
        })
        .max()?;
    std::time::Instant::now().checked_add(longest)
}

/// A target connected: its client and where it works.
struct Connected {
    client: ServiceClient,
    origin: String,
    project: String,
}

/// Runs the jobs of every target of `spec` in `opts`' mode, each target with the client
/// `connect` gives it (scoped to the target's project, in its region). See the module docs.
///
/// # Errors
///
/// [`TargetsError::Duplicate`] before any job runs; every other failure is in the report.
pub fn run_targets<C>(spec: &Spec, connect: C, opts: &TargetsOpts) -> std::result::Result<TargetsReport, TargetsError>
where
    C: Fn(&Target) -> Result<ServiceClient> + Sync,
{
    let targets = spec.targets();
    // 1. Connect every target (authenticate, find its endpoint and project).
    let connected = parallel(targets, opts.parallel, |t| -> Result<Connected> {
        let client = connect(t)?;
        // A check's connection (Keystone's token, the catalog) within its checks' longest
        // timeout, as each check is: a silent cloud is UNKNOWN in time, not after minutes.
        let bounded = connect_deadline(spec, t, opts).map(|d| client.with_deadline(d));
        let connecting = bounded.as_ref().unwrap_or(&client);
        let endpoint = connecting.endpoint()?;
        let project = connecting.project_id()?.unwrap_or_else(|| endpoint.path().to_owned());
        Ok(Connected { client, origin: endpoint.origin().ascii_serialization(), project })
    });
    // 2. Two targets on one endpoint and project with a common policy: refused.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, c) in connected.iter().enumerate() {
        let Ok(Ok(c)) = c else { continue };
        let key = (c.origin.clone(), c.project.clone());
        if let Some(&first) = seen.get(&key) {
            let (a, b) = (&targets[first], &targets[i]);
            let theirs = spec.target_policies(a);
            if let Some(policy) = spec.target_policies(b).into_iter().find(|p| theirs.contains(p)) {
                return Err(TargetsError::Duplicate {
                    first: a.name.clone(),
                    second: b.name.clone(),
                    endpoint: key.0,
                    project: key.1,
                    policy: policy.to_owned(),
                });
            }
        } else {
            seen.insert(key, i);
        }
    }
    // 3. Group by endpoint: one endpoint's targets in turn, endpoints in parallel.
    let mut groups: Vec<(String, Vec<(usize, Connected)>)> = Vec::new();
    let mut sections: Vec<Option<TargetReport>> = (0..targets.len()).map(|_| None).collect();
    for (i, c) in connected.into_iter().enumerate() {
        let error = match c {
            Ok(Ok(c)) => {
                match groups.iter_mut().find(|(o, _)| *o == c.origin) {
                    Some((_, members)) => members.push((i, c)),
                    None => groups.push((c.origin.clone(), vec![(i, c)])),
                }
                continue;
            }
            Ok(Err(e)) => TargetError::Cloud(e),
            Err(panic) => TargetError::Panicked(panic),
        };
        let code = match (&error, opts.mode) {
            (_, Mode::Check) => 3,
            (TargetError::Cloud(e), _) => error_code(e),
            (TargetError::Panicked(_), _) => 1,
        };
        sections[i] = Some(section(&targets[i], code, Some(error), Vec::new()));
    }
    // 4. Each target's jobs; each section handed on, in order, as it is done.
    let failed_code = if opts.mode == Mode::Check { 3 } else { 1 };
    let flow = Mutex::new(Flow { sections, next: 0 });
    Flow::deliver(&flow, None, opts.each_target.as_deref());
    let _ = parallel(&groups, opts.parallel, |(_, members)| {
        for (i, c) in members {
            let t = &targets[*i];
            let r = catch_unwind(AssertUnwindSafe(|| target(spec, t, &c.client, opts))).unwrap_or_else(|p| {
                let why =
                    p.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
                section(t, failed_code, Some(TargetError::Panicked(why)), Vec::new())
            });
            Flow::deliver(&flow, Some((*i, r)), opts.each_target.as_deref());
        }
    });
    let mut flow = flow.into_inner().unwrap_or_else(PoisonError::into_inner);
    // A target whose worker died with no section of its own is that target's failure, never
    // a missing section.
    for (i, slot) in flow.sections.iter_mut().enumerate().skip(flow.next) {
        if slot.is_none() {
            if let Some(t) = targets.get(i) {
                *slot = Some(section(t, failed_code, Some(TargetError::Panicked("its worker stopped".into())), Vec::new()));
            }
        }
    }
    flow.flush(opts.each_target.as_deref());
    let targets: Vec<TargetReport> = flow.sections.into_iter().flatten().collect();
    let codes = targets.iter().map(|t| t.exit_code);
    let exit_code = if opts.mode == Mode::Check { worst_check(codes) } else { combine(codes) };
    Ok(TargetsReport { targets, exit_code })
}

/// The sections so far, and the first not yet handed on.
struct Flow {
    sections: Vec<Option<TargetReport>>,
    next: usize,
}

impl Flow {
    /// Stores a finished section, then hands on every section now complete in order.
    fn deliver(flow: &Mutex<Flow>, done: Option<(usize, TargetReport)>, sink: Option<&(dyn Fn(&TargetReport) + Send + Sync)>) {
        let mut f = flow.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((i, r)) = done {
            if let Some(slot) = f.sections.get_mut(i) {
                *slot = Some(r);
            }
        }
        f.flush(sink);
    }

    /// Hands on the sections complete in order (with a sink: each once, then without its
    /// jobs).
    fn flush(&mut self, sink: Option<&(dyn Fn(&TargetReport) + Send + Sync)>) {
        let Some(sink) = sink else { return };
        while let Some(Some(section)) = self.sections.get_mut(self.next) {
            sink(section);
            section.jobs = Vec::new();
            self.next = self.next.saturating_add(1);
        }
    }
}

fn section(t: &Target, exit_code: u8, error: Option<TargetError>, jobs: Vec<TargetJob>) -> TargetReport {
    TargetReport {
        name: t.name.clone(),
        cloud: t.cloud.clone(),
        region: t.region.clone(),
        project: t.project_label().map(str::to_owned),
        exit_code,
        error,
        jobs,
    }
}

/// One target's section: its jobs in turn, a volume done once per policy (a later job of a
/// policy leaves out the volumes an earlier job of that policy reported); the policy choices
/// are the jobs' own (their selections carry the allowed policies).
fn target(spec: &Spec, t: &Target, client: &ServiceClient, opts: &TargetsOpts) -> TargetReport {
    let mut covered: HashMap<String, HashSet<String>> = HashMap::new();
    let mut jobs: Vec<TargetJob> = Vec::new();
    let mut codes: Vec<u8> = Vec::new();
    for job in spec.jobs(t) {
        let done = covered.entry(job.policy.clone()).or_default();
        let selection = done.iter().fold(job.volumes(), |s, id| s.done_elsewhere(id.clone()));
        let had_done = !done.is_empty();
        let (outcomes, ids) = one_job(client, &job, selection, t, opts);
        done.extend(ids);
        // A job left with nothing (its volumes done by an earlier job of the policy, or gone to
        // other policies) is not shown.
        for outcome in outcomes.into_iter().filter(|o| !(had_done && nothing_done(o))) {
            codes.push(code_of(&outcome, opts.mode));
            jobs.push(TargetJob { policy: job.policy.clone(), selection: job.selection.clone(), outcome });
        }
    }
    let code = if opts.mode == Mode::Check { worst_check(codes) } else { combine(codes) };
    section(t, code, None, jobs)
}

/// A run or a check with no volume and not failed for it.
fn nothing_done(o: &Outcome) -> bool {
    match o {
        Outcome::Run(r) => r.volumes().is_empty() && !r.no_volume_matched(),
        Outcome::Check(r) => r.volumes().is_empty() && r.status() == CheckStatus::Ok,
        Outcome::Prune(_) | Outcome::Failed { .. } => false,
    }
}

/// The exit code of one job's outcome in the mode (`check`: the plugin's).
fn code_of(outcome: &Outcome, mode: Mode) -> u8 {
    match (outcome, mode) {
        (Outcome::Failed { error }, m) => {
            if m == Mode::Check {
                3
            } else {
                error_code(error)
            }
        }
        (Outcome::Run(r), _) => {
            if r.timed_out() {
                3
            } else if r.is_success() && !r.interrupted() {
                0
            } else {
                1
            }
        }
        (Outcome::Prune(r), _) => u8::from(r.counts().failed > 0),
        (Outcome::Check(r), _) => r.status().code(),
    }
}

/// One job in the mode: its outcomes (none when there is nothing to do: a check of a policy
/// without thresholds, a prune of no volume; a prune's volumes refused for their policy
/// choice or not found are failed outcomes after its report) and the volume ids it covered
/// (its rows, failed ones included).
fn one_job(client: &ServiceClient, job: &Job, selection: Selection, t: &Target, opts: &TargetsOpts) -> (Vec<Outcome>, Vec<String>) {
    let run = |dry: bool| {
        let Some(o) = &job.opts else { return Outcome::Failed { error: no_rules(job) } };
        let mut o = o.clone().selection(selection.clone());
        if let Some(adjust) = &opts.adjust {
            o = adjust(o);
        }
        if dry {
            o = o.dry_run(true);
        }
        match job::run(client, &o) {
            Ok(r) => Outcome::Run(Box::new(r)),
            Err(error) => Outcome::Failed { error },
        }
    };
    let outcome = match opts.mode {
        Mode::Run => run(false),
        Mode::Plan => run(true),
        Mode::Prune => return prune(client, job, &selection, t),
        Mode::Check => {
            let Some(check) = job.check.clone() else { return (Vec::new(), Vec::new()) };
            let mut check = check.selection(selection);
            if let Some(adjust) = &opts.adjust_check {
                check = adjust(check);
            }
            match job::check(client, &check) {
                Ok(r) => Outcome::Check(Box::new(r)),
                Err(error) => Outcome::Failed { error },
            }
        }
    };
    let ids = match &outcome {
        Outcome::Run(r) => r.volumes().iter().map(|v| v.volume_id.clone()).collect(),
        Outcome::Check(r) => r.volumes().iter().map(|v| v.volume_id.clone()).collect(),
        Outcome::Prune(_) | Outcome::Failed { .. } => Vec::new(),
    };
    (vec![outcome], ids)
}

/// A prune job: its volumes through the job's own selection (the one mechanism), then the
/// prune of the policy's snapshots on them.
fn prune(client: &ServiceClient, job: &Job, selection: &Selection, t: &Target) -> (Vec<Outcome>, Vec<String>) {
    let Some(opts) = &job.opts else { return (vec![Outcome::Failed { error: no_rules(job) }], Vec::new()) };
    let resolved = match selection.resolve_all(client, None, &job.policy) {
        Ok(r) => r,
        Err(error) => return (vec![Outcome::Failed { error }], Vec::new()),
    };
    let mut ids: Vec<String> = resolved.found.into_iter().map(|v| v.id).collect();
    let mut outcomes: Vec<Outcome> = Vec::new();
    if !ids.is_empty() {
        let mut o = PruneOpts::new(opts.policy().clone()).volumes(ids.iter().cloned());
        if let Some(n) = t.settings.concurrency {
            o = o.concurrency(n);
        }
        outcomes.push(match job::prune(client, &o) {
            Ok(r) => Outcome::Prune(Box::new(r)),
            Err(error) => Outcome::Failed { error },
        });
    }
    for m in resolved.missing {
        ids.push(m.given);
        outcomes.push(Outcome::Failed { error: m.error });
    }
    (outcomes, ids)
}

/// A job of a policy without rules ([`PolicySpec::check_only`](super::PolicySpec::check_only))
/// in a mode other than `check`: nothing can be created or deleted by it.
fn no_rules(job: &Job) -> Error {
    Error::Config(format!("policy {} has no keep rule: it can be checked, not run, planned or pruned", job.policy))
}

/// The plugin word of a code: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
fn state_word(code: u8) -> &'static str {
    match code {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// Cloud text on one line of a plugin's output: no control character, no `|`.
fn escape(s: &str) -> String {
    s.chars().map(|c| if c == '|' || c.is_control() { ' ' } else { c }).collect()
}

/// `s` cut to `max` characters (with `...` when cut).
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

impl TargetsReport {
    /// The failing volumes of a `check` as `(state code, "target/volume", reason)`: the
    /// checks' volumes not OK (CRITICAL first), then the volumes failed for their policy
    /// choice (CRITICAL).
    fn failing_volumes(&self) -> Vec<(u8, String, String)> {
        let mut out: Vec<(u8, String, String)> = Vec::new();
        for t in &self.targets {
            for j in &t.jobs {
                if let Outcome::Check(r) = &j.outcome {
                    for line in r.details() {
                        // "CRITICAL vol-02: ..." lines of the volumes (the check's own order).
                        let Some((state, rest)) = line.split_once(' ') else { continue };
                        let Some((volume, why)) = rest.split_once(": ") else { continue };
                        let code = match state {
                            "CRITICAL" => 2,
                            "WARNING" => 1,
                            _ => continue,
                        };
                        if r.volumes().iter().any(|v| v.label() == volume || escape(v.label()) == volume) {
                            out.push((
                                code,
                                format!("{}/{volume}", escape(&t.name)),
                                format!("{} ({}): {why}", state_word(code), j.policy),
                            ));
                        }
                    }
                }
            }
        }
        out.sort_by_key(|(code, _, _)| std::cmp::Reverse(*code));
        out
    }

    /// `check --config`'s whole output: the first line (state, counts of targets and
    /// volumes, up to three `target/volume` names; at most
    /// [`FIRST_LINE_MAX`](crate::job::FIRST_LINE_MAX) characters before ` | `, then the
    /// perfdata), then one line per failing target, then one per failing volume. Cloud text
    /// escaped: the output holds exactly one `|`.
    pub fn check_output(&self) -> String {
        let state = state_word(self.exit_code);
        let volumes = self.failing_volumes();
        let failing_targets: Vec<&TargetReport> = self.targets.iter().filter(|t| t.exit_code != 0).collect();
        let head = format!(
            "CINDER-SNAPSHOTS {state} - {} target{}, {} volume{}",
            self.targets.len(),
            if self.targets.len() == 1 { "" } else { "s" },
            self.volume_count(),
            if self.volume_count() == 1 { "" } else { "s" },
        );
        let mut named: Vec<String> = volumes.iter().map(|(_, n, _)| n.clone()).take(3).collect();
        for t in failing_targets.iter().filter(|t| t.error.is_some()) {
            if named.len() < 3 {
                named.push(escape(&t.name));
            }
        }
        let room = crate::job::FIRST_LINE_MAX.saturating_sub(head.chars().count().saturating_add(2));
        let first = if named.is_empty() || room < 8 { head } else { format!("{head}: {}", fit(&named.join(", "), room)) };
        let count = |c: u8| self.targets.iter().filter(|t| t.exit_code == c).count();
        let mut out = format!(
            "{} | targets={};;;0 volumes={};;;0 ok_targets={};;;0 warning_targets={};;;0 critical_targets={};;;0 unknown_targets={};;;0 failing_volumes={};;;0\n",
            fit(&first, crate::job::FIRST_LINE_MAX),
            self.targets.len(),
            self.volume_count(),
            count(0),
            count(1),
            count(2),
            count(3),
            volumes.len(),
        );
        for t in &failing_targets {
            let why = match &t.error {
                Some(e) => escape(&e.to_string()),
                None => {
                    let mut parts: Vec<String> = Vec::new();
                    for j in &t.jobs {
                        match &j.outcome {
                            Outcome::Check(r) if r.status() != CheckStatus::Ok => {
                                parts.push(format!("{} {}", j.policy, escape(r.status_line().split(" | ").next().unwrap_or_default())));
                            }
                            Outcome::Failed { error } => parts.push(format!("{}: {}", j.policy, escape(&error.full_message()))),
                            _ => {}
                        }
                    }
                    parts.join("; ")
                }
            };
            out.push_str(&format!("target {}: {}: {why}\n", escape(&t.name), state_word(t.exit_code)));
        }
        for (_, name, why) in &volumes {
            out.push_str(&format!("{name}: {why}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0 when nothing failed, 3 only when every failure is a wait timeout, else 1.
    #[test]
    fn exit_codes_combine() {
        assert_eq!(combine([0, 0]), 0);
        assert_eq!(combine([0, 3, 3]), 3);
        assert_eq!(combine([3, 0, 1]), 1);
        assert_eq!(combine([1, 3]), 1);
        assert_eq!(combine(Vec::<u8>::new()), 0);
        assert_eq!(worst_check([0, 1, 3]), 3);
        assert_eq!(worst_check([3, 2, 1]), 2);
        assert_eq!(worst_check([0, 1]), 1);
    }

    #[test]
    fn parallel_keeps_the_order_and_reports_a_panic_in_its_place() {
        let items: Vec<u32> = (0..20).collect();
        let out = parallel(&items, 3, |i| if *i == 7 { panic!("seven") } else { i * 2 });
        assert_eq!(out.len(), 20);
        assert_eq!(out[6], Ok(12));
        assert_eq!(out[7], Err("seven".to_owned()));
        assert_eq!(out[19], Ok(38));
    }
}
