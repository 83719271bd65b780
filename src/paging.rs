//! Marker pagination for any Cinder collection: a lazy [`Pager`] that fetches one page at a
//! time and follows the server's next links, complete to the last page or an error.
//!
//! ```no_run
//! use cinder_snapshots::{ServiceClient, snapshots::{self, ListOpts}};
//! let client = ServiceClient::from_env()?;
//! // Item by item, one page fetched whenever the previous one is used up:
//! for snap in snapshots::list_detail(&client, &ListOpts::new())? {
//!     println!("{}", snap?.id);
//! }
//! // Page by page, with the total when it was asked for (3.45+):
//! for page in snapshots::list_detail(&client, &ListOpts::new().limit(100).with_count(true))?.pages() {
//!     let page = page?;
//!     println!("{} on this page of {:?}", page.items.len(), page.count);
//! }
//! # Ok::<(), cinder_snapshots::Error>(())
//! ```

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::client::{Microversion, Request, Response, ServiceClient};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// Direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending (Cinder's default).
    Desc,
}

impl SortDir {
    /// The direction as Cinder reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

/// `asc` or `desc`.
impl std::str::FromStr for SortDir {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "asc" => Ok(SortDir::Asc),
            "desc" => Ok(SortDir::Desc),
            _ => Err(Error::InvalidInput(format!("sort direction {s:?} is not asc or desc"))),
        }
    }
}

/// Renders the query string of a listing. Implemented by the resources' `ListOpts` ([`snapshots::ListOpts`](crate::snapshots::ListOpts), [`volumes::ListOpts`](crate::volumes::ListOpts)); implement it to send
/// a query of your own (raw pairs are sent as they are). `microversion` is the one the
/// request will carry.
pub trait ToListQuery {
    /// The query parameters, in order, not yet encoded.
    fn to_query(&self, microversion: Microversion) -> Result<Vec<(String, String)>>;
}

/// Raw query pairs, sent as they are.
impl ToListQuery for [(String, String)] {
    fn to_query(&self, _: Microversion) -> Result<Vec<(String, String)>> {
        Ok(self.to_vec())
    }
}

/// Raw query pairs, sent as they are.
impl ToListQuery for Vec<(String, String)> {
    fn to_query(&self, _: Microversion) -> Result<Vec<(String, String)>> {
        Ok(self.clone())
    }
}

/// The paging part of a listing's query, the same for every resource: `with_count`,
/// `limit` and `offset` first and the marker last, as in the server's own next links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageQuery {
    pub(crate) limit: Option<u32>,
    pub(crate) offset: Option<u32>,
    pub(crate) marker: Option<String>,
    pub(crate) with_count: bool,
}

impl PageQuery {
    /// Pushes `with_count` (3.45+), `limit` and `offset`: the start of a query.
    pub(crate) fn head(&self, mv: Microversion, q: &mut Vec<(String, String)>) -> Result<()> {
        if self.with_count {
            mv.require(Microversion::new(3, 45), "with_count")?;
            q.push(("with_count".into(), "true".into()));
        }
        if let Some(l) = self.limit {
            q.push(("limit".into(), l.to_string()));
        }
        if let Some(o) = self.offset {
            q.push(("offset".into(), o.to_string()));
        }
        Ok(())
    }

    /// Pushes the marker: the end of a query.
    pub(crate) fn tail(&self, q: &mut Vec<(String, String)>) -> Result<()> {
        if let Some(m) = &self.marker {
            crate::checks::segment("marker", m)?;
            q.push(("marker".into(), m.clone()));
        }
        Ok(())
    }
}

/// The paging setters of every resource's `ListOpts` (on its `page: PageQuery` field), so
/// that `limit`, `offset`, `marker` and `with_count` mean the same everywhere.
macro_rules! page_setters {
    ($kind:literal) => {
        /// Page size (the server caps it, by default at 1000; the listing still goes on to the
        /// last page).
        pub fn limit(mut self, limit: u32) -> Self {
            self.page.limit = Some(limit);
            self
        }

        #[doc = concat!("Skip this many ", $kind, "s first (only on the first page).")]
        pub fn offset(mut self, offset: u32) -> Self {
            self.page.offset = Some(offset);
            self
        }

        #[doc = concat!("Start after this ", $kind, " id.")]
        pub fn marker(mut self, marker: impl Into<String>) -> Self {
            self.page.marker = Some(marker.into());
            self
        }

        /// Ask for the total count on every page (3.45+).
        pub fn with_count(mut self, with_count: bool) -> Self {
            self.page.with_count = with_count;
            self
        }
    };
}
pub(crate) use page_setters;

