//! Every snapshot call against recorded Cinder exchanges: the exact method, path, query,
//! headers and body the crate sends, and what it makes of the answer; errors, client-side
//! validation, pagination and waiting.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cinder_snapshots::snapshots::{
    self, CreateOpts, ListOpts, Snapshot, SnapshotStatus, SortDir, SortKey, UpdateMetadataOpts, UpdateOpts, UpdateStatusOpts, WaitOpts,
};
use cinder_snapshots::{Error, Microversion, RetryPolicy, ServiceClient, WaitErrorKind};
use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{Value, json};

const ALPHA: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";
const MINIMAL: &str = "81be3ab0-82b3-4737-b1e4-c5402ec07aa1";
const VOLUME: &str = "72c062d8-37e8-4eec-812d-fd9c1bca6bb4";

fn admin(server: &Server) -> ServiceClient {
    token_client(server, ADMIN_PROJECT, MV371)
}

/// Runs `call` against the mock of one recorded exchange, asserting it was sent once.
fn replay<T>(fixture: &str, call: impl FnOnce(&ServiceClient) -> T) -> T {
    let mut server = Server::new();
    let f = Fixture::load(fixture);
    let m = f.mock(&mut server).expect(1).create();
    let project = if f.path.starts_with(&format!("/v3/{DEMO_PROJECT}")) { DEMO_PROJECT } else { ADMIN_PROJECT };
    let version = if f.request_header("openstack-api-version") == Some("volume 3.0") { MV30 } else { MV371 };
    let out = call(&token_client(&server, project, version));
    m.assert();
    out
}

fn ids(pager: snapshots::Pager) -> Vec<String> {
    pager.map(|s| s.unwrap().id).collect()
}

fn recorded_ids(fixture: &str) -> Vec<String> {
    Fixture::load(fixture).response_json()["snapshots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

// ---------------------------------------------------------------- show, list and filters

#[test]
fn get_parses_every_field() {
    let snap = replay("mv371_snapshot_show", |c| snapshots::get(c, ALPHA).unwrap());
    assert_eq!(snap.id, ALPHA);
    assert_eq!(snap.name.as_deref(), Some("mv371-snap-alpha"));
    assert_eq!(snap.description.as_deref(), Some("alpha snapshot"));
    assert_eq!(snap.volume_id, VOLUME);
    assert_eq!(snap.status, SnapshotStatus::Available);
    assert_eq!(snap.size, 1);
    assert_eq!(snap.metadata, BTreeMap::from([("purpose".into(), "fixture".into()), ("tier".into(), "gold".into())]));
    // Cinder's zone-less timestamps are UTC.
    let recorded = Fixture::load("mv371_snapshot_show").response_json();
    let utc = |field: &str| {
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
        time::PrimitiveDateTime::parse(recorded["snapshot"][field].as_str().unwrap(), format).unwrap().assume_utc()
    };
    assert_eq!(snap.created_at, Some(utc("created_at")));
    assert_eq!(snap.updated_at, Some(utc("updated_at")));
    assert_eq!(snap.group_snapshot_id, None);
    assert_eq!(snap.user_id.as_deref(), Some("ad71fabb90db4b989106b05a3ee46ab6"));
    assert_eq!(snap.consumes_quota, Some(true));
    assert_eq!(snap.project_id.as_deref(), Some(ADMIN_PROJECT));
    assert_eq!(snap.progress.as_deref(), Some("100%"));
    assert_eq!(snap.progress_percent(), Some(100));
    let request_id = Fixture::load("mv371_snapshot_show").response_header("x-openstack-request-id").map(str::to_owned);
    assert!(request_id.is_some());
    assert_eq!(snap.request_id, request_id, "the call's request id is kept");
}

#[test]
fn a_snapshot_serialises_to_cinders_shape_and_back() {
    let snap = replay("mv371_snapshot_show", |c| snapshots::get(c, ALPHA).unwrap());
    let json = serde_json::to_value(&snap).unwrap();
    let recorded = Fixture::load("mv371_snapshot_show").response_json()["snapshot"].clone();
    for key in ["id", "name", "description", "volume_id", "status", "size", "metadata", "os-extended-snapshot-attributes:progress"] {
        assert_eq!(json[key], recorded[key], "{key}");
    }
    let created = recorded["created_at"].as_str().unwrap();
    assert_eq!(json["created_at"], serde_json::json!(format!("{created}Z")), "RFC 3339 in UTC");
    assert!(json.get("request_id").is_none(), "not serialised");
    let back: Snapshot = serde_json::from_value(json).unwrap();
    let mut without_id = snap.clone();
    without_id.request_id = None;
    assert_eq!(back, without_id);
}

#[test]
fn list_and_list_detail() {
    let summary = replay("mv371_list_summary", |c| snapshots::list(c, &ListOpts::new()).unwrap().all().unwrap());
    assert_eq!(summary.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), recorded_ids("mv371_list_summary"));
    assert!(summary.iter().all(|s| s.user_id.is_none() && s.progress.is_none()), "the summary view has the base fields only");
    let detail = replay("mv371_list_detail", |c| snapshots::list_detail(c, &ListOpts::new()).unwrap().all().unwrap());
    assert_eq!(detail.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), recorded_ids("mv371_list_detail"));
    assert!(detail.iter().all(|s| s.user_id.is_some() && s.progress.is_some() && s.consumes_quota == Some(true)));
}

