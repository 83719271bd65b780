//! The retention policy: an ownership id and the keep rules.

use std::fmt;
use std::str::FromStr;

use time::UtcOffset;

use crate::duration::CalendarDuration;
use crate::tz::{Calendar, TimeZone};

/// The most characters a policy id may have (Cinder's limit on metadata keys and values).
pub const MAX_POLICY_ID_CHARS: usize = 255;

/// Why a policy was refused by [`PolicyBuilder::build`].
///
/// Converts into [`crate::Error::Config`] (its message is this error's `Display`), so `?`
/// works in functions returning [`crate::Result`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No rule is set: every count is 0 and every `keep_within*` is unset or zero. Such a
    /// policy would delete every owned snapshot but the newest, so it is refused.
    #[error(
        "retention policy {id:?} has no rule: set at least one of keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within or keep_within_hourly ... keep_within_yearly"
    )]
    Empty {
        /// The policy's id.
        id: String,
    },
    /// The policy id breaks the rules of [`PolicyBuilder::build`].
    #[error("invalid retention policy id {id:?}: {problem}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl From<PolicyError> for crate::Error {
    fn from(e: PolicyError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// How many snapshots or periods a count rule keeps: a number (0: the rule is not set) or
/// `unlimited` (restic's `unlimited`, its `-1`: every period, and the oldest snapshot too).
///
/// A `u32` converts into a `Count`, so `keep_daily(7)` reads as before.
///
/// ```
/// use cinder_snapshots::retention::Count;
/// assert_eq!("unlimited".parse::<Count>(), Ok(Count::Unlimited));
/// assert_eq!("7".parse::<Count>(), Ok(Count::Limited(7)));
/// assert_eq!(Count::from(7), 7);
/// assert_eq!(Count::Unlimited.to_string(), "unlimited");
/// assert!(!Count::from(0).is_set());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// At most this many (0: not set).
    Limited(u32),
    /// Every one.
    Unlimited,
}

impl Count {
    /// Whether the rule is set (not `Limited(0)`).
    pub fn is_set(self) -> bool {
        self != Count::Limited(0)
    }

    /// The number, `None` for [`Count::Unlimited`].
    pub fn limit(self) -> Option<u32> {
        match self {
            Count::Limited(n) => Some(n),
            Count::Unlimited => None,
        }
    }
}

impl Default for Count {
    fn default() -> Self {
        Count::Limited(0)
    }
}

impl From<u32> for Count {
    fn from(n: u32) -> Self {
        Count::Limited(n)
    }
}

impl PartialEq<u32> for Count {
    fn eq(&self, other: &u32) -> bool {
        *self == Count::Limited(*other)
    }
}

/// `7`, `unlimited`.
impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Limited(n) => write!(f, "{n}"),
            Count::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// Why a text is not a [`Count`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a whole number from 0 to 4294967295 nor unlimited")]
pub struct CountError;

/// A whole number from 0 to `u32::MAX`, or `unlimited` (any case; spaces around ignored).
impl FromStr for Count {
    type Err = CountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("unlimited") {
            return Ok(Count::Unlimited);
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CountError);
        }
        t.parse::<u32>().map(Count::Limited).map_err(|_| CountError)
    }
}

/// The kinds of calendar period, finest first.
pub(crate) const PERIOD_RULES: [&str; 5] = ["hourly", "daily", "weekly", "monthly", "yearly"];

