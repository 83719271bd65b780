//! The command line, read with lexopt into a [`Cli`]: the global options, and one
//! [`Command`] with its arguments already checked and converted into the crate's option
//! types.
//!
//! The global options may come before or after the command. `--os-*` options use the
//! `openstack` command's names and each stands for its `OS_*` variable. The command options
//! follow `openstack volume snapshot ...` where it has one. Everything wrong here (an unknown
//! option, a missing argument, a value that is not a number or not `KEY=VALUE`) is a
//! [`Usage`] error, found before any client is built or request sent: exit code 2.
//!
//! The commands and options, their help and their completions come from one table,
//! [`crate::spec`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use cinder_snapshots::duration;
use cinder_snapshots::job::{CheckOpts, JobOpts, MAX_CONCURRENCY, PruneOpts, ReportOpts, Selection, Window};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::snapshots::{CreateOpts, ListOpts, SnapshotStatus, SortDir, SortKey, UpdateMetadataOpts, UpdateOpts, WaitOpts};
use cinder_snapshots::spec::{KeyError, Mode, PolicySpec, Settings};
use cinder_snapshots::volumes::{self, VolumeStatus};
use lexopt::prelude::*;

use crate::completions;
use crate::output::{Column, Format, Output};
use crate::spec::{self, Spec};

/// A usage error: what is wrong, and the command whose help to point at (if any).
#[derive(Debug)]
pub struct Usage {
    pub message: String,
    pub command: Option<&'static str>,
}

impl Usage {
    fn new(message: impl Into<String>) -> Self {
        Usage { message: message.into(), command: None }
    }

    fn of(command: &'static str, message: impl Into<String>) -> Self {
        Usage { message: message.into(), command: Some(command) }
    }

    /// The line that tells where the help is.
    pub fn hint(&self) -> String {
        match self.command {
            Some(c) => format!("Try 'cinder-snapshots {c} --help'."),
            None => "Try 'cinder-snapshots --help'.".to_owned(),
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub struct Cli {
    pub globals: Globals,
    pub action: Action,
}

/// The global options.
#[derive(Debug)]
pub struct Globals {
    /// `OS_*` variables set by `--os-*` options and `--insecure`, laid over the environment's.
    pub vars: BTreeMap<String, String>,
    /// `-f`/`--json` and `-c`, the columns checked against the command's.
    pub output: Output,
    pub debug: bool,
    /// `--token-cache` (`Some(true)`), `--no-token-cache` (`Some(false)`), or neither: then
    /// the cache is used by the interactive commands and not by `run`, `prune` and `check`
    /// ([`Command::authenticates_each_start`]).
    pub token_cache: Option<bool>,
    /// `--log-timestamps`: the time at the start of every line on stderr.
    pub log_timestamps: bool,
}

impl Globals {
    /// Whether the client keeps its token in the user's cache for this command.
    pub fn uses_token_cache(&self, command: &Command) -> bool {
        self.token_cache.unwrap_or(!command.authenticates_each_start())
    }
}

#[derive(Debug)]
pub enum Action {
    /// Print this help text and exit 0.
    Help(String),
    /// Print this completion script and exit 0.
    Completions(String),
    /// Print the version and exit 0.
    Version,
    Run(Box<Command>),
}

/// How long a wait may take: `None` for the client's default (30 minutes).
pub type Timeout = Option<Duration>;

/// What `wait` waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Status(SnapshotStatus),
    Deleted,
}

/// What `create` makes of the volume it is given (an id, or a name resolved later).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewSnapshot {
    pub name: Option<String>,
    pub description: Option<String>,
    pub force: bool,
    pub metadata: Vec<(String, String)>,
}

impl NewSnapshot {
    /// The crate's options to snapshot the volume `volume_id`.
    pub fn opts(&self, volume_id: &str) -> CreateOpts {
        let mut opts = CreateOpts::new(volume_id).force(self.force);
        if let Some(name) = &self.name {
            opts = opts.name(name);
        }
        if let Some(description) = &self.description {
            opts = opts.description(description);
        }
        for (k, v) in &self.metadata {
            opts = opts.metadata(k, v);
        }
        opts
    }
}

/// One command, checked. `SNAPSHOT` and `VOLUME` arguments (`--volume` included) are ids or
/// names, resolved later.
#[derive(Debug)]
pub enum Command {
    List {
        opts: ListOpts,
        volume: Option<String>,
        long: bool,
        limit: Option<usize>,
    },
    Show {
        snapshot: String,
    },
    Create {
        volume: String,
        snapshot: NewSnapshot,
        wait: Option<Timeout>,
    },
    Update {
        snapshot: String,
        opts: UpdateOpts,
    },
    SetMetadata {
        snapshot: String,
        metadata: UpdateMetadataOpts,
    },
    UnsetMetadata {
        snapshot: String,
        keys: Vec<String>,
    },
    /// `pin` (with the note) and `unpin` (`None`).
    Pin {
        snapshot: String,
        note: Option<String>,
    },
    /// `set` (the `openstack` command's): each part only when given, in this order.
    Set {
        snapshot: String,
        update: Option<UpdateOpts>,
        metadata: Vec<(String, String)>,
        state: Option<SnapshotStatus>,
    },
    /// `delete`; `force`: `delete --force` and `force-delete` (os-force_delete).
    Delete {
        snapshots: Vec<String>,
        wait: Option<Timeout>,
        force: bool,
    },
    ResetStatus {
        snapshot: String,
        status: SnapshotStatus,
    },
    Wait {
        snapshot: String,
        target: Target,
        timeout: Timeout,
    },
    Prune {
        opts: PruneOpts,
        volumes: Vec<String>,
        /// `--lock-file`: the job lock's file instead of the default one.
        lock_file: Option<PathBuf>,
    },
    /// `run`, `check`, `prune` or `plan` with `--config FILE`: every target of a job spec
    /// (`spec::run_targets`).
    Estate {
        mode: Mode,
        spec: Box<cinder_snapshots::spec::Spec>,
        /// The spec file as given (its canonical path names the lock).
        path: PathBuf,
        /// `--lock-file`.
        lock_file: Option<PathBuf>,
        /// The run flags laid over every job (`run` only).
        flags: RunFlags,
    },
    /// The scheduled job (`job::run`).
    Run {
        opts: Box<JobOpts>,
        /// `--max-pause`: the client's longest honoured pause (its retry policy's
        /// `max_retry_after`, the one knob).
        max_pause: Option<Duration>,
        /// `--lock-file`: the job lock's file instead of the default one.
        lock_file: Option<PathBuf>,
        /// `--metrics-file`.
        metrics: Option<PathBuf>,
    },
    /// The report (`job::report`).
    Report {
        opts: Box<ReportOpts>,
    },
    /// The monitoring check (`job::check`).
    Check {
        opts: Box<CheckOpts>,
        /// `--metrics-file`.
        metrics: Option<PathBuf>,
    },
    VolumeList {
        opts: volumes::ListOpts,
        long: bool,
        limit: Option<usize>,
    },
    VolumeShow {
        volume: String,
    },
    /// `volume set`: metadata items merged into the volume's.
    VolumeSet {
        volume: String,
        metadata: Vec<(String, String)>,
    },
    /// `volume unset`: metadata keys removed, one request each.
    VolumeUnset {
        volume: String,
        keys: Vec<String>,
    },
    Restore {
        from: RestoreFrom,
        name: Option<String>,
        size: Option<u64>,
        wait: Option<Timeout>,
    },
    /// `revert`; `snapshot` `None`: `--latest`.
    Revert {
        volume: String,
        snapshot: Option<String>,
        wait: Option<Timeout>,
    },
}

/// The flags of `run` that the job spec has no key for, laid over every job of a spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFlags {
    pub dry_run: bool,
    pub all_or_nothing: bool,
    pub prune_first: bool,
    pub snapshot_on_pre_hook_failure: bool,
    pub pre_hook: Option<String>,
    pub post_hook: Option<String>,
    pub on_failure: Option<String>,
    pub hook_timeout: Option<Duration>,
}

impl RunFlags {
    /// `opts` with these flags.
    pub fn apply(&self, mut opts: JobOpts) -> JobOpts {
        if let Some(cmd) = &self.pre_hook {
            opts = opts.pre_hook(cmd.clone());
        }
        if let Some(cmd) = &self.post_hook {
            opts = opts.post_hook(cmd.clone());
        }
        if let Some(cmd) = &self.on_failure {
            opts = opts.on_failure(cmd.clone());
        }
        if let Some(d) = self.hook_timeout {
            opts = opts.hook_timeout(d);
        }
        opts.dry_run(self.dry_run)
            .all_or_nothing(self.all_or_nothing)
            .prune_first(self.prune_first)
            .snapshot_on_pre_hook_failure(self.snapshot_on_pre_hook_failure)
    }
}

/// What `restore` makes its volume from.
#[derive(Debug, PartialEq, Eq)]
pub enum RestoreFrom {
    /// `SNAPSHOT`: an id or a name.
    Snapshot(String),
    /// `--volume VOLUME --latest [--policy ID]`.
    Latest { volume: String, policy: Option<String> },
}

impl Command {
    /// The client's retry policy this command asks for, if any: `run --max-pause` sets the
    /// longest pause honoured (a rate limiter's, or a `Retry-After`).
    pub fn retry_policy(&self) -> Option<cinder_snapshots::RetryPolicy> {
        match self {
            Command::Run { max_pause: Some(d), .. } => Some(cinder_snapshots::RetryPolicy::new().max_retry_after(*d)),
            _ => None,
        }
    }

