//! The one duration grammar of the crate and the tool.
//!
//! Every duration a user writes goes through this module: retention's `keep-within` rules,
//! the job's window (`run --every`), the timeouts (`--timeout`, `--wait-timeout`) and the
//! check's thresholds (`check --warn/--crit`). There are two kinds, so that a letter never
//! means two things:
//!
//! - **Calendar durations** ([`CalendarDuration`], [`parse_calendar`]): retention only.
//!   restic's spelling, whole numbers each followed by a unit, any order, each unit at most
//!   once: `y` years, `m` **months**, `d` days, `h` hours (`1y2m3d4h`, `14d`, `1m`). They are
//!   applied with calendar arithmetic, as restic does (its `internal/restic/duration.go` and
//!   `snapshot_policy.go`, now `internal/data/`): years, months and days are subtracted from
//!   the date, a day number past the month's end rolling over into the next month (as Go's
//!   `AddDate` does: 2026-03-31 minus `1m` is "2026-02-31", that is 2026-03-03; in a leap year
//!   2024-03-02), then the hours are subtracted as exact hours. See
//!   [`CalendarDuration::before`].
//! - **Exact durations** ([`parse_exact`], [`parse_timeout`]): windows, timeouts and
//!   thresholds. Whole numbers each followed by a unit, each unit at most once, largest first:
//!   `w` weeks (7 days), `d` days (24 hours), `h` hours, `min` minutes, `s` seconds
//!   (`30s`, `5min`, `2h`, `1d`, `1h30min`). `m` alone is refused with a message giving
//!   `min` (it is months in retention: `90m` must never silently be 90 months or 90
//!   minutes), and so are `y` and `mo`. A bare number is seconds (fractions allowed, `1.5`)
//!   **only** for timeouts ([`parse_timeout`]); elsewhere it is refused.
//!
//! | restic (`forget`) | this crate, retention | this crate, windows, timeouts, thresholds |
//! |---|---|---|
//! | `1y2m3d4h` | `1y2m3d4h` (the same) | refused: `y`/`m` are calendar units |
//! | `1m` (a month) | `1m` (a month) | refused: write `min` for minutes |
//! | `36h` | `36h` | `36h` |
//! | — | — | `5min`, `30s`, `1w`, `1h30min` |
//! | `-1d` (accepted) | refused: no negative durations | refused |
//! | `1d2d` (the last wins) | refused: a unit given twice | refused |
//! | — | bare `3` refused | bare `30` = 30 s for timeouts only |
//!
//! Spaces around the text are ignored; units are lowercase. Errors are [`DurationError`]s,
//! whose text says what to write instead.
//!
//! ```
//! use std::time::Duration;
//! use cinder_snapshots::duration::{self, CalendarDuration, DurationError};
//!
//! assert_eq!(duration::parse_calendar("1y2m3d4h"), Ok(CalendarDuration::new(1, 2, 3, 4)));
//! assert_eq!(duration::parse_exact("1h30min"), Ok(Duration::from_secs(5400)));
//! assert_eq!(duration::parse_timeout("30"), Ok(Duration::from_secs(30)));
//! assert_eq!(duration::parse_exact("90m"), Err(DurationError::MinutesAsM));
//! assert_eq!(duration::parse_exact("30"), Err(DurationError::BareNumber));
//! assert_eq!(duration::format_exact(Duration::from_secs(5400)), "1h30min");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime};

/// The largest number a calendar duration's part may have (a million years, months, days
/// or hours: far past the calendar's range, so that such a rule keeps everything).
pub const MAX_CALENDAR_PART: u32 = 1_000_000;

/// The longest exact duration: 10,000 years of 366 days.
pub const MAX_EXACT: Duration = Duration::from_secs(10_000 * 366 * 86_400);

/// The longest timeout: a year (365 days).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 86_400);

