use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Pager;
use super::results::{MetaBody, MetadataBody, Snapshot, SnapshotBody, SnapshotStatus};
use super::urls;
use crate::checks;
use crate::client::{Microversion, Request, ServiceClient};
use crate::error::{Error, Result};

/// Direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending (Cinder's default).
    Desc,
}

impl SortDir {
    fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

/// Builds the query string of a listing. Implemented by [`ListOpts`]; implement it to send
/// a query of your own. `microversion` is the one the request will carry.
pub trait ListOptsBuilder {
    /// The query parameters, in order, not yet encoded.
    fn to_query(&self, microversion: Microversion) -> Result<Vec<(String, String)>>;
}

/// Raw query pairs, sent as they are.
impl ListOptsBuilder for [(String, String)] {
    fn to_query(&self, _: Microversion) -> Result<Vec<(String, String)>> {
        Ok(self.to_vec())
    }
}

/// Raw query pairs, sent as they are.
impl ListOptsBuilder for Vec<(String, String)> {
    fn to_query(&self, _: Microversion) -> Result<Vec<(String, String)>> {
        Ok(self.clone())
    }
}

/// Filters, sorting and paging of [`list`] and [`list_detail`]. Every field left at its
/// default is not sent.
///
/// A filter that needs a higher microversion than the client uses is refused before any
/// request (Cinder would drop it silently or return an empty list).
///
/// ```
/// use cinder_snapshots::snapshots::{ListOpts, SnapshotStatus};
/// let opts = ListOpts {
///     volume_id: Some("5aa119a8-d25b-45a7-8d1b-88e127885635".into()),
///     status: Some(SnapshotStatus::Available),
///     sort: Some("created_at:asc".into()),
///     limit: Some(100),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOpts {
    /// Admins: list the snapshots of every project (`all_tenants=1`).
    pub all_tenants: bool,
    /// Admins, with `all_tenants`: only this project's snapshots.
    pub project_id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// Status.
    pub status: Option<SnapshotStatus>,
    /// Snapshots of this volume.
    pub volume_id: Option<String>,
    /// Snapshots having all these metadata items (3.22+).
    pub metadata: BTreeMap<String, String>,
    /// Whether the snapshot counts against the quota (3.65+).
    pub consumes_quota: Option<bool>,
    /// Name containing this text (`name~`, 3.34+; non-admins need the operator to allow it).
    pub name_like: Option<String>,
    /// Description containing this text (`description~`, 3.34+).
    pub description_like: Option<String>,
    /// Sort as `key[:asc|desc][,key[:dir]...]`, e.g. `created_at:asc`. Sorting by `name`
    /// needs 3.30. Not together with `sort_key`/`sort_dir`.
    pub sort: Option<String>,
    /// Old-style sort key.
    pub sort_key: Option<String>,
    /// Old-style sort direction.
    pub sort_dir: Option<SortDir>,
    /// Page size (the server caps it, by default at 1000).
    pub limit: Option<u32>,
    /// Skip this many snapshots first (only on the first page).
    pub offset: Option<u32>,
    /// Start after this snapshot id.
    pub marker: Option<String>,
    /// Ask for the total count on every page (3.45+).
    pub with_count: bool,
}

