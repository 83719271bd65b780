//! Every volume call against recorded Cinder exchanges (`fixtures/*volumes*`, recorded from
//! the local cloud's real Cinder): the exact method, path, query, headers and body the crate
//! sends, and what it makes of the answer; errors, client-side validation, pagination,
//! revert and waiting.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinder_snapshots::volumes::{self, CreateOpts, ListOpts, RevertRefusal, SortDir, SortKey, Volume, VolumeStatus, WaitOpts};
use cinder_snapshots::{Error, Microversion, Request, ServiceClient, WaitErrorKind};
use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Value, json};

/// `restore-alpha`: 1 GiB, metadata backup=nightly, snapshotted and reverted in the session.
const ALPHA: &str = "3453439c-00d5-459b-bbef-2b38a15cffd7";
/// `restore-beta`: attached to a server at the end of the session.
const BETA: &str = "7589fc6f-9e2d-4bc9-9fba-807c134e0cb1";
/// `restore-gamma`: 2 GiB, no snapshot, deleted at the end.
const GAMMA: &str = "dbbdfe50-a892-455d-b59b-f6eecbb9ddd6";
/// `restored-alpha`: created from SNAP1.
const RESTORED: &str = "2505d2e2-b712-4f4e-ae89-93236d05272f";
/// The first snapshot of alpha.
const SNAP1: &str = "b4677381-19a2-4dec-9851-3353bb2f0fb0";
/// Beta's snapshot.
const SNAP_BETA: &str = "6bd5a210-e393-4f9c-97f2-04ae83e06829";
/// The server beta is attached to.
const SERVER: &str = "8a1b2c3d-0000-4000-8000-0000000000b2";
/// An id no volume has.
const MISSING: &str = "0b1f5b58-7c2c-4d8e-9d51-3d0c8a4c7e11";

fn admin(server: &Server) -> ServiceClient {
    token_client(server, ADMIN_PROJECT, MV371)
}

/// The microversion a fixture was recorded at.
fn version_of(f: &Fixture) -> Microversion {
    let v = f.request_header("openstack-api-version").expect("recorded version");
    let (major, minor) = v.trim_start_matches("volume ").split_once('.').expect("X.Y");
    Microversion::new(major.parse().unwrap(), minor.parse().unwrap())
}

/// Runs `call` against the mock of one recorded exchange, asserting it was sent once.
fn replay<T>(fixture: &str, call: impl FnOnce(&ServiceClient) -> T) -> T {
    let mut server = Server::new();
    let f = Fixture::load(fixture);
    let m = f.mock(&mut server).expect(1).create();
    let project = if f.path.starts_with(&format!("/v3/{DEMO_PROJECT}")) { DEMO_PROJECT } else { ADMIN_PROJECT };
    let out = call(&token_client(&server, project, version_of(&f)));
    m.assert();
    out
}

/// A server that fails the test if any request reaches it, and a client for it.
fn nothing_sent(version: Microversion) -> (ServerGuard, NoRequest, ServiceClient) {
    let mut server = Server::new();
    let any = NoRequest(["GET", "POST", "PUT", "DELETE"].into_iter().map(|m| server.mock(m, Matcher::Any).expect(0).create()).collect());
    let client = token_client(&server, ADMIN_PROJECT, version);
    (server, any, client)
}

/// Mocks of every method that must never be called.
struct NoRequest(Vec<Mock>);

impl NoRequest {
    fn assert(&self) {
        self.0.iter().for_each(Mock::assert);
    }
}

