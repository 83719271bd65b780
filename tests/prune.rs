//! `job::prune` against mocked Cinder: the exact requests (listing pages with the
//! metadata filter, deletes, waits), what a listing error, a failed delete and a dry run do,
//! and that snapshots made by hand and the newest snapshot are never deleted.
//!
//! The listing bodies have the shape of the recorded detail listing
//! (`fixtures/mv371_detail_limit2_page1.json`: a real Cinder 29 answer at 3.71) with the
//! values changed for each scenario (ids, volume, status, `created_at`, metadata, the next
//! link). The deletes answer the recorded `mv371_snapshot_delete` (202) or
//! `mv371_snapshot_delete_while_creating` (400), and the waits the recorded
//! `mv371_snapshot_show_after_delete` (404) or the recorded show body with its status changed.
//!
//! Every server here refuses (and counts) any request no mock expects, so that "exactly
//! these requests" is checked, not only "at least these".

mod common;

use std::time::Duration;

use cinder_snapshots::WaitErrorKind;
use cinder_snapshots::job::{self, PruneCounts, PruneOpts, PruneReport};
use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::WaitOpts;
use cinder_snapshots::{Error, ServiceClient};
use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const POLICY: &str = "nightly";
/// The volume of most recordings.
const VOL_A: &str = "72c062d8-37e8-4eec-812d-fd9c1bca6bb4";
/// The other recorded volume.
const VOL_B: &str = "b5f67fa4-130e-42b2-81f2-0713fe8d825e";
/// The plans' `now`: after every snapshot below.
const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

fn sid(n: u32) -> String {
    format!("5e0c1a2b-0000-4000-8000-{n:012}")
}

fn policy(keep_last: u32) -> Policy {
    Policy::builder(POLICY).keep_last(keep_last).build().unwrap()
}

/// The labels a run of the policy writes.
fn owned() -> Value {
    json!(retention::labels(&policy(1), datetime!(2026-11-20 02:00 UTC)))
}

/// A snapshot object of the recorded detail listing, with these values changed.
fn snapshot(id: &str, volume: &str, created: &str, status: &str, metadata: Value) -> Value {
    let mut s = Fixture::load("mv371_detail_limit2_page1").response_json()["snapshots"][0].clone();
    s["id"] = json!(id);
    s["name"] = json!(format!("snap-{}", &id[id.len() - 2..]));
    s["volume_id"] = json!(volume);
    // Cinder's own format: no zone, microseconds.
    s["created_at"] = json!(format!("{created}.000000"));
    s["status"] = json!(status);
    s["metadata"] = metadata;
    s
}

/// The listing path of the recorded admin project.
fn detail_path() -> String {
    format!("/v3/{ADMIN_PROJECT}/snapshots/detail")
}

fn snapshot_path(id: &str) -> String {
    format!("/v3/{ADMIN_PROJECT}/snapshots/{id}")
}

