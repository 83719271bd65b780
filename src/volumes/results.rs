use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::Error;
use crate::paging::Page;
use crate::resource::{Resource, Stateful, private};
use crate::timestamp;

/// A volume's status.
///
/// Parsing is case-insensitive, and a status this crate does not know becomes
/// [`VolumeStatus::Other`] so that a newer server never breaks parsing. A status held in
/// `Other` today may become a variant of its own in a minor release: match on
/// [`as_str`](Self::as_str) rather than on `Other("...")` for such a status.
///
/// ```
/// use cinder_snapshots::volumes::VolumeStatus;
/// assert_eq!("IN-USE".parse::<VolumeStatus>().unwrap(), VolumeStatus::InUse);
/// assert_eq!("error_restoring".parse::<VolumeStatus>().unwrap(), VolumeStatus::ErrorRestoring);
/// assert_eq!("frozen".parse::<VolumeStatus>().unwrap(), VolumeStatus::Other("frozen".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VolumeStatus {
    /// Being created (also what Cinder shows for a volume being managed).
    Creating,
    /// Ready for use, not attached.
    Available,
    /// Reserved for an attachment that is being set up.
    Reserved,
    /// Being attached.
    Attaching,
    /// Being detached.
    Detaching,
    /// Attached to a server.
    InUse,
    /// Under maintenance (migration, for example).
    Maintenance,
    /// Being deleted.
    Deleting,
    /// Offered for transfer to another project.
    AwaitingTransfer,
    /// Creation failed.
    Error,
    /// Deletion failed.
    ErrorDeleting,
    /// A backup is being made of it.
    BackingUp,
    /// A backup is being restored into it.
    RestoringBackup,
    /// A backup of it failed.
    ErrorBackingUp,
    /// Restoring a backup into it failed.
    ErrorRestoring,
    /// Extending it failed.
    ErrorExtending,
    /// An image is being written to it.
    Downloading,
    /// It is being uploaded to an image.
    Uploading,
    /// Its type is being changed.
    Retyping,
    /// Being extended.
    Extending,
    /// Being reverted to a snapshot.
    Reverting,
    /// A status this crate does not know, lower-cased.
    Other(String),
}

const KNOWN: [VolumeStatus; 21] = [
    VolumeStatus::Creating,
    VolumeStatus::Available,
    VolumeStatus::Reserved,
    VolumeStatus::Attaching,
    VolumeStatus::Detaching,
    VolumeStatus::InUse,
    VolumeStatus::Maintenance,
    VolumeStatus::Deleting,
    VolumeStatus::AwaitingTransfer,
    VolumeStatus::Error,
    VolumeStatus::ErrorDeleting,
    VolumeStatus::BackingUp,
    VolumeStatus::RestoringBackup,
    VolumeStatus::ErrorBackingUp,
    VolumeStatus::ErrorRestoring,
    VolumeStatus::ErrorExtending,
    VolumeStatus::Downloading,
    VolumeStatus::Uploading,
    VolumeStatus::Retyping,
    VolumeStatus::Extending,
    VolumeStatus::Reverting,
];

impl VolumeStatus {
    /// The status as Cinder writes it.
    pub fn as_str(&self) -> &str {
        match self {
            VolumeStatus::Creating => "creating",
            VolumeStatus::Available => "available",
            VolumeStatus::Reserved => "reserved",
            VolumeStatus::Attaching => "attaching",
            VolumeStatus::Detaching => "detaching",
            VolumeStatus::InUse => "in-use",
            VolumeStatus::Maintenance => "maintenance",
            VolumeStatus::Deleting => "deleting",
            VolumeStatus::AwaitingTransfer => "awaiting-transfer",
            VolumeStatus::Error => "error",
            VolumeStatus::ErrorDeleting => "error_deleting",
            VolumeStatus::BackingUp => "backing-up",
            VolumeStatus::RestoringBackup => "restoring-backup",
            VolumeStatus::ErrorBackingUp => "error_backing-up",
            VolumeStatus::ErrorRestoring => "error_restoring",
            VolumeStatus::ErrorExtending => "error_extending",
            VolumeStatus::Downloading => "downloading",
            VolumeStatus::Uploading => "uploading",
            VolumeStatus::Retyping => "retyping",
            VolumeStatus::Extending => "extending",
            VolumeStatus::Reverting => "reverting",
            VolumeStatus::Other(s) => s,
        }
    }