fn recorded_ids(fixture: &str) -> Vec<String> {
    Fixture::load(fixture).response_json()["volumes"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

fn ids(pager: volumes::Pager) -> Vec<String> {
    pager.map(|v| v.unwrap().id).collect()
}

fn utc(recorded: &Value, field: &str) -> time::OffsetDateTime {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    time::PrimitiveDateTime::parse(recorded[field].as_str().unwrap(), format).unwrap().assume_utc()
}

// ---------------------------------------------------------------- show

#[test]
fn get_parses_every_field() {
    let v = replay("mv371_volumes_show", |c| volumes::get(c, ALPHA).unwrap());
    let recorded = Fixture::load("mv371_volumes_show").response_json()["volume"].clone();
    assert_eq!(v.id, ALPHA);
    assert_eq!(v.name.as_deref(), Some("restore-alpha"));
    assert_eq!(v.description.as_deref(), Some("restore tests"));
    assert_eq!(v.status, VolumeStatus::Available);
    assert_eq!(v.size, 1);
    assert_eq!(v.metadata, BTreeMap::from([("backup".into(), "nightly".into())]));
    assert_eq!(v.availability_zone.as_deref(), Some("nova"));
    assert_eq!(recorded["bootable"], json!("false"), "Cinder sends a string");
    assert!(!v.bootable);
    assert!(v.attachments.is_empty() && v.server_ids().is_empty());
    assert_eq!(v.volume_type.as_deref(), Some("__DEFAULT__"));
    assert_eq!(v.snapshot_id, None);
    assert_eq!(v.source_volid, None);
    assert_eq!(v.created_at, Some(utc(&recorded, "created_at")));
    assert_eq!(v.updated_at, Some(utc(&recorded, "updated_at")));
    assert_eq!(v.project_id.as_deref(), Some(ADMIN_PROJECT));
    assert_eq!(v.user_id.as_deref(), Some("ad71fabb90db4b989106b05a3ee46ab6"));
    assert_eq!(v.group_id, None);
    assert_eq!(v.encrypted, Some(false));
    assert_eq!(v.multiattach, Some(false));
    let request_id = Fixture::load("mv371_volumes_show").response_header("x-openstack-request-id").map(str::to_owned);
    assert!(request_id.is_some());
    assert_eq!(v.request_id, request_id, "the call's request id is kept");
}

#[test]
fn get_at_3_0_has_no_group_id_key() {
    let recorded = Fixture::load("mv30_volumes_show").response_json()["volume"].clone();
    assert!(recorded.get("group_id").is_none(), "3.13+ only");
    let v = replay("mv30_volumes_show", |c| volumes::get(c, ALPHA).unwrap());
    assert_eq!((v.id.as_str(), v.status.clone(), v.size, v.group_id), (ALPHA, VolumeStatus::Available, 1, None));
    assert_eq!(v.project_id.as_deref(), Some(ADMIN_PROJECT));
}

#[test]
fn an_attached_volume_names_its_server() {
    let v = replay("mv371_volumes_show_in_use", |c| volumes::get(c, BETA).unwrap());
    assert_eq!(v.status, VolumeStatus::InUse);
    assert_eq!(v.server_ids(), [SERVER]);
    let a = &v.attachments[0];
    assert_eq!(a.server_id.as_deref(), Some(SERVER));
    assert_eq!(a.device.as_deref(), Some("na"));
    assert_eq!(a.host_name.as_deref(), Some("recorder"), "admins see the host");
    let recorded = Fixture::load("mv371_volumes_show_in_use").response_json()["volume"]["attachments"][0].clone();
    assert_eq!(a.attachment_id.as_deref(), recorded["attachment_id"].as_str());
    assert_eq!(a.attached_at, Some(utc(&recorded, "attached_at")));
}

#[test]
fn a_volume_serialises_to_cinders_shape_and_back() {
    let v = replay("mv371_volumes_show_in_use", |c| volumes::get(c, BETA).unwrap());
    let json = serde_json::to_value(&v).unwrap();
    let recorded = Fixture::load("mv371_volumes_show_in_use").response_json()["volume"].clone();
    for key in ["id", "name", "status", "size", "metadata", "availability_zone", "bootable", "volume_type", "os-vol-tenant-attr:tenant_id"]
    {
        assert_eq!(json[key], recorded[key], "{key}");
    }
    assert_eq!(json["attachments"][0]["server_id"], json!(SERVER));
    let created = recorded["created_at"].as_str().unwrap();
    assert_eq!(json["created_at"], json!(format!("{created}Z")), "RFC 3339 in UTC");
    assert!(json.get("request_id").is_none(), "not serialised");
    let back: Volume = serde_json::from_value(json).unwrap();
    let mut without_id = v.clone();
    without_id.request_id = None;
    assert_eq!(back, without_id);
}

#[test]
fn missing_and_other_projects_volumes_are_not_found() {
    let err = replay("mv371_volumes_show_missing", |c| volumes::get(c, MISSING).unwrap_err());
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.api().unwrap().message, format!("Volume {MISSING} could not be found."));
    let err = replay("mv371_demo_volumes_show_other_project", |c| volumes::get(c, ALPHA).unwrap_err());
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("itemNotFound"));
}

