//! The client's foundation against recorded Keystone and Cinder exchanges: the exact auth
//! bodies, the token header, catalog selection, `OS_*` parsing, microversions, the 401
//! re-authentication, error bodies and secret redaction.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use cinder_snapshots::snapshots::{self, ListOpts};
use cinder_snapshots::{
    AuthMethod, AuthOptions, Domain, Error, Interface, Microversion, MicroversionPolicy, Request, Scope, ServiceClient,
    ServiceClientBuilder, User,
};
use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{Value, json};

const SNAP: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";

/// The recorded admin token answer, with the catalog changed by `edit` (for catalogs the
/// recordings do not have: other service types, interfaces, regions).
fn token_answer(server: &Server, edit: impl FnOnce(&mut Value)) -> String {
    let mut body: Value =
        serde_json::from_str(&rewrite_hosts(&Fixture::load("keystone_auth_tokens_admin").response_body, &server.url())).unwrap();
    edit(&mut body["token"]["catalog"]);
    body.to_string()
}

/// A Keystone mock expecting exactly `request` as body and answering the recorded admin
/// token (catalog edited by `edit`) with `token` in X-Subject-Token.
fn keystone_answering(server: &mut Server, request: Value, token: &str, edit: impl FnOnce(&mut Value)) -> Mock {
    let body = token_answer(server, edit);
    server
        .mock("POST", "/v3/auth/tokens")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(request))
        .with_status(201)
        .with_header("X-Subject-Token", token)
        .with_header("Content-Type", "application/json")
        .with_body(body)
}

/// The recorded show of snapshot alpha at 3.71, answered for `token`.
fn show_with_token(server: &mut Server, token: &str) -> Mock {
    let f = Fixture::load("mv371_snapshot_show");
    let m = server.mock("GET", f.path.as_str()).match_header("x-auth-token", token).match_header("openstack-api-version", "volume 3.71");
    f.respond(server, m)
}

fn pinned(builder: ServiceClientBuilder) -> ServiceClient {
    builder.microversion(MicroversionPolicy::Pinned(MV371)).build().unwrap()
}

fn password_body(user: Value, scope: Option<Value>) -> Value {
    let mut user = user;
    user["password"] = json!(PASSWORD);
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": user}}});
    if let Some(scope) = scope {
        auth["scope"] = scope;
    }
    json!({ "auth": auth })
}

// ---------------------------------------------------------------- auth request bodies

#[test]
fn password_by_name_with_project_name_scope_is_the_recorded_body() {
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let client = pinned(ServiceClient::builder(admin_auth(&server)));
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    ks.assert();
    show.assert();
}

#[test]
fn the_demo_users_recorded_body() {
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_demo").expect(1).create();
    let client = ServiceClient::builder(
        AuthOptions::password(format!("{}/v3", server.url()), "demo", Domain::name("Default"), PASSWORD)
            .with_scope(Scope::project_name("demo", Domain::name("Default"))),
    )
    .microversion(MicroversionPolicy::Pinned(MV371))
    .build()
    .unwrap();
    client.authenticate().unwrap();
    assert_eq!(client.endpoint().unwrap().path(), format!("/v3/{DEMO_PROJECT}"));
    ks.assert();
}

#[test]
fn every_method_and_scope_sends_what_keystone_expects() {
    let cases: Vec<(AuthMethod, Scope, Value)> = vec![
        (
            AuthMethod::Password { user: User::id("ad71fabb90db4b989106b05a3ee46ab6"), password: PASSWORD.into() },
            Scope::project_id(ADMIN_PROJECT),
            password_body(json!({"id": "ad71fabb90db4b989106b05a3ee46ab6"}), Some(json!({"project": {"id": ADMIN_PROJECT}}))),
        ),
        (
            AuthMethod::Password { user: User::name("admin", Domain::id("default")), password: PASSWORD.into() },
            Scope::project_name("admin", Domain::id("default")),
            password_body(
                json!({"name": "admin", "domain": {"id": "default"}}),
                Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
            ),
        ),
        (
            AuthMethod::Password { user: User::name("admin", Domain::name("Default")), password: PASSWORD.into() },
            Scope::Domain(Domain::name("Default")),
            password_body(json!({"name": "admin", "domain": {"name": "Default"}}), Some(json!({"domain": {"name": "Default"}}))),
        ),
        (
            AuthMethod::Password { user: User::name("admin", Domain::name("Default")), password: PASSWORD.into() },
            Scope::Default,
            password_body(json!({"name": "admin", "domain": {"name": "Default"}}), None),
        ),
        (
            AuthMethod::Token { token: "gAAAAA-old-token".into() },
            Scope::project_id(ADMIN_PROJECT),
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "gAAAAA-old-token"}}, "scope": {"project": {"id": ADMIN_PROJECT}}}}),
        ),
        (
            AuthMethod::ApplicationCredentialId { id: "423f19a4ac1e4f48bbb4180756e6eb6c".into(), secret: "rEaqvJka48mpv".into() },
            Scope::Default,
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "423f19a4ac1e4f48bbb4180756e6eb6c", "secret": "rEaqvJka48mpv"}}}}),
        ),
        (
            AuthMethod::ApplicationCredentialName {
                name: "monitoring".into(),
                user: User::name("admin", Domain::name("Default")),
                secret: "rEaqvJka48mpv".into(),
            },
            Scope::Default,
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"name": "monitoring", "secret": "rEaqvJka48mpv",
                    "user": {"name": "admin", "domain": {"name": "Default"}}}}}}),
        ),
    ];
    for (method, scope, body) in cases {
        let mut server = Server::new();
        let ks = keystone_answering(&mut server, body.clone(), "tok-exchanged", |_| {}).expect(1).create();
        let show = show_with_token(&mut server, "tok-exchanged").expect(1).create();
        // OS_AUTH_URL with and without /v3 both reach /v3/auth/tokens.
        let url = if matches!(scope, Scope::Default) { server.url() } else { format!("{}/v3/", server.url()) };
        let client = pinned(ServiceClient::builder(AuthOptions::new(url, method.clone()).with_scope(scope)));
        assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP, "{body}");
        ks.assert();
        show.assert();
    }
}