#[test]
fn each_filter_is_sent_as_recorded() {
    let cases: Vec<(&str, ListOpts, bool)> = vec![
        ("mv371_list_filter_name", ListOpts::new().name("mv371-snap-alpha"), false),
        ("mv371_list_filter_status", ListOpts::new().status(SnapshotStatus::Available), false),
        ("mv371_list_filter_volume_id", ListOpts::new().volume_id("b5f67fa4-130e-42b2-81f2-0713fe8d825e"), false),
        ("mv371_list_filter_name_like", ListOpts::new().name_like("snap-a"), false),
        ("mv371_list_filter_consumes_quota", ListOpts::new().consumes_quota(true), false),
        ("mv371_detail_all_tenants", ListOpts::new().all_projects(true), true),
        ("mv371_detail_all_tenants_project_id", ListOpts::new().all_projects(true).project_id(DEMO_PROJECT), true),
        ("mv371_list_marker", ListOpts::new().marker("aaebd564-12d4-4b04-b345-84a9284c76f5"), false),
        ("mv371_list_offset1", ListOpts::new().offset(1), false),
        ("mv30_list_sort_key_dir_legacy", ListOpts::new().sort_key(SortKey::CreatedAt).sort_dir(SortDir::Asc), false),
    ];
    for (fixture, opts, detail) in cases {
        let got = replay(fixture, |c| ids(if detail { snapshots::list_detail(c, &opts) } else { snapshots::list(c, &opts) }.unwrap()));
        assert_eq!(got, recorded_ids(fixture), "{fixture}");
    }
}

#[test]
fn the_metadata_filter_is_sent_as_json() {
    // Recorded with a Python literal ({'tier':'gold'}); Cinder reads it with
    // ast.literal_eval, which takes the crate's JSON form the same way (the live suite checks
    // it against the real server). The answer is the recorded one.
    let mut server = Server::new();
    let f = Fixture::load("mv371_list_filter_metadata");
    let m = server
        .mock("GET", f.path.as_str())
        .match_query(Matcher::Exact("metadata=%7B%22tier%22%3A%22gold%22%7D".into()))
        .match_header("x-auth-token", TOKEN)
        .match_header("openstack-api-version", "volume 3.71");
    let m = f.respond(&server, m).expect(1).create();
    let opts = ListOpts::new().metadata("tier", "gold");
    assert_eq!(ids(snapshots::list(&admin(&server), &opts).unwrap()), recorded_ids("mv371_list_filter_metadata"));
    m.assert();
}

#[test]
fn with_count_gives_the_total_on_every_page_and_ends_at_it() {
    let mut server = Server::new();
    let first = Fixture::load("mv371_detail_with_count_limit2").mock(&mut server).expect(1).create();
    // Page 2 of that listing was not recorded with with_count: its request is the recorded
    // link's query, its answer the recorded page 2 of the same listing plus the count the
    // server puts on every page (local-cloud.md: "with_count=true puts count on every page").
    let page2 = Fixture::load("mv371_detail_limit2_page2");
    let mut body = page2.response_json();
    body["count"] = json!(4);
    body["snapshots_links"][0]["href"] =
        json!(body["snapshots_links"][0]["href"].as_str().unwrap().replace("detail?limit=2", "detail?with_count=true&limit=2"));
    let second = server
        .mock("GET", page2.path.as_str())
        .match_query(Matcher::Exact("with_count=true&limit=2&marker=aaebd564-12d4-4b04-b345-84a9284c76f5".into()))
        .with_body(rewrite_hosts(&body.to_string(), &server.url()))
        .expect(1)
        .create();
    // Page 2 is full and links on (4 is an exact multiple of 2), but the 4 counted snapshots
    // have come: the empty page 3 is not asked for.
    let third = server
        .mock("GET", page2.path.as_str())
        .match_query(Matcher::Exact(format!("with_count=true&limit=2&marker={ALPHA}")))
        .with_body(r#"{"snapshots": [], "count": 4}"#)
        .expect(0)
        .create();
    let opts = ListOpts::new().with_count(true).limit(2);
    let pages: Vec<_> = snapshots::list_detail(&admin(&server), &opts).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| (p.items.len(), p.count)).collect::<Vec<_>>(), vec![(2, Some(4)), (2, Some(4))]);
    for m in [first, second, third] {
        m.assert();
    }
}