    /// `true` for the `error*` statuses.
    pub fn is_failure(&self) -> bool {
        self.as_str().starts_with("error")
    }
}

impl std::str::FromStr for VolumeStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(KNOWN.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s)).unwrap_or_else(|| VolumeStatus::Other(s.to_ascii_lowercase())))
    }
}

impl fmt::Display for VolumeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VolumeStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VolumeStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(s.parse().unwrap_or_else(|never| match never {}))
    }
}

/// One attachment of a volume to a server, as Cinder lists it in `attachments` (only
/// completed attachments are listed).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Attachment {
    /// The server (Nova instance) it is attached to.
    #[serde(default)]
    pub server_id: Option<String>,
    /// The attachment's own id.
    #[serde(default)]
    pub attachment_id: Option<String>,
    /// The device path on the server, such as `/dev/vdb`.
    #[serde(default)]
    pub device: Option<String>,
    /// The host it is attached on (admins and services only).
    #[serde(default)]
    pub host_name: Option<String>,
    /// When it was attached.
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient", serialize_with = "timestamp::serialize_opt")]
    pub attached_at: Option<OffsetDateTime>,
}

/// A volume as Cinder describes it (detail view: [`get`](super::get),
/// [`list_detail`](super::list_detail), [`create`](super::create)).
///
/// It serialises (`serde`) to Cinder's own shape (`bootable` as the string `"true"` or
/// `"false"`, the project under `os-vol-tenant-attr:tenant_id`, timestamps as RFC 3339 in
/// UTC) and reads that back.
///
/// Read leniently, as [`Snapshot`](crate::snapshots::Snapshot) is: a timestamp that cannot
/// be read becomes `None`, an unknown status [`VolumeStatus::Other`], `bootable` is read from
/// a string (`"true"`, `"False"`, ...) or a boolean, and a field the server did not send
/// (older microversion, policy) is `None` or empty rather than an error.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Volume {
    /// The volume's id.
    pub id: String,
    /// Name (may be unset).
    #[serde(default)]
    pub name: Option<String>,
    /// Description (may be unset).
    #[serde(default)]
    pub description: Option<String>,
    /// Current status.
    pub status: VolumeStatus,
    /// Size in GiB.
    #[serde(default)]
    pub size: u64,
    /// User metadata.
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
    pub metadata: BTreeMap<String, String>,
    /// Availability zone.
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// Whether it is bootable (Cinder sends the string `"true"` or `"false"`; anything
    /// else, or nothing, reads as `false`).
    #[serde(default, deserialize_with = "lenient_bool", serialize_with = "bool_as_string")]
    pub bootable: bool,
    /// Its attachments; [`server_ids`](Self::server_ids) gives the servers.
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
    pub attachments: Vec<Attachment>,
    /// Volume type: its name (or, below 3.63, its id when the type is gone).
    #[serde(default)]
    pub volume_type: Option<String>,
    /// The snapshot it was created from.
    #[serde(default)]
    pub snapshot_id: Option<String>,
    /// The volume it was cloned from.
    #[serde(default)]
    pub source_volid: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient", serialize_with = "timestamp::serialize_opt")]
    pub created_at: Option<OffsetDateTime>,
    /// Last update time.
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient", serialize_with = "timestamp::serialize_opt")]
    pub updated_at: Option<OffsetDateTime>,
    /// Owning project (`os-vol-tenant-attr:tenant_id`; when the policy allows: the owner and
    /// admins by default).
    #[serde(default, rename = "os-vol-tenant-attr:tenant_id")]
    pub project_id: Option<String>,
    /// The user who created it.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The group it belongs to (3.13+).
    #[serde(default)]
    pub group_id: Option<String>,
    /// Whether it is encrypted.
    #[serde(default)]
    pub encrypted: Option<bool>,
    /// Whether it can be attached to several servers.
    #[serde(default)]
    pub multiattach: Option<bool>,
    /// The request id (`x-openstack-request-id`) of the call that returned this volume: set
    /// by [`get`](super::get), [`create`](super::create) and the waits; `None` in listings.
    /// Not serialised.
    #[serde(skip)]
    pub request_id: Option<String>,
}