#[test]
fn a_token_without_scope_is_validated_and_used_as_it_is() {
    let mut server = Server::new();
    let answer = token_answer(&server, |_| {});
    let validate = server
        .mock("GET", "/v3/auth/tokens")
        .match_header("x-auth-token", "gAAAAA-existing")
        .match_header("x-subject-token", "gAAAAA-existing")
        .with_status(200)
        .with_header("X-Subject-Token", "gAAAAA-existing")
        .with_body(answer)
        .expect(1)
        .create();
    let show = show_with_token(&mut server, "gAAAAA-existing").expect(1).create();
    let client = pinned(ServiceClient::builder(AuthOptions::token(format!("{}/v3", server.url()), "gAAAAA-existing")));
    snapshots::get(&client, SNAP).unwrap();
    validate.assert();
    show.assert();
}

#[test]
fn keystone_refusing_the_password_is_an_auth_error() {
    let mut server = Server::new();
    let f = Fixture::load("keystone_auth_tokens_bad_password");
    let m = server.mock("POST", "/v3/auth/tokens").match_body(Matcher::Json(f.request_json().unwrap()));
    let ks = f.respond(&server, m).expect(1).create();
    let client = ServiceClient::builder(AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), "wrong"))
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }) && err.is_unauthorized(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref()), (401, Some("Unauthorized")));
    assert_eq!(api.message, "The request you have made requires authentication.");
    assert_eq!(api.request_id.as_deref(), f.response_header("x-openstack-request-id"));
    assert!(!format!("{err} {err:?}").contains("wrong"));
    ks.assert();
}

#[test]
fn application_credentials_with_a_scope_fail_before_any_request() {
    let mut server = Server::new();
    let any = server.mock("POST", Matcher::Any).expect(0).create();
    let err = ServiceClient::builder(AuthOptions::application_credential(format!("{}/v3", server.url()), "id", "secret"))
        .scope(Scope::project_id(ADMIN_PROJECT))
        .build()
        .unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("cannot request a scope")), "{err}");
    any.assert();
}

// ---------------------------------------------------------------- catalog

fn endpoint_with(
    edit: impl FnOnce(&mut Value),
    configure: impl FnOnce(ServiceClientBuilder) -> ServiceClientBuilder,
) -> Result<String, Error> {
    let mut server = Server::new();
    let body = password_body(json!({"name": "admin", "domain": {"name": "Default"}}), None);
    let _ks = keystone_answering(&mut server, body, TOKEN, edit).create();
    let auth = AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), PASSWORD);
    let client = configure(ServiceClient::builder(auth)).microversion(MicroversionPolicy::Pinned(MV371)).build()?;
    client.endpoint().map(|u| u.as_str().replace(&server.url(), "SERVER"))
}

fn block_storage(catalog: &mut Value) -> &mut Value {
    catalog.as_array_mut().unwrap().iter_mut().find(|s| s["type"] == "block-storage").unwrap()
}

#[test]
fn the_recorded_catalog_gives_the_project_endpoint() {
    assert_eq!(endpoint_with(|_| {}, |b| b).unwrap(), format!("SERVER/v3/{ADMIN_PROJECT}"));
    assert_eq!(
        endpoint_with(|_| {}, |b| b.interface(Interface::Internal).region("RegionOne")).unwrap(),
        format!("SERVER/v3/{ADMIN_PROJECT}")
    );
}

#[test]
fn aliases_in_order() {
    // The recorded catalog with the block-storage service renamed volumev3.
    let v3 = endpoint_with(|c| block_storage(c)["type"] = json!("volumev3"), |b| b).unwrap();
    assert_eq!(v3, format!("SERVER/v3/{ADMIN_PROJECT}"));
    // ... renamed volume: used because its URL is a v3 one.
    assert!(endpoint_with(|c| block_storage(c)["type"] = json!("volume"), |b| b).is_ok());
    // ... a v2 "volume" service is not used.
    let err = endpoint_with(
        |c| {
            let s = block_storage(c);
            s["type"] = json!("volume");
            for e in s["endpoints"].as_array_mut().unwrap() {
                e["url"] = json!(e["url"].as_str().unwrap().replace("/v3/", "/v2/"));
            }
        },
        |b| b,
    )
    .unwrap_err();
    assert!(matches!(err, Error::EndpointNotFound { .. }), "{err}");
    // block-storage wins over volumev3.
    let both = endpoint_with(
        |c| {
            let mut copy = block_storage(c).clone();
            copy["type"] = json!("volumev3");
            copy["endpoints"][0]["url"] = json!("http://volumev3.invalid/v3/x");
            c.as_array_mut().unwrap().insert(0, copy);
        },
        |b| b,
    )
    .unwrap();
    assert_eq!(both, format!("SERVER/v3/{ADMIN_PROJECT}"));
}

#[test]
fn interface_and_region_filters() {
    let two_regions = |c: &mut Value| {
        let s = block_storage(c);
        let mut other = s["endpoints"][0].clone();
        other["region_id"] = json!("RegionTwo");
        other["region"] = json!("RegionTwo");
        other["url"] = json!("http://region-two.invalid/v3/p");
        s["endpoints"].as_array_mut().unwrap().push(other);
    };
    assert_eq!(endpoint_with(two_regions, |b| b.region("RegionTwo")).unwrap(), "http://region-two.invalid/v3/p");
    let err = endpoint_with(two_regions, |b| b).unwrap_err();
    assert!(matches!(&err, Error::EndpointNotFound { message } if message.contains("RegionOne, RegionTwo")), "{err}");
    // Only the legacy "region" field.
    let legacy = |c: &mut Value| {
        for e in block_storage(c)["endpoints"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("region_id");
        }
    };
    assert!(endpoint_with(legacy, |b| b.region("RegionOne")).is_ok());
    // Internal only when asked for.
    let internal_only = |c: &mut Value| {
        block_storage(c)["endpoints"].as_array_mut().unwrap().retain(|e| e["interface"] == "internal");
    };
    assert!(endpoint_with(internal_only, |b| b.interface(Interface::Internal)).is_ok());
    let err = endpoint_with(internal_only, |b| b.region("RegionOne")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no block-storage endpoint found: wanted type block-storage or volumev3 or volume with interface public in region RegionOne; \
         the catalog has: identity [public RegionOne, internal RegionOne, admin RegionOne]; block-storage [internal RegionOne]"
    );
}

