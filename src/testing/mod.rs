//! A fake cloud for tests (feature `testing`): an in-process Keystone + Cinder on 127.0.0.1.
//!
//! [`FakeCloud::start`] binds an ephemeral port and serves, from std threads, the calls this
//! crate makes: Keystone's password token request (with a catalog whose block-storage
//! endpoint is the fake itself), Cinder's version root, and the snapshot, volume and user
//! message calls, with Cinder's status transitions, paging, filters, sorts, error bodies and
//! headers as the recorded fixtures have them. A test drives it through the crate's public
//! API ([`FakeCloud::client`], [`FakeCloud::client_as`] or [`FakeCloud::os_vars`]), sets up
//! volumes ([`FakeCloud::add_volume`], [`FakeCloud::add_volume_with`] and a [`VolumeSpec`]:
//! metadata, status, attachment, project; [`FakeCloud::set_volume_status`]), adds projects
//! with users of their own ([`FakeCloud::add_project`], [`FakeCloud::set_project_quota`]),
//! names its region ([`FakeCloud::set_region`]), paces its snapshots by the wall clock
//! ([`FakeCloud::set_snapshot_available_after`]), moves its clock
//! ([`FakeCloud::set_now`], [`FakeCloud::advance`]), injects faults
//! ([`FakeCloud::fail_next`], [`FakeCloud::lose_next_answers`],
//! [`FakeCloud::repeat_marker_items`], [`FakeCloud::fail_snapshot`],
//! [`FakeCloud::fail_next_snapshots`], [`FakeCloud::fail_delete`],
//! [`FakeCloud::set_snapshot_quota`], [`FakeCloud::set_quota`],
//! [`FakeCloud::set_cinder_default_quotas`], [`FakeCloud::refuse_next`],
//! [`FakeCloud::revoke_tokens`],
//! [`FakeCloud::set_latency`], [`FakeCloud::set_page_cap`]) and inspects what it received
//! and what it holds ([`FakeCloud::requests`], [`FakeCloud::snapshots`],
//! [`FakeCloud::volumes`]) and counts what it served ([`FakeCloud::stats`]: requests, listing
//! pages and rows, its own busy time). The server stops when the [`FakeCloud`] is dropped.
//!
//! At estate scale (10,000s of volumes and snapshots over many projects and several fakes
//! standing for regions) a listing costs a filter and a sort of indexes plus the page's
//! JSON; no record is copied.
//!
//! # Faithful to the real server
//!
//! The same scenario tests run against the fake (`tests/fake_scenarios.rs`) and against a
//! real Keystone 30 + Cinder 29 (`tests/live_scenarios.rs`, run by `scripts/live-tests`);
//! what they check is what this section promises.
//!
//! - Keystone: `POST /v3/auth/tokens` (password) answers 201 with `X-Subject-Token` and
//!   the recorded body shape, for two users: the admin ([`USERNAME`] on [`PROJECT_NAME`],
//!   role `admin`) and a member ([`MEMBER_USERNAME`] on [`MEMBER_PROJECT_NAME`], roles
//!   `member` and `reader`), both with [`PASSWORD`] ([`Account`]), and the projects a test
//!   adds ([`FakeCloud::add_project`]), each with its own user and password. Bad credentials give
//!   Keystone's 401 body. Cinder requests without a token the fake issued give
//!   keystonemiddleware's 401 body; a URL naming another project than the token's is
//!   Cinder's 400 `Malformed request url`.
//! - `GET /` answers 300 with the versions document (3.0 to 3.71). Every Cinder answer has
//!   `x-openstack-request-id` and `OpenStack-API-Version: volume 3.N` (the version asked
//!   for; above 3.71 is a 406 `computeFault`).
//! - Projects: a member sees only its own project's snapshots, volumes and messages
//!   (another project's are 404, its `all_tenants` is dropped); the admin reads every
//!   project's by id, and lists them with `all_tenants` (narrowed by `project_id`).
//! - Snapshot create (202, `creating`) as Cinder 29 decides it: the volume must exist
//!   (404); `force=false` from 3.66 is a 400; a volume in `error` or `maintenance` is a
//!   400 with Cinder's own message; otherwise the volume must be `available`, or
//!   `available, in-use` with `force=true` or from 3.66 (Cinder's message names them); then
//!   the quotas ([`FakeCloud::set_quota`]): Cinder's 413 `SnapshotLimitExceeded` or
//!   `VolumeSizeExceedsAvailableQuota` (snapshots count toward `gigabytes`), checked on
//!   `snapshots`, `gigabytes` and their `___DEFAULT__` forms, the first key over in sorted
//!   order giving the message.
//! - Quotas: `os-quota-sets/<project>` (plain limits) and `?usage=True` (`limit`, `in_use`,
//!   `reserved` per key, the keys in Cinder 29's order, `id` last), readable by the admin
//!   for any project and by a member for its own (another's is Cinder's 403 "Policy doesn't
//!   allow volume_extension:quotas:show to be performed."); `limits` (`rate: []` and the
//!   `absolute` limits and totals of the caller's project). Checked against the local Cinder
//!   29 as admin and as member.
//! - A rate limiter in front ([`FakeCloud::refuse_next`], [`Refusal`]): 429 with any of the
//!   pause headers, or Cinder's legacy 413 `overLimitFault`.
//! - Snapshots: show, list and list/detail (summary and detail fields by microversion;
//!   `progress` `0%` at create, `100%` when done, or as set), update (name, description,
//!   their `display_` forms; Cinder's schema 400s), delete (202; `deleting`, then 404; only
//!   `available` or `error` snapshots, else Cinder's 400), `os-reset_status` (admin; a
//!   member gets Cinder's 403; an unknown status Cinder's 400; the status set stays, as no
//!   backend moves it), `os-update_snapshot_status` (Cinder's transitions from `creating`
//!   and `deleting` and its 400s), `os-force_delete` (admin), metadata get, merge (POST),
//!   replace (PUT) and single keys (GET, PUT, DELETE; a missing key is Cinder's 404
//!   `Snapshot <id> has no metadata with key <key>.`).
//!   Volumes: create (size or `snapshot_id`: the snapshot must be `available`, the size at
//!   least the snapshot's), show (an `in-use` volume with its attachment; a member sees no
//!   `os-vol-mig-status-attr`/`os-vol-host-attr` keys, `cluster_name`, `migration_status`
//!   or `provider_id`), list and
//!   list/detail, delete (refused with Cinder's 400 while it has snapshots or is not
//!   `available`/`error`), metadata get (`text/html`, as Cinder 29 labels it), merge (POST),
//!   replace (PUT) and key delete (a missing key is Cinder's 404 `Volume <id> has no
//!   metadata with key <key>.`; a missing `metadata` its 400; a volume in `maintenance` or
//!   `uploading` its 400 `Invalid volume: Updating (Deleting) volume metadata is not allowed
//!   for volumes in <status> status.`, after the key's 404), and the action `revert` (3.40+; below it 404): only to the
//!   volume's latest snapshot, sizes equal (400s), the volume `available` (409), the
//!   snapshot `available` (409, after the volume was set `reverting`, where Cinder leaves
//!   it); then `reverting` (the snapshot `restoring`) and `available` again.
//! - Listings: a page cap like `osapi_max_limit` (default 1000), `limit` (capped; bad values
//!   give Cinder's 400 messages), `marker` (an unknown marker is Cinder's 404; a
//!   snapshot marker that the filters leave out, one that left `creating` between two pages
//!   of a `status=creating` listing, is found by id as Cinder loads it, and the page goes on
//!   after its place),
//!   `offset`, `with_count` (`count` on every page), next links with the fake's own host
//!   and every original parameter (Cinder's rule: a link when the page is full, or with
//!   `with_count` when the total reaches the limit), `sort` / `sort_key` / `sort_dir`
//!   (default `created_at` descending, ties by id descending; a key that is not a column,
//!   e.g. a snapshot's `size`, or a snapshot's `name` below 3.30, is Cinder's 400
//!   `Invalid input received: Invalid sort key`).
//! - Filters (every pair of a `metadata` filter must match; it is JSON or a Python dict
//!   literal), as Cinder 29 applies them (checked against it, not its docs): snapshots
//!   `name`, `status`, `volume_id`, `metadata` (from 3.22; dropped below, so everything is
//!   listed), `name~` (from 3.31; dropped below), `description~` and `consumes_quota` (from
//!   3.31; below, an unknown column: nothing listed; every snapshot consumes quota),
//!   `all_tenants`, `project_id`; `availability_zone` is Cinder 29's 500 `computeFault`
//!   (its own failure, at every microversion). Volumes `name`, `status`, `metadata`,
//!   `name~`, `description~`, `availability_zone` (every volume is in `nova`), `bootable`
//!   (no volume is), `group_id` (no volume has one), `consumes_quota` (3.65+),
//!   `all_tenants`, `project_id`. An admin's unknown filter (and `with_count` below 3.45)
//!   lists nothing; a member's filter outside Cinder's default `resource_filters.json` is
//!   a 400 `Invalid filters <keys> are found in query options.` from 3.31 (`all_tenants`
//!   dropped silently), and below 3.31 a member's snapshot filters other than `name`,
//!   `status`, `volume_id` and `metadata` are dropped. `limit=0` is an empty page.
//! - Error bodies: `{"itemNotFound": {"code": 404, "message": "Snapshot <id> could not be
//!   found."}}`, `badRequest` 400, `forbidden` 403, `overLimit` 413 (with `retryAfter` and
//!   `Retry-After`).
//!
//! # Not (yet) faithful
//!
//! - Every quota starts unlimited (`-1`), not at Cinder's shipped defaults (10 snapshots,
//!   1,000 GB): most tests and the benches make more than 10 snapshots in one project, and
//!   a quota is what a test sets up, as an operator does
//!   ([`FakeCloud::set_cinder_default_quotas`] gives Cinder's defaults in one call).
//!   Only snapshot creates are checked against the quotas (a volume create is not, though
//!   volumes count in `gigabytes`); quotas cannot be changed through the API
//!   (`PUT os-quota-sets` is not served); every volume is of type `__DEFAULT__`.
//! - No policy beyond the admin actions, the member's filters and the quota set, no token expiry of its own (use
//!   [`FakeCloud::revoke_tokens`]), no application credentials or token-method auth, no
//!   project-less URLs (3.67).
//! - A member's volume filters below 3.31 are not dropped as Cinder drops them; which
//!   unknown volume filter keys Cinder takes for columns is not modelled (all match
//!   nothing for an admin).
//! - A volume always has the fields of 3.71, whatever the microversion asked; a snapshot's
//!   fields follow it (`group_snapshot_id` 3.14, `user_id` 3.41, `consumes_quota` 3.65).
//!   A member's volume create answer is assumed to drop the same keys as its show.
//! - `os-unmanage`, manageable snapshots, volume actions other than `revert` (extend,
//!   reset status: use [`FakeCloud::set_volume_status`]), volume update and the
//!   attachments API are not served (404).
//! - The snapshot metadata schema (key characters, 255-character limits) is not checked:
//!   the client checks it before sending.
//! - A snapshot set to `error` through `os-reset_status` leaves no user message, as in
//!   Cinder; [`FakeCloud::fail_snapshot`] leaves one, as Cinder's volume manager does when
//!   the backend fails (the real local cloud's fake driver never fails, so the live suite
//!   cannot show that message).
//! - One fake is one region with its own Keystone: three fakes are three regions, but a
//!   token of one is unknown to the others, and a catalog lists its own region only.
//! - Timestamps come from the fake's clock, which moves only when the test moves it;
//!   `updated_at` changes only with status and metadata changes the fake makes.
//! - One request per connection (`Connection: close`).
//!
//! # Example
//!
//! ```
//! use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, WaitOpts};
//! use cinder_snapshots::testing::FakeCloud;
//!
//! let cloud = FakeCloud::start();
//! let volume = cloud.add_volume("data");
//! let client = cloud.client();
//!
//! let snap = snapshots::create(&client, &CreateOpts::new(&volume).name("nightly"))?;
//! assert_eq!(snap.status, SnapshotStatus::Creating);
//! let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?;
//! assert_eq!(snapshots::list_detail(&client, &ListOpts::new())?.all()?.len(), 1);
//!
//! snapshots::delete(&client, &snap.id)?;
//! snapshots::wait_for_delete(&client, &snap.id, &WaitOpts::new())?;
//! assert!(cloud.snapshots().is_empty());
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Testing your own logic: a prune with a moved clock and a failing delete
//!
//! Your code takes a [`ServiceClient`]; the test hands it the fake's, builds a history
//! days old by moving the clock, and makes the backend fail what it wants to see fail.
//! (The crate's repository has a longer version in `tests/downstream_prune.rs`.)
//!
//! ```
//! use std::time::Duration;
//! use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, WaitOpts};
//! use cinder_snapshots::testing::FakeCloud;
//! use cinder_snapshots::{Error, ServiceClient};
//! use time::OffsetDateTime;
//!
//! /// Yours: deletes the snapshots of `volume` older than `max_age`; returns the ids it could
//! /// not delete.
//! fn prune(client: &ServiceClient, volume: &str, max_age: Duration, now: OffsetDateTime) -> Result<Vec<String>, Error> {
//!     let mut failed = Vec::new();
//!     for snap in snapshots::list_detail(client, &ListOpts::new().volume_id(volume))?.all()? {
//!         if snap.created_at.is_some_and(|t| t < now - max_age) {
//!             let gone = snapshots::delete(client, &snap.id).and_then(|()| snapshots::wait_for_delete(client, &snap.id, &WaitOpts::new()));
//!             if gone.is_err() {
//!                 failed.push(snap.id);
//!             }
//!         }
//!     }
//!     Ok(failed)
//! }
//!
//! let cloud = FakeCloud::start();
//! let volume = cloud.add_volume("db");
//! let client = cloud.client();
//! let day = Duration::from_secs(86_400);
//! let mut ids = Vec::new();
//! for _ in 0..5 {
//!     let snap = snapshots::create(&client, &CreateOpts::new(&volume))?;
//!     ids.push(snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?.id);
//!     cloud.advance(day);
//! }
//! cloud.fail_delete(&ids[0]);
//! // Now 5 days after the first: the three older than 2 days go, the first one's delete fails.
//! assert_eq!(prune(&client, &volume, 2 * day, cloud.now())?, vec![ids[0].clone()]);
//! let left: Vec<(String, SnapshotStatus)> = cloud.snapshots().into_iter().map(|s| (s.id, s.status)).collect();
//! assert_eq!(left, [
//!     (ids[0].clone(), SnapshotStatus::ErrorDeleting),
//!     (ids[3].clone(), SnapshotStatus::Available),
//!     (ids[4].clone(), SnapshotStatus::Available),
//! ]);
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