impl Volume {
    /// The servers it is attached to, in Cinder's order.
    pub fn server_ids(&self) -> Vec<&str> {
        self.attachments.iter().filter_map(|a| a.server_id.as_deref()).collect()
    }
}

/// A volume in the summary listing ([`list`](super::list)): Cinder sends only its id and
/// name there. Use [`list_detail`](super::list_detail) for every field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct VolumeSummary {
    /// The volume's id.
    pub id: String,
    /// Name (may be unset).
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrText {
    Bool(bool),
    Text(String),
    Other(serde::de::IgnoredAny),
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<BoolOrText>::deserialize(d)? {
        Some(BoolOrText::Bool(b)) => b,
        Some(BoolOrText::Text(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"),
        Some(BoolOrText::Other(_)) | None => false,
    })
}

fn bool_as_string<S: Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *b { "true" } else { "false" })
}

/// One page of a volume listing.
pub type VolumePage = Page<Volume>;

impl Resource for Volume {
    const KIND: &'static str = "volume";
    const COLLECTION: &'static str = "volumes";
    const LINKS: &'static str = "volumes_links";
    const ITEM: &'static str = "volume";

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

impl Stateful for Volume {
    type Status = VolumeStatus;

    fn status(&self) -> &VolumeStatus {
        &self.status
    }

    /// `error`: a create (from a snapshot too) that fails leaves the volume in `error`, and
    /// so does a revert that fails. (`error_restoring` is a failed restore of a *backup*.)
    fn failed() -> Vec<VolumeStatus> {
        vec![VolumeStatus::Error]
    }

    fn failed_delete() -> Vec<VolumeStatus> {
        vec![VolumeStatus::ErrorDeleting]
    }

    /// Cinder soft-deletes a volume with the status `deleted`; a GET then answers 404.
    fn is_deleted(status: &VolumeStatus) -> bool {
        status.as_str() == "deleted"
    }

    /// A delete the backend refuses (the volume is busy) puts it back to `available`.
    fn is_delete_refused(status: &VolumeStatus) -> bool {
        *status == VolumeStatus::Available
    }
}

impl private::Sealed for Volume {}

impl Resource for VolumeSummary {
    const KIND: &'static str = "volume";
    const COLLECTION: &'static str = "volumes";
    const LINKS: &'static str = "volumes_links";
    const ITEM: &'static str = "volume";

    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl private::Sealed for VolumeSummary {}

/// Why Cinder refused a [`revert_to_snapshot`](super::revert_to_snapshot), read from its
/// answer by [`revert_refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevertRefusal {
    /// The volume has no snapshot at all (HTTP 400).
    NoSnapshots,
    /// The snapshot given is not the volume's latest one: Cinder reverts only to the latest
    /// (HTTP 400).
    NotLatestSnapshot,
    /// The volume's size is not the snapshot's (it was extended since; HTTP 400).
    SizeMismatch,
    /// The volume is not `available` (in use, busy, in error; HTTP 409).
    VolumeNotAvailable,
    /// The snapshot is not `available` (HTTP 409). Cinder (29, checked live) has already
    /// marked the volume `reverting` when it finds this, and leaves it so: the volume stays
    /// `reverting` until an admin resets its status.
    SnapshotNotAvailable,
    /// Several snapshots share the volume's newest `created_at`: which one Cinder takes for
    /// the latest cannot be known (refused before sending, by
    /// [`revert_to_latest`](super::revert_to_latest) only).
    AmbiguousLatest,
}

impl fmt::Display for RevertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RevertRefusal::NoSnapshots => "the volume has no snapshot",
            RevertRefusal::NotLatestSnapshot => "the snapshot is not the volume's latest",
            RevertRefusal::SizeMismatch => "the volume's size is not the snapshot's",
            RevertRefusal::VolumeNotAvailable => "the volume is not available",
            RevertRefusal::SnapshotNotAvailable => "the snapshot is not available",
            RevertRefusal::AmbiguousLatest => "several snapshots are the volume's newest (the same created_at)",
        })
    }
}

