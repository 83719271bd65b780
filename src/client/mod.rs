//! The `ServiceClient`: one authenticated, microversion-aware path to the block-storage
//! endpoint, shared by every resource call.
//!
//! Everything that crosses the network goes through here, one concern a file: `session`
//! (the Keystone token: fetch, cache, refresh, the one re-authentication after a 401),
//! `transport` (one exchange, retries, backoff, `Retry-After`, the body cap, error mapping),
//! `clock` (the cloud's time from the `Date` of Cinder's answers),
//! `microversion` (the version type and its discovery), `request` (what a caller sends and
//! gets back) and `builder` (the settings).

mod builder;
mod clock;
mod microversion;
mod request;
mod resolver;
mod session;
mod sleeper;
mod transport;

use std::fmt;
#[cfg(feature = "log")]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use url::Url;

pub use builder::{PollPolicy, RetryPolicy, ServiceClientBuilder};
pub use clock::CLOCK_SKEW_ALLOWED;
pub use microversion::{Microversion, MicroversionPolicy};
#[cfg(fuzzing)]
pub(crate) use request::retry_after;
pub use request::{Method, Request, Response};
pub use sleeper::{Sleeper, SystemSleeper};

use session::Session;

use crate::auth::{AuthOptions, Interface, Secret, TokenCache};
use crate::error::{Error, Result};

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
/// for snap in snapshots::list_detail(&client, &snapshots::ListOpts::new())? {
///     let snap = snap?;
///     println!("{} {}", snap.id, snap.status);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
    /// When every request of this handle must have ended (see [`Self::with_deadline`]).
    deadline: Option<std::time::Instant>,
}

/// What identifies the cloud and the project of a client, without a request: the job lock's
/// key ([`crate::job::JobLock`]).
impl ServiceClient {
    pub(crate) fn identity(&self) -> Option<String> {
        match (&self.inner.auth, &self.inner.endpoint_override) {
            (Some(auth), _) => {
                let scope = match auth.scope() {
                    crate::auth::Scope::Default => "default scope".to_owned(),
                    crate::auth::Scope::ProjectId(id) => format!("project id {id}"),
                    crate::auth::Scope::ProjectName { name, domain } => format!("project {name} in {domain:?}"),
                    crate::auth::Scope::Domain(domain) => format!("domain {domain:?}"),
                };
                Some(format!("{} | {scope}", auth.auth_url().trim().trim_end_matches('/')))
            }
            (None, Some(endpoint)) => Some(format!("endpoint {endpoint}")),
            (None, None) => None,
        }
    }
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
    /// Where the pauses read the time and sleep.
    sleeper: Arc<dyn Sleeper>,
    /// Until when a rate limiter asked for a pause: every create and delete (POST, DELETE)
    /// to the endpoint waits for it, on every thread and clone.
    paused_until: Mutex<Option<Instant>>,
    session: RwLock<Option<Arc<Session>>>,
    /// Held while a token is fetched or the microversion discovered: one flight at a time.
    flight: Mutex<()>,
    microversion: OnceLock<Microversion>,
    /// The cloud's clock minus the host's in seconds, from the latest Cinder answer's `Date`
    /// ([`clock::UNKNOWN`] before any).
    clock_offset: AtomicI64,
    /// Set once a clock skew with Keystone has been logged.
    #[cfg(feature = "log")]
    skew_logged: AtomicBool,
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

    fn from_parts(inner: Inner) -> Self {
        ServiceClient { inner: Arc::new(inner), deadline: None }
    }

    /// This client (sharing its connections, token and microversion) with one deadline
    /// for all it sends: every exchange (Keystone's and Cinder's) is given at most the
    /// time left until `deadline` as its timeout, a retry's pause never goes past it, and
    /// once it has passed a request fails at once. Either way the error is
    /// [`Error::Transport`] of kind [`Timeout`](crate::TransportErrorKind::Timeout). No
    /// thread is started: the HTTP client's own per-request timeout bounds each exchange.
    pub(crate) fn with_deadline(&self, deadline: std::time::Instant) -> ServiceClient {
        ServiceClient { inner: self.inner.clone(), deadline: Some(deadline) }
    }

    /// The time left until the deadline, if there is one.
    pub(crate) fn time_left(&self) -> Option<std::time::Duration> {
        self.deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()))
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

    /// The id of the project the client works in (authenticates if needed): the token's
    /// project, or for a ready token the project its endpoint names (`.../v3/<project>`);
    /// `None` when neither says. Cinder puts what the client creates in this project, and
    /// counts it against this project's quota (whatever project the volume is in).
    pub fn project_id(&self) -> Result<Option<String>> {
        Ok(self.session()?.project_id.clone())
    }

    /// The client's retry policy (its [`RetryPolicy::max_retry_after`] is also the longest
    /// pause a rate limiter can impose).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Where the client's pauses read the time and sleep (see [`Sleeper`]).
    pub fn sleeper(&self) -> &dyn Sleeper {
        self.inner.sleeper.as_ref()
    }

    /// How long creates and deletes are still held by a rate limiter's pause (zero when
    /// none is asked for).
    pub fn pause_left(&self) -> Duration {
        let until = *self.inner.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        until.map_or(Duration::ZERO, |u| u.saturating_duration_since(self.inner.sleeper.now()))
    }

    /// The default polling policy of the waits made with this client.
    pub fn poll_policy(&self) -> &PollPolicy {
        &self.inner.poll
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

/// The project an endpoint names: the path segment after `v3` (`.../v3/<project>`).
fn project_in_endpoint(endpoint: &Url) -> Option<String> {
    let mut segments = endpoint.path_segments()?.skip_while(|s| *s != "v3");
    segments.next()?;
    segments.next().filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(crate) fn parse_endpoint(s: &str) -> Result<Url> {
    let url = Url::parse(s.trim()).map_err(|e| Error::Config(format!("the endpoint {s:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!("the endpoint {s:?} is not an http(s) URL")));
    }
    Ok(url)
}
