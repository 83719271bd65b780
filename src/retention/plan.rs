//! Planning: which snapshots a policy keeps, which it deletes, and why.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::{Date, Month, OffsetDateTime};

use super::labels::{WINDOW_KEY, carries_policy, is_owned, is_pinned, rfc3339_utc, rfc3339_utc_seconds, unknown_format};
use super::policy::Count;
use super::{Policy, policy::PERIOD_RULES};
use crate::duration::CalendarDuration;
use crate::snapshots::{Snapshot, SnapshotStatus};
use crate::timestamp::format_year;

/// A calendar period of the policy's calendar (local time in its offset or zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Period {
    /// An hour of a day; shown `2026-11-27T13`.
    Hour {
        /// The day.
        date: Date,
        /// The hour, 0 to 23.
        hour: u8,
    },
    /// A day; shown `2026-11-27`.
    Day(Date),
    /// An ISO 8601 week (Monday to Sunday) of an ISO week-numbering year; shown `2026-W48`.
    Week {
        /// The ISO week-numbering year (2021-01-03 is in the week of year 2020).
        year: i32,
        /// The week, 1 to 53.
        week: u8,
    },
    /// A month; shown `2026-11`.
    Month {
        /// The year.
        year: i32,
        /// The month.
        month: Month,
    },
    /// A year; shown `2026`.
    Year(i32),
}

impl Period {
    /// The name of the rule counting this kind of period: `hourly`, `daily`, `weekly`,
    /// `monthly` or `yearly`.
    pub fn rule(&self) -> &'static str {
        match self {
            Period::Hour { .. } => "hourly",
            Period::Day(_) => "daily",
            Period::Week { .. } => "weekly",
            Period::Month { .. } => "monthly",
            Period::Year(_) => "yearly",
        }
    }

    /// The period's unit in the plural, for the texts: `hours`, `days`, ...
    fn units(&self) -> &'static str {
        match self {
            Period::Hour { .. } => "hours",
            Period::Day(_) => "days",
            Period::Week { .. } => "weeks",
            Period::Month { .. } => "months",
            Period::Year(_) => "years",
        }
    }
}

fn write_date(f: &mut fmt::Formatter<'_>, date: Date) -> fmt::Result {
    write!(f, "{}-{:02}-{:02}", format_year(date.year()), u8::from(date.month()), date.day())
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Hour { date, hour } => {
                write_date(f, date)?;
                write!(f, "T{hour:02}")
            }
            Period::Day(date) => write_date(f, date),
            Period::Week { year, week } => write!(f, "{}-W{week:02}", format_year(year)),
            Period::Month { year, month } => write!(f, "{}-{:02}", format_year(year), u8::from(month)),
            Period::Year(year) => f.write_str(&format_year(year)),
        }
    }
}

/// Why a snapshot is kept or deleted. A decision lists every reason that applies: every
/// rule that keeps it, or, for a snapshot deleted, what each rule says about it.
///
/// `Display` gives the stable short text shown in a dry run (`"daily 2026-11-27"`, `"not
/// among the last 3"`); `Serialize` writes that same text. [`Reason::keeps`] tells the two
/// kinds apart.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// `last N`: kept by `keep_last` as the N-th newest counted snapshot (`last 1` is the
    /// newest).
    Last(u32),
    /// `daily 2026-11-27` (and `hourly`, `weekly`, `monthly`, `yearly`): kept by a calendar
    /// rule as the newest snapshot of that period. With `oldest: true`, shown
    /// `oldest daily 2026-11-20`: kept because it is the oldest counted snapshot and the rule
    /// still had unused periods, although its period already had a kept snapshot (restic's
    /// "keep the oldest when a rule is short").
    Calendar {
        /// The period.
        period: Period,
        /// Kept as the oldest snapshot of a rule that had periods to spare.
        oldest: bool,
    },
    /// `within 1m of 2026-12-05T02:00:00Z`: taken after the anchor (the newest counted
    /// snapshot strictly before now) minus the duration; with no anchor (no counted snapshot
    /// before now), `within 1m (no snapshot before now)`: everything is within, as in restic.
    Within {
        /// The `keep_within` duration.
        within: CalendarDuration,
        /// The anchor.
        anchor: Option<OffsetDateTime>,
    },
    /// `daily 2026-12-01 within 14d` (and `oldest daily 2026-11-20 within 14d`): kept by a
    /// `keep_within_*` rule as the newest snapshot of its period within the duration, or as
    /// the oldest snapshot when it is within.
    CalendarWithin {
        /// The period.
        period: Period,
        /// The rule's duration.
        within: CalendarDuration,
        /// Kept as the oldest counted snapshot, its period already kept.
        oldest: bool,
    },
    /// `pinned`: the snapshot carries the [`PIN_KEY`](super::PIN_KEY) label; never deleted,
    /// whatever its status.
    Pinned,
    /// `newest`: the newest counted snapshot of its volume, which is always kept.
    Newest,
    /// `not owned`: the snapshot does not carry this policy's ownership label; it is not a
    /// candidate at all.
    NotOwned,
    /// `not available (creating)`: owned, but not `available`; never deleted, never counted.
    NotAvailable(SnapshotStatus),
    /// `dated in the future`: owned, created after the plan's `now`; never deleted, never
    /// counted.
    FutureDated,
    /// `no creation time`: owned, but its creation time is missing or unreadable; never
    /// deleted, never counted.
    NoCreationTime,
    /// A delete: `not among the last 3`.
    NotAmongLast(u32),
    /// A delete: `not among the 7 days keep-daily keeps: 2026-11-30 .. 2026-12-06`: the
    /// snapshot's period is older than the periods the rule keeps (newest and oldest named).
    NotAmongPeriods {
        /// The rule's count.
        count: u32,
        /// The newest period the rule keeps.
        newest: Period,
        /// The oldest period the rule keeps.
        oldest: Period,
    },
    /// A delete: `keep-daily keeps a newer snapshot of 2026-12-03` (with a `keep_within_*`
    /// rule: `keep-within-daily 14d keeps a newer snapshot of 2026-12-03`): the rule keeps
    /// the newest snapshot of this period, and this one is not it.
    NewerInPeriod {
        /// The snapshot's period.
        period: Period,
        /// The `keep_within_*` rule's duration, `None` for a count rule.
        within: Option<CalendarDuration>,
    },
    /// A delete: `older than keep-within 1m from 2026-12-05T02:00:00Z` (and
    /// `keep-within-daily` ...): taken at or before the anchor minus the duration.
    OlderThanWithin {
        /// `None` for `keep_within`, else the period rule (`daily` for `keep_within_daily`).
        rule: Option<&'static str>,
        /// The duration.
        within: CalendarDuration,
        /// The anchor the duration is measured from.
        anchor: OffsetDateTime,
    },
    /// `label format "99" is not known to this version`: labelled with this policy's id, but
    /// in a label format this version does not know (a newer version's snapshot, not ours to
    /// judge: see [`is_owned`](super::is_owned)); never deleted, never counted.
    UnknownLabelFormat(String),
    /// A delete: `in error: holds no data`: owned, not pinned, in `error`; never counted.
    InError,
    /// A delete: `duplicate in window`: owned, not pinned, `available`, and an older one of
    /// two or more snapshots of its volume made for the same window
    /// ([`WINDOW_KEY`](super::WINDOW_KEY): two runs at once), the newest of which is counted
    /// and kept; never counted.
    DuplicateInWindow,
}