// ---------------------------------------------------------------- lists and filters

#[test]
fn list_and_list_detail() {
    let summary = replay("mv371_volumes_list", |c| volumes::list(c, &ListOpts::new()).unwrap().all().unwrap());
    assert_eq!(summary.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), recorded_ids("mv371_volumes_list"));
    assert_eq!(summary[0].name.as_deref(), Some("restore-gamma"), "the summary view has the id and the name");
    for fixture in ["mv371_volumes_detail", "mv30_volumes_detail"] {
        let detail = replay(fixture, |c| volumes::list_detail(c, &ListOpts::new()).unwrap().all().unwrap());
        assert_eq!(detail.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), recorded_ids(fixture), "{fixture}");
        let statuses: Vec<&str> = detail.iter().map(|v| v.status.as_str()).collect();
        assert_eq!(statuses, ["available", "available", "available", "creating", "in-use", "creating", "in-use"], "{fixture}");
        assert!(detail.iter().all(|v| v.project_id.as_deref() == Some(ADMIN_PROJECT)), "{fixture}");
    }
}

#[test]
fn each_filter_is_sent_as_recorded() {
    let nightly = || ListOpts::new().metadata("backup", "nightly");
    let cases: Vec<(&str, ListOpts, usize)> = vec![
        ("mv371_volumes_detail_metadata", nightly(), 2),
        // For volumes the metadata filter is older than 3.22 (that version is the snapshots').
        ("mv30_volumes_detail_metadata", nightly(), 2),
        (
            "mv371_volumes_detail_filters",
            ListOpts::new().name("restore-alpha").status(VolumeStatus::Available).availability_zone("nova").bootable(false),
            1,
        ),
        ("mv371_volumes_detail_bootable_true", ListOpts::new().bootable(true), 0),
        ("mv371_volumes_detail_all_tenants_project_id", ListOpts::new().all_projects(true).project_id(DEMO_PROJECT), 2),
    ];
    for (fixture, opts, n) in cases {
        let got = replay(fixture, |c| ids(volumes::list_detail(c, &opts).unwrap()));
        assert_eq!(got, recorded_ids(fixture), "{fixture}");
        assert_eq!(got.len(), n, "{fixture}");
    }
    let alpha = replay("mv371_volumes_detail_filters", |c| {
        let opts = ListOpts::new().name("restore-alpha").status(VolumeStatus::Available).availability_zone("nova").bootable(false);
        volumes::list_detail(c, &opts).unwrap().all().unwrap()
    });
    assert_eq!(alpha[0].id, ALPHA);
}

fn by_name() -> ListOpts {
    ListOpts::new().limit(2).name_like("restore-").sort(SortKey::Name, SortDir::Asc)
}

