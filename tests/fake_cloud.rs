//! `FakeCloud` (feature `testing`) driven through the crate's public API only: the calls a
//! downstream snapshot tool makes, the exact requests the fake saw, its clock, its faults, and
//! retention against a history days old.
#![cfg(feature = "testing")]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cinder_snapshots::job::{Outcome, PruneOpts};
use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, SortDir, SortKey, UpdateMetadataOpts, WaitOpts};
use cinder_snapshots::testing::{Account, FakeCloud, MEMBER_PROJECT_ID, PROJECT_ID, Rule, SeenRequest, VolumeSpec};
use cinder_snapshots::volumes::VolumeStatus;
use cinder_snapshots::{
    AuthOptions, Domain, Error, Microversion, MicroversionPolicy, Request, Scope, ServiceClient, ServiceClientBuilder, WaitErrorKind,
    volumes,
};
use serde_json::{Value, json};
use time::macros::datetime;

/// A request as the tests compare them: method, whole path, query.
type Seen = (String, String, Vec<(String, String)>);

fn seen(method: &str, path: &str, query: &[(&str, &str)]) -> Seen {
    (method.into(), path.into(), query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// The requests the fake received, as [`seen`] writes them.
fn requests(cloud: &FakeCloud) -> Vec<Seen> {
    cloud.requests().into_iter().map(as_seen).collect()
}

fn as_seen(r: SeenRequest) -> Seen {
    (r.method, r.path, r.query)
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
    assert_eq!(requests(&cloud), vec![seen("GET", &p(&format!("snapshots/{}", ids[0])), &[]); 2]);

    cloud.clear_requests();
    let listed: Vec<String> = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap().into_iter().map(|s| s.id).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(
        requests(&cloud),
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
    assert_eq!(requests(&cloud), vec![seen("DELETE", &path, &[]), seen("GET", &path, &[]), seen("GET", &path, &[])]);
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
        requests(&cloud),
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

/// Every answer carries the fake's clock in its `Date` header, so the client's idea of the
/// cloud's time ([`ServiceClient::now`]) follows the fake's clock, and a clock far from the
/// host's is a skew.
#[test]
fn the_date_header_carries_the_fakes_clock_to_the_client() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    assert_eq!(client.clock_offset(), None);
    snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    // The fake's clock starts at the host's time: no skew.
    assert!(client.clock_offset().unwrap().abs() <= time::Duration::seconds(2), "{:?}", client.clock_offset());
    assert_eq!(client.clock_skew(), None);
    cloud.set_now(datetime!(2020-01-02 03:04:05 UTC));
    snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    let now = client.now();
    assert!((now - datetime!(2020-01-02 03:04:05 UTC)).abs() <= time::Duration::seconds(2), "{now}");
    assert!(client.clock_skew().is_some_and(|s| s.is_negative()));
    // A cloud 4 minutes ahead is within what is allowed.
    cloud.set_now(time::OffsetDateTime::now_utc() + time::Duration::minutes(4));
    snapshots::list(&client, &ListOpts::new()).unwrap().all().unwrap();
    assert_eq!(client.clock_skew(), None);
    assert!(client.clock_offset().unwrap() >= time::Duration::seconds(237));
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

    let report = cinder_snapshots::job::prune(&client, &PruneOpts::new(policy).volumes([volume.as_str()]).now(now)).unwrap();
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

/// `job::pin` and `unpin` are metadata calls (exact requests), and a pinned snapshot
/// survives the prune that deletes its unpinned neighbours; once unpinned, the next prune
/// deletes it. Unpinning what is not pinned changes nothing.
#[test]
fn a_pinned_snapshot_survives_prune_until_unpinned() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let policy = Policy::builder("nightly").keep_last(1).build().unwrap();
    cloud.set_now(datetime!(2026-12-01 02:00 UTC));
    let mut ids = Vec::new();
    for day in 0..3 {
        let labels = retention::labels(&policy, cloud.now());
        let opts = labels.into_iter().fold(CreateOpts::new(&volume).name(format!("nightly-{day}")), |o, (k, v)| o.metadata(k, v));
        ids.push(snapshots::create(&client, &opts).unwrap().id);
        cloud.advance(Duration::from_secs(86_400));
    }
    cloud.clear_requests();
    let all = cinder_snapshots::job::pin(&client, &ids[0], "before the upgrade").unwrap();
    assert_eq!(all.get(retention::PIN_KEY).map(String::as_str), Some("before the upgrade"));
    assert_eq!(all.get(retention::POLICY_KEY).map(String::as_str), Some("nightly"));
    assert_eq!(requests(&cloud), [seen("POST", &p(&format!("snapshots/{}/metadata", ids[0])), &[])]);
    let body = cloud.requests()[0].body.clone();
    assert_eq!(body, Some(json!({"metadata": {"cinder-snapshots.pin": "before the upgrade"}})));

    let report = cinder_snapshots::job::prune(&client, &PruneOpts::new(policy.clone()).now(cloud.now())).unwrap();
    let outcome =
        |id: &str| report.outcomes().iter().find(|o| o.snapshot().id == id).map(|o| (o.outcome().to_string(), o.decision().reasons_text()));
    assert_eq!(outcome(&ids[0]), Some(("kept".to_owned(), "pinned".to_owned())));
    assert_eq!(outcome(&ids[1]), Some(("deleted".to_owned(), "not among the last 1".to_owned())));
    assert_eq!(outcome(&ids[2]), Some(("kept".to_owned(), "last 1, newest".to_owned())));

    cloud.clear_requests();
    assert!(cinder_snapshots::job::unpin(&client, &ids[0]).unwrap());
    assert_eq!(
        requests(&cloud),
        [
            seen("GET", &p(&format!("snapshots/{}/metadata", ids[0])), &[]),
            seen("DELETE", &p(&format!("snapshots/{}/metadata/cinder-snapshots.pin", ids[0])), &[])
        ]
    );
    cloud.clear_requests();
    assert!(!cinder_snapshots::job::unpin(&client, &ids[0]).unwrap());
    assert_eq!(requests(&cloud), [seen("GET", &p(&format!("snapshots/{}/metadata", ids[0])), &[])]);

    let report = cinder_snapshots::job::prune(&client, &PruneOpts::new(policy).now(cloud.now())).unwrap();
    assert_eq!(report.outcomes().iter().filter(|o| matches!(o.outcome(), Outcome::Deleted)).count(), 1);
    assert_eq!(cloud.snapshots().into_iter().map(|s| s.id).collect::<Vec<_>>(), [ids[2].clone()]);
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
    assert_eq!(requests(&cloud), vec![seen("GET", &p(&format!("snapshots/{}", snap.id)), &[]); 3]);
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
    let posts: Vec<Seen> = requests(&cloud).into_iter().filter(|r| r.0 == "POST").collect();
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
    assert!(requests(&cloud).contains(&seen("GET", &p("messages"), &[("resource_uuid", &snap.id)])));
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
    assert_eq!(requests(&cloud), vec![seen("POST", "/v3/auth/tokens", &[])]);
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
    let report = cinder_snapshots::job::prune(&client, &PruneOpts::new(policy).volumes([volume.as_str()]).now(cloud.now())).unwrap();
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
    assert_eq!(requests(&cloud), vec![seen("GET", &path, &[]), seen("POST", "/v3/auth/tokens", &[]), seen("GET", &path, &[])]);
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
    assert_eq!(err.api().unwrap().message, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.");
}

fn pinned(cloud: &FakeCloud, account: Account, minor: u16) -> ServiceClient {
    cloud.client_builder_as(account).microversion(MicroversionPolicy::Pinned(Microversion::new(3, minor))).build().unwrap()
}

fn ids_of<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|x| id(x).to_owned()).collect()
}

/// Volumes added with metadata and a status: the metadata filter keeps the volumes where
/// every pair matches, `status` and `name` filter, an `in-use` volume shows its attachment,
/// and the listing pages past the page cap like the snapshots' one.
#[test]
fn volumes_with_metadata_and_status_filter_and_page() {
    let cloud = FakeCloud::start();
    cloud.set_page_cap(2);
    let both = cloud.add_volume_with(&VolumeSpec::new("both").metadata("backup", "nightly").metadata("tier", "gold"));
    cloud.advance(Duration::from_secs(1));
    let one = cloud.add_volume_with(&VolumeSpec::new("one").metadata("backup", "nightly"));
    cloud.advance(Duration::from_secs(1));
    let attached =
        cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly").attached_to("8a1b2c3d-0000-4000-8000-0000000000b2"));
    cloud.advance(Duration::from_secs(1));
    let broken = cloud.add_volume_with(&VolumeSpec::new("broken").size(3).status(VolumeStatus::Error));
    cloud.advance(Duration::from_secs(1));
    let parked = cloud.add_volume_with(&VolumeSpec::new("parked").status(VolumeStatus::Maintenance));
    let client = cloud.client();

    let list = |opts: volumes::ListOpts| ids_of(&volumes::list_detail(&client, &opts).unwrap().all().unwrap(), |v| &v.id);
    assert_eq!(list(volumes::ListOpts::new().metadata("backup", "nightly")), [attached.clone(), one.clone(), both.clone()]);
    assert_eq!(list(volumes::ListOpts::new().metadata("backup", "nightly").metadata("tier", "gold")), vec![both.clone()]);
    assert_eq!(list(volumes::ListOpts::new().metadata("tier", "silver")), Vec::<String>::new());
    assert_eq!(list(volumes::ListOpts::new().status(VolumeStatus::InUse)), vec![attached.clone()]);
    assert_eq!(list(volumes::ListOpts::new().status(VolumeStatus::Error)), vec![broken.clone()]);
    assert_eq!(list(volumes::ListOpts::new().name("parked")), vec![parked.clone()]);
    // Five volumes, pages of 2: three requests, each after the first with the marker.
    cloud.clear_requests();
    assert_eq!(list(volumes::ListOpts::new()), [parked.clone(), broken.clone(), attached.clone(), one.clone(), both.clone()]);
    assert_eq!(
        requests(&cloud),
        vec![
            seen("GET", &p("volumes/detail"), &[]),
            seen("GET", &p("volumes/detail"), &[("marker", &broken)]),
            seen("GET", &p("volumes/detail"), &[("marker", &one)]),
        ]
    );

    let db = volumes::get(&client, &attached).unwrap();
    assert_eq!(db.status, VolumeStatus::InUse);
    assert_eq!(db.server_ids(), ["8a1b2c3d-0000-4000-8000-0000000000b2"]);
    assert_eq!(volumes::get(&client, &broken).unwrap().size, 3);
    assert!(volumes::get(&client, &one).unwrap().attachments.is_empty());

    // A status set later: in-use attaches, available detaches.
    assert!(cloud.set_volume_status(&one, VolumeStatus::InUse));
    assert_eq!(volumes::get(&client, &one).unwrap().server_ids().len(), 1);
    assert!(cloud.set_volume_status(&one, VolumeStatus::Available));
    assert!(volumes::get(&client, &one).unwrap().attachments.is_empty());
    assert!(!cloud.set_volume_status("00000000-0000-4000-8000-ffffffffffff", VolumeStatus::Available));
}

/// Snapshot create on a volume that is not `available`, as Cinder 29 answers it: `in-use`
/// needs `force` below 3.66 and not from 3.66 (where `force=false` is a 400), `error` and
/// `maintenance` are refused with their own messages, `creating` names the statuses allowed.
#[test]
fn snapshot_create_follows_the_volume_status_and_the_microversion() {
    let cloud = FakeCloud::start();
    let in_use = cloud.add_volume_with(&VolumeSpec::new("db").status(VolumeStatus::InUse));
    let broken = cloud.add_volume_with(&VolumeSpec::new("broken").status(VolumeStatus::Error));
    let parked = cloud.add_volume_with(&VolumeSpec::new("parked").status(VolumeStatus::Maintenance));
    let busy = cloud.add_volume_with(&VolumeSpec::new("busy").status(VolumeStatus::Creating));
    let message = |r: Result<snapshots::Snapshot, Error>| {
        let e = r.unwrap_err();
        let api = e.api().unwrap();
        assert_eq!((api.status, api.fault.as_deref()), (400, Some("badRequest")), "{e}");
        api.message.clone()
    };

    let old = pinned(&cloud, Account::Admin, 65);
    assert_eq!(
        message(snapshots::create(&old, &CreateOpts::new(&in_use))),
        format!("Invalid volume: Volume {in_use} status must be available, but current status is: in-use.")
    );
    let forced = snapshots::create(&old, &CreateOpts::new(&in_use).force(true)).unwrap();
    assert_eq!(forced.status, SnapshotStatus::Creating);

    let new = pinned(&cloud, Account::Admin, 66);
    assert_eq!(snapshots::create(&new, &CreateOpts::new(&in_use)).unwrap().volume_id, in_use);
    assert_eq!(snapshots::create(&new, &CreateOpts::new(&in_use).force(true)).unwrap().volume_id, in_use);
    let force_false = Request::post(["snapshots"]).json(json!({"snapshot": {"volume_id": in_use, "force": false}}));
    let err = new.send(force_false.clone()).unwrap_err();
    assert_eq!(
        err.api().unwrap().message,
        "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored."
    );
    // Below 3.66 force=false is the plain status refusal.
    let err = old.send(force_false.microversion(Microversion::new(3, 0))).unwrap_err();
    assert_eq!(
        err.api().unwrap().message,
        format!("Invalid volume: Volume {in_use} status must be available, but current status is: in-use.")
    );

    for client in [&old, &new] {
        assert_eq!(
            message(snapshots::create(client, &CreateOpts::new(&broken).force(true))),
            "Invalid volume: The snapshot cannot be created when the volume is in error status."
        );
        assert_eq!(
            message(snapshots::create(client, &CreateOpts::new(&parked))),
            "Invalid volume: The snapshot cannot be created when the volume is in maintenance mode."
        );
    }
    assert_eq!(
        message(snapshots::create(&new, &CreateOpts::new(&busy))),
        format!("Invalid volume: Volume {busy} status must be available, in-use, but current status is: creating.")
    );
    assert_eq!(cloud.snapshots().len(), 3, "only the three accepted creates made a snapshot");
}

/// A snapshot quota: creates beyond it are Cinder's 413 `overLimit` with its exact body and
/// `Retry-After: 0`, not retried; every snapshot of the project counts (an `error` one too)
/// until it is gone; the other project has its own count.
#[test]
fn a_snapshot_quota_answers_cinders_413() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    cloud.set_snapshot_quota(Some(2));
    let volume = cloud.add_volume("data");
    let member_volume = cloud.add_volume_with(&VolumeSpec::new("theirs").owner(Account::Member));
    let client = cloud.client();
    cloud.fail_snapshot(None, None);
    let failed = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    let ok = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.clear_requests();
    let err = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err();
    assert!(err.is_over_limit());
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref()), (413, Some("overLimit")));
    assert_eq!(api.message, "SnapshotLimitExceeded: Maximum number of snapshots allowed (2) exceeded");
    assert_eq!(api.retry_after, Some(Duration::ZERO));
    assert_eq!(requests(&cloud), vec![seen("POST", &p("snapshots"), &[])], "a 413 is not retried");

    // The raw answer: Cinder's body, exactly, and its header.
    let token = client.token().unwrap();
    let body = format!("{{\"snapshot\": {{\"volume_id\": \"{volume}\"}}}}");
    let request = format!(
        "POST /v3/{PROJECT_ID}/snapshots HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        token.expose_secret(),
        body.len()
    );
    let (status, headers, body) = raw_http(&cloud, &request);
    assert_eq!(status, "HTTP/1.1 413 Request Entity Too Large");
    assert_eq!(header(&headers, "retry-after"), Some("0"));
    assert_eq!(
        body,
        json!({"overLimit": {"code": 413, "message": "SnapshotLimitExceeded: Maximum number of snapshots allowed (2) exceeded", "retryAfter": "0"}})
    );

    // The member's project has its own count.
    let member = cloud.client_as(Account::Member);
    snapshots::create(&member, &CreateOpts::new(&member_volume)).unwrap();
    // Deleting one (the error one) makes room once it is gone.
    assert_eq!(snapshots::get(&client, &failed.id).unwrap().status, SnapshotStatus::Error);
    snapshots::delete(&client, &failed.id).unwrap();
    assert!(snapshots::create(&client, &CreateOpts::new(&volume)).unwrap_err().is_over_limit(), "a deleting snapshot still counts");
    snapshots::wait_for_delete(&client, &failed.id, &WaitOpts::new()).unwrap();
    snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.set_snapshot_quota(None);
    snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(cloud.snapshots().iter().filter(|s| s.volume_id == volume).count(), 3);
    let _ = ok;
}

