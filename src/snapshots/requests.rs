use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Pager;
use super::results::{MetaBody, MetadataBody, Snapshot, SnapshotStatus};
use super::urls;
use crate::checks;
use crate::client::{Microversion, Request, ServiceClient};
use crate::error::{Error, Result};
use crate::paging::{PageQuery, sort_param};

/// The first microversion with the snapshot listing's `metadata` filter.
pub(crate) const METADATA_FILTER: Microversion = Microversion::new(3, 22);
pub use crate::paging::{SortDir, ToListQuery};

/// A column a snapshot listing can be sorted by. Cinder always adds `created_at` and `id`
/// as tie-breakers, in the direction of the first key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortKey {
    /// `created_at` (Cinder's default).
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `id`.
    Id,
    /// `name` (3.30+; Cinder maps it to `display_name`).
    Name,
    /// `status`.
    Status,
    /// `volume_id`.
    VolumeId,
    /// `volume_size`, the snapshot's size (Cinder refuses `size`).
    VolumeSize,
    /// `project_id`.
    ProjectId,
    /// `user_id`.
    UserId,
    /// Another column of Cinder's `snapshots` table, sent as it is (lower-case letters and
    /// `_` only). A column named here may become a variant of its own in a minor release.
    Other(String),
}

impl SortKey {
    /// The key as Cinder reads it.
    pub fn as_str(&self) -> &str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::Id => "id",
            SortKey::Name => "name",
            SortKey::Status => "status",
            SortKey::VolumeId => "volume_id",
            SortKey::VolumeSize => "volume_size",
            SortKey::ProjectId => "project_id",
            SortKey::UserId => "user_id",
            SortKey::Other(s) => s,
        }
    }

    fn check(&self, mv: Microversion) -> Result<()> {
        let key = self.as_str();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::InvalidInput(format!("sort key {key:?} is not a snapshot column name")));
        }
        if key == "size" {
            return Err(Error::InvalidInput("sort key \"size\" is not a snapshot column: Cinder sorts by volume_size".into()));
        }
        if key == "name" {
            mv.require(Microversion::new(3, 30), "sorting by name")?;
        }
        Ok(())
    }
}

/// `created_at`, `name`, ... as Cinder writes them; an unknown column is [`SortKey::Other`].
impl std::str::FromStr for SortKey {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        const KNOWN: [SortKey; 9] = [
            SortKey::CreatedAt,
            SortKey::UpdatedAt,
            SortKey::Id,
            SortKey::Name,
            SortKey::Status,
            SortKey::VolumeId,
            SortKey::VolumeSize,
            SortKey::ProjectId,
            SortKey::UserId,
        ];
        Ok(KNOWN.into_iter().find(|k| k.as_str() == s).unwrap_or_else(|| SortKey::Other(s.to_owned())))
    }
}

/// Filters, sorting and paging of [`list`] and [`list_detail`], built with chainable
/// setters from [`ListOpts::new`]. Anything not set is not sent.
///
/// A filter that needs a higher microversion than the client uses is refused before any
/// request (Cinder would drop it silently or return an empty list).
///
/// ```
/// use cinder_snapshots::snapshots::{ListOpts, SnapshotStatus, SortDir, SortKey};
/// let opts = ListOpts::new()
///     .volume_id("5aa119a8-d25b-45a7-8d1b-88e127885635")
///     .status(SnapshotStatus::Available)
///     .metadata("created-by", "nightly")
///     .sort(SortKey::CreatedAt, SortDir::Asc)
///     .limit(100);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ListOpts {
    all_projects: bool,
    project_id: Option<String>,
    name: Option<String>,
    status: Option<SnapshotStatus>,
    volume_id: Option<String>,
    availability_zone: Option<String>,
    metadata: BTreeMap<String, String>,
    consumes_quota: Option<bool>,
    name_like: Option<String>,
    description_like: Option<String>,
    sort: Vec<(SortKey, SortDir)>,
    sort_key: Option<SortKey>,
    sort_dir: Option<SortDir>,
    page: PageQuery,
}

impl ListOpts {
    /// No filter: every snapshot of the project, Cinder's default order and page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admins: list the snapshots of every project (the query parameter `all_tenants=1`;
    /// the crate spells it `all_projects` everywhere, as the CLI's `--all-projects`).
    pub fn all_projects(mut self, all: bool) -> Self {
        self.all_projects = all;
        self
    }

    /// The former name of [`all_projects`](Self::all_projects).
    #[deprecated(note = "renamed `all_projects` (the query parameter is still `all_tenants`)")]
    pub fn all_tenants(self, all: bool) -> Self {
        self.all_projects(all)
    }

