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

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
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

/// The first microversion with `with_count` (the total of a listing, on every page).
pub(crate) const WITH_COUNT: Microversion = Microversion::new(3, 45);

impl PageQuery {
    /// Pushes `with_count` (3.45+), `limit` and `offset`: the start of a query.
    pub(crate) fn head(&self, mv: Microversion, q: &mut Vec<(String, String)>) -> Result<()> {
        if self.with_count {
            mv.require(WITH_COUNT, "with_count")?;
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
/// Iterated item by item, a page is also decoded item by item, as the items are asked for:
/// an item the page cannot decode (or a page that turns out malformed after its items) is
/// an error after the page's items before it. [`pages`](Self::pages) decodes each page
/// whole before handing it out; [`all`](Self::all) fails on any error either way.
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
///
/// **A listing is exact or an error**: an item that comes twice (on one page, or a later
/// page repeating ids of an earlier one behind a fresh next link) is an
/// [`Error::InvalidResponse`], never dropped silently; the items before it have been handed
/// out (page by page: its page is the error). In Cinder's default order (no `sort`,
/// `sort_key` or `sort_dir` in the query: `created_at` descending, then `id` descending, the
/// order its markers page in) every item must come strictly after the one before it, which
/// costs no memory: an item repeated, or moved between pages, breaks the order and is an
/// error. In another order (or for items without a creation time, such as volume
/// summaries) the pager keeps a keyed 64-bit hash of every id (8 to 16 bytes an item); two
/// different ids with the same hash (about n²/2⁶⁵ for n items) would be a false error, never
/// an item lost.
pub struct Pager<T> {
    client: ServiceClient,
    segments: Vec<String>,
    next: Option<Vec<(String, String)>>,
    /// Every marker sent or to be sent in this listing: one per page.
    markers: HashSet<String>,
    /// How many items the pages have held so far (for `with_count`).
    received: u64,
    /// The page being handed out item by item, when iterating items.
    reading: Option<Reading>,
    /// The body of the previous page: the next page is read into its allocation.
    spare_body: Vec<u8>,
    /// An error found in a page's next link, reported after that page's items.
    failed: Option<Error>,
    /// The check that no item comes twice.
    exact: Exact,
    items: PhantomData<T>,
}

/// How a listing is checked for an item that comes twice (see [`Pager`]).
enum Exact {
    /// Cinder's default order: each item strictly after the one before it, `(created_at, id)`
    /// descending. `last` is the previous item's (`None` before the first); its id's
    /// allocation is reused.
    Ordered { last: Option<(OrderKey, String)> },
    /// Any other order: a keyed hash of every id seen.
    Hashed { keys: RandomState, seen: HashSet<u64, BuildHasherDefault<Prehashed>> },
    /// No check: a page read on its own (the decoder's tests and fuzz target).
    #[cfg(any(test, fuzzing))]
    Off,
}

impl Exact {
    /// The check for a listing whose first query is `query`: ordered unless it sorts.
    fn for_query(query: &[(String, String)]) -> Exact {
        if query.iter().any(|(k, _)| matches!(k.as_str(), "sort" | "sort_key" | "sort_dir")) {
            Exact::hashed()
        } else {
            Exact::Ordered { last: None }
        }
    }

    fn hashed() -> Exact {
        Exact::Hashed { keys: RandomState::new(), seen: HashSet::default() }
    }

    /// Checks the next item of the listing; the message of the error when it comes twice (or
    /// out of order, which means the same: the listing is not exact).
    fn check<T: Resource>(&mut self, item: &T) -> std::result::Result<(), String> {
        let id = item.id();
        if let Exact::Ordered { last } = self {
            match (item.created_at(), last.as_mut()) {
                (Some(at), None) => *last = Some((OrderKey::of(at), id.to_owned())),
                (Some(at), Some((last_at, last_id))) => {
                    let key = OrderKey::of(at);
                    // Descending: the previous item is the greater.
                    match (*last_at).cmp(&key).then_with(|| last_id.as_str().cmp(id)) {
                        std::cmp::Ordering::Greater => {
                            *last_at = key;
                            last_id.clear();
                            last_id.push_str(id);
                        }
                        std::cmp::Ordering::Equal => return Err(twice::<T>(id)),
                        std::cmp::Ordering::Less => {
                            return Err(format!(
                                "the listing is out of Cinder's order (created_at, then id, descending): {} {id:?} created {} comes after {last_id:?} created {}; items repeated or moved between pages, so the listing is not exact",
                                T::KIND,
                                key.text(),
                                last_at.text(),
                            ));
                        }
                    }
                }
                // No creation time on the first item (a summary view): the ids are hashed.
                (None, None) => *self = Exact::hashed(),
                (None, Some(_)) => {
                    return Err(format!(
                        "{} {id:?} has no readable created_at in a listing in Cinder's created_at order: the listing cannot be checked for repeated items",
                        T::KIND
                    ));
                }
            }
        }
        if let Exact::Hashed { keys, seen } = self
            && !seen.insert(keys.hash_one(id))
        {
            return Err(twice::<T>(id));
        }
        Ok(())
    }
}

/// A creation time as the order check compares it: its UTC date and time (the pager's
/// timestamps are in UTC already, so this is two field copies, not a conversion).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey(time::Date, time::Time);

impl OrderKey {
    fn of(at: time::OffsetDateTime) -> OrderKey {
        let utc = if at.offset().is_utc() { at } else { at.checked_to_offset(time::UtcOffset::UTC).unwrap_or(at) };
        OrderKey(utc.date(), utc.time())
    }

    /// RFC 3339 in UTC, for a message.
    fn text(self) -> String {
        crate::timestamp::write(time::PrimitiveDateTime::new(self.0, self.1).assume_utc(), crate::timestamp::Fraction::Trimmed)
    }
}

/// The message for an id that came twice.
fn twice<T: Resource>(id: &str) -> String {
    format!("the listing returned {} {id:?} twice (or two ids with the same 64-bit hash): it is not exact", T::KIND)
}

/// A hasher for values that are hashes already (keyed ones): passes a `u64` through.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl<T> fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("segments", &self.segments)
            .field("next", &self.next)
            .field("pages", &self.markers.len())
            .field("received", &self.received)
            .field("reading", &self.reading.as_ref().map(|r| r.at))
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
        let exact = Exact::for_query(&query);
        Pager {
            client: client.clone(),
            segments,
            next: Some(query),
            markers,
            received: 0,
            reading: None,
            spare_body: Vec::new(),
            failed: None,
            exact,
            items: PhantomData,
        }
    }

    /// The listing page by page.
    pub fn pages(mut self) -> Pages<T> {
        // A page begun item by item: its other items are read (and dropped) so that its
        // next link is followed, as when the page was decoded whole.
        while let Some(reading) = &mut self.reading {
            match reading.next_item::<T>(&mut self.exact) {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.reading = None;
                    self.failed = Some(e);
                }
                None => self.end_page(),
            }
        }
        Pages(self)
    }

