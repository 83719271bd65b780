//! `FakeCloud` (feature `testing`) driven through the crate's public API only: the calls a
//! downstream snapshot tool makes, the exact requests the fake saw, its clock, its faults, and
//! retention against a history days old.
#![cfg(feature = "testing")]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cinder_snapshots::retention::{self, Outcome, Policy, PruneOpts};
use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, SortDir, SortKey, WaitOpts};
use cinder_snapshots::testing::{FakeCloud, PROJECT_ID, Rule, SeenRequest};
use cinder_snapshots::{Error, Microversion, Request, ServiceClient, ServiceClientBuilder, WaitErrorKind, volumes};
use serde_json::{Value, json};
use time::macros::datetime;

fn seen(method: &str, path: &str, query: &[(&str, &str)]) -> SeenRequest {
    SeenRequest { method: method.into(), path: path.into(), query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn p(rest: &str) -> String {
    format!("/v3/{PROJECT_ID}/{rest}")
}

/// Creates, waits for, lists past a page cap of 3 (7 snapshots: pages of 3, 3 and 1, each
/// asked with the marker of the previous page's last item) and deletes, with the exact
/// requests of each step.
#[test]
fn create_wait_list_past_a_page_cap_and_delete() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(3);
    let volume = cloud.add_volume("data");
    let client = cloud.client();

    let mut ids = Vec::new();
    for i in 0..7 {
        let snap = snapshots::create(&client, &CreateOpts::new(&volume).name(format!("s{i}"))).unwrap();
        assert_eq!(snap.status, SnapshotStatus::Creating);
        ids.push(snap.id);
        cloud.advance(Duration::from_secs(60));
    }
    cloud.clear_requests();
    let snap = snapshots::wait_for_status(&client, &ids[0], SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    assert_eq!(snap.status, SnapshotStatus::Available);
    // One read sees `creating` (the default), the next `available`.
    assert_eq!(cloud.requests(), vec![seen("GET", &p(&format!("snapshots/{}", ids[0])), &[]); 2]);

    cloud.clear_requests();
    let listed: Vec<String> = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap().into_iter().map(|s| s.id).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(
        cloud.requests(),
        vec![
            seen("GET", &p("snapshots/detail"), &[]),
            seen("GET", &p("snapshots/detail"), &[("marker", &ids[4])]),
            seen("GET", &p("snapshots/detail"), &[("marker", &ids[1])]),
        ]
    );
    // The listing moved every snapshot past `creating`.
    assert!(cloud.snapshots().iter().all(|s| s.status == SnapshotStatus::Available));

    cloud.clear_requests();
    snapshots::delete(&client, &ids[3]).unwrap();
    assert_eq!(cloud.snapshots().iter().find(|s| s.id == ids[3]).map(|s| s.status.clone()), Some(SnapshotStatus::Deleting));
    snapshots::wait_for_delete(&client, &ids[3], &WaitOpts::new()).unwrap();
    let path = p(&format!("snapshots/{}", ids[3]));
    assert_eq!(cloud.requests(), vec![seen("DELETE", &path, &[]), seen("GET", &path, &[]), seen("GET", &path, &[])]);
    assert_eq!(cloud.snapshots().len(), 6);
    assert!(cloud.snapshots().iter().all(|s| s.id != ids[3]));
}

/// A fresh client's first call: Keystone, the version root (microversion discovery), then the
/// call; a missing snapshot is Cinder's 404 `itemNotFound` with its message and a request id.
#[test]
fn the_requests_seen_are_exact_and_a_missing_snapshot_is_cinders_404() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let id = "74344084-0ece-4eee-8e71-3fd1fd9a65d5";
    let err = snapshots::get(&client, id).unwrap_err();
    assert!(err.is_not_found());
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.fault.as_deref(), Some("itemNotFound"));
    assert_eq!(api.message, format!("Snapshot {id} could not be found."));
    assert!(api.request_id.as_deref().is_some_and(|r| r.starts_with("req-")));
    assert_eq!(client.microversion().unwrap().to_string(), "3.71");
    assert_eq!(
        cloud.requests(),
        vec![seen("POST", "/v3/auth/tokens", &[]), seen("GET", "/", &[]), seen("GET", &p(&format!("snapshots/{id}")), &[])]
    );
}

