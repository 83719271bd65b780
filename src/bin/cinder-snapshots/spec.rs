//! The one table of the command line: every command with its options, positional arguments,
//! output columns and examples, and every global option. The parser ([`crate::args`]), the
//! help texts (here) and the shell completions ([`crate::completions`]) are all made from
//! it, so that an option added here is parsed, documented and completed at once.

use crate::output::{self, Column};

/// What an option's value (or a positional argument) may be, for the completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choices {
    /// Anything: nothing is offered.
    Any,
    /// One of these words.
    Words(&'static [&'static str]),
    /// A file name.
    File,
    /// One of the command's output columns (`-c`).
    Columns,
}

/// One option: its long name, its short letter, its value's placeholder (`None` for a flag),
/// its help, its default (shown in the help), its values, for a global `--os-*` option the
/// `OS_*` variable it sets, and whether it may be given more than once.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub short: Option<char>,
    pub value: Option<&'static str>,
    pub help: &'static str,
    pub default: Option<&'static str>,
    pub choices: Choices,
    pub sets: Option<&'static str>,
    /// Each value counts (`--select`, `run --volume`, `--property`, `-c`): made with
    /// [`repeated`]. Any other option with a value given twice is a usage error, never a
    /// silent "the last one wins". (A flag given twice is the same flag.)
    pub repeat: bool,
}

/// A flag (an option without a value).
pub const fn flag(name: &'static str, help: &'static str) -> Opt {
    Opt { name, short: None, value: None, help, default: None, choices: Choices::Any, sets: None, repeat: false }
}

/// An option with one value, shown as `value` in the help: given twice, a usage error.
pub const fn valued(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt { name, short: None, value: Some(value), help, default: None, choices: Choices::Any, sets: None, repeat: false }
}

/// An option with a value that may be given several times, every value counting (its help
/// says "repeatable").
pub const fn repeated(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt { name, short: None, value: Some(value), help, default: None, choices: Choices::Any, sets: None, repeat: true }
}

impl Opt {
    /// The default, as the help shows it.
    pub const fn default(mut self, default: &'static str) -> Opt {
        self.default = Some(default);
        self
    }

    /// The values offered by the completions.
    pub const fn choices(mut self, choices: Choices) -> Opt {
        self.choices = choices;
        self
    }

    const fn short(mut self, c: char) -> Opt {
        self.short = Some(c);
        self
    }

    const fn sets(mut self, var: &'static str) -> Opt {
        self.sets = Some(var);
        self
    }

    /// `-f, --format FORMAT`, `--wait`, `--volume VOLUME`: the option as the help shows it.
    pub fn left(&self) -> String {
        let long = match self.value {
            Some(v) => format!("--{} {v}", self.name),
            None => format!("--{}", self.name),
        };
        match self.short {
            Some(c) => format!("-{c}, {long}"),
            None => long,
        }
    }

    /// The help text with the default and the variable set, as the help shows it.
    pub fn right(&self) -> String {
        let mut text = self.help.to_owned();
        if let Some(var) = self.sets {
            text.push_str(&format!(" ({var})"));
        }
        if let Some(d) = self.default {
            text.push_str(&format!(" (default: {d})"));
        }
        text
    }
}

/// A command: its name (two words for `volume list`), synopsis, one-line summary,
/// description, options, positional arguments, output columns, examples, and the other
/// spelling of the same thing (the `openstack` command's, or ours).
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub synopsis: &'static str,
    pub summary: &'static str,
    pub about: &'static str,
    pub options: &'static [Opt],
    /// Least and most positional arguments.
    pub positionals: (usize, usize),
    /// What the positional arguments may be (for the completions).
    pub args: Choices,
    /// The columns `-c` may pick; empty when the command prints none.
    pub columns: &'static [Column],
    /// Whether `-c` also picks the keys of the JSON objects (else JSON is printed whole).
    pub json_columns: bool,
    /// The columns printed without `-c` (a prefix of `columns`; `--long` shows them all).
    pub default_columns: usize,
    pub examples: &'static [&'static str],
    pub also: &'static str,
}

impl Spec {
    /// The option named `name` (long name).
    pub fn option(&'static self, name: &str) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The option with this short letter.
    pub fn short(&'static self, c: char) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.short == Some(c))
    }

    /// `cinder-snapshots COMMAND --help`.
    pub fn help(&self) -> String {
        let mut text = format!("Usage: cinder-snapshots [GLOBAL OPTIONS] {}\n\n{}\n", self.synopsis, self.about);
        if !self.also.is_empty() {
            text.push_str(&format!("\nAlso spelled: {}\n", self.also));
        }
        if !self.options.is_empty() {
            text.push_str("\nOptions:\n");
            text.push_str(&option_lines(self.options));
        }
        if !self.columns.is_empty() {
            let names: Vec<&str> = self.columns.iter().map(|c| c.header).collect();
            let shown: Vec<&str> = names.iter().take(self.default_columns).copied().collect();
            let shell = if is_record(self) { "|shell" } else { "" };
            text.push_str(&format!(
                "\nOutput: -f table|json|value|csv|yaml{shell} (default table; --json is -f json); -c COLUMN (repeatable)\n\
                 prints only these columns, in this order: {}.\n",
                names.join(", ")
            ));
            if mirrors_openstack(self) {
                text.push_str("--os-compat: JSON and YAML keyed as the openstack command's -f json.\n");
            }
            if !is_record(self) {
                text.push_str("--sort-column COLUMN (repeatable) sorts the rows; --sort-descending reverses them.\n");
            }
            if shown.len() < names.len() {
                let long = if self.options.iter().any(|o| o.name == "long") { "; --long shows them all" } else { "" };
                text.push_str(&format!("Without -c: {}{long}.\n", shown.join(", ")));
            }
            if !self.json_columns {
                text.push_str("With -f json or -f yaml the report is printed whole (-c is refused).\n");
            }
        }
        if !self.examples.is_empty() {
            text.push_str("\nExamples:\n");
            for e in self.examples {
                text.push_str(&format!("  {e}\n"));
            }
        }
        text.push_str("\nGlobal options, output formats and exit codes: cinder-snapshots --help\n");
        text
    }

    /// The column `-c NAME` names: its header, its JSON key or the header with `_` for
    /// spaces, in any case.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.matches(name))
    }
}

/// Whether the command prints one record (a snapshot's or a volume's fields): the commands
/// of `-f shell`, and the ones `--sort-column` does not apply to.
pub fn is_record(spec: &Spec) -> bool {
    // Compared by content: a constant's address is not guaranteed to be one.
    spec.columns == output::SNAPSHOT_FIELDS || spec.columns == output::VOLUME_FIELDS
}

/// Whether the command mirrors an `openstack` command (it prints snapshots or volumes):
/// the commands of `--os-compat`.
pub fn mirrors_openstack(spec: &Spec) -> bool {
    is_record(spec) || spec.columns == output::SNAPSHOT_COLUMNS || spec.columns == output::VOLUME_COLUMNS
}

/// Aligned `  LEFT  RIGHT` lines.
fn option_lines(options: &[Opt]) -> String {
    let left: Vec<String> = options.iter().map(Opt::left).collect();
    let width = left.iter().map(String::len).max().unwrap_or(0).min(32);
    let mut text = String::new();
    for (l, o) in left.iter().zip(options) {
        if l.len() > width {
            text.push_str(&format!("  {l}\n  {:width$}  {}\n", "", o.right()));
        } else {
            text.push_str(&format!("  {l:<width$}  {}\n", o.right()));
        }
    }
    text
}

/// The output formats of `-f`.
pub const FORMATS: &[&str] = &["table", "json", "value", "csv", "yaml", "shell"];

/// The snapshot statuses (for the completions).
const SNAPSHOT_STATUSES: &[&str] =
    &["available", "error", "creating", "deleting", "deleted", "error_deleting", "unmanaging", "backing-up", "restoring", "updating"];

const VOLUME_STATUSES: &[&str] = &[
    "available",
    "in-use",
    "creating",
    "error",
    "deleting",
    "error_deleting",
    "attaching",
    "detaching",
    "reserved",
    "maintenance",
    "extending",
    "reverting",
];

