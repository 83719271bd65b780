use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One quota of a [`QuotaSet`] with its usage, as Cinder counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// The limit; `-1` is unlimited.
    pub limit: i64,
    /// What the project holds now.
    #[serde(default)]
    pub in_use: i64,
    /// What creates in flight have reserved.
    #[serde(default)]
    pub reserved: i64,
}

impl QuotaUsage {
    /// The room left: `limit - in_use - reserved` (never below 0), or unlimited.
    pub fn room(&self) -> Room {
        if self.limit < 0 {
            return Room::Unlimited;
        }
        let left = self.limit.saturating_sub(self.in_use).saturating_sub(self.reserved);
        Room::Left(u64::try_from(left).unwrap_or(0))
    }
}

/// A project's quotas with their usage: `GET os-quota-sets/<project>?usage=True`.
///
/// Keys as Cinder names them: `snapshots`, `gigabytes`, `volumes`, `backups`, ..., and per
/// volume type `snapshots_<type>`, `gigabytes_<type>`, `volumes_<type>` (the default type
/// `__DEFAULT__` gives `snapshots___DEFAULT__`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuotaSet {
    /// The project (`id` in Cinder's answer).
    pub project_id: String,
    /// Every quota of the answer, by key.
    pub usages: BTreeMap<String, QuotaUsage>,
}

impl QuotaSet {
    /// The room left under quota `key`; [`Room::Unknown`] when the answer has no such key.
    pub fn room(&self, key: &str) -> Room {
        self.usages.get(key).map_or(Room::Unknown, QuotaUsage::room)
    }
}

/// The caller's project's absolute limits: `GET limits` (`{"limits": {"absolute": ...}}`).
/// A field Cinder did not send is `None`: unknown, never 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// `maxTotalSnapshots` (`-1`: unlimited).
    #[serde(rename = "maxTotalSnapshots", default)]
    pub max_total_snapshots: Option<i64>,
    /// `totalSnapshotsUsed`.
    #[serde(rename = "totalSnapshotsUsed", default)]
    pub total_snapshots_used: Option<i64>,
    /// `maxTotalVolumeGigabytes` (`-1`: unlimited).
    #[serde(rename = "maxTotalVolumeGigabytes", default)]
    pub max_total_volume_gigabytes: Option<i64>,
    /// `totalGigabytesUsed` (volumes and snapshots).
    #[serde(rename = "totalGigabytesUsed", default)]
    pub total_gigabytes_used: Option<i64>,
    /// `maxTotalVolumes` (`-1`: unlimited).
    #[serde(rename = "maxTotalVolumes", default)]
    pub max_total_volumes: Option<i64>,
    /// `totalVolumesUsed`.
    #[serde(rename = "totalVolumesUsed", default)]
    pub total_volumes_used: Option<i64>,
}

impl Limits {
    /// The room left under `snapshots` or `gigabytes` (the only keys the limits API has
    /// totals for; any other key is [`Room::Unknown`]). A limit without its used total is
    /// unknown unless it is unlimited; the limits API has no reservations.
    pub fn room(&self, key: &str) -> Room {
        let (max, used) = match key {
            SNAPSHOTS => (self.max_total_snapshots, self.total_snapshots_used),
            GIGABYTES => (self.max_total_volume_gigabytes, self.total_gigabytes_used),
            "volumes" => (self.max_total_volumes, self.total_volumes_used),
            _ => return Room::Unknown,
        };
        match (max, used) {
            (Some(max), _) if max < 0 => Room::Unlimited,
            (Some(max), Some(used)) => Room::Left(u64::try_from(max.saturating_sub(used)).unwrap_or(0)),
            _ => Room::Unknown,
        }
    }
}

/// The room left under one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "left")]
#[non_exhaustive]
pub enum Room {
    /// No limit (`-1`).
    Unlimited,
    /// This much is left (snapshots, or GiB).
    Left(u64),
    /// Not known: the quota could not be read, or a field was missing.
    Unknown,
}

