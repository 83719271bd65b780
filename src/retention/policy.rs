//! The retention policy: an ownership id and the keep rules.

use std::fmt;
use std::time::Duration;

use time::UtcOffset;

/// The most characters a policy id may have (Cinder's limit on metadata keys and values).
pub const MAX_POLICY_ID_CHARS: usize = 255;

/// Why a policy was refused by [`PolicyBuilder::build`].
///
/// Converts into [`crate::Error::Config`] (its message is this error's `Display`), so `?`
/// works in functions returning [`crate::Result`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No rule is set: every count is 0 and `keep_within` is unset or zero. Such a policy
    /// would delete every owned snapshot but the newest, so it is refused.
    #[error(
        "retention policy {id:?} has no rule: set at least one of keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly or keep_within"
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

/// A validated retention policy: which snapshots it owns and which of them it keeps.
///
/// Built with [`Policy::builder`]; a `Policy` value always has a valid id and at least one
/// rule. The model is restic's `forget` (see the [module documentation](super)):
///
/// - `keep_last(n)`: the `n` newest snapshots.
/// - `keep_hourly(n)`, `keep_daily(n)`, `keep_weekly(n)`, `keep_monthly(n)`,
///   `keep_yearly(n)`: for the `n` newest periods *that contain a snapshot*, the newest
///   snapshot of each period. Periods are calendar periods in the policy's
///   [`utc_offset`](Policy::utc_offset) (UTC by default); weeks are ISO 8601 weeks (Monday to
///   Sunday, numbered within the ISO week-numbering year, so 2020-12-31 is in 2020-W53 and
///   2021-01-03 too). When a calendar rule has fewer periods than its count, it also keeps
///   the oldest snapshot.
/// - `keep_within(d)`: every snapshot taken less than `d` before the newest snapshot (not
///   before *now*: a schedule that stopped does not age its last snapshots out).
///
/// The rules are OR-ed: a snapshot kept by any rule is kept. A count of 0 (the default) and
/// a `keep_within` of zero mean "rule not set". A count of `u32::MAX` keeps every period.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::retention::{Policy, PolicyError};
///
/// let policy = Policy::builder("nightly-db").keep_daily(7).keep_weekly(4).keep_within(Duration::from_secs(2 * 86_400)).build()?;
/// assert_eq!(policy.to_string(), "policy \"nightly-db\": keep daily 7, weekly 4, within 2d of newest (calendar in UTC)");
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rules {
    last: u32,
    hourly: u32,
    daily: u32,
    weekly: u32,
    monthly: u32,
    yearly: u32,
    within: Option<Duration>,
    offset: UtcOffset,
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.last == 0
            && self.hourly == 0
            && self.daily == 0
            && self.weekly == 0
            && self.monthly == 0
            && self.yearly == 0
            && self.within.is_none_or(|d| d.is_zero())
    }
}

impl Policy {
    /// Starts a policy with the given ownership id (the value of the
    /// [`POLICY_KEY`](super::POLICY_KEY) label on the snapshots it owns) and no rule.
    ///
    /// The id is checked by [`PolicyBuilder::build`].
    pub fn builder(id: impl Into<String>) -> PolicyBuilder {
        PolicyBuilder {
            id: id.into(),
            rules: Rules { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, within: None, offset: UtcOffset::UTC },
        }
    }

    /// The ownership id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many of the newest snapshots are kept (0: rule not set).
    pub fn keep_last(&self) -> u32 {
        self.rules.last
    }