mod cinder;
mod server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::snapshots::Snapshot;
use crate::volumes::{Volume, VolumeStatus};
use crate::{AuthOptions, Domain, PollPolicy, RetryPolicy, Scope, ServiceClient, ServiceClientBuilder};

use cinder::{Fate, State};
use server::Server;

/// The admin's user name (the fake's Keystone accepts it with [`PASSWORD`]).
pub const USERNAME: &str = "admin";
/// The password of the fake's two built-in users (the admin and the member).
pub const PASSWORD: &str = "password";
/// The name of the admin's project.
pub const PROJECT_NAME: &str = "admin";
/// The id of the admin's project (it appears in the admin's endpoint path).
pub const PROJECT_ID: &str = cinder::PROJECT_ID;
/// The member's user name (role `member` on [`MEMBER_PROJECT_NAME`] only, as the local
/// cloud's `demo` user).
pub const MEMBER_USERNAME: &str = "demo";
/// The name of the member's project.
pub const MEMBER_PROJECT_NAME: &str = "demo";
/// The id of the member's project.
pub const MEMBER_PROJECT_ID: &str = cinder::MEMBER_PROJECT_ID;

/// A user of the fake's Keystone with its project: the two every fake has, the admin (role
/// `admin`: sees every project's resources, honours `all_tenants`, may reset statuses) and a
/// member (role `member`: its own project only; `all_tenants` is dropped, admin actions are
/// 403), and any number of projects a test adds with [`FakeCloud::add_project`], each with a
/// user of its own (role `member` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Account {
    /// [`USERNAME`] on project [`PROJECT_NAME`].
    #[default]
    Admin,
    /// [`MEMBER_USERNAME`] on project [`MEMBER_PROJECT_NAME`].
    Member,
    /// A project added by [`FakeCloud::add_project`] and its user.
    Project(ProjectAccount),
}