/// The shells `completions` writes for.
pub const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// The global options, accepted before or after the command.
pub const GLOBALS: &[Opt] = &[
    valued("os-cloud", "NAME", "a cloud of clouds.yaml").sets("OS_CLOUD"),
    valued("os-auth-url", "URL", "Keystone, with or without /v3").sets("OS_AUTH_URL"),
    valued("os-auth-type", "TYPE", "password, token, v3applicationcredential, ...").sets("OS_AUTH_TYPE"),
    valued("os-username", "NAME", "the user's name").sets("OS_USERNAME"),
    valued("os-user-id", "ID", "the user's id").sets("OS_USER_ID"),
    valued("os-password", "PASSWORD", "the password").sets("OS_PASSWORD"),
    valued("os-user-domain-name", "NAME", "the user's domain").sets("OS_USER_DOMAIN_NAME"),
    valued("os-user-domain-id", "ID", "the user's domain").sets("OS_USER_DOMAIN_ID"),
    valued("os-project-name", "NAME", "the project").sets("OS_PROJECT_NAME"),
    valued("os-project-id", "ID", "the project").sets("OS_PROJECT_ID"),
    valued("os-project-domain-name", "NAME", "the project's domain").sets("OS_PROJECT_DOMAIN_NAME"),
    valued("os-project-domain-id", "ID", "the project's domain").sets("OS_PROJECT_DOMAIN_ID"),
    valued("os-token", "TOKEN", "a Keystone token").sets("OS_TOKEN"),
    valued("os-application-credential-id", "ID", "an application credential").sets("OS_APPLICATION_CREDENTIAL_ID"),
    valued("os-application-credential-name", "NAME", "an application credential").sets("OS_APPLICATION_CREDENTIAL_NAME"),
    valued("os-application-credential-secret", "SECRET", "its secret").sets("OS_APPLICATION_CREDENTIAL_SECRET"),
    valued("os-region-name", "NAME", "the region").sets("OS_REGION_NAME"),
    valued("os-interface", "public|internal|admin", "the endpoint interface")
        .sets("OS_INTERFACE")
        .choices(Choices::Words(&["public", "internal", "admin"])),
    valued("os-cacert", "FILE", "trust the certificates in this PEM file").sets("OS_CACERT").choices(Choices::File),
    flag("insecure", "do not verify TLS certificates").sets("OS_INSECURE"),
    valued("os-volume-api-version", "3|3.N", "3 negotiates the microversion, 3.N pins it").sets("OS_VOLUME_API_VERSION"),
    valued("format", "FORMAT", "output format: table, json, value (values separated by spaces, one row a line), csv, yaml or shell")
        .short('f')
        .default("table")
        .choices(Choices::Words(FORMATS)),
    repeated("column", "COLUMN", "print only this column (repeatable; COMMAND --help lists them)").short('c').choices(Choices::Columns),
    flag("json", "the same as -f json"),
    repeated("sort-column", "COLUMN", "sort the rows by this column (repeatable: the first given first)").choices(Choices::Columns),
    flag("sort-ascending", "with --sort-column: ascending (the default)"),
    flag("sort-descending", "with --sort-column: descending"),
    valued("prefix", "PREFIX", "with -f shell: put PREFIX before every variable's name"),
    flag("os-compat", "JSON and YAML with the openstack command's keys (ID, Created At, Properties, ...)"),
    flag("log-timestamps", "begin every line on stderr (progress, errors, --debug) with the time, RFC 3339 UTC"),
    flag("debug", "one line per HTTP request on stderr (never a secret)"),
    flag("no-token-cache", "do not keep the token between runs"),
    flag("token-cache", "run, prune, check: keep the token between runs too (they authenticate at every start without it)"),
    flag("help", "this text; COMMAND --help for one command").short('h'),
    flag("version", "the version"),
];

/// The global option named `name`.
pub fn global(name: &str) -> Option<&'static Opt> {
    GLOBALS.iter().find(|o| o.name == name)
}

/// The global option with this short letter.
pub fn global_short(c: char) -> Option<&'static Opt> {
    GLOBALS.iter().find(|o| o.short == Some(c))
}

const WAIT: Opt = flag("wait", "wait until it is done, with progress on stderr");
const WAIT_TIMEOUT: Opt =
    valued("wait-timeout", "DURATION", "give up waiting after this long: 30s, 5min, 2h, or bare seconds (needs --wait)").default("30min");

/// The retention rules, shared by `prune` and `run`.
macro_rules! rules {
    () => {
        [
            valued("keep-last", "N", "keep the N newest snapshots (N: a number or unlimited)"),
            valued("keep-hourly", "N", "keep the newest snapshot of each of the last N hours that have one (or unlimited)"),
            valued("keep-daily", "N", "keep the newest snapshot of each of the last N days that have one (or unlimited)"),
            valued("keep-weekly", "N", "keep the newest snapshot of each of the last N ISO weeks that have one (or unlimited)"),
            valued("keep-monthly", "N", "keep the newest snapshot of each of the last N months that have one (or unlimited)"),
            valued("keep-yearly", "N", "keep the newest snapshot of each of the last N years that have one (or unlimited)"),
            valued(
                "keep-within",
                "DURATION",
                "keep the snapshots within DURATION of the newest before now (restic's 1y2m3d4h: m is months)",
            ),
            valued("keep-within-hourly", "DURATION", "keep the newest snapshot of each hour within DURATION (1y2m3d4h)"),
            valued("keep-within-daily", "DURATION", "keep the newest snapshot of each day within DURATION (1y2m3d4h)"),
            valued("keep-within-weekly", "DURATION", "keep the newest snapshot of each ISO week within DURATION (1y2m3d4h)"),
            valued("keep-within-monthly", "DURATION", "keep the newest snapshot of each month within DURATION (1y2m3d4h)"),
            valued("keep-within-yearly", "DURATION", "keep the newest snapshot of each year within DURATION (1y2m3d4h)"),
            valued("utc-offset", "+HH:MM", "count hours, days, weeks, months, years in this UTC offset").default("+00:00"),
            valued("time-zone", "ZONE", "count them in this zone's local time instead (Europe/Berlin; from the system's tzdata)"),
        ]
    };
}

const RULES: [Opt; 14] = rules!();

const SELECT: Opt = repeated("select", "KEY=VALUE", "the volumes with this metadata item (repeatable: all of them)");
const SELECT_VOLUME: Opt = repeated("volume", "VOLUME", "this volume, by id or name (repeatable)");
const SELECT_ALL: Opt = flag("all", "every volume of the project");
const ALL_PROJECTS: Opt = flag(
    "all-projects",
    "with --select or --all: the volumes of every project (Cinder's admin view, its context_is_admin rule: role admin by \
     default; refused without it). run: the snapshots are made in YOUR project, not the volumes' (they count against \
     your quota; the volumes' owners do not see them)",
);

const LOCK_FILE: Opt = valued("lock-file", "PATH", "the job's lock file (one run at a time; held: exit 5)")
    .default("$XDG_STATE_HOME/cinder-snapshots/locks/job-HASH.lock")
    .choices(Choices::File);

/// `run --metrics-file` and `check --metrics-file`.
const METRICS_FILE: Opt = valued(
    "metrics-file",
    "PATH",
    "also write the metrics in node_exporter's textfile format to PATH (a directory: a file named after the target in it)",
)
.choices(Choices::File);

/// `--config FILE`: the job spec (run, check, prune, plan).
const CONFIG: Opt = valued(
    "config",
    "FILE",
    "the job spec (YAML: policies, selections, targets; see README \"The job spec\"): every target in one run; not with the selection or policy options",
)
.choices(Choices::File);

/// `--target NAME` with `--config`.
const TARGET: Opt = repeated("target", "NAME", "with --config: only this target of the spec (repeatable; NAME or NAME/REGION)");

