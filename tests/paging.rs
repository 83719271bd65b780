//! Paging against a small std-only server that pages the way Cinder does (a page cap, the
//! next link rule of `cinder/api/common.py`, `count` on every page), and against hostile
//! servers whose next links cycle. Every case asserts the snapshots listed, in order, and the
//! exact requests made.

mod rawhttp;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinder_snapshots::snapshots::{self, ListOpts};
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, ServiceClient};
use serde_json::{Value, json};

/// What a server answers: `(request target, its own base URL)` to a JSON body.
type Answer = dyn Fn(&str, &str) -> Value + Send + Sync;

/// A server on 127.0.0.1 answering every GET with 200 and `answer(target, base)`, one request
/// per connection, remembering every request target in order.
struct PageServer {
    base: String,
    targets: Arc<Mutex<Vec<String>>>,
}

impl PageServer {
    fn start(answer: impl Fn(&str, &str) -> Value + Send + Sync + 'static) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let (log, url) = (targets.clone(), base.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (answer, log, url) = (answer.clone(), log.clone(), url.clone());
                std::thread::spawn(move || serve_one(&mut stream, &*answer, &log, &url));
            }
        });
        PageServer { base, targets }
    }

    /// A client on this server with a ready token (no Keystone), at 3.71.
    fn client(&self) -> ServiceClient {
        ServiceClient::with_token(&format!("{}/v3/p", self.base), "tok-paging")
            .unwrap()
            .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    /// The request targets so far (path and query).
    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn serve_one(stream: &mut TcpStream, answer: &Answer, log: &Mutex<Vec<String>>, base: &str) {
    let Some(head) = rawhttp::read_head(stream) else { return };
    let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
    log.lock().unwrap().push(target.clone());
    let body = answer(&target, base).to_string();
    let out =
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

/// The id of the `i`-th snapshot of a listing.
fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The `i`-th snapshot: created `i` seconds before the first, as Cinder's default order
/// (newest first) lists them.
fn snapshot(i: usize) -> Value {
    let t = time::macros::datetime!(2026-11-23 16:42:50.832291 UTC) - time::Duration::seconds(i as i64);
    let created = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
    json!({"id": id(i), "created_at": created, "updated_at": null, "name": format!("snap-{i:03}"),
           "description": null, "volume_id": "72c062d8-37e8-4eec-812d-fd9c1bca6bb4", "status": "available", "size": 1,
           "metadata": {}})
}

fn query_of(target: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A server holding `n` snapshots that pages like Cinder with `osapi_max_limit = cap`: a page
/// holds `min(limit, cap)` items (`cap` without a limit), there is a next link when the page
/// is that full (and not empty), the link repeats the request's query with `marker` last, and
/// `with_count=true` puts the total on every page.
fn cinder(n: usize, cap: usize) -> PageServer {
    PageServer::start(move |target, base| {
        let query = query_of(target);
        let limit = param(&query, "limit").map_or(cap, |l| l.parse::<usize>().unwrap());
        let size = limit.min(cap);
        let start = param(&query, "marker").map_or(0, |m| (0..n).position(|i| id(i) == m).unwrap() + 1);
        let items: Vec<Value> = (start..n).take(size).map(snapshot).collect();
        let mut page = json!({"snapshots": items});
        if !items.is_empty() && size <= items.len() {
            let mut link = url::Url::parse(&format!("{base}/v3/p/snapshots")).unwrap();
            link.query_pairs_mut()
                .extend_pairs(query.iter().filter(|(k, _)| k != "marker"))
                .append_pair("marker", &id(start + items.len() - 1));
            page["snapshots_links"] = json!([{"rel": "next", "href": link.as_str()}]);
        }
        if param(&query, "with_count") == Some("true") {
            page["count"] = json!(n);
        }
        page
    })
}

fn ids(pager: snapshots::Pager) -> Vec<String> {
    pager.map(|s| s.unwrap().id).collect()
}

fn all(n: usize) -> Vec<String> {
    (0..n).map(id).collect()
}

fn limited(limit: u32) -> ListOpts {
    ListOpts::new().limit(limit)
}

// ---------------------------------------------------------------- a page cap (defect 1)

#[test]
fn a_limit_above_the_page_cap_follows_every_next_link() {
    // 23 snapshots, cap 15, limit 100: a page of 15 with a link, then 8 without.
    let server = cinder(23, 15);
    assert_eq!(ids(snapshots::list(&server.client(), &limited(100)).unwrap()), all(23), "every snapshot, once, in order");
    assert_eq!(server.targets(), ["/v3/p/snapshots?limit=100".to_owned(), format!("/v3/p/snapshots?limit=100&marker={}", id(14))]);

    // 30: two full pages of the cap, then the empty page that ends it.
    let server = cinder(30, 15);
    let pages: Vec<usize> =
        snapshots::list_detail(&server.client(), &limited(100)).unwrap().pages().map(|p| p.unwrap().items.len()).collect();
    assert_eq!(pages, [15, 15, 0]);
    assert_eq!(
        server.targets(),
        [
            "/v3/p/snapshots/detail?limit=100".to_owned(),
            format!("/v3/p/snapshots/detail?limit=100&marker={}", id(14)),
            format!("/v3/p/snapshots/detail?limit=100&marker={}", id(29)),
        ]
    );
}

#[test]
fn no_limit_pages_by_the_cap() {
    let server = cinder(23, 15);
    assert_eq!(ids(snapshots::list(&server.client(), &ListOpts::new()).unwrap()), all(23));
    assert_eq!(server.targets(), ["/v3/p/snapshots".to_owned(), format!("/v3/p/snapshots?marker={}", id(14))]);
}

#[test]
fn an_exact_multiple_costs_one_more_request_at_or_below_the_cap() {
    // limit 5, 10 snapshots: two full pages and the empty one.
    let server = cinder(10, 15);
    assert_eq!(ids(snapshots::list(&server.client(), &limited(5)).unwrap()), all(10));
    assert_eq!(
        server.targets(),
        [
            "/v3/p/snapshots?limit=5".to_owned(),
            format!("/v3/p/snapshots?limit=5&marker={}", id(4)),
            format!("/v3/p/snapshots?limit=5&marker={}", id(9)),
        ]
    );
    // limit 5, 12 snapshots: the short third page has no link and ends it.
    let server = cinder(12, 15);
    assert_eq!(ids(snapshots::list(&server.client(), &limited(5)).unwrap()), all(12));
    assert_eq!(server.targets().len(), 3);
    // limit equal to the cap, 30 snapshots: 15, 15 and the empty page.
    let server = cinder(30, 15);
    assert_eq!(ids(snapshots::list(&server.client(), &limited(15)).unwrap()), all(30));
    assert_eq!(server.targets().len(), 3);
}

/// Every combination of page cap, number of snapshots and limit the sweeps below try.
fn combinations() -> impl Iterator<Item = (usize, usize, Option<u32>)> {
    [4usize, 15].into_iter().flat_map(|cap| {
        [0usize, 1, 3, 4, 5, 14, 15, 16, 23, 29, 30, 31, 45].into_iter().flat_map(move |n| {
            [None, Some(1u32), Some(3), Some(4), Some(14), Some(15), Some(16), Some(100)].into_iter().map(move |limit| (cap, n, limit))
        })
    })
}

#[test]
fn every_size_limit_and_cap_lists_everything_in_the_expected_requests() {
    // Cinder makes floor(n / page) + 1 requests for n snapshots with pages of
    // `page = min(limit, cap)`: the last page is short, or empty on an exact multiple.
    for (cap, n, limit) in combinations() {
        let page = limit.map_or(cap, |l| (l as usize).min(cap));
        let server = cinder(n, cap);
        let opts = limit.map_or_else(ListOpts::new, |l| ListOpts::new().limit(l));
        assert_eq!(ids(snapshots::list(&server.client(), &opts).unwrap()), all(n), "cap {cap}, {n} snapshots, limit {limit:?}");
        assert_eq!(server.targets().len(), n / page + 1, "cap {cap}, {n} snapshots, limit {limit:?}: requests");
    }
}

#[test]
fn with_count_every_size_limit_and_cap_lists_everything_and_saves_the_empty_page() {
    // As above, but the listing also ends when the count is reached: no empty page after an
    // exact multiple.
    for (cap, n, limit) in combinations() {
        let page = limit.map_or(cap, |l| (l as usize).min(cap));
        let server = cinder(n, cap);
        let opts = limit.map_or_else(ListOpts::new, |l| ListOpts::new().limit(l)).with_count(true);
        let pages: Vec<_> = snapshots::list(&server.client(), &opts).unwrap().pages().map(Result::unwrap).collect();
        let got: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(|s| s.id.clone())).collect();
        assert_eq!(got, all(n), "cap {cap}, {n} snapshots, limit {limit:?}");
        assert!(pages.iter().all(|p| p.count == Some(n as u64)));
        let want = if n > 0 && n % page == 0 { n / page } else { n / page + 1 };
        assert_eq!(server.targets().len(), want, "cap {cap}, {n} snapshots, limit {limit:?}: requests");
    }
}

#[test]
fn with_count_stops_when_the_count_is_reached() {
    // Above the cap: two pages of 15 and no empty third page.
    let server = cinder(30, 15);
    let opts = ListOpts::new().with_count(true).limit(100);
    let pages: Vec<_> = snapshots::list(&server.client(), &opts).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| (p.items.len(), p.count)).collect::<Vec<_>>(), [(15, Some(30)), (15, Some(30))]);
    assert_eq!(
        server.targets(),
        ["/v3/p/snapshots?with_count=true&limit=100".to_owned(), format!("/v3/p/snapshots?with_count=true&limit=100&marker={}", id(14))]
    );
}

