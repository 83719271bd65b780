use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use url::Url;

use super::session::Session;
use super::{Inner, Microversion, MicroversionPolicy, ServiceClient, Sleeper, SystemSleeper, parse_endpoint};
use crate::auth::{AuthOptions, Interface, Scope, Secret, TokenCache};
use crate::error::{Error, Result};

/// The longest request or connect timeout a client uses: a day.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The longest pause between retries a client makes: an hour.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(3600);

/// How the waits poll: the client's defaults, each overridable per wait
/// ([`WaitOpts`](crate::waiting::WaitOpts)).
///
/// The interval starts at `initial_interval` and grows by `backoff_factor` after each
/// check, up to `max_interval`. Defaults: a timeout of 30 minutes, 1 s growing ×1.5 to 15 s,
/// 3 consecutive transient errors ([`Error::is_transient`]: HTTP 429, 502, 503, 504,
/// connection failures, timeouts) tolerated.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::PollPolicy;
/// let poll = PollPolicy::new().timeout(Duration::from_secs(3600)).max_interval(Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[must_use]
pub struct PollPolicy {
    pub(crate) timeout: Option<Duration>,
    pub(crate) initial_interval: Duration,
    pub(crate) backoff_factor: f64,
    pub(crate) max_interval: Duration,
    pub(crate) max_transient_errors: u32,
}

impl PollPolicy {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Give up after this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Wait with no time limit.
    pub fn forever(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// First interval between checks.
    pub fn initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// Growth of the interval after each check (below 1.0, or not a number, counts as 1.0).
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = factor;
        self
    }

    /// Largest interval between checks.
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// Consecutive transient errors tolerated.
    pub fn max_transient_errors(mut self, n: u32) -> Self {
        self.max_transient_errors = n;
        self
    }
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            timeout: Some(Duration::from_secs(30 * 60)),
            initial_interval: Duration::from_secs(1),
            backoff_factor: 1.5,
            max_interval: Duration::from_secs(15),
            max_transient_errors: 3,
        }
    }
}

/// How idempotent requests (GET, PUT, DELETE) are retried after a connection failure or an
/// HTTP 429, 502, 503 or 504: exactly the failures [`Error::is_transient`] calls transient,
/// but for timeouts (each retry would cost the whole timeout again). POST requests to Cinder
/// (create, actions, metadata merge) are never retried; Cinder's 413 `overLimit` (a quota)
/// and HTTP 500 are never retried.
///
/// Keystone's token request and the microversion discovery go through the same retries.
/// The token request is retried although it is a POST, and after any 5xx too (a Keystone
/// whose database is busy answers 500 for a moment): it creates nothing durable (a token
/// is computed, or stored as an expiring row at most), and a 401 is never retried, so the
/// retries never send a wrong password twice.
///
/// The delay doubles from `initial_backoff` up to `max_backoff`, with random jitter; a
/// `Retry-After` header (seconds or an HTTP date) is honoured when it asks for at most
/// `max_retry_after`, and a longer one ends the retries at once. Defaults: 3 retries, 500 ms
/// doubling to 8 s, `Retry-After` up to 60 s.
///
/// A rate limiter's refusal (HTTP 429, or Cinder's legacy limiter's 413 `overLimitFault`;
/// never the 413 `overLimit` of a quota) asks for a pause in `Retry-After` (seconds or an
/// HTTP date), `X-RateLimit-Retry-After` or `X-Retry-After` (the first present; a pause of
/// 0 counts as 1 s, none as the backoff). The pause, at most `max_retry_after`, then holds
/// EVERY create and delete (POST, DELETE) the client and its clones send to Cinder, on
/// every thread, not only the refused request's retry. A refused POST is not resent by the
/// client (the caller decides: the job checks that the create made nothing, then resends).
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::RetryPolicy;
/// let retry = RetryPolicy::new().max_retries(5).max_backoff(Duration::from_secs(20));
/// let never = RetryPolicy::none();
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[must_use]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_retry_after: Duration,
}

