//! The quota preflight of a run: before the first create, the room of the caller's project
//! ([`quotas::room`]) against what the run needs (a snapshot per volume to create, and its
//! size in GiB, project-wide and per volume type); when the `snapshots` quotas are short,
//! `prune_first`, then the volumes that fit (those whose newest snapshot is oldest first,
//! then by id), the others skipped with the numbers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::opts::{JobOpts, Selected};
use super::report::{PruneError, VolumeReport};
use super::{WINDOW_KEY, label_time};
use crate::client::ServiceClient;
use crate::error::{Error, Result};
use crate::quotas::{self, GIGABYTES, ProjectRoom, Room, RoomSource, SNAPSHOTS, Shortfall, type_key};
use crate::retention;
use crate::snapshots::{self, Snapshot, SnapshotStatus};

/// What the quota preflight of a run found and did ([`JobReport::quota`]).
///
/// [`JobReport::quota`]: super::JobReport::quota
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuotaPreflight {
    /// Where the room was read from (the caller's project: where Cinder puts the snapshots,
    /// with `--all-projects` too).
    pub source: RoomSource,
    /// What the run needed, per quota key (`snapshots`, `gigabytes`, `snapshots_<type>`,
    /// `gigabytes_<type>`), before any `prune_first`.
    pub needed: BTreeMap<String, u64>,
    /// The room read, per key needed (after `prune_first` when it deleted).
    pub room: BTreeMap<String, Room>,
    /// Every quota that binds (needed more than the room left).
    pub binding: Vec<Shortfall>,
    /// Only `gigabytes` quotas bind: every create was tried all the same (some clouds do not
    /// count snapshots in the gigabytes; a 413 is then reported per volume).
    pub gigabytes_only: bool,
    /// Volumes skipped because they did not fit.
    pub skipped: usize,
    /// Snapshots `prune_first` deleted to make room.
    pub pruned_first: Vec<String>,
    /// Why the room could not be read (other than a 403 or 404, which leave it unknown):
    /// the run went on as without a preflight. The JSON has its text.
    pub unreadable: Option<super::ReportedError>,
}

impl QuotaPreflight {
    fn new(source: RoomSource) -> Self {
        QuotaPreflight {
            source,
            needed: BTreeMap::new(),
            room: BTreeMap::new(),
            binding: Vec::new(),
            gigabytes_only: false,
            skipped: 0,
            pruned_first: Vec::new(),
            unreadable: None,
        }
    }
}

/// The counting quotas: a shortfall there means a create will be refused.
fn is_count_key(key: &str) -> bool {
    key == SNAPSHOTS || key.starts_with("snapshots_")
}

/// The quota keys a snapshot of `v` counts against, with what it takes of each.
fn keys_of(v: &Selected) -> Vec<(String, u64)> {
    let mut keys = vec![(SNAPSHOTS.to_owned(), 1), (GIGABYTES.to_owned(), v.size)];
    if let Some(t) = v.volume_type.as_deref().filter(|t| !t.is_empty()) {
        keys.push((type_key(SNAPSHOTS, t), 1));
        keys.push((type_key(GIGABYTES, t), v.size));
    }
    keys
}

/// What creating a snapshot of each of `to_create` needs, per key.
fn needs(volumes: &[Selected], to_create: &[usize]) -> BTreeMap<String, u64> {
    let mut needed: BTreeMap<String, u64> = BTreeMap::new();
    for v in to_create.iter().filter_map(|&i| volumes.get(i)) {
        for (key, n) in keys_of(v) {
            let slot = needed.entry(key).or_insert(0);
            *slot = slot.saturating_add(n);
        }
    }
    needed
}

/// The keys where `needed` exceeds the room left.
fn shortfalls(needed: &BTreeMap<String, u64>, room: &ProjectRoom) -> Vec<Shortfall> {
    needed
        .iter()
        .filter_map(|(key, &n)| match room.room(key) {
            Room::Left(left) if n > left => Some(Shortfall::new(key.clone(), n, left)),
            _ => None,
        })
        .collect()
}

/// The run's context the preflight needs.
pub(super) struct Ctx<'a> {
    pub(super) client: &'a ServiceClient,
    pub(super) opts: &'a JobOpts,
    pub(super) window_label: &'a str,
    pub(super) now: OffsetDateTime,
    /// The time left before the run's deadline.
    pub(super) time_left: Duration,
}