// ---------------------------------------------------------------- cycling markers (defect 2)

/// A hostile server: each marker (none for the first request) answers one snapshot and a
/// next link to the marker `links` maps it to. After 20 requests it gives up with an empty
/// page, so that a client that would loop ends and the test fails instead of hanging.
fn cycling(links: &'static [(Option<&'static str>, usize, &'static str)]) -> PageServer {
    let served = Arc::new(Mutex::new(0usize));
    PageServer::start(move |target, base| {
        let mut count = served.lock().unwrap();
        *count += 1;
        if *count > 20 {
            return json!({"snapshots": []});
        }
        let query = query_of(target);
        let marker = param(&query, "marker");
        let Some((_, item, next)) = links.iter().find(|(m, _, _)| *m == marker) else { return json!({"snapshots": []}) };
        json!({"snapshots": [snapshot(*item)],
               "snapshots_links": [{"rel": "next", "href": format!("{base}/v3/p/snapshots?limit=1&marker={next}")}]})
    })
}

#[test]
fn a_cycling_marker_is_an_error_after_the_page() {
    // Links a -> b -> a: the third page's link goes back to a, already sent.
    let server = cycling(&[(None, 0, "a"), (Some("a"), 1, "b"), (Some("b"), 2, "a")]);
    let mut pager = snapshots::list(&server.client(), &limited(1)).unwrap();
    let seen: Vec<_> = pager.by_ref().take(4).map(|r| r.map(|s| s.id)).collect();
    assert_eq!(seen[..3].iter().map(|r| r.as_ref().unwrap().clone()).collect::<Vec<_>>(), all(3), "the pages' snapshots come first");
    match &seen[3] {
        Err(Error::InvalidResponse { method, url, message }) => {
            assert_eq!(method, "GET");
            assert_eq!(url, &format!("{}/v3/p/snapshots?limit=1&marker=b", server.base));
            assert_eq!(message, "the next link repeats the marker \"a\", already sent in this listing; stopping instead of looping");
        }
        other => panic!("expected InvalidResponse, got {other:?}"),
    }
    assert!(pager.next().is_none(), "the listing ends after the error");
    assert_eq!(server.targets(), ["/v3/p/snapshots?limit=1", "/v3/p/snapshots?limit=1&marker=a", "/v3/p/snapshots?limit=1&marker=b"]);

    // Page by page: three pages, then the error, then nothing.
    let server = cycling(&[(None, 0, "a"), (Some("a"), 1, "b"), (Some("b"), 2, "a")]);
    let pages: Vec<_> = snapshots::list(&server.client(), &limited(1)).unwrap().pages().collect();
    assert_eq!(pages.len(), 4);
    assert!(pages[..3].iter().all(|p| p.as_ref().is_ok_and(|p| p.items.len() == 1)));
    assert!(matches!(&pages[3], Err(Error::InvalidResponse { .. })), "{:?}", pages[3]);
    assert_eq!(server.targets().len(), 3);
}

