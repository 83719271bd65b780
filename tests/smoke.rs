mod common;

use cinder_snapshots::snapshots::{self, SnapshotStatus};
use common::*;

#[test]
fn get_through_keystone_and_discovery() {
    let mut server = mockito::Server::new();
    let auth = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let discovery = versions(&mut server).expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(2).create();
    let client = cinder_snapshots::ServiceClient::builder(admin_auth(&server)).build().unwrap();
    let snap = snapshots::get(&client, "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
    let again = snapshots::get(&client.clone(), "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
    assert_eq!(snap, again);
    assert_eq!(snap.status, SnapshotStatus::Available);
    assert_eq!(snap.name.as_deref(), Some("mv371-snap-alpha"));
    assert_eq!(snap.progress.as_deref(), Some("100%"));
    assert_eq!(snap.project_id.as_deref(), Some(ADMIN_PROJECT));
    assert_eq!(snap.consumes_quota, Some(true));
    auth.assert();
    discovery.assert();
    show.assert();
}