/// The preflight: returns the volumes to create (those that fit), having written the
/// shortfalls of the others in their `reports` (the caller skips them), and what it found.
///
/// # Errors
///
/// [`Error::QuotaExceeded`] with `all_or_nothing` when not every volume fits (nothing was
/// created); the listing of the policy's snapshots when it is needed (the room is short).
pub(super) fn preflight(
    ctx: &Ctx<'_>,
    volumes: &[Selected],
    to_create: Vec<usize>,
    reports: &mut [VolumeReport],
) -> Result<(Vec<usize>, Option<QuotaPreflight>)> {
    if to_create.is_empty() {
        return Ok((to_create, None));
    }
    let mut room = match quotas::room(ctx.client) {
        Ok(room) => room,
        Err(e) => {
            let mut pf = QuotaPreflight::new(RoomSource::None);
            pf.needed = needs(volumes, &to_create);
            pf.unreadable = Some(super::ReportedError::new(e));
            return Ok((to_create, Some(pf)));
        }
    };
    let mut pf = QuotaPreflight::new(room.source);
    pf.needed = needs(volumes, &to_create);
    pf.binding = shortfalls(&pf.needed, &room);
    let short = |binding: &[Shortfall]| binding.iter().any(|s| is_count_key(&s.key));
    let mut owned: Option<HashMap<String, Vec<Snapshot>>> = None;
    if short(&pf.binding) && ctx.opts.prune_first {
        let listing = owned_snapshots(ctx, volumes, &to_create)?;
        let deficits: BTreeMap<String, u64> =
            pf.binding.iter().filter(|s| is_count_key(&s.key)).map(|s| (s.key.clone(), s.needed.saturating_sub(s.room))).collect();
        pf.pruned_first = prune_first(ctx, volumes, &to_create, &listing, deficits, reports);
        if !pf.pruned_first.is_empty() {
            // The room as Cinder counts it now (a 403/404 now: the old room stands).
            room = quotas::room(ctx.client)?;
            pf.binding = shortfalls(&pf.needed, &room);
        }
        owned = Some(listing);
    }
    pf.room = pf.needed.keys().map(|k| (k.clone(), room.room(k))).collect();
    if !short(&pf.binding) {
        pf.gigabytes_only = !pf.binding.is_empty();
        return Ok((to_create, Some(pf)));
    }
    if ctx.opts.all_or_nothing {
        return Err(Error::QuotaExceeded { shortfalls: pf.binding });
    }
    let owned = match owned {
        Some(o) => o,
        None => owned_snapshots(ctx, volumes, &to_create)?,
    };
    // Those whose newest available snapshot is oldest first (none at all: first), then by id.
    let newest = |i: usize| -> Option<OffsetDateTime> {
        let v = volumes.get(i)?;
        owned.get(&v.id)?.iter().filter(|s| s.status == SnapshotStatus::Available).filter_map(|s| s.created_at).max()
    };
    let mut order = to_create.clone();
    order.sort_by(|&a, &b| newest(a).cmp(&newest(b)).then_with(|| volumes.get(a).map(|v| &v.id).cmp(&volumes.get(b).map(|v| &v.id))));
    let mut left: BTreeMap<String, Room> = pf.room.iter().filter(|(k, _)| is_count_key(k)).map(|(k, r)| (k.clone(), *r)).collect();
    let mut fit = Vec::new();
    for i in order {
        let Some(v) = volumes.get(i) else { continue };
        let keys: Vec<String> = keys_of(v).into_iter().map(|(k, _)| k).filter(|k| is_count_key(k)).collect();
        if keys.iter().all(|k| left.get(k).is_none_or(|r| r.fits(1))) {
            for k in &keys {
                if let Some(Room::Left(n)) = left.get_mut(k) {
                    *n = n.saturating_sub(1);
                }
            }
            fit.push(i);
            continue;
        }
        let mine: Vec<String> = keys_of(v).into_iter().map(|(k, _)| k).collect();
        let Some(report) = reports.get_mut(i) else { continue };
        report.quota = pf.binding.iter().filter(|s| mine.contains(&s.key)).cloned().collect();
        pf.skipped = pf.skipped.saturating_add(1);
    }
    // Created in the order selected.
    fit.sort_unstable();
    Ok((fit, Some(pf)))
}

/// The policy's snapshots of the volumes to create, by volume (one listing to its last
/// page; server-side filter on the policy's label from 3.22, ownership checked here).
fn owned_snapshots(ctx: &Ctx<'_>, volumes: &[Selected], to_create: &[usize]) -> Result<HashMap<String, Vec<Snapshot>>> {
    let wanted: std::collections::HashSet<&str> = to_create.iter().filter_map(|&i| volumes.get(i)).map(|v| v.id.as_str()).collect();
    let mut query = super::OwnedQuery::new(ctx.opts.policy.id()).all_projects(ctx.opts.selection.is_all_projects());
    if let Some(n) = ctx.opts.page_size {
        query = query.page_size(n);
    }
    let mut owned: HashMap<String, Vec<Snapshot>> = HashMap::new();
    for snap in super::owned(ctx.client, &query)? {
        let snap = snap?;
        if wanted.contains(snap.volume_id.as_str()) {
            owned.entry(snap.volume_id.clone()).or_default().push(snap);
        }
    }
    Ok(owned)
}

