//! A blocking client for the snapshot API of OpenStack Block Storage (Cinder v3), with
//! Keystone v3 authentication.
//!
//! Small and synchronous: built on `ureq`, no async runtime. One [`ServiceClient`]
//! authenticates (password, token or application credential, from code or the standard
//! `OS_*` variables), finds the block-storage endpoint in the catalog, negotiates the
//! microversion once, and carries every call of the [`snapshots`] module.
//!
//! # Authenticating
//!
//! Pick the source your users already have:
//!
//! - [`ServiceClient::from_env`]: the `OS_*` variables of an openrc file (password, token or
//!   application credential; `OS_CLOUD` selects a cloud of clouds.yaml, the other variables
//!   laid over it).
//! - [`ServiceClient::from_cloud`]: a cloud of clouds.yaml, found and merged with
//!   secure.yaml as openstacksdk does.
//! - [`ServiceClient::builder`] with [`AuthOptions`]: in code, with a [`Scope`], region,
//!   interface, endpoint override, timeouts, CA bundle.
//! - [`ServiceClient::with_token`]: a token and endpoint you already have, no Keystone.
//!
//! Short processes run one after the other can share one token through a [`TokenCache`].
//!
//! ```no_run
//! use cinder_snapshots::{AuthOptions, Domain, Scope, ServiceClient};
//! // From OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, ... (an openrc file):
//! let client = ServiceClient::from_env()?;
//! // Or in code:
//! let client = ServiceClient::builder(AuthOptions::password(
//!     "https://keystone.example.com/v3", "ops", Domain::name("Default"), "secret",
//! ))
//! .scope(Scope::project_name("ops", Domain::name("Default")))
//! .build()?;
//! // Or with a ready token and endpoint, no Keystone at all:
//! let client = ServiceClient::with_token("https://cinder.example.com:8776/v3/PROJECT", "gAAAA...")?.build()?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! The token is refreshed shortly before it expires; a 401 from Cinder triggers one
//! re-authentication (shared by every thread that hit it) and one replay.
//!
//! # Listing, waiting, labelling, pruning
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, WaitOpts}};
//! use time::{Duration, OffsetDateTime};
//! let client = ServiceClient::from_env()?;
//! let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635")
//!     .name("nightly").metadata("retention", "7d"))?;
//! snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?;
//!
//! let week_ago = OffsetDateTime::now_utc() - Duration::days(7);
//! let opts = ListOpts { volume_id: Some(snap.volume_id.clone()), ..Default::default() };
//! for old in snapshots::list_detail(&client, &opts)? {
//!     let old = old?;
//!     if old.created_at.is_some_and(|t| t < week_ago) {
//!         snapshots::delete(&client, &old.id)?;
//!     }
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! `list_detail` returns a lazy iterator: pages are fetched as you go (marker pagination,
//! following the server's next links), so listing 100k snapshots takes a few MiB. Use
//! `.pages()` for whole pages, `.all()` to collect. [`snapshots::wait_for_status`] and
//! [`snapshots::wait_for_delete`] poll with a growing interval, end early on a failure
//! status with Cinder's own message about it, and report progress through
//! [`snapshots::WaitOpts::on_progress`]. Careful with metadata:
//! [`snapshots::update_metadata`] replaces all of it; [`snapshots::merge_metadata`] merges.
//!
//! # Errors
//!
//! Every call returns [`Result`]. An error answer from the server is an [`Error::Api`]
//! carrying the status, Cinder's fault name and message, and the request id; helpers such
//! as [`Error::is_not_found`] classify it. Input the server would refuse is refused first,
//! as [`Error::InvalidInput`]. Passwords, tokens and secrets never appear in any error,
//! `Debug` or `Display` output.
//!
//! # Microversions
//!
//! Every request carries `OpenStack-API-Version: volume X.Y`. By default the client asks
//! the server once and uses the highest version both know ([`Microversion::LATEST_KNOWN`]
//! is 3.71); [`MicroversionPolicy::Pinned`] skips that request. Options that need a higher
//! version than the client uses are refused with the version they need, never dropped.
//!
//! # Failures, retries and timeouts
//!
//! Connect (10 s) and whole-request (60 s) timeouts are on by default. GET, PUT and DELETE
//! are retried on connection failures and 429/502/503/504 with capped backoff and
//! `Retry-After` ([`RetryPolicy`]); POST never is, except the one replay after a 401. The
//! attempts made are in the error.
//!
//! # Examples and the command line
//!
//! `examples/`: `nightly_snapshots` (snapshot tagged volumes, prune by age),
//! `wait_with_progress`, `find_by_name`, `snapshot_lifecycle`, `list_snapshots`. With the
//! `cli` feature, the `cinder-snapshots` binary does every call from the shell (`--json`,
//! documented exit codes).
//!
//! # Features
//!
//! `rustls` (default) or `native-tls` for TLS; `clouds-yaml` (default) for clouds.yaml;
//! `log` for one debug line per request; `cli` for the binary.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod snapshots;
mod timestamp;

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!("cinder-snapshots needs a TLS backend: enable the `rustls` (default) or the `native-tls` feature");

pub use auth::{AuthMethod, AuthOptions, Domain, Interface, Scope, Secret, TokenCache, User};
pub use client::{
    Method, Microversion, MicroversionPolicy, PollPolicy, Request, Response, RetryPolicy, ServiceClient, ServiceClientBuilder,
};
pub use error::{ApiError, Error, Result};

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a stable API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a snapshot answer (`{"snapshot": {...}}`).
    pub fn snapshot(body: &[u8]) -> bool {
        serde_json::from_slice::<crate::snapshots::fuzz::SnapshotBody>(body).is_ok()
    }

    /// Parses a page and, when it has a next link, the query the client would send.
    pub fn page(body: &[u8]) -> usize {
        crate::snapshots::fuzz::page(body)
    }

    /// Reads an error body of any shape.
    pub fn fault(body: &[u8]) -> usize {
        let f = crate::error::parse_fault(body);
        f.message.len() + f.name.map_or(0, |n| n.len())
    }

    /// Parses a Keystone token answer and picks the endpoint from its catalog.
    pub fn token(body: &[u8], region: Option<&str>) -> bool {
        match serde_json::from_slice::<crate::auth::token::TokenBody>(body) {
            Ok(t) => crate::auth::select_endpoint(&t.token.catalog, crate::Interface::Public, region).is_ok(),
            Err(_) => false,
        }
    }

    /// Parses a timestamp.
    pub fn timestamp(s: &str) -> bool {
        crate::timestamp::parse(s).is_some()
    }

    /// Parses a `Retry-After` value.
    pub fn retry_after(s: &str) -> bool {
        crate::client::retry_after(s).is_some()
    }
}