/// `fail_next_snapshots(2, ..)`: the next two snapshots created end in `error`, each with the
/// user message in `/messages` for that snapshot; the third is `available`.
/// `fail_snapshot(Some(id))` on an `available` one turns it to `error` at once.
#[test]
fn the_next_snapshots_fail_with_a_user_message() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    cloud.fail_next_snapshots(2, Some("Snapshot creation failed: backend full."));
    let ids: Vec<String> = (0..3).map(|_| snapshots::create(&client, &CreateOpts::new(&volume)).unwrap().id).collect();
    for id in &ids[..2] {
        let err = snapshots::wait_for_status(&client, id, SnapshotStatus::Available, &WaitOpts::new()).unwrap_err();
        let Error::Wait(w) = &err else { panic!("not a wait error: {err}") };
        assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
        assert_eq!(w.user_message.as_deref(), Some("Snapshot creation failed: backend full."));
    }
    let third = snapshots::wait_for_status(&client, &ids[2], SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    assert_eq!(third.status, SnapshotStatus::Available);

    cloud.fail_snapshot(Some(&ids[2]), None);
    assert_eq!(snapshots::get(&client, &ids[2]).unwrap().status, SnapshotStatus::Error);
    let listed = snapshots::list(&client, &ListOpts::new().status(SnapshotStatus::Error)).unwrap().all().unwrap();
    assert_eq!(listed.len(), 3);
}

