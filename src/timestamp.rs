//! Timestamps: reading the ones OpenStack servers send, leniently, and writing them as
//! RFC 3339 ([`format_utc`]).
//!
//! Cinder sends `2026-11-23T16:42:51.212740` (no zone, meaning UTC); Keystone sends
//! `2026-11-24T16:42:40.000000Z`. Accepted: a `T` or a space between date and time, 0 to 9
//! fraction digits, and no zone (UTC), `Z`, `±HH:MM`, `±HHMM` or `±HH`.
//!
//! Every timestamp returned is in UTC and within years 0000 to 9999 in UTC, so that it can
//! always be shown and written as RFC 3339: a time whose offset carries it outside that range
//! (`9999-12-31T23:59:59-01:00` is in year 10000 in UTC) is not one of the accepted forms.

use serde::Deserializer;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses one timestamp; `None` when it is not one of the accepted forms.
///
/// Byte by byte, without a general-purpose parser and without a branch per digit: a
/// listing reads two per snapshot. A timestamp in UTC (no zone, `Z`) is built as it is;
/// only one with an offset is converted.
pub(crate) fn parse(s: &str) -> Option<OffsetDateTime> {
    // Trimming decodes characters from both ends: skipped when both ends are what a
    // timestamp starts and ends with.
    let b = match s.as_bytes() {
        b @ [first, .., last] if first.is_ascii_digit() && last.is_ascii_alphanumeric() => b,
        _ => s.trim().as_bytes(),
    };
    let (head, rest) = b.split_first_chunk::<19>()?;
    let (year, [month, day, hour, minute, second]) = fixed_part(head)?;
    let (nanos, rest) = fraction(rest)?;

    let date = Date::from_calendar_date(i32::from(year), Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    let local = PrimitiveDateTime::new(date, time);
    let (sign, body): (i8, &[u8]) = match rest {
        // In UTC already, and within years 0000 to 9999 (four digits).
        b"" | b"Z" | b"z" => return Some(local.assume_utc()),
        [b'+', body @ ..] => (1, body),
        [b'-', body @ ..] => (-1, body),
        _ => return None,
    };
    let (h, m) = match *body {
        [h0, h1] => (pair(h0, h1)?, 0),
        [h0, h1, m0, m1] | [h0, h1, b':', m0, m1] => (pair(h0, h1)?, pair(m0, m1)?),
        _ => return None,
    };
    // Two digits each: at most 99, within i8.
    let offset = UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).ok()?;
    let utc = local.assume_offset(offset).checked_to_offset(UtcOffset::UTC)?;
    (0..=9999).contains(&utc.year()).then_some(utc)
}

/// `YYYY-MM-DDTHH:MM:SS` (`T`, `t` or a space in the middle): the year, and the month, day,
/// hour, minute and second, not yet checked against the calendar.
///
/// Eight bytes at a time: each word is compared with what it must hold (`0` where a digit
/// goes), which leaves a digit's value in its byte, and a separator's byte zero when it is
/// the right one; one test of the high bits then tells whether every byte is in range.
fn fixed_part(h: &[u8; 19]) -> Option<(u16, [u8; 5])> {
    /// What each byte is XORed with: `0` at a digit, the separator itself elsewhere.
    const DATE: u64 = u64::from_le_bytes(*b"0000-00-");
    const CLOCK: u64 = u64::from_le_bytes(*b"00:00:00");
    /// Added to each byte after the XOR: a digit's value above 9, or any separator's
    /// value but zero, reaches the byte's high bit.
    const DATE_LIMIT: u64 = u64::from_le_bytes([0x76, 0x76, 0x76, 0x76, 0x7f, 0x76, 0x76, 0x7f]);
    const CLOCK_LIMIT: u64 = u64::from_le_bytes([0x76, 0x76, 0x7f, 0x76, 0x76, 0x7f, 0x76, 0x76]);
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let middle = h[10];
    let (date, day_clock, clock) = (word::<0>(h), word::<8>(h), word::<11>(h));
    // `DDTHH:MM`: the day's two digits, the middle (compared with itself here, checked
    // below), the hour and the minute; laid out as `HH:MM:SS` is.
    let day_template = u64::from_le_bytes([b'0', b'0', middle, b'0', b'0', b':', b'0', b'0']);
    let (date, day_clock, clock) = (date ^ DATE, day_clock ^ day_template, clock ^ CLOCK);
    // A byte at 0x80 or above is out of range already; below, adding its limit carries
    // nothing into the next byte.
    let out_of_range =
        date | date.wrapping_add(DATE_LIMIT) | day_clock | day_clock.wrapping_add(CLOCK_LIMIT) | clock | clock.wrapping_add(CLOCK_LIMIT);
    if out_of_range & HIGH != 0 || !matches!(middle, b'T' | b't' | b' ') {
        return None;
    }
    // Every byte is now a digit's value or zero: byte i of `x * 10 + (x >> 8)` is the
    // two-digit number starting at byte i (at most 99: no carry).
    let pairs = |x: u64| x.wrapping_mul(10).wrapping_add(x >> 8).to_le_bytes();
    let (date, day_clock, clock) = (pairs(date), pairs(day_clock), pairs(clock));
    Some((u16::from(date[0]) * 100 + u16::from(date[2]), [date[5], day_clock[0], day_clock[3], day_clock[6], clock[6]]))
}

