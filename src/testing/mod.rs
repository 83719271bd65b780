//! A fake cloud for tests (feature `testing`): an in-process Keystone + Cinder on 127.0.0.1.
//!
//! [`FakeCloud::start`] binds an ephemeral port and serves, from std threads, the calls this
//! crate makes: Keystone's password token request (with a catalog whose block-storage
//! endpoint is the fake itself), Cinder's version root, and the snapshot, volume and user
//! message calls, with Cinder's status transitions, paging, filters, sorts, error bodies and
//! headers as the recorded fixtures have them. A test drives it through the crate's public
//! API ([`FakeCloud::client`] or [`FakeCloud::os_vars`]), moves its clock
//! ([`FakeCloud::set_now`], [`FakeCloud::advance`]), injects faults
//! ([`FakeCloud::fail_next`], [`FakeCloud::fail_snapshot`], [`FakeCloud::fail_delete`],
//! [`FakeCloud::revoke_tokens`], [`FakeCloud::set_latency`]) and inspects what it received and
//! what it holds ([`FakeCloud::requests`], [`FakeCloud::snapshots`], [`FakeCloud::volumes`]).
//! The server stops when the [`FakeCloud`] is dropped.
//!
//! # Faithful to the real server
//!
//! - Keystone: `POST /v3/auth/tokens` (password, user `admin`/`password`, the project
//!   `admin` or its id) answers 201 with `X-Subject-Token` and the recorded body shape; bad
//!   credentials give Keystone's 401 body. Cinder requests without a token the fake issued
//!   give keystonemiddleware's 401 body.
//! - `GET /` answers 300 with the versions document (3.0 to 3.71). Every Cinder answer has
//!   `x-openstack-request-id` and `OpenStack-API-Version: volume 3.N` (the version asked
//!   for; above 3.71 is a 406 `computeFault`).
//! - Snapshots: create (202, `creating`; the volume must exist and be `available`), show,
//!   list and list/detail (summary and detail fields by microversion), delete (202;
//!   `deleting`, then 404; only `available` or `error` snapshots, else Cinder's 400),
//!   metadata get, merge (POST) and replace (PUT). Volumes: create (size or `snapshot_id`),
//!   show, list and list/detail, delete (refused with Cinder's 400 while it has snapshots).
//! - Listings: a page cap like `osapi_max_limit` (default 1000), `limit` (capped; bad values
//!   give Cinder's 400 messages), `marker` (an unknown marker is Cinder's 404),
//!   `offset`, `with_count` (`count` on every page), next links with the fake's own host
//!   and every original parameter (Cinder's rule: a link when the page is full, or with
//!   `with_count` when the total reaches the limit), `sort` / `sort_key` / `sort_dir`
//!   (default `created_at` descending, ties by id descending), the filters `name`,
//!   `status`, `volume_id`, `metadata` (JSON or a Python dict literal), `name~`,
//!   `description~`.
//! - Error bodies: `{"itemNotFound": {"code": 404, "message": "Snapshot <id> could not be
//!   found."}}`, `badRequest` 400, `overLimit` 413 (with `retryAfter` and `Retry-After`).
//!
//! # Not (yet) faithful
//!
//! - One project and one user; `all_tenants` and `project_id` are ignored. No quotas, no
//!   policy (403), no token expiry, no application credentials or token-method auth.
//! - Unknown filters are ignored (Cinder refuses some of them for non-admins), and so are
//!   the volume filters `bootable`, `group_id` and `availability_zone` and the snapshot
//!   filters `availability_zone` and `consumes_quota`. Filters and `with_count` do not depend
//!   on the microversion (below 3.45 Cinder takes `with_count` for a filter; the client
//!   checks those rules before sending).
//! - A volume always has the fields of 3.71, whatever the microversion asked; a snapshot's
//!   fields follow it (`group_snapshot_id` 3.14, `user_id` 3.41, `consumes_quota` 3.65).
//! - `limit=0` gives an empty page (what Cinder does with it is not recorded).
//! - Snapshot update, actions (`os-reset_status`, `os-force_delete`, ...), single metadata
//!   keys, volume revert and attachments are not served (404).
//! - Timestamps come from the fake's clock, which moves only when the test moves it.
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

