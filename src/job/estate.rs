//! [`report`]: what a policy holds, per volume, and whether its steady state fits the
//! project's quota.

use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::{CheckOpts, Selection};
use crate::client::ServiceClient;
use crate::error::Result;
use crate::quotas::{self, GIGABYTES, Room, SNAPSHOTS};
use crate::retention::Policy;

/// What [`report`] looks at: the policy (with its rules: the steady state is theirs) and the
/// volumes.
///
/// ```
/// use cinder_snapshots::job::ReportOpts;
/// use cinder_snapshots::retention::Policy;
/// let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build()?;
/// let opts = ReportOpts::new(policy).select_tag("backup", "nightly");
/// assert_eq!(opts.steady_count(), Some(11));
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ReportOpts {
    policy: Policy,
    selection: Selection,
    now: Option<OffsetDateTime>,
    page_size: Option<u32>,
    timeout: Option<Duration>,
}

impl ReportOpts {
    /// A report of the snapshots `policy` owns.
    pub fn new(policy: Policy) -> Self {
        ReportOpts { policy, selection: Selection::new(), now: None, page_size: None, timeout: None }
    }

    super::opts::selection_setters!();

    /// The time ages are measured at (default: Cinder's clock, as [`check`](super::check)).
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// The `limit` of every listing page (default: the server's cap).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// One deadline for the listings (default: the check's,
    /// [`DEFAULT_CHECK_TIMEOUT`](super::DEFAULT_CHECK_TIMEOUT)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The snapshots of a volume the rules hold at most once the prune has run
    /// ([`Policy::max_kept`], pinned ones on top); `None` for a policy without such a bound.
    pub fn steady_count(&self) -> Option<u32> {
        self.check_opts().keep_limit()
    }

    /// The check's options for the same policy and volumes: the report is made of its
    /// listing.
    fn check_opts(&self) -> CheckOpts {
        let mut c =
            CheckOpts::new(self.policy.id(), Duration::MAX, Duration::MAX).policy(self.policy.clone()).selection(self.selection.clone());
        if let Some(t) = self.now {
            c = c.now(t);
        }
        if let Some(n) = self.page_size {
            c = c.page_size(n);
        }
        if let Some(t) = self.timeout {
            c = c.timeout(t);
        }
        c
    }
}

/// One volume of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportVolume {
    /// The volume's id.
    pub volume_id: String,
    /// Its name, if any.
    pub volume_name: Option<String>,
    /// Its size in GiB.
    pub volume_size: u64,
    /// The snapshots the policy owns of it (any status but `deleting`).
    pub snapshots: usize,
    /// Those pinned: kept beyond the rules, so part of the steady state.
    pub pinned: usize,
    /// Their size in GiB.
    pub gib: u64,
    /// Those in `error` or `error_deleting`.
    pub errors: usize,
    /// The creation time of its newest `available` owned snapshot.
    pub newest: Option<OffsetDateTime>,
    /// That snapshot's age.
    pub age: Option<Duration>,
}

/// `{"volume_id", "volume_name", "volume_size", "snapshots", "pinned", "gib", "errors",
/// "newest", "age_s"}`.
impl Serialize for ReportVolume {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ReportVolume", 9)?;
        st.serialize_field("volume_id", &self.volume_id)?;
        st.serialize_field("volume_name", &self.volume_name)?;
        st.serialize_field("volume_size", &self.volume_size)?;
        st.serialize_field("snapshots", &self.snapshots)?;
        st.serialize_field("pinned", &self.pinned)?;
        st.serialize_field("gib", &self.gib)?;
        st.serialize_field("errors", &self.errors)?;
        st.serialize_field("newest", &self.newest.map(super::label_time))?;
        st.serialize_field("age_s", &self.age.map(|a| a.as_secs()))?;
        st.end()
    }
}

/// Whether the steady state of the policy on the selected volumes fits one quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuotaFit {
    /// `snapshots` or `gigabytes`.
    pub key: String,
    /// What the steady state holds at its peak: per volume the rules' count plus one (this
    /// window's snapshot exists before the prune removes the oldest) plus its pinned
    /// snapshots, in snapshots or GiB; `None` for a policy without such a bound
    /// ([`Policy::max_kept`]: `keep_within*`, or an unlimited count).
    pub needed: Option<u64>,
    /// What the policy's snapshots of these volumes hold now (counted in the quota already).
    pub held: u64,
    /// The room left in the project's quota now.
    pub room: Room,
    /// `needed - held <= room`; `None` when that cannot be judged (room unknown, or no bound).
    pub fits: Option<bool>,
}

/// The result of [`report`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The policy id.
    pub policy: String,
    /// The project of the client (where the snapshots count), when known.
    pub project: Option<String>,
    /// The time ages were measured at.
    pub now: OffsetDateTime,
    /// The snapshots per volume the rules hold ([`ReportOpts::steady_count`]).
    pub steady_count: Option<u32>,
    /// Every selected volume, in the order selected.
    pub volumes: Vec<ReportVolume>,
    /// `snapshots`, then `gigabytes`.
    pub quota: Vec<QuotaFit>,
    /// Why the quota could not be read (its rooms are then unknown).
    pub quota_unreadable: Option<String>,
}