#[test]
fn sorting_by_name_follows_every_page() {
    let mut server = Server::new();
    let pages: Vec<Mock> =
        (1..=3).map(|i| Fixture::load(&format!("mv371_list_limit2_sort_name_asc_page{i}")).mock(&mut server).expect(1).create()).collect();
    let opts = ListOpts::new().sort(SortKey::Name, SortDir::Asc).limit(2);
    let got = ids(snapshots::list(&admin(&server), &opts).unwrap());
    let want: Vec<String> = (1..=3).flat_map(|i| recorded_ids(&format!("mv371_list_limit2_sort_name_asc_page{i}"))).collect();
    assert_eq!(got, want);
    pages.iter().for_each(Mock::assert);
}

// ---------------------------------------------------------------- create, update, delete, actions

#[test]
fn create_with_everything() {
    let opts = CreateOpts::new(VOLUME)
        .name("mv371-snap-alpha")
        .description("alpha snapshot")
        .force(true)
        .metadata("purpose", "fixture")
        .metadata("tier", "gold");
    let snap = replay("mv371_snapshot_create_force_metadata", |c| snapshots::create(c, &opts).unwrap());
    assert_eq!((snap.id.as_str(), snap.status.clone()), (ALPHA, SnapshotStatus::Creating));
    assert_eq!(snap.updated_at, None);
    assert_eq!(snap.metadata.len(), 2);
}

#[test]
fn create_minimal_at_both_versions() {
    let snap = replay("mv371_snapshot_create_minimal", |c| snapshots::create(c, &CreateOpts::new(VOLUME)).unwrap());
    assert_eq!((snap.id.as_str(), snap.name.clone(), snap.consumes_quota), (MINIMAL, None, Some(true)));
    let snap =
        replay("mv30_snapshot_create_minimal", |c| snapshots::create(c, &CreateOpts::new("85f5cf74-f647-4680-9786-88aad2e3b369")).unwrap());
    assert_eq!((snap.status, snap.user_id, snap.consumes_quota), (SnapshotStatus::Creating, None, None));
}

#[test]
fn update_sets_and_clears() {
    let snap = replay("mv371_snapshot_update_name_description", |c| {
        snapshots::update(c, ALPHA, &UpdateOpts::new().name("mv371-snap-alpha-renamed").description("renamed")).unwrap()
    });
    assert_eq!((snap.name.as_deref(), snap.description.as_deref()), (Some("mv371-snap-alpha-renamed"), Some("renamed")));
    let snap = replay("mv371_snapshot_update_name_null", |c| {
        snapshots::update(c, "aaebd564-12d4-4b04-b345-84a9284c76f5", &UpdateOpts::new().clear_name()).unwrap()
    });
    assert_eq!(snap.name, None);
}

#[test]
fn delete_and_the_actions() {
    replay("mv371_snapshot_delete", |c| snapshots::delete(c, "aaebd564-12d4-4b04-b345-84a9284c76f5").unwrap());
    replay("mv371_action_force_delete", |c| snapshots::force_delete(c, MINIMAL).unwrap());
    replay("mv371_action_reset_status_to_error", |c| snapshots::reset_status(c, MINIMAL, SnapshotStatus::Error).unwrap());
    replay("mv371_action_update_status_creating_progress50", |c| {
        snapshots::update_status(c, MINIMAL, &UpdateStatusOpts::new(SnapshotStatus::Creating).progress("50%")).unwrap()
    });
}

#[test]
fn metadata_calls() {
    let all = replay("mv371_metadata_list", |c| snapshots::get_metadata(c, ALPHA).unwrap());
    assert_eq!(all, BTreeMap::from([("purpose".into(), "fixture".into()), ("tier".into(), "gold".into())]));
    let merged = replay("mv371_metadata_create_merge", |c| {
        snapshots::merge_metadata(c, ALPHA, &UpdateMetadataOpts::new().set("env", "test").set("owner", "rust")).unwrap()
    });
    assert_eq!(merged.keys().cloned().collect::<Vec<_>>(), ["env", "owner", "purpose", "tier"], "the merge keeps the old keys");
    let replaced = replay("mv371_metadata_replace_all", |c| {
        snapshots::update_metadata(c, ALPHA, &UpdateMetadataOpts::new().set("only", "this").set("second", "2")).unwrap()
    });
    assert_eq!(replaced, BTreeMap::from([("only".into(), "this".into()), ("second".into(), "2".into())]));
    assert_eq!(replay("mv371_metadata_show_key", |c| snapshots::get_metadata_key(c, ALPHA, "only").unwrap()), "this");
    assert_eq!(replay("mv371_metadata_update_key", |c| snapshots::set_metadata_key(c, ALPHA, "only", "changed").unwrap()), "changed");
    replay("mv371_metadata_delete_key", |c| snapshots::delete_metadata_key(c, ALPHA, "only").unwrap());
}

