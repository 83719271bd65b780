//! A blocking client for the snapshot API of OpenStack Block Storage (Cinder v3), with
//! Keystone v3 authentication.
//!
//! Small and synchronous: built on `ureq`, no async runtime. One [`ServiceClient`]
//! authenticates, finds the block-storage endpoint in the catalog, negotiates the
//! microversion once, and carries every call of the [`snapshots`] module. Clones share one
//! connection pool, one token and one microversion, and a client is `Send + Sync`. Nothing
//! is sent until the first call (or [`ServiceClient::authenticate`], to surface
//! configuration errors early).
//!
//! # Authenticating
//!
//! - [`ServiceClient::from_env`]: the `OS_*` variables of an openrc file: `OS_AUTH_URL`,
//!   `OS_USERNAME` or `OS_USER_ID`, `OS_PASSWORD`, `OS_USER_DOMAIN_NAME`, `OS_PROJECT_NAME`
//!   or `OS_PROJECT_ID`, `OS_PROJECT_DOMAIN_NAME`, `OS_TOKEN`,
//!   `OS_APPLICATION_CREDENTIAL_ID`/`_NAME`/`_SECRET`, `OS_REGION_NAME`, `OS_INTERFACE`,
//!   `OS_CACERT`, `OS_VOLUME_API_VERSION`, ... (the full list is on
//!   [`ServiceClientBuilder::from_env`]). `OS_CLOUD` selects a cloud of clouds.yaml and lays
//!   the other variables over it. A missing or contradictory variable is an
//!   [`Error::Config`] that names it. [`ServiceClientBuilder::from_vars`] reads the same
//!   names from a list you give, and `ServiceClientBuilder::from_env()` returns the builder
//!   so that you can change settings before `build()`.
//! - [`ServiceClient::builder`] with [`AuthOptions`]: [`AuthOptions::password`] (a user by
//!   name within a [`Domain`]), [`AuthOptions::password_user_id`], [`AuthOptions::token`]
//!   (an existing Keystone token: used as it is without a scope, exchanged for a new one
//!   with a scope), [`AuthOptions::application_credential`] (by id) or
//!   [`AuthOptions::application_credential_name`] (by name and owner).
//! - [`ServiceClient::with_token`]: a token and a Cinder endpoint you already have; no
//!   Keystone request at all, and no re-authentication: a 401 is returned as it is.
//!
//! ```no_run
//! use cinder_snapshots::{AuthOptions, Domain, Interface, Scope, ServiceClient};
//! // From OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, ... (an openrc file):
//! let client = ServiceClient::from_env()?;
//!
//! // A password, for a user by name within a domain, scoped to a project:
//! let client = ServiceClient::builder(AuthOptions::password(
//!     "https://keystone.example.com/v3", "ops", Domain::name("Default"), "secret",
//! ))
//! .scope(Scope::project_name("ops", Domain::name("Default")))
//! .region("RegionOne")
//! .interface(Interface::Internal)
//! .build()?;
//!
//! // A password for a user by id, a project by id:
//! let auth = AuthOptions::password_user_id("https://keystone.example.com/v3", "2c7a9e5b", "secret")
//!     .with_scope(Scope::project_id("8f1e2d3c"));
//! let client = ServiceClient::builder(auth).build()?;
//!
//! // An application credential (it carries its own project: leave the scope alone):
//! let auth = AuthOptions::application_credential("https://keystone.example.com/v3", "a1b2c3", "cred-secret");
//! let client = ServiceClient::builder(auth).build()?;
//!
//! // A ready token and endpoint, no Keystone:
//! let client = ServiceClient::with_token("https://cinder.example.com:8776/v3/PROJECT", "gAAAA...")?.build()?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! The token is refreshed shortly before it expires; a 401 from Cinder triggers one
//! re-authentication (shared by every thread that hit it) and one replay. Short processes
//! run one after the other can share one token through an on-disk [`TokenCache`]
//! ([`ServiceClientBuilder::token_cache`]). Passwords, tokens and secrets are [`Secret`]s:
//! they never appear in `Debug`, `Display` or any error.
//!
//! # Scope, region, interface and endpoint
//!
//! - Scope ([`ServiceClientBuilder::scope`] or [`AuthOptions::with_scope`]): a [`Scope`]:
//!   [`Scope::project_name`] within a domain, [`Scope::project_id`], [`Scope::Domain`], or
//!   [`Scope::Default`] (the user's default project; the default). Application credentials
//!   must keep [`Scope::Default`]: any other scope is an [`Error::Config`] from `build()`. A
//!   domain-scoped token has no project endpoints in its catalog, so it needs an endpoint
//!   override to reach Cinder.
//! - Endpoint: looked up in the catalog as `block-storage`, then `volumev3`, then `volume`
//!   (v3 URLs only). [`ServiceClientBuilder::interface`] picks the [`Interface`] (public by
//!   default); [`ServiceClientBuilder::region`] the region, needed when the catalog has
//!   endpoints in several; [`ServiceClientBuilder::endpoint_override`] skips the catalog's
//!   URL for yours. No match is an [`Error::EndpointNotFound`] saying what the catalog had.
//!
//! # Listing
//!
//! [`snapshots::list_detail`] (every field) and [`snapshots::list`] (the summary fields)
//! return a [`Pager`](snapshots::Pager): a lazy iterator of `Result<Snapshot>` that fetches
//! one page at a time as you consume it, following the server's next links (marker
//! pagination), so a listing of 100k snapshots takes a few MiB. [`snapshots::ListOpts`]
//! holds the filters (name, status, volume, metadata, `name~`/`description~`, project for
//! admins with `all_tenants`), the sort and the paging; a field left at its default is not
//! sent. [`Pager::pages`](snapshots::Pager::pages) yields whole
//! [`SnapshotPage`](snapshots::SnapshotPage)s, with the total `count` when `with_count` is
//! set (3.45+); [`Pager::all`](snapshots::Pager::all) collects everything.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, ListOpts, SnapshotStatus, SortDir, SortKey}};
//! let client = ServiceClient::from_env()?;
//!
//! let opts = ListOpts::new()
//!     .status(SnapshotStatus::Available)
//!     .metadata("created-by", "nightly")
//!     .sort(SortKey::CreatedAt, SortDir::Asc);
//! for snap in snapshots::list_detail(&client, &opts)? {
//!     let snap = snap?; // one page is fetched when the previous one is used up
//!     println!("{} {} {:?}", snap.id, snap.status, snap.created_at);
//! }
//!
//! let opts = ListOpts::new().limit(100).with_count(true);
//! for page in snapshots::list_detail(&client, &opts)?.pages() {
//!     let page = page?;
//!     println!("{} snapshots on this page, {:?} in all", page.items.len(), page.count);
//! }
//!
//! let all = snapshots::list_detail(&client, &ListOpts::new())?.all()?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! [`snapshots::find_by_name`] returns the one snapshot with a name, or
//! [`Error::NoMatch`] / [`Error::MultipleMatches`] (with the ids): Cinder's names are not
//! unique.
//!
//! # Creating and waiting
//!
//! [`snapshots::create`] answers at once with status `creating`;
//! [`snapshots::wait_for_status`] polls until the snapshot reaches a status and returns it,
//! and [`snapshots::wait_for_delete`] until it is gone. A wait checks at once, then with a
//! growing interval; it ends early when the snapshot reaches a failure status (`error`, or
//! `error_deleting` for a delete), disappears, or goes back to `available` during a delete,
//! and tolerates a few consecutive transient errors. [`snapshots::WaitOpts`] overrides the
//! client's [`PollPolicy`] for one wait (timeout, intervals, failure statuses) and adds a
//! cancel flag and an [`on_progress`](snapshots::WaitOpts::on_progress) callback that sees
//! every snapshot polled.
//!
//! A wait that does not reach its target is an [`Error::Wait`] holding a [`WaitError`]: its
//! [`kind`](WaitErrorKind) (`Failed` with the status, `TimedOut`, `Cancelled`, `Vanished`,
//! `DeleteRefused`), the resource and its id, the target, the last state seen
//! ([`WaitError::last`]), the time spent, and for a failure Cinder's own user message about
//! the snapshot (3.3+), which often says why. Waiting is one mechanism for every resource
//! ([`waiting`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use cinder_snapshots::{Error, ServiceClient, WaitErrorKind, snapshots::{self, CreateOpts, Snapshot, SnapshotStatus, WaitOpts}};
//! let client = ServiceClient::from_env()?;
//! let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635")
//!     .name("nightly").force(true).metadata("created-by", "nightly"))?;
//!
//! let opts = WaitOpts::new()
//!     .timeout(Duration::from_secs(600))
//!     .on_progress(|s| eprintln!("{} {}", s.status, s.progress.as_deref().unwrap_or("")));
//! match snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &opts) {
//!     Ok(snap) => println!("{} is available", snap.id),
//!     Err(Error::Wait(w)) if w.kind == WaitErrorKind::TimedOut => {
//!         eprintln!("still {:?} after {:?}", w.last::<Snapshot>().map(|s| &s.status), w.elapsed)
//!     }
//!     // "snapshot ... went to error while waiting for available (12.0 s): <Cinder's message>"
//!     Err(e) => return Err(e),
//! }
//!
//! snapshots::delete(&client, &snap.id)?;
//! snapshots::wait_for_delete(&client, &snap.id, &WaitOpts::new())?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Metadata
//!
//! **[`snapshots::update_metadata`] REPLACES all of a snapshot's metadata**: every key not
//! given is deleted. To add or change items and keep the others, use
//! [`snapshots::merge_metadata`]. Single items: [`snapshots::get_metadata_key`],
//! [`snapshots::set_metadata_key`], [`snapshots::delete_metadata_key`]; all of them:
//! [`snapshots::get_metadata`]. Keys and values are checked before sending.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, UpdateMetadataOpts}};
//! let client = ServiceClient::from_env()?;
//! let id = "b36476e5-d18b-47f9-ac69-4818cb43ee21";
//! // Adds or changes `owner`; every other item stays.
//! snapshots::merge_metadata(&client, id, &UpdateMetadataOpts::new().set("owner", "ops"))?;
//! // Afterwards `tier` is the ONLY item: `owner` and the rest are gone.
//! snapshots::update_metadata(&client, id, &UpdateMetadataOpts::new().set("tier", "gold"))?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Errors
//!
//! Every call returns [`Result`] with one [`Error`] type. Its variants say where a failure
//! came from: [`Error::Api`] (the server answered 4xx/5xx), [`Error::Auth`] (Keystone refused the credentials: 401/403),
//! [`Error::EndpointNotFound`], [`Error::Transport`] (DNS, connect, TLS, timeout),
//! [`Error::Decode`] and [`Error::InvalidResponse`] (an unusable answer),
//! [`Error::InvalidInput`] (refused before any request), [`Error::Config`],
//! [`Error::NoMatch`], [`Error::MultipleMatches`] and [`Error::Wait`].
//!
//! An [`ApiError`] (from [`Error::api`], also inside [`Error::Auth`]) has the HTTP status,
//! the method and URL, Cinder's fault name (`itemNotFound`, `badRequest`, `overLimit`, ...)
//! and message, the request id (`x-openstack-request-id`) to give your operator, the
//! `retry_after` the server asked for, and the number of attempts made ([`Error::Transport`]
//! counts them too). Helpers classify an error without matching: [`Error::status`],
//! [`Error::request_id`], [`Error::is_not_found`] (404, or a name that matched nothing),
//! [`Error::is_bad_request`] (Cinder's "wrong state" is a 400), [`Error::is_unauthorized`],
//! [`Error::is_forbidden`], [`Error::is_conflict`], [`Error::is_over_limit`] (a quota's 413,
//! or 429), [`Error::is_microversion_unsupported`] (406) and [`Error::is_transient`].
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots};
//! let client = ServiceClient::from_env()?;
//! match snapshots::delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21") {
//!     Ok(()) => {}
//!     Err(e) if e.is_not_found() => {} // already gone
//!     Err(e) => {
//!         if let Some(api) = e.api() {
//!             eprintln!(
//!                 "HTTP {} {:?}: {} (request id {:?}, {} attempt(s), retry after {:?})",
//!                 api.status, api.fault, api.message, api.request_id, api.attempts, api.retry_after
//!             );
//!         }
//!         return Err(e);
//!     }
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Microversions
//!
//! Every request carries `OpenStack-API-Version: volume X.Y`. By default
//! ([`MicroversionPolicy::Negotiate`]) the client asks the server once and uses the highest
//! version both know ([`Microversion::LATEST_KNOWN`] is 3.71).
//! [`MicroversionPolicy::Pinned`] (or `OS_VOLUME_API_VERSION=3.N`) always sends one version
//! and skips that request; [`ServiceClient::microversion`] says which is in use, and
//! [`Request::microversion`] changes it for one raw request. A parameter that needs a
//! higher version than the client uses (the metadata filter 3.22, sorting by name 3.30,
//! `name~` 3.34, `with_count` 3.45, `consumes_quota` 3.65) is never dropped, since Cinder
//! would ignore it or return an empty list: it is an [`Error::InvalidInput`] naming the
//! parameter and the version it needs, before any request.
//!
//! ```
//! use cinder_snapshots::{Error, Microversion, MicroversionPolicy, ServiceClient, snapshots::{self, ListOpts}};
//! let client = ServiceClient::with_token("http://127.0.0.1:8776/v3/PROJECT", "gAAAA...")?
//!     .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 40)))
//!     .build()?;
//! let err = snapshots::list_detail(&client, &ListOpts::new().with_count(true)).unwrap_err();
//! // "invalid input: with_count needs microversion 3.45 or later; the client uses 3.40"
//! assert!(matches!(&err, Error::InvalidInput(m) if m.contains("with_count needs microversion 3.45")));
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Retries and timeouts
//!
//! The client never hangs: a connect timeout (10 s) and a whole-request timeout (60 s) are
//! on by default ([`ServiceClientBuilder::connect_timeout`],
//! [`ServiceClientBuilder::timeout`]), response bodies are capped
//! ([`ServiceClientBuilder::max_response_bytes`], 32 MiB) and redirects are never followed.
//! GET, PUT and DELETE are retried on connection failures and on 429, 502, 503 and 504 with
//! capped exponential backoff and jitter, honouring `Retry-After` up to a limit
//! ([`RetryPolicy`], [`ServiceClientBuilder::retry_policy`], [`RetryPolicy::none`] to turn
//! it off). POST (create, actions, metadata merge) is never retried, except the one replay
//! after a 401, and a quota's 413 never is. The waits poll as the client's [`PollPolicy`]
//! says ([`ServiceClientBuilder::poll_policy`]; by default up to 30 minutes, checks 1 s
//! apart growing ×1.5 to 15 s), each overridable per wait with [`snapshots::WaitOpts`].
//!
//! ```no_run
//! use std::time::Duration;
//! use cinder_snapshots::{PollPolicy, RetryPolicy, ServiceClientBuilder};
//! let client = ServiceClientBuilder::from_env()?
//!     .connect_timeout(Duration::from_secs(5))
//!     .timeout(Duration::from_secs(30))
//!     .retry_policy(RetryPolicy::new().max_retries(5))
//!     .poll_policy(PollPolicy::new().timeout(Duration::from_secs(3600)))
//!     .build()?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Configuration files (clouds.yaml)
//!
//! clouds.yaml support is described on `ServiceClientBuilder::from_cloud`.
//!
//! # Calls this crate has no function for
//!
//! [`ServiceClient::send`] sends a raw [`Request`] (for example to the backups API) with the
//! client's token, microversion, retries and error mapping; [`ServiceClient::token`] hands
//! out the token for other services.
//!
//! # Examples and the command line
//!
//! `examples/`: `nightly_snapshots` (a thin front for [`job::run`]: the scheduled job, whole),
//! `wait_with_progress`, `find_by_name`, `snapshot_lifecycle`, `list_snapshots`. With the
//! `cli` feature, the `cinder-snapshots` binary does every call from the shell, the volume
//! commands (`volume list`, `volume show`, `volume set`, `volume unset`, `restore`,
//! `revert`), `prune`, the scheduled job (`run`) and its monitoring check (`check`), with
//! `-f table|json|value|csv|yaml|shell`, `-c COLUMN` and documented exit codes.
//!
//! # Features
//!
//! `rustls` (default) or `native-tls` for TLS; `clouds-yaml` (default) for clouds.yaml;
//! `log` for one debug line per request; `cli` for the binary; `testing` for
//! `testing::FakeCloud`, a fake Keystone + Cinder for your tests (not
//! compiled without the feature). The fuzz targets in `fuzz/`
//! reach internal entry points under `--cfg fuzzing` (set by cargo-fuzz): internal, not a
//! feature and not part of the API.
//!
//! # Where things live
//!
//! - [`client`]: the [`ServiceClient`] and its builder; one file per concern: the token
//!   session (Keystone, cache, refresh, re-authentication), the transport (one exchange,
//!   retries, the body cap), the microversion and its discovery, raw requests.
//! - configuration (private; its functions are [`ServiceClient::from_env`],
//!   [`ServiceClient::from_cloud`] and the builder's `from_env`/`from_vars`/`from_cloud`):
//!   the `OS_*` variables, clouds.yaml and secure.yaml.
//! - [`auth`]: Keystone's credentials, scopes, catalog and the token cache.
//! - [`paging`], [`waiting`], [`resource`]: what every resource shares: marker paging,
//!   waiting for a status, the traits a resource implements for them.
//! - [`snapshots`]: the snapshot calls (requests, results, urls), as gophercloud lays a
//!   resource out.
//! - [`volumes`]: the volume calls a snapshot tool needs (list, show, find, metadata, create
//!   from a snapshot, delete, revert to a snapshot, the latest snapshot chosen without
//!   guessing, waits), laid out as [`snapshots`] is.
//! - [`quotas`]: the project's quota set with usage and its limits, the room left before
//!   creating, laid out as [`snapshots`] is.
//! - [`retention`]: policies, plans and prune.
//! - [`job`]: the scheduled job, whole (snapshot a fleet once per window, wait, prune, report) and its monitoring check.
//! - [`error`]: the one [`Error`] type.
//! - `testing` (feature `testing`): `FakeCloud`, an in-process Keystone + Cinder for tests.
//!
//! No module imports from one above it: resources use the core, the core uses the client,
//! the client uses `auth` and `error`.
//!
//! # Versioning
//!
//! This crate follows semantic versioning. Before 1.0 a minor release (0.1 to 0.2) may break
//! the API and a patch release never does; `CHANGELOG.md` lists every breaking change with
//! its migration. From 1.0 on, only a major release breaks it.
//!
//! - Enums and structs marked `#[non_exhaustive]` (errors, statuses, scopes, methods,
//!   policies, options) may gain variants and fields in a minor release; options are built
//!   with `new`/`Default` and setters, so new settings never break a caller. A value held
//!   in an `Other(..)` variant today (a status or sort key this crate does not know) may
//!   become a variant of its own in a minor release: match such values through `as_str()`.
//! - Re-exported crates are part of the API: [`time`] (0.3, every timestamp) and [`url`] (2,
//!   [`ServiceClient::endpoint`]); a major upgrade of either is a breaking release of this
//!   crate. `serde`'s `Serialize`/`Deserialize` on the result types are part of it too. The
//!   HTTP client is not: no type of it appears in a public signature ([`TransportError`]
//!   keeps it as a `dyn Error` source).
//! - Minimum supported Rust version: 1.85 (edition 2024). Raising it is done in a minor
//!   release, noted in the changelog, never in a patch release.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod checks;
pub mod client;
mod config;
pub mod duration;
pub mod error;
pub mod job;
pub mod paging;
mod pool;
pub mod quotas;
pub mod resource;
pub mod retention;
pub mod snapshots;
pub mod spec;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timestamp;
pub mod tz;
pub mod volumes;
pub mod waiting;

