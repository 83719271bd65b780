//! Test support: recorded exchanges with a real Keystone and Cinder (`fixtures/`), replayed
//! by mockito.
//!
//! A fixture `NAME` is three files copied from the recordings: `NAME.request` (request line,
//! headers, blank line, body), `NAME.headers` (status line and headers) and `NAME.json` or
//! `NAME.body` (the response body). Secrets were redacted when recording: the request's
//! `<token:admin>`/`<token:demo>` and the response's `X-Subject-Token: <redacted:...>` become
//! [`TOKEN`] here, and a recorded `<password>` becomes [`PASSWORD`].
#![allow(dead_code)]

use std::path::PathBuf;

use cinder_snapshots::{AuthOptions, Domain, Microversion, MicroversionPolicy, Scope, ServiceClient};
use mockito::{Matcher, Mock, Server};

/// The token the mocked Keystone hands out and the mocked Cinder expects.
pub const TOKEN: &str = "gAAAAAB-test-token-admin";
/// The password used where the recording has `<password>`.
pub const PASSWORD: &str = "s3cret-Pa55word";
/// The admin project of the recordings.
pub const ADMIN_PROJECT: &str = "27b115259e6a4d39a32f642f7bfea2a0";
/// The demo (member) project of the recordings.
pub const DEMO_PROJECT: &str = "d870de6416de4d15adce66c98b81f10a";

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub method: String,
    /// Path as recorded (percent-encoded), without the query.
    pub path: String,
    /// Query as recorded, not decoded.
    pub query: Option<String>,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn header_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

impl Fixture {
    /// Loads `fixtures/NAME.*`; panics (test code) when a file is missing.
    pub fn load(name: &str) -> Fixture {
        let dir = fixtures_dir();
        let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}")));
        let request = read("request").unwrap_or_else(|e| panic!("fixture {name}.request: {e}"));
        let headers = read("headers").unwrap_or_else(|e| panic!("fixture {name}.headers: {e}"));
        let response_body = renew_token_times(read("json").or_else(|_| read("body")).unwrap_or_default());

        let (head, body) = request.split_once("\n\n").unwrap_or((request.as_str(), ""));
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let (method, url) = request_line.split_once(' ').expect("METHOD URL");
        let url = url.trim();
        // Drop scheme and authority.
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path_and_query = &after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..];
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        let request_headers = header_lines(&lines.collect::<Vec<_>>().join("\n"));
        let request_body = Some(body.trim().to_owned()).filter(|b| !b.is_empty());

        let mut hl = headers.lines();
        let status_line = hl.next().expect("status line");
        let status: u16 = status_line.split_whitespace().nth(1).expect("status code").parse().expect("numeric status");
        let response_headers = header_lines(&hl.collect::<Vec<_>>().join("\n"));
        Fixture {
            name: name.to_owned(),
            method: method.to_owned(),
            path,
            query,
            request_headers,
            request_body,
            status,
            response_headers,
            response_body,
        }
    }

    /// A recorded response header, by case-insensitive name.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A recorded request header, by case-insensitive name.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The recorded response body as JSON.
    pub fn response_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.response_body).unwrap_or_else(|e| panic!("{}: response is not JSON: {e}", self.name))
    }

    /// The recorded request body as JSON, with `<password>` replaced by [`PASSWORD`].
    pub fn request_json(&self) -> Option<serde_json::Value> {
        self.request_body.as_ref().map(|b| {
            serde_json::from_str(&b.replace("<password>", PASSWORD)).unwrap_or_else(|e| panic!("{}: request is not JSON: {e}", self.name))
        })
    }

    /// The recorded query, decoded into pairs and encoded again the way the crate encodes
    /// (RFC 3986 unreserved characters kept, everything else percent-encoded): the exact
    /// query string the crate must send for the same parameters.
    pub fn canonical_query(&self) -> Option<String> {
        let q = self.query.as_ref()?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        Some(pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&"))
    }

    /// A mock answering this exchange: it matches the exact method, path, query string
    /// ([`canonical_query`](Self::canonical_query), nothing else), the token, the recorded
    /// microversion header (when one was sent), `Content-Type` and the JSON body (when there
    /// was one), and answers the recorded status, request-id and Retry-After headers and
    /// body, with the recorded server addresses replaced by the mock server's.
    /// Call `.expect(n).create()` on it.
    pub fn mock(&self, server: &mut Server) -> Mock {
        let mut m = server
            .mock(self.method.as_str(), self.path.as_str())
            .match_query(match self.canonical_query() {
                Some(q) => Matcher::Exact(q),
                None => Matcher::Missing,
            })
            .match_header("x-auth-token", TOKEN)
            .match_header("accept", "application/json");
        match self.request_header("OpenStack-API-Version") {
            Some(v) => m = m.match_header("openstack-api-version", v),
            None => m = m.match_header("openstack-api-version", Matcher::Any),
        }
        if let Some(body) = self.request_json() {
            m = m.match_header("content-type", "application/json").match_body(Matcher::Json(body));
        }
        self.respond(server, m)
    }

    /// Adds the recorded answer to a mock.
    pub fn respond(&self, server: &Server, mut m: Mock) -> Mock {
        m = m.with_status(usize::from(self.status));
        for name in
            ["Content-Type", "X-Openstack-Request-Id", "X-Compute-Request-Id", "Retry-After", "OpenStack-API-Version", "WWW-Authenticate"]
        {
            if let Some(v) = self.response_header(name) {
                m = m.with_header(name, v);
            }
        }
        if let Some(v) = self.response_header("X-Subject-Token") {
            let _ = v;
            m = m.with_header("X-Subject-Token", TOKEN);
        }
        m.with_body(rewrite_hosts(&self.response_body, &server.url()))
    }
}