/// The snapshot listing's filters as Cinder 29 applies them: `metadata` from 3.22 (every
/// pair must match; below 3.22 it is dropped and everything is listed), `name~` from 3.31
/// (dropped below), `status`, `volume_id`, `name`; sorting by `name` is a 400 below 3.30, by
/// `size` always (the column is `volume_size`).
#[test]
fn snapshot_filters_follow_the_microversion() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let a = cloud.add_volume("a");
    let b = cloud.add_volume("b");
    let client = cloud.client();
    let gold = snapshots::create(&client, &CreateOpts::new(&a).name("snap-gold").metadata("tier", "gold").metadata("keep", "yes")).unwrap();
    cloud.advance(Duration::from_secs(1));
    let half = snapshots::create(&client, &CreateOpts::new(&a).name("snap-half").metadata("tier", "gold")).unwrap();
    cloud.advance(Duration::from_secs(1));
    let other = snapshots::create(&client, &CreateOpts::new(&b).name("other")).unwrap();
    let ids = |opts: &ListOpts| ids_of(&snapshots::list(&client, opts).unwrap().all().unwrap(), |s| &s.id);
    assert_eq!(ids(&ListOpts::new().metadata("tier", "gold")), [half.id.clone(), gold.id.clone()]);
    assert_eq!(ids(&ListOpts::new().metadata("tier", "gold").metadata("keep", "yes")), vec![gold.id.clone()]);
    assert_eq!(ids(&ListOpts::new().volume_id(&b)), vec![other.id.clone()]);
    assert_eq!(ids(&ListOpts::new().name("snap-half")), vec![half.id.clone()]);
    assert_eq!(ids(&ListOpts::new().name_like("snap-")), [half.id.clone(), gold.id.clone()]);
    assert_eq!(ids(&ListOpts::new().status(SnapshotStatus::Available)).len(), 3);
    assert_eq!(ids(&ListOpts::new().sort(SortKey::VolumeSize, SortDir::Asc)).len(), 3);

    // Raw requests at older microversions: the filters Cinder drops list everything.
    let raw_ids = |query: &[(&str, &str)], minor: u16| -> Vec<String> {
        let request = Request::get(["snapshots"]).query(query.iter().copied()).microversion(Microversion::new(3, minor));
        let body: Value = serde_json::from_slice(&client.send(request).unwrap().body).unwrap();
        body["snapshots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    };
    let everything = [other.id.clone(), half.id.clone(), gold.id.clone()];
    assert_eq!(raw_ids(&[("metadata", "{'tier':'gold','keep':'yes'}")], 22), vec![gold.id.clone()]);
    assert_eq!(raw_ids(&[("metadata", "{'tier':'gold','keep':'yes'}")], 21), everything);
    // Cinder 29 applies `name~` from 3.31 (checked live), drops it below.
    assert_eq!(raw_ids(&[("name~", "snap-")], 31), [half.id.clone(), gold.id.clone()]);
    assert_eq!(raw_ids(&[("name~", "snap-")], 30), everything);
    let bad_sort = |sort: &str, minor: u16| {
        let err = client.send(Request::get(["snapshots"]).query([("sort", sort)]).microversion(Microversion::new(3, minor))).unwrap_err();
        (err.api().unwrap().status, err.api().unwrap().message.clone())
    };
    let invalid = (400, "Invalid input received: Invalid sort key".to_owned());
    assert_eq!(bad_sort("name:asc", 29), invalid);
    assert_eq!(bad_sort("size:asc", 71), invalid);
    assert_eq!(bad_sort("bogus:asc", 71), invalid);
    assert_eq!(raw_ids(&[("sort", "name:asc")], 30), [other.id.clone(), gold.id.clone(), half.id.clone()]);
}

/// Two projects: the member sees only its own snapshots and volumes (another project's is a
/// 404), its `all_tenants` is dropped; the admin's `all_tenants` lists both projects and
/// `project_id` narrows it; the member's `os-reset_status` is Cinder's 403; a URL with
/// another project than the token's is Cinder's 400.
#[test]
fn two_projects_and_all_tenants() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(0);
    let mine = cloud.add_volume("admin-vol");
    let theirs = cloud.add_volume_with(&VolumeSpec::new("member-vol").owner(Account::Member));
    let admin = cloud.client();
    let member = cloud.client_as(Account::Member);
    assert_eq!(member.endpoint().unwrap().as_str(), format!("{}/v3/{MEMBER_PROJECT_ID}", cloud.auth_url().trim_end_matches("/v3")));
    let a = snapshots::create(&admin, &CreateOpts::new(&mine)).unwrap();
    let m = snapshots::create(&member, &CreateOpts::new(&theirs)).unwrap();
    assert!(snapshots::create(&member, &CreateOpts::new(&mine)).unwrap_err().is_not_found(), "another project's volume");

    let ids = |c: &ServiceClient, opts: &ListOpts| ids_of(&snapshots::list_detail(c, opts).unwrap().all().unwrap(), |s| &s.id);
    assert_eq!(ids(&admin, &ListOpts::new()), vec![a.id.clone()]);
    assert_eq!(ids(&admin, &ListOpts::new().all_projects(true)), [m.id.clone(), a.id.clone()]);
    assert_eq!(ids(&admin, &ListOpts::new().all_projects(true).project_id(MEMBER_PROJECT_ID)), vec![m.id.clone()]);
    assert_eq!(ids(&member, &ListOpts::new()), vec![m.id.clone()]);
    assert_eq!(ids(&member, &ListOpts::new().all_projects(true)), vec![m.id.clone()]);
    let vols = |c: &ServiceClient, opts: &volumes::ListOpts| ids_of(&volumes::list_detail(c, opts).unwrap().all().unwrap(), |v| &v.id);
    assert_eq!(vols(&admin, &volumes::ListOpts::new().all_projects(true)), [theirs.clone(), mine.clone()]);
    assert_eq!(vols(&member, &volumes::ListOpts::new().all_projects(true)), vec![theirs.clone()]);

    let seen_by_admin = snapshots::get(&admin, &m.id).unwrap();
    assert_eq!(seen_by_admin.project_id.as_deref(), Some(MEMBER_PROJECT_ID));
    assert_eq!(seen_by_admin.user_id.as_deref(), Some("26ca45718d0c4b87b9002dc537030522"));
    let err = snapshots::get(&member, &a.id).unwrap_err();
    assert_eq!(err.api().unwrap().message, format!("Snapshot {} could not be found.", a.id));

    let err = snapshots::reset_status(&member, &m.id, SnapshotStatus::Error).unwrap_err();
    assert!(err.is_forbidden());
    assert_eq!(err.api().unwrap().message, "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.");
    snapshots::reset_status(&admin, &m.id, SnapshotStatus::Error).unwrap();
    assert_eq!(snapshots::get(&member, &m.id).unwrap().status, SnapshotStatus::Error);

    let token = member.token().unwrap();
    let request = format!("GET /v3/{PROJECT_ID}/snapshots HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {}\r\n\r\n", token.expose_secret());
    let (status, _, body) = raw_http(&cloud, &request);
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, json!({"badRequest": {"code": 400, "message": "Malformed request url"}}));
}

