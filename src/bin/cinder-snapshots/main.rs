//! `cinder-snapshots`: the snapshot calls of the crate from the shell, for people (tables)
//! and for scripts and cron jobs (`--json` with a fixed shape, documented exit codes).
//! Built with the `cli` feature.
//!
//! - [`spec`]: the one table of commands and options, and the help made from it.
//! - [`args`]: the command line, read with lexopt (by that table) into a checked `Command`.
//! - [`completions`]: the shell completion scripts, made from the same table.
//! - [`man`]: the manual page, made from the same help texts (`completions man`, hidden).
//! - [`commands`]: what each command does with the crate's `snapshots`, `volumes`,
//!   `retention` and `job` calls (names resolved to ids).
//! - [`output`]: the output formats (table, JSON, value, CSV), the columns, the JSON shape.
//! - [`progress`]: the progress of waits on stderr.
//! - here: the client (the `OS_*` variables with the `--os-*` options laid over them, the
//!   token cache), `--debug` logging (with `--log-timestamps`, each line on stderr begins
//!   with the time), and the exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the cloud or the network said no: API errors (not found included), authentication, transport, configuration; `prune`: the listing failed, or some deletes failed; `run`: some volume failed or was skipped, or a prune failed; `check`: WARNING |
//! | 2 | usage: a bad option or argument, a value refused before any request, a `prune` or `run` policy with no rule; `check`: CRITICAL |
//! | 3 | a wait timed out (`run`: its wait for the snapshots); `check`: UNKNOWN (nothing selected, a wrong command line, a configuration or permission error, any error reaching the cloud, its `--timeout`) |
//! | 4 | a wait ended in failure: `error`/`error_deleting`, a refused delete, or the snapshot (or volume) vanished |
//! | 5 | `run`, `prune`: another run of the same job holds its lock ([`cinder_snapshots::job::JobLock`]) |

mod args;
mod commands;
mod completions;
mod man;
mod output;
mod progress;
mod signals;
mod spec;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use args::{Action, Globals, Usage};
use cinder_snapshots::WaitErrorKind;
use cinder_snapshots::{Error, RetryPolicy, ServiceClient, ServiceClientBuilder, TokenCache};

/// Why the tool stops without success.
pub enum Failure {
    /// The command line is wrong (exit 2).
    Usage(Usage),
    /// A call failed; the exit code depends on the error.
    Cloud(Error),
    /// Writing the output failed.
    Output(std::io::Error),
    /// The errors were printed already (several snapshots failed); exit with this code.
    Reported(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Cloud(e)
    }
}

impl From<Usage> for Failure {
    fn from(u: Usage) -> Self {
        Failure::Usage(u)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Output(e)
    }
}

impl Failure {
    /// Prints the failure on stderr (unless it was already) and gives the exit code.
    pub fn report(self) -> u8 {
        match self {
            // A monitoring check's wrong command line is UNKNOWN (3), as the monitoring-plugin
            // conventions ask: 2 would read as CRITICAL, a state of the snapshots.
            Failure::Usage(u) if u.command == Some("check") => {
                let _ = print(&cinder_snapshots::job::unknown_output(&u.message));
                error_line(&format!("{}\n{}", u.message, u.hint()));
                3
            }
            Failure::Usage(u) => {
                error_line(&format!("{}\n{}", u.message, u.hint()));
                2
            }
            Failure::Cloud(e) => {
                let code = exit_code(&e);
                if code == 2 {
                    error_line(&format!("{}\nTry 'cinder-snapshots --help'.", e.full_message()));
                } else {
                    error_line(&e.full_message());
                }
                code
            }
            // The reader went away (`| head`): nothing more to say to it.
            Failure::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Failure::Output(e) => {
                error_line(&format!("cannot write the output: {e}"));
                1
            }
            Failure::Reported(code) => code,
        }
    }
}

/// `cinder-snapshots: MESSAGE` on stderr, control characters escaped (after the time with
/// `--log-timestamps`). A closed stderr is
/// ignored: the exit code still tells.
pub fn error_line(message: &str) {
    // With --log-timestamps, every line begins with the time.
    let stamp = progress::stamp();
    let text: Vec<String> = message.lines().map(output::printable).collect();
    let _ = writeln!(std::io::stderr(), "{stamp}cinder-snapshots: {}", text.join(&format!("\n{stamp}")));
}

/// The exit code of an error: 2 for input the crate refused before sending, 3 for a wait
/// that timed out, 4 for a wait that ended in failure, 1 for everything else.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::InvalidInput(_) | Error::AdminViewRequired => 2,
        Error::Wait(w) => match w.kind {
            WaitErrorKind::TimedOut | WaitErrorKind::Cancelled => 3,
            _ => 4,
        },
        _ => 1,
    }
}