impl Reason {
    /// Whether this reason keeps the snapshot (every reason but the `NotAmong*`,
    /// `NewerInPeriod`, `OlderThanWithin`, `InError` and `DuplicateInWindow` ones, which
    /// explain a delete).
    pub fn keeps(&self) -> bool {
        !matches!(
            self,
            Reason::NotAmongLast(_)
                | Reason::NotAmongPeriods { .. }
                | Reason::NewerInPeriod { .. }
                | Reason::OlderThanWithin { .. }
                | Reason::InError
                | Reason::DuplicateInWindow
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Last(n) => write!(f, "last {n}"),
            Reason::Calendar { period, oldest } => {
                if *oldest {
                    f.write_str("oldest ")?;
                }
                write!(f, "{} {period}", period.rule())
            }
            Reason::Within { within, anchor: Some(at) } => write!(f, "within {within} of {}", rfc3339_utc_seconds(*at)),
            Reason::Within { within, anchor: None } => write!(f, "within {within} (no snapshot before now)"),
            Reason::CalendarWithin { period, within, oldest } => {
                if *oldest {
                    f.write_str("oldest ")?;
                }
                write!(f, "{} {period} within {within}", period.rule())
            }
            Reason::Pinned => f.write_str("pinned"),
            Reason::Newest => f.write_str("newest"),
            Reason::NotOwned => f.write_str("not owned"),
            Reason::NotAvailable(status) => write!(f, "not available ({status})"),
            Reason::FutureDated => f.write_str("dated in the future"),
            Reason::NoCreationTime => f.write_str("no creation time"),
            // Quoted and escaped: the label's text never changes the output's shape.
            Reason::UnknownLabelFormat(format) => write!(f, "label format {format:?} is not known to this version"),
            Reason::InError => f.write_str("in error: holds no data"),
            Reason::DuplicateInWindow => f.write_str("duplicate in window"),
            Reason::NotAmongLast(n) => write!(f, "not among the last {n}"),
            Reason::NotAmongPeriods { count, newest, oldest } => {
                let units = if *count == 1 { newest.units().trim_end_matches('s') } else { newest.units() };
                write!(f, "not among the {count} {units} keep-{} keeps: {oldest} .. {newest}", newest.rule())
            }
            Reason::NewerInPeriod { period, within: None } => write!(f, "keep-{} keeps a newer snapshot of {period}", period.rule()),
            Reason::NewerInPeriod { period, within: Some(d) } => {
                write!(f, "keep-within-{} {d} keeps a newer snapshot of {period}", period.rule())
            }
            Reason::OlderThanWithin { rule, within, anchor } => {
                let rule = rule.map_or_else(String::new, |r| format!("-{r}"));
                write!(f, "older than keep-within{rule} {within} from {}", rfc3339_utc_seconds(*anchor))
            }
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the plan does with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Left alone (see the decision's reasons).
    Keep,
    /// To be deleted.
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment (`{:6}`) for tables.
        f.pad(match self {
            Action::Keep => "keep",
            Action::Delete => "delete",
        })
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The plan's decision for one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Shared by the clones (the prune report's outcomes clone every decision), as the
    /// reasons are: a clone costs two reference counts, not a copy.
    snapshot: Arc<Snapshot>,
    action: Action,
    reasons: Arc<[Reason]>,
}

impl Decision {
    /// The snapshot, as given to [`plan`].
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Keep or delete.
    pub fn action(&self) -> Action {
        self.action
    }

    /// `true` when the plan deletes the snapshot.
    pub fn is_delete(&self) -> bool {
        self.action == Action::Delete
    }

    /// The reasons, never empty. For a kept snapshot, every reason that keeps it, in a fixed
    /// order: `last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`, `within`, the
    /// `keep_within_*` rules (hourly to yearly), `pinned`, `newest`; or the reasons it was
    /// not judged (`not owned`; `label format .. is not known`; or among `not available`, `no
    /// creation time`, `dated in the future`, then `pinned`). For a snapshot deleted by the
    /// rules, what each set rule says of it, in the same rule order (`not among the last 3`,
    /// `keep-daily keeps a newer snapshot of 2026-11-26`, `older than keep-within 2d from
    /// 2026-11-27T13:00:00Z`, ...); for one deleted for a reason of its own, exactly that one
    /// (`in error: holds no data`, `duplicate in window`).
    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }

    /// The reasons joined by `, `: `last 1, daily 2026-11-27, newest`; for a delete
    /// `not among the last 1, keep-daily keeps a newer snapshot of 2026-11-27`.
    pub fn reasons_text(&self) -> String {
        self.reasons.iter().map(Reason::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// `{"id", "volume_id", "name", "status", "created_at" (RFC 3339 UTC or null), "action"
/// ("keep"/"delete"), "reasons" (texts)}`.
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snap = &self.snapshot;
        let mut st = s.serialize_struct("Decision", 7)?;
        st.serialize_field("id", &snap.id)?;
        st.serialize_field("volume_id", &snap.volume_id)?;
        st.serialize_field("name", &snap.name)?;
        st.serialize_field("status", &snap.status)?;
        st.serialize_field("created_at", &snap.created_at.map(rfc3339_utc))?;
        st.serialize_field("action", &self.action)?;
        st.serialize_field("reasons", &*self.reasons)?;
        st.end()
    }
}

/// The outcome of [`plan`]: one [`Decision`] per snapshot given, ordered by volume id, then
/// creation time (newest first, undated last), then snapshot id.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    policy: Policy,
    now: OffsetDateTime,
    decisions: Vec<Decision>,
}

impl Plan {
    /// Every decision, in the plan's order.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// The decisions to delete.
    pub fn to_delete(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.is_delete())
    }

    /// The decisions to keep.
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| !d.is_delete())
    }

    /// The decision for a snapshot id.
    pub fn get(&self, snapshot_id: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.snapshot.id == snapshot_id)
    }

    /// The policy the plan was made with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The `now` the plan was made with.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }
}

