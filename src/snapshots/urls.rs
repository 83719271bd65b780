//! Path segments of the snapshot resources, below the block-storage endpoint.

pub(crate) fn list() -> Vec<String> {
    vec!["snapshots".into()]
}

pub(crate) fn list_detail() -> Vec<String> {
    vec!["snapshots".into(), "detail".into()]
}

pub(crate) fn snapshot(id: &str) -> Vec<String> {
    vec!["snapshots".into(), id.into()]
}

pub(crate) fn action(id: &str) -> Vec<String> {
    vec!["snapshots".into(), id.into(), "action".into()]
}

pub(crate) fn metadata(id: &str) -> Vec<String> {
    vec!["snapshots".into(), id.into(), "metadata".into()]
}

pub(crate) fn metadata_key(id: &str, key: &str) -> Vec<String> {
    vec!["snapshots".into(), id.into(), "metadata".into(), key.into()]
}
