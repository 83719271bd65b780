//! The crate's one error type.
//!
//! Every fallible call returns [`Result<T>`](crate::Result). The variants say where a failure
//! came from: the server answered with an error status ([`Error::Api`]), Keystone refused or
//! sent something unusable ([`Error::Auth`]), the catalog had no matching endpoint
//! ([`Error::EndpointNotFound`]), the network failed ([`Error::Transport`]), a response could
//! not be decoded ([`Error::Decode`], [`Error::InvalidResponse`]), the caller's input was
//! refused before any request ([`Error::InvalidInput`]), the configuration is wrong
//! ([`Error::Config`]), or a wait did not reach its target ([`Error::Wait`]).
//!
//! No variant ever holds a password, token or application-credential secret.
//!
//! Questions a caller asks of any error have methods ([`Error::is_not_found`],
//! [`Error::is_transient`], [`Error::is_over_limit`], [`Error::status`],
//! [`Error::request_id`], ...), and [`Error::full_message`] is the one line to log.
//!
//! ```no_run
//! use cinder_snapshots::{Error, snapshots::{self, CreateOpts}};
//! # let client = cinder_snapshots::ServiceClient::from_env()?;
//! match snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635")) {
//!     Ok(snap) => println!("creating {} (request {:?})", snap.id, snap.request_id),
//!     // A quota: retrying will not help until something is deleted.
//!     Err(e) if e.is_over_limit() => eprintln!("over quota: {}", e.full_message()),
//!     // 429, 502, 503, 504, a dropped connection, a timeout: try again later.
//!     Err(e) if e.is_transient() => eprintln!("try later: {}", e.full_message()),
//!     Err(Error::Api(api)) => eprintln!("Cinder said {} {:?}: {} ({:?})", api.status, api.fault, api.message, api.request_id),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx, 5xx).
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The run's quota preflight found that not every volume fits the project's quota, and
    /// the run was to create all or nothing ([`JobOpts::all_or_nothing`]): nothing was
    /// created. Every quota that binds, with what the run needs and the room left.
    ///
    /// [`JobOpts::all_or_nothing`]: crate::job::JobOpts::all_or_nothing
    #[error("over quota, nothing created (all or nothing): {}", shortfalls_text(shortfalls))]
    QuotaExceeded {
        /// Every quota that binds.
        shortfalls: Vec<crate::quotas::Shortfall>,
    },

    /// Authentication with Keystone failed, or Keystone's answer was unusable.
    #[error("authentication failed: {message}")]
    Auth {
        /// What went wrong.
        message: String,
        /// The HTTP error Keystone answered with, when there was one.
        api: Option<Box<ApiError>>,
    },

    /// The service catalog has no block-storage endpoint matching the wanted interface and
    /// region.
    #[error("no block-storage endpoint found: {message}")]
    EndpointNotFound {
        /// What was wanted and what the catalog had.
        message: String,
    },

    /// The request could not be sent or its answer could not be read (DNS, connect, TLS,
    /// timeout, connection closed, body too large): [`TransportError::kind`] says which.
    #[error("{method} {url} failed{}", attempts_note(*attempts))]
    Transport {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// What failed; the HTTP client's own error is its source.
        #[source]
        source: TransportError,
        /// How many times the request was sent (retries included).
        attempts: u32,
    },

    /// A response body could not be decoded. The decoder's own error (serde's, or a short
    /// message) is the [`source`](std::error::Error::source).
    #[error("could not decode {what} from {method} {url} (HTTP {status}); the body starts with {excerpt:?}")]
    Decode {
        /// What was being decoded, e.g. "snapshot" or "Keystone token".
        what: &'static str,
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// HTTP status of the response.
        status: u16,
        /// The first characters of the body.
        excerpt: String,
        /// What the decoder said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The server's answer broke the protocol in a way that is not a decode error (for
    /// example a repeated pagination marker, or a Keystone answer without a token).
    #[error("unexpected response from {method} {url}: {message}")]
    InvalidResponse {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// What was wrong.
        message: String,
    },

    /// The caller's input was refused before any request was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The client configuration is wrong or incomplete (a missing or contradictory `OS_*`
    /// variable, an unreadable CA bundle, an unsupported microversion, ...).
    #[error("configuration error: {0}")]
    Config(String),

    /// A look-up by name found nothing.
    #[error("not found: {0}")]
    NoMatch(String),

    /// A look-up by name found several resources.
    #[error("{} {resource}s are named {name:?}: {}", ids.len(), ids.join(", "))]
    MultipleMatches {
        /// What was looked up: `"snapshot"`, `"volume"`.
        resource: &'static str,
        /// The name looked up.
        name: String,
        /// The ids of every match.
        ids: Vec<String>,
    },

    /// A wait ended without reaching its target status.
    #[error(transparent)]
    Wait(Box<WaitError>),

    /// A revert refused here, before any request that changes anything was sent
    /// ([`volumes::revert_to_latest`](crate::volumes::revert_to_latest)): Cinder would refuse
    /// it or, for a snapshot that is not `available`, leave the volume stuck in `reverting`.
    /// [`volumes::revert_refusal`](crate::volumes::revert_refusal) reads it as it reads
    /// Cinder's own refusals.
    #[error("not reverting volume {volume_id}: {reason}{}", snapshot.as_ref().map(|s| format!(" (snapshot {s})")).unwrap_or_default())]
    RevertRefused {
        /// The volume.
        volume_id: String,
        /// The snapshot Cinder would revert to (its latest), with its status when it is the
        /// reason: `"<id>, status creating"`; `None` when the volume has none.
        snapshot: Option<String>,
        /// Why.
        reason: crate::volumes::RevertRefusal,
    },
    /// Every project was asked for (`all_tenants`: `--all-projects`), but Cinder does not
    /// give these credentials the admin view (its volumes come without
    /// `os-vol-host-attr:host`, [`volumes::require_admin_view`](crate::volumes::require_admin_view)):
    /// Cinder would silently act on the caller's own project only. Its policy rule
    /// `context_is_admin` (role `admin` by default) decides.
    #[error(
        "--all-projects needs Cinder's admin view, and these credentials do not have it (Cinder's policy rule \
         context_is_admin, role admin by default; its volumes come without os-vol-host-attr:host): Cinder would \
         act on this project only"
    )]
    AdminViewRequired,

    /// A volume chose, in its [`POLICIES_KEY`](crate::job::POLICIES_KEY) metadata, a
    /// policy its selection does not list: the volume fails (run: a failed row, exit 1;
    /// check: CRITICAL), nothing is done to it.
    #[error(transparent)]
    PolicyChoice(Box<crate::job::PolicyChoiceError>),
}

