//! What the generic mechanisms ([`paging`](crate::paging), [`waiting`](crate::waiting), the
//! look-up by name) need to know of a Cinder resource: its names in URLs and JSON, its id and
//! name, and, for one with a lifecycle, its status.
//!
//! A resource module (such as [`snapshots`](crate::snapshots)) implements these traits for
//! its result type and then holds only its requests, results and URLs. The traits are sealed:
//! they name what the crate's own resources share, and may grow without a breaking release.

use std::fmt;

use serde::de::DeserializeOwned;

/// A Cinder resource that can be listed and fetched by id.
pub trait Resource: DeserializeOwned + Send + Sync + fmt::Debug + 'static + private::Sealed {
    /// What it is called in messages: `"snapshot"`.
    const KIND: &'static str;
    /// The collection: its URL segment and the key of a page's items, `"snapshots"`.
    const COLLECTION: &'static str;
    /// The key of a page's links, `"snapshots_links"`.
    const LINKS: &'static str;
    /// The key of a single item's answer, `"snapshot"`.
    const ITEM: &'static str;

    /// Its id.
    fn id(&self) -> &str;

    /// Its name, if it has one.
    fn name(&self) -> Option<&str>;
}

/// A resource with a status that changes on its own (`creating` to `available`, ...), which
/// can be waited for.
pub trait Stateful: Resource {
    /// The resource's status type.
    type Status: Clone + PartialEq + fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// Its current status.
    fn status(&self) -> &Self::Status;

    /// The statuses that end a wait for another status, by default (`error`).
    fn failed() -> Vec<Self::Status>;

    /// The statuses that end a wait for a delete, by default (`error_deleting`).
    fn failed_delete() -> Vec<Self::Status>;

    /// The status meaning "deleted" when the server still answers for it.
    fn is_deleted(status: &Self::Status) -> bool;

    /// The status a resource goes back to when its delete is refused (`available`).
    fn is_delete_refused(status: &Self::Status) -> bool;
}

pub(crate) mod private {
    /// Only this crate's resources implement [`Resource`](super::Resource).
    pub trait Sealed {}
}