#[test]
fn find_by_name_one_none_several() {
    // find_by_name lists the detail view by name; the answers are the recorded name filter's.
    let f = Fixture::load("mv371_list_filter_name");
    let run = |body: String, name: &str| {
        let mut server = Server::new();
        let m = server
            .mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/detail").as_str())
            .match_query(Matcher::Exact(format!("name={}", encode(name))))
            .match_header("openstack-api-version", "volume 3.71")
            .with_body(body)
            .expect(1)
            .create();
        let out = snapshots::find_by_name(&admin(&server), name);
        m.assert();
        out
    };
    assert_eq!(run(f.response_body.clone(), "mv371-snap-alpha").unwrap().id, ALPHA);
    let err = run(r#"{"snapshots": []}"#.into(), "mv371-snap-alpha").unwrap_err();
    assert!(matches!(err, Error::NoMatch(_)) && err.is_not_found(), "{err}");
    let mut twice = f.response_json();
    let mut copy = twice["snapshots"][0].clone();
    copy["id"] = json!("0b0b0b0b-0000-4000-8000-000000000000");
    twice["snapshots"].as_array_mut().unwrap().push(copy);
    match run(twice.to_string(), "mv371-snap-alpha").unwrap_err() {
        Error::MultipleMatches { name, ids, .. } => {
            assert_eq!(name, "mv371-snap-alpha");
            assert_eq!(ids, [ALPHA, "0b0b0b0b-0000-4000-8000-000000000000"]);
        }
        other => panic!("{other}"),
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn recorded_errors_are_typed() {
    let err = replay("mv371_metadata_show_missing_key", |c| snapshots::get_metadata_key(c, ALPHA, "nope").unwrap_err());
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message, format!("Snapshot {ALPHA} has no metadata with key nope."));
    let err = replay("mv371_snapshot_delete_while_creating", |c| snapshots::delete(c, "352f0bfe-e32b-43f5-a4ab-cc51fcb64f6b").unwrap_err());
    assert!(err.is_bad_request());
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("badRequest"));
    let err = replay("mv371_action_update_status_from_available", |c| {
        snapshots::update_status(c, MINIMAL, &UpdateStatusOpts::new(SnapshotStatus::Error)).unwrap_err()
    });
    assert!(err.is_bad_request(), "{err}");
    let err = replay("mv30_snapshot_create_volume_in_use_no_force", |c| {
        snapshots::create(c, &CreateOpts::new("85f5cf74-f647-4680-9786-88aad2e3b369").name("mv30-inuse")).unwrap_err()
    });
    assert!(err.api().unwrap().message.contains("status must be available, but current status is: in-use"));
    let err = replay("mv371_demo_action_force_delete_forbidden", |c| {
        snapshots::force_delete(c, "2ae038e8-ff5a-42af-bba3-62ea17b51400").unwrap_err()
    });
    assert!(err.is_forbidden());
    assert!(err.request_id().is_some());
}

#[test]
fn ids_are_one_encoded_segment() {
    let err = replay("mv371_snapshot_show_id_space_encoded", |c| snapshots::get(c, "a b").unwrap_err());
    assert!(err.is_not_found());
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let mut server = Server::new();
    let nothing: Vec<Mock> = ["GET", "POST", "PUT", "DELETE"].iter().map(|m| server.mock(m, Matcher::Any).expect(0).create()).collect();
    let c = admin(&server);
    let c30 = token_client(&server, ADMIN_PROJECT, MV30);
    let invalid = |r: Result<(), Error>, says: &str| match r {
        Err(Error::InvalidInput(m)) => assert!(m.contains(says), "{m} lacks {says}"),
        other => panic!("expected InvalidInput({says}), got {other:?}"),
    };
    invalid(snapshots::get(&c, "").map(drop), "empty");
    invalid(snapshots::get(&c, "a/b").map(drop), "slash");
    invalid(snapshots::delete(&c, ".."), "path segment");
    invalid(snapshots::get_metadata_key(&c, ALPHA, "a/b").map(drop), "a/b");
    invalid(snapshots::set_metadata_key(&c, ALPHA, &"k".repeat(256), "v").map(drop), "255");
    invalid(snapshots::set_metadata_key(&c, ALPHA, "k", &"v".repeat(256)).map(drop), "255");
    invalid(snapshots::merge_metadata(&c, ALPHA, &UpdateMetadataOpts::new().set("a/b", "v")).map(drop), "a/b");
    invalid(snapshots::create(&c, &CreateOpts::new(VOLUME).name("n".repeat(256))).map(drop), "256 characters");
    invalid(snapshots::create(&c, &CreateOpts::new(VOLUME).description("two\nlines")).map(drop), "unprintable");
    invalid(snapshots::update(&c, ALPHA, &UpdateOpts::new()).map(drop), "needs a name or a description");
    invalid(snapshots::update_status(&c, ALPHA, &UpdateStatusOpts::new(SnapshotStatus::Creating).progress("101%")), "101%");
    invalid(snapshots::reset_status(&c, ALPHA, SnapshotStatus::Other("frozen".into())), "frozen");
    let both = ListOpts::new().sort(SortKey::CreatedAt, SortDir::Asc).sort_key(SortKey::Id);
    invalid(snapshots::list(&c, &both).map(drop), "cannot be combined");
    for (opts, version) in [
        (ListOpts::new().metadata("tier", "gold"), "3.22"),
        (ListOpts::new().sort(SortKey::Name, SortDir::Asc), "3.30"),
        (ListOpts::new().name_like("snap-a"), "3.34"),
        (ListOpts::new().with_count(true), "3.45"),
        (ListOpts::new().consumes_quota(true), "3.65"),
    ] {
        invalid(snapshots::list_detail(&c30, &opts).map(drop), &format!("needs microversion {version}"));
    }
    nothing.iter().for_each(Mock::assert);
}

// ---------------------------------------------------------------- pagination

fn follow(fixtures: &[&str], client: impl FnOnce(&Server) -> ServiceClient, opts: ListOpts, detail: bool) {
    let mut server = Server::new();
    let mocks: Vec<Mock> = fixtures.iter().map(|f| Fixture::load(f).mock(&mut server).expect(1).create()).collect();
    let c = client(&server);
    let got = ids(if detail { snapshots::list_detail(&c, &opts) } else { snapshots::list(&c, &opts) }.unwrap());
    let want: Vec<String> = fixtures.iter().flat_map(|f| recorded_ids(f)).collect();
    assert_eq!(got, want, "each snapshot once, in order");
    mocks.iter().for_each(Mock::assert);
}

#[test]
fn pages_are_followed_to_the_empty_page_of_an_exact_multiple() {
    let limit2 = || ListOpts::new().limit(2);
    follow(&["mv371_detail_limit2_page1", "mv371_detail_limit2_page2", "mv371_detail_limit2_page3"], admin, limit2(), true);
    follow(&["mv371_list_limit2_page1", "mv371_list_limit2_page2", "mv371_list_limit2_page3"], admin, limit2(), false);
    follow(
        &["mv30_list_limit2_page1", "mv30_list_limit2_page2", "mv30_list_limit2_page3"],
        |s| token_client(s, ADMIN_PROJECT, MV30),
        limit2(),
        false,
    );
    // A project-less endpoint gets project-less links.
    follow(
        &["mv371_projectless_detail_limit2_page1", "mv371_projectless_detail_limit2_page2", "mv371_projectless_detail_limit2_page3"],
        |s| {
            ServiceClient::with_token(&format!("{}/v3", s.url()), TOKEN)
                .unwrap()
                .microversion(cinder_snapshots::MicroversionPolicy::Pinned(MV371))
                .build()
                .unwrap()
        },
        limit2(),
        true,
    );
}

#[test]
fn a_short_page_ends_the_listing() {
    // 3 per page, 2 on the second: no third request.
    let opts = ListOpts::new().limit(3).status(SnapshotStatus::Available).sort(SortKey::CreatedAt, SortDir::Asc);
    follow(
        &["mv371_detail_limit3_status_available_sort_created_asc_page1", "mv371_detail_limit3_status_available_sort_created_asc_page2"],
        admin,
        opts,
        true,
    );
}

#[test]
fn a_page_capped_below_the_limit_is_followed_by_its_link() {
    // Cinder caps each page at osapi_max_limit whatever the limit and links to the rest. The
    // recorded limit-2 listing stands for a server capped at 2 asked for limit=5: each
    // recorded page answers the limit-5 request, its link carrying limit=5 as Cinder's would.
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots");
    let pages = [
        ("limit=5".to_owned(), "mv371_list_limit2_page1"),
        ("limit=5&marker=aaebd564-12d4-4b04-b345-84a9284c76f5".to_owned(), "mv371_list_limit2_page2"),
        (format!("limit=5&marker={ALPHA}"), "mv371_list_limit2_page3"),
    ];
    let mocks: Vec<Mock> = pages
        .iter()
        .map(|(query, fixture)| {
            let body = Fixture::load(fixture).response_body.replace("snapshots?limit=2&", "snapshots?limit=5&");
            server
                .mock("GET", path.as_str())
                .match_query(Matcher::Exact(query.clone()))
                .with_header("content-type", "application/json")
                .with_body(rewrite_hosts(&body, &server.url()))
                .expect(1)
                .create()
        })
        .collect();
    let got = ids(snapshots::list(&admin(&server), &ListOpts::new().limit(5)).unwrap());
    let want: Vec<String> = pages.iter().flat_map(|(_, f)| recorded_ids(f)).collect();
    assert_eq!(want.len(), 4);
    assert_eq!(got, want, "both capped pages, each snapshot once");
    mocks.iter().for_each(Mock::assert);
}

#[test]
fn offset_is_dropped_after_the_first_page() {
    // Cinder copies offset into every next link; the recorded pages 2 and 3 were fetched WITH
    // it (and skipped items). The crate sends the link's query without offset: the requests
    // are matched explicitly and answered with the recorded bodies of the same listing.
    let mut server = Server::new();
    let first = Fixture::load("mv371_list_limit1_offset1_page1").mock(&mut server).expect(1).create();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots");
    let second_body = Fixture::load("mv371_list_limit1_offset1_page2").response_body;
    let second = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact("limit=1&marker=aaebd564-12d4-4b04-b345-84a9284c76f5".into()))
        .with_body(rewrite_hosts(&second_body, &server.url()))
        .expect(1)
        .create();
    let third = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact(format!("limit=1&marker={ALPHA}")))
        .with_body(Fixture::load("mv371_list_limit1_offset1_page3").response_body)
        .expect(1)
        .create();
    let got = ids(snapshots::list(&admin(&server), &ListOpts::new().limit(1).offset(1)).unwrap());
    assert_eq!(got, ["aaebd564-12d4-4b04-b345-84a9284c76f5", ALPHA]);
    for m in [first, second, third] {
        m.assert();
    }
}