/// `key:dir,key:dir`, the value of a `sort` parameter.
pub(crate) fn sort_param<'a>(keys: impl Iterator<Item = (&'a str, SortDir)>) -> String {
    keys.map(|(key, dir)| format!("{key}:{}", dir.as_str())).collect::<Vec<_>>().join(",")
}

/// A lazy listing: fetches one page at a time, as it is consumed.
///
/// Iterate it for items (`Item = Result<T>`), call [`pages`](Self::pages) for whole pages
/// (with the `count` of a `with_count` listing), or [`all`](Self::all) to collect
/// everything. After an error the iteration ends.
///
/// The next page is asked for with the query of the server's `next` link, sent to the
/// client's own endpoint: a link to another host, scheme, port or path is never followed,
/// so the token never goes anywhere else. `offset` is dropped after the first page (Cinder
/// copies it into every link, which would skip items).
///
/// A next link is followed whenever there is one, also after a page shorter than the
/// requested `limit`: Cinder caps every page at its `osapi_max_limit` (1000 by default)
/// whatever the limit asked, and links to the rest. The listing stops when a page has no
/// next link, when a page is empty, or, in a `with_count` listing, when as many items as
/// the page's `count` have come. Cinder links a page only when it is full, so a listing
/// whose size is an exact multiple of the page size ends with one request for an empty page
/// (saved by `with_count`).
///
/// A next link whose marker was already sent in this listing (the caller's own marker
/// included) is an error, reported after the items of the page that carried it, never a
/// loop: this catches a server repeating a marker or cycling through several. The pager
/// keeps one marker per page for this, not the items.
pub struct Pager<T> {
    client: ServiceClient,
    segments: Vec<String>,
    next: Option<Vec<(String, String)>>,
    /// Every marker sent or to be sent in this listing: one per page.
    markers: HashSet<String>,
    /// How many items the pages have held so far (for `with_count`).
    received: u64,
    /// The items of the current page not yet handed out. Its allocation is reused for the
    /// next page (a `Vec` and a `VecDeque` convert into each other without copying).
    buffer: VecDeque<T>,
    /// The body of the previous page: the next page is read into its allocation.
    spare_body: Vec<u8>,
    /// An error found in a page's next link, reported after that page's items.
    failed: Option<Error>,
}

impl<T> fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("segments", &self.segments)
            .field("next", &self.next)
            .field("pages", &self.markers.len())
            .field("received", &self.received)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The total number of matching items, when the listing asked `with_count`.
    pub count: Option<u64>,
}

impl<T: Resource> Pager<T> {
    /// A listing of the collection at `segments` (below the endpoint) with `query` for its
    /// first page.
    pub(crate) fn new(client: &ServiceClient, segments: Vec<String>, query: Vec<(String, String)>) -> Pager<T> {
        let markers = marker_of(&query).map(str::to_owned).into_iter().collect();
        Pager {
            client: client.clone(),
            segments,
            next: Some(query),
            markers,
            received: 0,
            buffer: VecDeque::new(),
            spare_body: Vec::new(),
            failed: None,
        }
    }

    /// The listing page by page.
    pub fn pages(self) -> Pages<T> {
        Pages(self)
    }

    /// Every remaining item, in the server's order.
    pub fn all(self) -> Result<Vec<T>> {
        self.collect()
    }

    /// The next page, its items decoded into `items` (emptied first: only its allocation is
    /// used).
    fn next_page(&mut self, items: Vec<T>) -> Option<Result<Page<T>>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        let query = self.next.take()?;
        let request = Request::get(self.segments.clone()).query(query);
        let mut response = match self.client.send_reusing(request, std::mem::take(&mut self.spare_body)) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let decoded = decode_page::<T>(&response, items);
        // Only the allocation and the bytes already written matter for the next read.
        self.spare_body = std::mem::take(&mut response.body);
        let body = match decoded {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        self.received = self.received.saturating_add(u64::try_from(body.items.len()).unwrap_or(u64::MAX));
        let counted = body.count.is_some_and(|total| self.received >= total);
        if let Some(href) = body.next.as_deref().filter(|_| !body.items.is_empty() && !counted) {
            // This page is good; a bad link fails the listing on the next call.
            match next_query(href) {
                Some(q) => match marker_of(&q).map(str::to_owned) {
                    Some(m) if self.markers.contains(&m) => {
                        let message =
                            format!("the next link repeats the marker {m:?}, already sent in this listing; stopping instead of looping");
                        self.failed = Some(invalid(&response, message));
                    }
                    Some(m) => {
                        self.markers.insert(m);
                        self.next = Some(q);
                    }
                    None => self.failed = Some(invalid(&response, format!("the next link {href:?} has no marker"))),
                },
                None => self.failed = Some(invalid(&response, format!("the next link {href:?} is not a URL"))),
            }
        }
        Some(Ok(Page { items: body.items, count: body.count }))
    }
}

