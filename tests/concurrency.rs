//! One client shared by 8 threads making 200 requests each, against a local Keystone + Cinder
//! stand-in (std only) whose first token stops working in the middle of the run: every
//! request succeeds, and exactly one re-authentication happens; also when Keystone's clock is
//! hours behind the client's, so that every token looks expired on arrival.

mod rawhttp;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cinder_snapshots::snapshots;
use cinder_snapshots::{AuthOptions, Domain, Microversion, MicroversionPolicy, Scope, ServiceClient};

const SNAPSHOT: &str = r#"{"snapshot": {"id": "da89784d-f5b3-463b-b79a-e0d97710ff99", "created_at": "2026-11-23T16:42:50.832291", "updated_at": null, "name": "n", "description": null, "volume_id": "72c062d8-37e8-4eec-812d-fd9c1bca6bb4", "status": "available", "size": 1, "metadata": {}}}"#;
const UNAUTHORIZED: &str =
    r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;
const THREADS: usize = 8;
const PER_THREAD: usize = 200;
/// After this many Cinder requests the first token is refused, as if it had expired.
const FIRST_TOKEN_DIES_AFTER: usize = 800;

#[derive(Default)]
struct Counts {
    tokens_issued: AtomicUsize,
    cinder: AtomicUsize,
    refused: AtomicUsize,
}

fn reply(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

/// Keystone's `issued_at` and `expires_at`.
type TokenTimes = (&'static str, &'static str);
const IN_STEP: TokenTimes = ("2026-11-24T00:00:00.000000Z", "2099-01-01T00:00:00.000000Z");
/// Issued in 2001 with a one-hour lifetime: long expired by the client's clock.
const SKEWED: TokenTimes = ("2001-01-01T00:00:00.000000Z", "2001-01-01T01:00:00.000000Z");

fn serve(counts: Arc<Counts>, (issued_at, expires_at): TokenTimes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let base = url.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (counts, base) = (counts.clone(), base.clone());
            std::thread::spawn(move || {
                let Some(head) = rawhttp::read_head(&mut stream) else { return };
                if head.starts_with("POST /v3/auth/tokens") {
                    let n = counts.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
                    let body = format!(
                        r#"{{"token": {{"expires_at": "{expires_at}", "issued_at": "{issued_at}", "catalog": [{{"type": "block-storage", "endpoints": [{{"interface": "public", "region_id": "RegionOne", "url": "{base}/v3/p"}}]}}]}}}}"#
                    );
                    reply(&mut stream, "201 Created", &format!("X-Subject-Token: tok-{n}\r\n"), &body);
                    return;
                }
                let seen = counts.cinder.fetch_add(1, Ordering::SeqCst);
                let token = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("x-auth-token:").map(|v| v.trim().to_owned()));
                let valid = match token.as_deref() {
                    Some("tok-1") => seen < FIRST_TOKEN_DIES_AFTER,
                    Some(t) => t.starts_with("tok-"),
                    None => false,
                };
                if valid {
                    reply(&mut stream, "200 OK", "", SNAPSHOT);
                } else {
                    counts.refused.fetch_add(1, Ordering::SeqCst);
                    reply(&mut stream, "401 Unauthorized", "", UNAUTHORIZED);
                }
            });
        }
    });
    url
}

#[test]
fn eight_threads_one_reauthentication() {
    eight_threads(IN_STEP);
}

#[test]
fn eight_threads_one_reauthentication_with_a_skewed_clock() {
    eight_threads(SKEWED);
}

fn eight_threads(times: TokenTimes) {
    let counts = Arc::new(Counts::default());
    let url = serve(counts.clone(), times);
    let client = ServiceClient::builder(
        AuthOptions::password(format!("{url}/v3"), "admin", Domain::name("Default"), "pw").with_scope(Scope::project_id("p")),
    )
    .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
    .timeout(Duration::from_secs(10))
    .build()
    .unwrap();
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let (client, ok) = (client.clone(), &ok);
            s.spawn(move || {
                for _ in 0..PER_THREAD {
                    snapshots::get(&client, "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let (issued, refused, cinder) =
        (counts.tokens_issued.load(Ordering::SeqCst), counts.refused.load(Ordering::SeqCst), counts.cinder.load(Ordering::SeqCst));
    println!("concurrency: {} requests ok, {issued} tokens issued, {refused} refused and replayed", ok.load(Ordering::Relaxed));
    assert_eq!(ok.load(Ordering::Relaxed), THREADS * PER_THREAD, "every request succeeds");
    assert_eq!(issued, 2, "the first token and exactly one re-authentication");
    assert!((1..=THREADS).contains(&refused), "at most one 401 per thread: {refused}");
    assert_eq!(cinder, THREADS * PER_THREAD + refused);
    assert_eq!(client.token().unwrap().expose_secret(), "tok-2");
}
