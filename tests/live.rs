//! The live suite: every public call against a real Keystone and Cinder.
//!
//! Ignored by plain `cargo test`. `scripts/live-tests` starts a fresh local cloud and runs it
//! with the admin's `OS_*` variables in the environment and `MEMBER_ENV` naming the member's
//! env file; against another cloud, export the same and run
//! `cargo test --test live -- --ignored --test-threads=1`.
//!
//! Each test makes its own volumes and snapshots and removes them when it ends, also when
//! it fails (the `Scratch` guard).

mod livecloud;

use livecloud::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cinder_snapshots::snapshots::{
    self, CreateOpts, ListOpts, Snapshot, SnapshotStatus, SortDir, SortKey, UpdateMetadataOpts, UpdateOpts, UpdateStatusOpts, WaitOpts,
};
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, Request, ServiceClient, ServiceClientBuilder, WaitErrorKind};
use serde_json::{Value, json};

const MV30: Microversion = Microversion::new(3, 0);

/// Polls fast: the fake backend moves a snapshot in about 0.1 s.
fn quick() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(100)).max_interval(Duration::from_secs(1)).timeout(Duration::from_secs(60))
}

fn client(vars: &[(String, String)], policy: MicroversionPolicy) -> ServiceClient {
    ServiceClientBuilder::from_vars(vars.to_vec()).expect("OS_* variables").microversion(policy).build().expect("client")
}

/// The four clients every call is tried with: admin and member, at 3.0 and negotiated.
struct Clients {
    admin: ServiceClient,
    admin30: ServiceClient,
    member: ServiceClient,
    member30: ServiceClient,
}

fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let (a, m) = (admin_vars(), member_vars());
        let c = Clients {
            admin: client(&a, MicroversionPolicy::Negotiate),
            admin30: client(&a, MicroversionPolicy::Pinned(MV30)),
            member: client(&m, MicroversionPolicy::Negotiate),
            member30: client(&m, MicroversionPolicy::Pinned(MV30)),
        };
        // Room for the pagination test and the parallel volumes, in both projects.
        for project in [project_of(&c.admin), project_of(&c.member)] {
            c.admin
                .send(
                    Request::put(["os-quota-sets", project.as_str()])
                        .json(json!({"quota_set": {"snapshots": 200, "volumes": 50, "gigabytes": 1000}})),
                )
                .expect("raise quotas");
        }
        c
    })
}

fn all_four() -> [(&'static str, &'static ServiceClient); 4] {
    let c = clients();
    [("admin", &c.admin), ("admin@3.0", &c.admin30), ("member", &c.member), ("member@3.0", &c.member30)]
}

/// The project id: the last segment of the catalog endpoint (`.../v3/<project>`).
fn project_of(client: &ServiceClient) -> String {
    let endpoint = client.endpoint().expect("endpoint");
    endpoint.path_segments().and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned)).expect("project in endpoint")
}

/// Volumes and snapshots made by one test, removed when it ends (also on panic).
struct Scratch {
    owner: ServiceClient,
    volumes: Mutex<Vec<String>>,
    snapshots: Mutex<Vec<String>>,
}

impl Scratch {
    fn new(owner: &ServiceClient) -> Scratch {
        Scratch { owner: owner.clone(), volumes: Mutex::new(Vec::new()), snapshots: Mutex::new(Vec::new()) }
    }

    /// A 1 GiB volume, available.
    fn volume(&self) -> String {
        let v: Value = self
            .owner
            .send(Request::post(["volumes"]).json(json!({"volume": {"size": 1, "name": "live-test"}})))
            .unwrap()
            .json("volume")
            .unwrap();
        let id = v["volume"]["id"].as_str().expect("volume id").to_owned();
        self.volumes.lock().unwrap().push(id.clone());
        wait_volume(&self.owner, &id, "available");
        id
    }

    /// A volume attached through the attachments API (in-use), as an admin would do it.
    fn in_use_volume(&self) -> String {
        let id = self.volume();
        let connector = json!({"initiator": "iqn.1993-08.org.debian:01:live", "ip": "127.0.0.1", "platform": "x86_64",
                               "host": "live-test", "os_type": "linux2", "multipath": false});
        let body =
            json!({"attachment": {"volume_uuid": id, "instance_uuid": "8a1b2c3d-0000-4000-8000-000000000001", "connector": connector}});
        let a: Value = self
            .owner
            .send(Request::post(["attachments"]).json(body).microversion(Microversion::new(3, 44)))
            .unwrap()
            .json("attachment")
            .unwrap();
        let attachment = a["attachment"]["id"].as_str().expect("attachment id").to_owned();
        self.owner
            .send(
                Request::post(["attachments", attachment.as_str(), "action"])
                    .json(json!({"os-complete": {}}))
                    .microversion(Microversion::new(3, 44)),
            )
            .unwrap();
        wait_volume(&self.owner, &id, "in-use");
        id
    }

