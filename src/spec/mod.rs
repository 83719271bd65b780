//! The job spec: one YAML file naming the policies, the selections of volumes and the
//! targets (a cloud of clouds.yaml, a region, a project) of an estate, and which policies
//! apply to which selections on which targets.
//!
//! Pure: [`Spec::parse`] reads text, [`Spec::from_path`] a file (the only I/O); nothing here
//! talks to a cloud. [`Spec::jobs`] gives, per target, the (policy, selection) pairs as
//! [`JobOpts`], made by [`job_opts`], the one function the command line's flag form goes
//! through too ([`Spec::single`] is today's flags as a one-entry spec). The executor of many
//! targets in one process is [`run_targets`].
//!
//! ```
//! # #[cfg(feature = "clouds-yaml")] {
//! use cinder_snapshots::spec::Spec;
//! let spec = Spec::parse(
//!     "version: 1\n\
//!      policies:\n  nightly:\n    keep-daily: 7\n\
//!      selections:\n  db:\n    select: {backup: nightly}\n    policies: [nightly]\n\
//!      targets:\n  web:\n    cloud: prod\n    selections: [db]\n",
//!     "estate.yaml",
//! )?;
//! let target = &spec.targets()[0];
//! let jobs = spec.jobs(target);
//! assert_eq!(jobs[0].opts.as_ref().map(|o| o.policy().id()), Some("nightly"));
//!
//! let err = Spec::parse("version: 1\npolicies:\n  nightly:\n    keep-daly: 7\n", "estate.yaml").unwrap_err();
//! assert_eq!(err.to_string(), "estate.yaml:4: policies.nightly.keep-daly: unknown key (did you mean keep-daily?)");
//! # }
//! # Ok::<(), cinder_snapshots::spec::SpecError>(())
//! ```

mod keys;
#[cfg(feature = "clouds-yaml")]
mod parse;
mod targets;

use std::fmt;
#[cfg(feature = "clouds-yaml")]
use std::path::Path;
use std::time::Duration;

pub use keys::{KeyError, POLICY_KEYS, check_policy_id, parse_utc_offset, policy_from_keys};
pub use targets::{
    Adjust, AdjustCheck, EachTarget, MAX_PARALLEL_ENDPOINTS, Mode, Outcome, TargetError, TargetJob, TargetReport, TargetsError,
    TargetsOpts, TargetsReport, run_targets,
};

use crate::job::{CheckOpts, JobOpts, Selection, Window};
use crate::retention::Policy;

/// The metadata key a volume narrows its policies with (re-exported from [`job`](crate::job),
/// where the job's selection reads it), and the error of a refused choice.
pub use crate::job::{POLICIES_KEY, PolicyChoiceError};

/// The one version of the spec's format this crate reads.
pub const VERSION: u64 = 1;

/// A mistake in a spec: the file, the line (1-based), the key path
/// (`policies.nightly.keep-daly`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpecError {
    /// The file (or the origin given to [`Spec::parse`]).
    pub origin: String,
    /// The line, 1-based.
    pub line: usize,
    /// The key path, dot-separated; empty for the file as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}:{}: {}", self.origin, self.line, self.message)
        } else {
            write!(f, "{}:{}: {}: {}", self.origin, self.line, self.path, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// The settings a target's jobs run with (the spec's `defaults`, laid under each target's
/// own): `None` is the command line's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// `concurrency`: creates and deletes in flight per Cinder endpoint.
    pub concurrency: Option<usize>,
    /// `wait-timeout`: the wait for the snapshots.
    pub wait_timeout: Option<Duration>,
    /// `deadline`: the whole run.
    pub deadline: Option<Duration>,
    /// `max-pause`: the longest pause a rate limiter may impose (the client's).
    pub max_pause: Option<Duration>,
    /// `allow-empty`: a selection matching no volume is a success.
    pub allow_empty: bool,
}

impl Settings {
    /// No setting: the command line's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `concurrency`.
    #[must_use]
    pub fn with_concurrency(mut self, n: Option<usize>) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets `wait-timeout`.
    #[must_use]
    pub fn with_wait_timeout(mut self, d: Option<Duration>) -> Self {
        self.wait_timeout = d;
        self
    }

    /// Sets `deadline`.
    #[must_use]
    pub fn with_deadline(mut self, d: Option<Duration>) -> Self {
        self.deadline = d;
        self
    }

    /// Sets `max-pause`.
    #[must_use]
    pub fn with_max_pause(mut self, d: Option<Duration>) -> Self {
        self.max_pause = d;
        self
    }

    /// Sets `allow-empty`.
    #[must_use]
    pub fn with_allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// `over`'s settings where it has them, these elsewhere.
    #[must_use]
    pub fn overlaid(&self, over: &Settings) -> Settings {
        Settings {
            concurrency: over.concurrency.or(self.concurrency),
            wait_timeout: over.wait_timeout.or(self.wait_timeout),
            deadline: over.deadline.or(self.deadline),
            max_pause: over.max_pause.or(self.max_pause),
            allow_empty: over.allow_empty || self.allow_empty,
        }
    }
}

/// One policy of a spec: its id (the labels' policy id, verbatim), its rules, its window and
/// its check's thresholds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PolicySpec {
    /// The policy id when there are no rules (else the rules' id).
    id: String,
    /// The retention policy (its id is the spec's key). `None` only for a policy that is
    /// checked and never run ([`PolicySpec::check_only`]: `check --policy ID --warn --crit`
    /// with no `--keep-*`); a spec file's policy always has rules.
    pub policy: Option<Policy>,
    /// `every`: the window (default [`Window::for_policy`]).
    pub every: Option<Window>,
    /// `warn`: `check`'s warning age.
    pub warn: Option<Duration>,
    /// `crit`: `check`'s critical age.
    pub crit: Option<Duration>,
}