/// The `metadata` filter on the policy's label, encoded as the crate sends it.
fn metadata_filter() -> String {
    format!("metadata={}", encode(&format!(r#"{{"{}":"{POLICY}"}}"#, retention::POLICY_KEY)))
}

/// The owned listing's query at 3.71: `with_count` (3.45+) and the label filter (3.22+).
fn metadata_query() -> String {
    format!("with_count=true&{}", metadata_filter())
}

/// A server whose unexpected requests are counted (they answer 599): call `assert_all` on
/// what this returns at the end. Made first, these mocks only get the requests no later
/// mock matches.
fn strict() -> (ServerGuard, Vec<Mock>) {
    let mut server = Server::new();
    let unexpected = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
        .iter()
        .map(|m| server.mock(m, Matcher::Any).with_status(599).with_body("unexpected request").expect(0).create())
        .collect();
    (server, unexpected)
}

fn assert_all(mocks: &[Mock]) {
    mocks.iter().for_each(Mock::assert);
}

/// One listing page at `query` (exact), answered with these snapshots and, when `next` is
/// given, a next link with that query (as the recorded page 1 has).
fn page(server: &mut Server, version: &str, query: &str, snaps: &[Value], next: Option<&str>) -> Mock {
    let links = match next {
        Some(q) => json!([{"rel": "next", "href": format!("{}{}?{q}", server.url(), detail_path())}]),
        None => json!([]),
    };
    let mut body = json!({ "snapshots": snaps });
    if next.is_some() {
        body["snapshots_links"] = links;
    }
    let query = if query.is_empty() { Matcher::Missing } else { Matcher::Exact(query.to_owned()) };
    let m = server
        .mock("GET", detail_path().as_str())
        .match_query(query)
        .match_header("x-auth-token", TOKEN)
        .match_header("openstack-api-version", version);
    // The recorded page's headers, this body.
    let recorded = Fixture::load("mv371_detail_limit2_page1");
    recorded.respond(server, m).with_body(body.to_string()).expect(1).create()
}

/// `DELETE` of a snapshot answered with a recorded exchange's answer, expected `n` times.
fn delete(server: &mut Server, id: &str, fixture: &str, n: usize) -> Mock {
    let m = server.mock("DELETE", snapshot_path(id).as_str()).match_header("x-auth-token", TOKEN);
    Fixture::load(fixture).respond(server, m).expect(n).create()
}

/// The wait's `GET` of a deleted snapshot: the recorded 404, once.
fn gone(server: &mut Server, id: &str) -> Mock {
    let m = server.mock("GET", snapshot_path(id).as_str()).match_header("x-auth-token", TOKEN);
    Fixture::load("mv371_snapshot_show_after_delete").respond(server, m).expect(1).create()
}

fn fast() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(5)).max_interval(Duration::from_millis(20)).timeout(Duration::from_secs(10))
}

fn admin(server: &Server) -> ServiceClient {
    token_client(server, ADMIN_PROJECT, MV371)
}

/// `id outcome reasons` lines of a report.
fn lines(report: &PruneReport) -> Vec<String> {
    report
        .outcomes()
        .iter()
        .map(|o| format!("{} {} {}", &o.snapshot().id[o.snapshot().id.len() - 2..], o.outcome().name(), o.decision().reasons_text()))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

fn counts(kept: usize, deleted: usize, would_delete: usize, failed: usize) -> PruneCounts {
    let mut c = PruneCounts::default();
    c.kept = kept;
    c.deleted = deleted;
    c.would_delete = would_delete;
    c.failed = failed;
    c
}

/// Four owned snapshots of volume A, newest first, one a day.
fn four_owned() -> Vec<Value> {
    (1..=4).map(|n| snapshot(&sid(n), VOL_A, &format!("2026-11-2{}T02:00:00", 8 - n), "available", owned())).collect()
}

// ------------------------------------------------------------------ the whole run

#[test]
fn every_page_is_listed_with_the_metadata_filter_then_exactly_the_plan_is_deleted() {
    let (mut server, unexpected) = strict();
    let snaps = four_owned();
    let q1 = metadata_query();
    let q2 = format!("{q1}&marker={}", sid(2));
    let p1 = page(&mut server, "volume 3.71", &q1, &snaps[..2], Some(&q2));
    let p2 = page(&mut server, "volume 3.71", &q2, &snaps[2..], None);
    let deletes = [delete(&mut server, &sid(3), "mv371_snapshot_delete", 1), delete(&mut server, &sid(4), "mv371_snapshot_delete", 1)];
    let waits = [gone(&mut server, &sid(3)), gone(&mut server, &sid(4))];

    let report = job::prune(&admin(&server), &PruneOpts::new(policy(2)).now(NOW).wait_opts(fast())).unwrap();
    assert_eq!(
        lines(&report),
        ["01 kept last 1, newest", "02 kept last 2", "03 deleted not among the last 2", "04 deleted not among the last 2"]
    );
    assert_eq!(report.counts(), counts(2, 2, 0, 0));
    assert!(report.is_success() && !report.is_dry_run());
    assert_eq!(report.plan().now(), NOW);
    assert_eq!(report.plan().to_delete().count(), 2);
    assert_all(&[p1, p2]);
    assert_all(&deletes);
    assert_all(&waits);
    assert_all(&unexpected);
}

#[test]
fn a_listing_error_on_page_2_deletes_nothing() {
    let (mut server, unexpected) = strict();
    let snaps = four_owned();
    let q1 = metadata_query();
    let q2 = format!("{q1}&marker={}", sid(2));
    let p1 = page(&mut server, "volume 3.71", &q1, &snaps[..2], Some(&q2));
    // No 500 of a listing was recorded: Cinder's fault envelope, as its other errors have.
    let p2 = server
        .mock("GET", detail_path().as_str())
        .match_query(Matcher::Exact(q2))
        .with_status(500)
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"computeFault": {"code": 500, "message": "The server has either erred or is incapable of performing the requested operation."}}"#)
        .expect(1)
        .create();
    // Page 1 alone would delete sid(2) (keep_last 1): nothing may be deleted.
    let err = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(NOW).wait_opts(fast())).unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    assert!(matches!(&err, Error::Api(api) if api.fault.as_deref() == Some("computeFault")), "{err:?}");
    assert_all(&[p1, p2]);
    assert_all(&unexpected);
}