/// A validated retention policy: which snapshots it owns and which of them it keeps.
///
/// Built with [`Policy::builder`]; a `Policy` value always has a valid id and at least one
/// rule. The model is restic's `forget` (see the [module documentation](super)):
///
/// - `keep_last(n)`: the `n` newest snapshots.
/// - `keep_hourly(n)`, `keep_daily(n)`, `keep_weekly(n)`, `keep_monthly(n)`,
///   `keep_yearly(n)`: for the `n` newest periods *that contain a snapshot*, the newest
///   snapshot of each period ([`Count::Unlimited`]: every period). Periods are calendar
///   periods in the policy's [`calendar`](Policy::calendar) (UTC by default, a fixed offset
///   or a named zone); weeks are ISO 8601 weeks (Monday to Sunday, numbered within the ISO
///   week-numbering year, so 2020-12-31 is in 2020-W53 and 2021-01-03 too). When a calendar
///   rule has fewer periods than its count, it also keeps the oldest snapshot.
/// - `keep_within(d)`: every snapshot taken after the *anchor* minus the calendar duration
///   `d` (restic's `--keep-within 1y2m3d4h`); the anchor is the newest counted snapshot
///   strictly before *now*, so a schedule that stopped does not age its last snapshots out.
/// - `keep_within_hourly(d)` ... `keep_within_yearly(d)`: the newest snapshot of every
///   period among the snapshots `keep_within(d)` would keep (restic's
///   `--keep-within-daily` and friends), and the oldest snapshot when it is among them.
///
/// The rules are OR-ed: a snapshot kept by any rule is kept. A count of 0 (the default) and
/// a zero duration mean "rule not set".
///
/// ```
/// use cinder_snapshots::duration::CalendarDuration;
/// use cinder_snapshots::retention::{Count, Policy, PolicyError};
///
/// let policy = Policy::builder("nightly-db")
///     .keep_daily(7)
///     .keep_weekly(Count::Unlimited)
///     .keep_within(CalendarDuration::days(2))
///     .keep_within_monthly(CalendarDuration::years(1))
///     .build()?;
/// assert_eq!(
///     policy.to_string(),
///     "policy \"nightly-db\": keep daily 7, weekly unlimited, within 2d, monthly within 1y (calendar in UTC)"
/// );
///
/// // No rule: refused.
/// assert!(matches!(Policy::builder("nightly-db").build(), Err(PolicyError::Empty { .. })));
/// # Ok::<(), PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    id: String,
    rules: Rules,
}

/// The rule values, shared by the builder and the policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Rules {
    /// last, hourly, daily, weekly, monthly, yearly.
    counts: [Count; 6],
    within: Option<CalendarDuration>,
    /// hourly, daily, weekly, monthly, yearly.
    within_periods: [Option<CalendarDuration>; 5],
    calendar: Calendar,
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| !c.is_set()) && self.within.is_none() && self.within_periods.iter().all(Option::is_none)
    }
}

const COUNT_NAMES: [&str; 6] = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];

impl Policy {
    /// Starts a policy with the given ownership id (the value of the
    /// [`POLICY_KEY`](super::POLICY_KEY) label on the snapshots it owns) and no rule.
    ///
    /// The id is checked by [`PolicyBuilder::build`].
    pub fn builder(id: impl Into<String>) -> PolicyBuilder {
        PolicyBuilder { id: id.into(), rules: Rules::default() }
    }

    /// The ownership id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many of the newest snapshots are kept (0: rule not set).
    pub fn keep_last(&self) -> Count {
        self.rules.counts[0]
    }

