//! The command line, read with lexopt into a [`Cli`]: the global options (the `openstack`
//! command's `--os-*` names, each standing for its `OS_*` variable), the command and its own
//! options. Anything wrong here is a [`Usage`] error (exit code 2).

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use lexopt::prelude::*;

/// A usage error: the message says what is wrong with the command line.
#[derive(Debug)]
pub struct Usage(pub String);

impl From<lexopt::Error> for Usage {
    fn from(e: lexopt::Error) -> Self {
        Usage(e.to_string())
    }
}

/// `--os-*` options and the `OS_*` variables they set.
const OS_OPTIONS: &[(&str, &str)] = &[
    ("os-cloud", "OS_CLOUD"),
    ("os-auth-url", "OS_AUTH_URL"),
    ("os-auth-type", "OS_AUTH_TYPE"),
    ("os-username", "OS_USERNAME"),
    ("os-user-id", "OS_USER_ID"),
    ("os-password", "OS_PASSWORD"),
    ("os-user-domain-name", "OS_USER_DOMAIN_NAME"),
    ("os-user-domain-id", "OS_USER_DOMAIN_ID"),
    ("os-project-name", "OS_PROJECT_NAME"),
    ("os-project-id", "OS_PROJECT_ID"),
    ("os-project-domain-name", "OS_PROJECT_DOMAIN_NAME"),
    ("os-project-domain-id", "OS_PROJECT_DOMAIN_ID"),
    ("os-token", "OS_TOKEN"),
    ("os-application-credential-id", "OS_APPLICATION_CREDENTIAL_ID"),
    ("os-application-credential-name", "OS_APPLICATION_CREDENTIAL_NAME"),
    ("os-application-credential-secret", "OS_APPLICATION_CREDENTIAL_SECRET"),
    ("os-region-name", "OS_REGION_NAME"),
    ("os-interface", "OS_INTERFACE"),
    ("os-cacert", "OS_CACERT"),
    ("os-volume-api-version", "OS_VOLUME_API_VERSION"),
];

/// One command's options: name, whether it takes a value.
struct Spec {
    name: &'static str,
    options: &'static [(&'static str, bool)],
    /// Least and most positional arguments.
    positionals: (usize, usize),
    usage: &'static str,
}

const WAIT_OPTS: [(&str, bool); 2] = [("wait", false), ("wait-timeout", true)];

const SPECS: &[Spec] = &[
    Spec {
        name: "list",
        options: &[
            ("long", false),
            ("all-projects", false),
            ("project", true),
            ("name", true),
            ("status", true),
            ("volume", true),
            ("property", true),
            ("limit", true),
            ("marker", true),
            ("sort", true),
        ],
        positionals: (0, 0),
        usage: "list [--long] [--all-projects] [--project ID] [--name NAME] [--status STATUS] [--volume ID]\n\
                \x20    [--property KEY=VALUE]... [--limit N] [--marker ID] [--sort KEY[:asc|desc][,...]]",
    },
    Spec { name: "show", options: &[], positionals: (1, 1), usage: "show SNAPSHOT" },
    Spec {
        name: "create",
        options: &[("volume", true), ("description", true), ("force", false), ("property", true), WAIT_OPTS[0], WAIT_OPTS[1]],
        positionals: (0, 1),
        usage: "create --volume VOLUME [--description TEXT] [--force] [--property KEY=VALUE]... [--wait] [--wait-timeout SECONDS] [NAME]",
    },
    Spec {
        name: "update",
        options: &[("name", true), ("description", true)],
        positionals: (1, 1),
        usage: "update SNAPSHOT [--name NAME] [--description TEXT]",
    },
    Spec { name: "set-metadata", options: &[], positionals: (2, usize::MAX), usage: "set-metadata SNAPSHOT KEY=VALUE..." },
    Spec { name: "unset-metadata", options: &[], positionals: (2, usize::MAX), usage: "unset-metadata SNAPSHOT KEY..." },
    Spec {
        name: "delete",
        options: &[WAIT_OPTS[0], WAIT_OPTS[1]],
        positionals: (1, usize::MAX),
        usage: "delete SNAPSHOT... [--wait] [--wait-timeout SECONDS]",
    },
    Spec { name: "force-delete", options: &[], positionals: (1, usize::MAX), usage: "force-delete SNAPSHOT..." },
    Spec { name: "reset-status", options: &[("state", true)], positionals: (1, 1), usage: "reset-status SNAPSHOT --state STATUS" },
    Spec {
        name: "wait",
        options: &[("status", true), ("timeout", true)],
        positionals: (1, 1),
        usage: "wait SNAPSHOT [--status STATUS|deleted] [--timeout SECONDS]",
    },
];

