//! The window of a job: one snapshot per volume per window.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::duration::{self, format_exact};
use crate::retention::Policy;
use crate::tz::Calendar;

/// The shortest window [`Window::parse`] accepts for a duration.
const MIN_EVERY: Duration = Duration::from_secs(60);
/// The longest window [`Window::parse`] accepts for a duration (366 days).
const MAX_EVERY: Duration = Duration::from_secs(366 * 86_400);

/// How often a volume gets a new snapshot: one per volume per window.
///
/// The calendar windows (hour, day, ISO week from Monday, month, year) follow the policy's
/// [`calendar`](Policy::calendar) (a fixed offset or a named zone), as the retention periods do. [`Window::Every`] cuts
/// time into equal windows counted from 1970-01-01T00:00 in that offset (`every 6h`: 00:00,
/// 06:00, 12:00, 18:00).
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::job::Window;
/// use cinder_snapshots::time::{UtcOffset, macros::datetime};
///
/// assert_eq!(Window::parse("daily"), Ok(Window::Daily));
/// assert_eq!(Window::parse("1w"), Ok(Window::Weekly));
/// assert_eq!(Window::parse("6h"), Ok(Window::Every(Duration::from_secs(6 * 3600))));
/// assert_eq!(Window::Every(Duration::from_secs(6 * 3600)).to_string(), "every 6h");
///
/// let now = datetime!(2026-11-28 14:05 UTC); // a Saturday
/// assert_eq!(Window::Daily.start(now, UtcOffset::UTC), Some(datetime!(2026-11-28 00:00 UTC)));
/// assert_eq!(Window::Weekly.start(now, UtcOffset::UTC), Some(datetime!(2026-11-23 00:00 UTC)));
/// let plus2 = UtcOffset::from_hms(2, 0, 0).unwrap();
/// assert_eq!(Window::Daily.start(now, plus2), Some(datetime!(2026-11-27 22:00 UTC)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Window {
    /// One snapshot per clock hour.
    Hourly,
    /// One per calendar day.
    Daily,
    /// One per ISO week (Monday to Sunday).
    Weekly,
    /// One per calendar month.
    Monthly,
    /// One per calendar year.
    Yearly,
    /// One per period of this length, counted from 1970-01-01T00:00 in the policy's offset.
    Every(Duration),
}

impl Window {
    /// The finest period the policy keeps (by a count or a `keep_within_*` rule): hourly,
    /// else daily, weekly, monthly, yearly; a policy with only `keep_last` or `keep_within`
    /// gets [`Window::Daily`].
    ///
    /// ```
    /// use cinder_snapshots::job::Window;
    /// use cinder_snapshots::retention::Policy;
    /// let p = Policy::builder("p").keep_weekly(4).keep_monthly(12).build()?;
    /// assert_eq!(Window::for_policy(&p), Window::Weekly);
    /// let p = Policy::builder("p").keep_last(3).build()?;
    /// assert_eq!(Window::for_policy(&p), Window::Daily);
    /// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
    /// ```
    pub fn for_policy(policy: &Policy) -> Window {
        match policy.finest_period() {
            Some(0) => Window::Hourly,
            Some(2) => Window::Weekly,
            Some(3) => Window::Monthly,
            Some(4) => Window::Yearly,
            _ => Window::Daily,
        }
    }