/// `os-reset_status` sets a status that stays (a `creating` set by hand is not moved on),
/// an unknown status is Cinder's 400 with its list; `os-force_delete` deletes a `creating`
/// snapshot.
#[test]
fn reset_status_and_force_delete() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let s = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    snapshots::wait_for_status(&client, &s.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    snapshots::reset_status(&client, &s.id, SnapshotStatus::Creating).unwrap();
    for _ in 0..3 {
        assert_eq!(snapshots::get(&client, &s.id).unwrap().status, SnapshotStatus::Creating);
    }
    let err = snapshots::delete(&client, &s.id).unwrap_err();
    assert_eq!(err.api().unwrap().message, "Invalid snapshot: Snapshot status must be available or error and must not be part of a group.");
    let bogus = Request::post(["snapshots", s.id.as_str(), "action"]).json(json!({"os-reset_status": {"status": "bogus"}}));
    assert_eq!(
        client.send(bogus).unwrap_err().api().unwrap().message,
        "Snapshot status: bogus is invalid, valid statuses are: ('error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting', 'unmanaging', 'backing-up', 'restoring')."
    );
    snapshots::force_delete(&client, &s.id).unwrap();
    snapshots::wait_for_delete(&client, &s.id, &WaitOpts::new()).unwrap();
    assert!(cloud.snapshots().is_empty());
}