impl<'a> IntoIterator for &'a Plan {
    type Item = &'a Decision;
    type IntoIter = std::slice::Iter<'a, Decision>;

    fn into_iter(self) -> Self::IntoIter {
        self.decisions.iter()
    }
}

/// `{"policy": id, "rules": Policy::rules_string, "now": RFC 3339 UTC, "decisions": [...]}`.
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Plan", 4)?;
        st.serialize_field("policy", self.policy.id())?;
        st.serialize_field("rules", &self.policy.rules_string())?;
        st.serialize_field("now", &rfc3339_utc(self.now))?;
        st.serialize_field("decisions", &self.decisions)?;
        st.end()
    }
}

/// Decides, for every snapshot, whether `policy` keeps or deletes it at `now`, and why.
///
/// Snapshots are grouped by `volume_id` and each volume is judged on its own:
///
/// 1. A snapshot the policy does not own ([`is_owned`](super::is_owned)) is kept: `not owned`,
///    or, when it carries the policy's id in a label format this version does not know,
///    `label format "99" is not known to this version`.
/// 2. An owned snapshot in `error` holds no data: it is deleted (`in error: holds no data`)
///    unless it is pinned ([`PIN_KEY`](super::PIN_KEY)). An owned `available` snapshot made
///    for the same window ([`WINDOW_KEY`](super::WINDOW_KEY)) as a newer counted one of its
///    volume (two runs at once) is deleted (`duplicate in window`) unless pinned; it is not
///    counted.
/// 3. An owned snapshot that is not `available`, has no creation time, or was created after
///    `now` is kept and reported (`not available (STATUS)`, `no creation time`, `dated in the
///    future`). It is not *counted*: it uses no `keep_last` place and no period, is not the
///    anchor from which `keep_within` is measured, and is not the "oldest".
/// 4. The other owned snapshots are counted, newest first (equal creation times: smaller id
///    first), and the rules of the [`Policy`] keep some of them, every rule that does being
///    named. The newest counted snapshot is also always kept (`newest`).
/// 5. An owned snapshot carrying the [`PIN_KEY`](super::PIN_KEY) label is kept (`pinned`),
///    whatever its status; when it is counted, it also takes its places in the rules, as a
///    restic snapshot kept by `--keep-tag` does.
/// 6. Counted snapshots that nothing keeps are deleted, each with what every rule says
///    about it.
///
/// The `keep_within*` rules are measured from the *anchor*: the newest counted snapshot
/// strictly before `now` (restic's rule); with none, every counted snapshot is within.
///
/// The plan is pure (no I/O; `now` only tells which snapshots are in the future and the
/// anchor) and deterministic: the same snapshots in any order give the same plan. Snapshot
/// ids are assumed unique (Cinder's are UUIDs). The snapshots can come from a listing or be
/// made in code with [`Snapshot::new`].
pub fn plan(snapshots: &[Snapshot], policy: &Policy, now: OffsetDateTime) -> Plan {
    plan_owned(snapshots.to_vec(), policy, now)
}

/// [`plan`] of snapshots given away: each is moved into its decision, not copied (a prune
/// holds every snapshot of its listing once).
pub(crate) fn plan_owned(snapshots: Vec<Snapshot>, policy: &Policy, now: OffsetDateTime) -> Plan {
    let mut order: Vec<Arc<Snapshot>> = snapshots.into_iter().map(Arc::new).collect();
    order.sort_by(|a, b| a.volume_id.cmp(&b.volume_id).then_with(|| b.created_at.cmp(&a.created_at)).then_with(|| a.id.cmp(&b.id)));
    let mut decisions = Vec::with_capacity(order.len());
    for volume in order.chunk_by(|a, b| a.volume_id == b.volume_id) {
        judge_volume(volume, policy, now, &mut decisions);
    }
    Plan { policy: policy.clone(), now, decisions }
}

/// A snapshot that counts: its index in the volume and its creation time.
struct Counted {
    index: usize,
    at: OffsetDateTime,
}

/// Judges the snapshots of one volume, given newest first.
fn judge_volume(volume: &[Arc<Snapshot>], policy: &Policy, now: OffsetDateTime, out: &mut Vec<Decision>) {
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); volume.len()];
    let mut counted: Vec<Counted> = Vec::new();
    // The windows of this volume whose newest snapshot counted so far (newest first) is
    // kept: an older available one of the same window is a duplicate.
    let mut windows: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (index, snap) in volume.iter().enumerate() {
        let why = &mut reasons[index];
        if !is_owned(snap, policy.id()) {
            why.push(match unknown_format(snap) {
                Some(format) if carries_policy(snap, policy.id()) => Reason::UnknownLabelFormat(format.to_owned()),
                _ => Reason::NotOwned,
            });
            continue;
        }
        if snap.status == SnapshotStatus::Error && !is_pinned(snap) {
            why.push(Reason::InError);
            continue;
        }
        let counts = snap.status == SnapshotStatus::Available && snap.created_at.is_some_and(|at| at <= now);
        if let (true, Some(window)) = (counts, snap.metadata.get(WINDOW_KEY)) {
            if !windows.insert(window.as_str()) && !is_pinned(snap) {
                why.push(Reason::DuplicateInWindow);
                continue;
            }
        }
        if snap.status != SnapshotStatus::Available {
            why.push(Reason::NotAvailable(snap.status.clone()));
        }
        match snap.created_at {
            None => why.push(Reason::NoCreationTime),
            Some(at) if at > now => why.push(Reason::FutureDated),
            Some(at) => {
                if why.is_empty() {
                    counted.push(Counted { index, at });
                }
            }
        }
    }
    let kept_periods = apply_rules(&counted, policy, now, &mut reasons);
    for (snap, why) in volume.iter().zip(reasons.iter_mut()) {
        if is_owned(snap, policy.id()) && is_pinned(snap) {
            // Before `newest`, after every other reason.
            let at = if why.last() == Some(&Reason::Newest) { why.len() - 1 } else { why.len() };
            why.insert(at, Reason::Pinned);
        }
    }
    for c in &counted {
        if !reasons[c.index].iter().any(Reason::keeps) {
            reasons[c.index] = why_deleted(c, &counted, &kept_periods, policy, now);
        }
    }
    for (snap, reasons) in volume.iter().zip(reasons) {
        let action = if reasons.iter().any(Reason::keeps) { Action::Keep } else { Action::Delete };
        out.push(Decision { snapshot: Arc::clone(snap), action, reasons: reasons.into() });
    }
}