    /// Reads a window: `hourly`, `daily`, `weekly`, `monthly`, `yearly` (case-insensitive;
    /// `1h`, `1d` and `1w` are the first three); otherwise an exact duration of the crate's
    /// one grammar ([`crate::duration::parse_exact`]: `6h`, `30min`, `2d`, `1h30min`), from 1
    /// minute to 366 days, which is a [`Window::Every`]. `m` is refused (minutes are `min`;
    /// a monthly window is `monthly`), and so is a bare number. The error says what is wrong.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cinder_snapshots::job::Window;
    /// assert_eq!(Window::parse("monthly"), Ok(Window::Monthly));
    /// assert_eq!(Window::parse("30min"), Ok(Window::Every(Duration::from_secs(1800))));
    /// assert_eq!(Window::parse("1h30min"), Ok(Window::Every(Duration::from_secs(5400))));
    /// assert!(Window::parse("30m").unwrap_err().contains("write min for minutes"));
    /// assert!(Window::parse("30s").unwrap_err().contains("at least 1 minute"));
    /// assert!(Window::parse("soon").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Window, String> {
        let t = text.trim().to_ascii_lowercase();
        let named = match t.as_str() {
            "1h" | "hourly" => Some(Window::Hourly),
            "1d" | "daily" => Some(Window::Daily),
            "1w" | "weekly" => Some(Window::Weekly),
            "monthly" => Some(Window::Monthly),
            "yearly" => Some(Window::Yearly),
            _ => None,
        };
        if let Some(w) = named {
            return Ok(w);
        }
        let d = duration::parse_exact(&t).map_err(|e| {
            format!("window {text:?} {e}; a window is hourly, daily, weekly, monthly, yearly or a duration such as 6h, 30min, 2d")
        })?;
        if d < MIN_EVERY {
            return Err(format!("window {text:?} is too short: a window lasts at least 1 minute"));
        }
        if d > MAX_EVERY {
            return Err(format!("window {text:?} is too long: a window lasts at most 366 days"));
        }
        Ok(Window::Every(d))
    }

    /// The start of the window containing `now`, in the local time of `calendar` (a
    /// [`UtcOffset`] or a [`Calendar`]: a named zone follows its daylight saving, so a daily
    /// window starts at local midnight all year), returned in UTC. A [`Window::Every`] is
    /// counted from 1970-01-01T00:00 in the offset in effect at `now`. `None` only when the
    /// start is outside the calendar's range (or a [`Window::Every`] of zero length).
    pub fn start(&self, now: OffsetDateTime, calendar: impl Into<Calendar>) -> Option<OffsetDateTime> {
        let calendar = calendar.into();
        let local = calendar.to_local(now)?;
        let date = local.date();
        let (date, time) = match self {
            Window::Hourly => (date, Time::from_hms(local.hour(), 0, 0).ok()?),
            Window::Daily => (date, Time::MIDNIGHT),
            Window::Weekly => {
                let back = time::Duration::days(i64::from(date.weekday().number_days_from_monday()));
                (date.checked_sub(back)?, Time::MIDNIGHT)
            }
            Window::Monthly => (date.replace_day(1).ok()?, Time::MIDNIGHT),
            Window::Yearly => (Date::from_calendar_date(date.year(), Month::January, 1).ok()?, Time::MIDNIGHT),
            Window::Every(d) => return every_start(now, calendar.offset_at(now), *d),
        };
        let start = calendar.from_local(PrimitiveDateTime::new(date, time))?;
        // A local time that happens twice (clocks set back) can resolve to its second instant,
        // after `now` (02:30 CEST, the first 02:30, in an hour that starts at 02:00 CET): the
        // window then starts at that local time in the offset in effect at `now`.
        let start = if start > now { PrimitiveDateTime::new(date, time).assume_offset(local.offset()) } else { start };
        start.checked_to_offset(UtcOffset::UTC)
    }
}

/// The start of the `d`-long window containing `now`, windows counted from the epoch in
/// `offset`.
fn every_start(now: OffsetDateTime, offset: UtcOffset, d: Duration) -> Option<OffsetDateTime> {
    let len = i128::try_from(d.as_nanos()).ok().filter(|n| *n > 0)?;
    let shift = i128::from(offset.whole_seconds()).checked_mul(1_000_000_000)?;
    let local = now.unix_timestamp_nanos().checked_add(shift)?;
    let start_local = local.checked_sub(local.rem_euclid(len))?;
    OffsetDateTime::from_unix_timestamp_nanos(start_local.checked_sub(shift)?).ok()
}

