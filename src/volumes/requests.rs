use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::results::{Volume, VolumeStatus};
use super::{Pager, SummaryPager, urls};
use crate::checks;
use crate::client::{Microversion, Request, ServiceClient};
use crate::error::{Error, Result};
use crate::paging::{PageQuery, SortDir, ToListQuery, sort_param};
use crate::snapshots::{MetadataBody, UpdateMetadataOpts};

/// The largest size Cinder accepts, in GiB (its database's largest integer).
const MAX_SIZE: u64 = 0x7FFF_FFFF;

/// A column a volume listing can be sorted by. Cinder always adds `created_at` and `id` as
/// tie-breakers, in the direction of the first key. (The direction is the snapshots'
/// [`SortDir`]; the keys differ from the snapshots' [`snapshots::SortKey`](crate::snapshots::SortKey):
/// a volume has `size` and `bootable`, a snapshot `volume_size` and `volume_id`.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortKey {
    /// `created_at` (Cinder's default).
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `id`.
    Id,
    /// `name` (Cinder maps it to `display_name`; every microversion).
    Name,
    /// `status`.
    Status,
    /// `size`.
    Size,
    /// `availability_zone`.
    AvailabilityZone,
    /// `bootable`.
    Bootable,
    /// `project_id`.
    ProjectId,
    /// `user_id`.
    UserId,
    /// Another column of Cinder's `volumes` table, sent as it is (lower-case letters and `_`
    /// only). A column named here may become a variant of its own in a minor release.
    Other(String),
}

const KNOWN_KEYS: [SortKey; 10] = [
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::Id,
    SortKey::Name,
    SortKey::Status,
    SortKey::Size,
    SortKey::AvailabilityZone,
    SortKey::Bootable,
    SortKey::ProjectId,
    SortKey::UserId,
];

impl SortKey {
    /// The key as Cinder reads it.
    pub fn as_str(&self) -> &str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::Id => "id",
            SortKey::Name => "name",
            SortKey::Status => "status",
            SortKey::Size => "size",
            SortKey::AvailabilityZone => "availability_zone",
            SortKey::Bootable => "bootable",
            SortKey::ProjectId => "project_id",
            SortKey::UserId => "user_id",
            SortKey::Other(s) => s,
        }
    }

    fn check(&self) -> Result<()> {
        let key = self.as_str();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::InvalidInput(format!("sort key {key:?} is not a volume column name")));
        }
        Ok(())
    }
}

/// `created_at`, `size`, ... as Cinder writes them; an unknown column is [`SortKey::Other`].
impl std::str::FromStr for SortKey {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(KNOWN_KEYS.into_iter().find(|k| k.as_str() == s).unwrap_or_else(|| SortKey::Other(s.to_owned())))
    }
}

/// Filters, sorting and paging of [`list`] and [`list_detail`], built with chainable
/// setters from [`ListOpts::new`]. Anything not set is not sent.
///
/// A filter that needs a higher microversion than the client uses is refused before any
/// request. For volumes, `name`, `status`, `metadata`, `availability_zone` and `bootable`
/// are filters at every microversion (Cinder's default `resource_filters.json`).
///
/// ```
/// use cinder_snapshots::volumes::{ListOpts, SortDir, SortKey, VolumeStatus};
/// let opts = ListOpts::new()
///     .metadata("backup", "nightly")
///     .status(VolumeStatus::InUse)
///     .sort(SortKey::Name, SortDir::Asc)
///     .limit(100);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ListOpts {
    all_projects: bool,
    project_id: Option<String>,
    name: Option<String>,
    status: Option<VolumeStatus>,
    metadata: BTreeMap<String, String>,
    availability_zone: Option<String>,
    bootable: Option<bool>,
    group_id: Option<String>,
    name_like: Option<String>,
    description_like: Option<String>,
    sort: Vec<(SortKey, SortDir)>,
    page: PageQuery,
}

impl ListOpts {
    /// No filter: every volume of the project, Cinder's default order and page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admins: list the volumes of every project (the query parameter `all_tenants=1`;
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

