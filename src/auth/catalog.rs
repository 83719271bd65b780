use std::fmt;
use std::str::FromStr;

use super::token::{CatalogEndpoint, CatalogService};
use crate::error::{Error, Result};

/// Which of a service's endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Interface {
    /// The public endpoint (the default, as in the `openstack` CLI).
    #[default]
    Public,
    /// The internal endpoint.
    Internal,
    /// The admin endpoint.
    Admin,
}

impl Interface {
    /// The name Keystone uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interface {
    type Err = Error;

    /// Accepts `public`, `internal`, `admin`, and the old `publicURL` forms.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.strip_suffix("url").unwrap_or(&lower) {
            "public" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            _ => Err(Error::Config(format!("unknown interface {s:?}: expected public, internal or admin"))),
        }
    }
}

/// Catalog types that can serve the v3 block-storage API, best first. `volume` counts only
/// when its URL is a v3 one: it often points at the removed v1/v2 APIs.
const SERVICE_TYPES: [&str; 3] = ["block-storage", "volumev3", "volume"];

fn serves_v3(service_type: &str, endpoint: &CatalogEndpoint) -> bool {
    service_type != "volume" || endpoint.url.contains("/v3")
}

/// Picks the block-storage endpoint URL from a token's catalog.
pub(crate) fn select_endpoint(catalog: &[CatalogService], interface: Interface, region: Option<&str>) -> Result<String> {
    for wanted in SERVICE_TYPES {
        let matches: Vec<&CatalogEndpoint> = catalog
            .iter()
            .filter(|s| s.service_type == wanted)
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| serves_v3(wanted, e))
            .filter(|e| e.interface.eq_ignore_ascii_case(interface.as_str()))
            .filter(|e| region.is_none_or(|r| e.region() == Some(r)))
            .collect();
        let Some(first) = matches.first() else {
            continue;
        };
        if region.is_none() {
            let mut regions: Vec<&str> = matches.iter().filter_map(|e| e.region()).collect();
            regions.sort_unstable();
            regions.dedup();
            if regions.len() > 1 {
                return Err(Error::EndpointNotFound {
                    message: format!(
                        "{wanted} has {} endpoints in regions {}; choose one with a region (OS_REGION_NAME)",
                        interface,
                        regions.join(", ")
                    ),
                });
            }
        }
        return Ok(first.url.clone());
    }
    Err(Error::EndpointNotFound { message: describe_miss(catalog, interface, region) })
}

fn describe_miss(catalog: &[CatalogService], interface: Interface, region: Option<&str>) -> String {
    let mut wanted = format!("wanted type {} with interface {interface}", SERVICE_TYPES.join(" or "));
    if let Some(r) = region {
        wanted.push_str(&format!(" in region {r}"));
    }
    if catalog.is_empty() {
        return format!("{wanted}; the token has an empty catalog (is it scoped to a project?)");
    }
    let had: Vec<String> = catalog
        .iter()
        .map(|s| {
            let eps: Vec<String> = s.endpoints.iter().map(|e| format!("{} {}", e.interface, e.region().unwrap_or("(no region)"))).collect();
            format!("{} [{}]", s.service_type, eps.join(", "))
        })
        .collect();
    format!("{wanted}; the catalog has: {}", had.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(t: &str, eps: &[(&str, &str, &str)]) -> CatalogService {
        CatalogService {
            service_type: t.into(),
            endpoints: eps
                .iter()
                .map(|(i, r, u)| CatalogEndpoint { interface: (*i).into(), region_id: Some((*r).into()), region: None, url: (*u).into() })
                .collect(),
        }
    }

    #[test]
    fn prefers_block_storage_then_volumev3() {
        let cat = vec![service("volumev3", &[("public", "R1", "http://v3")]), service("block-storage", &[("public", "R1", "http://bs")])];
        assert_eq!(select_endpoint(&cat, Interface::Public, None).unwrap(), "http://bs");
        let cat = vec![service("volumev3", &[("public", "R1", "http://v3")])];
        assert_eq!(select_endpoint(&cat, Interface::Public, None).unwrap(), "http://v3");
    }

    #[test]
    fn volume_alias_only_when_v3() {
        let cat = vec![service("volume", &[("public", "R1", "http://c/v2/p")])];
        assert!(select_endpoint(&cat, Interface::Public, None).is_err());
        let cat = vec![service("volume", &[("public", "R1", "http://c/v3/p")])];
        assert_eq!(select_endpoint(&cat, Interface::Public, None).unwrap(), "http://c/v3/p");
    }

    #[test]
    fn filters_interface_and_region_and_reports_the_catalog() {
        let cat = vec![
            service("block-storage", &[("public", "R1", "http://p1"), ("internal", "R1", "http://i1"), ("public", "R2", "http://p2")]),
            service("identity", &[("public", "R1", "http://k")]),
        ];
        assert_eq!(select_endpoint(&cat, Interface::Internal, None).unwrap(), "http://i1");
        assert_eq!(select_endpoint(&cat, Interface::Public, Some("R2")).unwrap(), "http://p2");
        let err = select_endpoint(&cat, Interface::Public, None).unwrap_err().to_string();
        assert!(err.contains("regions R1, R2"), "{err}");
        let err = select_endpoint(&cat, Interface::Admin, Some("R3")).unwrap_err().to_string();
        assert_eq!(
            err,
            "no block-storage endpoint found: wanted type block-storage or volumev3 or volume with interface admin in region R3; \
             the catalog has: block-storage [public R1, internal R1, public R2]; identity [public R1]"
        );
    }

    #[test]
    fn legacy_region_field() {
        let cat = vec![CatalogService {
            service_type: "block-storage".into(),
            endpoints: vec![CatalogEndpoint {
                interface: "public".into(),
                region_id: None,
                region: Some("R9".into()),
                url: "http://x".into(),
            }],
        }];
        assert_eq!(select_endpoint(&cat, Interface::Public, Some("R9")).unwrap(), "http://x");
    }

    #[test]
    fn interface_parsing() {
        assert_eq!("publicURL".parse::<Interface>().unwrap(), Interface::Public);
        assert_eq!("Internal".parse::<Interface>().unwrap(), Interface::Internal);
        assert!("private".parse::<Interface>().is_err());
    }
}
