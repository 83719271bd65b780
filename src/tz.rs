//! Calendars: a fixed UTC offset or a named IANA time zone, for the retention periods and
//! the job's windows.
//!
//! A [`TimeZone`] is read from the system's compiled zoneinfo (TZif files, RFC 8536) by
//! [`TimeZone::load`]: `$TZDIR/NAME` when `TZDIR` is set, else `/usr/share/zoneinfo/NAME`
//! (Debian and Ubuntu: the `tzdata` package). No extra crate is needed. Times after the
//! file's last transition follow its POSIX `TZ` footer (`CET-1CEST,M3.5.0,M10.5.0/3`), as
//! the C library does. A zone that cannot be found or read is an error
//! ([`ZoneError`], a configuration error), never a fallback to UTC.
//!
//! Loading reads a file; everything else here is pure: a [`Calendar`] converts instants to
//! local date and time ([`Calendar::to_local`]) and back ([`Calendar::from_local`]), with
//! Go's rule for local times that do not exist or exist twice (the ones restic's calendar
//! arithmetic gives).
//!
//! ```no_run
//! use cinder_snapshots::tz::{Calendar, TimeZone};
//! use cinder_snapshots::time::macros::datetime;
//! let berlin = Calendar::from(TimeZone::load("Europe/Berlin")?);
//! // Summer time: 22:30Z is already the next day in Berlin.
//! assert_eq!(berlin.to_local(datetime!(2026-07-01 22:30 UTC)).unwrap().date().day(), 2);
//! # Ok::<(), cinder_snapshots::tz::ZoneError>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::duration::CalendarDuration;

/// Why a time zone could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// The name is not a zone name (`Europe/Berlin`: letters, digits, `/_-+`, no `..`).
    #[error("{name:?} is not a time zone name such as Europe/Berlin")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// No zone file of that name (tzdata not installed, or a misspelt zone).
    #[error("time zone {name:?} not found: no file {path} (install tzdata, or set TZDIR)")]
    NotFound {
        /// The zone's name.
        name: String,
        /// The file looked for.
        path: String,
    },
    /// The file is not a TZif file this reader understands.
    #[error("time zone {name:?}: {path} is not a readable zoneinfo (TZif) file: {problem}")]
    Unreadable {
        /// The zone's name.
        name: String,
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

impl From<ZoneError> for crate::Error {
    fn from(e: ZoneError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// A named IANA time zone, read from the system's zoneinfo. Cheap to clone; two zones are
/// equal when their names are.
#[derive(Clone)]
pub struct TimeZone {
    name: Arc<str>,
    rules: Arc<Rules>,
}

/// The compiled rules: transitions (UTC seconds, the offset from then on), the offset before
/// the first, and the footer rule after the last.
#[derive(Debug)]
struct Rules {
    transitions: Vec<(i64, i32)>,
    initial: i32,
    footer: Option<Posix>,
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZone").field(&self.name).finish()
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl TimeZone {
    /// Loads the zone `name` from `$TZDIR` or `/usr/share/zoneinfo`.
    ///
    /// # Errors
    ///
    /// [`ZoneError::InvalidName`], [`ZoneError::NotFound`] or [`ZoneError::Unreadable`].
    pub fn load(name: &str) -> Result<TimeZone, ZoneError> {
        let dir = std::env::var_os("TZDIR").filter(|d| !d.is_empty()).map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from);
        Self::load_from(&dir, name)
    }

    /// Loads the zone `name` from the zoneinfo directory `dir`.
    ///
    /// # Errors
    ///
    /// As [`TimeZone::load`].
    pub fn load_from(dir: &std::path::Path, name: &str) -> Result<TimeZone, ZoneError> {
        let valid = !name.is_empty()
            && name.len() <= 255
            && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        if !valid {
            return Err(ZoneError::InvalidName { name: name.to_owned() });
        }
        let path = dir.join(name);
        let shown = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ZoneError::NotFound { name: name.to_owned(), path: shown });
            }
            Err(e) => return Err(ZoneError::Unreadable { name: name.to_owned(), path: shown, problem: e.to_string() }),
        };
        Self::from_tzif(name, &bytes).map_err(|problem| ZoneError::Unreadable { name: name.to_owned(), path: shown, problem })
    }

    /// A zone from the bytes of a TZif file (no file is read).
    ///
    /// # Errors
    ///
    /// What is wrong with the bytes.
    pub fn from_tzif(name: &str, bytes: &[u8]) -> Result<TimeZone, String> {
        let rules = parse_tzif(bytes)?;
        Ok(TimeZone { name: name.into(), rules: Arc::new(rules) })
    }

    /// The zone's name, as given to [`TimeZone::load`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offset from UTC in effect at the instant `unix` (seconds).
    fn offset_secs_at(&self, unix: i64) -> i32 {
        let r = &self.rules;
        let n = r.transitions.partition_point(|(at, _)| *at <= unix);
        match (&r.footer, n.checked_sub(1).and_then(|i| r.transitions.get(i))) {
            (Some(p), _) if n == r.transitions.len() => p.offset_at(unix),
            (_, Some((_, offset))) => *offset,
            (_, None) => r.initial,
        }
    }

    /// The offset in effect at `t`.
    pub fn offset_at(&self, t: OffsetDateTime) -> UtcOffset {
        // Offsets of real zones are within ±26 h; anything else reads as UTC.
        UtcOffset::from_whole_seconds(self.offset_secs_at(t.unix_timestamp())).unwrap_or(UtcOffset::UTC)
    }
}

