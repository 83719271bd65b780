use serde::Deserialize;
use time::OffsetDateTime;

use crate::timestamp;

/// The parts of Keystone's `{"token": {...}}` answer that the client needs.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenBody {
    pub token: TokenInfo,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenInfo {
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient")]
    pub issued_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub catalog: Vec<CatalogService>,
    /// The project the token is scoped to, if any.
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

/// The token's project: its id is where Cinder puts what the caller creates.
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectRef {
    pub id: String,
}

/// One service of the catalog.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogService {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog service.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogEndpoint {
    #[serde(default)]
    pub interface: String,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub url: String,
}

impl CatalogEndpoint {
    /// `region_id`, else the deprecated `region`.
    pub fn region(&self) -> Option<&str> {
        self.region_id.as_deref().or(self.region.as_deref())
    }
}