#[test]
fn a_longer_cycle_is_caught_too() {
    // a -> b -> c -> d -> b.
    let server = cycling(&[(None, 0, "a"), (Some("a"), 1, "b"), (Some("b"), 2, "c"), (Some("c"), 3, "d"), (Some("d"), 4, "b")]);
    let got: Vec<_> = snapshots::list(&server.client(), &limited(1)).unwrap().collect();
    assert_eq!(got.len(), 6);
    assert!(matches!(&got[5], Err(Error::InvalidResponse { message, .. }) if message.contains("\"b\"")), "{:?}", got[5]);
    assert_eq!(server.targets().len(), 5);
}

#[test]
fn a_link_back_to_the_callers_marker_is_an_error() {
    // The caller starts after m; the server goes m -> n -> m.
    let server = cycling(&[(Some("m"), 0, "n"), (Some("n"), 1, "m")]);
    let opts = ListOpts::new().marker("m").limit(1);
    let got: Vec<_> = snapshots::list(&server.client(), &opts).unwrap().collect();
    assert_eq!(got.len(), 3);
    assert!(matches!(&got[2], Err(Error::InvalidResponse { message, .. }) if message.contains("\"m\"")), "{:?}", got[2]);
    assert_eq!(server.targets(), ["/v3/p/snapshots?limit=1&marker=m", "/v3/p/snapshots?limit=1&marker=n"]);
}