    /// Remembers a snapshot for clean-up.
    fn keep(&self, id: &str) {
        self.snapshots.lock().unwrap().push(id.to_owned());
    }

    /// Creates a snapshot with `client`, remembers it, waits until it is available.
    fn snapshot(&self, client: &ServiceClient, opts: &CreateOpts) -> snapshots::Snapshot {
        let s = snapshots::create(client, opts).expect("create snapshot");
        self.keep(&s.id);
        snapshots::wait_for_status(client, &s.id, SnapshotStatus::Available, &quick()).expect("snapshot available")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let admin = &clients().admin;
        let snaps = std::mem::take(&mut *self.snapshots.lock().unwrap_or_else(|e| e.into_inner()));
        for id in &snaps {
            let _ = snapshots::force_delete(admin, id);
        }
        for id in &snaps {
            let _ = snapshots::wait_for_delete(admin, id, &quick());
        }
        let volumes = std::mem::take(&mut *self.volumes.lock().unwrap_or_else(|e| e.into_inner()));
        for id in &volumes {
            let reset = json!({"os-reset_status": {"status": "available", "attach_status": "detached"}});
            let _ = self.owner.send(Request::post(["volumes", id.as_str(), "action"]).json(reset.clone()));
            let _ = admin.send(Request::post(["volumes", id.as_str(), "action"]).json(reset));
            let _ = self.owner.send(Request::delete(["volumes", id.as_str()]));
        }
    }
}