/// The whole help text.
pub fn help() -> String {
    let commands: Vec<String> = SPECS.iter().map(|s| format!("  {}", s.usage)).collect();
    format!(
        "cinder-snapshots {version}: OpenStack Cinder volume snapshots from the command line

Usage: cinder-snapshots [GLOBAL OPTIONS] COMMAND [ARGS]

Commands:
{commands}

SNAPSHOT is an id, or a name when no snapshot has that id (show, update, set-metadata,
unset-metadata, delete, force-delete, reset-status, wait). `set-metadata` merges the given
keys into the metadata; `unset-metadata` removes keys.

Global options (anywhere on the line):
  --os-cloud NAME            a cloud of clouds.yaml (OS_CLOUD)
  --os-auth-url URL, --os-auth-type TYPE, --os-username NAME, --os-user-id ID,
  --os-password PASSWORD, --os-user-domain-name NAME, --os-user-domain-id ID,
  --os-project-name NAME, --os-project-id ID, --os-project-domain-name NAME,
  --os-project-domain-id ID, --os-token TOKEN, --os-application-credential-id ID,
  --os-application-credential-name NAME, --os-application-credential-secret SECRET,
  --os-region-name NAME, --os-interface public|internal|admin, --os-cacert FILE,
  --os-volume-api-version 3|3.N
                             each sets its OS_* variable, over the environment
  --insecure                 do not verify TLS certificates (OS_INSECURE)
  --json                     machine output (below) instead of tables
  --debug                    one line per HTTP request on stderr (never a secret)
  --no-token-cache           do not keep the token in the user cache directory
  -h, --help                 this text (`COMMAND --help` for one command)
  --version                  the version

The token is cached (mode 0600) in $XDG_CACHE_HOME/cinder-snapshots or
~/.cache/cinder-snapshots, so consecutive runs share one Keystone token.

--json: list prints an array, show/create/update/wait print one object, each with the keys
id, name, description, volume_id, status, size, metadata, created_at, updated_at (RFC 3339
UTC or null), progress, project_id, group_snapshot_id, user_id, consumes_quota (null when the
server did not say). set-metadata prints the resulting metadata object. Other commands print
nothing on success.

Progress of --wait and wait goes to stderr: one redrawn line on a terminal, else a line per
change.

Exit codes:
  0  success
  1  the cloud or the network said no (API error such as not found or forbidden, Keystone
     refusing the credentials, connection failure, bad configuration)
  2  usage: a bad option, argument or value
  3  a wait timed out
  4  a wait ended because the snapshot failed (error, error_deleting) or its delete was
     refused
",
        version = env!("CARGO_PKG_VERSION"),
        commands = commands.join("\n"),
    )
}

/// What the command line asks for.
#[derive(Debug)]
pub struct Cli {
    /// `OS_*` variables set by `--os-*` options and `--insecure`.
    pub vars: Vec<(String, String)>,
    pub json: bool,
    pub debug: bool,
    pub token_cache: bool,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    Help(String),
    Version,
    Run(Command),
}

/// A command and its arguments, checked.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub args: Vec<String>,
    options: HashMap<&'static str, Vec<String>>,
}

impl Command {
    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    /// The last value of an option.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// All values of a repeatable option.
    pub fn values(&self, name: &str) -> &[String] {
        self.options.get(name).map_or(&[], Vec::as_slice)
    }

    /// A number of seconds.
    pub fn seconds(&self, name: &str) -> Result<Option<Duration>, Usage> {
        self.value(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| Usage(format!("--{name} {v:?} is not a number of seconds")))
            })
            .transpose()
    }

    /// A whole number.
    pub fn number(&self, name: &str) -> Result<Option<u32>, Usage> {
        self.value(name).map(|v| v.parse::<u32>().map_err(|_| Usage(format!("--{name} {v:?} is not a whole number")))).transpose()
    }
}

/// `KEY=VALUE` pairs.
pub fn pairs(items: &[String], what: &str) -> Result<Vec<(String, String)>, Usage> {
    items
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(Usage(format!("{what} {p:?} is not KEY=VALUE"))),
        })
        .collect()
}

