use std::collections::BTreeMap;

use serde_json::Value;

use super::results::{Limits, ProjectRoom, QuotaSet, QuotaUsage, RoomSource};
use super::urls;
use crate::checks;
use crate::client::{Request, ServiceClient};
use crate::error::{Error, Result};

/// A project's quotas with their usage: `GET os-quota-sets/<project>?usage=True`.
///
/// Cinder's default policy lets a project read its own quota set; another project's needs
/// an admin (a member gets 403 "Policy doesn't allow volume_extension:quotas:show to be
/// performed."). A key whose value is not `{"limit": n, ...}` is left out.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, quotas};
/// let client = ServiceClient::from_env()?;
/// let project = client.project_id()?.unwrap_or_default();
/// let set = quotas::get_usage(&client, &project)?;
/// println!("{:?} snapshots left", set.room("snapshots"));
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn get_usage(client: &ServiceClient, project_id: &str) -> Result<QuotaSet> {
    checks::id("project", project_id)?;
    let response = client.send(Request::get(urls::quota_set(project_id)).query([("usage", "True")]))?;
    let body: Value = response.json("quota set")?;
    let Some(Value::Object(set)) = body.get("quota_set") else {
        return Err(response.decode_error("quota set", "no \"quota_set\" object in the answer"));
    };
    let mut usages = BTreeMap::new();
    for (key, value) in set {
        if let Ok(usage) = serde_json::from_value::<QuotaUsage>(value.clone()) {
            usages.insert(key.clone(), usage);
        }
    }
    let project = set.get("id").and_then(Value::as_str).unwrap_or(project_id).to_owned();
    Ok(QuotaSet { project_id: project, usages })
}

/// The caller's project's absolute limits: `GET limits`. Fields Cinder does not send are
/// `None`.
pub fn limits(client: &ServiceClient) -> Result<Limits> {
    let response = client.send(Request::get(urls::limits()))?;
    let body: Value = response.json("limits")?;
    let Some(absolute) = body.get("limits").and_then(|l| l.get("absolute")) else {
        return Err(response.decode_error("limits", "no \"limits\".\"absolute\" object in the answer"));
    };
    serde_json::from_value(absolute.clone()).map_err(|e| response.decode_error("limits", e))
}

/// The room of the caller's project (the project of the client's token, where Cinder puts
/// what the client creates, whatever project the volume is in): its quota set with usage,
/// else (403 or 404) its limits, else (403 or 404 again, or no project known) unknown.
///
/// # Errors
///
/// Any other failure of either call (a 5xx, the network, an answer that does not decode).
pub fn room(client: &ServiceClient) -> Result<ProjectRoom> {
    let unreadable = |e: &Error| matches!(e.status(), Some(403 | 404));
    if let Some(project) = client.project_id()? {
        match get_usage(client, &project) {
            Ok(set) => return Ok(ProjectRoom { source: RoomSource::QuotaSet, quota_set: Some(set), limits: None }),
            Err(e) if unreadable(&e) => {}
            Err(e) => return Err(e),
        }
    }
    match limits(client) {
        Ok(l) => Ok(ProjectRoom { source: RoomSource::Limits, quota_set: None, limits: Some(l) }),
        Err(e) if unreadable(&e) => Ok(ProjectRoom::unknown()),
        Err(e) => Err(e),
    }
}
