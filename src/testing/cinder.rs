//! The fake's state and its answers: Keystone's token request, Cinder's version root, and
//! the snapshot, volume and message calls, shaped as the recorded fixtures are.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::server::{HttpRequest, HttpResponse};
use super::{Fault, Limited, Loss, Refusal, Rule, SeenRequest};

/// The admin's project (the recorded admin project's id).
pub(crate) const PROJECT_ID: &str = "27b115259e6a4d39a32f642f7bfea2a0";
/// The admin user.
pub(crate) const USER_ID: &str = "ad71fabb90db4b989106b05a3ee46ab6";
/// The member's project (the recorded demo project's id).
pub(crate) const MEMBER_PROJECT_ID: &str = "d870de6416de4d15adce66c98b81f10a";
/// The member user.
pub(crate) const MEMBER_USER_ID: &str = "26ca45718d0c4b87b9002dc537030522";

/// One user of the fake's Keystone, with a role on one project. Its strings are `'static`
/// (those of the projects a test adds are interned: see [`intern`]), so that it is `Copy` and
/// [`super::Account`] keeps handing out `&'static str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AccountRec {
    pub(crate) user_id: &'static str,
    pub(crate) user_name: &'static str,
    pub(crate) password: &'static str,
    pub(crate) project_id: &'static str,
    pub(crate) project_name: &'static str,
    /// The `admin` role (Cinder's `context_is_admin`); else `member` and `reader`.
    pub(crate) admin: bool,
}

impl AccountRec {
    /// The account of a project a test adds ([`super::FakeCloud::add_project`]): a user of
    /// the same name with role `member` on it, password `<name>-password`, and ids derived
    /// from the name (the same name gives the same ids in every fake, as one Keystone's
    /// project is the same in every region).
    pub(crate) fn added(name: &str) -> AccountRec {
        AccountRec {
            user_id: intern(hex_id(&format!("user:{name}"))),
            user_name: intern(name.to_owned()),
            password: intern(format!("{name}-password")),
            project_id: intern(hex_id(&format!("project:{name}"))),
            project_name: intern(name.to_owned()),
            admin: false,
        }
    }
}

/// 32 hex digits (a Keystone id's shape) derived from `text` (two FNV-1a hashes).
fn hex_id(text: &str) -> String {
    let fnv = |basis: u64| text.bytes().fold(basis, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
}

/// `text` as a `&'static str`: each distinct text is leaked once for the whole process (the
/// names of the projects tests add: a bounded, small set).
pub(crate) fn intern(text: String) -> &'static str {
    static INTERNED: Mutex<std::collections::BTreeSet<&'static str>> = Mutex::new(std::collections::BTreeSet::new());
    let mut set = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = set.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    set.insert(leaked);
    leaked
}

/// The admin (index 0) and the member (index 1), as the local cloud has them.
pub(crate) const ACCOUNTS: [AccountRec; 2] = [
    AccountRec {
        user_id: USER_ID,
        user_name: "admin",
        password: super::PASSWORD,
        project_id: PROJECT_ID,
        project_name: "admin",
        admin: true,
    },
    AccountRec {
        user_id: MEMBER_USER_ID,
        user_name: "demo",
        password: super::PASSWORD,
        project_id: MEMBER_PROJECT_ID,
        project_name: "demo",
        admin: false,
    },
];

/// Who a Cinder request comes from (its token's user and project).
#[derive(Clone, Copy)]
struct Ctx {
    project: &'static str,
    user: &'static str,
    admin: bool,
}

impl Ctx {
    /// Whether this caller may read a resource of `project` (admins read every project).
    fn sees(&self, project: &str) -> bool {
        self.admin || self.project == project
    }
}
/// The highest microversion the fake serves.
const MAX_MINOR: u16 = 71;

/// What happens to a snapshot when it leaves `creating`.
#[derive(Clone)]
pub(crate) enum Fate {
    Available,
    Error(Option<String>),
    /// Set by `os-reset_status`: a transient status set by hand stays (no backend moves it).
    Stuck,
}

#[derive(Clone)]
pub(crate) struct SnapRec {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) volume_id: String,
    pub(crate) project_id: String,
    pub(crate) user_id: String,
    pub(crate) status: String,
    pub(crate) size: u64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: Option<OffsetDateTime>,
    /// Reads left before the current transient status (`creating`, `deleting`) ends.
    pub(crate) reads_left: u32,
    /// When it was created, by the wall clock (for [`State::available_after`]).
    pub(crate) created_wall: std::time::Instant,
    /// Its share of [`State::available_spread`], fixed at its create.
    pub(crate) extra_wall: std::time::Duration,
    pub(crate) fate: Fate,
    /// A delete of it ends in `error_deleting` instead of removing it.
    pub(crate) delete_fails: bool,
    /// `progress` as Cinder stores it: `0%` at create, `100%` when the backend is done, or
    /// what `os-update_snapshot_status` set.
    pub(crate) progress: String,
}

#[derive(Clone)]
pub(crate) struct VolRec {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) project_id: String,
    pub(crate) user_id: String,
    pub(crate) status: String,
    pub(crate) size: u64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) snapshot_id: Option<String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: Option<OffsetDateTime>,
    pub(crate) reads_left: u32,
    /// The attachment of an `in-use` volume.
    pub(crate) attachment: Option<AttachmentRec>,
    /// The snapshot a `reverting` volume is being reverted to (`restoring` meanwhile).
    pub(crate) reverting_to: Option<String>,
}

/// One attachment (to a server that exists only by its id).
#[derive(Clone)]
pub(crate) struct AttachmentRec {
    pub(crate) id: String,
    pub(crate) server_id: String,
    pub(crate) attached_at: OffsetDateTime,
}

pub(crate) struct MessageRec {
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) resource_uuid: String,
    pub(crate) user_message: String,
    pub(crate) created_at: OffsetDateTime,
}

/// What [`State::add_volume`] makes.
pub(crate) struct NewVolume {
    pub(crate) name: Option<String>,
    pub(crate) size: u64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) status: String,
    pub(crate) server_id: Option<String>,
    pub(crate) owner: AccountRec,
}

/// Everything the fake knows; behind one mutex.
pub(crate) struct State {
    /// `http://127.0.0.1:PORT`, set once the listener is bound.
    pub(crate) base: String,
    pub(crate) now: OffsetDateTime,
    pub(crate) page_cap: usize,
    pub(crate) snapshot_creating_reads: u32,
    pub(crate) volume_creating_reads: u32,
    pub(crate) deleting_reads: u32,
    pub(crate) next_id: u64,
    pub(crate) snapshots: Vec<SnapRec>,
    pub(crate) volumes: Vec<VolRec>,
    pub(crate) messages: Vec<MessageRec>,
    pub(crate) requests: Vec<SeenRequest>,
    pub(crate) faults: Vec<Fault>,
    /// The requests whose answers are to be lost (processed, then the connection closed).
    pub(crate) losses: Vec<Loss>,
    /// The listing requests with a marker whose page is to start at the marker's own item
    /// (an inclusive marker: the page repeats the previous page's last item).
    pub(crate) inclusive_markers: Vec<Loss>,
    /// The tokens issued, each with the index of its account in [`State::accounts`].
    pub(crate) tokens: Vec<(String, usize)>,
    /// Keystone's users, each with its project: [`ACCOUNTS`], then the projects added.
    pub(crate) accounts: Vec<AccountRec>,
    /// The region of the catalog's endpoints (`region_id`).
    pub(crate) region: String,
    /// A new snapshot leaves `creating` this long (wall time) after its create, whatever
    /// the reads; `None`: after [`State::snapshot_creating_reads`] reads.
    pub(crate) available_after: Option<std::time::Duration>,
    /// The n-th snapshot created waits `(n mod 10) / 10` of this longer than
    /// [`State::available_after`] (its share fixed at its create).
    pub(crate) available_spread: std::time::Duration,
    /// The snapshots created so far (for their share of the spread).
    pub(crate) snapshots_created: u64,
    /// The limits of one project's quota keys, over [`State::quotas`]: (project id, key).
    pub(crate) project_quotas: BTreeMap<(String, String), i64>,
    /// The counters of what was served.
    pub(crate) stats: super::Stats,
    /// The rows of the listing page being answered (for its [`super::SeenRequest::rows`]).
    pub(crate) listed: Option<usize>,
    /// The quota limits every project has, by Cinder's key (`snapshots`, `gigabytes`,
    /// `snapshots___DEFAULT__`, ...); a key not here is unlimited (`-1`).
    pub(crate) quotas: BTreeMap<String, i64>,
    /// What each quota key shows as `reserved` (creates in flight elsewhere).
    pub(crate) quota_reserved: BTreeMap<String, i64>,
    /// The rate limiter's refusals waiting for their requests.
    pub(crate) limited: Vec<Limited>,
    /// The next snapshots created go to `error`, each with its user message (if any).
    pub(crate) failing: Vec<Option<String>>,
    /// How long every answer is held back.
    pub(crate) latency: std::time::Duration,
}

impl State {
    pub(crate) fn new(now: OffsetDateTime) -> State {
        State {
            base: String::new(),
            now,
            page_cap: 1000,
            snapshot_creating_reads: 1,
            volume_creating_reads: 0,
            deleting_reads: 1,
            next_id: 0,
            snapshots: Vec::new(),
            volumes: Vec::new(),
            messages: Vec::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            losses: Vec::new(),
            inclusive_markers: Vec::new(),
            tokens: Vec::new(),
            accounts: ACCOUNTS.to_vec(),
            region: "RegionOne".into(),
            available_after: None,
            available_spread: std::time::Duration::ZERO,
            snapshots_created: 0,
            project_quotas: BTreeMap::new(),
            stats: super::Stats::default(),
            listed: None,
            quotas: BTreeMap::new(),
            quota_reserved: BTreeMap::new(),
            limited: Vec::new(),
            failing: Vec::new(),
            latency: std::time::Duration::ZERO,
        }
    }

    /// The next snapshot's share of the spread: tenths of it, 0 to 9 in turn.
    fn spread_share(&mut self) -> std::time::Duration {
        let tenth = u32::try_from(self.snapshots_created % 10).unwrap_or(0);
        self.snapshots_created = self.snapshots_created.saturating_add(1);
        self.available_spread / 10 * tenth
    }