    /// Admins, with [`all_projects`](Self::all_projects): only this project's snapshots.
    pub fn project_id(mut self, project: impl Into<String>) -> Self {
        self.project_id = Some(project.into());
        self
    }

    /// Exact name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Status.
    pub fn status(mut self, status: SnapshotStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Snapshots of this volume.
    pub fn volume_id(mut self, volume: impl Into<String>) -> Self {
        self.volume_id = Some(volume.into());
        self
    }

    /// Snapshots in this availability zone (3.31+: below it Cinder drops the filter for
    /// non-admins, which would list every zone).
    ///
    /// Alone, or with [`metadata`](Self::metadata), [`name_like`](Self::name_like) and
    /// [`description_like`](Self::description_like) only: Cinder 29 joins the volumes for this
    /// filter and then applies the other exact filters to the *volume*: `status` and `name`
    /// match the volume's status and name, and `volume_id` fails with a 500. So the listing
    /// refuses it with `name`, `status`, `volume_id`, `project_id` or `consumes_quota`
    /// ([`Error::InvalidInput`](crate::Error::InvalidInput)) rather than return the wrong
    /// snapshots; filter those on the client.
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.availability_zone = Some(zone.into());
        self
    }

    /// Snapshots having this metadata item; call again for more (all must match; 3.22+).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Whether the snapshot counts against the quota (3.65+).
    pub fn consumes_quota(mut self, consumes: bool) -> Self {
        self.consumes_quota = Some(consumes);
        self
    }

    /// Name containing this text (`name~`, 3.34+; non-admins need the operator to allow it).
    pub fn name_like(mut self, text: impl Into<String>) -> Self {
        self.name_like = Some(text.into());
        self
    }

    /// Description containing this text (`description~`, 3.34+).
    pub fn description_like(mut self, text: impl Into<String>) -> Self {
        self.description_like = Some(text.into());
        self
    }

    /// Sorts by `key` in `dir`; call again for further keys (`sort=k1:d1,k2:d2`).
    pub fn sort(mut self, key: SortKey, dir: SortDir) -> Self {
        self.sort.push((key, dir));
        self
    }

    /// Cinder's deprecated one-key sort (`sort_key`); not together with [`sort`](Self::sort).
    pub fn sort_key(mut self, key: SortKey) -> Self {
        self.sort_key = Some(key);
        self
    }

    /// Cinder's deprecated sort direction (`sort_dir`); not together with [`sort`](Self::sort).
    pub fn sort_dir(mut self, dir: SortDir) -> Self {
        self.sort_dir = Some(dir);
        self
    }

    crate::paging::page_setters!("snapshot");
}

impl ToListQuery for ListOpts {
    fn to_query(&self, mv: Microversion) -> Result<Vec<(String, String)>> {
        let mut q: Vec<(String, String)> = Vec::new();
        self.page.head(mv, &mut q)?;
        let mut push = |k: &str, v: String| q.push((k.to_owned(), v));
        if self.all_projects {
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
        if let Some(z) = &self.availability_zone {
            mv.require(Microversion::new(3, 31), "the availability_zone filter")?;
            let exact = [
                ("name", self.name.is_some()),
                ("status", self.status.is_some()),
                ("volume_id", self.volume_id.is_some()),
                ("project_id", self.project_id.is_some()),
                ("consumes_quota", self.consumes_quota.is_some()),
            ];
            let clashing: Vec<&str> = exact.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect();
            if !clashing.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "the availability_zone filter cannot be combined with {}: Cinder applies those to the snapshot's volume \
                     once it filters by zone (volume_id fails, status and name match the volume's); filter them on the client",
                    clashing.join(", ")
                )));
            }
            push("availability_zone", z.clone());
        }
        if !self.metadata.is_empty() {
            mv.require(METADATA_FILTER, "the metadata filter")?;
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
        if !self.sort.is_empty() && (self.sort_key.is_some() || self.sort_dir.is_some()) {
            return Err(Error::InvalidInput("sort cannot be combined with sort_key/sort_dir".into()));
        }
        if !self.sort.is_empty() {
            for (key, _) in &self.sort {
                key.check(mv)?;
            }
            push("sort", sort_param(self.sort.iter().map(|(k, d)| (k.as_str(), *d))));
        }
        if let Some(key) = &self.sort_key {
            key.check(mv)?;
            push("sort_key", key.as_str().to_owned());
        }
        if let Some(dir) = self.sort_dir {
            push("sort_dir", dir.as_str().to_owned());
        }
        self.page.tail(&mut q)?;
        Ok(q)
    }
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
#[must_use]
pub struct CreateOpts {
    volume_id: String,
    name: Option<String>,
    description: Option<String>,
    force: bool,
    metadata: BTreeMap<String, String>,
}

