//! A listing starts no thread. ureq's default resolver looked the host up again for every
//! request, on a new thread whenever a timeout applies: listing 10,000 snapshots started 13
//! threads. The client now resolves a host name once (then answers from a cache) and never
//! looks up an IP address.
//!
//! Linux only: a thread's id is read from `/proc/thread-self`. Thread ids come from one
//! counter that only grows (until it wraps), so the ids of two probe threads, one started
//! just before a listing and one just after, differ by exactly 1 when nothing in between
//! started a thread, and by at least the number of pages when every request starts one.
//! Other processes on the machine take ids from the same counter (a CI machine building
//! something else can start several threads during one listing), so each measurement is
//! tried a few times and the smallest difference must stay far below one thread per page:
//! at most a quarter of the pages (it was one more than the number of pages before).
#![cfg(target_os = "linux")]

mod rawhttp;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cinder_snapshots::snapshots::{self, ListOpts};
use cinder_snapshots::{Microversion, MicroversionPolicy, ServiceClient};

/// Pages in each listing (two snapshots each).
const PAGES: usize = 60;
/// Measurements tried before giving up on finding one without other processes' threads.
const TRIES: usize = 20;

/// A std-only server on one thread (started before any measurement), serving connections
/// one after the other: `PAGES` pages of snapshots linked by markers. Counts requests.
fn serve() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_nodelay(true).unwrap();
            while let Some(head) = rawhttp::read_head(&mut stream) {
                counted.fetch_add(1, Ordering::SeqCst);
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let host = head
                    .lines()
                    .find_map(|l| l.strip_prefix("host: ").or_else(|| l.strip_prefix("Host: ")))
                    .unwrap_or("127.0.0.1")
                    .trim()
                    .to_owned();
                let page = target.split_once("marker=").map_or(0, |(_, m)| m.parse::<usize>().unwrap_or(0) + 1);
                let items: Vec<String> =
                    (0..2).map(|i| format!(r#"{{"id": "{page}-{i}", "volume_id": "v", "status": "available", "size": 1}}"#)).collect();
                let links = if page + 1 < PAGES {
                    format!(r#", "snapshots_links": [{{"rel": "next", "href": "http://{host}/v3/p/snapshots/detail?marker={page}"}}]"#)
                } else {
                    String::new()
                };
                let body = format!(r#"{{"snapshots": [{}]{links}}}"#, items.join(", "));
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                if stream.write_all(answer.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (port, requests)
}

/// The id of a new thread (the counter's value when it started).
fn probe() -> i64 {
    std::thread::spawn(|| {
        let link = std::fs::read_link("/proc/thread-self").unwrap();
        link.to_str().unwrap().rsplit('/').next().unwrap().parse::<i64>().unwrap()
    })
    .join()
    .unwrap()
}

fn client(host: &str, port: u16) -> ServiceClient {
    ServiceClient::with_token(&format!("http://{host}:{port}/v3/p"), "tok")
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .build()
        .unwrap()
}

fn list(client: &ServiceClient) -> usize {
    snapshots::list_detail(client, &ListOpts::new()).unwrap().all().unwrap().len()
}

/// One test at a time: the tests of this file run on parallel threads, and one's threads
/// would show in the other's measurements.
static MEASURING: Mutex<()> = Mutex::new(());

/// Lists with `make()`'s client between two probes, `TRIES` times at most; the thread ids'
/// differences, stopping at the first clean one.
fn differences(requests: &AtomicUsize, make: impl Fn() -> ServiceClient) -> Vec<i64> {
    let mut seen = Vec::new();
    for _ in 0..TRIES {
        let client = make();
        requests.store(0, Ordering::SeqCst);
        let before = probe();
        let listed = list(&client);
        let after = probe();
        assert_eq!((listed, requests.load(Ordering::SeqCst)), (2 * PAGES, PAGES));
        seen.push(after - before);
        if after - before == 1 {
            break;
        }
    }
    seen
}

/// The listing started (almost) no thread in its cleanest try: one thread per page would
/// show as a difference above `PAGES`.
fn assert_few(seen: &[i64]) {
    let best = seen.iter().copied().min().unwrap_or(i64::MAX);
    assert!(best <= (PAGES / 4) as i64, "thread id differences across a listing of {PAGES} pages, one per try: {seen:?}");
}

/// An endpoint given as an IP address: no lookup, so not even the first request of a new
/// client starts a thread.
#[test]
fn a_listing_from_an_ip_address_starts_no_thread() {
    let _alone = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (port, requests) = serve();
    let seen = differences(&requests, || client("127.0.0.1", port));
    assert_few(&seen);
}

/// An endpoint given as a host name: looked up once by the first request, then cached, so a
/// listing with that client starts no thread.
#[test]
fn a_listing_from_a_host_name_starts_no_thread_after_the_first_lookup() {
    let _alone = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (port, requests) = serve();
    let warm = client("localhost", port);
    assert_eq!(list(&warm), 2 * PAGES);
    let seen = differences(&requests, || warm.clone());
    assert_few(&seen);
}
