//! The on-disk token cache: clients built one after the other (as separate processes would
//! be) share one Keystone token; a token Cinder rejects is dropped and replaced; an expired
//! one is not used; the files are private and hold no password.

mod common;

use std::path::PathBuf;

use cinder_snapshots::{MicroversionPolicy, ServiceClient, TokenCache, snapshots};
use common::*;
use mockito::{Matcher, Mock, Server};

const SNAP: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cinder-snapshots-token-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new client (a new process, as far as the cache is concerned) for the recorded admin.
fn client(server: &Server, cache: &TempDir) -> ServiceClient {
    ServiceClient::builder(admin_auth(server))
        .microversion(MicroversionPolicy::Pinned(MV371))
        .token_cache(TokenCache::new(&cache.0))
        .build()
        .unwrap()
}

/// The recorded `GET /snapshots/{id}` at 3.71, accepted with `token`.
fn show(server: &mut Server, token: &str) -> Mock {
    let f = Fixture::load("mv371_snapshot_show");
    let m = server.mock("GET", f.path.as_str()).match_header("x-auth-token", token).match_header("openstack-api-version", "volume 3.71");
    f.respond(server, m)
}

/// Keystone answering the recorded admin request with `token`, its `expires_at` replaced.
fn keystone_with(server: &mut Server, token: &str, expires_at: Option<&str>) -> Mock {
    let f = Fixture::load("keystone_auth_tokens_admin");
    let mut body: serde_json::Value = serde_json::from_str(&rewrite_hosts(&f.response_body, &server.url())).unwrap();
    if let Some(at) = expires_at {
        body["token"]["expires_at"] = at.into();
        body["token"]["issued_at"] = at.into();
    }
    server
        .mock("POST", "/v3/auth/tokens")
        .match_body(Matcher::Json(f.request_json().unwrap()))
        .with_status(201)
        .with_header("Content-Type", "application/json")
        .with_header("X-Subject-Token", token)
        .with_body(body.to_string())
}

#[test]
fn clients_one_after_the_other_share_one_token() {
    let cache = TempDir::new("share");
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(3).create();
    for _ in 0..3 {
        assert_eq!(snapshots::get(&client(&server, &cache), SNAP).unwrap().id, SNAP);
    }
    ks.assert();
    get.assert();

    let files = cache.files();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains(TOKEN));
    assert!(!text.contains(PASSWORD), "the cache never holds the password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&cache.0).unwrap().permissions().mode() & 0o777, 0o700);
    }
}

#[test]
fn a_rejected_token_is_dropped_and_replaced() {
    let cache = TempDir::new("rejected");
    let mut server = Server::new();
    let first = keystone_with(&mut server, "tok-old", None).expect(1).create();
    let ok_old = show(&mut server, "tok-old").expect(1).create();
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    first.assert();
    ok_old.assert();
    ok_old.remove();

    // The token is revoked: Cinder answers the recorded 401 to it.
    let f = Fixture::load("common_auth_bad_token");
    let m = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/{SNAP}").as_str()).match_header("x-auth-token", "tok-old");
    let rejected = f.respond(&server, m).expect(1).create();
    let second = keystone_with(&mut server, "tok-new", None).expect(1).create();
    let ok_new = show(&mut server, "tok-new").expect(2).create();
    assert_eq!(snapshots::get(&client(&server, &cache), SNAP).unwrap().id, SNAP);
    rejected.assert();
    second.assert();
    // The next client starts from the replacement, without Keystone.
    assert_eq!(client(&server, &cache).token().unwrap().expose_secret(), "tok-new");
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    ok_new.assert();
    first.assert();
}

#[test]
fn an_expired_token_is_not_used() {
    let cache = TempDir::new("expired");
    let mut server = Server::new();
    let ks = keystone_with(&mut server, "tok-short", Some("2020-01-01T00:00:00.000000Z")).expect(2).create();
    let get = show(&mut server, "tok-short").expect(2).create();
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    ks.assert();
    get.assert();
}

#[test]
fn a_cache_others_can_read_is_not_trusted() {
    let cache = TempDir::new("modes");
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(if cfg!(unix) { 2 } else { 1 }).create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in cache.files() {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    snapshots::get(&client(&server, &cache), SNAP).unwrap();
    ks.assert();
    get.assert();
}

#[test]
fn a_bare_token_is_never_cached() {
    let cache = TempDir::new("bare");
    let mut server = Server::new();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let client = ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(MV371))
        .token_cache(TokenCache::new(&cache.0))
        .build()
        .unwrap();
    snapshots::get(&client, SNAP).unwrap();
    get.assert();
    assert!(cache.files().is_empty());
}

/// Keystone answering the recorded admin request with `token`, issued `hours_ago` hours ago
/// by Keystone's clock with the recorded one-hour lifetime (a clock skew, as seen locally).
fn skewed_keystone(server: &mut Server, token: &str, hours_ago: i64) -> Mock {
    use time::format_description::well_known::Rfc3339;
    let format =
        |t: time::OffsetDateTime| format!("{}.000000Z", t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap().trim_end_matches('Z'));
    let issued = time::OffsetDateTime::now_utc() - time::Duration::hours(hours_ago);
    let f = Fixture::load("keystone_auth_tokens_admin");
    let mut body: serde_json::Value = serde_json::from_str(&rewrite_hosts(&f.response_body, &server.url())).unwrap();
    body["token"]["issued_at"] = format(issued).into();
    body["token"]["expires_at"] = format(issued + time::Duration::hours(1)).into();
    server
        .mock("POST", "/v3/auth/tokens")
        .match_body(Matcher::Json(f.request_json().unwrap()))
        .with_status(201)
        .with_header("Content-Type", "application/json")
        .with_header("X-Subject-Token", token)
        .with_body(body.to_string())
}

#[test]
fn a_token_from_a_skewed_clock_is_shared_through_the_cache() {
    let cache = TempDir::new("skew");
    let mut server = Server::new();
    let ks = skewed_keystone(&mut server, "tok-skew", 3).expect(1).create();
    let get = show(&mut server, "tok-skew").expect(3).create();
    for _ in 0..3 {
        assert_eq!(snapshots::get(&client(&server, &cache), SNAP).unwrap().id, SNAP);
    }
    ks.assert();
    get.assert();
}