/// Why a duration was refused. The `Display` text says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing was given.
    #[error("is empty: write a number and a unit")]
    Empty,
    /// A bare number where a unit is needed (everywhere but timeouts).
    #[error("has no unit: write 30s, 5min, 2h or 1d (a bare number is seconds only for timeouts)")]
    BareNumber,
    /// A bare number in a calendar (retention) duration.
    #[error("has no unit: write 1y, 2m (months), 3d or 4h, as restic does")]
    BareNumberCalendar,
    /// `m` in an exact duration: minutes are `min` (`m` is months in retention durations).
    #[error("uses m: write min for minutes (m means months, and only in retention durations)")]
    MinutesAsM,
    /// A calendar unit (`y`, `mo`) in an exact duration.
    #[error("uses {unit:?}: years and months are calendar units, for retention durations only")]
    CalendarUnit {
        /// The unit as written.
        unit: String,
    },
    /// A unit this grammar does not have.
    #[error("has the unknown unit {unit:?}: {expected}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The units that are allowed here.
        expected: &'static str,
    },
    /// A unit without a number before it, or a sign, or another character.
    #[error("is not a duration: {expected}")]
    Malformed {
        /// What is allowed here.
        expected: &'static str,
    },
    /// A unit given twice (`1d2d`).
    #[error("gives the unit {unit:?} twice")]
    RepeatedUnit {
        /// The unit.
        unit: String,
    },
    /// An exact duration's units out of order (`30s1h`).
    #[error("has its units out of order: write the largest first, as in 1d2h30min")]
    Order,
    /// Too large.
    #[error("is out of range: at most {max}")]
    OutOfRange {
        /// The limit, in words.
        max: &'static str,
    },
}

const CALENDAR_UNITS: &str = "the units are y (years), m (months), d (days) and h (hours), as in 1y2m3d4h";
const EXACT_UNITS: &str = "the units are w, d, h, min and s, as in 1d, 2h, 5min, 30s";

/// restic's calendar duration: years, months, days and hours, applied with calendar
/// arithmetic ([`before`](CalendarDuration::before)). Written `1y2m3d4h` (the non-zero parts,
/// in that order; zero is `0h`).
///
/// ```
/// use cinder_snapshots::duration::CalendarDuration;
/// use cinder_snapshots::time::macros::datetime;
/// let month = CalendarDuration::new(0, 1, 0, 0);
/// assert_eq!(month.to_string(), "1m");
/// // Go's AddDate: March 31st minus a month is "February 31st", that is March 3rd.
/// assert_eq!(month.before(datetime!(2026-03-31 12:00 UTC)), Some(datetime!(2026-03-03 12:00 UTC)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CalendarDuration {
    years: u32,
    months: u32,
    days: u32,
    hours: u32,
}

impl CalendarDuration {
    /// A duration of these parts (each clamped to [`MAX_CALENDAR_PART`]).
    pub const fn new(years: u32, months: u32, days: u32, hours: u32) -> Self {
        const fn clamp(n: u32) -> u32 {
            if n > MAX_CALENDAR_PART { MAX_CALENDAR_PART } else { n }
        }
        CalendarDuration { years: clamp(years), months: clamp(months), days: clamp(days), hours: clamp(hours) }
    }

    /// `n` years.
    pub const fn years(n: u32) -> Self {
        Self::new(n, 0, 0, 0)
    }

    /// `n` months.
    pub const fn months(n: u32) -> Self {
        Self::new(0, n, 0, 0)
    }

    /// `n` days.
    pub const fn days(n: u32) -> Self {
        Self::new(0, 0, n, 0)
    }

    /// `n` hours.
    pub const fn hours(n: u32) -> Self {
        Self::new(0, 0, 0, n)
    }

    /// The parts: (years, months, days, hours).
    pub const fn parts(&self) -> (u32, u32, u32, u32) {
        (self.years, self.months, self.days, self.hours)
    }

    /// Whether every part is zero (restic's "not set").
    pub const fn is_zero(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0 && self.hours == 0
    }

    /// The instant this duration before `t`, with restic's arithmetic in `t`'s own offset:
    /// the years, months and days are subtracted from the local date (a day past the end of
    /// the month rolls over: 2026-03-31 − 1m = 2026-03-03, 2024-03-31 − 1m = 2024-03-02,
    /// 2024-02-29 − 1y = 2023-03-01), keeping the local time of day, then the hours are
    /// subtracted exactly. `None` when the result is outside the calendar's range.
    ///
    /// For a calendar with daylight saving, [`crate::tz::Calendar::before`] does the same
    /// in the zone's local time.
    pub fn before(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = self.before_local(PrimitiveDateTime::new(t.date(), t.time()))?;
        local.assume_offset(t.offset()).checked_sub(time::Duration::hours(i64::from(self.hours)))
    }