impl Error {
    /// The API error, when the server answered with an error status (also through
    /// [`Error::Auth`]).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::Auth { api: Some(api), .. } => Some(api),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|a| a.status)
    }

    /// `true` for HTTP 404 (the snapshot, key or resource does not exist) and for a look-up
    /// by name that found nothing.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404) || matches!(self, Error::NoMatch(_))
    }

    /// `true` for HTTP 400 (Cinder also uses it for "wrong state").
    pub fn is_bad_request(&self) -> bool {
        self.status() == Some(400)
    }

    /// `true` for HTTP 401, and for every [`Error::Auth`]: Keystone refused the credentials
    /// (401, or 403 when the scope is not allowed) or handed out no usable token. Keystone's
    /// other answers (a 404 for a wrong auth URL, a 503) are [`Error::Api`], not this.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401) || matches!(self, Error::Auth { .. })
    }

    /// `true` for HTTP 403 (the policy forbids the call, e.g. admin-only actions).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// `true` for HTTP 409.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// `true` for Cinder's 413 `overLimit` (a quota is exhausted) and for HTTP 429.
    pub fn is_over_limit(&self) -> bool {
        matches!(self.status(), Some(413 | 429))
    }

    /// `true` for a rate limiter's refusal: HTTP 429, or Cinder's legacy limiter's 413
    /// `overLimitFault`. Not for the 413 `overLimit` of a quota (see
    /// [`is_over_quota`](Self::is_over_quota)). The request was not processed; the pause
    /// asked for is [`ApiError::retry_after`].
    pub fn is_rate_limited(&self) -> bool {
        self.api().is_some_and(|a| a.status == 429 || (a.status == 413 && a.fault.as_deref() == Some("overLimitFault")))
    }

    /// `true` for Cinder's 413 `overLimit`: a quota is exhausted (retrying will not help
    /// until something is deleted). Not for a rate limiter's 413 `overLimitFault`.
    pub fn is_over_quota(&self) -> bool {
        self.status() == Some(413) && !self.is_rate_limited()
    }

    /// `true` when the server refused the requested microversion (HTTP 406).
    pub fn is_microversion_unsupported(&self) -> bool {
        self.status() == Some(406)
    }

    /// `true` for errors that may go away when the same request is tried again later:
    /// HTTP 429, a rate limiter's 413 `overLimitFault`, 502, 503 and 504, a connection refused, reset or closed, a garbled answer,
    /// and a timeout. The client's retries follow the same rule (see [`RetryPolicy`]), except
    /// that a timeout is not retried by the client itself.
    ///
    /// An HTTP 500 is not transient: Cinder and Keystone answer it for a fault in handling
    /// that very request, which the same request meets again.
    ///
    /// [`RetryPolicy`]: crate::RetryPolicy
    pub fn is_transient(&self) -> bool {
        let failure = match self {
            Error::Transport { source, .. } => Failure::Transport(&source.inner),
            Error::Api(_) if self.is_rate_limited() => return true,
            Error::Api(api) => Failure::Status(api.status),
            _ => return false,
        };
        transience(failure) != Transience::Permanent
    }

    /// The error and each of its sources, joined with `: `, each text said once: the one
    /// line to print or log. `Display` alone says what failed, not always why (a transport
    /// error's cause is its source, as Rust's convention has it).
    ///
    /// ```
    /// use cinder_snapshots::Error;
    /// let e = Error::Config("OS_AUTH_URL is not set".into());
    /// assert_eq!(e.full_message(), "configuration error: OS_AUTH_URL is not set");
    /// ```
    pub fn full_message(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let part = s.to_string();
            if !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = s.source();
        }
        text
    }

    /// The server's request id (`x-openstack-request-id`), when there is one.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|a| a.request_id.as_deref())
    }
}