    /// A new id shaped as Cinder's (a UUID), deterministic: the n-th resource of the fake.
    pub(crate) fn new_id(&mut self) -> String {
        self.next_id = self.next_id.saturating_add(1);
        format!("00000000-0000-4000-8000-{:012x}", self.next_id)
    }

    fn request_id(&mut self) -> String {
        self.next_id = self.next_id.saturating_add(1);
        format!("req-00000000-0000-4000-9000-{:012x}", self.next_id)
    }

    /// The block-storage endpoint of `project`: `http://127.0.0.1:PORT/v3/<project>`.
    pub(crate) fn endpoint(&self, project: &str) -> String {
        format!("{}/v3/{project}", self.base)
    }

    /// Adds a volume directly (no request) to the project of account `owner`, in `status`
    /// (`in-use`: with an attachment to `server_id`).
    pub(crate) fn add_volume(&mut self, spec: NewVolume) -> String {
        let id = self.new_id();
        let now = self.now;
        let account = spec.owner;
        let mut rec = VolRec {
            id: id.clone(),
            name: spec.name,
            description: None,
            project_id: account.project_id.into(),
            user_id: account.user_id.into(),
            status: String::new(),
            size: spec.size,
            metadata: spec.metadata,
            snapshot_id: None,
            created_at: now,
            updated_at: Some(now),
            reads_left: 0,
            attachment: None,
            reverting_to: None,
        };
        self.set_volume_status(&mut rec, &spec.status, spec.server_id);
        self.volumes.push(rec);
        id
    }

    /// Sets a volume's status; `in-use` attaches it (to `server_id`, or a server id of the
    /// fake's own), any other status detaches it.
    pub(crate) fn set_volume_status(&mut self, v: &mut VolRec, status: &str, server_id: Option<String>) {
        v.status = status.to_owned();
        v.updated_at = Some(self.now);
        if status == "in-use" {
            if v.attachment.is_none() {
                let id = self.new_id();
                let server_id = server_id.unwrap_or_else(|| format!("5e7e0000-0000-4000-8000-{:012x}", self.next_id));
                v.attachment = Some(AttachmentRec { id, server_id, attached_at: self.now });
            }
        } else {
            v.attachment = None;
        }
    }

    /// One read of a snapshot: its transient status moves on. Returns false when it is gone.
    fn read_snapshot(&mut self, index: usize) -> bool {
        let now = self.now;
        let after = self.available_after;
        let Some(s) = self.snapshots.get_mut(index) else { return false };
        match s.status.as_str() {
            _ if matches!(s.fate, Fate::Stuck) => {}
            // By the wall clock: reads do not count.
            "creating" if after.is_some_and(|after| s.created_wall.elapsed() < after.saturating_add(s.extra_wall)) => {}
            "creating" if after.is_none() && s.reads_left > 0 => s.reads_left -= 1,
            "creating" => {
                s.updated_at = Some(now);
                match s.fate.clone() {
                    Fate::Stuck => {}
                    Fate::Available => {
                        s.status = "available".into();
                        s.progress = "100%".into();
                    }
                    Fate::Error(message) => {
                        s.status = "error".into();
                        if let Some(text) = message {
                            let resource = s.id.clone();
                            let project_id = s.project_id.clone();
                            let id = self.new_id();
                            self.messages.push(MessageRec { id, project_id, resource_uuid: resource, user_message: text, created_at: now });
                        }
                    }
                }
            }
            "deleting" if s.reads_left > 0 => s.reads_left -= 1,
            "deleting" if s.delete_fails => {
                s.status = "error_deleting".into();
                s.updated_at = Some(now);
            }
            "deleting" => {
                self.snapshots.remove(index);
                return false;
            }
            _ => {}
        }
        true
    }

    fn read_volume(&mut self, index: usize) -> bool {
        let now = self.now;
        let Some(v) = self.volumes.get_mut(index) else { return false };
        match v.status.as_str() {
            "creating" if v.reads_left > 0 => v.reads_left -= 1,
            "creating" => {
                v.status = "available".into();
                v.updated_at = Some(now);
            }
            "deleting" if v.reads_left > 0 => v.reads_left -= 1,
            "deleting" => {
                self.volumes.remove(index);
                return false;
            }
            "reverting" if v.reads_left > 0 => v.reads_left -= 1,
            // A revert the fake started ends: the volume and its snapshot are available.
            "reverting" if v.reverting_to.is_some() => {
                v.status = "available".into();
                v.updated_at = Some(now);
                let snapshot = v.reverting_to.take();
                if let Some(s) = self.snapshots.iter_mut().find(|s| Some(&s.id) == snapshot.as_ref()) {
                    s.status = "available".into();
                    s.updated_at = Some(now);
                }
            }
            _ => {}
        }
        true
    }

    /// Every snapshot read once (a listing), the gone ones removed.
    fn read_all_snapshots(&mut self) {
        let mut i = 0;
        while i < self.snapshots.len() {
            if self.read_snapshot(i) {
                i += 1;
            }
        }
    }

    fn read_all_volumes(&mut self) {
        let mut i = 0;
        while i < self.volumes.len() {
            if self.read_volume(i) {
                i += 1;
            }
        }
    }
}

/// Cinder's timestamps: UTC, microseconds, no offset (`2026-11-24T01:13:52.392564`).
pub(crate) fn cinder_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn opt_time(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(cinder_time(t)))
}

/// Cinder's error body: `{"<fault>": {"code": N, "message": "..."}}`.
pub(crate) fn fault_body(status: u16, message: &str) -> HttpResponse {
    let name = match status {
        400 => "badRequest",
        403 => "forbidden",
        404 => "itemNotFound",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        _ => "computeFault",
    };
    let mut inner = json!({"code": status, "message": message});
    if status == 413 || status == 429 {
        inner["retryAfter"] = json!("0");
    }
    let response = HttpResponse::json(status, &json!({ name: inner }));
    if matches!(status, 413 | 429 | 503) { response.with_header("Retry-After", "0") } else { response }
}

fn keystone_unauthorized() -> HttpResponse {
    HttpResponse::json(
        401,
        &json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
    )
    .with_header("WWW-Authenticate", "Keystone uri=\"http://127.0.0.1\"")
}

/// The microversion a request asks for (`volume 3.N`), 3.0 without the header.
fn requested_minor(request: &HttpRequest) -> Result<u16, HttpResponse> {
    let Some(header) = request.header("openstack-api-version") else { return Ok(0) };
    let Some(version) = header.split(',').find_map(|part| part.trim().strip_prefix("volume ")) else {
        return Err(fault_body(400, "Invalid API version request."));
    };
    let version = version.trim();
    if version == "latest" {
        return Ok(MAX_MINOR);
    }
    let minor = version.strip_prefix("3.").and_then(|m| m.parse::<u16>().ok());
    match minor {
        Some(m) if m <= MAX_MINOR => Ok(m),
        Some(_) => {
            Err(fault_body(406, &format!("Version {version} is not supported by the API. Minimum is 3.0 and maximum is 3.{MAX_MINOR}.")))
        }
        None => Err(fault_body(400, &format!("Invalid API version request: {version}"))),
    }
}

/// Answers one request and records it; `None` when its answer is to be lost (the request
/// was processed all the same).
pub(crate) fn handle(state: &Mutex<State>, request: &HttpRequest) -> Option<HttpResponse> {
    let (response, latency) = {
        let mut guard = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = std::time::Instant::now();
        let st = &mut *guard;
        // Only Cinder's bodies: Keystone's token request carries a password.
        let body = match split_project(&request.path) {
            Some(_) if !request.body.is_empty() => Some(
                serde_json::from_slice(&request.body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned())),
            ),
            _ => None,
        };
        st.requests.push(SeenRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query(),
            microversion: request.header("openstack-api-version").map(str::to_owned),
            body,
            rows: None,
        });
        let seen = st.requests.len().saturating_sub(1);
        let lost = take_loss(st, request);
        let request_id = st.request_id();
        st.listed = None;
        let response = route(st, request);
        if let (Some(rows), Some(seen)) = (st.listed.take(), st.requests.get_mut(seen)) {
            seen.rows = Some(rows);
        }
        st.stats.requests = st.stats.requests.saturating_add(1);
        st.stats.busy = st.stats.busy.saturating_add(started.elapsed());
        if lost {
            return None;
        }
        (response.with_header("x-openstack-request-id", request_id), st.latency)
    };
    // Held back outside the lock, so that concurrent requests wait side by side.
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    Some(response)
}

/// Whether the answer to `request` is to be lost (counting it against the first matching
/// loss): never when a fault will answer it.
fn take_loss(st: &mut State, request: &HttpRequest) -> bool {
    let path = request.path.as_str();
    let relative = split_project(path).map_or(path, |(_, r)| r);
    if st.faults.iter().any(|f| f.rule.matches(&request.method, path, relative))
        || st.limited.iter().any(|l| l.rule.matches(&request.method, path, relative))
    {
        return false;
    }
    let Some(i) = st.losses.iter().position(|l| l.rule.matches(&request.method, path, relative)) else { return false };
    st.losses[i].remaining = st.losses[i].remaining.saturating_sub(1);
    if st.losses[i].remaining == 0 {
        st.losses.remove(i);
    }
    true
}

/// Whether the page of listing `request` (which has a marker) is to start at the marker's
/// own item (counting it against the first matching rule).
fn take_inclusive_marker(st: &mut State, request: &HttpRequest) -> bool {
    let path = request.path.as_str();
    let relative = split_project(path).map_or(path, |(_, r)| r);
    let Some(i) = st.inclusive_markers.iter().position(|l| l.rule.matches(&request.method, path, relative)) else { return false };
    st.inclusive_markers[i].remaining = st.inclusive_markers[i].remaining.saturating_sub(1);
    if st.inclusive_markers[i].remaining == 0 {
        st.inclusive_markers.remove(i);
    }
    true
}

/// The path after `/v3/<project>/` and the project, when the path has that shape (the
/// project segment is Cinder's `project_id_regex`, `[0-9a-f-]+`).
pub(crate) fn split_project(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v3/")?;
    let (project, relative) = rest.split_once('/')?;
    let hex = !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
    hex.then_some((project, relative))
}