/// The date and time crate of every timestamp in this API (`OffsetDateTime`, `UtcOffset`).
pub use time;
/// The URL crate of [`ServiceClient::endpoint`].
pub use url;

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!("cinder-snapshots needs a TLS backend: enable the `rustls` (default) or the `native-tls` feature");

pub use auth::{AuthMethod, AuthOptions, Domain, Interface, Scope, Secret, TokenCache, User};
pub use client::{
    Method, Microversion, MicroversionPolicy, PollPolicy, Request, Response, RetryPolicy, ServiceClient, ServiceClientBuilder,
};
pub use error::{ApiError, Error, Result, TransportError, TransportErrorKind, WaitError, WaitErrorKind};

// What the documentation promises of the main types, checked at compile time: one client
// (and its errors and listings) can be shared by and moved across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<ServiceClient>();
    send_sync::<ServiceClientBuilder>();
    send_sync::<Error>();
    send_sync::<paging::Pager<snapshots::Snapshot>>();
    send_sync::<snapshots::WaitOpts>();
    send_sync::<paging::Pager<volumes::Volume>>();
    send_sync::<volumes::WaitOpts>();
    send_sync::<job::PruneReport>();
};

/// Entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`, as cargo-fuzz
/// does; internal, not part of the API).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a snapshot answer (`{"snapshot": {...}}`).
    pub fn snapshot(body: &[u8]) -> bool {
        std::str::from_utf8(body).is_ok_and(|text| crate::resource::item::<crate::snapshots::Snapshot>(text).is_ok())
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

    /// Parses a timestamp and, when it parses, writes it as RFC 3339 in UTC (which must not
    /// panic, and must give a `Z` time that parses back to the same instant, to the
    /// microsecond).
    pub fn timestamp(s: &str) -> bool {
        let Some(t) = crate::timestamp::parse(s) else { return false };
        let text = crate::timestamp::format_utc(t);
        let back = crate::timestamp::parse(&text);
        assert!(text.ends_with('Z'), "{s:?} gave {text:?}, not in UTC");
        // Written to the microsecond, truncated toward the earlier instant (floor, also
        // before 1970).
        assert_eq!(back.map(|b| b.unix_timestamp_nanos()), Some(t.unix_timestamp_nanos().div_euclid(1000) * 1000), "{s:?} gave {text:?}");
        true
    }

    /// Parses a `Retry-After` value.
    pub fn retry_after(s: &str) -> bool {
        crate::client::retry_after(s).is_some()
    }
}