impl ListOptsBuilder for ListOpts {
    fn to_query(&self, mv: Microversion) -> Result<Vec<(String, String)>> {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: String| q.push((k.to_owned(), v));
        // Paging first and the marker last, as in the server's own links.
        if self.with_count {
            mv.require(Microversion::new(3, 45), "with_count")?;
            push("with_count", "true".into());
        }
        if let Some(l) = self.limit {
            push("limit", l.to_string());
        }
        if let Some(o) = self.offset {
            push("offset", o.to_string());
        }
        if self.all_tenants {
            push("all_tenants", "1".into());
        }
        if let Some(p) = &self.project_id {
            push("project_id", p.clone());
        }
        if let Some(n) = &self.name {
            push("name", n.clone());
        }
        if let Some(s) = &self.status {
            push("status", s.as_str().to_owned());
        }
        if let Some(v) = &self.volume_id {
            push("volume_id", v.clone());
        }
        if !self.metadata.is_empty() {
            mv.require(Microversion::new(3, 22), "the metadata filter")?;
            push("metadata", serde_json::to_string(&self.metadata).map_err(|e| Error::InvalidInput(e.to_string()))?);
        }
        if let Some(c) = self.consumes_quota {
            mv.require(Microversion::new(3, 65), "the consumes_quota filter")?;
            push("consumes_quota", c.to_string());
        }
        if let Some(n) = &self.name_like {
            mv.require(Microversion::new(3, 34), "the name~ filter")?;
            push("name~", n.clone());
        }
        if let Some(d) = &self.description_like {
            mv.require(Microversion::new(3, 34), "the description~ filter")?;
            push("description~", d.clone());
        }
        if self.sort.is_some() && (self.sort_key.is_some() || self.sort_dir.is_some()) {
            return Err(Error::InvalidInput("sort cannot be combined with sort_key/sort_dir".into()));
        }
        if let Some(sort) = &self.sort {
            for part in sort.split(',') {
                let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
                check_sort_key(key.trim(), mv)?;
                if !matches!(dir.trim(), "asc" | "desc") {
                    return Err(Error::InvalidInput(format!("sort direction {dir:?} in {sort:?} is not asc or desc")));
                }
            }
            push("sort", sort.clone());
        }
        if let Some(key) = &self.sort_key {
            check_sort_key(key, mv)?;
            push("sort_key", key.clone());
        }
        if let Some(dir) = self.sort_dir {
            push("sort_dir", dir.as_str().to_owned());
        }
        if let Some(m) = &self.marker {
            checks::segment("marker", m)?;
            push("marker", m.clone());
        }
        Ok(q)
    }
}

fn check_sort_key(key: &str, mv: Microversion) -> Result<()> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(Error::InvalidInput(format!("sort key {key:?} is not a snapshot column name")));
    }
    if key == "name" {
        mv.require(Microversion::new(3, 30), "sorting by name")?;
    }
    Ok(())
}

/// What [`create`] sends.
///
/// ```
/// use cinder_snapshots::snapshots::CreateOpts;
/// let opts = CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635")
///     .name("nightly")
///     .metadata("tier", "gold");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOpts {
    /// The volume to snapshot (required).
    pub volume_id: String,
    /// Name, up to 255 characters.
    pub name: Option<String>,
    /// Description, up to 255 characters, no control characters.
    pub description: Option<String>,
    /// Snapshot an in-use (attached) volume. Needed below microversion 3.66; from 3.66 on
    /// in-use volumes are allowed anyway. Sent only when `true`.
    pub force: bool,
    /// Metadata: keys of ASCII letters, digits, `-_:. /`, up to 255 characters; values up to
    /// 255 characters.
    pub metadata: BTreeMap<String, String>,
}

impl CreateOpts {
    /// Options to snapshot this volume.
    pub fn new(volume_id: impl Into<String>) -> Self {
        CreateOpts { volume_id: volume_id.into(), ..Default::default() }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `force`.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Adds a metadata item.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    fn to_body(&self) -> Result<Value> {
        if self.volume_id.trim().is_empty() {
            return Err(Error::InvalidInput("volume_id is empty".into()));
        }
        let mut s = Map::new();
        s.insert("volume_id".into(), json!(self.volume_id));
        if let Some(name) = &self.name {
            checks::name("name", name)?;
            s.insert("name".into(), json!(name));
        }
        if let Some(d) = &self.description {
            checks::description(d)?;
            s.insert("description".into(), json!(d));
        }
        if self.force {
            s.insert("force".into(), json!(true));
        }
        if !self.metadata.is_empty() {
            checks::metadata(&self.metadata, true)?;
            s.insert("metadata".into(), json!(self.metadata));
        }
        Ok(json!({ "snapshot": s }))
    }
}

/// What [`update`] changes: the name, the description, or both. A field can be set or
/// cleared; at least one change is needed.
///
/// ```
/// use cinder_snapshots::snapshots::UpdateOpts;
/// let opts = UpdateOpts::new().name("weekly").clear_description();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct UpdateOpts {
    name: Option<Option<String>>,
    description: Option<Option<String>>,
}