#[test]
fn pages_are_followed_to_the_last() {
    let mut server = Server::new();
    let p1 = Fixture::load("mv371_volumes_detail_limit2_page1").mock(&mut server).expect(1).create();
    let p2 = Fixture::load("mv371_volumes_detail_limit2_page2").mock(&mut server).expect(1).create();
    let names: Vec<String> = volumes::list_detail(&admin(&server), &by_name()).unwrap().map(|v| v.unwrap().name.unwrap()).collect();
    assert_eq!(names, ["restore-alpha", "restore-beta", "restore-gamma"]);
    p1.assert();
    p2.assert();
    let page2 = Fixture::load("mv371_volumes_detail_limit2_page2");
    assert_eq!(page2.query.as_deref().map(|q| q.ends_with(&format!("marker={BETA}"))), Some(true), "the next link's marker");
}

#[test]
fn with_count_gives_the_total() {
    let mut server = Server::new();
    let first = Fixture::load("mv371_volumes_detail_with_count_limit2").mock(&mut server).expect(1).create();
    let mut pages = volumes::list_detail(&admin(&server), &by_name().with_count(true)).unwrap().pages();
    let page = pages.next().unwrap().unwrap();
    assert_eq!(page.count, Some(3));
    assert_eq!(page.items.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), [ALPHA, BETA]);
    first.assert();
}

#[test]
fn list_input_is_checked_before_any_request() {
    let (_server, any, client) = nothing_sent(MV30);
    for opts in [ListOpts::new().with_count(true), ListOpts::new().name_like("x"), ListOpts::new().group_id("g")] {
        let err = volumes::list_detail(&client, &opts).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput(m) if m.contains("needs microversion") && m.contains("uses 3.0")), "{err}");
    }
    let client371 = token_client(&_server, ADMIN_PROJECT, MV371);
    for opts in [
        ListOpts::new().metadata("a!b", "x"),
        ListOpts::new().marker("../x"),
        ListOpts::new().sort(SortKey::Other("x;y".into()), SortDir::Asc),
    ] {
        assert!(matches!(volumes::list_detail(&client371, &opts), Err(Error::InvalidInput(_))));
    }
    any.assert();
}