/// The eight bytes of `h` from `AT` on, as a little-endian word.
fn word<const AT: usize>(h: &[u8; 19]) -> u64 {
    let bytes: Option<&[u8; 8]> = h[AT..].first_chunk();
    bytes.map_or(0, |b| u64::from_le_bytes(*b))
}

/// The fraction of a second after the fixed part, as nanoseconds, and what follows it: no
/// fraction is 0; a `.` must be followed by 1 to 9 digits.
fn fraction(rest: &[u8]) -> Option<(u32, &[u8])> {
    let [b'.', frac @ ..] = rest else { return Some((0, rest)) };
    // Six digits (what Cinder and Keystone write) and no seventh: read at once.
    if let Some((six, after)) = frac.split_first_chunk::<6>()
        && !after.first().is_some_and(u8::is_ascii_digit)
    {
        // `00` and the six digits: an eight-digit number, its first digit in the low byte.
        let digits = u64::from_le_bytes([b'0', b'0', six[0], six[1], six[2], six[3], six[4], six[5]]) ^ 0x3030_3030_3030_3030;
        if (digits | digits.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 == 0 {
            // Pairs of digits, then pairs of pairs, then the whole (no carry: each step's
            // parts stay below their field).
            let pairs = (digits.wrapping_mul(10).wrapping_add(digits >> 8)) & 0x00ff_00ff_00ff_00ff;
            let quads = (pairs.wrapping_mul(100).wrapping_add(pairs >> 16)) & 0x0000_ffff_0000_ffff;
            let micros = (quads.wrapping_mul(10_000).wrapping_add(quads >> 32)) & 0xffff_ffff;
            // Below 10^6: within u32, and below 10^9 once in nanoseconds.
            return Some((u32::try_from(micros).ok()? * 1000, after));
        }
    }
    let (mut value, mut n) = (0u32, 0);
    for &c in frac {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if n == 9 {
            return None;
        }
        // At most 9 digits: below 10^9, within u32.
        value = value * 10 + u32::from(d);
        n += 1;
    }
    // 10^(9 - n): what the digits read are worth in nanoseconds; no digit is refused.
    const SCALE: [u32; 10] = [0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let scale = SCALE.get(n).copied().filter(|s| *s > 0)?;
    Some((value * scale, frac.get(n..)?))
}

/// The value of two ASCII digits.
fn pair(hi: u8, lo: u8) -> Option<u8> {
    let (hi, lo) = (hi.wrapping_sub(b'0'), lo.wrapping_sub(b'0'));
    (hi < 10 && lo < 10).then(|| hi * 10 + lo)
}

/// RFC 3339 in UTC with microseconds, as Cinder stores them: `2026-11-23T16:42:51.212740Z`.
///
/// Never panics: a time whose UTC form is beyond the calendar's range (only possible for a
/// value not read from a server: every timestamp this crate returns is in UTC) is written in
/// its own offset, still exact.
///
/// ```
/// use cinder_snapshots::{time::macros::datetime, timestamp};
/// assert_eq!(timestamp::format_utc(datetime!(2026-11-23 18:42:51.2127 +02:00)), "2026-11-23T16:42:51.212700Z");
/// ```
pub fn format_utc(t: OffsetDateTime) -> String {
    write(t, Fraction::Micros)
}

/// The sub-second digits [`write`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Always six digits (Cinder's form).
    Micros,
    /// The digits there are, trailing zeros removed, none for a whole second.
    Trimmed,
    /// None.
    Whole,
}

/// The one RFC 3339 writer of the crate: in UTC (`Z`) when the time can be converted,
/// else in its own offset; years outside 0..=9999, which RFC 3339 cannot express, with a
/// sign ([`format_year`]).
pub(crate) fn write(t: OffsetDateTime, fraction: Fraction) -> String {
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let (year, month, day) = t.to_calendar_date();
    let (h, m, s, nanos) = t.to_hms_nano();
    let frac = match fraction {
        Fraction::Micros => format!(".{:06}", nanos / 1000),
        Fraction::Trimmed if nanos > 0 => format!(".{}", format!("{nanos:09}").trim_end_matches('0')),
        Fraction::Trimmed | Fraction::Whole => String::new(),
    };
    let zone = if t.offset().is_utc() { "Z".to_owned() } else { format_offset(t.offset()) };
    format!("{}-{:02}-{day:02}T{h:02}:{m:02}:{s:02}{frac}{zone}", format_year(year), u8::from(month))
}

/// `2026`, `0099`, `-0044`, `+10000`.
pub(crate) fn format_year(year: i32) -> String {
    if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else if year > 9999 {
        format!("+{year}")
    } else {
        format!("{year:04}")
    }
}

/// `+02:00`, `-05:45`, `+14:00:30` (seconds only when there are any).
pub(crate) fn format_offset(offset: UtcOffset) -> String {
    let sign = if offset.is_negative() { '-' } else { '+' };
    let (h, m, s) = offset.as_hms();
    let (h, m, s) = (h.unsigned_abs(), m.unsigned_abs(), s.unsigned_abs());
    if s == 0 { format!("{sign}{h:02}:{m:02}") } else { format!("{sign}{h:02}:{m:02}:{s:02}") }
}

/// Serde helper: an optional timestamp written as [`format_utc`] does, or `null`.
pub(crate) fn serialize_opt<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_utc(*t)),
        None => s.serialize_none(),
    }
}

