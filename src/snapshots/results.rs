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
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
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
    /// A snapshot made in code, for planning without a cloud ([`crate::retention::plan`])
    /// and for tests: these fields set, the others empty (`size` 0, no metadata, no name).
    /// The fields are public: add metadata with `snapshot.metadata.insert(..)`.
    ///
    /// ```
    /// use cinder_snapshots::retention::{self, Policy};
    /// use cinder_snapshots::snapshots::{Snapshot, SnapshotStatus};
    /// use cinder_snapshots::time::macros::datetime;
    /// let policy = Policy::builder("nightly").keep_last(1).build()?;
    /// let mut history: Vec<Snapshot> = ["s1", "s2"]
    ///     .iter()
    ///     .zip([datetime!(2026-11-28 02:00 UTC), datetime!(2026-11-27 02:00 UTC)])
    ///     .map(|(id, at)| Snapshot::new(*id, "vol-1", SnapshotStatus::Available, Some(at)))
    ///     .collect();
    /// for s in &mut history {
    ///     s.metadata.extend(retention::labels(&policy, s.created_at.unwrap()));
    /// }
    /// let plan = retention::plan(&history, &policy, datetime!(2026-11-28 06:00 UTC));
    /// assert_eq!(plan.to_delete().map(|d| d.snapshot().id.as_str()).collect::<Vec<_>>(), ["s2"]);
    /// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
    /// ```
    pub fn new(
        id: impl Into<String>,
        volume_id: impl Into<String>,
        status: SnapshotStatus,
        created_at: Option<OffsetDateTime>,
    ) -> Snapshot {
        Snapshot {
            id: id.into(),
            name: None,
            description: None,
            volume_id: volume_id.into(),
            status,
            size: 0,
            metadata: BTreeMap::new(),
            created_at,
            updated_at: None,
            progress: None,
            project_id: None,
            group_snapshot_id: None,
            user_id: None,
            consumes_quota: None,
            request_id: None,
        }
    }

    /// The progress as a number from 0 to 100, when the server sent a readable one.
    pub fn progress_percent(&self) -> Option<u8> {
        let p = self.progress.as_deref()?.trim().strip_suffix('%')?;
        p.trim().parse::<u8>().ok().filter(|n| *n <= 100)
    }
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

    /// As the derived `Deserialize` reads a snapshot (the same keys, defaults, and errors:
    /// a repeated key, a missing `id`, `volume_id` or `status`), each value read straight
    /// into its field of `place`, so that a listing does not move each snapshot from one
    /// value to another on its way out. An array (which the derived code also reads, field
    /// by field) goes to the derived code.
    fn read_in_place<'de, D: Deserializer<'de>>(d: D, place: &mut Option<Self>) -> Result<(), D::Error> {
        let snapshot = place.insert(Snapshot {
            id: String::new(),
            name: None,
            description: None,
            volume_id: String::new(),
            status: SnapshotStatus::Creating,
            size: 0,
            metadata: BTreeMap::new(),
            created_at: None,
            updated_at: None,
            progress: None,
            project_id: None,
            group_snapshot_id: None,
            user_id: None,
            consumes_quota: None,
            request_id: None,
        });
        d.deserialize_struct("Snapshot", FIELDS, InPlace(snapshot))
    }
}

/// The keys of a snapshot, in the order of its fields.
const FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "volume_id",
    "status",
    "size",
    "metadata",
    "created_at",
    "updated_at",
    "os-extended-snapshot-attributes:progress",
    "os-extended-snapshot-attributes:project_id",
    "group_snapshot_id",
    "user_id",
    "consumes_quota",
];

/// Reads a snapshot's members into the snapshot it holds (see `read_in_place`).
struct InPlace<'a>(&'a mut Snapshot);

/// A key of a snapshot: its index in [`FIELDS`], or `None` for a key it does not have.
struct Field(Option<usize>);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FieldVisitor)
    }
}

struct FieldVisitor;

impl serde::de::Visitor<'_> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field(FIELDS.iter().position(|f| *f == v)))
    }
}