/// What kind of transport failure a [`TransportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// No connection could be made (refused, unreachable).
    Connect,
    /// The connect or request timeout ran out.
    Timeout,
    /// TLS failed: a certificate was refused, or the handshake failed.
    Tls,
    /// The connection broke while sending or reading (reset, closed early).
    Io,
    /// The answer was not valid HTTP, or the request could not be made into one.
    Protocol,
    /// The body was larger than the client's `max_response_bytes`.
    TooLarge,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Dns => "the host name did not resolve",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Io => "the connection broke",
            TransportErrorKind::Protocol => "not a valid HTTP exchange",
            TransportErrorKind::TooLarge => "the answer is larger than the size limit",
            TransportErrorKind::Other => "transport failure",
        })
    }
}

/// A request that could not be sent or whose answer could not be read. Its
/// [`kind`](Self::kind) says what failed; the HTTP client's own error, with the details, is
/// its [`source`](std::error::Error::source) (its type is not part of this crate's API).
///
/// ```no_run
/// use cinder_snapshots::{Error, TransportErrorKind, snapshots};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// match snapshots::get(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21") {
///     Err(Error::Transport { source, .. }) if source.kind() == TransportErrorKind::Timeout => eprintln!("Cinder is slow"),
///     other => { other?; }
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    pub(crate) inner: Box<ureq::Error>,
}

