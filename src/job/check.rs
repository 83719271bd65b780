//! The monitoring check: the age of the newest `available` snapshot a policy owns, per
//! selected volume, against a warning and a critical age; and what else shows that the
//! snapshots are not what the job promises (snapshots in error, two in one window, more
//! than the policy keeps, snapshots dated in the future, a cloud clock far from the host's,
//! owned snapshots of volumes no longer selected, volumes nobody selects).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;

use super::{Selection, WINDOW_KEY};
use crate::client::{CLOCK_SKEW_ALLOWED, ServiceClient};
use crate::error::{Error, Result};
use crate::retention::{Policy, format_duration};
use crate::snapshots::{Snapshot, SnapshotStatus};
use crate::volumes;

/// How long [`check`] may take unless told otherwise (50 s: below the usual 60 s plugin
/// timeout of monitoring systems), every request included; then it fails (UNKNOWN).
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(50);

/// The volume metadata key that, set to `true`, tells [`check`]'s
/// [`warn_uncovered`](CheckOpts::warn_uncovered) that a volume is left out on purpose.
pub const EXCLUDE_KEY: &str = "cinder-snapshots.exclude";

/// The most characters of the first line of [`CheckReport::output`] before its
/// performance data.
pub const FIRST_LINE_MAX: usize = 80;

/// What [`check`] looks at: the policy id, the ages, the volumes.
///
/// ```
/// use std::time::Duration;
/// use cinder_snapshots::job::CheckOpts;
/// let opts = CheckOpts::new("nightly", Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600))
///     .select_tag("backup", "nightly");
/// assert_eq!(opts.policy_id(), "nightly");
/// assert_eq!(opts.get_timeout(), Duration::from_secs(50));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CheckOpts {
    policy_id: String,
    rules: Option<Policy>,
    warn: Duration,
    crit: Duration,
    selection: Selection,
    now: Option<OffsetDateTime>,
    page_size: Option<u32>,
    timeout: Duration,
    ends_by: Option<Instant>,
    warn_uncovered: bool,
}

impl CheckOpts {
    /// A check of the snapshots owned by `policy_id`: a volume whose newest one is at least
    /// `warn` old is WARNING, at least `crit` old (or with none) CRITICAL.
    pub fn new(policy_id: impl Into<String>, warn: Duration, crit: Duration) -> Self {
        CheckOpts {
            policy_id: policy_id.into(),
            rules: None,
            warn,
            crit,
            selection: Selection::new(),
            now: None,
            page_size: None,
            timeout: DEFAULT_CHECK_TIMEOUT,
            ends_by: None,
            warn_uncovered: false,
        }
    }

    super::opts::selection_setters!();

