//! Re-authentication after a token expires, against a real Keystone and Cinder whose tokens
//! live only a few seconds. `scripts/live-tests` runs it on a cloud started with
//! `--token-ttl 20` (a separate cloud: with so short a lifetime every service token is renewed
//! on each use, which makes the rest of the suite slow).

use std::time::Duration;

use cinder_snapshots::snapshots::{self, ListOpts};
use cinder_snapshots::{ServiceClient, ServiceClientBuilder};

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn reauthenticates_after_the_token_expires() {
    let Some(ttl) = std::env::var("LOCAL_CLOUD_TOKEN_TTL").ok().and_then(|t| t.parse::<u64>().ok()) else {
        panic!("LOCAL_CLOUD_TOKEN_TTL is not set: scripts/live-tests starts the cloud with a short token lifetime");
    };
    assert!(ttl <= 120, "the token lifetime ({ttl} s) is too long for this test");
    let c = ServiceClientBuilder::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("OS_"))).unwrap().build().unwrap();
    snapshots::list(&c, &ListOpts::default()).unwrap().count();
    let first = c.token().unwrap();
    std::thread::sleep(Duration::from_secs(ttl + 2));
    // The old token is dead at Keystone...
    let stale = ServiceClient::with_token(c.endpoint().unwrap().as_str(), first.clone()).unwrap().build().unwrap();
    assert!(snapshots::list(&stale, &ListOpts::default()).unwrap().all().unwrap_err().is_unauthorized());
    // ...and the client gets a new one by itself.
    snapshots::list(&c, &ListOpts::default()).unwrap().count();
    assert_ne!(c.token().unwrap(), first);
}