    /// How many hours (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_hourly(&self) -> u32 {
        self.rules.hourly
    }

    /// How many days (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_daily(&self) -> u32 {
        self.rules.daily
    }

    /// How many ISO weeks (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_weekly(&self) -> u32 {
        self.rules.weekly
    }

    /// How many months (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_monthly(&self) -> u32 {
        self.rules.monthly
    }

    /// How many years (that contain a snapshot) keep their newest snapshot (0: not set).
    pub fn keep_yearly(&self) -> u32 {
        self.rules.yearly
    }

    /// Every snapshot less than this before the newest one is kept (`None`: not set; a zero
    /// duration given to the builder is `None` here).
    pub fn keep_within(&self) -> Option<Duration> {
        self.rules.within
    }

    /// The UTC offset the calendar periods are computed in.
    pub fn utc_offset(&self) -> UtcOffset {
        self.rules.offset
    }

    /// The rules in the stable compact form written to the [`RULES_KEY`](super::RULES_KEY)
    /// label: the set rules as `name=value` joined by `,`, in the order `last`, `hourly`,
    /// `daily`, `weekly`, `monthly`, `yearly`, `within` (a [duration](format_duration)), then
    /// always `utc-offset=±HH:MM` (`±HH:MM:SS` when the offset has seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cinder_snapshots::retention::Policy;
    /// let p = Policy::builder("p").keep_last(3).keep_monthly(12).keep_within(Duration::from_secs(36 * 3600)).build()?;
    /// assert_eq!(p.rules_string(), "last=3,monthly=12,within=1d12h,utc-offset=+00:00");
    /// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
    /// ```
    pub fn rules_string(&self) -> String {
        let mut parts: Vec<String> = self.counts().filter(|(_, n)| *n > 0).map(|(name, n)| format!("{name}={n}")).collect();
        if let Some(d) = self.rules.within {
            parts.push(format!("within={}", format_duration(d)));
        }
        parts.push(format!("utc-offset={}", crate::timestamp::format_offset(self.rules.offset)));
        parts.join(",")
    }

    /// The counts with their rule names, in rule order.
    fn counts(&self) -> impl Iterator<Item = (&'static str, u32)> {
        let r = &self.rules;
        [("last", r.last), ("hourly", r.hourly), ("daily", r.daily), ("weekly", r.weekly), ("monthly", r.monthly), ("yearly", r.yearly)]
            .into_iter()
    }
}