/// A project added by [`FakeCloud::add_project`] and its own user (read it through
/// [`Account`]'s methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectAccount(cinder::AccountRec);

impl Account {
    fn rec(self) -> cinder::AccountRec {
        match self {
            Account::Admin => cinder::ACCOUNTS[0],
            Account::Member => cinder::ACCOUNTS[1],
            Account::Project(p) => p.0,
        }
    }

    /// The user name (for an added project: the project's name).
    pub fn username(self) -> &'static str {
        self.rec().user_name
    }

    /// The user's id.
    pub fn user_id(self) -> &'static str {
        self.rec().user_id
    }

    /// The user's password ([`PASSWORD`] for the admin and the member; `<name>-password`
    /// for an added project's user).
    pub fn password(self) -> &'static str {
        self.rec().password
    }

    /// The project's name.
    pub fn project_name(self) -> &'static str {
        self.rec().project_name
    }

    /// The project's id (for an added project: 32 hex digits derived from its name, so the
    /// same name has the same id in every fake, as one Keystone's project in every region).
    pub fn project_id(self) -> &'static str {
        self.rec().project_id
    }
}

/// What a fake has served since it started or since [`FakeCloud::reset_stats`]: the
/// figures a benchmark reads to tell the client's work from the fake's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Requests answered (Keystone's, the version root's and Cinder's; a lost answer counts).
    pub requests: u64,
    /// Listing pages answered (snapshot and volume listings, summary and detail).
    pub listing_pages: u64,
    /// Snapshots returned by the snapshot listings (the rows of every page).
    pub snapshot_rows: u64,
    /// Volumes returned by the volume listings.
    pub volume_rows: u64,
    /// The time the fake spent answering (holding its lock: parsing, filtering, sorting,
    /// building the answer), without the network and without [`FakeCloud::set_latency`].
    pub busy: Duration,
}