#[test]
fn find_by_name_one_none_several() {
    // find_by_name lists the detail view by name; the answers are the recorded filter's.
    let f = Fixture::load("mv371_volumes_detail_filters");
    let run = |body: String| {
        let mut server = Server::new();
        let m = server
            .mock("GET", format!("/v3/{ADMIN_PROJECT}/volumes/detail").as_str())
            .match_query(Matcher::Exact("name=restore-alpha".into()))
            .match_header("openstack-api-version", "volume 3.71")
            .with_body(body)
            .expect(1)
            .create();
        let out = volumes::find_by_name(&admin(&server), "restore-alpha");
        m.assert();
        out
    };
    assert_eq!(run(f.response_body.clone()).unwrap().id, ALPHA);
    let err = run(r#"{"volumes": []}"#.into()).unwrap_err();
    assert!(matches!(err, Error::NoMatch(_)) && err.is_not_found(), "{err}");
    assert_eq!(err.to_string(), "not found: no volume is named \"restore-alpha\"");
    let mut twice = f.response_json();
    let mut copy = twice["volumes"][0].clone();
    copy["id"] = json!("0b0b0b0b-0000-4000-8000-000000000000");
    twice["volumes"].as_array_mut().unwrap().push(copy);
    match run(twice.to_string()).unwrap_err() {
        Error::MultipleMatches { resource, name, ids } => {
            assert_eq!((resource, name.as_str()), ("volume", "restore-alpha"));
            assert_eq!(ids, [ALPHA, "0b0b0b0b-0000-4000-8000-000000000000"]);
        }
        other => panic!("{other}"),
    }
    let (_server, any, client) = nothing_sent(MV371);
    assert!(matches!(volumes::find_by_name(&client, ""), Err(Error::InvalidInput(_))));
    any.assert();
}

// ---------------------------------------------------------------- create and delete

#[test]
fn create_sends_every_option() {
    let opts = CreateOpts::new(1).name("restore-alpha").description("restore tests").metadata("backup", "nightly");
    let v = replay("mv371_volumes_create_alpha", |c| volumes::create(c, &opts).unwrap());
    assert_eq!(v.id, ALPHA);
    assert_eq!(v.status, VolumeStatus::Creating);
    assert_eq!(v.size, 1);
    assert!(v.request_id.is_some());
}

#[test]
fn create_from_a_snapshot_sends_no_size_and_waits() {
    // The recorded body is exactly {"volume": {"snapshot_id": ..., "name": ...}}: the mock
    // matches the whole JSON, so a size sent would not match.
    let opts = CreateOpts::from_snapshot(SNAP1).name("restored-alpha");
    let v = replay("mv371_volumes_create_from_snapshot", |c| volumes::create(c, &opts).unwrap());
    assert_eq!((v.id.as_str(), v.status.clone()), (RESTORED, VolumeStatus::Creating));
    assert_eq!(v.snapshot_id.as_deref(), Some(SNAP1));
    assert_eq!(v.size, 1, "the snapshot's size");
    // creating, creating, then the recorded available.
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/volumes/{RESTORED}");
    let creating = with_status("mv371_volumes_wait_from_snapshot", "creating");
    let mocks =
        show_sequence(&mut server, &path, &[(200, creating.clone()), (200, creating), (200, body_of("mv371_volumes_wait_from_snapshot"))]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let opts = fast().on_progress(move |v| log.lock().unwrap().push(v.status.clone()));
    let v = volumes::wait_for_status(&admin(&server), RESTORED, VolumeStatus::Available, &opts).unwrap();
    assert_eq!((v.status, v.snapshot_id.as_deref()), (VolumeStatus::Available, Some(SNAP1)));
    assert_eq!(*seen.lock().unwrap(), [VolumeStatus::Creating, VolumeStatus::Creating, VolumeStatus::Available]);
    mocks.iter().for_each(Mock::assert);
}

#[test]
fn recorded_create_errors() {
    let err = replay("mv371_volumes_create_missing_snapshot", |c| {
        volumes::create(c, &CreateOpts::from_snapshot("6d3c1f0e-2b7a-4f55-9a1e-0c8d7b6a5f43")).unwrap_err()
    });
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, "Snapshot 6d3c1f0e-2b7a-4f55-9a1e-0c8d7b6a5f43 could not be found.");
    let err = replay("mv371_volumes_create_bad_type", |c| volumes::create(c, &CreateOpts::new(1).volume_type("no-such-type")).unwrap_err());
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, "Volume type with name no-such-type could not be found.");
}

#[test]
fn create_input_is_checked_before_any_request() {
    // What Cinder answers to a size of 0 (recorded): a 400. The crate refuses it first.
    let f = Fixture::load("mv371_volumes_create_size_zero");
    assert_eq!(f.status, 400);
    assert!(f.response_body.contains("0 is less than the minimum of 1"));
    let (_server, any, client) = nothing_sent(MV371);
    for (opts, needle) in [
        (CreateOpts::new(0), "at least 1 GiB"),
        (CreateOpts::from_snapshot(SNAP1).size(0), "at least 1 GiB"),
        (CreateOpts::from_snapshot("nightly-2026-11-24"), "not a UUID"),
        (CreateOpts::new(1).name("n".repeat(256)), "at most 255"),
        (CreateOpts::new(1).metadata("a\"b", "x"), "metadata key"),
    ] {
        let err = volumes::create(&client, &opts).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput(m) if m.contains(needle)), "{err}");
    }
    any.assert();
}

#[test]
fn delete_and_wait_for_it() {
    replay("mv371_volumes_delete", |c| volumes::delete(c, GAMMA).unwrap());
    replay("mv371_volumes_wait_delete", |c| volumes::wait_for_delete(c, GAMMA, &fast()).unwrap());
    let err = replay("mv371_volumes_delete_missing", |c| volumes::delete(c, MISSING).unwrap_err());
    assert!(err.is_not_found());
    let err = replay("mv371_volumes_delete_with_snapshots", |c| volumes::delete(c, ALPHA).unwrap_err());
    assert!(err.is_bad_request());
    assert!(err.api().unwrap().message.contains("have snapshots"), "{err}");
}