impl CreateOpts {
    /// Options to snapshot this volume.
    pub fn new(volume_id: impl Into<String>) -> Self {
        CreateOpts { volume_id: volume_id.into(), ..Default::default() }
    }

    /// Sets the name (up to 255 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description (up to 255 characters, no control characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Snapshot an in-use (attached) volume. Needed below microversion 3.66; from 3.66 on
    /// in-use volumes are allowed anyway. Sent only when `true`.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Adds a metadata item (keys of ASCII letters, digits, `-_:. /`, up to 255 characters;
    /// values up to 255 characters).
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

/// Metadata items for [`update_metadata`] (replaces all) and [`merge_metadata`] (merges),
/// and for the volumes' [`update_metadata`](crate::volumes::update_metadata) and
/// [`merge_metadata`](crate::volumes::merge_metadata). Keys: ASCII letters, digits and `-_:. `, up to 255 characters; values up to 255
/// characters.
///
/// ```
/// use cinder_snapshots::snapshots::UpdateMetadataOpts;
/// let opts = UpdateMetadataOpts::new().set("tier", "gold").set("owner", "ops");
/// let same: UpdateMetadataOpts = [("tier", "gold"), ("owner", "ops")].into_iter().collect();
/// assert_eq!(opts, same);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct UpdateMetadataOpts {
    metadata: BTreeMap<String, String>,
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

