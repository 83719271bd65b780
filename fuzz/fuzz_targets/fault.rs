//! Error bodies of every shape (Cinder, Keystone, routing, anything else).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cinder_snapshots::fuzzing::fault(data);
});