#[test]
fn a_failed_delete_is_reported_and_the_others_go_on() {
    let (mut server, unexpected) = strict();
    let snaps = four_owned();
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &snaps, None);
    // sid(2): the delete is refused (the recorded 400 "status must be available").
    let refused = delete(&mut server, &sid(2), "mv371_snapshot_delete_while_creating", 1);
    // sid(3): accepted, then the wait sees error_deleting (the recorded show body with that
    // status) and asks Cinder for its user message about it (none).
    let accepted3 = delete(&mut server, &sid(3), "mv371_snapshot_delete", 1);
    let mut body: Value = Fixture::load("mv371_snapshot_show").response_json();
    body["snapshot"]["id"] = json!(sid(3));
    body["snapshot"]["status"] = json!("error_deleting");
    let stuck = server
        .mock("GET", snapshot_path(&sid(3)).as_str())
        .with_status(200)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
        .expect(1)
        .create();
    let messages = server
        .mock("GET", format!("/v3/{ADMIN_PROJECT}/messages").as_str())
        .match_query(Matcher::UrlEncoded("resource_uuid".into(), sid(3)))
        .with_body(r#"{"messages": []}"#)
        .expect(1)
        .create();
    // sid(4): deleted.
    let accepted4 = delete(&mut server, &sid(4), "mv371_snapshot_delete", 1);
    let wait4 = gone(&mut server, &sid(4));

    let report = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(NOW).wait_opts(fast())).unwrap();
    assert_eq!(
        lines(&report),
        ["01 kept last 1, newest", "02 failed not among the last 1", "03 failed not among the last 1", "04 deleted not among the last 1"]
    );
    assert_eq!(report.counts(), counts(1, 1, 0, 2));
    assert!(!report.is_success());
    let failed: Vec<&str> = report.failures().map(|o| o.snapshot().id.as_str()).collect();
    assert_eq!(failed, [sid(2), sid(3)]);
    let e2 = report.get(&sid(2)).unwrap().outcome().error().unwrap();
    assert!(e2.is_bad_request(), "{e2:?}");
    assert!(e2.to_string().contains("Snapshot status must be available or error"), "{e2}");
    let e3 = report.get(&sid(3)).unwrap().outcome().error().unwrap();
    assert!(matches!(e3, Error::Wait(w) if w.kind == WaitErrorKind::Failed("error_deleting".into())), "{e3:?}");
    // The report as data: the plan's fields, each outcome and its error.
    let data = serde_json::to_value(&report).unwrap();
    assert_eq!(data["policy"], json!(POLICY));
    assert_eq!(data["rules"], json!("last=1,utc-offset=+00:00"));
    assert_eq!((data["now"].clone(), data["dry_run"].clone()), (json!("2026-11-28T12:00:00Z"), json!(false)));
    assert_eq!(
        data["counts"],
        json!({"kept": 1, "deleted": 1, "would_delete": 0, "failed": 2, "in_error": 0, "duplicates": 0, "unknown_format": 0})
    );
    let d = &data["decisions"];
    assert_eq!(d[0]["outcome"], json!("kept"));
    assert_eq!(d[0]["reasons"], json!(["last 1", "newest"]));
    assert_eq!((d[0]["error"].clone(), d[0]["created_at"].clone()), (Value::Null, json!("2026-11-27T02:00:00Z")));
    assert_eq!((d[1]["outcome"].clone(), d[1]["action"].clone()), (json!("failed"), json!("delete")));
    assert_eq!(d[1]["error"], json!(e2.to_string()));
    assert_eq!(d[3]["outcome"], json!("deleted"));
    assert_all(&[listing, refused, accepted3, stuck, messages, accepted4, wait4]);
    assert_all(&unexpected);
}