impl Stats {
    /// The rows of every listing: [`snapshot_rows`](Self::snapshot_rows) +
    /// [`volume_rows`](Self::volume_rows).
    pub fn listing_rows(&self) -> u64 {
        self.snapshot_rows.saturating_add(self.volume_rows)
    }
}

/// A request the fake received: no header but the microversion, and the body of Cinder's
/// requests only, so never a token or a password. More fields may come (it is
/// `#[non_exhaustive]`): compare the fields a test cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeenRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    pub method: String,
    /// The path, as sent: `/v3/auth/tokens`, `/`, `/v3/<project>/snapshots/detail`, ...
    pub path: String,
    /// The query, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The `OpenStack-API-Version` header as sent (`volume 3.71`), if any.
    pub microversion: Option<String>,
    /// The body of a request to the Cinder endpoint (a path under `/v3/<project id>/`), as
    /// JSON: `{"snapshot": {"volume_id": ..., "force": true}}`. `None` when it had no body,
    /// and ALWAYS `None` for Keystone's requests (`/v3/auth/tokens` carries a password) and
    /// the version root. A Cinder body that is not JSON is kept as a JSON string of its text
    /// (invalid UTF-8 replaced).
    pub body: Option<serde_json::Value>,
    /// For a snapshot or volume listing answered with a page: how many items the page held.
    /// `None` for any other request, and for a listing answered with an error or a fault.
    pub rows: Option<usize>,
}

impl SeenRequest {
    /// The path with the endpoint's `/v3/<project>/` removed (`snapshots/detail`), or the
    /// whole path for Keystone and the version root.
    pub fn relative_path(&self) -> &str {
        cinder::split_project(&self.path).map_or(&self.path, |(_, relative)| relative)
    }

    /// The method, the relative path and the query, for comparisons in tests.
    pub fn call(&self) -> (&str, &str, Vec<(&str, &str)>) {
        (&self.method, self.relative_path(), self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
    }
}

/// A volume for [`FakeCloud::add_volume_with`]: `available`, 1 GiB, no metadata, owned by
/// the admin's project unless told otherwise.
///
/// ```
/// use cinder_snapshots::testing::{Account, VolumeSpec};
/// use cinder_snapshots::volumes::VolumeStatus;
/// let spec = VolumeSpec::new("db").size(10).metadata("backup", "nightly").status(VolumeStatus::InUse).owner(Account::Member);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct VolumeSpec {
    name: Option<String>,
    size: u64,
    metadata: BTreeMap<String, String>,
    status: VolumeStatus,
    server_id: Option<String>,
    owner: Account,
}

impl VolumeSpec {
    /// A volume named `name`.
    pub fn new(name: impl Into<String>) -> VolumeSpec {
        VolumeSpec {
            name: Some(name.into()),
            size: 1,
            metadata: BTreeMap::new(),
            status: VolumeStatus::Available,
            server_id: None,
            owner: Account::Admin,
        }
    }

    /// A volume without a name.
    pub fn unnamed() -> VolumeSpec {
        VolumeSpec { name: None, ..VolumeSpec::new("") }
    }

    /// Its size in GiB (default 1; a snapshot of it has this size).
    pub fn size(mut self, gib: u64) -> VolumeSpec {
        self.size = gib;
        self
    }

    /// One metadata item.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> VolumeSpec {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Its status (default `available`). `in-use` gives it an attachment, as Cinder shows an
    /// attached volume; `error` and `maintenance` are statuses Cinder refuses to snapshot.
    pub fn status(mut self, status: VolumeStatus) -> VolumeSpec {
        self.status = status;
        self
    }

    /// Attached (`in-use`) to the server `server_id` (an id only: the fake has no servers).
    pub fn attached_to(mut self, server_id: impl Into<String>) -> VolumeSpec {
        self.status = VolumeStatus::InUse;
        self.server_id = Some(server_id.into());
        self
    }

    /// The project it belongs to (default [`Account::Admin`]'s).
    pub fn owner(mut self, owner: Account) -> VolumeSpec {
        self.owner = owner;
        self
    }
}

/// Which requests a fault applies to: a method (or any) and a path prefix, matched against
/// the whole path (`/v3/auth/tokens`) or the path relative to the endpoint
/// (`snapshots`, `snapshots/detail`, `volumes/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    method: Option<String>,
    prefix: String,
}

impl Rule {
    /// Every method, the paths starting with `prefix`.
    pub fn any(prefix: impl Into<String>) -> Rule {
        Rule { method: None, prefix: prefix.into() }
    }

    /// The GETs of the paths starting with `prefix`.
    pub fn get(prefix: impl Into<String>) -> Rule {
        Rule::method("GET", prefix)
    }

    /// The requests of `method` (`POST`, `DELETE`, ...) to the paths starting with `prefix`.
    pub fn method(method: impl Into<String>, prefix: impl Into<String>) -> Rule {
        Rule { method: Some(method.into()), prefix: prefix.into() }
    }
}

/// A loss waiting for its requests: they are processed, and their answers never sent.
#[derive(Debug, Clone)]
pub(crate) struct Loss {
    pub(crate) rule: Rule,
    pub(crate) remaining: u32,
}

/// A rate limiter's refusal, for [`FakeCloud::refuse_next`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// HTTP 429 from a limiter in front of Cinder (an HTML body), its pause in `header`
    /// (`Retry-After`, `X-RateLimit-Retry-After` or `X-Retry-After`) with `value` (seconds,
    /// or an HTTP date).
    TooManyRequests {
        /// The header's name.
        header: String,
        /// Its value, as sent.
        value: String,
    },
    /// Cinder's own legacy rate limiter: 413 `{"overLimitFault": {"code": 413, "message":
    /// "This request was rate-limited.", "details": ...}}` with `Retry-After: <retry_after>`.
    OverLimitFault {
        /// The `Retry-After` value, as sent.
        retry_after: String,
    },
}

