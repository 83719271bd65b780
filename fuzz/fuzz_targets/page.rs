//! A listing page and the next-link handling of the pager.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cinder_snapshots::fuzzing::page(data);
});
