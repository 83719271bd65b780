//! What a job run covers and how it runs: [`Selection`] and [`JobOpts`].

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::{Progress, Window};
use crate::client::ServiceClient;
use crate::error::{Error, Result};
use crate::retention::Policy;
use crate::volumes::{self, Volume, VolumeStatus};

/// The metadata key a volume narrows its policies with: a comma list of policy ids, each one
/// of its selection's [policies](Selection::policies) (another name fails the volume: run,
/// a failed row with [`Unresolved::PolicyChoice`]; check, CRITICAL).
pub const POLICIES_KEY: &str = "cinder-snapshots.policies";

/// How many creates [`run`](super::run) sends at once, and how many deletes
/// [`prune`](super::prune) sends at once, unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most creates [`JobOpts::concurrency`] allows at once.
pub const MAX_CONCURRENCY: usize = 64;
/// The default [`JobOpts::deadline`]: one hour for the whole run.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

/// Which volumes a run or a check covers: the union of every volume carrying all the
/// [tags](Self::tag), the volumes [named](Self::volume), and, with [`all`](Self::all),
/// every volume of the project (admins, with [`all_projects`](Self::all_projects): of
/// every project).
///
/// Built through the setters of [`JobOpts`] and [`CheckOpts`](super::CheckOpts) (or its
/// own). An empty selection is refused by [`run`](super::run) and
/// [`check`](super::check) ("no volumes selected"): it never means "every volume". A
/// selection that matches no volume is a failed run unless [`JobOpts::allow_empty`]
/// (see [`JobReport::no_volume_matched`](super::JobReport::no_volume_matched)); it is judged
/// as a whole: tags matching nothing while a volume named matches are fine.
///
/// Its `Display` is the selection in the command line's spelling, as the messages name it:
/// `--select backup=nightly --volume db-1`, `--all --all-projects`.
///
/// ```
/// use cinder_snapshots::job::Selection;
/// let s = Selection::new().tag("backup", "nightly").volume("db-data");
/// assert_eq!(s.tags(), [("backup".to_owned(), "nightly".to_owned())]);
/// assert_eq!(s.volumes(), ["db-data"]);
/// assert!(!s.is_empty());
/// assert!(Selection::new().all_projects(true).is_empty()); // a scope, not a selection
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct Selection {
    tags: Vec<(String, String)>,
    volumes: Vec<String>,
    all: bool,
    all_projects: bool,
    exclude: Vec<String>,
    policies: Vec<String>,
    done: BTreeSet<String>,
}

impl Selection {
    /// Nothing selected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every volume carrying this metadata item (with every other tag given: all must
    /// match), listed to the last page with the server-side `metadata` filter.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// A volume by id (a UUID: fetched), or by name (must match exactly one volume).
    pub fn volume(mut self, id_or_name: impl Into<String>) -> Self {
        self.volumes.push(id_or_name.into());
        self
    }

    /// Every volume of the project.
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Admins: the tags and [`all`](Self::all) reach the volumes of every project
    /// (`all_tenants`), and so do the snapshot listings of the run.
    pub fn all_projects(mut self, all: bool) -> Self {
        self.all_projects = all;
        self
    }

    /// A volume (by id or name) never done, whatever else selects it; repeatable. The job
    /// spec's `exclude`, and the volumes its executor keeps out of a policy.
    pub fn exclude(mut self, id_or_name: impl Into<String>) -> Self {
        self.exclude.push(id_or_name.into());
        self
    }