/// `run`'s options.
const RUN_OPTIONS: &[Opt] = &[
    CONFIG,
    TARGET,
    SELECT,
    SELECT_VOLUME,
    SELECT_ALL,
    ALL_PROJECTS,
    valued("policy", "ID", "the policy id: its label's value (required; letters, digits, -_:. and space)"),
    RULES[0],
    RULES[1],
    RULES[2],
    RULES[3],
    RULES[4],
    RULES[5],
    RULES[6],
    RULES[7],
    RULES[8],
    RULES[9],
    RULES[10],
    RULES[11],
    RULES[12],
    RULES[13],
    valued(
        "every",
        "WINDOW",
        "one snapshot per volume per window: hourly, daily, weekly, monthly, yearly, or a duration such as 6h, 30min",
    )
    .default("the finest period the rules keep; daily for --keep-last/--keep-within only")
    .choices(Choices::Words(&["hourly", "daily", "weekly", "monthly", "yearly"])),
    valued("concurrency", "N", "snapshot this many volumes at a time (1 to 64)").default("4"),
    valued("wait-timeout", "DURATION", "stop waiting for the snapshots after this long (12h, 90min, 30s, or bare seconds)").default("1h"),
    valued("deadline", "DURATION", "one deadline for the whole run: no create is sent (or sent again) past it (2h, 90min)").default("1h"),
    valued(
        "max-pause",
        "DURATION",
        "the longest pause a rate limiter (429) may impose on the creates and deletes; longer fails the request",
    )
    .default("60s"),
    flag("all-or-nothing", "when the quota cannot hold a snapshot of every volume, create nothing (exit 1 with the numbers)"),
    flag("prune-first", "when the quota is short, first delete what the rules would delete once this window's snapshot exists"),
    flag("dry-run", "only show what would be created and pruned; change nothing"),
    flag("allow-empty", "a selection that matches no volume is a success (without it: exit 1, nothing protected)"),
    LOCK_FILE,
    valued("pre-hook", "CMD", "run /bin/sh -c CMD before each volume's create (a freeze); the volume is in CINDER_SNAPSHOTS_* variables"),
    valued("post-hook", "CMD", "run /bin/sh -c CMD once that volume's snapshot leaves creating (a thaw); always after a pre-hook"),
    valued("on-failure", "CMD", "run /bin/sh -c CMD once at the end of a run that fails, its summary in CINDER_SNAPSHOTS_* variables"),
    valued("hook-timeout", "DURATION", "kill a hook's process group after this long; also the longest between a pre- and its post-hook")
        .default("5min"),
    flag("snapshot-on-pre-hook-failure", "snapshot a volume even when its pre-hook failed (default: skip it)"),
    METRICS_FILE,
];

const CHECK_OPTIONS: &[Opt] = &[
    CONFIG,
    TARGET,
    SELECT,
    SELECT_VOLUME,
    SELECT_ALL,
    ALL_PROJECTS,
    valued("policy", "ID", "the policy whose snapshots count (required)"),
    valued("warn", "DURATION", "WARNING when a volume's newest available snapshot is older (26h, 1d2h, 90min; required)"),
    valued("crit", "DURATION", "CRITICAL when it is older than this (26h, 90min; required; at least --warn)"),
    RULES[0],
    RULES[1],
    RULES[2],
    RULES[3],
    RULES[4],
    RULES[5],
    RULES[6],
    RULES[7],
    RULES[8],
    RULES[9],
    RULES[10],
    RULES[11],
    RULES[12],
    RULES[13],
    valued("timeout", "DURATION", "one deadline for the whole check, every request included; then UNKNOWN").default("50s"),
    flag(
        "warn-uncovered",
        "WARNING for a volume of the project that the selection does not cover and that is not excluded (metadata cinder-snapshots.exclude=true)",
    ),
    METRICS_FILE,
];

const REPORT_OPTIONS: &[Opt] = &[
    SELECT,
    SELECT_VOLUME,
    SELECT_ALL,
    ALL_PROJECTS,
    valued("policy", "ID", "the policy whose snapshots count (required)"),
    RULES[0],
    RULES[1],
    RULES[2],
    RULES[3],
    RULES[4],
    RULES[5],
    RULES[6],
    RULES[7],
    valued("timeout", "DURATION", "one deadline for the listings, every request included").default("50s"),
];

const PRUNE_OPTIONS: &[Opt] = &[
    CONFIG,
    TARGET,
    valued("policy", "ID", "the policy id: its label's value (required; letters, digits, -_:. and space)"),
    RULES[0],
    RULES[1],
    RULES[2],
    RULES[3],
    RULES[4],
    RULES[5],
    RULES[6],
    RULES[7],
    RULES[8],
    RULES[9],
    RULES[10],
    RULES[11],
    RULES[12],
    RULES[13],
    repeated("volume", "VOLUME", "only the snapshots of this volume, by id or name (repeatable)").default("every volume"),
    flag("all-projects", "the snapshots of every project (Cinder's admin view, role admin by default; refused without it)"),
    flag("dry-run", "only show what would be deleted and why; delete nothing"),
    valued("concurrency", "N", "delete this many snapshots at a time (1 to 64)").default("4"),
    valued(
        "wait-timeout",
        "DURATION",
        "one deadline for the whole prune: deletes not done by then fail, timed out (30s, 5min, 2h, or bare seconds)",
    )
    .default("30min"),
    LOCK_FILE,
];