/// A policy's calendar: a fixed UTC offset (UTC by default) or a named time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Calendar {
    /// The same offset all year.
    Fixed(UtcOffset),
    /// Local time in a zone, daylight saving included.
    Zone(TimeZone),
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::Fixed(UtcOffset::UTC)
    }
}

impl From<UtcOffset> for Calendar {
    fn from(o: UtcOffset) -> Self {
        Calendar::Fixed(o)
    }
}

impl From<TimeZone> for Calendar {
    fn from(z: TimeZone) -> Self {
        Calendar::Zone(z)
    }
}

impl From<&Calendar> for Calendar {
    fn from(c: &Calendar) -> Self {
        c.clone()
    }
}

impl Calendar {
    /// The offset in effect at `t`.
    pub fn offset_at(&self, t: OffsetDateTime) -> UtcOffset {
        match self {
            Calendar::Fixed(o) => *o,
            Calendar::Zone(z) => z.offset_at(t),
        }
    }

    /// `t` in this calendar's local time (`None` outside the calendar's range).
    pub fn to_local(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        t.checked_to_offset(self.offset_at(t))
    }

    /// The instant of a local date and time. A local time that happens twice (clocks set
    /// back) or not at all (clocks set forward) is resolved as Go's `time.Date` does, which is
    /// what restic's arithmetic gets: the offset in effect at the local time read as UTC is
    /// tried, and when the instant it gives has another offset, that one is used.
    pub fn from_local(&self, local: PrimitiveDateTime) -> Option<OffsetDateTime> {
        match self {
            Calendar::Fixed(o) => Some(local.assume_offset(*o)),
            Calendar::Zone(z) => {
                let wall = local.assume_utc().unix_timestamp();
                let first = i64::from(z.offset_secs_at(wall));
                let offset = z.offset_secs_at(wall.checked_sub(first)?);
                let unix = wall.checked_sub(i64::from(offset))?;
                let nanos = i128::from(unix).checked_mul(1_000_000_000)?.checked_add(i128::from(local.nanosecond()))?;
                OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
            }
        }
    }

    /// restic's `latest.AddDate(-y, -m, -d).Add(-h hours)` in this calendar: the years,
    /// months and days subtracted from `t`'s local date (see [`CalendarDuration::before`]),
    /// back to an instant with [`from_local`](Calendar::from_local), then the hours
    /// subtracted exactly. `None` outside the calendar's range.
    pub fn before(&self, d: CalendarDuration, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = self.to_local(t)?;
        let shifted = d.before_local(PrimitiveDateTime::new(local.date(), local.time()))?;
        self.from_local(shifted)?.checked_sub(time::Duration::hours(i64::from(d.hours_part())))
    }
}

