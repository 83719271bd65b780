//! Waiting for a volume: the crate's generic [`waiting`](crate::waiting) with the volume's
//! statuses.

use super::requests::get;
use super::results::{Volume, VolumeStatus};
use crate::client::ServiceClient;
use crate::error::Result;
use crate::waiting;

/// How [`wait_for_status`], [`wait_for_delete`] and [`wait_for_revert`] wait (see
/// [`waiting::WaitOpts`]).
pub type WaitOpts = waiting::WaitOpts<Volume>;

/// A function that sees every volume a wait observes.
pub type ProgressFn = waiting::ProgressFn<Volume>;

/// Waits until a volume reaches `target` and returns it.
///
/// Checks at once, then polls with a growing interval. Ends early with
/// [`Error::Wait`](crate::Error::Wait) when the volume reaches a failure status (`error` by
/// default, which is where a failed create, from a snapshot too, ends; Cinder's user message
/// saying why is attached when there is one), disappears, the time runs out or the cancel
/// flag is set.
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, CreateOpts, VolumeStatus, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let volume = volumes::create(&client, &CreateOpts::from_snapshot("b36476e5-d18b-47f9-ac69-4818cb43ee21"))?;
/// let volume = volumes::wait_for_status(&client, &volume.id, VolumeStatus::Available, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_status(client: &ServiceClient, id: &str, target: VolumeStatus, opts: &WaitOpts) -> Result<Volume> {
    waiting::wait_for_status(client, id, target, opts, get)
}

/// Waits until a volume is gone (GET answers 404).
///
/// Ends early when the volume reaches `error_deleting` (or the given failures), or goes back
/// to `available` (the backend refused the delete,
/// [`WaitErrorKind::DeleteRefused`](crate::WaitErrorKind::DeleteRefused)).
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// volumes::delete(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635")?;
/// volumes::wait_for_delete(&client, "5aa119a8-d25b-45a7-8d1b-88e127885635", &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_delete(client: &ServiceClient, id: &str, opts: &WaitOpts) -> Result<()> {
    waiting::wait_for_delete(client, id, opts, get)
}

/// Waits, after [`revert_to_snapshot`](super::revert_to_snapshot), until the volume is
/// `available` again, and returns it.
///
/// Cinder marks the volume `reverting` before it answers the revert, so the wait cannot
/// mistake the volume's state from before the revert for its end. A revert the backend fails
/// puts the volume in `error` (and the snapshot back to `available`): the wait then ends
/// with [`WaitErrorKind::Failed`](crate::WaitErrorKind::Failed) and Cinder's user message,
/// when it wrote one. The same as [`wait_for_status`] with
/// [`VolumeStatus::Available`].
///
/// ```no_run
/// use cinder_snapshots::volumes::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let id = "5aa119a8-d25b-45a7-8d1b-88e127885635";
/// volumes::revert_to_snapshot(&client, id, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// let volume = volumes::wait_for_revert(&client, id, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_revert(client: &ServiceClient, id: &str, opts: &WaitOpts) -> Result<Volume> {
    wait_for_status(client, id, VolumeStatus::Available, opts)
}