impl TransportError {
    pub(crate) fn new(inner: ureq::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match &inner {
            ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
            ureq::Error::HostNotFound => TransportErrorKind::Dns,
            ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
            ureq::Error::BodyExceedsLimit(_) => TransportErrorKind::TooLarge,
            ureq::Error::Protocol(_) | ureq::Error::Http(_) | ureq::Error::BadUri(_) => TransportErrorKind::Protocol,
            ureq::Error::Io(io) => match io.kind() {
                Io::TimedOut | Io::WouldBlock => TransportErrorKind::Timeout,
                // rustls reports a refused certificate as invalid data.
                Io::InvalidData => TransportErrorKind::Tls,
                Io::ConnectionRefused | Io::HostUnreachable | Io::NetworkUnreachable | Io::AddrNotAvailable => TransportErrorKind::Connect,
                _ => TransportErrorKind::Io,
            },
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(_) => TransportErrorKind::Tls,
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(_) => TransportErrorKind::Tls,
            _ => TransportErrorKind::Other,
        };
        TransportError { kind, inner: Box::new(inner) }
    }

    /// What failed.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.inner)
    }
}

/// A failed exchange, as the retry loop sees it before it becomes an [`Error`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure<'a> {
    /// The server answered this (non-2xx) status.
    Status(u16),
    /// The request could not be sent or its answer read.
    Transport(&'a ureq::Error),
}

/// What sending the same request again may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transience {
    /// It would fail the same way: any 4xx but 429, 500, 501, a certificate refused by TLS, a
    /// host name that does not resolve, a body over the size cap, a bad URL.
    Permanent,
    /// It may succeed later, and the client retries it (idempotent requests only): 429, 502,
    /// 503, 504, a connection refused, reset or closed, a garbled answer.
    Retry,
    /// It may succeed later, but the client does not retry it by itself: a timeout, since
    /// each try would cost the whole timeout again. Waits still tolerate it.
    Later,
}

/// The one place that decides whether a failure is worth another try: the client's retry
/// loop (Cinder, Keystone and the version discovery alike) retries [`Transience::Retry`], and
/// [`Error::is_transient`] is `true` for everything but [`Transience::Permanent`].
pub(crate) fn transience(failure: Failure<'_>) -> Transience {
    match failure {
        Failure::Status(429 | 502 | 503 | 504) => Transience::Retry,
        Failure::Status(_) => Transience::Permanent,
        // rustls reports a refused certificate as invalid data: it would be refused again.
        Failure::Transport(ureq::Error::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => Transience::Permanent,
        Failure::Transport(ureq::Error::Io(io)) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
            Transience::Later
        }
        Failure::Transport(ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_)) => Transience::Retry,
        Failure::Transport(ureq::Error::Timeout(_)) => Transience::Later,
        Failure::Transport(_) => Transience::Permanent,
    }
}

/// Why a wait ended without reaching its target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitErrorKind {
    /// The resource reached a failure status (`error`, `error_deleting`, ...), as Cinder
    /// writes it.
    Failed(String),
    /// The time ran out.
    TimedOut,
    /// The cancel flag was set.
    Cancelled,
    /// The resource disappeared (404) while waiting for a status.
    Vanished,
    /// While waiting for a delete, the resource went back to `available`: the backend
    /// refused or failed the delete.
    DeleteRefused,
}

/// A wait that ended without reaching its target, with what it saw last. The same for
/// every resource: [`resource`](Self::resource) says which kind, and [`last`](Self::last)
/// gives the last state seen as the resource's own type.
///
/// ```no_run
/// use cinder_snapshots::{Error, WaitErrorKind, snapshots::{self, Snapshot, SnapshotStatus, WaitOpts}};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// match snapshots::wait_for_status(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", SnapshotStatus::Available, &WaitOpts::new()) {
///     Err(Error::Wait(w)) if w.kind == WaitErrorKind::TimedOut => {
///         let progress = w.last::<Snapshot>().and_then(|s| s.progress.clone());
///         eprintln!("{w} (progress {progress:?})");
///     }
///     other => { other?; }
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct WaitError {
    /// Why it ended.
    pub kind: WaitErrorKind,
    /// What was waited on: `"snapshot"`, `"volume"`.
    pub resource: &'static str,
    /// Its id.
    pub id: String,
    /// What was waited for (a status, or `deleted`).
    pub target: String,
    /// The last status seen, as Cinder writes it, if any.
    pub last_status: Option<String>,
    /// Time spent waiting.
    pub elapsed: Duration,
    /// Cinder's newest user message about the resource (`GET /messages`, 3.3+), fetched
    /// when it failed; it often says why.
    pub user_message: Option<String>,
    pub(crate) last: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl WaitError {
    /// The last state seen, as the resource's type (`w.last::<Snapshot>()`); `None` when
    /// nothing was seen or `T` is another type.
    pub fn last<T: 'static>(&self) -> Option<&T> {
        self.last.as_deref().and_then(|a| a.downcast_ref::<T>())
    }
}