/// `prune_first`: deletes, oldest first, owned snapshots that the plan would delete once this
/// window's snapshot exists, until the count deficits are met; never the newest available
/// one, never for a volume whose previous snapshot is not `available`. Each delete is waited
/// for (Cinder frees the quota when the snapshot is gone). Returns the ids deleted.
fn prune_first(
    ctx: &Ctx<'_>,
    volumes: &[Selected],
    to_create: &[usize],
    owned: &HashMap<String, Vec<Snapshot>>,
    mut deficits: BTreeMap<String, u64>,
    reports: &mut [VolumeReport],
) -> Vec<String> {
    let policy = &ctx.opts.policy;
    let mut candidates: Vec<(usize, Snapshot)> = Vec::new();
    for &i in to_create {
        let Some(v) = volumes.get(i) else { continue };
        let Some(snaps) = owned.get(&v.id) else { continue };
        let earlier: Vec<Snapshot> =
            snaps.iter().filter(|s| s.metadata.get(WINDOW_KEY).is_none_or(|w| w != ctx.window_label)).cloned().collect();
        let by_age = |s: &&Snapshot| (s.created_at, s.id.clone());
        // The previous window did not end available: nothing of this volume is deleted.
        if earlier.iter().max_by_key(by_age).is_none_or(|s| s.status != SnapshotStatus::Available) {
            continue;
        }
        let Some(newest_available) = earlier.iter().filter(|s| s.status == SnapshotStatus::Available).max_by_key(by_age) else {
            continue;
        };
        let mut planned = earlier.clone();
        planned.push(this_window(ctx, v));
        let plan = retention::plan(&planned, policy, ctx.now);
        for d in plan.to_delete() {
            let s = d.snapshot();
            if s.id != newest_available.id && s.status == SnapshotStatus::Available && earlier.iter().any(|e| e.id == s.id) {
                candidates.push((i, s.clone()));
            }
        }
    }
    candidates.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at).then_with(|| a.1.id.cmp(&b.1.id)));
    let mut chosen: Vec<(usize, String)> = Vec::new();
    for (i, snap) in candidates {
        if deficits.values().all(|&d| d == 0) {
            break;
        }
        let Some(v) = volumes.get(i) else { continue };
        let keys: Vec<String> = keys_of(v).into_iter().map(|(k, _)| k).filter(|k| deficits.get(k).is_some_and(|&d| d > 0)).collect();
        if keys.is_empty() {
            continue;
        }
        for k in keys {
            if let Some(d) = deficits.get_mut(&k) {
                *d = d.saturating_sub(1);
            }
        }
        chosen.push((i, snap.id));
    }
    let poll = ctx.opts.poll_policy(ctx.client);
    let wait = super::run::wait_opts(&poll, Some(poll.timeout.map_or(ctx.time_left, |t| t.min(ctx.time_left))));
    let client = ctx.client;
    let results = crate::pool::in_pool(chosen.len(), ctx.opts.concurrency, "job-prune-first", &AtomicBool::new(false), |n| {
        let (_, id) = chosen.get(n)?;
        Some(match snapshots::delete(client, id) {
            Ok(()) => snapshots::wait_for_delete(client, id, &wait),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        })
    });
    let mut deleted = Vec::new();
    for ((i, id), result) in chosen.into_iter().zip(results) {
        let Some(r) = reports.get_mut(i) else { continue };
        match result {
            Some(Ok(())) => {
                r.pruned.push(id.clone());
                deleted.push(id);
            }
            Some(Err(e)) => r.prune_errors.push(PruneError::PruneFirst { snapshot_id: id, error: std::sync::Arc::new(e) }),
            None => {}
        }
    }
    deleted
}

/// The snapshot this window will hold for `v`, as the plan is to see it.
fn this_window(ctx: &Ctx<'_>, v: &Selected) -> Snapshot {
    let mut metadata = retention::labels(&ctx.opts.policy, ctx.now);
    metadata.insert(WINDOW_KEY.to_owned(), ctx.window_label.to_owned());
    let mut snap = Snapshot::new(format!("(this window: {})", label_time(ctx.now)), v.id.clone(), SnapshotStatus::Available, Some(ctx.now));
    snap.size = v.size;
    snap.metadata = metadata;
    snap
}