impl UpdateOpts {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Some(name.into()));
        self
    }

    /// Removes the name.
    pub fn clear_name(mut self) -> Self {
        self.name = Some(None);
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(Some(description.into()));
        self
    }

    /// Removes the description.
    pub fn clear_description(mut self) -> Self {
        self.description = Some(None);
        self
    }

    fn to_body(&self) -> Result<Value> {
        let mut s = Map::new();
        if let Some(name) = &self.name {
            if let Some(n) = name {
                checks::name("name", n)?;
            }
            s.insert("name".into(), json!(name));
        }
        if let Some(description) = &self.description {
            if let Some(d) = description {
                checks::description(d)?;
            }
            s.insert("description".into(), json!(description));
        }
        if s.is_empty() {
            return Err(Error::InvalidInput("an update needs a name or a description to change".into()));
        }
        Ok(json!({ "snapshot": s }))
    }
}

/// Metadata items for [`update_metadata`] (replaces all) and [`merge_metadata`] (merges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateMetadataOpts {
    /// The items. Keys: ASCII letters, digits and `-_:. `, up to 255 characters; values up to
    /// 255 characters.
    pub metadata: BTreeMap<String, String>,
}

impl UpdateMetadataOpts {
    /// No items yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an item.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    fn to_body(&self) -> Result<Value> {
        checks::metadata(&self.metadata, false)?;
        Ok(json!({ "metadata": self.metadata }))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for UpdateMetadataOpts {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        UpdateMetadataOpts { metadata: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}

/// What [`reset_status`] sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetStatusOpts {
    /// The new status; one Cinder knows (not [`SnapshotStatus::Other`]).
    pub status: SnapshotStatus,
}

/// What [`update_status`] sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStatusOpts {
    /// The new status. Cinder allows `creating` → `creating`/`available`/`error` and
    /// `deleting` → `deleting`/`error_deleting`.
    pub status: SnapshotStatus,
    /// Progress, `"0%"` to `"100%"`.
    pub progress: Option<String>,
}

fn check_progress(progress: &str) -> Result<()> {
    let ok = progress
        .strip_suffix('%')
        .filter(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| n <= 100);
    if !ok {
        return Err(Error::InvalidInput(format!("progress {progress:?} is not \"0%\" to \"100%\"")));
    }
    Ok(())
}

/// Lists snapshots (summary view: the base fields only), one page at a time.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, snapshots::{self, ListOpts}};
/// let client = ServiceClient::from_env()?;
/// let opts = ListOpts { volume_id: Some("5aa119a8-d25b-45a7-8d1b-88e127885635".into()), ..Default::default() };
/// for snap in snapshots::list(&client, &opts)? {
///     println!("{}", snap?.id);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list(client: &ServiceClient, opts: &(impl ListOptsBuilder + ?Sized)) -> Result<Pager> {
    Ok(Pager::new(client, urls::list(), opts.to_query(client.microversion()?)?))
}

/// Lists snapshots with every field (detail view), one page at a time.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, snapshots::{self, ListOpts}};
/// let client = ServiceClient::from_env()?;
/// let all = snapshots::list_detail(&client, &ListOpts::default())?.all()?;
/// println!("{} snapshots", all.len());
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list_detail(client: &ServiceClient, opts: &(impl ListOptsBuilder + ?Sized)) -> Result<Pager> {
    Ok(Pager::new(client, urls::list_detail(), opts.to_query(client.microversion()?)?))
}

/// The snapshot of a single answer, with the answer's request id.
fn one(response: crate::client::Response) -> Result<Snapshot> {
    let mut snapshot = response.json::<SnapshotBody>("snapshot")?.snapshot;
    snapshot.request_id = response.request_id;
    Ok(snapshot)
}

