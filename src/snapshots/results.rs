use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::paging::Page;
use crate::resource::{Resource, Stateful, private};
use crate::timestamp;

/// A snapshot's status.
///
/// Parsing is case-insensitive, and a status this crate does not know becomes
/// [`SnapshotStatus::Other`] so that a newer server never breaks parsing. A status held in
/// `Other` today may become a variant of its own in a minor release: match on
/// [`as_str`](Self::as_str) rather than on `Other("...")` for such a status.
///
/// ```
/// use cinder_snapshots::snapshots::SnapshotStatus;
/// assert_eq!("AVAILABLE".parse::<SnapshotStatus>().unwrap(), SnapshotStatus::Available);
/// assert_eq!("backing-up".parse::<SnapshotStatus>().unwrap(), SnapshotStatus::BackingUp);
/// assert_eq!("frozen".parse::<SnapshotStatus>().unwrap(), SnapshotStatus::Other("frozen".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnapshotStatus {
    /// Being created.
    Creating,
    /// Ready for use.
    Available,
    /// Creation failed.
    Error,
    /// Being deleted.
    Deleting,
    /// Deleted (normally a GET answers 404 instead).
    Deleted,
    /// Deletion failed.
    ErrorDeleting,
    /// Being removed from Cinder's management.
    Unmanaging,
    /// A backup is being made from it.
    BackingUp,
    /// A volume is being reverted to it.
    Restoring,
    /// Being updated.
    Updating,
    /// A status this crate does not know, lower-cased.
    Other(String),
}

impl SnapshotStatus {
    /// The status as Cinder writes it.
    pub fn as_str(&self) -> &str {
        match self {
            SnapshotStatus::Creating => "creating",
            SnapshotStatus::Available => "available",
            SnapshotStatus::Error => "error",
            SnapshotStatus::Deleting => "deleting",
            SnapshotStatus::Deleted => "deleted",
            SnapshotStatus::ErrorDeleting => "error_deleting",
            SnapshotStatus::Unmanaging => "unmanaging",
            SnapshotStatus::BackingUp => "backing-up",
            SnapshotStatus::Restoring => "restoring",
            SnapshotStatus::Updating => "updating",
            SnapshotStatus::Other(s) => s,
        }
    }

    /// `true` for `error` and `error_deleting`.
    pub fn is_failure(&self) -> bool {
        matches!(self, SnapshotStatus::Error | SnapshotStatus::ErrorDeleting)
    }
}

impl std::str::FromStr for SnapshotStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const KNOWN: [SnapshotStatus; 10] = [
            SnapshotStatus::Creating,
            SnapshotStatus::Available,
            SnapshotStatus::Error,
            SnapshotStatus::Deleting,
            SnapshotStatus::Deleted,
            SnapshotStatus::ErrorDeleting,
            SnapshotStatus::Unmanaging,
            SnapshotStatus::BackingUp,
            SnapshotStatus::Restoring,
            SnapshotStatus::Updating,
        ];
        let s = s.trim();
        Ok(KNOWN.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s)).unwrap_or_else(|| SnapshotStatus::Other(s.to_ascii_lowercase())))
    }
}

impl fmt::Display for SnapshotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SnapshotStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SnapshotStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StatusVisitor)
    }
}

/// Reads a status without copying it: the statuses as Cinder writes them are matched
/// exactly first (what a listing holds), anything else as [`FromStr`](std::str::FromStr)
/// does (case-insensitive, trimmed, `Other` lower-cased).
struct StatusVisitor;

impl serde::de::Visitor<'_> for StatusVisitor {
    type Value = SnapshotStatus;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot status")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SnapshotStatus, E> {
        Ok(match v {
            "available" => SnapshotStatus::Available,
            "creating" => SnapshotStatus::Creating,
            "deleting" => SnapshotStatus::Deleting,
            "error" => SnapshotStatus::Error,
            _ => v.parse().unwrap_or_else(|never| match never {}),
        })
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<SnapshotStatus, E> {
        let s = std::str::from_utf8(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self))?;
        self.visit_str(s)
    }
}

