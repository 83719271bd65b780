//! The one listing of the snapshots a policy owns: used by [`run`](super::run) (this
//! window's snapshots), [`prune`](super::prune) and [`check`](super::check).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::client::ServiceClient;
use crate::error::Result;
use crate::paging::WITH_COUNT;
use crate::retention::{POLICY_KEY, is_owned};
use crate::snapshots::{self, ListOpts, METADATA_FILTER, Snapshot, SnapshotStatus};

/// What [`owned`] lists: the snapshots labelled with one policy id ([`POLICY_KEY`]), narrowed
/// by more labels, volumes, a status and the project.
///
/// ```
/// use cinder_snapshots::job::{OwnedQuery, WINDOW_KEY};
/// let query = OwnedQuery::new("nightly")
///     .label(WINDOW_KEY, "2026-11-28T00:00:00Z")
///     .volumes(["5aa119a8-d25b-45a7-8d1b-88e127885635"])
///     .page_size(100);
/// assert_eq!(query.policy_id(), "nightly");
/// assert_eq!(query.labels().get(WINDOW_KEY).map(String::as_str), Some("2026-11-28T00:00:00Z"));
/// assert_eq!(query.get_volumes().map(|v| v.len()), Some(1));
/// assert!(!query.is_all_projects());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct OwnedQuery {
    policy_id: String,
    labels: BTreeMap<String, String>,
    volumes: Option<BTreeSet<String>>,
    status: Option<SnapshotStatus>,
    all_projects: bool,
    project_id: Option<String>,
    page_size: Option<u32>,
    unknown_formats: bool,
}

impl OwnedQuery {
    /// The snapshots owned by the policy with this id ([`Policy::id`](crate::retention::Policy::id),
    /// the value of its [`POLICY_KEY`] label), of the caller's project, every volume, any
    /// status.
    pub fn new(policy_id: impl Into<String>) -> Self {
        OwnedQuery {
            policy_id: policy_id.into(),
            labels: BTreeMap::new(),
            volumes: None,
            status: None,
            all_projects: false,
            project_id: None,
            page_size: None,
            unknown_formats: false,
        }
    }