    /// Admins, with [`all_projects`](Self::all_projects): only this project's volumes.
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
    pub fn status(mut self, status: VolumeStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Volumes having this metadata item; call again for more (all must match).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Volumes in this availability zone.
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.availability_zone = Some(zone.into());
        self
    }

    /// Bootable volumes (`true`) or the others (`false`).
    pub fn bootable(mut self, bootable: bool) -> Self {
        self.bootable = Some(bootable);
        self
    }

    /// Volumes of this group (3.10+).
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// Name containing this text (`name~`, 3.34+).
    pub fn name_like(mut self, text: impl Into<String>) -> Self {
        self.name_like = Some(text.into());
        self
    }

    /// Description containing this text (`description~`, 3.34+; non-admins need the
    /// operator to allow the filter).
    pub fn description_like(mut self, text: impl Into<String>) -> Self {
        self.description_like = Some(text.into());
        self
    }

    /// Sorts by `key` in `dir`; call again for further keys (`sort=k1:d1,k2:d2`).
    pub fn sort(mut self, key: SortKey, dir: SortDir) -> Self {
        self.sort.push((key, dir));
        self
    }

    crate::paging::page_setters!("volume");
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
        if !self.metadata.is_empty() {
            checks::metadata(&self.metadata, true)?;
            push("metadata", serde_json::to_string(&self.metadata).map_err(|e| Error::InvalidInput(e.to_string()))?);
        }
        if let Some(z) = &self.availability_zone {
            push("availability_zone", z.clone());
        }
        if let Some(b) = self.bootable {
            push("bootable", b.to_string());
        }
        if let Some(g) = &self.group_id {
            mv.require(Microversion::new(3, 10), "the group_id filter")?;
            push("group_id", g.clone());
        }
        if let Some(n) = &self.name_like {
            mv.require(Microversion::new(3, 34), "the name~ filter")?;
            push("name~", n.clone());
        }
        if let Some(d) = &self.description_like {
            mv.require(Microversion::new(3, 34), "the description~ filter")?;
            push("description~", d.clone());
        }
        if !self.sort.is_empty() {
            for (key, _) in &self.sort {
                key.check()?;
            }
            push("sort", sort_param(self.sort.iter().map(|(k, d)| (k.as_str(), *d))));
        }
        self.page.tail(&mut q)?;
        Ok(q)
    }
}

/// What [`create`] sends: an empty volume of a size ([`new`](Self::new)), or a volume
/// restored from a snapshot ([`from_snapshot`](Self::from_snapshot)).
///
/// ```
/// use cinder_snapshots::volumes::CreateOpts;
/// let empty = CreateOpts::new(10).name("scratch").metadata("backup", "nightly");
/// // Restored from a snapshot: the size is the snapshot's unless set (it may only grow).
/// let restored = CreateOpts::from_snapshot("b36476e5-d18b-47f9-ac69-4818cb43ee21").name("restored");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct CreateOpts {
    size: Option<u64>,
    snapshot_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    metadata: BTreeMap<String, String>,
    volume_type: Option<String>,
    availability_zone: Option<String>,
}

impl CreateOpts {
    /// An empty volume of `size` GiB (at least 1).
    pub fn new(size: u64) -> Self {
        CreateOpts { size: Some(size), ..Default::default() }
    }

    /// A volume restored from a snapshot. Its size is the snapshot's (no `size` is sent)
    /// unless [`size`](Self::size) asks for more; its type and zone are the snapshot's
    /// volume's unless set.
    pub fn from_snapshot(snapshot_id: impl Into<String>) -> Self {
        CreateOpts { snapshot_id: Some(snapshot_id.into()), ..Default::default() }
    }

    /// The size in GiB (for a volume from a snapshot: at least the snapshot's).
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
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

    /// Adds a metadata item (keys of ASCII letters, digits, `-_:. /`, up to 255 characters;
    /// values up to 255 characters).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The volume type, by name or id.
    pub fn volume_type(mut self, volume_type: impl Into<String>) -> Self {
        self.volume_type = Some(volume_type.into());
        self
    }