#[test]
fn an_endpoint_override_skips_the_catalog() {
    let mut server = Server::new();
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let f = Fixture::load("common_list_projectless_url_mv3_67");
    let list = f.mock(&mut server).expect(1).create();
    let client = ServiceClient::builder(admin_auth(&server))
        .endpoint_override(format!("{}/v3", server.url()))
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 67)))
        .build()
        .unwrap();
    // Even a catalog with no block-storage at all would do: the override is used as it is.
    assert_eq!(client.endpoint().unwrap().as_str(), format!("{}/v3", server.url()));
    assert_eq!(snapshots::list(&client, &ListOpts::new()).unwrap().count(), 0);
    list.assert();
}

// ---------------------------------------------------------------- OS_* variables

fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn config_error(v: &[(&str, &str)]) -> String {
    match ServiceClientBuilder::from_vars(vars(v)).and_then(ServiceClientBuilder::build) {
        Err(Error::Config(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn os_variables_errors_name_the_variable() {
    let base = [("OS_AUTH_URL", "http://k:5000/v3"), ("OS_USERNAME", "u"), ("OS_PASSWORD", "p"), ("OS_USER_DOMAIN_NAME", "Default")];
    let with = |extra: &[(&'static str, &'static str)], drop: &str| -> Vec<(&'static str, &'static str)> {
        base.iter().filter(|(k, _)| *k != drop).copied().chain(extra.iter().copied()).collect()
    };
    assert!(config_error(&with(&[], "OS_AUTH_URL")).contains("OS_AUTH_URL"));
    assert!(config_error(&with(&[], "OS_PASSWORD")).contains("OS_PASSWORD"));
    assert!(config_error(&with(&[], "OS_USER_DOMAIN_NAME")).contains("OS_USER_DOMAIN_NAME"));
    assert!(config_error(&with(&[("OS_PROJECT_NAME", "p")], "")).contains("OS_PROJECT_DOMAIN_NAME"));
    assert!(config_error(&with(&[("OS_PROJECT_ID", "a"), ("OS_TENANT_ID", "b")], "")).contains("OS_TENANT_ID"));
    assert!(config_error(&with(&[("OS_TOKEN", "t")], "")).contains("OS_AUTH_TYPE"));
    assert!(config_error(&with(&[("OS_AUTH_TYPE", "v3oidcpassword")], "")).contains("OS_AUTH_TYPE"));
    assert!(config_error(&with(&[("OS_INTERFACE", "private")], "")).contains("OS_INTERFACE"));
    assert!(config_error(&with(&[("OS_ENDPOINT_TYPE", "bogus")], "")).contains("OS_ENDPOINT_TYPE"));
    assert!(config_error(&with(&[("OS_INSECURE", "maybe")], "")).contains("OS_INSECURE"));
    assert!(config_error(&with(&[("OS_VOLUME_API_VERSION", "2")], "")).contains("OS_VOLUME_API_VERSION"));
    assert!(config_error(&with(&[("OS_VOLUME_API_VERSION", "3.99")], "")).contains("3.99"));
    assert!(config_error(&with(&[("OS_CACERT", "/nonexistent/ca.pem")], "")).contains("/nonexistent/ca.pem"));
    assert!(
        config_error(&[("OS_AUTH_URL", "http://k/v3"), ("OS_AUTH_TYPE", "v3applicationcredential")])
            .contains("OS_APPLICATION_CREDENTIAL_SECRET")
    );
    assert!(
        config_error(&[("OS_AUTH_URL", "http://k/v3"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s")]).contains("OS_APPLICATION_CREDENTIAL_ID")
    );
    assert!(
        config_error(&[("OS_AUTH_URL", "http://k/v3"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s"), ("OS_APPLICATION_CREDENTIAL_NAME", "n")])
            .contains("OS_USERNAME")
    );
}

/// Builds a client from variables pointing at the mock server and checks the auth body
/// Keystone receives and the microversion header Cinder receives.
fn check_vars(v: &[(&str, &str)], body: Value, header: &str) {
    let mut server = Server::new();
    let url = server.url();
    let mut all: Vec<(String, String)> = vars(v).into_iter().map(|(k, val)| (k, val.replace("SERVER", &url))).collect();
    all.push(("OS_AUTH_URL".into(), format!("{url}/v3")));
    let ks = keystone_answering(&mut server, body.clone(), TOKEN, |_| {}).expect(1).create();
    let f = Fixture::load("mv371_snapshot_show");
    let m = server.mock("GET", f.path.as_str()).match_header("openstack-api-version", header);
    let show = f.respond(&server, m).expect(1).create();
    let _root = versions(&mut server).create();
    let client = ServiceClientBuilder::from_vars(all).unwrap().build().unwrap();
    snapshots::get(&client, SNAP).unwrap();
    ks.assert();
    show.assert();
}

#[test]
fn os_variables_build_the_right_request() {
    let admin = || json!({"name": "admin", "domain": {"name": "Default"}});
    let project_scope = json!({"project": {"name": "admin", "domain": {"name": "Default"}}});
    // The usual openrc, with the old tenant name and a pinned version.
    check_vars(
        &[
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", PASSWORD),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_TENANT_NAME", "admin"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("OS_REGION_NAME", "RegionOne"),
            ("OS_INTERFACE", "public"),
            ("OS_VOLUME_API_VERSION", "3.45"),
        ],
        password_body(admin(), Some(project_scope.clone())),
        "volume 3.45",
    );
    // OS_DOMAIN_NAME fills both domains; OS_VOLUME_API_VERSION=3 negotiates (3.71 recorded).
    check_vars(
        &[
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", PASSWORD),
            ("OS_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_NAME", "admin"),
            ("OS_VOLUME_API_VERSION", "3"),
        ],
        password_body(admin(), Some(project_scope)),
        "volume 3.71",
    );
    // User and project ids (the id wins over a name), internal interface via OS_ENDPOINT_TYPE.
    check_vars(
        &[
            ("OS_USER_ID", "ad71fabb90db4b989106b05a3ee46ab6"),
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", PASSWORD),
            ("OS_PROJECT_ID", ADMIN_PROJECT),
            ("OS_PROJECT_NAME", "admin"),
            ("OS_ENDPOINT_TYPE", "internalURL"),
        ],
        password_body(json!({"id": "ad71fabb90db4b989106b05a3ee46ab6"}), Some(json!({"project": {"id": ADMIN_PROJECT}}))),
        "volume 3.71",
    );
    // A token with a project: exchanged for a scoped token.
    check_vars(
        &[("OS_TOKEN", "gAAAAA-env-token"), ("OS_PROJECT_ID", ADMIN_PROJECT)],
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "gAAAAA-env-token"}}, "scope": {"project": {"id": ADMIN_PROJECT}}}}),
        "volume 3.71",
    );
    // Application credentials: OS_PROJECT_* are not sent.
    check_vars(
        &[
            ("OS_AUTH_TYPE", "v3applicationcredential"),
            ("OS_APPLICATION_CREDENTIAL_ID", "423f19a4ac1e4f48bbb4180756e6eb6c"),
            ("OS_APPLICATION_CREDENTIAL_SECRET", "rEaqvJka48mpv"),
            ("OS_PROJECT_NAME", "ignored"),
        ],
        json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "423f19a4ac1e4f48bbb4180756e6eb6c", "secret": "rEaqvJka48mpv"}}}}),
        "volume 3.71",
    );
    // OS_INSECURE parses; empty variables count as unset.
    check_vars(
        &[
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", PASSWORD),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_INSECURE", "true"),
            ("OS_PROJECT_ID", ""),
        ],
        password_body(admin(), None),
        "volume 3.71",
    );
}