/// Reads the command line (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, Usage> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut cli = Cli { vars: Vec::new(), json: false, debug: false, token_cache: true, action: Action::Version };
    let mut spec: Option<&Spec> = None;
    let mut positionals = Vec::new();
    let mut options: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut wants_help = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => cli.json = true,
            Long("debug") => cli.debug = true,
            Long("no-token-cache") => cli.token_cache = false,
            Long("insecure") => cli.vars.push(("OS_INSECURE".into(), "true".into())),
            Long("help") | Short('h') => wants_help = true,
            Long("version") if spec.is_none() => {
                cli.action = Action::Version;
                return Ok(cli);
            }
            Long(name) if OS_OPTIONS.iter().any(|(o, _)| *o == name) => {
                let var = OS_OPTIONS.iter().find(|(o, _)| *o == name).map_or("", |(_, v)| *v);
                let value = parser.value()?.string()?;
                cli.vars.push((var.to_owned(), value));
            }
            Long(name) => {
                let Some(s) = spec else {
                    return Err(Usage(format!("unknown option --{name} (before the command)")));
                };
                let Some((option, takes_value)) = s.options.iter().find(|(o, _)| *o == name).copied() else {
                    return Err(Usage(format!("{} has no option --{name}; usage: cinder-snapshots {}", s.name, s.usage)));
                };
                let value = if takes_value { parser.value()?.string()? } else { String::new() };
                options.entry(option).or_default().push(value);
            }
            Value(value) => {
                let value = value.string()?;
                match spec {
                    None => {
                        spec = Some(
                            SPECS
                                .iter()
                                .find(|s| s.name == value)
                                .ok_or_else(|| Usage(format!("unknown command {value:?}; the commands are {}", command_names())))?,
                        );
                    }
                    Some(_) => positionals.push(value),
                }
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(spec) = spec else {
        cli.action = Action::Help(help());
        return if wants_help { Ok(cli) } else { Err(Usage(format!("no command given; the commands are {}", command_names()))) };
    };
    if wants_help {
        cli.action = Action::Help(format!("Usage: cinder-snapshots [GLOBAL OPTIONS] {}\n", spec.usage));
        return Ok(cli);
    }
    let (least, most) = spec.positionals;
    if positionals.len() < least || positionals.len() > most {
        return Err(Usage(format!("wrong number of arguments; usage: cinder-snapshots {}", spec.usage)));
    }
    cli.action = Action::Run(Command { name: spec.name, args: positionals, options });
    Ok(cli)
}

fn command_names() -> String {
    SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Cli, Usage> {
        parse(line.split_whitespace().map(OsString::from))
    }

    #[test]
    fn globals_anywhere_and_command_options() {
        let cli = parse_str("--os-cloud c list --long --json --property a=b --property c=d --os-region-name R").unwrap();
        assert!(cli.json);
        assert_eq!(cli.vars, vec![("OS_CLOUD".into(), "c".into()), ("OS_REGION_NAME".into(), "R".into())]);
        let Action::Run(cmd) = cli.action else { panic!("a command") };
        assert_eq!(cmd.name, "list");
        assert!(cmd.flag("long"));
        assert_eq!(cmd.values("property"), ["a=b", "c=d"]);
    }

    #[test]
    fn usage_errors() {
        for (line, want) in [
            ("", "no command given"),
            ("frobnicate", "unknown command \"frobnicate\""),
            ("list --bogus", "list has no option --bogus"),
            ("--bogus list", "unknown option --bogus"),
            ("show", "wrong number of arguments"),
            ("show a b", "wrong number of arguments"),
            ("create --volume", "missing argument"),
        ] {
            match parse_str(line) {
                Err(Usage(m)) => assert!(m.contains(want), "{line}: {m}"),
                Ok(cli) => panic!("{line}: parsed {cli:?}"),
            }
        }
        let Action::Run(cmd) = parse_str("wait x --timeout soon").unwrap().action else { panic!() };
        assert!(cmd.seconds("timeout").is_err());
        assert!(pairs(&["novalue".to_owned()], "--property").is_err());
        assert_eq!(pairs(&["k=v=w".to_owned()], "--property").unwrap(), vec![("k".to_owned(), "v=w".to_owned())]);
    }
}
