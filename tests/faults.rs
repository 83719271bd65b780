//! Fault injection: a small local TCP server (std only) that misbehaves on purpose. Every
//! case asserts the exact error kind, that it came within the configured time, and how many
//! requests were made; a few faults have a value as their right outcome (an unreadable
//! timestamp is `None`), checked likewise. The suite ends with the summary line
//! `faults: N injected, T typed errors, H handled values, 0 panics, 0 hangs` (N = T + H).

mod rawhttp;

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts};
use cinder_snapshots::{
    AuthOptions, Domain, Error, Microversion, MicroversionPolicy, RetryPolicy, Scope, ServiceClient, TransportErrorKind,
};

/// One request as the server saw it.
struct Seen {
    head: String,
}

impl Seen {
    fn method(&self) -> &str {
        self.head.split(' ').next().unwrap_or_default()
    }
    fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }
}

type Behaviour = dyn Fn(usize, &Seen, &mut TcpStream) + Send + Sync;

/// A server on 127.0.0.1 answering every request with `behaviour(n, request, stream)`,
/// one request per connection. Counts requests.
struct FaultServer {
    addr: String,
    hits: Arc<AtomicUsize>,
}

impl FaultServer {
    fn start(behaviour: impl Fn(usize, &Seen, &mut TcpStream) + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let hits = Arc::new(AtomicUsize::new(0));
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let behaviour = behaviour.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let Some(seen) = read_request(&mut stream) else { return };
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    behaviour(n, &seen, &mut stream);
                });
            }
        });
        FaultServer { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    rawhttp::read_head(stream).map(|head| Seen { head })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

const SNAPSHOT: &str = r#"{"snapshot": {"id": "da89784d-f5b3-463b-b79a-e0d97710ff99", "created_at": "2026-11-23T16:42:50.832291", "updated_at": null, "name": "mv371-snap-alpha", "description": "alpha snapshot", "volume_id": "72c062d8-37e8-4eec-812d-fd9c1bca6bb4", "status": "available", "size": 1, "metadata": {}}}"#;
const ID: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";
const TIMEOUT: Duration = Duration::from_millis(600);

/// A client on the fault server with a ready token (no Keystone), quick retries, a short
/// timeout and a 1 MiB body cap.
fn client(server: &FaultServer) -> ServiceClient {
    ServiceClient::with_token(&format!("{}/v3/p", server.url()), "tok-faults")
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .max_response_bytes(1 << 20)
        .retry_policy(
            RetryPolicy::new()
                .max_retries(3)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
}

/// What a case expects.
struct Expect {
    name: &'static str,
    kind: fn(&Error) -> bool,
    requests: usize,
    within: Duration,
}

struct Tally {
    injected: usize,
    typed: usize,
    /// Faults whose right outcome is a value, not an error (an unreadable timestamp is
    /// `None`, an unsafe cache directory is skipped), checked by the case.
    handled: usize,
    panics: usize,
    hangs: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Runs one case: `call` against a fresh server with `behaviour`, then checks the error
    /// kind, the request count and the time taken.
    fn case<T: std::fmt::Debug>(
        &mut self,
        expect: Expect,
        behaviour: impl Fn(usize, &Seen, &mut TcpStream) + Send + Sync + 'static,
        call: impl FnOnce(&ServiceClient, &FaultServer) -> Result<T, Error>,
    ) {
        self.injected += 1;
        let server = FaultServer::start(behaviour);
        let c = client(&server);
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&c, &server)));
        let took = start.elapsed();
        std::thread::sleep(Duration::from_millis(30)); // let late requests be counted
        if took > expect.within {
            self.hangs += 1;
        }
        match outcome {
            Err(_) => {
                self.panics += 1;
                self.failures.push(format!("{}: panicked", expect.name));
            }
            Ok(Ok(v)) => self.failures.push(format!("{}: expected an error, got {v:?}", expect.name)),
            Ok(Err(e)) => {
                if (expect.kind)(&e) {
                    self.typed += 1;
                } else {
                    self.failures.push(format!("{}: wrong error kind: {e:?}", expect.name));
                }
                if server.hits() != expect.requests {
                    self.failures.push(format!("{}: {} requests, expected {} ({e})", expect.name, server.hits(), expect.requests));
                }
                if took > expect.within {
                    self.failures.push(format!("{}: took {took:?}, bound {:?} ({e})", expect.name, expect.within));
                }
            }
        }
    }
}