fn route(st: &mut State, request: &HttpRequest) -> HttpResponse {
    let path = request.path.as_str();
    let split = split_project(path);
    let relative = split.map_or(path, |(_, r)| r);
    if let Some(i) = st.limited.iter().position(|l| l.rule.matches(&request.method, path, relative)) {
        let refusal = st.limited[i].refusal.clone();
        st.limited[i].remaining = st.limited[i].remaining.saturating_sub(1);
        if st.limited[i].remaining == 0 {
            st.limited.remove(i);
        }
        return limiter_refusal(&refusal);
    }
    if let Some(i) = st.faults.iter().position(|f| f.rule.matches(&request.method, path, relative)) {
        let status = st.faults[i].status;
        st.faults[i].remaining = st.faults[i].remaining.saturating_sub(1);
        if st.faults[i].remaining == 0 {
            st.faults.remove(i);
        }
        return fault_body(status, "The fake cloud was told to fail this request.");
    }
    if path == "/v3/auth/tokens" {
        return match request.method.as_str() {
            "POST" => keystone_token(st, request),
            _ => HttpResponse::empty(405),
        };
    }
    if path == "/" && request.method == "GET" {
        return versions_root(st);
    }
    let minor = match requested_minor(request) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let version = format!("volume 3.{minor}");
    let account =
        request.header("x-auth-token").and_then(|t| st.tokens.iter().find(|(k, _)| k == t)).and_then(|(_, a)| st.accounts.get(*a)).copied();
    let response = match (split, account) {
        (None, _) => fault_body(404, "The resource could not be found."),
        (Some(_), None) => keystone_unauthorized(),
        // Cinder's check of the URL's project against the token's.
        (Some((project, _)), Some(a)) if project != a.project_id => fault_body(400, "Malformed request url"),
        (Some(_), Some(a)) => cinder(st, request, relative, minor, Ctx { project: a.project_id, user: a.user_id, admin: a.admin }),
    };
    response.with_header("OpenStack-API-Version", version).with_header("Vary", "OpenStack-API-Version")
}

fn keystone_token(st: &mut State, request: &HttpRequest) -> HttpResponse {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let identity = &body["auth"]["identity"];
    let user = &identity["password"]["user"];
    let methods_ok = identity["methods"].as_array().is_some_and(|m| m.iter().any(|x| x == "password"));
    let Some(index) = st.accounts.iter().position(|a| user["name"] == a.user_name || user["id"] == a.user_id) else {
        return keystone_unauthorized();
    };
    let account = st.accounts[index];
    if !methods_ok || user["password"] != account.password {
        return keystone_unauthorized();
    }
    // Each user has a role on its own project only.
    let project = &body["auth"]["scope"]["project"];
    if !project.is_null() && project["name"] != account.project_name && project["id"] != account.project_id {
        return keystone_unauthorized();
    }
    let token = format!("fake-token-{}", st.new_id());
    st.tokens.push((token.clone(), index));
    let issued = OffsetDateTime::now_utc();
    let expires = issued.checked_add(time::Duration::hours(1)).unwrap_or(issued);
    let base = st.base.clone();
    let endpoint = st.endpoint(account.project_id);
    let region = st.region.as_str();
    let roles = if account.admin {
        json!([{"id": "00add462c6b84800a13e364563163c63", "name": "admin"}, {"id": "bce768dbb2ac44dea7d169323bb3c73a", "name": "member"}, {"id": "f1b9cea9277f4039a486559dddb46adb", "name": "reader"}])
    } else {
        json!([{"id": "bce768dbb2ac44dea7d169323bb3c73a", "name": "member"}, {"id": "f1b9cea9277f4039a486559dddb46adb", "name": "reader"}])
    };
    let doc = json!({"token": {
        "methods": ["password"],
        "user": {"domain": {"id": "default", "name": "Default"}, "id": account.user_id, "name": account.user_name, "password_expires_at": null},
        "audit_ids": ["ZmFrZS1jbG91ZC1hdWRp"],
        "expires_at": format!("{}Z", cinder_time(expires)),
        "issued_at": format!("{}Z", cinder_time(issued)),
        "project": {"domain": {"id": "default", "name": "Default"}, "id": account.project_id, "name": account.project_name},
        "is_domain": false,
        "roles": roles,
        "catalog": [
            {"endpoints": [
                {"id": "ef225a42390d41898058e2cfcba590ca", "interface": "public", "region_id": region, "url": format!("{base}/v3"), "region": region},
                {"id": "6dd9e5e3727e4187b31915d6287b530c", "interface": "internal", "region_id": region, "url": format!("{base}/v3"), "region": region}
            ], "id": "6a9526b6f12f4e419380b0f792f84408", "type": "identity", "name": "keystone"},
            {"endpoints": [
                {"id": "0a2a012bcb2542a88a04640b8e79f469", "interface": "public", "region_id": region, "url": endpoint, "region": region},
                {"id": "04dbbdfcb8a14a99a6e0fa3b8fd28de2", "interface": "internal", "region_id": region, "url": endpoint, "region": region}
            ], "id": "4a63e25a2fb142d8b9a3124706b89166", "type": "block-storage", "name": "cinderv3"}
        ]
    }});
    HttpResponse::json(201, &doc).with_header("X-Subject-Token", token).with_header("Vary", "X-Auth-Token")
}

fn versions_root(st: &State) -> HttpResponse {
    let doc = json!({"versions": [{
        "id": "v3.0", "status": "CURRENT", "version": format!("3.{MAX_MINOR}"), "min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
        "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}, {"rel": "self", "href": format!("{}/v3/", st.base)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]
    }]});
    HttpResponse::json(300, &doc).with_header("OpenStack-API-Version", "volume 3.0").with_header("Vary", "OpenStack-API-Version")
}

fn cinder(st: &mut State, request: &HttpRequest, relative: &str, minor: u16, ctx: Ctx) -> HttpResponse {
    let segments: Vec<String> = relative.trim_end_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    let result = match (method, segments.as_slice()) {
        ("GET", ["snapshots"]) => list_snapshots(st, request, false, minor, ctx),
        ("GET", ["snapshots", "detail"]) => list_snapshots(st, request, true, minor, ctx),
        ("POST", ["snapshots"]) => create_snapshot(st, request, minor, ctx),
        ("GET", ["snapshots", id]) => show_snapshot(st, id, minor, ctx),
        ("DELETE", ["snapshots", id]) => delete_snapshot(st, id, ctx),
        ("PUT", ["snapshots", id]) => update_snapshot(st, id, request, minor, ctx),
        ("POST", ["snapshots", id, "action"]) => snapshot_action(st, id, request, ctx),
        ("GET", ["snapshots", id, "metadata"]) => snapshot_metadata(st, id, ctx),
        ("POST", ["snapshots", id, "metadata"]) => write_snapshot_metadata(st, id, request, true, ctx),
        ("PUT", ["snapshots", id, "metadata"]) => write_snapshot_metadata(st, id, request, false, ctx),
        ("GET", ["snapshots", id, "metadata", key]) => snapshot_metadata_key(st, id, key, ctx),
        ("PUT", ["snapshots", id, "metadata", key]) => set_snapshot_metadata_key(st, id, key, request, ctx),
        ("DELETE", ["snapshots", id, "metadata", key]) => delete_snapshot_metadata_key(st, id, key, ctx),
        ("GET", ["volumes"]) => list_volumes(st, request, false, minor, ctx),
        ("GET", ["volumes", "detail"]) => list_volumes(st, request, true, minor, ctx),
        ("POST", ["volumes"]) => create_volume(st, request, ctx),
        ("GET", ["volumes", id]) => show_volume(st, id, ctx),
        ("DELETE", ["volumes", id]) => delete_volume(st, id, ctx),
        ("GET", ["volumes", id, "metadata"]) => volume_metadata(st, id, ctx),
        ("POST", ["volumes", id, "metadata"]) => write_volume_metadata(st, id, request, true, ctx),
        ("PUT", ["volumes", id, "metadata"]) => write_volume_metadata(st, id, request, false, ctx),
        ("DELETE", ["volumes", id, "metadata", key]) => delete_volume_metadata_key(st, id, key, ctx),
        // Volume actions: only `revert` (3.40+; below it the action is unknown: 404).
        ("POST", ["volumes", id, "action"]) if minor >= 40 => volume_action(st, id, request, ctx),
        ("GET", ["os-quota-sets", project]) => quota_set(st, request, project, ctx),
        ("GET", ["limits"]) => Ok(limits(st, ctx)),
        // User messages came with 3.3; below it the route does not exist.
        ("GET", ["messages"]) if minor >= 3 => messages(st, request, ctx),
        _ => Err(fault_body(404, "The resource could not be found.")),
    };
    result.unwrap_or_else(|e| e)
}

/// The index of snapshot `id` if `ctx` may see it, else Cinder's 404.
fn find_snapshot(st: &State, id: &str, ctx: Ctx) -> Result<usize, HttpResponse> {
    st.snapshots.iter().position(|s| s.id == id && ctx.sees(&s.project_id)).ok_or_else(|| snapshot_missing(id))
}

/// The index of volume `id` if `ctx` may see it, else Cinder's 404.
fn find_volume(st: &State, id: &str, ctx: Ctx) -> Result<usize, HttpResponse> {
    st.volumes.iter().position(|v| v.id == id && ctx.sees(&v.project_id)).ok_or_else(|| volume_missing(id))
}

/// The statuses `os-reset_status` accepts, in Cinder's order.
const SNAPSHOT_STATUSES: [&str; 10] =
    ["error", "available", "creating", "deleting", "deleted", "updating", "error_deleting", "unmanaging", "backing-up", "restoring"];