/// Every metadata call, single keys included, with Cinder's answers and its 404 for a
/// missing key; the requests record the microversion asked for.
#[test]
fn metadata_calls_and_single_keys() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let s = snapshots::create(&client, &CreateOpts::new(&volume).metadata("a", "1")).unwrap();
    let map =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(snapshots::get_metadata(&client, &s.id).unwrap(), map(&[("a", "1")]));
    let merged = snapshots::merge_metadata(&client, &s.id, &UpdateMetadataOpts::new().set("b", "2")).unwrap();
    assert_eq!(merged, map(&[("a", "1"), ("b", "2")]));
    assert_eq!(snapshots::get_metadata_key(&client, &s.id, "b").unwrap(), "2");
    assert_eq!(snapshots::set_metadata_key(&client, &s.id, "a", "one").unwrap(), "one");
    assert_eq!(snapshots::set_metadata_key(&client, &s.id, "key with space", "x").unwrap(), "x");
    assert_eq!(snapshots::get_metadata_key(&client, &s.id, "key with space").unwrap(), "x");
    snapshots::delete_metadata_key(&client, &s.id, "b").unwrap();
    let err = snapshots::get_metadata_key(&client, &s.id, "b").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, format!("Snapshot {} has no metadata with key b.", s.id));
    let err = snapshots::delete_metadata_key(&client, &s.id, "b").unwrap_err();
    assert_eq!(err.api().unwrap().message, format!("Snapshot {} has no metadata with key b.", s.id));
    let replaced = snapshots::update_metadata(&client, &s.id, &UpdateMetadataOpts::new().set("only", "this")).unwrap();
    assert_eq!(replaced, map(&[("only", "this")]));
    assert_eq!(snapshots::get(&client, &s.id).unwrap().metadata, map(&[("only", "this")]));
    let last = cloud.requests().pop().unwrap();
    assert_eq!(last.call(), ("GET", format!("snapshots/{}", s.id).as_str(), vec![]));
    assert_eq!(last.microversion.as_deref(), Some("volume 3.71"));
}

/// The clock keeps microseconds, as Cinder stores its timestamps: `created_at` read back
/// equals `now()` from the start, after `set_now` with nanoseconds and after `advance`, so
/// code comparing `now() - age` with `created_at` sees no sub-microsecond skew.
#[test]
fn the_clock_has_cinders_microsecond_precision() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let created = |c: &ServiceClient| snapshots::create(c, &CreateOpts::new(&volume)).unwrap().created_at;
    assert_eq!(created(&client), Some(cloud.now()));
    cloud.set_now(datetime!(2020-01-02 03:04:05.123456789 UTC));
    assert_eq!(cloud.now(), datetime!(2020-01-02 03:04:05.123456 UTC));
    assert_eq!(created(&client), Some(cloud.now()));
    cloud.advance(Duration::from_nanos(1_999));
    assert_eq!(cloud.now(), datetime!(2020-01-02 03:04:05.123458 UTC), "1.999 µs is 2 µs");
    assert_eq!(created(&client), Some(cloud.now()));
}

/// `lose_next_answers` on the create: the fake makes the snapshot, then closes the
/// connection without an answer. The client reports a transport error after ONE POST (a
/// create is never retried) and the snapshot is in the fake's state.
#[test]
fn a_lost_create_answer_is_a_transport_error_and_the_snapshot_exists() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    client.authenticate().unwrap();
    cloud.clear_requests();
    cloud.lose_next_answers(1, Rule::method("POST", "snapshots"));
    let err = snapshots::create(&client, &CreateOpts::new(&volume).name("lost")).unwrap_err();
    let Error::Transport { method, url, attempts, .. } = &err else { panic!("not a transport error: {err:?}") };
    assert_eq!((method.as_str(), url.as_str(), *attempts), ("POST", format!("{}/snapshots", cloud.endpoint()).as_str(), 1));
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(requests(&cloud), vec![seen("POST", &p("snapshots"), &[])]);
    let held: Vec<(String, Option<String>, SnapshotStatus)> =
        cloud.snapshots().into_iter().map(|s| (s.volume_id, s.name, s.status)).collect();
    assert_eq!(held, vec![(volume.clone(), Some("lost".to_owned()), SnapshotStatus::Creating)]);

    // The loss is used up: the next create is answered.
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(snap.status, SnapshotStatus::Creating);
    assert_eq!(cloud.snapshots().len(), 2);
}