impl PolicySpec {
    /// A policy with no window and no thresholds.
    pub fn new(policy: Policy) -> Self {
        PolicySpec { id: policy.id().to_owned(), policy: Some(policy), every: None, warn: None, crit: None }
    }

    /// A policy known only by its id and its check's thresholds (the flag form of `check`
    /// without `--keep-*`): no rule is made up for it, so its jobs are checks only
    /// ([`Job::opts`] is `None`; `run`, `plan` and `prune` fail such a job).
    pub fn check_only(id: impl Into<String>, warn: Duration, crit: Duration) -> Self {
        PolicySpec { id: id.into(), policy: None, every: None, warn: Some(warn), crit: Some(crit) }
    }

    /// The policy id (the rules' when it has rules).
    pub fn id(&self) -> &str {
        self.policy.as_ref().map_or(&self.id, Policy::id)
    }
}

/// One selection of a spec: the volumes and the policies applied to them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SelectionSpec {
    /// The selection's name (its key).
    pub name: String,
    /// The volumes (tags, ids or names, or all; with the exclusions).
    pub selection: Selection,
    /// The ids of the policies applied, in the order given.
    pub policies: Vec<String>,
}

/// The project a target is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Project {
    /// `project: NAME` (with `project-domain`, default `Default`).
    Name {
        /// The project's name.
        name: String,
        /// Its domain's name.
        domain: String,
    },
    /// `project-id: ID`.
    Id(String),
}

/// One target: ONE project of one cloud in one region, and the selections done there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The name (`web-r1`, or `web-r1/RegionTwo` when expanded from `regions`).
    pub name: String,
    /// The spec's line of the target.
    pub line: usize,
    /// The clouds.yaml entry; `None`: the `OS_*` variables (the flag form's target).
    pub cloud: Option<String>,
    /// The region; `None`: the cloud's.
    pub region: Option<String>,
    /// The project scoped to; `None`: the cloud's.
    pub project: Option<Project>,
    /// The names of the selections done, in the order given.
    pub selections: Vec<String>,
    /// The settings of its jobs (the defaults laid under its own).
    pub settings: Settings,
}

impl Target {
    /// The project as the report names it: its name or its id.
    pub fn project_label(&self) -> Option<&str> {
        match &self.project {
            Some(Project::Name { name, .. }) => Some(name),
            Some(Project::Id(id)) => Some(id),
            None => None,
        }
    }
}

/// One job of a target: a policy applied to a selection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Job {
    /// The policy id.
    pub policy: String,
    /// The selection's name.
    pub selection: String,
    /// The run's options, made by [`job_opts`]; `None` for a policy without rules
    /// ([`PolicySpec::check_only`]), which is only checked.
    pub opts: Option<JobOpts>,
    /// The check's options, when the policy has `warn` and `crit`.
    pub check: Option<CheckOpts>,
}

impl Job {
    /// The job's volumes: its run's selection (its check's for a policy without rules).
    pub fn volumes(&self) -> Selection {
        match (&self.opts, &self.check) {
            (Some(o), _) => o.get_selection().clone(),
            (None, Some(c)) => c.get_selection().clone(),
            (None, None) => Selection::new(),
        }
    }
}

/// A parsed, checked spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    origin: String,
    policies: Vec<PolicySpec>,
    selections: Vec<SelectionSpec>,
    targets: Vec<Target>,
}

/// `wait-timeout` (`run --wait-timeout`) when the spec and the command line say none.
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(3600);

/// THE translation of a policy, a selection and settings into a job's options: the spec's
/// jobs and the command line's flags both go through it. `None` for a policy without rules
/// ([`PolicySpec::check_only`]).
pub fn job_opts(policy: &PolicySpec, selection: &Selection, settings: &Settings) -> Option<JobOpts> {
    let mut opts = JobOpts::new(policy.policy.clone()?).selection(selection.clone()).allow_empty(settings.allow_empty);
    if let Some(w) = policy.every {
        opts = opts.every(w);
    }
    if let Some(n) = settings.concurrency {
        opts = opts.concurrency(n);
    }
    // The spec's and the command line's own default (1h, as documented), not the
    // library's (the client's poll policy).
    opts = opts.timeout(settings.wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT));
    if let Some(d) = settings.deadline {
        opts = opts.deadline(d);
    }
    Some(opts)
}

