//! Path segments of the quota resources, below the block-storage endpoint.

/// `os-quota-sets/<project>` (the query `usage=True` adds the usage).
pub(crate) fn quota_set(project_id: &str) -> Vec<String> {
    vec!["os-quota-sets".into(), project_id.into()]
}

/// `limits`: the caller's project's absolute limits and totals used.
pub(crate) fn limits() -> Vec<String> {
    vec!["limits".into()]
}
