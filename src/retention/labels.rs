//! Ownership labels: the metadata a policy writes on the snapshots it creates (the stable
//! format is documented on the `retention` module).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::Policy;
use crate::snapshots::Snapshot;
use crate::timestamp::Fraction;

/// The metadata key holding the id of the policy that owns a snapshot.
pub const POLICY_KEY: &str = "cinder-snapshots.policy";
/// The metadata key holding the time of the run that created a snapshot (RFC 3339, UTC).
pub const RUN_AT_KEY: &str = "cinder-snapshots.run-at";
/// The metadata key holding the policy's rules at the run that created a snapshot.
pub const RULES_KEY: &str = "cinder-snapshots.rules";
/// The metadata key holding the version of this label format.
pub const FORMAT_KEY: &str = "cinder-snapshots.label-format";
/// The label format version written under [`FORMAT_KEY`].
pub const FORMAT_VERSION: &str = "1";
/// The label format versions this version of the crate reads (see [`is_owned`]).
pub const KNOWN_FORMATS: &[&str] = &[FORMAT_VERSION];
/// The metadata key holding the start of the window a snapshot was made for (RFC 3339 in
/// UTC, whole seconds: `2026-11-28T00:00:00Z`), on every snapshot the scheduled job creates
/// (re-exported as `job::WINDOW_KEY`). Two owned snapshots of a volume with the same value
/// are duplicates: the plan deletes the older ones once the newest is `available`.
pub const WINDOW_KEY: &str = "cinder-snapshots.window";
/// The metadata key that pins a snapshot: an owned snapshot carrying it (any value) is never
/// deleted by its policy, whatever its status (restic's `--keep-tag`): not by the rules, nor
/// as a snapshot in `error`, nor as a duplicate in a window.
pub const PIN_KEY: &str = "cinder-snapshots.pin";

/// The labels to put in the metadata of a snapshot created for `policy` by a run at `run_at`.
///
/// ```
/// use cinder_snapshots::retention::{self, Policy};
/// use time::macros::datetime;
/// let policy = Policy::builder("nightly").keep_daily(7).build()?;
/// let labels = retention::labels(&policy, datetime!(2026-11-27 14:05:09.5 +01:00));
/// assert_eq!(labels[retention::POLICY_KEY], "nightly");
/// assert_eq!(labels[retention::RUN_AT_KEY], "2026-11-27T13:05:09Z");
/// assert_eq!(labels[retention::RULES_KEY], "daily=7,utc-offset=+00:00");
/// assert_eq!(labels[retention::FORMAT_KEY], "1");
/// # Ok::<(), cinder_snapshots::retention::PolicyError>(())
/// ```
pub fn labels(policy: &Policy, run_at: OffsetDateTime) -> BTreeMap<String, String> {
    BTreeMap::from([
        (POLICY_KEY.to_owned(), policy.id().to_owned()),
        (RUN_AT_KEY.to_owned(), rfc3339_utc_seconds(run_at)),
        (RULES_KEY.to_owned(), policy.rules_string()),
        (FORMAT_KEY.to_owned(), FORMAT_VERSION.to_owned()),
    ])
}

/// Whether the policy with id `policy_id` ([`Policy::id`]) owns `snapshot`: its metadata
/// holds exactly that id under [`POLICY_KEY`] (no trimming, case-sensitive), and its label
/// format under [`FORMAT_KEY`] is one this version knows ([`KNOWN_FORMATS`]) or absent
/// (labels written before the format key count as format 1). A snapshot labelled by a newer
/// version's format is not ours to judge ([`unknown_format`]). A name never makes a snapshot
/// owned. Ownership needs only the id: no policy (and no made-up rule) is built to ask it.
///
/// ```
/// use cinder_snapshots::retention::{self, POLICY_KEY, FORMAT_KEY};
/// use cinder_snapshots::snapshots::Snapshot;
/// let snap = |metadata: serde_json::Value| -> Snapshot {
///     serde_json::from_value(serde_json::json!({"id": "s", "volume_id": "v", "status": "available", "metadata": metadata})).unwrap()
/// };
/// assert!(retention::is_owned(&snap(serde_json::json!({POLICY_KEY: "nightly"})), "nightly"));
/// assert!(!retention::is_owned(&snap(serde_json::json!({POLICY_KEY: "nightly"})), "Nightly"));
/// // The label in a format this version does not know: not owned.
/// assert!(!retention::is_owned(&snap(serde_json::json!({POLICY_KEY: "nightly", FORMAT_KEY: "2"})), "nightly"));
/// ```
pub fn is_owned(snapshot: &Snapshot, policy_id: &str) -> bool {
    carries_policy(snapshot, policy_id) && unknown_format(snapshot).is_none()
}

/// The id of the policy that labelled `snapshot` (its [`POLICY_KEY`] label, as it is), when
/// it carries one, whatever its label format.
pub fn owner(snapshot: &Snapshot) -> Option<&str> {
    snapshot.metadata.get(POLICY_KEY).map(String::as_str)
}

/// The label format of `snapshot` when it is one this version does not know (a value under
/// [`FORMAT_KEY`] not in [`KNOWN_FORMATS`]), such as `"99"` written by a newer version.
pub fn unknown_format(snapshot: &Snapshot) -> Option<&str> {
    snapshot.metadata.get(FORMAT_KEY).map(String::as_str).filter(|f| !KNOWN_FORMATS.contains(f))
}