/// Every command.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "list",
        synopsis: "list [OPTIONS]",
        summary: "list snapshots",
        about: "Lists snapshots with every field (the detail view), following the pages as it prints.\n\
                Table columns: ID, Name, Description, Status, Size; --long adds Created At, Volume,\n\
                Properties. With --json: an array of snapshot objects.",
        options: &[
            flag("long", "also show Created At, Volume and Properties"),
            flag("all-projects", "the snapshots of every project (admin)"),
            valued("project", "ID", "only this project's snapshots (admin; implies --all-projects)"),
            valued("name", "NAME", "only snapshots with exactly this name"),
            valued("status", "STATUS", "only snapshots in this status (available, error, creating, ...)")
                .choices(Choices::Words(SNAPSHOT_STATUSES)),
            valued("volume", "VOLUME", "only snapshots of this volume (an id, or a name matching exactly one volume)"),
            repeated("property", "KEY=VALUE", "only snapshots with this metadata item (repeatable; microversion 3.22+)"),
            valued("limit", "N", "print at most N snapshots (sent as the page size; further pages only when the server caps it lower)")
                .default("all"),
            valued("marker", "ID", "start after this snapshot"),
            valued("sort", "KEY[:DIR],...", "sort, e.g. created_at:asc or name:desc,id (name needs 3.30+)")
                .default("the server's: created_at:desc"),
        ],
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::SNAPSHOT_COLUMNS,
        json_columns: true,
        default_columns: 5,
        examples: &[
            "cinder-snapshots list --long --status available",
            "cinder-snapshots list --volume db-data -f value -c id",
            "cinder-snapshots list --property backup=nightly -f csv -c ID -c \"Created At\"",
        ],
        also: "",
    },
    Spec {
        name: "show",
        synopsis: "show SNAPSHOT",
        summary: "show one snapshot",
        about: "Shows one snapshot as a Field/Value table; with --json, one snapshot object.",
        options: &[],
        positionals: (1, 1),
        args: Choices::Any,
        columns: output::SNAPSHOT_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots show nightly-2026-11-28", "cinder-snapshots show SNAPSHOT_ID -f value -c status"],
        also: "",
    },
    Spec {
        name: "create",
        synopsis: "create --volume VOLUME [OPTIONS] [NAME]",
        summary: "snapshot a volume",
        about: "Snapshots a volume and prints the new snapshot (status creating, or available after\n\
                --wait); with --json, one snapshot object. A wait that ends in error exits 4.",
        options: &[
            valued("volume", "VOLUME", "the volume to snapshot: an id, or a name matching exactly one volume (required)"),
            valued("description", "TEXT", "the description"),
            flag("force", "snapshot the volume even when it is attached (needed below 3.66)"),
            repeated("property", "KEY=VALUE", "a metadata item (repeatable)"),
            WAIT,
            WAIT_TIMEOUT,
        ],
        positionals: (0, 1),
        args: Choices::Any,
        columns: output::SNAPSHOT_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots create --volume db-data --property owner=ops --wait nightly",
            "id=$(cinder-snapshots create --volume db-data -f value -c id)",
        ],
        also: "",
    },
    Spec {
        name: "update",
        synopsis: "update SNAPSHOT [--name NAME] [--description TEXT]",
        summary: "rename a snapshot or change its description",
        about: "Changes the name, the description or both, and prints the snapshot; with --json, one\n\
                snapshot object. An empty value clears the field.",
        options: &[valued("name", "NAME", "the new name"), valued("description", "TEXT", "the new description")],
        positionals: (1, 1),
        args: Choices::Any,
        columns: output::SNAPSHOT_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots update nightly --name nightly-old --description \"\""],
        also: "set SNAPSHOT --name NAME --description TEXT (the openstack command's; prints nothing)",
    },
    Spec {
        name: "set-metadata",
        synopsis: "set-metadata SNAPSHOT KEY=VALUE...",
        summary: "add or change metadata items, keeping the others",
        about: "Adds or changes the given metadata items; the other items are kept. Prints all the\n\
                snapshot's metadata afterwards (a Key/Value table; with --json, one object).",
        options: &[],
        positionals: (2, usize::MAX),
        args: Choices::Any,
        columns: output::METADATA_COLUMNS,
        json_columns: false,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots set-metadata nightly owner=ops tier=gold"],
        also: "set SNAPSHOT --property KEY=VALUE... (the openstack command's; prints nothing)",
    },
    Spec {
        name: "unset-metadata",
        synopsis: "unset-metadata SNAPSHOT KEY...",
        summary: "remove metadata items",
        about: "Removes the given metadata items, one request each. A key that is not set is an\n\
                error (exit 1); the other keys are still removed. Prints nothing.",
        options: &[],
        positionals: (2, usize::MAX),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots unset-metadata nightly owner tier"],
        also: "unset SNAPSHOT --property KEY... (the openstack command's)",
    },
    Spec {
        name: "pin",
        synopsis: "pin SNAPSHOT [--note TEXT]",
        summary: "protect a snapshot from every retention policy (restic's --keep-tag)",
        about: "Sets the metadata item cinder-snapshots.pin=TEXT on the snapshot, keeping the other\n\
                items. A pinned snapshot is never deleted by prune or run, whatever its status; the\n\
                plan shows it with the reason \"pinned\". It still takes its places in the rules and\n\
                still counts against the snapshot quota. Pinning again replaces the note. Prints nothing.",
        options: &[valued("note", "TEXT", "why it is pinned (at most 255 characters)").default("pinned")],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots pin nightly-2026-12-01 --note \"before the upgrade\""],
        also: "set-metadata SNAPSHOT cinder-snapshots.pin=TEXT",
    },
    Spec {
        name: "unpin",
        synopsis: "unpin SNAPSHOT",
        summary: "remove a snapshot's pin",
        about: "Removes the metadata item cinder-snapshots.pin, if the snapshot has it (a snapshot that\n\
                is not pinned is left as it is, and that is a success). The policy decides about the\n\
                snapshot again at its next prune. Prints nothing.",
        options: &[],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots unpin nightly-2026-12-01"],
        also: "unset-metadata SNAPSHOT cinder-snapshots.pin",
    },
    Spec {
        name: "set",
        synopsis: "set SNAPSHOT [--name NAME] [--description TEXT] [--property KEY=VALUE]... [--state STATUS]",
        summary: "openstack's spelling of update, set-metadata and reset-status",
        about: "The `openstack volume snapshot set` command: changes the name and the description (as\n\
                update), adds or changes metadata items keeping the others (as set-metadata), and sets\n\
                the status without any check (as reset-status, admin only), in this order, each only\n\
                when asked. Prints nothing. At least one option is needed.",
        options: &[
            valued("name", "NAME", "the new name (empty: clear it)"),
            valued("description", "TEXT", "the new description (empty: clear it)"),
            repeated("property", "KEY=VALUE", "a metadata item to add or change (repeatable)"),
            valued("state", "STATUS", "the new status (admin)").choices(Choices::Words(SNAPSHOT_STATUSES)),
        ],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &[
            "cinder-snapshots set nightly --property owner=ops --property tier=gold",
            "cinder-snapshots set SNAPSHOT_ID --state error",
        ],
        also: "update, set-metadata, reset-status (ours; update and set-metadata print the result)",
    },
    Spec {
        name: "unset",
        synopsis: "unset SNAPSHOT --property KEY...",
        summary: "openstack's spelling of unset-metadata",
        about: "The `openstack volume snapshot unset` command: removes the metadata items named by\n\
                --property, one request each. A key that is not set is an error (exit 1); the other\n\
                keys are still removed. Prints nothing.",
        options: &[repeated("property", "KEY", "a metadata key to remove (repeatable; required)")],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots unset nightly --property owner --property tier"],
        also: "unset-metadata SNAPSHOT KEY... (ours)",
    },
    Spec {
        name: "delete",
        synopsis: "delete SNAPSHOT... [--force] [--wait [--wait-timeout DURATION]]",
        summary: "delete snapshots",
        about: "Deletes the snapshots (each must be available or error; with --force any status, admin\n\
                only). Every one is tried; the exit code is the first failure's. With --wait, waits\n\
                until they are gone: exit 4 when a delete fails (error_deleting) or is refused (back to\n\
                available). Prints nothing.",
        options: &[flag("force", "delete whatever the status (os-force_delete, admin only): the same as force-delete"), WAIT, WAIT_TIMEOUT],
        positionals: (1, usize::MAX),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots delete nightly-1 nightly-2 --wait", "cinder-snapshots delete --force SNAPSHOT_ID"],
        also: "force-delete SNAPSHOT... (ours, for delete --force)",
    },
    Spec {
        name: "force-delete",
        synopsis: "force-delete SNAPSHOT...",
        summary: "delete snapshots whatever their status (admin)",
        about: "Deletes the snapshots whatever their status (os-force_delete, admin only). Every one\n\
                is tried; the exit code is the first failure's. Prints nothing.",
        options: &[],
        positionals: (1, usize::MAX),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots force-delete SNAPSHOT_ID"],
        also: "delete --force SNAPSHOT... (the openstack command's)",
    },
    Spec {
        name: "reset-status",
        synopsis: "reset-status SNAPSHOT --state STATUS",
        summary: "set a snapshot's status without any check (admin)",
        about: "Sets the snapshot's status in Cinder's database, with no check (os-reset_status,\n\
                admin only). STATUS: available, error, creating, deleting, deleted, error_deleting,\n\
                unmanaging, backing-up, restoring, updating. Prints nothing.",
        options: &[valued("state", "STATUS", "the new status (required)").choices(Choices::Words(SNAPSHOT_STATUSES))],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots reset-status SNAPSHOT_ID --state available"],
        also: "set SNAPSHOT --state STATUS (the openstack command's)",
    },
    Spec {
        name: "wait",
        synopsis: "wait SNAPSHOT [--status STATUS|deleted] [--timeout DURATION]",
        summary: "wait until a snapshot reaches a status, or is gone",
        about: "Waits until the snapshot reaches STATUS (default available) and prints it (with --json,\n\
                one snapshot object), or until it is gone (--status deleted; prints nothing). Progress\n\
                goes to stderr. Exit 3 when the time runs out, 4 when the snapshot reaches error\n\
                (error_deleting when waiting for deleted), goes back to available while being deleted,\n\
                or disappears while waiting for a status.",
        options: &[
            valued("status", "STATUS", "the status to wait for, or `deleted`")
                .default("available")
                .choices(Choices::Words(SNAPSHOT_STATUSES)),
            valued("timeout", "DURATION", "give up after this long: 30s, 5min, 2h, or bare seconds").default("30min"),
        ],
        positionals: (1, 1),
        args: Choices::Any,
        columns: output::SNAPSHOT_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots wait nightly --timeout 600", "cinder-snapshots wait SNAPSHOT_ID --status deleted"],
        also: "",
    },
    Spec {
        name: "prune",
        synopsis: "prune --policy ID --keep-... N [OPTIONS]",
        summary: "delete the snapshots a retention policy no longer keeps",
        about: "Applies a retention policy: lists the snapshots that carry the policy's label\n\
                (metadata cinder-snapshots.policy=ID, as written for snapshots made for it) to the last\n\
                page, decides for each one to keep or delete it and why (restic's forget rules, OR-ed:\n\
                the newest snapshot of each of the last N hours, days, ISO weeks, months or years that\n\
                have one, or unlimited; the last N; those within a duration of the newest snapshot before\n\
                now, and one a period within one; the newest is always kept), then deletes the others, a\n\
                few at a time, waiting until each is gone. Durations are restic's: 1y2m3d4h, m = months.\n\
                Snapshots without the label (made by hand, or by another policy) are never listed nor deleted;\n\
                snapshots not available or dated in the future are kept, except that owned snapshots in\n\
                error (they hold no data) and the older of two made for one window are deleted; pinned\n\
                ones (see pin) are always kept; a label format this version does not know is kept and\n\
                reported. Each volume is judged on its own.\n\
                \n\
                Prints a table: ID, Name, Volume, Created At (RFC 3339, UTC), Action (keep/delete),\n\
                Reasons (for a delete: what each rule says, such as \"not among the last 2\"), and\n\
                without --dry-run the Outcome (deleted, kept, failed: why), then a summary line.\n\
                With --json: {\"policy\", \"rules\", \"now\", \"dry_run\", \"counts\": {\"kept\",\n\
                \"deleted\", \"would_delete\", \"failed\", \"in_error\", \"duplicates\", \"unknown_format\"},\n\
                \"decisions\": [{\"id\", \"volume_id\", \"name\",\n\
                \"status\", \"created_at\", \"action\", \"reasons\", \"outcome\", \"error\"}]}.\n\
                A policy with no --keep-* rule is refused (exit 2). A listing error deletes nothing\n\
                (exit 1); a failed delete is reported and the others go on (exit 1). --wait-timeout\n\
                is one deadline for the whole prune: the deletes not done by then are reported failed\n\
                (timed out) and no further delete is sent. Another prune or run of the same policy\n\
                holding the job's lock: exit 5 at once (see run --help; --lock-file PATH).",
        options: PRUNE_OPTIONS,
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::PRUNE_COLUMNS,
        json_columns: false,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots prune --policy nightly --keep-daily 7 --keep-weekly 4 --dry-run",
            "cinder-snapshots prune --policy nightly --keep-last 3 --volume db-data",
        ],
        also: "",
    },
    Spec {
        name: "run",
        synopsis: "run (--select KEY=VALUE... | --volume VOLUME... | --all) --policy ID --keep-... N [OPTIONS]",
        summary: "snapshot the selected volumes once per window, wait, and prune (the scheduled job)",
        about: "The scheduled job: for every selected volume (listed to the last page), one snapshot\n\
                per window (--every): a snapshot of this policy already made for the current window\n\
                (creating or available) is reused, never duplicated, so a re-run, or a run after a\n\
                crash, finishes the work without a second snapshot. The new snapshots carry the\n\
                policy's labels, the window and the run id. They are waited for together (paged\n\
                listings of what is still creating); one that ends in error is deleted and\n\
                reported. Then each volume whose snapshot for this window is available is pruned\n\
                with the rules (as prune); never a volume whose snapshot failed.\n\
                \n\
                Quota: before the first create, the room of the caller's project (its quota set with\n\
                usage, else its limits; unreadable: as without) is compared with what the run needs\n\
                (a snapshot and its size per volume, project-wide and per volume type). When the\n\
                snapshots quota is short, the volumes that fit are snapshotted (the longest without\n\
                a snapshot first, then by id) and each other one is skipped with the numbers (needed,\n\
                left); --all-or-nothing creates nothing instead; --prune-first first deletes what the\n\
                rules would delete anyway (oldest first, only as many as needed, never the newest\n\
                available one, never for a volume whose last snapshot is not available). When only\n\
                the gigabytes quota is short, this is said and the creates are tried. Over quota at a\n\
                create (HTTP 413): no further creates, the volumes not done are reported as skipped.\n\
                With --all-projects the snapshots count against the caller's project's quota.\n\
                \n\
                Rate limits: a 429 (or Cinder's 413 overLimitFault) pauses every create and delete for\n\
                the time asked (Retry-After, X-RateLimit-Retry-After, X-Retry-After; at most\n\
                --max-pause); the refused create is sent again once the listing shows it made nothing,\n\
                up to 3 times and never past --deadline; then that volume fails and is not pruned.\n\
                \n\
                Progress goes to stderr: a redrawn line on a terminal (created, available, failed of\n\
                N), else one line per change. Then a table: Volume, Name, Action (created, reused,\n\
                would create, would reuse, skipped, failed), Snapshot, Status, Pruned, Error; and a\n\
                summary line. With --json: the report {\"run_id\", \"window\", \"window_start\",\n\
                \"dry_run\", \"timed_out\", \"over_quota\", \"no_volume_matched\", \"all_projects\",\n\
                \"clock_skew_s\" (Cinder's clock minus this host's beyond 5 min, else null), \"elapsed_s\",\n\
                \"polls\",\n\
                \"totals\": {\"volumes\", \"created\", \"reused\", \"available\", \"failed\", \"skipped\",\n\
                \"pruned\", \"prune_failed\", \"would_create\", \"would_reuse\"}, \"volumes\": [{\"volume_id\",\n\
                \"volume_name\", \"volume_status\", \"action\", \"snapshot_id\", \"snapshot_status\", \"error\",\n\
                \"pruned\", \"prune_errors\", \"prune_skipped\", \"zombies\", \"warnings\", \"quota\": [{\"key\",\n\
                \"needed\", \"room\"}], \"unresolved\", \"hooks\": [HOOK]}], \"prune\": the prune's report as prune --json prints\n\
                it, or null, \"quota\": {\"source\", \"needed\", \"room\", \"binding\", \"gigabytes_only\",\n\
                \"skipped\", \"pruned_first\", \"unreadable\"} or null, \"interrupted\", \"on_failure\": HOOK or\n\
                null}, where HOOK is {\"hook\" (pre, post, on_failure), \"exit_code\", \"signal\",\n\
                \"timed_out\", \"spawn_error\", \"output\" (its last 1 KiB), \"output_truncated\",\n\
                \"elapsed_s\", \"outcome\"}; times RFC 3339 UTC, durations in seconds.\n\
                \n\
                The window is chosen on Cinder's clock (the Date of its answers), not this host's;\n\
                a difference over 5 minutes is named on a last line (\"clock: ...\").\n\
                A selection that matches no volume is a failure (exit 1, \"no volume matched\" and the\n\
                selection on stderr) unless --allow-empty. A --volume that does not resolve (no such id,\n\
                no such name, a name several volumes have) is a failed row (\"unresolved\": {\"reason\":\n\
                \"not_found\"|\"ambiguous\"|\"lookup_failed\"}); the other volumes are done.\n\
                \n\
                Hooks: --pre-hook, --post-hook and --on-failure are the operator's own text, run as\n\
                /bin/sh -c CMD in a process group of their own; nothing from the cloud is put in the\n\
                command: the hook reads CINDER_SNAPSHOTS_HOOK (pre, post, on-failure), _POLICY,\n\
                _WINDOW, _RUN_ID, _VOLUME_ID, _VOLUME_NAME, and for the post-hook _SNAPSHOT_ID,\n\
                _SNAPSHOT_STATUS, _OUTCOME (available, error, hook_timeout, deadline, interrupted,\n\
                not_created, failed); the on-failure hook _OUTCOME (failed, timed_out, interrupted,\n\
                error), _SUMMARY, _VOLUMES, _CREATED, _REUSED, _FAILED, _SKIPPED, _ERROR. OS_*\n\
                secrets are not passed. The post-hook runs once that volume's snapshot leaves creating,\n\
                or --hook-timeout after its pre-hook, at the end of the wait, or on SIGTERM/SIGINT:\n\
                once a pre-hook ran, its post-hook runs on every path but SIGKILL. A failing pre-hook\n\
                skips its volume (--snapshot-on-pre-hook-failure: snapshot anyway); a failing\n\
                post-hook fails it (\"filesystem may still be frozen\"). The last 1 KiB of each hook's\n\
                output is in the JSON report (\"hooks\" per volume, \"on_failure\").\n\
                \n\
                SIGTERM/SIGINT: no further create, the wait ends, the post-hooks due run, nothing is\n\
                pruned, the report is printed, exit 1.\n\
                \n\
                Exit: 0 every volume done; 1 some volume failed, was skipped (over quota: with the\n\
                numbers) or did not resolve, no volume matched, --all-or-nothing found no room, a prune\n\
                failed, a listing failed, a hook failed, or SIGTERM/SIGINT stopped the run; 3 the wait timed out (what is still creating is reported; a\n\
                re-run reuses it); 2 usage; 5 another run of this job holds its lock (an exclusive flock\n\
                on --lock-file, by default under $XDG_STATE_HOME/cinder-snapshots/locks/, named by a\n\
                hash of the auth URL, the project and the policy; released by the kernel when a run\n\
                ends, even killed).\n\
                --metrics-file PATH also writes node_exporter's textfile format (whatever the outcome;\n\
                not on a dry run): cinder_snapshots_last_success_timestamp_seconds (kept per target\n\
                under $XDG_STATE_HOME/cinder-snapshots/metrics/, unchanged by a failed run), the last\n\
                run's time, success and counts, each volume's newest snapshot time, the quota's room.\n\
                A directory gets cinder-snapshots-<policy>-<target>.prom; a file that cannot be\n\
                written is exit 1.",
        options: RUN_OPTIONS,
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::RUN_COLUMNS,
        json_columns: false,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots run --select backup=nightly --policy nightly --keep-daily 7 --keep-weekly 4",
            "cinder-snapshots run --volume db-data --policy hourly --keep-hourly 24 --every 1h --dry-run",
            "cinder-snapshots run --all --policy nightly --keep-daily 7 --json > /var/log/snapshots.json",
        ],
        also: "",
    },
    Spec {
        name: "plan",
        synopsis: "plan --config FILE [--target NAME...]",
        summary: "the dry run of a whole job spec: what run --config would create and delete, and why",
        about: "The dry run of the estate a job spec describes: for every target (each authenticated\n\
                in its own project) and each policy applied to each selection, the volumes, what run\n\
                would create or reuse, and what its prune would delete and why (the retention plan's\n\
                reasons). Nothing is created or deleted; no lock is taken.\n\
                \n\
                With --json: {\"targets\": [{\"name\", \"cloud\", \"region\", \"project\", \"exit_code\",\n\
                \"error\", \"jobs\": [{\"policy\", \"selection\", <run's report>}]}],\n\
                \"exit_code\"}.\n\
                \n\
                Exit: 0 every target planned; 1 a target failed (authentication, endpoint, listing) or\n\
                a volume chose an unknown policy; 2 usage or a mistake in the spec (file:line: key:\n\
                message), or two targets on the same project and endpoint with a common policy.",
        options: &[CONFIG, TARGET],
        positionals: (0, 0),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots plan --config estate.yaml", "cinder-snapshots plan --config estate.yaml --target web --json"],
        also: "",
    },
    Spec {
        name: "check",
        synopsis: "check (--select KEY=VALUE... | --volume VOLUME... | --all) --policy ID --warn DURATION --crit DURATION [--keep-* N]",
        summary: "a monitoring check: the age of each volume's newest snapshot (Nagios)",
        about: "For each selected volume, the age of its newest available snapshot made for the\n\
                policy (on Cinder's clock), against --warn and --crit; a volume without one is\n\
                CRITICAL. A snapshot dated more than 5 minutes in the future does not count. Also\n\
                WARNING: owned snapshots in error or error_deleting, two owned snapshots of a volume\n\
                in one window, more owned snapshots than the --keep-* rules (as run has them) keep\n\
                plus one, snapshots dated in the future, Cinder's clock more than 5 minutes from\n\
                this host's, owned snapshots of volumes the selection does not cover, and with\n\
                --warn-uncovered a volume nobody selects and not excluded.\n\
                Prints, as monitoring plugins do, a first line of at most 80 characters (state,\n\
                counts, up to three volume names) with performance data after its one '|', then one\n\
                line per volume in CRITICAL or WARNING (with its age and why) and per other problem:\n\
                CINDER-SNAPSHOTS CRITICAL - 3 volumes, 1 critical: db-2 | age=266400s;93600;180000;0 ...\n\
                CRITICAL db-2: no snapshot, volume created 3d2h ago\n\
                Performance data: age (s, the oldest newest snapshot, or since creation without one;\n\
                --warn and --crit as thresholds), volumes, ok, warning, critical, snapshots, size (B),\n\
                errors, duplicates, excess, future, unselected, uncovered (U unless --warn-uncovered),\n\
                skew (s, U when unknown). Names from the cloud are escaped (\\u{7c} for '|').\n\
                Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN: no volume selected, a wrong command line,\n\
                a configuration or permission error, any error reaching the cloud, or --timeout\n\
                (default 50s) reached (the error is in the line).\n\
                --metrics-file PATH also writes each volume's newest snapshot time and the quota's\n\
                room in node_exporter's textfile format (never the last success; a directory gets\n\
                cinder-snapshots-check-<policy>-<target>.prom); a file that cannot be written is\n\
                UNKNOWN unless CRITICAL.\n\
                -f value and -f csv print one row per volume instead (Age in seconds); --json the\n\
                report: {\"policy\", \"status\", \"code\", \"status_line\", \"details\", \"now\", \"warn_s\",\n\
                \"crit_s\", \"keep_limit\", \"clock_offset_s\", \"unselected\", \"uncovered\", \"volumes\":\n\
                [{\"volume_id\", \"volume_name\", \"volume_created\", \"newest\", \"snapshot_id\", \"age_s\",\n\
                \"judged_age_s\", \"owned\", \"owned_gib\", \"excess\", \"errors\", \"error_gib\",\n\
                \"duplicates\", \"duplicate_gib\", \"future\", \"status\"}]}.",
        options: CHECK_OPTIONS,
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::CHECK_COLUMNS,
        json_columns: false,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots check --select backup=nightly --policy nightly --warn 26h --crit 50h",
            "cinder-snapshots check --all --policy nightly --keep-daily 7 --keep-weekly 4 --warn 26h --crit 50h --warn-uncovered --timeout 30s",
        ],
        also: "",
    },
    Spec {
        name: "report",
        synopsis: "report (--select KEY=VALUE... | --volume VOLUME... | --all) --policy ID --keep-... N [OPTIONS]",
        summary: "what a policy holds per volume, and whether its steady state fits the quota",
        about: "For each selected volume: the snapshots the policy owns (any status but deleting),\n\
                their GiB, those in error, the newest available one and its age (on Cinder's clock),\n\
                read with the same listings as check. Then, for the project's snapshots and\n\
                gigabytes quotas: whether the policy's steady state fits. The steady state holds per\n\
                volume the most the --keep-* rules keep plus one (this window's snapshot exists before\n\
                the prune removes the oldest) plus its pinned snapshots, times the volume's size for\n\
                the gigabytes; what the policy's snapshots of these volumes hold already counts as\n\
                theirs, the rest must fit the room left (quota set with usage, else the limits).\n\
                Unknown (no answer, or --keep-within* or an unlimited count, which have no bound) is\n\
                said as such, never as a fit.\n\
                The table is followed by one line per quota; -f value and -f csv print the rows only\n\
                (Age in seconds); --json: {\"policy\", \"project\", \"now\", \"steady_count\", \"snapshots\",\n\
                \"gib\", \"fits\", \"volumes\": [{\"volume_id\", \"volume_name\", \"volume_size\", \"snapshots\",\n\
                \"pinned\", \"gib\", \"errors\", \"newest\", \"age_s\"}], \"quota\": [{\"key\", \"needed\",\n\
                \"held\", \"room\": {\"kind\", \"left\"}, \"fits\"}], \"quota_unreadable\"}; -f yaml the same.\n\
                Exit 0 when every quota is known to fit, 1 when one does not or cannot be judged, or\n\
                a listing failed.",
        options: REPORT_OPTIONS,
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::REPORT_COLUMNS,
        json_columns: false,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots report --select backup=nightly --policy nightly --keep-daily 7 --keep-weekly 4",
            "cinder-snapshots report --all --policy nightly --keep-daily 7 -f csv > snapshots.csv",
        ],
        also: "",
    },
    Spec {
        name: "volume list",
        synopsis: "volume list [OPTIONS]",
        summary: "list volumes",
        about: "Lists volumes with every field (the detail view), following the pages as it prints.\n\
                Table columns: ID, Name, Status, Size, Attached to; --long adds Type, Bootable,\n\
                Properties. With --json: an array of volume objects.",
        options: &[
            flag("long", "also show Type, Bootable and Properties"),
            flag("all-projects", "the volumes of every project (admin)"),
            valued("project", "ID", "only this project's volumes (admin; implies --all-projects)"),
            valued("name", "NAME", "only volumes with exactly this name"),
            valued("status", "STATUS", "only volumes in this status (available, in-use, error, ...)")
                .choices(Choices::Words(VOLUME_STATUSES)),
            repeated("property", "KEY=VALUE", "only volumes with this metadata item (repeatable)"),
            valued("limit", "N", "print at most N volumes (sent as the page size)").default("all"),
            valued("marker", "ID", "start after this volume"),
            valued("sort", "KEY[:DIR],...", "sort, e.g. name:asc or size:desc,created_at").default("the server's: created_at:desc"),
        ],
        positionals: (0, 0),
        args: Choices::Any,
        columns: output::VOLUME_COLUMNS,
        json_columns: true,
        default_columns: 5,
        examples: &["cinder-snapshots volume list --property backup=nightly", "cinder-snapshots volume list -f value -c id -c name"],
        also: "",
    },
    Spec {
        name: "volume show",
        synopsis: "volume show VOLUME",
        summary: "show one volume",
        about: "Shows one volume as a Field/Value table; with --json, one volume object.",
        options: &[],
        positionals: (1, 1),
        args: Choices::Any,
        columns: output::VOLUME_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots volume show db-data -f value -c status"],
        also: "",
    },
    Spec {
        name: "volume set",
        synopsis: "volume set VOLUME --property KEY=VALUE...",
        summary: "add or change a volume's metadata items (enrol it in a job)",
        about: "Adds or changes the volume's metadata items given by --property and keeps the others\n\
                (one request: POST /volumes/ID/metadata). This is how a volume is enrolled in a job\n\
                that selects by tag (run --select backup=nightly). Prints nothing. The same as\n\
                `openstack volume set VOLUME --property KEY=VALUE`.",
        options: &[repeated("property", "KEY=VALUE", "a metadata item to add or change (repeatable; required)")],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots volume set db-data --property backup=nightly"],
        also: "",
    },
    Spec {
        name: "volume unset",
        synopsis: "volume unset VOLUME --property KEY...",
        summary: "remove a volume's metadata items",
        about: "Removes the volume's metadata items named by --property, one request each\n\
                (DELETE /volumes/ID/metadata/KEY). A key that is not set is an error (exit 1); the\n\
                other keys are still removed. Prints nothing. The same as\n\
                `openstack volume unset VOLUME --property KEY`.",
        options: &[repeated("property", "KEY", "a metadata key to remove (repeatable; required)")],
        positionals: (1, 1),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots volume unset db-data --property backup"],
        also: "",
    },
    Spec {
        name: "restore",
        synopsis: "restore (SNAPSHOT | --volume VOLUME --latest [--policy ID]) [--name NAME] [--size GB] [--wait [--wait-timeout DURATION]]",
        summary: "create a new volume from a snapshot",
        about: "Creates a new volume from the snapshot (its size is the snapshot's unless --size asks for\n\
                more) and prints it (status creating, or available after --wait); with --json, one\n\
                volume object. A wait that ends in error exits 4.\n\
                \n\
                --volume VOLUME --latest, instead of SNAPSHOT: the volume's newest available snapshot\n\
                made by a policy (one carrying the cinder-snapshots.policy label; with --policy ID,\n\
                that policy's only). Snapshots made by hand or by other tools, and snapshots not\n\
                available (creating, error), are never chosen; every page of the volume's snapshots\n\
                is read first. None: exit 1, nothing created.",
        options: &[
            valued("volume", "VOLUME", "with --latest: the volume whose snapshot to restore"),
            flag("latest", "restore the newest available snapshot of --volume made by a policy"),
            valued("policy", "ID", "with --latest: only this policy's snapshots").default("any policy's"),
            valued("name", "NAME", "the new volume's name"),
            valued("size", "GB", "the new volume's size in GiB (at least the snapshot's)").default("the snapshot's"),
            WAIT,
            WAIT_TIMEOUT,
        ],
        positionals: (0, 1),
        args: Choices::Any,
        columns: output::VOLUME_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &[
            "cinder-snapshots restore nightly-20261128T0000Z-3f2a9c1d --name db-data-restored --wait",
            "cinder-snapshots restore --volume db-data --latest --policy nightly --name db-data-restored --wait",
        ],
        also: "",
    },
    Spec {
        name: "revert",
        synopsis: "revert VOLUME (--snapshot SNAPSHOT | --latest) [--wait [--wait-timeout DURATION]]",
        summary: "revert a volume in place to its latest snapshot",
        about: "Reverts the volume, in place, to the snapshot: what was written since is lost. Cinder\n\
                allows only the volume's latest snapshot, with the volume available (not attached), and\n\
                needs microversion 3.40 (refused before any request below it, exit 2). Prints nothing;\n\
                with --wait, waits until the volume is available again and prints it (with --json, one\n\
                volume object); a revert that ends in error exits 4.\n\
                \n\
                --latest picks what Cinder calls the latest: the volume's newest snapshot by creation\n\
                time, of any status and made by anyone. Unless it is available, nothing is sent and the\n\
                exit code is 1 (Cinder would mark the volume reverting before checking the snapshot and\n\
                leave it stuck); so too when two snapshots share the newest creation time. Cinder's\n\
                refusals (not the latest, the volume attached or extended) are explained, with what to\n\
                do instead (exit 1).",
        options: &[
            valued("snapshot", "SNAPSHOT", "the snapshot to revert to (or --latest)"),
            flag("latest", "revert to the volume's latest snapshot, only if it is available"),
            WAIT,
            WAIT_TIMEOUT,
        ],
        positionals: (1, 1),
        args: Choices::Any,
        columns: output::VOLUME_FIELDS,
        json_columns: true,
        default_columns: usize::MAX,
        examples: &["cinder-snapshots revert db-data --latest --wait", "cinder-snapshots revert db-data --snapshot SNAPSHOT_ID --wait"],
        also: "",
    },
    Spec {
        name: "completions",
        synopsis: "completions bash|zsh|fish",
        summary: "print a shell completion script",
        about: "Prints the completion script of this tool for the shell: commands, options, formats,\n\
                statuses and column names, made from the same table as the parser and this help.",
        options: &[],
        positionals: (1, 1),
        args: Choices::Words(SHELLS),
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &[
            "cinder-snapshots completions bash > ~/.local/share/bash-completion/completions/cinder-snapshots",
            "cinder-snapshots completions zsh > ~/.zfunc/_cinder-snapshots   # with fpath+=(~/.zfunc) before compinit",
            "cinder-snapshots completions fish > ~/.config/fish/completions/cinder-snapshots.fish",
        ],
        also: "",
    },
    Spec {
        name: "help",
        synopsis: "help [COMMAND]",
        summary: "the help of a command (the same as COMMAND --help)",
        about: "Prints the help of the command (two words for volume list; one word of a group\n\
                such as volume: its commands), or without one the whole help.",
        options: &[],
        positionals: (0, 2),
        args: Choices::Any,
        columns: &[],
        json_columns: false,
        default_columns: 0,
        examples: &["cinder-snapshots help run", "cinder-snapshots help volume list"],
        also: "",
    },
];