/// Serde helper: a missing, `null` or unparseable timestamp becomes `None`, so that one odd
/// value never fails a whole answer.
pub(crate) fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    d.deserialize_any(Lenient)
}

/// [`deserialize_lenient`] as a seed, for a visitor that reads a map's values itself.
pub(crate) struct LenientSeed;

impl<'de> serde::de::DeserializeSeed<'de> for LenientSeed {
    type Value = Option<OffsetDateTime>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        deserialize_lenient(d)
    }
}

/// Reads a string without copying it; anything else (null, a number, an object) is `None`.
struct Lenient;

impl<'de> serde::de::Visitor<'de> for Lenient {
    type Value = Option<OffsetDateTime>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a timestamp")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(parse(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cinder_and_keystone_forms() {
        assert_eq!(parse("2026-11-23T16:42:51.212740"), Some(datetime!(2026-11-23 16:42:51.212740 UTC)));
        assert_eq!(parse("2026-11-24T16:42:40.000000Z"), Some(datetime!(2026-11-24 16:42:40 UTC)));
        assert_eq!(parse("2026-11-24T16:42:40"), Some(datetime!(2026-11-24 16:42:40 UTC)));
        assert_eq!(parse("2026-11-24 16:42:40.5"), Some(datetime!(2026-11-24 16:42:40.5 UTC)));
    }

    /// The forms the byte-by-byte reader must keep accepting (and the near misses it must
    /// keep refusing): spaces around, lower-case separators, every offset form.
    #[test]
    fn spacing_case_and_offset_forms() {
        let at = Some(datetime!(2026-11-24 16:42:40.5 UTC));
        for s in [
            " 2026-11-24T16:42:40.5 ",
            "\t2026-11-24t16:42:40.500z\n",
            "2026-11-24 16:42:40.500000000Z",
            "2026-11-24T18:42:40.5+02",
            "2026-11-24T18:42:40.5+0200",
            "2026-11-24T18:12:40.5+01:30",
            "2026-11-24T15:12:40.5-01:30",
        ] {
            assert_eq!(parse(s), at, "{s:?}");
        }
        for s in [
            "2026-11-24T16:42:40.5+2:00",
            "2026-11-24T16:42:40.5+02:0",
            "2026-11-24T16:42:40.5+02:000",
            "2026-11-24T16:42:40Zz",
            "2026-11-24T16:42:40.-1",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(parse("2026-11-24T18:42:40+02:00"), Some(datetime!(2026-11-24 16:42:40 UTC)));
        assert_eq!(parse("2026-11-24T14:42:40-0200"), Some(datetime!(2026-11-24 16:42:40 UTC)));
        assert_eq!(parse("2026-11-24T17:42:40+01"), Some(datetime!(2026-11-24 16:42:40 UTC)));
        assert_eq!(parse("2026-11-24T16:42:40.123456789Z"), Some(datetime!(2026-11-24 16:42:40.123456789 UTC)));
    }

    #[test]
    fn odd_json_values_are_none() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "deserialize_lenient")]
            at: Option<OffsetDateTime>,
        }
        for json in [
            r#"{"at": null}"#,
            r#"{"at": 12}"#,
            r#"{"at": -1.5}"#,
            r#"{"at": true}"#,
            r#"{"at": [1, {"a": 2}]}"#,
            r#"{"at": {"x": [3]}}"#,
            "{}",
        ] {
            assert_eq!(serde_json::from_str::<T>(json).unwrap().at, None, "{json}");
        }
        assert!(serde_json::from_str::<T>(r#"{"at": "2026-11-24T16:42:40\u002e5Z"}"#).unwrap().at.is_some(), "escaped strings too");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-02-30T00:00:00",
            "2026-11-24T16:42:40.",
            "2026-11-24T16:42:40.1234567890",
            "2026-11-24T16:42:40+2",
            "2026-11-24T25:00:00",
            "2026-11-24T16:42:40 UTC",
            "２０２６-11-24T16:42:40",
            "2026-11-24T16:42:4é",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    /// Regression: `9999-12-31T23:59:59-01:00` parsed, and showing it in UTC panicked (the
    /// CLI aborted in `show`, `list --long` and `--json`).
    #[test]
    fn every_parsed_timestamp_is_utc_and_formats() {
        assert_eq!(parse("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(parse("0000-01-01T00:00:00+01:00"), None);
        let edge = parse("9999-12-31T23:59:59.999999+00:00").unwrap();
        assert_eq!(format_utc(edge), "9999-12-31T23:59:59.999999Z");
        let early = parse("0000-01-01T00:30:00+00:30").unwrap();
        assert_eq!((early.offset(), format_utc(early)), (UtcOffset::UTC, "0000-01-01T00:00:00.000000Z".to_owned()));
        let shifted = parse("9999-12-31T22:59:59-01:00").unwrap();
        assert_eq!(format_utc(shifted), "9999-12-31T23:59:59.000000Z");
        for s in ["2026-11-24T18:42:40+02:00", "2026-11-24T14:42:40-0200", "2026-11-24T16:42:40"] {
            assert_eq!(parse(s).unwrap().offset(), UtcOffset::UTC, "{s}");
        }
    }

    /// Found by the timestamp fuzz target (its own check rounded toward zero before 1970):
    /// writing keeps the earlier microsecond, and reads back as exactly that.
    #[test]
    fn writing_truncates_to_the_microsecond_before_1970_too() {
        let t = parse("1013-11-24T00:03:19.033331394").unwrap();
        let text = format_utc(t);
        assert_eq!(text, "1013-11-24T00:03:19.033331Z");
        assert_eq!(parse(&text).unwrap().unix_timestamp_nanos(), t.unix_timestamp_nanos().div_euclid(1000) * 1000);
    }

    #[test]
    fn formatting_a_value_outside_utc_range_does_not_panic() {
        let far = datetime!(9999-12-31 23:59:59 -01:00);
        assert_eq!(format_utc(far), "9999-12-31T23:59:59.000000-01:00");
    }

    /// The fixed part is checked eight bytes at a time: every byte of it, replaced by any
    /// other, is refused unless a byte of that kind goes there (and the date and time still
    /// exist), as a byte-by-byte reader would.
    #[test]
    fn every_byte_of_the_date_and_time_is_checked() {
        let base = *b"2024-02-28T16:42:40";
        for at in 0..base.len() {
            for c in 0..=u8::MAX {
                let mut b = base;
                b[at] = c;
                let Ok(s) = std::str::from_utf8(&b) else { continue };
                let value = |i: usize| u32::from(b[i].wrapping_sub(b'0')) * 10 + u32::from(b[i + 1].wrapping_sub(b'0'));
                let expected = match at {
                    4 | 7 => c == b'-',
                    13 | 16 => c == b':',
                    10 => matches!(c, b'T' | b't' | b' '),
                    _ => {
                        c.is_ascii_digit()
                            && value(11) < 24
                            && value(14) < 60
                            && value(17) < 60
                            && u8::try_from(value(5))
                                .ok()
                                .and_then(|m| Month::try_from(m).ok())
                                .is_some_and(|m| Date::from_calendar_date((value(0) * 100 + value(2)) as i32, m, value(8) as u8).is_ok())
                    }
                };
                assert_eq!(parse(s).is_some(), expected, "{s:?}");
            }
        }
    }
}
