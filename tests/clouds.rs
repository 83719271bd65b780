//! clouds.yaml, secure.yaml and OS_CLOUD: what a cloud's settings make the client send
//! (the recorded Keystone request, the recorded Cinder request), and errors that name the
//! file and the key. Each test writes its config files into its own temporary directory
//! and points OS_CLIENT_CONFIG_FILE / OS_CLIENT_SECURE_FILE at them.

mod common;

use std::path::{Path, PathBuf};

use cinder_snapshots::{Error, ServiceClientBuilder, snapshots};
use common::*;
use mockito::Server;
use serde_json::json;

const SNAP: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cinder-snapshots-clouds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.0.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn vars(cloud: &str, config: &Path, secure: Option<&Path>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vec![("OS_CLOUD".to_owned(), cloud.to_owned()), ("OS_CLIENT_CONFIG_FILE".to_owned(), config.display().to_string())];
    // Without a secure file of the test's own, an empty one: never the user's.
    let secure = secure.map_or_else(
        || {
            let empty = config.with_file_name("empty-secure.json");
            std::fs::write(&empty, "{}").unwrap();
            empty
        },
        Path::to_owned,
    );
    v.push(("OS_CLIENT_SECURE_FILE".to_owned(), secure.display().to_string()));
    v.extend(extra.iter().map(|(k, val)| ((*k).to_owned(), (*val).to_owned())));
    v
}

