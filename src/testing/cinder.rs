//! The fake's state and its answers: Keystone's token request, Cinder's version root, and
//! the snapshot, volume and message calls, shaped as the recorded fixtures are.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::server::{HttpRequest, HttpResponse};
use super::{Fault, Rule, SeenRequest};

/// The project every resource of the fake belongs to (the recorded admin project's id).
pub(crate) const PROJECT_ID: &str = "27b115259e6a4d39a32f642f7bfea2a0";
/// The user every resource of the fake is created by.
pub(crate) const USER_ID: &str = "ad71fabb90db4b989106b05a3ee46ab6";
/// The highest microversion the fake serves.
const MAX_MINOR: u16 = 71;

/// What happens to a snapshot when it leaves `creating`.
#[derive(Clone)]
pub(crate) enum Fate {
    Available,
    Error(Option<String>),
}

#[derive(Clone)]
pub(crate) struct SnapRec {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) volume_id: String,
    pub(crate) status: String,
    pub(crate) size: u64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: Option<OffsetDateTime>,
    /// Reads left before the current transient status (`creating`, `deleting`) ends.
    pub(crate) reads_left: u32,
    pub(crate) fate: Fate,
    /// A delete of it ends in `error_deleting` instead of removing it.
    pub(crate) delete_fails: bool,
}

#[derive(Clone)]
pub(crate) struct VolRec {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) status: String,
    pub(crate) size: u64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) snapshot_id: Option<String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: Option<OffsetDateTime>,
    pub(crate) reads_left: u32,
}