    /// The policy ids a volume may choose among in its [`POLICIES_KEY`] metadata (the job
    /// spec's selection's `policies`); none given: the job's own policy only. A volume that
    /// names another id fails; a volume whose choice leaves out the job's policy is not the
    /// job's.
    pub fn policies<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policies = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The policy ids a volume may choose among (empty: the job's own policy only).
    pub fn allowed_policies(&self) -> &[String] {
        &self.policies
    }

    /// A volume id already done by another job of the same policy (the job spec's
    /// executor, a volume in two selections of one target): left out, and, unlike an
    /// [exclusion](Self::exclude), it does not make the job's selection "no volume matched".
    pub fn done_elsewhere(mut self, id: impl Into<String>) -> Self {
        self.done.insert(id.into());
        self
    }

    /// The volume ids [done elsewhere](Self::done_elsewhere).
    pub fn done_ids(&self) -> &BTreeSet<String> {
        &self.done
    }

    /// The volumes excluded, in the order given.
    pub fn excluded(&self) -> &[String] {
        &self.exclude
    }

    /// The tags, in the order given.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The volume ids or names, in the order given.
    pub fn volumes(&self) -> &[String] {
        &self.volumes
    }

    /// Whether every volume is selected.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether the volumes of every project are reached.
    pub fn is_all_projects(&self) -> bool {
        self.all_projects
    }

    /// Whether nothing is selected (no tag, no volume, not all).
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.volumes.is_empty() && !self.all
    }

    /// The selected volumes of the job of policy `policy_id`, each once, in the order found:
    /// every volume (with [`all`](Self::all)) or every volume with the tags, to the last
    /// page, then the volumes named; less the [excluded](Self::exclude) and those
    /// [done elsewhere](Self::done_elsewhere). A volume named that does not resolve (no
    /// volume with that id, no volume or several with that name, or its look-up failed
    /// otherwise), and a volume whose [`POLICIES_KEY`] names a policy not
    /// [allowed](Self::policies), is returned apart in [`Resolved::missing`] with its typed
    /// reason and error; a volume whose valid choice leaves out `policy_id` is counted in
    /// [`Resolved::elsewhere`]. An empty selection is an [`Error::InvalidInput`];
    /// authentication errors end the selection (every look-up would meet them).
    pub(crate) fn resolve_all(&self, client: &ServiceClient, page_size: Option<u32>, policy_id: &str) -> Result<Resolved> {
        if self.is_empty() {
            return Err(no_selection());
        }
        let mut found: Vec<Chosen> = Vec::new();
        if self.all || !self.tags.is_empty() {
            // The total (3.45+) ends the listing at its last item (no empty last page).
            let with_count = client.microversion()? >= crate::paging::WITH_COUNT;
            let mut list = volumes::ListOpts::new().all_projects(self.all_projects).with_count(with_count);
            if !self.all {
                list = self.tags.iter().fold(list, |o, (k, v)| o.metadata(k, v));
            }
            if let Some(n) = page_size {
                list = list.limit(n);
            }
            for volume in volumes::list_detail(client, &list)? {
                found.push(Chosen::from(volume?));
            }
        }
        let mut missing: Vec<Missing> = Vec::new();
        for given in &self.volumes {
            // The one rule: shaped like an id (32 hex digits too), looked up by id in
            // Cinder's form; else by name.
            let volume = match crate::resource::canonical_id(given) {
                Some(id) => volumes::get(client, &id),
                None => volumes::find_by_name(client, given),
            };
            match volume {
                Ok(volume) => found.push(Chosen::from(volume)),
                Err(e) if e.is_unauthorized() => return Err(e),
                Err(error) => {
                    if !missing.iter().any(|m| m.given == *given) {
                        missing.push(Missing { given: given.clone(), name: None, why: Unresolved::of(&error), error });
                    }
                }
            }
        }
        let mut seen: HashSet<String> = HashSet::new();
        found.retain(|c| seen.insert(c.volume.id.clone()));
        if !self.exclude.is_empty() {
            let excluded: HashSet<&str> = self.exclude.iter().map(String::as_str).collect();
            found.retain(|c| !excluded.contains(c.volume.id.as_str()) && !c.volume.name.as_deref().is_some_and(|n| excluded.contains(n)));
        }
        let mut elsewhere = 0usize;
        if !self.done.is_empty() {
            let before = found.len();
            found.retain(|c| !self.done.contains(&c.volume.id));
            elsewhere = before.saturating_sub(found.len());
        }
        // The policy choices: after the exclusions (an excluded volume is not judged).
        let own = [policy_id.to_owned()];
        let allowed: &[String] = if self.policies.is_empty() { &own } else { &self.policies };
        let mut selected: Vec<Selected> = Vec::with_capacity(found.len());
        let mut refused: Vec<Missing> = Vec::new();
        for Chosen { volume, choice } in found {
            let Some(given) = choice else {
                selected.push(volume);
                continue;
            };
            let chosen: Vec<&str> = given.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if let Some(unknown) = chosen.iter().find(|c| !allowed.iter().any(|a| a == *c)) {
                let unknown = (*unknown).to_owned();
                let why = Unresolved::PolicyChoice { given: given.clone(), unknown: unknown.clone(), allowed: allowed.to_vec() };
                let error = Error::PolicyChoice(Box::new(PolicyChoiceError {
                    volume: volume.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| volume.id.clone()),
                    volume_id: volume.id.clone(),
                    given: given.clone(),
                    unknown,
                    allowed: allowed.join(", "),
                }));
                refused.push(Missing { given: volume.id.clone(), name: volume.name.clone(), why, error });
            } else if chosen.is_empty() || chosen.contains(&policy_id) {
                selected.push(volume);
            } else {
                elsewhere = elsewhere.saturating_add(1);
            }
        }
        // The refused volumes first (they were found), then the names that did not resolve.
        refused.append(&mut missing);
        Ok(Resolved { found: selected, missing: refused, elsewhere })
    }
}