impl Tally {
    /// Runs one case whose right outcome is a value: `check` says what is wrong with it,
    /// if anything, given the server (for its request count).
    fn value<T>(
        &mut self,
        name: &'static str,
        within: Duration,
        behaviour: impl Fn(usize, &Seen, &mut TcpStream) + Send + Sync + 'static,
        call: impl FnOnce(&ServiceClient, &FaultServer) -> Result<T, Error>,
        check: impl FnOnce(T, &FaultServer) -> Result<(), String>,
    ) {
        self.injected += 1;
        let server = FaultServer::start(behaviour);
        let c = client(&server);
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&c, &server)));
        let took = start.elapsed();
        std::thread::sleep(Duration::from_millis(30));
        if took > within {
            self.hangs += 1;
            self.failures.push(format!("{name}: took {took:?}, bound {within:?}"));
        }
        match outcome {
            Err(_) => {
                self.panics += 1;
                self.failures.push(format!("{name}: panicked"));
            }
            Ok(Err(e)) => self.failures.push(format!("{name}: expected a value, got {e:?}")),
            Ok(Ok(v)) => match check(v, &server) {
                Ok(()) => self.handled += 1,
                Err(why) => self.failures.push(format!("{name}: {why}")),
            },
        }
    }
}

fn transport(e: &Error) -> bool {
    matches!(e, Error::Transport { .. })
}

fn timeout(e: &Error) -> bool {
    matches!(e, Error::Transport { source, .. } if source.kind() == TransportErrorKind::Timeout)
}

fn decode(e: &Error) -> bool {
    matches!(e, Error::Decode { .. })
}

fn get(c: &ServiceClient, _: &FaultServer) -> Result<snapshots::Snapshot, Error> {
    snapshots::get(c, ID)
}

/// The recorded snapshot as the page after `marker` holds it: its own id and a creation time
/// one second earlier for each later page, as Cinder orders a listing (newest first).
fn page_item(marker: Option<&str>) -> serde_json::Value {
    let n = match marker {
        None => 0,
        Some("m1" | "a") => 1,
        Some("m2" | "b") => 2,
        Some(_) => 3,
    };
    let mut item = serde_json::from_str::<serde_json::Value>(SNAPSHOT).unwrap()["snapshot"].clone();
    item["id"] = serde_json::json!(format!("da89784d-f5b3-463b-b79a-e0d97710ff9{n}"));
    item["created_at"] = serde_json::json!(format!("2026-11-23T16:42:5{}.832291", 9 - n));
    item
}

