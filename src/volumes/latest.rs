//! A volume's latest snapshot, chosen without guessing: the newest `available` one a policy
//! owns (to restore from), and the one Cinder calls the latest (the only one it reverts to).

use time::OffsetDateTime;

use super::results::RevertRefusal;
use crate::checks;
use crate::client::{Microversion, ServiceClient};
use crate::error::{Error, Result};
use crate::retention;
use crate::snapshots::{self, ListOpts, Snapshot, SnapshotStatus};

/// Every snapshot of the volume, to the last page. `all_tenants=1` so that an admin sees the
/// snapshots of every project, as Cinder does when it picks the latest; Cinder 29 drops it
/// for a member (checked live), who sees its project's.
fn snapshots_of(client: &ServiceClient, volume_id: &str) -> Result<Vec<Snapshot>> {
    snapshots::list_detail(client, &ListOpts::new().all_projects(true).volume_id(volume_id))?.all()
}

/// The creation time of a candidate; a candidate without a readable one makes the choice
/// impossible, which is an error, not a guess.
fn created(snap: &Snapshot, volume_id: &str) -> Result<OffsetDateTime> {
    snap.created_at.ok_or_else(|| Error::InvalidResponse {
        method: "GET".into(),
        url: format!("snapshots/detail?volume_id={volume_id}"),
        message: format!("snapshot {} has no readable created_at: the newest snapshot cannot be told", snap.id),
    })
}

/// The snapshots with the greatest `created_at` (several when they tie).
fn newest<'a>(candidates: impl Iterator<Item = &'a Snapshot>, volume_id: &str) -> Result<Vec<&'a Snapshot>> {
    let mut best: Vec<&Snapshot> = Vec::new();
    let mut best_at: Option<OffsetDateTime> = None;
    for snap in candidates {
        let at = created(snap, volume_id)?;
        match best_at {
            Some(b) if at < b => {}
            Some(b) if at == b => best.push(snap),
            _ => {
                best_at = Some(at);
                best = vec![snap];
            }
        }
    }
    Ok(best)
}

/// The newest `available` snapshot of a volume that a policy owns: the one to restore
/// from. `policy`: the policy's id (its snapshots carry it under
/// [`retention::POLICY_KEY`], as [`retention::is_owned`] reads it); `None`: a snapshot of
/// any policy (any snapshot carrying that label). Snapshots without the label (made by hand
/// or by another tool) are never chosen.
///
/// Every snapshot of the volume is listed to the last page; the newest by `created_at`
/// wins, ties by the greater id (the same instant: either is that moment's data). None is
/// [`Error::NoMatch`]; a candidate without a readable `created_at` is
/// [`Error::InvalidResponse`].
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, CreateOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = volumes::latest_owned_snapshot(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", Some("nightly"))?;
/// let restored = volumes::create(&client, &CreateOpts::from_snapshot(&snap.id).name("db-data-restored"))?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn latest_owned_snapshot(client: &ServiceClient, volume_id: &str, policy: Option<&str>) -> Result<Snapshot> {
    checks::id("volume", volume_id)?;
    if policy.is_some_and(str::is_empty) {
        return Err(Error::InvalidInput("the policy id is empty".into()));
    }
    let all = snapshots_of(client, volume_id)?;
    let owned = all.iter().filter(|s| {
        s.volume_id == volume_id
            && s.status == SnapshotStatus::Available
            && retention::owner(s).is_some_and(|owner| policy.is_none_or(|p| owner == p))
    });
    let best = newest(owned, volume_id)?;
    match best.into_iter().max_by(|a, b| a.id.cmp(&b.id)) {
        Some(snap) => Ok(snap.clone()),
        None => Err(Error::NoMatch(match policy {
            Some(p) => format!("volume {volume_id} has no available snapshot of policy {p:?}"),
            None => format!("volume {volume_id} has no available snapshot made by a policy ({} label)", retention::POLICY_KEY),
        })),
    }
}

/// What Cinder calls the volume's latest snapshot, the only one it reverts to: the newest by
/// `created_at` of any status and any owner. `Ok(None)` when the volume has none.
/// Several sharing the newest `created_at` are [`Error::RevertRefused`] with
/// [`RevertRefusal::AmbiguousLatest`]: which one Cinder takes cannot be known.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// if let Some(snap) = cinder_snapshots::volumes::latest_snapshot(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635")? {
///     println!("{} ({})", snap.id, snap.status);
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn latest_snapshot(client: &ServiceClient, volume_id: &str) -> Result<Option<Snapshot>> {
    checks::id("volume", volume_id)?;
    let all = snapshots_of(client, volume_id)?;
    let best = newest(all.iter().filter(|s| s.volume_id == volume_id), volume_id)?;
    match best.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        several => Err(Error::RevertRefused {
            volume_id: volume_id.to_owned(),
            snapshot: Some(several.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")),
            reason: RevertRefusal::AmbiguousLatest,
        }),
    }
}

/// Reverts a volume, in place, to its latest snapshot ([`latest_snapshot`]) and returns
/// that snapshot; see [`revert_to_snapshot`](super::revert_to_snapshot) and wait with
/// [`wait_for_revert`](super::wait_for_revert). **What was written since is lost.**
///
/// Refused here, with nothing but the listing sent, as [`Error::RevertRefused`]: below
/// microversion 3.40 ([`Error::InvalidInput`], before any request), when the volume has no
/// snapshot ([`RevertRefusal::NoSnapshots`]), when the latest is not `available`
/// ([`RevertRefusal::SnapshotNotAvailable`]: Cinder 29 sets the volume `reverting` before it
/// checks the snapshot and leaves it so, so a revert to a snapshot still `creating` would
/// leave the volume stuck), and when several tie for the latest
/// ([`RevertRefusal::AmbiguousLatest`]). Cinder's own refusals (the volume not available,
/// its size changed) are its [`Error::Api`], read by [`revert_refusal`](super::revert_refusal).
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = "5aa119a8-d25b-45a7-8d1b-88e127885635";
/// let snap = volumes::revert_to_latest(&client, volume)?;
/// let volume = volumes::wait_for_revert(&client, volume, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn revert_to_latest(client: &ServiceClient, volume_id: &str) -> Result<Snapshot> {
    checks::id("volume", volume_id)?;
    client.microversion()?.require(Microversion::new(3, 40), "reverting a volume to a snapshot")?;
    let refused = |snapshot: Option<String>, reason| Error::RevertRefused { volume_id: volume_id.to_owned(), snapshot, reason };
    let Some(snap) = latest_snapshot(client, volume_id)? else {
        return Err(refused(None, RevertRefusal::NoSnapshots));
    };
    if snap.status != SnapshotStatus::Available {
        return Err(refused(Some(format!("{}, status {}", snap.id, snap.status)), RevertRefusal::SnapshotNotAvailable));
    }
    super::revert_to_snapshot(client, volume_id, &snap.id)?;
    Ok(snap)
}
