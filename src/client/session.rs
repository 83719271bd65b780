//! The token session: fetching a token from Keystone (or the on-disk cache), finding the
//! endpoint in its catalog, knowing when to replace it, and the one shared
//! re-authentication after a 401.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use url::Url;

use super::transport::api_error;
use super::{Method, ServiceClient, parse_endpoint};
use crate::auth::token::TokenBody;
use crate::auth::{AuthOptions, Discovered, Secret, TokenCache, select_endpoint};
use crate::error::{Error, Result};

/// The longest a token is replaced before its end.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(120);
/// A difference between Keystone's clock and the local one worth a log line.
const SKEW_NOTED: time::Duration = time::Duration::seconds(60);

/// A token and the endpoint found with it.
pub(super) struct Session {
    pub(super) token: Secret,
    /// When to fetch the next token, on the monotonic clock; `None`: no known end, the token
    /// is used until Cinder refuses it.
    pub(super) refresh_at: Option<Instant>,
    pub(super) endpoint: Url,
    pub(super) generation: u64,
    /// The microversion discovery kept in the token cache with this token, if any.
    pub(super) discovered: Option<Discovered>,
    /// The id of the project the token is scoped to (`None`: a ready token, or unscoped).
    pub(super) project_id: Option<String>,
}

impl Session {
    fn is_fresh(&self) -> bool {
        self.refresh_at.is_none_or(|at| Instant::now() < at)
    }
}

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

impl ServiceClient {
    pub(super) fn can_reauthenticate(&self) -> bool {
        self.inner.reauthenticate && self.inner.auth.as_ref().is_some_and(AuthOptions::can_reauthenticate)
    }

    /// The current session, fetching a token when there is none or it is about to expire.
    pub(super) fn session(&self) -> Result<Arc<Session>> {
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
    pub(super) fn refresh(&self, stale: Option<u64>, rejected: bool) -> Result<Arc<Session>> {
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
    pub(super) fn cached_session(&self, cache: &TokenCache, key: &str, rejected: bool, generation: u64) -> Option<Session> {
        if rejected {
            cache.remove(key);
            return None;
        }
        let cached = cache.load(key)?;
        let body: TokenBody = serde_json::from_slice(&cached.body).ok()?;
        let mut session = self.session_from(cached.token, &body, generation, cached.received_at).ok()?;
        session.discovered = cached.discovered;
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
    /// so a wrong password is never sent twice by the retries. Unlike Cinder's requests, any
    /// 5xx of Keystone's is retried too: a Keystone whose database is busy answers 500 for a
    /// moment (seen when the targets of a job spec authenticate together).
    pub(super) fn authenticate_with(&self, auth: &AuthOptions) -> Result<(Secret, TokenBody, Vec<u8>)> {
        let url = auth.tokens_url()?;
        let mut attempts = 0;
        let (method, request) = if auth.is_token_passthrough() {
            // Validate the token we already have and read its catalog.
            let token = match &auth.method {
                crate::auth::AuthMethod::Token { token } => token.expose_secret(),
                _ => "",
            };
            let raw = self.with_retries(true, true, &mut attempts, || {
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
            let raw = self.with_retries(true, true, &mut attempts, || {
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
            excerpt: crate::error::excerpt(&request.body),
            source: Box::new(e),
        })?;
        Ok((Secret::new(token), body, request.body))
    }

    /// A session from a token and Keystone's answer, `received` at that local time: the
    /// endpoint from its catalog (or the override) and the time to refresh it (see
    /// [`refresh_after`]).
    pub(super) fn session_from(
        &self,
        token: Secret,
        body: &TokenBody,
        generation: u64,
        received: Option<OffsetDateTime>,
    ) -> Result<Session> {
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
        let project_id = body.token.project.as_ref().map(|p| p.id.clone());
        Ok(Session { token, refresh_at, endpoint, generation, discovered: None, project_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