/// `hourly`, `daily`, `weekly`, `monthly`, `yearly`, `every 6h`.
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Hourly => f.write_str("hourly"),
            Window::Daily => f.write_str("daily"),
            Window::Weekly => f.write_str("weekly"),
            Window::Monthly => f.write_str("monthly"),
            Window::Yearly => f.write_str("yearly"),
            Window::Every(d) => write!(f, "every {}", format_exact(*d)),
        }
    }
}

/// As its `Display`: `"daily"`, `"every 6h"`.
impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn calendar_windows() {
        let now = datetime!(2026-11-28 14:05:09.5 UTC);
        let utc = UtcOffset::UTC;
        assert_eq!(Window::Hourly.start(now, utc), Some(datetime!(2026-11-28 14:00 UTC)));
        assert_eq!(Window::Daily.start(now, utc), Some(datetime!(2026-11-28 00:00 UTC)));
        assert_eq!(Window::Weekly.start(now, utc), Some(datetime!(2026-11-23 00:00 UTC)));
        assert_eq!(Window::Monthly.start(now, utc), Some(datetime!(2026-11-01 00:00 UTC)));
        assert_eq!(Window::Yearly.start(now, utc), Some(datetime!(2026-01-01 00:00 UTC)));
        // In +05:30 it is already 19:35 on the 28th; in -10:00 still the 28th 04:05.
        assert_eq!(Window::Daily.start(now, offset!(+05:30)), Some(datetime!(2026-11-27 18:30 UTC)));
        assert_eq!(Window::Daily.start(datetime!(2026-11-28 23:30 UTC), offset!(+02:00)), Some(datetime!(2026-11-28 22:00 UTC)));
        // A Monday is its own week's start; a Sunday belongs to the week before.
        assert_eq!(Window::Weekly.start(datetime!(2026-11-30 00:00 UTC), utc), Some(datetime!(2026-11-30 00:00 UTC)));
        assert_eq!(Window::Weekly.start(datetime!(2026-11-29 23:59 UTC), utc), Some(datetime!(2026-11-23 00:00 UTC)));
        assert_eq!(Window::Hourly.start(now, offset!(+05:30)), Some(datetime!(2026-11-28 13:30 UTC)));
    }

    /// In a named zone the calendar windows start at local midnight all year, daylight
    /// saving included (needs the system's tzdata).
    #[test]
    fn calendar_windows_in_a_zone() {
        let berlin = Calendar::Zone(crate::tz::TimeZone::load("Europe/Berlin").unwrap());
        assert_eq!(Window::Daily.start(datetime!(2026-01-15 12:00 UTC), &berlin), Some(datetime!(2026-01-14 23:00 UTC)));
        assert_eq!(Window::Daily.start(datetime!(2026-07-15 12:00 UTC), &berlin), Some(datetime!(2026-07-14 22:00 UTC)));
        // The day of the spring change starts in winter time, the next one in summer time.
        assert_eq!(Window::Daily.start(datetime!(2026-03-29 12:00 UTC), &berlin), Some(datetime!(2026-03-28 23:00 UTC)));
        assert_eq!(Window::Daily.start(datetime!(2026-03-30 12:00 UTC), &berlin), Some(datetime!(2026-03-29 22:00 UTC)));
        // After the autumn change, the hour 02:00-03:00 happens twice; 01:30Z is its second one.
        assert_eq!(Window::Hourly.start(datetime!(2026-10-25 01:30 UTC), &berlin), Some(datetime!(2026-10-25 01:00 UTC)));
        // Its first one (00:30Z, 02:30 CEST) starts at 02:00 CEST, not after now.
        assert_eq!(Window::Hourly.start(datetime!(2026-10-25 00:30 UTC), &berlin), Some(datetime!(2026-10-25 00:00 UTC)));
        assert_eq!(Window::Monthly.start(datetime!(2026-04-15 12:00 UTC), &berlin), Some(datetime!(2026-03-31 22:00 UTC)));
        // Every half hour of 2026, in two zones: the window starts at or before now,
        // less than a (25-hour) day before for a daily window, less than two hours for hourly
        // (a local hour that happens twice is one window, as it is one hourly period).
        for zone in ["Europe/Berlin", "America/New_York"] {
            let calendar = Calendar::Zone(crate::tz::TimeZone::load(zone).unwrap());
            let mut now = datetime!(2026-01-01 00:07 UTC);
            while now.year() == 2026 {
                let daily = Window::Daily.start(now, &calendar).unwrap();
                let hourly = Window::Hourly.start(now, &calendar).unwrap();
                assert!(daily <= now && now - daily < time::Duration::hours(25), "{zone} {now}: {daily}");
                assert!(hourly <= now && now - hourly < time::Duration::hours(2), "{zone} {now}: {hourly}");
                now += time::Duration::minutes(30);
            }
        }
    }

    #[test]
    fn every_windows() {
        let six = Window::Every(Duration::from_secs(6 * 3600));
        assert_eq!(six.start(datetime!(2026-11-28 14:05 UTC), UtcOffset::UTC), Some(datetime!(2026-11-28 12:00 UTC)));
        assert_eq!(six.start(datetime!(2026-11-28 12:00 UTC), UtcOffset::UTC), Some(datetime!(2026-11-28 12:00 UTC)));
        // In +02:00 the windows start at local 00, 06, 12, 18: 14:05Z is 16:05 local, in 12:00 local = 10:00Z.
        assert_eq!(six.start(datetime!(2026-11-28 14:05 UTC), offset!(+02:00)), Some(datetime!(2026-11-28 10:00 UTC)));
        // Before 1970 too.
        assert_eq!(six.start(datetime!(1969-12-31 23:00 UTC), UtcOffset::UTC), Some(datetime!(1969-12-31 18:00 UTC)));
        assert_eq!(Window::Every(Duration::ZERO).start(datetime!(2026-11-28 14:05 UTC), UtcOffset::UTC), None);
        // The calendar's end: no panic.
        assert_eq!(Window::Yearly.start(datetime!(9999-12-31 23:59 UTC), UtcOffset::UTC), Some(datetime!(9999-01-01 00:00 UTC)));
        assert_eq!(Window::Daily.start(datetime!(-9999-01-01 00:30 UTC), offset!(-01:00)), None);
    }

    #[test]
    fn parse_and_display() {
        for (text, want) in [
            ("1h", Window::Hourly),
            ("HOURLY", Window::Hourly),
            ("1d", Window::Daily),
            ("daily", Window::Daily),
            ("1w", Window::Weekly),
            ("weekly", Window::Weekly),
            ("monthly", Window::Monthly),
            ("yearly", Window::Yearly),
            ("6h", Window::Every(Duration::from_secs(21_600))),
            ("30min", Window::Every(Duration::from_secs(1800))),
            ("90s", Window::Every(Duration::from_secs(90))),
            ("2d", Window::Every(Duration::from_secs(172_800))),
            ("2w", Window::Every(Duration::from_secs(1_209_600))),
            ("366d", Window::Every(Duration::from_secs(366 * 86_400))),
        ] {
            assert_eq!(Window::parse(text), Ok(want), "{text}");
        }
        assert_eq!(Window::parse("59s"), Err("window \"59s\" is too short: a window lasts at least 1 minute".to_owned()));
        assert_eq!(Window::parse("367d"), Err("window \"367d\" is too long: a window lasts at most 366 days".to_owned()));
        for bad in ["", "h", "6", "6x", "-6h", "6.5h", "99999999999999999999d", "1m", "30m", "1y", "1h30m"] {
            assert!(Window::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Window::Every(Duration::from_secs(5400)).to_string(), "every 1h30min");
        assert_eq!(
            Window::parse("90m"),
            Err("window \"90m\" uses m: write min for minutes (m means months, and only in retention durations); a window is hourly, daily, weekly, monthly, yearly or a duration such as 6h, 30min, 2d".to_owned())
        );
        assert_eq!(Window::Monthly.to_string(), "monthly");
        assert_eq!(serde_json::to_string(&Window::Every(Duration::from_secs(21_600))).unwrap(), "\"every 6h\"");
    }
}
