//! Metrics of a run or a check in the Prometheus text format, for node_exporter's textfile
//! collector ([`MetricsFile`]).
//!
//! A file is written whole or not at all: to a temporary name in the same directory
//! (`.<name>.<pid>.tmp`, which the collector ignores: it reads `*.prom` only), flushed to
//! disk, then renamed over the old one. It has `# HELP` and `# TYPE` lines, no exposition
//! timestamps, and label values escaped as the format requires (`\` as `\\`, `"` as `\"`,
//! a line feed as `\n`), so a volume name holding them cannot make the collector reject
//! the file.
//!
//! Every file of a run has every metric family below; the label `policy` and `project`
//! (the client's project id, empty when unknown) identify the target:
//!
//! | metric | what |
//! | --- | --- |
//! | `cinder_snapshots_last_success_timestamp_seconds` | the end of the last successful run of this target (0: none yet); kept in the state directory, unchanged by a failed run |
//! | `cinder_snapshots_last_run_timestamp_seconds` | the time of the last run, whatever its outcome |
//! | `cinder_snapshots_last_run_success` | 1 when the last run succeeded ([`JobReport::is_success`]), else 0 |
//! | `cinder_snapshots_last_run_volumes{outcome}` | the last run's volumes: `selected`, `created`, `reused`, `available`, `failed`, `skipped` |
//! | `cinder_snapshots_last_run_pruned_snapshots` | snapshots the last run's prune deleted |
//! | `cinder_snapshots_last_run_prune_failures` | its prune failures |
//! | `cinder_snapshots_last_run_timed_out` | 1 when the last run's wait timed out |
//! | `cinder_snapshots_newest_snapshot_timestamp_seconds{volume_id,volume_name}` | per selected volume, the creation time of its newest `available` owned snapshot, as [`check`](super::check) finds it (0: none) |
//! | `cinder_snapshots_quota_free_snapshots{quota}` | the room left under `snapshots` and `snapshots_<type>` (`+Inf`: unlimited; no sample: unknown) |
//! | `cinder_snapshots_quota_free_bytes{quota}` | the room left under `gigabytes` and `gigabytes_<type>`, in bytes |
//! | `cinder_snapshots_metrics_complete` | 1 when the listing of the snapshots and the quota were read; 0 when some sample above is missing for that reason |
//!
//! A check's file ([`MetricsFile::write_check`]) has the newest snapshot times, the quota
//! families and `cinder_snapshots_metrics_complete` only: never `last_success`.
//!
//! Ages are times, not durations: the age is `time() - cinder_snapshots_newest_snapshot_timestamp_seconds`
//! in PromQL, true between runs too. The alert on a job that stopped succeeding, for a daily
//! window:
//!
//! ```text
//! time() - cinder_snapshots_last_success_timestamp_seconds > 1.5 * 86400
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{CheckOpts, CheckReport, JobOpts, JobReport};
use crate::client::ServiceClient;
use crate::error::Error;
use crate::quotas::{self, GIGABYTES, ProjectRoom, Room, SNAPSHOTS};

/// The prefix of every metric name.
pub const METRICS_PREFIX: &str = "cinder_snapshots_";

/// Bytes in a GiB.
const GIB: f64 = 1_073_741_824.0;

/// Where [`MetricsFile`] could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metrics file, its temporary file, or the state file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No state directory is known for the time of the last success: `XDG_STATE_HOME` is
    /// not an absolute path and `HOME` is not set (see [`MetricsFile::state_dir`]).
    #[error("no state directory for the last success: set XDG_STATE_HOME or HOME")]
    NoStateDir,
}

/// Where a run's or a check's metrics go, and where the time of the last success is kept.
///
/// ```no_run
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, JobOpts, MetricsFile};
/// use cinder_snapshots::retention::Policy;
/// let client = ServiceClient::from_env()?;
/// let opts = JobOpts::new(Policy::builder("nightly").keep_daily(7).build()?).select_tag("backup", "nightly");
/// let outcome = job::run(&client, &opts);
/// // Written whatever the outcome: a failed run keeps the last success's time.
/// let written = MetricsFile::new("/var/lib/node_exporter/textfile").write_run(&client, &opts, outcome.as_ref());
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsFile {
    path: PathBuf,
    state_dir: Option<PathBuf>,
}

