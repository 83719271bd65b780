//! Timestamps and Retry-After values.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = cinder_snapshots::fuzzing::timestamp(s);
        let _ = cinder_snapshots::fuzzing::retry_after(s);
    }
});