#[test]
fn a_dry_run_sends_no_delete() {
    let (mut server, unexpected) = strict();
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &four_owned(), None);
    let report = job::prune(&admin(&server), &PruneOpts::new(policy(2)).now(NOW).dry_run(true)).unwrap();
    assert_eq!(
        lines(&report),
        ["01 kept last 1, newest", "02 kept last 2", "03 would delete not among the last 2", "04 would delete not among the last 2"]
    );
    assert_eq!(report.counts(), counts(2, 0, 2, 0));
    assert!(report.is_dry_run() && report.is_success());
    // The data is the plan's, decision for decision.
    let data = serde_json::to_value(&report).unwrap();
    let plan = serde_json::to_value(report.plan()).unwrap();
    for (with_outcome, planned) in data["decisions"].as_array().unwrap().iter().zip(plan["decisions"].as_array().unwrap()) {
        for (k, v) in planned.as_object().unwrap() {
            assert_eq!(&with_outcome[k], v, "{k}");
        }
    }
    assert_all(&[listing]);
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ what is never deleted

#[test]
fn hand_made_snapshots_and_the_newest_are_never_deleted_even_when_the_server_ignores_the_filter() {
    let (mut server, unexpected) = strict();
    // As if the server ignored the metadata filter: the answer holds snapshots made by hand
    // (no label, or a label of another policy or in another case), older than the owned ones;
    // in Cinder's order (newest first).
    let snaps = vec![
        snapshot(&sid(1), VOL_A, "2026-11-27T02:00:00", "available", owned()),
        snapshot(&sid(2), VOL_A, "2026-11-26T02:00:00", "available", owned()),
        snapshot(&sid(14), VOL_A, "2026-11-04T02:00:00", "available", json!({ (retention::POLICY_KEY): "Nightly" })),
        snapshot(&sid(13), VOL_A, "2026-11-03T02:00:00", "available", json!({ (retention::POLICY_KEY): "weekly" })),
        snapshot(&sid(12), VOL_A, "2026-11-02T02:00:00", "available", json!({"purpose": "before the upgrade"})),
        snapshot(&sid(11), VOL_A, "2026-11-01T02:00:00", "available", json!({})),
        // Volume B: one owned snapshot, the newest of its volume; and one still creating.
        snapshot(&sid(22), VOL_B, "2026-10-02T02:00:00", "creating", owned()),
        snapshot(&sid(21), VOL_B, "2026-10-01T02:00:00", "available", owned()),
    ];
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &snaps, None);
    let deleted = [delete(&mut server, &sid(2), "mv371_snapshot_delete", 1), gone(&mut server, &sid(2))];
    let report = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(NOW).wait_opts(fast())).unwrap();
    // Only owned snapshots are in the plan; sid(2) is the only one deleted.
    assert_eq!(
        lines(&report),
        ["01 kept last 1, newest", "02 deleted not among the last 1", "22 kept not available (creating)", "21 kept last 1, newest"]
    );
    for hand_made in [11, 12, 13, 14] {
        assert!(report.get(&sid(hand_made)).is_none());
    }
    assert_all(&[listing]);
    assert_all(&deleted);
    // The catch-all DELETE saw nothing: no other snapshot was deleted.
    assert_all(&unexpected);
}

#[test]
fn below_3_22_everything_is_listed_and_filtered_on_the_client() {
    let (mut server, unexpected) = strict();
    let snaps = vec![
        snapshot(&sid(11), VOL_A, "2026-11-27T12:00:00", "available", json!({})),
        snapshot(&sid(1), VOL_A, "2026-11-27T02:00:00", "available", owned()),
        snapshot(&sid(2), VOL_A, "2026-11-26T02:00:00", "available", owned()),
        snapshot(&sid(12), VOL_A, "2026-11-01T02:00:00", "available", json!({"created-by": "nightly"})),
    ];
    // No metadata filter at 3.0 (it needs 3.22): everything is listed.
    let listing = page(&mut server, "volume 3.0", "", &snaps, None);
    let deleted = [delete(&mut server, &sid(2), "mv371_snapshot_delete", 1), gone(&mut server, &sid(2))];
    let client = token_client(&server, ADMIN_PROJECT, MV30);
    let report = job::prune(&client, &PruneOpts::new(policy(1)).now(NOW).wait_opts(fast())).unwrap();
    assert_eq!(lines(&report), ["01 kept last 1, newest", "02 deleted not among the last 1"]);
    assert_all(&[listing]);
    assert_all(&deleted);
    assert_all(&unexpected);
}