#[test]
fn a_marker_repeated_at_once_is_still_an_error() {
    let server = cycling(&[(None, 0, "a"), (Some("a"), 1, "a")]);
    let got: Vec<_> = snapshots::list(&server.client(), &limited(1)).unwrap().collect();
    assert_eq!(got.len(), 3);
    assert!(matches!(&got[2], Err(Error::InvalidResponse { message, .. }) if message.contains("repeats the marker \"a\"")), "{:?}", got[2]);
    assert_eq!(server.targets().len(), 2);
}

// ---------------------------------------------------------------- a listing is exact

/// A server paging like [`cinder`] over `n` snapshots, but whose marker is inclusive: every
/// page after the first starts at the marker's own snapshot, so it repeats the previous
/// page's last id, behind a fresh next link (its own last id).
fn inclusive_marker(n: usize, cap: usize) -> PageServer {
    PageServer::start(move |target, base| {
        let query = query_of(target);
        let start = param(&query, "marker").map_or(0, |m| (0..n).position(|i| id(i) == m).unwrap());
        let items: Vec<Value> = (start..n).take(cap).map(snapshot).collect();
        let mut page = json!({"snapshots": items});
        if items.len() == cap {
            let mut link = url::Url::parse(&format!("{base}/v3/p/snapshots")).unwrap();
            link.query_pairs_mut().extend_pairs(query.iter().filter(|(k, _)| k != "marker")).append_pair("marker", &id(start + cap - 1));
            page["snapshots_links"] = json!([{"rel": "next", "href": link.as_str()}]);
        }
        page
    })
}