impl MetricsFile {
    /// Metrics written to `path`; when `path` is a directory, to a file in it named after
    /// the target ([`file_name`](Self::file_name)).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MetricsFile { path: path.into(), state_dir: None }
    }

    /// The directory holding the time of each target's last success (default
    /// [`default_state_dir`](Self::default_state_dir)).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// `$XDG_STATE_HOME/cinder-snapshots/metrics` (an absolute `XDG_STATE_HOME`), else
    /// `~/.local/state/cinder-snapshots/metrics`; `None` when neither is known.
    pub fn default_state_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = var("XDG_STATE_HOME").filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(".local").join("state")))?;
        Some(base.join("cinder-snapshots").join("metrics"))
    }

    /// The file name used when the path is a directory:
    /// `cinder-snapshots-<policy>-<target>.prom` for a run and
    /// `cinder-snapshots-check-<policy>-<target>.prom` for a check, the policy id with every
    /// character but letters, digits, `-` and `_` as `_`, and `<target>` the 16 hex digits
    /// naming the cloud, the project and the policy (as the job's lock file and the state
    /// file are named), so that several targets share a directory.
    pub fn file_name(client: &ServiceClient, policy_id: &str, check: bool) -> String {
        let safe: String = policy_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let kind = if check { "check-" } else { "" };
        format!("cinder-snapshots-{kind}{safe}-{}.prom", target_hash(client, policy_id))
    }

    /// Writes the metrics of a run (`outcome`: what [`run`](super::run) returned) and, when
    /// it succeeded, first records its time as the target's last success. Reads, for the
    /// per-volume and quota families, the policy's snapshots through [`check`](super::check)'s
    /// listing and the room through [`quotas::room`]; when those reads fail, their samples
    /// are left out and `cinder_snapshots_metrics_complete` is 0. A dry run writes nothing
    /// (`Ok(None)`). Returns the file written.
    ///
    /// # Errors
    ///
    /// [`MetricsError`]: the state file or the metrics file could not be written (the old
    /// metrics file, if any, is then unchanged).
    pub fn write_run(
        &self,
        client: &ServiceClient,
        opts: &JobOpts,
        outcome: Result<&JobReport, &Error>,
    ) -> Result<Option<PathBuf>, MetricsError> {
        if opts.is_dry_run() || outcome.is_ok_and(JobReport::is_dry_run) {
            return Ok(None);
        }
        let policy = opts.policy();
        let now = opts.get_now().unwrap_or_else(OffsetDateTime::now_utc);
        let state = self.state_file(client, policy.id())?;
        let success = outcome.is_ok_and(JobReport::is_success);
        let last_success = if success {
            let t = now.unix_timestamp();
            write_atomic(&state, format!("{t}\n").as_bytes())?;
            t
        } else {
            read_last_success(&state)
        };
        let mut check = CheckOpts::new(policy.id(), std::time::Duration::MAX, std::time::Duration::MAX)
            .policy(policy.clone())
            .selection(opts.get_selection().clone());
        if let Some(n) = opts.get_page_size() {
            check = check.page_size(n);
        }
        if let Some(t) = opts.get_now() {
            check = check.now(t);
        }
        let listed = super::check(client, &check);
        let room = quotas::room(client);
        let labels = Labels::new(client, policy.id());
        let mut out = Text::default();
        out.family("last_success_timestamp_seconds", "The end of the last successful run of this target (0: none yet).");
        out.sample(&labels.base(), last_success);
        out.family("last_run_timestamp_seconds", "The time of the last run, whatever its outcome.");
        out.sample(&labels.base(), now.unix_timestamp());
        out.family("last_run_success", "1 when the last run succeeded, else 0.");
        out.sample(&labels.base(), i64::from(success));
        let totals = outcome.ok().map(JobReport::totals).unwrap_or_default();
        out.family("last_run_volumes", "The last run's volumes by outcome.");
        for (outcome_label, n) in [
            ("selected", totals.volumes),
            ("created", totals.created),
            ("reused", totals.reused),
            ("available", totals.available),
            ("failed", totals.failed),
            ("skipped", totals.skipped),
        ] {
            out.sample(&labels.with(&[("outcome", outcome_label)]), n);
        }
        out.family("last_run_pruned_snapshots", "Snapshots the last run's prune deleted.");
        out.sample(&labels.base(), totals.pruned);
        out.family("last_run_prune_failures", "The last run's prune failures.");
        out.sample(&labels.base(), totals.prune_failed);
        out.family("last_run_timed_out", "1 when the last run's wait timed out, else 0.");
        out.sample(&labels.base(), i64::from(outcome.is_ok_and(JobReport::timed_out)));
        let complete = newest_and_quota(&mut out, &labels, listed.as_ref().ok(), room.as_ref().ok());
        out.family("metrics_complete", "1 when the snapshots and the quota were read, else 0 (some samples are missing).");
        out.sample(&labels.base(), i64::from(complete));
        let path = self.target_path(client, policy.id(), false);
        write_atomic(&path, out.text.as_bytes())?;
        Ok(Some(path))
    }

    /// Writes the metrics of a check (`outcome`: what [`check`](super::check) returned): the
    /// newest snapshot time of each selected volume, the quota's room (read through
    /// [`quotas::room`]) and `cinder_snapshots_metrics_complete`; never the last success.
    /// A check that failed writes no per-volume sample (the series end, rather than stay at
    /// an old value). Returns the file written.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Io`]: the file could not be written (the old one is then unchanged).
    pub fn write_check(
        &self,
        client: &ServiceClient,
        opts: &CheckOpts,
        outcome: Result<&CheckReport, &Error>,
    ) -> Result<PathBuf, MetricsError> {
        let room = quotas::room(client);
        let labels = Labels::new(client, opts.policy_id());
        let mut out = Text::default();
        let complete = newest_and_quota(&mut out, &labels, outcome.ok(), room.as_ref().ok());
        out.family("metrics_complete", "1 when the snapshots and the quota were read, else 0 (some samples are missing).");
        out.sample(&labels.base(), i64::from(complete));
        let path = self.target_path(client, opts.policy_id(), true);
        write_atomic(&path, out.text.as_bytes())?;
        Ok(path)
    }

    /// The file to write: the path, or in a directory the target's file name.
    fn target_path(&self, client: &ServiceClient, policy_id: &str, check: bool) -> PathBuf {
        if self.path.is_dir() { self.path.join(Self::file_name(client, policy_id, check)) } else { self.path.clone() }
    }

    /// The file holding the target's last success: `<state dir>/last-success-<target>`.
    fn state_file(&self, client: &ServiceClient, policy_id: &str) -> Result<PathBuf, MetricsError> {
        let dir = self.state_dir.clone().or_else(Self::default_state_dir).ok_or(MetricsError::NoStateDir)?;
        Ok(dir.join(format!("last-success-{}", target_hash(client, policy_id))))
    }
}