/// A snapshot as Cinder describes it.
///
/// It serialises (`serde`) to Cinder's own shape, timestamps as RFC 3339 in UTC
/// (`"2026-11-23T16:42:51.212740Z"`), and reads that back: store it, print it, or build
/// values for your own tests with `serde_json::from_value`.
///
/// The summary listing ([`list`](super::list)) fills only the base fields; the others need
/// a detail view ([`get`](super::get), [`list_detail`](super::list_detail)), a high enough
/// microversion, or a policy that allows them, and are `None` otherwise.
///
/// Timestamps are read leniently (no zone means UTC; `Z`, offsets and 0 to 9 fraction
/// digits are accepted). A timestamp that still cannot be read becomes `None` instead of
/// failing the whole answer: one odd row never breaks a listing, and a pruning job can skip
/// what it cannot date.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The snapshot's id.
    pub id: String,
    /// Name (may be unset).
    #[serde(default)]
    pub name: Option<String>,
    /// Description (may be unset).
    #[serde(default)]
    pub description: Option<String>,
    /// The volume it was taken from.
    pub volume_id: String,
    /// Current status.
    pub status: SnapshotStatus,
    /// Size in GiB (the volume's size).
    #[serde(default)]
    pub size: u64,
    /// User metadata.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Creation time.
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient", serialize_with = "timestamp::serialize_opt")]
    pub created_at: Option<OffsetDateTime>,
    /// Last update time; `None` until the first update.
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient", serialize_with = "timestamp::serialize_opt")]
    pub updated_at: Option<OffsetDateTime>,
    /// Progress such as `"100%"` (`os-extended-snapshot-attributes:progress`; detail views,
    /// when the policy allows).
    #[serde(default, rename = "os-extended-snapshot-attributes:progress")]
    pub progress: Option<String>,
    /// Owning project (`os-extended-snapshot-attributes:project_id`; detail views, when
    /// the policy allows).
    #[serde(default, rename = "os-extended-snapshot-attributes:project_id")]
    pub project_id: Option<String>,
    /// Group snapshot it belongs to (detail views, 3.14+).
    #[serde(default)]
    pub group_snapshot_id: Option<String>,
    /// The user who created it (detail views, 3.41+).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Whether it counts against the quota (detail views, 3.65+).
    #[serde(default)]
    pub consumes_quota: Option<bool>,
    /// The request id (`x-openstack-request-id`) of the call that returned this snapshot:
    /// set by [`get`](super::get), [`create`](super::create), [`update`](super::update) and
    /// the waits, so that a create that fails later can be traced in the server's logs;
    /// `None` in listings. Not serialised.
    #[serde(skip)]
    pub request_id: Option<String>,
}

