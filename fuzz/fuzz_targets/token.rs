//! Keystone token answers and the catalog look-up, with and without a region.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cinder_snapshots::fuzzing::token(data, None);
    let _ = cinder_snapshots::fuzzing::token(data, Some("RegionOne"));
});
