//! Path segments of the volume resources, below the block-storage endpoint.

pub(crate) fn list() -> Vec<String> {
    vec!["volumes".into()]
}

pub(crate) fn list_detail() -> Vec<String> {
    vec!["volumes".into(), "detail".into()]
}

pub(crate) fn volume(id: &str) -> Vec<String> {
    vec!["volumes".into(), id.into()]
}

pub(crate) fn action(id: &str) -> Vec<String> {
    vec!["volumes".into(), id.into(), "action".into()]
}

pub(crate) fn metadata(id: &str) -> Vec<String> {
    vec!["volumes".into(), id.into(), "metadata".into()]
}

pub(crate) fn metadata_key(id: &str, key: &str) -> Vec<String> {
    vec!["volumes".into(), id.into(), "metadata".into(), key.into()]
}
