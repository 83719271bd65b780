//! The shared scenarios (`tests/scenarios/mod.rs`) against a real Keystone + Cinder: the
//! same test bodies `tests/fake_scenarios.rs` runs against `FakeCloud`.
//!
//! Ignored by plain `cargo test`. `scripts/live-tests` starts a fresh local cloud with
//! Cinder's page cap at 15 and runs it with the admin's `OS_*` variables in the environment
//! and `MEMBER_ENV` naming the member's env file; against another cloud, export the same
//! and run `cargo test --test live_scenarios -- --ignored --test-threads=1`. Each test
//! removes what it made when it ends, also when it fails.

mod livecloud;
mod scenarios;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use cinder_snapshots::snapshots::{self, SnapshotStatus, WaitOpts};
use cinder_snapshots::volumes::{self, VolumeStatus};
use cinder_snapshots::{Microversion, MicroversionPolicy, PollPolicy, Request, ServiceClient, ServiceClientBuilder};
use livecloud::{admin_vars, member_vars};
use scenarios::{Env, Who};
use serde_json::{Value, json};

/// The page cap `scripts/live-tests` gives Cinder (`LOCAL_CLOUD_MAX_LIMIT`, 15 by default).
fn page_cap() -> usize {
    std::env::var("LOCAL_CLOUD_MAX_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(15)
}

/// The snapshot quota the live suite gives both projects (room for the paging scenario).
const ROOMY_SNAPSHOTS: u32 = 200;

fn build(vars: Vec<(String, String)>, policy: MicroversionPolicy) -> ServiceClient {
    // The fake backend moves a snapshot in about 0.1 s: poll fast.
    let poll = PollPolicy::new()
        .initial_interval(Duration::from_millis(100))
        .max_interval(Duration::from_secs(1))
        .timeout(Duration::from_secs(60));
    ServiceClientBuilder::from_vars(vars).expect("OS_* variables").microversion(policy).poll_policy(poll).build().expect("client")
}

fn project_of(client: &ServiceClient) -> String {
    let endpoint = client.endpoint().expect("endpoint");
    endpoint.path_segments().and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned)).expect("project in endpoint")
}

fn set_quota(admin: &ServiceClient, project: &str, quota: Value) {
    admin.send(Request::put(["os-quota-sets", project]).json(json!({ "quota_set": quota }))).expect("set quota");
}

/// Room in both projects, once per process.
fn raise_quotas(admin: &ServiceClient, member: &ServiceClient) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for project in [project_of(admin), project_of(member)] {
            set_quota(admin, &project, json!({"snapshots": ROOMY_SNAPSHOTS, "volumes": 50, "gigabytes": 1000}));
        }
    });
}

struct LiveEnv {
    admin: ServiceClient,
    member: ServiceClient,
    snapshots: Mutex<Vec<String>>,
    volumes: Mutex<Vec<String>>,
}

impl LiveEnv {
    fn new() -> LiveEnv {
        let admin = build(admin_vars(), MicroversionPolicy::Negotiate);
        let member = build(member_vars(), MicroversionPolicy::Negotiate);
        raise_quotas(&admin, &member);
        LiveEnv { admin, member, snapshots: Mutex::new(Vec::new()), volumes: Mutex::new(Vec::new()) }
    }

    fn client(&self, who: Who) -> &ServiceClient {
        match who {
            Who::Admin => &self.admin,
            Who::Member => &self.member,
        }
    }
}

impl Env for LiveEnv {
    fn admin(&self) -> &ServiceClient {
        &self.admin
    }

    fn member(&self) -> &ServiceClient {
        &self.member
    }

    fn pinned(&self, who: Who, minor: u16) -> ServiceClient {
        let vars = match who {
            Who::Admin => admin_vars(),
            Who::Member => member_vars(),
        };
        build(vars, MicroversionPolicy::Pinned(Microversion::new(3, minor)))
    }

    fn page_cap(&self) -> usize {
        page_cap()
    }

    fn volume(&self, who: Who, name: &str, metadata: &[(&str, &str)]) -> String {
        let client = self.client(who);
        let opts = metadata.iter().fold(volumes::CreateOpts::new(1).name(name), |o, (k, v)| o.metadata(*k, *v));
        let v = volumes::create(client, &opts).expect("create volume");
        self.track_volume(&v.id);
        volumes::wait_for_status(client, &v.id, VolumeStatus::Available, &volumes::WaitOpts::new()).expect("volume available");
        v.id
    }

