//! `cinder-snapshots`: the snapshot calls of the crate from the shell, for scripts and cron
//! jobs. Flags follow the `openstack volume snapshot` command; `--json` output is stable;
//! exit codes are documented in `--help` (0 ok, 1 the cloud said no, 2 usage, 3 a wait timed
//! out, 4 a wait ended in a failure). Built with the `cli` feature.

mod args;
mod output;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use args::{Action, Cli, Command, Usage, pairs};
use cinder_snapshots::snapshots::{
    self, CreateOpts, ListOpts, ResetStatusOpts, Snapshot, SnapshotStatus, UpdateMetadataOpts, UpdateOpts, WaitErrorKind, WaitOpts,
};
use cinder_snapshots::{Error, ServiceClient, ServiceClientBuilder, TokenCache};

/// Why the tool stops, and its exit code.
enum Failure {
    Usage(String),
    Cloud(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Cloud(e)
    }
}

impl From<Usage> for Failure {
    fn from(u: Usage) -> Self {
        Failure::Usage(u.0)
    }
}

fn main() -> ExitCode {
    let cli = match args::parse(std::env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(Usage(message)) => return usage(&message),
    };
    let command = match cli.action {
        Action::Help(ref text) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Action::Version => {
            println!("cinder-snapshots {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Action::Run(ref command) => command,
    };
    if cli.debug {
        // Only fails when a logger is already set, which cannot happen here.
        let _ = log::set_logger(&StderrLogger);
        log::set_max_level(log::LevelFilter::Debug);
    }
    let result = client(&cli).and_then(|client| run(&client, command, cli.json));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => usage(&message),
        Err(Failure::Cloud(e)) => {
            eprintln!("cinder-snapshots: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("cinder-snapshots: {message}\nTry 'cinder-snapshots --help'.");
    ExitCode::from(2)
}

/// 1 for the cloud or the network saying no, 2 for input the crate refused before sending,
/// 3 for a wait that timed out, 4 for a wait that ended in a failure.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::InvalidInput(_) => 2,
        Error::Wait(w) => match w.kind {
            WaitErrorKind::TimedOut | WaitErrorKind::Cancelled => 3,
            _ => 4,
        },
        _ => 1,
    }
}

/// The process's `OS_*` variables with the command line's laid over them; the token cache
/// unless `--no-token-cache`.
fn client(cli: &Cli) -> Result<ServiceClient, Failure> {
    let mut vars: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("OS_")).collect();
    vars.extend(cli.vars.iter().cloned());
    let mut builder = ServiceClientBuilder::from_vars(vars)?.user_agent(concat!("cinder-snapshots-cli/", env!("CARGO_PKG_VERSION")));
    if cli.token_cache {
        if let Some(cache) = TokenCache::user_default() {
            builder = builder.token_cache(cache);
        }
    }
    Ok(builder.build()?)
}

fn run(client: &ServiceClient, cmd: &Command, json: bool) -> Result<(), Failure> {
    let arg = |i: usize| cmd.args.get(i).map_or("", String::as_str);
    match cmd.name {
        "list" => list(client, cmd, json),
        "show" => print_one(&resolve(client, arg(0))?, json),
        "create" => {
            let volume = cmd.value("volume").ok_or_else(|| Usage("create needs --volume VOLUME".into()))?;
            let mut opts = CreateOpts::new(volume).force(cmd.flag("force"));
            if let Some(name) = cmd.args.first() {
                opts = opts.name(name.as_str());
            }
            if let Some(d) = cmd.value("description") {
                opts = opts.description(d);
            }
            for (k, v) in pairs(cmd.values("property"), "--property")? {
                opts = opts.metadata(k, v);
            }
            let timeout = cmd.seconds("wait-timeout")?;
            let snap = snapshots::create(client, &opts)?;
            let snap = if cmd.flag("wait") {
                waiting(timeout, |opts| snapshots::wait_for_status(client, &snap.id, SnapshotStatus::Available, opts))?
            } else {
                snap
            };
            print_one(&snap, json)
        }
        "update" => {
            let mut opts = UpdateOpts::new();
            if let Some(n) = cmd.value("name") {
                opts = opts.name(n);
            }
            if let Some(d) = cmd.value("description") {
                opts = opts.description(d);
            }
            let id = id_of(client, arg(0))?;
            print_one(&snapshots::update(client, &id, &opts)?, json)
        }
        "set-metadata" => {
            let mut opts = UpdateMetadataOpts::new();
            for (k, v) in pairs(&cmd.args[1..], "metadata")? {
                opts = opts.set(k, v);
            }
            let id = id_of(client, arg(0))?;
            let metadata = snapshots::merge_metadata(client, &id, &opts)?;
            if json {
                println!("{}", serde_json::Value::from(serde_json::Map::from_iter(metadata.into_iter().map(|(k, v)| (k, v.into())))));
            } else {
                let rows: Vec<Vec<String>> = metadata.into_iter().map(|(k, v)| vec![k, v]).collect();
                print!("{}", output::table(&["Key".into(), "Value".into()], &rows));
            }
            Ok(())
        }
        "unset-metadata" => {
            let id = id_of(client, arg(0))?;
            for key in &cmd.args[1..] {
                snapshots::delete_metadata_key(client, &id, key)?;
            }
            Ok(())
        }
        "delete" => {
            let timeout = cmd.seconds("wait-timeout")?;
            let mut ids = Vec::new();
            for name in &cmd.args {
                let id = id_of(client, name)?;
                snapshots::delete(client, &id)?;
                ids.push(id);
            }
            if cmd.flag("wait") {
                for id in ids {
                    waiting(timeout, |opts| snapshots::wait_for_delete(client, &id, opts))?;
                }
            }
            Ok(())
        }
        "force-delete" => {
            for name in &cmd.args {
                let id = id_of(client, name)?;
                snapshots::force_delete(client, &id)?;
            }
            Ok(())
        }
        "reset-status" => {
            let state = cmd.value("state").ok_or_else(|| Usage("reset-status needs --state STATUS".into()))?;
            let status: SnapshotStatus = state.parse().unwrap_or_else(|never| match never {});
            let id = id_of(client, arg(0))?;
            Ok(snapshots::reset_status(client, &id, &ResetStatusOpts { status })?)
        }
        "wait" => {
            let timeout = cmd.seconds("timeout")?;
            let id = id_of(client, arg(0))?;
            match cmd.value("status").unwrap_or("available") {
                "deleted" => waiting(timeout, |opts| snapshots::wait_for_delete(client, &id, opts)),
                status => {
                    let target: SnapshotStatus = status.parse().unwrap_or_else(|never| match never {});
                    print_one(&waiting(timeout, |opts| snapshots::wait_for_status(client, &id, target, opts))?, json)
                }
            }
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    }
}

fn list(client: &ServiceClient, cmd: &Command, json: bool) -> Result<(), Failure> {
    let mut opts = ListOpts {
        all_tenants: cmd.flag("all-projects"),
        project_id: cmd.value("project").map(str::to_owned),
        name: cmd.value("name").map(str::to_owned),
        status: cmd.value("status").map(|s| s.parse().unwrap_or_else(|never| match never {})),
        volume_id: cmd.value("volume").map(str::to_owned),
        marker: cmd.value("marker").map(str::to_owned),
        sort: cmd.value("sort").map(str::to_owned),
        ..ListOpts::default()
    };
    opts.metadata.extend(pairs(cmd.values("property"), "--property")?);
    let cap = cmd.number("limit")?.map_or(usize::MAX, |n| n as usize);
    let long = cmd.flag("long");
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    let mut first = true;
    if json {
        let _ = out.write_all(b"[");
    }
    for snap in snapshots::list_detail(client, &opts)?.take(cap) {
        let snap = snap?;
        if json {
            // Streamed: a long listing never sits in memory whole.
            let sep = if first { "\n" } else { ",\n" };
            let _ = write!(out, "{sep}{}", output::snapshot_json(&snap));
            first = false;
        } else {
            rows.push(output::list_row(&snap, long));
        }
    }
    if json {
        let _ = out.write_all(if first { b"]\n" } else { b"\n]\n" });
    } else {
        let _ = out.write_all(output::table(&output::list_headers(long), &rows).as_bytes());
    }
    Ok(())
}

fn print_one(snap: &Snapshot, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", output::snapshot_json(snap));
    } else {
        print!("{}", output::table(&["Field".into(), "Value".into()], &output::show_rows(snap)));
    }
    Ok(())
}

/// The snapshot `name_or_id` names: by id, else (when it is not shaped like an id) by name.
fn resolve(client: &ServiceClient, name_or_id: &str) -> Result<Snapshot, Failure> {
    match snapshots::get(client, name_or_id) {
        Err(e) if e.is_not_found() && !looks_like_uuid(name_or_id) => Ok(snapshots::find_by_name(client, name_or_id)?),
        other => Ok(other?),
    }
}

/// The id `name_or_id` stands for: itself when shaped like an id (no request), else the id of
/// the snapshot of that name (or of that id, for ids of another shape).
fn id_of(client: &ServiceClient, name_or_id: &str) -> Result<String, Failure> {
    if looks_like_uuid(name_or_id) { Ok(name_or_id.to_owned()) } else { Ok(resolve(client, name_or_id)?.id) }
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// Runs a wait with the given timeout (else the default, 30 minutes) and its progress on
/// stderr.
fn waiting<T>(timeout: Option<std::time::Duration>, wait: impl FnOnce(&WaitOpts) -> cinder_snapshots::Result<T>) -> Result<T, Failure> {
    let mut opts = WaitOpts::new();
    if let Some(t) = timeout {
        opts = opts.timeout(t);
    }
    let progress = Progress::new();
    let shown = progress.clone();
    let result = wait(&opts.on_progress(move |snap| shown.show(snap)));
    progress.finish();
    Ok(result?)
}

/// Progress of a wait on stderr: one line redrawn on a terminal, else a line per change.
struct Progress {
    terminal: bool,
    start: Instant,
    last: Mutex<String>,
}

impl Progress {
    fn new() -> Arc<Self> {
        Arc::new(Progress { terminal: std::io::stderr().is_terminal(), start: Instant::now(), last: Mutex::new(String::new()) })
    }

    fn show(&self, snap: &Snapshot) {
        let percent = snap.progress_percent();
        let state = format!("{} {}", snap.status, percent.map_or(String::new(), |p| format!("{p}%")));
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let secs = self.start.elapsed().as_secs();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let filled = usize::from(percent.unwrap_or(0)) / 5;
            let bar = format!("[{}{}]", "#".repeat(filled), ".".repeat(20 - filled));
            let _ = write!(err, "\r{} {bar} {state:<16} {secs:>4} s", snap.id);
        } else if *last != state {
            let _ = writeln!(err, "{} {state} ({secs} s)", snap.id);
        }
        *last = state;
    }

    /// Ends the redrawn line.
    fn finish(&self) {
        let last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.terminal && !last.is_empty() {
            eprintln!();
        }
    }
}

/// `--debug`: the crate's log lines on stderr.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("cinder_snapshots")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("debug: {}", record.args());
        }
    }

    fn flush(&self) {}
}