/// `UTC`, `UTC+02:00`, `Europe/Berlin`.
impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Calendar::Fixed(o) if o.is_utc() => f.write_str("UTC"),
            Calendar::Fixed(o) => write!(f, "UTC{}", crate::timestamp::format_offset(*o)),
            Calendar::Zone(z) => f.write_str(z.name()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TZif (RFC 8536).

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or("the file is cut short")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn parse_tzif(bytes: &[u8]) -> Result<Rules, String> {
    let mut r = Reader { bytes, at: 0 };
    let (version, counts) = header(&mut r)?;
    if version == 0 {
        return block(&mut r, counts, 4, None);
    }
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    let [isut, isstd, leap, time, types, chars] = counts;
    r.take(time * 5 + types * 6 + chars + leap * 8 + isstd + isut)?;
    let (_, counts) = header(&mut r)?;
    let mut at_footer = Reader { bytes, at: r.at };
    let [isut, isstd, leap, time, types, chars] = counts;
    at_footer.take(time * 9 + types * 6 + chars + leap * 12 + isstd + isut)?;
    let rest = &bytes[at_footer.at..];
    let footer = match rest.strip_prefix(b"\n").and_then(|f| f.split(|b| *b == b'\n').next()) {
        Some(text) if !text.is_empty() => {
            let text = std::str::from_utf8(text).map_err(|_| "the footer is not text")?;
            Some(Posix::parse(text).ok_or_else(|| format!("the footer {text:?} is not a TZ rule this reader knows"))?)
        }
        _ => None,
    };
    block(&mut r, counts, 8, footer)
}

fn header(r: &mut Reader<'_>) -> Result<(u8, [usize; 6]), String> {
    if r.take(4)? != b"TZif" {
        return Err("it does not start with TZif".into());
    }
    let version = match r.take(1)?[0] {
        0 => 0,
        b'2'..=b'9' => 2,
        _ => return Err("unknown version".into()),
    };
    r.take(15)?;
    let mut counts = [0usize; 6];
    for c in &mut counts {
        *c = usize::try_from(r.u32()?).map_err(|_| "a count is too large")?;
        if *c > 1_000_000 {
            return Err("a count is too large".into());
        }
    }
    Ok((version, counts))
}

fn block(r: &mut Reader<'_>, counts: [usize; 6], width: usize, footer: Option<Posix>) -> Result<Rules, String> {
    let [_, _, _, time, types, _] = counts;
    if types == 0 {
        return Err("no local time type".into());
    }
    let mut times = Vec::with_capacity(time);
    for _ in 0..time {
        let b = r.take(width)?;
        times.push(if width == 8 {
            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        } else {
            i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        });
    }
    let indices = r.take(time)?.to_vec();
    let mut offsets = Vec::with_capacity(types);
    for _ in 0..types {
        let b = r.take(6)?;
        let off = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if !(-93_599..=93_599).contains(&off) {
            return Err(format!("the offset {off} s is out of range"));
        }
        offsets.push(off);
    }
    let mut transitions = Vec::with_capacity(time);
    for (at, i) in times.into_iter().zip(indices) {
        let off = *offsets.get(usize::from(i)).ok_or("a transition names a missing type")?;
        if transitions.last().is_some_and(|(prev, _)| *prev >= at) {
            return Err("the transitions are not in order".into());
        }
        transitions.push((at, off));
    }
    Ok(Rules { transitions, initial: offsets[0], footer })
}

// ---------------------------------------------------------------------------------------------
// The POSIX TZ rule of the footer: `STD offset [DST [offset] ,start[/time],end[/time]]`.

#[derive(Debug, Clone, Copy)]
struct Posix {
    /// Seconds east of UTC (the text has them west).
    std: i32,
    dst: Option<(i32, DayRule, i32, DayRule, i32)>,
}

#[derive(Debug, Clone, Copy)]
enum DayRule {
    /// `Jn`: day 1 to 365, February 29th never counted.
    Julian(u16),
    /// `n`: day 0 to 365, February 29th counted.
    Zero(u16),
    /// `Mm.w.d`: the w-th (5: last) weekday d of month m.
    Month(u8, u8, u8),
}

impl Posix {
    fn parse(text: &str) -> Option<Posix> {
        let mut s = text;
        name(&mut s)?;
        let std = -hms(&mut s, true)?;
        if s.is_empty() {
            return Some(Posix { std, dst: None });
        }
        name(&mut s)?;
        let dst_off = if s.starts_with(',') { std + 3600 } else { -hms(&mut s, true)? };
        s = s.strip_prefix(',')?;
        let (start, start_time) = rule(&mut s)?;
        s = s.strip_prefix(',')?;
        let (end, end_time) = rule(&mut s)?;
        s.is_empty().then_some(Posix { std, dst: Some((dst_off, start, start_time, end, end_time)) })
    }

    fn offset_at(&self, unix: i64) -> i32 {
        let Some((dst, start, start_time, end, end_time)) = self.dst else { return self.std };
        let Ok(t) = OffsetDateTime::from_unix_timestamp(unix.saturating_add(i64::from(self.std))) else { return self.std };
        let year = t.year();
        // The transitions of this local year, in UTC seconds: the start in standard time,
        // the end in daylight time.
        let at = |rule: DayRule, time: i32, offset: i32| -> Option<i64> {
            let date = rule.date(year)?;
            Some(date.midnight().assume_utc().unix_timestamp() + i64::from(time) - i64::from(offset))
        };
        let (Some(on), Some(off)) = (at(start, start_time, self.std), at(end, end_time, dst)) else { return self.std };
        let in_dst = if on < off { on <= unix && unix < off } else { !(off <= unix && unix < on) };
        if in_dst { dst } else { self.std }
    }
}

impl DayRule {
    fn date(self, year: i32) -> Option<Date> {
        let jan1 = Date::from_calendar_date(year, Month::January, 1).ok()?;
        match self {
            DayRule::Zero(n) => jan1.checked_add(time::Duration::days(i64::from(n))),
            DayRule::Julian(n) => {
                let mut d = jan1.checked_add(time::Duration::days(i64::from(n) - 1))?;
                if time::util::is_leap_year(year) && n >= 60 {
                    d = d.next_day()?;
                }
                Some(d)
            }
            DayRule::Month(m, w, d) => {
                let month = Month::try_from(m).ok()?;
                let first = Date::from_calendar_date(year, month, 1).ok()?;
                let weekday = i64::from(first.weekday().number_days_from_sunday());
                let mut day = 1 + (i64::from(d) - weekday).rem_euclid(7) + 7 * (i64::from(w) - 1);
                let len = i64::from(month.length(year));
                while day > len {
                    day -= 7;
                }
                Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
            }
        }
    }
}

/// A zone abbreviation: letters (`CET`) or `<...>` (`<+0330>`).
fn name(s: &mut &str) -> Option<()> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        *s = &rest[end + 1..];
    } else {
        let n = s.bytes().take_while(u8::is_ascii_alphabetic).count();
        if n < 3 {
            return None;
        }
        *s = &s[n..];
    }
    Some(())
}