    /// The unattended commands (`run`, `prune`, `check`): they authenticate with their
    /// credentials at every start unless `--token-cache` is given, so that a changed or
    /// revoked password shows at the next run, not when a cached token expires.
    pub fn authenticates_each_start(&self) -> bool {
        matches!(self, Command::Run { .. } | Command::Prune { .. } | Command::Check { .. } | Command::Estate { .. })
    }
}

/// Reads the command line (without the program name). A usage error found before the
/// command was read (a global option's) still belongs to `check` when the command line
/// names it: a monitoring check's wrong command line is UNKNOWN.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, Usage> {
    let args: Vec<OsString> = args.into_iter().collect();
    parse_args(args.clone()).map_err(|mut usage| {
        if usage.command.is_none() && names_check(&args) {
            usage.command = Some("check");
        }
        usage
    })
}

/// Whether the first word of the command line that is not an option or a global option's
/// value is `check`.
fn names_check(args: &[OsString]) -> bool {
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        let takes_value = if let Some(name) = word.strip_prefix("--") {
            !name.contains('=') && spec::global(name).is_some_and(|g| g.value.is_some())
        } else if let Some(short) = word.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            short.chars().next().and_then(spec::global_short).is_some_and(|g| g.value.is_some())
        } else {
            return word == "check";
        };
        if takes_value {
            words.next();
        }
    }
    false
}

fn parse_args(args: Vec<OsString>) -> Result<Cli, Usage> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut vars = BTreeMap::new();
    let (mut format, mut columns, mut debug, mut token_cache) = (Format::Table, Vec::<String>::new(), false, None::<bool>);
    let (mut sort, mut descending, mut prefix, mut compat, mut log_timestamps) = (Vec::<String>::new(), false, None, false, false);
    let mut spec: Option<&'static Spec> = None;
    let mut raw = Raw::default();
    let (mut wants_help, mut wants_version) = (false, false);
    // The first word of a two-word command (`volume list`), waiting for its second.
    let mut group: Option<String> = None;
    // The first option with one value given twice: a usage error of the command (known only
    // at the end when a global option comes before it).
    let mut twice: Option<String> = None;
    let mut globals_seen: Vec<&'static str> = Vec::new();
    // lexopt's own errors (a missing value, a value given to a flag, invalid Unicode) point
    // at the help of the command when there is one.
    let lex = |spec: Option<&Spec>, e: lexopt::Error| Usage { message: e.to_string(), command: spec.map(|s| s.name) };
    while let Some(arg) = parser.next().map_err(|e| lex(spec, e))? {
        let (global, option) = match &arg {
            Long(name) => (spec::global(name), spec.and_then(|s| s.option(name))),
            Short(c) => (spec::global_short(*c), spec.and_then(|s| s.short(*c))),
            Value(_) => (None, None),
        };
        if let Some(g) = global {
            let value = if g.value.is_some() { Some(parser.value().and_then(|v| v.string()).map_err(|e| lex(spec, e))?) } else { None };
            if g.value.is_some() && !g.repeat {
                if globals_seen.contains(&g.name) {
                    twice.get_or_insert_with(|| format!("--{} is given twice: it takes one value", g.name));
                }
                globals_seen.push(g.name);
            }
            match (g.name, value) {
                ("json", _) => format = Format::Json,
                ("format", Some(v)) => {
                    format = Format::parse(&v).ok_or_else(|| Usage {
                        message: format!("-f {v:?} is not a format: table, json, value, csv, yaml or shell"),
                        command: spec.map(|s| s.name),
                    })?;
                }
                ("column", Some(v)) => columns.push(v),
                ("sort-column", Some(v)) => sort.push(v),
                ("sort-ascending", _) => descending = false,
                ("sort-descending", _) => descending = true,
                ("prefix", Some(v)) => prefix = Some(v),
                ("os-compat", _) => compat = true,
                ("log-timestamps", _) => log_timestamps = true,
                ("debug", _) => debug = true,
                ("no-token-cache", _) | ("token-cache", _) => {
                    let wanted = g.name == "token-cache";
                    if token_cache.is_some_and(|t| t != wanted) {
                        twice.get_or_insert_with(|| "--token-cache and --no-token-cache do not go together".to_owned());
                    }
                    token_cache = Some(wanted);
                }
                ("help", _) => wants_help = true,
                ("version", _) => wants_version = true,
                (_, value) => {
                    if let Some(var) = g.sets {
                        vars.insert(var.to_owned(), value.unwrap_or_else(|| "true".to_owned()));
                    }
                }
            }
            continue;
        }
        match arg {
            Long(name) => {
                let Some(s) = spec else {
                    let known = spec::GLOBALS.iter().chain(spec::SPECS.iter().flat_map(|s| s.options)).map(|o| o.name);
                    return Err(Usage::new(format!("unknown option --{name}{}", did_you_mean(name, "--", known))));
                };
                let Some(opt) = option else {
                    let known = s.options.iter().chain(spec::GLOBALS).map(|o| o.name);
                    return Err(Usage::of(s.name, format!("{} has no option --{name}{}", s.name, did_you_mean(name, "--", known))));
                };
                let value =
                    if opt.value.is_some() { parser.value().and_then(|v| v.string()).map_err(|e| lex(spec, e))? } else { String::new() };
                let values = raw.options.entry(opt.name).or_default();
                if opt.value.is_some() && !opt.repeat && !values.is_empty() {
                    twice.get_or_insert_with(|| format!("--{} is given twice: it takes one value", opt.name));
                }
                values.push(value);
            }
            Value(value) => {
                let value = value.string().map_err(|e| lex(spec, e))?;
                match spec {
                    Some(_) => raw.positionals.push(value),
                    None => {
                        let name = match group.take() {
                            Some(first) => format!("{first} {value}"),
                            None => value.clone(),
                        };
                        match spec::command(&name) {
                            Some(s) => spec = Some(s),
                            None if !name.contains(' ') && spec::is_group(&name) => group = Some(name),
                            None => {
                                return Err(Usage::new(format!(
                                    "unknown command {name:?}{}; the commands are {}",
                                    command_suggestion(&name),
                                    spec::command_names()
                                )));
                            }
                        }
                    }
                }
            }
            Short(c) => return Err(Usage::new(format!("unknown option -{c}"))),
        }
    }
    if let Some(message) = twice.filter(|_| !wants_help && !wants_version) {
        return Err(Usage { message, command: spec.map(|s| s.name) });
    }
    let (columns, sort) = match spec {
        Some(s) if !wants_help && !wants_version && s.name != "help" => {
            check_output(s, format, prefix.as_deref(), compat, &sort)?;
            (picked_columns(s, format, &columns)?, named_columns(s, &sort)?)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let action = match spec {
        _ if wants_help => Action::Help(match (spec, &group) {
            (Some(s), _) => s.help(),
            (None, Some(first)) => spec::group_help(first),
            (None, None) => spec::help(),
        }),
        _ if wants_version => Action::Version,
        None => match group {
            Some(first) => return Err(Usage::new(format!("{first} needs a command; the commands are {}", spec::command_names()))),
            None => return Err(Usage::new(format!("no command given; the commands are {}", spec::command_names()))),
        },
        Some(s) if s.name == "help" => {
            raw.check_positionals(s)?;
            let name = raw.positionals.join(" ");
            Action::Help(match spec::command(&name) {
                _ if name.is_empty() => spec::help(),
                Some(c) => c.help(),
                None if spec::is_group(&name) => spec::group_help(&name),
                None => {
                    return Err(Usage::of(
                        s.name,
                        format!("help: unknown command {name:?}{}; the commands are {}", command_suggestion(&name), spec::command_names()),
                    ));
                }
            })
        }
        Some(s) if s.name == "completions" => {
            raw.check_positionals(s)?;
            let shell = raw.positionals.first().map(String::as_str).unwrap_or_default();
            let script = completions::script(shell)
                .ok_or_else(|| Usage::of(s.name, format!("completions for {shell:?}: the shells are bash, zsh and fish")))?;
            Action::Completions(script)
        }
        Some(s) => Action::Run(Box::new(raw.command(s)?)),
    };
    let output = Output { format, columns, sort, descending, prefix: prefix.unwrap_or_default(), compat };
    Ok(Cli { globals: Globals { vars, output, debug, token_cache, log_timestamps }, action })
}

/// The columns `-c` names, checked against the command's.
fn picked_columns(s: &'static Spec, format: Format, names: &[String]) -> Result<Vec<&'static Column>, Usage> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if s.columns.is_empty() {
        return Err(Usage::of(s.name, format!("{} prints no columns: -c does not apply", s.name)));
    }
    if matches!(format, Format::Json | Format::Yaml) && !s.json_columns {
        return Err(Usage::of(s.name, format!("-c does not apply to {}'s JSON report (it is printed whole)", s.name)));
    }
    named_columns(s, names)
}

/// Refuses what the output options of the command cannot do: `-f shell` but for one
/// record, `--prefix` without `-f shell`, `--os-compat` on a command the `openstack`
/// command has no counterpart of, `--sort-column` on a record.
fn check_output(s: &'static Spec, format: Format, prefix: Option<&str>, compat: bool, sort: &[String]) -> Result<(), Usage> {
    if format == Format::Shell && !spec::is_record(s) {
        return Err(Usage::of(s.name, format!("-f shell prints one record (show, volume show, ...): {} does not print one", s.name)));
    }
    if let Some(p) = prefix {
        if format != Format::Shell {
            return Err(Usage::of(s.name, "--prefix goes with -f shell"));
        }
        let valid = p.bytes().next().is_none_or(|b| b.is_ascii_alphabetic() || b == b'_')
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(Usage::of(s.name, format!("--prefix {p:?} is not the start of a shell variable name (letters, digits and _)")));
        }
    }
    if compat && !spec::mirrors_openstack(s) {
        return Err(Usage::of(s.name, format!("--os-compat: the openstack command has no {} (it prints this tool's shape only)", s.name)));
    }
    if !sort.is_empty() && (s.columns.is_empty() || spec::is_record(s)) {
        return Err(Usage::of(s.name, format!("{} prints no rows: --sort-column does not apply", s.name)));
    }
    Ok(())
}