    /// How many hours (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_hourly(&self) -> Count {
        self.rules.counts[1]
    }

    /// How many days (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_daily(&self) -> Count {
        self.rules.counts[2]
    }

    /// How many ISO weeks (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_weekly(&self) -> Count {
        self.rules.counts[3]
    }

    /// How many months (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_monthly(&self) -> Count {
        self.rules.counts[4]
    }

    /// How many years (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_yearly(&self) -> Count {
        self.rules.counts[5]
    }

    /// The calendar rules' counts, finest first: hourly, daily, weekly, monthly, yearly.
    pub(crate) fn period_counts(&self) -> [Count; 5] {
        let c = &self.rules.counts;
        [c[1], c[2], c[3], c[4], c[5]]
    }

    /// Every snapshot taken after the anchor minus this is kept (`None`: not set; a zero
    /// duration given to the builder is `None` here).
    pub fn keep_within(&self) -> Option<CalendarDuration> {
        self.rules.within
    }

    /// `keep_within_hourly`: the newest snapshot of each hour within this of the anchor.
    pub fn keep_within_hourly(&self) -> Option<CalendarDuration> {
        self.rules.within_periods[0]
    }

    /// `keep_within_daily`: the newest snapshot of each day within this of the anchor.
    pub fn keep_within_daily(&self) -> Option<CalendarDuration> {
        self.rules.within_periods[1]
    }

    /// `keep_within_weekly`: the newest snapshot of each ISO week within this of the anchor.
    pub fn keep_within_weekly(&self) -> Option<CalendarDuration> {
        self.rules.within_periods[2]
    }

    /// `keep_within_monthly`: the newest snapshot of each month within this of the anchor.
    pub fn keep_within_monthly(&self) -> Option<CalendarDuration> {
        self.rules.within_periods[3]
    }

    /// `keep_within_yearly`: the newest snapshot of each year within this of the anchor.
    pub fn keep_within_yearly(&self) -> Option<CalendarDuration> {
        self.rules.within_periods[4]
    }

    /// The `keep_within_*` durations, finest first: hourly, daily, weekly, monthly, yearly.
    pub(crate) fn within_periods(&self) -> [Option<CalendarDuration>; 5] {
        self.rules.within_periods
    }

    /// The calendar the periods and `keep_within` are computed in: a fixed offset (UTC by
    /// default) or a named zone.
    pub fn calendar(&self) -> &Calendar {
        &self.rules.calendar
    }

    /// The finest calendar rule this policy sets (count or `keep_within_*`), as its index
    /// among hourly, daily, weekly, monthly, yearly.
    pub(crate) fn finest_period(&self) -> Option<usize> {
        let counts = self.period_counts();
        (0..5).find(|i| counts[*i].is_set() || self.rules.within_periods[*i].is_some())
    }

    /// The most counted snapshots of one volume the rules keep: the sum of the counts (a
    /// rule short of periods keeps the oldest in place of one it lacks, so never more), or
    /// `None` when the rules set no such bound (an `unlimited` count, `keep_within` or a
    /// `keep_within_*` rule). Pinned snapshots come on top of it: in the steady state a
    /// volume holds at most `max_kept() + its pins` of the policy's snapshots, and the quota
    /// a policy needs counts them.
    ///
    /// ```
    /// use cinder_snapshots::duration::CalendarDuration;
    /// use cinder_snapshots::retention::{Count, Policy};
    /// let p = Policy::builder("p").keep_last(2).keep_daily(7).keep_weekly(4).build()?;
    /// assert_eq!(p.max_kept(), Some(13));
    /// let p = Policy::builder("p").keep_daily(7).keep_monthly(Count::Unlimited).build()?;
    /// assert_eq!(p.max_kept(), None);
    /// let p = Policy::builder("p").keep_daily(7).keep_within_daily(CalendarDuration::days(14)).build()?;
    /// assert_eq!(p.max_kept(), None);
    /// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
    /// ```
    pub fn max_kept(&self) -> Option<u32> {
        if self.rules.within.is_some() || self.rules.within_periods.iter().any(Option::is_some) {
            return None;
        }
        self.rules.counts.iter().try_fold(0u32, |sum, c| c.limit().map(|n| sum.saturating_add(n)))
    }

    /// The rules in the stable compact form written to the [`RULES_KEY`](super::RULES_KEY)
    /// label: the set rules as `name=value` joined by `,`, in the order `last`, `hourly`,
    /// `daily`, `weekly`, `monthly`, `yearly` (a number or `unlimited`), `within`,
    /// `within-hourly` ... `within-yearly` (calendar durations such as `1y2m`), then always
    /// the calendar: `utc-offset=±HH:MM` (`±HH:MM:SS` when the offset has seconds) or
    /// `time-zone=Europe/Berlin`.
    ///
    /// ```
    /// use cinder_snapshots::duration::CalendarDuration;
    /// use cinder_snapshots::retention::{Count, Policy};
    /// let p = Policy::builder("p").keep_last(3).keep_monthly(Count::Unlimited).keep_within(CalendarDuration::new(0, 1, 0, 12)).build()?;
    /// assert_eq!(p.rules_string(), "last=3,monthly=unlimited,within=1m12h,utc-offset=+00:00");
    /// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
    /// ```
    pub fn rules_string(&self) -> String {
        let mut parts: Vec<String> = self.counts().map(|(name, n)| format!("{name}={n}")).collect();
        if let Some(d) = self.rules.within {
            parts.push(format!("within={d}"));
        }
        for (name, d) in self.withins() {
            parts.push(format!("within-{name}={d}"));
        }
        parts.push(match &self.rules.calendar {
            Calendar::Fixed(o) => format!("utc-offset={}", crate::timestamp::format_offset(*o)),
            Calendar::Zone(z) => format!("time-zone={}", z.name()),
        });
        parts.join(",")
    }

    /// The set counts with their rule names, in rule order.
    fn counts(&self) -> impl Iterator<Item = (&'static str, Count)> {
        COUNT_NAMES.into_iter().zip(self.rules.counts).filter(|(_, n)| n.is_set())
    }

    /// The set `keep_within_*` rules with their period names, finest first.
    fn withins(&self) -> impl Iterator<Item = (&'static str, CalendarDuration)> {
        PERIOD_RULES.into_iter().zip(self.rules.within_periods).filter_map(|(name, d)| Some((name, d?)))
    }
}

