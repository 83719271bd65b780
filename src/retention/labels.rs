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
/// The metadata key that pins a snapshot: an owned snapshot carrying it (any value) is never
/// deleted by its policy, whatever its status (restic's `--keep-tag`).
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

/// Whether `policy` owns `snapshot`: its metadata holds exactly the policy's id under
/// [`POLICY_KEY`] (no trimming, case-sensitive). A name never makes a snapshot owned.
pub fn is_owned(snapshot: &Snapshot, policy: &Policy) -> bool {
    owner(snapshot) == Some(policy.id())
}

/// The id of the policy that owns `snapshot` (its [`POLICY_KEY`] label, as it is), when it
/// carries one: what [`is_owned`] compares.
pub fn owner(snapshot: &Snapshot) -> Option<&str> {
    snapshot.metadata.get(POLICY_KEY).map(String::as_str)
}

/// Whether `snapshot` is pinned: its metadata has the key [`PIN_KEY`] (any value, even
/// empty). See [`pin`](super::pin).
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
        assert!(is_owned(&snap, &policy));
        assert_eq!(run_at(&snap), Some(datetime!(2026-03-01 00:59:59 UTC)));
        let other = Policy::builder("nightly2").keep_daily(7).build().unwrap();
        assert!(!is_owned(&snap, &other));
    }

    #[test]
    fn ownership_is_the_exact_id() {
        let policy = Policy::builder("nightly").keep_last(1).build().unwrap();
        for (metadata, owned) in [
            (serde_json::json!({"cinder-snapshots.policy": "nightly"}), true),
            (serde_json::json!({"cinder-snapshots.policy": "Nightly"}), false),
            (serde_json::json!({"cinder-snapshots.policy": "nightly "}), false),
            (serde_json::json!({"cinder-snapshots.policy": ""}), false),
            (serde_json::json!({"policy": "nightly"}), false),
            (serde_json::json!({}), false),
            (serde_json::Value::Null, false),
        ] {
            assert_eq!(is_owned(&snapshot(metadata.clone()), &policy), owned, "{metadata}");
        }
        assert_eq!(run_at(&snapshot(serde_json::json!({"cinder-snapshots.run-at": "yesterday"}))), None);
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