#[test]
fn fault_injection() {
    let mut t = Tally { injected: 0, typed: 0, handled: 0, panics: 0, hangs: 0, failures: Vec::new() };
    let quick = Duration::from_secs(2);

    // Connection-level faults on an idempotent GET: retried, then a transport error.
    t.case(
        Expect { name: "close mid-headers", kind: transport, requests: 4, within: quick },
        |_, _, s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty");
            let _ = s.shutdown(Shutdown::Both);
        },
        get,
    );
    t.case(
        Expect { name: "close mid-body", kind: transport, requests: 4, within: quick },
        |_, _, s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"snapshot\": {");
            let _ = s.shutdown(Shutdown::Both);
        },
        get,
    );
    t.case(
        Expect { name: "closed without a byte", kind: transport, requests: 4, within: quick },
        |_, _, s| {
            let _ = s.shutdown(Shutdown::Both);
        },
        get,
    );
    // A POST is never replayed after a connection failure.
    t.case(
        Expect { name: "POST reset", kind: transport, requests: 1, within: quick },
        |_, _, s| {
            let _ = s.shutdown(Shutdown::Both);
        },
        |c, _| snapshots::create(c, &CreateOpts::new("72c062d8-37e8-4eec-812d-fd9c1bca6bb4")),
    );
    // Bodies that are not what they claim.
    t.case(
        Expect { name: "truncated JSON", kind: decode, requests: 1, within: quick },
        |_, _, s| respond(s, "200 OK", &[("Content-Type", "application/json")], r#"{"snapshot": {"id": "x""#),
        get,
    );
    t.case(
        Expect { name: "invalid JSON", kind: decode, requests: 1, within: quick },
        |_, _, s| respond(s, "200 OK", &[("Content-Type", "application/json")], "{snapshot: nope}"),
        get,
    );
    t.case(
        Expect { name: "wrong content type", kind: decode, requests: 1, within: quick },
        |_, _, s| respond(s, "200 OK", &[("Content-Type", "text/plain")], "all good"),
        get,
    );
    t.case(
        Expect {
            name: "HTML error page",
            kind: |e| e.status() == Some(500) && e.api().is_some_and(|a| a.message.starts_with("<html>")),
            requests: 1,
            within: quick,
        },
        |_, _, s| respond(s, "500 Internal Server Error", &[("Content-Type", "text/html")], "<html><body>Internal error</body></html>"),
        get,
    );
    // Slow and silent servers end in a timeout (not retried: each would cost it again).
    t.case(
        Expect { name: "slow drip", kind: timeout, requests: 1, within: TIMEOUT + Duration::from_millis(400) },
        |_, _, s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
            for _ in 0..50 {
                if s.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        },
        get,
    );
    t.case(
        Expect { name: "silence", kind: timeout, requests: 1, within: TIMEOUT + Duration::from_millis(400) },
        |_, _, _| std::thread::sleep(Duration::from_secs(3)),
        get,
    );
    t.case(
        Expect {
            name: "huge body",
            kind: |e| matches!(e, Error::Transport { source, .. } if source.kind() == TransportErrorKind::TooLarge),
            requests: 1,
            within: quick,
        },
        |_, _, s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n");
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..1600 {
                if s.write_all(&chunk).is_err() {
                    return;
                }
            }
        },
        get,
    );
    // Redirects are not followed: the token never goes elsewhere.
    t.case(
        Expect { name: "redirect loop", kind: |e| e.status() == Some(302), requests: 1, within: quick },
        |_, seen, s| {
            let location = format!("http://127.0.0.1:1{}", seen.target());
            respond(s, "302 Found", &[("Location", location.as_str())], "")
        },
        get,
    );
    // Server errors: 500 is returned, 502/503/504 retried then returned with the attempts.
    t.case(
        Expect { name: "500", kind: |e| e.status() == Some(500), requests: 1, within: quick },
        |_, _, s| {
            respond(
                s,
                "500 Internal Server Error",
                &[("Content-Type", "application/json")],
                r#"{"computeFault": {"code": 500, "message": "boom"}}"#,
            )
        },
        get,
    );
    for (code, line) in [(502u16, "502 Bad Gateway"), (503, "503 Service Unavailable"), (504, "504 Gateway Timeout")] {
        let kind: fn(&Error) -> bool = match code {
            502 => |e| e.status() == Some(502) && e.api().is_some_and(|a| a.attempts == 4),
            503 => |e| e.status() == Some(503) && e.is_transient(),
            _ => |e| e.status() == Some(504) && e.to_string().contains("after 4 attempts"),
        };
        t.case(
            Expect { name: "5xx retried", kind, requests: 4, within: quick },
            move |_, _, s| respond(s, line, &[("Content-Type", "text/html")], "<html>down</html>"),
            get,
        );
    }
    t.case(
        Expect { name: "POST 503 not replayed", kind: |e| e.status() == Some(503), requests: 1, within: quick },
        |_, _, s| respond(s, "503 Service Unavailable", &[], ""),
        |c, _| snapshots::create(c, &CreateOpts::new("72c062d8-37e8-4eec-812d-fd9c1bca6bb4")),
    );
    // 429 and 503 honour Retry-After (here 0 s, then success)...
    t.case(
        Expect { name: "429 then 404", kind: |e| e.status() == Some(404), requests: 2, within: quick },
        |n, _, s| {
            if n == 0 {
                respond(s, "429 Too Many Requests", &[("Retry-After", "0")], "")
            } else {
                respond(
                    s,
                    "404 Not Found",
                    &[("Content-Type", "application/json")],
                    r#"{"itemNotFound": {"code": 404, "message": "gone"}}"#,
                )
            }
        },
        get,
    );
    // ...but not past the cap: a long Retry-After is returned at once, typed.
    t.case(
        Expect {
            name: "503 Retry-After past the cap",
            kind: |e| e.api().is_some_and(|a| a.retry_after == Some(Duration::from_secs(3600))),
            requests: 1,
            within: quick,
        },
        |_, _, s| respond(s, "503 Service Unavailable", &[("Retry-After", "3600")], ""),
        get,
    );
    // Cinder's 413 overLimit is a quota: typed, with retry_after, never retried.
    t.case(
        Expect { name: "413 overLimit", kind: |e| e.is_over_limit() && e.api().is_some_and(|a| a.retry_after == Some(Duration::ZERO)), requests: 1, within: quick },
        |_, _, s| {
            respond(
                s,
                "413 Request Entity Too Large",
                &[("Retry-After", "0"), ("Content-Type", "application/json")],
                r#"{"overLimit": {"code": 413, "message": "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded", "retryAfter": "0"}}"#,
            )
        },
        |c, _| snapshots::create(c, &CreateOpts::new("72c062d8-37e8-4eec-812d-fd9c1bca6bb4")),
    );
    // Pagination: a next link to a foreign host is never followed (its query comes to us),
    // and a repeated marker is an error, not a loop.
    t.case(
        Expect {
            name: "foreign next link, repeated marker",
            kind: |e| matches!(e, Error::InvalidResponse { .. }),
            requests: 2,
            within: quick,
        },
        |_, _, s| {
            let mut page: serde_json::Value = serde_json::from_str(SNAPSHOT).unwrap();
            let snapshot = page["snapshot"].take();
            let page = serde_json::json!({"snapshots": [snapshot],
                "snapshots_links": [{"rel": "next", "href": "http://evil.example:1/v3/p/snapshots?limit=1&marker=m1"}]});
            let page = page.to_string();
            respond(s, "200 OK", &[("Content-Type", "application/json")], &page)
        },
        |c, _| snapshots::list(c, &ListOpts::new().limit(1))?.all(),
    );

    // Keystone faults: 401 after the re-auth, no X-Subject-Token, no block-storage endpoint.
    let token_body = |url: &str, service: &str| {
        format!(
            r#"{{"token": {{"expires_at": "2099-01-01T00:00:00.000000Z", "issued_at": "2026-11-23T16:42:40.000000Z", "catalog": [{{"type": "{service}", "id": "1", "name": "cinderv3", "endpoints": [{{"id": "2", "interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "{url}/v3/p"}}]}}]}}}}"#
        )
    };
    let with_keystone = |server: &FaultServer| {
        ServiceClient::builder(
            AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), "pw")
                .with_scope(Scope::project_name("admin", Domain::name("Default"))),
        )
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .timeout(TIMEOUT)
        .retry_policy(
            RetryPolicy::new()
                .max_retries(3)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
    };
    let addr_holder: Arc<std::sync::Mutex<String>> = Arc::default();
    let holder = addr_holder.clone();
    t.case(
        Expect {
            name: "401 after re-auth",
            kind: |e| e.status() == Some(401) && !matches!(e, Error::Auth { .. }),
            requests: 4,
            within: quick,
        },
        move |_, seen, s| {
            if seen.method() == "POST" {
                let url = holder.lock().unwrap().clone();
                respond(
                    s,
                    "201 Created",
                    &[("X-Subject-Token", "tok"), ("Content-Type", "application/json")],
                    &token_body(&url, "block-storage"),
                )
            } else {
                respond(
                    s,
                    "401 Unauthorized",
                    &[("Content-Type", "application/json")],
                    r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#,
                )
            }
        },
        |_, server| {
            *addr_holder.lock().unwrap() = server.url();
            snapshots::get(&with_keystone(server), ID)
        },
    );
    t.case(
        Expect {
            name: "Keystone without X-Subject-Token",
            kind: |e| matches!(e, Error::Auth { message, .. } if message.contains("X-Subject-Token")),
            requests: 1,
            within: quick,
        },
        move |_, _, s| {
            respond(s, "201 Created", &[("Content-Type", "application/json")], &token_body("http://127.0.0.1:1", "block-storage"))
        },
        |_, server| snapshots::get(&with_keystone(server), ID),
    );
    t.case(
        Expect {
            name: "catalog without block-storage",
            kind: |e| matches!(e, Error::EndpointNotFound { message } if message.contains("compute [public RegionOne]")),
            requests: 1,
            within: quick,
        },
        move |_, _, s| {
            respond(
                s,
                "201 Created",
                &[("X-Subject-Token", "tok"), ("Content-Type", "application/json")],
                &token_body("http://127.0.0.1:1", "compute"),
            )
        },
        |_, server| snapshots::get(&with_keystone(server), ID),
    );

    // Keystone down: its 503 is an API error kept whole (not "credentials refused"),
    // transient, retried like any other.
    t.case(
        Expect {
            name: "Keystone 503",
            kind: |e| matches!(e, Error::Api(a) if a.status == 503 && a.attempts == 4) && e.is_transient() && !e.is_unauthorized(),
            requests: 4,
            within: quick,
        },
        |_, _, s| respond(s, "503 Service Unavailable", &[("Content-Type", "text/html")], "<html>down</html>"),
        |_, server| snapshots::get(&with_keystone(server), ID),
    );
    // A token that arrives already expired (Keystone's clock far behind ours) is used until
    // Cinder refuses it: one token request for a listing of three pages, not one per page.
    let holder = Arc::new(std::sync::Mutex::new(String::new()));
    let addr = holder.clone();
    t.value(
        "token expired on arrival",
        quick,
        move |_, seen, s| {
            if seen.method() == "POST" {
                let url = addr.lock().unwrap().clone();
                let body = token_body(&url, "block-storage")
                    .replace("2099-01-01T00:00:00.000000Z", "2001-01-01T01:00:00.000000Z")
                    .replace("2026-11-23T16:42:40.000000Z", "2001-01-01T00:00:00.000000Z");
                return respond(s, "201 Created", &[("X-Subject-Token", "tok"), ("Content-Type", "application/json")], &body);
            }
            let marker = seen.target().split("marker=").nth(1).map(str::to_owned);
            let next = match marker.as_deref() {
                None => Some("m1"),
                Some("m1") => Some("m2"),
                _ => None,
            };
            let item = page_item(marker.as_deref());
            let links = next.map(|m| serde_json::json!([{"rel": "next", "href": format!("/v3/p/snapshots?limit=1&marker={m}")}]));
            let page = serde_json::json!({"snapshots": [item], "snapshots_links": links.unwrap_or_else(|| serde_json::json!([]))});
            respond(s, "200 OK", &[("Content-Type", "application/json")], &page.to_string())
        },
        move |_, server| {
            *holder.lock().unwrap() = server.url();
            snapshots::list(&with_keystone(server), &ListOpts::new().limit(1))?.all()
        },
        |snaps, server| match (snaps.len(), server.hits()) {
            (3, 4) => Ok(()),
            other => Err(format!("expected 3 snapshots in 1 token request + 3 pages, got {other:?}")),
        },
    );
    // A pagination marker that cycles (a, b, a): an error after the pages, never a loop.
    t.case(
        Expect { name: "cycling marker", kind: |e| matches!(e, Error::InvalidResponse { .. }), requests: 3, within: quick },
        |_, seen, s| {
            let marker = seen.target().split("marker=").nth(1);
            let next = match marker {
                None => "a",
                Some("a") => "b",
                _ => "a",
            };
            let page = serde_json::json!({"snapshots": [page_item(marker)],
                "snapshots_links": [{"rel": "next", "href": format!("/v3/p/snapshots?limit=1&marker={next}")}]});
            respond(s, "200 OK", &[("Content-Type", "application/json")], &page.to_string())
        },
        |c, _| snapshots::list(c, &ListOpts::new().limit(1))?.all(),
    );
    // A second page repeating the first page's snapshot behind a fresh next link (a server
    // whose marker is inclusive): an error, never a listing with it twice nor one with it
    // dropped. Fails before the pager's exactness check: three snapshots, the first twice.
    t.case(
        Expect {
            name: "a page repeating an id",
            kind: |e| matches!(e, Error::InvalidResponse { message, .. } if message.contains("twice")),
            requests: 2,
            within: quick,
        },
        |_, seen, s| {
            let marker = seen.target().split("marker=").nth(1);
            let (items, next) = match marker {
                None => (vec![page_item(None), page_item(Some("m1"))], Some("m1")),
                _ => (vec![page_item(Some("m1")), page_item(Some("m2"))], Some("m2")),
            };
            let links = next.map(|m| serde_json::json!([{"rel": "next", "href": format!("/v3/p/snapshots?limit=2&marker={m}")}]));
            let page = serde_json::json!({"snapshots": items, "snapshots_links": links});
            respond(s, "200 OK", &[("Content-Type", "application/json")], &page.to_string())
        },
        |c, _| snapshots::list(c, &ListOpts::new().limit(2))?.all(),
    );
    // A token cache directory others can write to is not used (as ssh refuses such files):
    // the call succeeds without the cache, and nothing is written there.
    let cache_dir = std::env::temp_dir().join(format!("cinder-snapshots-faults-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    std::fs::create_dir_all(&cache_dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cache_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let holder = Arc::new(std::sync::Mutex::new(String::new()));
    let addr = holder.clone();
    let dir = cache_dir.clone();
    t.value(
        "world-writable token cache directory",
        quick,
        move |_, seen, s| {
            if seen.method() == "POST" {
                let url = addr.lock().unwrap().clone();
                respond(
                    s,
                    "201 Created",
                    &[("X-Subject-Token", "tok"), ("Content-Type", "application/json")],
                    &token_body(&url, "block-storage"),
                )
            } else {
                respond(s, "200 OK", &[("Content-Type", "application/json")], SNAPSHOT)
            }
        },
        move |_, server| {
            *holder.lock().unwrap() = server.url();
            let client = ServiceClient::builder(
                AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), "pw")
                    .with_scope(Scope::project_name("admin", Domain::name("Default"))),
            )
            .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
            .token_cache(cinder_snapshots::TokenCache::new(&dir))
            .build()?;
            snapshots::get(&client, ID)
        },
        move |snap, server| {
            let written = std::fs::read_dir(&cache_dir).map(|d| d.count()).unwrap_or(0);
            let _ = std::fs::remove_dir_all(&cache_dir);
            match (snap.id.as_str(), server.hits(), written) {
                (ID, 2, 0) => Ok(()),
                other => Err(format!("expected the snapshot, 2 requests and no file in the cache, got {other:?}")),
            }
        },
    );
    // Durations at their extremes given in code: clamped, never a panic adding to a clock.
    t.value(
        "Duration::MAX timeouts",
        quick,
        |_, _, s| respond(s, "200 OK", &[("Content-Type", "application/json")], SNAPSHOT),
        |_, server| {
            let client = ServiceClient::with_token(&format!("{}/v3/p", server.url()), "tok")?
                .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
                .timeout(Duration::MAX)
                .connect_timeout(Duration::MAX)
                .build()?;
            snapshots::get(&client, ID)
        },
        |snap, server| if snap.id == ID && server.hits() == 1 { Ok(()) } else { Err(format!("{} requests", server.hits())) },
    );
    // Timestamps at the edge of what parses: a time whose offset carries it past year 9999
    // in UTC is unreadable (None), never a failed call or a panic later when it is shown.
    t.value(
        "timestamp past year 9999 in UTC",
        quick,
        |_, _, s| {
            let body = SNAPSHOT
                .replace("\"2026-11-23T16:42:50.832291\"", "\"9999-12-31T23:59:59-01:00\"")
                .replace("\"updated_at\": null", "\"updated_at\": \"0000-01-01T00:00:00+00:01\"");
            respond(s, "200 OK", &[("Content-Type", "application/json")], &body)
        },
        get,
        |snap, server| match (snap.created_at, snap.updated_at, server.hits()) {
            (None, None, 1) => Ok(()),
            other => Err(format!("expected no timestamps and 1 request, got {other:?}")),
        },
    );
    // Control characters in a server's text reach the caller verbatim (the library does not
    // rewrite data; the CLI escapes them when it prints, tests/cli.rs), and in an error.
    t.case(
        Expect {
            name: "control characters in an error",
            kind: |e| e.status() == Some(400) && e.api().is_some_and(|a| a.message == "bad\u{1b}[2J\r\nrow"),
            requests: 1,
            within: quick,
        },
        |_, _, s| {
            respond(
                s,
                "400 Bad Request",
                &[("Content-Type", "application/json")],
                r#"{"badRequest": {"code": 400, "message": "bad\u001b[2J\r\nrow"}}"#,
            )
        },
        get,
    );

    println!(
        "faults: {} injected, {} typed errors, {} handled values, {} panics, {} hangs",
        t.injected, t.typed, t.handled, t.panics, t.hangs
    );
    assert!(t.failures.is_empty(), "fault cases failed:\n{}", t.failures.join("\n"));
    assert_eq!(t.injected, t.typed + t.handled);
}
