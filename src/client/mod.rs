//! The `ServiceClient`: one authenticated, microversion-aware path to the block-storage
//! endpoint, shared by every resource call.
//!
//! Everything that crosses the network goes through here: the Keystone token request, the
//! microversion discovery, and every Cinder request with its headers, error mapping and
//! the one re-authentication after a 401.

mod builder;
mod clouds;
mod env;
mod microversion;
mod request;
mod settings;

use std::fmt;
#[cfg(feature = "log")]
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use url::Url;

pub use builder::{PollPolicy, RetryPolicy, ServiceClientBuilder};
pub use microversion::{Microversion, MicroversionPolicy};
pub(crate) use request::query_string;
#[cfg(fuzzing)]
pub(crate) use request::retry_after;
pub use request::{Method, Request, Response};

use crate::auth::token::TokenBody;
use crate::auth::{AuthOptions, Interface, Secret, TokenCache, select_endpoint};
use crate::error::{ApiError, Error, Failure, Result, Transience, parse_fault, transience};

/// A blocking client for the block-storage (Cinder v3) endpoint.
///
/// Cheap to clone: clones share one connection pool, one token and one negotiated
/// microversion. `Send + Sync`, so one client can serve many threads.
///
/// The client authenticates lazily, on its first request (or on
/// [`authenticate`](Self::authenticate)). It refreshes the token shortly before it expires
/// (the token's lifetime counted from its arrival, so a clock that differs from Keystone's
/// does not matter), and when Cinder answers 401 it re-authenticates once, shared by all
/// threads that saw the 401, and replays the request once.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, snapshots};
/// let client = ServiceClient::from_env()?;
/// for snap in snapshots::list_detail(&client, &snapshots::ListOpts::default())? {
///     let snap = snap?;
///     println!("{} {}", snap.id, snap.status);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    /// Credentials; `None` for a client made from a ready token and endpoint.
    auth: Option<AuthOptions>,
    /// The on-disk token cache and this client's key in it.
    token_cache: Option<(TokenCache, String)>,
    endpoint_override: Option<Url>,
    interface: Interface,
    region: Option<String>,
    policy: MicroversionPolicy,
    reauthenticate: bool,
    user_agent: String,
    max_response_bytes: u64,
    poll: PollPolicy,
    retry: RetryPolicy,
    session: RwLock<Option<Arc<Session>>>,
    /// Held while a token is fetched or the microversion discovered: one flight at a time.
    flight: Mutex<()>,
    microversion: OnceLock<Microversion>,
    /// Set once a clock skew with Keystone has been logged.
    #[cfg(feature = "log")]
    skew_logged: AtomicBool,
}

/// A token and the endpoint found with it.
struct Session {
    token: Secret,
    /// When to fetch the next token, on the monotonic clock; `None`: no known end, the token
    /// is used until Cinder refuses it.
    refresh_at: Option<Instant>,
    endpoint: Url,
    generation: u64,
}

impl Session {
    fn is_fresh(&self) -> bool {
        self.refresh_at.is_none_or(|at| Instant::now() < at)
    }
}

/// The longest a token is replaced before its end.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(120);
/// A difference between Keystone's clock and the local one worth a log line.
const SKEW_NOTED: time::Duration = time::Duration::seconds(60);

/// When a token must be replaced, and how far Keystone's clock seems to be from the local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refresh {
    /// Replace the token this long after `now`; `None`: no known end, use it until refused.
    after: Option<Duration>,
    /// Keystone's clock minus the local clock, when they differ by more than [`SKEW_NOTED`].
    skew: Option<time::Duration>,
}