/// The calendar period (hourly, daily, ... by index) of a counted snapshot in the policy's
/// calendar. Out of the calendar's range (years beyond ±9999) the snapshot's own offset is
/// used.
fn period_of(kind: usize, at: OffsetDateTime, policy: &Policy) -> Period {
    let t = policy.calendar().to_local(at).unwrap_or(at);
    match kind {
        0 => Period::Hour { date: t.date(), hour: t.hour() },
        1 => Period::Day(t.date()),
        2 => {
            let (year, week, _) = t.to_iso_week_date();
            Period::Week { year, week }
        }
        3 => Period::Month { year: t.year(), month: t.month() },
        _ => Period::Year(t.year()),
    }
}

/// The anchor of the `keep_within*` rules: the newest counted snapshot strictly before `now`.
fn anchor(counted: &[Counted], now: OffsetDateTime) -> Option<OffsetDateTime> {
    counted.iter().map(|c| c.at).find(|at| *at < now)
}

/// The instant a `keep_within*` rule keeps snapshots after; `None`: everything is within (no
/// anchor, or the duration leaves the calendar's range).
fn cutoff(d: CalendarDuration, anchor: Option<OffsetDateTime>, policy: &Policy) -> Option<OffsetDateTime> {
    policy.calendar().before(d, anchor?)
}

/// Whether a snapshot at `at` is within a `keep_within*` rule of cutoff `cut`.
fn is_within(at: OffsetDateTime, cut: Option<OffsetDateTime>) -> bool {
    cut.is_none_or(|cut| at > cut)
}

/// The periods a count rule keeps, newest first, walking restic's way; also records the
/// reasons. `count` is not zero.
fn walk_count_rule(kind: usize, count: Count, counted: &[Counted], policy: &Policy, reasons: &mut [Vec<Reason>]) -> Vec<Period> {
    let oldest = counted.len().saturating_sub(1);
    let mut left = count.limit();
    let mut kept: Vec<Period> = Vec::new();
    for (i, c) in counted.iter().enumerate() {
        if left == Some(0) {
            break;
        }
        let period = period_of(kind, c.at, policy);
        let new_period = kept.last() != Some(&period);
        if new_period || i == oldest {
            left = left.map(|n| n.saturating_sub(1));
            if new_period {
                kept.push(period);
            }
            reasons[c.index].push(Reason::Calendar { period, oldest: !new_period });
        }
    }
    kept
}

/// The periods each count rule keeps (hourly to yearly), newest first.
type KeptPeriods = [Vec<Period>; 5];

/// The rules over the counted snapshots (newest first), restic's way; returns the periods
/// the count rules keep.
fn apply_rules(counted: &[Counted], policy: &Policy, now: OffsetDateTime, reasons: &mut [Vec<Reason>]) -> KeptPeriods {
    let mut kept_periods = KeptPeriods::default();
    let Some(newest) = counted.first() else { return kept_periods };
    let oldest = counted.len() - 1;

    let last = policy.keep_last();
    for (rank, c) in counted.iter().enumerate() {
        if last.limit().is_some_and(|n| u64::try_from(rank).unwrap_or(u64::MAX) >= u64::from(n)) {
            break;
        }
        reasons[c.index].push(Reason::Last(u32::try_from(rank).unwrap_or(u32::MAX).saturating_add(1)));
    }

    for (kind, count) in policy.period_counts().into_iter().enumerate() {
        if count.is_set() {
            kept_periods[kind] = walk_count_rule(kind, count, counted, policy, reasons);
        }
    }

    let anchor = anchor(counted, now);
    if let Some(within) = policy.keep_within() {
        let cut = cutoff(within, anchor, policy);
        for c in counted.iter().filter(|c| is_within(c.at, cut)) {
            reasons[c.index].push(Reason::Within { within, anchor });
        }
    }

    for (kind, within) in policy.within_periods().into_iter().enumerate() {
        let Some(within) = within else { continue };
        let cut = cutoff(within, anchor, policy);
        let mut previous: Option<Period> = None;
        for (i, c) in counted.iter().enumerate().filter(|(_, c)| is_within(c.at, cut)) {
            let period = period_of(kind, c.at, policy);
            let new_period = previous != Some(period);
            if new_period || i == oldest {
                previous = Some(period);
                reasons[c.index].push(Reason::CalendarWithin { period, within, oldest: !new_period });
            }
        }
    }

    reasons[newest.index].push(Reason::Newest);
    kept_periods
}

