//! What the public API promises beyond single calls: errors whose source chain says each
//! thing once (a decode error keeps serde's error as its source), raw requests with any
//! `Serialize` body, and a body that cannot be serialised refused before anything is sent.

mod common;

use std::error::Error as _;

use cinder_snapshots::{Error, Microversion, Request, snapshots};
use common::*;
use mockito::{Matcher, Server};

const SNAP: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";

/// Every text of an error's chain, outermost first.
fn chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts
}

#[test]
fn a_decode_error_keeps_the_decoders_error_as_its_source_and_says_it_once() {
    let mut server = Server::new();
    // A recorded listing where a snapshot was expected.
    let f = Fixture::load("mv371_list_summary");
    let m = server.mock("GET", format!("/v3/p/snapshots/{SNAP}").as_str());
    let m = f.respond(&server, m).expect(1).create();
    let err = snapshots::get(&token_client(&server, "p", Microversion::new(3, 71)), SNAP).unwrap_err();
    m.assert();
    assert!(matches!(err, Error::Decode { what: "snapshot", status: 200, .. }), "{err:?}");
    let serde = err.source().and_then(|s| s.downcast_ref::<serde_json::Error>()).expect("serde's error as the source");
    let parts = chain(&err);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[1], serde.to_string());
    assert!(parts[0].starts_with("could not decode snapshot from GET ") && !parts[0].contains(&parts[1]), "{parts:?}");
}

#[test]
fn a_raw_request_sends_any_serialize_body() {
    #[derive(serde::Serialize)]
    struct Extend {
        #[serde(rename = "os-extend")]
        extend: NewSize,
    }
    #[derive(serde::Serialize)]
    struct NewSize {
        new_size: u32,
    }
    let mut server = Server::new();
    let m = server
        .mock("POST", "/v3/p/volumes/v1/action")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(serde_json::json!({"os-extend": {"new_size": 2}})))
        .with_status(202)
        .expect(1)
        .create();
    let client = token_client(&server, "p", Microversion::new(3, 71));
    let response = client.send(Request::post(["volumes", "v1", "action"]).json(Extend { extend: NewSize { new_size: 2 } })).unwrap();
    assert_eq!(response.status, 202);
    m.assert();
}

#[test]
fn a_body_that_does_not_serialise_is_refused_before_any_request() {
    let mut server = Server::new();
    let any = server.mock("POST", Matcher::Any).expect(0).create();
    let client = token_client(&server, "p", Microversion::new(3, 71));
    // JSON object keys must be strings.
    let body = std::collections::BTreeMap::from([((1, 2), "x")]);
    let err = client.send(Request::post(["volumes"]).json(body)).unwrap_err();
    assert!(matches!(&err, Error::InvalidInput(m) if m.starts_with("the JSON body does not serialise")), "{err:?}");
    any.assert();
}