    /// The availability zone.
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.availability_zone = Some(zone.into());
        self
    }

    fn to_body(&self) -> Result<Value> {
        let mut v = Map::new();
        match (self.size, &self.snapshot_id) {
            (None, None) => return Err(Error::InvalidInput("a volume needs a size or a snapshot to be created from".into())),
            (Some(0), _) => return Err(Error::InvalidInput("a volume's size must be at least 1 GiB".into())),
            (Some(s), _) if s > MAX_SIZE => {
                return Err(Error::InvalidInput(format!("size {s} GiB is more than Cinder accepts ({MAX_SIZE})")));
            }
            _ => {}
        }
        if let Some(size) = self.size {
            v.insert("size".into(), json!(size));
        }
        if let Some(snapshot) = &self.snapshot_id {
            if !checks::is_uuid(snapshot) {
                return Err(Error::InvalidInput(format!("snapshot id {snapshot:?} is not a UUID")));
            }
            v.insert("snapshot_id".into(), json!(snapshot));
        }
        if let Some(name) = &self.name {
            checks::name("name", name)?;
            v.insert("name".into(), json!(name));
        }
        if let Some(d) = &self.description {
            checks::description(d)?;
            v.insert("description".into(), json!(d));
        }
        if !self.metadata.is_empty() {
            checks::metadata(&self.metadata, true)?;
            v.insert("metadata".into(), json!(self.metadata));
        }
        if let Some(t) = &self.volume_type {
            checks::name("volume type", t)?;
            v.insert("volume_type".into(), json!(t));
        }
        if let Some(z) = &self.availability_zone {
            if z.is_empty() {
                return Err(Error::InvalidInput("availability zone is empty".into()));
            }
            checks::name("availability zone", z)?;
            v.insert("availability_zone".into(), json!(z));
        }
        Ok(json!({ "volume": v }))
    }
}

/// Lists volumes (summary view: Cinder sends only the id and name), one page at a time.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, volumes::{self, ListOpts}};
/// let client = ServiceClient::from_env()?;
/// for volume in volumes::list(&client, &ListOpts::new().name("db-data"))? {
///     println!("{}", volume?.id);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list(client: &ServiceClient, opts: &(impl ToListQuery + ?Sized)) -> Result<SummaryPager> {
    Ok(SummaryPager::new(client, urls::list(), opts.to_query(client.microversion()?)?))
}

/// Lists volumes with every field (detail view), one page at a time, to the last page.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, volumes::{self, ListOpts}};
/// let client = ServiceClient::from_env()?;
/// let nightly = volumes::list_detail(&client, &ListOpts::new().metadata("backup", "nightly"))?.all()?;
/// println!("{} volumes to snapshot", nightly.len());
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn list_detail(client: &ServiceClient, opts: &(impl ToListQuery + ?Sized)) -> Result<Pager> {
    Ok(Pager::new(client, urls::list_detail(), opts.to_query(client.microversion()?)?))
}

/// Shows one volume.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = cinder_snapshots::volumes::get(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635")?;
/// println!("{} is {} and attached to {:?}", volume.id, volume.status, volume.server_ids());
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get(client: &ServiceClient, id: &str) -> Result<Volume> {
    checks::id("volume", id)?;
    crate::resource::one(client.send(Request::get(urls::volume(id)))?)
}