    /// The policy with its rules, as [`run`](super::run) has it (its id replaces the one
    /// given to [`new`](Self::new)): a volume holding more owned snapshots than the rules
    /// can keep plus one (this window's, before the prune) is WARNING, as pruning has
    /// stopped working. The rules keep at most the sum of their counts; a policy with
    /// `keep_within` has no such bound, and the count is then not judged.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy_id = policy.id().to_owned();
        self.rules = Some(policy);
        self
    }

    /// One deadline for the whole check, every request (and retry) included (default
    /// [`DEFAULT_CHECK_TIMEOUT`]): past it the check fails with a transport error of kind
    /// [`Timeout`](crate::TransportErrorKind::Timeout) (a monitoring front says UNKNOWN).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// An instant the check ends by whatever time its [`timeout`](Self::timeout) leaves:
    /// for a caller that spent part of the check's time before it (the flag form of `check`
    /// connects first, then checks, within one `--timeout`). The earlier of the two wins.
    pub fn ends_by(mut self, instant: Instant) -> Self {
        self.ends_by = Some(instant);
        self
    }

    /// Also list every volume of the project (of every project with
    /// [`all_projects`](Self::all_projects)): a volume the selection does not cover and
    /// whose metadata does not say [`EXCLUDE_KEY`]`=true` makes the check WARNING.
    pub fn warn_uncovered(mut self, warn: bool) -> Self {
        self.warn_uncovered = warn;
        self
    }

    /// The time ages are measured at (default: Cinder's clock, read from the `Date` of its
    /// answers). With a fixed time the clocks' skew is not judged.
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

    /// The policy with its rules, when given.
    pub fn get_policy(&self) -> Option<&Policy> {
        self.rules.as_ref()
    }

    /// The most owned snapshots of a volume the rules keep ([`Policy::max_kept`]), when a
    /// policy with rules that bound it was given (not with `keep_within` or
    /// `keep_within_*`). Pinned snapshots come on top and are not counted against it.
    pub fn keep_limit(&self) -> Option<u32> {
        self.rules.as_ref()?.max_kept()
    }

    /// The warning age.
    pub fn warn(&self) -> Duration {
        self.warn
    }

    /// The critical age.
    pub fn crit(&self) -> Duration {
        self.crit
    }

    /// The deadline of the whole check.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether volumes nobody selects are looked for.
    pub fn is_warn_uncovered(&self) -> bool {
        self.warn_uncovered
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
    /// Every volume has a recent enough snapshot and nothing is amiss.
    Ok,
    /// Some volume's newest snapshot is at least the warning age, or something is amiss
    /// (see [`check`]).
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

    /// The worse of two.
    fn worst(self, other: CheckStatus) -> CheckStatus {
        if other.rank() > self.rank() { other } else { self }
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
    /// When Cinder created the volume.
    pub volume_created: Option<OffsetDateTime>,
    /// Its size in GiB (what each of its snapshots takes of the `gigabytes` quota; not in
    /// the check's JSON).
    pub volume_size: u64,
    /// Its owned snapshots that are pinned (kept beyond the rules; not in the check's JSON).
    pub pinned: usize,
    /// The newest `available` snapshot the policy owns that is not dated in the future
    /// (beyond [`CLOCK_SKEW_ALLOWED`]): its creation time.
    pub newest: Option<OffsetDateTime>,
    /// That snapshot's id.
    pub snapshot_id: Option<String>,
    /// Its age at the check's time (zero for one dated less than [`CLOCK_SKEW_ALLOWED`] ahead).
    pub age: Option<Duration>,
    /// The age the volume is judged by: [`age`](Self::age), or without a snapshot the time
    /// since the volume was created (never zero for lack of a snapshot; the critical age
    /// when Cinder gave no creation time).
    pub judged_age: Duration,
    /// The owned snapshots of the volume, any status but `deleting`.
    pub owned: usize,
    /// Their size in GiB.
    pub owned_gib: u64,
    /// How many of them are more than the policy keeps plus one
    /// ([`CheckOpts::policy`]; 0 without one).
    pub excess: usize,
    /// Owned snapshots in `error` or `error_deleting`.
    pub errors: usize,
    /// Their size in GiB.
    pub error_gib: u64,
    /// Owned snapshots made for a window that has a newer owned one (two runs at once):
    /// the older ones, not in error.
    pub duplicates: usize,
    /// Their size in GiB.
    pub duplicate_gib: u64,
    /// Owned snapshots dated more than [`CLOCK_SKEW_ALLOWED`] after the check's time.
    pub future: usize,
    /// OK, WARNING (old, or anything above not zero), or CRITICAL (too old, or no
    /// snapshot, or a refused [policy choice](Self::policy_choice)).
    pub status: CheckStatus,
    /// The volume named, in its [`POLICIES_KEY`](super::POLICIES_KEY) metadata, a policy
    /// its selection does not list: CRITICAL, not judged by age (its snapshots are not
    /// counted).
    pub policy_choice: Option<super::PolicyChoiceError>,
}

impl CheckVolume {
    /// The name, else the id.
    pub fn label(&self) -> &str {
        self.volume_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.volume_id)
    }

    /// What is wrong with it, in words (empty when OK); cloud text escaped.
    fn reasons(&self, report: &CheckReport) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(choice) = &self.policy_choice {
            out.push(format!(
                "{}={:?} names {:?}, not one of the policies of its selection ({})",
                super::POLICIES_KEY,
                choice.given,
                choice.unknown,
                choice.allowed
            ));
            return out;
        }
        match (self.age, self.volume_created) {
            (Some(age), _) => out.push(format!("newest snapshot {} old", whole(age))),
            (None, Some(_)) => out.push(format!("no snapshot, volume created {} ago", whole(self.judged_age))),
            (None, None) => out.push("no snapshot".to_owned()),
        }
        if self.future > 0 {
            out.push(format!("{} dated in the future (more than {} ahead)", plural(self.future, "snapshot"), whole(CLOCK_SKEW_ALLOWED)));
        }
        if self.errors > 0 {
            out.push(format!("{} in error ({} GiB)", plural(self.errors, "snapshot"), self.error_gib));
        }
        if self.duplicates > 0 {
            out.push(format!("{} in a window that has a newer one ({} GiB)", plural(self.duplicates, "snapshot"), self.duplicate_gib));
        }
        if self.excess > 0 {
            let limit = report.keep_limit.unwrap_or_default();
            out.push(format!(
                "{} ({} GiB), more than the {limit} the policy keeps plus one: is the prune running?",
                plural(self.owned, "snapshot"),
                self.owned_gib
            ));
        }
        out
    }
}

/// `{"volume_id", "volume_name", "volume_created", "newest", "snapshot_id", "age_s",
/// "judged_age_s", "owned", "owned_gib", "excess", "errors", "error_gib", "duplicates",
/// "duplicate_gib", "future", "status"}`.
impl Serialize for CheckVolume {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckVolume", 16)?;
        st.serialize_field("volume_id", &self.volume_id)?;
        st.serialize_field("volume_name", &self.volume_name)?;
        st.serialize_field("volume_created", &self.volume_created.map(super::label_time))?;
        st.serialize_field("newest", &self.newest.map(super::label_time))?;
        st.serialize_field("snapshot_id", &self.snapshot_id)?;
        st.serialize_field("age_s", &self.age.map(|a| a.as_secs_f64()))?;
        st.serialize_field("judged_age_s", &self.judged_age.as_secs_f64())?;
        st.serialize_field("owned", &self.owned)?;
        st.serialize_field("owned_gib", &self.owned_gib)?;
        st.serialize_field("excess", &self.excess)?;
        st.serialize_field("errors", &self.errors)?;
        st.serialize_field("error_gib", &self.error_gib)?;
        st.serialize_field("duplicates", &self.duplicates)?;
        st.serialize_field("duplicate_gib", &self.duplicate_gib)?;
        st.serialize_field("future", &self.future)?;
        st.serialize_field("status", &self.status)?;
        if let Some(choice) = &self.policy_choice {
            st.serialize_field("policy_choice", choice)?;
        }
        st.end()
    }
}

