//! Waiting for a snapshot: the crate's generic [`waiting`](crate::waiting) with the
//! snapshot's statuses.

use super::requests::get;
use super::results::{Snapshot, SnapshotStatus};
use crate::client::ServiceClient;
use crate::error::Result;
use crate::waiting;

/// How [`wait_for_status`] and [`wait_for_delete`] wait (see [`waiting::WaitOpts`]).
pub type WaitOpts = waiting::WaitOpts<Snapshot>;

/// A function that sees every snapshot a wait observes.
pub type ProgressFn = waiting::ProgressFn<Snapshot>;

/// Waits until a snapshot reaches `target` and returns it.
///
/// Checks at once, then polls with a growing interval. Ends early with
/// [`Error::Wait`](crate::Error::Wait) when the snapshot reaches a failure status (`error`
/// by default; Cinder's user message saying why is attached when there is one), disappears,
/// the time runs out (with the last snapshot seen) or the cancel flag is set. Up to a few
/// consecutive transient errors are tolerated.
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635"))?;
/// let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_status(client: &ServiceClient, id: &str, target: SnapshotStatus, opts: &WaitOpts) -> Result<Snapshot> {
    waiting::wait_for_status(client, id, target, opts, get)
}

/// Waits until a snapshot is gone (GET answers 404, or the status is `deleted`).
///
/// Ends early when the snapshot reaches `error_deleting` (or the given failures), or goes
/// back to `available` (the delete was refused, [`WaitErrorKind::DeleteRefused`](crate::WaitErrorKind::DeleteRefused)).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// snapshots::delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// snapshots::wait_for_delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_delete(client: &ServiceClient, id: &str, opts: &WaitOpts) -> Result<()> {
    waiting::wait_for_delete(client, id, opts, get)
}