/// A lost GET is retried by the client: the second GET is answered, two GETs are seen. A
/// fault on the same request answers it and does not use the loss up.
#[test]
fn a_lost_get_answer_is_retried_and_a_fault_goes_first() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    cloud.clear_requests();
    cloud.lose_next_answers(1, Rule::get("snapshots"));
    let got = snapshots::get(&client, &snap.id).unwrap();
    assert_eq!(got.id, snap.id);
    assert_eq!(requests(&cloud), vec![seen("GET", &p(&format!("snapshots/{}", snap.id)), &[]); 2]);

    // A 503 then a lost answer on the same GETs: the fault answers the first, the loss takes
    // the second, the third is answered.
    cloud.clear_requests();
    cloud.lose_next_answers(1, Rule::get("snapshots"));
    cloud.fail_next(1, Rule::get("snapshots"), 503);
    assert_eq!(snapshots::get(&client, &snap.id).unwrap().id, snap.id);
    assert_eq!(requests(&cloud).len(), 3);

    // More losses than the client's retries (3): the GET fails after 4 attempts.
    cloud.clear_requests();
    cloud.lose_next_answers(4, Rule::get("snapshots"));
    let err = snapshots::get(&client, &snap.id).unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 4, .. }), "{err:?}");
    assert_eq!(requests(&cloud).len(), 4);
}

/// The log keeps Cinder's request bodies exactly (a forced create at 3.65), and never
/// Keystone's (its token request carries the password); bodiless requests have none.
#[test]
fn cinder_request_bodies_are_recorded_and_keystones_never() {
    let cloud = FakeCloud::start();
    let volume = cloud.add_volume_with(&VolumeSpec::new("db").attached_to("server-1"));
    let client = pinned(&cloud, Account::Admin, 65);
    let snap = snapshots::create(&client, &CreateOpts::new(&volume).name("forced").force(true)).unwrap();
    let log = cloud.requests();
    let token = log.iter().find(|r| r.path == "/v3/auth/tokens").unwrap();
    assert_eq!((token.method.as_str(), &token.body), ("POST", &None));
    let creates: Vec<&SeenRequest> = log.iter().filter(|r| r.method == "POST" && r.path == p("snapshots")).collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].microversion.as_deref(), Some("volume 3.65"));
    assert_eq!(creates[0].body, Some(json!({"snapshot": {"volume_id": volume, "name": "forced", "force": true}})));
    cloud.clear_requests();
    snapshots::get(&client, &snap.id).unwrap();
    assert_eq!(cloud.requests()[0].body, None);
    // The password is nowhere in the log.
    assert!(!format!("{log:?}").contains(cinder_snapshots::testing::PASSWORD), "{log:?}");
}