impl fmt::Debug for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitError")
            .field("kind", &self.kind)
            .field("resource", &self.resource)
            .field("id", &self.id)
            .field("target", &self.target)
            .field("last_status", &self.last_status)
            .field("elapsed", &self.elapsed)
            .field("user_message", &self.user_message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let (kind, id, target) = (self.resource, &self.id, &self.target);
        match &self.kind {
            WaitErrorKind::Failed(status) => write!(f, "{kind} {id} went to {status} while waiting for {target} ({secs:.1} s)")?,
            WaitErrorKind::TimedOut => {
                let last = self.last_status.as_deref().unwrap_or("unknown");
                write!(f, "{kind} {id} did not reach {target} within {secs:.1} s (last status: {last})")?;
            }
            WaitErrorKind::Cancelled => write!(f, "waiting for {kind} {id} to reach {target} was cancelled after {secs:.1} s")?,
            WaitErrorKind::Vanished => write!(f, "{kind} {id} disappeared while waiting for {target} ({secs:.1} s)")?,
            WaitErrorKind::DeleteRefused => {
                write!(f, "{kind} {id} went back to available: the delete was refused or failed ({secs:.1} s)")?
            }
        }
        if let Some(m) = &self.user_message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitError {}

/// An error status answered by Cinder or Keystone, with everything the answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// HTTP method of the request.
    pub method: String,
    /// URL of the request.
    pub url: String,
    /// The fault name: Cinder's envelope key (`itemNotFound`, `badRequest`, `overLimit`, ...),
    /// or the `title` of a Keystone or routing error (`Unauthorized`, `Not Found`, ...).
    pub fault: Option<String>,
    /// The server's message, or a short excerpt of the body when it had none.
    pub message: String,
    /// `x-openstack-request-id`, else `x-compute-request-id`.
    pub request_id: Option<String>,
    /// How long the server asked to wait (`Retry-After` header, in seconds or as an HTTP
    /// date, else the body's `retryAfter`).
    pub retry_after: Option<Duration>,
    /// How many times the request was sent (retries included).
    pub attempts: u32,
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} answered HTTP {}", self.method, self.url, self.status)?;
        if let Some(fault) = &self.fault {
            write!(f, " {fault}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {} s)", after.as_secs())?;
        }
        f.write_str(&attempts_note(self.attempts))
    }
}

impl std::error::Error for ApiError {}

/// The fields of an error answer, whatever shape its body has.
pub(crate) struct Fault {
    pub name: Option<String>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// Reads the three error body shapes the real servers send:
/// Cinder's `{"<fault>": {"code", "message"[, "retryAfter"]}}`, Keystone's and
/// keystonemiddleware's `{"error": {"code", "title", "message"}}`, and the routing 404
/// `{"message", "code", "title"}`. Anything else gives a short excerpt of the body.
pub(crate) fn parse_fault(body: &[u8]) -> Fault {
    use serde_json::Value;
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        // Routing errors: the fields are at the top level.
        if let Some(Value::String(message)) = map.get("message") {
            return Fault {
                name: map.get("title").and_then(Value::as_str).map(str::to_owned),
                message: message.clone(),
                retry_after: None,
            };
        }
        if map.len() == 1 {
            if let Some((key, Value::Object(inner))) = map.iter().next() {
                let message = inner.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                let retry_after = inner
                    .get("retryAfter")
                    .and_then(|v| match v {
                        Value::String(s) => s.trim().parse::<u64>().ok(),
                        Value::Number(n) => n.as_u64(),
                        _ => None,
                    })
                    .map(Duration::from_secs);
                // Keystone's envelope is named "error" and carries the reason as "title".
                let name = if key == "error" { inner.get("title").and_then(Value::as_str).map(str::to_owned) } else { Some(key.clone()) };
                return Fault { name, message, retry_after };
            }
        }
    }
    Fault { name: None, message: excerpt(body), retry_after: None }
}