/// The first words of two-word commands (`volume`), each once.
pub fn groups() -> impl Iterator<Item = &'static str> {
    SPECS.iter().enumerate().filter_map(|(i, s)| {
        let (first, _) = s.name.split_once(' ')?;
        let earlier = SPECS[..i].iter().any(|e| e.name.split_once(' ').is_some_and(|(f, _)| f == first));
        (!earlier).then_some(first)
    })
}

/// `cinder-snapshots volume --help`: the commands of a group.
pub fn group_help(group: &str) -> String {
    let members: Vec<&Spec> = SPECS.iter().filter(|s| s.name.split_once(' ').is_some_and(|(first, _)| first == group)).collect();
    let width = members.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let lines: Vec<String> = members.iter().map(|s| format!("  {:<width$}  {}", s.name, s.summary)).collect();
    format!(
        "Usage: cinder-snapshots [GLOBAL OPTIONS] {group} COMMAND [ARGS]\n\nCommands:\n{}\n\n\
         One command's options: cinder-snapshots {group} COMMAND --help\n\
         Global options, output formats and exit codes: cinder-snapshots --help\n",
        lines.join("\n")
    )
}

/// The command named `name` (`volume list`: both words).
pub fn command(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Whether `word` is the first word of two-word commands (`volume`).
pub fn is_group(word: &str) -> bool {
    SPECS.iter().any(|s| s.name.split_once(' ').is_some_and(|(first, _)| first == word))
}

/// The commands' names, comma-separated.
pub fn command_names() -> String {
    SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// The whole help text (`cinder-snapshots --help`).
pub fn help() -> String {
    let width = SPECS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let commands: Vec<String> = SPECS.iter().map(|s| format!("  {:<width$}  {}", s.name, s.summary)).collect();
    format!(
        "cinder-snapshots {version}: OpenStack Block Storage (Cinder v3) volume snapshots from the shell

Usage: cinder-snapshots [GLOBAL OPTIONS] COMMAND [ARGS]
       cinder-snapshots COMMAND --help   (or: cinder-snapshots help COMMAND)

Commands:
{commands}

SNAPSHOT is a snapshot id, or its name when it is not shaped like an id (the name must match
exactly one snapshot). VOLUME (and --volume) is a volume id, used as it is, or else a volume
name, looked up by name: it must match exactly one volume (none or several: exit 1, the
matches listed).

The openstack command's spellings work too: set SNAPSHOT --property KEY=VALUE (set-metadata),
set --name/--description (update), set --state (reset-status), unset --property KEY
(unset-metadata), delete --force (force-delete).

Global options (before or after the command):
{globals}
Each --os-* option sets its OS_* variable (--os-auth-url: OS_AUTH_URL, --insecure:
OS_INSECURE), over the environment's: an openrc file, or OS_CLOUD for clouds.yaml.

The Keystone token is kept (mode 0600) in $XDG_CACHE_HOME/cinder-snapshots, else
~/.cache/cinder-snapshots, so that runs one after the other share one token. A directory
that others can write to, or that another user owns, is not used. The cache is keyed by
the auth URL, the user and the scope, never by the password: nothing is stored from which
the password could be guessed, so a run with a wrong OS_PASSWORD still succeeds with the
cached token until that token expires or is revoked (a password change in Keystone revokes
it at once). To check credentials now, use --no-token-cache. The unattended commands, run,
prune and check, do not use the cache unless --token-cache is given: they authenticate with
their credentials at every start, so that a wrong or revoked password fails the next run
(exit 1; check: UNKNOWN) instead of going unnoticed until a cached token expires.

Output formats (-f), as the openstack command has them:
  table  boxed tables for people (the default); timestamps in RFC 3339, UTC
  json   the fixed shapes below (--json is the same)
  value  the values only, separated by spaces, one row a line (show: one value a line)
  csv    a header line, then one line a row; text quoted (\"\" for a quote), numbers not
  yaml   the same data as json, in YAML: block style, every string double-quoted
  shell  one record (show, volume show, ...) as name=\"value\" lines for eval; --prefix PREFIX
         before each name; \\ \" $ ` escaped, so eval sets the text and runs nothing
-c COLUMN (repeatable) prints only these columns, in this order (in JSON and YAML too);
COMMAND --help lists them. --sort-column COLUMN (repeatable, the first given first) sorts
the rows of a listing, numbers as numbers, empty values last; --sort-descending reverses.
In value, csv and shell, control characters are shown escaped as in tables.
--os-compat (list, show, volume list, volume show, ...): JSON and YAML objects keyed as the
openstack command's -f json: the columns' headers (ID, Name, Description, Status, Size,
Created At, Volume, Properties for list --long), Properties an object; without it the keys
are this tool's fixed shape below, whatever -f json or --json.

JSON: list prints an array of snapshot objects; show,
create, update and wait print one snapshot object; set-metadata prints the metadata object;
prune prints its report (see cinder-snapshots prune --help); run and check print theirs
(see their --help); volume list prints an array of
volume objects; volume show, restore and revert --wait one.
A snapshot object has exactly the keys id, name, description, volume_id, status, size,
metadata (an object of strings), created_at, updated_at (RFC 3339 in UTC such as
\"2026-11-23T16:42:51.212740Z\", or null), progress (such as \"100%\"), project_id,
group_snapshot_id, user_id and consumes_quota; a value the server did not give is null.
A volume object has exactly the keys id, name, description, status, size, metadata,
availability_zone, bootable (a boolean), attached_to (an array of server ids), volume_type,
snapshot_id, created_at, updated_at, project_id, user_id and group_id.
With -c, the objects of list, show, create, update, wait and the volume commands keep only
those keys.
The other commands print nothing when they succeed. Errors go to stderr, as
\"cinder-snapshots: MESSAGE\" (a listing that fails midway keeps what it printed: with
--json an unclosed array). The progress of --wait and wait goes to stderr: a redrawn line
on a terminal, else one line per change of status or progress.

Exit codes:
  0  success
  1  the cloud or the network said no: an API error (not found, forbidden, bad request,
     over quota, ...), Keystone refusing the credentials, a connection failure or timeout,
     a bad configuration (a missing or invalid OS_* variable or clouds.yaml entry); prune:
     the listing failed (nothing was deleted) or some deletes failed (the others were done);
     run: some volume failed or was skipped; check: WARNING
  2  usage: an unknown option or command, a missing argument, an option that takes one
     value given twice (those marked repeatable take several), an invalid value (not a
     number, not KEY=VALUE, a name or metadata Cinder would refuse), a prune policy with
     no rule; check: CRITICAL
  3  a wait timed out (run: the snapshots were still creating at --wait-timeout); check:
     UNKNOWN (no volume selected, a wrong command line, a configuration or permission
     error, the cloud could not be reached, or its --timeout ran out)
  4  a wait ended in failure: the snapshot (or volume) reached error or error_deleting, its
     delete was refused (back to available), or it disappeared while waiting for a status
  5  run, prune: another run of the same job (cloud, project, policy) holds its lock: it
     exits at once, its pid and start time on stderr (--lock-file PATH; a dry run takes no
     lock)
",
        version = env!("CARGO_PKG_VERSION"),
        commands = commands.join("\n"),
        globals = option_lines(GLOBALS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_help_and_every_option_a_description() {
        for s in SPECS {
            let h = s.help();
            for o in s.options {
                assert!(h.contains(&format!("--{}", o.name)) && !o.help.is_empty(), "{}: --{}", s.name, o.name);
                if let Some(d) = o.default {
                    assert!(h.contains(&format!("(default: {d})")), "{}: --{}", s.name, o.name);
                }
            }
            assert!(help().contains(&format!("  {}", s.name)));
            assert!(!s.examples.is_empty(), "{} has an example", s.name);
            for e in s.examples {
                assert!(e.contains(&format!("cinder-snapshots {}", s.name)), "{}: {e}", s.name);
            }
            // No option of a command shadows a global one (the global would win).
            for o in s.options {
                assert!(global(o.name).is_none() && o.short.is_none_or(|c| global_short(c).is_none()), "{}: --{}", s.name, o.name);
            }
            assert!(s.default_columns == usize::MAX || s.default_columns <= s.columns.len(), "{}", s.name);
            // The help says "repeatable" exactly for the options the parser lets repeat.
            for o in s.options.iter().chain(GLOBALS) {
                assert_eq!(o.repeat, o.help.contains("repeatable"), "{}: --{}", s.name, o.name);
                assert!(!o.repeat || o.value.is_some(), "{}: --{}", s.name, o.name);
            }
        }
        let h = help();
        for o in GLOBALS {
            assert!(h.contains(&format!("  {}", o.left())), "--{}", o.name);
        }
    }
}
