use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::Microversion;
use crate::error::{Error, Result, excerpt};

/// The HTTP methods the Cinder and Keystone APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to the block-storage endpoint, for calls this crate has no function for.
///
/// The path is given as segments below the endpoint URL; each is percent-encoded as one
/// path segment, and `""`, `.`, `..` and segments holding `/` are refused.
///
/// ```no_run
/// use cinder_snapshots::{Microversion, Request, ServiceClient};
/// let client = ServiceClient::from_env()?;
/// let limits = client.send(Request::get(["limits"]))?.json::<serde_json::Value>("limits")?;
/// let volume = client.send(
///     Request::post(["volumes"]).json(serde_json::json!({"volume": {"size": 1}})),
/// )?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) microversion: Option<Microversion>,
    /// Why the request cannot be sent (a body that did not serialise).
    pub(crate) invalid: Option<String>,
}

impl Request {
    /// A request with any method.
    pub fn new<I, S>(method: Method, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Request {
            method,
            segments: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
            microversion: None,
            invalid: None,
        }
    }

    /// A GET request.
    pub fn get<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> Self {
        Self::new(Method::Get, segments)
    }

    /// A POST request.
    pub fn post<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> Self {
        Self::new(Method::Post, segments)
    }

    /// A PUT request.
    pub fn put<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> Self {
        Self::new(Method::Put, segments)
    }

    /// A DELETE request.
    pub fn delete<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> Self {
        Self::new(Method::Delete, segments)
    }

    /// Adds query parameters, in order.
    pub fn query<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.query.extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets a JSON body (sent with `Content-Type: application/json`): any `Serialize` value,
    /// such as a `serde_json::json!` value or a struct of your own. A value that does not
    /// serialise (a map with non-string keys) makes [`ServiceClient::send`] fail with
    /// [`Error::InvalidInput`] before anything is sent.
    ///
    /// [`ServiceClient::send`]: crate::ServiceClient::send
    pub fn json(mut self, body: impl serde::Serialize) -> Self {
        match serde_json::to_vec(&body) {
            Ok(bytes) => self.body = Some(bytes),
            Err(e) => self.invalid = Some(format!("the JSON body does not serialise: {e}")),
        }
        self
    }

    /// Sends this microversion instead of the client's, as it is.
    pub fn microversion(mut self, version: Microversion) -> Self {
        self.microversion = Some(version);
        self
    }
}

/// A successful answer from the block-storage endpoint.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status (2xx).
    pub status: u16,
    /// `x-openstack-request-id`, else `x-compute-request-id`.
    pub request_id: Option<String>,
    /// The raw body.
    pub body: Vec<u8>,
    pub(crate) method: Method,
    pub(crate) url: String,
}

impl Response {
    /// Decodes the body as JSON; `what` names it in the error ("snapshot", "metadata").
    pub fn json<T: DeserializeOwned>(&self, what: &'static str) -> Result<T> {
        // One UTF-8 check of the whole body is cheaper than serde_json's check of every string.
        let text = std::str::from_utf8(&self.body).map_err(|e| self.decode_error(what, e))?;
        serde_json::from_str(text).map_err(|e| self.decode_error(what, e))
    }

    /// A decode error about this response, with what the decoder said as its source.
    pub(crate) fn decode_error(&self, what: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Decode {
            what,
            method: self.method.to_string(),
            url: self.url.clone(),
            status: self.status,
            excerpt: excerpt(&self.body),
            source: source.into(),
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// A query string from pairs, each key and value percent-encoded.
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    let mut q = String::new();
    for (k, v) in pairs {
        if !q.is_empty() {
            q.push('&');
        }
        encode(k, &mut q);
        q.push('=');
        encode(v, &mut q);
    }
    q
}

/// `Retry-After`: a number of seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`)
/// turned into the time left until then (zero when it has passed).
pub(crate) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = http_date(value)?;
    let left = when - time::OffsetDateTime::now_utc();
    Some(left.try_into().unwrap_or(Duration::ZERO))
}

/// The IMF-fixdate form of an HTTP date.
pub(super) fn http_date(s: &str) -> Option<time::OffsetDateTime> {
    let (_, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u8 = parts.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)?;
    let year: i32 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let time = time::Time::from_hms(h, m, sec).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_only() {
        let mut s = String::new();
        encode("a b/c:d~e%é", &mut s);
        assert_eq!(s, "a%20b%2Fc%3Ad~e%25%C3%A9");
        assert_eq!(
            query_string(&[("name~".into(), "snap a".into()), ("metadata".into(), r#"{"k":"v"}"#.into())]),
            "name~=snap%20a&metadata=%7B%22k%22%3A%22v%22%7D"
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let header = format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            names[soon.weekday().number_days_from_monday() as usize],
            soon.day(),
            months[soon.month() as usize - 1],
            soon.year(),
            soon.hour(),
            soon.minute(),
            soon.second()
        );
        let left = retry_after(&header).unwrap();
        assert!(left > Duration::from_secs(27) && left <= Duration::from_secs(30), "{left:?}");
        for bad in ["", "soon", "-1", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 31 Feb 1994 08:49:37 GMT"] {
            assert_eq!(retry_after(bad), None, "{bad}");
        }
    }
}