#[test]
fn a_link_to_another_host_is_not_followed() {
    // The recorded page 1 with its next link moved to another scheme, host, port and path.
    let mut server = Server::new();
    let p1 = Fixture::load("mv371_list_limit2_page1");
    let mut body = p1.response_json();
    let href = body["snapshots_links"][0]["href"].as_str().unwrap().to_owned();
    body["snapshots_links"][0]["href"] =
        json!(href.replace(&format!("http://127.0.0.1:8776/v3/{ADMIN_PROJECT}"), "https://evil.example:9/elsewhere"));
    let m = server.mock("GET", p1.path.as_str()).match_query(Matcher::Exact("limit=2".into()));
    let first = p1.respond(&server, m).with_body(body.to_string()).expect(1).create();
    let rest: Vec<Mock> = ["mv371_list_limit2_page2", "mv371_list_limit2_page3"]
        .iter()
        .map(|f| Fixture::load(f).mock(&mut server).expect(1).create())
        .collect();
    let got = ids(snapshots::list(&admin(&server), &ListOpts::new().limit(2)).unwrap());
    assert_eq!(got.len(), 4);
    first.assert();
    rest.iter().for_each(Mock::assert);
}

#[test]
fn a_repeated_marker_is_an_error_not_a_loop() {
    // The recorded page 2 answering with a link that repeats the marker it was asked with.
    let mut server = Server::new();
    let first = Fixture::load("mv371_list_limit2_page1").mock(&mut server).expect(1).create();
    let p2 = Fixture::load("mv371_list_limit2_page2");
    let body = p2.response_body.replace(&format!("marker={ALPHA}"), "marker=aaebd564-12d4-4b04-b345-84a9284c76f5");
    let m = p2.mock(&mut server);
    let second = m.with_body(rewrite_hosts(&body, &server.url())).expect(1).create();
    let mut pager = snapshots::list(&admin(&server), &ListOpts::new().limit(2)).unwrap();
    let seen: Vec<_> = pager.by_ref().take(5).map(|r| r.map(|s| s.id)).collect();
    assert!(seen[..4].iter().all(Result::is_ok), "the snapshots of both pages come first");
    assert!(matches!(&seen[4], Err(Error::InvalidResponse { message, .. }) if message.contains("repeats the marker")), "{:?}", seen[4]);
    assert!(pager.next().is_none(), "the listing ends after the error");
    first.assert();
    second.assert();
}