/// `os-reset_status` and `os-force_delete` (admin only), as Cinder answers them.
fn snapshot_action(st: &mut State, id: &str, request: &HttpRequest, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let Some(action) = body.as_object().filter(|o| o.len() == 1) else {
        return Err(fault_body(400, "Malformed request body"));
    };
    let i = find_snapshot(st, id, ctx)?;
    let now = st.now;
    let deleting_reads = st.deleting_reads;
    match action.iter().next() {
        Some((name, args)) if name == "os-reset_status" => {
            if !ctx.admin {
                return Err(fault_body(403, "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed."));
            }
            let Some(status) = args["status"].as_str() else {
                return Err(fault_body(
                    400,
                    &format!("Invalid input for field/attribute os-reset_status. Value: {args}. 'status' is a required property"),
                ));
            };
            let status = status.to_ascii_lowercase();
            if !SNAPSHOT_STATUSES.contains(&status.as_str()) {
                let valid = SNAPSHOT_STATUSES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
                return Err(fault_body(400, &format!("Snapshot status: {status} is invalid, valid statuses are: ({valid}).")));
            }
            let s = &mut st.snapshots[i];
            s.status = status;
            s.updated_at = Some(now);
            // A status set by hand stays: nothing moves it on.
            s.reads_left = 0;
            s.fate = Fate::Stuck;
            Ok(HttpResponse::json_empty(202))
        }
        Some((name, args)) if name == "os-update_snapshot_status" => {
            let Some(status) = args["status"].as_str() else {
                return Err(fault_body(
                    400,
                    &format!("Invalid input for field/attribute os-update_snapshot_status. Value: {args}. 'status' is a required property"),
                ));
            };
            let s = &mut st.snapshots[i];
            let allowed: &[&str] = match s.status.as_str() {
                "creating" => &["creating", "available", "error"],
                "deleting" => &["deleting", "error_deleting"],
                other => return Err(fault_body(400, &format!("Snapshot status {other} not allowed for update_snapshot_status"))),
            };
            if !allowed.contains(&status) {
                return Err(fault_body(
                    400,
                    &format!("Provided snapshot status {status} not allowed for snapshot with status {}.", s.status),
                ));
            }
            s.status = status.to_owned();
            if let Some(progress) = args["progress"].as_str().filter(|p| !p.is_empty()) {
                s.progress = progress.to_owned();
            }
            s.updated_at = Some(now);
            // Whoever drives the status by hand keeps driving it.
            s.reads_left = 0;
            s.fate = Fate::Stuck;
            Ok(HttpResponse { status: 202, headers: vec![("Content-Type".into(), "text/html; charset=UTF-8".into())], body: Vec::new() })
        }
        Some((name, _)) if name == "os-force_delete" => {
            if !ctx.admin {
                return Err(fault_body(403, "Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed."));
            }
            let s = &mut st.snapshots[i];
            s.status = "deleting".into();
            s.reads_left = deleting_reads;
            s.fate = Fate::Available;
            s.updated_at = Some(now);
            Ok(HttpResponse::json_empty(202))
        }
        _ => Err(fault_body(400, "There is no such action: None")),
    }
}

type Answer = Result<HttpResponse, HttpResponse>;

/// A path segment with its `%XX` escapes decoded (invalid escapes and invalid UTF-8 kept as
/// they are, lossily).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn snapshot_missing(id: &str) -> HttpResponse {
    fault_body(404, &format!("Snapshot {id} could not be found."))
}

fn volume_missing(id: &str) -> HttpResponse {
    fault_body(404, &format!("Volume {id} could not be found."))
}

#[derive(Clone, Copy, PartialEq)]
enum View {
    Summary,
    Created,
    Detail,
}

fn snapshot_json(s: &SnapRec, view: View, minor: u16) -> Value {
    let mut o = json!({
        "id": s.id, "created_at": cinder_time(s.created_at), "updated_at": opt_time(s.updated_at),
        "name": s.name, "description": s.description, "volume_id": s.volume_id, "status": s.status,
        "size": s.size, "metadata": s.metadata,
    });
    if view != View::Summary {
        if minor >= 14 {
            o["group_snapshot_id"] = Value::Null;
        }
        if minor >= 41 {
            o["user_id"] = json!(s.user_id);
        }
        if minor >= 65 {
            o["consumes_quota"] = json!(true);
        }
    }
    if view == View::Detail {
        o["os-extended-snapshot-attributes:project_id"] = json!(s.project_id);
        o["os-extended-snapshot-attributes:progress"] = json!(s.progress);
    }
    o
}

/// How much of a volume an answer shows: a summary listing, a create's answer, or the
/// detail (show and detail listings, which add the admin's `os-vol-*` attributes).
#[derive(Clone, Copy, PartialEq)]
enum VolView {
    Summary,
    Created,
    Detail,
}

/// A volume as `admin` (or a member, who sees neither the `os-vol-mig-status-attr` and
/// `os-vol-host-attr` keys nor `cluster_name`, `migration_status` and `provider_id`).
fn volume_json(st: &State, v: &VolRec, view: VolView, admin: bool) -> Value {
    let links = json!([
        {"rel": "self", "href": format!("{}/volumes/{}", st.endpoint(&v.project_id), v.id)},
        {"rel": "bookmark", "href": format!("{}/{}/volumes/{}", st.base, v.project_id, v.id)}
    ]);
    let attachments: Vec<Value> = v
        .attachment
        .iter()
        .map(|a| {
            json!({"id": v.id, "attachment_id": a.id, "volume_id": v.id, "server_id": a.server_id, "host_name": "fakecloud",
                   "device": "na", "attached_at": cinder_time(a.attached_at)})
        })
        .collect();
    if view == VolView::Summary {
        return json!({"id": v.id, "name": v.name, "links": links});
    }
    let mut o = json!({
        "id": v.id, "status": v.status, "size": v.size, "availability_zone": "nova",
        "created_at": cinder_time(v.created_at), "updated_at": opt_time(v.updated_at),
        "name": v.name, "description": v.description, "volume_type": "__DEFAULT__",
        "snapshot_id": v.snapshot_id, "source_volid": null, "metadata": v.metadata, "links": links,
        "user_id": v.user_id, "bootable": "false", "encrypted": false, "replication_status": null,
        "consistencygroup_id": null, "multiattach": false, "attachments": attachments, "migration_status": null,
        "group_id": null, "provider_id": null, "shared_targets": true, "service_uuid": null, "cluster_name": null,
        "volume_type_id": "80632158-a06d-488e-97bf-ea2dbce2325c", "consumes_quota": true,
    });
    if view == VolView::Detail {
        o["os-vol-tenant-attr:tenant_id"] = json!(v.project_id);
        if admin {
            o["os-vol-mig-status-attr:migstat"] = Value::Null;
            o["os-vol-mig-status-attr:name_id"] = Value::Null;
            o["os-vol-host-attr:host"] = json!("fakecloud@fake#fake");
        }
    }
    if let (false, Some(fields)) = (admin, o.as_object_mut()) {
        for key in ["cluster_name", "migration_status", "provider_id"] {
            fields.remove(key);
        }
    }
    o
}

/// The `metadata` filter: a JSON object (as this crate sends it) or a Python dict literal
/// (as the openstack client sends it).
fn metadata_filter(text: &str) -> Result<BTreeMap<String, String>, HttpResponse> {
    let parsed: Option<Map<String, Value>> =
        serde_json::from_str(text).ok().or_else(|| serde_json::from_str(&text.replace('\'', "\"")).ok());
    let bad = || fault_body(400, &format!("Invalid input received: Invalid metadata filter {text}"));
    let map = parsed.ok_or_else(bad)?;
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Ok((k, other.to_string())),
        })
        .collect()
}

/// The paging, sorting and common filters of a listing.
#[derive(Default)]
struct Listing {
    limit: usize,
    marker: Option<String>,
    offset: usize,
    with_count: bool,
    sort: Vec<(String, bool)>,
    all_tenants: bool,
    project_id: Option<String>,
    name: Option<String>,
    status: Option<String>,
    volume_id: Option<String>,
    metadata: BTreeMap<String, String>,
    name_like: Option<String>,
    description_like: Option<String>,
    availability_zone: Option<String>,
    consumes_quota: Option<bool>,
    bootable: Option<bool>,
    group_id: Option<String>,
    /// A filter the fake does not know: nothing matches.
    unknown_filter: bool,
}

impl Listing {
    /// Whether a resource of `project` is listed: the caller's project, or with
    /// `all_tenants` (admins only; Cinder drops it for others) every project, narrowed by
    /// `project_id`.
    fn project_matches(&self, ctx: Ctx, project: &str) -> bool {
        if self.all_tenants && ctx.admin { self.project_id.as_ref().is_none_or(|p| p == project) } else { project == ctx.project }
    }
}

/// oslo's lenient `bool_from_string`: `1`, `true`, `yes`, `on`, `y`, `t` (any case) are true.
fn lenient_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on" | "y" | "t")
}

/// Which resource a listing is of: the filters and sort keys differ.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Snapshots,
    Volumes,
}

/// The filters a non-admin may send from 3.31 (Cinder's default `resource_filters.json`);
/// `all_tenants` is silently dropped.
const MEMBER_SNAPSHOT_FILTERS: [&str; 6] = ["name", "status", "volume_id", "metadata", "availability_zone", "consumes_quota"];
const MEMBER_VOLUME_FILTERS: [&str; 11] = [
    "name",
    "status",
    "metadata",
    "bootable",
    "migration_status",
    "availability_zone",
    "group_id",
    "size",
    "created_at",
    "updated_at",
    "consumes_quota",
];
/// The snapshot filters a non-admin may send below 3.31 (others are dropped).
const OLD_MEMBER_SNAPSHOT_FILTERS: [&str; 4] = ["status", "volume_id", "name", "metadata"];