    /// Every remaining item, in the server's order.
    pub fn all(self) -> Result<Vec<T>> {
        self.collect()
    }

    /// Fetches the next page; `None` at the end of the listing.
    fn fetch(&mut self) -> Option<Result<Response>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        let query = self.next.take()?;
        let request = Request::get(self.segments.clone()).query(query);
        Some(self.client.send_reusing(request, std::mem::take(&mut self.spare_body)))
    }

    /// The next page, decoded whole, its items into `items` (emptied first: only its
    /// allocation is used).
    fn next_page(&mut self, items: Vec<T>) -> Option<Result<Page<T>>> {
        let mut response = match self.fetch()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let decoded = decode_page::<T>(&response, items);
        let body = match decoded {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        for item in &body.items {
            if let Err(message) = self.exact.check(item) {
                self.next = None;
                return Some(Err(invalid(&response, message)));
            }
        }
        self.follow(&response, body.items.len(), body.next.as_deref(), body.count);
        // Only the allocation and the bytes already written matter for the next read.
        self.spare_body = std::mem::take(&mut response.body);
        Some(Ok(Page { items: body.items, count: body.count }))
    }

    /// The next item of the page being read item by item, fetching the next page when it
    /// is used up; `None` at the end of the listing.
    fn next_read(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(reading) = &mut self.reading {
                if let Some(item) = reading.next_item::<T>(&mut self.exact) {
                    // An error (a malformed item, or one that came twice) ends the listing:
                    // the page's next link was not followed yet.
                    if item.is_err() {
                        self.reading = None;
                    }
                    return Some(item);
                }
                self.end_page();
                continue;
            }
            match self.fetch()? {
                Ok(response) => match Reading::start::<T>(response) {
                    Ok(reading) => self.reading = Some(reading),
                    Err(e) => return Some(Err(e)),
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// After the last item of the page being read: its next link is followed.
    fn end_page(&mut self) {
        if let Some(Reading { response, body, items, next, count, .. }) = self.reading.take() {
            self.follow(&response, items, next.as_deref(), count);
            // Only the allocation and the bytes already written matter for the next read.
            self.spare_body = body.into_bytes();
        }
    }

    /// After a page of `items` items with the link `next` and the total `count`: the query
    /// of the page to fetch next, if any, or the error that ends the listing.
    fn follow(&mut self, response: &Response, items: usize, next: Option<&str>, count: Option<u64>) {
        self.received = self.received.saturating_add(u64::try_from(items).unwrap_or(u64::MAX));
        let counted = count.is_some_and(|total| self.received >= total);
        if let Some(href) = next.filter(|_| items > 0 && !counted) {
            // This page is good; a bad link fails the listing on the next call.
            match next_query(href) {
                Some(q) => match marker_of(&q).map(str::to_owned) {
                    Some(m) if self.markers.contains(&m) => {
                        let message =
                            format!("the next link repeats the marker {m:?}, already sent in this listing; stopping instead of looping");
                        self.failed = Some(invalid(response, message));
                    }
                    Some(m) => {
                        self.markers.insert(m);
                        self.next = Some(q);
                    }
                    None => self.failed = Some(invalid(response, format!("the next link {href:?} has no marker"))),
                },
                None => self.failed = Some(invalid(response, format!("the next link {href:?} is not a URL"))),
            }
        }
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

/// A page read item by item: the items are decoded one at a time as they are asked for,
/// each straight from the body (no copy of the body, no `Vec` of items), so that an item is
/// built, handed out and, when the caller drops it, freed before the next one is built.
///
/// It reads what [`decode_page`] reads, in the same order, with the same serde_json
/// decoding of every value; when it stops on a malformed page, the error is the one
/// `decode_page` gives for that body.
struct Reading {
    /// The answer, its body moved into `body`.
    response: Response,
    /// The body, checked as UTF-8 once.
    body: String,
    /// The byte offset of what is read next.
    at: usize,
    /// Where the reading stands.
    state: State,
    /// Whether the items key was read.
    items_key: bool,
    /// The items handed out so far.
    items: usize,
    /// The `href` of the `next` link, if any (so far).
    next: Option<String>,
    /// The page's `count`, if any (so far).
    count: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the items array, before its first item.
    FirstItem,
    /// In the items array, after an item.
    Item,
    /// After the items array, among the page's other keys.
    Rest,
}

/// Why a page cannot be read item by item: a message for a malformed page that
/// [`decode_page`] would accept (a page holding its items twice); otherwise `decode_page`
/// says what is wrong.
struct Stop(Option<&'static str>);

type Step<V> = std::result::Result<V, Stop>;

impl Reading {
    /// Checks the body and reads up to the first item (or to the end of a page whose items
    /// come last).
    fn start<T: Resource>(mut response: Response) -> Result<Reading> {
        let body = match String::from_utf8(std::mem::take(&mut response.body)) {
            Ok(body) => body,
            Err(e) => {
                response.body = e.into_bytes();
                return Err(malformed::<T>(&response, None));
            }
        };
        let mut reading = Reading { response, body, at: 0, state: State::Rest, items_key: false, items: 0, next: None, count: None };
        match reading.open::<T>() {
            Ok(()) => Ok(reading),
            Err(stop) => Err(reading.fail::<T>(stop)),
        }
    }

    /// `{`, then the keys before the items.
    fn open<T: Resource>(&mut self) -> Step<()> {
        let text = self.body.as_bytes();
        let at = skip_ws(text, 0);
        if text.get(at) != Some(&b'{') {
            return Err(Stop(None));
        }
        self.at = skip_ws(text, at + 1);
        self.keys::<T>()
    }

    /// The next item, checked by `exact` (an item that came twice is an error); `None` when
    /// the page is read to its end (and is well-formed).
    fn next_item<T: Resource>(&mut self, exact: &mut Exact) -> Option<Result<T>> {
        let at = match self.item_start::<T>() {
            Ok(Some(at)) => at,
            Ok(None) => return None,
            Err(stop) => return Some(Err(self.fail::<T>(stop))),
        };
        let mut d = serde_json::Deserializer::from_str(self.body.get(at..).unwrap_or_default());
        let mut place = None;
        let read = T::read_in_place(&mut d, &mut place).is_ok();
        // Checked where it was built, before it moves out (one move, as without the check).
        if let Some(Err(message)) = place.as_ref().filter(|_| read).map(|item| exact.check(item)) {
            return Some(Err(invalid(&self.response, message)));
        }
        if read && let Some(item) = place {
            // Where the deserializer stands: just after the item.
            self.at = at + d.into_iter::<IgnoredAny>().byte_offset();
            self.state = State::Item;
            self.items += 1;
            return Some(Ok(item));
        }
        Some(Err(self.fail::<T>(Stop(None))))
    }

    /// Where the next item starts; `None` after the last one, once the rest of the page is
    /// read.
    fn item_start<T: Resource>(&mut self) -> Step<Option<usize>> {
        let text = self.body.as_bytes();
        if self.state == State::Rest {
            return Ok(None);
        }
        let mut at = skip_ws(text, self.at);
        match (self.state, text.get(at)) {
            (_, Some(b']')) => {
                self.at = at + 1;
                self.state = State::Rest;
                self.after_value::<T>()?;
                return Ok(None);
            }
            (State::FirstItem, _) => {}
            (_, Some(b',')) => at = skip_ws(text, at + 1),
            _ => return Err(Stop(None)),
        }
        if text.get(at) == Some(&b']') {
            // A trailing comma.
            return Err(Stop(None));
        }
        Ok(Some(at))
    }

    /// After a member's value: `,` and the next keys, or `}` and the end of the body.
    fn after_value<T: Resource>(&mut self) -> Step<()> {
        let text = self.body.as_bytes();
        let at = skip_ws(text, self.at);
        match text.get(at) {
            Some(b',') => {
                self.at = skip_ws(text, at + 1);
                self.keys::<T>()
            }
            Some(b'}') if skip_ws(text, at + 1) == text.len() => {
                self.at = text.len();
                Ok(())
            }
            _ => Err(Stop(None)),
        }
    }

    /// Members from a key on: the links, the count and other keys are read whole; at the
    /// items key, the reading stops before the first item.
    fn keys<T: Resource>(&mut self) -> Step<()> {
        loop {
            let text = self.body.as_bytes();
            if text.get(self.at) != Some(&b'"') {
                return Err(Stop(None));
            }
            let (PageKey::<T>(key, _), end) = value_at(&self.body, self.at)?;
            let at = skip_ws(text, end);
            if text.get(at) != Some(&b':') {
                return Err(Stop(None));
            }
            let at = skip_ws(text, at + 1);
            let end = match key {
                Key::Items if !self.items_key => {
                    if text.get(at) != Some(&b'[') {
                        // Not an array: decode_page says what it is.
                        return Err(Stop(None));
                    }
                    self.at = at + 1;
                    self.items_key = true;
                    self.state = State::FirstItem;
                    return Ok(());
                }
                Key::Items => return Err(Stop(Some(ITEMS_TWICE))),
                Key::Links => {
                    let (links, end) = value_at::<Vec<Link>>(&self.body, at)?;
                    self.next = links.into_iter().find(|l| l.rel == "next").map(|l| l.href);
                    end
                }
                Key::Count => {
                    let (count, end) = value_at::<Option<u64>>(&self.body, at)?;
                    self.count = count;
                    end
                }
                Key::Other => value_at::<IgnoredAny>(&self.body, at)?.1,
            };
            let text = self.body.as_bytes();
            let at = skip_ws(text, end);
            match text.get(at) {
                Some(b',') => self.at = skip_ws(text, at + 1),
                Some(b'}') if self.items_key && skip_ws(text, at + 1) == text.len() => {
                    self.at = text.len();
                    return Ok(());
                }
                _ => return Err(Stop(None)),
            }
        }
    }

    /// The error of a page the reading stopped on.
    fn fail<T: Resource>(&mut self, stop: Stop) -> Error {
        self.response.body = std::mem::take(&mut self.body).into_bytes();
        malformed::<T>(&self.response, stop.0)
    }
}

/// Why a page whose items key comes twice cannot be read item by item (decoded whole, its
/// last array counts, as in a map).
const ITEMS_TWICE: &str = "the page holds its items twice";

/// The error for a page that could not be read: [`decode_page`]'s, or `message` when
/// `decode_page` accepts the page.
fn malformed<T: Resource>(response: &Response, message: Option<&'static str>) -> Error {
    match decode_page::<T>(response, Vec::new()) {
        Err(e) => e,
        Ok(_) => response.decode_error(T::COLLECTION, message.unwrap_or("the page cannot be read item by item")),
    }
}

/// The offset of the first byte at or after `at` that is not JSON whitespace.
fn skip_ws(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = text.get(at) {
        at += 1;
    }
    at
}

/// One JSON value of type `V` at `at` in `text`, and the offset just after it.
fn value_at<'de, V: Deserialize<'de>>(text: &'de str, at: usize) -> Step<(V, usize)> {
    let rest = text.get(at..).ok_or(Stop(None))?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<V>();
    match values.next() {
        Some(Ok(v)) => Ok((v, at + values.byte_offset())),
        _ => Err(Stop(None)),
    }
}

/// A key of a page, told as [`decode_page`] tells it.
struct PageKey<T>(Key, PhantomData<T>);

impl<'de, T: Resource> Deserialize<'de> for PageKey<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        KeySeed::<T>(PhantomData).deserialize(d).map(|key| PageKey(key, PhantomData))
    }
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
        self.next_read()
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
/// pager would; and reads it item by item as the pager does, which must give what decoding
/// the page whole gives (the same items, link and count; for a malformed page, some of its
/// items and then the same error).
#[cfg(fuzzing)]
pub(crate) fn fuzz_page<T: Resource>(body: &[u8]) -> usize {
    let response = Response {
        status: 200,
        request_id: None,
        body: body.to_vec(),
        method: crate::client::Method::Get,
        url: "http://127.0.0.1/v3/p/items".into(),
    };
    let whole = decode_page::<T>(&response, Vec::new());
    let mut ids = Vec::new();
    let end = match Reading::start::<T>(response) {
        Err(e) => Err(e),
        Ok(mut reading) => loop {
            match reading.next_item::<T>(&mut Exact::Off) {
                Some(Ok(item)) => ids.push(item.id().to_owned()),
                Some(Err(e)) => break Err(e),
                None => break Ok((reading.next.clone(), reading.count)),
            }
        },
    };
    match (&whole, end) {
        (Ok(page), Ok(end)) => {
            let whole_ids: Vec<&str> = page.items.iter().map(|i| i.id()).collect();
            assert_eq!((whole_ids, (page.next.clone(), page.count)), (ids.iter().map(String::as_str).collect(), end));
        }
        (Err(w), Err(l)) => {
            assert_eq!(format!("{w:?}"), format!("{l:?}"));
        }
        (Ok(_), Err(l)) => assert!(format!("{l:?}").contains(ITEMS_TWICE), "{l:?}"),
        (Err(w), Ok(_)) => panic!("read item by item, but the whole page fails: {w:?}"),
    }
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

    /// The next link and the count of a page read to its end, or the error (as `{:?}`).
    type PageEnd = std::result::Result<(Option<String>, Option<u64>), String>;

    /// A page read item by item, as the iterator reads it: the items handed out, then how
    /// it ended.
    fn read_lazily(body: &str) -> (Vec<Snapshot>, PageEnd) {
        let response = Response {
            status: 200,
            request_id: None,
            body: body.as_bytes().to_vec(),
            method: crate::client::Method::Get,
            url: "http://127.0.0.1:1/v3/p/snapshots/detail".into(),
        };
        let mut reading = match Reading::start::<Snapshot>(response) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Err(format!("{e:?}"))),
        };
        let mut items = Vec::new();
        loop {
            match reading.next_item::<Snapshot>(&mut Exact::Off) {
                Some(Ok(s)) => items.push(s),
                Some(Err(e)) => return (items, Err(format!("{e:?}"))),
                None => return (items, Ok((reading.next.clone(), reading.count))),
            }
        }
    }

    /// The items, next link and count of a page, or the error (as `{:?}`).
    type Whole = std::result::Result<(Vec<Snapshot>, Option<String>, Option<u64>), String>;

    /// What the whole-page decoder makes of `body`.
    fn read_whole(body: &str) -> Whole {
        let response = Response {
            status: 200,
            request_id: None,
            body: body.as_bytes().to_vec(),
            method: crate::client::Method::Get,
            url: "http://127.0.0.1:1/v3/p/snapshots/detail".into(),
        };
        decode_page::<Snapshot>(&response, Vec::new()).map(|p| (p.items, p.next, p.count)).map_err(|e| format!("{e:?}"))
    }

    /// Reading item by item gives what decoding the page whole gives: the same items, link
    /// and count; for a malformed page, the items before the fault, then the very error the
    /// whole-page decoder reports. Checked on well-formed pages of every layout, on every
    /// truncation of them, and with every byte replaced by each of a few that break JSON.
    #[test]
    fn reading_item_by_item_matches_decoding_the_page_whole() {
        let item = |id: &str| {
            format!(
                r#"{{"id": "{id}", "volume_id": "v", "status": "available", "created_at": "2026-11-24T01:13:53.419950", "metadata": {{"k": "v"}}, "size": 1, "name": "n-{id}", "os-extended-snapshot-attributes:progress": "100%", "user_id": null}}"#
            )
        };
        let items = format!("[{}, {},{}]", item("a"), item("b"), item("c"));
        let links = r#"[{"rel": "self", "href": "/s"}, {"rel": "next", "href": "/x?marker=c"}]"#;
        let pages = [
            format!(r#"{{"snapshots": {items}, "snapshots_links": {links}, "count": 7}}"#),
            format!(r#"{{"count": 7, "snapshots_links": {links}, "snapshots": {items}}}"#),
            format!("\n{{ \"other\" : {{\"x\": [1, \"]\", null]}},\t\"snapshots\"\n:\r{items} , \"more\": \"}}\"}}\n "),
            r#"{"snapshots": [], "snapshots_links": []}"#.to_owned(),
            r#"{"snapshots": [ ], "count": null}"#.to_owned(),
            format!(r#"{{"snaps\u0068ots": {items}, "snapshots_links": {links}}}"#),
        ];
        let mut checked = 0;
        for page in &pages {
            let whole = read_whole(page).unwrap();
            let whole_items = whole.0.clone();
            assert_eq!(read_lazily(page), (whole.0, Ok((whole.1, whole.2))), "{page}");
            let mut variants: Vec<String> = (0..page.len()).filter(|n| page.is_char_boundary(*n)).map(|n| page[..n].to_owned()).collect();
            for (at, _) in page.char_indices() {
                for c in ["}", "]", ",", "\"", "x", " ", "{", "[", ":", "1"] {
                    variants.push(format!("{}{c}{}", &page[..at], &page[at + 1..]));
                }
            }
            variants.push(format!("{page} x"));
            variants.push(format!("{page}{{}}"));
            for body in variants {
                let (items, end) = read_lazily(&body);
                match (read_whole(&body), end) {
                    (Ok(whole), Ok(end)) => assert_eq!((items, end), (whole.0, (whole.1, whole.2)), "{body}"),
                    (Err(whole), Err(lazy)) => {
                        assert_eq!(lazy, whole, "{body}");
                        // Only items the whole page holds, in order, before the fault.
                        // Only items the page holds, in order, before the fault (a corruption
                        // may cut one short).
                        assert!(items.iter().zip(&whole_items).all(|(i, want)| i.id == want.id) && items.len() <= 3, "{body}: {items:?}");
                    }
                    (Ok(_), Err(lazy)) => assert!(lazy.contains(ITEMS_TWICE), "{body}: {lazy}"),
                    (Err(whole), Ok(_)) => panic!("{body}: read item by item, but the whole page fails: {whole}"),
                }
                checked += 1;
            }
        }
        assert!(checked > 5000, "{checked}");
    }

    /// The items of a malformed page before the fault are handed out, then the error, which
    /// is the whole-page decoder's (where it is and what), then nothing.
    #[test]
    fn a_bad_item_ends_the_page_after_the_items_before_it() {
        let body = r#"{"snapshots": [{"id": "a", "volume_id": "v", "status": "available"}, {"id": "b", "volume_id": 1, "status": "available"}, {"id": "c", "volume_id": "v", "status": "available"}]}"#;
        let (items, end) = read_lazily(body);
        assert_eq!(items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a"]);
        let e = end.unwrap_err();
        assert!(e.contains("invalid type: integer `1`, expected a string at line 1 column 95"), "{e}");
    }

    /// Whole, a page holding its items twice counts its last array, as a map would; item by
    /// item, the first array is handed out when the second is found, which is then an error.
    #[test]
    fn items_twice_are_an_error_after_the_first_ones() {
        let body = r#"{"snapshots": [{"id": "a", "volume_id": "v", "status": "available"}], "snapshots": [{"id": "b", "volume_id": "v", "status": "available"}]}"#;
        assert_eq!(read_whole(body).unwrap().0.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["b"]);
        let (items, end) = read_lazily(body);
        assert_eq!(items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a"]);
        assert!(end.unwrap_err().contains(ITEMS_TWICE));
    }

    /// A server on 127.0.0.1 answering each GET with the body `page(marker)` gives (one
    /// request per connection); returns a client on it and the markers asked for.
    fn serve(page: fn(Option<&str>) -> String) -> (ServiceClient, std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v3/p", listener.local_addr().unwrap());
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split(' ').nth(1).unwrap_or_default();
                let marker = next_query(target).and_then(|q| marker_of(&q).map(str::to_owned));
                let body = page(marker.as_deref());
                log.lock().unwrap().push(marker);
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            }
        });
        let client = ServiceClient::with_token(&base, "tok")
            .unwrap()
            .microversion(crate::MicroversionPolicy::Pinned(Microversion::new(3, 71)))
            .retry_policy(crate::RetryPolicy::none())
            .build()
            .unwrap();
        (client, asked)
    }

    /// Two pages: `a`, `b` linking to the second, which holds `c`, then a malformed item,
    /// then `d`.
    fn two_pages(marker: Option<&str>) -> String {
        let item = |id: &str| format!(r#"{{"id": "{id}", "volume_id": "v", "status": "available"}}"#);
        match marker {
            None => format!(
                r#"{{"snapshots": [{}, {}], "snapshots_links": [{{"rel": "next", "href": "/v3/p/snapshots?marker=b"}}]}}"#,
                item("a"),
                item("b")
            ),
            _ => format!(r#"{{"snapshots": [{}, {{"id": 7}}, {}]}}"#, item("c"), item("d")),
        }
    }

    fn listing(client: &ServiceClient) -> Pager<Snapshot> {
        Pager::new(client, vec!["snapshots".into()], Vec::new())
    }

    /// Iterated, a page is handed out item by item: the items of the second page before its
    /// malformed item come, then the error, then nothing; page by page, the second page is
    /// an error as a whole.
    #[test]
    fn a_listing_hands_out_the_items_before_a_malformed_one() {
        let (client, asked) = serve(two_pages);
        let got: Vec<std::result::Result<String, String>> = listing(&client).map(|r| r.map(|s| s.id).map_err(|e| e.to_string())).collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[..3], [Ok("a".to_owned()), Ok("b".to_owned()), Ok("c".to_owned())]);
        assert!(matches!(&got[3], Err(e) if e.contains("could not decode snapshots")), "{got:?}");
        assert_eq!(*asked.lock().unwrap(), [None, Some("b".to_owned())]);
        let pages: Vec<Result<Page<Snapshot>>> = listing(&client).pages().collect();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].as_ref().unwrap().items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(matches!(pages[1], Err(Error::Decode { what: "snapshots", status: 200, .. })), "{:?}", pages[1]);
    }

    /// `pages()` after some items were iterated goes on from the page after the one begun
    /// (its other items are dropped), as when a page was decoded whole before it was handed
    /// out.
    #[test]
    fn pages_after_some_items_go_on_from_the_next_page() {
        fn pages(marker: Option<&str>) -> String {
            let item = |id: &str| format!(r#"{{"id": "{id}", "volume_id": "v", "status": "available"}}"#);
            match marker {
                None => format!(
                    r#"{{"snapshots": [{}, {}], "snapshots_links": [{{"rel": "next", "href": "/v3/p/snapshots?marker=b"}}]}}"#,
                    item("a"),
                    item("b")
                ),
                _ => format!(r#"{{"snapshots": [{}]}}"#, item("c")),
            }
        }
        let (client, asked) = serve(pages);
        let mut pager = listing(&client);
        assert_eq!(pager.next().unwrap().unwrap().id, "a");
        let rest: Vec<Vec<String>> = pager.pages().map(|p| p.unwrap().items.into_iter().map(|s| s.id).collect()).collect();
        assert_eq!(rest, [["c"]]);
        assert_eq!(*asked.lock().unwrap(), [None, Some("b".to_owned())]);
    }
}