/// The `OS_*` variables give a client that authenticates and lists.
#[test]
fn os_vars_give_a_working_client() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = ServiceClientBuilder::from_vars(cloud.os_vars()).unwrap().build().unwrap();
    snapshots::create(&client, &CreateOpts::new(&volume).name("one")).unwrap();
    let all = snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert_eq!(all.iter().map(|s| s.name.as_deref()).collect::<Vec<_>>(), vec![Some("one")]);
    assert_eq!(client.endpoint().unwrap().as_str(), cloud.endpoint());
}

/// `created_at` comes from the fake's clock, exactly, and moves with it.
#[test]
fn the_clock_sets_created_at() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    cloud.set_now(datetime!(2020-01-02 03:04:05.123456 UTC));
    let first = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.advance(Duration::from_secs(86_400 * 3));
    let second = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(first.created_at, Some(datetime!(2020-01-02 03:04:05.123456 UTC)));
    assert_eq!(second.created_at, Some(datetime!(2020-01-05 03:04:05.123456 UTC)));
    assert_eq!(cloud.now(), datetime!(2020-01-05 03:04:05.123456 UTC));
    let listed = snapshots::list_detail(&client, &ListOpts::new().sort(SortKey::CreatedAt, SortDir::Asc)).unwrap().all().unwrap();
    assert_eq!(listed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), vec![first.id, second.id]);
}

/// A policy's history of 10 daily snapshots (plus one made by hand): `plan` keeps 3, and
/// `prune` deletes exactly the 7 planned, leaving the kept ones and the hand-made one.
#[test]
fn prune_deletes_exactly_what_plan_deletes_in_a_history_days_old() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let policy = Policy::builder("nightly").keep_daily(3).build().unwrap();
    let start = datetime!(2026-10-01 02:00 UTC);
    cloud.set_now(start);
    for day in 0..10 {
        let labels = retention::labels(&policy, cloud.now());
        let opts = labels.into_iter().fold(CreateOpts::new(&volume).name(format!("nightly-{day}")), |o, (k, v)| o.metadata(k, v));
        snapshots::create(&client, &opts).unwrap();
        cloud.advance(Duration::from_secs(86_400));
    }
    let by_hand = snapshots::create(&client, &CreateOpts::new(&volume).name("by-hand")).unwrap();
    let now = cloud.now();

    let history = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert_eq!(history.len(), 11);
    let plan = retention::plan(&history, &policy, now);
    let mut planned: Vec<String> = plan.to_delete().map(|d| d.snapshot().id.clone()).collect();
    planned.sort();
    assert_eq!(planned.len(), 7);

    let report = retention::prune(&client, &PruneOpts::new(policy).volumes([volume.as_str()]).now(now)).unwrap();
    let mut deleted: Vec<String> =
        report.outcomes().iter().filter(|o| matches!(o.outcome(), Outcome::Deleted)).map(|o| o.snapshot().id.clone()).collect();
    deleted.sort();
    assert_eq!(deleted, planned);
    assert_eq!(report.failures().count(), 0);

    let mut left: Vec<String> = cloud.snapshots().into_iter().map(|s| s.id).collect();
    left.sort();
    let mut expected: Vec<String> = history.iter().map(|s| s.id.clone()).filter(|id| !planned.contains(id)).collect();
    expected.sort();
    assert_eq!(left, expected);
    assert!(left.contains(&by_hand.id));
    let deletes = cloud.requests().iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deletes, 7);
}

/// Two 503s on the next GETs of snapshots are retried; the third GET answers.
#[test]
fn a_503_on_the_next_gets_is_retried() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.clear_requests();
    cloud.fail_next(2, Rule::get("snapshots"), 503);
    let got = snapshots::get(&client, &snap.id).unwrap();
    assert_eq!(got.id, snap.id);
    assert_eq!(cloud.requests(), vec![seen("GET", &p(&format!("snapshots/{}", snap.id)), &[]); 3]);
}

/// A quota's 413 on create is `overLimit`, and is not retried.
#[test]
fn a_413_on_create_is_over_limit_and_not_retried() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    client.authenticate().unwrap();
    cloud.clear_requests();
    cloud.fail_next(1, Rule::method("POST", "snapshots"), 413);
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    assert!(err.is_over_limit());
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("overLimit"));
    let posts: Vec<SeenRequest> = cloud.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts, vec![seen("POST", &p("snapshots"), &[])]);
    assert!(cloud.snapshots().is_empty());
}

/// A snapshot driven to `error` ends the wait as `Failed`, with Cinder's user message read
/// from `/messages?resource_uuid=<id>`.
#[test]
fn a_snapshot_driven_to_error_carries_the_user_message() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    cloud.fail_snapshot(None, Some("Snapshot failed: the backend is full."));
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    let err = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("not a wait error: {err}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
    assert_eq!(w.last_status.as_deref(), Some("error"));
    assert_eq!(w.user_message.as_deref(), Some("Snapshot failed: the backend is full."));
    assert!(cloud.requests().contains(&seen("GET", &p("messages"), &[("resource_uuid", &snap.id)])));
}