/// `a; b; c` of each shortfall's text.
pub(crate) fn shortfalls_text(shortfalls: &[crate::quotas::Shortfall]) -> String {
    shortfalls.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The first characters of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_retried_and_transient() {
        let api = |status: u16| {
            Error::Api(Box::new(ApiError {
                status,
                method: "GET".into(),
                url: "http://h/".into(),
                fault: None,
                message: String::new(),
                request_id: None,
                retry_after: None,
                attempts: 1,
            }))
        };
        for status in [400, 401, 403, 404, 406, 409, 413, 500, 501, 505] {
            assert_eq!(transience(Failure::Status(status)), Transience::Permanent, "{status}");
            assert!(!api(status).is_transient(), "{status}");
        }
        for status in [429, 502, 503, 504] {
            assert_eq!(transience(Failure::Status(status)), Transience::Retry, "{status}");
            assert!(api(status).is_transient(), "{status}");
        }
        let transport = |source: ureq::Error| Error::Transport {
            method: "GET".into(),
            url: "http://h/".into(),
            source: TransportError::new(source),
            attempts: 1,
        };
        let reset = || ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(transience(Failure::Transport(&reset())), Transience::Retry);
        assert_eq!(transience(Failure::Transport(&ureq::Error::ConnectionFailed)), Transience::Retry);
        assert!(transport(reset()).is_transient());
        let timeout = || ureq::Error::Timeout(ureq::Timeout::Global);
        assert_eq!(transience(Failure::Transport(&timeout())), Transience::Later);
        assert!(transport(timeout()).is_transient());
        let tls = || ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid peer certificate"));
        for permanent in [tls(), ureq::Error::HostNotFound, ureq::Error::BodyExceedsLimit(1)] {
            assert_eq!(transience(Failure::Transport(&permanent)), Transience::Permanent, "{permanent}");
            assert!(!transport(permanent).is_transient());
        }
        assert!(!Error::Config("x".into()).is_transient());
    }

    #[test]
    fn cinder_fault_with_retry_after() {
        let f = parse_fault(br#"{"overLimit": {"code": 413, "message": "SnapshotLimitExceeded: x", "retryAfter": "7"}}"#);
        assert_eq!(f.name.as_deref(), Some("overLimit"));
        assert_eq!(f.message, "SnapshotLimitExceeded: x");
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn keystone_fault_uses_title() {
        let f = parse_fault(br#"{"error": {"code": 401, "title": "Unauthorized", "message": "nope"}}"#);
        assert_eq!(f.name.as_deref(), Some("Unauthorized"));
        assert_eq!(f.message, "nope");
    }

    #[test]
    fn routing_fault() {
        let f = parse_fault(br#"{"message": "The resource could not be found.", "code": "404 Not Found", "title": "Not Found"}"#);
        assert_eq!(f.name.as_deref(), Some("Not Found"));
        assert_eq!(f.message, "The resource could not be found.");
    }

    #[test]
    fn html_body_gives_excerpt() {
        let body = format!("<html>{}</html>", "x".repeat(500));
        let f = parse_fault(body.as_bytes());
        assert_eq!(f.name, None);
        assert!(f.message.starts_with("<html>xxx"));
        assert!(f.message.ends_with("..."));
        assert_eq!(f.message.chars().count(), 203);
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let body = "é".repeat(300);
        assert_eq!(excerpt(body.as_bytes()).chars().count(), 203);
    }
}