    fn in_use_volume(&self, name: &str) -> String {
        // Attached through the attachments API, as an admin would (Nova is not there).
        let id = self.volume(Who::Admin, name, &[]);
        let connector = json!({"initiator": "iqn.1993-08.org.debian:01:scenario", "ip": "127.0.0.1", "platform": "x86_64",
                               "host": "scenario", "os_type": "linux2", "multipath": false});
        let body =
            json!({"attachment": {"volume_uuid": id, "instance_uuid": "8a1b2c3d-0000-4000-8000-0000000000c1", "connector": connector}});
        let mv = Microversion::new(3, 44);
        let a: Value = self.admin.send(Request::post(["attachments"]).json(body).microversion(mv)).unwrap().json("attachment").unwrap();
        let attachment = a["attachment"]["id"].as_str().expect("attachment id").to_owned();
        self.admin
            .send(Request::post(["attachments", attachment.as_str(), "action"]).json(json!({"os-complete": {}})).microversion(mv))
            .unwrap();
        volumes::wait_for_status(&self.admin, &id, VolumeStatus::InUse, &volumes::WaitOpts::new()).expect("volume in-use");
        id
    }

    fn volume_in_status(&self, name: &str, status: VolumeStatus) -> String {
        let id = self.volume(Who::Admin, name, &[]);
        let reset = json!({"os-reset_status": {"status": status.as_str()}});
        self.admin.send(Request::post(["volumes", id.as_str(), "action"]).json(reset)).expect("reset the volume's status");
        id
    }

    fn fail_snapshot(&self, id: &str) {
        // The local cloud's fake driver never fails: the admin sets the status, as the
        // live suite does.
        snapshots::reset_status(&self.admin, id, SnapshotStatus::Error).expect("reset status to error");
    }

    fn failure_message(&self) -> Option<String> {
        None
    }

    fn set_snapshot_quota(&self, who: Who, quota: Option<u32>) {
        let project = project_of(self.client(who));
        set_quota(&self.admin, &project, json!({"snapshots": quota.unwrap_or(ROOMY_SNAPSHOTS)}));
    }

    fn track_snapshot(&self, id: &str) {
        self.snapshots.lock().unwrap_or_else(|e| e.into_inner()).push(id.to_owned());
    }

    fn track_volume(&self, id: &str) {
        self.volumes.lock().unwrap_or_else(|e| e.into_inner()).push(id.to_owned());
    }

    fn unique(&self, base: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        format!("scn-{base}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
    }

    fn is_fake(&self) -> bool {
        false
    }
}

/// Removes what the scenario made: its snapshots (force-deleted, waited for), then its
/// volumes (detached first).
impl Drop for LiveEnv {
    fn drop(&mut self) {
        let quick = WaitOpts::new().timeout(Duration::from_secs(30));
        let snaps = std::mem::take(&mut *self.snapshots.lock().unwrap_or_else(|e| e.into_inner()));
        for id in &snaps {
            let _ = snapshots::force_delete(&self.admin, id);
        }
        for id in &snaps {
            let _ = snapshots::wait_for_delete(&self.admin, id, &quick);
        }
        let vols = std::mem::take(&mut *self.volumes.lock().unwrap_or_else(|e| e.into_inner()));
        for id in &vols {
            let reset = json!({"os-reset_status": {"status": "available", "attach_status": "detached"}});
            let _ = self.admin.send(Request::post(["volumes", id.as_str(), "action"]).json(reset));
            let _ = self.admin.send(Request::delete(["volumes", id.as_str()]));
        }
        for id in &vols {
            let _ = volumes::wait_for_delete(&self.admin, id, &volumes::WaitOpts::new().timeout(Duration::from_secs(30)));
        }
    }
}

macro_rules! live_tests {
    ($($name:ident),*) => {
        $(
            #[test]
            #[ignore = "live: needs a real cloud (scripts/live-tests)"]
            fn $name() {
                scenarios::$name(&LiveEnv::new());
            }
        )*
    };
}

for_each_scenario!(live_tests);