impl Refusal {
    /// A 429 with `header: value`.
    pub fn too_many(header: impl Into<String>, value: impl Into<String>) -> Refusal {
        Refusal::TooManyRequests { header: header.into(), value: value.into() }
    }

    /// Cinder's legacy limiter's 413 `overLimitFault` with `Retry-After: <retry_after>`.
    pub fn over_limit_fault(retry_after: impl Into<String>) -> Refusal {
        Refusal::OverLimitFault { retry_after: retry_after.into() }
    }
}

/// A [`Sleeper`](crate::client::Sleeper) that moves instead of sleeping, for tests of the
/// client's pauses ([`ServiceClientBuilder::sleeper`]): `sleep(d)` records `d` and moves the
/// clock by it at once.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::client::Sleeper;
/// use cinder_snapshots::testing::ManualSleeper;
/// let clock = ManualSleeper::new();
/// let t0 = clock.now();
/// clock.sleep(Duration::from_secs(7));
/// assert_eq!(clock.now() - t0, Duration::from_secs(7));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
/// ```
#[derive(Debug)]
pub struct ManualSleeper {
    base: std::time::Instant,
    offset: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualSleeper {
    /// A clock at the real time now, that moves only when slept on or advanced.
    pub fn new() -> Arc<ManualSleeper> {
        Arc::new(ManualSleeper { base: std::time::Instant::now(), offset: Mutex::new(Duration::ZERO), sleeps: Mutex::new(Vec::new()) })
    }

    /// Every sleep asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        lock(&self.sleeps).clone()
    }

    /// How far the clock has moved.
    pub fn elapsed(&self) -> Duration {
        *lock(&self.offset)
    }

    /// Moves the clock by `d` (not recorded as a sleep).
    pub fn advance(&self, d: Duration) {
        let mut offset = lock(&self.offset);
        *offset = offset.saturating_add(d);
    }
}

impl crate::client::Sleeper for ManualSleeper {
    fn now(&self) -> std::time::Instant {
        let offset = *lock(&self.offset);
        self.base.checked_add(offset).unwrap_or(self.base)
    }

    fn sleep(&self, d: Duration) {
        lock(&self.sleeps).push(d);
        self.advance(d);
    }
}

/// A limiter's refusal waiting for its requests.
#[derive(Debug, Clone)]
pub(crate) struct Limited {
    pub(crate) rule: Rule,
    pub(crate) refusal: Refusal,
    pub(crate) remaining: u32,
}

/// A fault waiting for its requests.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) rule: Rule,
    pub(crate) status: u16,
    pub(crate) remaining: u32,
}

/// An in-process Keystone + Cinder on 127.0.0.1 (see the [module](self) docs). Stops on
/// drop.
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
    server: Server,
    base: String,
}

impl std::fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloud").field("base", &self.base).finish_non_exhaustive()
    }
}

impl FakeCloud {
    /// Starts the fake on an ephemeral port of 127.0.0.1, its clock at the current time.
    ///
    /// # Panics
    ///
    /// When no port can be bound or no thread started ([`try_start`](Self::try_start)
    /// returns that error instead).
    pub fn start() -> FakeCloud {
        match FakeCloud::try_start() {
            Ok(cloud) => cloud,
            Err(e) => panic!("the fake cloud could not start: {e}"),
        }
    }

    /// Like [`start`](Self::start), returning the error of binding or spawning.
    pub fn try_start() -> std::io::Result<FakeCloud> {
        let state = Arc::new(Mutex::new(State::new(to_micros(OffsetDateTime::now_utc()))));
        let server = Server::start(state.clone())?;
        let base = format!("http://{}", server.addr());
        lock(&state).base = base.clone();
        Ok(FakeCloud { state, server, base })
    }

