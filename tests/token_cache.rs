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

/// A client that negotiates its microversion, with the cache.
fn negotiating_client(server: &Server, cache: &TempDir) -> ServiceClient {
    ServiceClient::builder(admin_auth(server)).token_cache(TokenCache::new(&cache.0)).build().unwrap()
}

#[test]
fn the_discovered_microversion_is_kept_with_the_token() {
    // A warm run makes exactly one request: the discovery (`GET /`) is kept with the cached
    // token (same file, same lifetime), so only the first process asks for it.
    let cache = TempDir::new("discovered");
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let root = versions(&mut server).expect(1).create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(3).create();
    for _ in 0..3 {
        let client = negotiating_client(&server, &cache);
        assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
        assert_eq!(client.microversion().unwrap(), MV371);
    }
    ks.assert();
    root.assert();
    get.assert();
    let text = std::fs::read_to_string(&cache.files()[0]).unwrap();
    assert!(text.contains(&format!(r#""discovered":{{"root":"{}/","max":"3.71"}}"#, server.url())), "{text}");
}

#[test]
fn a_replaced_token_is_discovered_again() {
    // The discovery dies with its token: after a 401 the new token's entry has none, so the
    // next process asks again (once) and keeps that answer.
    let cache = TempDir::new("rediscover");
    let mut server = Server::new();
    let first = keystone_with(&mut server, "tok-old", None).expect(1).create();
    let root = versions(&mut server).expect(1).create();
    let ok_old = show(&mut server, "tok-old").expect(1).create();
    snapshots::get(&negotiating_client(&server, &cache), SNAP).unwrap();
    first.assert();
    root.assert();
    ok_old.remove();
    root.remove();

    let f = Fixture::load("common_auth_bad_token");
    let m = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/{SNAP}").as_str()).match_header("x-auth-token", "tok-old");
    let rejected = f.respond(&server, m).expect(1).create();
    let second = keystone_with(&mut server, "tok-new", None).expect(1).create();
    let ok_new = show(&mut server, "tok-new").expect(3).create();
    let root = versions(&mut server).expect(1).create();
    snapshots::get(&negotiating_client(&server, &cache), SNAP).unwrap();
    snapshots::get(&negotiating_client(&server, &cache), SNAP).unwrap();
    snapshots::get(&negotiating_client(&server, &cache), SNAP).unwrap();
    rejected.assert();
    second.assert();
    ok_new.assert();
    root.assert();
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
    // A token validated by Keystone (AuthOptions::token, no scope) is used, never written.
    let answer = rewrite_hosts(&Fixture::load("keystone_auth_tokens_admin").response_body, &server.url());
    let validate = server
        .mock("GET", "/v3/auth/tokens")
        .match_header("x-auth-token", TOKEN)
        .match_header("x-subject-token", TOKEN)
        .with_status(200)
        .with_header("X-Subject-Token", TOKEN)
        .with_body(answer)
        .expect(1)
        .create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let client = ServiceClient::builder(cinder_snapshots::AuthOptions::token(format!("{}/v3", server.url()), TOKEN))
        .microversion(MicroversionPolicy::Pinned(MV371))
        .token_cache(TokenCache::new(&cache.0))
        .build()
        .unwrap();
    snapshots::get(&client, SNAP).unwrap();
    validate.assert();
    get.assert();
    assert!(cache.files().is_empty());
    // A ready token and endpoint (no Keystone) cannot use a cache at all: refused when built.
    let err = ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(MV371))
        .token_cache(TokenCache::new(&cache.0))
        .build()
        .unwrap_err();
    assert!(matches!(&err, cinder_snapshots::Error::Config(m) if m.contains("`token_cache`")), "{err:?}");
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

/// The cache directories a client must not use: each is given to a client, which must still
/// work (asking Keystone each time) and leave no file behind.
#[cfg(unix)]
fn refuses(name: &str, cache_dir: &std::path::Path, watched: &std::path::Path) {
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    for _ in 0..2 {
        let client = ServiceClient::builder(admin_auth(&server))
            .microversion(MicroversionPolicy::Pinned(MV371))
            .token_cache(TokenCache::new(cache_dir))
            .build()
            .unwrap();
        assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP, "{name}");
    }
    let files: Vec<_> = std::fs::read_dir(watched).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.is_empty(), "{name}: the cache wrote {files:?}");
    ks.assert();
    get.assert();
}

#[cfg(unix)]
#[test]
fn an_unsafe_cache_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let base = TempDir::new("unsafe");
    std::fs::create_dir_all(&base.0).unwrap();
    for mode in [0o777, 0o770, 0o1777, 0o720, 0o702] {
        let dir = base.0.join(format!("mode-{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        refuses(&format!("mode {mode:o}"), &dir, &dir);
        // A symlink to it is judged by its target.
        let link = base.0.join(format!("link-{mode:o}"));
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        refuses(&format!("symlink to mode {mode:o}"), &link, &dir);
    }
}

#[cfg(unix)]
#[test]
fn a_cache_directory_owned_by_someone_else_is_not_used() {
    use std::os::unix::fs::MetadataExt;
    let base = TempDir::new("owner");
    std::fs::create_dir_all(&base.0).unwrap();
    let me = std::fs::metadata(&base.0).unwrap().uid();
    if me != 0 {
        // Only root can give a directory away; a directory of root's is refused as well.
        eprintln!("not root: checking with a directory of root's instead of chown");
        let mut server = Server::new();
        let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
        for _ in 0..2 {
            let client = ServiceClient::builder(admin_auth(&server))
                .microversion(MicroversionPolicy::Pinned(MV371))
                .token_cache(TokenCache::new("/"))
                .build()
                .unwrap();
            client.authenticate().unwrap();
        }
        ks.assert();
        return;
    }
    let dir = base.0.join("theirs");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    refuses("owned by uid 65534", &dir, &dir);
    let link = base.0.join("link-theirs");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    refuses("symlink to a directory of uid 65534", &link, &dir);
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_private_directory_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let base = TempDir::new("link-ok");
    let target = base.0.join("real");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = base.0.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let get = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    for _ in 0..2 {
        let client = ServiceClient::builder(admin_auth(&server))
            .microversion(MicroversionPolicy::Pinned(MV371))
            .token_cache(TokenCache::new(&link))
            .build()
            .unwrap();
        snapshots::get(&client, SNAP).unwrap();
    }
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    ks.assert();
    get.assert();
}

/// The crate's log lines, captured for the whole test binary (installed once).
#[cfg(feature = "log")]
fn captured_logs() -> &'static std::sync::Mutex<Vec<String>> {
    struct Capture;
    static LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    impl log::Log for Capture {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.target().starts_with("cinder_snapshots")
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                LINES.lock().unwrap().push(format!("{} {}", r.level(), r.args()));
            }
        }
        fn flush(&self) {}
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
    &LINES
}

#[cfg(all(unix, feature = "log"))]
#[test]
fn an_unsafe_cache_directory_is_logged_once() {
    use std::os::unix::fs::PermissionsExt;
    let logs = captured_logs();
    let base = TempDir::new("unsafe-log");
    let dir = base.0.join("open");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cache = TokenCache::new(&dir);
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(2).create();
    for _ in 0..2 {
        // Clones of one cache (one process): a load and a store each.
        let client = ServiceClient::builder(admin_auth(&server))
            .microversion(MicroversionPolicy::Pinned(MV371))
            .token_cache(cache.clone())
            .build()
            .unwrap();
        client.authenticate().unwrap();
    }
    ks.assert();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let lines: Vec<String> = logs.lock().unwrap().iter().filter(|l| l.contains(&dir.display().to_string())).cloned().collect();
    assert_eq!(lines, [format!("WARN token cache {} not used: it can be written by anyone (mode 0777); make it 0700", dir.display())]);
}