/// Reads a page: one UTF-8 check of the whole body (cheaper than serde_json's check of
/// every string), then the items without an intermediate value, into `items` (emptied
/// first; its allocation is reused).
fn decode_page<T: Resource>(response: &Response, items: Vec<T>) -> Result<PageBody<T>> {
    let what = T::COLLECTION;
    let text = std::str::from_utf8(&response.body).map_err(|e| response.decode_error(what, format!("the body is not UTF-8: {e}")))?;
    let mut d = serde_json::Deserializer::from_str(text);
    PageSeed::into(items)
        .deserialize(&mut d)
        .and_then(|body| d.end().map(|()| body))
        .map_err(|e| response.decode_error(what, e.to_string()))
}

fn invalid(response: &Response, message: String) -> Error {
    Error::InvalidResponse { method: "GET".into(), url: response.url.clone(), message }
}

fn marker_of(query: &[(String, String)]) -> Option<&str> {
    query.iter().rev().find(|(k, _)| k == "marker").map(|(_, v)| v.as_str())
}

/// The query of a next link, without `offset`. Relative links are accepted too.
pub(crate) fn next_query(href: &str) -> Option<Vec<(String, String)>> {
    let base = url::Url::parse("http://placeholder.invalid/").ok()?;
    let url = base.join(href).ok()?;
    Some(url.query_pairs().filter(|(k, _)| k != "offset").map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

impl<T: Resource> Iterator for Pager<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            let spare = Vec::from(std::mem::take(&mut self.buffer));
            match self.next_page(spare)? {
                Ok(page) => self.buffer = VecDeque::from(page.items),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A listing page by page; made by [`Pager::pages`].
#[derive(Debug)]
pub struct Pages<T>(Pager<T>);

impl<T: Resource> Iterator for Pages<T> {
    type Item = Result<Page<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_page(Vec::new())
    }
}

/// The one item of a listing (filtered by name on the server) whose name is exactly
/// `name`: Cinder's names are not unique, and its name filter may match more loosely. None
/// is [`Error::NoMatch`]; several are [`Error::MultipleMatches`] with their ids.
pub(crate) fn find_by_name<T: Resource>(listing: Pager<T>, name: &str) -> Result<T> {
    let mut found = Vec::new();
    for item in listing {
        let item = item?;
        if item.name() == Some(name) {
            found.push(item);
        }
    }
    match found.len() {
        0 => Err(Error::NoMatch(format!("no {} is named {name:?}", T::KIND))),
        1 => Ok(found.remove(0)),
        _ => {
            Err(Error::MultipleMatches { resource: T::KIND, name: name.to_owned(), ids: found.iter().map(|i| i.id().to_owned()).collect() })
        }
    }
}

/// A page as Cinder sends it: `{"snapshots": [...], "snapshots_links": [...], "count": N}`,
/// the keys named by the resource.
pub(crate) struct PageBody<T> {
    pub(crate) items: Vec<T>,
    /// The `href` of the `next` link, if any.
    pub(crate) next: Option<String>,
    pub(crate) count: Option<u64>,
}

/// Decodes a page body; the items go into its `Vec` (whose allocation is reused).
pub(crate) struct PageSeed<T>(Vec<T>);

impl<T> PageSeed<T> {
    /// A seed that decodes the items into `items`, emptied first.
    pub(crate) fn into(mut items: Vec<T>) -> Self {
        items.clear();
        PageSeed(items)
    }
}

/// The items array, appended to a `Vec` given by the caller.
struct ItemsSeed<'a, T>(&'a mut Vec<T>);

impl<'de, T: Resource> DeserializeSeed<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Resource> Visitor<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {}", T::COLLECTION)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            self.0.push(item);
        }
        Ok(())
    }
}