fn parse_listing(st: &State, query: &[(String, String)], kind: Kind, minor: u16, ctx: Ctx) -> Result<Listing, HttpResponse> {
    let mut l = Listing { limit: st.page_cap, ..Listing::default() };
    let mut sort_key: Option<String> = None;
    let mut sort_dir: Option<String> = None;
    // Cinder's policy on filter keys, before reading them.
    let paging =
        |k: &str| matches!(k, "limit" | "offset" | "marker" | "sort" | "sort_key" | "sort_dir") || (k == "with_count" && minor >= 45);
    let filter_keys: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).filter(|k| !paging(k)).collect();
    if !ctx.admin && minor >= 31 {
        let allowed: &[&str] = match kind {
            Kind::Snapshots => &MEMBER_SNAPSHOT_FILTERS,
            Kind::Volumes => &MEMBER_VOLUME_FILTERS,
        };
        let invalid: Vec<&str> = filter_keys.iter().copied().filter(|k| *k != "all_tenants" && !allowed.contains(k)).collect();
        if !invalid.is_empty() {
            return Err(fault_body(400, &format!("Invalid filters {} are found in query options.", invalid.join(","))));
        }
    }
    let dropped = |k: &str| !ctx.admin && minor < 31 && kind == Kind::Snapshots && !OLD_MEMBER_SNAPSHOT_FILTERS.contains(&k);
    for (k, v) in query {
        if !paging(k) && dropped(k) {
            continue;
        }
        match k.as_str() {
            "limit" => {
                let n: i64 = v.parse().map_err(|_| fault_body(400, "limit param must be an integer"))?;
                if n < 0 {
                    return Err(fault_body(400, "limit param must be positive"));
                }
                l.limit = usize::try_from(n).unwrap_or(usize::MAX).min(st.page_cap);
            }
            "offset" => {
                l.offset =
                    v.parse().map_err(|_| fault_body(400, &format!("Invalid input received: offset param must be an integer: {v}")))?
            }
            "marker" => l.marker = Some(v.clone()),
            "with_count" if minor >= 45 => {
                l.with_count = match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" | "t" | "y" => true,
                    "false" | "0" | "no" | "off" | "f" | "n" => false,
                    _ => return Err(fault_body(400, &format!("Value '{v}' for 'with_count' is not a boolean."))),
                }
            }
            "sort" => {
                for part in v.split(',') {
                    let (key, dir) = part.split_once(':').unwrap_or((part, "desc"));
                    l.sort.push((key.trim().to_owned(), descending(dir.trim())?));
                }
            }
            "sort_key" => sort_key = Some(v.clone()),
            "sort_dir" => sort_dir = Some(v.clone()),
            "all_tenants" => l.all_tenants = lenient_true(v),
            "project_id" => l.project_id = Some(v.clone()),
            "name" => l.name = Some(v.clone()),
            "status" => l.status = Some(v.clone()),
            "volume_id" if kind == Kind::Snapshots => l.volume_id = Some(v.clone()),
            // Snapshots: from 3.22 (dropped below it). Volumes: every microversion.
            "metadata" if kind == Kind::Volumes || minor >= 22 => l.metadata = metadata_filter(v)?,
            // Cinder 29 applies the LIKE filters of snapshots from 3.31 (its generic filters),
            // not from 3.34 as documented; below 3.31 it drops `name~` and takes
            // `description~` for an unknown column. Volumes: every microversion.
            "name~" if kind == Kind::Volumes || minor >= 31 => l.name_like = Some(v.clone()),
            "description~" if kind == Kind::Volumes || minor >= 31 => l.description_like = Some(v.clone()),
            "name~" => {}
            "availability_zone" => l.availability_zone = Some(v.clone()),
            // `use_quota` from 3.31 (not 3.65 as documented); an unknown column below.
            "consumes_quota" if kind == Kind::Snapshots && minor >= 31 => l.consumes_quota = Some(lenient_true(v)),
            "bootable" if kind == Kind::Volumes => l.bootable = Some(lenient_true(v)),
            "group_id" if kind == Kind::Volumes => l.group_id = Some(v.clone()),
            "consumes_quota" if kind == Kind::Volumes && minor >= 65 => l.consumes_quota = Some(lenient_true(v)),
            // Dropped below the microversion that brought it.
            "metadata" => {}
            // Any other key is taken for a column filter: for an admin, one no row matches
            // (Cinder answers an empty list); a member's was refused or dropped above.
            _ if ctx.admin => l.unknown_filter = true,
            _ => {}
        }
    }
    // Cinder 29 joins the volumes for a snapshot's availability_zone filter, and then takes
    // the other exact filters for the volume's columns: `volume_id`, which volumes lack, is a
    // 500 (`name`, `status` and the others match the volume's; see `list_snapshots`).
    if kind == Kind::Snapshots && l.availability_zone.is_some() && l.volume_id.is_some() {
        return Err(fault_body(500, "The server has either erred or is incapable of performing the requested operation."));
    }
    if l.sort.is_empty() {
        let desc = descending(sort_dir.as_deref().unwrap_or("desc"))?;
        l.sort.push((sort_key.unwrap_or_else(|| "created_at".into()), desc));
    }
    for (key, _) in &mut l.sort {
        // Columns of Cinder's tables; `name` is `display_name` (for snapshots from 3.30).
        let known = match kind {
            Kind::Snapshots => {
                matches!(
                    key.as_str(),
                    "created_at" | "updated_at" | "id" | "status" | "volume_id" | "volume_size" | "project_id" | "user_id" | "display_name"
                ) || (key == "name" && minor >= 30)
            }
            Kind::Volumes => matches!(
                key.as_str(),
                "created_at"
                    | "updated_at"
                    | "id"
                    | "status"
                    | "size"
                    | "availability_zone"
                    | "bootable"
                    | "project_id"
                    | "user_id"
                    | "display_name"
                    | "name"
            ),
        };
        if !known {
            return Err(fault_body(400, "Invalid input received: Invalid sort key"));
        }
        if key == "display_name" {
            *key = "name".into();
        }
    }
    Ok(l)
}

/// Whether a sort direction is `desc` (else `asc`; anything else is Cinder's 400).
fn descending(dir: &str) -> Result<bool, HttpResponse> {
    match dir {
        "desc" => Ok(true),
        "asc" => Ok(false),
        _ => Err(fault_body(400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.")),
    }
}

/// A sortable field value.
/// A sortable field value, borrowed from its record (a sort allocates nothing).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Field<'a> {
    None,
    Int(i128),
    Text(&'a str),
}

fn snapshot_field<'a>(s: &'a SnapRec, key: &str) -> Field<'a> {
    let text = |t: &'a Option<String>| t.as_deref().map_or(Field::None, Field::Text);
    match key {
        "created_at" => Field::Int(s.created_at.unix_timestamp_nanos()),
        "updated_at" => s.updated_at.map_or(Field::None, |t| Field::Int(t.unix_timestamp_nanos())),
        "name" => text(&s.name),
        "status" => Field::Text(&s.status),
        "volume_size" => Field::Int(i128::from(s.size)),
        "volume_id" => Field::Text(&s.volume_id),
        "project_id" => Field::Text(&s.project_id),
        "user_id" => Field::Text(&s.user_id),
        _ => Field::Text(&s.id),
    }
}

fn volume_field<'a>(v: &'a VolRec, key: &str) -> Field<'a> {
    let text = |t: &'a Option<String>| t.as_deref().map_or(Field::None, Field::Text);
    match key {
        "created_at" => Field::Int(v.created_at.unix_timestamp_nanos()),
        "updated_at" => v.updated_at.map_or(Field::None, |t| Field::Int(t.unix_timestamp_nanos())),
        "name" => text(&v.name),
        "status" => Field::Text(&v.status),
        "size" => Field::Int(i128::from(v.size)),
        "project_id" => Field::Text(&v.project_id),
        "user_id" => Field::Text(&v.user_id),
        "availability_zone" | "bootable" => Field::None,
        _ => Field::Text(&v.id),
    }
}

/// What a listing needs of a resource.
trait Row: Sized {
    fn id(&self) -> &str;
    fn field(&self, key: &str) -> Field<'_>;
    /// The records of its kind in `st`.
    fn all(st: &State) -> &[Self];
    fn missing(id: &str) -> HttpResponse;
}

impl Row for SnapRec {
    fn id(&self) -> &str {
        &self.id
    }
    fn field(&self, key: &str) -> Field<'_> {
        snapshot_field(self, key)
    }
    fn all(st: &State) -> &[SnapRec] {
        &st.snapshots
    }
    fn missing(id: &str) -> HttpResponse {
        snapshot_missing(id)
    }
}

impl Row for VolRec {
    fn id(&self) -> &str {
        &self.id
    }
    fn field(&self, key: &str) -> Field<'_> {
        volume_field(self, key)
    }
    fn all(st: &State) -> &[VolRec] {
        &st.volumes
    }
    fn missing(id: &str) -> HttpResponse {
        volume_missing(id)
    }
}

/// One page: the indexes of its items (in [`Row::all`]), the next link, the total before
/// paging.
type Paged = (Vec<usize>, Option<String>, usize);

/// Where a listing's marker is among the chosen records.
enum MarkerAt {
    /// No marker.
    None,
    /// The marker is the chosen record at this position of the order.
    Chosen(usize),
    /// The filters left the marker out; the page starts at this position (the first chosen
    /// record after the marker's place in the order).
    After(usize),
}

/// Sorts the records at `chosen` (indexes in [`Row::all`]) by the listing's keys, then by id
/// descending (as Cinder appends it); pages by marker and offset; builds the next link
/// (`collection`: `snapshots/detail`, ...). Works on indexes: nothing is copied, so a listing
/// of a fake holding 10,000s of records costs a sort of their indexes and the page's JSON.
/// `marker_row` is the marker's own record (an index in [`Row::all`]) when the filters left
/// it out (a snapshot that left `creating` between two pages of a `status=creating`
/// listing): Cinder loads the marker by id whatever the filters and goes on after its place
/// in the order, so the page starts at the first chosen record after it.
fn page<T: Row>(
    st: &mut State,
    request: &HttpRequest,
    l: &Listing,
    mut chosen: Vec<usize>,
    marker_row: Option<usize>,
    collection: &str,
    ctx: Ctx,
) -> Result<Paged, HttpResponse> {
    let marker_at = {
        let items = T::all(st);
        // Cinder's tie-breakers (`created_at`, then `id`) take the first key's direction.
        let first_desc = l.sort.first().is_none_or(|(_, desc)| *desc);
        let order = |a: &T, b: &T| {
            for (key, desc) in &l.sort {
                let o = a.field(key).cmp(&b.field(key));
                let o = if *desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            let o = a.field("created_at").cmp(&b.field("created_at")).then_with(|| a.id().cmp(b.id()));
            if first_desc { o.reverse() } else { o }
        };
        chosen.sort_by(|&a, &b| order(&items[a], &items[b]));
        match (&l.marker, marker_row.and_then(|i| items.get(i))) {
            (None, _) => MarkerAt::None,
            (Some(m), row) => match (chosen.iter().position(|&i| items[i].id() == m), row) {
                (Some(at), _) => MarkerAt::Chosen(at),
                (None, Some(row)) => MarkerAt::After(chosen.iter().position(|&i| order(&items[i], row).is_gt()).unwrap_or(chosen.len())),
                (None, None) => return Err(T::missing(m)),
            },
        }
    };
    let total = chosen.len();
    let start = match marker_at {
        // A misbehaving server (FakeCloud::repeat_marker_items): the marker's item again.
        MarkerAt::Chosen(at) if take_inclusive_marker(st, request) => at,
        MarkerAt::Chosen(at) => at.saturating_add(1),
        MarkerAt::After(at) => at,
        MarkerAt::None => 0,
    };
    let start = start.saturating_add(l.offset).min(total);
    let page: Vec<usize> = chosen.into_iter().skip(start).take(l.limit).collect();
    let item_count = if l.with_count { total } else { page.len() };
    let next = match page.last() {
        Some(&last) if l.limit <= item_count => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in request.query() {
                if k != "marker" {
                    q.append_pair(&k, &v);
                }
            }
            q.append_pair("marker", T::all(st)[last].id());
            Some(format!("{}/{collection}?{}", st.endpoint(ctx.project), q.finish()))
        }
        _ => None,
    };
    st.stats.listing_pages = st.stats.listing_pages.saturating_add(1);
    st.listed = Some(page.len());
    Ok((page, next, total))
}