/// Creates a volume; the answer has status `creating` (see
/// [`wait_for_status`](super::wait_for_status)).
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, CreateOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = volumes::create(&client, &CreateOpts::new(1).name("scratch"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn create(client: &ServiceClient, opts: &CreateOpts) -> Result<Volume> {
    let body = opts.to_body()?;
    crate::resource::one(client.send(Request::post(urls::list()).json(body))?)
}

/// Starts deleting a volume (it must not be attached nor have snapshots); see
/// [`wait_for_delete`](super::wait_for_delete).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::volumes::delete(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn delete(client: &ServiceClient, id: &str) -> Result<()> {
    checks::id("volume", id)?;
    client.send(Request::delete(urls::volume(id)))?;
    Ok(())
}

/// Reverts a volume, in place, to a snapshot of it (volume action `revert`, microversion
/// 3.40+): the volume's data becomes the snapshot's. **What was written to the volume since
/// the snapshot is lost.**
///
/// Cinder reverts only to the volume's *latest* snapshot, only when the volume is
/// `available` (not attached) and the snapshot too, and only when the volume has not been
/// extended since. It answers 202 and reverts in the background: the volume is `reverting`,
/// then `available` again, or `error` when the backend failed; see
/// [`wait_for_revert`](super::wait_for_revert). Its refusals are [`Error::Api`] (400 or
/// 409, with Cinder's message); [`revert_refusal`](super::revert_refusal) says which.
///
/// Below 3.40 it is refused before any request, naming the version needed (Cinder would
/// answer 404 for the unknown action).
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = "5aa119a8-d25b-45a7-8d1b-88e127885635";
/// volumes::revert_to_snapshot(&client, volume, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// let volume = volumes::wait_for_revert(&client, volume, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn revert_to_snapshot(client: &ServiceClient, volume_id: &str, snapshot_id: &str) -> Result<()> {
    checks::id("volume", volume_id)?;
    checks::id("snapshot", snapshot_id)?;
    client.microversion()?.require(Microversion::new(3, 40), "reverting a volume to a snapshot")?;
    client.send(Request::post(urls::action(volume_id)).json(json!({ "revert": { "snapshot_id": snapshot_id } })))?;
    Ok(())
}

/// All metadata of a volume (`GET /volumes/{id}/metadata`).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let meta = cinder_snapshots::volumes::get_metadata(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get_metadata(client: &ServiceClient, id: &str) -> Result<BTreeMap<String, String>> {
    checks::id("volume", id)?;
    Ok(client.send(Request::get(urls::metadata(id)))?.json::<MetadataBody>("metadata")?.metadata)
}

/// Adds or changes the given metadata items of a volume and keeps the others
/// (`POST /volumes/{id}/metadata`): how a volume is enrolled in a job
/// (`backup=nightly`). Returns all metadata after the merge.
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, UpdateMetadataOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let all = volumes::merge_metadata(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", &UpdateMetadataOpts::new().set("backup", "nightly"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn merge_metadata(client: &ServiceClient, id: &str, opts: &UpdateMetadataOpts) -> Result<BTreeMap<String, String>> {
    checks::id("volume", id)?;
    let body = opts.to_body()?;
    Ok(client.send(Request::post(urls::metadata(id)).json(body))?.json::<MetadataBody>("metadata")?.metadata)
}

/// **Replaces ALL metadata** of a volume with the given items (`PUT /volumes/{id}/metadata`):
/// keys not given are DELETED (gophercloud's `UpdateMetadata`). To add or change items and
/// keep the others, use [`merge_metadata`]. Returns the metadata after the call.
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, UpdateMetadataOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// // After this the volume has exactly one item.
/// volumes::update_metadata(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", &UpdateMetadataOpts::new().set("backup", "nightly"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn update_metadata(client: &ServiceClient, id: &str, opts: &UpdateMetadataOpts) -> Result<BTreeMap<String, String>> {
    checks::id("volume", id)?;
    let body = opts.to_body()?;
    Ok(client.send(Request::put(urls::metadata(id)).json(body))?.json::<MetadataBody>("metadata")?.metadata)
}

/// Removes one metadata item of a volume (`DELETE /volumes/{id}/metadata/{key}`; Cinder's
/// 404 when the key is not set).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::volumes::delete_metadata_key(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", "backup")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn delete_metadata_key(client: &ServiceClient, id: &str, key: &str) -> Result<()> {
    checks::id("volume", id)?;
    checks::metadata_key_segment(key)?;
    client.send(Request::delete(urls::metadata_key(id, key)))?;
    Ok(())
}

