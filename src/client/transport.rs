//! The transport: one HTTP exchange with the client's headers, the retries with backoff and
//! `Retry-After`, the body cap, and judging an answer into a [`Response`] or an error.

use std::cell::Cell;
use std::io::Read;
use std::time::Duration;

use url::Url;

use super::request::{self, query_string};
use super::{Method, Microversion, Request, Response, RetryPolicy, ServiceClient};
use crate::auth::Secret;
use crate::error::{ApiError, Error, Failure, Result, Transience, TransportError, parse_fault, transience};

/// A raw answer, before it is judged.
pub(super) struct Raw {
    pub(super) status: u16,
    pub(super) request_id: Option<String>,
    pub(super) retry_after: Option<String>,
    pub(super) subject_token: Option<String>,
    /// The `Date` header: the server's clock when it answered.
    pub(super) date: Option<String>,
    pub(super) body: Vec<u8>,
}

impl Raw {
    /// A rate limiter's refusal: HTTP 429, or the 413 of Cinder's legacy limiter (body key
    /// `overLimitFault`); never the 413 `overLimit` of a quota.
    pub(super) fn is_limiter_refusal(&self) -> bool {
        self.status == 429 || (self.status == 413 && crate::error::parse_fault(&self.body).name.as_deref() == Some(OVER_LIMIT_FAULT))
    }

    /// The pause asked for; for a limiter's refusal a pause of 0 counts as 1 s.
    pub(super) fn pause(&self) -> Option<Duration> {
        let asked = self.retry_after.as_deref().and_then(request::retry_after)?;
        Some(if self.is_limiter_refusal() { asked.max(Duration::from_secs(1)) } else { asked })
    }
}

/// The body key of the 413 of Cinder's legacy rate limiter.
pub(crate) const OVER_LIMIT_FAULT: &str = "overLimitFault";