/// `--select K=V ...`, `--volume V ...`, `--all`, `--all-projects`, in that order (values
/// with a space, a quote or nothing are quoted as Rust strings).
impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn word(s: &str) -> String {
            if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'') {
                format!("{s:?}")
            } else {
                s.to_owned()
            }
        }
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.tags.iter().map(|(k, v)| format!("--select {}", word(&format!("{k}={v}")))));
        parts.extend(self.volumes.iter().map(|v| format!("--volume {}", word(v))));
        if self.all {
            parts.push("--all".to_owned());
        }
        if self.all_projects {
            parts.push("--all-projects".to_owned());
        }
        if parts.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&parts.join(" "))
    }
}

/// Why a volume given by id or name (a [`Selection::volume`]) was not found: the typed
/// reason of a [`VolumeReport::unresolved`](super::VolumeReport::unresolved).
///
/// Serialised as `{"reason": "not_found"}`, `{"reason": "ambiguous", "ids": [...]}` or
/// `{"reason": "lookup_failed", "status": 500}` (`status`: the HTTP status, or null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unresolved {
    /// No volume has this id (Cinder's 404), or no volume has this name.
    NotFound,
    /// Several volumes have this name: their ids.
    Ambiguous {
        /// The ids of every volume with the name.
        ids: Vec<String>,
    },
    /// The look-up itself failed (a refusal other than 404, a transport error, ...); the
    /// message is in [`VolumeReport::error`](super::VolumeReport::error).
    LookupFailed {
        /// The HTTP status, when the server answered with an error.
        status: Option<u16>,
    },
    /// The volume was found, but its [`POLICIES_KEY`] metadata names a policy its selection
    /// does not [allow](Selection::policies): nothing is done to it, it fails.
    PolicyChoice {
        /// The metadata value, as the volume carries it.
        given: String,
        /// The first name in it not allowed.
        unknown: String,
        /// The policy ids allowed.
        allowed: Vec<String>,
    },
}

/// A volume that chose, in its [`POLICIES_KEY`] metadata, a policy its selection does not
/// list: the volume fails (run: exit 1; check: CRITICAL), nothing is done to it. The error
/// of [`Unresolved::PolicyChoice`] ([`Error::PolicyChoice`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("volume {volume}: {POLICIES_KEY}={given:?} names {unknown:?}, not one of the policies of its selection ({allowed})")]
#[non_exhaustive]
pub struct PolicyChoiceError {
    /// The volume's name, else its id.
    pub volume: String,
    /// The volume's id.
    pub volume_id: String,
    /// The metadata value.
    pub given: String,
    /// The first name not among the selection's policies.
    pub unknown: String,
    /// The selection's policies, comma-separated.
    pub allowed: String,
}