    /// Only the snapshots with this metadata item too (such as
    /// [`WINDOW_KEY`](super::WINDOW_KEY) and a window's start); call again for more (all
    /// must match). Filtered by Cinder from 3.22 and always checked here. A label under
    /// [`POLICY_KEY`] is ignored: the policy id is given to [`new`](Self::new).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        if key != POLICY_KEY {
            self.labels.insert(key, value.into());
        }
        self
    }

    /// Only the snapshots of these volumes (ids); calling it again replaces the set. An empty
    /// set lists nothing (no request). From 3.22: one listing whatever the number of volumes
    /// (with the `volume_id` filter when there is exactly one), the volumes kept here; below
    /// 3.22 (no label filter): one listing per volume (`volume_id`), so that a few volumes
    /// of a large project do not read all its snapshots.
    pub fn volumes<I, S>(mut self, volume_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.volumes = Some(volume_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Only the snapshots in this status (the `status` filter, checked here too).
    pub fn status(mut self, status: SnapshotStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Admins: the snapshots of every project (`all_tenants=1`). Cinder drops it without a
    /// word for a caller without the admin view: check that first
    /// ([`volumes::require_admin_view`](crate::volumes::require_admin_view)), as `run`,
    /// `prune` and `check` do once.
    pub fn all_projects(mut self, all: bool) -> Self {
        self.all_projects = all;
        self
    }

    /// Admins, with [`all_projects`](Self::all_projects): only this project's snapshots.
    pub fn project_id(mut self, project: impl Into<String>) -> Self {
        self.project_id = Some(project.into());
        self
    }

    /// The `limit` of every page (default: the server's cap).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Also the snapshots carrying the policy id in a label format this version does not
    /// know ([`unknown_format`](crate::retention::unknown_format)): not owned, but a prune's plan keeps and reports them.
    /// Default `false`: only owned snapshots.
    pub fn unknown_formats(mut self, include: bool) -> Self {
        self.unknown_formats = include;
        self
    }

    /// The policy id.
    pub fn policy_id(&self) -> &str {
        &self.policy_id
    }

    /// The other labels every snapshot listed has.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The volumes listed: `None` for every volume.
    pub fn get_volumes(&self) -> Option<&BTreeSet<String>> {
        self.volumes.as_ref()
    }

    /// Whether every project's snapshots are listed.
    pub fn is_all_projects(&self) -> bool {
        self.all_projects
    }

    /// Whether a listed snapshot is one this query asks for (checked on every snapshot,
    /// whatever the server filtered).
    pub fn matches(&self, snap: &Snapshot) -> bool {
        let policy = if self.unknown_formats {
            crate::retention::owner(snap) == Some(self.policy_id.as_str())
        } else {
            is_owned(snap, &self.policy_id)
        };
        policy
            && self.labels.iter().all(|(k, v)| snap.metadata.get(k) == Some(v))
            && self.volumes.as_ref().is_none_or(|set| set.contains(&snap.volume_id))
            && self.status.as_ref().is_none_or(|s| *s == snap.status)
    }

    /// The listing options of one listing (of `volume` when given).
    fn list_opts(&self, volume: Option<&str>, server_labels: bool, with_count: bool) -> ListOpts {
        let mut list = ListOpts::new().all_projects(self.all_projects).with_count(with_count);
        if let Some(p) = &self.project_id {
            list = list.project_id(p.as_str());
        }
        if let Some(volume) = volume {
            list = list.volume_id(volume);
        }
        if let Some(s) = &self.status {
            list = list.status(s.clone());
        }
        if server_labels {
            list = list.metadata(POLICY_KEY, self.policy_id.as_str());
            for (k, v) in &self.labels {
                list = list.metadata(k.as_str(), v.as_str());
            }
        }
        if let Some(n) = self.page_size {
            list = list.limit(n);
        }
        list
    }
}

/// The snapshots a policy owns, listed to the last page: ONE listing of the policy's label
/// for run, prune and check.
///
/// - From microversion 3.22, Cinder filters on the labels (`metadata` on [`POLICY_KEY`]
///   and every [`OwnedQuery::label`]): `ceil(M / P)` requests for M matching snapshots and
///   pages of P, whatever the project holds. Below 3.22 every snapshot of the project (or
///   of each volume given) is listed and filtered here.
/// - From 3.45 with `with_count`, so the listing stops at its last item (no request for an
///   empty page when M is a multiple of P).
/// - Every snapshot is checked again here ([`OwnedQuery::matches`]: ownership with
///   [`retention::is_owned`](crate::retention::is_owned) by the policy id, the labels, the
///   volumes, the status), so a server that ignores a filter changes nothing, and a
///   snapshot with the policy's label in a label format this version does not know is not
///   listed (unless [`OwnedQuery::unknown_formats`]).
///
/// The listing is lazy: the pages are read as the iterator is; an error on any page is an
/// item (stop there). A listing that is not exact (an id twice) is an error, as in
/// [`Pager`](crate::paging::Pager).
///
/// # Errors
///
/// A filter the microversion refuses; reading the microversion.
///
/// ```no_run
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, OwnedQuery};
/// let client = ServiceClient::from_env()?;
/// for snap in job::owned(&client, &OwnedQuery::new("nightly"))? {
///     let snap = snap?;
///     println!("{} {} {}", snap.volume_id, snap.id, snap.status);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn owned(client: &ServiceClient, query: &OwnedQuery) -> Result<Owned> {
    let mv = client.microversion()?;
    let server_labels = mv >= METADATA_FILTER;
    let with_count = mv >= WITH_COUNT;
    let listings: Vec<ListOpts> = match &query.volumes {
        Some(set) if !server_labels || set.len() <= 1 => {
            set.iter().map(|v| query.list_opts(Some(v.as_str()), server_labels, with_count)).collect()
        }
        _ => vec![query.list_opts(None, server_labels, with_count)],
    };
    // Every listing's query is built (and checked against the microversion) before any
    // request; the pages are read lazily.
    let several = listings.len() > 1;
    let mut pagers = Vec::with_capacity(listings.len());
    for list in &listings {
        pagers.push(snapshots::list_detail(client, list)?);
    }
    pagers.reverse();
    Ok(Owned { query: query.clone(), pagers, current: None, seen: several.then(HashSet::new) })
}