#[test]
fn the_pager_is_lazy() {
    let mut server = Server::new();
    let p1 = Fixture::load("mv371_list_limit2_page1").mock(&mut server).expect(1).create();
    let p2 = Fixture::load("mv371_list_limit2_page2").mock(&mut server).expect(1).create();
    let p3 = Fixture::load("mv371_list_limit2_page3").mock(&mut server).expect(0).create();
    let mut pager = snapshots::list(&admin(&server), &ListOpts::new().limit(2)).unwrap();
    assert!(!p1.matched(), "nothing is fetched before iterating");
    pager.next().unwrap().unwrap();
    pager.next().unwrap().unwrap();
    assert!(p1.matched() && !p2.matched());
    pager.next().unwrap().unwrap();
    assert!(p2.matched());
    drop(pager);
    p3.assert();
}

// ---------------------------------------------------------------- waiting

fn fast() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(5)).max_interval(Duration::from_millis(20))
}

/// Serves the given recorded show bodies in order, the last one for ever after.
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

fn with_status(fixture: &str, status: &str) -> String {
    let mut v: Value = Fixture::load(fixture).response_json();
    v["snapshot"]["status"] = json!(status);
    v.to_string()
}

#[test]
fn waits_from_creating_to_available_seeing_every_state() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{ALPHA}");
    let creating = body_of("mv371_snapshot_show_immediately_after_create");
    let mocks =
        show_sequence(&mut server, &path, &[(200, creating.clone()), (200, creating), (200, body_of("mv371_snapshot_show_available"))]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let opts = fast().on_progress(move |s| log.lock().unwrap().push(s.status.clone()));
    let snap = snapshots::wait_for_status(&admin(&server), ALPHA, SnapshotStatus::Available, &opts).unwrap();
    assert_eq!(snap.status, SnapshotStatus::Available);
    assert_eq!(*seen.lock().unwrap(), [SnapshotStatus::Creating, SnapshotStatus::Creating, SnapshotStatus::Available]);
    mocks.iter().for_each(Mock::assert);
}