impl Snapshot {
    /// The progress as a number from 0 to 100, when the server sent a readable one.
    pub fn progress_percent(&self) -> Option<u8> {
        let p = self.progress.as_deref()?.trim().strip_suffix('%')?;
        p.trim().parse::<u8>().ok().filter(|n| *n <= 100)
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

/// One page of a snapshot listing.
pub type SnapshotPage = Page<Snapshot>;

impl Resource for Snapshot {
    const KIND: &'static str = "snapshot";
    const COLLECTION: &'static str = "snapshots";
    const LINKS: &'static str = "snapshots_links";
    const ITEM: &'static str = "snapshot";

    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn set_request_id(&mut self, request_id: Option<String>) {
        self.request_id = request_id;
    }
}

impl Stateful for Snapshot {
    type Status = SnapshotStatus;

    fn status(&self) -> &SnapshotStatus {
        &self.status
    }

    fn failed() -> Vec<SnapshotStatus> {
        vec![SnapshotStatus::Error]
    }

    fn failed_delete() -> Vec<SnapshotStatus> {
        vec![SnapshotStatus::ErrorDeleting]
    }

    fn is_deleted(status: &SnapshotStatus) -> bool {
        *status == SnapshotStatus::Deleted
    }

    fn is_delete_refused(status: &SnapshotStatus) -> bool {
        *status == SnapshotStatus::Available
    }
}

impl private::Sealed for Snapshot {}

#[derive(Deserialize)]
pub(crate) struct MetadataBody {
    #[serde(deserialize_with = "null_as_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub(crate) struct MetaBody {
    pub meta: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_and_odd_timestamp_do_not_fail() {
        let s: Snapshot = serde_json::from_str(
            r#"{"id": "x", "volume_id": "v", "status": "Frozen", "created_at": "last tuesday", "updated_at": null,
                "metadata": null, "new_field": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(s.status, SnapshotStatus::Other("frozen".into()));
        assert_eq!(s.created_at, None);
        assert!(s.metadata.is_empty());
        assert_eq!(s.size, 0);
    }

    /// Every key read into its field (the renamed ones too), `null`s as unset, unknown keys
    /// and `request_id` ignored; required keys missing, repeated keys and wrong types fail.
    #[test]
    fn every_field_is_read_as_cinder_names_it() {
        let s: Snapshot = serde_json::from_str(
            r#"{"id": "i", "name": "n", "description": "d", "volume_id": "v", "status": "available", "size": 3,
                "metadata": {"k": "v"}, "created_at": "2026-11-24T01:13:53.419950", "updated_at": "2026-11-24T01:13:54Z",
                "os-extended-snapshot-attributes:progress": "100%", "os-extended-snapshot-attributes:project_id": "p",
                "group_snapshot_id": "g", "user_id": "u", "consumes_quota": true, "request_id": "req-x", "unknown": {"a": [1]}}"#,
        )
        .unwrap();
        let want = Snapshot {
            id: "i".into(),
            name: Some("n".into()),
            description: Some("d".into()),
            volume_id: "v".into(),
            status: SnapshotStatus::Available,
            size: 3,
            metadata: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            created_at: Some(time::macros::datetime!(2026-11-24 01:13:53.419950 UTC)),
            updated_at: Some(time::macros::datetime!(2026-11-24 01:13:54 UTC)),
            progress: Some("100%".into()),
            project_id: Some("p".into()),
            group_snapshot_id: Some("g".into()),
            user_id: Some("u".into()),
            consumes_quota: Some(true),
            request_id: None,
        };
        assert_eq!(s, want);
        let nulls: Snapshot = serde_json::from_str(
            r#"{"id": "i", "volume_id": "v", "status": "error", "name": null, "description": null, "metadata": null,
                "os-extended-snapshot-attributes:progress": null, "user_id": null, "consumes_quota": null}"#,
        )
        .unwrap();
        assert_eq!((nulls.name, nulls.description, nulls.progress, nulls.user_id, nulls.consumes_quota), (None, None, None, None, None));
        assert!(nulls.metadata.is_empty());
        for (json, error) in [
            (r#"{"volume_id": "v", "status": "error"}"#, "missing field `id`"),
            (r#"{"id": "i", "status": "error"}"#, "missing field `volume_id`"),
            (r#"{"id": "i", "volume_id": "v"}"#, "missing field `status`"),
            (r#"{"id": "i", "id": "j", "volume_id": "v", "status": "error"}"#, "duplicate field `id`"),
            (r#"{"id": "i", "volume_id": "v", "status": "error", "name": null, "name": "x"}"#, "duplicate field `name`"),
            (r#"{"id": "i", "volume_id": "v", "status": "error", "size": null}"#, "invalid type: null, expected u64"),
            (r#"{"id": 1, "volume_id": "v", "status": "error"}"#, "invalid type: integer `1`, expected a string"),
        ] {
            let e = serde_json::from_str::<Snapshot>(json).unwrap_err().to_string();
            assert!(e.starts_with(error), "{json}: {e}");
        }
    }

    #[test]
    fn progress_percent() {
        let mut s: Snapshot = serde_json::from_str(r#"{"id": "x", "volume_id": "v", "status": "creating"}"#).unwrap();
        for (p, want) in [("50%", Some(50)), ("100%", Some(100)), ("101%", None), ("x%", None), ("50", None)] {
            s.progress = Some(p.into());
            assert_eq!(s.progress_percent(), want, "{p}");
        }
    }

    /// The exact matches a listing takes give what `FromStr` gives, whatever the case,
    /// spacing or status.
    #[test]
    fn statuses_read_from_json_as_from_str_reads_them() {
        for s in [
            "available",
            "creating",
            "deleting",
            "error",
            "AVAILABLE",
            "Error",
            " available ",
            "error_deleting",
            "backing-up",
            "frozen",
            "Frozen",
            "",
        ] {
            let read: SnapshotStatus = serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap();
            assert_eq!(read, s.parse::<SnapshotStatus>().unwrap(), "{s:?}");
        }
        assert_eq!(serde_json::from_str::<SnapshotStatus>(r#""avail\u0061ble""#).unwrap(), SnapshotStatus::Available, "escaped");
        assert!(serde_json::from_str::<SnapshotStatus>("12").is_err());
    }

    #[test]
    fn status_round_trips() {
        for s in
            ["creating", "available", "error", "deleting", "deleted", "error_deleting", "unmanaging", "backing-up", "restoring", "updating"]
        {
            let status: SnapshotStatus = s.parse().unwrap();
            assert!(!matches!(status, SnapshotStatus::Other(_)));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{s}\""));
        }
    }
}
