//! The floor for the list jobs of `benches/snapshots.rs`: the least a program can do to list
//! the same snapshots with the same HTTP and JSON crates. One token request (password,
//! project scope, from the same `OS_*` variables), the block-storage endpoint read from the
//! catalog, then `GET {endpoint}/snapshots/detail`, following each page's next link, every
//! page read whole into a `String` and parsed with serde_json into structs that borrow their strings from the
//! body (no copy, no timestamp parsing, no checks). ureq's agent has its defaults: no
//! timeouts, so its resolver starts no thread. It prints the number of snapshots.
//!
//! Not a library client: no microversion discovery, no retries, no error reporting beyond a
//! message; a string with a JSON escape in it would fail to borrow. It only serves as the
//! yardstick for "how much does the crate cost above ureq + serde_json".
//!
//! `cargo bench` runs it once with no `OS_AUTH_URL`: it then says so and exits.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct TokenBody<'a> {
    #[serde(borrow)]
    token: Token<'a>,
}

#[derive(Deserialize)]
struct Token<'a> {
    #[serde(borrow, default)]
    catalog: Vec<Service<'a>>,
}

#[derive(Deserialize)]
struct Service<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    endpoints: Vec<Endpoint<'a>>,
}

#[derive(Deserialize)]
struct Endpoint<'a> {
    interface: &'a str,
    #[serde(default)]
    region: Option<&'a str>,
    url: &'a str,
}

#[derive(Deserialize)]
#[allow(dead_code)] // read to be parsed, not used
struct Snapshot<'a> {
    id: &'a str,
    name: Option<&'a str>,
    description: Option<&'a str>,
    volume_id: &'a str,
    status: &'a str,
    #[serde(default)]
    size: u64,
    #[serde(borrow, default)]
    metadata: BTreeMap<&'a str, &'a str>,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    #[serde(rename = "os-extended-snapshot-attributes:progress")]
    progress: Option<&'a str>,
    #[serde(rename = "os-extended-snapshot-attributes:project_id")]
    project_id: Option<&'a str>,
    group_snapshot_id: Option<&'a str>,
    user_id: Option<&'a str>,
    consumes_quota: Option<bool>,
}

#[derive(Deserialize)]
struct Link<'a> {
    rel: &'a str,
    href: &'a str,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    snapshots: Vec<Snapshot<'a>>,
    #[serde(borrow, default)]
    snapshots_links: Vec<Link<'a>>,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn run() -> Result<usize, Box<dyn std::error::Error>> {
    let agent = ureq::Agent::new_with_defaults();
    let auth_url = var("OS_AUTH_URL");
    let auth = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": var("OS_USERNAME"), "password": var("OS_PASSWORD"), "domain": {"name": var("OS_USER_DOMAIN_NAME")}}}},
        "scope": {"project": {"name": var("OS_PROJECT_NAME"), "domain": {"name": var("OS_PROJECT_DOMAIN_NAME")}}}
    }});
    let mut resp = agent.post(format!("{}/auth/tokens", auth_url.trim_end_matches('/'))).send_json(&auth)?;
    let token = resp.headers().get("x-subject-token").ok_or("no X-Subject-Token")?.to_str()?.to_owned();
    let body = resp.body_mut().read_to_string()?;
    let parsed: TokenBody = serde_json::from_str(&body)?;
    let (region, interface) = (var("OS_REGION_NAME"), var("OS_INTERFACE"));
    let endpoint = parsed
        .token
        .catalog
        .iter()
        .filter(|s| matches!(s.kind, "block-storage" | "volumev3"))
        .flat_map(|s| &s.endpoints)
        .find(|e| e.interface == interface && (region.is_empty() || e.region == Some(region.as_str())))
        .ok_or("no block-storage endpoint")?;
    let mut next = Some(format!("{}/snapshots/detail", endpoint.url.trim_end_matches('/')));
    let mut count = 0;
    while let Some(url) = next.take() {
        let mut resp = agent.get(&url).header("X-Auth-Token", &token).header("OpenStack-API-Version", "volume 3.71").call()?;
        let body = resp.body_mut().with_config().limit(64 << 20).read_to_string()?;
        let page: Page = serde_json::from_str(&body)?;
        count += page.snapshots.len();
        if !page.snapshots.is_empty() {
            next = page.snapshots_links.iter().find(|l| l.rel == "next").map(|l| l.href.to_owned());
        }
    }
    Ok(count)
}

fn main() {
    if std::env::var_os("OS_AUTH_URL").is_none() {
        println!("benches/minimal: the yardstick program benches/snapshots.rs runs (needs OS_AUTH_URL); nothing to measure alone");
        return;
    }
    match run() {
        Ok(n) => println!("{n}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