/// Whether `snapshot` carries the policy id `policy_id` under [`POLICY_KEY`], whatever its
/// label format: owned, or labelled by a newer version (kept and reported, never judged).
pub(crate) fn carries_policy(snapshot: &Snapshot, policy_id: &str) -> bool {
    owner(snapshot) == Some(policy_id)
}

/// Whether `snapshot` carries the [`PIN_KEY`] label.
pub fn is_pinned(snapshot: &Snapshot) -> bool {
    snapshot.metadata.contains_key(PIN_KEY)
}

/// The run time recorded under [`RUN_AT_KEY`], when it is there and readable.
pub fn run_at(snapshot: &Snapshot) -> Option<OffsetDateTime> {
    crate::timestamp::parse(snapshot.metadata.get(RUN_AT_KEY)?)
}

/// RFC 3339 in UTC with whole seconds: `2026-11-27T13:05:09Z`.
pub(crate) fn rfc3339_utc_seconds(t: OffsetDateTime) -> String {
    crate::timestamp::write(t, Fraction::Whole)
}

/// RFC 3339 in UTC with the sub-second digits when there are any (trailing zeros removed):
/// `2026-11-27T13:05:09.25Z`.
pub(crate) fn rfc3339_utc(t: OffsetDateTime) -> String {
    crate::timestamp::write(t, Fraction::Trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::format_year;
    use time::macros::datetime;

    fn snapshot(metadata: serde_json::Value) -> Snapshot {
        serde_json::from_value(serde_json::json!({"id": "s", "volume_id": "v", "status": "available", "metadata": metadata})).unwrap()
    }

    #[test]
    fn labels_make_an_owned_snapshot() {
        let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build().unwrap();
        let labels = labels(&policy, datetime!(2026-02-28 23:59:59.999 -01:00));
        let want: BTreeMap<String, String> = [
            ("cinder-snapshots.label-format", "1"),
            ("cinder-snapshots.policy", "nightly"),
            ("cinder-snapshots.rules", "daily=7,weekly=4,utc-offset=+00:00"),
            ("cinder-snapshots.run-at", "2026-03-01T00:59:59Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(labels, want);
        let snap = snapshot(serde_json::to_value(&labels).unwrap());
        assert!(is_owned(&snap, policy.id()));
        assert_eq!(run_at(&snap), Some(datetime!(2026-03-01 00:59:59 UTC)));
        let other = Policy::builder("nightly2").keep_daily(7).build().unwrap();
        assert!(!is_owned(&snap, other.id()));
    }

    #[test]
    fn ownership_is_the_exact_id() {
        for (metadata, owned) in [
            (serde_json::json!({"cinder-snapshots.policy": "nightly"}), true),
            (serde_json::json!({"cinder-snapshots.policy": "Nightly"}), false),
            (serde_json::json!({"cinder-snapshots.policy": "nightly "}), false),
            (serde_json::json!({"cinder-snapshots.policy": ""}), false),
            (serde_json::json!({"policy": "nightly"}), false),
            (serde_json::json!({}), false),
            (serde_json::Value::Null, false),
        ] {
            assert_eq!(is_owned(&snapshot(metadata.clone()), "nightly"), owned, "{metadata}");
        }
        assert_eq!(run_at(&snapshot(serde_json::json!({"cinder-snapshots.run-at": "yesterday"}))), None);
    }

    /// Only the label formats this version knows are owned (absent counts as 1); an unknown
    /// one is named. Fails before the format check: "99" was owned.
    #[test]
    fn only_known_label_formats_are_owned() {
        for (format, owned, unknown) in [
            (Some("1"), true, None),
            (None, true, None),
            (Some("99"), false, Some("99")),
            (Some(""), false, Some("")),
            (Some("1 "), false, Some("1 ")),
        ] {
            let mut metadata = serde_json::json!({"cinder-snapshots.policy": "nightly"});
            if let Some(f) = format {
                metadata[FORMAT_KEY] = serde_json::json!(f);
            }
            let snap = snapshot(metadata);
            assert_eq!((is_owned(&snap, "nightly"), unknown_format(&snap)), (owned, unknown), "{format:?}");
        }
        assert_eq!((WINDOW_KEY, PIN_KEY), ("cinder-snapshots.window", "cinder-snapshots.pin"));
        assert!(is_pinned(&snapshot(serde_json::json!({"cinder-snapshots.pin": ""}))));
        assert!(!is_pinned(&snapshot(serde_json::json!({"cinder-snapshots.policy": "nightly"}))));
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(rfc3339_utc_seconds(datetime!(2026-11-27 13:05:09.7 UTC)), "2026-11-27T13:05:09Z");
        assert_eq!(rfc3339_utc(datetime!(2026-11-27 13:05:09.25 UTC)), "2026-11-27T13:05:09.25Z");
        assert_eq!(rfc3339_utc(datetime!(2026-11-27 13:05:09.000000001 +02:00)), "2026-11-27T11:05:09.000000001Z");
        assert_eq!(rfc3339_utc(datetime!(2026-11-27 13:05:09 UTC)), "2026-11-27T13:05:09Z");
        assert_eq!(rfc3339_utc(datetime!(0099-01-02 03:04:05 UTC)), "0099-01-02T03:04:05Z");
        assert_eq!(rfc3339_utc(datetime!(-0044-03-15 12:00:00.5 UTC)), "-0044-03-15T12:00:00.5Z");
        // Beyond the calendar's range in UTC: written in its own offset.
        assert_eq!(rfc3339_utc(datetime!(-9999-01-01 00:00:00.5 +01:00)), "-9999-01-01T00:00:00.5+01:00");
        assert_eq!(format_year(10000), "+10000");
    }
}