impl<'de, T: Resource> DeserializeSeed<'de> for PageSeed<T> {
    type Value = PageBody<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<PageBody<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Resource> Visitor<'de> for PageSeed<T> {
    type Value = PageBody<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a page of {}", T::COLLECTION)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<PageBody<T>, A::Error> {
        let mut items = self.0;
        let (mut seen, mut next, mut count) = (false, None, None);
        while let Some(key) = map.next_key_seed(KeySeed::<T>(PhantomData))? {
            match key {
                Key::Items => {
                    // A repeated key counts as the last one, as a map would.
                    items.clear();
                    map.next_value_seed(ItemsSeed(&mut items))?;
                    seen = true;
                }
                Key::Links => {
                    let links: Vec<Link> = map.next_value()?;
                    next = links.into_iter().find(|l| l.rel == "next").map(|l| l.href);
                }
                Key::Count => count = map.next_value::<Option<u64>>()?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen {
            return Err(de::Error::missing_field(T::COLLECTION));
        }
        Ok(PageBody { items, next, count })
    }
}

enum Key {
    Items,
    Links,
    Count,
    Other,
}

struct KeySeed<T>(PhantomData<T>);

impl<'de, T: Resource> DeserializeSeed<'de> for KeySeed<T> {
    type Value = Key;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<T: Resource> Visitor<'_> for KeySeed<T> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key, E> {
        Ok(if v == T::COLLECTION {
            Key::Items
        } else if v == T::LINKS {
            Key::Links
        } else if v == "count" {
            Key::Count
        } else {
            Key::Other
        })
    }
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: String,
}

/// What the fuzz targets reach: parses a page of `T`, then the next link's query as the
/// pager would.
#[cfg(fuzzing)]
pub(crate) fn fuzz_page<T: Resource>(body: &[u8]) -> usize {
    let mut d = serde_json::Deserializer::from_slice(body);
    match PageSeed::<T>::into(Vec::new()).deserialize(&mut d) {
        Ok(page) => page.items.len() + page.next.as_deref().and_then(next_query).map_or(0, |q| q.len()),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::snapshots::Snapshot;

    fn decode(body: &str, items: Vec<Snapshot>) -> serde_json::Result<PageBody<Snapshot>> {
        PageSeed::into(items).deserialize(&mut serde_json::Deserializer::from_str(body))
    }

    /// A page decoded into the previous page's allocation holds only its own items.
    #[test]
    fn a_reused_buffer_holds_only_the_new_page() {
        let first = decode(
            r#"{"snapshots": [{"id": "a", "volume_id": "v", "status": "available"}, {"id": "b", "volume_id": "v", "status": "error"}]}"#,
            Vec::new(),
        )
        .unwrap();
        assert_eq!(first.items.len(), 2);
        let second = decode(
            r#"{"snapshots": [{"id": "c", "volume_id": "v", "status": "creating"}], "snapshots_links": [{"rel": "next", "href": "/x?marker=c"}], "count": 7}"#,
            first.items,
        )
        .unwrap();
        assert_eq!(second.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!((second.next.as_deref(), second.count), (Some("/x?marker=c"), Some(7)));
        let empty = decode(r#"{"snapshots": []}"#, second.items).unwrap();
        assert!(empty.items.is_empty() && empty.next.is_none());
    }

    /// As a map would: a repeated collection key counts as its last value; none is an error.
    #[test]
    fn a_repeated_collection_key_counts_as_its_last_value() {
        let page = decode(
            r#"{"snapshots": [{"id": "a", "volume_id": "v", "status": "available"}], "snapshots": [{"id": "b", "volume_id": "v", "status": "available"}]}"#,
            Vec::new(),
        )
        .unwrap();
        assert_eq!(page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["b"]);
        let missing = decode(r#"{"snapshots_links": []}"#, Vec::new()).err().unwrap();
        assert_eq!(missing.to_string(), "missing field `snapshots` at line 1 column 23");
    }

    #[test]
    fn next_query_keeps_everything_but_offset() {
        let q = next_query("http://other:1/v3/p/snapshots/detail?limit=1&offset=1&sort=name%3Aasc&marker=abc").unwrap();
        assert_eq!(
            q,
            vec![("limit".to_owned(), "1".to_owned()), ("sort".to_owned(), "name:asc".to_owned()), ("marker".to_owned(), "abc".to_owned())]
        );
        assert_eq!(next_query("/snapshots?marker=x").unwrap(), vec![("marker".to_owned(), "x".to_owned())]);
    }
}