/// The one volume with exactly this name (detail view). No match is [`Error::NoMatch`];
/// several are [`Error::MultipleMatches`] with their ids.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = cinder_snapshots::volumes::find_by_name(&client, "db-data")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn find_by_name(client: &ServiceClient, name: &str) -> Result<Volume> {
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
            .status(VolumeStatus::InUse)
            .metadata("backup", "nightly")
            .availability_zone("nova")
            .bootable(false)
            .group_id("g")
            .name_like("na")
            .description_like("de")
            .sort(SortKey::Size, SortDir::Desc)
            .sort(SortKey::Name, SortDir::Asc)
            .limit(2)
            .offset(1)
            .marker("m")
            .with_count(true);
        let q = opts.to_query(MAX).unwrap();
        let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        let want = "with_count limit offset all_tenants project_id name status metadata availability_zone bootable group_id name~ description~ sort marker";
        assert_eq!(keys.join(" "), want);
        let value = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap();
        assert_eq!(value("status"), "in-use");
        assert_eq!(value("metadata"), r#"{"backup":"nightly"}"#);
        assert_eq!(value("bootable"), "false");
        assert_eq!(value("sort"), "size:desc,name:asc");
    }

    #[test]
    fn filters_at_every_microversion_and_gates() {
        let base = ListOpts::new().name("n").status(VolumeStatus::Available).metadata("a", "b").availability_zone("nova").bootable(true);
        assert_eq!(base.to_query(MV0).unwrap().len(), 5);
        ListOpts::new().sort(SortKey::Name, SortDir::Asc).to_query(MV0).unwrap();
        let cases: Vec<(ListOpts, &str)> = vec![
            (ListOpts::new().group_id("g"), "3.10"),
            (ListOpts::new().name_like("x"), "3.34"),
            (ListOpts::new().description_like("x"), "3.34"),
            (ListOpts::new().with_count(true), "3.45"),
        ];
        for (opts, version) in cases {
            let err = opts.to_query(MV0).unwrap_err().to_string();
            assert!(err.contains(&format!("needs microversion {version}")) && err.contains("uses 3.0"), "{err}");
            opts.to_query(MAX).unwrap();
        }
    }

    #[test]
    fn bad_list_input() {
        assert!(ListOpts::new().metadata("a!b", "x").to_query(MAX).is_err());
        assert!(ListOpts::new().marker("a/b").to_query(MAX).is_err());
        assert!(ListOpts::new().sort(SortKey::Other("Created At".into()), SortDir::Asc).to_query(MAX).is_err());
        assert_eq!("size".parse::<SortKey>().unwrap(), SortKey::Size);
        assert_eq!("display_name".parse::<SortKey>().unwrap(), SortKey::Other("display_name".into()));
    }

    #[test]
    fn create_bodies() {
        assert_eq!(CreateOpts::new(1).to_body().unwrap(), json!({"volume": {"size": 1}}));
        let sid = "b36476e5-d18b-47f9-ac69-4818cb43ee21";
        assert_eq!(CreateOpts::from_snapshot(sid).to_body().unwrap(), json!({"volume": {"snapshot_id": sid}}));
        assert_eq!(CreateOpts::from_snapshot(sid).size(3).to_body().unwrap(), json!({"volume": {"size": 3, "snapshot_id": sid}}));
        let full = CreateOpts::new(2).name("n").description("d").metadata("a/b", "c").volume_type("lvm").availability_zone("nova");
        assert_eq!(
            full.to_body().unwrap(),
            json!({"volume": {"size": 2, "name": "n", "description": "d", "metadata": {"a/b": "c"}, "volume_type": "lvm", "availability_zone": "nova"}})
        );
    }

    #[test]
    fn create_validation() {
        for (opts, needle) in [
            (CreateOpts::default(), "needs a size or a snapshot"),
            (CreateOpts::new(0), "at least 1 GiB"),
            (CreateOpts::new(MAX_SIZE + 1), "more than Cinder accepts"),
            (CreateOpts::from_snapshot("nightly"), "is not a UUID"),
            (CreateOpts::from_snapshot("b36476e5-d18b-47f9-ac69-4818cb43ee21").size(0), "at least 1 GiB"),
            (CreateOpts::new(1).name("x".repeat(256)), "name has 256 characters"),
            (CreateOpts::new(1).description("a\nb"), "unprintable"),
            (CreateOpts::new(1).metadata("a!b", "x"), "metadata key"),
            (CreateOpts::new(1).availability_zone(""), "availability zone is empty"),
            (CreateOpts::new(1).volume_type("t".repeat(256)), "volume type has 256"),
        ] {
            let err = opts.to_body().unwrap_err();
            assert!(matches!(&err, Error::InvalidInput(m) if m.contains(needle)), "{err}");
        }
    }
}