#[test]
fn a_transport_error_has_a_kind_and_the_http_clients_error_as_its_source() {
    // Nothing listens on port 1 of the loopback address: the connection is refused.
    let client = cinder_snapshots::ServiceClient::with_token("http://127.0.0.1:1/v3/p", "tok")
        .unwrap()
        .microversion(cinder_snapshots::MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .retry_policy(cinder_snapshots::RetryPolicy::none())
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    let Error::Transport { source, attempts, .. } = &err else { panic!("{err:?}") };
    assert_eq!((source.kind(), *attempts), (cinder_snapshots::TransportErrorKind::Connect, 1), "{err:?}");
    let parts = chain(&err);
    assert!(parts.len() >= 3, "the error, its kind, the HTTP client's error: {parts:?}");
    assert_eq!(parts[0], format!("GET http://127.0.0.1:1/v3/p/snapshots/{SNAP} failed"));
    assert_eq!(parts[1], "could not connect");
    assert!(parts[2].contains("Connection refused"), "{parts:?}");
    // This crate's errors do not repeat their source's text (what the HTTP client does
    // with its own sources is its own).
    for pair in parts[..3].windows(2) {
        assert!(!pair[0].contains(&pair[1]), "a source's text is not repeated: {parts:?}");
    }
}

/// One UUID rule: a volume given to the job by id as 32 hex digits without dashes, in
/// upper case, is an id (not a name), looked up in the form Cinder stores; the CLI's
/// look-ups follow the same rule (`resource::canonical_id`). Before, `run --volume` took it
/// as an id as typed (Cinder would not find it) and `restore` as a name.
#[cfg(feature = "testing")]
#[test]
fn a_dashless_upper_case_id_is_an_id_in_cinders_form() {
    use cinder_snapshots::job::{self, JobOpts, VolumeAction};
    use cinder_snapshots::resource::canonical_id;
    use cinder_snapshots::retention::Policy;
    use cinder_snapshots::testing::{FakeCloud, VolumeSpec};

    let cloud = FakeCloud::start();
    let id = cloud.add_volume_with(&VolumeSpec::new("db"));
    let typed = id.replace('-', "").to_ascii_uppercase();
    assert_eq!(canonical_id(&typed).as_deref(), Some(id.as_str()));
    let client = cloud.client();
    cloud.clear_requests();
    let policy = Policy::builder("nightly").keep_last(1).build().unwrap();
    let report = job::run(&client, &JobOpts::new(policy).select_volume(typed.as_str()).dry_run(true)).unwrap();
    let volumes: Vec<(&str, &VolumeAction)> = report.volumes().iter().map(|v| (v.volume_id.as_str(), &v.action)).collect();
    assert_eq!(volumes, [(id.as_str(), &VolumeAction::WouldCreate)]);
    let requests = cloud.requests();
    let looked_up: Vec<&str> =
        requests.iter().map(|r| r.call()).filter(|(m, p, _)| *m == "GET" && p.starts_with("volumes")).map(|(_, p, _)| p).collect();
    assert_eq!(looked_up, [format!("volumes/{id}")], "by id, in Cinder's form; never a listing by name");
}

/// The crate's source files under `dir` (recursively), with their text.
fn sources(dir: &str) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out
}

/// The naming rule of accessors (CHANGELOG, issue 22): no `get_` prefix, except the getter
/// of an options builder's setting whose chainable setter has the plain name (as
/// `std::process::Command::get_args`): every `pub fn get_x(&self` has a `pub fn x(` setter
/// taking `self`. Lookups by key (`get(&self, id)`) and the API's HTTP GETs
/// (`snapshots::get_metadata(client, ..)`) are not accessors.
#[test]
fn a_get_prefix_only_where_the_plain_name_is_the_builders_setter() {
    let all = sources("src");
    let text: String = all.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    let mut getters = 0;
    for (path, t) in &all {
        for (i, _) in t.match_indices("pub fn get_") {
            let rest = &t[i + "pub fn get_".len()..];
            let Some(paren) = rest.find('(') else { continue };
            let (name, args) = (&rest[..paren], &rest[paren..]);
            if !args.starts_with("(&self)") {
                continue; // not an accessor: an operation such as get_metadata(client, id)
            }
            getters += 1;
            // `pub fn name(mut self, ..` or `pub fn name<I, S>(mut self, ..`.
            let head = format!("pub fn {name}");
            let takes_self = text.match_indices(head.as_str()).any(|(j, _)| {
                let sig = &text[j + head.len()..];
                let sig = &sig[..sig.find('{').unwrap_or(sig.len())];
                (sig.starts_with('(') || sig.starts_with('<')) && (sig.contains("(mut self") || sig.contains("(self"))
            });
            assert!(takes_self, "{}: get_{name}(&self) has no chainable setter {name}(self, ..): name it {name}()", path.display());
        }
    }
    assert!(getters >= 10, "the rule was checked on the options' getters ({getters})");
}

/// `retention` stays pure: no module of it sends a request (no client, no job, no
/// snapshots' request functions); the I/O of pruning and pinning lives in `job`.
#[test]
fn retention_sends_no_request() {
    for (path, text) in sources("src/retention") {
        // The code, not the documentation (whose examples show the job's calls).
        let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for io in ["ServiceClient", "crate::job", "snapshots::list", "snapshots::delete", "merge_metadata", "client."] {
            assert!(!code.contains(io), "{} mentions {io:?}: retention plans, the job acts", path.display());
        }
    }
}