mod cinder;
mod server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::snapshots::Snapshot;
use crate::volumes::Volume;
use crate::{AuthOptions, Domain, PollPolicy, RetryPolicy, Scope, ServiceClient, ServiceClientBuilder};

use cinder::{Fate, State};
use server::Server;

/// The user name the fake's Keystone accepts.
pub const USERNAME: &str = "admin";
/// The password the fake's Keystone accepts.
pub const PASSWORD: &str = "password";
/// The name of the fake's one project.
pub const PROJECT_NAME: &str = "admin";
/// The id of the fake's one project (it appears in the endpoint's path).
pub const PROJECT_ID: &str = cinder::PROJECT_ID;

/// A request the fake received: no header, no body, so never a token or a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    pub method: String,
    /// The path, as sent: `/v3/auth/tokens`, `/`, `/v3/<project>/snapshots/detail`, ...
    pub path: String,
    /// The query, decoded, in the order sent.
    pub query: Vec<(String, String)>,
}

impl SeenRequest {
    /// The path with the endpoint's `/v3/<project>/` removed (`snapshots/detail`), or the
    /// whole path for Keystone and the version root.
    pub fn relative_path(&self) -> &str {
        self.path.strip_prefix("/v3/").and_then(|p| p.strip_prefix(PROJECT_ID)).and_then(|p| p.strip_prefix('/')).unwrap_or(&self.path)
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
        let state = Arc::new(Mutex::new(State::new(OffsetDateTime::now_utc())));
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
        let auth = AuthOptions::password(self.auth_url(), USERNAME, Domain::name("Default"), PASSWORD);
        ServiceClient::builder(auth)
            .scope(Scope::project_name(PROJECT_NAME, Domain::name("Default")))
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
        match self.client_builder().build() {
            Ok(client) => client,
            Err(e) => panic!("the fake cloud's client settings were refused: {e}"),
        }
    }

    /// The `OS_*` variables of an openrc file for this fake, for
    /// [`ServiceClientBuilder::from_vars`] (no password is printed by the crate; keep these
    /// out of logs all the same).
    pub fn os_vars(&self) -> Vec<(String, String)> {
        [
            ("OS_AUTH_URL", self.auth_url()),
            ("OS_USERNAME", USERNAME.into()),
            ("OS_PASSWORD", PASSWORD.into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_NAME", PROJECT_NAME.into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_REGION_NAME", "RegionOne".into()),
            ("OS_INTERFACE", "public".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The fake's clock: `created_at` of new resources. It moves only when the test moves it.
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.state).now
    }

    /// Sets the fake's clock.
    pub fn set_now(&self, now: OffsetDateTime) {
        lock(&self.state).now = now;
    }

    /// Moves the fake's clock forward by `by` (saturating at the calendar's end).
    pub fn advance(&self, by: Duration) {
        let mut st = lock(&self.state);
        let by = time::Duration::try_from(by).unwrap_or(time::Duration::MAX);
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

    /// Adds an `available` 1 GiB volume named `name` without a request (so it is not in
    /// [`requests`](Self::requests)), created now by the fake's clock; returns its id.
    pub fn add_volume(&self, name: &str) -> String {
        lock(&self.state).add_volume(Some(name.to_owned()), 1, BTreeMap::new())
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

    /// Snapshot `id` goes to `error` instead of `available` when it leaves `creating` (at
    /// once if it is already `available`), with `user_message` served by
    /// `GET /v3/<project>/messages?resource_uuid=<id>`. With `id` `None`, the next snapshot
    /// created does.
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
                st.messages.push(cinder::MessageRec { id: msg_id, resource_uuid: id.to_owned(), user_message: text, created_at: now });
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
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.server.stop();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
