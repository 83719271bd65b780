//! The local cloud of the live suite, as `scripts/live-tests` hands it over: the admin's
//! `OS_*` variables in the environment, and `MEMBER_ENV` naming the member's env file.
#![allow(dead_code)]

/// The `OS_*` variables of an env file (`export K=V` lines, optionally quoted).
pub fn read_env_file(path: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export ").or(Some(l.trim())))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned()))
        .filter(|(k, _)| k.starts_with("OS_"))
        .collect()
}

/// The admin's `OS_*` variables (this process's environment).
pub fn admin_vars() -> Vec<(String, String)> {
    std::env::vars().filter(|(k, _)| k.starts_with("OS_")).collect()
}

/// The member's `OS_*` variables (the file `MEMBER_ENV` names).
pub fn member_vars() -> Vec<(String, String)> {
    let path = std::env::var("MEMBER_ENV").expect("MEMBER_ENV names the member's env file (scripts/live-tests sets it)");
    read_env_file(&path)
}