// ---------------------------------------------------------------- microversions

#[test]
fn negotiated_once_per_client_and_shared_by_clones_and_threads() {
    let mut server = Server::new();
    let _ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let root = versions(&mut server).expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(9).create();
    let client = ServiceClient::builder(admin_auth(&server)).build().unwrap();
    snapshots::get(&client, SNAP).unwrap();
    let clone = client.clone();
    snapshots::get(&clone, SNAP).unwrap();
    std::thread::scope(|s| {
        for _ in 0..7 {
            let c = client.clone();
            s.spawn(move || snapshots::get(&c, SNAP).unwrap());
        }
    });
    assert_eq!(client.microversion().unwrap(), MV371);
    root.assert();
    show.assert();
}

#[test]
fn negotiation_takes_the_lower_of_the_crate_and_the_server() {
    let mut server = Server::new();
    let f = Fixture::load("common_versions_root");
    let older = f.response_body.replace("\"version\": \"3.71\"", "\"version\": \"3.60\"");
    assert_ne!(older, f.response_body);
    let root = server.mock("GET", "/").with_status(300).with_body(older).expect(1).create();
    let m = server.mock("GET", format!("/v3/p/snapshots/{SNAP}").as_str()).match_header("openstack-api-version", "volume 3.60");
    let show = Fixture::load("mv371_snapshot_show").respond(&server, m).expect(1).create();
    let client = ServiceClient::with_token(&format!("{}/v3/p", server.url()), TOKEN).unwrap().build().unwrap();
    snapshots::get(&client, SNAP).unwrap();
    assert_eq!(client.microversion().unwrap(), Microversion::new(3, 60));
    root.assert();
    show.assert();
}

#[test]
fn a_pinned_version_skips_discovery_and_is_checked() {
    let mut server = Server::new();
    let root = versions(&mut server).expect(0).create();
    let f = Fixture::load("mv30_snapshot_show");
    let show = f.mock(&mut server).expect(1).create();
    let client = token_client(&server, ADMIN_PROJECT, MV30);
    snapshots::get(&client, "4bf253bf-bf59-47b3-af23-ca9280e1a9a4").unwrap();
    root.assert();
    show.assert();
    for bad in [Microversion::new(3, 72), Microversion::new(2, 0)] {
        let err =
            ServiceClient::with_token("http://127.0.0.1:1/v3/p", TOKEN).unwrap().microversion(MicroversionPolicy::Pinned(bad)).build();
        assert!(matches!(&err, Err(Error::Config(m)) if m.contains(&bad.to_string())), "{err:?}");
    }
}

#[test]
fn the_header_is_on_every_request() {
    let mut server = Server::new();
    let show = Fixture::load("mv30_snapshot_show").mock(&mut server).expect(1).create();
    let list = Fixture::load("mv30_list_summary").mock(&mut server).expect(1).create();
    let client = token_client(&server, ADMIN_PROJECT, MV30);
    snapshots::get(&client, "4bf253bf-bf59-47b3-af23-ca9280e1a9a4").unwrap();
    assert!(snapshots::list(&client, &ListOpts::new()).unwrap().count() > 0);
    show.assert();
    list.assert();
}

#[test]
fn a_version_the_server_refuses_is_a_406() {
    let mut server = Server::new();
    let f = Fixture::load("common_list_microversion_above_max");
    let m = f.mock(&mut server).expect(1).create();
    let client = token_client(&server, ADMIN_PROJECT, MV371);
    let err = client.send(Request::get(["snapshots"]).microversion(Microversion::new(3, 72))).unwrap_err();
    assert!(err.is_microversion_unsupported(), "{err}");
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("computeFault"));
    assert!(err.to_string().contains("Version 3.72 is not supported by the API"));
    m.assert();
}

// ---------------------------------------------------------------- 401 and re-authentication

/// Keystone hands out `first` once, then `second`.
fn two_tokens(server: &mut Server, first: &str, second: &str) -> (Mock, Mock) {
    let body = password_body(
        json!({"name": "admin", "domain": {"name": "Default"}}),
        Some(json!({"project": {"name": "admin", "domain": {"name": "Default"}}})),
    );
    let a = keystone_answering(server, body.clone(), first, |_| {}).expect(1).create();
    let b = keystone_answering(server, body, second, |_| {}).expect(1).create();
    (a, b)
}