impl RetryPolicy {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Self::default() }
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// First delay.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Largest delay.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Longest `Retry-After` honoured.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Builds a [`ServiceClient`]. Made by [`ServiceClient::builder`],
/// [`ServiceClient::with_token`] or [`ServiceClientBuilder::from_env`].
///
/// A builder made by [`ServiceClient::with_token`] uses its token and endpoint as they are,
/// with no Keystone: [`scope`](Self::scope), [`region`](Self::region),
/// [`interface`](Self::interface), [`reauthenticate(true)`](Self::reauthenticate) and
/// [`token_cache`](Self::token_cache) cannot apply to it, and [`build`](Self::build) fails
/// with an [`Error::Config`] naming them rather than ignore them.
///
/// Defaults: public interface, any region (an error if the catalog has several), microversion
/// negotiated, connect timeout 10 s, request timeout 60 s, TLS verified against the
/// WebPKI roots (rustls, the default) or the platform's store (feature `native-tls`), re-authentication on, [`RetryPolicy::default`], responses up to 32 MiB,
/// redirects never followed (a token is never sent to another place).
///
/// ```no_run
/// use std::time::Duration;
/// use cinder_snapshots::{AuthOptions, Domain, Interface, Microversion, MicroversionPolicy, RetryPolicy, Scope, ServiceClient, TokenCache};
/// let client = ServiceClient::builder(AuthOptions::password(
///     "https://keystone.example.com/v3", "ops", Domain::name("Default"), "secret",
/// ))
/// .scope(Scope::project_name("ops", Domain::name("Default")))
/// .region("RegionOne")
/// .interface(Interface::Internal)
/// .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 60)))
/// .timeout(Duration::from_secs(30))
/// .retry_policy(RetryPolicy::new().max_retries(5))
/// .token_cache(TokenCache::user_default().expect("a home directory"))
/// .build()?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ServiceClientBuilder {
    pub(crate) auth: Option<AuthOptions>,
    static_session: Option<(Url, Secret)>,
    pub(crate) endpoint_override: Option<String>,
    pub(crate) interface: Interface,
    pub(crate) region: Option<String>,
    pub(crate) policy: MicroversionPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    pub(crate) ca_bundle: Option<PathBuf>,
    pub(crate) insecure: bool,
    user_agent: String,
    reauthenticate: bool,
    max_response_bytes: u64,
    poll: PollPolicy,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    token_cache: Option<TokenCache>,
    /// Settings given by a call, for those a static token cannot apply.
    explicit: Explicit,
}

/// Which settings were given by a call (not left at their default).
#[derive(Debug, Clone, Copy, Default)]
struct Explicit {
    scope: bool,
    interface: bool,
    reauthenticate_on: bool,
}

impl ServiceClientBuilder {
    pub(crate) fn new(auth: Option<AuthOptions>) -> Self {
        ServiceClientBuilder {
            auth,
            static_session: None,
            endpoint_override: None,
            interface: Interface::Public,
            region: None,
            policy: MicroversionPolicy::Negotiate,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            ca_bundle: None,
            insecure: false,
            user_agent: concat!("cinder-snapshots/", env!("CARGO_PKG_VERSION")).to_owned(),
            reauthenticate: true,
            max_response_bytes: 32 << 20,
            poll: PollPolicy::default(),
            retry: RetryPolicy::default(),
            sleeper: Arc::new(SystemSleeper),
            token_cache: None,
            explicit: Explicit::default(),
        }
    }

    pub(crate) fn static_token(mut self, endpoint: &str, token: Secret) -> Result<Self> {
        self.static_session = Some((parse_endpoint(endpoint)?, token));
        Ok(self)
    }

