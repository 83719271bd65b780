//! What the generic mechanisms ([`paging`](crate::paging), [`waiting`](crate::waiting), the
//! look-up by name) need to know of a Cinder resource: its names in URLs and JSON, its id and
//! name, and, for one with a lifecycle, its status.
//!
//! A resource module (such as [`snapshots`](crate::snapshots)) implements these traits for
//! its result type and then holds only its requests, results and URLs. The traits are sealed:
//! they name what the crate's own resources share, and may grow without a breaking release.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::client::Response;
use crate::error::Result;

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

    /// Its creation time, when the type has one and it was readable: what Cinder's default
    /// listing order (`created_at` then `id`, descending) sorts by, which the pager checks.
    fn created_at(&self) -> Option<time::OffsetDateTime> {
        None
    }

    /// Keeps the request id of the answer that returned it, for a type that has room for it.
    fn set_request_id(&mut self, _request_id: Option<String>) {}

    /// Reads one item into `place` (empty before), as [`Deserialize`](serde::Deserialize)
    /// reads it: what the pager calls for every item it hands out. A type may build the
    /// item where `place` is, instead of building it and moving it there.
    #[doc(hidden)]
    fn read_in_place<'de, D: de::Deserializer<'de>>(d: D, place: &mut Option<Self>) -> std::result::Result<(), D::Error> {
        *place = Some(Self::deserialize(d)?);
        Ok(())
    }
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

/// Reads a field Cinder may send as `null` (metadata, attachments) as its empty value:
/// `null` and an absent field read alike.
pub(crate) fn null_as_default<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de> + Default>(
    d: D,
) -> std::result::Result<T, D::Error> {
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// The resource of a single answer (`{"snapshot": {...}}`, the key named by the resource),
/// with the answer's request id: what `get`, `create` and `update` of every resource return.
pub(crate) fn one<T: Resource>(response: Response) -> Result<T> {
    let text = std::str::from_utf8(&response.body).map_err(|e| response.decode_error(T::ITEM, e))?;
    let mut item: T = item(text).map_err(|e| response.decode_error(T::ITEM, e))?;
    item.set_request_id(response.request_id);
    Ok(item)
}

/// Reads `{"<ITEM>": {...}}` without an intermediate value; other keys are skipped.
pub(crate) fn item<T: Resource>(text: &str) -> serde_json::Result<T> {
    let mut d = serde_json::Deserializer::from_str(text);
    let item = ItemSeed::<T>(PhantomData).deserialize(&mut d)?;
    d.end()?;
    Ok(item)
}

struct ItemSeed<T>(PhantomData<T>);

impl<'de, T: Resource> DeserializeSeed<'de> for ItemSeed<T> {
    type Value = T;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<T, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Resource> Visitor<'de> for ItemSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with a {:?} member", T::ITEM)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<T, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == T::ITEM && found.is_none() {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        found.ok_or_else(|| de::Error::missing_field(T::ITEM))
    }
}

pub(crate) mod private {
    /// Only this crate's resources implement [`Resource`](super::Resource).
    pub trait Sealed {}
}
