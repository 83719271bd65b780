//! Scenario tests written once and run twice: by `tests/fake_scenarios.rs` against
//! `FakeCloud` and by `tests/live_scenarios.rs` against a real Keystone + Cinder (the local
//! cloud of `scripts/live-tests`). Both must pass: that is the proof that the fake tells the
//! truth about what these scenarios touch.
//!
//! A scenario is a `fn(&dyn Env)`. [`Env`] holds the few things that differ between the two
//! clouds: how a volume is made (the fake adds it, the real cloud creates it and waits), how
//! a snapshot is driven to `error` (the fake fails it as a backend would, the real cloud's
//! admin resets its status: the local cloud's fake driver never fails), how a quota is set,
//! and the clean-up. Each scenario works only with the resources it made (names unique to the
//! run, filters by its own volumes or metadata), so a real cloud with other resources in it
//! gives the same results. Where the fake cannot answer as the real server does, the
//! scenario says so with [`Env::is_fake`] and the crate docs (`src/testing/mod.rs`) list the
//! difference.
#![allow(dead_code)]

use std::collections::BTreeMap;

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, Snapshot, SnapshotStatus, SortDir, SortKey, UpdateMetadataOpts, WaitOpts};
use cinder_snapshots::volumes::{self, VolumeStatus};
use cinder_snapshots::{Error, Microversion, Request, ServiceClient, WaitErrorKind};
use serde_json::{Value, json};

/// Whose project a resource is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The admin (role `admin`).
    Admin,
    /// A member of another project (role `member`).
    Member,
}

/// What differs between the fake and the real cloud.
pub trait Env {
    /// The admin's client, microversion negotiated (3.71 on both clouds).
    fn admin(&self) -> &ServiceClient;
    /// The member's client (its own project), microversion negotiated.
    fn member(&self) -> &ServiceClient;
    /// A new client of `who` pinned at microversion 3.`minor`.
    fn pinned(&self, who: Who, minor: u16) -> ServiceClient;
    /// The most items a page holds (Cinder's `osapi_max_limit`: 15 in the live run).
    fn page_cap(&self) -> usize;
    /// A new `available` 1 GiB volume in `who`'s project, named `name`, with `metadata`;
    /// removed when the environment is dropped.
    fn volume(&self, who: Who, name: &str, metadata: &[(&str, &str)]) -> String;
    /// A new `in-use` (attached) volume in the admin's project; detached and removed at the
    /// end.
    fn in_use_volume(&self, name: &str) -> String;
    /// A new 1 GiB volume in the admin's project, put in `status` (`error`, `maintenance`,
    /// `creating`, ...) as an admin's reset or the backend would; set `available` and
    /// removed at the end.
    fn volume_in_status(&self, name: &str, status: VolumeStatus) -> String;
    /// Snapshot `id` (of the admin) fails as when the backend fails it: it ends in `error`.
    fn fail_snapshot(&self, id: &str);
    /// The user message a failed snapshot carries after [`fail_snapshot`](Env::fail_snapshot).
    fn failure_message(&self) -> Option<String>;
    /// Sets the snapshot quota of `who`'s project; `None`: back to the roomy default.
    fn set_snapshot_quota(&self, who: Who, quota: Option<u32>);
    /// Remembers a snapshot (of anyone) for removal at the end.
    fn track_snapshot(&self, id: &str);
    /// Remembers a volume for removal at the end.
    fn track_volume(&self, id: &str);
    /// `base` made unique to this run (names and metadata values).
    fn unique(&self, base: &str) -> String;
    /// True against the fake: for the few checks where it differs (each one documented).
    fn is_fake(&self) -> bool;
}

/// Every scenario, by name: `$m!(name, ...)` (the two test files make one test of each).
#[macro_export]
macro_rules! for_each_scenario {
    ($m:ident) => {
        $m!(
            list_filters_and_sorts,
            paging_past_the_page_cap,
            create_wait_delete,
            metadata_calls,
            error_bodies,
            snapshot_driven_to_error,
            in_use_volume_by_microversion,
            quota_over_limit,
            two_projects,
            volume_from_snapshot_and_revert,
            member_filter_policy,
            volume_states_refused,
            restore_refusals,
            update_and_update_status,
            answer_shapes,
            volume_metadata_calls
        );
    };
}

// ---------------------------------------------------------------------------------------
// Helpers

fn create(env: &dyn Env, client: &ServiceClient, opts: &CreateOpts) -> Snapshot {
    let s = snapshots::create(client, opts).expect("create snapshot");
    env.track_snapshot(&s.id);
    s
}

fn available(env: &dyn Env, client: &ServiceClient, opts: &CreateOpts) -> Snapshot {
    let s = create(env, client, opts);
    snapshots::wait_for_status(client, &s.id, SnapshotStatus::Available, &WaitOpts::new()).expect("snapshot available")
}

fn ids(snaps: &[Snapshot]) -> Vec<String> {
    snaps.iter().map(|s| s.id.clone()).collect()
}

fn detail(client: &ServiceClient, opts: &ListOpts) -> Vec<String> {
    ids(&snapshots::list_detail(client, opts).expect("list").all().expect("all pages"))
}

fn api(err: &Error) -> (u16, Option<String>, String) {
    let a = err.api().unwrap_or_else(|| panic!("not an API error: {err}"));
    (a.status, a.fault.clone(), a.message.clone())
}

fn bad_request(message: impl Into<String>) -> (u16, Option<String>, String) {
    (400, Some("badRequest".into()), message.into())
}

fn not_found(message: impl Into<String>) -> (u16, Option<String>, String) {
    (404, Some("itemNotFound".into()), message.into())
}

/// The ids of a raw snapshot listing (`GET snapshots` with `query` at 3.`minor`).
fn raw_ids(client: &ServiceClient, query: &[(&str, &str)], minor: u16) -> Vec<String> {
    let request = Request::get(["snapshots"]).query(query.iter().copied()).microversion(Microversion::new(3, minor));
    let body: Value = serde_json::from_slice(&client.send(request).expect("raw listing").body).expect("JSON");
    body["snapshots"].as_array().expect("snapshots").iter().map(|s| s["id"].as_str().expect("id").to_owned()).collect()
}

