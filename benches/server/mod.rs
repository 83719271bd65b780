//! A fast local stand-in for Keystone and Cinder, for the benchmarks: HTTP/1.1 with
//! keep-alive, a token with a catalog, version documents, and pages of generated snapshots
//! shaped like the recorded ones (fixtures/). The project name picks the listing size:
//! `p1000`, `p10000`, `p100000`, ... It counts requests (also by method and path),
//! connections and token requests.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Counters {
    pub requests: AtomicUsize,
    pub connections: AtomicUsize,
    pub keystone: AtomicUsize,
    /// Requests by `METHOD /path` (the query left out).
    pub paths: Mutex<BTreeMap<String, usize>>,
}

impl Counters {
    pub fn reset(&self) {
        self.requests.store(0, Ordering::SeqCst);
        self.connections.store(0, Ordering::SeqCst);
        self.keystone.store(0, Ordering::SeqCst);
        self.paths.lock().expect("paths").clear();
    }

    /// `METHOD /path xN` for every path asked for, in order.
    pub fn by_path(&self) -> String {
        let paths = self.paths.lock().expect("paths");
        paths.iter().map(|(p, n)| format!("{p} x{n}")).collect::<Vec<_>>().join(", ")
    }
}

pub struct Server {
    pub url: String,
    pub counters: Arc<Counters>,
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// The recorded detail item (fixtures/mv371_detail_limit2_page1.json) with `@ID@`, `@NAME@`
/// and `@PROJECT@` where the generated values go.
fn template() -> &'static str {
    static T: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let page: serde_json::Value = serde_json::from_str(&fixture("mv371_detail_limit2_page1.json")).expect("page");
        let mut item = page["snapshots"][0].clone();
        item["id"] = "@ID@".into();
        item["name"] = "@NAME@".into();
        item["os-extended-snapshot-attributes:project_id"] = "@PROJECT@".into();
        item.to_string()
    })
}

/// The id of the snapshot of index `i`: descending as `i` grows, so that a listing (every
/// snapshot has the template's `created_at`) is in Cinder's default order, `created_at`
/// then `id` descending, which the client checks.
fn id_of(i: usize) -> String {
    let j = 0xffff_ffff_ffffusize.saturating_sub(i);
    format!("{:08x}-0000-4000-8000-{j:012x}", j >> 16)
}

/// The snapshot of index `i`.
fn snapshot(out: &mut String, project: &str, i: usize) {
    let t = template();
    out.push_str(&t.replace("@ID@", &id_of(i)).replace("@NAME@", &format!("bench-{i}")).replace("@PROJECT@", project));
}

fn index_of(marker: &str) -> Option<usize> {
    0xffff_ffff_ffffusize.checked_sub(usize::from_str_radix(marker.rsplit('-').next()?, 16).ok()?)
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

struct Answer {
    status: &'static str,
    headers: String,
    body: String,
}

fn answer(base: &str, method: &str, target: &str, body: &str, counters: &Counters) -> Answer {
    let ok = |body: String| Answer { status: "200 OK", headers: String::new(), body };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "POST" && path == "/v3/auth/tokens" {
        counters.keystone.fetch_add(1, Ordering::SeqCst);
        let project =
            ["p1000000", "p100000", "p10000", "p1000", "p1"].into_iter().find(|p| body.contains(&format!("\"{p}\""))).unwrap_or("p1000");
        let token = fixture("keystone_auth_tokens_admin.json")
            .replace("http://127.0.0.1:8776/v3/27b115259e6a4d39a32f642f7bfea2a0", &format!("{base}/v3/{project}"))
            .replace("http://127.0.0.1:5000", base)
            .replace("27b115259e6a4d39a32f642f7bfea2a0", project);
        // A token valid for the whole run, whatever the recorded expiry: with the recorded one
        // (past by now) the peers authenticate again and again.
        let mut token: serde_json::Value = serde_json::from_str(&token).expect("token fixture");
        token["token"]["expires_at"] = "2099-01-01T00:00:00.000000Z".into();
        return Answer { status: "201 Created", headers: "X-Subject-Token: bench-token\r\n".into(), body: token.to_string() };
    }
    if path == "/v3" || path == "/v3/" {
        return ok(fixture("keystone_version_v3.json").replace("http://127.0.0.1:5000", base));
    }
    if path == "/" {
        return Answer {
            status: "300 Multiple Choices",
            headers: String::new(),
            body: fixture("common_versions_root.json").replace("http://127.0.0.1:8776", base),
        };
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let (Some("v3"), Some(project)) = (parts.next(), parts.next()) else {
        return Answer {
            status: "404 Not Found",
            headers: String::new(),
            body: r#"{"itemNotFound": {"code": 404, "message": "no"}}"#.into(),
        };
    };
    let total: usize = project.trim_start_matches('p').parse().unwrap_or(0);
    let rest: Vec<&str> = parts.collect();
    match rest.as_slice() {
        [] | [""] => ok(fixture("common_version_v3.json").replace("http://127.0.0.1:8776", base)),
        ["snapshots"] | ["snapshots", "detail"] => {
            let limit = query_value(query, "limit").and_then(|l| l.parse().ok()).unwrap_or(1000usize).min(1000);
            let start = query_value(query, "marker").and_then(index_of).map_or(0, |i| i + 1);
            let end = (start + limit).min(total);
            let mut body = String::with_capacity((end - start) * 640 + 200);
            body.push_str(r#"{"snapshots": ["#);
            for i in start..end {
                if i > start {
                    body.push_str(", ");
                }
                snapshot(&mut body, project, i);
            }
            body.push(']');
            if end > start && end - start == limit {
                let collection = rest.join("/");
                let last = end - 1;
                body.push_str(&format!(
                    r#", "snapshots_links": [{{"rel": "next", "href": "{base}/v3/{project}/{collection}?limit={limit}&marker={}"}}]"#,
                    id_of(last)
                ));
            }
            body.push('}');
            ok(body)
        }
        ["snapshots", id] => {
            let mut body = String::from(r#"{"snapshot": "#);
            snapshot(&mut body, project, index_of(id).unwrap_or(0));
            body.push('}');
            ok(body)
        }
        _ => Answer { status: "404 Not Found", headers: String::new(), body: r#"{"itemNotFound": {"code": 404, "message": "no"}}"#.into() },
    }
}

fn connection(stream: TcpStream, base: String, counters: Arc<Counters>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("/").to_owned());
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counters.requests.fetch_add(1, Ordering::SeqCst);
        let path = target.split('?').next().unwrap_or("");
        *counters.paths.lock().expect("paths").entry(format!("{method} {path}")).or_default() += 1;
        let a = answer(&base, &method, &target, &String::from_utf8_lossy(&body), &counters);
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Openstack-Request-Id: req-bench\r\nOpenStack-API-Version: volume 3.71\r\n{}\r\n",
            a.status,
            a.body.len(),
            a.headers
        );
        if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(a.body.as_bytes())).is_err() || close {
            return;
        }
    }
}

/// Starts the server on 127.0.0.1 (a free port) in background threads.
pub fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let counters = Arc::new(Counters::default());
    let (base, c) = (url.clone(), counters.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.connections.fetch_add(1, Ordering::SeqCst);
            let (base, c) = (base.clone(), c.clone());
            std::thread::spawn(move || connection(stream, base, c));
        }
    });
    Server { url, counters }
}