    /// The local date and time with the years, months and days subtracted (Go's `AddDate`
    /// normalisation); the hours are left to the caller.
    pub(crate) fn before_local(&self, local: PrimitiveDateTime) -> Option<PrimitiveDateTime> {
        // Months since year 0, then back to a year and a month; the day is added to the
        // first of that month so that it overflows into the next ones.
        let months = i64::from(local.year()) * 12 + i64::from(u8::from(local.month())) - 1;
        let months = months - i64::from(self.years) * 12 - i64::from(self.months);
        let year = i32::try_from(months.div_euclid(12)).ok()?;
        let month = Month::try_from(u8::try_from(months.rem_euclid(12) + 1).ok()?).ok()?;
        let first = Date::from_calendar_date(year, month, 1).ok()?;
        let day_offset = i64::from(local.day()) - 1 - i64::from(self.days);
        let date = first.checked_add(time::Duration::days(day_offset))?;
        Some(PrimitiveDateTime::new(date, local.time()))
    }

    /// The hours part, for callers that subtract it themselves.
    pub(crate) fn hours_part(&self) -> u32 {
        self.hours
    }
}

/// `1y2m3d4h`: the non-zero parts; zero is `0h`.
impl fmt::Display for CalendarDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (n, unit) in [(self.years, 'y'), (self.months, 'm'), (self.days, 'd'), (self.hours, 'h')] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// [`parse_calendar`].
impl FromStr for CalendarDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_calendar(s)
    }
}

/// The `(number, unit)` parts of a text, numbers as written.
fn parts<'a>(text: &'a str, expected: &'static str) -> Result<Vec<(&'a str, &'a str)>, DurationError> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Malformed { expected });
        }
        let (number, tail) = rest.split_at(digits);
        let letters = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(letters);
        if unit.is_empty() && !tail.is_empty() {
            return Err(DurationError::Malformed { expected });
        }
        out.push((number, unit));
        rest = tail;
    }
    Ok(out)
}

/// A number as written, at most `max`.
fn number(digits: &str, max: u64, max_text: &'static str) -> Result<u64, DurationError> {
    digits.parse::<u64>().ok().filter(|n| *n <= max).ok_or(DurationError::OutOfRange { max: max_text })
}

/// Reads a calendar (retention) duration: `1y2m3d4h` and any subset, any order, each unit
/// once (see the [module documentation](self)). All zero is allowed (`0d`: "not set").
///
/// # Errors
///
/// A [`DurationError`]: empty, a bare number, an unknown unit (`w`, `min`, `s` included), a
/// unit twice, a sign or another character, a part above [`MAX_CALENDAR_PART`].
pub fn parse_calendar(text: &str) -> Result<CalendarDuration, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::BareNumberCalendar);
    }
    let mut d = CalendarDuration::default();
    let mut seen = [false; 4];
    for (digits, unit) in parts(t, CALENDAR_UNITS)? {
        let slot = match unit {
            "y" => 0,
            "m" => 1,
            "d" => 2,
            "h" => 3,
            "" => return Err(DurationError::BareNumberCalendar),
            other => return Err(DurationError::UnknownUnit { unit: other.to_owned(), expected: CALENDAR_UNITS }),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(DurationError::RepeatedUnit { unit: unit.to_owned() });
        }
        let n = number(digits, u64::from(MAX_CALENDAR_PART), "1000000 of each unit")?;
        let n = u32::try_from(n).map_err(|_| DurationError::OutOfRange { max: "1000000 of each unit" })?;
        match slot {
            0 => d.years = n,
            1 => d.months = n,
            2 => d.days = n,
            _ => d.hours = n,
        }
    }
    Ok(d)
}

/// The exact units, largest first, with their seconds.
const EXACT: [(&str, u64); 5] = [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)];

/// Reads an exact duration made of units: `1w`, `2d`, `6h`, `5min`, `30s`, `1h30min` (each
/// unit once, largest first; whole numbers). Zero (`0s`) is allowed; the caller judges it.
///
/// # Errors
///
/// A [`DurationError`]: empty, a bare number ([`DurationError::BareNumber`]), `m`
/// ([`DurationError::MinutesAsM`]), `y`/`mo` ([`DurationError::CalendarUnit`]), another
/// unit, a unit twice or out of order, more than [`MAX_EXACT`].
pub fn parse_exact(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(DurationError::BareNumber);
    }
    let mut total: u64 = 0;
    let mut last: Option<usize> = None;
    let out_of_range = DurationError::OutOfRange { max: "10000 years" };
    for (digits, unit) in parts(t, EXACT_UNITS)? {
        let slot = match unit {
            "" => return Err(DurationError::BareNumber),
            "m" => return Err(DurationError::MinutesAsM),
            "y" | "mo" => return Err(DurationError::CalendarUnit { unit: unit.to_owned() }),
            u => EXACT
                .iter()
                .position(|(name, _)| *name == u)
                .ok_or_else(|| DurationError::UnknownUnit { unit: u.to_owned(), expected: EXACT_UNITS })?,
        };
        match last {
            Some(l) if l == slot => return Err(DurationError::RepeatedUnit { unit: unit.to_owned() }),
            Some(l) if l > slot => return Err(DurationError::Order),
            _ => last = Some(slot),
        }
        let n = number(digits, u64::MAX, "10000 years")?;
        total = n.checked_mul(EXACT[slot].1).and_then(|s| total.checked_add(s)).ok_or(out_of_range.clone())?;
    }
    let d = Duration::from_secs(total);
    if d > MAX_EXACT {
        return Err(out_of_range);
    }
    Ok(d)
}