impl Unresolved {
    fn of(e: &Error) -> Self {
        match e {
            Error::MultipleMatches { ids, .. } => Unresolved::Ambiguous { ids: ids.clone() },
            e if e.is_not_found() => Unresolved::NotFound,
            e => Unresolved::LookupFailed { status: e.status() },
        }
    }
}

/// A volume given by id or name that did not resolve, or a volume refused for its policy
/// choice: as given (the refused volume: its id), its name when found, why, and the error.
#[derive(Debug)]
pub(crate) struct Missing {
    pub(crate) given: String,
    pub(crate) name: Option<String>,
    pub(crate) why: Unresolved,
    pub(crate) error: Error,
}

/// What [`Selection::resolve_all`] gives.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The volumes of the job, in the order found.
    pub(crate) found: Vec<Selected>,
    /// The volumes refused for their policy choice, then the names that did not resolve.
    pub(crate) missing: Vec<Missing>,
    /// The volumes left to other jobs: done elsewhere, or whose choice leaves out the job's
    /// policy (a job whose every volume is such did match volumes).
    pub(crate) elsewhere: usize,
}

/// A volume found, with its [`POLICIES_KEY`] value.
struct Chosen {
    volume: Selected,
    choice: Option<String>,
}

impl From<Volume> for Chosen {
    fn from(mut v: Volume) -> Self {
        let choice = v.metadata.remove(POLICIES_KEY);
        Chosen { volume: Selected::from(v), choice }
    }
}

/// What a run or a check keeps of a selected volume (not the whole [`Volume`], so that a
/// large selection costs little memory).
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) status: VolumeStatus,
    /// When Cinder created it (the check's age of a volume without a snapshot).
    pub(crate) created_at: Option<OffsetDateTime>,
    /// Its size in GiB (what its snapshot takes of the `gigabytes` quota).
    pub(crate) size: u64,
    /// Its volume type's name (the per-type quota keys), when Cinder says.
    pub(crate) volume_type: Option<String>,
}

impl From<Volume> for Selected {
    fn from(v: Volume) -> Self {
        Selected { id: v.id, name: v.name, status: v.status, created_at: v.created_at, size: v.size, volume_type: v.volume_type }
    }
}

/// The error of an empty selection.
pub(crate) fn no_selection() -> Error {
    Error::InvalidInput("no volumes selected: select volumes by tag, by id or name, or all volumes".into())
}