thread_local! {
    /// A buffer lent by [`ServiceClient::send_reusing`] for the next body read on this thread;
    /// empty outside that call.
    static SPARE_BODY: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl ServiceClient {
    /// [`send`](Self::send), reading the answer's body into `spare` (a previous body: its
    /// allocation and the bytes it holds are reused, so a listing does not allocate and zero
    /// a new page buffer for every page). The buffer comes back as the response's body; if
    /// no answer used it, it is dropped.
    pub(crate) fn send_reusing(&self, request: Request, spare: Vec<u8>) -> Result<Response> {
        SPARE_BODY.set(spare);
        let result = self.send(request);
        drop(SPARE_BODY.take());
        result
    }

    /// Sends a request to the block-storage endpoint and returns its successful answer;
    /// an error status becomes [`Error::Api`].
    ///
    /// A 401 leads to one re-authentication and one replay (when the client holds
    /// credentials). Idempotent requests (GET, PUT, DELETE) are retried as the client's
    /// [`RetryPolicy`] says; POST requests are not.
    pub fn send(&self, request: Request) -> Result<Response> {
        if let Some(why) = &request.invalid {
            return Err(Error::InvalidInput(why.clone()));
        }
        for segment in &request.segments {
            crate::checks::segment("path segment", segment)?;
        }
        let mut session = self.session()?;
        let version = match request.microversion {
            Some(v) => v,
            None => self.negotiated(&session)?,
        };
        let may_retry = matches!(request.method, Method::Get | Method::Put | Method::Delete);
        let mut replayed = false;
        let mut attempts: u32 = 0;
        loop {
            let url = build_url(&session.endpoint, &request.segments, &request.query);
            let raw = self.with_retries(may_retry, false, &mut attempts, || self.exchange(&request, &url, &session.token, version))?;
            self.read_clock(raw.date.as_deref());
            if raw.status == 401 && !replayed && self.can_reauthenticate() {
                replayed = true;
                session = self.refresh(Some(session.generation), true)?;
                continue;
            }
            return finish(raw, request.method, url, attempts);
        }
    }

    /// Sends with the client's [`RetryPolicy`]: the one retry path of every exchange (Cinder,
    /// Keystone's token request, the version discovery). What is retried is what
    /// [`transience`] calls [`Transience::Retry`], and only when `may_retry` (the request is
    /// idempotent, or creates nothing durable). `attempts` counts every send, across calls.
    /// The last answer comes back whatever its status.
    ///
    /// `server_errors`: any 5xx answer is retried too (Keystone's token request: it creates
    /// nothing durable, and a Keystone whose database is busy answers 500 for a moment).
    pub(super) fn with_retries(
        &self,
        may_retry: bool,
        server_errors: bool,
        attempts: &mut u32,
        mut send: impl FnMut() -> Result<Raw>,
    ) -> Result<Raw> {
        let retry = &self.inner.retry;
        loop {
            *attempts = attempts.saturating_add(1);
            let retries_left = may_retry && *attempts <= retry.max_retries;
            match send() {
                Ok(raw)
                    if retries_left
                        && (raw.is_limiter_refusal()
                            || transience(Failure::Status(raw.status)) == Transience::Retry
                            || (server_errors && (500..600).contains(&raw.status))) =>
                {
                    match raw.pause() {
                        // The server asks for longer than we wait: its answer, at once.
                        Some(wait) if wait > retry.max_retry_after => return Ok(raw),
                        Some(wait) => self.pause(wait),
                        None => self.pause(backoff(retry, *attempts)),
                    }
                }
                Ok(raw) => return Ok(raw),
                Err(Error::Transport { source, .. })
                    if retries_left && transience(Failure::Transport(&source.inner)) == Transience::Retry =>
                {
                    self.pause(backoff(retry, *attempts));
                }
                Err(Error::Transport { method, url, source, .. }) => {
                    return Err(Error::Transport { method, url, source, attempts: *attempts });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sleeps `wait` (on the client's [`Sleeper`](super::Sleeper)), or until the deadline (if
    /// any) when that comes first.
    fn pause(&self, wait: Duration) {
        self.inner.sleeper.sleep(self.time_left().map_or(wait, |left| wait.min(left)));
    }

    /// Waits out a rate limiter's pause, if one is on (at most the policy's
    /// `max_retry_after`: the pause was capped when it was set).
    fn hold_for_pause(&self) {
        let left = self.pause_left();
        if !left.is_zero() {
            #[cfg(feature = "log")]
            log::info!(target: "cinder_snapshots", "a rate limiter asked for a pause: holding this request {:.1} s", left.as_secs_f64());
            self.pause(left.min(self.inner.retry.max_retry_after));
        }
    }

    /// A rate limiter's refusal sets the pause every create and delete waits for (the
    /// later end wins; capped at the policy's `max_retry_after`).
    fn note_pause(&self, raw: &Raw) {
        if !raw.is_limiter_refusal() {
            return;
        }
        let wait = raw.pause().unwrap_or_else(|| backoff(&self.inner.retry, 1)).min(self.inner.retry.max_retry_after);
        let Some(until) = self.inner.sleeper.now().checked_add(wait) else { return };
        let mut paused = self.inner.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// One Cinder exchange with the client's headers. A create or delete (POST, DELETE) first
    /// waits out a rate limiter's pause; a limiter's refusal sets the pause.
    pub(super) fn exchange(&self, request: &Request, url: &Url, token: &Secret, version: Microversion) -> Result<Raw> {
        if matches!(request.method, Method::Post | Method::Delete) {
            self.hold_for_pause();
        }
        let raw = self.exchange_once(request, url, token, version)?;
        self.note_pause(&raw);
        Ok(raw)
    }

    fn exchange_once(&self, request: &Request, url: &Url, token: &Secret, version: Microversion) -> Result<Raw> {
        let mut req = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(url.as_str())
            .header("X-Auth-Token", token.expose_secret())
            .header("OpenStack-API-Version", format!("volume {version}"));
        if request.body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        self.run(req, request.body.clone(), request.method, url)
    }

    /// Sends one HTTP request and reads the answer, whatever its status.
    pub(super) fn run(&self, req: ureq::http::request::Builder, body: Option<Vec<u8>>, method: Method, url: &Url) -> Result<Raw> {
        let req = req.header("Accept", "application/json").header("User-Agent", self.inner.user_agent.as_str());
        #[cfg(feature = "log")]
        let start = std::time::Instant::now();
        let transport = |source: ureq::Error| {
            #[cfg(feature = "log")]
            log::debug!(target: "cinder_snapshots", "{method} {url} failed after {:?}: {source}", start.elapsed());
            Error::Transport { method: method.to_string(), url: url.to_string(), source: TransportError::new(source), attempts: 1 }
        };
        // A deadline: the time left is this exchange's whole timeout (when shorter than the
        // client's own); none left, no exchange.
        let left = self.time_left();
        if left == Some(Duration::ZERO) {
            return Err(transport(ureq::Error::Timeout(ureq::Timeout::Global)));
        }
        let agent = &self.inner.agent;
        let global = left.map(|left| agent.config().timeouts().global.map_or(left, |t| t.min(left)));
        let built = match (body, global) {
            (Some(b), None) => req.body(b).map(|r| agent.run(r)),
            (None, None) => req.body(()).map(|r| agent.run(r)),
            (Some(b), Some(g)) => req.body(b).map(|r| agent.run(agent.configure_request(r).timeout_global(Some(g)).build())),
            (None, Some(g)) => req.body(()).map(|r| agent.run(agent.configure_request(r).timeout_global(Some(g)).build())),
        };
        let mut resp = built.map_err(|e| transport(ureq::Error::Http(e)))?.map_err(transport)?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request_id = header("x-openstack-request-id").or_else(|| header("x-compute-request-id"));
        // The pause a limiter asks for, in the first of the headers used in the field.
        let retry_after = header("retry-after").or_else(|| header("x-ratelimit-retry-after")).or_else(|| header("x-retry-after"));
        let subject_token = header("x-subject-token");
        let date = header("date");
        let status = resp.status().as_u16();
        // Sized from Content-Length (within the cap) so that a large page is not copied as it
        // grows, in the buffer lent by `send_reusing` if there is one.
        let limit = self.inner.max_response_bytes;
        let expected = usize::try_from(resp.body().content_length().unwrap_or(0).min(limit)).unwrap_or(0);
        let mut body = SPARE_BODY.take();
        read_body(&mut resp.body_mut().with_config().limit(limit).reader(), &mut body, expected)
            .map_err(|e| transport(ureq::Error::from(e)))?;
        #[cfg(feature = "log")]
        log::debug!(
            target: "cinder_snapshots",
            "{method} {url} {status} in {:?}, {} bytes, request id {}",
            start.elapsed(),
            body.len(),
            request_id.as_deref().unwrap_or("-")
        );
        Ok(Raw { status, request_id, retry_after, subject_token, date, body })
    }
}

/// Reads `reader` to its end into `body`, replacing what it held. The bytes `body` already
/// holds are read over rather than zeroed again (only growth is zeroed); `expected` (the
/// Content-Length, within the cap) sizes it up front.
fn read_body(reader: &mut impl Read, body: &mut Vec<u8>, expected: usize) -> std::io::Result<()> {
    if body.len() < expected {
        body.resize(expected, 0);
    }
    let mut filled = 0;
    loop {
        if filled == body.len() {
            // Full: a small read tells the end from more to come before growing.
            let mut probe = [0u8; 64];
            let n = match reader.read(&mut probe) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    body.truncate(filled);
                    return Err(e);
                }
            };
            if n == 0 {
                return Ok(());
            }
            body.extend_from_slice(&probe[..n]);
            filled += n;
            let grown = body.len().saturating_mul(2).max(8 * 1024);
            body.resize(grown, 0);
            continue;
        }
        match reader.read(&mut body[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                body.truncate(filled);
                return Err(e);
            }
        }
    }
    body.truncate(filled);
    Ok(())
}

/// Judges a raw answer: 2xx is a [`Response`], anything else an [`Error::Api`].
fn finish(raw: Raw, method: Method, url: Url, attempts: u32) -> Result<Response> {
    if (200..300).contains(&raw.status) {
        Ok(Response { status: raw.status, request_id: raw.request_id, body: raw.body, method, url: url.to_string() })
    } else {
        let mut api = api_error(raw, method, url.as_str());
        api.attempts = attempts;
        Err(Error::Api(Box::new(api)))
    }
}

/// The delay before retry number `attempt`: exponential, capped, with jitter (half to all
/// of it).
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let base = policy.initial_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(policy.max_backoff);
    base.mul_f64(0.5 + 0.5 * jitter())
}

/// A number in [0, 1) that differs from call to call; good enough to spread retries.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) fn api_error(raw: Raw, method: Method, url: &str) -> ApiError {
    let fault = parse_fault(&raw.body);
    ApiError {
        status: raw.status,
        method: method.to_string(),
        url: url.to_owned(),
        fault: fault.name,
        message: fault.message,
        request_id: raw.request_id,
        retry_after: raw.retry_after.as_deref().and_then(request::retry_after).or(fault.retry_after),
        attempts: 1,
    }
}

/// `endpoint` + `/seg/seg?query`, every segment percent-encoded.
fn build_url(endpoint: &Url, segments: &[String], query: &[(String, String)]) -> Url {
    let mut url = endpoint.clone();
    let mut path = endpoint.path().trim_end_matches('/').to_owned();
    for segment in segments {
        path.push('/');
        request::encode(segment, &mut path);
    }
    url.set_path(&path);
    url.set_query(None);
    if !query.is_empty() {
        url.set_query(Some(&query_string(query)));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, as a socket does.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn bodies_are_read_whole_whatever_the_buffer_held() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        // (what the buffer held, the Content-Length given)
        let cases: Vec<(Vec<u8>, usize)> = vec![
            (Vec::new(), data.len()),
            (Vec::new(), 0),
            (Vec::new(), 10),
            (vec![7; 100], data.len()),
            (vec![7; 200_000], data.len()),
            (vec![7; 200_000], 0),
        ];
        for (held, expected) in cases {
            let label = format!("{} bytes held, {expected} expected", held.len());
            let mut body = held;
            read_body(&mut Trickle(&data, 3000), &mut body, expected).unwrap();
            assert!(body == data, "{label}");
        }
        let mut body = vec![1; 10];
        read_body(&mut Trickle(b"", 1), &mut body, 0).unwrap();
        assert!(body.is_empty());
    }

    #[test]
    fn urls_join_encoded_segments() {
        let base = Url::parse("http://h:8776/v3/p/").unwrap();
        let url = build_url(&base, &["snapshots".into(), "a b".into(), "metadata".into()], &[("k".into(), "x:y".into())]);
        assert_eq!(url.as_str(), "http://h:8776/v3/p/snapshots/a%20b/metadata?k=x%3Ay");
    }
}