/// Which of Cinder's revert refusals an error is, if any: reads the status (400 or 409) and
/// Cinder's message of an [`Error::Api`] returned by
/// [`revert_to_snapshot`](super::revert_to_snapshot), and the reason of an
/// [`Error::RevertRefused`] (refused before sending by
/// [`revert_to_latest`](super::revert_to_latest)). The error itself, with Cinder's
/// message and request id, is still the one to report.
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, RevertRefusal};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// match volumes::revert_to_snapshot(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", "b36476e5-d18b-47f9-ac69-4818cb43ee21") {
///     Ok(()) => {}
///     Err(e) if volumes::revert_refusal(&e) == Some(RevertRefusal::NotLatestSnapshot) => {
///         eprintln!("only the latest snapshot can be reverted to: {e}");
///     }
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn revert_refusal(error: &Error) -> Option<RevertRefusal> {
    let api = match error {
        Error::Api(api) => api,
        Error::RevertRefused { reason, .. } => return Some(*reason),
        _ => return None,
    };
    let m = api.message.as_str();
    match api.status {
        400 if m.contains("doesn't have any snapshots") => Some(RevertRefusal::NoSnapshots),
        400 if m.contains("not the latest one of volume") => Some(RevertRefusal::NotLatestSnapshot),
        400 if m.contains("size must be equal to the snapshot size") => Some(RevertRefusal::SizeMismatch),
        409 if m.contains("Volume's status must be 'available'") => Some(RevertRefusal::VolumeNotAvailable),
        409 if m.contains("Snapshot's status must be 'available'") => Some(RevertRefusal::SnapshotNotAvailable),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields() {
        let v: Volume = serde_json::from_str(
            r#"{"id": "x", "status": "In-Use", "created_at": "last tuesday", "updated_at": null, "bootable": "True",
                "metadata": null, "attachments": [{"server_id": "s1", "attachment_id": "a1", "attached_at": "2026-11-23T16:42:51.000000"}],
                "new_field": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(v.status, VolumeStatus::InUse);
        assert_eq!(v.created_at, None);
        assert!(v.bootable);
        assert!(v.metadata.is_empty());
        assert_eq!(v.server_ids(), vec!["s1"]);
        assert!(v.attachments[0].attached_at.is_some());
        for (text, want) in
            [(r#""false""#, false), (r#""true""#, true), ("true", true), ("null", false), ("3", false), (r#""yes?""#, false)]
        {
            let v: Volume = serde_json::from_str(&format!(r#"{{"id": "x", "status": "available", "bootable": {text}}}"#)).unwrap();
            assert_eq!(v.bootable, want, "{text}");
        }
        let v: Volume = serde_json::from_str(r#"{"id": "x", "status": "available"}"#).unwrap();
        assert!(!v.bootable);
        assert!(v.attachments.is_empty());
    }

    #[test]
    fn serialises_to_cinders_shape_and_back() {
        let v: Volume = serde_json::from_str(
            r#"{"id": "x", "status": "available", "bootable": "true", "os-vol-tenant-attr:tenant_id": "p",
                "created_at": "2026-11-23T16:42:51.212740"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["bootable"], "true");
        assert_eq!(json["os-vol-tenant-attr:tenant_id"], "p");
        assert_eq!(json["created_at"], "2026-11-23T16:42:51.212740Z");
        let back: Volume = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn status_round_trips() {
        for s in KNOWN {
            let text = s.as_str().to_owned();
            assert_eq!(text.parse::<VolumeStatus>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{text}\""));
        }
        assert!(VolumeStatus::ErrorRestoring.is_failure());
        assert!(!VolumeStatus::Reverting.is_failure());
    }
}
