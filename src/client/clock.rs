//! The cloud's clock: the `Date` of Cinder's answers, read on every answer, so that windows
//! and ages are computed on the cloud's time rather than on a host clock that may be wrong.

use std::sync::atomic::Ordering;
use std::time::Duration;

use time::OffsetDateTime;

use super::ServiceClient;
use super::request::http_date;

/// The difference between the cloud's clock and the host's that is tolerated without a word:
/// 5 minutes. Beyond it, [`ServiceClient::clock_skew`] names the difference (the job reports
/// it, the check warns).
pub const CLOCK_SKEW_ALLOWED: Duration = Duration::from_secs(300);

/// No reading yet.
pub(super) const UNKNOWN: i64 = i64::MIN;

impl ServiceClient {
    /// Notes the cloud's clock from an answer's `Date` header (whole seconds; a missing or
    /// unreadable one changes nothing).
    pub(super) fn read_clock(&self, date: Option<&str>) {
        let Some(server) = date.and_then(http_date) else { return };
        let offset = (server - OffsetDateTime::now_utc()).whole_seconds();
        if offset != UNKNOWN {
            self.inner.clock_offset.store(offset, Ordering::Relaxed);
        }
    }

    /// The cloud's clock minus the host's, as the `Date` header of the latest Cinder answer
    /// showed it (to the second, so a difference of a second or so is the header's
    /// resolution and the answer's latency); `None` before the first answer, or when Cinder
    /// sends no `Date`.
    ///
    /// ```
    /// # use cinder_snapshots::ServiceClient;
    /// let client = ServiceClient::with_token("http://127.0.0.1:8776/v3/p", "t")?.build()?;
    /// assert_eq!(client.clock_offset(), None); // no answer yet
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn clock_offset(&self) -> Option<time::Duration> {
        match self.inner.clock_offset.load(Ordering::Relaxed) {
            UNKNOWN => None,
            secs => Some(time::Duration::seconds(secs)),
        }
    }

    /// The [clock offset](Self::clock_offset) when it is larger (either way) than
    /// [`CLOCK_SKEW_ALLOWED`].
    pub fn clock_skew(&self) -> Option<time::Duration> {
        self.clock_offset().filter(|o| o.unsigned_abs() > CLOCK_SKEW_ALLOWED)
    }

    /// The time on the cloud's clock: the host's clock moved by the
    /// [clock offset](Self::clock_offset) (the host's clock alone before any answer). The
    /// scheduled job and the check measure windows and ages with it, so that a host whose
    /// clock is wrong neither reuses an old window nor calls an old snapshot fresh.
    pub fn now(&self) -> OffsetDateTime {
        let host = OffsetDateTime::now_utc();
        self.clock_offset().and_then(|o| host.checked_add(o)).unwrap_or(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_follows_the_latest_date_header() {
        let client = ServiceClient::with_token("http://127.0.0.1:1/v3/p", "t").unwrap().build().unwrap();
        assert_eq!(client.clock_offset(), None);
        assert_eq!(client.clock_skew(), None);
        let host = OffsetDateTime::now_utc();
        client.read_clock(Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        let offset = client.clock_offset().unwrap();
        let expected = time::macros::datetime!(1994-11-06 08:49:37 UTC) - host;
        assert!((offset - expected).abs() <= time::Duration::seconds(2), "{offset} {expected}");
        assert_eq!(client.clock_skew(), Some(offset));
        assert!((client.now() - time::macros::datetime!(1994-11-06 08:49:37 UTC)).abs() < time::Duration::seconds(3));
        // Unreadable or missing: the last reading stays.
        client.read_clock(Some("yesterday"));
        client.read_clock(None);
        assert_eq!(client.clock_offset(), Some(offset));
        // In step (the header's second resolution): an offset, no skew.
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let t = OffsetDateTime::now_utc();
        let header = format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            names[t.weekday().number_days_from_monday() as usize],
            t.day(),
            months[t.month() as usize - 1],
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        );
        client.read_clock(Some(&header));
        assert!(client.clock_offset().unwrap().abs() <= time::Duration::seconds(1));
        assert_eq!(client.clock_skew(), None);
    }
}