/// The columns `-c` or `--sort-column` name, checked against the command's.
fn named_columns(s: &'static Spec, names: &[String]) -> Result<Vec<&'static Column>, Usage> {
    names
        .iter()
        .map(|n| {
            s.column(n).ok_or_else(|| {
                let all: Vec<&str> = s.columns.iter().map(|c| c.header).collect();
                let hint = did_you_mean(n, "", s.columns.iter().map(|c| c.header));
                Usage::of(s.name, format!("{} has no column {n:?}{hint}; its columns are {}", s.name, all.join(", ")))
            })
        })
        .collect()
}

/// ` (did you mean volume list?)` for an unknown command: the nearest command or group, or
/// for `GROUP WORD` the nearest command of that group (its second word compared alone).
fn command_suggestion(name: &str) -> String {
    match name.split_once(' ') {
        Some((group, word)) => {
            let second = spec::SPECS.iter().filter_map(|s| s.name.split_once(' ').filter(|(g, _)| *g == group).map(|(_, w)| w));
            did_you_mean(word, &format!("{group} "), second)
        }
        None => did_you_mean(name, "", spec::SPECS.iter().map(|s| s.name).chain(spec::groups())),
    }
}

/// ` (did you mean --limit?)`: the nearest of `known` to `word`, shown after `before` (fewest
/// edits, case ignored; the first of equals), when it is near enough to be a slip (1 edit for
/// up to 4 characters, 2 up to 8, 3 beyond), else nothing.
pub fn did_you_mean<'a>(word: &str, before: &str, known: impl Iterator<Item = &'a str>) -> String {
    let word_lower = word.to_lowercase();
    let most = match word.chars().count() {
        // No slip of the fingers makes a word this long (and the distances stay cheap).
        65.. => return String::new(),
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = edit_distance(&word_lower, &k.to_lowercase());
        if d <= most && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, k));
        }
    }
    best.map_or_else(String::new, |(_, k)| format!(" (did you mean {before}{k}?)"))
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Rows i-1 and i-2 of the table: `previous[j]` is the distance of a[..i] and b[..j].
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let mut v = (previous[j + 1] + 1).min(row[j] + 1).min(previous[j] + usize::from(ca != cb));
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                v = v.min(before[j - 1] + 1);
            }
            row.push(v);
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()]
}

/// A command's arguments as given, before they are checked.
#[derive(Default)]
struct Raw {
    positionals: Vec<String>,
    options: BTreeMap<&'static str, Vec<String>>,
}

impl Raw {
    fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    /// The last value of an option.
    fn value(&self, name: &str) -> Option<String> {
        self.options.get(name).and_then(|v| v.last()).cloned()
    }

    fn values(&self, name: &str) -> &[String] {
        self.options.get(name).map_or(&[], Vec::as_slice)
    }

    /// Refuses too few or too many positional arguments.
    fn check_positionals(&self, spec: &'static Spec) -> Result<(), Usage> {
        let (least, most) = spec.positionals;
        let n = self.positionals.len();
        if n < least || n > most {
            let what = if n < least { "missing argument" } else { "too many arguments" };
            return Err(Usage::of(spec.name, format!("{what}; usage: cinder-snapshots {}", spec.synopsis)));
        }
        Ok(())
    }

    /// The command, with its arguments checked and converted.
    fn command(mut self, spec: &'static Spec) -> Result<Command, Usage> {
        let cmd = spec.name;
        self.check_positionals(spec)?;
        let wait = |raw: &Raw| -> Result<Option<Timeout>, Usage> {
            let timeout = raw.value("wait-timeout").map(|v| timeout(cmd, "--wait-timeout", &v)).transpose()?;
            match (raw.flag("wait"), timeout) {
                (true, timeout) => Ok(Some(timeout)),
                (false, None) => Ok(None),
                (false, Some(_)) => Err(Usage::of(cmd, "--wait-timeout needs --wait")),
            }
        };
        let first = if self.positionals.is_empty() { String::new() } else { self.positionals.remove(0) };
        Ok(match cmd {
            "list" => {
                let limit = self.value("limit").map(|v| count(cmd, "--limit", &v)).transpose()?;
                let project_id = self.value("project");
                let mut opts = ListOpts::new().all_projects(self.flag("all-projects") || project_id.is_some());
                if let Some(project) = project_id {
                    opts = opts.project_id(project);
                }
                if let Some(name) = self.value("name") {
                    opts = opts.name(name);
                }
                if let Some(s) = self.value("status") {
                    opts = opts.status(status(cmd, "--status", &s)?);
                }
                for (k, v) in pairs(cmd, "--property", self.values("property"))? {
                    opts = opts.metadata(k, v);
                }
                if let Some(marker) = self.value("marker") {
                    opts = opts.marker(marker);
                }
                if let Some(sort) = self.value("sort") {
                    for (key, dir) in sort_keys(cmd, &sort)? {
                        opts = opts.sort(key, dir);
                    }
                }
                // The page size too, so that `--limit 5` fetches 5 snapshots, not a server
                // page of 1000; more than the server's page cap takes several pages.
                if let Some(n) = limit {
                    opts = opts.limit(u32::try_from(n).unwrap_or(u32::MAX));
                }
                Command::List { opts, volume: self.value("volume"), long: self.flag("long"), limit }
            }
            "volume list" => {
                let limit = self.value("limit").map(|v| count(cmd, "--limit", &v)).transpose()?;
                let project_id = self.value("project");
                let mut opts = volumes::ListOpts::new().all_projects(self.flag("all-projects") || project_id.is_some());
                if let Some(project) = project_id {
                    opts = opts.project_id(project);
                }
                if let Some(name) = self.value("name") {
                    opts = opts.name(name);
                }
                if let Some(s) = self.value("status") {
                    opts = opts.status(volume_status(cmd, &s)?);
                }
                for (k, v) in pairs(cmd, "--property", self.values("property"))? {
                    opts = opts.metadata(k, v);
                }
                if let Some(marker) = self.value("marker") {
                    opts = opts.marker(marker);
                }
                if let Some(sort) = self.value("sort") {
                    for (key, dir) in volume_sort_keys(cmd, &sort)? {
                        opts = opts.sort(key, dir);
                    }
                }
                if let Some(n) = limit {
                    opts = opts.limit(u32::try_from(n).unwrap_or(u32::MAX));
                }
                Command::VolumeList { opts, long: self.flag("long"), limit }
            }
            "volume show" => Command::VolumeShow { volume: first },
            "restore" => {
                let size = match self.value("size") {
                    Some(size) => Some(
                        size.trim()
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| Usage::of(cmd, format!("--size {size:?} is not a whole number of GiB above 0")))?,
                    ),
                    None => None,
                };
                let from = match (first.is_empty(), self.flag("latest"), self.value("volume")) {
                    (false, false, None) if self.value("policy").is_none() => RestoreFrom::Snapshot(first),
                    (true, true, Some(volume)) => RestoreFrom::Latest { volume, policy: self.value("policy") },
                    (false, _, _) => {
                        return Err(Usage::of(cmd, "restore takes SNAPSHOT, or --volume VOLUME --latest [--policy ID], not both"));
                    }
                    (true, _, _) => return Err(Usage::of(cmd, "restore needs SNAPSHOT, or --volume VOLUME --latest [--policy ID]")),
                };
                Command::Restore { from, name: self.value("name"), size, wait: wait(&self)? }
            }
            "revert" => {
                let snapshot = match (self.value("snapshot"), self.flag("latest")) {
                    (Some(s), false) => Some(s),
                    (None, true) => None,
                    (Some(_), true) => return Err(Usage::of(cmd, "revert takes --snapshot SNAPSHOT or --latest, not both")),
                    (None, false) => return Err(Usage::of(cmd, "revert needs --snapshot SNAPSHOT or --latest")),
                };
                Command::Revert { volume: first, snapshot, wait: wait(&self)? }
            }
            "volume set" => {
                let metadata = pairs(cmd, "--property", self.values("property"))?;
                if metadata.is_empty() {
                    return Err(Usage::of(cmd, "volume set needs --property KEY=VALUE"));
                }
                Command::VolumeSet { volume: first, metadata }
            }
            "volume unset" => {
                let keys = self.values("property").to_vec();
                if keys.is_empty() {
                    return Err(Usage::of(cmd, "volume unset needs --property KEY"));
                }
                Command::VolumeUnset { volume: first, keys }
            }
            "show" => Command::Show { snapshot: first },
            "create" => {
                let volume = self.value("volume").ok_or_else(|| Usage::of(cmd, "create needs --volume VOLUME"))?;
                let snapshot = NewSnapshot {
                    name: Some(first).filter(|n| !n.is_empty()),
                    description: self.value("description"),
                    force: self.flag("force"),
                    metadata: pairs(cmd, "--property", self.values("property"))?,
                };
                Command::Create { volume, snapshot, wait: wait(&self)? }
            }
            "update" => {
                let mut opts = UpdateOpts::new();
                match self.value("name") {
                    Some(n) if n.is_empty() => opts = opts.clear_name(),
                    Some(n) => opts = opts.name(n),
                    None => {}
                }
                match self.value("description") {
                    Some(d) if d.is_empty() => opts = opts.clear_description(),
                    Some(d) => opts = opts.description(d),
                    None => {}
                }
                if opts == UpdateOpts::new() {
                    return Err(Usage::of(cmd, "update needs --name or --description"));
                }
                Command::Update { snapshot: first, opts }
            }
            "set-metadata" => {
                let metadata = pairs(cmd, "metadata item", &self.positionals)?.into_iter().collect();
                Command::SetMetadata { snapshot: first, metadata }
            }
            "unset-metadata" => Command::UnsetMetadata { snapshot: first, keys: self.positionals },
            "pin" => Command::Pin { snapshot: first, note: Some(self.value("note").unwrap_or_else(|| "pinned".to_owned())) },
            "unpin" => Command::Pin { snapshot: first, note: None },
            "unset" => {
                let keys = self.values("property").to_vec();
                if keys.is_empty() {
                    return Err(Usage::of(cmd, "unset needs --property KEY"));
                }
                Command::UnsetMetadata { snapshot: first, keys }
            }
            "set" => {
                let mut update = UpdateOpts::new();
                match self.value("name") {
                    Some(n) if n.is_empty() => update = update.clear_name(),
                    Some(n) => update = update.name(n),
                    None => {}
                }
                match self.value("description") {
                    Some(d) if d.is_empty() => update = update.clear_description(),
                    Some(d) => update = update.description(d),
                    None => {}
                }
                let update = Some(update).filter(|u| *u != UpdateOpts::new());
                let metadata = pairs(cmd, "--property", self.values("property"))?;
                let state = self.value("state").map(|s| status(cmd, "--state", &s)).transpose()?;
                if update.is_none() && metadata.is_empty() && state.is_none() {
                    return Err(Usage::of(cmd, "set needs --name, --description, --property or --state"));
                }
                Command::Set { snapshot: first, update, metadata, state }
            }
            "delete" => {
                let wait = wait(&self)?;
                let mut snapshots = vec![first];
                snapshots.append(&mut self.positionals);
                Command::Delete { snapshots, wait, force: self.flag("force") }
            }
            "force-delete" => {
                let mut snapshots = vec![first];
                snapshots.append(&mut self.positionals);
                Command::Delete { snapshots, wait: None, force: true }
            }
            "reset-status" => {
                let state = self.value("state").ok_or_else(|| Usage::of(cmd, "reset-status needs --state STATUS"))?;
                Command::ResetStatus { snapshot: first, status: status(cmd, "--state", &state)? }
            }
            "wait" => {
                let target = match self.value("status") {
                    None => Target::Status(SnapshotStatus::Available),
                    Some(s) => match status(cmd, "--status", &s)? {
                        SnapshotStatus::Deleted => Target::Deleted,
                        s => Target::Status(s),
                    },
                };
                let timeout = self.value("timeout").map(|v| timeout(cmd, "--timeout", &v)).transpose()?;
                Command::Wait { snapshot: first, target, timeout }
            }
            "run" | "check" | "prune" | "plan" if self.flag("config") || cmd == "plan" => self.estate(cmd)?,
            _ if self.flag("target") => return Err(Usage::of(cmd, "--target goes with --config FILE")),
            "prune" => Command::Prune { opts: self.prune()?, volumes: self.values("volume").to_vec(), lock_file: self.lock_file(cmd)? },
            "run" => Command::Run {
                opts: Box::new(self.run()?),
                max_pause: self.value("max-pause").map(|v| timeout("run", "--max-pause", &v)).transpose()?,
                metrics: self.metrics_file("run")?,
                lock_file: self.lock_file(cmd)?,
            },
            "report" => Command::Report { opts: Box::new(self.report()?) },
            "check" => Command::Check { opts: Box::new(self.check()?), metrics: self.metrics_file("check")? },
            other => return Err(Usage::new(format!("unknown command {other:?}"))),
        })
    }
}

