//! With the `log` feature: one debug line per request, and never a secret in any line the
//! client's stack logs.
//! Run by scripts/test as `cargo test --features log --test logging`.
#![cfg(feature = "log")]

mod common;

use std::sync::Mutex;

use cinder_snapshots::snapshots;
use common::*;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        LINES.lock().unwrap().push(format!("{} {} {}", record.level(), record.target(), record.args()));
    }
    fn flush(&self) {}
}

#[test]
fn one_line_per_request_and_no_secret() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let mut server = mockito::Server::new();
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").create();
    let _root = versions(&mut server).create();
    let show = Fixture::load("mv371_snapshot_show");
    let _show = show.mock(&mut server).create();
    let client = cinder_snapshots::ServiceClient::builder(admin_auth(&server)).build().unwrap();
    snapshots::get(&client, "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
    let all = LINES.lock().unwrap().clone();
    // Every line of the client's stack (this crate and ureq, at trace level) is free of
    // secrets; the test server's own lines (mockito) are not the client's.
    for line in all.iter().filter(|l| !l.contains(" mockito")) {
        assert!(!line.contains(PASSWORD) && !line.contains(TOKEN), "a secret in {line}");
    }
    assert!(all.iter().any(|l| l.contains(" ureq")), "ureq's own lines were captured too");
    let lines: Vec<String> = all.iter().filter(|l| l.contains(" cinder_snapshots ")).cloned().collect();
    assert_eq!(lines.len(), 3, "token, discovery, show: {lines:#?}");
    assert!(lines[0].starts_with(&format!("DEBUG cinder_snapshots POST {}/v3/auth/tokens 201 in ", server.url())), "{}", lines[0]);
    assert!(lines[1].starts_with(&format!("DEBUG cinder_snapshots GET {}/ 300 in ", server.url())), "{}", lines[1]);
    let request_id = show.response_header("x-openstack-request-id").unwrap();
    assert!(
        lines[2].contains(&format!("GET {}{} 200 in ", server.url(), show.path)) && lines[2].ends_with(&format!("request id {request_id}")),
        "{}",
        lines[2]
    );
}