#[test]
fn wait_for_delete_refused_and_failed() {
    let path = format!("/v3/{ADMIN_PROJECT}/volumes/{GAMMA}");
    let deleting = with_status("mv371_volumes_show", "deleting");
    for (last, kind) in [("available", WaitErrorKind::DeleteRefused), ("error_deleting", WaitErrorKind::Failed("error_deleting".into()))] {
        let mut server = Server::new();
        let _m = show_sequence(&mut server, &path, &[(200, deleting.clone()), (200, with_status("mv371_volumes_show", last))]);
        let _msgs = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str()).with_body(r#"{"messages": []}"#).create();
        let err = volumes::wait_for_delete(&admin(&server), GAMMA, &fast()).unwrap_err();
        let Error::Wait(w) = &err else { panic!("{err:?}") };
        assert_eq!(w.kind, kind);
        assert_eq!(w.resource, "volume");
        assert_eq!(w.last::<Volume>().unwrap().status.as_str(), last);
    }
}

#[test]
fn a_failed_create_ends_the_wait_with_cinders_message() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/volumes/{RESTORED}");
    let _show = show_sequence(&mut server, &path, &[(200, with_status("mv371_volumes_wait_from_snapshot", "error"))]);
    // GET /messages has no recording; the body has the fields of Cinder's api-ref.
    let messages = json!({"messages": [
        {"id": "1", "message_level": "ERROR", "user_message": "create volume from backend storage: Driver failed to create the volume.",
         "request_id": "req-1", "resource_type": "VOLUME", "resource_uuid": RESTORED, "event_id": "VOLUME_VOLUME_001_003",
         "created_at": "2026-11-28T09:20:36.000000", "guaranteed_until": "2026-12-28T09:20:36.000000"}]});
    let msgs = server
        .mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str())
        .match_query(Matcher::Exact(format!("resource_uuid={RESTORED}")))
        .with_body(messages.to_string())
        .expect(1)
        .create();
    let err = volumes::wait_for_status(&admin(&server), RESTORED, VolumeStatus::Available, &fast()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("{err:?}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
    assert_eq!(w.user_message.as_deref(), Some("create volume from backend storage: Driver failed to create the volume."));
    assert_eq!(w.last::<Volume>().unwrap().snapshot_id.as_deref(), Some(SNAP1));
    msgs.assert();
}

// ---------------------------------------------------------------- revert

#[test]
fn revert_then_wait_until_available() {
    replay("mv371_volumes_revert", |c| volumes::revert_to_snapshot(c, ALPHA, SNAP1).unwrap());
    replay("mv340_volumes_revert", |c| volumes::revert_to_snapshot(c, ALPHA, SNAP1).unwrap());
    // reverting (Cinder sets it before answering), then the recorded available.
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/volumes/{ALPHA}");
    let mocks = show_sequence(
        &mut server,
        &path,
        &[(200, with_status("mv371_volumes_wait_revert", "reverting")), (200, body_of("mv371_volumes_wait_revert"))],
    );
    let v = volumes::wait_for_revert(&admin(&server), ALPHA, &fast()).unwrap();
    assert_eq!(v.status, VolumeStatus::Available);
    mocks.iter().for_each(Mock::assert);
    // A revert the backend fails leaves the volume in error.
    let mut server = Server::new();
    let _m = show_sequence(&mut server, &path, &[(200, with_status("mv371_volumes_wait_revert", "error"))]);
    let _msgs = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str()).with_body(r#"{"messages": []}"#).create();
    let err = volumes::wait_for_revert(&admin(&server), ALPHA, &fast()).unwrap_err();
    assert!(matches!(&err, Error::Wait(w) if w.kind == WaitErrorKind::Failed("error".into())), "{err:?}");
}

#[test]
fn revert_below_3_40_is_refused_before_any_request() {
    for version in [Microversion::new(3, 39), MV30] {
        let (_server, any, client) = nothing_sent(version);
        let err = volumes::revert_to_snapshot(&client, ALPHA, SNAP1).unwrap_err();
        let Error::InvalidInput(m) = &err else { panic!("{err:?}") };
        assert!(m.contains("reverting a volume to a snapshot needs microversion 3.40") && m.contains(&format!("uses {version}")), "{m}");
        any.assert();
    }
    // What Cinder answers below 3.40 (recorded): a 404 that would read as "no such volume".
    for fixture in ["mv339_volumes_revert", "mv30_volumes_revert"] {
        let err = replay(fixture, |c| {
            c.send(Request::post(["volumes", ALPHA, "action"]).json(json!({"revert": {"snapshot_id": SNAP1}}))).unwrap_err()
        });
        assert!(err.is_not_found(), "{fixture}");
        assert_eq!(err.api().unwrap().message, "The resource could not be found.", "{fixture}");
    }
}

#[test]
fn cinders_revert_refusals_are_classified() {
    let err = replay("mv371_volumes_revert_not_latest", |c| volumes::revert_to_snapshot(c, ALPHA, SNAP1).unwrap_err());
    assert!(err.is_bad_request());
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NotLatestSnapshot));
    assert_eq!(err.api().unwrap().message, format!("Specified snapshot {SNAP1} is None or not the latest one of volume {ALPHA}."));
    let err = replay("mv371_volumes_revert_no_snapshots", |c| volumes::revert_to_snapshot(c, GAMMA, SNAP1).unwrap_err());
    assert!(err.is_bad_request());
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::NoSnapshots));
    let err = replay("mv371_volumes_revert_in_use", |c| volumes::revert_to_snapshot(c, BETA, SNAP_BETA).unwrap_err());
    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("conflictingRequest"));
    assert_eq!(volumes::revert_refusal(&err), Some(RevertRefusal::VolumeNotAvailable));
    let err = replay("mv371_volumes_revert_missing_volume", |c| volumes::revert_to_snapshot(c, MISSING, SNAP1).unwrap_err());
    assert!(err.is_not_found());
    assert_eq!(volumes::revert_refusal(&err), None);
    assert_eq!(volumes::revert_refusal(&Error::InvalidInput("x".into())), None);
}