/// The check's options of a policy on a selection, when the policy has both thresholds.
pub fn check_opts(policy: &PolicySpec, selection: &Selection) -> Option<CheckOpts> {
    let (warn, crit) = (policy.warn?, policy.crit?);
    let opts = CheckOpts::new(policy.id(), warn, crit).selection(selection.clone());
    Some(match &policy.policy {
        Some(rules) => opts.policy(rules.clone()),
        None => opts,
    })
}

impl Spec {
    /// Reads and checks the spec in file `path` (named in the errors as given).
    ///
    /// # Errors
    ///
    /// A [`SpecError`]: the file unreadable (line 0), or a mistake in it.
    #[cfg(feature = "clouds-yaml")]
    pub fn from_path(path: impl AsRef<Path>) -> Result<Spec, SpecError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            origin: origin.clone(),
            line: 0,
            path: String::new(),
            message: format!("cannot read the spec: {e}"),
        })?;
        Spec::parse(&text, &origin)
    }

    /// Parses and checks a spec's text; `origin` names it in the errors.
    ///
    /// # Errors
    ///
    /// The first [`SpecError`] found.
    #[cfg(feature = "clouds-yaml")]
    pub fn parse(text: &str, origin: &str) -> Result<Spec, SpecError> {
        parse::parse(text, origin)
    }

    /// Today's flags as a one-entry spec: target `default` (the `OS_*` variables), selection
    /// `default`, one policy.
    pub fn single(policy: PolicySpec, selection: Selection, settings: Settings) -> Spec {
        let id = policy.id().to_owned();
        Spec {
            origin: "the command line".to_owned(),
            policies: vec![policy],
            selections: vec![SelectionSpec { name: "default".to_owned(), selection, policies: vec![id] }],
            targets: vec![Target {
                name: "default".to_owned(),
                line: 0,
                cloud: None,
                region: None,
                project: None,
                selections: vec!["default".to_owned()],
                settings,
            }],
        }
    }

    /// The file (or origin) the spec came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The policies, in the file's order.
    pub fn policies(&self) -> &[PolicySpec] {
        &self.policies
    }

    /// The policy `id`.
    pub fn policy(&self, id: &str) -> Option<&PolicySpec> {
        self.policies.iter().find(|p| p.id() == id)
    }

    /// The selections, in the file's order.
    pub fn selections(&self) -> &[SelectionSpec] {
        &self.selections
    }

    /// The selection `name`.
    pub fn selection(&self, name: &str) -> Option<&SelectionSpec> {
        self.selections.iter().find(|s| s.name == name)
    }

    /// The targets, in the file's order (a target with `regions` expanded in place).
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The ids of the policies a target applies (each once, in order).
    pub fn target_policies(&self, target: &Target) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for s in target.selections.iter().filter_map(|s| self.selection(s)) {
            for p in &s.policies {
                if !ids.contains(&p.as_str()) {
                    ids.push(p);
                }
            }
        }
        ids
    }

    /// The jobs of a target: each of its selections with each of that selection's policies,
    /// in the file's order, made by [`job_opts`]; each job's [`Selection`] carries its
    /// selection's policies (those a volume may choose among in its [`POLICIES_KEY`]).
    pub fn jobs(&self, target: &Target) -> Vec<Job> {
        let mut jobs = Vec::new();
        for selection in target.selections.iter().filter_map(|s| self.selection(s)) {
            let volumes = selection.selection.clone().policies(selection.policies.iter().cloned());
            for policy in selection.policies.iter().filter_map(|p| self.policy(p)) {
                jobs.push(Job {
                    policy: policy.id().to_owned(),
                    selection: selection.name.clone(),
                    opts: job_opts(policy, &volumes, &target.settings),
                    check: check_opts(policy, &volumes),
                });
            }
        }
        jobs
    }

    /// The spec limited to the targets named (`--target NAME`, repeatable; a target expanded
    /// from `regions` is named `NAME/REGION`, or `NAME` for all its regions).
    ///
    /// # Errors
    ///
    /// A [`SpecError`] for a name that is no target of the spec.
    pub fn only(&self, names: &[String]) -> Result<Spec, SpecError> {
        if names.is_empty() {
            return Ok(self.clone());
        }
        let matches = |t: &Target, n: &str| t.name == n || t.name.strip_prefix(n).is_some_and(|rest| rest.starts_with('/'));
        for n in names {
            if !self.targets.iter().any(|t| matches(t, n)) {
                let known: Vec<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
                return Err(SpecError {
                    origin: self.origin.clone(),
                    line: 0,
                    path: "targets".to_owned(),
                    message: format!("--target {n:?} is no target of the spec (its targets: {})", known.join(", ")),
                });
            }
        }
        let mut spec = self.clone();
        spec.targets.retain(|t| names.iter().any(|n| matches(t, n)));
        Ok(spec)
    }
}