    /// Keystone's URL: `http://127.0.0.1:PORT/v3`.
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.base)
    }

    /// The block-storage endpoint the catalog gives: `http://127.0.0.1:PORT/v3/<project>`.
    pub fn endpoint(&self) -> String {
        format!("{}/v3/{PROJECT_ID}", self.base)
    }

    /// A builder for a client of this fake: password authentication as [`USERNAME`] in
    /// domain `Default`, scoped to project [`PROJECT_NAME`], with short poll intervals
    /// (5 ms growing to 20 ms, a 10 s timeout), short retry backoffs and a 10 s request
    /// timeout, so that waits and retries take milliseconds. Change what you need before
    /// `build()`.
    pub fn client_builder(&self) -> ServiceClientBuilder {
        self.client_builder_as(Account::Admin)
    }

    /// Like [`client_builder`](Self::client_builder), as `account` on its own project.
    pub fn client_builder_as(&self, account: Account) -> ServiceClientBuilder {
        let auth = AuthOptions::password(self.auth_url(), account.username(), Domain::name("Default"), account.password());
        ServiceClient::builder(auth)
            .scope(Scope::project_name(account.project_name(), Domain::name("Default")))
            .timeout(Duration::from_secs(10))
            .poll_policy(
                PollPolicy::new()
                    .initial_interval(Duration::from_millis(5))
                    .max_interval(Duration::from_millis(20))
                    .timeout(Duration::from_secs(10)),
            )
            .retry_policy(RetryPolicy::new().initial_backoff(Duration::from_millis(1)).max_backoff(Duration::from_millis(10)))
    }

    /// A client of this fake, as [`client_builder`](Self::client_builder) makes it.
    ///
    /// # Panics
    ///
    /// When the builder refuses its own settings (it does not: they are fixed and valid).
    pub fn client(&self) -> ServiceClient {
        self.client_as(Account::Admin)
    }

    /// A client of this fake as `account`, as [`client_builder_as`](Self::client_builder_as)
    /// makes it.
    ///
    /// # Panics
    ///
    /// When the builder refuses its own settings (it does not: they are fixed and valid).
    pub fn client_as(&self, account: Account) -> ServiceClient {
        match self.client_builder_as(account).build() {
            Ok(client) => client,
            Err(e) => panic!("the fake cloud's client settings were refused: {e}"),
        }
    }

    /// The `OS_*` variables of an openrc file for this fake, for
    /// [`ServiceClientBuilder::from_vars`] (no password is printed by the crate; keep these
    /// out of logs all the same).
    pub fn os_vars(&self) -> Vec<(String, String)> {
        self.os_vars_as(Account::Admin)
    }

    /// The `OS_*` variables of `account`'s openrc file for this fake.
    pub fn os_vars_as(&self, account: Account) -> Vec<(String, String)> {
        [
            ("OS_AUTH_URL", self.auth_url()),
            ("OS_USERNAME", account.username().into()),
            ("OS_PASSWORD", account.password().into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_NAME", account.project_name().into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_REGION_NAME", self.region()),
            ("OS_INTERFACE", "public".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The fake's clock: `created_at` of new resources. It moves only when the test moves it,
    /// and holds whole microseconds, as Cinder's timestamps do (so `created_at` read back
    /// equals it).
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.state).now
    }

    /// Sets the fake's clock (to the microsecond: anything finer is dropped).
    pub fn set_now(&self, now: OffsetDateTime) {
        lock(&self.state).now = to_micros(now);
    }

    /// Moves the fake's clock forward by `by` (saturating at the calendar's end), to the
    /// nearest microsecond.
    pub fn advance(&self, by: Duration) {
        let mut st = lock(&self.state);
        let micros = by.as_micros().saturating_add(u128::from(by.subsec_nanos() % 1000 >= 500));
        let by = i64::try_from(micros).map_or(time::Duration::MAX, time::Duration::microseconds);
        st.now = st.now.checked_add(by).unwrap_or(st.now);
    }

    /// The most items one page of a listing holds, like Cinder's `osapi_max_limit` (default
    /// 1000); a larger `limit` is capped to it. 0 is taken as 1.
    pub fn set_page_cap(&self, cap: usize) {
        lock(&self.state).page_cap = cap.max(1);
    }

    /// How many reads (GETs of the snapshot, or listings) see a new snapshot `creating`
    /// before it is `available` (default 1; 0: the first read sees it `available`).
    pub fn set_snapshot_creating_reads(&self, reads: u32) {
        lock(&self.state).snapshot_creating_reads = reads;
    }

    /// How many reads see a new volume `creating` before it is `available` (default 0).
    pub fn set_volume_creating_reads(&self, reads: u32) {
        lock(&self.state).volume_creating_reads = reads;
    }

    /// How many reads see a deleted snapshot or volume `deleting` before it is gone (404)
    /// (default 1).
    pub fn set_deleting_reads(&self, reads: u32) {
        lock(&self.state).deleting_reads = reads;
    }

    /// Adds an `available` 1 GiB volume named `name` to the admin's project without a
    /// request (so it is not in [`requests`](Self::requests)), created now by the fake's
    /// clock; returns its id.
    pub fn add_volume(&self, name: &str) -> String {
        self.add_volume_with(&VolumeSpec::new(name))
    }

    /// Adds a volume as `spec` describes it (metadata, status, attachment, project) without
    /// a request, created now by the fake's clock; returns its id.
    pub fn add_volume_with(&self, spec: &VolumeSpec) -> String {
        lock(&self.state).add_volume(cinder::NewVolume {
            name: spec.name.clone(),
            size: spec.size,
            metadata: spec.metadata.clone(),
            status: spec.status.as_str().to_owned(),
            server_id: spec.server_id.clone(),
            owner: spec.owner.rec(),
        })
    }

    /// Sets volume `id`'s status, as an admin's `os-reset_status` or the backend would
    /// (`in-use` attaches it to a server id of the fake's own; any other status detaches
    /// it). Returns false when there is no such volume.
    pub fn set_volume_status(&self, id: &str, status: VolumeStatus) -> bool {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let Some(i) = st.volumes.iter().position(|v| v.id == id) else { return false };
        let mut v = st.volumes[i].clone();
        st.set_volume_status(&mut v, status.as_str(), None);
        st.volumes[i] = v;
        true
    }

    /// The most snapshots each project may hold (Cinder's `snapshots` quota; default `None`,
    /// no limit). Every snapshot of the project counts, whatever its status, until it is
    /// gone; a create beyond the limit is Cinder's 413: `{"overLimit": {"code": 413,
    /// "message": "SnapshotLimitExceeded: Maximum number of snapshots allowed (N) exceeded",
    /// "retryAfter": "0"}}` with `Retry-After: 0`.
    ///
    /// The same as [`set_quota`](Self::set_quota)`("snapshots", quota or -1)`.
    pub fn set_snapshot_quota(&self, quota: Option<u32>) {
        self.set_quota("snapshots", quota.map_or(-1, i64::from));
    }

    /// Sets the limit of quota `key` for every project (`snapshots`, `gigabytes`,
    /// `volumes`, `snapshots___DEFAULT__`, `gigabytes___DEFAULT__`, ...; `-1`: unlimited,
    /// the fake's default for every key). The quota set (`os-quota-sets/<project>`, with
    /// `?usage=True` its `in_use` and `reserved`) and the limits API (`limits`) show it, and
    /// a snapshot create is checked against `snapshots` (1), `gigabytes` (the volume's size:
    /// snapshots count toward the gigabytes, as Cinder's default `no_snapshot_gb_quota =
    /// False` has it) and their `___DEFAULT__` forms, with Cinder's 413 for the first key
    /// over in sorted order: `SnapshotLimitExceeded: Maximum number of snapshots allowed (N)
    /// exceeded`, or `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds
    /// allowed <key> quota. Requested <S>G, quota is <L>G and <C>G has been consumed.`
    pub fn set_quota(&self, key: &str, limit: i64) {
        lock(&self.state).quotas.insert(key.to_owned(), limit);
    }

    /// Cinder's shipped default quotas, as a fresh Cinder 29 project has them: 10 volumes,
    /// 10 snapshots, 1,000 GB, 10 backups, 1,000 backup GB, 10 groups, the per-type keys
    /// unlimited. (The fake starts with every quota unlimited; see the module docs.)
    pub fn set_cinder_default_quotas(&self) {
        let mut st = lock(&self.state);
        for (key, limit) in
            [("volumes", 10), ("snapshots", 10), ("gigabytes", 1000), ("backups", 10), ("backup_gigabytes", 1000), ("groups", 10)]
        {
            st.quotas.insert(key.to_owned(), limit);
        }
    }

    /// What quota `key` shows as `reserved` in every project's quota set (creates in flight
    /// elsewhere), and counts as consumed when a create is checked.
    pub fn set_quota_reserved(&self, key: &str, reserved: i64) {
        lock(&self.state).quota_reserved.insert(key.to_owned(), reserved);
    }

    /// The next `n` requests matching `rule` are refused by a rate limiter (see
    /// [`Refusal`]): not processed, nothing changes. Checked before the
    /// [`fail_next`](Self::fail_next) faults; a refused request is never lost.
    pub fn refuse_next(&self, n: u32, rule: Rule, refusal: Refusal) {
        if n > 0 {
            lock(&self.state).limited.push(Limited { rule, refusal, remaining: n });
        }
    }

    /// Every request received so far, in order (Keystone's, the version root's and
    /// Cinder's).
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.state).requests.clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// The snapshots the fake holds now, oldest first by creation, as a detail listing
    /// shows them (reading them does not move their status).
    pub fn snapshots(&self) -> Vec<Snapshot> {
        let st = lock(&self.state);
        let mut recs: Vec<&cinder::SnapRec> = st.snapshots.iter().collect();
        recs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        recs.into_iter().filter_map(|s| serde_json::from_value(cinder::snapshot_view(s)).ok()).collect()
    }

    /// The volumes the fake holds now, oldest first by creation, as a detail listing shows
    /// them.
    pub fn volumes(&self) -> Vec<Volume> {
        let st = lock(&self.state);
        let mut recs: Vec<&cinder::VolRec> = st.volumes.iter().collect();
        recs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        recs.into_iter().filter_map(|v| serde_json::from_value(cinder::volume_view(&st, v)).ok()).collect()
    }

    /// The next `n` requests matching `rule` fail with `status` and Cinder's error body for
    /// it (`overLimit` for 413 and 429, `badRequest` for 400, `itemNotFound` for 404,
    /// `computeFault` otherwise); 413, 429 and 503 carry `Retry-After: 0`. Faults are checked
    /// in the order given; a faulted request changes no state.
    pub fn fail_next(&self, n: u32, rule: Rule, status: u16) {
        if n > 0 {
            lock(&self.state).faults.push(Fault { rule, status, remaining: n });
        }
    }

    /// The next `n` requests matching `rule` are processed as usual (a create creates, a
    /// delete deletes, the request is in [`requests`](Self::requests)), then their connection
    /// is closed at once without an answer (no status line, no latency): what a client sees
    /// when the server committed but the answer was lost (a connection dropped, a gateway
    /// gave up). Losses are checked in the order given; a request that a
    /// [`fail_next`](Self::fail_next) fault answers is not lost and does not count.
    ///
    /// The crate's client reports a lost answer as [`Error::Transport`](crate::Error::Transport)
    /// (the connection broke). What a test should expect of it:
    ///
    /// - `POST` to Cinder (a snapshot or volume create, an action, a metadata merge) is never
    ///   retried: the call fails with `Error::Transport { attempts: 1, .. }` after ONE
    ///   request, and the fake holds what it made (e.g. the new snapshot, `creating`).
    /// - `GET`, `PUT` and `DELETE` are retried by the client's
    ///   [`RetryPolicy`] (3 retries by default): a lost `GET` or `PUT`
    ///   answers at the next attempt, so with `n` at most the retries the call succeeds after
    ///   `n + 1` requests. A lost `DELETE` is resent too, and the resent one meets a
    ///   snapshot already `deleting` (Cinder's 400) or gone (404).
    /// - Keystone's token request is retried too (it creates nothing durable).
    ///
    /// ```
    /// use cinder_snapshots::snapshots::{self, CreateOpts};
    /// use cinder_snapshots::testing::{FakeCloud, Rule};
    /// use cinder_snapshots::Error;
    ///
    /// let cloud = FakeCloud::start();
    /// let volume = cloud.add_volume("data");
    /// let client = cloud.client();
    /// cloud.lose_next_answers(1, Rule::method("POST", "snapshots"));
    /// let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    /// assert!(matches!(err, Error::Transport { attempts: 1, .. }));
    /// // The snapshot was made all the same.
    /// assert_eq!(cloud.snapshots().len(), 1);
    /// ```
    pub fn lose_next_answers(&self, n: u32, rule: Rule) {
        if n > 0 {
            lock(&self.state).losses.push(Loss { rule, remaining: n });
        }
    }

    /// Misbehaves: the next `n` listing pages matching `rule` that carry a marker start at
    /// the marker's own item instead of after it (a server whose marker is inclusive), so
    /// each repeats the previous page's last item behind a fresh next link. Real Cinder never
    /// does this; it is a hostile listing the client must refuse as not exact.
    ///
    /// ```
    /// use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts};
    /// use cinder_snapshots::testing::{FakeCloud, Rule};
    ///
    /// let cloud = FakeCloud::start();
    /// let volume = cloud.add_volume("data");
    /// let client = cloud.client();
    /// for _ in 0..3 {
    ///     snapshots::create(&client, &CreateOpts::new(&volume))?;
    ///     cloud.advance(std::time::Duration::from_secs(1));
    /// }
    /// cloud.repeat_marker_items(1, Rule::get("snapshots"));
    /// let listing = snapshots::list(&client, &ListOpts::new().limit(2))?.all();
    /// assert!(matches!(listing, Err(cinder_snapshots::Error::InvalidResponse { .. })));
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn repeat_marker_items(&self, n: u32, rule: Rule) {
        if n > 0 {
            lock(&self.state).inclusive_markers.push(Loss { rule, remaining: n });
        }
    }

    /// The next `n` snapshots created go to `error` instead of `available` when they leave
    /// `creating`, each with `user_message` (if any) in `/messages`. Same as `n` calls of
    /// [`fail_snapshot(None, user_message)`](Self::fail_snapshot).
    pub fn fail_next_snapshots(&self, n: u32, user_message: Option<&str>) {
        for _ in 0..n {
            self.fail_snapshot(None, user_message);
        }
    }

    /// Snapshot `id` goes to `error` instead of `available` when it leaves `creating` (at
    /// once if it is already `available`), with `user_message` served by
    /// `GET /v3/<project>/messages?resource_uuid=<id>`. With `id` `None`, the next snapshot
    /// created does (calls add up: two calls fail the next two).
    pub fn fail_snapshot(&self, id: Option<&str>, user_message: Option<&str>) {
        let mut st = lock(&self.state);
        let message = user_message.map(str::to_owned);
        let Some(id) = id else {
            st.failing.push(message);
            return;
        };
        let now = st.now;
        let Some(i) = st.snapshots.iter().position(|s| s.id == id) else { return };
        if st.snapshots[i].status == "creating" {
            st.snapshots[i].fate = Fate::Error(message);
        } else {
            st.snapshots[i].status = "error".into();
            st.snapshots[i].updated_at = Some(now);
            if let Some(text) = message {
                let msg_id = st.new_id();
                let project_id = st.snapshots[i].project_id.clone();
                st.messages.push(cinder::MessageRec {
                    id: msg_id,
                    project_id,
                    resource_uuid: id.to_owned(),
                    user_message: text,
                    created_at: now,
                });
            }
        }
    }
}