/// Reads a timeout: an exact duration ([`parse_exact`]) or a bare number of seconds
/// (fractions allowed: `30`, `1.5`), from 0 to [`MAX_TIMEOUT`] (a year).
///
/// # Errors
///
/// As [`parse_exact`] (a bare number excepted), [`DurationError::Malformed`] for a number
/// that is not a plain decimal (`-1`, `1e3`, `inf`), [`DurationError::OutOfRange`] above a year.
pub fn parse_timeout(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let too_long = DurationError::OutOfRange { max: "a year (365d, 31536000 seconds)" };
    let malformed = DurationError::Malformed { expected: "a number of seconds (30, 1.5) or a duration such as 30s, 5min, 2h, 1d" };
    let d = match parse_exact(t) {
        Err(DurationError::BareNumber) => {
            let plain = t.bytes().filter(|b| *b == b'.').count() <= 1 && t.bytes().any(|b| b.is_ascii_digit());
            let secs = t.parse::<f64>().ok().filter(|s| plain && s.is_finite() && *s >= 0.0).ok_or(malformed)?;
            Duration::try_from_secs_f64(secs).map_err(|_| too_long.clone())?
        }
        Err(DurationError::Malformed { .. }) => return Err(malformed),
        Err(DurationError::OutOfRange { .. }) => return Err(too_long),
        other => other?,
    };
    if d > MAX_TIMEOUT {
        return Err(too_long);
    }
    Ok(d)
}