/// A progress callback of a run.
pub(crate) type ProgressCallback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What [`run`](super::run) does: the policy, the volumes, the window, and how.
///
/// Made with [`JobOpts::new`], changed with chainable setters; every setting has a getter.
/// Defaults: nothing selected (select something, or [`run`](super::run) refuses), the
/// window [`Window::for_policy`], [`DEFAULT_CONCURRENCY`] creates at once, the wait's
/// timeout and its polls as the client's [`PollPolicy`](crate::PollPolicy) says (see
/// [`timeout`](Self::timeout) and [`poll_interval`](Self::poll_interval)), the server's page
/// size, for real, now.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::job::{JobOpts, Window};
/// use cinder_snapshots::retention::Policy;
///
/// let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build()?;
/// let opts = JobOpts::new(policy)
///     .select_tag("backup", "nightly")
///     .select_volume("db-data")
///     .concurrency(8)
///     .timeout(Duration::from_secs(7200))
///     .poll_interval(Duration::from_secs(2), Duration::from_secs(60))
///     .page_size(500)
///     .dry_run(true);
/// assert_eq!(opts.window(), Window::Daily);
/// assert_eq!(opts.get_concurrency(), 8);
/// assert_eq!(opts.concurrency(0).get_concurrency(), 1);
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct JobOpts {
    pub(crate) policy: Policy,
    pub(crate) selection: Selection,
    pub(crate) window: Option<Window>,
    pub(crate) concurrency: usize,
    /// `None`: the client's [`PollPolicy`](crate::PollPolicy) timeout.
    pub(crate) timeout: Option<Duration>,
    /// `None`: the client's [`PollPolicy`](crate::PollPolicy) intervals.
    pub(crate) poll_interval: Option<(Duration, Duration)>,
    pub(crate) page_size: Option<u32>,
    pub(crate) dry_run: bool,
    pub(crate) allow_empty: bool,
    pub(crate) now: Option<OffsetDateTime>,
    pub(crate) progress: Option<ProgressCallback>,
    pub(crate) all_or_nothing: bool,
    pub(crate) prune_first: bool,
    pub(crate) deadline: Duration,
    pub(crate) hooks: super::Hooks,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

/// The selection setters of [`JobOpts`] and [`CheckOpts`](super::CheckOpts) (on their
/// `selection: Selection` field), so that both choose volumes the same way.
macro_rules! selection_setters {
    () => {
        /// Selects every volume carrying this metadata item; repeatable (a volume must carry
        /// all the tags; server-side `metadata` filter, listed to the last page).
        pub fn select_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.selection = self.selection.tag(key, value);
            self
        }

        /// Selects a volume by id, or by a name matching exactly one volume; repeatable.
        pub fn select_volume(mut self, id_or_name: impl Into<String>) -> Self {
            self.selection = self.selection.volume(id_or_name);
            self
        }

        /// Selects every volume of the project.
        pub fn all_volumes(mut self, all: bool) -> Self {
            self.selection = self.selection.all(all);
            self
        }

        /// Admins: the volumes (and snapshots) of every project (`all_tenants`).
        pub fn all_projects(mut self, all: bool) -> Self {
            self.selection = self.selection.all_projects(all);
            self
        }

        /// Replaces the whole selection.
        pub fn selection(mut self, selection: Selection) -> Self {
            self.selection = selection;
            self
        }
    };
}
pub(super) use selection_setters;

impl JobOpts {
    /// A job for this retention policy (its id is the ownership label; its rules prune).
    pub fn new(policy: Policy) -> Self {
        JobOpts {
            policy,
            selection: Selection::new(),
            window: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: None,
            poll_interval: None,
            page_size: None,
            dry_run: false,
            allow_empty: false,
            now: None,
            progress: None,
            all_or_nothing: false,
            prune_first: false,
            deadline: DEFAULT_DEADLINE,
            hooks: super::Hooks::default(),
            cancel: None,
        }
    }

    selection_setters!();

    /// The window: one snapshot per volume per window (default
    /// [`Window::for_policy`]).
    pub fn every(mut self, window: Window) -> Self {
        self.window = Some(window);
        self
    }