/// Projects added to the fake: each user authenticates with its own password, scoped by name
/// or by id; the token's project and the catalog's endpoint are its own; Cinder shows it its
/// own project's volumes only (the admin sees them all with `all_tenants`); another user's
/// password is Keystone's 401; the same name gives the same account (and id) again.
#[test]
fn added_projects_have_their_own_users_and_see_only_their_own_volumes() {
    let cloud = FakeCloud::start();
    let web = cloud.add_project("web");
    let db = cloud.add_project("db");
    assert_eq!((web.username(), web.project_name(), web.password()), ("web", "web", "web-password"));
    assert_ne!(web.project_id(), db.project_id());
    assert_eq!(web.project_id().len(), 32);
    assert!(web.project_id().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(cloud.add_project("web"), web);
    assert_eq!(cloud.add_project("demo"), Account::Member);
    // Another fake: the same name, the same ids (one Keystone's project in every region).
    assert_eq!(FakeCloud::start().add_project("web"), web);

    let web_vol = cloud.add_volume_with(&VolumeSpec::new("web-1").owner(web));
    let db_vol = cloud.add_volume_with(&VolumeSpec::new("db-1").owner(db));
    let ids = |client: &ServiceClient, opts: &volumes::ListOpts| -> Vec<String> {
        volumes::list(client, opts).unwrap().all().unwrap().into_iter().map(|v| v.id).collect()
    };
    let web_client = cloud.client_as(web);
    assert_eq!(web_client.project_id().unwrap().as_deref(), Some(web.project_id()));
    assert_eq!(ids(&web_client, &volumes::ListOpts::new()), std::slice::from_ref(&web_vol));
    // Scoped by the project's id.
    let auth = AuthOptions::password(cloud.auth_url(), "db", Domain::name("Default"), "db-password");
    let by_id = ServiceClient::builder(auth).scope(Scope::project_id(db.project_id())).build().unwrap();
    assert_eq!(ids(&by_id, &volumes::ListOpts::new()), std::slice::from_ref(&db_vol));
    assert_eq!(cloud.requests().last().unwrap().path, format!("/v3/{}/volumes", db.project_id()));
    // The admin's own project holds neither; the fake holds both.
    assert!(ids(&cloud.client(), &volumes::ListOpts::new()).is_empty());
    let all: BTreeSet<String> = cloud.volumes().into_iter().map(|v| v.id).collect();
    assert_eq!(all, BTreeSet::from([web_vol.clone(), db_vol.clone()]));
    // Another project's volume is a 404 to a member.
    assert!(volumes::get(&web_client, &db_vol).unwrap_err().is_not_found());
    // Another user's password, or a project the user has no role on: Keystone's 401.
    let wrong = AuthOptions::password(cloud.auth_url(), "web", Domain::name("Default"), "db-password");
    let err = ServiceClient::builder(wrong).scope(Scope::project_name("web", Domain::name("Default"))).build().unwrap().project_id();
    assert_eq!(err.unwrap_err().status(), Some(401));
    let other = AuthOptions::password(cloud.auth_url(), "web", Domain::name("Default"), "web-password");
    let err = ServiceClient::builder(other).scope(Scope::project_name("db", Domain::name("Default"))).build().unwrap().project_id();
    assert_eq!(err.unwrap_err().status(), Some(401));
    // The OS_* variables of an added project work as an openrc file's.
    let vars = cloud.os_vars_as(db);
    assert!(vars.contains(&("OS_PASSWORD".to_owned(), "db-password".to_owned())));
    let from_vars = ServiceClientBuilder::from_vars(vars).unwrap().build().unwrap();
    assert_eq!(from_vars.project_id().unwrap().as_deref(), Some(db.project_id()));
}

/// A quota set for one project limits that project only, over the limit of every project.
#[test]
fn a_project_quota_limits_that_project_only() {
    let cloud = FakeCloud::start();
    let web = cloud.add_project("web");
    let db = cloud.add_project("db");
    cloud.set_quota("snapshots", 5);
    cloud.set_project_quota(web, "snapshots", 1);
    let web_vol = cloud.add_volume_with(&VolumeSpec::new("web-1").owner(web));
    let db_vol = cloud.add_volume_with(&VolumeSpec::new("db-1").owner(db));
    let (web_client, db_client) = (cloud.client_as(web), cloud.client_as(db));
    snapshots::create(&web_client, &CreateOpts::new(&web_vol)).unwrap();
    let err = snapshots::create(&web_client, &CreateOpts::new(&web_vol)).unwrap_err();
    assert_eq!(err.status(), Some(413));
    assert!(err.to_string().contains("Maximum number of snapshots allowed (1) exceeded"), "{err}");
    for _ in 0..5 {
        snapshots::create(&db_client, &CreateOpts::new(&db_vol)).unwrap();
    }
    let err = snapshots::create(&db_client, &CreateOpts::new(&db_vol)).unwrap_err();
    assert!(err.to_string().contains("Maximum number of snapshots allowed (5) exceeded"), "{err}");
    // The quota sets show each project's own limit.
    let limit = |client: &ServiceClient, project: &str| -> Value {
        raw(client, Request::get(["os-quota-sets", project]))["quota_set"]["snapshots"].clone()
    };
    assert_eq!(limit(&web_client, web.project_id()), json!(1));
    assert_eq!(limit(&db_client, db.project_id()), json!(5));
}

/// The region a fake is named: the catalog's `region_id`, `OS_REGION_NAME` of its variables;
/// a client asking for another region finds no endpoint.
#[test]
fn a_fake_names_its_region_in_the_catalog_and_its_variables() {
    let cloud = FakeCloud::start();
    assert_eq!(cloud.region(), "RegionOne");
    cloud.set_region("RegionTwo");
    assert_eq!(cloud.region(), "RegionTwo");
    let vars = cloud.os_vars();
    assert!(vars.contains(&("OS_REGION_NAME".to_owned(), "RegionTwo".to_owned())));
    let client = ServiceClientBuilder::from_vars(vars).unwrap().build().unwrap();
    assert_eq!(client.endpoint().unwrap().as_str().trim_end_matches('/'), cloud.endpoint());
    let elsewhere = cloud.client_builder().region("RegionOne").build().unwrap();
    let err = snapshots::list(&elsewhere, &ListOpts::new()).and_then(|pager| pager.all()).unwrap_err();
    assert!(matches!(err, Error::EndpointNotFound { .. }), "{err:?}");
    let here = cloud.client_builder().region("RegionTwo").build().unwrap();
    assert!(snapshots::list(&here, &ListOpts::new()).unwrap().all().unwrap().is_empty());
}

/// With a wall time set, reads do not move a new snapshot on: ten reads (GETs and listings)
/// an hour before its time all see `creating`; once its time has come (set here to zero
/// rather than slept for), the next read sees it `available`.
#[test]
fn snapshots_leave_creating_after_wall_time_not_after_reads() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_available_after(Some(Duration::from_secs(3600)));
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let snap = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    for _ in 0..5 {
        assert_eq!(snapshots::get(&client, &snap.id).unwrap().status, SnapshotStatus::Creating);
        let listed = snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap();
        assert_eq!(listed.iter().map(|s| s.status.clone()).collect::<Vec<_>>(), [SnapshotStatus::Creating]);
    }
    cloud.set_snapshot_available_after(Some(Duration::ZERO));
    assert_eq!(snapshots::get(&client, &snap.id).unwrap().status, SnapshotStatus::Available);
    // A failing one goes to error at its time the same way.
    cloud.set_snapshot_available_after(Some(Duration::from_secs(3600)));
    cloud.fail_next_snapshots(1, None);
    let failing = snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    assert_eq!(snapshots::get(&client, &failing.id).unwrap().status, SnapshotStatus::Creating);
    cloud.set_snapshot_available_after(Some(Duration::ZERO));
    assert_eq!(snapshots::get(&client, &failing.id).unwrap().status, SnapshotStatus::Error);
}

/// A spread of the wall times: the n-th snapshot waits (n mod 10) tenths of it more, fixed
/// at its create. With no wall time of its own and a spread of an hour, the first snapshot
/// (share 0) is available at its first read and the next nine (6 to 54 minutes more) are
/// still creating; the eleventh (share 0 again) is available.
#[test]
fn a_spread_staggers_the_wall_times_of_snapshots() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_available_after(Some(Duration::ZERO));
    cloud.set_snapshot_available_spread(Duration::from_secs(3600));
    let volume = cloud.add_volume("data");
    let client = cloud.client();
    let ids: Vec<String> = (0..11).map(|_| snapshots::create(&client, &CreateOpts::new(&volume)).unwrap().id).collect();
    let statuses: Vec<SnapshotStatus> = ids.iter().map(|id| snapshots::get(&client, id).unwrap().status).collect();
    let mut expected = vec![SnapshotStatus::Creating; 11];
    expected[0] = SnapshotStatus::Available;
    expected[10] = SnapshotStatus::Available;
    assert_eq!(statuses, expected);
    // The share is fixed at the create: a spread set to zero later does not move them.
    cloud.set_snapshot_available_spread(Duration::ZERO);
    assert_eq!(snapshots::get(&client, &ids[1]).unwrap().status, SnapshotStatus::Creating);
}

