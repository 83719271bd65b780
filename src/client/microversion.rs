use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use std::sync::PoisonError;

use url::Url;

use super::session::Session;
use super::transport::api_error;
use super::{Method, ServiceClient};
use crate::auth::Discovered;
use crate::error::{Error, Result};

/// A Cinder API microversion, such as `3.71`.
///
/// ```
/// use cinder_snapshots::Microversion;
/// let v: Microversion = "3.45".parse().unwrap();
/// assert!(v >= Microversion::new(3, 45) && v < Microversion::LATEST_KNOWN);
/// assert_eq!(v.to_string(), "3.45");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    /// Major version (always 3 for the v3 API).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl Microversion {
    /// Refuses a parameter or call that needs `needed` when this is the version in use
    /// (Cinder would ignore a filter, answer an empty list, or answer 404 for an action).
    pub(crate) fn require(self, needed: Microversion, what: &str) -> Result<()> {
        if self < needed {
            return Err(Error::InvalidInput(format!("{what} needs microversion {needed} or later; the client uses {self}")));
        }
        Ok(())
    }

    /// The base version, what the server assumes without a header.
    pub const BASE: Microversion = Microversion::new(3, 0);
    /// The highest version this crate knows (Cinder 2024.1 and later).
    pub const LATEST_KNOWN: Microversion = Microversion::new(3, 71);

    /// A version from its two numbers.
    pub const fn new(major: u16, minor: u16) -> Self {
        Microversion { major, minor }
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Microversion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Config(format!("{s:?} is not a microversion: expected MAJOR.MINOR such as 3.71"));
        let (major, minor) = s.trim().split_once('.').ok_or_else(bad)?;
        let number = |p: &str| -> Result<u16> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(Microversion::new(number(major)?, number(minor)?))
    }
}

/// Which microversion the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MicroversionPolicy {
    /// Ask the server once (an unauthenticated `GET` of its root) and use the highest
    /// version both the server and this crate know. The default.
    #[default]
    Negotiate,
    /// Always send this version; no discovery request is made. It must lie within
    /// 3.0 and [`Microversion::LATEST_KNOWN`].
    Pinned(Microversion),
}

/// `{"versions": [{"id": "v3.0", "version": "3.71", "min_version": "3.0", ...}]}` from the
/// service root (`300 Multiple Choices`) or `/v3/`.
#[derive(Deserialize)]
struct Versions {
    versions: Vec<VersionEntry>,
}

#[derive(Deserialize)]
struct VersionEntry {
    id: String,
    #[serde(default)]
    version: String,
}

/// The highest microversion the server supports for API v3, from a version document.
pub(crate) fn max_from_versions(body: &[u8]) -> std::result::Result<Microversion, String> {
    let doc: Versions = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let v3 =
        doc.versions.iter().find(|v| v.id == "v3.0" || v.id.starts_with("v3")).ok_or_else(|| "the server lists no v3 API".to_owned())?;
    if v3.version.is_empty() {
        // A v3 API without microversions: only the base behaviour.
        return Ok(Microversion::BASE);
    }
    v3.version.parse().map_err(|e: Error| e.to_string())
}

/// Microversion discovery: an unauthenticated GET of the service root, once per client.
impl ServiceClient {
    /// The microversion to send: pinned, or negotiated once and shared by clones.
    pub(super) fn negotiated(&self, session: &Session) -> Result<Microversion> {
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
        // A discovery kept in the token cache with this token, for this very service root.
        if let Some(found) = session.discovered.as_ref().filter(|d| d.root == root.as_str()) {
            if let Ok(max) = found.max.parse::<Microversion>() {
                let version = max.min(Microversion::LATEST_KNOWN);
                let _ = self.inner.microversion.set(version);
                return Ok(version);
            }
        }
        let mut attempts = 0;
        let raw = self.with_retries(true, false, &mut attempts, || {
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
        let server_max = max_from_versions(&raw.body).map_err(|message| Error::Decode {
            what: "version document",
            method: "GET".into(),
            url: root.to_string(),
            status: raw.status,
            excerpt: crate::error::excerpt(&raw.body),
            source: message.into(),
        })?;
        if let Some((cache, key)) = &self.inner.token_cache {
            let found = Discovered { root: root.to_string(), max: server_max.to_string() };
            cache.store_discovered(key, &session.token, found);
        }
        let version = server_max.min(Microversion::LATEST_KNOWN);
        let _ = self.inner.microversion.set(version);
        Ok(version)
    }
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
    fn parse_and_order() {
        assert_eq!("3.9".parse::<Microversion>().unwrap(), Microversion::new(3, 9));
        assert!(Microversion::new(3, 9) < Microversion::new(3, 10));
        for bad in ["3", "3.x", "3.", ".1", "2.0.1", "latest", "-3.1"] {
            assert!(bad.parse::<Microversion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_document() {
        let body = br#"{"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0"}]}"#;
        assert_eq!(max_from_versions(body).unwrap(), Microversion::new(3, 71));
        assert_eq!(max_from_versions(br#"{"versions": [{"id": "v3.0", "version": ""}]}"#).unwrap(), Microversion::BASE);
        assert!(max_from_versions(br#"{"versions": [{"id": "v2.0", "version": ""}]}"#).is_err());
        assert!(max_from_versions(b"<html>").is_err());
    }

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
}