pub(crate) struct MessageRec {
    pub(crate) id: String,
    pub(crate) resource_uuid: String,
    pub(crate) user_message: String,
    pub(crate) created_at: OffsetDateTime,
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
    pub(crate) tokens: Vec<String>,
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
            tokens: Vec::new(),
            failing: Vec::new(),
            latency: std::time::Duration::ZERO,
        }
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

    pub(crate) fn endpoint(&self) -> String {
        format!("{}/v3/{PROJECT_ID}", self.base)
    }

    /// Adds a volume directly (no request), `available`.
    pub(crate) fn add_volume(&mut self, name: Option<String>, size: u64, metadata: BTreeMap<String, String>) -> String {
        let id = self.new_id();
        let now = self.now;
        self.volumes.push(VolRec {
            id: id.clone(),
            name,
            description: None,
            status: "available".into(),
            size,
            metadata,
            snapshot_id: None,
            created_at: now,
            updated_at: Some(now),
            reads_left: 0,
        });
        id
    }

    /// One read of a snapshot: its transient status moves on. Returns false when it is gone.
    fn read_snapshot(&mut self, index: usize) -> bool {
        let now = self.now;
        let Some(s) = self.snapshots.get_mut(index) else { return false };
        match s.status.as_str() {
            "creating" if s.reads_left > 0 => s.reads_left -= 1,
            "creating" => {
                s.updated_at = Some(now);
                match s.fate.clone() {
                    Fate::Available => s.status = "available".into(),
                    Fate::Error(message) => {
                        s.status = "error".into();
                        if let Some(text) = message {
                            let resource = s.id.clone();
                            let id = self.new_id();
                            self.messages.push(MessageRec { id, resource_uuid: resource, user_message: text, created_at: now });
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

/// Answers one request and records it.
pub(crate) fn handle(state: &Mutex<State>, request: &HttpRequest) -> HttpResponse {
    let (response, latency) = {
        let mut guard = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let st = &mut *guard;
        st.requests.push(SeenRequest { method: request.method.clone(), path: request.path.clone(), query: request.query() });
        let request_id = st.request_id();
        (route(st, request).with_header("x-openstack-request-id", request_id), st.latency)
    };
    // Held back outside the lock, so that concurrent requests wait side by side.
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    response
}

fn route(st: &mut State, request: &HttpRequest) -> HttpResponse {
    let path = request.path.as_str();
    let relative = path.strip_prefix(&format!("/v3/{PROJECT_ID}/")).unwrap_or(path);
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
    let response = if !path.starts_with(&format!("/v3/{PROJECT_ID}/")) {
        fault_body(404, "The resource could not be found.")
    } else if !request.header("x-auth-token").is_some_and(|t| st.tokens.iter().any(|k| k == t)) {
        keystone_unauthorized()
    } else {
        cinder(st, request, relative, minor)
    };
    response.with_header("OpenStack-API-Version", version).with_header("Vary", "OpenStack-API-Version")
}

fn keystone_token(st: &mut State, request: &HttpRequest) -> HttpResponse {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let identity = &body["auth"]["identity"];
    let user = &identity["password"]["user"];
    let methods_ok = identity["methods"].as_array().is_some_and(|m| m.iter().any(|x| x == "password"));
    let user_ok = user["name"] == super::USERNAME || user["id"] == USER_ID;
    if !methods_ok || !user_ok || user["password"] != super::PASSWORD {
        return keystone_unauthorized();
    }
    let project = &body["auth"]["scope"]["project"];
    if !project.is_null() && project["name"] != "admin" && project["id"] != PROJECT_ID {
        return keystone_unauthorized();
    }
    let token = format!("fake-token-{}", st.new_id());
    st.tokens.push(token.clone());
    let issued = OffsetDateTime::now_utc();
    let expires = issued.checked_add(time::Duration::hours(1)).unwrap_or(issued);
    let base = st.base.clone();
    let endpoint = st.endpoint();
    let doc = json!({"token": {
        "methods": ["password"],
        "user": {"domain": {"id": "default", "name": "Default"}, "id": USER_ID, "name": super::USERNAME, "password_expires_at": null},
        "audit_ids": ["ZmFrZS1jbG91ZC1hdWRp"],
        "expires_at": format!("{}Z", cinder_time(expires)),
        "issued_at": format!("{}Z", cinder_time(issued)),
        "project": {"domain": {"id": "default", "name": "Default"}, "id": PROJECT_ID, "name": "admin"},
        "is_domain": false,
        "roles": [{"id": "00add462c6b84800a13e364563163c63", "name": "admin"}, {"id": "bce768dbb2ac44dea7d169323bb3c73a", "name": "member"}, {"id": "f1b9cea9277f4039a486559dddb46adb", "name": "reader"}],
        "catalog": [
            {"endpoints": [
                {"id": "ef225a42390d41898058e2cfcba590ca", "interface": "public", "region_id": "RegionOne", "url": format!("{base}/v3"), "region": "RegionOne"},
                {"id": "6dd9e5e3727e4187b31915d6287b530c", "interface": "internal", "region_id": "RegionOne", "url": format!("{base}/v3"), "region": "RegionOne"}
            ], "id": "6a9526b6f12f4e419380b0f792f84408", "type": "identity", "name": "keystone"},
            {"endpoints": [
                {"id": "0a2a012bcb2542a88a04640b8e79f469", "interface": "public", "region_id": "RegionOne", "url": endpoint, "region": "RegionOne"},
                {"id": "04dbbdfcb8a14a99a6e0fa3b8fd28de2", "interface": "internal", "region_id": "RegionOne", "url": endpoint, "region": "RegionOne"}
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

fn cinder(st: &mut State, request: &HttpRequest, relative: &str, minor: u16) -> HttpResponse {
    let segments: Vec<&str> = relative.trim_end_matches('/').split('/').collect();
    let method = request.method.as_str();
    let result = match (method, segments.as_slice()) {
        ("GET", ["snapshots"]) => list_snapshots(st, request, false, minor),
        ("GET", ["snapshots", "detail"]) => list_snapshots(st, request, true, minor),
        ("POST", ["snapshots"]) => create_snapshot(st, request, minor),
        ("GET", ["snapshots", id]) => show_snapshot(st, id, minor),
        ("DELETE", ["snapshots", id]) => delete_snapshot(st, id),
        ("GET", ["snapshots", id, "metadata"]) => snapshot_metadata(st, id),
        ("POST", ["snapshots", id, "metadata"]) => write_snapshot_metadata(st, id, request, true),
        ("PUT", ["snapshots", id, "metadata"]) => write_snapshot_metadata(st, id, request, false),
        ("GET", ["volumes"]) => list_volumes(st, request, false, minor),
        ("GET", ["volumes", "detail"]) => list_volumes(st, request, true, minor),
        ("POST", ["volumes"]) => create_volume(st, request),
        ("GET", ["volumes", id]) => show_volume(st, id),
        ("DELETE", ["volumes", id]) => delete_volume(st, id),
        // User messages came with 3.3; below it the route does not exist.
        ("GET", ["messages"]) if minor >= 3 => messages(st, request),
        _ => Err(fault_body(404, "The resource could not be found.")),
    };
    result.unwrap_or_else(|e| e)
}

type Answer = Result<HttpResponse, HttpResponse>;

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
            o["user_id"] = json!(USER_ID);
        }
        if minor >= 65 {
            o["consumes_quota"] = json!(true);
        }
    }
    if view == View::Detail {
        o["os-extended-snapshot-attributes:project_id"] = json!(PROJECT_ID);
        let progress = match s.status.as_str() {
            "available" => "100%",
            _ => "0%",
        };
        o["os-extended-snapshot-attributes:progress"] = json!(progress);
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

fn volume_json(st: &State, v: &VolRec, view: VolView) -> Value {
    let links = json!([
        {"rel": "self", "href": format!("{}/volumes/{}", st.endpoint(), v.id)},
        {"rel": "bookmark", "href": format!("{}/{PROJECT_ID}/volumes/{}", st.base, v.id)}
    ]);
    if view == VolView::Summary {
        return json!({"id": v.id, "name": v.name, "links": links});
    }
    let mut o = json!({
        "id": v.id, "status": v.status, "size": v.size, "availability_zone": "nova",
        "created_at": cinder_time(v.created_at), "updated_at": opt_time(v.updated_at),
        "name": v.name, "description": v.description, "volume_type": "__DEFAULT__",
        "snapshot_id": v.snapshot_id, "source_volid": null, "metadata": v.metadata, "links": links,
        "user_id": USER_ID, "bootable": "false", "encrypted": false, "replication_status": null,
        "consistencygroup_id": null, "multiattach": false, "attachments": [], "migration_status": null,
        "group_id": null, "provider_id": null, "shared_targets": true, "service_uuid": null, "cluster_name": null,
        "volume_type_id": "80632158-a06d-488e-97bf-ea2dbce2325c", "consumes_quota": true,
    });
    if view == VolView::Detail {
        o["os-vol-tenant-attr:tenant_id"] = json!(PROJECT_ID);
        o["os-vol-mig-status-attr:migstat"] = Value::Null;
        o["os-vol-mig-status-attr:name_id"] = Value::Null;
        o["os-vol-host-attr:host"] = json!("fakecloud@fake#fake");
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
struct Listing {
    limit: usize,
    marker: Option<String>,
    offset: usize,
    with_count: bool,
    sort: Vec<(String, bool)>,
    name: Option<String>,
    status: Option<String>,
    volume_id: Option<String>,
    metadata: BTreeMap<String, String>,
    name_like: Option<String>,
    description_like: Option<String>,
}

fn parse_listing(st: &State, query: &[(String, String)]) -> Result<Listing, HttpResponse> {
    let mut l = Listing {
        limit: st.page_cap,
        marker: None,
        offset: 0,
        with_count: false,
        sort: Vec::new(),
        name: None,
        status: None,
        volume_id: None,
        metadata: BTreeMap::new(),
        name_like: None,
        description_like: None,
    };
    let mut sort_key: Option<String> = None;
    let mut sort_dir: Option<String> = None;
    for (k, v) in query {
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
            "with_count" => {
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
            "name" => l.name = Some(v.clone()),
            "status" => l.status = Some(v.clone()),
            "volume_id" => l.volume_id = Some(v.clone()),
            "metadata" => l.metadata = metadata_filter(v)?,
            "name~" => l.name_like = Some(v.clone()),
            "description~" => l.description_like = Some(v.clone()),
            _ => {}
        }
    }
    if l.sort.is_empty() {
        let desc = descending(sort_dir.as_deref().unwrap_or("desc"))?;
        l.sort.push((sort_key.unwrap_or_else(|| "created_at".into()), desc));
    }
    for (key, _) in &l.sort {
        if !matches!(key.as_str(), "created_at" | "updated_at" | "name" | "id" | "status" | "size" | "volume_id") {
            return Err(fault_body(400, &format!("Invalid input received: Invalid sort key {key}")));
        }
    }
    Ok(l)
}

/// Whether a sort direction is `desc` (else `asc`; anything else is Cinder's 400).
fn descending(dir: &str) -> Result<bool, HttpResponse> {
    match dir {
        "desc" => Ok(true),
        "asc" => Ok(false),
        _ => Err(fault_body(400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")),
    }
}

/// A sortable field value.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    None,
    Int(i128),
    Text(String),
}

fn snapshot_field(s: &SnapRec, key: &str) -> Field {
    let text = |t: &Option<String>| t.clone().map_or(Field::None, Field::Text);
    match key {
        "created_at" => Field::Int(s.created_at.unix_timestamp_nanos()),
        "updated_at" => s.updated_at.map_or(Field::None, |t| Field::Int(t.unix_timestamp_nanos())),
        "name" => text(&s.name),
        "status" => Field::Text(s.status.clone()),
        "size" => Field::Int(i128::from(s.size)),
        "volume_id" => Field::Text(s.volume_id.clone()),
        _ => Field::Text(s.id.clone()),
    }
}

fn volume_field(v: &VolRec, key: &str) -> Field {
    let text = |t: &Option<String>| t.clone().map_or(Field::None, Field::Text);
    match key {
        "created_at" => Field::Int(v.created_at.unix_timestamp_nanos()),
        "updated_at" => v.updated_at.map_or(Field::None, |t| Field::Int(t.unix_timestamp_nanos())),
        "name" => text(&v.name),
        "status" => Field::Text(v.status.clone()),
        "size" => Field::Int(i128::from(v.size)),
        _ => Field::Text(v.id.clone()),
    }
}

/// What a listing needs of a resource.
trait Row: Clone {
    fn id(&self) -> &str;
    fn field(&self, key: &str) -> Field;
    fn missing(id: &str) -> HttpResponse;
}

impl Row for SnapRec {
    fn id(&self) -> &str {
        &self.id
    }
    fn field(&self, key: &str) -> Field {
        snapshot_field(self, key)
    }
    fn missing(id: &str) -> HttpResponse {
        snapshot_missing(id)
    }
}

impl Row for VolRec {
    fn id(&self) -> &str {
        &self.id
    }
    fn field(&self, key: &str) -> Field {
        volume_field(self, key)
    }
    fn missing(id: &str) -> HttpResponse {
        volume_missing(id)
    }
}

/// One page: the items, the next link, the total before paging.
type Paged<T> = (Vec<T>, Option<String>, usize);

/// Sorts by the listing's keys, then by id descending (as Cinder appends it); pages by marker
/// and offset; builds the next link (`collection`: `snapshots/detail`, ...).
fn page<T: Row>(st: &State, request: &HttpRequest, l: &Listing, mut items: Vec<T>, collection: &str) -> Result<Paged<T>, HttpResponse> {
    items.sort_by(|a, b| {
        for (key, desc) in &l.sort {
            let o = a.field(key).cmp(&b.field(key));
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        b.id().cmp(a.id())
    });
    let total = items.len();
    let start = match &l.marker {
        Some(m) => items.iter().position(|x| x.id() == m).map(|i| i.saturating_add(1)).ok_or_else(|| T::missing(m))?,
        None => 0,
    };
    let start = start.saturating_add(l.offset).min(total);
    let page: Vec<T> = items.into_iter().skip(start).take(l.limit).collect();
    let item_count = if l.with_count { total } else { page.len() };
    let next = match page.last() {
        Some(last) if l.limit <= item_count => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in request.query() {
                if k != "marker" {
                    q.append_pair(&k, &v);
                }
            }
            q.append_pair("marker", last.id());
            Some(format!("{}/{collection}?{}", st.endpoint(), q.finish()))
        }
        _ => None,
    };
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

fn list_snapshots(st: &mut State, request: &HttpRequest, detail: bool, minor: u16) -> Answer {
    let l = parse_listing(st, &request.query())?;
    st.read_all_snapshots();
    let chosen: Vec<SnapRec> = st
        .snapshots
        .iter()
        .filter(|s| l.name.as_ref().is_none_or(|n| s.name.as_ref() == Some(n)))
        .filter(|s| l.status.as_ref().is_none_or(|x| s.status == *x))
        .filter(|s| l.volume_id.as_ref().is_none_or(|x| s.volume_id == *x))
        .filter(|s| l.metadata.iter().all(|(k, v)| s.metadata.get(k) == Some(v)))
        .filter(|s| l.name_like.as_ref().is_none_or(|x| s.name.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .filter(|s| l.description_like.as_ref().is_none_or(|x| s.description.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .cloned()
        .collect();
    let collection = if detail { "snapshots/detail" } else { "snapshots" };
    let (items, next, total) = page(st, request, &l, chosen, collection)?;
    let view = if detail { View::Detail } else { View::Summary };
    let items = items.iter().map(|s| snapshot_json(s, view, minor)).collect();
    Ok(list_body("snapshots", items, next, l.with_count, total))
}

fn show_snapshot(st: &mut State, id: &str, minor: u16) -> Answer {
    let i = st.snapshots.iter().position(|s| s.id == id).ok_or_else(|| snapshot_missing(id))?;
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

fn create_snapshot(st: &mut State, request: &HttpRequest, minor: u16) -> Answer {
    let body = json_body(request)?;
    let snap = &body["snapshot"];
    if !snap.is_object() {
        return Err(fault_body(400, "Invalid input for field/attribute snapshot. Value: None. None is not of type 'object'"));
    }
    let volume_id = snap["volume_id"]
        .as_str()
        .ok_or_else(|| fault_body(400, "Invalid input for field/attribute snapshot. Value: {}. 'volume_id' is a required property"))?
        .to_owned();
    let metadata = string_map(&snap["metadata"], "metadata")?;
    let volume = st.volumes.iter().find(|v| v.id == volume_id).ok_or_else(|| volume_missing(&volume_id))?;
    if volume.status != "available" {
        return Err(fault_body(
            400,
            &format!("Invalid volume: Volume {volume_id} status must be available, but current status is: {}.", volume.status),
        ));
    }
    let size = volume.size;
    let id = st.new_id();
    let fate = if st.failing.is_empty() { Fate::Available } else { Fate::Error(st.failing.remove(0)) };
    let rec = SnapRec {
        id,
        name: opt_string(&snap["name"]),
        description: opt_string(&snap["description"]),
        volume_id,
        status: "creating".into(),
        size,
        metadata,
        created_at: st.now,
        updated_at: None,
        reads_left: st.snapshot_creating_reads,
        fate,
        delete_fails: false,
    };
    let out = snapshot_json(&rec, View::Created, minor);
    st.snapshots.push(rec);
    Ok(HttpResponse::json(202, &json!({"snapshot": out})))
}

fn delete_snapshot(st: &mut State, id: &str) -> Answer {
    let deleting_reads = st.deleting_reads;
    let now = st.now;
    let s = st.snapshots.iter_mut().find(|s| s.id == id).ok_or_else(|| snapshot_missing(id))?;
    if !matches!(s.status.as_str(), "available" | "error") {
        return Err(fault_body(400, "Invalid snapshot: Snapshot status must be available or error and must not be part of a group."));
    }
    s.status = "deleting".into();
    s.reads_left = deleting_reads;
    s.updated_at = Some(now);
    Ok(HttpResponse::empty(202))
}

fn snapshot_metadata(st: &State, id: &str) -> Answer {
    let s = st.snapshots.iter().find(|s| s.id == id).ok_or_else(|| snapshot_missing(id))?;
    Ok(HttpResponse::json(200, &json!({"metadata": s.metadata})))
}

fn write_snapshot_metadata(st: &mut State, id: &str, request: &HttpRequest, merge: bool) -> Answer {
    let body = json_body(request)?;
    let given = string_map(&body["metadata"], "metadata")?;
    let s = st.snapshots.iter_mut().find(|s| s.id == id).ok_or_else(|| snapshot_missing(id))?;
    if merge {
        s.metadata.extend(given);
    } else {
        s.metadata = given;
    }
    Ok(HttpResponse::json(200, &json!({"metadata": s.metadata})))
}

fn list_volumes(st: &mut State, request: &HttpRequest, detail: bool, _minor: u16) -> Answer {
    let l = parse_listing(st, &request.query())?;
    st.read_all_volumes();
    let chosen: Vec<VolRec> = st
        .volumes
        .iter()
        .filter(|v| l.name.as_ref().is_none_or(|n| v.name.as_ref() == Some(n)))
        .filter(|v| l.status.as_ref().is_none_or(|x| v.status == *x))
        .filter(|v| l.metadata.iter().all(|(k, x)| v.metadata.get(k) == Some(x)))
        .filter(|v| l.name_like.as_ref().is_none_or(|x| v.name.as_ref().is_some_and(|n| n.contains(x.as_str()))))
        .cloned()
        .collect();
    let collection = if detail { "volumes/detail" } else { "volumes" };
    let (items, next, total) = page(st, request, &l, chosen, collection)?;
    let view = if detail { VolView::Detail } else { VolView::Summary };
    let items = items.iter().map(|v| volume_json(st, v, view)).collect();
    Ok(list_body("volumes", items, next, l.with_count, total))
}

fn show_volume(st: &mut State, id: &str) -> Answer {
    let i = st.volumes.iter().position(|v| v.id == id).ok_or_else(|| volume_missing(id))?;
    if !st.read_volume(i) {
        return Err(volume_missing(id));
    }
    Ok(HttpResponse::json(200, &json!({"volume": volume_json(st, &st.volumes[i], VolView::Detail)})))
}

fn create_volume(st: &mut State, request: &HttpRequest) -> Answer {
    let body = json_body(request)?;
    let vol = &body["volume"];
    if !vol.is_object() {
        return Err(fault_body(400, "Invalid input for field/attribute volume. Value: None. None is not of type 'object'"));
    }
    let snapshot_id = opt_string(&vol["snapshot_id"]);
    let snapshot_size = match &snapshot_id {
        Some(sid) => Some(st.snapshots.iter().find(|s| s.id == *sid).ok_or_else(|| snapshot_missing(sid))?.size),
        None => None,
    };
    let size = match (&vol["size"], snapshot_size) {
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
        status: "creating".into(),
        size,
        metadata,
        snapshot_id,
        created_at: st.now,
        updated_at: None,
        reads_left: st.volume_creating_reads,
    };
    let out = volume_json(st, &rec, VolView::Created);
    st.volumes.push(rec);
    Ok(HttpResponse::json(202, &json!({"volume": out})))
}

fn delete_volume(st: &mut State, id: &str) -> Answer {
    let has_snapshots = st.snapshots.iter().any(|s| s.volume_id == id);
    let deleting_reads = st.deleting_reads;
    let now = st.now;
    let v = st.volumes.iter_mut().find(|v| v.id == id).ok_or_else(|| volume_missing(id))?;
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

fn messages(st: &State, request: &HttpRequest) -> Answer {
    let query = request.query();
    let resource = query.iter().find(|(k, _)| k == "resource_uuid").map(|(_, v)| v.as_str());
    let items: Vec<Value> = st
        .messages
        .iter()
        .filter(|m| resource.is_none_or(|r| m.resource_uuid == r))
        .map(|m| {
            json!({
                "id": m.id, "event_id": "VOLUME_SNAPSHOT_001_002", "user_message": m.user_message,
                "message_level": "ERROR", "resource_type": "SNAPSHOT", "resource_uuid": m.resource_uuid,
                "created_at": cinder_time(m.created_at),
                "guaranteed_until": cinder_time(m.created_at.checked_add(time::Duration::days(30)).unwrap_or(m.created_at)),
                "request_id": "req-00000000-0000-4000-9000-000000000000",
                "links": [{"rel": "self", "href": format!("{}/messages/{}", st.endpoint(), m.id)}]
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
    volume_json(st, v, VolView::Detail)
}