/// Things outside the selected volumes: owned snapshots of volumes the selection does not
/// cover, or volumes nobody covers ([`CheckReport::unselected`], [`CheckReport::uncovered`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stray {
    /// How many: snapshots (unselected) or volumes (uncovered).
    pub count: usize,
    /// Their size in GiB.
    pub gib: u64,
    /// The volumes concerned: names (else ids) of uncovered volumes, ids of unselected
    /// ones; sorted, each once.
    pub volumes: Vec<String>,
}

/// The result of a [`check`].
#[derive(Debug, Clone)]
pub struct CheckReport {
    policy_id: String,
    warn: Duration,
    crit: Duration,
    now: OffsetDateTime,
    volumes: Vec<CheckVolume>,
    keep_limit: Option<u32>,
    clock_offset: Option<time::Duration>,
    unselected: Stray,
    uncovered: Option<Stray>,
    /// Volumes of the selection left to other jobs (done by another job of the policy, or
    /// whose policy choice leaves this one out): with no volume else, not "no volume matched".
    elsewhere: usize,
}

impl CheckReport {
    /// The worst status of the volumes, and WARNING at least when the cloud's clock is
    /// more than [`CLOCK_SKEW_ALLOWED`] away, owned snapshots of unselected volumes exist, or
    /// (when looked for) uncovered volumes; [`CheckStatus::Unknown`] when no volume matched
    /// (OK when every volume matched is left to other jobs of the policy or chose another
    /// policy).
    pub fn status(&self) -> CheckStatus {
        if self.volumes.is_empty() {
            return if self.elsewhere > 0 { CheckStatus::Ok } else { CheckStatus::Unknown };
        }
        let worst = self.volumes.iter().fold(CheckStatus::Ok, |w, v| w.worst(v.status));
        if self.problems().is_empty() { worst } else { worst.worst(CheckStatus::Warning) }
    }

    /// Every selected volume, in the order selected.
    pub fn volumes(&self) -> &[CheckVolume] {
        &self.volumes
    }

    /// The time the ages were measured at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// Cinder's clock minus the host's, when known (not judged with a fixed
    /// [`CheckOpts::now`]).
    pub fn clock_offset(&self) -> Option<time::Duration> {
        self.clock_offset
    }

    /// Owned snapshots (not `deleting`) of volumes the selection does not cover.
    pub fn unselected(&self) -> &Stray {
        &self.unselected
    }

    /// Volumes nobody covers (not selected, not excluded), when
    /// [`CheckOpts::warn_uncovered`] asked.
    pub fn uncovered(&self) -> Option<&Stray> {
        self.uncovered.as_ref()
    }

