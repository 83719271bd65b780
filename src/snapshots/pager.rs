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
/// copies it into every link, which would skip items). The listing stops when there is no
/// link, a page is empty, or a page is shorter than the requested `limit`. A link that
/// repeats the marker is an error (after the snapshots of the page that carried it), never a
/// loop.
#[derive(Debug)]
pub struct Pager {
    client: ServiceClient,
    segments: Vec<String>,
    next: Option<Vec<(String, String)>>,
    limit: Option<usize>,
    buffer: std::vec::IntoIter<Snapshot>,
    /// An error found in a page's next link, reported after that page's snapshots.
    failed: Option<Error>,
}

impl Pager {
    pub(crate) fn new(client: &ServiceClient, segments: Vec<String>, query: Vec<(String, String)>) -> Result<Pager> {
        let limit = query.iter().rev().find(|(k, _)| k == "limit").and_then(|(_, v)| v.parse::<usize>().ok());
        Ok(Pager { client: client.clone(), segments, next: Some(query), limit, buffer: Vec::new().into_iter(), failed: None })
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
        let sent_marker = marker_of(&query).map(str::to_owned);
        let response = match self.client.send(Request::get(self.segments.clone()).query(query)) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let body: PageBody = match response.json("snapshot page") {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let short = self.limit.is_some_and(|l| body.snapshots.len() < l);
        if let Some(link) = body.snapshots_links.iter().find(|l| l.rel == "next").filter(|_| !body.snapshots.is_empty() && !short) {
            // This page is good; a bad link fails the listing on the next call.
            match next_query(&link.href).map(|q| (marker_of(&q).map(str::to_owned), q)) {
                Some((Some(m), q)) if Some(&m) != sent_marker.as_ref() => self.next = Some(q),
                Some((Some(m), _)) => {
                    self.failed = Some(invalid(&response, format!("the next link repeats the marker {m:?}; stopping instead of looping")))
                }
                Some((None, _)) => self.failed = Some(invalid(&response, format!("the next link {:?} has no marker", link.href))),
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