impl Raw {
    /// `prune`'s options: the policy (refused when it has no rule) and how to apply it.
    fn prune(&self) -> Result<PruneOpts, Usage> {
        const CMD: &str = "prune";
        let policy = self.policy(CMD)?;
        let mut opts = PruneOpts::new(policy).dry_run(self.flag("dry-run")).all_projects(self.flag("all-projects"));
        if !self.values("volume").is_empty() {
            opts = opts.volumes(self.values("volume").iter().cloned());
        }
        if let Some(v) = self.value("wait-timeout") {
            opts = opts.wait_opts(WaitOpts::new().timeout(timeout(CMD, "--wait-timeout", &v)?));
        }
        if let Some(n) = self.concurrency(CMD)? {
            opts = opts.concurrency(n);
        }
        Ok(opts)
    }

    /// `--lock-file PATH` of `run` and `prune` (not empty).
    fn lock_file(&self, cmd: &'static str) -> Result<Option<PathBuf>, Usage> {
        match self.value("lock-file") {
            Some(v) if v.is_empty() => Err(Usage::of(cmd, "--lock-file needs a file name")),
            v => Ok(v.map(PathBuf::from)),
        }
    }

    /// `--concurrency N` of `run` and `prune`: 1 to [`MAX_CONCURRENCY`].
    fn concurrency(&self, cmd: &'static str) -> Result<Option<usize>, Usage> {
        let Some(v) = self.value("concurrency") else { return Ok(None) };
        let n = count(cmd, "--concurrency", &v)?;
        if n > MAX_CONCURRENCY {
            return Err(Usage::of(cmd, format!("--concurrency {v:?} is more than {MAX_CONCURRENCY}")));
        }
        Ok(Some(n))
    }

    /// The volumes `--select`, `--volume` or `--all` choose (exactly one kind), and
    /// `--all-projects`.
    fn selection(&self, cmd: &'static str) -> Result<Selection, Usage> {
        let tags = pairs(cmd, "--select", self.values("select"))?;
        let volumes = self.values("volume");
        let all = self.flag("all");
        let kinds = usize::from(!tags.is_empty()) + usize::from(!volumes.is_empty()) + usize::from(all);
        if kinds == 0 {
            return Err(Usage::of(cmd, format!("{cmd} needs --select KEY=VALUE, --volume VOLUME or --all: which volumes?")));
        }
        if kinds > 1 {
            return Err(Usage::of(cmd, "--select, --volume and --all do not go together: choose one way to select the volumes"));
        }
        if self.flag("all-projects") && !volumes.is_empty() {
            return Err(Usage::of(cmd, "--all-projects goes with --select or --all, not --volume"));
        }
        let mut selection = Selection::new().all(all).all_projects(self.flag("all-projects"));
        for (k, v) in tags {
            selection = selection.tag(k, v);
        }
        for v in volumes {
            selection = selection.volume(v);
        }
        Ok(selection)
    }

    /// `--metrics-file PATH` (not empty).
    fn metrics_file(&self, cmd: &'static str) -> Result<Option<PathBuf>, Usage> {
        match self.value("metrics-file") {
            Some(v) if v.is_empty() => Err(Usage::of(cmd, "--metrics-file needs a path")),
            v => Ok(v.map(PathBuf::from)),
        }
    }

    /// `run`'s options, as the library's: the flags are a one-entry job spec
    /// (`Spec::single`), its one job made by `spec::job_opts` as a spec's are, then the run
    /// flags the spec has no key for.
    fn run(&self) -> Result<JobOpts, Usage> {
        const CMD: &str = "run";
        let selection = self.selection(CMD)?;
        let mut policy = PolicySpec::new(self.policy(CMD)?);
        if let Some(v) = self.value("every") {
            policy.every = Some(Window::parse(&v).map_err(|e| Usage::of(CMD, format!("--every: {e}")))?);
        }
        let settings = Settings::new()
            .with_concurrency(self.concurrency(CMD)?)
            .with_wait_timeout(self.value("wait-timeout").map(|v| timeout(CMD, "--wait-timeout", &v)).transpose()?)
            .with_deadline(self.value("deadline").map(|v| timeout(CMD, "--deadline", &v)).transpose()?)
            .with_allow_empty(self.flag("allow-empty"));
        let spec = cinder_snapshots::spec::Spec::single(policy, selection, settings);
        let opts = spec
            .targets()
            .first()
            .and_then(|t| spec.jobs(t).into_iter().next())
            .and_then(|j| j.opts)
            .ok_or_else(|| Usage::of(CMD, "run needs a job"))?;
        Ok(self.run_flags(CMD)?.apply(opts))
    }

    /// The run flags the job spec has no key for.
    fn run_flags(&self, cmd: &'static str) -> Result<RunFlags, Usage> {
        Ok(RunFlags {
            dry_run: self.flag("dry-run"),
            all_or_nothing: self.flag("all-or-nothing"),
            prune_first: self.flag("prune-first"),
            snapshot_on_pre_hook_failure: self.flag("snapshot-on-pre-hook-failure"),
            pre_hook: self.hook(cmd, "pre-hook")?,
            post_hook: self.hook(cmd, "post-hook")?,
            on_failure: self.hook(cmd, "on-failure")?,
            hook_timeout: self.value("hook-timeout").map(|v| timeout(cmd, "--hook-timeout", &v)).transpose()?,
        })
    }