    /// The problems outside the selected volumes, one line each (WARNING).
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(offset) = self.clock_offset.filter(|o| o.unsigned_abs() > CLOCK_SKEW_ALLOWED) {
            let way = if offset.is_negative() { "behind" } else { "ahead of" };
            out.push(format!(
                "WARNING clock: Cinder's clock is {} {way} this host's (more than {})",
                whole(offset.unsigned_abs()),
                whole(CLOCK_SKEW_ALLOWED)
            ));
        }
        if self.unselected.count > 0 {
            out.push(format!(
                "WARNING unselected: {} ({} GiB) owned by {} on {} the selection does not cover: {}",
                plural(self.unselected.count, "snapshot"),
                self.unselected.gib,
                escape(&self.policy_id),
                plural(self.unselected.volumes.len(), "volume"),
                names(&self.unselected.volumes, 5)
            ));
        }
        if let Some(u) = self.uncovered.as_ref().filter(|u| u.count > 0) {
            out.push(format!(
                "WARNING uncovered: {} ({} GiB) not in this selection and not excluded ({EXCLUDE_KEY}=true): {}",
                plural(u.count, "volume"),
                u.gib,
                names(&u.volumes, 5)
            ));
        }
        out
    }

    /// The first line, as monitoring plugins print it: the state, the counts and up to
    /// three volume names in at most [`FIRST_LINE_MAX`] characters, then ` | ` and the
    /// performance data ([`perfdata`](Self::perfdata)):
    /// `CINDER-SNAPSHOTS CRITICAL - 3 volumes, 1 critical, 1 warning: vol-02, vol-00 | age=...`.
    /// Cloud text (names) is escaped: no control character, no line break and no `|`
    /// comes from it, so the line holds exactly one `|`.
    pub fn status_line(&self) -> String {
        let status = self.status();
        let head = format!("CINDER-SNAPSHOTS {status} - ");
        let n = self.volumes.len();
        let text = if n == 0 {
            "no volume selected".to_owned()
        } else {
            let count = |s: CheckStatus| self.volumes.iter().filter(|v| v.status == s).count();
            let (crit, warn) = (count(CheckStatus::Critical), count(CheckStatus::Warning));
            let mut parts = vec![plural(n, "volume")];
            if crit > 0 {
                parts.push(format!("{crit} critical"));
            }
            if warn > 0 {
                parts.push(format!("{warn} warning"));
            }
            let others = self.problems().len();
            if others > 0 {
                parts.push(plural(others, "other problem"));
            }
            if crit == 0 && warn == 0 {
                parts.push(format!("oldest {}", whole(self.max_age())));
            }
            let mut text = parts.join(", ");
            let named: Vec<String> = self.bad_volumes().take(3).map(|v| escape(v.label())).collect();
            let room = FIRST_LINE_MAX.saturating_sub(head.chars().count() + text.chars().count() + 2);
            if !named.is_empty() && room >= 8 {
                text.push_str(": ");
                text.push_str(&fit(&named.join(", "), room));
            }
            text
        };
        let first = fit(&format!("{head}{text}"), FIRST_LINE_MAX);
        format!("{first} | {}", self.perfdata())
    }

    /// The lines after the first: each volume in CRITICAL, then each in WARNING, with its
    /// age and what is wrong (`CRITICAL vol-02: no snapshot, volume created 3d ago`), then
    /// the problems outside the selected volumes (clock, unselected, uncovered). Cloud text
    /// escaped; no `|`.
    pub fn details(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.bad_volumes().map(|v| format!("{} {}: {}", v.status, escape(v.label()), v.reasons(self).join("; "))).collect();
        out.extend(self.problems());
        out
    }

    /// The whole output of the plugin: [`status_line`](Self::status_line) then
    /// [`details`](Self::details), each line ended by `\n`.
    pub fn output(&self) -> String {
        let mut out = self.status_line();
        out.push('\n');
        for line in self.details() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The performance data, as the monitoring-plugins guidelines write it
    /// (`label=value[UOM];warn;crit;min;max`), every metric in every state, in this order:
    ///
    /// | label | value |
    /// |---|---|
    /// | `age` | seconds (`s`): the oldest of the volumes' judged ages (newest snapshot's age, or since creation without one), with `--warn` and `--crit` as thresholds, min 0 |
    /// | `volumes`, `ok`, `warning`, `critical` | selected volumes, and how many are in each state |
    /// | `snapshots`, `size` | owned snapshots of the selected volumes (not `deleting`), and their size in bytes (`B`) |
    /// | `errors`, `duplicates`, `excess`, `future` | of those: in error, older ones in a window with a newer one, more than the policy keeps plus one, dated in the future |
    /// | `unselected` | owned snapshots of volumes the selection does not cover |
    /// | `uncovered` | volumes nobody covers; `U` (unknown) unless looked for |
    /// | `skew` | seconds (`s`) between Cinder's clock and the host's, warning at 300; `U` when not known |
    ///
    /// Counts carry min 0 and no thresholds. Numbers in the C locale (no grouping).
    pub fn perfdata(&self) -> String {
        let sum = |f: fn(&CheckVolume) -> usize| self.volumes.iter().map(f).fold(0usize, usize::saturating_add);
        let count = |s: CheckStatus| self.volumes.iter().filter(|v| v.status == s).count();
        let gib = self.volumes.iter().map(|v| v.owned_gib).fold(0u64, u64::saturating_add);
        let bytes = gib.saturating_mul(1 << 30);
        let uncovered = self.uncovered.as_ref().map_or_else(|| "U".to_owned(), |u| u.count.to_string());
        let skew = self.clock_offset.map_or_else(|| "U".to_owned(), |o| format!("{}s", o.unsigned_abs().as_secs()));
        format!(
            "age={}s;{};{};0 volumes={};;;0 ok={};;;0 warning={};;;0 critical={};;;0 snapshots={};;;0 size={bytes}B;;;0 \
             errors={};;;0 duplicates={};;;0 excess={};;;0 future={};;;0 unselected={};;;0 uncovered={uncovered};;;0 skew={skew};{};;0",
            self.max_age().as_secs(),
            self.warn.as_secs(),
            self.crit.as_secs(),
            self.volumes.len(),
            count(CheckStatus::Ok),
            count(CheckStatus::Warning),
            count(CheckStatus::Critical),
            sum(|v| v.owned),
            sum(|v| v.errors),
            sum(|v| v.duplicates),
            sum(|v| v.excess),
            sum(|v| v.future),
            self.unselected.count,
            CLOCK_SKEW_ALLOWED.as_secs(),
        )
    }

    /// The oldest judged age (zero with no volume).
    fn max_age(&self) -> Duration {
        self.volumes.iter().map(|v| v.judged_age).max().unwrap_or_default()
    }

    /// The volumes in CRITICAL, then those in WARNING, each in selection order.
    fn bad_volumes(&self) -> impl Iterator<Item = &CheckVolume> {
        let of = |s: CheckStatus| self.volumes.iter().filter(move |v| v.status == s);
        of(CheckStatus::Critical).chain(of(CheckStatus::Warning))
    }
}