#[test]
fn snapshots_dated_after_now_are_kept_and_not_counted() {
    let (mut server, unexpected) = strict();
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &four_owned(), None);
    // `now` between sid(2) (11-26) and sid(1) (11-27): sid(1) is in the future.
    let now = datetime!(2026-11-26 12:00 UTC);
    let report = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(now).dry_run(true)).unwrap();
    assert_eq!(
        lines(&report),
        [
            "01 kept dated in the future",
            "02 kept last 1, newest",
            "03 would delete not among the last 1",
            "04 would delete not among the last 1"
        ]
    );
    assert_eq!(report.plan().now(), now);
    assert_all(&[listing]);
    assert_all(&unexpected);
}

// ------------------------------------------------------------------ options

#[test]
fn volumes_restrict_the_listing_and_the_deletes() {
    let (mut server, unexpected) = strict();
    // One listing per volume, with the volume filter; a snapshot of another volume in the
    // answer (a server ignoring the filter) is left alone.
    let a = vec![
        snapshot(&sid(1), VOL_A, "2026-11-27T02:00:00", "available", owned()),
        snapshot(&sid(2), VOL_A, "2026-11-26T02:00:00", "available", owned()),
        snapshot(&sid(21), VOL_B, "2026-11-25T02:00:00", "available", owned()),
        snapshot(&sid(22), VOL_B, "2026-11-24T02:00:00", "available", owned()),
    ];
    let listing = page(&mut server, "volume 3.71", &format!("with_count=true&volume_id={VOL_A}&{}", metadata_filter()), &a, None);
    let deleted = [delete(&mut server, &sid(2), "mv371_snapshot_delete", 1), gone(&mut server, &sid(2))];
    let opts = PruneOpts::new(policy(1)).now(NOW).wait_opts(fast()).volumes([VOL_A]);
    let report = job::prune(&admin(&server), &opts).unwrap();
    assert_eq!(lines(&report), ["01 kept last 1, newest", "02 deleted not among the last 1"]);
    assert_all(&[listing]);
    assert_all(&deleted);
    assert_all(&unexpected);

    // No volume at all: nothing is listed, nothing deleted.
    let (server, unexpected) = strict();
    let report = job::prune(&admin(&server), &PruneOpts::new(policy(1)).volumes(Vec::<String>::new())).unwrap();
    assert!(report.outcomes().is_empty() && report.is_success());
    assert_all(&unexpected);
}

#[test]
fn several_volumes_are_one_listing_by_label_kept_on_the_client() {
    // Several volumes: one listing of the policy's snapshots (not one per volume: a thousand
    // volumes would be a thousand requests), the volumes chosen on the client; a snapshot of
    // a volume not given is left alone.
    let (mut server, unexpected) = strict();
    let all = vec![
        snapshot(&sid(1), VOL_A, "2026-11-27T02:00:00", "available", owned()),
        snapshot(&sid(21), VOL_B, "2026-11-25T02:00:00", "available", owned()),
        snapshot(&sid(31), "33333333-3333-4333-8333-333333333333", "2026-11-24T02:00:00", "available", owned()),
        snapshot(&sid(32), "33333333-3333-4333-8333-333333333333", "2026-11-23T02:00:00", "available", owned()),
    ];
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &all, None);
    let opts = PruneOpts::new(policy(1)).now(NOW).dry_run(true).volumes([VOL_B, VOL_A, VOL_B]);
    let report = job::prune(&admin(&server), &opts).unwrap();
    assert_eq!(lines(&report), ["01 kept last 1, newest", "21 kept last 1, newest"]);
    assert_all(&[listing]);
    assert_all(&unexpected);
}

