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
/// Byte by byte, without a general-purpose parser: a listing reads two per snapshot. A
/// timestamp in UTC (no zone, `Z`) is built as it is; only one with an offset is converted.
pub(crate) fn parse(s: &str) -> Option<OffsetDateTime> {
    // Trimming decodes characters from both ends: skipped when both ends are what a
    // timestamp starts and ends with.
    let b = match s.as_bytes() {
        b @ [first, .., last] if first.is_ascii_digit() && last.is_ascii_alphanumeric() => b,
        _ => s.trim().as_bytes(),
    };
    let (head, mut rest) = b.split_first_chunk::<19>()?;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T' | b't' | b' ', h0, h1, b':', i0, i1, b':', s0, s1] = *head else {
        return None;
    };
    let year = i32::from(pair(y0, y1)?) * 100 + i32::from(pair(y2, y3)?);
    let month = Month::try_from(pair(m0, m1)?).ok()?;
    let (day, hour, minute, second) = (pair(d0, d1)?, pair(h0, h1)?, pair(i0, i1)?, pair(s0, s1)?);

    let mut nanos: u32 = 0;
    if let [b'.', frac @ ..] = rest {
        let mut n = 0;
        while let Some(d) = frac.get(n).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            if n == 9 {
                return None;
            }
            // At most 9 digits: below 10^9, no overflow.
            nanos = nanos * 10 + u32::from(d);
            n += 1;
        }
        if n == 0 {
            return None;
        }
        // 10^(9 - n): what the digits read are worth in nanoseconds.
        const SCALE: [u32; 10] = [1_000_000_000, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
        nanos *= SCALE.get(n).copied().unwrap_or(1);
        rest = &frac[n..];
    }

    let date = Date::from_calendar_date(year, month, day).ok()?;
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
}
