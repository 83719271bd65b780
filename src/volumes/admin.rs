//! Whether Cinder gives the caller the admin view: read from its answer, not guessed from a
//! role name.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::urls;
use crate::client::{Request, ServiceClient};
use crate::error::{Error, Result};

/// The key of a volume that only the admin view has: Cinder's policy
/// `volume_extension:volume_host_attribute` is `rule:admin_api` by default, so a caller that
/// sees it is what Cinder's `context_is_admin` rule calls an admin (role `admin` by
/// default), and `all_tenants` reaches every project for it.
pub const ADMIN_VIEW_KEY: &str = "os-vol-host-attr:host";

/// Whether Cinder gives this client the admin view: one request, `GET
/// /volumes/detail?all_tenants=1&limit=1`, and whether the volume listed carries
/// [`ADMIN_VIEW_KEY`] (present, even `null`). `None` when no volume is listed at all
/// (nothing to tell by; nothing to act on either).
///
/// ```no_run
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// if cinder_snapshots::volumes::admin_view(&client)? == Some(false) {
///     eprintln!("these credentials see only their own project");
/// }
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
///
/// # Errors
///
/// The listing's error.
pub fn admin_view(client: &ServiceClient) -> Result<Option<bool>> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        volumes: Vec<Map<String, Value>>,
    }
    let response = client.send(Request::get(urls::list_detail()).query([("all_tenants", "1"), ("limit", "1")]))?;
    let page: Page = response.json("volume listing")?;
    Ok(page.volumes.first().map(|v| v.contains_key(ADMIN_VIEW_KEY)))
}

/// [`Error::AdminViewRequired`] when Cinder does not give this client the admin view
/// ([`admin_view`] is `Some(false)`): what the job ([`run`](crate::job::run)), the prune
/// ([`prune`](crate::job::prune)) and the check call before acting on every project,
/// since Cinder answers a member's `all_tenants` with the member's own project, silently.
///
/// # Errors
///
/// [`Error::AdminViewRequired`], or the listing's error.
pub fn require_admin_view(client: &ServiceClient) -> Result<()> {
    match admin_view(client)? {
        Some(false) => Err(Error::AdminViewRequired),
        _ => Ok(()),
    }
}