impl<'de> serde::de::Visitor<'de> for InPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Snapshot")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let s = self.0;
        let mut seen = [false; FIELDS.len()];
        while let Some(Field(key)) = map.next_key()? {
            let Some(index) = key else {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            match seen.get_mut(index) {
                Some(true) => return Err(serde::de::Error::duplicate_field(FIELDS.get(index).copied().unwrap_or_default())),
                Some(seen) => *seen = true,
                None => {}
            }
            match index {
                0 => s.id = map.next_value()?,
                1 => s.name = map.next_value()?,
                2 => s.description = map.next_value()?,
                3 => s.volume_id = map.next_value()?,
                4 => s.status = map.next_value()?,
                5 => s.size = map.next_value()?,
                6 => s.metadata = map.next_value::<Option<BTreeMap<String, String>>>()?.unwrap_or_default(),
                7 => s.created_at = map.next_value_seed(timestamp::LenientSeed)?,
                8 => s.updated_at = map.next_value_seed(timestamp::LenientSeed)?,
                9 => s.progress = map.next_value()?,
                10 => s.project_id = map.next_value()?,
                11 => s.group_snapshot_id = map.next_value()?,
                12 => s.user_id = map.next_value()?,
                _ => s.consumes_quota = map.next_value()?,
            }
        }
        for (index, field) in [(0, "id"), (3, "volume_id"), (4, "status")] {
            if !seen.get(index).copied().unwrap_or_default() {
                return Err(serde::de::Error::missing_field(field));
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        *self.0 = Snapshot::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(())
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
    #[serde(deserialize_with = "crate::resource::null_as_default")]
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

    /// A listing reads each snapshot with `read_in_place`: it gives what the derived
    /// `Deserialize` gives, the same snapshot or the same error, for every layout, type
    /// error, repeated or missing key, array form, truncation and corruption tried.
    #[test]
    fn read_in_place_matches_the_derived_reading() {
        fn in_place(json: &str) -> Result<Snapshot, String> {
            let mut d = serde_json::Deserializer::from_str(json);
            let mut place = None;
            Snapshot::read_in_place(&mut d, &mut place).and_then(|()| d.end()).map_err(|e| e.to_string())?;
            place.ok_or_else(|| "nothing read".to_owned())
        }
        let full = r#"{"id": "i", "name": "n", "description": "d", "volume_id": "v", "status": "available", "size": 3,
            "metadata": {"k": "v", "k2": "w"}, "created_at": "2026-11-24T01:13:53.419950", "updated_at": "2026-11-24T01:13:54Z",
            "os-extended-snapshot-attributes:progress": "100%", "os-extended-snapshot-attributes:project_id": "p",
            "group_snapshot_id": "g", "user_id": "u", "consumes_quota": true, "request_id": "req-x", "unknown": {"a": [1]}}"#;
        let mut cases: Vec<String> = vec![
            full.to_owned(),
            r#"{"id": "x", "volume_id": "v", "status": "Frozen", "created_at": "last tuesday", "updated_at": null, "metadata": null}"#
                .into(),
            r#"{"\u0069d": "i", "volume_id": "v\u0031", "status": "error", "name": null, "size": 0, "consumes_quota": null}"#.into(),
            r#"{"volume_id": "v", "status": "error"}"#.into(),
            r#"{"id": "i", "status": "error"}"#.into(),
            r#"{"id": "i", "volume_id": "v"}"#.into(),
            r#"{"id": "i", "id": "j", "volume_id": "v", "status": "error"}"#.into(),
            r#"{"id": "i", "volume_id": "v", "status": "error", "name": null, "name": "x"}"#.into(),
            r#"{"id": "i", "volume_id": "v", "status": "error", "request_id": 1, "request_id": 2}"#.into(),
            r#"{"id": "i", "volume_id": "v", "status": "error", "size": null}"#.into(),
            r#"{"id": 1, "volume_id": "v", "status": "error"}"#.into(),
            r#"{"id": "i", "volume_id": "v", "status": "error", "metadata": {"k": 1}}"#.into(),
            r#"{"id": "i", "volume_id": "v", "status": 7}"#.into(),
            r#"["i", "n", null, "v", "available", 1, {}, "2026-11-24T01:13:53", null, "50%", "p", null, "u", false]"#.into(),
            r#"["i", "n", null, "v", "available"]"#.into(),
            r#"["i"]"#.into(),
            "[]".into(),
            "{}".into(),
            r#""x""#.into(),
            "1".into(),
            "null".into(),
        ];
        for (at, _) in full.char_indices() {
            cases.push(full[..at].to_owned());
            for c in ["}", "]", ",", "\"", "x", "1", "n"] {
                cases.push(format!("{}{c}{}", &full[..at], &full[at + 1..]));
            }
        }
        for json in &cases {
            assert_eq!(in_place(json), serde_json::from_str::<Snapshot>(json).map_err(|e| e.to_string()), "{json}");
        }
    }
}