/// The counters: requests answered, listing pages, the rows of snapshot and volume
/// listings (and each listing request's own rows); reset to zero.
#[test]
fn stats_count_requests_pages_and_listing_rows_and_reset() {
    let cloud = FakeCloud::start();
    let client = cloud.client();
    let volumes: Vec<String> = (0..5).map(|i| cloud.add_volume(&format!("v{i}"))).collect();
    snapshots::create(&client, &CreateOpts::new(&volumes[0])).unwrap();
    assert!(cloud.stats().requests >= 2, "{:?}", cloud.stats());
    cloud.reset_stats();
    cloud.clear_requests();
    assert_eq!(cloud.stats(), Default::default());
    assert_eq!(volumes::list(&client, &volumes::ListOpts::new().limit(2)).unwrap().all().unwrap().len(), 5);
    assert_eq!(snapshots::list_detail(&client, &ListOpts::new()).unwrap().all().unwrap().len(), 1);
    snapshots::get(&client, &cloud.snapshots()[0].id).unwrap();
    let stats = cloud.stats();
    assert_eq!((stats.requests, stats.listing_pages, stats.volume_rows, stats.snapshot_rows), (5, 4, 5, 1));
    assert_eq!(stats.listing_rows(), 6);
    let rows: Vec<(String, Option<usize>)> = cloud.requests().into_iter().map(|r| (r.relative_path().to_owned(), r.rows)).collect();
    let snapshot = format!("snapshots/{}", cloud.snapshots()[0].id);
    assert_eq!(
        rows,
        [
            ("volumes".to_owned(), Some(2)),
            ("volumes".to_owned(), Some(2)),
            ("volumes".to_owned(), Some(1)),
            ("snapshots/detail".to_owned(), Some(1)),
            (snapshot, None)
        ]
    );
    cloud.reset_stats();
    assert_eq!(cloud.stats(), Default::default());
}

/// 10,000 volumes in one fake (spread over 50 projects): each project lists its own 200
/// in one page (the counters showing exactly those rows: 10,000 in 50 pages), and in pages
/// of 150 (two requests, the next link's marker found among the 10,000).
#[test]
fn ten_thousand_volumes_over_fifty_projects_list_in_pages() {
    let cloud = FakeCloud::start();
    let projects: Vec<Account> = (0..50).map(|i| cloud.add_project(&format!("p{i:02}"))).collect();
    for i in 0..10_000 {
        cloud.add_volume_with(&VolumeSpec::new(format!("vol-{i}")).metadata("backup", "nightly").owner(projects[i % 50]));
    }
    let clients: Vec<ServiceClient> = projects.iter().map(|p| cloud.client_as(*p)).collect();
    cloud.reset_stats();
    let mut names = BTreeSet::new();
    for (i, client) in clients.iter().enumerate() {
        let own = volumes::list(client, &volumes::ListOpts::new().metadata("backup", "nightly")).unwrap().all().unwrap();
        assert_eq!(own.len(), 200);
        let index =
            |v: &volumes::VolumeSummary| v.name.as_deref().and_then(|n| n.strip_prefix("vol-")).and_then(|n| n.parse::<usize>().ok());
        assert!(own.iter().all(|v| index(v).is_some_and(|n| n % 50 == i)));
        names.extend(own.into_iter().filter_map(|v| v.name));
    }
    assert_eq!(names.len(), 10_000);
    assert_eq!((cloud.stats().listing_pages, cloud.stats().volume_rows, cloud.stats().snapshot_rows), (50, 10_000, 0));
    cloud.reset_stats();
    assert_eq!(volumes::list(&clients[3], &volumes::ListOpts::new().limit(150)).unwrap().all().unwrap().len(), 200);
    assert_eq!((cloud.stats().listing_pages, cloud.stats().volume_rows), (2, 200));
}

/// As Cinder loads a listing's marker by id whatever the filters: a `status=creating`
/// listing whose marker left `creating` between two pages goes on after the marker's place
/// in the order (the same behaviour as branch opsa's fake, on the index-based listing; an
/// unknown marker is still a 404).
#[test]
fn a_marker_the_filters_leave_out_is_found_by_id_and_the_page_goes_on_after_it() {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_creating_reads(1000);
    let client = cloud.client();
    for i in 0..5 {
        let volume = cloud.add_volume(&format!("v{i}"));
        snapshots::create(&client, &CreateOpts::new(&volume)).unwrap();
    }
    let list = ListOpts::new().status(SnapshotStatus::Creating).limit(2);
    let mut pager = snapshots::list_detail(&client, &list).unwrap();
    let first: Vec<String> = pager.by_ref().take(2).map(|s| s.unwrap().id).collect();
    snapshots::reset_status(&client, &first[1], SnapshotStatus::Available).unwrap();
    let rest: Vec<String> = pager.map(|s| s.unwrap().id).collect();
    // The newest first: ids descending (one clock instant), so the rest are the 3 oldest.
    let mut made: Vec<String> = cloud.snapshots().into_iter().map(|s| s.id).collect();
    made.reverse();
    assert_eq!(first, made[..2]);
    assert_eq!(rest, made[2..]);
    let marker = rows_of_marker(&client, &made[1]);
    assert_eq!(marker, Some(2));
    assert_eq!(rows_of_marker(&client, "00000000-0000-4000-8000-0000000fffff"), None);
}

/// The rows of the `status=creating` page after `marker` (pages of 2), or `None` for a 404.
fn rows_of_marker(client: &ServiceClient, marker: &str) -> Option<usize> {
    let request = Request::get(["snapshots", "detail"]).query([("status", "creating"), ("limit", "2"), ("marker", marker)]);
    match client.send(request) {
        Ok(answer) => serde_json::from_slice::<Value>(&answer.body).ok()?["snapshots"].as_array().map(Vec::len),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn keystones_500_on_the_token_request_is_retried_and_cinders_500_is_not() {
    // A Keystone whose database is busy answers 500 for a moment (the local cloud's, when a
    // job spec's targets authenticate together): the token request creates nothing durable.
    let cloud = FakeCloud::start();
    cloud.fail_next(2, Rule::method("POST", "/v3/auth/tokens"), 500);
    let client = cloud.client();
    let listed = snapshots::list(&client, &ListOpts::new()).unwrap().count();
    assert_eq!(listed, 0);
    let tokens = cloud.requests().iter().filter(|r| r.method == "POST" && r.path == "/v3/auth/tokens").count();
    assert_eq!(tokens, 3, "two 500s, then the token");
    // Cinder's 500 is still never retried.
    cloud.clear_requests();
    cloud.fail_next(1, Rule::get("snapshots"), 500);
    let err = snapshots::list(&client, &ListOpts::new()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    let gets = cloud.requests().iter().filter(|r| r.method == "GET" && r.path.contains("/snapshots")).count();
    assert_eq!(gets, 1);
}