#[test]
fn a_failure_status_ends_the_wait_with_cinders_message() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{MINIMAL}");
    let _show = show_sequence(&mut server, &path, &[(200, body_of("mv371_snapshot_show_error"))]);
    // GET /messages has no recording; the body has the fields of Cinder's api-ref for
    // "List messages" (id, message_level, user_message, request_id, resource_type,
    // resource_uuid, event_id, created_at, guaranteed_until).
    let messages = json!({"messages": [
        {"id": "1", "message_level": "ERROR", "user_message": "create snapshot: an older failure", "request_id": "req-1",
         "resource_type": "SNAPSHOT", "resource_uuid": MINIMAL, "event_id": "VOLUME_SNAPSHOT_001_001",
         "created_at": "2026-11-23T16:40:00.000000", "guaranteed_until": "2026-12-23T16:40:00.000000"},
        {"id": "2", "message_level": "ERROR", "user_message": "create snapshot: Snapshot failed to create.", "request_id": "req-2",
         "resource_type": "SNAPSHOT", "resource_uuid": MINIMAL, "event_id": "VOLUME_SNAPSHOT_002_002",
         "created_at": "2026-11-23T16:42:52.000000", "guaranteed_until": "2026-12-23T16:42:52.000000"}]});
    let msgs = server
        .mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str())
        .match_query(Matcher::Exact(format!("resource_uuid={MINIMAL}")))
        .match_header("openstack-api-version", "volume 3.71")
        .with_body(messages.to_string())
        .expect(1)
        .create();
    let err = snapshots::wait_for_status(&admin(&server), MINIMAL, SnapshotStatus::Available, &fast()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("{err:?}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
    assert_eq!(w.user_message.as_deref(), Some("create snapshot: Snapshot failed to create."));
    assert_eq!(w.last::<Snapshot>().unwrap().status, SnapshotStatus::Error);
    assert!(err.to_string().contains("went to error while waiting for available") && err.to_string().contains("Snapshot failed to create"));
    msgs.assert();
}

#[test]
fn no_messages_call_below_3_3() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{MINIMAL}");
    let _show = server.mock("GET", path.as_str()).with_body(body_of("mv371_snapshot_show_error")).create();
    let msgs = server.mock("GET", Matcher::Regex("messages".into())).expect(0).create();
    let err =
        snapshots::wait_for_status(&token_client(&server, ADMIN_PROJECT, MV30), MINIMAL, SnapshotStatus::Available, &fast()).unwrap_err();
    assert!(matches!(&err, Error::Wait(w) if w.user_message.is_none()));
    msgs.assert();
}

#[test]
fn timeout_carries_the_last_state() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{ALPHA}");
    let _m = show_sequence(&mut server, &path, &[(200, body_of("mv371_snapshot_show_immediately_after_create"))]);
    let start = Instant::now();
    let err = snapshots::wait_for_status(&admin(&server), ALPHA, SnapshotStatus::Available, &fast().timeout(Duration::from_millis(120)))
        .unwrap_err();
    let took = start.elapsed();
    let Error::Wait(w) = &err else { panic!("{err:?}") };
    assert_eq!(w.kind, WaitErrorKind::TimedOut);
    assert_eq!(w.last::<Snapshot>().unwrap().status, SnapshotStatus::Creating);
    assert!(w.elapsed >= Duration::from_millis(120) && took < Duration::from_millis(1500), "{took:?}");
    assert!(err.to_string().contains("last status: creating"), "{err}");
}

#[test]
fn cancel_returns_at_once_with_the_current_state() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{ALPHA}");
    let _m = show_sequence(&mut server, &path, &[(200, body_of("mv371_snapshot_show_immediately_after_create"))]);
    let flag = Arc::new(AtomicBool::new(false));
    let setter = flag.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(60));
        setter.store(true, Ordering::Relaxed);
    });
    let start = Instant::now();
    let opts = WaitOpts::new().initial_interval(Duration::from_secs(5)).cancel_flag(flag);
    let err = snapshots::wait_for_status(&admin(&server), ALPHA, SnapshotStatus::Available, &opts).unwrap_err();
    t.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(1), "cancelled during a 5 s interval");
    let Error::Wait(w) = &err else { panic!("{err:?}") };
    assert_eq!(w.kind, WaitErrorKind::Cancelled);
    assert_eq!(w.last::<Snapshot>().unwrap().status, SnapshotStatus::Creating);
}