impl FakeCloud {
    /// A delete of snapshot `id` ends in `error_deleting` (after the deleting reads) instead
    /// of removing it, as when the backend fails to delete it.
    pub fn fail_delete(&self, id: &str) {
        let mut st = lock(&self.state);
        if let Some(s) = st.snapshots.iter_mut().find(|s| s.id == id) {
            s.delete_fails = true;
        }
    }

    /// Every token issued so far stops working (as when tokens expire or are revoked): the
    /// next Cinder request with one gets keystonemiddleware's 401.
    pub fn revoke_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// Every answer is held back by `latency` (default none), outside the fake's lock.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Adds project `name` to the fake's Keystone with a user of its own (the same name,
    /// password `<name>-password`, role `member` on that project only) and returns its
    /// [`Account`], for [`client_as`](Self::client_as), [`os_vars_as`](Self::os_vars_as)
    /// and [`VolumeSpec::owner`]. The user authenticates with its password, scoped to the
    /// project by name or by id; Cinder shows it its own project's volumes, snapshots, quota
    /// set and limits only. A name the fake knows already (`admin`, `demo`, or one added
    /// before) gives that project's account again.
    ///
    /// ```
    /// use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
    /// use cinder_snapshots::volumes::{self, ListOpts};
    ///
    /// let cloud = FakeCloud::start();
    /// let web = cloud.add_project("web");
    /// let db = cloud.add_project("db");
    /// cloud.add_volume_with(&VolumeSpec::new("web-1").owner(web));
    /// cloud.add_volume_with(&VolumeSpec::new("db-1").owner(db));
    /// let names = |account| -> Vec<Option<String>> {
    ///     volumes::list(&cloud.client_as(account), &ListOpts::new()).unwrap().all().unwrap().into_iter().map(|v| v.name).collect()
    /// };
    /// assert_eq!(names(web), [Some("web-1".to_owned())]);
    /// assert_eq!(names(db), [Some("db-1".to_owned())]);
    /// ```
    pub fn add_project(&self, name: &str) -> Account {
        let mut st = lock(&self.state);
        match st.accounts.iter().position(|a| a.project_name == name) {
            Some(0) => Account::Admin,
            Some(1) => Account::Member,
            Some(i) => Account::Project(ProjectAccount(st.accounts[i])),
            None => {
                let rec = cinder::AccountRec::added(name);
                st.accounts.push(rec);
                Account::Project(ProjectAccount(rec))
            }
        }
    }