fn list_body(key: &str, items: Vec<Value>, next: Option<String>, with_count: bool, total: usize) -> HttpResponse {
    let mut body = json!({ key: items });
    if let Some(href) = next {
        body[format!("{key}_links")] = json!([{"rel": "next", "href": href}]);
    }
    if with_count {
        body["count"] = json!(total);
    }
    HttpResponse::json(200, &body)
}

fn list_snapshots(st: &mut State, request: &HttpRequest, detail: bool, minor: u16, ctx: Ctx) -> Answer {
    let l = parse_listing(st, &request.query(), Kind::Snapshots, minor, ctx)?;
    st.read_all_snapshots();
    // With an availability_zone filter, Cinder 29 matches `name` and `status` against the
    // snapshot's volume (its join makes the volume the entity of the exact filters).
    let on_volume = l.availability_zone.is_some();
    let volumes = &st.volumes;
    let volume_of = |s: &SnapRec| volumes.iter().find(|v| v.id == s.volume_id);
    let name_of = |s: &SnapRec| if on_volume { volume_of(s).and_then(|v| v.name.clone()) } else { s.name.clone() };
    let volume_status = |s: &SnapRec| volume_of(s).map(|v| v.status.clone());
    let chosen: Vec<usize> = st
        .snapshots
        .iter()
        .enumerate()
        .filter(|_| !l.unknown_filter)
        .filter(|(_, s)| l.project_matches(ctx, &s.project_id))
        .filter(|_| l.availability_zone.as_ref().is_none_or(|z| z == "nova"))
        // Every snapshot of the fake consumes quota.
        .filter(|_| l.consumes_quota.is_none_or(|c| c))
        .filter(|(_, s)| l.name.as_ref().is_none_or(|n| name_of(s).as_ref() == Some(n)))
        .filter(|(_, s)| l.status.as_deref().is_none_or(|x| if on_volume { volume_status(s).as_deref() == Some(x) } else { s.status == x }))
        .filter(|(_, s)| l.volume_id.as_ref().is_none_or(|x| s.volume_id == *x))
        .filter(|(_, s)| l.metadata.iter().all(|(k, v)| s.metadata.get(k) == Some(v)))
        .filter(|(_, s)| l.name_like.as_ref().is_none_or(|x| s.name.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .filter(|(_, s)| l.description_like.as_ref().is_none_or(|x| s.description.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .map(|(i, _)| i)
        .collect();
    let collection = if detail { "snapshots/detail" } else { "snapshots" };
    // The marker's own row, found by id whatever the filters (as Cinder loads it).
    let marker_row = l.marker.as_ref().and_then(|m| st.snapshots.iter().position(|s| s.id == *m && l.project_matches(ctx, &s.project_id)));
    let (items, next, total) = page::<SnapRec>(st, request, &l, chosen, marker_row, collection, ctx)?;
    st.stats.snapshot_rows = st.stats.snapshot_rows.saturating_add(items.len() as u64);
    let view = if detail { View::Detail } else { View::Summary };
    let items = items.iter().filter_map(|&i| st.snapshots.get(i)).map(|s| snapshot_json(s, view, minor)).collect();
    Ok(list_body("snapshots", items, next, l.with_count, total))
}

fn show_snapshot(st: &mut State, id: &str, minor: u16, ctx: Ctx) -> Answer {
    let i = find_snapshot(st, id, ctx)?;
    if !st.read_snapshot(i) {
        return Err(snapshot_missing(id));
    }
    let s = &st.snapshots[i];
    Ok(HttpResponse::json(200, &json!({"snapshot": snapshot_json(s, View::Detail, minor)})))
}

fn string_map(v: &Value, field: &str) -> Result<BTreeMap<String, String>, HttpResponse> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(fault_body(
                    400,
                    &format!("Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'string'"),
                )),
            })
            .collect(),
        other => {
            Err(fault_body(400, &format!("Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'object'")))
        }
    }
}

fn json_body(request: &HttpRequest) -> Result<Value, HttpResponse> {
    serde_json::from_slice(&request.body).map_err(|_| fault_body(400, "Malformed request body"))
}

fn opt_string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The values Cinder's schema takes for `force` (a boolean or one of these strings).
const TRUE_WORDS: [&str; 12] = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y", "t"];
const FALSE_WORDS: [&str; 12] = ["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n", "f"];

/// The `force` flag of a snapshot create: absent, or a boolean as Cinder's schema reads it.
fn force_flag(v: &Value) -> Result<Option<bool>, HttpResponse> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(t) if TRUE_WORDS.contains(&t.as_str()) => Ok(Some(true)),
        Value::String(t) if FALSE_WORDS.contains(&t.as_str()) => Ok(Some(false)),
        other => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            let quoted = other.as_str().map_or_else(|| other.to_string(), |t| format!("'{t}'"));
            let words = |b: &str, w: &[&str]| std::iter::once(b.to_owned()).chain(w.iter().map(|x| format!("'{x}'"))).collect::<Vec<_>>();
            let all = [words("True", &TRUE_WORDS), words("False", &FALSE_WORDS)].concat().join(", ");
            Err(fault_body(400, &format!("Invalid input for field/attribute force. Value: {shown}. {quoted} is not one of [{all}]")))
        }
    }
}

/// Cinder's answer when `force=false` is sent from 3.66 (its text, typo and double space
/// included).
const FORCE_FLAG_INVALID: &str = "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored.";

fn create_snapshot(st: &mut State, request: &HttpRequest, minor: u16, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let snap = &body["snapshot"];
    if !snap.is_object() {
        return Err(fault_body(400, "Invalid input for field/attribute snapshot. Value: None. None is not of type 'object'"));
    }
    let volume_id = snap["volume_id"]
        .as_str()
        .ok_or_else(|| fault_body(400, "Invalid input for field/attribute snapshot. Value: {}. 'volume_id' is a required property"))?
        .to_owned();
    let force = force_flag(&snap["force"])?;
    let metadata = string_map(&snap["metadata"], "metadata")?;
    // Cinder's order: the volume, the force flag by microversion, the volume's state, the
    // quota.
    let vi = find_volume(st, &volume_id, ctx)?;
    if minor >= 66 && force == Some(false) {
        return Err(fault_body(400, FORCE_FLAG_INVALID));
    }
    let volume = &st.volumes[vi];
    let invalid = |reason: &str| fault_body(400, &format!("Invalid volume: {reason}"));
    match volume.status.as_str() {
        "maintenance" => return Err(invalid("The snapshot cannot be created when the volume is in maintenance mode.")),
        "error" => return Err(invalid("The snapshot cannot be created when the volume is in error status.")),
        _ => {}
    }
    let valid: &[&str] = if force == Some(true) || minor >= 66 { &["available", "in-use"] } else { &["available"] };
    if !valid.contains(&volume.status.as_str()) {
        return Err(invalid(&format!("Volume {volume_id} status must be {}, but current status is: {}.", valid.join(", "), volume.status)));
    }
    let size = volume.size;
    check_snapshot_quota(st, ctx.project, size)?;
    let id = st.new_id();
    let fate = if st.failing.is_empty() { Fate::Available } else { Fate::Error(st.failing.remove(0)) };
    let rec = SnapRec {
        id,
        name: opt_string(&snap["name"]),
        description: opt_string(&snap["description"]),
        volume_id,
        project_id: ctx.project.into(),
        user_id: ctx.user.into(),
        status: "creating".into(),
        size,
        metadata,
        created_at: st.now,
        updated_at: None,
        reads_left: st.snapshot_creating_reads,
        created_wall: std::time::Instant::now(),
        extra_wall: st.spread_share(),
        fate,
        delete_fails: false,
        progress: "0%".into(),
    };
    let out = snapshot_json(&rec, View::Created, minor);
    st.snapshots.push(rec);
    Ok(HttpResponse::json(202, &json!({"snapshot": out})))
}

/// The quota keys of a quota set, in the order Cinder 29 answers them.
const QUOTA_KEYS: [&str; 10] = [
    "volumes",
    "per_volume_gigabytes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "volumes___DEFAULT__",
    "gigabytes___DEFAULT__",
    "snapshots___DEFAULT__",
    "groups",
];

/// What `project` holds under quota `key`, as Cinder counts it: every snapshot whatever its
/// status until it is gone, and snapshots count toward the gigabytes (every volume of the
/// fake is of the default type `__DEFAULT__`).
fn quota_in_use(st: &State, project: &str, key: &str) -> i64 {
    let snaps = st.snapshots.iter().filter(|s| s.project_id == project);
    let vols = st.volumes.iter().filter(|v| v.project_id == project);
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let gib = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match key {
        "snapshots" | "snapshots___DEFAULT__" => count(snaps.count()),
        "volumes" | "volumes___DEFAULT__" => count(vols.count()),
        "gigabytes" | "gigabytes___DEFAULT__" => gib(snaps.map(|s| s.size).fold(0u64, u64::saturating_add))
            .saturating_add(gib(vols.map(|v| v.size).fold(0u64, u64::saturating_add))),
        _ => 0,
    }
}

/// The limit of `project`'s quota `key`: its own if set, else every project's, else `-1`.
fn quota_limit(st: &State, project: &str, key: &str) -> i64 {
    st.project_quotas.get(&(project.to_owned(), key.to_owned())).or_else(|| st.quotas.get(key)).copied().unwrap_or(-1)
}