    /// How many creates are sent at once (default [`DEFAULT_CONCURRENCY`]; clamped to
    /// 1..=[`MAX_CONCURRENCY`]). The prune's deletes use it too.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.clamp(1, MAX_CONCURRENCY);
        self
    }

    /// The overall deadline of the wait for the snapshots, counted from its start (default:
    /// the client's [`PollPolicy`](crate::PollPolicy) timeout, 30 minutes unless the client
    /// was built with another; a policy waiting [`forever`](crate::PollPolicy::forever)
    /// leaves only the run's [`deadline`](Self::deadline)). The deletes of snapshots that
    /// went to `error` and of the prune are bounded by it too.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// The first interval between two polls of the wait, and the largest: the interval grows
    /// by the client's [`PollPolicy`](crate::PollPolicy) backoff factor after each poll
    /// (default: the client's intervals, 1 s growing to 15 s unless the client was built
    /// with others; the fake cloud's clients poll every few milliseconds). A `max` below
    /// `initial` counts as `initial`.
    pub fn poll_interval(mut self, initial: Duration, max: Duration) -> Self {
        self.poll_interval = Some((initial, max.max(initial)));
        self
    }

    /// The poll policy of a run on `client`: the client's [`PollPolicy`](crate::PollPolicy)
    /// with [`timeout`](Self::timeout) and [`poll_interval`](Self::poll_interval) laid over
    /// it when they were set.
    pub(crate) fn poll_policy(&self, client: &ServiceClient) -> crate::PollPolicy {
        let mut p = client.poll_policy().clone();
        if let Some(t) = self.timeout {
            p.timeout = Some(t);
        }
        if let Some((initial, max)) = self.poll_interval {
            p.initial_interval = initial;
            p.max_interval = max;
        }
        p
    }

    /// The `limit` of every listing page (default: none, the server's own cap, 1000 by
    /// default); listings still go to the last page.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Lists and plans only: no create, no delete (see the [module docs](super)).
    pub fn dry_run(mut self, dry: bool) -> Self {
        self.dry_run = dry;
        self
    }

    /// Whether a selection that matches no volume is a success (default `false`: such a run
    /// does nothing and is a failure, [`JobReport::no_volume_matched`](super::JobReport::no_volume_matched),
    /// so that a misspelt tag in a nightly job is seen the first night).
    pub fn allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// The time the window is chosen by and the run labels carry (default: the current
    /// time when the run starts); also the prune's `now`.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Called with the counts after the creates and after every poll of the wait (from the
    /// thread that called [`run`](super::run)).
    pub fn progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// When the quota preflight finds that not every volume to snapshot fits the project's
    /// `snapshots` quotas, create nothing: [`run`](super::run) returns
    /// [`Error::QuotaExceeded`] with every quota that binds. Default: off (the volumes that
    /// fit are snapshotted, the others skipped with the numbers).
    pub fn all_or_nothing(mut self, on: bool) -> Self {
        self.all_or_nothing = on;
        self
    }

    /// When the quota preflight finds the room short, first delete, oldest first and at
    /// most as many as the room needs, the owned snapshots that the retention plan would
    /// delete once this window's snapshot exists (never the newest `available` one, never
    /// for a volume whose previous window's snapshot is not `available`), then create.
    /// Default: off.
    pub fn prune_first(mut self, on: bool) -> Self {
        self.prune_first = on;
        self
    }

    /// One deadline for the whole run, measured on the client's
    /// [`Sleeper`](crate::client::Sleeper): no create is sent (or sent again after a rate
    /// limiter's pause) past it, and the wait ends by it. Default: [`DEFAULT_DEADLINE`]
    /// (1 h).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// The command run before each volume's create (a freeze), as `/bin/sh -c CMD`: the
    /// operator's own text; the volume reaches it through the environment only (see
    /// [`Hooks`](super::Hooks)). A failing pre-hook skips its volume (not created, not
    /// pruned) unless [`snapshot_on_pre_hook_failure`](Self::snapshot_on_pre_hook_failure).
    pub fn pre_hook(mut self, cmd: impl Into<String>) -> Self {
        self.hooks.pre = Some(cmd.into());
        self
    }

    /// The command run once a volume's snapshot leaves `creating` (a thaw), or when the
    /// [`hook_timeout`](Self::hook_timeout) since its pre-hook passes, the wait ends, or the
    /// run is [cancelled](Self::cancel_flag); once a pre-hook ran, its post-hook runs on
    /// every path (not after SIGKILL). A failing post-hook fails its volume.
    pub fn post_hook(mut self, cmd: impl Into<String>) -> Self {
        self.hooks.post = Some(cmd.into());
        self
    }

    /// The command run once at the end of a run that failed (not every volume done, a
    /// timeout, a cancel, or an error returned), with the run's summary in its environment.
    pub fn on_failure(mut self, cmd: impl Into<String>) -> Self {
        self.hooks.on_failure = Some(cmd.into());
        self
    }

    /// The longest one hook may run (its process group is then killed), and the longest a
    /// volume stays between its pre-hook and its post-hook (default
    /// [`DEFAULT_HOOK_TIMEOUT`](super::DEFAULT_HOOK_TIMEOUT), 5 min).
    pub fn hook_timeout(mut self, d: Duration) -> Self {
        self.hooks.timeout = d;
        self
    }

    /// Snapshot a volume even when its pre-hook failed (default: off, the volume is skipped).
    pub fn snapshot_on_pre_hook_failure(mut self, on: bool) -> Self {
        self.hooks.snapshot_on_pre_hook_failure = on;
        self
    }

    /// A flag that, once set (by a SIGTERM/SIGINT handler, say), stops the run: no create is
    /// sent after it, the wait ends, the post-hooks due run, nothing is pruned, and the
    /// report says [`interrupted`](super::JobReport::interrupted).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The hooks.
    pub fn hooks(&self) -> &super::Hooks {
        &self.hooks
    }

    /// Whether the [cancel flag](Self::cancel_flag) is set.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Whether [`all_or_nothing`](Self::all_or_nothing) is on.
    pub fn is_all_or_nothing(&self) -> bool {
        self.all_or_nothing
    }

    /// Whether [`prune_first`](Self::prune_first) is on.
    pub fn is_prune_first(&self) -> bool {
        self.prune_first
    }

    /// The run's [`deadline`](Self::deadline).
    pub fn get_deadline(&self) -> Duration {
        self.deadline
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The selection.
    pub fn get_selection(&self) -> &Selection {
        &self.selection
    }

    /// The window a run uses: the one given to [`every`](Self::every), else
    /// [`Window::for_policy`].
    pub fn window(&self) -> Window {
        self.window.unwrap_or_else(|| Window::for_policy(&self.policy))
    }

    /// How many creates are sent at once.
    pub fn get_concurrency(&self) -> usize {
        self.concurrency
    }

    /// The wait's deadline, when [`timeout`](Self::timeout) set one (`None`: the client's
    /// [`PollPolicy`](crate::PollPolicy) decides).
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The first and the largest interval between polls, when
    /// [`poll_interval`](Self::poll_interval) set them (`None`: the client's
    /// [`PollPolicy`](crate::PollPolicy) decides).
    pub fn get_poll_interval(&self) -> Option<(Duration, Duration)> {
        self.poll_interval
    }

    /// The page size, if set.
    pub fn get_page_size(&self) -> Option<u32> {
        self.page_size
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The `now` given, if any.
    pub fn get_now(&self) -> Option<OffsetDateTime> {
        self.now
    }

    /// Whether a selection matching no volume is a success.
    pub fn is_allow_empty(&self) -> bool {
        self.allow_empty
    }
}

impl fmt::Debug for JobOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobOpts")
            .field("policy", &self.policy)
            .field("selection", &self.selection)
            .field("window", &self.window)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .field("page_size", &self.page_size)
            .field("dry_run", &self.dry_run)
            .field("allow_empty", &self.allow_empty)
            .field("now", &self.now)
            .field("progress", &self.progress.is_some())
            .field("all_or_nothing", &self.all_or_nothing)
            .field("prune_first", &self.prune_first)
            .field("deadline", &self.deadline)
            .field("hooks", &self.hooks)
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_clamps() {
        let policy = Policy::builder("p").keep_hourly(24).build().unwrap();
        let opts = JobOpts::new(policy);
        assert!(opts.get_selection().is_empty());
        assert_eq!(opts.window(), Window::Hourly);
        assert_eq!(opts.get_concurrency(), DEFAULT_CONCURRENCY);
        // The wait's settings are the client's unless set.
        assert_eq!((opts.get_timeout(), opts.get_poll_interval()), (None, None));
        assert_eq!(opts.clone().timeout(Duration::from_secs(9)).get_timeout(), Some(Duration::from_secs(9)));
        assert_eq!(opts.clone().concurrency(1000).get_concurrency(), MAX_CONCURRENCY);
        let o = opts.poll_interval(Duration::from_secs(5), Duration::from_secs(1));
        assert_eq!(o.get_poll_interval(), Some((Duration::from_secs(5), Duration::from_secs(5))));
        assert!(o.all_projects(true).get_selection().is_empty());
    }
}