fn raw_err(client: &ServiceClient, request: Request) -> (u16, Option<String>, String) {
    match client.send(request) {
        Ok(r) => panic!("expected an error, got {}", r.status),
        Err(e) => api(&e),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The project id at the end of a client's endpoint (`.../v3/<project>`).
fn project_of(client: &ServiceClient) -> String {
    let endpoint = client.endpoint().expect("endpoint");
    endpoint.path_segments().and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned)).expect("project in endpoint")
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// Snapshot and volume listings with filters and sorts: `metadata` (every pair must match),
/// `volume_id`, `name`, `name~`, `status`; sorted by name both ways and by creation; the
/// summary listing lists the same; below 3.22 the metadata filter and below 3.34 `name~`
/// are dropped (everything listed); sorting by name below 3.30 is a 400.
pub fn list_filters_and_sorts(env: &dyn Env) {
    let admin = env.admin();
    let run = env.unique("list");
    let va_name = env.unique("list-a");
    let va = env.volume(Who::Admin, &va_name, &[("scenario", &run), ("tier", "gold")]);
    let vb = env.volume(Who::Admin, &env.unique("list-b"), &[("scenario", &run)]);
    let vols = |opts: volumes::ListOpts| -> Vec<String> {
        volumes::list_detail(admin, &opts).unwrap().all().unwrap().into_iter().map(|v| v.id).collect()
    };
    assert_eq!(vols(volumes::ListOpts::new().metadata("scenario", &run)), [vb.clone(), va.clone()]);
    assert_eq!(vols(volumes::ListOpts::new().metadata("scenario", &run).metadata("tier", "gold")), vec![va.clone()]);
    assert_eq!(vols(volumes::ListOpts::new().metadata("scenario", &run).status(VolumeStatus::Available)).len(), 2);

    let prefix = env.unique("snap");
    let s1 = available(env, admin, &CreateOpts::new(&va).name(format!("{prefix}-bravo")).metadata("run", &run).metadata("tier", "gold"));
    let s2 = available(env, admin, &CreateOpts::new(&va).name(format!("{prefix}-alpha")).description("a scenario").metadata("run", &run));
    let s3 = available(
        env,
        admin,
        &CreateOpts::new(&vb).name(format!("{prefix}-charlie")).metadata("run", &run).metadata("tier", "gold").metadata("keep", "yes"),
    );
    let (s1, s2, s3) = (s1.id, s2.id, s3.id);
    let run_opts = || ListOpts::new().metadata("run", &run);

    assert_eq!(detail(admin, &run_opts()), [s3.clone(), s2.clone(), s1.clone()], "newest first");
    assert_eq!(detail(admin, &run_opts().metadata("tier", "gold")), [s3.clone(), s1.clone()]);
    assert_eq!(detail(admin, &run_opts().metadata("tier", "gold").metadata("keep", "yes")), vec![s3.clone()]);
    assert_eq!(detail(admin, &ListOpts::new().volume_id(&va)), [s2.clone(), s1.clone()]);
    assert_eq!(detail(admin, &ListOpts::new().name(format!("{prefix}-alpha"))), vec![s2.clone()]);
    assert_eq!(detail(admin, &ListOpts::new().name_like(&prefix)), [s3.clone(), s2.clone(), s1.clone()]);
    assert_eq!(detail(admin, &run_opts().status(SnapshotStatus::Available)).len(), 3);
    assert_eq!(detail(admin, &run_opts().status(SnapshotStatus::Error)), Vec::<String>::new());
    assert_eq!(detail(admin, &run_opts().sort(SortKey::Name, SortDir::Asc)), [s2.clone(), s1.clone(), s3.clone()]);
    assert_eq!(detail(admin, &run_opts().sort(SortKey::Name, SortDir::Desc)), [s3.clone(), s1.clone(), s2.clone()]);
    assert_eq!(detail(admin, &run_opts().sort(SortKey::CreatedAt, SortDir::Asc)), [s1.clone(), s2.clone(), s3.clone()]);
    let summary = ids(&snapshots::list(admin, &run_opts()).unwrap().all().unwrap());
    assert_eq!(summary, [s3.clone(), s2.clone(), s1.clone()]);

    // What Cinder drops below the microversion that brought a filter.
    let gold = format!("{{'run': '{run}', 'tier': 'gold'}}");
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("metadata", &gold)], 22), vec![s1.clone()]);
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("metadata", &gold)], 21), [s2.clone(), s1.clone()]);
    // Cinder 29 applies the LIKE filters and `consumes_quota` for an admin from 3.31 (the
    // generic filters), not from 3.34 and 3.65 as its docs say; below 3.31 `name~` is dropped
    // while `description~` and `consumes_quota` match nothing.
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("name~", "bravo")], 31), vec![s1.clone()]);
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("name~", "bravo")], 30), [s2.clone(), s1.clone()]);
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("description~", "scenario")], 31), vec![s2.clone()]);
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("description~", "scenario")], 30), Vec::<String>::new());
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("consumes_quota", "true")], 31), [s2.clone(), s1.clone()]);
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("consumes_quota", "false")], 71), Vec::<String>::new());
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("consumes_quota", "true")], 30), Vec::<String>::new());
    // An unknown filter matches nothing; `with_count` below 3.45 is one.
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("foo", "bar")], 71), Vec::<String>::new());
    assert_eq!(raw_ids(admin, &[("volume_id", &va), ("with_count", "true")], 44), Vec::<String>::new());
    // Cinder 29 joins the volumes for the snapshots' `availability_zone` filter and then
    // applies the other exact filters to the volume: with `volume_id` (no such volume column)
    // it fails with a 500; `name` matches the volume's name, not the snapshot's. So the
    // crate refuses those combinations (`ListOpts::availability_zone`).
    let az = Request::get(["snapshots"]).query([("volume_id", va.as_str()), ("availability_zone", "nova")]);
    assert_eq!(
        raw_err(admin, az),
        (500, Some("computeFault".into()), "The server has either erred or is incapable of performing the requested operation.".into())
    );
    let in_zone = raw_ids(admin, &[("availability_zone", "nova"), ("name~", &format!("{prefix}-bravo"))], 71);
    assert!(in_zone.contains(&s1) && !in_zone.contains(&s2), "{in_zone:?}");
    let by_volume_name = raw_ids(admin, &[("availability_zone", "nova"), ("name", &va_name)], 71);
    assert!(by_volume_name.contains(&s1) && by_volume_name.contains(&s2), "the volume's name matched: {by_volume_name:?}");
    let err = snapshots::list(admin, &ListOpts::new().availability_zone("nova").volume_id(va.as_str())).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let by_name = |minor| {
        Request::get(["snapshots"]).query([("volume_id", va.as_str()), ("sort", "name:asc")]).microversion(Microversion::new(3, minor))
    };
    assert_eq!(raw_err(admin, by_name(29)), bad_request("Invalid input received: Invalid sort key"));
    let body: Value = serde_json::from_slice(&admin.send(by_name(30)).unwrap().body).unwrap();
    assert_eq!(body["snapshots"].as_array().unwrap().len(), 2);
}