/// Volumes: create (available after the configured reads), list with a metadata filter,
/// delete refused while a snapshot exists, then deleted.
#[test]
fn volumes_create_filter_and_delete() {
    let cloud = FakeCloud::start();
    cloud.set_volume_creating_reads(1);
    let client = cloud.client();
    let tagged = volumes::create(&client, &volumes::CreateOpts::new(2).name("tagged").metadata("backup", "nightly")).unwrap();
    volumes::create(&client, &volumes::CreateOpts::new(1).name("plain")).unwrap();
    let tagged = volumes::wait_for_status(&client, &tagged.id, volumes::VolumeStatus::Available, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(tagged.size, 2);
    let found = volumes::list_detail(&client, &volumes::ListOpts::new().metadata("backup", "nightly")).unwrap().all().unwrap();
    assert_eq!(found.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), vec![tagged.id.clone()]);

    let snap = snapshots::create(&client, &CreateOpts::new(&tagged.id)).unwrap();
    let err = volumes::delete(&client, &tagged.id).unwrap_err();
    assert!(err.is_bad_request());
    snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    snapshots::delete(&client, &snap.id).unwrap();
    snapshots::wait_for_delete(&client, &snap.id, &WaitOpts::new()).unwrap();
    volumes::delete(&client, &tagged.id).unwrap();
    volumes::wait_for_delete(&client, &tagged.id, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(cloud.volumes().iter().map(|v| v.name.as_deref()).collect::<Vec<_>>(), vec![Some("plain")]);
}

/// `with_count` and a `limit`: `count` on every page, next links with the fake's own host,
/// every original parameter kept and the marker last.
#[test]
fn with_count_and_limit_page_as_cinder_does() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    for i in 0..5 {
        snapshots::create(&client, &CreateOpts::new(&volume).name(format!("s{i}")).metadata("tier", "gold")).unwrap();
        cloud.advance(Duration::from_secs(1));
    }
    cloud.clear_requests();
    let opts = ListOpts::new().limit(2).with_count(true).metadata("tier", "gold");
    let pages: Vec<_> = snapshots::list_detail(&client, &opts).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [2, 2, 1]);
    assert!(pages.iter().all(|p| p.count == Some(5)));
    let queries: Vec<Vec<(String, String)>> = cloud.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(queries.len(), 3);
    assert_eq!(
        queries[0],
        [("with_count", "true"), ("limit", "2"), ("metadata", "{\"tier\":\"gold\"}")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(queries[1].last().map(|(k, _)| k.as_str()), Some("marker"));
    assert_eq!(queries[1][..3], queries[0][..]);
}

/// The keys of a fixture's JSON item (`fixtures/<name>.json`, `{"<key>": {...}}` or the first
/// item of `{"<key>": [...]}`).
fn fixture_keys(name: &str, key: &str) -> BTreeSet<String> {
    let path = format!("{}/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    item_keys(&doc, key)
}

fn item_keys(doc: &Value, key: &str) -> BTreeSet<String> {
    let item = match &doc[key] {
        Value::Array(items) => items[0].clone(),
        other => other.clone(),
    };
    item.as_object().unwrap().keys().cloned().collect()
}

fn raw(client: &ServiceClient, request: Request) -> Value {
    serde_json::from_slice(&client.send(request).unwrap().body).unwrap()
}

/// At 3.71 every answer has exactly the keys of the recorded answer to the same call: a
/// snapshot's create, show, summary and detail listings; a volume's create, show, summary and
/// detail listings; at 3.0 the snapshot summary listing too.
#[test]
fn answers_have_the_keys_of_the_recorded_fixtures() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let volume = raw(&client, Request::post(["volumes"]).json(json!({"volume": {"size": 1, "name": "v"}})));
    assert_eq!(item_keys(&volume, "volume"), fixture_keys("mv371_volumes_create_alpha", "volume"));
    let vid = volume["volume"]["id"].as_str().unwrap().to_owned();
    let show = raw(&client, Request::get(["volumes", &vid]));
    assert_eq!(item_keys(&show, "volume"), fixture_keys("mv371_volumes_show", "volume"));
    assert_eq!(item_keys(&raw(&client, Request::get(["volumes", "detail"])), "volumes"), fixture_keys("mv371_volumes_detail", "volumes"));
    assert_eq!(item_keys(&raw(&client, Request::get(["volumes"])), "volumes"), fixture_keys("mv371_volumes_list", "volumes"));

    let body = json!({"snapshot": {"volume_id": vid, "name": "s", "force": true, "metadata": {"tier": "gold"}}});
    let created = raw(&client, Request::post(["snapshots"]).json(body));
    assert_eq!(item_keys(&created, "snapshot"), fixture_keys("mv371_snapshot_create_force_metadata", "snapshot"));
    let sid = created["snapshot"]["id"].as_str().unwrap().to_owned();
    let show = raw(&client, Request::get(["snapshots", &sid]));
    assert_eq!(item_keys(&show, "snapshot"), fixture_keys("mv371_snapshot_show", "snapshot"));
    let detail = raw(&client, Request::get(["snapshots", "detail"]));
    assert_eq!(item_keys(&detail, "snapshots"), fixture_keys("mv371_list_detail", "snapshots"));
    let summary = raw(&client, Request::get(["snapshots"]));
    assert_eq!(item_keys(&summary, "snapshots"), fixture_keys("mv371_list_summary", "snapshots"));
    let old = raw(&client, Request::get(["snapshots"]).query([("limit", "1")]).microversion(Microversion::new(3, 0)));
    assert_eq!(item_keys(&old, "snapshots"), fixture_keys("mv30_list_limit2_page1", "snapshots"));
    assert_eq!(
        old["snapshots_links"][0]["href"],
        json!(format!("{}/snapshots?limit=1&marker={sid}", cloud.endpoint())),
        "a next link with the fake's own host, the original query and the marker last"
    );
}

/// Sends one raw HTTP/1.1 request and returns the status line, the headers (names in lower
/// case) and the body.
fn raw_http(cloud: &FakeCloud, request: &str) -> (String, Vec<(String, String)>, Value) {
    let addr = cloud.auth_url().trim_start_matches("http://").trim_end_matches("/v3").to_owned();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_owned();
    let headers = lines.map(|l| l.split_once(": ").unwrap()).map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect();
    (status, headers, serde_json::from_str(body).unwrap())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The version root is Cinder's 300 with the versions document and its headers; a request
/// without a token is keystonemiddleware's 401 body, with a request id; a too-high
/// microversion is Cinder's 406.
#[test]
fn raw_answers_have_cinders_status_headers_and_bodies() {
    let cloud = FakeCloud::start();
    let (status, headers, body) = raw_http(&cloud, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 300 Multiple Choices");
    assert_eq!(header(&headers, "openstack-api-version"), Some("volume 3.0"));
    assert!(header(&headers, "x-openstack-request-id").is_some_and(|r| r.starts_with("req-")));
    assert_eq!(body["versions"][0]["version"], "3.71");
    assert_eq!(body["versions"][0]["links"][1]["href"], json!(format!("{}/", cloud.auth_url())));

    let path = format!("/v3/{PROJECT_ID}/snapshots");
    let (status, headers, body) = raw_http(&cloud, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert!(header(&headers, "x-openstack-request-id").is_some());
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/fixtures/common_auth_bad_token.json", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    assert_eq!(body, recorded);

    let client = cloud.client();
    let token = client.token().unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {}\r\nOpenStack-API-Version: volume 3.99\r\n\r\n", token.expose_secret());
    let (status, _, body) = raw_http(&cloud, &request);
    assert_eq!(status, "HTTP/1.1 406 Not Acceptable");
    assert_eq!(
        body,
        json!({"computeFault": {"code": 406, "message": "Version 3.99 is not supported by the API. Minimum is 3.0 and maximum is 3.71."}})
    );
}

/// A wrong password is Keystone's 401: `Error::Auth`, and no Cinder request follows.
#[test]
fn a_wrong_password_is_refused_by_keystone() {
    let cloud = FakeCloud::start();
    let vars = cloud.os_vars().into_iter().map(|(k, v)| if k == "OS_PASSWORD" { (k, "wrong".to_owned()) } else { (k, v) });
    let client = ServiceClientBuilder::from_vars(vars).unwrap().build().unwrap();
    let err = snapshots::list(&client, &ListOpts::new()).and_then(|pager| pager.all()).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(err.is_unauthorized());
    assert_eq!(cloud.requests(), vec![seen("POST", "/v3/auth/tokens", &[])]);
}

/// Sorting by name, ascending and descending, as the listing asks.
#[test]
fn listings_sort_by_name() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    for name in ["bravo", "alpha", "charlie"] {
        snapshots::create(&client, &CreateOpts::new(&volume).name(name)).unwrap();
    }
    let names = |dir| {
        let opts = ListOpts::new().sort(SortKey::Name, dir);
        snapshots::list(&client, &opts).unwrap().all().unwrap().into_iter().map(|s| s.name.unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(names(SortDir::Asc), ["alpha", "bravo", "charlie"]);
    assert_eq!(names(SortDir::Desc), ["charlie", "bravo", "alpha"]);
    assert_eq!(cloud.requests().last().unwrap().query, [("sort".to_owned(), "name:desc".to_owned())]);
}

/// Dropping the fake stops it: its port refuses connections.
#[test]
fn dropping_the_fake_stops_it() {
    let cloud = FakeCloud::start();
    let addr = cloud.auth_url().trim_start_matches("http://").trim_end_matches("/v3").to_owned();
    assert!(TcpStream::connect(&addr).is_ok());
    drop(cloud);
    assert!(TcpStream::connect(&addr).is_err());
}

/// A downstream prune with a moved clock and a failing delete: the snapshot whose delete the
/// backend fails ends `error_deleting` and is reported `Failed`; the other planned deletes
/// happen.
#[test]
fn prune_reports_a_failing_delete_and_deletes_the_others() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let policy = Policy::builder("nightly").keep_daily(2).build().unwrap();
    cloud.set_now(datetime!(2026-06-01 02:00 UTC));
    let mut ids = Vec::new();
    for _ in 0..5 {
        let labels = retention::labels(&policy, cloud.now());
        let opts = labels.into_iter().fold(CreateOpts::new(&volume), |o, (k, v)| o.metadata(k, v));
        ids.push(snapshots::create(&client, &opts).unwrap().id);
        cloud.advance(Duration::from_secs(86_400));
    }
    // keep_daily(2) keeps the two newest (its two periods are filled, so not the oldest too);
    // the three oldest go. The oldest one's delete fails.
    cloud.fail_delete(&ids[0]);
    let report = retention::prune(&client, &PruneOpts::new(policy).volumes([volume.as_str()]).now(cloud.now())).unwrap();
    let outcome = |id: &str| report.get(id).map(|o| o.outcome().name());
    assert_eq!(
        ids.iter().map(|id| outcome(id)).collect::<Vec<_>>(),
        [Some("failed"), Some("deleted"), Some("deleted"), Some("kept"), Some("kept")]
    );
    let failed = report.get(&ids[0]).unwrap().outcome().error().unwrap();
    let Error::Wait(w) = failed else { panic!("not a wait error: {failed}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error_deleting".into()));
    assert!(!report.is_success());
    let left: Vec<(String, SnapshotStatus)> = cloud.snapshots().into_iter().map(|s| (s.id, s.status)).collect();
    assert_eq!(
        left,
        vec![
            (ids[0].clone(), SnapshotStatus::ErrorDeleting),
            (ids[3].clone(), SnapshotStatus::Available),
            (ids[4].clone(), SnapshotStatus::Available)
        ]
    );
}

/// Revoked tokens: the next Cinder request gets a 401, the client authenticates again once
/// and replays it.
#[test]
fn a_revoked_token_brings_one_reauthentication_and_a_replay() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.clear_requests();
    cloud.revoke_tokens();
    assert_eq!(snapshots::get(&client, &snap.id).unwrap().id, snap.id);
    let path = p(&format!("snapshots/{}", snap.id));
    assert_eq!(cloud.requests(), vec![seen("GET", &path, &[]), seen("POST", "/v3/auth/tokens", &[]), seen("GET", &path, &[])]);
}

/// Latency holds every answer back.
#[test]
fn latency_holds_answers_back() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    client.authenticate().unwrap();
    cloud.set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// An unknown marker is Cinder's 404 for the snapshot it names; a sort direction other than
/// `asc`/`desc` is Cinder's 400.
#[test]
fn an_unknown_marker_is_a_404_and_a_bad_sort_direction_a_400() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let marker = "0b1f5b58-7c2c-4d8e-9d51-3d0c8a4c7e11";
    let err = snapshots::list(&client, &ListOpts::new().marker(marker)).and_then(|pager| pager.all()).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, format!("Snapshot {marker} could not be found."));
    let bad = Request::get(["snapshots"]).query([("sort", "name:sideways")]);
    let err = client.send(bad).unwrap_err();
    assert!(err.is_bad_request());
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("badRequest"));
    assert_eq!(err.api().unwrap().message, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
}