fn main() -> ExitCode {
    // glibc gives each thread that allocates an arena of its own, whose freed memory stays
    // resident: a run's threads (the creates, the endpoints of a spec) wait on the network,
    // so one arena costs no time and keeps the peak memory at what the reports hold
    // (benches/estate.rs, 10,000 volumes in one process: 38.5 MiB with an arena a thread).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets one parameter of the allocator; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let cli = match args::parse(std::env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(usage) => return ExitCode::from(Failure::Usage(usage).report()),
    };
    let result = match cli.action {
        Action::Help(text) | Action::Completions(text) => print(&text),
        Action::Version => print(&format!("cinder-snapshots {}\n", env!("CARGO_PKG_VERSION"))),
        Action::Run(command) => {
            progress::set_timestamps(cli.globals.log_timestamps);
            if cli.globals.debug {
                // Fails only when a logger is already set, which cannot happen here.
                let _ = log::set_logger(&StderrLogger);
                log::set_max_level(log::LevelFilter::Debug);
            }
            let cached = cli.globals.uses_token_cache(&command);
            let result = match *command {
                // A job spec: a client per target, each made by target_client.
                args::Command::Estate { .. } => commands::estate(&command, |t| target_client(&cli.globals, cached, t), &cli.globals.output),
                _ => client(&cli.globals, cached, command.retry_policy())
                    .and_then(|client| commands::run(&client, &command, &cli.globals.output)),
            };
            match *command {
                // A monitoring check reports any error as UNKNOWN.
                args::Command::Check { .. } => result.map_err(commands::check_unknown),
                _ => result,
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(failure.report()),
    }
}

/// Writes `text` to stdout.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The client: the process's `OS_*` variables with the command line's laid over them, and
/// the user's token cache when `cached` ([`Globals::uses_token_cache`]), and the command's
/// retry policy if it has one (`run --max-pause`).
fn client(globals: &Globals, cached: bool, retry: Option<RetryPolicy>) -> Result<ServiceClient, Failure> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().filter(|k| k.starts_with("OS_")) else { continue };
        let value = value.into_string().map_err(|_| Error::Config(format!("the environment variable {key} is not valid UTF-8")))?;
        vars.insert(key.to_owned(), value);
    }
    vars.extend(globals.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut builder = ServiceClientBuilder::from_vars(vars)?.user_agent(concat!("cinder-snapshots-cli/", env!("CARGO_PKG_VERSION")));
    if cached {
        if let Some(cache) = TokenCache::user_default() {
            builder = builder.token_cache(cache);
        }
    }
    if let Some(retry) = retry {
        builder = builder.retry_policy(retry);
    }
    Ok(builder.build()?)
}

/// The client of one target of a job spec: its cloud of clouds.yaml (found as the
/// `OS_CLIENT_CONFIG_FILE` and `OS_CLIENT_SECURE_FILE` variables and the usual places say;
/// no other `OS_*` variable is read), its region, scoped to its project (the cloud's
/// otherwise), the longest pause its `max-pause` allows. A target without a cloud (the flag
/// form's) is the `OS_*` variables with the `--os-*` options, as [`client`] reads them.
fn target_client(globals: &Globals, cached: bool, t: &cinder_snapshots::spec::Target) -> Result<ServiceClient, Error> {
    use cinder_snapshots::spec::Project;
    use cinder_snapshots::{Domain, Scope};
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    match &t.cloud {
        Some(cloud) => {
            for key in ["OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"] {
                if let Some(v) = std::env::var_os(key).and_then(|v| v.into_string().ok()) {
                    vars.insert(key.to_owned(), v);
                }
            }
            vars.insert("OS_CLOUD".to_owned(), cloud.clone());
        }
        None => {
            for (key, value) in std::env::vars_os() {
                if let (Some(k), Some(v)) = (key.to_str().filter(|k| k.starts_with("OS_")), value.to_str()) {
                    vars.insert(k.to_owned(), v.to_owned());
                }
            }
            vars.extend(globals.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if let Some(region) = &t.region {
        vars.insert("OS_REGION_NAME".to_owned(), region.clone());
    }
    let mut builder = ServiceClientBuilder::from_vars(vars)?.user_agent(concat!("cinder-snapshots-cli/", env!("CARGO_PKG_VERSION")));
    match &t.project {
        Some(Project::Name { name, domain }) => builder = builder.scope(Scope::project_name(name.clone(), Domain::name(domain.clone()))),
        Some(Project::Id(id)) => builder = builder.scope(Scope::project_id(id.clone())),
        _ => {}
    }
    if let Some(d) = t.settings.max_pause {
        builder = builder.retry_policy(RetryPolicy::new().max_retry_after(d));
    }
    if cached {
        if let Some(cache) = TokenCache::user_default() {
            builder = builder.token_cache(cache);
        }
    }
    builder.build()
}

/// `--debug`: the crate's log lines (one per HTTP request, the token cache's verdict) on
/// stderr, as `debug: LINE`. They never hold a secret.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug && metadata.target().starts_with("cinder_snapshots")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(std::io::stderr(), "{}debug: {}", progress::stamp(), output::printable(&record.args().to_string()));
        }
    }

    fn flush(&self) {}
}