/// A listing longer than the server's page cap: pages of the cap and the rest, each next page
/// asked through Cinder's next link; a `limit` above the cap is capped; a limit dividing the
/// total ends with an empty page; `with_count` counts on every page and saves that empty
/// page; a marker and an offset start where they say.
pub fn paging_past_the_page_cap(env: &dyn Env) {
    let admin = env.admin();
    let cap = env.page_cap();
    let total = cap + 3;
    let volume = env.volume(Who::Admin, &env.unique("paging"), &[]);
    let mut made = Vec::new();
    for i in 0..total {
        made.push(create(env, admin, &CreateOpts::new(&volume).name(format!("page-{i:02}"))).id);
    }
    for id in &made {
        snapshots::wait_for_status(admin, id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let opts = || ListOpts::new().volume_id(&volume);
    let sizes = |opts: ListOpts| -> (Vec<usize>, Vec<String>, Vec<Option<u64>>) {
        let pages: Vec<_> = snapshots::list_detail(admin, &opts).unwrap().pages().map(|p| p.unwrap()).collect();
        let items = pages.iter().flat_map(|p| p.items.iter().map(|s| s.id.clone())).collect();
        (pages.iter().map(|p| p.items.len()).collect(), items, pages.iter().map(|p| p.count).collect())
    };

    let (pages, items, _) = sizes(opts());
    assert_eq!(pages, [cap, 3]);
    assert_eq!(items, newest_first);
    let (pages, items, _) = sizes(opts().limit(u32::try_from(cap * 10).unwrap()));
    assert_eq!(pages, [cap, 3], "a limit above the cap is capped");
    assert_eq!(items, newest_first);
    let (pages, items, _) = sizes(opts().limit(5));
    assert_eq!(pages, [5, 5, 5, 3]);
    assert_eq!(items, newest_first);
    let third = u32::try_from(total / 3).unwrap();
    let (pages, _, _) = sizes(opts().limit(third));
    assert_eq!(pages, [total / 3, total / 3, total / 3, 0], "an exact multiple ends with an empty page");
    let (pages, items, counts) = sizes(opts().limit(third).with_count(true));
    assert_eq!(pages, [total / 3; 3], "with_count saves the empty page");
    assert_eq!(items, newest_first);
    assert_eq!(counts, vec![Some(total as u64); 3]);
    let (_, items, _) = sizes(opts().limit(5).marker(&newest_first[4]));
    assert_eq!(items, newest_first[5..]);
    let (_, items, _) = sizes(opts().limit(5).offset(2));
    assert_eq!(items, newest_first[2..], "the offset applies once");
    let summary: Vec<String> = ids(&snapshots::list(admin, &opts()).unwrap().all().unwrap());
    assert_eq!(summary, newest_first);

    // The next link: the client's endpoint, every original parameter re-encoded in order,
    // the marker last; the summary listing links to the summary collection.
    let endpoint = admin.endpoint().unwrap().as_str().trim_end_matches('/').to_owned();
    for (path, collection) in [(vec!["snapshots", "detail"], "snapshots/detail"), (vec!["snapshots"], "snapshots")] {
        let q = [("volume_id", volume.as_str()), ("limit", "2"), ("sort", "name:asc")];
        let body = raw_json(admin, Request::get(path).query(q));
        let names: Vec<&str> = body["snapshots"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["page-00", "page-01"]);
        let last = body["snapshots"][1]["id"].as_str().unwrap();
        assert_eq!(
            body["snapshots_links"],
            json!([{"rel": "next", "href": format!("{endpoint}/{collection}?volume_id={volume}&limit=2&sort=name%3Aasc&marker={last}")}])
        );
    }
    // A page that is not full has no link; with `with_count` it has one (Cinder compares
    // the limit with the total, not with the page) and `count`.
    let tail = |with_count: bool| {
        let mut q = vec![("volume_id", volume.as_str()), ("marker", newest_first[total - 3].as_str())];
        if with_count {
            q.push(("with_count", "true"));
        }
        raw_json(admin, Request::get(["snapshots"]).query(q))
    };
    let body = tail(false);
    assert_eq!(body["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(body.get("snapshots_links"), None);
    let body = tail(true);
    assert_eq!(body["count"], json!(total));
    let last = newest_first[total - 1].as_str();
    let marker = newest_first[total - 3].as_str();
    let href = format!("{endpoint}/snapshots?volume_id={volume}&with_count=true&marker={last}");
    assert_eq!(body["snapshots_links"], json!([{"rel": "next", "href": href}]), "after marker {marker}");
}

/// Create (Cinder's answer: `creating`, the fields sent, no `updated_at`), wait, show,
/// a delete refused while `creating` (reset by the admin), delete, wait until gone, 404
/// afterwards; a force-delete of a `creating` snapshot.
pub fn create_wait_delete(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("cwd"), &[]);
    let name = env.unique("cwd-snap");
    let created = create(env, admin, &CreateOpts::new(&volume).name(&name).description("scenario").metadata("k", "v"));
    assert_eq!(created.status, SnapshotStatus::Creating);
    assert_eq!((created.name.as_deref(), created.description.as_deref()), (Some(name.as_str()), Some("scenario")));
    assert_eq!((created.volume_id.as_str(), created.size), (volume.as_str(), 1));
    assert_eq!(created.metadata, map(&[("k", "v")]));
    assert!(created.created_at.is_some());
    assert_eq!(created.updated_at, None);
    assert!(created.request_id.as_deref().is_some_and(|r| r.starts_with("req-")));

    let snap = snapshots::wait_for_status(admin, &created.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    assert_eq!(snap.status, SnapshotStatus::Available);
    assert!(snap.updated_at.is_some());
    assert_eq!(snap.progress.as_deref(), Some("100%"));
    let shown = snapshots::get(admin, &created.id).unwrap();
    assert_eq!((shown.id.as_str(), shown.created_at, &shown.metadata), (created.id.as_str(), created.created_at, &created.metadata));
    assert_eq!(shown.project_id, Some(project_of(admin)));

    snapshots::reset_status(admin, &created.id, SnapshotStatus::Creating).unwrap();
    assert_eq!(snapshots::get(admin, &created.id).unwrap().status, SnapshotStatus::Creating, "a reset status stays");
    let err = snapshots::delete(admin, &created.id).unwrap_err();
    assert_eq!(api(&err), bad_request("Invalid snapshot: Snapshot status must be available or error and must not be part of a group."));
    snapshots::reset_status(admin, &created.id, SnapshotStatus::Available).unwrap();
    snapshots::delete(admin, &created.id).unwrap();
    snapshots::wait_for_delete(admin, &created.id, &WaitOpts::new()).unwrap();
    let gone = not_found(format!("Snapshot {} could not be found.", created.id));
    assert_eq!(api(&snapshots::get(admin, &created.id).unwrap_err()), gone);
    assert_eq!(api(&snapshots::delete(admin, &created.id).unwrap_err()), gone);

    let stuck = available(env, admin, &CreateOpts::new(&volume));
    snapshots::reset_status(admin, &stuck.id, SnapshotStatus::Creating).unwrap();
    snapshots::force_delete(admin, &stuck.id).unwrap();
    snapshots::wait_for_delete(admin, &stuck.id, &WaitOpts::new()).unwrap();
    assert!(detail(admin, &ListOpts::new().volume_id(&volume)).is_empty());
}

/// Every metadata call: get all, merge (POST: the merged map), replace (PUT: only the items
/// given), get/set/delete one key (a key with a space too), and Cinder's 404 for a missing
/// key, on get and on delete.
pub fn metadata_calls(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("meta"), &[]);
    let s = available(env, admin, &CreateOpts::new(&volume).metadata("a", "1"));
    assert_eq!(snapshots::get_metadata(admin, &s.id).unwrap(), map(&[("a", "1")]));
    let merged = snapshots::merge_metadata(admin, &s.id, &UpdateMetadataOpts::new().set("b", "2").set("a", "uno")).unwrap();
    assert_eq!(merged, map(&[("a", "uno"), ("b", "2")]));
    assert_eq!(snapshots::get_metadata_key(admin, &s.id, "b").unwrap(), "2");
    assert_eq!(snapshots::set_metadata_key(admin, &s.id, "a", "one").unwrap(), "one");
    assert_eq!(snapshots::set_metadata_key(admin, &s.id, "fresh key", "x").unwrap(), "x");
    assert_eq!(snapshots::get_metadata_key(admin, &s.id, "fresh key").unwrap(), "x");
    assert_eq!(snapshots::get_metadata(admin, &s.id).unwrap(), map(&[("a", "one"), ("b", "2"), ("fresh key", "x")]));
    snapshots::delete_metadata_key(admin, &s.id, "b").unwrap();
    let missing = not_found(format!("Snapshot {} has no metadata with key b.", s.id));
    assert_eq!(api(&snapshots::get_metadata_key(admin, &s.id, "b").unwrap_err()), missing);
    assert_eq!(api(&snapshots::delete_metadata_key(admin, &s.id, "b").unwrap_err()), missing);
    let replaced = snapshots::update_metadata(admin, &s.id, &UpdateMetadataOpts::new().set("only", "this")).unwrap();
    assert_eq!(replaced, map(&[("only", "this")]));
    assert_eq!(snapshots::get(admin, &s.id).unwrap().metadata, map(&[("only", "this")]));
    assert!(snapshots::update_metadata(admin, &s.id, &UpdateMetadataOpts::new()).unwrap().is_empty());
    // Raw bodies Cinder refuses.
    let path = ["snapshots", s.id.as_str(), "metadata", "only"];
    assert_eq!(raw_err(admin, Request::put(path).json(json!({"meta": {"other": "x"}}))), bad_request("Request body and URI mismatch"));
    assert_eq!(raw_err(admin, Request::put(path).json(json!({"metadata": {"only": "x"}}))), bad_request("'meta' is a required property"));
    let post = Request::post(["snapshots", s.id.as_str(), "metadata"]).json(json!({"meta": {"a": "b"}}));
    assert_eq!(raw_err(admin, post), bad_request("'metadata' is a required property"));
}

/// Cinder's error bodies: 404 `itemNotFound` for unknown snapshots, volumes and markers
/// (with a request id), 400 `badRequest` for a bad sort direction, an unknown sort key, a
/// negative or non-numeric limit; `limit=0` is an empty page.
pub fn error_bodies(env: &dyn Env) {
    let admin = env.admin();
    let unknown = "0b0b0b0b-0000-4000-8000-00000000beef";
    let err = snapshots::get(admin, unknown).unwrap_err();
    assert_eq!(api(&err), not_found(format!("Snapshot {unknown} could not be found.")));
    assert!(err.request_id().is_some_and(|r| r.starts_with("req-")), "{err}");
    assert_eq!(api(&snapshots::get_metadata(admin, unknown).unwrap_err()), not_found(format!("Snapshot {unknown} could not be found.")));
    assert_eq!(api(&volumes::get(admin, unknown).unwrap_err()), not_found(format!("Volume {unknown} could not be found.")));
    assert_eq!(
        api(&snapshots::create(admin, &CreateOpts::new(unknown)).unwrap_err()),
        not_found(format!("Volume {unknown} could not be found."))
    );
    let err = snapshots::list(admin, &ListOpts::new().marker(unknown)).and_then(|p| p.all()).unwrap_err();
    assert_eq!(api(&err), not_found(format!("Snapshot {unknown} could not be found.")));

    let list = |q: &[(&'static str, &'static str)]| Request::get(["snapshots"]).query(q.iter().copied());
    assert_eq!(
        raw_err(admin, list(&[("sort", "name:sideways")])),
        bad_request("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.")
    );
    assert_eq!(raw_err(admin, list(&[("sort", "bogus:asc")])), bad_request("Invalid input received: Invalid sort key"));
    assert_eq!(raw_err(admin, list(&[("sort", "size:asc")])), bad_request("Invalid input received: Invalid sort key"));
    assert_eq!(raw_err(admin, list(&[("limit", "-1")])), bad_request("limit param must be positive"));
    assert_eq!(raw_err(admin, list(&[("limit", "many")])), bad_request("limit param must be an integer"));
    let body: Value = serde_json::from_slice(&admin.send(list(&[("limit", "0")])).unwrap().body).unwrap();
    assert_eq!(body, json!({"snapshots": []}), "limit=0: an empty page without a link");
}

/// A snapshot that fails (the fake's backend failure, the real cloud's admin reset): its
/// status is `error`, a wait for `available` ends at once as `Failed("error")`, the
/// `status=error` filter finds it, and it can be deleted.
pub fn snapshot_driven_to_error(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("fail"), &[]);
    let s = available(env, admin, &CreateOpts::new(&volume));
    env.fail_snapshot(&s.id);
    assert_eq!(snapshots::get(admin, &s.id).unwrap().status, SnapshotStatus::Error);
    let err = snapshots::wait_for_status(admin, &s.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap_err();
    let Error::Wait(w) = &err else { panic!("not a wait error: {err}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()));
    assert_eq!(w.last_status.as_deref(), Some("error"));
    // The fake fails it as Cinder's volume manager does when the backend fails, with a user
    // message; the real cloud's admin reset leaves none (Cinder writes messages only for
    // failures of its own).
    assert_eq!(w.user_message, env.failure_message());
    assert_eq!(detail(admin, &ListOpts::new().volume_id(&volume).status(SnapshotStatus::Error)), vec![s.id.clone()]);
    assert!(detail(admin, &ListOpts::new().volume_id(&volume).status(SnapshotStatus::Available)).is_empty());
    snapshots::delete(admin, &s.id).unwrap();
    snapshots::wait_for_delete(admin, &s.id, &WaitOpts::new()).unwrap();
}

/// A snapshot of an attached (`in-use`) volume: below 3.66 refused without `force` (and with
/// `force=false`), accepted with it; from 3.66 accepted without it, and `force=false` is
/// refused with Cinder's own message.
pub fn in_use_volume_by_microversion(env: &dyn Env) {
    let volume = env.in_use_volume(&env.unique("attached"));
    let old = env.pinned(Who::Admin, 65);
    let new = env.pinned(Who::Admin, 66);
    let refused = bad_request(format!("Invalid volume: Volume {volume} status must be available, but current status is: in-use."));
    assert_eq!(api(&snapshots::create(&old, &CreateOpts::new(&volume)).unwrap_err()), refused);
    let force_false = || Request::post(["snapshots"]).json(json!({"snapshot": {"volume_id": volume, "force": false}}));
    assert_eq!(raw_err(&old, force_false()), refused);
    let forced = create(env, &old, &CreateOpts::new(&volume).force(true));
    assert_eq!(forced.status, SnapshotStatus::Creating);
    snapshots::wait_for_status(&old, &forced.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    let plain = available(env, &new, &CreateOpts::new(&volume));
    assert_eq!(plain.volume_id, volume);
    assert_eq!(
        raw_err(&new, force_false()),
        bad_request(
            "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored."
        )
    );
    let v = volumes::get(env.admin(), &volume).unwrap();
    assert_eq!(v.status, VolumeStatus::InUse);
    assert_eq!(v.server_ids().len(), 1);
    assert_eq!(detail(env.admin(), &ListOpts::new().volume_id(&volume)).len(), 2);
}

/// Over the snapshot quota: Cinder's 413 `overLimit` with its message naming the limit,
/// `retryAfter` 0, not retried; under it again, a create succeeds.
pub fn quota_over_limit(env: &dyn Env) {
    let member = env.member();
    let volume = env.volume(Who::Member, &env.unique("quota"), &[]);
    available(env, member, &CreateOpts::new(&volume));
    let held = u32::try_from(snapshots::list(member, &ListOpts::new()).unwrap().count()).unwrap();
    env.set_snapshot_quota(Who::Member, Some(held));
    let over = snapshots::create(member, &CreateOpts::new(&volume));
    env.set_snapshot_quota(Who::Member, None);
    let err = match over {
        Ok(s) => {
            env.track_snapshot(&s.id);
            panic!("a create over the quota was accepted")
        }
        Err(e) => e,
    };
    assert!(err.is_over_limit());
    assert_eq!(
        api(&err),
        (413, Some("overLimit".into()), format!("SnapshotLimitExceeded: Maximum number of snapshots allowed ({held}) exceeded"))
    );
    assert_eq!(err.api().unwrap().retry_after, Some(std::time::Duration::ZERO));
    assert_eq!(err.api().unwrap().attempts, 1, "a 413 is not retried");
    available(env, member, &CreateOpts::new(&volume));
}

/// Two projects: the member sees only its own (the admin's snapshot is a 404, its
/// `all_tenants` is dropped); the admin lists the member's with `all_tenants` and
/// `project_id`, and reads it by id with its project and user; the member may not reset a
/// status (403).
pub fn two_projects(env: &dyn Env) {
    let (admin, member) = (env.admin(), env.member());
    let run = env.unique("projects");
    let mine = env.volume(Who::Admin, &env.unique("proj-admin"), &[]);
    let theirs = env.volume(Who::Member, &env.unique("proj-member"), &[]);
    let a = available(env, admin, &CreateOpts::new(&mine).metadata("run", &run));
    let m = available(env, member, &CreateOpts::new(&theirs).metadata("run", &run));
    let member_project = project_of(member);
    let run_opts = || ListOpts::new().metadata("run", &run);

    assert_eq!(detail(admin, &run_opts()), vec![a.id.clone()]);
    assert_eq!(detail(admin, &run_opts().all_projects(true)), [m.id.clone(), a.id.clone()]);
    assert_eq!(detail(admin, &run_opts().all_projects(true).project_id(&member_project)), vec![m.id.clone()]);
    assert_eq!(detail(member, &run_opts()), vec![m.id.clone()]);
    assert_eq!(detail(member, &run_opts().all_projects(true)), vec![m.id.clone()]);
    let vols = |c: &ServiceClient, opts: volumes::ListOpts| -> Vec<String> {
        volumes::list_detail(c, &opts).unwrap().all().unwrap().into_iter().map(|v| v.id).filter(|id| *id == mine || *id == theirs).collect()
    };
    assert_eq!(vols(admin, volumes::ListOpts::new().all_projects(true)), [theirs.clone(), mine.clone()]);
    assert_eq!(vols(member, volumes::ListOpts::new().all_projects(true)), vec![theirs.clone()]);
    assert_eq!(vols(admin, volumes::ListOpts::new()), vec![mine.clone()]);

    let seen = snapshots::get(admin, &m.id).unwrap();
    assert_eq!(seen.project_id.as_deref(), Some(member_project.as_str()));
    assert_eq!(seen.user_id, m.user_id);
    assert_eq!(api(&snapshots::get(member, &a.id).unwrap_err()), not_found(format!("Snapshot {} could not be found.", a.id)));
    assert_eq!(api(&volumes::get(member, &mine).unwrap_err()), not_found(format!("Volume {mine} could not be found.")));
    assert_eq!(
        api(&snapshots::create(member, &CreateOpts::new(&mine)).unwrap_err()),
        not_found(format!("Volume {mine} could not be found."))
    );
    let err = snapshots::reset_status(member, &m.id, SnapshotStatus::Error).unwrap_err();
    assert_eq!(
        api(&err),
        (
            403,
            Some("forbidden".into()),
            "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.".into()
        )
    );
}

/// A volume made from a snapshot (its size), and a revert to the latest snapshot: refused
/// for an older snapshot (400) and below 3.40 (404 from the server, refused by the client
/// before sending), then done (`reverting`, then `available`).
pub fn volume_from_snapshot_and_revert(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("revert"), &[]);
    let first = available(env, admin, &CreateOpts::new(&volume).name("first"));
    let restored = volumes::create(admin, &volumes::CreateOpts::from_snapshot(&first.id).name(env.unique("restored"))).unwrap();
    env.track_volume(&restored.id);
    assert_eq!(restored.snapshot_id.as_deref(), Some(first.id.as_str()));
    let restored = volumes::wait_for_status(admin, &restored.id, VolumeStatus::Available, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(restored.size, 1);
    let err = volumes::create(admin, &volumes::CreateOpts::from_snapshot("0b0b0b0b-0000-4000-8000-00000000beef")).unwrap_err();
    assert_eq!(api(&err), not_found("Snapshot 0b0b0b0b-0000-4000-8000-00000000beef could not be found."));

    let latest = available(env, admin, &CreateOpts::new(&volume).name("latest"));
    let err = volumes::revert_to_snapshot(admin, &volume, &first.id).unwrap_err();
    assert_eq!(api(&err), bad_request(format!("Specified snapshot {} is None or not the latest one of volume {volume}.", first.id)));
    assert_eq!(volumes::revert_refusal(&err), Some(volumes::RevertRefusal::NotLatestSnapshot));
    let action = Request::post(["volumes", volume.as_str(), "action"]).json(json!({"revert": {"snapshot_id": latest.id}}));
    assert_eq!(raw_err(admin, action.microversion(Microversion::new(3, 39))), not_found("The resource could not be found."));
    let err = volumes::revert_to_snapshot(admin, &restored.id, &first.id).unwrap_err();
    assert_eq!(api(&err), bad_request(format!("Volume {} doesn't have any snapshots.", restored.id)));
    volumes::revert_to_snapshot(admin, &volume, &latest.id).unwrap();
    let reverted = volumes::wait_for_revert(admin, &volume, &volumes::WaitOpts::new()).unwrap();
    assert_eq!(reverted.status, VolumeStatus::Available);
    let latest = snapshots::wait_for_status(admin, &latest.id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    assert_eq!(latest.status, SnapshotStatus::Available);
}

/// A member's filters at 3.71: a filter outside Cinder's default allow-list (`name~`,
/// `project_id`, an unknown key) is a 400 naming them; `all_tenants` is dropped without a
/// word. The admin's unknown filter lists nothing.
pub fn member_filter_policy(env: &dyn Env) {
    let (admin, member) = (env.admin(), env.member());
    let q = |pairs: &[(&'static str, &'static str)]| Request::get(["snapshots"]).query(pairs.iter().copied());
    assert_eq!(raw_err(member, q(&[("name~", "x")])), bad_request("Invalid filters name~ are found in query options."));
    assert_eq!(
        raw_err(member, q(&[("foo", "bar"), ("project_id", "x")])),
        bad_request("Invalid filters foo,project_id are found in query options.")
    );
    let body: Value = serde_json::from_slice(&member.send(q(&[("all_tenants", "1"), ("limit", "1")])).unwrap().body).unwrap();
    assert!(body["snapshots"].is_array());
    assert_eq!(raw_ids(admin, &[("foo", "bar")], 71), Vec::<String>::new());
}

/// Snapshot create on a volume Cinder will not snapshot: `error` and `maintenance` have
/// their own messages (even with `force`); `creating` names the statuses allowed, which
/// depend on the microversion.
pub fn volume_states_refused(env: &dyn Env) {
    let admin = env.admin();
    let broken = env.volume_in_status(&env.unique("state-error"), VolumeStatus::Error);
    let parked = env.volume_in_status(&env.unique("state-maintenance"), VolumeStatus::Maintenance);
    let busy = env.volume_in_status(&env.unique("state-creating"), VolumeStatus::Creating);
    let old = env.pinned(Who::Admin, 65);
    for client in [admin, &old] {
        for force in [false, true] {
            let err = snapshots::create(client, &CreateOpts::new(&broken).force(force)).unwrap_err();
            assert_eq!(api(&err), bad_request("Invalid volume: The snapshot cannot be created when the volume is in error status."));
            let err = snapshots::create(client, &CreateOpts::new(&parked).force(force)).unwrap_err();
            assert_eq!(api(&err), bad_request("Invalid volume: The snapshot cannot be created when the volume is in maintenance mode."));
        }
    }
    let err = snapshots::create(admin, &CreateOpts::new(&busy)).unwrap_err();
    assert_eq!(
        api(&err),
        bad_request(format!("Invalid volume: Volume {busy} status must be available, in-use, but current status is: creating."))
    );
    let err = snapshots::create(&old, &CreateOpts::new(&busy)).unwrap_err();
    assert_eq!(api(&err), bad_request(format!("Invalid volume: Volume {busy} status must be available, but current status is: creating.")));
    for v in [&broken, &parked, &busy] {
        assert!(detail(admin, &ListOpts::new().volume_id(v)).is_empty(), "no snapshot was made");
    }
}

/// The refusals of a restore: a volume from a snapshot that is not `available` (400), a
/// volume smaller than its snapshot (400); a revert to a snapshot that is not `available`
/// (409), after which Cinder leaves the volume `reverting`.
pub fn restore_refusals(env: &dyn Env) {
    let admin = env.admin();
    let big = volumes::create(admin, &volumes::CreateOpts::new(2).name(env.unique("big"))).unwrap();
    env.track_volume(&big.id);
    volumes::wait_for_status(admin, &big.id, VolumeStatus::Available, &volumes::WaitOpts::new()).unwrap();
    let snap = available(env, admin, &CreateOpts::new(&big.id));
    assert_eq!(snap.size, 2);
    let small = volumes::create(admin, &volumes::CreateOpts::from_snapshot(&snap.id).size(1)).map(|v| env.track_volume(&v.id));
    assert_eq!(
        api(&small.unwrap_err()),
        bad_request(
            "Invalid input received: Volume size '1'GB cannot be smaller than the snapshot size 2GB. They must be >= original snapshot size."
        )
    );
    snapshots::reset_status(admin, &snap.id, SnapshotStatus::Error).unwrap();
    let from_error = volumes::create(admin, &volumes::CreateOpts::from_snapshot(&snap.id)).map(|v| env.track_volume(&v.id));
    assert_eq!(
        api(&from_error.unwrap_err()),
        bad_request("Invalid snapshot: Originating snapshot status must be one of 'available' values")
    );
    let err = volumes::revert_to_snapshot(admin, &big.id, &snap.id).unwrap_err();
    assert_eq!(
        api(&err),
        (
            409,
            Some("conflictingRequest".into()),
            format!(
                "Invalid snapshot: Can't revert volume {} to its latest snapshot {}. Snapshot's status must be 'available'.",
                big.id, snap.id
            )
        )
    );
    assert_eq!(volumes::revert_refusal(&err), Some(volumes::RevertRefusal::SnapshotNotAvailable));
    assert_eq!(volumes::get(admin, &big.id).unwrap().status, VolumeStatus::Reverting, "Cinder leaves the volume reverting");
}

/// Snapshot update (name, description, clearing the name) and `os-update_snapshot_status`
/// (the transitions Cinder allows, its 400s for the others).
pub fn update_and_update_status(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("update"), &[]);
    let s = available(env, admin, &CreateOpts::new(&volume).name("before"));
    let updated = snapshots::update(admin, &s.id, &snapshots::UpdateOpts::new().name("after").description("changed")).unwrap();
    assert_eq!((updated.name.as_deref(), updated.description.as_deref()), (Some("after"), Some("changed")));
    assert_eq!(updated.status, SnapshotStatus::Available);
    let cleared = snapshots::update(admin, &s.id, &snapshots::UpdateOpts::new().clear_name()).unwrap();
    assert_eq!((cleared.name, cleared.description.as_deref()), (None, Some("changed")));
    assert_eq!(snapshots::get(admin, &s.id).unwrap().name, None);
    let empty = Request::put(["snapshots", s.id.as_str()]).json(json!({"snapshot": {}}));
    assert_eq!(raw_err(admin, empty).0, 400);

    let status = |st: SnapshotStatus| snapshots::UpdateStatusOpts::new(st);
    let err = snapshots::update_status(admin, &s.id, &status(SnapshotStatus::Error)).unwrap_err();
    assert_eq!(api(&err), bad_request("Snapshot status available not allowed for update_snapshot_status"));
    snapshots::reset_status(admin, &s.id, SnapshotStatus::Creating).unwrap();
    snapshots::update_status(admin, &s.id, &status(SnapshotStatus::Creating).progress("50%")).unwrap();
    assert_eq!(snapshots::get(admin, &s.id).unwrap().progress.as_deref(), Some("50%"));
    let err = snapshots::update_status(admin, &s.id, &status(SnapshotStatus::Deleting)).unwrap_err();
    assert_eq!(api(&err), bad_request("Provided snapshot status deleting not allowed for snapshot with status creating."));
    snapshots::update_status(admin, &s.id, &status(SnapshotStatus::Available)).unwrap();
    let done = snapshots::get(admin, &s.id).unwrap();
    assert_eq!(done.status, SnapshotStatus::Available);
}

/// The keys of `body[key]` (an object, or the first item of a list), sorted.
fn keys_of(body: &Value, key: &str) -> Vec<String> {
    let item = match &body[key] {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let mut keys: Vec<String> = item.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}

fn raw_json(client: &ServiceClient, request: Request) -> Value {
    serde_json::from_slice(&client.send(request).expect("raw call").body).expect("JSON")
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

const SNAPSHOT_BASE: [&str; 9] = ["id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata"];
const SNAPSHOT_371: [&str; 3] = ["group_snapshot_id", "user_id", "consumes_quota"];
const EXTENDED: [&str; 2] = ["os-extended-snapshot-attributes:project_id", "os-extended-snapshot-attributes:progress"];
const VOLUME_CREATED: [&str; 29] = [
    "id",
    "status",
    "size",
    "availability_zone",
    "created_at",
    "updated_at",
    "name",
    "description",
    "volume_type",
    "snapshot_id",
    "source_volid",
    "metadata",
    "links",
    "user_id",
    "bootable",
    "encrypted",
    "replication_status",
    "consistencygroup_id",
    "multiattach",
    "attachments",
    "migration_status",
    "group_id",
    "provider_id",
    "shared_targets",
    "service_uuid",
    "cluster_name",
    "volume_type_id",
    "consumes_quota",
    "os-vol-tenant-attr:tenant_id",
];
const VOLUME_ADMIN: [&str; 3] = ["os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id", "os-vol-host-attr:host"];

/// The shapes of the answers, key for key, as Cinder 29 sends them: a snapshot's create,
/// show, update, summary and detail listings at 3.71 and 3.0 (the admin's and the member's),
/// a volume's create, show (attached: its attachment), and summary listing.
pub fn answer_shapes(env: &dyn Env) {
    let (admin, member) = (env.admin(), env.member());
    let volume = env.in_use_volume(&env.unique("shapes"));
    let mv = |minor| Microversion::new(3, minor);
    let created = raw_json(admin, Request::post(["snapshots"]).json(json!({"snapshot": {"volume_id": volume, "name": "shape"}})));
    let id = created["snapshot"]["id"].as_str().expect("id").to_owned();
    env.track_snapshot(&id);
    snapshots::wait_for_status(admin, &id, SnapshotStatus::Available, &WaitOpts::new()).unwrap();
    let detail_371: Vec<&str> = SNAPSHOT_BASE.iter().chain(&SNAPSHOT_371).chain(&EXTENDED).copied().collect();
    let created_371: Vec<&str> = SNAPSHOT_BASE.iter().chain(&SNAPSHOT_371).copied().collect();
    let detail_30: Vec<&str> = SNAPSHOT_BASE.iter().chain(&EXTENDED).copied().collect();
    assert_eq!(keys_of(&created, "snapshot"), sorted(&created_371), "create at 3.71");
    assert_eq!(keys_of(&raw_json(admin, Request::get(["snapshots", id.as_str()])), "snapshot"), sorted(&detail_371), "show at 3.71");
    let show_30 = raw_json(admin, Request::get(["snapshots", id.as_str()]).microversion(mv(0)));
    assert_eq!(keys_of(&show_30, "snapshot"), sorted(&detail_30), "show at 3.0");
    let updated = raw_json(admin, Request::put(["snapshots", id.as_str()]).json(json!({"snapshot": {"description": "d"}})));
    assert_eq!(keys_of(&updated, "snapshot"), sorted(&created_371), "update at 3.71");
    let listing = |c: &ServiceClient, detail: bool, minor| {
        let path: Vec<&str> = if detail { vec!["snapshots", "detail"] } else { vec!["snapshots"] };
        let q = [("volume_id", volume.as_str())];
        keys_of(&raw_json(c, Request::get(path).query(q).microversion(mv(minor))), "snapshots")
    };
    assert_eq!(listing(admin, false, 71), sorted(&SNAPSHOT_BASE), "summary listing");
    assert_eq!(listing(admin, true, 71), sorted(&detail_371), "detail listing at 3.71");
    assert_eq!(listing(admin, true, 0), sorted(&detail_30), "detail listing at 3.0");

    let theirs = env.volume(Who::Member, &env.unique("shapes-member"), &[]);
    let m = available(env, member, &CreateOpts::new(&theirs));
    let member_show = raw_json(member, Request::get(["snapshots", m.id.as_str()]));
    assert_eq!(keys_of(&member_show, "snapshot"), sorted(&detail_371), "a member's show at 3.71");
    // A member sees neither the admin's `os-vol-*` attributes nor `cluster_name`,
    // `migration_status` and `provider_id`.
    let member_keys: Vec<&str> =
        VOLUME_CREATED.iter().copied().filter(|k| !["cluster_name", "migration_status", "provider_id"].contains(k)).collect();
    let member_volume = raw_json(member, Request::get(["volumes", theirs.as_str()]));
    assert_eq!(keys_of(&member_volume, "volume"), sorted(&member_keys), "a member's volume show");
    let member_listing = raw_json(
        member,
        Request::get(["volumes", "detail"]).query([("name", member_volume["volume"]["name"].as_str().unwrap_or_default())]),
    );
    assert_eq!(keys_of(&member_listing, "volumes"), sorted(&member_keys), "a member's volume detail listing");

    let admin_volume: Vec<&str> = VOLUME_CREATED.iter().chain(&VOLUME_ADMIN).copied().collect();
    let shown = raw_json(admin, Request::get(["volumes", volume.as_str()]));
    assert_eq!(keys_of(&shown, "volume"), sorted(&admin_volume), "an admin's volume show");
    let attachment = &shown["volume"]["attachments"][0];
    let mut keys: Vec<String> = attachment.as_object().expect("an attachment").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, sorted(&["id", "attachment_id", "volume_id", "server_id", "host_name", "device", "attached_at"]));
    assert_eq!(attachment["volume_id"], json!(volume));
    let summary = raw_json(admin, Request::get(["volumes"]).query([("name", shown["volume"]["name"].as_str().unwrap_or_default())]));
    assert_eq!(keys_of(&summary, "volumes"), sorted(&["id", "name", "links"]));
}

/// Volume metadata (issue 23's enrolment): merge (POST) keeps the other items, replace (PUT)
/// drops them, a key delete, a missing key's 404, a body without `metadata` (400), a volume
/// in `maintenance` (400 for a write and for a delete of a key it has, the missing key's 404
/// first), and another project's volume for a member (404).
pub fn volume_metadata_calls(env: &dyn Env) {
    let admin = env.admin();
    let volume = env.volume(Who::Admin, &env.unique("vmeta"), &[("a", "1")]);
    let merged = volumes::merge_metadata(admin, &volume, &UpdateMetadataOpts::new().set("backup", "nightly")).unwrap();
    assert_eq!(merged, map(&[("a", "1"), ("backup", "nightly")]));
    assert_eq!(volumes::get_metadata(admin, &volume).unwrap(), merged);
    assert_eq!(volumes::get(admin, &volume).unwrap().metadata, merged);
    volumes::delete_metadata_key(admin, &volume, "a").unwrap();
    let missing = not_found(format!("Volume {volume} has no metadata with key a."));
    assert_eq!(api(&volumes::delete_metadata_key(admin, &volume, "a").unwrap_err()), missing);
    assert_eq!(volumes::update_metadata(admin, &volume, &UpdateMetadataOpts::new().set("x", "y")).unwrap(), map(&[("x", "y")]));
    let post = Request::post(["volumes", volume.as_str(), "metadata"]).json(json!({"meta": {"a": "b"}}));
    assert_eq!(raw_err(admin, post), bad_request("'metadata' is a required property"));
    let err = volumes::merge_metadata(env.member(), &volume, &UpdateMetadataOpts::new().set("a", "b")).unwrap_err();
    assert_eq!(api(&err), not_found(format!("Volume {volume} could not be found.")));

    let parked = env.volume_in_status(&env.unique("vmeta-maintenance"), VolumeStatus::Maintenance);
    let err = volumes::merge_metadata(admin, &parked, &UpdateMetadataOpts::new().set("a", "b")).unwrap_err();
    assert_eq!(api(&err), bad_request("Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status."));
    let err = volumes::update_metadata(admin, &parked, &UpdateMetadataOpts::new().set("a", "b")).unwrap_err();
    assert_eq!(api(&err), bad_request("Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status."));
    let err = volumes::delete_metadata_key(admin, &parked, "a").unwrap_err();
    assert_eq!(api(&err), not_found(format!("Volume {parked} has no metadata with key a.")));
    assert!(volumes::get_metadata(admin, &parked).unwrap().is_empty());
}
