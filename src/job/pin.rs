//! Pins: the [`PIN_KEY`] label that keeps a snapshot whatever its policy says (the
//! requests; [`retention`](crate::retention) only reads the label).

use std::collections::BTreeMap;

use crate::retention::PIN_KEY;
use crate::snapshots::{self, UpdateMetadataOpts};
use crate::{Result, ServiceClient};

/// Pins a snapshot: sets the metadata item [`PIN_KEY`] to `note` (why it is pinned; may be
/// empty), keeping its other metadata. A pinned snapshot owned by a policy is never deleted
/// by it ([`retention::plan`](crate::retention::plan) keeps it with the reason `pinned`, whatever its status).
/// Pinning again replaces the note. Returns the snapshot's metadata afterwards.
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// cinder_snapshots::job::pin(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", "before the upgrade to 2.0")?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
///
/// # Errors
///
/// As [`snapshots::merge_metadata`] (an invalid id or a note over 255 characters is refused
/// before any request).
pub fn pin(client: &ServiceClient, snapshot_id: &str, note: &str) -> Result<BTreeMap<String, String>> {
    snapshots::merge_metadata(client, snapshot_id, &UpdateMetadataOpts::new().set(PIN_KEY, note))
}

/// Unpins a snapshot: removes its [`PIN_KEY`] item, if it has one. Returns whether it was
/// pinned; unpinning a snapshot that is not pinned changes nothing and succeeds.
///
/// # Errors
///
/// As [`snapshots::get_metadata`] and [`snapshots::delete_metadata_key`].
pub fn unpin(client: &ServiceClient, snapshot_id: &str) -> Result<bool> {
    if !snapshots::get_metadata(client, snapshot_id)?.contains_key(PIN_KEY) {
        return Ok(false);
    }
    snapshots::delete_metadata_key(client, snapshot_id, PIN_KEY)?;
    Ok(true)
}