/// A recorded Keystone token body with its `issued_at`/`expires_at` moved so that it was
/// issued now, keeping the recorded lifetime: a recording's token expired an hour after it
/// was made, and a client rightly refuses to use an expired token. Other bodies are returned
/// unchanged.
fn renew_token_times(body: String) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else { return body };
    let (Some(issued), Some(expires)) = (json["token"]["issued_at"].as_str(), json["token"]["expires_at"].as_str()) else {
        return body;
    };
    let parse = |s: &str| time::OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("recorded token time {s}: {e}"));
    let lifetime = parse(expires) - parse(issued);
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).expect("whole second");
    let format = |t: time::OffsetDateTime| {
        let s = t.format(&Rfc3339).expect("RFC 3339");
        // Keystone's shape: six fraction digits and `Z`.
        format!("{}.000000Z", s.trim_end_matches('Z'))
    };
    body.replace(issued, &format(now)).replace(expires, &format(now + lifetime))
}

/// Replaces the recorded server addresses (Keystone on :5000, Cinder on :8776) with the
/// mock server's URL.
pub fn rewrite_hosts(body: &str, server_url: &str) -> String {
    body.replace("http://127.0.0.1:8776", server_url).replace("http://127.0.0.1:5000", server_url)
}

/// Percent-encoding as the crate does it (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The mocked Keystone: `POST /v3/auth/tokens` with exactly the recorded request body,
/// answered with the recorded token (catalog pointing at the mock server).
pub fn keystone(server: &mut Server, fixture: &str) -> Mock {
    let f = Fixture::load(fixture);
    let m = server
        .mock("POST", "/v3/auth/tokens")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(f.request_json().expect("auth body")));
    f.respond(server, m)
}

/// The mocked version discovery: unauthenticated `GET /` answering the recorded
/// `300 Multiple Choices` (max 3.71).
pub fn versions(server: &mut Server) -> Mock {
    let f = Fixture::load("common_versions_root");
    let m = server.mock("GET", "/").match_header("x-auth-token", Matcher::Missing);
    f.respond(server, m)
}

/// The recorded admin's credentials: user `admin` and project `admin` in domain `Default`,
/// against the mock server as Keystone.
pub fn admin_auth(server: &Server) -> AuthOptions {
    AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), PASSWORD)
        .with_scope(Scope::project_name("admin", Domain::name("Default")))
}

/// A client for the recorded admin, pinned to `version` (no discovery request).
pub fn admin_client(server: &Server, version: Microversion) -> ServiceClient {
    ServiceClient::builder(admin_auth(server)).microversion(MicroversionPolicy::Pinned(version)).build().expect("client")
}

/// A client with a ready token and an endpoint on the mock server for `project`, pinned to
/// `version`: no Keystone and no discovery request.
pub fn token_client(server: &Server, project: &str, version: Microversion) -> ServiceClient {
    ServiceClient::with_token(&format!("{}/v3/{project}", server.url()), TOKEN)
        .expect("endpoint")
        .microversion(MicroversionPolicy::Pinned(version))
        .build()
        .expect("client")
}

/// The microversions of the recordings.
pub const MV30: Microversion = Microversion::new(3, 0);
pub const MV371: Microversion = Microversion::new(3, 71);