/// Shows one snapshot.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = cinder_snapshots::snapshots::get(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// println!("{} is {}", snap.id, snap.status);
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get(client: &ServiceClient, id: &str) -> Result<Snapshot> {
    checks::id("snapshot", id)?;
    one(client.send(Request::get(urls::snapshot(id)))?)
}

/// Creates a snapshot; the answer has status `creating` (see [`wait_for_status`](super::wait_for_status)).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, CreateOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635").name("nightly"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn create(client: &ServiceClient, opts: &CreateOpts) -> Result<Snapshot> {
    let body = opts.to_body()?;
    one(client.send(Request::post(urls::list()).json(body))?)
}

/// Changes a snapshot's name or description.
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, UpdateOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = snapshots::update(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &UpdateOpts::new().name("weekly"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn update(client: &ServiceClient, id: &str, opts: &UpdateOpts) -> Result<Snapshot> {
    checks::id("snapshot", id)?;
    let body = opts.to_body()?;
    one(client.send(Request::put(urls::snapshot(id)).json(body))?)
}

/// Starts deleting a snapshot (it must be `available` or `error`); see
/// [`wait_for_delete`](super::wait_for_delete).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::snapshots::delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn delete(client: &ServiceClient, id: &str) -> Result<()> {
    checks::id("snapshot", id)?;
    client.send(Request::delete(urls::snapshot(id)))?;
    Ok(())
}

fn action(client: &ServiceClient, id: &str, body: Value) -> Result<()> {
    checks::id("snapshot", id)?;
    client.send(Request::post(urls::action(id)).json(body))?;
    Ok(())
}

/// Deletes a snapshot whatever its status (admin only, `os-force_delete`).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::snapshots::force_delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn force_delete(client: &ServiceClient, id: &str) -> Result<()> {
    action(client, id, json!({ "os-force_delete": {} }))
}

/// Sets a snapshot's status in the database, with no check (admin only, `os-reset_status`).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, ResetStatusOpts, SnapshotStatus};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// snapshots::reset_status(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &ResetStatusOpts { status: SnapshotStatus::Available })?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn reset_status(client: &ServiceClient, id: &str, opts: &ResetStatusOpts) -> Result<()> {
    if let SnapshotStatus::Other(s) = &opts.status {
        return Err(Error::InvalidInput(format!("{s:?} is not a snapshot status Cinder accepts in reset_status")));
    }
    action(client, id, json!({ "os-reset_status": { "status": opts.status.as_str() } }))
}

/// Updates the status and progress of a snapshot being created or deleted
/// (`os-update_snapshot_status`, used by hypervisor-assisted snapshots).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, SnapshotStatus, UpdateStatusOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let opts = UpdateStatusOpts { status: SnapshotStatus::Creating, progress: Some("50%".into()) };
/// snapshots::update_status(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &opts)?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn update_status(client: &ServiceClient, id: &str, opts: &UpdateStatusOpts) -> Result<()> {
    let mut body = Map::new();
    body.insert("status".into(), json!(opts.status.as_str()));
    if let Some(p) = &opts.progress {
        check_progress(p)?;
        body.insert("progress".into(), json!(p));
    }
    action(client, id, json!({ "os-update_snapshot_status": body }))
}

/// All metadata of a snapshot.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let meta = cinder_snapshots::snapshots::get_metadata(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get_metadata(client: &ServiceClient, id: &str) -> Result<BTreeMap<String, String>> {
    checks::id("snapshot", id)?;
    Ok(client.send(Request::get(urls::metadata(id)))?.json::<MetadataBody>("metadata")?.metadata)
}

/// **Replaces ALL metadata** of a snapshot with the given items (`PUT`): keys not given
/// are DELETED. This is gophercloud's `UpdateMetadata`. To add or change items and keep the
/// others, use [`merge_metadata`]. Returns the metadata after the call.
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, UpdateMetadataOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// // After this the snapshot has exactly one item.
/// snapshots::update_metadata(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &UpdateMetadataOpts::new().set("tier", "gold"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn update_metadata(client: &ServiceClient, id: &str, opts: &UpdateMetadataOpts) -> Result<BTreeMap<String, String>> {
    checks::id("snapshot", id)?;
    let body = opts.to_body()?;
    Ok(client.send(Request::put(urls::metadata(id)).json(body))?.json::<MetadataBody>("metadata")?.metadata)
}

