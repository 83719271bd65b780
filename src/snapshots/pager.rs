use std::collections::HashSet;

use super::results::{PageBody, Snapshot, SnapshotPage};
use crate::client::{Request, Response, ServiceClient};
use crate::error::{Error, Result};

/// A lazy listing: fetches one page at a time, as it is consumed.
///
/// Iterate it for snapshots (`Item = Result<Snapshot>`), call [`pages`](Self::pages) for
/// whole pages (with the `count` of a `with_count` listing), or [`all`](Self::all) to
/// collect everything. After an error the iteration ends.
///
/// The next page is asked for with the query of the server's `next` link, sent to the
/// client's own endpoint: a link to another host, scheme, port or path is never followed,
/// so the token never goes anywhere else. `offset` is dropped after the first page (Cinder
/// copies it into every link, which would skip items).
///
/// A next link is followed whenever there is one, also after a page shorter than the
/// requested `limit`: Cinder caps every page at its `osapi_max_limit` (1000 by default)
/// whatever the limit asked, and links to the rest. The listing stops when a page has no
/// next link, when a page is empty, or, in a `with_count` listing, when as many snapshots
/// as the page's `count` have come. Cinder links a page only when it is full, so a
/// listing whose size is an exact multiple of the page size ends with one request for an
/// empty page (saved by `with_count`).
///
/// A next link whose marker was already sent in this listing (the caller's own marker
/// included) is an error, reported after the snapshots of the page that carried it, never
/// a loop: this catches a server repeating a marker or cycling through several. The pager
/// keeps one marker per page for this, not the snapshots.
#[derive(Debug)]
pub struct Pager {
    client: ServiceClient,
    segments: Vec<String>,
    next: Option<Vec<(String, String)>>,
    /// Every marker sent or to be sent in this listing: one per page.
    markers: HashSet<String>,
    /// How many snapshots the pages have held so far (for `with_count`).
    received: u64,
    buffer: std::vec::IntoIter<Snapshot>,
    /// An error found in a page's next link, reported after that page's snapshots.
    failed: Option<Error>,
}

impl Pager {
    pub(crate) fn new(client: &ServiceClient, segments: Vec<String>, query: Vec<(String, String)>) -> Result<Pager> {
        let markers = marker_of(&query).map(str::to_owned).into_iter().collect();
        Ok(Pager {
            client: client.clone(),
            segments,
            next: Some(query),
            markers,
            received: 0,
            buffer: Vec::new().into_iter(),
            failed: None,
        })
    }

    /// The listing page by page.
    pub fn pages(self) -> Pages {
        Pages(self)
    }

    /// Every remaining snapshot, in the server's order.
    pub fn all(self) -> Result<Vec<Snapshot>> {
        self.collect()
    }

    fn next_page(&mut self) -> Option<Result<SnapshotPage>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        let query = self.next.take()?;
        let response = match self.client.send(Request::get(self.segments.clone()).query(query)) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let body: PageBody = match response.json("snapshot page") {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        self.received = self.received.saturating_add(u64::try_from(body.snapshots.len()).unwrap_or(u64::MAX));
        let counted = body.count.is_some_and(|total| self.received >= total);
        let link = body.snapshots_links.iter().find(|l| l.rel == "next");
        if let Some(link) = link.filter(|_| !body.snapshots.is_empty() && !counted) {
            // This page is good; a bad link fails the listing on the next call.
            match next_query(&link.href) {
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
                    None => self.failed = Some(invalid(&response, format!("the next link {:?} has no marker", link.href))),
                },
                None => self.failed = Some(invalid(&response, format!("the next link {:?} is not a URL", link.href))),
            }
        }
        Some(Ok(SnapshotPage { snapshots: body.snapshots, count: body.count }))
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

impl Iterator for Pager {
    type Item = Result<Snapshot>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(s) = self.buffer.next() {
                return Some(Ok(s));
            }
            match self.next_page()? {
                Ok(page) => self.buffer = page.snapshots.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A listing page by page; made by [`Pager::pages`].
#[derive(Debug)]
pub struct Pages(Pager);

impl Iterator for Pages {
    type Item = Result<SnapshotPage>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_page()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