/// Cinder's reservation of a snapshot: `snapshots` 1 and `gigabytes` the volume's size,
/// and the same per type; the first key over (sorted, as Cinder sorts them) gives its 413.
fn check_snapshot_quota(st: &State, project: &str, size: u64) -> Result<(), HttpResponse> {
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    let mut deltas = [("gigabytes", size), ("gigabytes___DEFAULT__", size), ("snapshots", 1), ("snapshots___DEFAULT__", 1)];
    deltas.sort();
    for (key, delta) in deltas {
        let limit = quota_limit(st, project, key);
        if limit < 0 {
            continue;
        }
        let consumed = quota_in_use(st, project, key).saturating_add(st.quota_reserved.get(key).copied().unwrap_or(0));
        if consumed.saturating_add(delta) <= limit {
            continue;
        }
        let message = if key.starts_with("gigabytes") {
            format!(
                "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed {key} quota. Requested {size}G, quota is {limit}G and {consumed}G has been consumed."
            )
        } else {
            format!("SnapshotLimitExceeded: Maximum number of snapshots allowed ({limit}) exceeded")
        };
        return Err(fault_body(413, &message));
    }
    Ok(())
}

/// `GET os-quota-sets/<project>[?usage=True]`: a member reads its own project's only.
fn quota_set(st: &State, request: &HttpRequest, project: &str, ctx: Ctx) -> Answer {
    if !ctx.admin && project != ctx.project {
        return Err(fault_body(403, "Policy doesn't allow volume_extension:quotas:show to be performed."));
    }
    let usage = request.query().iter().any(|(k, v)| k == "usage" && lenient_true(v));
    let mut set = Map::new();
    for key in QUOTA_KEYS {
        let limit = quota_limit(st, project, key);
        set.insert(
            key.into(),
            if usage {
                let reserved = st.quota_reserved.get(key).copied().unwrap_or(0);
                json!({"limit": limit, "in_use": quota_in_use(st, project, key), "reserved": reserved})
            } else {
                json!(limit)
            },
        );
    }
    set.insert("id".into(), json!(project));
    Ok(HttpResponse::json(200, &json!({"quota_set": set})))
}

/// `GET limits`: the caller's project's absolute limits and totals (no reservations).
fn limits(st: &State, ctx: Ctx) -> HttpResponse {
    let p = ctx.project;
    HttpResponse::json(
        200,
        &json!({"limits": {"rate": [], "absolute": {
            "maxTotalVolumes": quota_limit(st, p, "volumes"),
            "maxTotalSnapshots": quota_limit(st, p, "snapshots"),
            "maxTotalVolumeGigabytes": quota_limit(st, p, "gigabytes"),
            "maxTotalBackups": quota_limit(st, p, "backups"),
            "maxTotalBackupGigabytes": quota_limit(st, p, "backup_gigabytes"),
            "totalVolumesUsed": quota_in_use(st, p, "volumes"),
            "totalGigabytesUsed": quota_in_use(st, p, "gigabytes"),
            "totalSnapshotsUsed": quota_in_use(st, p, "snapshots"),
            "totalBackupsUsed": 0,
            "totalBackupGigabytesUsed": 0,
        }}}),
    )
}

/// A rate limiter's refusal: a 429 from a limiter in front of Cinder (its pause in the
/// header given), or the 413 `overLimitFault` of Cinder's own legacy limiter.
fn limiter_refusal(refusal: &Refusal) -> HttpResponse {
    match refusal {
        Refusal::TooManyRequests { header, value } => HttpResponse {
            status: 429,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body><h1>429 Too Many Requests</h1>You have sent too many requests in a given amount of time.</body></html>".to_vec(),
        }
        .with_header(header, value.clone()),
        Refusal::OverLimitFault { retry_after } => HttpResponse::json(
            413,
            &json!({"overLimitFault": {"code": 413, "message": "This request was rate-limited.", "details": "Only 10 POST request(s) can be made to * every minute."}}),
        )
        .with_header("Retry-After", retry_after.clone()),
    }
}

/// A JSON value as Python's `repr` writes it (Cinder's schema messages show the body so).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(t) => format!("'{t}'"),
        Value::Array(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("'{k}': {}", py_repr(v))).collect::<Vec<_>>().join(", ")),
    }
}

/// Snapshot update (`PUT snapshots/<id>`): `name`, `description` or their legacy
/// `display_` forms (the new ones win), at least one; answers the view of a create.
fn update_snapshot(st: &mut State, id: &str, request: &HttpRequest, minor: u16, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let Some(given) = body.get("snapshot") else {
        return Err(fault_body(400, "'snapshot' is a required property"));
    };
    let Some(fields) = given.as_object() else {
        return Err(fault_body(
            400,
            &format!("Invalid input for field/attribute snapshot. Value: {0}. {0} is not of type 'object'", py_repr(given)),
        ));
    };
    const KNOWN: [&str; 4] = ["name", "display_name", "description", "display_description"];
    let unknown: Vec<String> = fields.keys().filter(|k| !KNOWN.contains(&k.as_str())).map(|k| format!("'{k}'")).collect();
    if !unknown.is_empty() {
        let verb = if unknown.len() == 1 { "was" } else { "were" };
        return Err(fault_body(
            400,
            &format!(
                "Invalid input for field/attribute snapshot. Value: {}. Additional properties are not allowed ({} {verb} unexpected)",
                py_repr(given),
                unknown.join(", ")
            ),
        ));
    }
    if fields.is_empty() {
        let shown = py_repr(given);
        return Err(fault_body(
            400,
            &format!("Invalid input for field/attribute snapshot. Value: {shown}. {shown} is not valid under any of the given schemas"),
        ));
    }
    let text = |k: &str| fields.get(k).map(|v| v.as_str().map(|t| t.trim().to_owned()));
    let name = text("name").or_else(|| text("display_name"));
    let description = text("description").or_else(|| text("display_description"));
    let i = find_snapshot(st, id, ctx)?;
    let now = st.now;
    let s = &mut st.snapshots[i];
    if let Some(n) = name {
        s.name = n;
    }
    if let Some(d) = description {
        s.description = d;
    }
    s.updated_at = Some(now);
    Ok(HttpResponse::json(200, &json!({"snapshot": snapshot_json(s, View::Created, minor)})))
}

fn delete_snapshot(st: &mut State, id: &str, ctx: Ctx) -> Answer {
    let deleting_reads = st.deleting_reads;
    let now = st.now;
    let i = find_snapshot(st, id, ctx)?;
    let s = &mut st.snapshots[i];
    if !matches!(s.status.as_str(), "available" | "error") {
        return Err(fault_body(400, "Invalid snapshot: Snapshot status must be available or error and must not be part of a group."));
    }
    s.status = "deleting".into();
    s.reads_left = deleting_reads;
    s.fate = Fate::Available;
    s.updated_at = Some(now);
    Ok(HttpResponse::empty(202))
}

fn snapshot_metadata(st: &State, id: &str, ctx: Ctx) -> Answer {
    let s = &st.snapshots[find_snapshot(st, id, ctx)?];
    Ok(HttpResponse::json(200, &json!({"metadata": s.metadata})))
}

fn write_snapshot_metadata(st: &mut State, id: &str, request: &HttpRequest, merge: bool, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    if body.get("metadata").is_none() {
        return Err(fault_body(400, "'metadata' is a required property"));
    }
    let given = string_map(&body["metadata"], "metadata")?;
    let i = find_snapshot(st, id, ctx)?;
    let s = &mut st.snapshots[i];
    if merge {
        s.metadata.extend(given);
    } else {
        s.metadata = given;
    }
    Ok(HttpResponse::json(200, &json!({"metadata": s.metadata})))
}

fn no_such_key(id: &str, key: &str) -> HttpResponse {
    fault_body(404, &format!("Snapshot {id} has no metadata with key {key}."))
}

fn snapshot_metadata_key(st: &State, id: &str, key: &str, ctx: Ctx) -> Answer {
    let s = &st.snapshots[find_snapshot(st, id, ctx)?];
    let value = s.metadata.get(key).ok_or_else(|| no_such_key(id, key))?;
    Ok(HttpResponse::json(200, &json!({"meta": { key: value }})))
}

fn set_snapshot_metadata_key(st: &mut State, id: &str, key: &str, request: &HttpRequest, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let Some(meta) = body.get("meta") else {
        return Err(fault_body(400, "'meta' is a required property"));
    };
    let given = string_map(meta, "meta")?;
    if given.len() > 1 {
        return Err(fault_body(400, &format!("Invalid input for field/attribute meta. Value: {meta}. {meta} has too many properties")));
    }
    let Some((k, v)) = given.into_iter().next().filter(|(k, _)| k == key) else {
        return Err(fault_body(400, "Request body and URI mismatch"));
    };
    let i = find_snapshot(st, id, ctx)?;
    st.snapshots[i].metadata.insert(k.clone(), v.clone());
    Ok(HttpResponse::json(200, &json!({"meta": { k: v }})))
}

fn delete_snapshot_metadata_key(st: &mut State, id: &str, key: &str, ctx: Ctx) -> Answer {
    let i = find_snapshot(st, id, ctx)?;
    st.snapshots[i].metadata.remove(key).ok_or_else(|| no_such_key(id, key))?;
    // Cinder answers 200 with an empty text/html body.
    Ok(HttpResponse { status: 200, headers: vec![("Content-Type".into(), "text/html; charset=UTF-8".into())], body: Vec::new() })
}

fn volume_metadata(st: &State, id: &str, ctx: Ctx) -> Answer {
    let v = &st.volumes[find_volume(st, id, ctx)?];
    // Cinder 29 answers this one GET with Content-Type text/html (and an ETag).
    let mut answer = HttpResponse::json(200, &json!({"metadata": v.metadata}));
    answer.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("Content-Type"));
    Ok(answer.with_header("Content-Type", "text/html; charset=UTF-8"))
}

/// `POST` (merge) and `PUT` (replace) of a volume's metadata: Cinder's 400 without
/// `metadata`, its 404 for a volume it does not show; the answer holds all the items after.
fn write_volume_metadata(st: &mut State, id: &str, request: &HttpRequest, merge: bool, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    if body.get("metadata").is_none() {
        return Err(fault_body(400, "'metadata' is a required property"));
    }
    let given = string_map(&body["metadata"], "metadata")?;
    let i = find_volume(st, id, ctx)?;
    let v = &mut st.volumes[i];
    if matches!(v.status.as_str(), "maintenance" | "uploading") {
        let text = format!("Invalid volume: Updating volume metadata is not allowed for volumes in {} status.", v.status);
        return Err(fault_body(400, &text));
    }
    if merge {
        v.metadata.extend(given);
    } else {
        v.metadata = given;
    }
    Ok(HttpResponse::json(200, &json!({"metadata": v.metadata})))
}