fn config_error(result: cinder_snapshots::Result<ServiceClientBuilder>) -> String {
    match result.and_then(ServiceClientBuilder::build) {
        Err(Error::Config(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// The recorded admin's Keystone request and a recorded `GET /snapshots/{id}` at 3.71: what
/// a cloud describing the recorded admin must make the client send.
fn expect_admin_requests(server: &mut Server) -> (mockito::Mock, mockito::Mock) {
    let ks = keystone(server, "keystone_auth_tokens_admin").expect(1).create();
    let show = Fixture::load("mv371_snapshot_show").mock(server).expect(1).create();
    (ks, show)
}

#[test]
#[cfg(feature = "clouds-yaml")]
fn a_yaml_cloud_with_secure_yaml_sends_the_recorded_requests() {
    let dir = TempDir::new("yaml");
    let mut server = Server::new();
    let (ks, show) = expect_admin_requests(&mut server);
    let clouds = dir.write(
        "clouds.yaml",
        &format!(
            r#"
clouds:
  other:
    auth: {{auth_url: "http://other.example:5000"}}
  local:
    auth:
      auth_url: {url}/v3
      username: admin
      user_domain_name: Default
      project_name: admin
      project_domain_name: Default
    auth_type: password
    region_name: RegionOne
    interface: public
    volume_api_version: "3.71"
"#,
            url = server.url()
        ),
    );
    let secure = dir.write("secure.yaml", &format!("clouds:\n  local:\n    auth:\n      password: {PASSWORD}\n"));
    let client = ServiceClientBuilder::from_vars(vars("local", &clouds, Some(&secure), &[])).unwrap().build().unwrap();
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    ks.assert();
    show.assert();
    assert_eq!(client.endpoint().unwrap().as_str(), format!("{}/v3/{ADMIN_PROJECT}", server.url()));
}

#[test]
fn os_variables_are_laid_over_the_cloud() {
    let dir = TempDir::new("overlay");
    let mut server = Server::new();
    let (ks, show) = expect_admin_requests(&mut server);
    // No password in the file, a wrong region: the environment supplies and corrects them.
    let clouds = dir.write(
        "clouds.json",
        &json!({"clouds": {"local": {
            "auth": {"auth_url": server.url(), "username": "admin", "domain_name": "Default", "project_name": "admin"},
            "region_name": "Elsewhere",
            "block_storage_api_version": "3.71"
        }}})
        .to_string(),
    );
    let extra = [("OS_PASSWORD", PASSWORD), ("OS_REGION_NAME", "RegionOne")];
    let client = ServiceClientBuilder::from_vars(vars("local", &clouds, None, &extra)).unwrap().build().unwrap();
    assert_eq!(snapshots::get(&client, SNAP).unwrap().id, SNAP);
    ks.assert();
    show.assert();
}

#[test]
#[cfg(feature = "clouds-yaml")]
fn block_storage_keys_override_the_endpoint_and_pin_the_microversion() {
    let dir = TempDir::new("service");
    let mut server = Server::new();
    let ks = keystone(&mut server, "keystone_auth_tokens_admin").expect(1).create();
    // The recorded project-less listing at 3.71 (the server accepts it from 3.67 on).
    let list = Fixture::load("mv371_projectless_detail_limit2_page1");
    let clouds = dir.write(
        "clouds.yml",
        &format!(
            "clouds:\n  local:\n    auth:\n      auth_url: {url}\n      username: admin\n      password: {PASSWORD}\n      \
             user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n    \
             volume_api_version: '3'\n    block_storage_endpoint_override: {url}/v3\n    block_storage_default_microversion: '3.71'\n    \
             api_timeout: 30\n    verify: true\n",
            url = server.url()
        ),
    );
    let client = ServiceClientBuilder::from_vars(vars("local", &clouds, None, &[])).unwrap().build().unwrap();
    assert_eq!(client.endpoint().unwrap().as_str(), format!("{}/v3", server.url()));
    // Pinned: no discovery request (none is mocked; one would fail).
    assert_eq!(client.microversion().unwrap().to_string(), "3.71");
    let m = list.mock(&mut server).expect(1).create();
    let opts = snapshots::ListOpts::new().limit(2);
    let first = snapshots::list_detail(&client, &opts).unwrap().pages().next().unwrap().unwrap();
    assert_eq!(first.items.len(), 2);
    ks.assert();
    m.assert();
}

#[test]
#[cfg(feature = "clouds-yaml")]
fn application_credential_clouds_send_no_scope() {
    let dir = TempDir::new("appcred");
    let mut server = Server::new();
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": "423f19a4ac1e4f48bbb4180756e6eb6c", "secret": "rEaqvJka48mpv"}}}});
    let ks = server
        .mock("POST", "/v3/auth/tokens")
        .match_body(mockito::Matcher::Json(body))
        .with_status(201)
        .with_header("X-Subject-Token", TOKEN)
        .with_body(rewrite_hosts(&Fixture::load("keystone_auth_tokens_admin").response_body, &server.url()))
        .expect(1)
        .create();
    let clouds = dir.write(
        "clouds.yaml",
        &format!(
            "clouds:\n  app:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {}/v3\n      \
             application_credential_id: 423f19a4ac1e4f48bbb4180756e6eb6c\n      application_credential_secret: rEaqvJka48mpv\n      \
             project_name: ignored-as-openstacksdk-does\n",
            server.url()
        ),
    );
    let client = ServiceClientBuilder::from_vars(vars("app", &clouds, None, &[])).unwrap().build().unwrap();
    client.token().unwrap();
    ks.assert();
}

#[test]
#[cfg(feature = "clouds-yaml")]
fn errors_name_the_file_and_the_key() {
    let dir = TempDir::new("errors");
    let file = |text: &str| dir.write("clouds.yaml", text);
    let base = "clouds:\n  c:\n    auth:\n      auth_url: http://k:5000/v3\n      username: u\n      user_domain_name: D\n";
    let p = file(base).display().to_string();
    let err = |cloud: &str, text: &str, extra: &[(&str, &str)]| {
        let path = file(text);
        config_error(ServiceClientBuilder::from_vars(vars(cloud, &path, None, extra)))
    };

    let m = err("c", base, &[]);
    assert_eq!(m, format!("clouds.c.auth.password in {p} is not set: password authentication needs it"));
    let m = err("c", &format!("{base}      password: x\n    interface: sideways\n"), &[]);
    assert_eq!(m, format!("clouds.c.interface in {p}=\"sideways\" is not public, internal or admin"));
    let m = err("c", &format!("{base}      password: x\n    auth_type: v3oidcpassword\n"), &[]);
    assert!(m.starts_with(&format!("clouds.c.auth_type in {p}=\"v3oidcpassword\" is not supported")), "{m}");
    let m = err("c", &format!("{base}      password: x\n    volume_api_version: '2'\n"), &[]);
    assert!(m.starts_with(&format!("clouds.c.volume_api_version in {p}=\"2\"")), "{m}");
    let m = err("c", &format!("{base}      password: x\n    verify: perhaps\n"), &[]);
    assert!(m.starts_with(&format!("clouds.c.verify in {p}=\"perhaps\" is not a boolean")), "{m}");
    let m = err("c", &format!("{base}      password: [a, b]\n"), &[]);
    assert_eq!(m, format!("clouds.c.auth.password in {p} must be a single value, not a list or mapping"));
    let m = err("c", &format!("{base}      password: x\n      project_name: p\n"), &[]);
    assert!(m.starts_with(&format!("clouds.c.auth.project_domain_name in {p} is not set")), "{m}");
    // A key set in the environment is named as the variable.
    let m = err("c", &format!("{base}      password: x\n"), &[("OS_INTERFACE", "sideways")]);
    assert_eq!(m, "OS_INTERFACE=\"sideways\" is not public, internal or admin");
    let m = err("nope", base, &[]);
    assert_eq!(m, format!("{p} has no cloud named \"nope\" (it has: c)"));
    let m = err("c", "clouds: [\n", &[]);
    assert!(m.starts_with(&format!("{p} is not valid YAML: ")), "{m}");
    let m = err("c", "just text\n", &[]);
    assert_eq!(m, format!("{p} does not hold a mapping (expected a top-level `clouds:` key)"));
    let m = err("c", "other: 1\n", &[]);
    assert_eq!(m, format!("{p} has no `clouds:` section"));

    let missing = dir.0.join("missing.yaml");
    let m = config_error(ServiceClientBuilder::from_vars(vars("c", &missing, None, &[])));
    assert_eq!(m, format!("OS_CLIENT_CONFIG_FILE={} does not name a readable file", missing.display()));
    let bad_json = dir.write("clouds.json", "{\"clouds\": ");
    let m = config_error(ServiceClientBuilder::from_vars(vars("c", &bad_json, None, &[])));
    assert!(m.starts_with(&format!("{} is not valid JSON: ", bad_json.display())), "{m}");
}

#[test]
#[cfg(feature = "clouds-yaml")]
fn secrets_from_files_never_show() {
    let dir = TempDir::new("secrets");
    let clouds = dir.write(
        "clouds.yaml",
        "clouds:\n  c:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      user_domain_name: D\n      password: hunter2-file\n",
    );
    let builder = ServiceClientBuilder::from_vars(vars("c", &clouds, None, &[])).unwrap();
    assert!(!format!("{builder:?}").contains("hunter2-file"));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("hunter2-file"));
    let err = client.token().unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2-file"));
}

#[test]
fn from_cloud_needs_a_name() {
    assert!(matches!(ServiceClientBuilder::from_cloud(" "), Err(Error::Config(m)) if m == "the cloud name is empty"));
}

#[test]
#[cfg(not(feature = "clouds-yaml"))]
fn without_the_yaml_feature_a_yaml_file_is_a_clear_error() {
    let dir = TempDir::new("noyaml");
    let clouds = dir.write("clouds.yaml", "clouds: {}\n");
    let m = config_error(ServiceClientBuilder::from_vars(vars("c", &clouds, None, &[])));
    assert_eq!(
        m,
        format!(
            "{} is not valid YAML: this build of cinder-snapshots has no YAML support (feature `clouds-yaml`); use clouds.json",
            clouds.display()
        )
    );
}