/// The lazy listing [`owned`] gives: every snapshot the [`OwnedQuery`] asks for, once.
#[derive(Debug)]
pub struct Owned {
    query: OwnedQuery,
    /// The listings not started yet, the next last.
    pagers: Vec<snapshots::Pager>,
    current: Option<snapshots::Pager>,
    /// The ids seen, when there are several listings (one per volume).
    seen: Option<HashSet<String>>,
}

impl Owned {
    /// Every snapshot, to the last page; the first error ends it.
    ///
    /// # Errors
    ///
    /// The first page's error (nothing is returned then).
    pub fn all(self) -> Result<Vec<Snapshot>> {
        self.collect()
    }
}

impl Iterator for Owned {
    type Item = Result<Snapshot>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                self.current = Some(self.pagers.pop()?);
            }
            let pager = self.current.as_mut()?;
            match pager.next() {
                None => self.current = None,
                Some(Err(e)) => {
                    // Nothing more after an error.
                    self.pagers.clear();
                    self.current = None;
                    return Some(Err(e));
                }
                Some(Ok(snap)) => {
                    if !self.query.matches(&snap) {
                        continue;
                    }
                    if let Some(seen) = &mut self.seen {
                        if !seen.insert(snap.id.clone()) {
                            continue;
                        }
                    }
                    return Some(Ok(snap));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(metadata: serde_json::Value, status: &str) -> Snapshot {
        serde_json::from_value(json!({"id": "s", "volume_id": "v", "status": status, "metadata": metadata})).unwrap()
    }

    /// Ownership by the policy id, the other labels, the volumes and the status are all
    /// checked on the client; an unknown label format is not owned unless asked for.
    #[test]
    fn matches_is_ownership_labels_volumes_and_status() {
        let q = OwnedQuery::new("nightly").label("cinder-snapshots.window", "w1");
        let owned = json!({POLICY_KEY: "nightly", "cinder-snapshots.window": "w1"});
        assert!(q.matches(&snap(owned.clone(), "available")));
        let cases = [
            (json!({POLICY_KEY: "nightly"}), "available", "no window label"),
            (json!({POLICY_KEY: "nightly", "cinder-snapshots.window": "w2"}), "available", "another window"),
            (json!({POLICY_KEY: "other", "cinder-snapshots.window": "w1"}), "available", "another policy"),
            (
                json!({POLICY_KEY: "nightly", "cinder-snapshots.window": "w1", "cinder-snapshots.label-format": "2"}),
                "available",
                "format 2",
            ),
            (json!({"cinder-snapshots.window": "w1"}), "available", "no policy label"),
        ];
        for (metadata, status, why) in cases {
            assert!(!q.matches(&snap(metadata, status)), "{why}");
        }
        let foreign = snap(json!({POLICY_KEY: "nightly", "cinder-snapshots.label-format": "2"}), "available");
        assert_eq!(crate::retention::unknown_format(&foreign), Some("2"));
        assert!(!OwnedQuery::new("nightly").matches(&foreign));
        assert!(OwnedQuery::new("nightly").unknown_formats(true).matches(&foreign));
        let plain = snap(json!({POLICY_KEY: "nightly"}), "creating");
        assert!(OwnedQuery::new("nightly").matches(&plain));
        assert!(!OwnedQuery::new("nightly").status(SnapshotStatus::Available).matches(&plain));
        assert!(OwnedQuery::new("nightly").status(SnapshotStatus::Creating).matches(&plain));
        assert!(!OwnedQuery::new("nightly").volumes(["w"]).matches(&plain));
        assert!(OwnedQuery::new("nightly").volumes(["v", "w"]).matches(&plain));
        // The policy label cannot be overridden by `label`.
        assert_eq!(OwnedQuery::new("nightly").label(POLICY_KEY, "other"), OwnedQuery::new("nightly"));
    }

    #[test]
    fn list_opts_are_built_in_one_place() {
        let q = OwnedQuery::new("nightly").label("k", "v").all_projects(true).project_id("p").page_size(10);
        assert_eq!(
            q.list_opts(Some("vol"), true, true),
            ListOpts::new()
                .all_projects(true)
                .project_id("p")
                .volume_id("vol")
                .metadata(POLICY_KEY, "nightly")
                .metadata("k", "v")
                .limit(10)
                .with_count(true)
        );
        assert_eq!(q.list_opts(None, false, false), ListOpts::new().all_projects(true).project_id("p").limit(10));
    }
}