/// `{"policy", "status", "code", "status_line", "details", "now", "warn_s", "crit_s",
/// "keep_limit", "clock_offset_s", "unselected", "uncovered", "volumes": [..]}`.
impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckReport", 13)?;
        st.serialize_field("policy", &self.policy_id)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("code", &self.status().code())?;
        st.serialize_field("status_line", &self.status_line())?;
        st.serialize_field("details", &self.details())?;
        st.serialize_field("now", &super::label_time(self.now))?;
        st.serialize_field("warn_s", &self.warn.as_secs_f64())?;
        st.serialize_field("crit_s", &self.crit.as_secs_f64())?;
        st.serialize_field("keep_limit", &self.keep_limit)?;
        st.serialize_field("clock_offset_s", &self.clock_offset.map(|o| o.as_seconds_f64()))?;
        st.serialize_field("unselected", &self.unselected)?;
        st.serialize_field("uncovered", &self.uncovered)?;
        st.serialize_field("volumes", &self.volumes)?;
        st.end()
    }
}

/// What a monitoring plugin prints for a check that could not be made (an error, a wrong
/// command line): `CINDER-SNAPSHOTS UNKNOWN - <message>` in at most [`FIRST_LINE_MAX`]
/// characters, and, when the message did not fit, the whole message on a second line;
/// the message escaped (no control character, line break or `|`). Ends with `\n`.
///
/// ```
/// let text = cinder_snapshots::job::unknown_output("GET http://h/x|y failed");
/// assert_eq!(text, "CINDER-SNAPSHOTS UNKNOWN - GET http://h/x\\u{7c}y failed\n");
/// ```
pub fn unknown_output(message: &str) -> String {
    let message = escape(message);
    let line = format!("CINDER-SNAPSHOTS UNKNOWN - {message}");
    if line.chars().count() <= FIRST_LINE_MAX { format!("{line}\n") } else { format!("{}\n{message}\n", fit(&line, FIRST_LINE_MAX)) }
}

