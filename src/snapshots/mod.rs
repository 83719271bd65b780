//! Cinder v3 snapshots: list, show, create, update, delete, the admin actions, metadata, and
//! waiting for a status.
//!
//! Laid out like gophercloud's `openstack/blockstorage/v3/snapshots`: the calls and their
//! options in `requests`, the types they return in `results`, the paths in `urls`, plus the
//! generic pager and waits of the crate's core. Every call is a free function taking a
//! [`ServiceClient`](crate::ServiceClient) and checks its input before sending anything.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, CreateOpts, SnapshotStatus, UpdateMetadataOpts, WaitOpts}};
//! let client = ServiceClient::from_env()?;
//! let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635").name("nightly"))?;
//! let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?;
//! snapshots::merge_metadata(&client, &snap.id, &UpdateMetadataOpts::new().set("retention", "7d"))?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

mod requests;
mod results;
mod urls;
mod wait;

pub(crate) use requests::METADATA_FILTER;
pub use requests::{
    CreateOpts, ListOpts, SortDir, SortKey, ToListQuery, UpdateMetadataOpts, UpdateOpts, UpdateStatusOpts, create, delete,
    delete_metadata_key, find_by_name, force_delete, get, get_metadata, get_metadata_key, list, list_detail, merge_metadata, reset_status,
    set_metadata_key, update, update_metadata, update_status,
};
pub(crate) use results::MetadataBody;
pub use results::{Snapshot, SnapshotPage, SnapshotStatus};
pub use wait::{ProgressFn, WaitOpts, wait_for_delete, wait_for_status};

/// A lazy listing of snapshots (see [`paging::Pager`](crate::paging::Pager)).
pub type Pager = crate::paging::Pager<Snapshot>;

/// A listing of snapshots page by page.
pub type Pages = crate::paging::Pages<Snapshot>;

/// What the fuzz targets reach.
#[cfg(fuzzing)]
pub(crate) mod fuzz {
    /// Parses a page, then the next link's query as the pager would.
    pub(crate) fn page(body: &[u8]) -> usize {
        crate::paging::fuzz_page::<super::Snapshot>(body)
    }
}