    /// `run`, `check`, `prune` or `plan` with `--config FILE`: the spec read and checked
    /// (a mistake: file:line: key: message), limited to the `--target`s. The options that
    /// the spec sets (selection, policy, rules, settings) are refused beside it.
    fn estate(&self, cmd: &'static str) -> Result<Command, Usage> {
        const WITH_CONFIG: &[&str] = &[
            "config",
            "target",
            "dry-run",
            "lock-file",
            "pre-hook",
            "post-hook",
            "on-failure",
            "hook-timeout",
            "all-or-nothing",
            "prune-first",
            "snapshot-on-pre-hook-failure",
        ];
        let path = self.value("config").ok_or_else(|| Usage::of(cmd, format!("{cmd} needs --config FILE")))?;
        if path.is_empty() {
            return Err(Usage::of(cmd, "--config needs a file name"));
        }
        if let Some(other) = self.options.keys().find(|k| !WITH_CONFIG.contains(k) || (cmd != "run" && **k == "dry-run")) {
            let why =
                if cmd == "prune" && *other == "dry-run" { "plan --config FILE is the dry run of a spec" } else { "the spec sets it" };
            return Err(Usage::of(cmd, format!("--config does not go with --{other}: {why}")));
        }
        let spec = cinder_snapshots::spec::Spec::from_path(&path).map_err(|e| Usage::of(cmd, e.to_string()))?;
        let spec = spec.only(self.values("target")).map_err(|e| Usage::of(cmd, e.message))?;
        if cmd == "check" && !spec.targets().iter().any(|t| spec.jobs(t).iter().any(|j| j.check.is_some())) {
            return Err(Usage::of(cmd, format!("{}: no policy of these targets has warn and crit: nothing to check", spec.origin())));
        }
        let mode = match cmd {
            "run" if self.flag("dry-run") => Mode::Plan,
            "run" => Mode::Run,
            "check" => Mode::Check,
            "prune" => Mode::Prune,
            _ => Mode::Plan,
        };
        Ok(Command::Estate {
            mode,
            spec: Box::new(spec),
            path: PathBuf::from(path),
            lock_file: self.lock_file(cmd)?,
            flags: self.run_flags(cmd)?,
        })
    }

    /// A hook's command: not empty.
    fn hook(&self, cmd: &'static str, name: &str) -> Result<Option<String>, Usage> {
        match self.value(name) {
            Some(v) if v.trim().is_empty() => Err(Usage::of(cmd, format!("--{name} needs a command"))),
            v => Ok(v),
        }
    }

    /// `report`'s options, as the library's.
    fn report(&self) -> Result<ReportOpts, Usage> {
        const CMD: &str = "report";
        let selection = self.selection(CMD)?;
        let mut opts = ReportOpts::new(self.policy(CMD)?).selection(selection);
        if let Some(v) = self.value("timeout") {
            let timeout = timeout(CMD, "--timeout", &v)?;
            if timeout.is_zero() {
                return Err(Usage::of(CMD, format!("--timeout {v:?} leaves no time for the listings")));
            }
            opts = opts.timeout(timeout);
        }
        Ok(opts)
    }

    /// `check`'s options, as the library's.
    fn check(&self) -> Result<CheckOpts, Usage> {
        const CMD: &str = "check";
        let selection = self.selection(CMD)?;
        let id = self.value("policy").ok_or_else(|| Usage::of(CMD, "check needs --policy ID"))?;
        let warn = self.value("warn").ok_or_else(|| Usage::of(CMD, "check needs --warn DURATION"))?;
        let crit = self.value("crit").ok_or_else(|| Usage::of(CMD, "check needs --crit DURATION"))?;
        let (warn, crit) = (exact(CMD, "--warn", &warn)?, exact(CMD, "--crit", &crit)?);
        if crit < warn {
            return Err(Usage::of(CMD, "--crit is shorter than --warn: a snapshot would be critical before it is a warning"));
        }
        // The id must be one a policy can have (checked again by the library).
        Policy::validate_id(&id).map_err(|e| Usage::of(CMD, format!("--policy: {e}")))?;
        let mut opts = CheckOpts::new(id, warn, crit).selection(selection).warn_uncovered(self.flag("warn-uncovered"));
        // The rules, as run has them: the most snapshots the prune leaves.
        let rules = ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "keep-within", "utc-offset"];
        if rules.iter().any(|r| self.flag(r)) {
            opts = opts.policy(self.policy(CMD)?);
        }
        if let Some(v) = self.value("timeout") {
            let timeout = timeout(CMD, "--timeout", &v)?;
            if timeout.is_zero() {
                return Err(Usage::of(CMD, format!("--timeout {v:?} leaves no time for the check")));
            }
            opts = opts.timeout(timeout);
        }
        Ok(opts)
    }

    /// The retention policy of `--policy` and the `--keep-*` rules (refused when it has no
    /// rule), through the library's one translation (`spec::policy_from_keys`, as the job
    /// spec's policies).
    fn policy(&self, cmd: &'static str) -> Result<Policy, Usage> {
        let id = self.value("policy").ok_or_else(|| Usage::of(cmd, format!("{cmd} needs --policy ID")))?;
        cinder_snapshots::spec::policy_from_keys(&id, |key| self.value(key)).map_err(|e| match e {
            KeyError::NoRule => Usage::of(
                cmd,
                format!(
                    "{cmd} needs at least one rule (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, \
                     --keep-yearly, --keep-within or --keep-within-* above 0): a policy with no rule would delete every snapshot it owns \
                     but the newest"
                ),
            ),
            KeyError::Conflict => Usage::of(cmd, "--utc-offset and --time-zone do not go together: choose one calendar"),
            other => Usage::of(cmd, format!("--{other}")),
        })
    }
}

/// A threshold: the crate's exact grammar (`26h`, `90min`; no bare number, no `m`).
fn exact(cmd: &'static str, what: &str, v: &str) -> Result<Duration, Usage> {
    duration::parse_exact(v).map_err(|e| Usage::of(cmd, format!("{what} {v:?} {e}")))
}

/// A timeout: the crate's exact grammar or a bare number of seconds, up to a year.
fn timeout(cmd: &'static str, what: &str, v: &str) -> Result<Duration, Usage> {
    duration::parse_timeout(v).map_err(|e| Usage::of(cmd, format!("{what} {v:?} {e}")))
}

/// `+HH:MM` or `-HH:MM`, as the library's one parser reads it (`spec::parse_utc_offset`).
#[cfg(test)]
fn utc_offset(cmd: &'static str, v: &str) -> Result<time::UtcOffset, Usage> {
    cinder_snapshots::spec::parse_utc_offset(v).map_err(|e| Usage::of(cmd, format!("--{e}")))
}

/// `KEY=VALUE` items (the key not empty; the value may be).
fn pairs(cmd: &'static str, what: &str, items: &[String]) -> Result<Vec<(String, String)>, Usage> {
    items
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(Usage::of(cmd, format!("{what} {p:?} is not KEY=VALUE"))),
        })
        .collect()
}

/// `key[:asc|desc][,key[:dir]...]`, as the `openstack` command takes `--sort`.
fn sort_keys(cmd: &'static str, v: &str) -> Result<Vec<(SortKey, SortDir)>, Usage> {
    v.split(',')
        .map(|part| {
            let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let key: SortKey = key.trim().parse().unwrap_or_else(|never| match never {});
            let dir: SortDir =
                dir.trim().parse().map_err(|_| Usage::of(cmd, format!("--sort {v:?}: the direction {dir:?} is not asc or desc")))?;
            Ok((key, dir))
        })
        .collect()
}

/// `KEY[:DIR],...` with the volumes' sort keys.
fn volume_sort_keys(cmd: &'static str, v: &str) -> Result<Vec<(volumes::SortKey, SortDir)>, Usage> {
    v.split(',')
        .map(|part| {
            let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let key: volumes::SortKey = key.trim().parse().unwrap_or_else(|never| match never {});
            let dir: SortDir =
                dir.trim().parse().map_err(|_| Usage::of(cmd, format!("--sort {v:?}: the direction {dir:?} is not asc or desc")))?;
            Ok((key, dir))
        })
        .collect()
}

/// A volume status Cinder has (in any case); anything else is refused, as for snapshots.
fn volume_status(cmd: &'static str, v: &str) -> Result<VolumeStatus, Usage> {
    match v.parse::<VolumeStatus>() {
        Ok(VolumeStatus::Other(_)) => Err(Usage::of(
            cmd,
            format!(
                "--status {v:?} is not a volume status (available, in-use, creating, error, deleting, error_deleting, \
                 attaching, detaching, reserved, maintenance, extending, reverting, ...)"
            ),
        )),
        Ok(s) => Ok(s),
        Err(never) => match never {},
    }
}

/// A whole number above zero.
fn count(cmd: &'static str, what: &str, v: &str) -> Result<usize, Usage> {
    v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| Usage::of(cmd, format!("{what} {v:?} is not a whole number above 0")))
}