/// When to replace a token, from Keystone's `issued_at` and `expires_at`, the local time
/// `received` at which the token arrived (`None`: unknown, for a cache entry written by an
/// older version) and the local time `now`.
///
/// Keystone's two times are read on Keystone's clock, which may be hours away from the local
/// one (a host whose clock drifted or was set wrong). Comparing `expires_at` with the local
/// time would then find a token expired on arrival and fetch a new one before every request.
/// So the token's lifetime, `expires_at - issued_at` (a difference of two readings of one
/// clock, free of any skew), is counted from the local time the token arrived, and the token
/// is replaced a quarter of its lifetime (at most 2 minutes) before that end.
///
/// Without a usable lifetime (no `issued_at`, or not before `expires_at`), `expires_at` is
/// compared with the local clock; a token that had (all but) expired on arrival cannot have
/// really expired, since Keystone has just issued it: it is used until Cinder refuses it,
/// and the 401 brings the one re-authentication. A token without `expires_at` is used until
/// refused too.
fn refresh_after(
    issued_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
    received: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Refresh {
    let Some(expires) = expires_at else { return Refresh { after: None, skew: None } };
    let lifetime = issued_at.map(|issued| expires - issued).filter(|l| l.is_positive());
    if let (Some(lifetime), Some(received)) = (lifetime, received) {
        let lifetime = lifetime.unsigned_abs();
        let margin = (lifetime / 4).min(MAX_REFRESH_MARGIN);
        // A local clock set back since the arrival counts as no time at all.
        let age = Duration::try_from(now - received).unwrap_or(Duration::ZERO);
        let after = lifetime.saturating_sub(margin).saturating_sub(age);
        let skew = issued_at.map(|issued| issued - received).filter(|s| s.abs() > SKEW_NOTED);
        return Refresh { after: Some(after), skew };
    }
    let margin = time::Duration::try_from(MAX_REFRESH_MARGIN).unwrap_or(time::Duration::ZERO);
    if let Some(received) = received {
        let left_on_arrival = expires - received;
        if left_on_arrival <= margin {
            return Refresh { after: None, skew: Some(left_on_arrival).filter(|s| s.abs() > SKEW_NOTED) };
        }
    }
    let left = (expires - now).checked_sub(margin).unwrap_or(time::Duration::ZERO);
    Refresh { after: Some(Duration::try_from(left).unwrap_or(Duration::ZERO)), skew: None }
}

/// A raw answer, before it is judged.
struct Raw {
    status: u16,
    request_id: Option<String>,
    retry_after: Option<String>,
    subject_token: Option<String>,
    body: Vec<u8>,
}

impl ServiceClient {
    /// A builder for a client that authenticates with Keystone.
    ///
    /// ```no_run
    /// use cinder_snapshots::{AuthOptions, Domain, Interface, Scope, ServiceClient};
    /// let client = ServiceClient::builder(
    ///     AuthOptions::password("https://keystone.example.com/v3", "ops", Domain::name("Default"), "secret"),
    /// )
    /// .scope(Scope::project_name("ops", Domain::name("Default")))
    /// .region("RegionOne")
    /// .interface(Interface::Public)
    /// .build()?;
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn builder(auth: AuthOptions) -> ServiceClientBuilder {
        ServiceClientBuilder::new(Some(auth))
    }

    /// A builder for a client that uses a ready token and endpoint, with no Keystone at all.
    /// Such a client cannot re-authenticate: a 401 is returned as it is.
    ///
    /// ```no_run
    /// use cinder_snapshots::ServiceClient;
    /// let client = ServiceClient::with_token("https://cinder.example.com:8776/v3/PROJECT", "gAAAA...")?.build()?;
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn with_token(endpoint: &str, token: impl Into<Secret>) -> Result<ServiceClientBuilder> {
        ServiceClientBuilder::new(None).static_token(endpoint, token.into())
    }

    /// A client configured from the standard `OS_*` environment variables; see
    /// [`ServiceClientBuilder::from_env`] for the list.
    pub fn from_env() -> Result<ServiceClient> {
        ServiceClientBuilder::from_env()?.build()
    }

    /// A client for cloud `name` of clouds.yaml; see [`ServiceClientBuilder::from_cloud`].
    pub fn from_cloud(name: &str) -> Result<ServiceClient> {
        ServiceClientBuilder::from_cloud(name)?.build()
    }

    fn from_parts(inner: Inner) -> Self {
        ServiceClient { inner: Arc::new(inner) }
    }

    /// Authenticates (if not done yet), finds the endpoint and the microversion, so that
    /// configuration errors show up now rather than at the first call.
    pub fn authenticate(&self) -> Result<()> {
        let session = self.session()?;
        self.negotiated(&session)?;
        Ok(())
    }

    /// The block-storage endpoint URL in use (authenticates if needed).
    pub fn endpoint(&self) -> Result<Url> {
        Ok(self.session()?.endpoint.clone())
    }

    /// The microversion sent with every request (authenticates and negotiates if needed).
    pub fn microversion(&self) -> Result<Microversion> {
        let session = self.session()?;
        self.negotiated(&session)
    }

    /// The token in use (authenticates if needed), for calling other services with it.
    /// Its `Debug` and `Display` are redacted.
    pub fn token(&self) -> Result<Secret> {
        Ok(self.session()?.token.clone())
    }

    /// The default polling policy of the waits made with this client.
    pub fn poll_policy(&self) -> &PollPolicy {
        &self.inner.poll
    }

    /// Sends a request to the block-storage endpoint and returns its successful answer;
    /// an error status becomes [`Error::Api`].
    ///
    /// A 401 leads to one re-authentication and one replay (when the client holds
    /// credentials). Idempotent requests (GET, PUT, DELETE) are retried as the client's
    /// [`RetryPolicy`] says; POST requests are not.
    pub fn send(&self, request: Request) -> Result<Response> {
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
            let raw = self.with_retries(may_retry, &mut attempts, || self.exchange(&request, &url, &session.token, version))?;
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
    fn with_retries(&self, may_retry: bool, attempts: &mut u32, mut send: impl FnMut() -> Result<Raw>) -> Result<Raw> {
        let retry = &self.inner.retry;
        loop {
            *attempts = attempts.saturating_add(1);
            let retries_left = may_retry && *attempts <= retry.max_retries;
            match send() {
                Ok(raw) if retries_left && transience(Failure::Status(raw.status)) == Transience::Retry => {
                    match raw.retry_after.as_deref().and_then(request::retry_after) {
                        // The server asks for longer than we wait: its answer, at once.
                        Some(wait) if wait > retry.max_retry_after => return Ok(raw),
                        Some(wait) => std::thread::sleep(wait),
                        None => std::thread::sleep(backoff(retry, *attempts)),
                    }
                }
                Ok(raw) => return Ok(raw),
                Err(Error::Transport { source, .. }) if retries_left && transience(Failure::Transport(&source)) == Transience::Retry => {
                    std::thread::sleep(backoff(retry, *attempts));
                }
                Err(Error::Transport { method, url, source, .. }) => {
                    return Err(Error::Transport { method, url, source, attempts: *attempts });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn can_reauthenticate(&self) -> bool {
        self.inner.reauthenticate && self.inner.auth.as_ref().is_some_and(AuthOptions::can_reauthenticate)
    }

    /// The current session, fetching a token when there is none or it is about to expire.
    fn session(&self) -> Result<Arc<Session>> {
        let current = self.inner.session.read().unwrap_or_else(PoisonError::into_inner).clone();
        match current {
            Some(s) if s.is_fresh() || !self.can_reauthenticate() => Ok(s),
            Some(s) => self.refresh(Some(s.generation), false),
            None => self.refresh(None, false),
        }
    }

    /// Fetches a new token unless another thread already replaced the session `stale`
    /// names. Single-flight: one thread authenticates, the others wait and share its token.
    /// `rejected`: Cinder refused the current token (401), so a cached copy is dropped.
    fn refresh(&self, stale: Option<u64>, rejected: bool) -> Result<Arc<Session>> {
        let _flight = self.inner.flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = self.inner.session.read().unwrap_or_else(PoisonError::into_inner).clone() {
            if Some(s.generation) != stale && s.is_fresh() {
                return Ok(s);
            }
        }
        let Some(auth) = &self.inner.auth else {
            return Err(Error::Config("the client has no credentials to authenticate with".into()));
        };
        let generation = stale.map_or(1, |g| g + 1);
        let session = match &self.inner.token_cache {
            Some((cache, key)) => self.cached_session(cache, key, rejected, generation).map_or_else(
                || {
                    let (token, body, raw) = self.authenticate_with(auth)?;
                    let received = OffsetDateTime::now_utc();
                    let session = self.session_from(token, &body, generation, Some(received))?;
                    cache.store(key, &session.token, &raw, received);
                    Ok::<_, Error>(session)
                },
                Ok,
            )?,
            None => {
                let (token, body, _) = self.authenticate_with(auth)?;
                self.session_from(token, &body, generation, Some(OffsetDateTime::now_utc()))?
            }
        };
        let session = Arc::new(session);
        *self.inner.session.write().unwrap_or_else(PoisonError::into_inner) = Some(session.clone());
        Ok(session)
    }

    /// A fresh session from the on-disk cache, if it has one; a rejected token is dropped.
    fn cached_session(&self, cache: &TokenCache, key: &str, rejected: bool, generation: u64) -> Option<Session> {
        if rejected {
            cache.remove(key);
            return None;
        }
        let cached = cache.load(key)?;
        let body: TokenBody = serde_json::from_slice(&cached.body).ok()?;
        let session = self.session_from(cached.token, &body, generation, cached.received_at).ok()?;
        let usable = session.refresh_at.is_some() && session.is_fresh();
        #[cfg(feature = "log")]
        log::debug!(target: "cinder_snapshots", "token cache {}: {}", cache.dir().display(), if usable { "hit" } else { "stale" });
        usable.then_some(session)
    }

    /// One token request to Keystone (with the client's retries): the token, its parsed
    /// answer and the raw answer body.
    ///
    /// Keystone's 401 and 403 are [`Error::Auth`]; any other error status (a 404 for a wrong
    /// auth URL, a 503) is an [`Error::Api`] with Keystone's fault and request id. The token
    /// request is retried like an idempotent request, POST as it is: it creates nothing
    /// durable (a token is computed, or an expiring row at most), and a 401 is never retried,
    /// so a wrong password is never sent twice by the retries.
    fn authenticate_with(&self, auth: &AuthOptions) -> Result<(Secret, TokenBody, Vec<u8>)> {
        let url = auth.tokens_url()?;
        let mut attempts = 0;
        let (method, request) = if auth.is_token_passthrough() {
            // Validate the token we already have and read its catalog.
            let token = match &auth.method {
                crate::auth::AuthMethod::Token { token } => token.expose_secret(),
                _ => "",
            };
            let raw = self.with_retries(true, &mut attempts, || {
                let req = ureq::http::Request::builder()
                    .method("GET")
                    .uri(url.as_str())
                    .header("X-Auth-Token", token)
                    .header("X-Subject-Token", token);
                self.run(req, None, Method::Get, &url)
            })?;
            (Method::Get, raw)
        } else {
            let body = auth.request_body().to_string().into_bytes();
            let raw = self.with_retries(true, &mut attempts, || {
                let req = ureq::http::Request::builder().method("POST").uri(url.as_str()).header("Content-Type", "application/json");
                self.run(req, Some(body.clone()), Method::Post, &url)
            })?;
            (Method::Post, raw)
        };
        if !(200..300).contains(&request.status) {
            let mut api = api_error(request, method, url.as_str());
            api.attempts = attempts;
            if matches!(api.status, 401 | 403) {
                return Err(Error::Auth { message: format!("Keystone refused the credentials: {api}"), api: Some(Box::new(api)) });
            }
            return Err(Error::Api(Box::new(api)));
        }
        let token = request.subject_token.clone().filter(|t| !t.is_empty()).ok_or_else(|| Error::Auth {
            message: format!("Keystone answered {method} {url} with HTTP {} but without an X-Subject-Token header", request.status),
            api: None,
        })?;
        let body: TokenBody = serde_json::from_slice(&request.body).map_err(|e| Error::Decode {
            what: "Keystone token",
            method: method.to_string(),
            url: url.to_string(),
            status: request.status,
            message: e.to_string(),
            excerpt: crate::error::excerpt(&request.body),
        })?;
        Ok((Secret::new(token), body, request.body))
    }

    /// A session from a token and Keystone's answer, `received` at that local time: the
    /// endpoint from its catalog (or the override) and the time to refresh it (see
    /// [`refresh_after`]).
    fn session_from(&self, token: Secret, body: &TokenBody, generation: u64, received: Option<OffsetDateTime>) -> Result<Session> {
        let endpoint = match &self.inner.endpoint_override {
            Some(url) => url.clone(),
            None => {
                let found = select_endpoint(&body.token.catalog, self.inner.interface, self.inner.region.as_deref())?;
                parse_endpoint(&found)?
            }
        };
        let refresh = refresh_after(body.token.issued_at, body.token.expires_at, received, OffsetDateTime::now_utc());
        #[cfg(feature = "log")]
        if let Some(skew) = refresh.skew {
            if !self.inner.skew_logged.swap(true, std::sync::atomic::Ordering::Relaxed) {
                let (secs, way) = (skew.whole_seconds().unsigned_abs(), if skew.is_negative() { "behind" } else { "ahead of" });
                log::warn!(
                    target: "cinder_snapshots",
                    "Keystone's clock is about {secs} s {way} this host's: the token's lifetime is counted from its arrival, \
                     and a token the server refuses is replaced once"
                );
            }
        }
        // No end that the monotonic clock can hold (centuries away): none at all.
        let refresh_at = refresh.after.and_then(|after| Instant::now().checked_add(after));
        Ok(Session { token, refresh_at, endpoint, generation })
    }

    /// The microversion to send: pinned, or negotiated once and shared by clones.
    fn negotiated(&self, session: &Session) -> Result<Microversion> {
        if let MicroversionPolicy::Pinned(v) = self.inner.policy {
            return Ok(v);
        }
        if let Some(v) = self.inner.microversion.get() {
            return Ok(*v);
        }
        let _flight = self.inner.flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = self.inner.microversion.get() {
            return Ok(*v);
        }
        let root = service_root(&session.endpoint);
        let mut attempts = 0;
        let raw = self.with_retries(true, &mut attempts, || {
            let req = ureq::http::Request::builder().method("GET").uri(root.as_str());
            self.run(req, None, Method::Get, &root)
        })?;
        // The unversioned root answers 300 Multiple Choices; any other error status is the
        // server's answer, kept whole (a 503 is transient, as for any request).
        if !(200..=300).contains(&raw.status) {
            let mut api = api_error(raw, Method::Get, root.as_str());
            api.attempts = attempts;
            return Err(Error::Api(Box::new(api)));
        }
        let server_max = microversion::max_from_versions(&raw.body).map_err(|message| Error::Decode {
            what: "version document",
            method: "GET".into(),
            url: root.to_string(),
            status: raw.status,
            message,
            excerpt: crate::error::excerpt(&raw.body),
        })?;
        let version = server_max.min(Microversion::LATEST_KNOWN);
        let _ = self.inner.microversion.set(version);
        Ok(version)
    }

    /// One Cinder exchange with the client's headers.
    fn exchange(&self, request: &Request, url: &Url, token: &Secret, version: Microversion) -> Result<Raw> {
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
    fn run(&self, req: ureq::http::request::Builder, body: Option<Vec<u8>>, method: Method, url: &Url) -> Result<Raw> {
        let req = req.header("Accept", "application/json").header("User-Agent", self.inner.user_agent.as_str());
        #[cfg(feature = "log")]
        let start = std::time::Instant::now();
        let transport = |source: ureq::Error| {
            #[cfg(feature = "log")]
            log::debug!(target: "cinder_snapshots", "{method} {url} failed after {:?}: {source}", start.elapsed());
            Error::Transport { method: method.to_string(), url: url.to_string(), source, attempts: 1 }
        };
        let built = match body {
            Some(b) => req.body(b).map(|r| self.inner.agent.run(r)),
            None => req.body(()).map(|r| self.inner.agent.run(r)),
        };
        let mut resp = built.map_err(|e| transport(ureq::Error::Http(e)))?.map_err(transport)?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request_id = header("x-openstack-request-id").or_else(|| header("x-compute-request-id"));
        let retry_after = header("retry-after");
        let subject_token = header("x-subject-token");
        let status = resp.status().as_u16();
        // Sized from Content-Length (within the cap) so that a large page is not copied as it grows.
        let limit = self.inner.max_response_bytes;
        let mut body = Vec::with_capacity(resp.body().content_length().unwrap_or(0).min(limit).try_into().unwrap_or(0));
        std::io::Read::read_to_end(&mut resp.body_mut().with_config().limit(limit).reader(), &mut body)
            .map_err(|e| transport(ureq::Error::from(e)))?;
        #[cfg(feature = "log")]
        log::debug!(
            target: "cinder_snapshots",
            "{method} {url} {status} in {:?}, {} bytes, request id {}",
            start.elapsed(),
            body.len(),
            request_id.as_deref().unwrap_or("-")
        );
        Ok(Raw { status, request_id, retry_after, subject_token, body })
    }
}

impl fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let session = self.inner.session.read().unwrap_or_else(PoisonError::into_inner).clone();
        f.debug_struct("ServiceClient")
            .field("auth", &self.inner.auth)
            .field("endpoint", &session.as_ref().map(|s| s.endpoint.as_str()).or(self.inner.endpoint_override.as_ref().map(Url::as_str)))
            .field("interface", &self.inner.interface)
            .field("region", &self.inner.region)
            .field(
                "microversion",
                &self.inner.microversion.get().map(ToString::to_string).unwrap_or_else(|| format!("{:?}", self.inner.policy)),
            )
            .field("authenticated", &session.is_some())
            .finish_non_exhaustive()
    }
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

fn api_error(raw: Raw, method: Method, url: &str) -> ApiError {
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

pub(crate) fn parse_endpoint(s: &str) -> Result<Url> {
    let url = Url::parse(s.trim()).map_err(|e| Error::Config(format!("the endpoint {s:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!("the endpoint {s:?} is not an http(s) URL")));
    }
    Ok(url)
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

/// The unversioned root of a block-storage endpoint: everything before its `/v3` segment
/// (`https://c/volume/v3/P` gives `https://c/volume/`).
fn service_root(endpoint: &Url) -> Url {
    let mut root = endpoint.clone();
    let path = endpoint.path();
    let prefix = match path.split('/').position(|seg| seg.starts_with("v3")) {
        Some(i) => path.split('/').take(i).collect::<Vec<_>>().join("/"),
        None => path.trim_end_matches('/').to_owned(),
    };
    root.set_path(&format!("{prefix}/"));
    root.set_query(None);
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_root_strips_the_versioned_part() {
        for (endpoint, root) in [
            ("http://127.0.0.1:8776/v3/27b1", "http://127.0.0.1:8776/"),
            ("http://127.0.0.1:8776/v3", "http://127.0.0.1:8776/"),
            ("https://c/volume/v3/p/", "https://c/volume/"),
            ("https://c/volume", "https://c/volume/"),
        ] {
            assert_eq!(service_root(&Url::parse(endpoint).unwrap()).as_str(), root);
        }
    }

    #[test]
    fn a_token_lives_its_lifetime_from_its_arrival_whatever_the_clocks_say() {
        let now = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let two_min = Duration::from_secs(120);
        // In step: an hour's token is replaced 2 minutes before its end.
        let r = refresh_after(Some(now), Some(now + hour), Some(now), now);
        assert_eq!(r, Refresh { after: Some(Duration::from_secs(3600) - two_min), skew: None });
        // Keystone 5 hours behind, or 5 hours ahead: the same, and the skew is told.
        for skew in [-5 * hour, 5 * hour] {
            let r = refresh_after(Some(now + skew), Some(now + skew + hour), Some(now), now);
            assert_eq!(r, Refresh { after: Some(Duration::from_secs(3600) - two_min), skew: Some(skew) });
        }
        // A cached token that arrived 50 minutes ago (local time) has 8 minutes left.
        let arrived = now - time::Duration::minutes(50);
        let r = refresh_after(Some(arrived - 3 * hour), Some(arrived - 2 * hour), Some(arrived), now);
        assert_eq!(r.after, Some(Duration::from_secs(8 * 60)));
        // ... and one from 2 hours ago is stale.
        let arrived = now - 2 * hour;
        assert_eq!(refresh_after(Some(arrived), Some(arrived + hour), Some(arrived), now).after, Some(Duration::ZERO));
        // A short token: a quarter of its lifetime as margin.
        let r = refresh_after(Some(now), Some(now + time::Duration::seconds(20)), Some(now), now);
        assert_eq!(r.after, Some(Duration::from_secs(15)));
        // A local clock set back since the arrival: the whole lifetime is left.
        let r = refresh_after(Some(now), Some(now + hour), Some(now + hour), now);
        assert_eq!(r.after, Some(Duration::from_secs(3600) - two_min));
    }

    #[test]
    fn without_a_lifetime_the_local_clock_decides_and_expired_on_arrival_means_until_refused() {
        let now = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        // No issued_at: expires_at on the local clock.
        let r = refresh_after(None, Some(now + hour), Some(now), now);
        assert_eq!(r, Refresh { after: Some(Duration::from_secs(3600 - 120)), skew: None });
        // Expired on arrival (no issued_at, or issued_at == expires_at): used until refused.
        let r = refresh_after(None, Some(now - 3 * hour), Some(now), now);
        assert_eq!(r, Refresh { after: None, skew: Some(-3 * hour) });
        let past = now - 3 * hour;
        assert_eq!(refresh_after(Some(past), Some(past), Some(now), now).after, None);
        // An old cache entry (arrival unknown) past its expiry is stale.
        assert_eq!(refresh_after(Some(past - hour), Some(past), None, now).after, Some(Duration::ZERO));
        // No expires_at: no known end.
        assert_eq!(refresh_after(Some(now), None, Some(now), now), Refresh { after: None, skew: None });
        // The far ends of the calendar do not overflow.
        let (min, max) = (time::PrimitiveDateTime::MIN.assume_utc(), time::PrimitiveDateTime::MAX.assume_utc());
        assert_eq!(refresh_after(Some(min), Some(max), Some(now), now).skew, Some(min - now));
        assert!(refresh_after(Some(min), Some(max), Some(now), now).after.is_some());
        assert_eq!(refresh_after(None, Some(min), Some(now), now).after, None);
        assert!(refresh_after(None, Some(max), None, now).after.is_some());
    }

    #[test]
    fn urls_join_encoded_segments() {
        let base = Url::parse("http://h:8776/v3/p/").unwrap();
        let url = build_url(&base, &["snapshots".into(), "a b".into(), "metadata".into()], &[("k".into(), "x:y".into())]);
        assert_eq!(url.as_str(), "http://h:8776/v3/p/snapshots/a%20b/metadata?k=x%3Ay");
    }
}