    /// Names the fake's region (default `RegionOne`): the `region_id` of every endpoint of
    /// the catalogs it issues from now on, and `OS_REGION_NAME` of [`os_vars`](Self::os_vars).
    /// Three fakes named `RegionOne`, `RegionTwo` and `RegionThree` stand for three regions
    /// (each with its own Keystone: a client of one is not known to the others).
    pub fn set_region(&self, region: &str) {
        lock(&self.state).region = region.to_owned();
    }

    /// The fake's region (see [`set_region`](Self::set_region)).
    pub fn region(&self) -> String {
        lock(&self.state).region.clone()
    }

    /// A new snapshot stays `creating` for `after` of WALL time from its create, then the
    /// first read (a GET of it, or a listing) finds it `available` (or `error`, as
    /// [`fail_snapshot`](Self::fail_snapshot) decides), however often it was read before:
    /// the pace of a real backend, for benchmarks of a wait. `None` (the default): it leaves
    /// `creating` after a number of reads ([`set_snapshot_creating_reads`](Self::set_snapshot_creating_reads)).
    pub fn set_snapshot_available_after(&self, after: Option<Duration>) {
        lock(&self.state).available_after = after;
    }

    /// Spreads the wall times of [`set_snapshot_available_after`](Self::set_snapshot_available_after)
    /// (default zero: every snapshot takes the same time): the n-th snapshot created from now
    /// on (counting from 0 since the fake started) waits `spread * (n mod 10) / 10` more,
    /// fixed at its create, so that the snapshots of one run finish over a span, as a
    /// backend's of volumes of different sizes do. No effect without a wall time.
    pub fn set_snapshot_available_spread(&self, spread: Duration) {
        lock(&self.state).available_spread = spread;
    }

    /// Sets the limit of quota `key` for `project`'s project only, over
    /// [`set_quota`](Self::set_quota)'s limit for every project (`-1`: unlimited there).
    pub fn set_project_quota(&self, project: Account, key: &str, limit: i64) {
        lock(&self.state).project_quotas.insert((project.project_id().to_owned(), key.to_owned()), limit);
    }

    /// What the fake has served since it started or since [`reset_stats`](Self::reset_stats).
    pub fn stats(&self) -> Stats {
        lock(&self.state).stats
    }

    /// Sets every counter of [`stats`](Self::stats) back to zero.
    pub fn reset_stats(&self) {
        lock(&self.state).stats = Stats::default();
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// `t` without its sub-microsecond part.
fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