    /// The token's scope (a project by id or name, a domain, or the default). Not with
    /// [`ServiceClient::with_token`]: [`build`](Self::build) then fails.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.explicit.scope = true;
        if let Some(auth) = &mut self.auth {
            auth.scope = scope;
        }
        self
    }

    /// The region whose endpoint to use (from the catalog). Not with
    /// [`ServiceClient::with_token`]: [`build`](Self::build) then fails.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint interface (public, internal, admin) to take from the catalog. Not with
    /// [`ServiceClient::with_token`]: [`build`](Self::build) then fails.
    pub fn interface(mut self, interface: Interface) -> Self {
        self.explicit.interface = true;
        self.interface = interface;
        self
    }

    /// Use this block-storage URL instead of the catalog's (with or without the project:
    /// servers at 3.67 or later accept both).
    pub fn endpoint_override(mut self, url: impl Into<String>) -> Self {
        self.endpoint_override = Some(url.into());
        self
    }

    /// Negotiate the microversion (the default) or pin one.
    pub fn microversion(mut self, policy: MicroversionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Timeout to set up a connection (TCP and TLS). Default 10 s; at most a day (a longer
    /// one is taken as a day).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout for one whole request, body included. Default 60 s; at most a day (a longer
    /// one is taken as a day).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trust the certificates in this PEM file (instead of the WebPKI roots, or the
    /// platform's store with the `native-tls` feature).
    pub fn ca_bundle(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_bundle = Some(path.as_ref().to_owned());
        self
    }

    /// Turn TLS certificate verification off. Only for tests: anyone on the path can then
    /// read the token.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Re-authenticate and replay once when Cinder answers 401 (on by default when the
    /// client holds a password or application credential). A client made with
    /// [`ServiceClient::with_token`] has nothing to re-authenticate with: `true` makes
    /// [`build`](Self::build) fail, `false` changes nothing.
    pub fn reauthenticate(mut self, on: bool) -> Self {
        self.explicit.reauthenticate_on = on;
        self.reauthenticate = on;
        self
    }

    /// Refuse response bodies larger than this. Default 32 MiB.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The default polling of waits made with this client.
    pub fn poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// How idempotent requests are retried. Default: [`RetryPolicy::default`]. Its
    /// durations are taken as at most an hour each.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Where the client's pauses (retry backoff, a rate limiter's pause) read the time and
    /// sleep. Default: [`SystemSleeper`]. For tests that move time instead of sleeping.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Keep tokens in this on-disk cache and reuse them across processes (off by default).
    /// See [`TokenCache`]. Not with [`ServiceClient::with_token`]: [`build`](Self::build)
    /// then fails.
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = Some(cache);
        self
    }

    /// Checks the configuration and builds the client. No request is sent yet.
    ///
    /// Fails with [`Error::Config`] on a setting that cannot apply, such as a scope for a
    /// client made with [`ServiceClient::with_token`].
    pub fn build(self) -> Result<ServiceClient> {
        if let Some(auth) = &self.auth {
            auth.validate()?;
        }
        if self.static_session.is_some() {
            self.check_static()?;
        }
        if let MicroversionPolicy::Pinned(v) = self.policy {
            if v < Microversion::BASE || v > Microversion::LATEST_KNOWN {
                return Err(Error::Config(format!(
                    "the pinned microversion {v} is outside what Cinder's v3 API and this crate support ({} to {})",
                    Microversion::BASE,
                    Microversion::LATEST_KNOWN
                )));
            }
        }
        let endpoint_override = self.endpoint_override.as_deref().map(parse_endpoint).transpose()?;

        let mut tls = ureq::tls::TlsConfig::builder().disable_verification(self.insecure);
        if cfg!(feature = "native-tls") {
            tls = tls.provider(ureq::tls::TlsProvider::NativeTls).root_certs(ureq::tls::RootCerts::PlatformVerifier);
        }
        if let Some(path) = &self.ca_bundle {
            tls = tls.root_certs(read_ca_bundle(path)?);
        }
        // Durations given in code are clamped: a timeout near Duration::MAX cannot be added to
        // a clock reading (ureq would panic), and a retry pause of years is a hang.
        let mut retry = self.retry;
        for d in [&mut retry.initial_backoff, &mut retry.max_backoff, &mut retry.max_retry_after] {
            *d = (*d).min(MAX_RETRY_PAUSE);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(self.connect_timeout.min(MAX_TIMEOUT)))
            .timeout_global(Some(self.timeout.min(MAX_TIMEOUT)))
            .tls_config(tls.build())
            .build();
        // Each host is looked up once a minute at most, not once per request on a new thread
        // (see resolver.rs).
        let agent =
            ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::new(), super::resolver::CachingResolver::new());

        let session = self.static_session.map(|(endpoint, token)| {
            let endpoint = endpoint_override.clone().unwrap_or(endpoint);
            // A ready token has no Keystone answer: the project is the one the endpoint names.
            let project_id = super::project_in_endpoint(&endpoint);
            Arc::new(Session { token, refresh_at: None, endpoint, generation: 0, discovered: None, project_id })
        });
        let token_cache = self.auth.as_ref().and_then(TokenCache::key).and_then(|key| Some((self.token_cache?, key)));
        Ok(ServiceClient::from_parts(Inner {
            agent,
            auth: self.auth,
            token_cache,
            endpoint_override,
            interface: self.interface,
            region: self.region,
            policy: self.policy,
            reauthenticate: self.reauthenticate,
            user_agent: self.user_agent,
            max_response_bytes: self.max_response_bytes,
            poll: self.poll,
            retry,
            sleeper: self.sleeper,
            paused_until: Mutex::new(None),
            session: RwLock::new(session),
            flight: Mutex::new(()),
            microversion: OnceLock::new(),
            clock_offset: std::sync::atomic::AtomicI64::new(super::clock::UNKNOWN),
            #[cfg(feature = "log")]
            skew_logged: std::sync::atomic::AtomicBool::new(false),
        }))
    }
}

impl ServiceClientBuilder {
    /// A static token and endpoint have no Keystone, catalog or re-authentication: the
    /// settings for those are an error rather than silently dropped.
    fn check_static(&self) -> Result<()> {
        let given = [
            ("scope", self.explicit.scope),
            ("region", self.region.is_some()),
            ("interface", self.explicit.interface),
            ("reauthenticate", self.explicit.reauthenticate_on),
            ("token_cache", self.token_cache.is_some()),
        ];
        let names: Vec<String> = given.iter().filter(|(_, set)| *set).map(|(name, _)| format!("`{name}`")).collect();
        if names.is_empty() {
            return Ok(());
        }
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        };
        Err(Error::Config(format!(
            "{list} cannot apply to a client made with `ServiceClient::with_token`, which uses its token and endpoint as they are \
             (no Keystone, no catalog, no re-authentication, nothing to cache): remove the setting, or build the client \
             with `ServiceClient::builder` and credentials"
        )))
    }
}

fn read_ca_bundle(path: &Path) -> Result<ureq::tls::RootCerts> {
    let pem = std::fs::read(path).map_err(|e| Error::Config(format!("cannot read the CA bundle {}: {e}", path.display())))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::Config(format!("the CA bundle {} is not valid PEM: {e}", path.display())));
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::Config(format!("the CA bundle {} holds no certificate", path.display())));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}