/// `text` with every character that could change the shape of a plugin's output escaped
/// as `\u{..}`: control characters (C0, C1: line breaks, ESC), the Unicode line and
/// paragraph separators, bidirectional overrides, and `|` (the performance data
/// separator).
pub(crate) fn escape(text: &str) -> String {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '|' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    text.chars().map(|c| if unsafe_char(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

/// `text` cut to `max` characters, the cut marked with `...`.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// `1 volume`, `3 volumes`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A duration in whole seconds, as `1d10h`.
fn whole(d: Duration) -> String {
    format_duration(Duration::from_secs(d.as_secs()))
}

/// Up to `max` names, escaped, joined; `...` when there are more.
fn names(all: &[String], max: usize) -> String {
    let shown: Vec<String> = all.iter().take(max).map(|n| escape(n)).collect();
    let more = if all.len() > max { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// What the owned snapshots of one selected volume add up to.
#[derive(Default)]
struct Tally {
    owned: usize,
    owned_gib: u64,
    /// Pinned ones (on top of what the rules keep).
    pinned: usize,
    errors: usize,
    error_gib: u64,
    future: usize,
    newest: Option<(OffsetDateTime, String)>,
    /// Per window label: (created, size) of each owned snapshot not in error.
    windows: BTreeMap<String, Vec<(Option<OffsetDateTime>, u64)>>,
}

/// Checks the snapshots a policy owns on each selected volume: the selection's listings to
/// the last page, then ONE listing of the policy's snapshots (any status) to the last page
/// (server-side `metadata` filter from 3.22; ownership checked here either way); with
/// [`CheckOpts::warn_uncovered`], one listing of every volume too. Every request, retries
/// included, ends within [`CheckOpts::timeout`] (one deadline for the whole check).
///
/// Each volume is judged by its newest `available` owned snapshot that is not dated more
/// than [`CLOCK_SKEW_ALLOWED`] in the future, on Cinder's clock (the `Date` of its answers;
/// [`CheckOpts::now`] wins): at least `crit` old, or none, is CRITICAL; at least `warn`
/// old, WARNING; else OK. A volume is WARNING at least when it also has owned snapshots in
/// `error` or `error_deleting`, two owned snapshots for one window (two runs at once),
/// more owned snapshots than [`CheckOpts::policy`] keeps plus one, or owned snapshots dated
/// in the future. The report is WARNING at least when Cinder's clock is more than
/// [`CLOCK_SKEW_ALLOWED`] from the host's, when the policy owns snapshots of volumes the
/// selection does not cover, or (asked) when a volume is covered by no selection and not
/// excluded. Its status is the worst; UNKNOWN when the selection matched no volume.
///
/// # Errors
///
/// An empty selection ([`Error::InvalidInput`](crate::Error::InvalidInput) "no volumes
/// selected"), a policy id that is not one ([`Error::Config`](crate::Error::Config)), any
/// listing's error (a listing is complete or an error, never judged in part), and the
/// deadline ([`Error::Transport`](crate::Error::Transport) of kind
/// [`Timeout`](crate::TransportErrorKind::Timeout)). A monitoring front reports an error
/// as UNKNOWN ([`unknown_output`]).
///
/// ```no_run
/// use std::time::Duration;
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, CheckOpts};
/// let client = ServiceClient::from_env()?;
/// let opts = CheckOpts::new("nightly", Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600))
///     .select_tag("backup", "nightly");
/// let report = job::check(&client, &opts)?;
/// print!("{}", report.output());
/// std::process::exit(i32::from(report.status().code()));
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn check(client: &ServiceClient, opts: &CheckOpts) -> Result<CheckReport> {
    if opts.selection.is_empty() {
        return Err(super::opts::no_selection());
    }
    // The id must be one a policy can have: usable as a label value and in the listing's
    // filter (ownership is asked by the id alone).
    Policy::validate_id(&opts.policy_id)?;
    // One deadline for every request from here on (none for a timeout beyond the clock).
    let bounded;
    let own = Instant::now().checked_add(opts.timeout);
    let client = match own.into_iter().chain(opts.ends_by).min() {
        Some(deadline) => {
            bounded = client.with_deadline(deadline);
            &bounded
        }
        None => client,
    };
    if opts.selection.is_all_projects() {
        // A member's all_tenants is dropped by Cinder without a word: the check would judge
        // the caller's own project only. Refused instead (UNKNOWN from the tool).
        crate::volumes::require_admin_view(client)?;
    }
    let resolved = opts.selection.resolve_all(client, opts.page_size, &opts.policy_id)?;
    let mut refused: Vec<super::PolicyChoiceError> = Vec::new();
    for m in resolved.missing {
        match m.error {
            Error::PolicyChoice(e) => refused.push(*e),
            // A volume named that does not resolve: the check cannot judge the selection.
            error => return Err(error),
        }
    }
    let selected = resolved.found;
    let elsewhere = resolved.elsewhere;
    let index: HashMap<&str, usize> = selected.iter().enumerate().map(|(i, v)| (v.id.as_str(), i)).collect();
    let mut tallies: Vec<Tally> = selected.iter().map(|_| Tally::default()).collect();
    let mut unselected = Stray::default();
    let mut unselected_ids: BTreeSet<String> = BTreeSet::new();
    let mut owned: Vec<Snapshot> = Vec::new();
    let mv = client.microversion()?;
    if !selected.is_empty() {
        let mut query = super::OwnedQuery::new(opts.policy_id.as_str()).all_projects(opts.selection.is_all_projects());
        if let Some(n) = opts.page_size {
            query = query.page_size(n);
        }
        for snap in super::owned(client, &query)? {
            let snap = snap?;
            if snap.status != SnapshotStatus::Deleting {
                owned.push(snap);
            }
        }
    }
    let uncovered = if opts.warn_uncovered && !selected.is_empty() {
        let mut stray = Stray::default();
        if !opts.selection.is_all() {
            let mut list =
                volumes::ListOpts::new().all_projects(opts.selection.is_all_projects()).with_count(mv >= crate::paging::WITH_COUNT);
            if let Some(n) = opts.page_size {
                list = list.limit(n);
            }
            let mut found: BTreeSet<String> = BTreeSet::new();
            for volume in volumes::list_detail(client, &list)? {
                let volume = volume?;
                let excluded = volume.metadata.get(EXCLUDE_KEY).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                if index.contains_key(volume.id.as_str()) || excluded {
                    continue;
                }
                stray.count = stray.count.saturating_add(1);
                stray.gib = stray.gib.saturating_add(volume.size);
                found.insert(volume.name.filter(|n| !n.is_empty()).unwrap_or(volume.id));
            }
            stray.volumes = found.into_iter().collect();
        }
        Some(stray)
    } else {
        None
    };
    // The time, read after the answers so that Cinder's clock is known.
    let (now, clock_offset) = match opts.now {
        Some(now) => (now, None),
        None => (client.now(), client.clock_offset()),
    };
    let skew = time::Duration::try_from(CLOCK_SKEW_ALLOWED).unwrap_or(time::Duration::ZERO);
    let future_from = now.checked_add(skew).unwrap_or(now);
    for snap in owned {
        let Some(&i) = index.get(snap.volume_id.as_str()) else {
            unselected.count = unselected.count.saturating_add(1);
            unselected.gib = unselected.gib.saturating_add(snap.size);
            unselected_ids.insert(snap.volume_id);
            continue;
        };
        let Some(t) = tallies.get_mut(i) else { continue };
        t.owned = t.owned.saturating_add(1);
        t.owned_gib = t.owned_gib.saturating_add(snap.size);
        if crate::retention::is_pinned(&snap) {
            t.pinned = t.pinned.saturating_add(1);
        }
        let in_future = snap.created_at.is_some_and(|at| at > future_from);
        if in_future {
            t.future = t.future.saturating_add(1);
        }
        if matches!(snap.status, SnapshotStatus::Error | SnapshotStatus::ErrorDeleting) {
            t.errors = t.errors.saturating_add(1);
            t.error_gib = t.error_gib.saturating_add(snap.size);
            continue;
        }
        if let Some(window) = snap.metadata.get(WINDOW_KEY) {
            t.windows.entry(window.clone()).or_default().push((snap.created_at, snap.size));
        }
        if snap.status == SnapshotStatus::Available && !in_future {
            if let Some(at) = snap.created_at {
                let newer = t.newest.as_ref().is_none_or(|(n, id)| at > *n || (at == *n && snap.id < *id));
                if newer {
                    t.newest = Some((at, snap.id));
                }
            }
        }
    }
    unselected.volumes = unselected_ids.into_iter().collect();
    let keep_limit = opts.keep_limit();
    let age_at = |at: OffsetDateTime| Duration::try_from((now - at).max(time::Duration::ZERO)).unwrap_or(Duration::MAX);
    let volumes = selected
        .into_iter()
        .zip(tallies)
        .map(|(v, mut t)| {
            let (mut duplicates, mut duplicate_gib) = (0usize, 0u64);
            for snaps in t.windows.values_mut().filter(|s| s.len() > 1) {
                // All but the newest (a snapshot without a date counts as the oldest).
                snaps.sort();
                for (_, size) in snaps.iter().take(snaps.len().saturating_sub(1)) {
                    duplicates = duplicates.saturating_add(1);
                    duplicate_gib = duplicate_gib.saturating_add(*size);
                }
            }
            let age = t.newest.as_ref().map(|(at, _)| age_at(*at));
            // Without a snapshot: the time since the volume was created, at least 1 s (the
            // critical age when that time is unknown or further in the future than the clocks'
            // allowed skew; within it, as for a snapshot, the volume is just made).
            let since_created = || v.created_at.filter(|c| *c <= future_from).map(|c| age_at(c).max(Duration::from_secs(1)));
            let judged_age = age.or_else(since_created).unwrap_or(opts.crit);
            let excess = keep_limit
                .map_or(0, |l| t.owned.saturating_sub(t.pinned).saturating_sub(usize::try_from(l).unwrap_or(usize::MAX).saturating_add(1)));
            let mut status = match age {
                None => CheckStatus::Critical,
                Some(a) if a >= opts.crit => CheckStatus::Critical,
                Some(a) if a >= opts.warn => CheckStatus::Warning,
                Some(_) => CheckStatus::Ok,
            };
            if t.errors > 0 || duplicates > 0 || excess > 0 || t.future > 0 {
                status = status.worst(CheckStatus::Warning);
            }
            let (newest, snapshot_id) = t.newest.map_or((None, None), |(at, id)| (Some(at), Some(id)));
            CheckVolume {
                volume_id: v.id,
                volume_name: v.name,
                volume_created: v.created_at,
                volume_size: v.size,
                pinned: t.pinned,
                newest,
                snapshot_id,
                age,
                judged_age,
                owned: t.owned,
                owned_gib: t.owned_gib,
                excess,
                errors: t.errors,
                error_gib: t.error_gib,
                duplicates,
                duplicate_gib,
                future: t.future,
                status,
                policy_choice: None,
            }
        })
        .chain(refused.into_iter().map(|e| CheckVolume {
            volume_id: e.volume_id.clone(),
            volume_name: Some(e.volume.clone()).filter(|n| *n != e.volume_id),
            volume_created: None,
            volume_size: 0,
            pinned: 0,
            newest: None,
            snapshot_id: None,
            age: None,
            judged_age: opts.crit,
            owned: 0,
            owned_gib: 0,
            excess: 0,
            errors: 0,
            error_gib: 0,
            duplicates: 0,
            duplicate_gib: 0,
            future: 0,
            status: CheckStatus::Critical,
            policy_choice: Some(e),
        }))
        .collect();
    Ok(CheckReport {
        policy_id: opts.policy_id.clone(),
        warn: opts.warn,
        crit: opts.crit,
        now,
        volumes,
        keep_limit,
        clock_offset,
        unselected,
        uncovered,
        elsewhere,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn vol(id: &str, name: Option<&str>, age: Option<u64>, status: CheckStatus) -> CheckVolume {
        CheckVolume {
            volume_id: id.into(),
            volume_name: name.map(str::to_owned),
            volume_created: Some(datetime!(2026-11-20 00:00 UTC)),
            volume_size: 1,
            pinned: 0,
            newest: age.map(|_| datetime!(2026-11-28 00:00 UTC)),
            snapshot_id: age.map(|_| format!("s-{id}")),
            age: age.map(Duration::from_secs),
            judged_age: Duration::from_secs(age.unwrap_or(700_000)),
            owned: usize::from(age.is_some()),
            owned_gib: u64::from(age.is_some()),
            excess: 0,
            errors: 0,
            error_gib: 0,
            duplicates: 0,
            duplicate_gib: 0,
            future: 0,
            status,
            policy_choice: None,
        }
    }

    fn report(volumes: Vec<CheckVolume>) -> CheckReport {
        CheckReport {
            policy_id: "nightly".into(),
            warn: Duration::from_secs(93_600),
            crit: Duration::from_secs(180_000),
            now: datetime!(2026-11-28 03:12 UTC),
            volumes,
            keep_limit: None,
            clock_offset: None,
            unselected: Stray::default(),
            uncovered: None,
            elsewhere: 0,
        }
    }

    const ZEROS: &str = "snapshots=2;;;0 size=2147483648B;;;0 errors=0;;;0 duplicates=0;;;0 excess=0;;;0 future=0;;;0 unselected=0;;;0 uncovered=U;;;0 skew=U;300;;0";

    #[test]
    fn status_lines() {
        let ok = report(vec![vol("a", Some("vol-a"), Some(11_520), CheckStatus::Ok), vol("b", None, Some(600), CheckStatus::Ok)]);
        assert_eq!(ok.status(), CheckStatus::Ok);
        assert_eq!(
            ok.status_line(),
            format!(
                "CINDER-SNAPSHOTS OK - 2 volumes, oldest 3h12min | age=11520s;93600;180000;0 volumes=2;;;0 ok=2;;;0 warning=0;;;0 critical=0;;;0 {ZEROS}"
            )
        );
        assert!(ok.details().is_empty());
        let bad = report(vec![
            vol("a", Some("vol-a"), Some(100_000), CheckStatus::Warning),
            vol("b", Some("vol-b"), None, CheckStatus::Critical),
            vol("c", Some("vol-c"), Some(1), CheckStatus::Ok),
        ]);
        assert_eq!(bad.status(), CheckStatus::Critical);
        assert_eq!(bad.status().code(), 2);
        assert_eq!(
            bad.output(),
            "CINDER-SNAPSHOTS CRITICAL - 3 volumes, 1 critical, 1 warning: vol-b, vol-a | age=700000s;93600;180000;0 volumes=3;;;0 ok=1;;;0 warning=1;;;0 critical=1;;;0 snapshots=2;;;0 size=2147483648B;;;0 errors=0;;;0 duplicates=0;;;0 excess=0;;;0 future=0;;;0 unselected=0;;;0 uncovered=U;;;0 skew=U;300;;0\n\
             CRITICAL vol-b: no snapshot, volume created 8d2h26min40s ago\n\
             WARNING vol-a: newest snapshot 1d3h46min40s old\n"
        );
        let none = report(vec![]);
        assert_eq!(none.status(), CheckStatus::Unknown);
        assert_eq!(none.status().code(), 3);
        assert!(none.status_line().starts_with("CINDER-SNAPSHOTS UNKNOWN - no volume selected | age=0s;93600;180000;0 volumes=0;;;0"));
        let json = serde_json::to_value(&bad).unwrap();
        assert_eq!(json["status"], "CRITICAL");
        assert_eq!(json["code"], 2);
        assert_eq!(json["volumes"][1]["newest"], serde_json::Value::Null);
        assert_eq!(json["volumes"][1]["judged_age_s"], 700_000.0);
        assert_eq!(json["volumes"][0]["age_s"], 100_000.0);
        assert_eq!(json["details"].as_array().map(Vec::len), Some(2));
    }

    /// Cloud text can add no line and no `|`; the first line stays within 80 characters.
    #[test]
    fn names_are_escaped_and_the_first_line_is_short() {
        let names = ["db|x=1", "two\nlines", "cr\rlf\u{85}\u{2028}", &"long-name-".repeat(20)];
        let vols = names.iter().enumerate().map(|(i, n)| vol(&format!("v{i}"), Some(n), None, CheckStatus::Critical)).collect();
        let r = report(vols);
        let out = r.output();
        assert_eq!(out.matches('|').count(), 1, "{out}");
        assert_eq!(out.lines().count(), 1 + 4, "{out}");
        let first = r.status_line();
        let text = first.split(" | ").next().unwrap();
        assert!(text.chars().count() <= FIRST_LINE_MAX, "{text}");
        assert!(text.starts_with("CINDER-SNAPSHOTS CRITICAL - 4 volumes, 4 critical: db\\u{7c}x=1, two\\u{a}lines"), "{text}");
        assert!(out.contains("\nCRITICAL db\\u{7c}x=1: no snapshot"), "{out}");
        assert!(out.contains("\nCRITICAL cr\\u{d}lf\\u{85}\\u{2028}: "), "{out}");
        let unknown = unknown_output(&format!("GET http://h/{} answered | x\nforged", "p".repeat(100)));
        assert_eq!(unknown.matches('|').count(), 0, "{unknown}");
        assert_eq!(unknown.lines().count(), 2, "{unknown}");
        assert_eq!(unknown.lines().next().unwrap().chars().count(), FIRST_LINE_MAX);
        assert!(unknown.ends_with(" answered \\u{7c} x\\u{a}forged\n"), "{unknown}");
    }
}