/// Adds or changes the given metadata items and keeps the others (`POST`). Returns all
/// metadata after the merge.
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, UpdateMetadataOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let all = snapshots::merge_metadata(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &UpdateMetadataOpts::new().set("owner", "ops"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn merge_metadata(client: &ServiceClient, id: &str, opts: &UpdateMetadataOpts) -> Result<BTreeMap<String, String>> {
    checks::id("snapshot", id)?;
    let body = opts.to_body()?;
    Ok(client.send(Request::post(urls::metadata(id)).json(body))?.json::<MetadataBody>("metadata")?.metadata)
}

fn single_value(meta: BTreeMap<String, String>, key: &str, response: &crate::client::Response) -> Result<String> {
    meta.into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| response.decode_error("metadata item", format!("the answer has no item {key:?}")))
}

/// One metadata item's value (404 when the key is not set).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let tier = cinder_snapshots::snapshots::get_metadata_key(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", "tier")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get_metadata_key(client: &ServiceClient, id: &str, key: &str) -> Result<String> {
    checks::id("snapshot", id)?;
    checks::metadata_key_segment(key)?;
    let response = client.send(Request::get(urls::metadata_key(id, key)))?;
    single_value(response.json::<MetaBody>("metadata item")?.meta, key, &response)
}

/// Sets one metadata item, keeping the others; returns the value stored.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::snapshots::set_metadata_key(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", "tier", "gold")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn set_metadata_key(client: &ServiceClient, id: &str, key: &str, value: &str) -> Result<String> {
    checks::id("snapshot", id)?;
    checks::metadata_key_segment(key)?;
    checks::metadata(&BTreeMap::from([(key.to_owned(), value.to_owned())]), false)?;
    let response = client.send(Request::put(urls::metadata_key(id, key)).json(json!({ "meta": { key: value } })))?;
    single_value(response.json::<MetaBody>("metadata item")?.meta, key, &response)
}

/// Removes one metadata item (404 when the key is not set).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::snapshots::delete_metadata_key(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", "tier")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn delete_metadata_key(client: &ServiceClient, id: &str, key: &str) -> Result<()> {
    checks::id("snapshot", id)?;
    checks::metadata_key_segment(key)?;
    client.send(Request::delete(urls::metadata_key(id, key)))?;
    Ok(())
}