/// The second page repeats the first page's last id with a fresh next link: the listing is
/// an error at the repeated item (after the items before it), never a listing with it twice
/// or with it dropped, and nothing more is fetched. Page by page, the second page is the
/// error. Fails before the pager's exactness check: 5 ids, one of them twice, no error.
#[test]
fn a_page_repeating_ids_of_an_earlier_page_is_an_error() {
    let server = inclusive_marker(5, 3);
    let got: Vec<Result<String, String>> =
        snapshots::list(&server.client(), &ListOpts::new()).unwrap().map(|r| r.map(|s| s.id).map_err(|e| format!("{e:?}"))).collect();
    assert_eq!(got[..3], [Ok(id(0)), Ok(id(1)), Ok(id(2))]);
    assert_eq!(got.len(), 4, "{got:?}");
    let e = got[3].as_ref().unwrap_err();
    assert!(e.starts_with("InvalidResponse { method: \"GET\""), "{e}");
    assert!(e.contains(&format!("the listing returned snapshot \\\"{}\\\" twice", id(2))), "{e}");
    assert_eq!(server.targets(), ["/v3/p/snapshots".to_owned(), format!("/v3/p/snapshots?marker={}", id(2))]);

    let server = inclusive_marker(5, 3);
    let pages: Vec<_> = snapshots::list_detail(&server.client(), &ListOpts::new()).unwrap().pages().collect();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().unwrap().items.len(), 3);
    assert!(matches!(&pages[1], Err(Error::InvalidResponse { message, .. }) if message.contains("twice")), "{:?}", pages[1]);
    assert_eq!(server.targets().len(), 2);
    // all() fails as a whole.
    assert!(matches!(
        snapshots::list(&inclusive_marker(5, 3).client(), &ListOpts::new()).unwrap().all(),
        Err(Error::InvalidResponse { .. })
    ));
}

/// With a sort of the caller's (not Cinder's default order) the ids are remembered (as
/// keyed hashes): a repeated id is caught all the same, whatever the order.
#[test]
fn a_repeated_id_is_caught_in_any_sort_order() {
    let server = inclusive_marker(5, 3);
    let opts = ListOpts::new().sort(snapshots::SortKey::Name, snapshots::SortDir::Asc);
    let got: Vec<_> = snapshots::list(&server.client(), &opts).unwrap().collect();
    assert_eq!(got.len(), 4);
    assert!(matches!(&got[3], Err(Error::InvalidResponse { message, .. }) if message.contains("twice")), "{:?}", got[3]);
    // A correct listing in that order passes (the server's order is not checked).
    let server = cinder(7, 3);
    assert_eq!(ids(snapshots::list(&server.client(), &opts).unwrap()), all(7));
}

/// In Cinder's default order, an item out of order (here two pages swapped, nothing repeated
/// on the pages seen) is an error too: the listing cannot be exact. A page whose ids repeat
/// within itself also.
#[test]
fn an_item_out_of_cinders_order_is_an_error() {
    let server = PageServer::start(|target, base| {
        if target.contains("marker=") {
            json!({"snapshots": [snapshot(0)]})
        } else {
            json!({"snapshots": [snapshot(1), snapshot(2)], "snapshots_links": [{"rel": "next", "href": format!("{base}/v3/p/snapshots?marker={}", id(2))}]})
        }
    });
    let got: Vec<_> = snapshots::list(&server.client(), &ListOpts::new()).unwrap().collect();
    assert_eq!(got.len(), 3);
    match &got[2] {
        Err(Error::InvalidResponse { message, .. }) => assert_eq!(
            message,
            &format!(
                "the listing is out of Cinder's order (created_at, then id, descending): snapshot {:?} created 2026-11-23T16:42:50.832291Z comes after {:?} created 2026-11-23T16:42:48.832291Z; items repeated or moved between pages, so the listing is not exact",
                id(0),
                id(2)
            )
        ),
        other => panic!("{other:?}"),
    }
    let server = PageServer::start(|_, _| json!({"snapshots": [snapshot(0), snapshot(0)]}));
    let got: Vec<_> = snapshots::list(&server.client(), &ListOpts::new()).unwrap().collect();
    assert!(matches!(&got[1], Err(Error::InvalidResponse { message, .. }) if message.contains("twice")), "{:?}", got[1]);
}