/// The newest snapshot time of each volume (when listed) and the quota's room (when read);
/// whether both were.
fn newest_and_quota(out: &mut Text, labels: &Labels, listed: Option<&CheckReport>, room: Option<&ProjectRoom>) -> bool {
    out.family(
        "newest_snapshot_timestamp_seconds",
        "The creation time of the newest available snapshot the policy owns, per selected volume (0: none).",
    );
    for v in listed.map(CheckReport::volumes).unwrap_or_default() {
        let name = v.volume_name.as_deref().unwrap_or("");
        let at = v.newest.map_or(0, OffsetDateTime::unix_timestamp);
        out.sample(&labels.with(&[("volume_id", &v.volume_id), ("volume_name", name)]), at);
    }
    let keys = room.map(quota_keys).unwrap_or_default();
    out.family("quota_free_snapshots", "The snapshots the project's quota has room for (+Inf: unlimited).");
    for (key, r) in keys.iter().filter(|(k, _)| !k.starts_with(GIGABYTES)) {
        if let Some(v) = room_value(*r, 1.0) {
            out.sample_f(&labels.with(&[("quota", key)]), v);
        }
    }
    out.family("quota_free_bytes", "The bytes the project's gigabytes quota has room for (+Inf: unlimited).");
    for (key, r) in keys.iter().filter(|(k, _)| k.starts_with(GIGABYTES)) {
        if let Some(v) = room_value(*r, GIB) {
            out.sample_f(&labels.with(&[("quota", key)]), v);
        }
    }
    listed.is_some() && room.is_some()
}

/// The snapshot and gigabytes quota keys of a room, with their room, sorted.
fn quota_keys(room: &ProjectRoom) -> Vec<(String, Room)> {
    let wanted = |k: &str| k == SNAPSHOTS || k == GIGABYTES || k.starts_with("snapshots_") || k.starts_with("gigabytes_");
    let keys: Vec<String> = match (&room.quota_set, &room.limits) {
        (Some(set), _) => set.usages.keys().filter(|k| wanted(k)).cloned().collect(),
        (None, Some(_)) => vec![GIGABYTES.to_owned(), SNAPSHOTS.to_owned()],
        (None, None) => Vec::new(),
    };
    keys.into_iter().map(|k| (k.clone(), room.room(&k))).collect()
}