/// The one snapshot with exactly this name (detail view). No match is
/// [`Error::NoMatch`]; several are [`Error::MultipleMatches`] with their ids.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = cinder_snapshots::snapshots::find_by_name(&client, "nightly-2026-11-24")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn find_by_name(client: &ServiceClient, name: &str) -> Result<Snapshot> {
    if name.is_empty() {
        return Err(Error::InvalidInput("the name to find is empty".into()));
    }
    let opts = ListOpts { name: Some(name.to_owned()), ..Default::default() };
    crate::paging::find_by_name(list_detail(client, &opts)?, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MV0: Microversion = Microversion::BASE;
    const MAX: Microversion = Microversion::LATEST_KNOWN;

    #[test]
    fn list_opts_query_order_and_values() {
        let opts = ListOpts {
            all_tenants: true,
            project_id: Some("p".into()),
            name: Some("n".into()),
            status: Some(SnapshotStatus::Available),
            volume_id: Some("v".into()),
            metadata: BTreeMap::from([("tier".into(), "gold".into())]),
            consumes_quota: Some(true),
            name_like: Some("na".into()),
            description_like: Some("de".into()),
            sort: Some("name:asc,created_at".into()),
            limit: Some(2),
            offset: Some(1),
            marker: Some("m".into()),
            with_count: true,
            ..Default::default()
        };
        let q = opts.to_query(MAX).unwrap();
        let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        let want =
            "with_count limit offset all_tenants project_id name status volume_id metadata consumes_quota name~ description~ sort marker";
        assert_eq!(keys.join(" "), want);
        assert_eq!(q[0].1, "true");
        assert_eq!(q[3].1, "1");
        assert_eq!(q[8].1, r#"{"tier":"gold"}"#);
    }

    #[test]
    fn microversion_gates_name_what_they_need() {
        let cases: Vec<(ListOpts, &str)> = vec![
            (ListOpts { metadata: BTreeMap::from([("a".into(), "b".into())]), ..Default::default() }, "3.22"),
            (ListOpts { sort: Some("name:asc".into()), ..Default::default() }, "3.30"),
            (ListOpts { sort_key: Some("name".into()), ..Default::default() }, "3.30"),
            (ListOpts { name_like: Some("x".into()), ..Default::default() }, "3.34"),
            (ListOpts { description_like: Some("x".into()), ..Default::default() }, "3.34"),
            (ListOpts { with_count: true, ..Default::default() }, "3.45"),
            (ListOpts { consumes_quota: Some(false), ..Default::default() }, "3.65"),
        ];
        for (opts, version) in cases {
            let err = opts.to_query(MV0).unwrap_err().to_string();
            assert!(err.contains(&format!("needs microversion {version}")) && err.contains("uses 3.0"), "{err}");
            opts.to_query(MAX).unwrap();
        }
    }

    #[test]
    fn sort_rules() {
        let both = ListOpts { sort: Some("created_at".into()), sort_key: Some("id".into()), ..Default::default() };
        assert!(both.to_query(MAX).unwrap_err().to_string().contains("cannot be combined"));
        let bad_dir = ListOpts { sort: Some("created_at:sideways".into()), ..Default::default() };
        assert!(bad_dir.to_query(MAX).is_err());
        let bad_key = ListOpts { sort: Some("Created At".into()), ..Default::default() };
        assert!(bad_key.to_query(MAX).is_err());
    }

    #[test]
    fn create_body_validation() {
        assert!(CreateOpts::new("").to_body().is_err());
        assert!(CreateOpts::new("v").name("x".repeat(256)).to_body().is_err());
        CreateOpts::new("v").name("é".repeat(255)).to_body().unwrap();
        assert!(CreateOpts::new("v").description("a\nb").to_body().is_err());
        assert!(CreateOpts::new("v").description("a\u{200B}b").to_body().is_err());
        CreateOpts::new("v").description("tabs are\u{00A0}fine? spaces are").to_body().unwrap();
        CreateOpts::new("v").metadata("a/b", "x").to_body().unwrap();
        assert!(CreateOpts::new("v").metadata("a!b", "x").to_body().is_err());
        assert!(CreateOpts::new("v").metadata("", "x").to_body().is_err());
        assert!(CreateOpts::new("v").metadata("k", "x".repeat(256)).to_body().is_err());
        let body = CreateOpts::new("v").to_body().unwrap();
        assert_eq!(body, json!({"snapshot": {"volume_id": "v"}}));
    }

    #[test]
    fn metadata_calls_refuse_slash_keys() {
        assert!(UpdateMetadataOpts::new().set("a/b", "x").to_body().is_err());
        assert!(checks::metadata_key_segment("..").is_err());
        assert!(checks::metadata_key_segment("a b").is_ok());
    }

    #[test]
    fn update_needs_a_change() {
        assert!(UpdateOpts::new().to_body().is_err());
        assert_eq!(UpdateOpts::new().clear_name().to_body().unwrap(), json!({"snapshot": {"name": null}}));
    }

    #[test]
    fn progress_values() {
        for ok in ["0%", "7%", "50%", "100%", "007%"] {
            check_progress(ok).unwrap();
        }
        for bad in ["", "%", "101%", "50", "-1%", "5 %", "1000%", "half%"] {
            assert!(check_progress(bad).is_err(), "{bad}");
        }
    }
}