/// `policy "ID": keep daily 7, weekly 4, within 2d, daily within 14d (calendar in UTC)`; a
/// fixed offset shows as `(calendar in UTC+02:00)`, a zone as `(calendar in Europe/Berlin)`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.counts().map(|(name, n)| format!("{name} {n}")).collect();
        if let Some(d) = self.rules.within {
            parts.push(format!("within {d}"));
        }
        for (name, d) in self.withins() {
            parts.push(format!("{name} within {d}"));
        }
        write!(f, "policy {:?}: keep {} (calendar in {})", self.id, parts.join(", "), self.rules.calendar)
    }
}

/// Builds a [`Policy`]: chain the setters, then [`build`](PolicyBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a builder does nothing until build() is called"]
pub struct PolicyBuilder {
    id: String,
    rules: Rules,
}

impl PolicyBuilder {
    /// Keeps the `n` newest snapshots ([`Count::Unlimited`]: all of them).
    pub fn keep_last(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[0] = n.into();
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest hours that contain a snapshot.
    pub fn keep_hourly(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[1] = n.into();
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest days that contain a snapshot.
    pub fn keep_daily(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[2] = n.into();
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest ISO weeks that contain a snapshot.
    pub fn keep_weekly(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[3] = n.into();
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest months that contain a snapshot.
    pub fn keep_monthly(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[4] = n.into();
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest years that contain a snapshot.
    pub fn keep_yearly(mut self, n: impl Into<Count>) -> Self {
        self.rules.counts[5] = n.into();
        self
    }

    /// Keeps every snapshot taken after the anchor (the newest counted snapshot strictly
    /// before now) minus `d`, computed with restic's calendar arithmetic in the policy's
    /// calendar (strictly: one taken exactly at that instant is not kept by this rule).
    /// Zero unsets the rule; a duration past the calendar's range keeps everything.
    pub fn keep_within(mut self, d: CalendarDuration) -> Self {
        self.rules.within = (!d.is_zero()).then_some(d);
        self
    }

    /// Keeps the newest snapshot of each hour among those `keep_within(d)` would keep.
    pub fn keep_within_hourly(self, d: CalendarDuration) -> Self {
        self.within_period(0, d)
    }

    /// Keeps the newest snapshot of each day among those `keep_within(d)` would keep.
    pub fn keep_within_daily(self, d: CalendarDuration) -> Self {
        self.within_period(1, d)
    }

    /// Keeps the newest snapshot of each ISO week among those `keep_within(d)` would keep.
    pub fn keep_within_weekly(self, d: CalendarDuration) -> Self {
        self.within_period(2, d)
    }

    /// Keeps the newest snapshot of each month among those `keep_within(d)` would keep.
    pub fn keep_within_monthly(self, d: CalendarDuration) -> Self {
        self.within_period(3, d)
    }

    /// Keeps the newest snapshot of each year among those `keep_within(d)` would keep.
    pub fn keep_within_yearly(self, d: CalendarDuration) -> Self {
        self.within_period(4, d)
    }

    fn within_period(mut self, i: usize, d: CalendarDuration) -> Self {
        self.rules.within_periods[i] = (!d.is_zero()).then_some(d);
        self
    }

    /// Computes the calendar periods in this fixed offset instead of UTC. A snapshot taken
    /// at 2026-11-27T23:30Z is in the day 2026-11-28 with `UtcOffset::from_hms(2, 0, 0)`.
    pub fn utc_offset(mut self, offset: UtcOffset) -> Self {
        self.rules.calendar = Calendar::Fixed(offset);
        self
    }

    /// Computes the calendar periods in the local time of a named zone (daylight saving
    /// included), as restic does in local time. Load the zone with [`TimeZone::load`].
    pub fn time_zone(mut self, zone: TimeZone) -> Self {
        self.rules.calendar = Calendar::Zone(zone);
        self
    }

    /// Sets the calendar: a fixed offset or a zone.
    pub fn calendar(mut self, calendar: impl Into<Calendar>) -> Self {
        self.rules.calendar = calendar.into();
        self
    }

    /// Checks the policy.
    ///
    /// The id is a metadata value that must also be usable as a metadata key and in a
    /// listing's `metadata` filter: 1 to 255 characters among ASCII letters, digits and
    /// `-_:. ` (Cinder's key rule, without `/`), not starting or ending with a space.
    ///
    /// # Errors
    ///
    /// [`PolicyError::InvalidId`] for a bad id, [`PolicyError::Empty`] when no rule is set.
    pub fn build(self) -> Result<Policy, PolicyError> {
        check_id(&self.id)?;
        if self.rules.is_empty() {
            return Err(PolicyError::Empty { id: self.id });
        }
        Ok(Policy { id: self.id, rules: self.rules })
    }
}

impl Policy {
    /// Checks a policy id as [`PolicyBuilder::build`] does, without building a policy: the
    /// one check for code that only names a policy (to ask who owns a snapshot, as
    /// [`is_owned`](super::is_owned) does by id).
    ///
    /// ```
    /// use cinder_snapshots::retention::Policy;
    /// assert!(Policy::validate_id("nightly-db").is_ok());
    /// assert!(Policy::validate_id("night/ly").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`PolicyError::InvalidId`] saying what is wrong.
    pub fn validate_id(id: &str) -> Result<(), PolicyError> {
        check_id(id)
    }
}

fn check_id(id: &str) -> Result<(), PolicyError> {
    let invalid = |problem: String| Err(PolicyError::InvalidId { id: id.to_owned(), problem });
    let n = id.chars().count();
    if n == 0 || n > MAX_POLICY_ID_CHARS {
        return invalid(format!("it has {n} characters; 1 to {MAX_POLICY_ID_CHARS} are allowed"));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' '))) {
        return invalid(format!("it contains {c:?}; only ASCII letters, digits and -_:. and space are allowed"));
    }
    if id.starts_with(' ') || id.ends_with(' ') {
        return invalid("it starts or ends with a space".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_policies_are_refused() {
        assert_eq!(Policy::builder("p").build(), Err(PolicyError::Empty { id: "p".into() }));
        // Zero counts and zero durations are "not set".
        let zeroed = Policy::builder("p")
            .keep_last(0)
            .keep_daily(0)
            .keep_within(CalendarDuration::default())
            .keep_within_daily(CalendarDuration::days(0))
            .utc_offset(UtcOffset::UTC);
        assert_eq!(zeroed.build(), Err(PolicyError::Empty { id: "p".into() }));
        let e: crate::Error = Policy::builder("p").build().unwrap_err().into();
        assert!(
            matches!(&e, crate::Error::Config(m) if m.starts_with("retention policy \"p\" has no rule: set at least one of keep_last"))
        );
    }

    #[test]
    fn every_single_rule_is_enough() {
        let setters: [fn(PolicyBuilder) -> PolicyBuilder; 13] = [
            |b| b.keep_last(1),
            |b| b.keep_hourly(1),
            |b| b.keep_daily(1),
            |b| b.keep_weekly(1),
            |b| b.keep_monthly(1),
            |b| b.keep_yearly(Count::Unlimited),
            |b| b.keep_last(Count::Unlimited),
            |b| b.keep_within(CalendarDuration::hours(1)),
            |b| b.keep_within_hourly(CalendarDuration::hours(1)),
            |b| b.keep_within_daily(CalendarDuration::days(1)),
            |b| b.keep_within_weekly(CalendarDuration::days(1)),
            |b| b.keep_within_monthly(CalendarDuration::months(1)),
            |b| b.keep_within_yearly(CalendarDuration::years(1)),
        ];
        for set in setters {
            set(Policy::builder("p")).build().unwrap();
        }
    }

    #[test]
    fn ids_follow_cinder_key_rules() {
        for ok in ["a", "nightly-db_1:v2.0", "with space", &"x".repeat(255)] {
            assert_eq!(Policy::builder(ok).keep_last(1).build().unwrap().id(), ok);
        }
        let cases = [
            ("", "it has 0 characters; 1 to 255 are allowed"),
            (&"x".repeat(256), "it has 256 characters; 1 to 255 are allowed"),
            ("a/b", "it contains '/'; only ASCII letters, digits and -_:. and space are allowed"),
            ("é", "it contains 'é'; only ASCII letters, digits and -_:. and space are allowed"),
            ("a\nb", "it contains '\\n'; only ASCII letters, digits and -_:. and space are allowed"),
            (" a", "it starts or ends with a space"),
            ("a ", "it starts or ends with a space"),
        ];
        for (id, problem) in cases {
            assert_eq!(
                Policy::builder(id).keep_last(1).build(),
                Err(PolicyError::InvalidId { id: id.to_owned(), problem: problem.to_owned() }),
                "{id:?}"
            );
        }
        // The id is checked before the rules.
        assert!(matches!(Policy::builder("a/b").build(), Err(PolicyError::InvalidId { .. })));
    }

    #[test]
    fn getters_display_and_rules_string() {
        let p = Policy::builder("db")
            .keep_last(2)
            .keep_hourly(24)
            .keep_daily(7)
            .keep_weekly(5)
            .keep_monthly(12)
            .keep_yearly(Count::Unlimited)
            .keep_within(CalendarDuration::new(0, 0, 3, 5))
            .keep_within_daily(CalendarDuration::days(14))
            .keep_within_yearly(CalendarDuration::years(10))
            .utc_offset(UtcOffset::from_hms(-5, -30, 0).unwrap())
            .build()
            .unwrap();
        assert_eq!(
            (p.keep_last(), p.keep_hourly(), p.keep_daily(), p.keep_weekly(), p.keep_monthly(), p.keep_yearly()),
            (Count::Limited(2), Count::Limited(24), Count::Limited(7), Count::Limited(5), Count::Limited(12), Count::Unlimited)
        );
        assert_eq!(p.keep_within(), Some(CalendarDuration::new(0, 0, 3, 5)));
        assert_eq!(
            (p.keep_within_hourly(), p.keep_within_daily(), p.keep_within_weekly(), p.keep_within_monthly(), p.keep_within_yearly()),
            (None, Some(CalendarDuration::days(14)), None, None, Some(CalendarDuration::years(10)))
        );
        assert_eq!(p.calendar(), &Calendar::Fixed(UtcOffset::from_hms(-5, -30, 0).unwrap()));
        assert_eq!(
            p.to_string(),
            "policy \"db\": keep last 2, hourly 24, daily 7, weekly 5, monthly 12, yearly unlimited, within 3d5h, daily within 14d, yearly within 10y (calendar in UTC-05:30)"
        );
        assert_eq!(
            p.rules_string(),
            "last=2,hourly=24,daily=7,weekly=5,monthly=12,yearly=unlimited,within=3d5h,within-daily=14d,within-yearly=10y,utc-offset=-05:30"
        );
        let odd = Policy::builder("x").keep_yearly(1).utc_offset(UtcOffset::from_hms(5, 30, 15).unwrap()).build().unwrap();
        assert_eq!(odd.rules_string(), "yearly=1,utc-offset=+05:30:15");
    }

    #[test]
    fn counts_read_and_write() {
        for (text, want) in
            [("0", Count::Limited(0)), ("7", Count::Limited(7)), (" unlimited ", Count::Unlimited), ("UNLIMITED", Count::Unlimited)]
        {
            assert_eq!(text.parse::<Count>(), Ok(want), "{text:?}");
        }
        for bad in ["", "-1", "+1", "1.0", "4294967296", "all", "inf"] {
            assert_eq!(bad.parse::<Count>(), Err(CountError), "{bad:?}");
        }
        assert_eq!(Count::from(u32::MAX), Count::Limited(u32::MAX));
        assert_eq!((Count::Unlimited.limit(), Count::Limited(3).limit()), (None, Some(3)));
    }
}
