//! A snapshot answer: any bytes parse or fail, never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cinder_snapshots::fuzzing::snapshot(data);
});