#[test]
fn ids_in_paths_are_checked_before_any_request() {
    let (_server, any, client) = nothing_sent(MV371);
    assert!(matches!(volumes::get(&client, "a/b"), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::get(&client, ".."), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::delete(&client, ""), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::revert_to_snapshot(&client, ALPHA, "a/b"), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::revert_to_snapshot(&client, "", SNAP1), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::wait_for_status(&client, "a/b", VolumeStatus::Available, &fast()), Err(Error::InvalidInput(_))));
    any.assert();
}

// ---------------------------------------------------------------- helpers

fn fast() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(5)).max_interval(Duration::from_millis(20)).timeout(Duration::from_secs(10))
}

/// Serves the given show bodies in order, the last one for ever after.
fn show_sequence(server: &mut Server, path: &str, answers: &[(usize, String)]) -> Vec<Mock> {
    answers
        .iter()
        .enumerate()
        .map(|(i, (status, body))| {
            let m =
                server.mock("GET", path).match_header("openstack-api-version", "volume 3.71").with_status(*status).with_body(body.clone());
            if i + 1 < answers.len() { m.expect(1).create() } else { m.expect_at_least(1).create() }
        })
        .collect()
}

fn body_of(fixture: &str) -> String {
    Fixture::load(fixture).response_body
}

/// A recorded volume answer with another status.
fn with_status(fixture: &str, status: &str) -> String {
    let mut v: Value = Fixture::load(fixture).response_json();
    v["volume"]["status"] = json!(status);
    v.to_string()
}

