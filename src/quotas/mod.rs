//! Cinder's quotas of a project, read to know the room left before creating: the quota
//! set with its usage (`os-quota-sets/<project>?usage=True`) and, when that is not
//! readable, the limits API (`limits`).
//!
//! Laid out like [`snapshots`](crate::snapshots) and [`volumes`](crate::volumes), one
//! folder for the resource (gophercloud has the quota set and the limits as two packages;
//! here both answer one question, "how much room is left", and [`room`] reads the one and
//! falls back to the other, so they live together): the calls in `requests`, the types in
//! `results`, the paths in `urls`.
//!
//! Room is `limit - in_use - reserved`; `-1` is [`Room::Unlimited`]; what could not be read
//! is [`Room::Unknown`], never 0. The limits API has only the project-wide totals
//! (`snapshots`, `gigabytes`, `volumes`), no per-type keys and no reservations.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, quotas::{self, Room}};
//! let client = ServiceClient::from_env()?;
//! let room = quotas::room(&client)?;
//! match room.room(quotas::SNAPSHOTS) {
//!     Room::Left(n) => println!("{n} more snapshots fit"),
//!     Room::Unlimited => println!("no snapshot limit"),
//!     Room::Unknown => println!("the quota is not readable"),
//!     _ => {}
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

mod requests;
mod results;
mod urls;

pub use requests::{get_usage, limits, room};
pub use results::{GIGABYTES, Limits, ProjectRoom, QuotaSet, QuotaUsage, Room, RoomSource, SNAPSHOTS, Shortfall, type_key};
