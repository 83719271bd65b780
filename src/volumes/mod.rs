//! Cinder v3 volumes, as far as a snapshot tool needs them: list (to choose what to
//! snapshot), show, find by name, metadata (to enrol a volume in a job: `backup=nightly`),
//! create (empty, or restored from a snapshot), delete, revert to a snapshot, a volume's
//! latest snapshot chosen without guessing ([`latest_owned_snapshot`] to restore from,
//! [`latest_snapshot`] and [`revert_to_latest`] as Cinder picks it), and waiting for a
//! status.
//!
//! Laid out like [`snapshots`](crate::snapshots): the calls and their options in
//! `requests`, the types they return in `results`, the paths in `urls`; listing, waiting
//! and the look-up by name are the crate's generic [`paging`](crate::paging) and
//! [`waiting`](crate::waiting). Every call is a free function taking a
//! [`ServiceClient`](crate::ServiceClient) and checks its input before sending anything.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, volumes::{self, CreateOpts, ListOpts, VolumeStatus, WaitOpts}};
//! let client = ServiceClient::from_env()?;
//! // Every volume tagged backup=nightly, to the last page:
//! for volume in volumes::list_detail(&client, &ListOpts::new().metadata("backup", "nightly"))? {
//!     let volume = volume?;
//!     println!("{} {} {} GiB", volume.id, volume.status, volume.size);
//! }
//! // A new volume from a snapshot (its size is the snapshot's):
//! let restored = volumes::create(&client, &CreateOpts::from_snapshot("b36476e5-d18b-47f9-ac69-4818cb43ee21").name("restored"))?;
//! let restored = volumes::wait_for_status(&client, &restored.id, VolumeStatus::Available, &WaitOpts::new())?;
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

mod admin;
mod latest;
mod requests;
mod results;
mod urls;
mod wait;

pub use admin::{ADMIN_VIEW_KEY, admin_view, require_admin_view};
pub use latest::{latest_owned_snapshot, latest_snapshot, revert_to_latest};
pub use requests::{
    CreateOpts, ListOpts, SortKey, create, delete, delete_metadata_key, find_by_name, get, get_metadata, list, list_detail, merge_metadata,
    revert_to_snapshot, update_metadata,
};
pub use results::{Attachment, RevertRefusal, Volume, VolumePage, VolumeStatus, VolumeSummary, revert_refusal};
pub use wait::{ProgressFn, WaitOpts, wait_for_delete, wait_for_revert, wait_for_status};

/// Metadata items for [`merge_metadata`] and [`update_metadata`], shared with
/// [`snapshots`](crate::snapshots).
pub use crate::snapshots::UpdateMetadataOpts;

/// The sort direction, shared with [`snapshots`](crate::snapshots).
pub use crate::paging::SortDir;
/// How a listing renders its query, shared with [`snapshots`](crate::snapshots).
pub use crate::paging::ToListQuery;

/// A lazy listing of volumes with every field ([`list_detail`]; see
/// [`paging::Pager`](crate::paging::Pager)).
pub type Pager = crate::paging::Pager<Volume>;

/// A listing of volumes page by page.
pub type Pages = crate::paging::Pages<Volume>;

/// A lazy listing of volume summaries (id and name, [`list`]).
pub type SummaryPager = crate::paging::Pager<VolumeSummary>;