/// A room as a sample's value: `+Inf` unlimited, `None` unknown.
fn room_value(room: Room, unit: f64) -> Option<f64> {
    match room {
        Room::Unlimited => Some(f64::INFINITY),
        // Exact below 2^53 (u64 GiB beyond that is no real quota).
        #[allow(clippy::cast_precision_loss)]
        Room::Left(n) => Some(n as f64 * unit),
        Room::Unknown => None,
    }
}

/// The target's 16 hex digits, as the job's lock file names them ([`super::target_hash`]);
/// for a client with neither credentials nor an endpoint, the policy's alone.
fn target_hash(client: &ServiceClient, policy_id: &str) -> String {
    super::target_hash(client, policy_id)
        .unwrap_or_else(|| format!("{:016x}", crate::auth::fnv1a(format!("policy {policy_id}").as_bytes())))
}

/// The last success kept in `path`; 0 when there is none or it is not a time (the alert
/// fires rather than trust it).
fn read_last_success(path: &Path) -> i64 {
    fs::read_to_string(path).ok().and_then(|t| t.trim().parse::<i64>().ok()).filter(|t| *t >= 0).unwrap_or(0)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MetricsError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| MetricsError::Io { path: p, source }
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    // The rename itself on disk: best effort (not every file system can sync a directory).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The target's labels.
struct Labels {
    policy: String,
    project: String,
}

impl Labels {
    fn new(client: &ServiceClient, policy_id: &str) -> Self {
        Labels { policy: policy_id.to_owned(), project: client.project_id().ok().flatten().unwrap_or_default() }
    }

    /// `{policy="...",project="..."}`.
    fn base(&self) -> String {
        self.with(&[])
    }

    /// The target's labels and these, escaped.
    fn with(&self, more: &[(&str, &str)]) -> String {
        let mut pairs = vec![("policy", self.policy.as_str()), ("project", self.project.as_str())];
        pairs.extend_from_slice(more);
        let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
        format!("{{{}}}", inner.join(","))
    }
}

/// A label value as the text format requires: `\` as `\\`, `"` as `\"`, a line feed as
/// `\n`.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The file's text, family after family.
#[derive(Default)]
struct Text {
    text: String,
    name: String,
}

impl Text {
    /// Starts a gauge family: its `# HELP` and `# TYPE` lines.
    fn family(&mut self, name: &str, help: &str) {
        self.name = format!("{METRICS_PREFIX}{name}");
        self.text.push_str(&format!("# HELP {} {help}\n# TYPE {} gauge\n", self.name, self.name));
    }

    /// An integer sample of the current family.
    fn sample(&mut self, labels: &str, value: impl std::fmt::Display) {
        self.text.push_str(&format!("{}{labels} {value}\n", self.name));
    }

    /// A float sample (`+Inf` for infinity).
    fn sample_f(&mut self, labels: &str, value: f64) {
        if value.is_infinite() {
            self.sample(labels, if value > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            self.sample(labels, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd\re"), "a\\\\b\\\"c\\nd\re");
        let mut t = Text::default();
        t.family("x", "X.");
        t.sample_f("{a=\"1\"}", f64::INFINITY);
        t.sample_f("{a=\"2\"}", 1_073_741_824.0 * 3.0);
        assert_eq!(
            t.text,
            "# HELP cinder_snapshots_x X.\n# TYPE cinder_snapshots_x gauge\ncinder_snapshots_x{a=\"1\"} +Inf\ncinder_snapshots_x{a=\"2\"} 3221225472\n"
        );
    }

    #[test]
    fn a_garbled_state_file_reads_as_no_success() {
        let dir = std::env::temp_dir().join(format!("cs-metrics-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s");
        for (text, want) in [("1764554400\n", 1_764_554_400), ("x", 0), ("-5", 0), ("", 0)] {
            fs::write(&p, text).unwrap();
            assert_eq!(read_last_success(&p), want, "{text:?}");
        }
        assert_eq!(read_last_success(&dir.join("missing")), 0);
        let _ = fs::remove_dir_all(&dir);
    }
}
