//! The shared scenarios (`tests/scenarios/mod.rs`) against `FakeCloud` (feature `testing`),
//! each on a fresh fake with the live run's page cap (15). `tests/live_scenarios.rs` runs
//! the same test bodies against the real local cloud.
#![cfg(feature = "testing")]

mod scenarios;

use std::cell::Cell;

use cinder_snapshots::testing::{Account, FakeCloud, VolumeSpec};
use cinder_snapshots::volumes::VolumeStatus;
use cinder_snapshots::{Microversion, MicroversionPolicy, ServiceClient};
use scenarios::{Env, Who};

/// The page cap the live run gives Cinder (`scripts/live-tests`: `--max-limit 15`).
const PAGE_CAP: usize = 15;

/// The user message the fake's failed snapshots carry.
const FAILURE: &str = "Snapshot creation failed: the fake backend was told to fail it.";

struct FakeEnv {
    cloud: FakeCloud,
    admin: ServiceClient,
    member: ServiceClient,
    counter: Cell<u32>,
}

fn account(who: Who) -> Account {
    match who {
        Who::Admin => Account::Admin,
        Who::Member => Account::Member,
    }
}

impl FakeEnv {
    fn new() -> FakeEnv {
        let cloud = FakeCloud::start();
        cloud.set_page_cap(PAGE_CAP);
        let admin = cloud.client();
        let member = cloud.client_as(Account::Member);
        FakeEnv { cloud, admin, member, counter: Cell::new(0) }
    }
}

impl Env for FakeEnv {
    fn admin(&self) -> &ServiceClient {
        &self.admin
    }

    fn member(&self) -> &ServiceClient {
        &self.member
    }

    fn pinned(&self, who: Who, minor: u16) -> ServiceClient {
        self.cloud.client_builder_as(account(who)).microversion(MicroversionPolicy::Pinned(Microversion::new(3, minor))).build().unwrap()
    }

    fn page_cap(&self) -> usize {
        PAGE_CAP
    }

    fn volume(&self, who: Who, name: &str, metadata: &[(&str, &str)]) -> String {
        let spec = metadata.iter().fold(VolumeSpec::new(name).owner(account(who)), |s, (k, v)| s.metadata(*k, *v));
        self.cloud.add_volume_with(&spec)
    }

    fn in_use_volume(&self, name: &str) -> String {
        self.cloud.add_volume_with(&VolumeSpec::new(name).status(VolumeStatus::InUse))
    }

    fn volume_in_status(&self, name: &str, status: VolumeStatus) -> String {
        self.cloud.add_volume_with(&VolumeSpec::new(name).status(status))
    }

    fn fail_snapshot(&self, id: &str) {
        self.cloud.fail_snapshot(Some(id), Some(FAILURE));
    }

    fn failure_message(&self) -> Option<String> {
        Some(FAILURE.into())
    }

    fn set_snapshot_quota(&self, _who: Who, quota: Option<u32>) {
        // The fake's quota is the same for every project.
        self.cloud.set_snapshot_quota(quota);
    }

    fn track_snapshot(&self, _id: &str) {}

    fn track_volume(&self, _id: &str) {}

    fn unique(&self, base: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("{base}-{}", self.counter.get())
    }

    fn is_fake(&self) -> bool {
        true
    }
}

macro_rules! fake_tests {
    ($($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                scenarios::$name(&FakeEnv::new());
            }
        )*
    };
}

for_each_scenario!(fake_tests);