impl Report {
    /// The number of owned snapshots and their GiB, over every volume.
    pub fn totals(&self) -> (usize, u64) {
        self.volumes.iter().fold((0usize, 0u64), |(n, g), v| (n.saturating_add(v.snapshots), g.saturating_add(v.gib)))
    }

    /// Whether every quota is known to fit (`false` when one does not or cannot be judged).
    pub fn fits(&self) -> bool {
        self.quota.iter().all(|q| q.fits == Some(true))
    }
}

/// `{"policy", "project", "now", "steady_count", "snapshots", "gib", "fits", "volumes":
/// [..], "quota": [{"key", "needed", "held", "room": {"kind", "left"}, "fits"}],
/// "quota_unreadable"}`.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (n, gib) = self.totals();
        let mut st = s.serialize_struct("Report", 10)?;
        st.serialize_field("policy", &self.policy)?;
        st.serialize_field("project", &self.project)?;
        st.serialize_field("now", &super::label_time(self.now))?;
        st.serialize_field("steady_count", &self.steady_count)?;
        st.serialize_field("snapshots", &n)?;
        st.serialize_field("gib", &gib)?;
        st.serialize_field("fits", &self.fits())?;
        st.serialize_field("volumes", &self.volumes)?;
        st.serialize_field("quota", &self.quota)?;
        st.serialize_field("quota_unreadable", &self.quota_unreadable)?;
        st.end()
    }
}

/// The snapshots `opts`' policy owns on each selected volume (count, GiB, errors, the
/// newest and its age), read through [`check`](super::check)'s listings (the selection's,
/// then one listing of the policy's snapshots, each to the last page), and whether the
/// policy's steady state fits the project's `snapshots` and `gigabytes` quotas
/// ([`quotas::room`]): per volume the rules' count plus one plus its pinned snapshots, times the volume's size for
/// the gigabytes, less what the policy's snapshots of these volumes hold already, against
/// the room left.
///
/// # Errors
///
/// The check's: an empty selection, a listing's error (never a report of part of the
/// snapshots), the deadline. A quota that cannot be read is not an error: its fit is
/// unknown and [`Report::quota_unreadable`] says why.
///
/// ```no_run
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, ReportOpts};
/// use cinder_snapshots::retention::Policy;
/// let client = ServiceClient::from_env()?;
/// let opts = ReportOpts::new(Policy::builder("nightly").keep_daily(7).build()?).select_tag("backup", "nightly");
/// let report = job::report(&client, &opts)?;
/// for q in &report.quota {
///     println!("{}: {:?}", q.key, q.fits);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn report(client: &ServiceClient, opts: &ReportOpts) -> Result<Report> {
    let check_opts = opts.check_opts();
    let listed = super::check(client, &check_opts)?;
    let (room, quota_unreadable) = match quotas::room(client) {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.full_message())),
    };
    let project = client.project_id().ok().flatten();
    let steady = check_opts.keep_limit();
    let volumes: Vec<ReportVolume> = listed
        .volumes()
        .iter()
        .map(|v| ReportVolume {
            volume_id: v.volume_id.clone(),
            volume_name: v.volume_name.clone(),
            volume_size: v.volume_size,
            snapshots: v.owned,
            pinned: v.pinned,
            gib: v.owned_gib,
            errors: v.errors,
            newest: v.newest,
            age: v.age,
        })
        .collect();
    let peak = steady.map(|n| u64::from(n).saturating_add(1));
    let mut quota = Vec::new();
    for key in [SNAPSHOTS, GIGABYTES] {
        let per_volume = |v: &ReportVolume| if key == SNAPSHOTS { 1 } else { v.volume_size };
        let pinned = |v: &ReportVolume| u64::try_from(v.pinned).unwrap_or(u64::MAX);
        let needed =
            peak.map(|p| volumes.iter().map(|v| p.saturating_add(pinned(v)).saturating_mul(per_volume(v))).fold(0u64, u64::saturating_add));
        let held = volumes
            .iter()
            .map(|v| if key == SNAPSHOTS { u64::try_from(v.snapshots).unwrap_or(u64::MAX) } else { v.gib })
            .fold(0u64, u64::saturating_add);
        let r = room.as_ref().map_or(Room::Unknown, |r| r.room(key));
        let fits = match (needed, r) {
            (None, _) | (_, Room::Unknown) => None,
            (Some(n), r) => Some(r.fits(n.saturating_sub(held))),
        };
        quota.push(QuotaFit { key: key.to_owned(), needed, held, room: r, fits });
    }
    Ok(Report { policy: opts.policy.id().to_owned(), project, now: listed.now(), steady_count: steady, volumes, quota, quota_unreadable })
}