/// `policy "ID": keep daily 7, weekly 4, within 2d of newest (calendar in UTC)`; a fixed
/// offset shows as `(calendar in UTC+02:00)`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.counts().filter(|(_, n)| *n > 0).map(|(name, n)| format!("{name} {n}")).collect();
        if let Some(d) = self.rules.within {
            parts.push(format!("within {} of newest", format_duration(d)));
        }
        let offset = if self.rules.offset.is_utc() { String::new() } else { crate::timestamp::format_offset(self.rules.offset) };
        write!(f, "policy {:?}: keep {} (calendar in UTC{offset})", self.id, parts.join(", "))
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
    /// Keeps the `n` newest snapshots.
    pub fn keep_last(mut self, n: u32) -> Self {
        self.rules.last = n;
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest hours that contain a snapshot.
    pub fn keep_hourly(mut self, n: u32) -> Self {
        self.rules.hourly = n;
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest days that contain a snapshot.
    pub fn keep_daily(mut self, n: u32) -> Self {
        self.rules.daily = n;
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest ISO weeks that contain a snapshot.
    pub fn keep_weekly(mut self, n: u32) -> Self {
        self.rules.weekly = n;
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest months that contain a snapshot.
    pub fn keep_monthly(mut self, n: u32) -> Self {
        self.rules.monthly = n;
        self
    }

    /// Keeps the newest snapshot of each of the `n` newest years that contain a snapshot.
    pub fn keep_yearly(mut self, n: u32) -> Self {
        self.rules.yearly = n;
        self
    }

    /// Keeps every snapshot taken less than `d` before the newest snapshot (strictly: one
    /// taken exactly `d` before is not kept by this rule). Zero unsets the rule; a duration
    /// too large for the calendar (such as `Duration::MAX`) keeps everything.
    pub fn keep_within(mut self, d: Duration) -> Self {
        self.rules.within = if d.is_zero() { None } else { Some(d) };
        self
    }

    /// Computes the calendar periods in this fixed offset instead of UTC. A snapshot taken
    /// at 2026-11-27T23:30Z is in the day 2026-11-28 with `UtcOffset::from_hms(2, 0, 0)`.
    pub fn utc_offset(mut self, offset: UtcOffset) -> Self {
        self.rules.offset = offset;
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

/// Formats a duration compactly and exactly: its non-zero parts among days (`d`, 86,400
/// seconds), hours, minutes, seconds, milliseconds, microseconds and nanoseconds, largest
/// first, e.g. `3d`, `1d12h`, `90s` is `1m30s`, `1s500ms`; zero is `0s`.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::retention::format_duration;
/// assert_eq!(format_duration(Duration::from_secs(3 * 86_400)), "3d");
/// assert_eq!(format_duration(Duration::from_millis(90_500)), "1m30s500ms");
/// assert_eq!(format_duration(Duration::ZERO), "0s");
/// ```
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let parts = [
        (secs / 86_400, "d"),
        ((secs % 86_400) / 3600, "h"),
        ((secs % 3600) / 60, "m"),
        (secs % 60, "s"),
        (u64::from(nanos / 1_000_000), "ms"),
        (u64::from((nanos / 1000) % 1000), "us"),
        (u64::from(nanos % 1000), "ns"),
    ];
    let out: String = parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n}{unit}")).collect();
    if out.is_empty() { "0s".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_policies_are_refused() {
        assert_eq!(Policy::builder("p").build(), Err(PolicyError::Empty { id: "p".into() }));
        // Zero counts and a zero keep_within are "not set".
        let zeroed = Policy::builder("p").keep_last(0).keep_daily(0).keep_within(Duration::ZERO).utc_offset(UtcOffset::UTC);
        assert_eq!(zeroed.build(), Err(PolicyError::Empty { id: "p".into() }));
        let e: crate::Error = Policy::builder("p").build().unwrap_err().into();
        assert!(
            matches!(&e, crate::Error::Config(m) if m.starts_with("retention policy \"p\" has no rule: set at least one of keep_last"))
        );
    }

    #[test]
    fn every_single_rule_is_enough() {
        let setters: [fn(PolicyBuilder) -> PolicyBuilder; 7] = [
            |b| b.keep_last(1),
            |b| b.keep_hourly(1),
            |b| b.keep_daily(1),
            |b| b.keep_weekly(1),
            |b| b.keep_monthly(1),
            |b| b.keep_yearly(1),
            |b| b.keep_within(Duration::from_nanos(1)),
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
            .keep_yearly(3)
            .keep_within(Duration::from_secs(3 * 86_400 + 5))
            .utc_offset(UtcOffset::from_hms(-5, -30, 0).unwrap())
            .build()
            .unwrap();
        assert_eq!(
            (p.keep_last(), p.keep_hourly(), p.keep_daily(), p.keep_weekly(), p.keep_monthly(), p.keep_yearly()),
            (2, 24, 7, 5, 12, 3)
        );
        assert_eq!(p.keep_within(), Some(Duration::from_secs(3 * 86_400 + 5)));
        assert_eq!(p.utc_offset(), UtcOffset::from_hms(-5, -30, 0).unwrap());
        assert_eq!(
            p.to_string(),
            "policy \"db\": keep last 2, hourly 24, daily 7, weekly 5, monthly 12, yearly 3, within 3d5s of newest (calendar in UTC-05:30)"
        );
        assert_eq!(p.rules_string(), "last=2,hourly=24,daily=7,weekly=5,monthly=12,yearly=3,within=3d5s,utc-offset=-05:30");
        let odd = Policy::builder("x").keep_yearly(1).utc_offset(UtcOffset::from_hms(5, 30, 15).unwrap()).build().unwrap();
        assert_eq!(odd.rules_string(), "yearly=1,utc-offset=+05:30:15");
    }

    #[test]
    fn durations_format_exactly() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_secs(59), "59s"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(86_400 * 3), "3d"),
            (Duration::from_secs(86_400 + 3600 + 60 + 1), "1d1h1m1s"),
            (Duration::new(1, 1_002_003), "1s1ms2us3ns"),
            (Duration::MAX, "213503982334601d7h15s999ms999us999ns"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
        }
    }
}