/// A snapshot status Cinder has (in any case); anything else is refused with the list, as
/// the `openstack` command refuses an invalid choice (a filter on a status that cannot exist
/// would print an empty listing and succeed).
fn status(cmd: &'static str, what: &str, v: &str) -> Result<SnapshotStatus, Usage> {
    match v.parse::<SnapshotStatus>() {
        Ok(SnapshotStatus::Other(_)) => Err(Usage::of(
            cmd,
            format!(
                "{what} {v:?} is not a snapshot status (available, error, creating, deleting, deleted, error_deleting, \
                 unmanaging, backing-up, restoring, updating)"
            ),
        )),
        Ok(s) => Ok(s),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Cli, Usage> {
        parse(line.split_whitespace().map(OsString::from))
    }

    fn command(line: &str) -> Command {
        match parse_str(line).map(|c| c.action) {
            Ok(Action::Run(c)) => *c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn globals_anywhere() {
        let cli = parse_str("--os-cloud d list --long --json --property a=b --property c=d --os-region-name R").unwrap();
        assert!(cli.globals.output.json() && cli.globals.token_cache.is_none() && !cli.globals.debug);
        assert_eq!(cli.globals.vars, BTreeMap::from([("OS_CLOUD".into(), "d".into()), ("OS_REGION_NAME".into(), "R".into())]));
        let Action::Run(command) = cli.action else { panic!("a command") };
        let Command::List { opts, long, limit, .. } = *command else { panic!("list") };
        assert!(long && limit.is_none());
        assert_eq!(opts, ListOpts::new().metadata("a", "b").metadata("c", "d"));
    }

    #[test]
    fn list_options() {
        let Command::List { opts, limit, volume, .. } =
            command("list --project p --status AVAILABLE --volume v --limit 3 --marker m --sort created_at:asc --name n")
        else {
            panic!()
        };
        // The volume is resolved (a name to its id) when the command runs.
        assert_eq!(volume.as_deref(), Some("v"));
        // --project implies --all-projects.
        let want = ListOpts::new()
            .all_projects(true)
            .project_id("p")
            .name("n")
            .status(SnapshotStatus::Available)
            .marker("m")
            .sort(SortKey::CreatedAt, SortDir::Asc)
            .limit(3);
        assert_eq!((opts, limit), (want, Some(3)));
        let Command::List { opts, .. } = command("list --sort name:desc,volume_size") else { panic!() };
        assert_eq!(opts, ListOpts::new().sort(SortKey::Name, SortDir::Desc).sort(SortKey::VolumeSize, SortDir::Asc));
    }

    #[test]
    fn create_update_wait_delete() {
        let Command::Create { volume, snapshot, wait } =
            command("create --volume v --force --property k=v=w --wait --wait-timeout 1.5 nightly")
        else {
            panic!()
        };
        assert_eq!(volume, "v");
        assert_eq!(snapshot.opts("v-id"), CreateOpts::new("v-id").name("nightly").force(true).metadata("k", "v=w"));
        assert_eq!(wait, Some(Some(Duration::from_millis(1500))));
        let Command::Create { volume, snapshot, wait } = command("create --volume v") else { panic!() };
        assert_eq!((volume.as_str(), snapshot.opts("v"), wait), ("v", CreateOpts::new("v"), None));
        let Command::Update { opts, .. } = command("update s --name n") else { panic!() };
        assert_eq!(opts, UpdateOpts::new().name("n"));
        let Command::Wait { target, timeout, .. } = command("wait s --status deleted") else { panic!() };
        assert_eq!((target, timeout), (Target::Deleted, None));
        let Command::Wait { target, .. } = command("wait s") else { panic!() };
        assert_eq!(target, Target::Status(SnapshotStatus::Available));
        let Command::Delete { snapshots, wait, force } = command("delete a b --wait") else { panic!() };
        assert_eq!((snapshots, wait, force), (vec!["a".to_owned(), "b".to_owned()], Some(None), false));
        let Command::ResetStatus { status, .. } = command("reset-status s --state error_deleting") else { panic!() };
        assert_eq!(status, SnapshotStatus::ErrorDeleting);
    }

    #[test]
    fn volume_commands() {
        let Command::VolumeList { opts, long, limit } =
            command("volume list --long --project p --name n --status IN-USE --property a=b --limit 4 --marker m --sort size:desc,name")
        else {
            panic!()
        };
        let want = volumes::ListOpts::new()
            .all_projects(true)
            .project_id("p")
            .name("n")
            .status(VolumeStatus::InUse)
            .metadata("a", "b")
            .marker("m")
            .sort(volumes::SortKey::Size, SortDir::Desc)
            .sort(volumes::SortKey::Name, SortDir::Asc)
            .limit(4);
        assert_eq!((opts, long, limit), (want, true, Some(4)));
        let Command::VolumeShow { volume } = command("volume show db-data") else { panic!() };
        assert_eq!(volume, "db-data");
        let Command::Restore { from, name, size, wait } = command("restore nightly --name back --size 3 --wait") else { panic!() };
        assert_eq!((from, name.as_deref(), size, wait), (RestoreFrom::Snapshot("nightly".into()), Some("back"), Some(3), Some(None)));
        let Command::Restore { from, .. } = command("restore --volume db --latest --policy nightly") else { panic!() };
        assert_eq!(from, RestoreFrom::Latest { volume: "db".into(), policy: Some("nightly".into()) });
        let Command::Restore { from, .. } = command("restore --latest --volume db") else { panic!() };
        assert_eq!(from, RestoreFrom::Latest { volume: "db".into(), policy: None });
        for (line, needle) in [
            ("restore", "restore needs SNAPSHOT, or --volume VOLUME --latest"),
            ("restore --volume db", "restore needs SNAPSHOT, or --volume VOLUME --latest"),
            ("restore --latest", "restore needs SNAPSHOT, or --volume VOLUME --latest"),
            ("restore s --volume db --latest", "not both"),
            ("restore s --policy p", "not both"),
            ("revert db --snapshot s --latest", "revert takes --snapshot SNAPSHOT or --latest, not both"),
            ("volume set db", "volume set needs --property KEY=VALUE"),
            ("volume set db --property k", "--property \"k\" is not KEY=VALUE"),
            ("volume unset db", "volume unset needs --property KEY"),
        ] {
            let usage = parse_str(line).unwrap_err();
            assert!(usage.message.contains(needle), "{line}: {}", usage.message);
        }
        let Command::Revert { volume, snapshot, wait } = command("revert db-data --snapshot nightly") else { panic!() };
        assert_eq!((volume.as_str(), snapshot.as_deref(), wait), ("db-data", Some("nightly"), None));
        let Command::Revert { snapshot, .. } = command("revert db-data --latest --wait") else { panic!() };
        assert_eq!(snapshot, None);
        let Command::VolumeSet { volume, metadata } = command("volume set db --property backup=nightly --property a=") else { panic!() };
        assert_eq!((volume.as_str(), metadata), ("db", vec![("backup".into(), "nightly".into()), ("a".into(), String::new())]));
        let Command::VolumeUnset { keys, .. } = command("volume unset db --property a --property b") else { panic!() };
        assert_eq!(keys, ["a", "b"]);
        // The group word alone, or with an unknown second word, is a usage error.
        assert!(parse_str("volume").unwrap_err().message.starts_with("volume needs a command"));
        assert!(parse_str("volume frob").unwrap_err().message.starts_with("unknown command \"volume frob\""));
        assert!(matches!(parse_str("volume show --help").unwrap().action, Action::Help(h) if h.contains("volume show VOLUME")));
    }

    /// `run`'s flags and a job spec saying the same make the same `JobOpts` (the flags are
    /// a one-entry spec through `spec::job_opts`).
    #[test]
    fn run_flags_and_a_spec_make_the_same_job_opts() {
        let Command::Run { opts, .. } = command(
            "run --select backup=nightly --policy nightly --keep-daily 7 --keep-weekly 4 --time-zone Europe/Berlin --every daily \
             --concurrency 8 --wait-timeout 2h --deadline 3h --allow-empty",
        ) else {
            panic!()
        };
        let text = "version: 1\ndefaults:\n  concurrency: 8\n  wait-timeout: 2h\n  deadline: 3h\n  allow-empty: true\npolicies:\n  nightly:\n    \
                    keep-daily: 7\n    keep-weekly: 4\n    time-zone: Europe/Berlin\n    every: daily\nselections:\n  s:\n    select: \
                    {backup: nightly}\n    policies: [nightly]\ntargets:\n  t:\n    cloud: c\n    selections: [s]\n";
        let spec = cinder_snapshots::spec::Spec::parse(text, "estate.yaml").unwrap();
        let from_spec = spec.jobs(&spec.targets()[0]).remove(0).opts.unwrap();
        assert_eq!(format!("{opts:?}"), format!("{from_spec:?}"));
    }

    /// `--config` refuses what the spec sets; `--target` needs `--config`.
    #[test]
    fn config_refuses_the_options_the_spec_sets() {
        for (line, want) in [
            ("run --config e.yaml --keep-daily 1", "--config does not go with --keep-daily: the spec sets it"),
            ("run --config e.yaml --concurrency 2", "--config does not go with --concurrency: the spec sets it"),
            ("check --config e.yaml --warn 1h", "--config does not go with --warn: the spec sets it"),
            ("prune --config e.yaml --volume v", "--config does not go with --volume: the spec sets it"),
            ("check --all --policy p --warn 1h --crit 2h --target t", "--target goes with --config FILE"),
        ] {
            let err = parse_str(line).map(|_| ()).unwrap_err();
            assert_eq!(err.message, want, "{line}");
        }
    }

    /// The options meant to repeat do: every value counts.
    #[test]
    fn repeatable_options_keep_every_value() {
        let Command::Run { opts, .. } = command("run --volume a --volume b --policy p --keep-daily 1 --dry-run --dry-run") else {
            panic!()
        };
        assert_eq!(opts.get_selection().volumes(), ["a", "b"]);
        let Command::Check { opts, .. } = command("check --select a=1 --select b=2 --policy p --warn 1h --crit 2h") else { panic!() };
        assert_eq!(opts.get_selection().tags().len(), 2);
        let Command::Create { snapshot, .. } = command("create --volume v --property a=1 --property b=2") else { panic!() };
        assert_eq!(snapshot.metadata.len(), 2);
        let cli = parse_str("list -c id -c name --property a=1 --property b=2").unwrap();
        assert_eq!(cli.globals.output.columns.len(), 2);
    }

    /// run, prune and check authenticate at every start unless --token-cache; the
    /// interactive commands keep the cache unless --no-token-cache.
    #[test]
    fn the_token_cache_is_for_interactive_commands_unless_asked() {
        for (line, cached) in [
            ("list", true),
            ("--no-token-cache list", false),
            ("run --all --policy p --keep-daily 1", false),
            ("prune --policy p --keep-daily 1", false),
            ("check --all --policy p --warn 1h --crit 2h", false),
            ("run --all --policy p --keep-daily 1 --token-cache", true),
            ("--token-cache check --all --policy p --warn 1h --crit 2h", true),
            ("prune --policy p --keep-daily 1 --no-token-cache", false),
        ] {
            let cli = parse_str(line).unwrap();
            let Action::Run(command) = &cli.action else { panic!("{line}") };
            assert_eq!(cli.globals.uses_token_cache(command), cached, "{line}");
        }
        let u = parse_str("list --token-cache --no-token-cache").unwrap_err();
        assert_eq!((u.message.as_str(), u.command), ("--token-cache and --no-token-cache do not go together", Some("list")));
    }

    #[test]
    fn help_and_version_win() {
        assert!(matches!(parse_str("--help").unwrap().action, Action::Help(h) if h.contains("Exit codes:")));
        assert!(matches!(parse_str("completions bash --help").unwrap().action, Action::Help(h) if h.contains("completions bash|zsh|fish")));
        assert!(
            matches!(parse_str("list --help").unwrap().action, Action::Help(h) if h.starts_with("Usage: cinder-snapshots [GLOBAL OPTIONS] list"))
        );
        assert!(matches!(parse_str("show -h").unwrap().action, Action::Help(h) if h.contains("show SNAPSHOT")));
        assert!(matches!(parse_str("--version").unwrap().action, Action::Version));
        assert!(matches!(parse_str("wait --version").unwrap().action, Action::Version));
    }

    #[test]
    fn usage_errors() {
        for (line, want, command) in [
            ("", "no command given", None),
            ("frobnicate", "unknown command \"frobnicate\"", None),
            ("--bogus list", "unknown option --bogus", None),
            ("-x list", "unknown option -x", None),
            ("list --bogus", "list has no option --bogus", Some("list")),
            ("list --long=yes", "unexpected argument for option '--long': \"yes\"", Some("list")),
            ("list --limit 0", "--limit \"0\" is not a whole number above 0", Some("list")),
            ("list --limit many", "is not a whole number", Some("list")),
            ("list --property nokey", "--property \"nokey\" is not KEY=VALUE", Some("list")),
            ("show", "missing argument; usage: cinder-snapshots show SNAPSHOT", Some("show")),
            ("show a b", "too many arguments", Some("show")),
            ("create --volume", "missing argument for option '--volume'", Some("create")),
            ("--os-cloud", "missing argument for option '--os-cloud'", None),
            ("create nightly", "create needs --volume VOLUME", Some("create")),
            ("create --volume v --property =x", "is not KEY=VALUE", Some("create")),
            ("create --volume v --wait-timeout 5", "--wait-timeout needs --wait", Some("create")),
            ("update s", "update needs --name or --description", Some("update")),
            ("set-metadata s novalue", "metadata item \"novalue\" is not KEY=VALUE", Some("set-metadata")),
            ("unset-metadata s", "missing argument", Some("unset-metadata")),
            ("delete", "missing argument", Some("delete")),
            ("delete s --wait --wait-timeout -1", "--wait-timeout \"-1\" is not a duration: a number of seconds", Some("delete")),
            ("reset-status s", "reset-status needs --state STATUS", Some("reset-status")),
            ("reset-status s --state frozen", "--state \"frozen\" is not a snapshot status", Some("reset-status")),
            ("wait s --timeout soon", "--timeout \"soon\" is not a duration", Some("wait")),
            ("wait s --timeout 1e300", "--timeout \"1e300\" has the unknown unit \"e\"", Some("wait")),
            ("wait s --timeout 31536000.5", "is out of range: at most a year (365d, 31536000 seconds)", Some("wait")),
            ("wait s --timeout 366d", "is out of range", Some("wait")),
            ("wait s --timeout 90m", "--timeout \"90m\" uses m: write min for minutes", Some("wait")),
            ("wait s --timeout NaN", "is not a duration", Some("wait")),
            ("wait s --timeout inf", "is not a duration", Some("wait")),
            ("list --status bogus", "--status \"bogus\" is not a snapshot status (available, error,", Some("list")),
            ("wait s --status avaliable", "is not a snapshot status", Some("wait")),
            // A single-value option given twice (before: the last one won).
            ("create --volume db-1 --volume db-2 x", "--volume is given twice: it takes one value", Some("create")),
            ("-f json list -f table", "--format is given twice: it takes one value", Some("list")),
            ("--os-cloud a list --os-cloud b", "--os-cloud is given twice", Some("list")),
            ("--os-cloud a --os-cloud b", "--os-cloud is given twice", None),
            ("check --all --policy p --warn 1h --crit 2h --warn 3h", "--warn is given twice", Some("check")),
            ("run --all --policy p --keep-daily 1 --keep-daily 2", "--keep-daily is given twice", Some("run")),
            ("prune --policy p --keep-daily 1 --wait-timeout 5 --wait-timeout 6", "--wait-timeout is given twice", Some("prune")),
        ] {
            match parse_str(line) {
                Err(u) => {
                    assert!(u.message.contains(want), "{line}: {}", u.message);
                    assert_eq!(u.command, command, "{line}");
                }
                Ok(cli) => panic!("{line}: parsed {cli:?}"),
            }
        }
    }

    #[test]
    fn prune_options() {
        let Command::Prune { opts, volumes, .. } = command(
            "prune --policy nightly --keep-last 2 --keep-hourly 3 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 1 \
             --keep-within 1d12h --utc-offset -05:30 --volume a --volume b --volume a --all-projects --dry-run --wait-timeout 60 \
             --concurrency 9",
        ) else {
            panic!()
        };
        let p = opts.policy();
        assert_eq!(p.id(), "nightly");
        assert_eq!(p.rules_string(), "last=2,hourly=3,daily=7,weekly=4,monthly=12,yearly=1,within=1d12h,utc-offset=-05:30");
        assert!(opts.is_dry_run() && opts.is_all_projects());
        assert_eq!(opts.get_concurrency(), 9);
        assert_eq!(opts.get_volumes().map(|v| v.iter().map(String::as_str).collect::<Vec<_>>()), Some(vec!["a", "b"]));
        assert_eq!(volumes, ["a", "b", "a"], "resolved when the command runs");
        // restic's spelling: m is months.
        let Command::Prune { opts, .. } = command("prune --policy p --keep-within 1y2m3d4h") else { panic!() };
        assert_eq!(opts.policy().keep_within(), Some(cinder_snapshots::duration::CalendarDuration::new(1, 2, 3, 4)));
        assert!(!opts.is_dry_run() && !opts.is_all_projects() && opts.get_volumes().is_none());
        assert_eq!(opts.policy().calendar(), &cinder_snapshots::tz::Calendar::Fixed(time::UtcOffset::UTC));
        let Command::Prune { opts, .. } = command(
            "prune --policy p --keep-daily unlimited --keep-within-hourly 2d --keep-within-daily 14d --keep-within-weekly 2m \
             --keep-within-monthly 1y --keep-within-yearly 10y",
        ) else {
            panic!()
        };
        assert_eq!(
            opts.policy().rules_string(),
            "daily=unlimited,within-hourly=2d,within-daily=14d,within-weekly=2m,within-monthly=1y,within-yearly=10y,utc-offset=+00:00"
        );
        let Command::Prune { opts, .. } = command("prune --policy p --keep-daily 0 --keep-weekly 1 --utc-offset +05:45") else { panic!() };
        assert_eq!(opts.policy().rules_string(), "weekly=1,utc-offset=+05:45");
    }

    #[test]
    fn run_hook_options() {
        let line =
            ["run", "--all", "--policy", "p", "--keep-daily", "7", "--pre-hook", "fsfreeze -f \"$M\"", "--post-hook", "fsfreeze -u /m"]
                .into_iter()
                .chain(["--on-failure", "mail -s failed root", "--hook-timeout", "90s", "--snapshot-on-pre-hook-failure"]);
        let Ok(Action::Run(c)) = parse(line.map(OsString::from)).map(|c| c.action) else { panic!() };
        let Command::Run { opts, .. } = *c else { panic!() };
        let hooks = opts.hooks();
        assert_eq!(hooks.pre.as_deref(), Some("fsfreeze -f \"$M\""));
        assert_eq!((hooks.post.as_deref(), hooks.on_failure.as_deref()), (Some("fsfreeze -u /m"), Some("mail -s failed root")));
        assert_eq!((hooks.timeout, hooks.snapshot_on_pre_hook_failure), (Duration::from_secs(90), true));
        // The defaults: no hook, 5 minutes, skip on a failed pre-hook.
        let Command::Run { opts, .. } = command("run --all --policy p --keep-daily 7") else { panic!() };
        assert_eq!(opts.hooks(), &cinder_snapshots::job::Hooks::default());
        assert_eq!(opts.hooks().timeout, Duration::from_secs(300));
        for (args, want) in [
            (&["--pre-hook", " "][..], "--pre-hook needs a command"),
            (&["--on-failure", ""][..], "--on-failure needs a command"),
            (&["--hook-timeout", "soon"][..], "--hook-timeout \"soon\" is not a duration"),
        ] {
            let line = ["run", "--all", "--policy", "p", "--keep-daily", "7"].iter().chain(args).map(OsString::from);
            let Err(e) = parse(line) else { panic!("{args:?}") };
            assert!(e.message.contains(want), "{args:?}: {}", e.message);
        }
    }

    #[test]
    fn run_and_check_options() {
        let Command::Run { opts, max_pause, .. } = command(
            "run --select backup=nightly --select tier=gold --policy nightly --keep-daily 7 --keep-weekly 4 --every 6h \
             --concurrency 8 --wait-timeout 2h --dry-run --all-projects --deadline 90min --max-pause 2min --all-or-nothing --prune-first",
        ) else {
            panic!()
        };
        assert_eq!(max_pause, Some(Duration::from_secs(120)));
        assert_eq!((opts.get_deadline(), opts.is_all_or_nothing(), opts.is_prune_first()), (Duration::from_secs(5400), true, true));
        assert_eq!(opts.policy().rules_string(), "daily=7,weekly=4,utc-offset=+00:00");
        assert_eq!(opts.window(), Window::Every(Duration::from_secs(6 * 3600)));
        assert_eq!((opts.get_concurrency(), opts.get_timeout(), opts.is_dry_run()), (8, Some(Duration::from_secs(7200)), true));
        let selection = opts.get_selection();
        assert_eq!(selection.tags(), [("backup".to_owned(), "nightly".to_owned()), ("tier".to_owned(), "gold".to_owned())]);
        assert!(selection.is_all_projects() && !selection.is_all() && selection.volumes().is_empty());
        // The defaults: the window the rules need, the library's concurrency and timeout.
        let command_line = command("run --volume a --volume b --policy p --keep-hourly 24");
        assert_eq!(command_line.retry_policy(), None, "the client's own retry policy: pauses up to 60 s");
        let Command::Run { opts, max_pause: None, metrics: None, .. } = command_line else { panic!() };
        assert_eq!((opts.window(), opts.get_concurrency(), opts.get_timeout()), (Window::Hourly, 4, Some(Duration::from_secs(3600))));
        assert_eq!((opts.get_deadline(), opts.is_all_or_nothing(), opts.is_prune_first()), (Duration::from_secs(3600), false, false));
        assert_eq!(opts.get_selection().volumes(), ["a", "b"]);
        assert!(!opts.is_dry_run());
        let Command::Run { opts, .. } = command("run --all --policy p --keep-last 3 --every weekly") else { panic!() };
        assert!(opts.get_selection().is_all() && opts.window() == Window::Weekly);
        let Command::Check { opts, metrics: None } = command("check --all --policy nightly --warn 26h --crit 2d2h") else { panic!() };
        assert_eq!(
            (opts.policy_id(), opts.warn(), opts.crit()),
            ("nightly", Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600))
        );
        assert!(opts.get_selection().is_all());
    }

    #[test]
    fn formats_columns_and_the_openstack_spellings() {
        let cli = parse_str("list -f value -c id -c Created_At").unwrap();
        assert_eq!(cli.globals.output.format, Format::Value);
        assert_eq!(cli.globals.output.columns.iter().map(|c| c.header).collect::<Vec<_>>(), ["ID", "Created At"]);
        let cli = parse_str("--format csv --column name show s").unwrap();
        assert_eq!((cli.globals.output.format, cli.globals.output.columns[0].key), (Format::Csv, "name"));
        assert_eq!(parse_str("-fjson list").unwrap().globals.output.format, Format::Json);
        assert_eq!(parse_str("list --json -f table").unwrap().globals.output.format, Format::Table);
        let Command::Set { snapshot, update, metadata, state } = command("set s --name n --property a=1 --property b=2 --state error")
        else {
            panic!()
        };
        assert_eq!(snapshot, "s");
        assert_eq!(update, Some(UpdateOpts::new().name("n")));
        assert_eq!(metadata, [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())]);
        assert_eq!(state, Some(SnapshotStatus::Error));
        let Command::Set { update, metadata, state, .. } = command("set s --description x") else { panic!() };
        assert_eq!((update, metadata.is_empty(), state), (Some(UpdateOpts::new().description("x")), true, None));
        let Command::UnsetMetadata { keys, .. } = command("unset s --property a --property b") else { panic!() };
        assert_eq!(keys, ["a", "b"]);
        let Command::Delete { force, .. } = command("delete --force a") else { panic!() };
        assert!(force);
        let Command::Delete { force, wait, .. } = command("force-delete a b") else { panic!() };
        assert!(force && wait.is_none());
        assert!(
            matches!(parse_str("completions fish").unwrap().action, Action::Completions(s) if s.contains("complete -c cinder-snapshots"))
        );
    }

    #[test]
    fn edit_distances_and_suggestions() {
        for (a, b, d) in
            [("", "", 0), ("list", "list", 0), ("lsit", "list", 1), ("lmit", "limit", 1), ("", "abc", 3), ("kitten", "sitting", 3)]
        {
            assert_eq!((edit_distance(a, b), edit_distance(b, a)), (d, d), "{a} {b}");
        }
        assert_eq!(did_you_mean("Lsit", "", ["show", "list"].into_iter()), " (did you mean list?)");
        assert_eq!(did_you_mean("frobnicate", "", ["show", "list"].into_iter()), "");
        assert_eq!(did_you_mean(&"x".repeat(100_000), "--", ["show"].into_iter()), "");
    }

    #[test]
    fn prune_usage_errors() {
        let empty = "prune needs at least one rule (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, \
                     --keep-yearly, --keep-within or --keep-within-* above 0): a policy with no rule would delete every snapshot it owns \
                     but the newest";
        for (line, want) in [
            ("prune --keep-daily 7", "prune needs --policy ID"),
            ("prune --policy p", empty),
            ("prune --policy p --keep-last 0 --keep-within 0d --keep-within-daily 0h", empty),
            ("prune --policy p --dry-run", empty),
            ("prune --policy a/b --keep-daily 1", "--policy: invalid retention policy id \"a/b\": it contains '/'"),
            ("prune --policy p --keep-daily -1", "--keep-daily \"-1\" is not a whole number from 0 to 4294967295 nor unlimited"),
            ("prune --policy p --keep-daily all", "is not a whole number"),
            ("prune --policy p --keep-daily 4294967296", "is not a whole number"),
            ("prune --policy p --keep-within 3", "--keep-within \"3\" has no unit: write 1y, 2m (months), 3d or 4h, as restic does"),
            ("prune --policy p --keep-within d", "is not a duration"),
            ("prune --policy p --keep-within 3w", "has the unknown unit \"w\""),
            ("prune --policy p --keep-within 30s", "has the unknown unit \"s\""),
            ("prune --policy p --keep-within 1d2", "has no unit"),
            ("prune --policy p --keep-within 99999999999999999999d", "is out of range"),
            ("prune --policy p --keep-within 4000000d", "--keep-within \"4000000d\" is out of range: at most 1000000 of each unit"),
            ("prune --policy p --keep-within-daily 5min", "--keep-within-daily \"5min\" has the unknown unit \"min\""),
            (
                "prune --policy p --keep-daily 1 --utc-offset +01:00 --time-zone Europe/Berlin",
                "--utc-offset and --time-zone do not go together",
            ),
            ("prune --policy p --keep-daily 1 --time-zone ../etc/passwd", "--time-zone: \"../etc/passwd\" is not a time zone name"),
            ("prune --policy p --keep-daily 1 --time-zone Mars/Olympus", "--time-zone: time zone \"Mars/Olympus\" not found"),
            ("prune --policy p --keep-daily 1 --utc-offset 2", "--utc-offset \"2\" is not an offset such as +02:00"),
            ("prune --policy p --keep-daily 1 --utc-offset +2:00", "is not an offset"),
            ("prune --policy p --keep-daily 1 --utc-offset +02:60", "is not an offset"),
            ("prune --policy p --keep-daily 1 --utc-offset +26:00", "is not an offset"),
            ("prune --policy p --keep-daily 1 --utc-offset +-1:00", "is not an offset"),
            ("prune --policy p --keep-daily 1 --wait-timeout x", "--wait-timeout \"x\" is not a duration"),
            ("prune --policy p --keep-daily 1 extra", "too many arguments"),
            ("prune --policy p --keep-daily 1 --concurrency 0", "--concurrency \"0\" is not a whole number above 0"),
            ("prune --policy p --keep-daily 1 --concurrency 65", "--concurrency \"65\" is more than 64"),
        ] {
            match parse_str(line) {
                Err(u) => {
                    assert!(u.message.contains(want), "{line}: {}", u.message);
                    assert_eq!(u.command, Some("prune"), "{line}");
                }
                Ok(cli) => panic!("{line}: parsed {cli:?}"),
            }
        }
        assert_eq!(exact("prune", "d", " 1d12h30min15s ").unwrap(), Duration::from_secs(86_400 + 12 * 3600 + 30 * 60 + 15));
        assert_eq!(utc_offset("prune", "-00:30").unwrap(), time::UtcOffset::from_hms(0, -30, 0).unwrap());
    }
}