    pub(crate) fn to_body(&self) -> Result<Value> {
        checks::metadata(&self.metadata, false)?;
        Ok(json!({ "metadata": self.metadata }))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for UpdateMetadataOpts {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        UpdateMetadataOpts { metadata: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}

/// What [`update_status`] sets: a status and, optionally, a progress.
///
/// ```
/// use cinder_snapshots::snapshots::{SnapshotStatus, UpdateStatusOpts};
/// let opts = UpdateStatusOpts::new(SnapshotStatus::Creating).progress("50%");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct UpdateStatusOpts {
    status: SnapshotStatus,
    progress: Option<String>,
}

impl UpdateStatusOpts {
    /// The new status. Cinder allows `creating` → `creating`/`available`/`error` and
    /// `deleting` → `deleting`/`error_deleting`.
    pub fn new(status: SnapshotStatus) -> Self {
        UpdateStatusOpts { status, progress: None }
    }

    /// Progress, `"0%"` to `"100%"`.
    pub fn progress(mut self, progress: impl Into<String>) -> Self {
        self.progress = Some(progress.into());
        self
    }
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
/// let opts = ListOpts::new().volume_id("5aa119a8-d25b-45a7-8d1b-88e127885635");
/// for snap in snapshots::list(&client, &opts)? {
///     println!("{}", snap?.id);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list(client: &ServiceClient, opts: &(impl ToListQuery + ?Sized)) -> Result<Pager> {
    Ok(Pager::new(client, urls::list(), opts.to_query(client.microversion()?)?))
}

/// Lists snapshots with every field (detail view), one page at a time.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, snapshots::{self, ListOpts}};
/// let client = ServiceClient::from_env()?;
/// let all = snapshots::list_detail(&client, &ListOpts::new())?.all()?;
/// println!("{} snapshots", all.len());
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list_detail(client: &ServiceClient, opts: &(impl ToListQuery + ?Sized)) -> Result<Pager> {
    Ok(Pager::new(client, urls::list_detail(), opts.to_query(client.microversion()?)?))
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
    crate::resource::one(client.send(Request::get(urls::snapshot(id)))?)
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
    crate::resource::one(client.send(Request::post(urls::list()).json(body))?)
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
    crate::resource::one(client.send(Request::put(urls::snapshot(id)).json(body))?)
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
/// The status must be one Cinder knows (not [`SnapshotStatus::Other`]).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, SnapshotStatus};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// snapshots::reset_status(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", SnapshotStatus::Available)?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn reset_status(client: &ServiceClient, id: &str, status: SnapshotStatus) -> Result<()> {
    if let SnapshotStatus::Other(s) = &status {
        return Err(Error::InvalidInput(format!("{s:?} is not a snapshot status Cinder accepts in reset_status")));
    }
    action(client, id, json!({ "os-reset_status": { "status": status.as_str() } }))
}

/// Updates the status and progress of a snapshot being created or deleted
/// (`os-update_snapshot_status`, used by hypervisor-assisted snapshots).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, SnapshotStatus, UpdateStatusOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let opts = UpdateStatusOpts::new(SnapshotStatus::Creating).progress("50%");
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
    let opts = ListOpts::new().name(name);
    crate::paging::find_by_name(list_detail(client, &opts)?, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MV0: Microversion = Microversion::BASE;
    const MAX: Microversion = Microversion::LATEST_KNOWN;

    #[test]
    fn list_opts_query_order_and_values() {
        let opts = ListOpts::new()
            .all_projects(true)
            .project_id("p")
            .name("n")
            .status(SnapshotStatus::Available)
            .volume_id("v")
            .metadata("tier", "gold")
            .consumes_quota(true)
            .name_like("na")
            .description_like("de")
            .sort(SortKey::Name, SortDir::Asc)
            .sort(SortKey::CreatedAt, SortDir::Asc)
            .limit(2)
            .offset(1)
            .marker("m")
            .with_count(true);
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
            (ListOpts::new().metadata("a", "b"), "3.22"),
            (ListOpts::new().sort(SortKey::Name, SortDir::Asc), "3.30"),
            (ListOpts::new().sort_key(SortKey::Name), "3.30"),
            (ListOpts::new().name_like("x"), "3.34"),
            (ListOpts::new().description_like("x"), "3.34"),
            (ListOpts::new().with_count(true), "3.45"),
            (ListOpts::new().consumes_quota(false), "3.65"),
            (ListOpts::new().availability_zone("nova"), "3.31"),
        ];
        for (opts, version) in cases {
            let err = opts.to_query(MV0).unwrap_err().to_string();
            assert!(err.contains(&format!("needs microversion {version}")) && err.contains("uses 3.0"), "{err}");
            opts.to_query(MAX).unwrap();
        }
    }

    #[test]
    fn availability_zone_goes_alone_or_with_metadata_and_like_filters() {
        let az = || ListOpts::new().availability_zone("nova");
        let q = az().metadata("a", "b").name_like("x").description_like("y").to_query(MAX).unwrap();
        assert!(q.contains(&("availability_zone".to_owned(), "nova".to_owned())), "{q:?}");
        for (opts, named) in [
            (az().volume_id("v"), "volume_id"),
            (az().status(SnapshotStatus::Available), "status"),
            (az().name("n"), "name"),
            (az().all_projects(true).project_id("p"), "project_id"),
            (az().consumes_quota(true), "consumes_quota"),
            (az().name("n").status(SnapshotStatus::Error), "name, status"),
        ] {
            let err = opts.to_query(MAX).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
            assert!(err.to_string().contains(&format!("cannot be combined with {named}:")), "{err}");
        }
    }

    #[test]
    fn sort_rules() {
        let both = ListOpts::new().sort(SortKey::CreatedAt, SortDir::Asc).sort_key(SortKey::Id);
        assert!(both.to_query(MAX).unwrap_err().to_string().contains("cannot be combined"));
        assert!("sideways".parse::<SortDir>().is_err());
        assert_eq!("created_at".parse::<SortKey>().unwrap(), SortKey::CreatedAt);
        assert_eq!("display_name".parse::<SortKey>().unwrap(), SortKey::Other("display_name".into()));
        let size = ListOpts::new().sort(SortKey::Other("size".into()), SortDir::Asc);
        assert!(size.to_query(MAX).unwrap_err().to_string().contains("volume_size"));
        let q = ListOpts::new().sort(SortKey::VolumeSize, SortDir::Desc).sort(SortKey::Id, SortDir::Asc).to_query(MAX).unwrap();
        assert_eq!(q, vec![("sort".to_owned(), "volume_size:desc,id:asc".to_owned())]);
        let bad_key = ListOpts::new().sort(SortKey::Other("Created At".into()), SortDir::Asc);
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

    /// One spelling, `all_projects`; the former `all_tenants` is the same option and the
    /// wire parameter stays `all_tenants=1`.
    #[test]
    #[allow(deprecated)]
    fn all_projects_is_sent_as_all_tenants() {
        assert_eq!(ListOpts::new().all_tenants(true), ListOpts::new().all_projects(true));
        let q = ListOpts::new().all_projects(true).to_query(Microversion::new(3, 71)).unwrap();
        assert_eq!(q, [("all_tenants".to_owned(), "1".to_owned())]);
        let q = crate::volumes::ListOpts::new().all_projects(true).to_query(Microversion::new(3, 71)).unwrap();
        assert_eq!(q, [("all_tenants".to_owned(), "1".to_owned())]);
        assert_eq!(crate::volumes::ListOpts::new().all_tenants(true), crate::volumes::ListOpts::new().all_projects(true));
    }
}