/// Cinder answers the recorded keystonemiddleware 401 to `token`.
fn unauthorized_for(server: &mut Server, token: &str) -> Mock {
    let f = Fixture::load("common_auth_bad_token");
    let m = server.mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/{SNAP}").as_str()).match_header("x-auth-token", token);
    f.respond(server, m)
}

#[test]
fn a_401_gives_one_reauthentication_and_one_replay() {
    let mut server = Server::new();
    let (k1, k2) = two_tokens(&mut server, "tok-old", "tok-new");
    let stale = unauthorized_for(&mut server, "tok-old").expect(1).create();
    let fresh = show_with_token(&mut server, "tok-new").expect(1).create();
    let client = admin_client(&server, MV371);
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    assert_eq!(client.token().unwrap().expose_secret(), "tok-new");
    k1.assert();
    k2.assert();
    stale.assert();
    fresh.assert();
}

#[test]
fn a_second_401_is_returned_not_retried() {
    let mut server = Server::new();
    let (k1, k2) = two_tokens(&mut server, "tok-old", "tok-new");
    let a = unauthorized_for(&mut server, "tok-old").expect(1).create();
    let b = unauthorized_for(&mut server, "tok-new").expect(1).create();
    let client = admin_client(&server, MV371);
    let err = snapshots::get(&client, SNAP).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref()), (401, Some("Unauthorized")));
    assert!(!matches!(err, Error::Auth { .. }), "Keystone accepted us; Cinder refused");
    for m in [k1, k2, a, b] {
        m.assert();
    }
}

#[test]
fn no_reauthentication_without_credentials_or_when_turned_off() {
    let mut server = Server::new();
    let any_keystone = server.mock("POST", "/v3/auth/tokens").expect(0).create();
    let refused = unauthorized_for(&mut server, TOKEN).expect(1).create();
    let err = snapshots::get(&token_client(&server, ADMIN_PROJECT, MV371), SNAP).unwrap_err();
    assert_eq!(err.status(), Some(401));
    any_keystone.assert();
    refused.assert();

    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let refused = unauthorized_for(&mut server, TOKEN).expect(1).create();
    let client =
        ServiceClient::builder(admin_auth(&server)).reauthenticate(false).microversion(MicroversionPolicy::Pinned(MV371)).build().unwrap();
    assert_eq!(snapshots::get(&client, SNAP).unwrap_err().status(), Some(401));
    ks.assert();
    refused.assert();
}

#[test]
fn eight_threads_hitting_a_401_together_cause_one_token_request() {
    let mut server = Server::new();
    let (k1, k2) = two_tokens(&mut server, "tok-old", "tok-new");
    // Every thread that sent the old token got a 401; a thread the scheduler started after
    // the new token arrived sends that one at once, so "up to 8" 401s, one token request.
    let stale = unauthorized_for(&mut server, "tok-old").expect_at_least(1).expect_at_most(8).create();
    let fresh = show_with_token(&mut server, "tok-new").expect(8).create();
    let client = admin_client(&server, MV371);
    client.authenticate().unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (client, barrier, ok) = (client.clone(), barrier.clone(), &ok);
            s.spawn(move || {
                barrier.wait();
                snapshots::get(&client, SNAP).unwrap();
                ok.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(ok.load(Ordering::SeqCst), 8);
    k1.assert();
    k2.assert();
    stale.assert();
    fresh.assert();
}

// ---------------------------------------------------------------- error bodies

fn error_of(fixture: &str, call: impl FnOnce(&ServiceClient) -> Result<(), Error>) -> (Error, Fixture) {
    let mut server = Server::new();
    let f = Fixture::load(fixture);
    let m = f.mock(&mut server).expect(1).create();
    let project = if f.path.contains(DEMO_PROJECT) { DEMO_PROJECT } else { ADMIN_PROJECT };
    let version = if f.request_header("openstack-api-version") == Some("volume 3.0") { MV30 } else { MV371 };
    let err = call(&token_client(&server, project, version)).unwrap_err();
    m.assert();
    (err, f)
}

#[test]
fn cinder_faults_are_parsed_with_the_request_id() {
    let (err, f) = error_of("mv371_snapshot_show_missing", |c| snapshots::get(c, "74344084-0ece-4eee-8e71-3fd1fd9a65d5").map(drop));
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.fault.as_deref(), Some("itemNotFound"));
    assert_eq!(api.message, "Snapshot 74344084-0ece-4eee-8e71-3fd1fd9a65d5 could not be found.");
    assert_eq!(api.request_id.as_deref(), f.response_header("x-openstack-request-id"));
    assert_eq!(api.method, "GET");
    assert!(api.url.ends_with("/snapshots/74344084-0ece-4eee-8e71-3fd1fd9a65d5"));
    assert!(err.is_not_found());
    let text = err.to_string();
    for part in ["404", "itemNotFound", "could not be found", f.response_header("x-openstack-request-id").unwrap()] {
        assert!(text.contains(part), "{text} lacks {part}");
    }

    let (err, _) = error_of("mv371_demo_action_reset_status_forbidden", |c| {
        snapshots::reset_status(c, "2ae038e8-ff5a-42af-bba3-62ea17b51400", snapshots::SnapshotStatus::Error)
    });
    assert!(err.is_forbidden());
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("forbidden"));

    let (err, _) = error_of("mv371_demo_snapshot_create_over_quota", |c| {
        snapshots::create(c, &snapshots::CreateOpts::new("a1bd4642-4027-42b6-8945-47d04abc6df8").name("mv371-over-quota")).map(drop)
    });
    let api = err.api().unwrap();
    assert!(err.is_over_limit());
    assert_eq!(api.fault.as_deref(), Some("overLimit"));
    assert_eq!(api.retry_after, Some(std::time::Duration::ZERO));
    assert_eq!(api.message, "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded");
}