#[test]
fn several_volumes_below_3_22_are_listed_one_by_one() {
    // Without the label filter, each volume's listing is filtered by the server instead.
    let (mut server, unexpected) = strict();
    let a = vec![snapshot(&sid(1), VOL_A, "2026-11-27T02:00:00", "available", owned())];
    let b = vec![snapshot(&sid(21), VOL_B, "2026-11-25T02:00:00", "available", owned())];
    let la = page(&mut server, "volume 3.0", &format!("volume_id={VOL_A}"), &a, None);
    let lb = page(&mut server, "volume 3.0", &format!("volume_id={VOL_B}"), &b, None);
    let opts = PruneOpts::new(policy(1)).now(NOW).dry_run(true).volumes([VOL_B, VOL_A]);
    let report = job::prune(&token_client(&server, ADMIN_PROJECT, MV30), &opts).unwrap();
    assert_eq!(lines(&report), ["01 kept last 1, newest", "21 kept last 1, newest"]);
    assert_all(&[la, lb]);
    assert_all(&unexpected);
}

/// The probe of Cinder's admin view before any `all_tenants` listing: one volume of the
/// recorded admin's listing (it carries `os-vol-host-attr:host`), or, for a member, the same
/// volume without the admin's keys.
fn admin_view_probe(server: &mut Server, admin: bool) -> Mock {
    let recorded = Fixture::load("mv371_volumes_detail_limit2_page1");
    let mut volume = recorded.response_json()["volumes"][0].clone();
    assert!(volume.get("os-vol-host-attr:host").is_some(), "the recorded admin view");
    if !admin {
        for key in ["os-vol-host-attr:host", "os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id"] {
            volume.as_object_mut().unwrap().remove(key);
        }
    }
    let m = server
        .mock("GET", format!("/v3/{ADMIN_PROJECT}/volumes/detail").as_str())
        .match_query(Matcher::Exact("all_tenants=1&limit=1".into()))
        .match_header("x-auth-token", TOKEN);
    recorded.respond(server, m).with_body(json!({ "volumes": [volume] }).to_string()).expect(1).create()
}

#[test]
fn all_projects_lists_with_all_tenants() {
    let (mut server, unexpected) = strict();
    let probe = admin_view_probe(&mut server, true);
    let listing =
        page(&mut server, "volume 3.71", &format!("with_count=true&all_tenants=1&{}", metadata_filter()), &four_owned()[..1], None);
    let report = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(NOW).dry_run(true).all_projects(true)).unwrap();
    assert_eq!(lines(&report), ["01 kept last 1, newest"]);
    assert_all(&[probe, listing]);
    assert_all(&unexpected);
}

/// Without the admin view (no `os-vol-host-attr:host`), `all_projects` is refused after
/// the probe: no snapshot listing, no delete.
#[test]
fn all_projects_without_the_admin_view_is_refused_before_any_listing() {
    let (mut server, unexpected) = strict();
    let probe = admin_view_probe(&mut server, false);
    let err = job::prune(&admin(&server), &PruneOpts::new(policy(1)).now(NOW).all_projects(true)).unwrap_err();
    assert!(matches!(err, Error::AdminViewRequired), "{err}");
    assert_all(&[probe]);
    assert_all(&unexpected);
}

#[test]
fn one_delete_at_a_time_when_asked() {
    let (mut server, unexpected) = strict();
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &four_owned(), None);
    let mocks: Vec<Mock> =
        (2..=4).flat_map(|n| [delete(&mut server, &sid(n), "mv371_snapshot_delete", 1), gone(&mut server, &sid(n))]).collect();
    let opts = PruneOpts::new(policy(1)).now(NOW).wait_opts(fast()).concurrency(1);
    let report = job::prune(&admin(&server), &opts).unwrap();
    assert_eq!(report.counts(), counts(1, 3, 0, 0));
    assert_all(&[listing]);
    assert_all(&mocks);
    assert_all(&unexpected);
}

