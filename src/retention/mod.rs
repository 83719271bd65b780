//! Retention: which of a policy's snapshots to keep, which to delete, and why.
//!
//! A [`Policy`] names the snapshots it owns (an ownership [label](#ownership-labels) holding
//! a stable policy id, never a name) and its keep rules; [`plan`] gives a [`Decision`] for
//! every snapshot of a listing, with every [`Reason`] that keeps it. Planning is pure: no
//! request is sent, and `now` is a parameter.
//!
//! Applying a policy against Cinder is the job's [`job::prune`](crate::job::prune) (see
//! [Applying a policy](#applying-a-policy)).
//!
//! # The model: restic's `forget`
//!
//! - **Rules are OR-ed**: a snapshot kept by any rule is kept, and each reason is listed.
//! - `keep_last(n)`: the `n` newest snapshots (`last 1` is the newest).
//! - `keep_hourly(n)` ... `keep_yearly(n)`: walking from the newest snapshot to the oldest, the
//!   first (newest) snapshot of each new period is kept, until `n` periods are kept. Only
//!   periods that *contain* a snapshot count: with daily snapshots that stopped a month ago,
//!   `keep_daily(7)` still keeps the last 7 of them. Periods follow the calendar (not the
//!   time since `now`) of the policy's [`Calendar`](crate::tz::Calendar): UTC, a fixed
//!   offset, or a named zone's local time (`Europe/Berlin`: a day is the local day all year,
//!   daylight saving included; a local hour that happens twice is one period, as restic
//!   buckets local times). Weeks are ISO 8601 weeks, Monday to Sunday, in the ISO
//!   week-numbering year: 2020-12-31 and 2021-01-03 are both in `2020-W53`, 2021-01-04
//!   starts `2021-W01`.
//! - **Counts** are numbers or [`Count::Unlimited`] (restic's `unlimited`): every period
//!   is kept, and the oldest snapshot too.
//! - **A short rule keeps the oldest too**: when the walk reaches the oldest snapshot and a
//!   calendar rule has not used its `n` periods yet, the oldest snapshot is kept as well,
//!   even when its period already has a kept snapshot (reason `oldest daily 2026-11-20`).
//!   This is restic's behaviour since 0.16.0 (the `oldest` mark since 0.18.0), checked in its
//!   `snapshot_policy.go`: a young schedule keeps its first snapshot until the rule's periods
//!   are filled. Equivalently: a rule with fewer periods than its count also keeps
//!   the oldest snapshot.
//! - **The anchor**: the `keep_within*` rules are measured from the newest counted snapshot
//!   strictly before `now` (restic's `findLatestTimestamp`), not from `now`, so a schedule
//!   that stopped does not age its last snapshots out, and a snapshot dated exactly `now` is
//!   not its own anchor. With no counted snapshot before `now`, every snapshot is within (as
//!   in restic, which then measures from the zero time).
//! - `keep_within(d)`: every snapshot taken strictly after `anchor - d`, `d` a restic
//!   calendar duration ([`CalendarDuration`](crate::duration::CalendarDuration), `1y2m3d4h`)
//!   subtracted with restic's calendar arithmetic in the policy's calendar: years, months and
//!   days from the local date, a day past the month's end rolling over (2026-03-31 - `1m` is
//!   2026-03-03), then the hours exactly. A duration past the calendar keeps everything.
//! - `keep_within_hourly(d)` ... `keep_within_yearly(d)` (restic's `--keep-within-daily` and
//!   friends): among the snapshots `keep_within(d)` would keep, the newest of each period,
//!   and the oldest snapshot of the volume when it is among them (`oldest daily 2026-11-20
//!   within 14d`). "One a day for 14 days and one a month for a year" is
//!   `keep_within_daily(14d)` with `keep_within_monthly(1y)`.
//! - **Pins** (restic's `--keep-tag`): an owned snapshot carrying the metadata key
//!   [`PIN_KEY`] (`cinder-snapshots.pin`, any value; [`job::pin`](crate::job::pin) and [`job::unpin`](crate::job::unpin) set and remove
//!   it) is never deleted, whatever its status (`pinned`). It still takes its places in the
//!   rules, as a tagged restic snapshot does, and it still uses the snapshot quota: a
//!   policy's steady state is what its rules keep plus its pins.
//! - **The newest is always kept** (`newest`): the newest counted snapshot of each volume.
//!   Every non-empty policy keeps it anyway; the reason makes the guarantee visible.
//! - **Empty policies are refused** ([`PolicyError::Empty`]): a policy with no rule would
//!   delete all but the newest.
//! - **Every delete says why**: what each rule says of the snapshot, in words a user can
//!   check: `not among the last 3`, `not among the 7 days keep-daily keeps: 2026-11-30 ..
//!   2026-12-06`, `keep-daily keeps a newer snapshot of 2026-12-03`, `older than keep-within
//!   1m from 2026-12-05T02:00:00Z` (the anchor). A plan never has an empty reason.
//!
//! Durations are written in the crate's one grammar ([`crate::duration`]): retention's are
//! restic's calendar durations, where `m` is months.
//!
//! | restic | this crate |
//! |---|---|
//! | `--keep-within 1y2m3d4h` | `keep_within(CalendarDuration::new(1, 2, 3, 4))`, `--keep-within 1y2m3d4h` |
//! | `--keep-within-daily 14d` | `keep_within_daily(CalendarDuration::days(14))`, `--keep-within-daily 14d` |
//! | `--keep-daily unlimited` | `keep_daily(Count::Unlimited)`, `--keep-daily unlimited` |
//! | `--keep-tag upgrade` | the `cinder-snapshots.pin` label: [`job::pin`](crate::job::pin), `cinder-snapshots pin` |
//! | local time (`TZ`) | `time_zone(TimeZone::load("Europe/Berlin")?)`, `--time-zone Europe/Berlin` |
//!
//! Where this crate differs from restic, on purpose:
//!
//! - Only *counted* snapshots take part: owned by the policy, `available`, with a creation
//!   time not after `now`. The others are kept and reported (`not owned`, `label format "2"
//!   is not known to this version`, `not available (creating)`, `no creation time`, `dated in
//!   the future`), never deleted, and they use no rule's places (restic lets future snapshots
//!   use them). A `creating` snapshot therefore never pushes an `available` one out.
//! - Two exceptions are deleted with a reason of their own, unless pinned ([`PIN_KEY`]): an
//!   owned snapshot in `error` (`in error: holds no data`; one in `error_deleting` is kept:
//!   Cinder already failed to delete it), and an owned `available` snapshot made for the
//!   same window ([`WINDOW_KEY`]) as a newer counted one of its volume (`duplicate in
//!   window`: two runs of the job at once). Neither is counted.
//! - Groups are volumes (`volume_id`), not restic's host and paths.
//! - Equal creation times are ordered by snapshot id (the smaller id counts as the newer), so
//!   a plan does not depend on the listing's order.
//! - restic buckets each snapshot in the time zone it was recorded in; a policy here names
//!   its calendar once, and every snapshot is bucketed in it. Labels stay in UTC.
//! - A duration is refused where restic would guess: no negative numbers, no unit twice
//!   (restic keeps the last), no bare number.
//!
//! Two consequences of restic's rules, kept as they are: with months in a `keep_within*`
//! duration the cutoff is not monotonic in the anchor (2026-03-31 - `1m` = 2026-03-03, but
//! 2026-04-01 - `1m` = 2026-03-01); and a `keep_within_*` rule keeps the oldest snapshot
//! left, so pruning after every run may keep one more snapshot than pruning once.
//!
//! # Planning in code
//!
//! [`plan`] is pure and needs no cloud: build the snapshots it takes with
//! [`Snapshot::new`](crate::snapshots::Snapshot::new) and put the labels in their metadata
//! (see [`Snapshot::new`](crate::snapshots::Snapshot::new)'s example).
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
//! [`POLICY_KEY`] decides ownership ([`is_owned`]): a snapshot is owned by a policy when
//! its metadata holds exactly that policy's id under that key, in a label format this
//! version knows ([`KNOWN_FORMATS`]; no [`FORMAT_KEY`] counts as `1`). A snapshot with the
//! policy's id in another format was labelled by a newer version: it is not ours to judge,
//! and is kept and reported ([`unknown_format`]). The other labels let a later
//! reader tell when and under which rules a snapshot was made ([`run_at`] reads the time
//! back) without the policy at hand. Keys and values follow Cinder's metadata rules (keys of
//! ASCII letters, digits and `-_:. `; at most 255 characters each).
//!
//! # Properties (each a property test in `tests/retention.rs`)
//!
//! A snapshot not owned, not `available` (but an owned one in `error`, or the older of two
//! made for one window), undated, dated after `now` or pinned is never deleted; the newest
//! counted snapshot of each volume is never deleted; the plan does not depend on the order of
//! its input; an unlimited count keeps at least what any count keeps; and, for `keep_within*`
//! durations without months, planning again on what a plan keeps deletes nothing and adding
//! a snapshot newer than all the others never keeps one that was deleted without it; without
//! `keep_within_*` rules, pruning after every new snapshot keeps the same set as pruning once
//! at the end. Every reason, kept or deleted, equals that of an independent implementation of
//! restic's algorithm (calendar arithmetic included).
//!
//! # Applying a policy
//!
//! This module sends no request: planning is pure. Applying a plan against Cinder (the
//! listing, the deletes, the waits) is the job's: [`job::prune`](crate::job::prune) with
//! [`job::PruneOpts`](crate::job::PruneOpts) lists the policy's snapshots with the one owned
//! listing ([`job::owned`](crate::job::owned)), plans with [`plan`], deletes what the plan
//! deletes and reports every snapshot ([`job::PruneReport`](crate::job::PruneReport)).
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, CreateOpts}};
//! use cinder_snapshots::job::{self, PruneOpts};
//! use cinder_snapshots::retention::{self, Policy};
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
//! let report = job::prune(&client, &PruneOpts::new(policy).volumes([volume]))?;
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
//!     "s3 delete keep-daily keeps a newer snapshot of 2026-11-27, keep-weekly keeps a newer snapshot of 2026-W48",
//!     "s4 keep   daily 2026-11-26",
//!     "s5 keep   weekly 2026-W47",
//!     "m1 keep   not owned",
//!     "s6 delete not among the 3 days keep-daily keeps: 2026-11-26 .. 2026-11-28, not among the 2 weeks keep-weekly keeps: 2026-W47 .. 2026-W48",
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

/// The crate's one formatter of exact durations ([`crate::duration::format_exact`]), kept
/// here under its former name.
pub use crate::duration::format_exact as format_duration;
pub use labels::{
    FORMAT_KEY, FORMAT_VERSION, KNOWN_FORMATS, PIN_KEY, POLICY_KEY, RULES_KEY, RUN_AT_KEY, WINDOW_KEY, is_owned, is_pinned, labels, owner,
    run_at, unknown_format,
};
pub(crate) use plan::plan_owned;
pub use plan::{Action, Decision, Period, Plan, Reason, plan};
pub use policy::{Count, CountError, MAX_POLICY_ID_CHARS, Policy, PolicyBuilder, PolicyError};