fn wait_volume(client: &ServiceClient, id: &str, status: &str) {
    let start = Instant::now();
    loop {
        let v: Value = client.send(Request::get(["volumes", id])).unwrap().json("volume").unwrap();
        let now = v["volume"]["status"].as_str().unwrap_or_default().to_owned();
        if now == status {
            return;
        }
        assert!(now != "error" && start.elapsed() < Duration::from_secs(60), "volume {id} is {now}, wanted {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn api_status(e: &Error) -> Option<u16> {
    e.api().map(|a| a.status)
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn create_wait_get_update_delete_as_each_role_and_microversion() {
    for (who, c) in all_four() {
        let scratch = Scratch::new(c);
        let volume = scratch.volume();
        let mv = c.microversion().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let created = snapshots::create(c, &CreateOpts::new(&volume)).unwrap();
        scratch.keep(&created.id);
        assert_eq!(created.status, SnapshotStatus::Creating, "{who}");
        assert_eq!(created.name, None, "{who}: a minimal snapshot has no name");
        assert_eq!(created.volume_id, volume);
        let opts = quick().on_progress(move |s| seen2.lock().unwrap().push(s.status.clone()));
        let snap = snapshots::wait_for_status(c, &created.id, SnapshotStatus::Available, &opts).unwrap();
        assert_eq!(snap.status, SnapshotStatus::Available);
        assert_eq!(seen.lock().unwrap().last(), Some(&SnapshotStatus::Available), "{who}: the callback saw the final state");
        assert_eq!(snap.size, 1);
        assert!(snap.created_at.is_some(), "{who}: created_at parsed");

        let got = snapshots::get(c, &snap.id).unwrap();
        assert_eq!(got.id, snap.id);
        if mv >= Microversion::new(3, 65) {
            assert_eq!(got.consumes_quota, Some(true), "{who}");
            assert!(got.user_id.is_some(), "{who}: user_id at {mv}");
        } else {
            assert_eq!(got.consumes_quota, None, "{who}");
            assert_eq!(got.user_id, None, "{who}");
        }

        let updated = snapshots::update(c, &snap.id, &UpdateOpts::new().name(format!("renamed-{who}")).description("live")).unwrap();
        assert_eq!(updated.name.as_deref(), Some(format!("renamed-{who}").as_str()));
        assert_eq!(updated.description.as_deref(), Some("live"));
        let cleared = snapshots::update(c, &snap.id, &UpdateOpts::new().clear_description()).unwrap();
        assert_eq!(cleared.description, None);
        assert!(snapshots::get(c, &snap.id).unwrap().updated_at.is_some());

        snapshots::delete(c, &snap.id).unwrap();
        snapshots::wait_for_delete(c, &snap.id, &quick()).unwrap();
        let gone = snapshots::get(c, &snap.id).unwrap_err();
        assert!(gone.is_not_found(), "{who}: {gone}");
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn create_with_metadata_and_on_an_in_use_volume() {
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let volume = scratch.in_use_volume();
    let opts =
        CreateOpts::new(&volume).name("in-use").description("attached").metadata("tier", "gold").metadata("a/b", "slash ok on create");

    // Below 3.66 an in-use volume needs force.
    let err = snapshots::create(&c.admin30, &opts).unwrap_err();
    assert!(err.is_bad_request(), "{err}");
    assert!(err.api().unwrap().message.contains("in-use"), "{err}");
    let forced = scratch.snapshot(&c.admin30, &opts.clone().force(true));
    assert_eq!(forced.metadata, BTreeMap::from([("a/b".into(), "slash ok on create".into()), ("tier".into(), "gold".into())]));

    // From 3.66 it does not.
    let snap = scratch.snapshot(&c.admin, &opts);
    assert_eq!(snap.name.as_deref(), Some("in-use"));
    assert_eq!(snap.metadata.get("tier").map(String::as_str), Some("gold"));
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn list_and_list_detail_with_each_filter_and_sort() {
    let c = clients();
    for (who, client) in [("admin", &c.admin), ("member", &c.member)] {
        let scratch = Scratch::new(client);
        let (v1, v2) = (scratch.volume(), scratch.volume());
        let tag = format!("{}-{who}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        let a = scratch.snapshot(client, &CreateOpts::new(&v1).name(format!("alpha-{tag}")).metadata("tier", "gold").metadata("tag", &tag));
        let b =
            scratch.snapshot(client, &CreateOpts::new(&v1).name(format!("beta-{tag}")).metadata("tier", "silver").metadata("tag", &tag));
        let g = scratch.snapshot(client, &CreateOpts::new(&v2).name(format!("gamma-{tag}")).metadata("tag", &tag));
        let ids = |opts: &ListOpts, detail: bool| -> Vec<String> {
            let pager = if detail { snapshots::list_detail(client, opts) } else { snapshots::list(client, opts) };
            pager.unwrap().map(|s| s.unwrap().id).collect()
        };
        for detail in [false, true] {
            let by_name = ListOpts::new().name(format!("beta-{tag}"));
            assert_eq!(ids(&by_name, detail), vec![b.id.clone()], "{who} name");
            let by_volume = ListOpts::new().volume_id(v2.clone());
            assert_eq!(ids(&by_volume, detail), vec![g.id.clone()], "{who} volume_id");
            let by_status = ListOpts::new().status(SnapshotStatus::Available).volume_id(v1.clone());
            assert_eq!(ids(&by_status, detail).len(), 2, "{who} status");
            let none = ListOpts::new().status(SnapshotStatus::Error).volume_id(v1.clone());
            assert!(ids(&none, detail).is_empty(), "{who} status error");
            let by_meta = ListOpts::new().metadata("tier", "gold").metadata("tag", tag.clone());
            assert_eq!(ids(&by_meta, detail), vec![a.id.clone()], "{who} metadata");
            let sorted = ListOpts::new().metadata("tag", tag.clone()).sort(SortKey::Name, SortDir::Desc);
            assert_eq!(ids(&sorted, detail), vec![g.id.clone(), b.id.clone(), a.id.clone()], "{who} sort name:desc");
            let quota = ListOpts::new().consumes_quota(true).volume_id(v2.clone());
            assert_eq!(ids(&quota, detail), vec![g.id.clone()], "{who} consumes_quota");
        }
        // Old-style sort at 3.0, and the microversion gate there.
        let old = if who == "admin" { &c.admin30 } else { &c.member30 };
        let legacy = ListOpts::new().volume_id(v1.clone()).sort_key(SortKey::CreatedAt).sort_dir(SortDir::Asc);
        let got: Vec<String> = snapshots::list(old, &legacy).unwrap().map(|s| s.unwrap().id).collect();
        assert_eq!(got, vec![a.id.clone(), b.id.clone()], "{who} sort_key/sort_dir at 3.0");
        let gated = ListOpts::new().metadata("tier", "gold");
        let err = snapshots::list(old, &gated).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(ref m) if m.contains("3.22")), "{err}");

        // with_count: the total on every page.
        let counted = ListOpts::new().metadata("tag", tag.clone()).with_count(true).limit(2);
        let pages: Vec<_> = snapshots::list_detail(client, &counted).unwrap().pages().map(|p| p.unwrap()).collect();
        assert!(pages.iter().all(|p| p.count == Some(3)), "{who}: count on every page");
        assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 3);
    }
    // name~ is allowed to admins by default.
    let scratch = Scratch::new(&c.admin);
    let v = scratch.volume();
    let s = scratch.snapshot(&c.admin, &CreateOpts::new(&v).name("needle-in-haystack").description("find me by like"));
    let like = ListOpts::new().name_like("in-hay").volume_id(v.clone());
    assert_eq!(snapshots::list(&c.admin, &like).unwrap().map(|x| x.unwrap().id).collect::<Vec<_>>(), vec![s.id.clone()]);
    let like = ListOpts::new().description_like("by like").volume_id(v.clone());
    assert_eq!(snapshots::list(&c.admin, &like).unwrap().map(|x| x.unwrap().id).collect::<Vec<_>>(), vec![s.id.clone()]);
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn all_tenants_and_project_id_for_admins() {
    let c = clients();
    let scratch = Scratch::new(&c.member);
    let v = scratch.volume();
    let s = scratch.snapshot(&c.member, &CreateOpts::new(&v).name("member-owned"));
    let member_project = project_of(&c.member);
    let mine = ListOpts::new().volume_id(v.clone());
    assert!(snapshots::list(&c.admin, &mine).unwrap().next().is_none(), "without all_tenants the admin sees only its project");
    let all = ListOpts::new().all_projects(true).volume_id(v.clone());
    let found: Vec<_> = snapshots::list_detail(&c.admin, &all).unwrap().map(|x| x.unwrap()).collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].project_id.as_deref(), Some(member_project.as_str()));
    let by_project = ListOpts::new().all_projects(true).project_id(member_project.clone());
    assert!(snapshots::list(&c.admin, &by_project).unwrap().any(|x| x.unwrap().id == s.id));
    // A member's all_tenants is dropped by Cinder: it sees its own snapshot only.
    let ids: Vec<_> = snapshots::list(&c.member, &all).unwrap().map(|x| x.unwrap().id).collect();
    assert_eq!(ids, vec![s.id.clone()]);
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn pagination_sees_every_snapshot_once_in_order() {
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let v = scratch.volume();
    let mut made = Vec::new();
    for i in 0..26 {
        let s = snapshots::create(&c.admin, &CreateOpts::new(&v).name(format!("page-{i:02}"))).unwrap();
        scratch.keep(&s.id);
        made.push(s.id);
    }
    for id in &made {
        snapshots::wait_for_status(&c.admin, id, SnapshotStatus::Available, &quick()).unwrap();
    }
    for (client, sort) in [(&c.admin, "name:asc"), (&c.admin30, "created_at:asc")] {
        for (limit, n) in [(5u32, 26usize), (5, 25), (13, 26), (7, 26)] {
            let opts = sorted(ListOpts::new().volume_id(v.clone()), sort).limit(limit);
            // n=25 skips the first snapshot with a marker: an exact multiple of the page size.
            let opts = if n == 25 { opts.marker(made[0].clone()) } else { opts };
            let pages: Vec<_> = snapshots::list(client, &opts).unwrap().pages().map(|p| p.unwrap()).collect();
            let ids: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(|s| s.id.clone())).collect();
            let want: Vec<String> = made.iter().skip(26 - n).cloned().collect();
            assert_eq!(ids, want, "limit {limit}, {n} snapshots, sort {sort}: each once, in order");
            let full_pages = n.div_ceil(limit as usize);
            let extra = usize::from(n % limit as usize == 0);
            assert_eq!(pages.len(), full_pages + extra, "limit {limit}, {n} snapshots: requests made");
            // The lazy iterator gives the same.
            let lazy: Vec<String> = snapshots::list(client, &opts).unwrap().map(|s| s.unwrap().id).collect();
            assert_eq!(lazy, want);
        }
    }
    // offset only applies to the first page.
    let opts = ListOpts::new().volume_id(v.clone()).sort(SortKey::Name, SortDir::Asc).limit(4).offset(3);
    let ids: Vec<String> = snapshots::list(&c.admin, &opts).unwrap().map(|s| s.unwrap().id).collect();
    assert_eq!(ids, made[3..].to_vec());
}

/// A listing by raw HTTP (ureq, the client's token and microversion), following each next
/// link's href by hand until a page has none: the ids in order and each page's size (one
/// request per page).
fn raw_listing(client: &ServiceClient, detail: bool, query: &[(&str, String)]) -> (Vec<String>, Vec<usize>) {
    let mut url = client.endpoint().expect("endpoint");
    url.path_segments_mut().expect("base URL").pop_if_empty().push("snapshots");
    if detail {
        url.path_segments_mut().expect("base URL").push("detail");
    }
    url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
    let (token, version) = (client.token().expect("token"), client.microversion().expect("microversion"));
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut next = Some(url.to_string());
    while let Some(href) = next.take() {
        assert!(sizes.len() < 50, "the raw listing runs away at {href}");
        let page: Value = ureq::get(&href)
            .header("X-Auth-Token", token.expose_secret())
            .header("OpenStack-API-Version", format!("volume {version}"))
            .header("Accept", "application/json")
            .call()
            .expect("raw GET")
            .body_mut()
            .read_json()
            .expect("raw page");
        let items = page["snapshots"].as_array().expect("snapshots");
        sizes.push(items.len());
        ids.extend(items.iter().map(|s| s["id"].as_str().expect("id").to_owned()));
        let links = page["snapshots_links"].as_array().cloned().unwrap_or_default();
        next = links.iter().find(|l| l["rel"] == "next").and_then(|l| l["href"].as_str()).map(str::to_owned);
    }
    (ids, sizes)
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn listings_above_the_page_cap_are_complete() {
    // scripts/live-tests starts the cloud with a low osapi_max_limit (--max-limit) and says
    // which in the env file; Cinder caps every page at it whatever the limit and links on.
    let Some(cap) = std::env::var("LOCAL_CLOUD_MAX_LIMIT").ok().and_then(|v| v.parse::<usize>().ok()) else {
        panic!("LOCAL_CLOUD_MAX_LIMIT is not set: scripts/live-tests starts the cloud with a low page cap (--max-limit)");
    };
    assert!((2..=40).contains(&cap), "the page cap ({cap}) is too high for this test to list beyond it");
    let n = cap + 8;
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let v = scratch.volume();
    let mut made = Vec::new();
    for i in 0..n {
        let s = snapshots::create(&c.admin, &CreateOpts::new(&v).name(format!("cap-{i:02}"))).unwrap();
        scratch.keep(&s.id);
        made.push(s.id);
    }
    for id in &made {
        snapshots::wait_for_status(&c.admin, id, SnapshotStatus::Available, &quick()).unwrap();
    }

    // The cap is in force: a limit above it gets `cap` snapshots and a next link.
    let above = u32::try_from(cap * 4).unwrap();
    let (ids, sizes) = raw_listing(&c.admin, false, &[("volume_id", v.clone()), ("limit", above.to_string())]);
    assert_eq!(sizes, [cap, n - cap], "raw HTTP: a page of the cap, then the rest");
    assert_eq!(ids.len(), n);

    let below = u32::try_from(cap / 2).unwrap(); // 7 of 15: 23 is not a multiple
    for (who, client, sort) in [("admin", &c.admin, "name:asc"), ("admin@3.0", &c.admin30, "created_at:asc")] {
        for detail in [false, true] {
            for limit in [Some(above), None, Some(below), Some(u32::try_from(cap).unwrap())] {
                let what = format!("{who}, detail {detail}, limit {limit:?}, cap {cap}, {n} snapshots");
                let opts = sorted(ListOpts::new().volume_id(v.clone()), sort);
                let opts = limit.map_or(opts.clone(), |l| opts.limit(l));
                let mut query = vec![("volume_id", v.clone()), ("sort", sort.to_owned())];
                query.extend(limit.map(|l| ("limit", l.to_string())));
                let (raw_ids, raw_sizes) = raw_listing(client, detail, &query);
                let pager = if detail { snapshots::list_detail(client, &opts) } else { snapshots::list(client, &opts) };
                let pages: Vec<_> = pager.unwrap().pages().map(|p| p.unwrap()).collect();
                let ids: Vec<String> = pages.iter().flat_map(|p| p.items.iter().map(|s| s.id.clone())).collect();
                assert_eq!(ids, raw_ids, "{what}: the same as raw HTTP");
                assert_eq!(ids, made, "{what}: each snapshot once, in order");
                // The same requests: one per page, the raw listing's pages.
                assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), raw_sizes, "{what}: pages");
                let page = limit.map_or(cap, |l| (l as usize).min(cap));
                assert_eq!(pages.len(), n / page + 1, "{what}: requests");
            }
        }
    }

    // with_count above the cap: the total on every page, and every page.
    let counted = ListOpts::new().volume_id(v.clone()).with_count(true).limit(above);
    let pages: Vec<_> = snapshots::list(&c.admin, &counted).unwrap().pages().map(|p| p.unwrap()).collect();
    assert_eq!(pages.iter().map(|p| (p.items.len(), p.count)).collect::<Vec<_>>(), [(cap, Some(n as u64)), (n - cap, Some(n as u64))]);

    // After the first n - cap snapshots, exactly `cap` are left: above the cap, a full page,
    // then the empty page that ends an exact multiple.
    let after = ListOpts::new().volume_id(v.clone()).sort(SortKey::Name, SortDir::Asc).marker(made[n - cap - 1].clone()).limit(above);
    let pages: Vec<_> = snapshots::list(&c.admin, &after).unwrap().pages().map(|p| p.unwrap().items.len()).collect();
    assert_eq!(pages, [cap, 0], "an exact multiple of the cap ends with the empty page");
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn metadata_calls_merge_and_replace() {
    for (who, c) in all_four() {
        let scratch = Scratch::new(c);
        let v = scratch.volume();
        let s = scratch.snapshot(c, &CreateOpts::new(&v).metadata("keep", "1"));
        let all = snapshots::merge_metadata(c, &s.id, &UpdateMetadataOpts::new().set("env", "test").set("owner", "rust")).unwrap();
        assert_eq!(
            all,
            BTreeMap::from([("env".into(), "test".into()), ("keep".into(), "1".into()), ("owner".into(), "rust".into())]),
            "{who}: merge keeps"
        );
        assert_eq!(snapshots::get_metadata(c, &s.id).unwrap(), all);
        let replaced = snapshots::update_metadata(c, &s.id, &UpdateMetadataOpts::new().set("only", "one")).unwrap();
        assert_eq!(replaced, BTreeMap::from([("only".into(), "one".into())]), "{who}: replace drops the rest");
        assert_eq!(snapshots::get_metadata(c, &s.id).unwrap(), replaced);
        assert_eq!(snapshots::get_metadata_key(c, &s.id, "only").unwrap(), "one");
        assert_eq!(snapshots::set_metadata_key(c, &s.id, "only", "changed").unwrap(), "changed");
        assert_eq!(snapshots::set_metadata_key(c, &s.id, "with space", "x").unwrap(), "x");
        assert_eq!(snapshots::get_metadata_key(c, &s.id, "with space").unwrap(), "x");
        snapshots::delete_metadata_key(c, &s.id, "only").unwrap();
        let err = snapshots::get_metadata_key(c, &s.id, "only").unwrap_err();
        assert!(err.is_not_found(), "{who}: {err}");
        let err = snapshots::delete_metadata_key(c, &s.id, "only").unwrap_err();
        assert!(err.is_not_found(), "{who}: {err}");
        assert_eq!(snapshots::update_metadata(c, &s.id, &UpdateMetadataOpts::new()).unwrap(), BTreeMap::new());
        assert_eq!(snapshots::get(c, &s.id).unwrap().metadata, BTreeMap::new());
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn update_status_and_reset_status() {
    let c = clients();
    for (who, admin) in [("admin", &c.admin), ("admin@3.0", &c.admin30)] {
        let scratch = Scratch::new(admin);
        let v = scratch.volume();
        let s = scratch.snapshot(admin, &CreateOpts::new(&v));
        // available is not a status update_status may change.
        let err = snapshots::update_status(admin, &s.id, &UpdateStatusOpts::new(SnapshotStatus::Available)).unwrap_err();
        assert!(err.is_bad_request(), "{who}: {err}");
        snapshots::reset_status(admin, &s.id, SnapshotStatus::Creating).unwrap();
        assert_eq!(snapshots::get(admin, &s.id).unwrap().status, SnapshotStatus::Creating);
        snapshots::update_status(admin, &s.id, &UpdateStatusOpts::new(SnapshotStatus::Creating).progress("50%")).unwrap();
        let mid = snapshots::get(admin, &s.id).unwrap();
        assert_eq!(mid.progress_percent(), Some(50), "{who}");
        let err = snapshots::update_status(admin, &s.id, &UpdateStatusOpts::new(SnapshotStatus::Deleting)).unwrap_err();
        assert!(err.is_bad_request(), "{who}: creating -> deleting is refused: {err}");
        snapshots::update_status(admin, &s.id, &UpdateStatusOpts::new(SnapshotStatus::Available).progress("100%")).unwrap();
        assert_eq!(snapshots::get(admin, &s.id).unwrap().status, SnapshotStatus::Available);
        snapshots::reset_status(admin, &s.id, SnapshotStatus::Deleting).unwrap();
        snapshots::update_status(admin, &s.id, &UpdateStatusOpts::new(SnapshotStatus::ErrorDeleting)).unwrap();
        assert_eq!(snapshots::get(admin, &s.id).unwrap().status, SnapshotStatus::ErrorDeleting);
        snapshots::reset_status(admin, &s.id, SnapshotStatus::Available).unwrap();
    }
    // A member may update the status of its own snapshot, not reset it or force-delete it.
    let scratch = Scratch::new(&c.member);
    let v = scratch.volume();
    let s = scratch.snapshot(&c.member, &CreateOpts::new(&v));
    snapshots::reset_status(&c.admin, &s.id, SnapshotStatus::Creating).unwrap();
    snapshots::update_status(&c.member, &s.id, &UpdateStatusOpts::new(SnapshotStatus::Available).progress("100%")).unwrap();
    for err in [
        snapshots::reset_status(&c.member, &s.id, SnapshotStatus::Error).unwrap_err(),
        snapshots::force_delete(&c.member, &s.id).unwrap_err(),
    ] {
        assert!(err.is_forbidden(), "{err}");
        assert_eq!(err.api().unwrap().fault.as_deref(), Some("forbidden"));
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn force_delete_and_wrong_state_delete() {
    for admin in [&clients().admin, &clients().admin30] {
        let scratch = Scratch::new(admin);
        let v = scratch.volume();
        let s = scratch.snapshot(admin, &CreateOpts::new(&v));
        snapshots::reset_status(admin, &s.id, SnapshotStatus::Creating).unwrap();
        let err = snapshots::delete(admin, &s.id).unwrap_err();
        assert!(err.is_bad_request(), "deleting a creating snapshot: {err}");
        assert!(err.request_id().is_some_and(|id| id.starts_with("req-")), "{err}");
        snapshots::force_delete(admin, &s.id).unwrap();
        snapshots::wait_for_delete(admin, &s.id, &quick()).unwrap();
        assert!(snapshots::get(admin, &s.id).unwrap_err().is_not_found());
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn find_by_name_one_none_several() {
    let c = clients();
    let scratch = Scratch::new(&c.member);
    let v = scratch.volume();
    let unique = format!("find-me-{}", std::process::id());
    let one = scratch.snapshot(&c.member, &CreateOpts::new(&v).name(&unique));
    assert_eq!(snapshots::find_by_name(&c.member, &unique).unwrap().id, one.id);
    let err = snapshots::find_by_name(&c.member, "no-such-snapshot-name").unwrap_err();
    assert!(err.is_not_found() && matches!(err, Error::NoMatch(_)), "{err}");
    let two = scratch.snapshot(&c.member, &CreateOpts::new(&v).name(&unique));
    match snapshots::find_by_name(&c.member, &unique).unwrap_err() {
        Error::MultipleMatches { ids, .. } => {
            let mut ids = ids;
            ids.sort();
            let mut want = vec![one.id.clone(), two.id.clone()];
            want.sort();
            assert_eq!(ids, want);
        }
        other => panic!("expected MultipleMatches, got {other}"),
    }
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn errors_are_mapped() {
    let c = clients();
    // 404 with a request id.
    let err = snapshots::get(&c.admin, "0b0b0b0b-0000-4000-8000-000000000000").unwrap_err();
    let api = err.api().expect("api error");
    assert_eq!((api.status, api.fault.as_deref()), (404, Some("itemNotFound")));
    assert!(api.message.contains("could not be found"), "{err}");
    assert!(api.request_id.as_deref().is_some_and(|id| id.starts_with("req-")), "{err}");
    // 400: snapshot of a volume that does not exist is 404, of a bad id 400.
    let err = snapshots::create(&c.admin, &CreateOpts::new("not-a-uuid")).unwrap_err();
    assert_eq!(api_status(&err), Some(400), "{err}");
    // 401 on a bad password: an authentication error.
    let mut vars = admin_vars();
    vars.retain(|(k, _)| k != "OS_PASSWORD");
    vars.push(("OS_PASSWORD".into(), "definitely-wrong".into()));
    let bad = client(&vars, MicroversionPolicy::Negotiate);
    let err = snapshots::list(&bad, &ListOpts::new()).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }) && err.is_unauthorized(), "{err}");
    assert_eq!(api_status(&err), Some(401));
    assert!(!format!("{err} {err:?}").contains("definitely-wrong"), "the password never shows");

    // 413 over quota, with retry_after, as the member.
    let member_project = project_of(&c.member);
    let scratch = Scratch::new(&c.member);
    let v = scratch.volume();
    let quota = |n: i64| {
        c.admin
            .send(Request::put(["os-quota-sets", member_project.as_str()]).json(json!({"quota_set": {"snapshots": n}})))
            .expect("set quota");
    };
    let in_use = snapshots::list(&c.member, &ListOpts::new()).unwrap().count() as i64;
    quota(in_use);
    let err = snapshots::create(&c.member, &CreateOpts::new(&v).name("over-quota"));
    quota(200);
    let err = match err {
        Ok(s) => {
            scratch.keep(&s.id);
            panic!("over quota was accepted")
        }
        Err(e) => e,
    };
    let api = err.api().expect("api error");
    assert_eq!((api.status, api.fault.as_deref()), (413, Some("overLimit")), "{err}");
    assert!(err.is_over_limit());
    assert_eq!(api.retry_after, Some(Duration::ZERO));
    assert!(api.message.contains("SnapshotLimitExceeded"), "{err}");
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn a_failed_snapshot_ends_the_wait() {
    let c = clients();
    let scratch = Scratch::new(&c.admin);
    let v = scratch.volume();
    let s = scratch.snapshot(&c.admin, &CreateOpts::new(&v));
    snapshots::reset_status(&c.admin, &s.id, SnapshotStatus::Creating).unwrap();
    let (admin, id) = (c.admin.clone(), s.id.clone());
    let failer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        snapshots::update_status(&admin, &id, &UpdateStatusOpts::new(SnapshotStatus::Error)).unwrap();
    });
    let start = Instant::now();
    let err = snapshots::wait_for_status(&c.admin, &s.id, SnapshotStatus::Available, &quick()).unwrap_err();
    failer.join().unwrap();
    let Error::Wait(w) = &err else { panic!("expected a wait error, got {err}") };
    assert_eq!(w.kind, WaitErrorKind::Failed("error".into()), "{err}");
    assert_eq!(w.last::<Snapshot>().map(|s| s.status.clone()), Some(SnapshotStatus::Error));
    assert!(start.elapsed() < Duration::from_secs(10), "ended at once, not at the timeout");
    // Cinder writes user messages only when its volume manager fails; a status set through
    // the API leaves none, so none is attached here.
    assert_eq!(w.user_message, None);

    // A wait that cannot succeed times out with the last state; a cancel flag ends it at once.
    snapshots::reset_status(&c.admin, &s.id, SnapshotStatus::Creating).unwrap();
    let err =
        snapshots::wait_for_status(&c.admin, &s.id, SnapshotStatus::Available, &quick().timeout(Duration::from_millis(700))).unwrap_err();
    let Error::Wait(w) = &err else { panic!("{err}") };
    assert_eq!(w.kind, WaitErrorKind::TimedOut);
    assert_eq!(w.last::<Snapshot>().map(|s| s.status.clone()), Some(SnapshotStatus::Creating));
    let flag = Arc::new(AtomicBool::new(false));
    let setter = flag.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        setter.store(true, Ordering::Relaxed);
    });
    let err = snapshots::wait_for_status(&c.admin, &s.id, SnapshotStatus::Available, &quick().cancel_flag(flag)).unwrap_err();
    t.join().unwrap();
    let Error::Wait(w) = &err else { panic!("{err}") };
    assert_eq!(w.kind, WaitErrorKind::Cancelled);
    snapshots::reset_status(&c.admin, &s.id, SnapshotStatus::Available).unwrap();
}

/// Revokes a token with Keystone's `DELETE /v3/auth/tokens`.
fn revoke(admin: &ServiceClient, victim: &str) {
    let auth_url = admin_vars().into_iter().find(|(k, _)| k == "OS_AUTH_URL").expect("OS_AUTH_URL").1;
    let base = auth_url.trim_end_matches('/').trim_end_matches("/v3");
    let me = admin.token().unwrap();
    let resp = ureq::delete(&format!("{base}/v3/auth/tokens"))
        .header("X-Auth-Token", me.expose_secret())
        .header("X-Subject-Token", victim)
        .call()
        .expect("revoke token");
    assert_eq!(resp.status().as_u16(), 204);
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn reauthenticates_after_the_token_is_revoked() {
    let c = clients();
    let victim = client(&member_vars(), MicroversionPolicy::Negotiate);
    snapshots::list(&victim, &ListOpts::new()).unwrap().count();
    let old = victim.token().unwrap();
    revoke(&c.admin, old.expose_secret());
    // A client holding only that token gets the 401 as an error...
    let stale = ServiceClient::with_token(victim.endpoint().unwrap().as_str(), old.clone()).unwrap().build().unwrap();
    let err = snapshots::list(&stale, &ListOpts::new()).unwrap().all().unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("Unauthorized"));
    // ...while the client with credentials re-authenticates once and replays.
    snapshots::list(&victim, &ListOpts::new()).unwrap().count();
    assert_ne!(victim.token().unwrap(), old, "a new token was fetched");
    // Many threads at once after another revocation: all succeed.
    revoke(&c.admin, victim.token().unwrap().expose_secret());
    let ok = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (victim, ok) = (victim.clone(), ok.clone());
            s.spawn(move || {
                snapshots::list(&victim, &ListOpts::new()).unwrap().count();
                ok.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(ok.load(Ordering::Relaxed), 8);
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn endpoint_from_the_catalog_and_a_projectless_override() {
    let c = clients();
    let endpoint = c.admin.endpoint().unwrap();
    let project = project_of(&c.admin);
    assert!(endpoint.path().ends_with(&format!("/v3/{project}")), "{endpoint}");
    assert!(c.admin.microversion().unwrap() >= Microversion::new(3, 67));
    let scratch = Scratch::new(&c.admin);
    let v = scratch.volume();
    let s = scratch.snapshot(&c.admin, &CreateOpts::new(&v).name("via-override"));
    let projectless = format!("{}://{}/v3", endpoint.scheme(), endpoint.host_str().unwrap_or_default());
    let projectless = match endpoint.port() {
        Some(p) => projectless.replace("/v3", &format!(":{p}/v3")),
        None => projectless,
    };
    let over = ServiceClientBuilder::from_vars(admin_vars()).unwrap().endpoint_override(&projectless).build().unwrap();
    assert_eq!(over.endpoint().unwrap().as_str(), projectless);
    let got = snapshots::get(&over, &s.id).unwrap();
    assert_eq!(got.name.as_deref(), Some("via-override"));
    let opts = ListOpts::new().volume_id(v.clone()).limit(1);
    assert_eq!(snapshots::list_detail(&over, &opts).unwrap().map(|x| x.unwrap().id).collect::<Vec<_>>(), vec![s.id.clone()]);
    // A ready token and endpoint, no Keystone.
    let ready = ServiceClient::with_token(endpoint.as_str(), c.admin.token().unwrap()).unwrap().build().unwrap();
    assert_eq!(snapshots::get(&ready, &s.id).unwrap().id, s.id);
}

/// `opts` sorted as a `key:dir,key:dir` text says.
fn sorted(mut opts: ListOpts, sort: &str) -> ListOpts {
    for part in sort.split(',') {
        let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
        opts = opts.sort(key.parse().unwrap(), dir.parse().unwrap());
    }
    opts
}
