//! What the benches that run the tool share: where the target directory is, the `wait4`
//! helper that measures a child (benches/rusage.c), and numeric settings from the
//! environment.

use std::process::Command;

/// The target directory: `CARGO_TARGET_DIR` when set, else the package's `target/`.
pub fn target_dir() -> String {
    std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")))
}

/// Builds benches/rusage.c into the target directory.
pub fn rusage() -> String {
    let out = format!("{}/bench-rusage", target_dir());
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/rusage.c");
    let ok = Command::new("cc").args(["-O2", "-o", &out, src]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "cannot build {src} with cc");
    out
}

/// The number in the environment variable `name`, else `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
