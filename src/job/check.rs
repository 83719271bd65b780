//! The monitoring check: the age of the newest `available` snapshot a policy owns, per
//! selected volume, against a warning and a critical age.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::Selection;
use crate::client::ServiceClient;
use crate::error::Result;
use crate::retention::{POLICY_KEY, Policy, format_duration, is_owned};
use crate::snapshots::{self, ListOpts, METADATA_FILTER, SnapshotStatus};

/// What [`check`] looks at: the policy id, the ages, the volumes.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::job::CheckOpts;
/// let opts = CheckOpts::new("nightly", Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600))
///     .select_tag("backup", "nightly");
/// assert_eq!(opts.policy_id(), "nightly");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CheckOpts {
    policy_id: String,
    warn: Duration,
    crit: Duration,
    selection: Selection,
    now: Option<OffsetDateTime>,
    page_size: Option<u32>,
}

impl CheckOpts {
    /// A check of the snapshots owned by `policy_id`: a volume whose newest one is at least
    /// `warn` old is WARNING, at least `crit` old (or with none) CRITICAL.
    pub fn new(policy_id: impl Into<String>, warn: Duration, crit: Duration) -> Self {
        CheckOpts { policy_id: policy_id.into(), warn, crit, selection: Selection::new(), now: None, page_size: None }
    }

    super::opts::selection_setters!();

    /// The time ages are measured at (default: the current time).
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// The `limit` of every listing page (default: the server's cap).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The policy id.
    pub fn policy_id(&self) -> &str {
        &self.policy_id
    }

    /// The warning age.
    pub fn warn(&self) -> Duration {
        self.warn
    }

    /// The critical age.
    pub fn crit(&self) -> Duration {
        self.crit
    }

    /// The selection.
    pub fn get_selection(&self) -> &Selection {
        &self.selection
    }
}

/// A check's verdict, as monitoring plugins (Nagios, Icinga, Sensu, ...) have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CheckStatus {
    /// Every volume has a recent enough snapshot.
    Ok,
    /// Some volume's newest snapshot is at least the warning age.
    Warning,
    /// Some volume's newest snapshot is at least the critical age, or it has none.
    Critical,
    /// Nothing to judge: no volume matched the selection.
    Unknown,
}

impl CheckStatus {
    /// The plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn code(&self) -> u8 {
        match self {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Critical => 2,
            CheckStatus::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Warning => "WARNING",
            CheckStatus::Critical => "CRITICAL",
            CheckStatus::Unknown => "UNKNOWN",
        }
    }

    /// How bad it is: OK < WARNING < CRITICAL, UNKNOWN between WARNING and CRITICAL for
    /// the worst of several (as plugins rank them).
    fn rank(self) -> u8 {
        match self {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Unknown => 2,
            CheckStatus::Critical => 3,
        }
    }
}

/// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As its `Display`.
impl Serialize for CheckStatus {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One volume of a [`CheckReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckVolume {
    /// The volume's id.
    pub volume_id: String,
    /// Its name, if any.
    pub volume_name: Option<String>,
    /// The newest `available` snapshot the policy owns: its creation time.
    pub newest: Option<OffsetDateTime>,
    /// That snapshot's id.
    pub snapshot_id: Option<String>,
    /// Its age at the check's time (zero for a snapshot dated in the future).
    pub age: Option<Duration>,
    /// OK, WARNING, or CRITICAL (also when there is no snapshot).
    pub status: CheckStatus,
}

impl CheckVolume {
    /// The name, else the id.
    pub fn label(&self) -> &str {
        self.volume_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.volume_id)
    }
}

/// `{"volume_id", "volume_name", "newest", "snapshot_id", "age_s", "status"}`.
impl Serialize for CheckVolume {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckVolume", 6)?;
        st.serialize_field("volume_id", &self.volume_id)?;
        st.serialize_field("volume_name", &self.volume_name)?;
        st.serialize_field("newest", &self.newest.map(super::label_time))?;
        st.serialize_field("snapshot_id", &self.snapshot_id)?;
        st.serialize_field("age_s", &self.age.map(|a| a.as_secs_f64()))?;
        st.serialize_field("status", &self.status)?;
        st.end()
    }
}

/// The result of a [`check`].
#[derive(Debug, Clone)]
pub struct CheckReport {
    policy_id: String,
    warn: Duration,
    crit: Duration,
    now: OffsetDateTime,
    volumes: Vec<CheckVolume>,
}

impl CheckReport {
    /// The worst status of the volumes; [`CheckStatus::Unknown`] when no volume matched.
    pub fn status(&self) -> CheckStatus {
        self.volumes.iter().map(|v| v.status).max_by_key(|s| s.rank()).unwrap_or(CheckStatus::Unknown)
    }

    /// Every selected volume, in the order selected.
    pub fn volumes(&self) -> &[CheckVolume] {
        &self.volumes
    }

    /// The one line of a monitoring plugin, with performance data:
    /// `CINDER-SNAPSHOTS OK - 12 volumes, oldest newest snapshot 3h12min (vol-a) | volumes=12
    /// ok=12 warning=0 critical=0 oldest_age=11520s;93600;180000`. Volumes without a
    /// snapshot are named (`2 without a snapshot (vol-b, vol-c)`), as is the oldest newest
    /// snapshot; `oldest_age` is left out when no volume has one.
    pub fn status_line(&self) -> String {
        let status = self.status();
        let n = self.volumes.len();
        let count = |s: CheckStatus| self.volumes.iter().filter(|v| v.status == s).count();
        let mut text = format!("CINDER-SNAPSHOTS {status} - ");
        if n == 0 {
            text.push_str("no volume selected");
        } else {
            text.push_str(&format!("{n} volume{}", if n == 1 { "" } else { "s" }));
            let missing: Vec<&str> = self.volumes.iter().filter(|v| v.newest.is_none()).map(CheckVolume::label).collect();
            if !missing.is_empty() {
                let shown: Vec<&str> = missing.iter().take(5).copied().collect();
                let more = if missing.len() > shown.len() { ", ..." } else { "" };
                text.push_str(&format!(", {} without a snapshot ({}{more})", missing.len(), shown.join(", ")));
            }
            if let Some(oldest) = self.oldest() {
                let age = oldest.age.unwrap_or_default();
                text.push_str(&format!(
                    ", oldest newest snapshot {} ({})",
                    format_duration(Duration::from_secs(age.as_secs())),
                    oldest.label()
                ));
            }
        }
        text.push_str(&format!(
            " | volumes={n} ok={} warning={} critical={}",
            count(CheckStatus::Ok),
            count(CheckStatus::Warning),
            count(CheckStatus::Critical)
        ));
        if let Some(oldest) = self.oldest() {
            text.push_str(&format!(
                " oldest_age={}s;{};{}",
                oldest.age.unwrap_or_default().as_secs(),
                self.warn.as_secs(),
                self.crit.as_secs()
            ));
        }
        text
    }

    /// The volume whose newest snapshot is the oldest (among those that have one).
    fn oldest(&self) -> Option<&CheckVolume> {
        self.volumes.iter().filter(|v| v.age.is_some()).max_by_key(|v| v.age)
    }

    /// The time the ages were measured at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }
}

/// `{"policy", "status", "code", "status_line", "now", "warn_s", "crit_s", "volumes": [..]}`.
impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckReport", 8)?;
        st.serialize_field("policy", &self.policy_id)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("code", &self.status().code())?;
        st.serialize_field("status_line", &self.status_line())?;
        st.serialize_field("now", &super::label_time(self.now))?;
        st.serialize_field("warn_s", &self.warn.as_secs_f64())?;
        st.serialize_field("crit_s", &self.crit.as_secs_f64())?;
        st.serialize_field("volumes", &self.volumes)?;
        st.end()
    }
}