fn delete_volume_metadata_key(st: &mut State, id: &str, key: &str, ctx: Ctx) -> Answer {
    let i = find_volume(st, id, ctx)?;
    let v = &mut st.volumes[i];
    // The key is looked up first (a missing one is a 404 in any status), then the status.
    if !v.metadata.contains_key(key) {
        return Err(fault_body(404, &format!("Volume {id} has no metadata with key {key}.")));
    }
    if matches!(v.status.as_str(), "maintenance" | "uploading") {
        let text = format!("Invalid volume: Deleting volume metadata is not allowed for volumes in {} status.", v.status);
        return Err(fault_body(400, &text));
    }
    v.metadata.remove(key);
    // As for a snapshot's key: 200 with an empty text/html body.
    Ok(HttpResponse { status: 200, headers: vec![("Content-Type".into(), "text/html; charset=UTF-8".into())], body: Vec::new() })
}

fn list_volumes(st: &mut State, request: &HttpRequest, detail: bool, minor: u16, ctx: Ctx) -> Answer {
    let l = parse_listing(st, &request.query(), Kind::Volumes, minor, ctx)?;
    st.read_all_volumes();
    let chosen: Vec<usize> = st
        .volumes
        .iter()
        .enumerate()
        .filter(|_| !l.unknown_filter)
        .filter(|(_, v)| l.project_matches(ctx, &v.project_id))
        .filter(|_| l.consumes_quota.is_none_or(|c| c))
        .filter(|_| l.availability_zone.as_ref().is_none_or(|z| z == "nova"))
        // No volume of the fake is bootable or in a group.
        .filter(|_| l.bootable.is_none_or(|b| !b))
        .filter(|_| l.group_id.is_none())
        .filter(|(_, v)| l.name.as_ref().is_none_or(|n| v.name.as_ref() == Some(n)))
        .filter(|(_, v)| l.status.as_ref().is_none_or(|x| v.status == *x))
        .filter(|(_, v)| l.metadata.iter().all(|(k, x)| v.metadata.get(k) == Some(x)))
        .filter(|(_, v)| l.name_like.as_ref().is_none_or(|x| v.name.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .filter(|(_, v)| l.description_like.as_ref().is_none_or(|x| v.description.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .map(|(i, _)| i)
        .collect();
    let collection = if detail { "volumes/detail" } else { "volumes" };
    let (items, next, total) = page::<VolRec>(st, request, &l, chosen, None, collection, ctx)?;
    st.stats.volume_rows = st.stats.volume_rows.saturating_add(items.len() as u64);
    let view = if detail { VolView::Detail } else { VolView::Summary };
    let items = items.iter().filter_map(|&i| st.volumes.get(i)).map(|v| volume_json(st, v, view, ctx.admin)).collect();
    Ok(list_body("volumes", items, next, l.with_count, total))
}

fn show_volume(st: &mut State, id: &str, ctx: Ctx) -> Answer {
    let i = find_volume(st, id, ctx)?;
    if !st.read_volume(i) {
        return Err(volume_missing(id));
    }
    Ok(HttpResponse::json(200, &json!({"volume": volume_json(st, &st.volumes[i], VolView::Detail, ctx.admin)})))
}

fn create_volume(st: &mut State, request: &HttpRequest, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let vol = &body["volume"];
    if !vol.is_object() {
        return Err(fault_body(400, "Invalid input for field/attribute volume. Value: None. None is not of type 'object'"));
    }
    let snapshot_id = opt_string(&vol["snapshot_id"]);
    let snapshot_size = match &snapshot_id {
        Some(sid) => {
            let snap = &st.snapshots[find_snapshot(st, sid, ctx)?];
            if snap.status != "available" {
                return Err(fault_body(400, "Invalid snapshot: Originating snapshot status must be one of 'available' values"));
            }
            Some(snap.size)
        }
        None => None,
    };
    let size = match (&vol["size"], snapshot_size) {
        (Value::Number(n), Some(snap_size)) if n.as_u64().is_some_and(|s| s >= 1 && s < snap_size) => {
            return Err(fault_body(
                400,
                &format!(
                    "Invalid input received: Volume size '{n}'GB cannot be smaller than the snapshot size {snap_size}GB. They must be >= original snapshot size."
                ),
            ));
        }
        (Value::Number(n), _) => match n.as_u64() {
            Some(s) if s >= 1 => s,
            _ => {
                return Err(fault_body(
                    400,
                    &format!("Invalid input for field/attribute size. Value: {n}. {n} is less than the minimum of 1"),
                ));
            }
        },
        (Value::Null, Some(s)) => s,
        (other, _) => {
            return Err(fault_body(
                400,
                &format!("Invalid input for field/attribute size. Value: {other}. {other} is not valid under any of the given schemas"),
            ));
        }
    };
    let metadata = string_map(&vol["metadata"], "metadata")?;
    let id = st.new_id();
    let rec = VolRec {
        id,
        name: opt_string(&vol["name"]),
        description: opt_string(&vol["description"]),
        project_id: ctx.project.into(),
        user_id: ctx.user.into(),
        status: "creating".into(),
        size,
        metadata,
        snapshot_id,
        created_at: st.now,
        updated_at: None,
        reads_left: st.volume_creating_reads,
        attachment: None,
        reverting_to: None,
    };
    let out = volume_json(st, &rec, VolView::Created, ctx.admin);
    st.volumes.push(rec);
    Ok(HttpResponse::json(202, &json!({"volume": out})))
}

/// The volume action `revert` as Cinder 29 decides it: the volume's latest snapshot only,
/// the sizes equal, then the volume must be `available` (409) and the snapshot too (409,
/// after the volume was set `reverting`, where Cinder leaves it).
fn volume_action(st: &mut State, id: &str, request: &HttpRequest, ctx: Ctx) -> Answer {
    let body = json_body(request)?;
    let Some(revert) = body.get("revert").filter(|_| body.as_object().is_some_and(|o| o.len() == 1)) else {
        return Err(fault_body(404, "The resource could not be found."));
    };
    let vi = find_volume(st, id, ctx)?;
    let asked = revert["snapshot_id"].as_str();
    let latest = st
        .snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.volume_id == id)
        .max_by(|(_, a), (_, b)| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)))
        .map(|(i, _)| i);
    let Some(si) = latest else {
        return Err(fault_body(400, &format!("Volume {id} doesn't have any snapshots.")));
    };
    let snap_id = st.snapshots[si].id.clone();
    if asked != Some(snap_id.as_str()) {
        let shown = asked.unwrap_or("None");
        return Err(fault_body(400, &format!("Specified snapshot {shown} is None or not the latest one of volume {id}.")));
    }
    if st.volumes[vi].size != st.snapshots[si].size {
        return Err(fault_body(
            400,
            &format!("Can't revert volume {id} to its latest snapshot {snap_id}. The volume size must be equal to the snapshot size."),
        ));
    }
    if st.volumes[vi].status != "available" {
        return Err(fault_body(
            409,
            &format!("Invalid volume: Can't revert volume {id} to its latest snapshot {snap_id}. Volume's status must be 'available'."),
        ));
    }
    let now = st.now;
    let reads = st.snapshot_creating_reads;
    let v = &mut st.volumes[vi];
    v.status = "reverting".into();
    v.updated_at = Some(now);
    v.reads_left = reads;
    if st.snapshots[si].status != "available" {
        // Cinder has set the volume `reverting` already and leaves it so.
        return Err(fault_body(
            409,
            &format!("Invalid snapshot: Can't revert volume {id} to its latest snapshot {snap_id}. Snapshot's status must be 'available'."),
        ));
    }
    v.reverting_to = Some(snap_id);
    let s = &mut st.snapshots[si];
    s.status = "restoring".into();
    s.updated_at = Some(now);
    Ok(HttpResponse::json_empty(202))
}

fn delete_volume(st: &mut State, id: &str, ctx: Ctx) -> Answer {
    let has_snapshots = st.snapshots.iter().any(|s| s.volume_id == id);
    let deleting_reads = st.deleting_reads;
    let now = st.now;
    let i = find_volume(st, id, ctx)?;
    let v = &mut st.volumes[i];
    if has_snapshots || !matches!(v.status.as_str(), "available" | "error") {
        return Err(fault_body(
            400,
            "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.",
        ));
    }
    v.status = "deleting".into();
    v.reads_left = deleting_reads;
    v.updated_at = Some(now);
    Ok(HttpResponse::empty(202))
}

fn messages(st: &State, request: &HttpRequest, ctx: Ctx) -> Answer {
    let query = request.query();
    let resource = query.iter().find(|(k, _)| k == "resource_uuid").map(|(_, v)| v.as_str());
    let items: Vec<Value> = st
        .messages
        .iter()
        .filter(|m| resource.is_none_or(|r| m.resource_uuid == r))
        .filter(|m| ctx.admin || m.project_id == ctx.project)
        .map(|m| {
            json!({
                "id": m.id, "event_id": "VOLUME_SNAPSHOT_001_002", "user_message": m.user_message,
                "message_level": "ERROR", "resource_type": "SNAPSHOT", "resource_uuid": m.resource_uuid,
                "created_at": cinder_time(m.created_at),
                "guaranteed_until": cinder_time(m.created_at.checked_add(time::Duration::days(30)).unwrap_or(m.created_at)),
                "request_id": "req-00000000-0000-4000-9000-000000000000",
                "links": [{"rel": "self", "href": format!("{}/messages/{}", st.endpoint(&m.project_id), m.id)}]
            })
        })
        .collect();
    Ok(HttpResponse::json(200, &json!({"messages": items})))
}

impl Rule {
    fn matches(&self, method: &str, path: &str, relative: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && (path.starts_with(&self.prefix) || relative.starts_with(&self.prefix))
    }
}

/// A snapshot as a detail listing at 3.71 shows it.
pub(crate) fn snapshot_view(s: &SnapRec) -> Value {
    snapshot_json(s, View::Detail, MAX_MINOR)
}

/// A volume as a detail listing shows it.
pub(crate) fn volume_view(st: &State, v: &VolRec) -> Value {
    volume_json(st, v, VolView::Detail, true)
}