/// `[+-]h[h][:mm[:ss]]` in seconds (hours up to 167, as POSIX extended by RFC 8536).
fn hms(s: &mut &str, signed: bool) -> Option<i32> {
    let mut sign = 1;
    if signed || s.starts_with('-') || s.starts_with('+') {
        if let Some(rest) = s.strip_prefix('-') {
            sign = -1;
            *s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            *s = rest;
        }
    }
    let mut total = 0i32;
    for (i, scale) in [3600, 60, 1].into_iter().enumerate() {
        if i > 0 {
            match s.strip_prefix(':') {
                Some(rest) => *s = rest,
                None => break,
            }
        }
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 3 {
            return None;
        }
        let v: i32 = s[..n].parse().ok()?;
        if (i == 0 && v > 167) || (i > 0 && v > 59) {
            return None;
        }
        total += v * scale;
        *s = &s[n..];
    }
    Some(sign * total)
}

/// `Mm.w.d`, `Jn` or `n`, then an optional `/time` (default 02:00).
fn rule(s: &mut &str) -> Option<(DayRule, i32)> {
    let digits = |s: &mut &str| -> Option<u16> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        let v = s.get(..n)?.parse().ok()?;
        *s = &s[n..];
        Some(v)
    };
    let day = if let Some(rest) = s.strip_prefix('M') {
        *s = rest;
        let m = digits(s)?;
        *s = s.strip_prefix('.')?;
        let w = digits(s)?;
        *s = s.strip_prefix('.')?;
        let d = digits(s)?;
        if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
            return None;
        }
        DayRule::Month(u8::try_from(m).ok()?, u8::try_from(w).ok()?, u8::try_from(d).ok()?)
    } else if let Some(rest) = s.strip_prefix('J') {
        *s = rest;
        let n = digits(s)?;
        (1..=365).contains(&n).then_some(DayRule::Julian(n))?
    } else {
        let n = digits(s)?;
        (n <= 365).then_some(DayRule::Zero(n))?
    };
    let time = match s.strip_prefix('/') {
        Some(rest) => {
            *s = rest;
            hms(s, false)?
        }
        None => 7200,
    };
    Some((day, time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn footer_only(rule: &str) -> TimeZone {
        TimeZone { name: "test".into(), rules: Arc::new(Rules { transitions: vec![], initial: 0, footer: Posix::parse(rule) }) }
    }

    #[test]
    fn posix_rules() {
        let berlin = footer_only("CET-1CEST,M3.5.0,M10.5.0/3");
        // 2040: last Sunday of March is the 25th, of October the 28th.
        assert_eq!(berlin.offset_secs_at(datetime!(2040-03-25 00:59:59 UTC).unix_timestamp()), 3600);
        assert_eq!(berlin.offset_secs_at(datetime!(2040-03-25 01:00 UTC).unix_timestamp()), 7200);
        assert_eq!(berlin.offset_secs_at(datetime!(2040-10-28 00:59:59 UTC).unix_timestamp()), 7200);
        assert_eq!(berlin.offset_secs_at(datetime!(2040-10-28 01:00 UTC).unix_timestamp()), 3600);
        let sydney = footer_only("AEST-10AEDT,M10.1.0,M4.1.0/3");
        assert_eq!(sydney.offset_secs_at(datetime!(2040-01-01 00:00 UTC).unix_timestamp()), 39_600);
        assert_eq!(sydney.offset_secs_at(datetime!(2040-07-01 00:00 UTC).unix_timestamp()), 36_000);
        let fixed = footer_only("<+0330>-3:30");
        assert_eq!(fixed.offset_secs_at(0), 12_600);
        for bad in ["", "C", "CET", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,J0,J10"] {
            assert!(Posix::parse(bad).is_none(), "{bad:?}");
        }
    }

    /// Corrupted zone files are errors or zones, never a panic: every byte of a real file
    /// (Europe/Berlin from the system's tzdata) changed, cut at every length.
    #[test]
    fn corrupted_files_never_panic() {
        let bytes = std::fs::read("/usr/share/zoneinfo/Europe/Berlin").expect("tzdata (scripts/test installs it)");
        let whole = TimeZone::from_tzif("Europe/Berlin", &bytes).unwrap();
        assert_eq!(whole.offset_at(time::macros::datetime!(2026-07-01 00:00 UTC)).whole_seconds(), 7200);
        let probe = |z: &TimeZone| {
            for t in [i64::MIN, -1 << 40, 0, 1_800_000_000, 1 << 40, i64::MAX] {
                let _ = z.offset_secs_at(t);
            }
        };
        for len in 0..bytes.len() {
            if let Ok(z) = TimeZone::from_tzif("x", &bytes[..len]) {
                probe(&z);
            }
        }
        let mut state: u64 = 21;
        for i in 0..bytes.len() {
            for _ in 0..3 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let mut copy = bytes.clone();
                copy[i] = (state >> 33) as u8;
                if let Ok(z) = TimeZone::from_tzif("x", &copy) {
                    probe(&z);
                }
            }
        }
    }

    #[test]
    fn bad_files_and_names_are_errors() {
        for bad in [
            &b""[..],
            b"TZif",
            b"NOTZ2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &[b'T', b'Z', b'i', b'f', b'2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255],
        ] {
            assert!(TimeZone::from_tzif("x", bad).is_err());
        }
        let dir = std::path::Path::new("/nonexistent-zoneinfo");
        for name in ["", "../etc/passwd", "/etc/passwd", "Europe/../x", "Europe//Berlin", "a b"] {
            assert_eq!(TimeZone::load_from(dir, name), Err(ZoneError::InvalidName { name: name.into() }), "{name:?}");
        }
        assert!(matches!(TimeZone::load_from(dir, "Europe/Berlin"), Err(ZoneError::NotFound { .. })));
    }
}