#[test]
fn keystonemiddleware_and_routing_errors_are_parsed() {
    let mut server = Server::new();
    let _m = unauthorized_for(&mut server, TOKEN).create();
    let err = snapshots::get(&token_client(&server, ADMIN_PROJECT, MV371), SNAP).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.fault.as_deref(), api.message.as_str()), (Some("Unauthorized"), "The request you have made requires authentication."));

    // The routing 404 body, answered to a show.
    let mut server = Server::new();
    let f = Fixture::load("mv30_snapshot_show_id_dotdot_slash_raw");
    let m = server.mock("GET", format!("/v3/p/snapshots/{SNAP}").as_str());
    let m = f.respond(&server, m).expect(1).create();
    let err = snapshots::get(&token_client(&server, "p", MV30), SNAP).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.fault.as_deref(), Some("Not Found"));
    assert!(api.message.starts_with("The resource could not be found."));
    assert_eq!(api.request_id.as_deref(), f.response_header("x-openstack-request-id"));
    m.assert();
}

#[test]
fn bodies_that_are_not_json() {
    let mut server = Server::new();
    let m = server
        .mock("GET", Matcher::Any)
        .with_status(502)
        .with_body("<html><body><h1>502 Bad Gateway</h1></body></html>")
        .expect(1)
        .create();
    let client = ServiceClient::with_token(&format!("{}/v3/p", server.url()), TOKEN)
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(MV371))
        .retry_policy(cinder_snapshots::RetryPolicy::none())
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.fault.as_deref()), (502, None));
    assert_eq!(api.message, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    m.assert();

    // A 200 whose body is not a snapshot: says what was decoded and shows the start.
    let mut server = Server::new();
    let f = Fixture::load("mv371_list_summary");
    let m = server.mock("GET", format!("/v3/p/snapshots/{SNAP}").as_str());
    let m = f.respond(&server, m).expect(1).create();
    let err = snapshots::get(&token_client(&server, "p", MV371), SNAP).unwrap_err();
    match &err {
        Error::Decode { what, excerpt, status, .. } => {
            assert_eq!((*what, *status), ("snapshot", 200));
            assert!(excerpt.starts_with("{\"snapshots\": [{\"id\""), "{excerpt}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(err.to_string().contains("could not decode snapshot"));
    m.assert();
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_never_show() {
    const PW: &str = "pw-Zq81-never-print";
    const TOK: &str = "tok-Zq81-never-print";
    const APP: &str = "app-Zq81-never-print";
    let options = [
        AuthOptions::password("http://k/v3", "u", Domain::name("Default"), PW),
        AuthOptions::password_user_id("http://k/v3", "uid", PW),
        AuthOptions::token("http://k/v3", TOK),
        AuthOptions::application_credential("http://k/v3", "id", APP),
        AuthOptions::application_credential_name("http://k/v3", "n", User::id("u"), APP),
    ];
    let mut seen = Vec::new();
    for o in &options {
        seen.push(format!("{o:?}"));
        let builder = ServiceClient::builder(o.clone());
        seen.push(format!("{builder:?}"));
        seen.push(format!("{:?}", builder.build().unwrap()));
    }
    let from_env = ServiceClientBuilder::from_vars([
        ("OS_AUTH_URL", "http://k/v3"),
        ("OS_USERNAME", "u"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PASSWORD", PW),
    ])
    .unwrap();
    seen.push(format!("{from_env:?}"));
    let secret = cinder_snapshots::Secret::new(TOK);
    seen.push(format!("{secret:?} {secret}"));

    // An authenticated client, and the errors of a refused password and a refused token.
    let mut server = Server::new();
    let body = password_body(json!({"name": "admin", "domain": {"name": "Default"}}), None);
    let _ks = keystone_answering(&mut server, body, TOK, |_| {}).create();
    let _cinder = unauthorized_for(&mut server, TOK).create();
    let client = ServiceClient::builder(AuthOptions::password(format!("{}/v3", server.url()), "admin", Domain::name("Default"), PASSWORD))
        .microversion(MicroversionPolicy::Pinned(MV371))
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    seen.push(format!("{client:?} {err} {err:?}"));
    let mut server = Server::new();
    let _refuse = server
        .mock("POST", "/v3/auth/tokens")
        .with_status(401)
        .with_body(Fixture::load("keystone_auth_tokens_bad_password").response_body)
        .create();
    let err = snapshots::get(
        &pinned(ServiceClient::builder(AuthOptions::password(format!("{}/v3", server.url()), "u", Domain::name("D"), PW))),
        SNAP,
    )
    .unwrap_err();
    seen.push(format!("{err} {err:?}"));

    for text in &seen {
        for secret in [PW, TOK, APP] {
            assert!(!text.contains(secret), "{secret} shows in {text}");
        }
    }
    assert!(seen.iter().any(|t| t.contains("<redacted>")));
}

// ---------------------------------------------------------------- issue 10: Keystone and discovery edges

/// Quick retries: 3 retries a millisecond or two apart.
fn quick_retries() -> cinder_snapshots::RetryPolicy {
    cinder_snapshots::RetryPolicy::new()
        .max_retries(3)
        .initial_backoff(std::time::Duration::from_millis(1))
        .max_backoff(std::time::Duration::from_millis(2))
}

/// Keystone's own error envelope for a 503, as keystone's WSGI layer writes it.
const KEYSTONE_503: &str = r#"{"error": {"code": 503, "title": "Service Unavailable", "message": "The server is currently unavailable. Please try again at a later time."}}"#;
const KEYSTONE_503_REQUEST_ID: &str = "req-5f0c7a34-0b7e-4c8e-9b4c-6a0f1f0f2c11";

/// The recorded admin's token request answered `status` with `body`.
fn keystone_failing(server: &mut Server, status: usize, body: &str) -> Mock {
    let f = Fixture::load("keystone_auth_tokens_admin");
    server
        .mock("POST", "/v3/auth/tokens")
        .match_body(Matcher::Json(f.request_json().unwrap()))
        .with_status(status)
        .with_header("Content-Type", "application/json")
        .with_header("X-Openstack-Request-Id", KEYSTONE_503_REQUEST_ID)
        .with_body(body)
}

#[test]
fn a_keystone_503_is_a_transient_api_error_after_the_retries() {
    let mut server = Server::new();
    let ks = keystone_failing(&mut server, 503, KEYSTONE_503).expect(4).create();
    let any_cinder = server.mock("GET", Matcher::Regex("^/v3/[0-9a-f]+/".into())).expect(0).create();
    let client = ServiceClient::builder(admin_auth(&server))
        .microversion(MicroversionPolicy::Pinned(MV371))
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert!(err.is_transient() && !err.is_unauthorized(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.status, api.method.as_str(), api.attempts), (503, "POST", 4));
    assert_eq!(api.url, format!("{}/v3/auth/tokens", server.url()));
    assert_eq!(api.fault.as_deref(), Some("Service Unavailable"));
    assert_eq!(api.message, "The server is currently unavailable. Please try again at a later time.");
    assert_eq!(api.request_id.as_deref(), Some(KEYSTONE_503_REQUEST_ID));
    assert!(!err.to_string().contains("refused the credentials"), "{err}");
    ks.assert();
    any_cinder.assert();
}

#[test]
fn a_keystone_503_then_a_token_succeeds() {
    let mut server = Server::new();
    let unavailable = keystone_failing(&mut server, 503, KEYSTONE_503).with_header("Retry-After", "0").expect(1).create();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(&mut server).expect(1).create();
    let client = ServiceClient::builder(admin_auth(&server))
        .microversion(MicroversionPolicy::Pinned(MV371))
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    unavailable.assert();
    ks.assert();
    show.assert();
}

#[test]
fn only_401_and_403_from_keystone_are_auth_errors() {
    // A wrong auth URL (Keystone's routing 404) is not refused credentials, and not retried.
    let mut server = Server::new();
    let not_found = keystone_failing(
        &mut server,
        404,
        r#"{"error": {"code": 404, "title": "Not Found", "message": "The resource could not be found."}}"#,
    )
    .expect(1)
    .create();
    let client = ServiceClient::builder(admin_auth(&server)).retry_policy(quick_retries()).build().unwrap();
    let err = client.authenticate().unwrap_err();
    assert!(matches!(err, Error::Api(_)) && err.is_not_found() && !err.is_unauthorized() && !err.is_transient(), "{err:?}");
    assert_eq!(err.api().unwrap().fault.as_deref(), Some("Not Found"));
    not_found.assert();

    // 403 (e.g. no role on the project) is an authentication failure, not retried.
    let mut server = Server::new();
    let forbidden = keystone_failing(
        &mut server,
        403,
        r#"{"error": {"code": 403, "title": "Forbidden", "message": "You are not authorized to perform the requested action."}}"#,
    )
    .expect(1)
    .create();
    let client = ServiceClient::builder(admin_auth(&server)).retry_policy(quick_retries()).build().unwrap();
    let err = client.authenticate().unwrap_err();
    assert!(matches!(err, Error::Auth { .. }) && err.is_forbidden() && err.is_unauthorized() && !err.is_transient(), "{err:?}");
    assert_eq!(err.request_id(), Some(KEYSTONE_503_REQUEST_ID));
    forbidden.assert();
}

#[test]
fn a_failed_discovery_is_a_transient_api_error_after_the_retries() {
    let mut server = Server::new();
    let root = server
        .mock("GET", "/")
        .with_status(503)
        .with_header("Content-Type", "application/json")
        .with_header("X-Openstack-Request-Id", "req-0d1e7c5b-3c55-4a0b-8d0a-2f3c3c1f9e42")
        .with_body(r#"{"serviceUnavailable": {"code": 503, "message": "try later"}}"#)
        .expect(4)
        .create();
    let any_show = server.mock("GET", Matcher::Regex("^/v3/".into())).expect(0).create();
    let client = ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
        .unwrap()
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let err = snapshots::get(&client, SNAP).unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert!(err.is_transient() && !err.is_unauthorized(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.status, api.method.as_str(), api.attempts), (503, "GET", 4));
    assert_eq!(api.url, format!("{}/", server.url()));
    assert_eq!(api.fault.as_deref(), Some("serviceUnavailable"));
    assert_eq!(api.request_id.as_deref(), Some("req-0d1e7c5b-3c55-4a0b-8d0a-2f3c3c1f9e42"));
    root.assert();
    any_show.assert();

    // One 503, then the recorded version document: the call succeeds.
    let mut server = Server::new();
    let unavailable = server.mock("GET", "/").with_status(503).with_body("").expect(1).create();
    let root = versions(&mut server).expect(1).create();
    let f = Fixture::load("mv371_snapshot_show");
    let m =
        server.mock("GET", format!("/v3/{ADMIN_PROJECT}/snapshots/{SNAP}").as_str()).match_header("openstack-api-version", "volume 3.71");
    let show = f.respond(&server, m).expect(1).create();
    let client = ServiceClient::with_token(&format!("{}/v3/{ADMIN_PROJECT}", server.url()), TOKEN)
        .unwrap()
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    unavailable.assert();
    root.assert();
    show.assert();
}

#[test]
fn what_is_retried_is_what_is_transient() {
    // (status, requests made by a GET with 3 retries, is_transient)
    for (status, requests, transient) in [(429, 4, true), (502, 4, true), (503, 4, true), (504, 4, true), (500, 1, false), (501, 1, false)]
    {
        let mut server = Server::new();
        let m =
            server.mock("GET", Matcher::Any).with_status(status).with_header("Retry-After", "0").with_body("").expect(requests).create();
        let client = ServiceClient::with_token(&format!("{}/v3/p", server.url()), TOKEN)
            .unwrap()
            .microversion(MicroversionPolicy::Pinned(MV371))
            .retry_policy(quick_retries())
            .build()
            .unwrap();
        let err = snapshots::get(&client, SNAP).unwrap_err();
        assert_eq!((err.status(), err.is_transient()), (Some(status as u16), transient), "{err:?}");
        assert_eq!(err.api().unwrap().attempts, requests as u32, "{status}");
        m.assert();
    }
}

// ---------------------------------------------------------------- issue 10: clock skew

/// The recorded admin token answer, with `issued_at`/`expires_at` moved `hours_ago` hours into
/// the past (keeping the recorded one-hour lifetime and Keystone's shape), handed out as `token`.
fn skewed_keystone(server: &mut Server, token: &str, hours_ago: i64) -> Mock {
    use time::format_description::well_known::Rfc3339;
    let format =
        |t: time::OffsetDateTime| format!("{}.000000Z", t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap().trim_end_matches('Z'));
    let issued = time::OffsetDateTime::now_utc() - time::Duration::hours(hours_ago);
    let mut body: Value =
        serde_json::from_str(&rewrite_hosts(&Fixture::load("keystone_auth_tokens_admin").response_body, &server.url())).unwrap();
    body["token"]["issued_at"] = json!(format(issued));
    body["token"]["expires_at"] = json!(format(issued + time::Duration::hours(1)));
    let f = Fixture::load("keystone_auth_tokens_admin");
    server
        .mock("POST", "/v3/auth/tokens")
        .match_body(Matcher::Json(f.request_json().unwrap()))
        .with_status(201)
        .with_header("Content-Type", "application/json")
        .with_header("X-Subject-Token", token)
        .with_body(body.to_string())
}

#[test]
fn a_token_from_a_skewed_clock_is_used_until_refused() {
    let mut server = Server::new();
    // Keystone's clock is five hours behind: every token it issues has "expired" on arrival.
    let k1 = skewed_keystone(&mut server, "tok-skew-1", 5).expect(1).create();
    let k2 = skewed_keystone(&mut server, "tok-skew-2", 5).expect(1).create();
    let first = show_with_token(&mut server, "tok-skew-1").expect(6).create();
    let refused = unauthorized_for(&mut server, "tok-skew-1").expect(1).create();
    let second = show_with_token(&mut server, "tok-skew-2").expect(4).create();
    let client = admin_client(&server, MV371);
    for _ in 0..6 {
        assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    }
    k1.assert();
    first.assert();
    // The server refuses the token: exactly one more token request, then it is used again.
    for _ in 0..4 {
        assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    }
    assert_eq!(client.token().unwrap().expose_secret(), "tok-skew-2");
    k1.assert();
    k2.assert();
    refused.assert();
    second.assert();
}

// ---------------------------------------------------------------- issue 10: settings a static token cannot use

#[test]
fn a_static_token_refuses_settings_it_cannot_apply() {
    let base = || ServiceClient::with_token("http://127.0.0.1:1/v3/p", TOKEN).unwrap();
    let cache = cinder_snapshots::TokenCache::new(std::env::temp_dir().join("cinder-snapshots-never-used"));
    let cases: Vec<(&str, ServiceClientBuilder)> = vec![
        ("scope", base().scope(Scope::project_id(ADMIN_PROJECT))),
        ("region", base().region("RegionOne")),
        ("interface", base().interface(Interface::Internal)),
        ("interface", base().interface(Interface::Public)),
        ("reauthenticate", base().reauthenticate(true)),
        ("token_cache", base().token_cache(cache.clone())),
    ];
    for (name, builder) in cases {
        match builder.build() {
            Err(Error::Config(m)) => {
                assert!(m.contains(&format!("`{name}`")) && m.contains("with_token"), "{name}: {m}");
            }
            other => panic!("{name}: expected a configuration error, got {other:?}"),
        }
    }
    // Every one of them is named.
    let err = base().region("R").scope(Scope::Default).token_cache(cache).build().unwrap_err().to_string();
    for name in ["`scope`", "`region`", "`token_cache`"] {
        assert!(err.contains(name), "{err}");
    }
    // What does apply still builds: an endpoint override, re-authentication off, the rest.
    base()
        .endpoint_override("http://127.0.0.1:2/v3/q")
        .reauthenticate(false)
        .microversion(MicroversionPolicy::Pinned(MV371))
        .retry_policy(cinder_snapshots::RetryPolicy::none())
        .build()
        .unwrap();
    // With credentials the same settings apply.
    ServiceClient::builder(AuthOptions::password("http://127.0.0.1:1/v3", "u", Domain::name("Default"), "p"))
        .scope(Scope::project_id(ADMIN_PROJECT))
        .region("RegionOne")
        .interface(Interface::Internal)
        .reauthenticate(true)
        .build()
        .unwrap();
}

/// The crate's log lines, captured for the whole test binary (installed once).
#[cfg(feature = "log")]
fn captured_logs() -> &'static std::sync::Mutex<Vec<String>> {
    struct Capture;
    static LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    impl log::Log for Capture {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.target().starts_with("cinder_snapshots")
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                LINES.lock().unwrap().push(format!("{} {}", r.level(), r.args()));
            }
        }
        fn flush(&self) {}
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
    &LINES
}

#[cfg(feature = "log")]
#[test]
fn a_clock_skew_is_logged_once() {
    let logs = captured_logs();
    let mut server = Server::new();
    let k1 = skewed_keystone(&mut server, "tok-skew-log-1", 3).expect(1).create();
    let k2 = skewed_keystone(&mut server, "tok-skew-log-2", 3).expect(1).create();
    let first = show_with_token(&mut server, "tok-skew-log-1").expect(2).create();
    let refused = unauthorized_for(&mut server, "tok-skew-log-1").expect(1).create();
    let second = show_with_token(&mut server, "tok-skew-log-2").expect(2).create();
    let client = admin_client(&server, MV371);
    for _ in 0..4 {
        snapshots::get(&client, SNAP).unwrap();
    }
    for m in [k1, k2, first, refused, second] {
        m.assert();
    }
    // Two skewed tokens, one line; other tests' tokens are issued now and log none.
    let lines: Vec<String> = logs.lock().unwrap().iter().filter(|l| l.contains("Keystone's clock")).cloned().collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("WARN Keystone's clock is about 1080"), "{}", lines[0]);
    assert!(lines[0].contains(" s behind this host's"), "{}", lines[0]);
}