impl Room {
    /// Whether `needed` fits (an unknown room is taken to fit: it cannot be judged).
    pub fn fits(&self, needed: u64) -> bool {
        match self {
            Room::Left(n) => needed <= *n,
            Room::Unlimited | Room::Unknown => true,
        }
    }
}

/// A quota that binds: what a run needs under it and the room left.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Shortfall {
    /// The quota key (`snapshots`, `gigabytes`, `snapshots_<type>`, ...).
    pub key: String,
    /// What the run needs under it (snapshots, or GiB).
    pub needed: u64,
    /// The room left under it.
    pub room: u64,
}

impl Shortfall {
    /// A shortfall under `key`.
    pub fn new(key: impl Into<String>, needed: u64, room: u64) -> Self {
        Shortfall { key: key.into(), needed, room }
    }
}

/// `snapshots: 12 needed, 10 left` (GiB for the gigabytes keys).
impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.key.starts_with(GIGABYTES) { " GiB" } else { "" };
        write!(f, "{}: {}{unit} needed, {}{unit} left", self.key, self.needed, self.room)
    }
}

/// The key of the snapshot count quota.
pub const SNAPSHOTS: &str = "snapshots";
/// The key of the gigabytes quota (volumes and snapshots, unless the cloud sets
/// `no_snapshot_gb_quota`).
pub const GIGABYTES: &str = "gigabytes";

/// Where the room was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomSource {
    /// `os-quota-sets/<project>?usage=True`.
    QuotaSet,
    /// `limits` (the quota set was not readable).
    Limits,
    /// Neither was readable (403, 404): every room is unknown.
    None,
}

/// The room of the caller's project, as [`room`](super::room) found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProjectRoom {
    /// Where it was read from.
    pub source: RoomSource,
    /// The quota set, when it was read.
    pub quota_set: Option<QuotaSet>,
    /// The limits, when they were read (the quota set was not readable).
    pub limits: Option<Limits>,
}

impl ProjectRoom {
    /// A room that is unknown everywhere.
    pub fn unknown() -> Self {
        ProjectRoom { source: RoomSource::None, quota_set: None, limits: None }
    }

    /// The room left under quota `key` (`snapshots`, `gigabytes`, `snapshots_<type>`, ...).
    pub fn room(&self, key: &str) -> Room {
        match (&self.quota_set, &self.limits) {
            (Some(q), _) => q.room(key),
            (None, Some(l)) => l.room(key),
            (None, None) => Room::Unknown,
        }
    }
}

/// The quota key of `resource` for a volume type: `snapshots_<type>`.
pub fn type_key(resource: &str, volume_type: &str) -> String {
    format!("{resource}_{volume_type}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_totals_are_unknown_never_zero() {
        let l: Limits = serde_json::from_str(r#"{"maxTotalSnapshots": 10, "maxTotalVolumeGigabytes": -1}"#).unwrap();
        assert_eq!(l.room(SNAPSHOTS), Room::Unknown);
        assert_eq!(l.room(GIGABYTES), Room::Unlimited);
        assert_eq!(l.room("snapshots_x"), Room::Unknown);
        let l: Limits = serde_json::from_str(r#"{"maxTotalSnapshots": 10, "totalSnapshotsUsed": 12}"#).unwrap();
        assert_eq!(l.room(SNAPSHOTS), Room::Left(0));
        let u = QuotaUsage { limit: 5, in_use: 4, reserved: 3 };
        assert_eq!(u.room(), Room::Left(0));
        assert_eq!(QuotaUsage { limit: i64::MAX, in_use: i64::MIN, reserved: 1 }.room(), Room::Left(u64::try_from(i64::MAX - 1).unwrap()));
        assert!(Room::Unknown.fits(u64::MAX) && Room::Left(2).fits(2) && !Room::Left(2).fits(3));
    }
}
