//! The one translation of named options (the command line's `--keep-daily 7`, the spec's
//! `keep-daily: 7`) into a retention [`Policy`] and a UTC offset: both front ends call it,
//! and each words its errors in its own way from the typed [`KeyError`].

use crate::duration::{self, CalendarDuration};
use crate::retention::{Count, Policy, PolicyBuilder, PolicyError};
use crate::tz::TimeZone;

/// The keys of a policy's rules and calendar, as the command line spells its options
/// (without `--`) and the job spec its keys.
pub const POLICY_KEYS: &[&str] = &[
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
    "keep-within",
    "keep-within-hourly",
    "keep-within-daily",
    "keep-within-weekly",
    "keep-within-monthly",
    "keep-within-yearly",
    "utc-offset",
    "time-zone",
];

/// Why named options do not make a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key's value is refused: `message` follows the value (`is not a whole number ...`).
    #[error("{key} {value:?} {message}")]
    Value {
        /// The key (`keep-daily`).
        key: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// A key is refused as a whole (`policy` for the id, `time-zone` for a zone not found).
    #[error("{key}: {message}")]
    Key {
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `utc-offset` and `time-zone` both given.
    #[error("utc-offset and time-zone do not go together: choose one calendar")]
    Conflict,
    /// No rule: such a policy would delete every snapshot it owns but the newest.
    #[error(
        "a policy needs at least one rule (keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly, keep-within or keep-within-* above 0)"
    )]
    NoRule,
}

/// A setter of one of the policy's counts.
type SetCount = fn(PolicyBuilder, Count) -> PolicyBuilder;
/// A setter of one of the policy's `keep_within*` durations.
type SetWithin = fn(PolicyBuilder, CalendarDuration) -> PolicyBuilder;

/// The policy `id` with the rules and calendar `get` gives by key ([`POLICY_KEYS`]): counts
/// as [`Count`] parses them (`N` or `unlimited`), durations in the crate's calendar grammar
/// ([`duration::parse_calendar`]), `utc-offset` as [`parse_utc_offset`], `time-zone` by
/// [`TimeZone::load`].
///
/// ```
/// use cinder_snapshots::spec::policy_from_keys;
/// let policy = policy_from_keys("nightly", |k| (k == "keep-daily").then(|| "7".to_owned()))?;
/// assert_eq!(policy.rules_string(), "daily=7,utc-offset=+00:00");
/// # Ok::<(), cinder_snapshots::spec::KeyError>(())
/// ```
///
/// # Errors
///
/// A [`KeyError`] naming the first key refused.
pub fn policy_from_keys(id: &str, get: impl Fn(&str) -> Option<String>) -> Result<Policy, KeyError> {
    let mut builder = Policy::builder(id);
    let counts: [(&'static str, SetCount); 6] = [
        ("keep-last", |b, n| b.keep_last(n)),
        ("keep-hourly", |b, n| b.keep_hourly(n)),
        ("keep-daily", |b, n| b.keep_daily(n)),
        ("keep-weekly", |b, n| b.keep_weekly(n)),
        ("keep-monthly", |b, n| b.keep_monthly(n)),
        ("keep-yearly", |b, n| b.keep_yearly(n)),
    ];
    for (key, set) in counts {
        if let Some(v) = get(key) {
            let n = v.parse::<Count>().map_err(|e| KeyError::Value { key, value: v.clone(), message: e.to_string() })?;
            builder = set(builder, n);
        }
    }
    let withins: [(&'static str, SetWithin); 6] = [
        ("keep-within", |b, d| b.keep_within(d)),
        ("keep-within-hourly", |b, d| b.keep_within_hourly(d)),
        ("keep-within-daily", |b, d| b.keep_within_daily(d)),
        ("keep-within-weekly", |b, d| b.keep_within_weekly(d)),
        ("keep-within-monthly", |b, d| b.keep_within_monthly(d)),
        ("keep-within-yearly", |b, d| b.keep_within_yearly(d)),
    ];
    for (key, set) in withins {
        if let Some(v) = get(key) {
            let d = duration::parse_calendar(&v).map_err(|e| KeyError::Value { key, value: v.clone(), message: e.to_string() })?;
            builder = set(builder, d);
        }
    }
    match (get("utc-offset"), get("time-zone")) {
        (Some(_), Some(_)) => return Err(KeyError::Conflict),
        (Some(v), None) => builder = builder.utc_offset(parse_utc_offset(&v)?),
        (None, Some(v)) => {
            let zone = TimeZone::load(v.trim()).map_err(|e| KeyError::Key { key: "time-zone", message: e.to_string() })?;
            builder = builder.time_zone(zone);
        }
        (None, None) => {}
    }
    builder.build().map_err(|e| match e {
        PolicyError::Empty { .. } => KeyError::NoRule,
        other => KeyError::Key { key: "policy", message: other.to_string() },
    })
}

/// Whether `id` is one a policy may have (the labels' rules), as [`policy_from_keys`] judges
/// it; the error is its `policy` key's.
///
/// # Errors
///
/// [`KeyError::Key`] for `policy` when the labels refuse the id.
pub fn check_policy_id(id: &str) -> Result<(), KeyError> {
    Policy::builder(id).keep_last(1).build().map(|_| ()).map_err(|e| KeyError::Key { key: "policy", message: e.to_string() })
}

/// `+HH:MM` or `-HH:MM` (hours up to 25, as the time crate allows).
///
/// # Errors
///
/// [`KeyError::Value`] for `utc-offset`.
pub fn parse_utc_offset(v: &str) -> Result<time::UtcOffset, KeyError> {
    let bad = || KeyError::Value {
        key: "utc-offset",
        value: v.to_owned(),
        message: "is not an offset such as +02:00, -05:00 or +05:45".to_owned(),
    };
    let t = v.trim();
    let (negative, rest) = match (t.strip_prefix('+'), t.strip_prefix('-')) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let two_digits = |s: &str| if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<i8>().ok() } else { None };
    let (h, m) = (two_digits(h).ok_or_else(bad)?, two_digits(m).ok_or_else(bad)?);
    if m > 59 {
        return Err(bad());
    }
    let (h, m) = if negative { (-h, -m) } else { (h, m) };
    time::UtcOffset::from_hms(h, m, 0).map_err(|_| bad())
}
