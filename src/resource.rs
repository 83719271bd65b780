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

/// The one rule for telling an id from a name: the id `given` stands for when it is shaped
/// like a Cinder id, in the form Cinder stores; `None` for anything else (a name).
///
/// Shaped like an id: a UUID written as 8-4-4-4-12 hexadecimal digits or as 32 hexadecimal
/// digits without dashes, in any case. That is what Cinder's `format: uuid` accepts (oslo's
/// `is_uuid_like`, which also reads the dashless form; the `{...}` and `urn:uuid:` forms it
/// reads too are not ids anyone types, and are names here). Cinder makes its ids as
/// lowercase, hyphenated UUIDs and looks them up as stored, so a dashless or uppercase id
/// would not be found as typed: the id returned is that form. Every look-up of the crate and
/// of the `cinder-snapshots` command (`run --volume`, `prune --volume`, `restore`, `show`,
/// ...) follows this rule, so 32 hex digits are an id everywhere, never a name.
///
/// ```
/// use cinder_snapshots::resource::canonical_id;
/// let id = Some("b36476e5-d18b-47f9-ac69-4818cb43ee21".to_owned());
/// assert_eq!(canonical_id("b36476e5-d18b-47f9-ac69-4818cb43ee21"), id);
/// assert_eq!(canonical_id("B36476E5D18B47F9AC694818CB43EE21"), id);
/// assert_eq!(canonical_id("db-data"), None);
/// ```
pub fn canonical_id(given: &str) -> Option<String> {
    let hex = |p: &str| p.bytes().all(|b| b.is_ascii_hexdigit());
    let parts: Vec<&str> = given.split('-').collect();
    let digits = match parts.as_slice() {
        [one] if one.len() == 32 && hex(one) => (*one).to_owned(),
        [a, b, c, d, e]
            if a.len() == 8 && b.len() == 4 && c.len() == 4 && d.len() == 4 && e.len() == 12 && parts.iter().all(|p| hex(p)) =>
        {
            parts.concat()
        }
        _ => return None,
    };
    let d = digits.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", d.get(..8)?, d.get(8..12)?, d.get(12..16)?, d.get(16..20)?, d.get(20..)?))
}

pub(crate) mod private {
    /// Only this crate's resources implement [`Resource`](super::Resource).
    pub trait Sealed {}
}

#[cfg(test)]
mod tests {
    use super::canonical_id;

    /// The one rule, as a table: what is an id (and the form sent), what is a name.
    #[test]
    fn ids_and_names() {
        const ID: &str = "b36476e5-d18b-47f9-ac69-4818cb43ee21";
        for (given, want) in [
            ("b36476e5-d18b-47f9-ac69-4818cb43ee21", Some(ID)),
            ("B36476E5-D18B-47F9-AC69-4818CB43EE21", Some(ID)),
            ("b36476e5d18b47f9ac694818cb43ee21", Some(ID)),
            ("B36476E5D18B47F9AC694818CB43EE21", Some(ID)),
            ("00000000-0000-4000-8000-000000000001", Some("00000000-0000-4000-8000-000000000001")),
            ("", None),
            ("nightly", None),
            ("db-data", None),
            ("b36476e5-d18b-47f9-ac69-4818cb43ee2", None),
            ("b36476e5-d18b-47f9-ac69-4818cb43ee21-", None),
            ("b36476e5-d18b-47f9-ac69-4818cb43ee211", None),
            ("g36476e5-d18b-47f9-ac69-4818cb43ee21", None),
            ("b36476e5_d18b-47f9-ac69-4818cb43ee21", None),
            ("5aa119a8-d25b-45a7-8d1b88e127885635", None),
            ("b36476e5d18b47f9ac694818cb43ee2", None),
            ("b36476e5d18b47f9ac694818cb43ee21a", None),
            ("{b36476e5-d18b-47f9-ac69-4818cb43ee21}", None),
            ("urn:uuid:b36476e5-d18b-47f9-ac69-4818cb43ee21", None),
            (" b36476e5-d18b-47f9-ac69-4818cb43ee21", None),
            ("b364-76e5d18b47f9ac694818cb43ee21", None),
            ("b36476e5-d18b-47f9-ac69-4818cb43ée2", None),
        ] {
            assert_eq!(canonical_id(given).as_deref(), want, "{given:?}");
        }
    }
}