/// What each set rule says of a counted snapshot that nothing keeps.
fn why_deleted(c: &Counted, counted: &[Counted], kept_periods: &KeptPeriods, policy: &Policy, now: OffsetDateTime) -> Vec<Reason> {
    let mut why = Vec::new();
    if let Some(n) = policy.keep_last().limit().filter(|n| *n > 0) {
        why.push(Reason::NotAmongLast(n));
    }
    for (kind, count) in policy.period_counts().into_iter().enumerate() {
        if !count.is_set() {
            continue;
        }
        let kept = &kept_periods[kind];
        let period = period_of(kind, c.at, policy);
        match (kept.contains(&period), kept.first(), kept.last(), count.limit()) {
            (false, Some(newest), Some(oldest), Some(n)) => {
                why.push(Reason::NotAmongPeriods { count: n, newest: *newest, oldest: *oldest });
            }
            _ => why.push(Reason::NewerInPeriod { period, within: None }),
        }
    }
    let anchor = anchor(counted, now);
    let withins = std::iter::once((None, policy.keep_within()))
        .chain(PERIOD_RULES.into_iter().zip(policy.within_periods()).map(|(name, d)| (Some(name), d)));
    for (kind, (rule, within)) in withins.enumerate() {
        let (Some(within), Some(anchor)) = (within, anchor) else { continue };
        if is_within(c.at, cutoff(within, Some(anchor), policy)) {
            // Only a keep_within_* rule leaves a snapshot within its range: a newer one of
            // its period is kept.
            if kind > 0 {
                why.push(Reason::NewerInPeriod { period: period_of(kind - 1, c.at, policy), within: Some(within) });
            }
        } else {
            why.push(Reason::OlderThanWithin { rule, within, anchor });
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    fn snap(id: &str, volume: &str, created: &str, status: &str, owner: Option<&str>) -> Snapshot {
        let metadata = match owner {
            Some(o) => json!({"cinder-snapshots.policy": o}),
            None => json!({}),
        };
        serde_json::from_value(json!({"id": id, "volume_id": volume, "status": status, "created_at": created, "metadata": metadata}))
            .unwrap()
    }

    fn owned(id: &str, created: &str) -> Snapshot {
        snap(id, "vol", created, "available", Some("p"))
    }

    /// `id: action reasons` lines.
    fn lines(plan: &Plan) -> Vec<String> {
        plan.decisions().iter().map(|d| format!("{}: {} {}", d.snapshot().id, d.action(), d.reasons_text()).trim_end().to_owned()).collect()
    }

    const NOW: OffsetDateTime = datetime!(2026-11-28 00:00 UTC);

    #[test]
    fn periods_display() {
        assert_eq!(Period::Hour { date: date!(2026 - 11 - 27), hour: 13 }.to_string(), "2026-11-27T13");
        assert_eq!(Period::Day(date!(2026 - 11 - 27)).to_string(), "2026-11-27");
        assert_eq!(Period::Week { year: 2026, week: 48 }.to_string(), "2026-W48");
        assert_eq!(Period::Week { year: 2026, week: 1 }.to_string(), "2026-W01");
        assert_eq!(Period::Month { year: 2026, month: Month::November }.to_string(), "2026-11");
        assert_eq!(Period::Year(2026).to_string(), "2026");
        assert_eq!(Period::Year(-44).to_string(), "-0044");
    }

    #[test]
    fn reasons_display() {
        let cases = [
            (Reason::Last(1), "last 1"),
            (Reason::Calendar { period: Period::Hour { date: date!(2026 - 11 - 27), hour: 13 }, oldest: false }, "hourly 2026-11-27T13"),
            (Reason::Calendar { period: Period::Day(date!(2026 - 11 - 27)), oldest: false }, "daily 2026-11-27"),
            (Reason::Calendar { period: Period::Week { year: 2026, week: 48 }, oldest: false }, "weekly 2026-W48"),
            (Reason::Calendar { period: Period::Month { year: 2026, month: Month::November }, oldest: false }, "monthly 2026-11"),
            (Reason::Calendar { period: Period::Year(2026), oldest: false }, "yearly 2026"),
            (Reason::Calendar { period: Period::Day(date!(2026 - 11 - 20)), oldest: true }, "oldest daily 2026-11-20"),
            (
                Reason::Within { within: CalendarDuration::days(3), anchor: Some(datetime!(2026-11-27 13:00:00.5 UTC)) },
                "within 3d of 2026-11-27T13:00:00Z",
            ),
            (Reason::Within { within: CalendarDuration::months(1), anchor: None }, "within 1m (no snapshot before now)"),
            (
                Reason::CalendarWithin { period: Period::Day(date!(2026 - 12 - 01)), within: CalendarDuration::days(14), oldest: false },
                "daily 2026-12-01 within 14d",
            ),
            (
                Reason::CalendarWithin {
                    period: Period::Month { year: 2026, month: Month::May },
                    within: CalendarDuration::years(1),
                    oldest: true,
                },
                "oldest monthly 2026-05 within 1y",
            ),
            (Reason::Pinned, "pinned"),
            (Reason::NotAmongLast(3), "not among the last 3"),
            (
                Reason::NotAmongPeriods {
                    count: 7,
                    newest: Period::Day(date!(2026 - 12 - 06)),
                    oldest: Period::Day(date!(2026 - 11 - 30)),
                },
                "not among the 7 days keep-daily keeps: 2026-11-30 .. 2026-12-06",
            ),
            (
                Reason::NotAmongPeriods {
                    count: 2,
                    newest: Period::Week { year: 2026, week: 49 },
                    oldest: Period::Week { year: 2026, week: 48 },
                },
                "not among the 2 weeks keep-weekly keeps: 2026-W48 .. 2026-W49",
            ),
            (
                Reason::NewerInPeriod { period: Period::Day(date!(2026 - 12 - 03)), within: None },
                "keep-daily keeps a newer snapshot of 2026-12-03",
            ),
            (
                Reason::NewerInPeriod {
                    period: Period::Hour { date: date!(2026 - 12 - 03), hour: 4 },
                    within: Some(CalendarDuration::days(2)),
                },
                "keep-within-hourly 2d keeps a newer snapshot of 2026-12-03T04",
            ),
            (
                Reason::OlderThanWithin { rule: None, within: CalendarDuration::months(1), anchor: datetime!(2026-12-05 02:00 UTC) },
                "older than keep-within 1m from 2026-12-05T02:00:00Z",
            ),
            (
                Reason::OlderThanWithin {
                    rule: Some("daily"),
                    within: CalendarDuration::days(14),
                    anchor: datetime!(2026-12-05 02:00 UTC),
                },
                "older than keep-within-daily 14d from 2026-12-05T02:00:00Z",
            ),
            (Reason::Newest, "newest"),
            (Reason::NotOwned, "not owned"),
            (Reason::NotAvailable(SnapshotStatus::Creating), "not available (creating)"),
            (Reason::FutureDated, "dated in the future"),
            (Reason::NoCreationTime, "no creation time"),
            (Reason::UnknownLabelFormat("99".into()), "label format \"99\" is not known to this version"),
            (Reason::InError, "in error: holds no data"),
            (Reason::DuplicateInWindow, "duplicate in window"),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
            assert_eq!(serde_json::to_value(&reason).unwrap(), json!(text));
        }
    }

    #[test]
    fn daily_rule_keeps_the_newest_of_each_day_and_names_every_reason() {
        let policy = Policy::builder("p").keep_last(1).keep_daily(2).build().unwrap();
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            owned("b", "2026-11-27T01:00:00Z"),
            owned("c", "2026-11-26T23:59:59Z"),
            owned("d", "2026-11-26T10:00:00Z"),
            owned("e", "2026-11-25T10:00:00Z"),
        ];
        let plan = plan(&history, &policy, NOW);
        assert_eq!(
            lines(&plan),
            [
                "a: keep last 1, daily 2026-11-27, newest",
                "b: delete not among the last 1, keep-daily keeps a newer snapshot of 2026-11-27",
                "c: keep daily 2026-11-26",
                "d: delete not among the last 1, keep-daily keeps a newer snapshot of 2026-11-26",
                "e: delete not among the last 1, not among the 2 days keep-daily keeps: 2026-11-26 .. 2026-11-27"
            ]
        );
        assert_eq!(plan.to_delete().map(|d| d.snapshot().id.as_str()).collect::<Vec<_>>(), ["b", "d", "e"]);
        assert_eq!(plan.kept().map(|d| d.snapshot().id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(plan.get("c").unwrap().action(), Action::Keep);
        assert!(plan.get("zz").is_none());
    }

    #[test]
    fn a_short_rule_keeps_the_oldest_too() {
        // Two days for keep_daily(5): the newest of each day, and the oldest snapshot.
        let policy = Policy::builder("p").keep_daily(5).build().unwrap();
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            owned("b", "2026-11-26T13:00:00Z"),
            owned("c", "2026-11-26T12:00:00Z"),
            owned("d", "2026-11-26T11:00:00Z"),
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep daily 2026-11-27, newest",
                "b: keep daily 2026-11-26",
                "c: delete keep-daily keeps a newer snapshot of 2026-11-26",
                "d: keep oldest daily 2026-11-26"
            ]
        );
        // Exactly as many days as the count: nothing extra.
        let policy = Policy::builder("p").keep_daily(2).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep daily 2026-11-27, newest",
                "b: keep daily 2026-11-26",
                "c: delete keep-daily keeps a newer snapshot of 2026-11-26",
                "d: delete keep-daily keeps a newer snapshot of 2026-11-26"
            ]
        );
    }

    #[test]
    fn within_is_measured_from_the_newest_before_now() {
        let policy = Policy::builder("p").keep_within(CalendarDuration::days(2)).build().unwrap();
        let history = [
            owned("a", "2020-01-10T00:00:00Z"),
            owned("b", "2020-01-08T00:00:01Z"),
            owned("c", "2020-01-08T00:00:00Z"), // exactly 2d before: not within
            owned("d", "2020-01-01T00:00:00Z"),
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep within 2d of 2020-01-10T00:00:00Z, newest",
                "b: keep within 2d of 2020-01-10T00:00:00Z",
                "c: delete older than keep-within 2d from 2020-01-10T00:00:00Z",
                "d: delete older than keep-within 2d from 2020-01-10T00:00:00Z",
            ]
        );
        // A duration beyond the calendar keeps everything, without panicking.
        let policy = Policy::builder("p").keep_within(CalendarDuration::years(1_000_000)).build().unwrap();
        assert_eq!(plan(&history, &policy, NOW).to_delete().count(), 0);
    }

    /// The minimal case (restic's `findLatestTimestamp`: the newest snapshot strictly
    /// before now): keep-within 1d, snapshots at now and at now - 2d: both are kept.
    #[test]
    fn the_anchor_is_the_newest_snapshot_strictly_before_now() {
        let now = datetime!(2024-06-11 00:00 UTC);
        let policy = Policy::builder("p").keep_within(CalendarDuration::days(1)).build().unwrap();
        let history = [owned("now", "2024-06-11T00:00:00Z"), owned("old", "2024-06-09T00:00:00Z")];
        assert_eq!(
            lines(&plan(&history, &policy, now)),
            ["now: keep within 1d of 2024-06-09T00:00:00Z, newest", "old: keep within 1d of 2024-06-09T00:00:00Z"]
        );
        // With no snapshot before now, everything counted is within (restic's zero time).
        assert_eq!(lines(&plan(&history[..1], &policy, now)), ["now: keep within 1d (no snapshot before now), newest"]);
        // A second later, "now" is the anchor and the older one goes.
        let later = now + time::Duration::seconds(1);
        assert_eq!(
            lines(&plan(&history, &policy, later)),
            ["now: keep within 1d of 2024-06-11T00:00:00Z, newest", "old: delete older than keep-within 1d from 2024-06-11T00:00:00Z"]
        );
    }

    #[test]
    fn within_months_follow_the_calendar() {
        // 2024-03-31 - 1m = "2024-02-31" = 2024-03-02 (Go's AddDate).
        let policy = Policy::builder("p").keep_within(CalendarDuration::months(1)).build().unwrap();
        let history = [owned("a", "2024-03-31T12:00:00Z"), owned("b", "2024-03-02T12:00:01Z"), owned("c", "2024-03-02T12:00:00Z")];
        assert_eq!(
            lines(&plan(&history, &policy, datetime!(2024-04-01 00:00 UTC))),
            [
                "a: keep within 1m of 2024-03-31T12:00:00Z, newest",
                "b: keep within 1m of 2024-03-31T12:00:00Z",
                "c: delete older than keep-within 1m from 2024-03-31T12:00:00Z",
            ]
        );
    }

    #[test]
    fn within_daily_keeps_one_a_day_within_and_the_oldest() {
        let policy = Policy::builder("p").keep_within_daily(CalendarDuration::days(2)).build().unwrap();
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            owned("b", "2026-11-27T01:00:00Z"),
            owned("c", "2026-11-26T10:00:00Z"),
            owned("d", "2026-11-25T14:00:00Z"),
            owned("e", "2026-11-25T13:00:00Z"), // exactly 2d before the anchor
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep daily 2026-11-27 within 2d, newest",
                "b: delete keep-within-daily 2d keeps a newer snapshot of 2026-11-27",
                "c: keep daily 2026-11-26 within 2d",
                "d: keep daily 2026-11-25 within 2d",
                "e: delete older than keep-within-daily 2d from 2026-11-27T13:00:00Z",
            ]
        );
        // The oldest is kept when it is within.
        assert_eq!(
            lines(&plan(&history[..4], &policy, NOW)),
            [
                "a: keep daily 2026-11-27 within 2d, newest",
                "b: delete keep-within-daily 2d keeps a newer snapshot of 2026-11-27",
                "c: keep daily 2026-11-26 within 2d",
                "d: keep daily 2026-11-25 within 2d",
            ]
        );
        assert_eq!(lines(&plan(&history[..3], &policy, NOW))[2], "c: keep daily 2026-11-26 within 2d");
        let two = [owned("a", "2026-11-27T13:00:00Z"), owned("b", "2026-11-27T01:00:00Z")];
        assert_eq!(
            lines(&plan(&two, &policy, NOW)),
            ["a: keep daily 2026-11-27 within 2d, newest", "b: keep oldest daily 2026-11-27 within 2d"]
        );
    }

    #[test]
    fn deletes_say_what_every_rule_says() {
        let policy = Policy::builder("p").keep_last(1).keep_daily(2).keep_within(CalendarDuration::hours(12)).build().unwrap();
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            owned("b", "2026-11-27T01:00:00Z"),
            owned("c", "2026-11-26T23:00:00Z"),
            owned("d", "2026-11-26T10:00:00Z"),
            owned("e", "2026-11-25T10:00:00Z"),
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep last 1, daily 2026-11-27, within 12h of 2026-11-27T13:00:00Z, newest",
                "b: delete not among the last 1, keep-daily keeps a newer snapshot of 2026-11-27, older than keep-within 12h from 2026-11-27T13:00:00Z",
                "c: keep daily 2026-11-26",
                "d: delete not among the last 1, keep-daily keeps a newer snapshot of 2026-11-26, older than keep-within 12h from 2026-11-27T13:00:00Z",
                "e: delete not among the last 1, not among the 2 days keep-daily keeps: 2026-11-26 .. 2026-11-27, older than keep-within 12h from 2026-11-27T13:00:00Z",
            ]
        );
        for d in plan(&history, &policy, NOW).decisions() {
            assert!(!d.reasons().is_empty());
            assert_eq!(d.is_delete(), !d.reasons().iter().any(Reason::keeps));
        }
    }

    #[test]
    fn unlimited_counts_keep_every_period_and_the_oldest() {
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            owned("b", "2026-11-27T01:00:00Z"),
            owned("c", "2026-11-26T10:00:00Z"),
            owned("d", "2026-11-26T09:00:00Z"),
        ];
        let policy = Policy::builder("p").keep_daily(Count::Unlimited).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep daily 2026-11-27, newest",
                "b: delete keep-daily keeps a newer snapshot of 2026-11-27",
                "c: keep daily 2026-11-26",
                "d: keep oldest daily 2026-11-26",
            ]
        );
        let policy = Policy::builder("p").keep_last(Count::Unlimited).build().unwrap();
        assert_eq!(plan(&history, &policy, NOW).to_delete().count(), 0);
    }

    #[test]
    fn pins_are_never_deleted_and_still_count() {
        let pin = |mut s: Snapshot| {
            s.metadata.insert(crate::retention::PIN_KEY.to_owned(), String::new());
            s
        };
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let history = [
            owned("a", "2026-11-27T13:00:00Z"),
            pin(owned("b", "2026-11-26T13:00:00Z")),
            owned("c", "2026-11-25T13:00:00Z"),
            pin(snap("e", "vol", "2026-11-24T13:00:00Z", "error", Some("p"))),
            pin(snap("f", "vol", "2026-11-23T13:00:00Z", "available", None)),
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "a: keep last 1, newest",
                "b: keep pinned",
                "c: delete not among the last 1",
                "e: keep not available (error), pinned",
                "f: keep not owned",
            ]
        );
        // A pinned snapshot takes its place in the rules: the newest, pinned, is last 1.
        let history = [pin(owned("a", "2026-11-27T13:00:00Z")), owned("b", "2026-11-26T13:00:00Z")];
        assert_eq!(lines(&plan(&history, &policy, NOW)), ["a: keep last 1, pinned, newest", "b: delete not among the last 1"]);
    }

    #[test]
    fn uncounted_snapshots_are_kept_and_reported() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let mut no_time = owned("n", "2026-01-01T00:00:00Z");
        no_time.created_at = None;
        let history = [
            snap("f", "vol", "2026-11-28T00:00:01Z", "available", Some("p")),
            snap("g", "vol", "2026-11-28T00:00:02Z", "creating", Some("p")),
            snap("h", "vol", "2026-11-27T00:00:00Z", "error", Some("p")),
            snap("i", "vol", "2026-11-26T00:00:00Z", "available", None),
            snap("j", "vol", "2026-11-25T00:00:00Z", "available", Some("other")),
            owned("k", "2026-11-24T00:00:00Z"),
            owned("l", "2026-11-28T00:00:00Z"), // exactly now: counted
            no_time,
        ];
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "g: keep not available (creating), dated in the future",
                "f: keep dated in the future",
                "l: keep last 1, newest",
                "h: delete in error: holds no data",
                "i: keep not owned",
                "j: keep not owned",
                "k: delete not among the last 1",
                "n: keep no creation time",
            ]
        );
    }

    /// A snapshot with `metadata` merged into the policy's labels.
    fn labelled(id: &str, created: &str, status: &str, metadata: serde_json::Value) -> Snapshot {
        let mut s = snap(id, "vol", created, status, Some("p"));
        for (k, v) in metadata.as_object().into_iter().flatten() {
            s.metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
        s
    }

    /// Owned snapshots in `error` are deleted with their own reason, never counted (the
    /// newest is the newest available one), unless pinned; `error_deleting` is kept (Cinder
    /// already failed to delete it); another policy's are never touched. Fails before the
    /// in-error rule: "e1" and "e2" were kept as "not available (error)".
    #[test]
    fn owned_snapshots_in_error_are_deleted_unless_pinned() {
        let policy = Policy::builder("p").keep_last(2).build().unwrap();
        let history = [
            snap("e1", "vol", "2026-11-27T12:00:00Z", "error", Some("p")),
            owned("a", "2026-11-27T00:00:00Z"),
            labelled("e2", "2026-11-26T12:00:00Z", "error", json!({"cinder-snapshots.pin": ""})),
            snap("e3", "vol", "2026-11-26T06:00:00Z", "error_deleting", Some("p")),
            snap("e4", "vol", "2026-11-26T03:00:00Z", "error", Some("other")),
            snap("e5", "vol", "2026-11-26T02:00:00Z", "error", None),
            owned("b", "2026-11-26T00:00:00Z"),
            owned("c", "2026-11-25T00:00:00Z"),
            snap("e6", "vol", "2026-11-30T00:00:00Z", "error", Some("p")),
        ];
        let plan = plan(&history, &policy, NOW);
        assert_eq!(
            lines(&plan),
            [
                "e6: delete in error: holds no data",
                "e1: delete in error: holds no data",
                "a: keep last 1, newest",
                "e2: keep not available (error), pinned",
                "e3: keep not available (error_deleting)",
                "e4: keep not owned",
                "e5: keep not owned",
                "b: keep last 2",
                "c: delete not among the last 2",
            ]
        );
        assert_eq!(plan.get("e1").unwrap().reasons(), [Reason::InError]);
        assert!(!Reason::InError.keeps() && !Reason::DuplicateInWindow.keeps() && Reason::NotOwned.keeps());
    }

    /// Two owned snapshots of a volume for one window (two runs at once): the older available
    /// one is deleted as a duplicate once the newer one counts, and it takes no rule's place;
    /// a pinned one is kept; while the newer one is still `creating`, both are kept. Fails
    /// before the duplicate rule: "d1" was kept as "last 2" and "b" deleted.
    #[test]
    fn an_older_duplicate_in_a_window_is_deleted_once_the_newer_is_available() {
        let policy = Policy::builder("p").keep_last(2).build().unwrap();
        let w = |window: &str| json!({"cinder-snapshots.window": window});
        let history = [
            labelled("d2", "2026-11-27T00:00:05Z", "available", w("2026-11-27T00:00:00Z")),
            labelled("d1", "2026-11-27T00:00:01Z", "available", w("2026-11-27T00:00:00Z")),
            labelled(
                "d0",
                "2026-11-27T00:00:00Z",
                "available",
                json!({"cinder-snapshots.window": "2026-11-27T00:00:00Z", "cinder-snapshots.pin": "1"}),
            ),
            labelled("b", "2026-11-26T00:00:00Z", "available", w("2026-11-26T00:00:00Z")),
            labelled("c", "2026-11-25T00:00:00Z", "available", w("2026-11-25T00:00:00Z")),
            // Another volume: the same window is no duplicate of vol's.
            snap("x", "vol2", "2026-11-27T00:00:00Z", "available", Some("p")),
        ];
        let mut history = history.to_vec();
        history[5].metadata.insert(WINDOW_KEY.to_owned(), "2026-11-27T00:00:00Z".to_owned());
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            [
                "d2: keep last 1, newest",
                "d1: delete duplicate in window",
                "d0: keep last 2, pinned",
                "b: delete not among the last 2",
                "c: delete not among the last 2",
                "x: keep last 1, newest",
            ]
        );
        // The newer one still creating: both of the window are judged as before.
        history[0].status = SnapshotStatus::Creating;
        assert_eq!(lines(&plan(&history[..2], &policy, NOW)), ["d2: keep not available (creating)", "d1: keep last 1, newest"]);
    }

    /// A snapshot with the policy's id in a label format this version does not know is kept
    /// with its own reason, escaped, and not counted. Fails before the format check: "f99"
    /// was counted as "last 1, newest" and "a" deleted.
    #[test]
    fn an_unknown_label_format_is_kept_and_reported() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let history = [
            labelled("f99", "2026-11-27T12:00:00Z", "available", json!({"cinder-snapshots.label-format": "99"})),
            labelled("fnl", "2026-11-27T06:00:00Z", "error", json!({"cinder-snapshots.label-format": "2\nx"})),
            labelled("a", "2026-11-27T00:00:00Z", "available", json!({"cinder-snapshots.label-format": "1"})),
            owned("b", "2026-11-26T00:00:00Z"),
        ];
        let plan = plan(&history, &policy, NOW);
        assert_eq!(
            lines(&plan),
            [
                "f99: keep label format \"99\" is not known to this version",
                "fnl: keep label format \"2\\nx\" is not known to this version",
                "a: keep last 1, newest",
                "b: delete not among the last 1",
            ]
        );
        assert_eq!(plan.get("f99").unwrap().reasons(), [Reason::UnknownLabelFormat("99".into())]);
    }

    #[test]
    fn volumes_are_judged_on_their_own_and_ordered() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let history = [
            snap("x2", "vol-b", "2026-11-01T00:00:00Z", "available", Some("p")),
            snap("x1", "vol-b", "2026-11-02T00:00:00Z", "available", Some("p")),
            snap("y2", "vol-a", "2026-11-01T00:00:00Z", "available", Some("p")),
            snap("y1", "vol-a", "2026-11-01T00:00:00Z", "available", Some("p")),
        ];
        // Equal times: the smaller id counts as the newer.
        assert_eq!(
            lines(&plan(&history, &policy, NOW)),
            ["y1: keep last 1, newest", "y2: delete not among the last 1", "x1: keep last 1, newest", "x2: delete not among the last 1"]
        );
    }

    #[test]
    fn periods_use_the_policy_offset() {
        // 23:30Z on the 27th is the 28th at +02:00; 03:00Z on the 28th is the 27th at -05:00.
        let history = [owned("a", "2026-11-28T03:00:00Z"), owned("b", "2026-11-27T23:30:00Z"), owned("c", "2026-11-27T12:00:00Z")];
        const LATER: OffsetDateTime = datetime!(2026-12-01 00:00 UTC);
        let utc = Policy::builder("p").keep_daily(3).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &utc, LATER)),
            ["a: keep daily 2026-11-28, newest", "b: keep daily 2026-11-27", "c: keep oldest daily 2026-11-27"]
        );
        let east = Policy::builder("p").keep_daily(1).utc_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap()).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &east, LATER)),
            [
                "a: keep daily 2026-11-28, newest",
                "b: delete keep-daily keeps a newer snapshot of 2026-11-28",
                "c: delete not among the 1 day keep-daily keeps: 2026-11-28 .. 2026-11-28"
            ]
        );
        let east = Policy::builder("p").keep_daily(2).utc_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap()).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &east, LATER)),
            ["a: keep daily 2026-11-28, newest", "b: delete keep-daily keeps a newer snapshot of 2026-11-28", "c: keep daily 2026-11-27"]
        );
        let west = Policy::builder("p").keep_daily(2).utc_offset(time::UtcOffset::from_hms(-5, 0, 0).unwrap()).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &west, LATER)),
            [
                "a: keep daily 2026-11-27, newest",
                "b: delete keep-daily keeps a newer snapshot of 2026-11-27",
                "c: keep oldest daily 2026-11-27"
            ]
        );
    }

    #[test]
    fn iso_weeks_months_years_and_leap_days() {
        let history = [
            owned("a", "2021-01-04T00:00:00Z"), // 2021-W01
            owned("b", "2021-01-03T23:59:59Z"), // 2020-W53
            owned("c", "2020-12-31T12:00:00Z"), // 2020-W53
            owned("d", "2020-02-29T12:00:00Z"), // leap day, 2020-W09
            owned("e", "2019-12-30T00:00:00Z"), // 2020-W01
            owned("f", "2018-12-31T00:00:00Z"), // 2019-W01
        ];
        let all = Policy::builder("p").keep_daily(10).keep_weekly(10).keep_monthly(10).keep_yearly(10).build().unwrap();
        assert_eq!(
            lines(&plan(&history, &all, NOW)),
            [
                "a: keep daily 2021-01-04, weekly 2021-W01, monthly 2021-01, yearly 2021, newest",
                "b: keep daily 2021-01-03, weekly 2020-W53",
                "c: keep daily 2020-12-31, monthly 2020-12, yearly 2020",
                "d: keep daily 2020-02-29, weekly 2020-W09, monthly 2020-02",
                "e: keep daily 2019-12-30, weekly 2020-W01, monthly 2019-12, yearly 2019",
                "f: keep daily 2018-12-31, weekly 2019-W01, monthly 2018-12, yearly 2018",
            ]
        );
    }

    #[test]
    fn plan_serializes_for_a_dry_run() {
        let policy = Policy::builder("p").keep_last(1).build().unwrap();
        let history = [owned("a", "2026-11-27T13:00:00.250Z"), owned("b", "2026-11-26T13:00:00Z")];
        let value = serde_json::to_value(plan(&history, &policy, NOW)).unwrap();
        assert_eq!(
            value,
            json!({
                "policy": "p",
                "rules": "last=1,utc-offset=+00:00",
                "now": "2026-11-28T00:00:00Z",
                "decisions": [
                    {"id": "a", "volume_id": "vol", "name": null, "status": "available", "created_at": "2026-11-27T13:00:00.25Z",
                     "action": "keep", "reasons": ["last 1", "newest"]},
                    {"id": "b", "volume_id": "vol", "name": null, "status": "available", "created_at": "2026-11-26T13:00:00Z",
                     "action": "delete", "reasons": ["not among the last 1"]},
                ]
            })
        );
    }
}