#[test]
fn a_404_while_waiting_for_a_status_is_vanished() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/aaebd564-12d4-4b04-b345-84a9284c76f5");
    let _m = show_sequence(
        &mut server,
        &path,
        &[(200, body_of("mv371_snapshot_show_right_after_delete")), (404, body_of("mv371_snapshot_show_after_delete"))],
    );
    let err = snapshots::wait_for_status(&admin(&server), "aaebd564-12d4-4b04-b345-84a9284c76f5", SnapshotStatus::Available, &fast())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Wait(w) if w.kind == WaitErrorKind::Vanished && w.last::<Snapshot>().is_some_and(|s| s.status == SnapshotStatus::Deleting)),
        "{err:?}"
    );
}

#[test]
fn transient_errors_are_tolerated_up_to_the_limit() {
    // 503s (no recording: Cinder's own fault shape for 503, serviceUnavailable) between
    // recorded answers. Client retries are off here so that only the wait's tolerance counts.
    let no_retry = |server: &Server| {
        ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
            .unwrap()
            .microversion(cinder_snapshots::MicroversionPolicy::Pinned(MV371))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let unavailable = r#"{"serviceUnavailable": {"code": 503, "message": "try later"}}"#.to_owned();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{ALPHA}");
    let mut server = Server::new();
    let mocks = show_sequence(
        &mut server,
        &path,
        &[(503, unavailable.clone()), (503, unavailable.clone()), (200, body_of("mv371_snapshot_show_available"))],
    );
    snapshots::wait_for_status(&no_retry(&server), ALPHA, SnapshotStatus::Available, &fast()).unwrap();
    mocks.iter().for_each(Mock::assert);

    // Always 503: the first try and two tolerated ones, then the error.
    let mut server = Server::new();
    let always = server.mock("GET", path.as_str()).with_status(503).with_body(unavailable).expect(3).create();
    let err =
        snapshots::wait_for_status(&no_retry(&server), ALPHA, SnapshotStatus::Available, &fast().max_transient_errors(2)).unwrap_err();
    assert_eq!(err.status(), Some(503));
    always.assert();
}

#[test]
fn wait_for_delete_outcomes() {
    let id = "aaebd564-12d4-4b04-b345-84a9284c76f5";
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{id}");
    // deleting, then the recorded 404: done.
    let mut server = Server::new();
    let mocks = show_sequence(
        &mut server,
        &path,
        &[(200, body_of("mv371_snapshot_show_right_after_delete")), (404, body_of("mv371_snapshot_show_after_delete"))],
    );
    snapshots::wait_for_delete(&admin(&server), id, &fast()).unwrap();
    mocks.iter().for_each(Mock::assert);
    // deleting, then error_deleting (the recorded body with that status): fails at once.
    let mut server = Server::new();
    let _m = show_sequence(
        &mut server,
        &path,
        &[
            (200, body_of("mv371_snapshot_show_right_after_delete")),
            (200, with_status("mv371_snapshot_show_right_after_delete", "error_deleting")),
        ],
    );
    let _msgs = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str()).with_body(r#"{"messages": []}"#).create();
    let err = snapshots::wait_for_delete(&admin(&server), id, &fast()).unwrap_err();
    assert!(matches!(&err, Error::Wait(w) if w.kind == WaitErrorKind::Failed("error_deleting".into())), "{err:?}");
    // deleting, then available again: the delete was refused.
    let mut server = Server::new();
    let _m = show_sequence(
        &mut server,
        &path,
        &[
            (200, body_of("mv371_snapshot_show_right_after_delete")),
            (200, with_status("mv371_snapshot_show_right_after_delete", "available")),
        ],
    );
    let _msgs = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str()).with_body(r#"{"messages": []}"#).create();
    let err = snapshots::wait_for_delete(&admin(&server), id, &fast()).unwrap_err();
    assert!(matches!(&err, Error::Wait(w) if w.kind == WaitErrorKind::DeleteRefused), "{err:?}");
    assert!(err.to_string().contains("went back to available"));
}

#[test]
fn client_wide_poll_defaults() {
    let mut server = Server::new();
    let path = format!("/v3/{ADMIN_PROJECT}/snapshots/{ALPHA}");
    let _m = show_sequence(&mut server, &path, &[(200, body_of("mv371_snapshot_show_immediately_after_create"))]);
    let client = ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
        .unwrap()
        .microversion(cinder_snapshots::MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .poll_policy(cinder_snapshots::PollPolicy::new().timeout(Duration::from_millis(50)).initial_interval(Duration::from_millis(5)))
        .build()
        .unwrap();
    let err = snapshots::wait_for_status(&client, ALPHA, SnapshotStatus::Available, &WaitOpts::new()).unwrap_err();
    assert!(matches!(&err, Error::Wait(w) if w.kind == WaitErrorKind::TimedOut && w.elapsed < Duration::from_millis(1500)), "{err:?}");
}