#[test]
fn deletes_run_on_at_most_concurrency_worker_threads() {
    let (mut server, unexpected) = strict();
    let mut snaps = four_owned();
    snaps.extend((5..=8).map(|n| snapshot(&sid(n), VOL_A, &format!("2026-11-1{}T02:00:00", 9 - n), "available", owned())));
    let listing = page(&mut server, "volume 3.71", &metadata_query(), &snaps, None);
    let mut mocks = Vec::new();
    for n in 2..=8 {
        mocks.push(delete(&mut server, &sid(n), "mv371_snapshot_delete", 1));
        // The recorded show right after a delete ("deleting"), then the recorded 404.
        let mut deleting: Value = Fixture::load("mv371_snapshot_show_right_after_delete").response_json();
        deleting["snapshot"]["id"] = json!(sid(n));
        mocks.push(
            server
                .mock("GET", snapshot_path(&sid(n)).as_str())
                .with_status(200)
                .with_header("Content-Type", "application/json")
                .with_body(deleting.to_string())
                .expect(1)
                .create(),
        );
        mocks.push(gone(&mut server, &sid(n)));
    }
    // The progress callback runs on the thread that waits: it tells which threads deleted.
    let threads = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen = threads.clone();
    let wait = fast().on_progress(move |_| {
        let t = std::thread::current();
        seen.lock().unwrap().insert((format!("{:?}", t.id()), t.name().map(str::to_owned)));
    });
    let opts = PruneOpts::new(policy(1)).now(NOW).wait_opts(wait).concurrency(2);
    let report = job::prune(&admin(&server), &opts).unwrap();
    assert_eq!(report.counts(), counts(1, 7, 0, 0));
    let threads = threads.lock().unwrap();
    assert!(!threads.is_empty() && threads.len() <= 2, "{threads:?}");
    assert!(threads.iter().all(|(_, name)| name.as_deref() == Some("prune-delete")), "{threads:?}");
    assert_all(&[listing]);
    assert_all(&mocks);
    assert_all(&unexpected);
}

/// Against the fake cloud (feature `testing`): Cinder's own status transitions.
#[cfg(feature = "testing")]
mod against_the_fake_cloud {
    use super::*;
    use cinder_snapshots::snapshots::{self, CreateOpts};
    use cinder_snapshots::testing::FakeCloud;
    use std::time::Instant;

    /// `--wait-timeout` is ONE deadline for the whole prune: 6 deletes that stay `deleting`,
    /// 2 at a time, end at the deadline: the first 2 are sent and time out waiting, the 4
    /// others are never sent (timed out, not sent). Before: each pair had its own timeout,
    /// every DELETE was sent and the prune took 3 timeouts.
    #[test]
    fn the_wait_timeout_is_one_deadline_for_the_whole_prune() {
        let cloud = FakeCloud::start();
        let volume = cloud.add_volume("db");
        let client = cloud.client();
        cloud.set_snapshot_creating_reads(0);
        let start = datetime!(2026-11-20 02:00 UTC);
        for day in 0..7 {
            let at = start + time::Duration::days(day);
            cloud.set_now(at);
            let labels = retention::labels(&policy(1), at);
            let opts = labels.iter().fold(CreateOpts::new(&volume), |o, (k, v)| o.metadata(k, v));
            snapshots::create(&client, &opts).unwrap();
        }
        cloud.set_deleting_reads(u32::MAX);
        cloud.clear_requests();
        let timeout = Duration::from_millis(400);
        let wait = WaitOpts::new().timeout(timeout).initial_interval(Duration::from_millis(20)).max_interval(Duration::from_millis(20));
        let opts = PruneOpts::new(policy(1)).now(NOW).wait_opts(wait).concurrency(2);
        let began = Instant::now();
        let report = job::prune(&client, &opts).unwrap();
        let took = began.elapsed();
        assert_eq!(report.counts(), counts(1, 0, 0, 6));
        let deletes: Vec<String> = cloud.requests().iter().filter(|r| r.call().0 == "DELETE").map(|r| r.call().1.to_owned()).collect();
        assert_eq!(deletes.len(), 2, "{deletes:?}");
        for failed in report.failures() {
            match failed.outcome().error() {
                Some(Error::Wait(w)) => {
                    assert_eq!((&w.kind, w.target.as_str()), (&WaitErrorKind::TimedOut, "deleted"), "{w}");
                    assert!(w.elapsed <= timeout + Duration::from_millis(200), "{w}");
                }
                other => panic!("{other:?}"),
            }
        }
        let sent: Vec<&str> = report
            .failures()
            .filter(|o| o.outcome().error().is_some_and(|e| matches!(e, Error::Wait(w) if w.last_status.as_deref() == Some("deleting"))))
            .map(|o| o.snapshot().id.as_str())
            .collect();
        assert_eq!(sent.len(), 2, "the two sent were seen deleting");
        assert!(took < timeout * 2, "{took:?}");
        // Nothing left deleting but the two sent.
        let left: Vec<String> = cloud.snapshots().iter().map(|s| s.status.to_string()).collect();
        assert_eq!(left.iter().filter(|s| *s == "deleting").count(), 2, "{left:?}");
    }
}