/// Writes an exact duration in this grammar, compactly and exactly: its non-zero parts among
/// days (`d`, 86,400 s), hours, minutes (`min`), seconds, milliseconds (`ms`), microseconds
/// (`us`) and nanoseconds (`ns`), largest first; zero is `0s`. Whole-second values read back
/// with [`parse_exact`].
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::duration::format_exact;
/// assert_eq!(format_exact(Duration::from_secs(3 * 86_400)), "3d");
/// assert_eq!(format_exact(Duration::from_millis(90_500)), "1min30s500ms");
/// assert_eq!(format_exact(Duration::ZERO), "0s");
/// ```
pub fn format_exact(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let parts = [
        (secs / 86_400, "d"),
        ((secs % 86_400) / 3600, "h"),
        ((secs % 3600) / 60, "min"),
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
    use time::macros::datetime;

    #[test]
    fn calendar_spellings() {
        for (text, want) in [
            ("1y2m3d4h", CalendarDuration::new(1, 2, 3, 4)),
            ("4h3d2m1y", CalendarDuration::new(1, 2, 3, 4)),
            (" 1m ", CalendarDuration::months(1)),
            ("14d", CalendarDuration::days(14)),
            ("36h", CalendarDuration::hours(36)),
            ("0d", CalendarDuration::default()),
            ("1000000y", CalendarDuration::years(1_000_000)),
        ] {
            assert_eq!(parse_calendar(text), Ok(want), "{text:?}");
        }
        for (text, want) in [
            ("", DurationError::Empty),
            ("3", DurationError::BareNumberCalendar),
            ("1d3", DurationError::BareNumberCalendar),
            ("1w", DurationError::UnknownUnit { unit: "w".into(), expected: CALENDAR_UNITS }),
            ("5min", DurationError::UnknownUnit { unit: "min".into(), expected: CALENDAR_UNITS }),
            ("1D", DurationError::UnknownUnit { unit: "D".into(), expected: CALENDAR_UNITS }),
            ("1d2d", DurationError::RepeatedUnit { unit: "d".into() }),
            ("-1d", DurationError::Malformed { expected: CALENDAR_UNITS }),
            ("d", DurationError::Malformed { expected: CALENDAR_UNITS }),
            ("1.5d", DurationError::Malformed { expected: CALENDAR_UNITS }),
            ("1000001y", DurationError::OutOfRange { max: "1000000 of each unit" }),
            ("99999999999999999999999d", DurationError::OutOfRange { max: "1000000 of each unit" }),
        ] {
            assert_eq!(parse_calendar(text), Err(want), "{text:?}");
        }
        assert_eq!(CalendarDuration::new(1, 0, 3, 0).to_string(), "1y3d");
        assert_eq!(CalendarDuration::default().to_string(), "0h");
    }

    #[test]
    fn exact_and_timeout_spellings() {
        for (text, secs) in [("30s", 30), ("5min", 300), ("2h", 7200), ("1d", 86_400), ("1w", 604_800), ("1d2h30min15s", 95_415), ("0s", 0)]
        {
            assert_eq!(parse_exact(text), Ok(Duration::from_secs(secs)), "{text:?}");
            assert_eq!(parse_timeout(text), Ok(Duration::from_secs(secs)), "{text:?}");
        }
        for (text, want) in [
            ("30", DurationError::BareNumber),
            ("90m", DurationError::MinutesAsM),
            ("1h30m", DurationError::MinutesAsM),
            ("1y", DurationError::CalendarUnit { unit: "y".into() }),
            ("2mo", DurationError::CalendarUnit { unit: "mo".into() }),
            ("3x", DurationError::UnknownUnit { unit: "x".into(), expected: EXACT_UNITS }),
            ("30s1h", DurationError::Order),
            ("1h1h", DurationError::RepeatedUnit { unit: "h".into() }),
            ("-1h", DurationError::Malformed { expected: EXACT_UNITS }),
            ("3660001d", DurationError::OutOfRange { max: "10000 years" }),
            ("99999999999999999999999s", DurationError::OutOfRange { max: "10000 years" }),
        ] {
            assert_eq!(parse_exact(text), Err(want), "{text:?}");
        }
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("0"), Ok(Duration::ZERO));
        for bad in ["-1", "inf", "NaN", "1.2.3", "."] {
            assert!(matches!(parse_timeout(bad), Err(DurationError::Malformed { .. })), "{bad:?}");
        }
        assert!(matches!(parse_timeout("1e3"), Err(DurationError::UnknownUnit { .. })));
        assert!(matches!(parse_timeout("366d"), Err(DurationError::OutOfRange { .. })));
        assert!(matches!(parse_timeout("31536000.5"), Err(DurationError::OutOfRange { .. })));
        assert!(matches!(parse_timeout("1e300"), Err(DurationError::UnknownUnit { .. })));
        assert_eq!(parse_timeout("90m"), Err(DurationError::MinutesAsM));
    }

    #[test]
    fn format_reads_back() {
        for secs in [0, 1, 59, 60, 61, 3599, 3600, 86_399, 86_400, 95_415, 10 * 86_400] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_exact(&format_exact(d)), Ok(d), "{secs}");
        }
        assert_eq!(format_exact(Duration::new(1, 1_002_003)), "1s1ms2us3ns");
        assert_eq!(format_exact(Duration::MAX), "213503982334601d7h15s999ms999us999ns");
    }

    #[test]
    fn calendar_arithmetic_is_gos_add_date() {
        let m = CalendarDuration::months(1);
        let y = CalendarDuration::years(1);
        for (d, t, want) in [
            (m, datetime!(2026-03-31 12:00 UTC), datetime!(2026-03-03 12:00 UTC)),
            (m, datetime!(2024-03-31 12:00 UTC), datetime!(2024-03-02 12:00 UTC)),
            (m, datetime!(2026-01-15 00:00 UTC), datetime!(2025-12-15 00:00 UTC)),
            (y, datetime!(2024-02-29 00:00 UTC), datetime!(2023-03-01 00:00 UTC)),
            (CalendarDuration::years(4), datetime!(2024-02-29 00:00 UTC), datetime!(2020-02-29 00:00 UTC)),
            (CalendarDuration::days(1), datetime!(2024-03-01 05:00 UTC), datetime!(2024-02-29 05:00 UTC)),
            (CalendarDuration::new(1, 2, 3, 4), datetime!(2026-12-05 02:00 +01:00), datetime!(2025-10-01 22:00 +01:00)),
            (CalendarDuration::months(13), datetime!(2026-05-31 00:00 UTC), datetime!(2025-05-01 00:00 UTC)),
        ] {
            assert_eq!(d.before(t), Some(want), "{t} - {d}");
        }
        assert_eq!(CalendarDuration::years(1_000_000).before(datetime!(2026-01-01 00:00 UTC)), None);
    }
}
