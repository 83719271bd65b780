//! Retention: which of a policy's snapshots to keep, which to delete, and why.
//!
//! A [`Policy`] names the snapshots it owns (an ownership [label](#ownership-labels) holding
//! a stable policy id, never a name) and its keep rules; [`plan`] gives a [`Decision`] for
//! every snapshot of a listing, with every [`Reason`] that keeps it. Planning is pure: no
//! request is sent, and `now` is a parameter.
//!
//! [`prune`] applies a policy against Cinder (see [Applying a policy](#applying-a-policy)).
//!
//! # The model: restic's `forget`
//!
//! - **Rules are OR-ed**: a snapshot kept by any rule is kept, and each reason is listed.
//! - `keep_last(n)`: the `n` newest snapshots (`last 1` is the newest).
//! - `keep_hourly(n)` ... `keep_yearly(n)`: walking from the newest snapshot to the oldest, the
//!   first (newest) snapshot of each new period is kept, until `n` periods are kept. Only
//!   periods that *contain* a snapshot count: with daily snapshots that stopped a month ago,
//!   `keep_daily(7)` still keeps the last 7 of them. Periods follow the calendar (not the
//!   time since `now`) in UTC or the policy's fixed [`UtcOffset`](time::UtcOffset); weeks are
//!   ISO 8601 weeks, Monday to Sunday, in the ISO week-numbering year: 2020-12-31 and
//!   2021-01-03 are both in `2020-W53`, 2021-01-04 starts `2021-W01`.
//! - **A short rule keeps the oldest too**: when the walk reaches the oldest snapshot and a
//!   calendar rule has not used its `n` periods yet, the oldest snapshot is kept as well,
//!   even when its period already has a kept snapshot (reason `oldest daily 2026-11-20`).
//!   This is restic's behaviour since 0.16.0 (the `oldest` mark since 0.18.0), checked in its
//!   `snapshot_policy.go`: a young schedule keeps its first snapshot until the rule's periods
//!   are filled. Equivalently: a rule with fewer periods than its count also keeps
//!   the oldest snapshot.
//! - `keep_within(d)`: every snapshot taken less than `d` before the *newest* snapshot, not
//!   before now, so a schedule that stopped does not age its last snapshots out. A duration
//!   too large for the calendar keeps everything.
//! - **The newest is always kept** (`newest`): the newest counted snapshot of each volume.
//!   Every non-empty policy keeps it anyway; the reason makes the guarantee visible.
//! - **Empty policies are refused** ([`PolicyError::Empty`]): a policy with no rule would
//!   delete all but the newest.
//!
//! Where this crate differs from restic, on purpose:
//!
//! - Only *counted* snapshots take part: owned by the policy, `available`, with a creation
//!   time not after `now`. The others are kept and reported (`not owned`, `not available
//!   (creating)`, `no creation time`, `dated in the future`), never deleted, and they use no
//!   rule's places (restic lets future snapshots use them). A `creating` snapshot therefore
//!   never pushes an `available` one out.
//! - Groups are volumes (`volume_id`), not restic's host and paths.
//! - `keep_within` is an exact [`Duration`](std::time::Duration), not restic's calendar
//!   `1y2m3d4h`; it keeps snapshots *strictly* after `newest - d`, as restic does.
//! - Equal creation times are ordered by snapshot id (the smaller id counts as the newer), so
//!   a plan does not depend on the listing's order.
//! - restic's `--keep-within-daily` and friends and `--keep-tag` are not offered.
//!
//! # Ownership labels
//!
//! The metadata [`labels()`] gives for a snapshot created for a policy; a stable format
//! (version 1: these keys and value formats do not change while [`FORMAT_VERSION`] is `1`):
//!
//! | key | value |
//! |-----|-------|
//! | [`POLICY_KEY`] `cinder-snapshots.policy` | the policy id, exactly ([`Policy::id`]) |
//! | [`RUN_AT_KEY`] `cinder-snapshots.run-at` | the run's time, RFC 3339 in UTC, whole seconds: `2026-11-27T13:05:09Z` |
//! | [`RULES_KEY`] `cinder-snapshots.rules` | the policy's rules at that run ([`Policy::rules_string`]): `daily=7,weekly=4,utc-offset=+00:00` |
//! | [`FORMAT_KEY`] `cinder-snapshots.label-format` | `1` |
//!
//! Only [`POLICY_KEY`] decides ownership ([`is_owned`]): a snapshot is owned by a policy when
//! its metadata holds exactly that policy's id under that key. The other labels let a later
//! reader tell when and under which rules a snapshot was made ([`run_at`] reads the time
//! back) without the policy at hand. Keys and values follow Cinder's metadata rules (keys of
//! ASCII letters, digits and `-_:. `; at most 255 characters each).
//!
//! # Properties (each a property test in `tests/retention.rs`)
//!
//! A snapshot not owned, not `available`, undated or dated after `now` is never deleted; the
//! newest counted snapshot of each volume is never deleted; the plan does not depend on the
//! order of its input; planning again on what a plan keeps deletes nothing; adding a
//! snapshot newer than all the others never keeps one that was deleted without it; and
//! pruning after every new snapshot keeps the same set as pruning once at the end. The kept
//! sets equal those of an independent implementation of restic's algorithm.
//!
//! # Applying a policy
//!
//! [`prune`] with [`PruneOpts`] lists the policy's snapshots to the last page (server-side
//! `metadata` filter from microversion 3.22, checked again on the client), plans, deletes
//! what the plan deletes (a few at a time) and waits for each delete, and returns a
//! [`PruneReport`]: every snapshot with its [`Outcome`] (kept with its reasons, deleted,
//! failed with the error, or "would delete" in a dry run). A listing error ends it before
//! any delete; a failed delete does not stop the others. Before each delete the snapshot is
//! checked again: owned by the policy, `available`, and not the newest `available` owned
//! snapshot of its volume.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, CreateOpts}};
//! use cinder_snapshots::retention::{self, Policy, PruneOpts};
//! use time::OffsetDateTime;
//!
//! let client = ServiceClient::from_env()?;
//! let policy = Policy::builder("nightly").keep_daily(7).keep_weekly(4).build()?;
//! let volume = "5aa119a8-d25b-45a7-8d1b-88e127885635";
//!
//! // Snapshots made for the policy carry its labels...
//! let labels = retention::labels(&policy, OffsetDateTime::now_utc());
//! let create = labels.into_iter().fold(CreateOpts::new(volume).name("nightly"), |o, (k, v)| o.metadata(k, v));
//! snapshots::create(&client, &create)?;
//!
//! // ...and only those are ever pruned.
//! let report = retention::prune(&client, &PruneOpts::new(policy).volumes([volume]))?;
//! if !report.is_success() {
//!     for failed in report.failures() {
//!         eprintln!("{}: {}", failed.snapshot().id, failed.outcome());
//!     }
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```
//!
//! # Example
//!
//! ```
//! use cinder_snapshots::retention::{self, Policy};
//! use cinder_snapshots::snapshots::Snapshot;
//! use serde_json::json;
//! use time::macros::datetime;
//!
//! let policy = Policy::builder("nightly").keep_daily(3).keep_weekly(2).build()?;
//! // The labels a run writes on the snapshots it creates (see `labels`).
//! let owned = json!(retention::labels(&policy, datetime!(2026-11-28 02:00 UTC)));
//! let snap = |id: &str, created: &str, status: &str, metadata: &serde_json::Value| -> Snapshot {
//!     serde_json::from_value(json!({"id": id, "volume_id": "vol-1", "status": status,
//!                                  "created_at": created, "metadata": metadata})).unwrap()
//! };
//! let history = vec![
//!     snap("s1", "2026-11-28T02:00:00", "available", &owned),
//!     snap("s2", "2026-11-27T14:00:00", "available", &owned),
//!     snap("s3", "2026-11-27T02:00:00", "available", &owned),
//!     snap("s4", "2026-11-26T02:00:00", "available", &owned),
//!     snap("s5", "2026-11-20T02:00:00", "available", &owned),
//!     snap("s6", "2026-11-10T02:00:00", "available", &owned),
//!     snap("m1", "2026-11-15T09:00:00", "available", &json!({})), // made by hand
//!     snap("c1", "2026-11-28T05:00:00", "creating", &owned),
//! ];
//!
//! let plan = retention::plan(&history, &policy, datetime!(2026-11-28 06:00 UTC));
//! let table: Vec<String> = plan
//!     .decisions()
//!     .iter()
//!     .map(|d| format!("{} {:6} {}", d.snapshot().id, d.action(), d.reasons_text()).trim_end().to_owned())
//!     .collect();
//! assert_eq!(table, [
//!     "c1 keep   not available (creating)",
//!     "s1 keep   daily 2026-11-28, weekly 2026-W48, newest",
//!     "s2 keep   daily 2026-11-27",
//!     "s3 delete",
//!     "s4 keep   daily 2026-11-26",
//!     "s5 keep   weekly 2026-W47",
//!     "m1 keep   not owned",
//!     "s6 delete",
//! ]);
//! for line in &table {
//!     println!("{line}");
//! }
//! let doomed: Vec<&str> = plan.to_delete().map(|d| d.snapshot().id.as_str()).collect();
//! assert_eq!(doomed, ["s3", "s6"]);
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

mod labels;
mod plan;
mod policy;
mod prune;

pub use labels::{FORMAT_KEY, FORMAT_VERSION, POLICY_KEY, RULES_KEY, RUN_AT_KEY, is_owned, labels, owner, run_at};
pub use plan::{Action, Decision, Period, Plan, Reason, plan};
pub use policy::{MAX_POLICY_ID_CHARS, Policy, PolicyBuilder, PolicyError, format_duration};
pub use prune::{DEFAULT_CONCURRENCY, Outcome, PruneCounts, PruneOpts, PruneReport, SnapshotOutcome, prune};