/// Checks the age of the newest `available` snapshot owned by the policy on each selected
/// volume: the selection's listings to the last page, then ONE listing of the policy's
/// `available` snapshots to the last page (server-side `metadata` and `status` filters from
/// 3.22; ownership checked here either way).
///
/// A volume whose newest owned snapshot is at least `crit` old, or that has none, is
/// CRITICAL; at least `warn` old, WARNING; else OK. The report's status is the worst;
/// UNKNOWN when the selection matched no volume.
///
/// # Errors
///
/// An empty selection ([`Error::InvalidInput`](crate::Error::InvalidInput) "no volumes
/// selected"), a policy id that is not one ([`Error::Config`](crate::Error::Config)), and any
/// listing's error. A monitoring front reports an error as UNKNOWN.
///
/// ```no_run
/// use std::time::Duration;
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, CheckOpts};
/// let client = ServiceClient::from_env()?;
/// let opts = CheckOpts::new("nightly", Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600))
///     .select_tag("backup", "nightly");
/// let report = job::check(&client, &opts)?;
/// println!("{}", report.status_line());
/// std::process::exit(i32::from(report.status().code()));
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn check(client: &ServiceClient, opts: &CheckOpts) -> Result<CheckReport> {
    if opts.selection.is_empty() {
        return Err(super::opts::no_selection());
    }
    // The id must be usable as a label value and in the listing's filter; the rule only
    // makes a policy that ownership can be judged by.
    let policy = Policy::builder(opts.policy_id.as_str()).keep_last(1).build()?;
    let now = opts.now.unwrap_or_else(OffsetDateTime::now_utc);
    let volumes = opts.selection.resolve(client, opts.page_size)?;
    let mut newest: HashMap<String, (OffsetDateTime, String)> = HashMap::new();
    if !volumes.is_empty() {
        let wanted: std::collections::HashSet<&str> = volumes.iter().map(|v| v.id.as_str()).collect();
        let mv = client.microversion()?;
        let mut list = ListOpts::new()
            .all_tenants(opts.selection.is_all_projects())
            .status(SnapshotStatus::Available)
            .with_count(mv >= crate::paging::WITH_COUNT);
        if mv >= METADATA_FILTER {
            list = list.metadata(POLICY_KEY, opts.policy_id.as_str());
        }
        if let Some(n) = opts.page_size {
            list = list.limit(n);
        }
        for snap in snapshots::list_detail(client, &list)? {
            let snap = snap?;
            let owned = is_owned(&snap, &policy);
            let Some(at) = snap.created_at else { continue };
            if !owned || snap.status != SnapshotStatus::Available || !wanted.contains(snap.volume_id.as_str()) {
                continue;
            }
            let slot = newest.entry(snap.volume_id.clone()).or_insert((at, snap.id.clone()));
            if at > slot.0 || (at == slot.0 && snap.id < slot.1) {
                *slot = (at, snap.id);
            }
        }
    }
    let volumes = volumes
        .into_iter()
        .map(|v| {
            let found = newest.remove(&v.id);
            let age = found.as_ref().map(|(at, _)| {
                let secs = (now - *at).max(time::Duration::ZERO);
                Duration::try_from(secs).unwrap_or(Duration::MAX)
            });
            let status = match age {
                None => CheckStatus::Critical,
                Some(a) if a >= opts.crit => CheckStatus::Critical,
                Some(a) if a >= opts.warn => CheckStatus::Warning,
                Some(_) => CheckStatus::Ok,
            };
            let (newest, snapshot_id) = found.map_or((None, None), |(at, id)| (Some(at), Some(id)));
            CheckVolume { volume_id: v.id, volume_name: v.name, newest, snapshot_id, age, status }
        })
        .collect();
    Ok(CheckReport { policy_id: opts.policy_id.clone(), warn: opts.warn, crit: opts.crit, now, volumes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn vol(id: &str, name: Option<&str>, age: Option<u64>, status: CheckStatus) -> CheckVolume {
        CheckVolume {
            volume_id: id.into(),
            volume_name: name.map(str::to_owned),
            newest: age.map(|_| datetime!(2026-11-28 00:00 UTC)),
            snapshot_id: age.map(|_| format!("s-{id}")),
            age: age.map(Duration::from_secs),
            status,
        }
    }

    fn report(volumes: Vec<CheckVolume>) -> CheckReport {
        CheckReport {
            policy_id: "nightly".into(),
            warn: Duration::from_secs(93_600),
            crit: Duration::from_secs(180_000),
            now: datetime!(2026-11-28 03:12 UTC),
            volumes,
        }
    }

    #[test]
    fn status_lines() {
        let ok = report(vec![vol("a", Some("vol-a"), Some(11_520), CheckStatus::Ok), vol("b", None, Some(600), CheckStatus::Ok)]);
        assert_eq!(ok.status(), CheckStatus::Ok);
        assert_eq!(
            ok.status_line(),
            "CINDER-SNAPSHOTS OK - 2 volumes, oldest newest snapshot 3h12min (vol-a) | volumes=2 ok=2 warning=0 critical=0 oldest_age=11520s;93600;180000"
        );
        let bad = report(vec![
            vol("a", Some("vol-a"), Some(100_000), CheckStatus::Warning),
            vol("b", Some("vol-b"), None, CheckStatus::Critical),
        ]);
        assert_eq!(bad.status(), CheckStatus::Critical);
        assert_eq!(bad.status().code(), 2);
        assert_eq!(
            bad.status_line(),
            "CINDER-SNAPSHOTS CRITICAL - 2 volumes, 1 without a snapshot (vol-b), oldest newest snapshot 1d3h46min40s (vol-a) | volumes=2 ok=0 warning=1 critical=1 oldest_age=100000s;93600;180000"
        );
        let none = report(vec![]);
        assert_eq!(none.status(), CheckStatus::Unknown);
        assert_eq!(none.status().code(), 3);
        assert_eq!(none.status_line(), "CINDER-SNAPSHOTS UNKNOWN - no volume selected | volumes=0 ok=0 warning=0 critical=0");
        let json = serde_json::to_value(&bad).unwrap();
        assert_eq!(json["status"], "CRITICAL");
        assert_eq!(json["code"], 2);
        assert_eq!(json["volumes"][1]["newest"], serde_json::Value::Null);
        assert_eq!(json["volumes"][0]["age_s"], 100_000.0);
    }
}