/// A mock of one volume metadata request, answered as the local cloud's Cinder 29 answered
/// it (checked live: the merge and replace answers hold every item after the call; a
/// deleted key is 200 with an empty `text/html` body).
fn metadata_mock(server: &mut Server, method: &str, path: &str, body: Option<Value>, status: usize, answer: &str) -> Mock {
    let mut m = server
        .mock(method, path)
        .match_query(Matcher::Missing)
        .match_header("x-auth-token", TOKEN)
        .match_header("openstack-api-version", "volume 3.71");
    m = match body {
        Some(b) => m.match_header("content-type", "application/json").match_body(Matcher::Json(b)),
        None => m.match_body(Matcher::Missing),
    };
    let content_type = if method == "DELETE" && status == 200 { "text/html; charset=UTF-8" } else { "application/json" };
    m.with_status(status).with_header("Content-Type", content_type).with_body(answer).expect(1).create()
}

#[test]
fn volume_metadata_merge_replace_get_and_delete_send_exactly_cinders_requests() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/volumes/{ALPHA}/metadata");
    let merge = metadata_mock(
        &mut server,
        "POST",
        &path,
        Some(json!({"metadata": {"backup": "nightly"}})),
        200,
        r#"{"metadata": {"backup": "nightly", "a": "1"}}"#,
    );
    let replace = metadata_mock(&mut server, "PUT", &path, Some(json!({"metadata": {"x": "y"}})), 200, r#"{"metadata": {"x": "y"}}"#);
    let get = metadata_mock(&mut server, "GET", &path, None, 200, r#"{"metadata": {"x": "y"}}"#);
    let delete = metadata_mock(&mut server, "DELETE", &format!("{path}/x"), None, 200, "");
    let client = admin(&server);
    let all = volumes::merge_metadata(&client, ALPHA, &volumes::UpdateMetadataOpts::new().set("backup", "nightly")).unwrap();
    assert_eq!(all, BTreeMap::from([("a".to_owned(), "1".to_owned()), ("backup".to_owned(), "nightly".to_owned())]));
    let all = volumes::update_metadata(&client, ALPHA, &volumes::UpdateMetadataOpts::new().set("x", "y")).unwrap();
    assert_eq!(all, BTreeMap::from([("x".to_owned(), "y".to_owned())]));
    assert_eq!(volumes::get_metadata(&client, ALPHA).unwrap(), all);
    volumes::delete_metadata_key(&client, ALPHA, "x").unwrap();
    for m in [merge, replace, get, delete] {
        m.assert();
    }
}

#[test]
fn a_missing_volume_metadata_key_is_cinders_404() {
    let mut server = Server::new();
    let message = format!("Volume {ALPHA} has no metadata with key x.");
    let m = metadata_mock(
        &mut server,
        "DELETE",
        &format!("/v3/{ADMIN_PROJECT}/volumes/{ALPHA}/metadata/x"),
        None,
        404,
        &json!({"itemNotFound": {"code": 404, "message": message}}).to_string(),
    );
    let err = volumes::delete_metadata_key(&admin(&server), ALPHA, "x").unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.api().unwrap().message, message);
    m.assert();
}

#[test]
fn volume_metadata_input_is_checked_before_any_request() {
    let (_server, any, client) = nothing_sent(MV371);
    let set = |k: &str, v: &str| volumes::UpdateMetadataOpts::new().set(k, v);
    assert!(matches!(volumes::merge_metadata(&client, ALPHA, &set("a!b", "c")), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::update_metadata(&client, ALPHA, &set("a", &"v".repeat(256))), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::merge_metadata(&client, "a/b", &set("a", "b")), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::get_metadata(&client, ""), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::delete_metadata_key(&client, ALPHA, "a/b"), Err(Error::InvalidInput(_))));
    assert!(matches!(volumes::delete_metadata_key(&client, ALPHA, ""), Err(Error::InvalidInput(_))));
    any.assert();
}
