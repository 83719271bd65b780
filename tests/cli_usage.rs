//! The tool's formats and usage (issue 23, items 5 and 6) against the fake cloud: `-f yaml`
//! (read back by a real YAML parser), `-f shell` (read back by a real shell), `-f json`
//! unchanged, `-c` in the order given, `--sort-column`, `--os-compat`, "did you mean", `help
//! COMMAND`, a group's `--help`, no progress line on a dry run, and `--log-timestamps`. Each
//! run gets a clean environment: `PATH`, a private `HOME` and `XDG_CACHE_HOME`, and the
//! fake's `OS_*` variables.
#![cfg(all(feature = "cli", feature = "testing", feature = "clouds-yaml"))]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use cinder_snapshots::snapshots::{self, CreateOpts};
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cinder-snapshots");

/// Text a cloud may hold that YAML, a shell or a terminal could take for something else.
const HOSTILE: &[&str] = &[
    "a: b # not a comment",
    "\"quoted\" and 'single'",
    "two\nlines",
    "- dash",
    "yes",
    "null",
    "~",
    "123",
    "0x1F",
    "1e3",
    "{}",
    "[a, b]",
    "*alias &anchor !tag",
    "%YAML ---",
    "...",
    "@ ` | >",
    " leading and trailing ",
    "tab\there",
    "esc\u{1b}[2J bell\u{7} del\u{7f} nel\u{85} ls\u{2028} rlo\u{202e} bom\u{feff}",
    "back\\slash \\n",
    "$(touch PWNED) `touch PWNED` ${HOME}",
    "ünïcödé 雪 🦀",
    "",
];

/// A fake cloud and a private home for the tool's runs.
struct Env {
    cloud: FakeCloud,
    home: PathBuf,
}

impl Env {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let home = std::env::temp_dir().join(format!(
            "cinder-snapshots-cli-usage-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("temp home");
        let cloud = FakeCloud::start();
        cloud.set_snapshot_creating_reads(0);
        Env { cloud, home }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(&self.home)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .envs(self.cloud.os_vars());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run the tool")
    }

    /// Runs and expects exit 0 and nothing on stderr; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
        stdout(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }

    /// Runs and expects a usage error: `code`, nothing on stdout (but `check`'s UNKNOWN
    /// line), this stderr, and no request.
    fn usage(&self, args: &[&str], code: i32, want: &str) {
        self.cloud.clear_requests();
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), want, "{args:?}");
        if code == 2 {
            assert_eq!(stdout(&out), "", "{args:?}");
        }
        assert!(self.cloud.requests().is_empty(), "{args:?} sent a request");
    }

    /// A volume of `size` GiB and a snapshot of it.
    fn snapshot(&self, volume: &str, size: u64, opts: impl FnOnce(CreateOpts) -> CreateOpts) -> String {
        let volume_id = self.cloud.add_volume_with(&VolumeSpec::new(volume).size(size));
        snapshots::create(&self.cloud.client(), &opts(CreateOpts::new(&volume_id))).expect("create").id
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn yaml(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

/// Snapshots whose name, description and metadata are the hostile texts.
fn hostile(env: &Env) -> Vec<String> {
    HOSTILE
        .iter()
        .enumerate()
        .map(|(i, text)| {
            // Cinder refuses an unprintable description (so does the crate): names and
            // metadata values carry those.
            let printable = !text.chars().any(|c| c.is_control() || ('\u{2028}'..='\u{202e}').contains(&c) || c == '\u{feff}');
            env.snapshot(&format!("vol-{i}"), 1, |o| {
                let o = o.name(*text).metadata("k", *text).metadata("yes", *text).metadata("a:b c", "v");
                if printable { o.description(format!("d {text}")) } else { o }
            })
        })
        .collect()
}

#[test]
fn yaml_is_the_json_shape_and_every_value_reads_back_exactly() {
    let env = Env::new("yaml");
    let ids = hostile(&env);
    // A listing: the same data as -f json, every hostile text read back as it is.
    let json = env.json(&["list", "--long", "-f", "json"]);
    let text = env.ok(&["list", "--long", "-f", "yaml"]);
    assert_eq!(yaml(&text), json);
    assert_eq!(json.as_array().map(Vec::len), Some(HOSTILE.len()));
    for snapshot in json.as_array().unwrap() {
        let name = snapshot["name"].as_str().unwrap();
        assert!(HOSTILE.contains(&name), "{name:?}");
        assert_eq!(snapshot["metadata"], json!({"k": name, "yes": name, "a:b c": "v"}));
    }
    // One line per key: no text of the cloud breaks a line or drives the terminal.
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
    assert_eq!(text.lines().count(), HOSTILE.len() * 17, "{text}");
    // One snapshot, a volume, and the same with -c (in the order given).
    for id in &ids {
        assert_eq!(yaml(&env.ok(&["show", id, "-f", "yaml"])), env.json(&["show", id, "-f", "json"]));
        let picked = env.ok(&["show", id, "-f", "yaml", "-c", "properties", "-c", "name"]);
        assert_eq!(yaml(&picked), env.json(&["show", id, "-f", "json", "-c", "properties", "-c", "name"]));
        assert!(picked.starts_with("metadata:\n"), "{picked}");
    }
    let volume = env.cloud.volumes()[0].id.clone();
    assert_eq!(yaml(&env.ok(&["volume", "show", &volume, "-f", "yaml"])), env.json(&["volume", "show", &volume, "--json"]));
    assert_eq!(yaml(&env.ok(&["volume", "list", "-f", "yaml"])), env.json(&["volume", "list", "--json"]));
    // The exact text of a small record, and of an empty listing.
    let id = env.snapshot("plain", 3, |o| o.name("plain").metadata("b", "2").metadata("a", "1"));
    assert_eq!(
        env.ok(&["show", &id, "-f", "yaml", "-c", "size", "-c", "name", "-c", "properties", "-c", "id"]),
        format!("size: 3\nname: \"plain\"\nmetadata:\n  a: \"1\"\n  b: \"2\"\nid: \"{id}\"\n")
    );
    assert_eq!(env.ok(&["list", "-f", "yaml", "--name", "nothing-has-this-name"]), "[]\n");
    assert_eq!(env.ok(&["list", "-f", "yaml", "--name", "plain", "-c", "ID", "-c", "size"]), format!("- id: \"{id}\"\n  size: 3\n"));
}

#[test]
fn json_stays_the_fixed_shape_and_c_keeps_the_order_given() {
    let env = Env::new("json");
    let id = env.snapshot("db", 2, |o| o.name("nightly").metadata("backup", "nightly"));
    // -f json and --json print the same bytes, with every key of the fixed shape.
    let json = env.ok(&["list", "--long", "-f", "json"]);
    assert_eq!(json, env.ok(&["list", "--json"]));
    let keys: Vec<String> = serde_json::from_str::<Value>(&json).unwrap()[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "consumes_quota",
            "created_at",
            "description",
            "group_snapshot_id",
            "id",
            "metadata",
            "name",
            "progress",
            "project_id",
            "size",
            "status",
            "updated_at",
            "user_id",
            "volume_id"
        ]
    );
    // -c: the keys in the order given, both spellings (header or key).
    let created = serde_json::from_str::<Value>(&json).unwrap()[0]["created_at"].as_str().unwrap().to_owned();
    assert_eq!(
        env.ok(&["list", "-f", "json", "-c", "Created At", "-c", "ID"]),
        format!("[\n{{\"created_at\":\"{created}\",\"id\":\"{id}\"}}\n]\n")
    );
    assert_eq!(env.ok(&["show", &id, "--json", "-c", "size", "-c", "id"]), format!("{{\"size\":2,\"id\":\"{id}\"}}\n"));
    // The rows of a table too.
    assert_eq!(env.ok(&["list", "-f", "value", "-c", "size", "-c", "created_at", "-c", "id"]), format!("2 {created} {id}\n"));
}

#[test]
fn os_compat_keys_are_the_openstack_commands() {
    let env = Env::new("compat");
    let id = env.snapshot("db", 2, |o| o.name("nightly").description("d").metadata("backup", "nightly"));
    let volume = env.cloud.volumes()[0].id.clone();
    let listed = env.json(&["list", "--long", "-f", "json", "--os-compat"]);
    let created = listed[0]["Created At"].as_str().unwrap().to_owned();
    assert_eq!(
        env.ok(&["list", "--long", "-f", "json", "--os-compat"]),
        format!(
            "[\n{{\"ID\":\"{id}\",\"Name\":\"nightly\",\"Description\":\"d\",\"Status\":\"available\",\"Size\":2,\
             \"Created At\":\"{created}\",\"Volume\":\"{volume}\",\"Properties\":{{\"backup\":\"nightly\"}}}}\n]\n"
        )
    );
    // Without --long the five columns; -c in the order given, either spelling.
    assert_eq!(
        env.ok(&["list", "-f", "json", "--os-compat", "-c", "created_at", "-c", "ID"]),
        format!("[\n{{\"Created At\":\"{created}\",\"ID\":\"{id}\"}}\n]\n")
    );
    // YAML with the same keys.
    assert_eq!(yaml(&env.ok(&["list", "--long", "-f", "yaml", "--os-compat"])), listed);
    // One snapshot: the fields' names, Properties an object.
    let shown = env.json(&["show", &id, "-f", "json", "--os-compat"]);
    assert_eq!(shown["properties"], json!({"backup": "nightly"}));
    assert_eq!((shown["size"].clone(), shown["volume_id"].clone()), (json!(2), json!(volume)));
    let volumes = env.ok(&["volume", "list", "--long", "-f", "json", "--os-compat"]);
    assert_eq!(
        keys_in_order(&volumes),
        ["ID", "Name", "Status", "Size", "Attached to", "Type", "Bootable", "Properties"],
        "in the columns' order: {volumes}"
    );
    assert_eq!(keys_in_order(&env.ok(&["list", "-f", "json", "--os-compat"])), ["ID", "Name", "Description", "Status", "Size"]);
    // Only on the commands that mirror the openstack command's; check's usage is UNKNOWN.
    env.usage(
        &["prune", "--policy", "p", "--keep-last", "1", "--os-compat"],
        2,
        "cinder-snapshots: --os-compat: the openstack command has no prune (it prints this tool's shape only)\n\
         Try 'cinder-snapshots prune --help'.\n",
    );
    env.usage(
        &["check", "--all", "--policy", "p", "--warn", "1h", "--crit", "2h", "--os-compat"],
        3,
        "cinder-snapshots: --os-compat: the openstack command has no check (it prints this tool's shape only)\n\
         Try 'cinder-snapshots check --help'.\n",
    );
}

/// The keys of the first object of a JSON listing, in the order printed (no nested object).
fn keys_in_order(text: &str) -> Vec<String> {
    let line = text.lines().nth(1).unwrap_or_default();
    let mut keys = Vec::new();
    let mut rest = line.trim_start_matches('{');
    while let Some((key, after)) = rest.strip_prefix('"').and_then(|r| r.split_once("\":")) {
        keys.push(key.to_owned());
        // Past the value, to the comma before the next key.
        let mut values = serde_json::Deserializer::from_str(after).into_iter::<Value>();
        assert!(values.next().is_some_and(|v| v.is_ok()), "{line}");
        let len = values.byte_offset();
        rest = after.get(len..).unwrap_or_default().trim_start_matches(',');
    }
    keys
}

#[test]
fn shell_prints_one_record_that_eval_reads_back_without_running_anything() {
    let env = Env::new("shell");
    let text = "$(touch PWNED) `touch PWNED` ${HOME} \"q\" back\\slash\nline";
    let id = env.snapshot("db", 2, |o| o.name(text).metadata("k", "v"));
    let out = env.ok(&["show", &id, "-f", "shell", "--prefix", "snap_", "-c", "name", "-c", "size", "-c", "properties"]);
    assert_eq!(
        out,
        "snap_name=\"\\$(touch PWNED) \\`touch PWNED\\` \\${HOME} \\\"q\\\" back\\\\slash\\\\u{a}line\"\nsnap_size=\"2\"\n\
         snap_properties=\"k='v'\"\n"
    );
    // A real shell sets the variables to the text (control characters escaped, as in
    // tables) and runs nothing.
    let script = format!("{out}printf '%s|%s|%s' \"$snap_name\" \"$snap_size\" \"$snap_properties\"");
    let sh = Command::new("sh").arg("-c").arg(&script).current_dir(&env.home).output().expect("sh");
    assert!(sh.status.success(), "{}", stderr(&sh));
    assert_eq!(stdout(&sh), "$(touch PWNED) `touch PWNED` ${HOME} \"q\" back\\slash\\u{a}line|2|k='v'");
    assert!(!env.home.join("PWNED").exists());
    // Every field without -c, names as the openstack command writes them.
    let volume = env.cloud.volumes()[0].id.clone();
    let all = env.ok(&["volume", "show", &volume, "-f", "shell"]);
    let names: Vec<&str> = all.lines().filter_map(|l| l.split_once('=').map(|(n, _)| n)).collect();
    assert_eq!(
        names,
        [
            "attached_to",
            "availability_zone",
            "bootable",
            "created_at",
            "description",
            "group_id",
            "id",
            "name",
            "project_id",
            "properties",
            "size",
            "snapshot_id",
            "status",
            "type",
            "updated_at",
            "user_id"
        ]
    );
    // A listing is not one record; --prefix goes with -f shell, and is a name's start.
    env.usage(
        &["list", "-f", "shell"],
        2,
        "cinder-snapshots: -f shell prints one record (show, volume show, ...): list does not print one\n\
         Try 'cinder-snapshots list --help'.\n",
    );
    env.usage(&["show", &id, "--prefix", "x_"], 2, "cinder-snapshots: --prefix goes with -f shell\nTry 'cinder-snapshots show --help'.\n");
    env.usage(
        &["show", &id, "-f", "shell", "--prefix", "x;rm"],
        2,
        "cinder-snapshots: --prefix \"x;rm\" is not the start of a shell variable name (letters, digits and _)\n\
         Try 'cinder-snapshots show --help'.\n",
    );
}

#[test]
fn sort_column_orders_the_rows_as_the_openstack_command() {
    let env = Env::new("sort");
    for (volume, size, name) in [("v1", 3, "b"), ("v2", 1, "c"), ("v3", 3, "a"), ("v4", 2, "")] {
        env.snapshot(volume, size, |o| if name.is_empty() { o } else { o.name(name) });
    }
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list", "-f", "csv", "-c", "Name", "-c", "Size"];
        all.extend_from_slice(args);
        env.ok(&all).lines().skip(1).map(str::to_owned).collect()
    };
    // Numbers as numbers, then the second column; an empty name last.
    assert_eq!(names(&["--sort-column", "size", "--sort-column", "Name"]), ["\"c\",1", "\"\",2", "\"a\",3", "\"b\",3"]);
    assert_eq!(names(&["--sort-column", "Name"]), ["\"a\",3", "\"b\",3", "\"c\",1", "\"\",2"]);
    assert_eq!(names(&["--sort-column", "Name", "--sort-descending"]), ["\"\",2", "\"c\",1", "\"b\",3", "\"a\",3"]);
    // JSON and YAML listings too.
    let json = env.json(&["list", "--json", "--sort-column", "size", "--sort-column", "name", "-c", "name"]);
    assert_eq!(json, json!([{"name": "c"}, {"name": null}, {"name": "a"}, {"name": "b"}]));
    assert_eq!(yaml(&env.ok(&["list", "-f", "yaml", "--sort-column", "size", "--sort-column", "name", "-c", "name"])), json);
    env.usage(
        &["list", "--sort-column", "Sise"],
        2,
        "cinder-snapshots: list has no column \"Sise\" (did you mean Size?); its columns are ID, Name, Description, Status, Size, \
         Created At, Volume, Properties\nTry 'cinder-snapshots list --help'.\n",
    );
    env.usage(
        &["show", "x", "--sort-column", "id"],
        2,
        "cinder-snapshots: show prints no rows: --sort-column does not apply\nTry 'cinder-snapshots show --help'.\n",
    );
}

#[test]
fn did_you_mean_for_commands_options_and_columns() {
    let env = Env::new("mean");
    let commands = "list, show, create, update, set-metadata, unset-metadata, pin, unpin, set, unset, delete, force-delete, reset-status, wait, \
                    prune, run, plan, check, report, volume list, volume show, volume set, volume unset, restore, revert, completions, help";
    for (args, code, want) in [
        (
            &["lsit"][..],
            2,
            format!("unknown command \"lsit\" (did you mean list?); the commands are {commands}\nTry 'cinder-snapshots --help'."),
        ),
        (
            &["volume", "lst"][..],
            2,
            format!(
                "unknown command \"volume lst\" (did you mean volume list?); the commands are {commands}\nTry 'cinder-snapshots --help'."
            ),
        ),
        (
            &["volum", "list"][..],
            2,
            format!("unknown command \"volum\" (did you mean volume?); the commands are {commands}\nTry 'cinder-snapshots --help'."),
        ),
        (&["frobnicate"][..], 2, format!("unknown command \"frobnicate\"; the commands are {commands}\nTry 'cinder-snapshots --help'.")),
        (
            &["list", "--lmit", "3"][..],
            2,
            "list has no option --lmit (did you mean --limit?)\nTry 'cinder-snapshots list --help'.".to_owned(),
        ),
        (&["list", "--jsno"][..], 2, "list has no option --jsno (did you mean --json?)\nTry 'cinder-snapshots list --help'.".to_owned()),
        (
            &["--os-clud", "x", "list"][..],
            2,
            "unknown option --os-clud (did you mean --os-cloud?)\nTry 'cinder-snapshots --help'.".to_owned(),
        ),
        (&["list", "--bogus"][..], 2, "list has no option --bogus\nTry 'cinder-snapshots list --help'.".to_owned()),
        (
            &["list", "-c", "Nmae"][..],
            2,
            "list has no column \"Nmae\" (did you mean Name?); its columns are ID, Name, Description, Status, Size, Created At, Volume, \
             Properties\nTry 'cinder-snapshots list --help'."
                .to_owned(),
        ),
        (
            &["run", "--all", "--policy", "p", "--keep-daly", "7"][..],
            2,
            "run has no option --keep-daly (did you mean --keep-daily?)\nTry 'cinder-snapshots run --help'.".to_owned(),
        ),
        (
            &["help", "lsit"][..],
            2,
            format!(
                "help: unknown command \"lsit\" (did you mean list?); the commands are {commands}\nTry 'cinder-snapshots help --help'."
            ),
        ),
        // A monitoring check's usage error stays UNKNOWN (3).
        (
            &["check", "--all", "--policy", "p", "--wran", "1h", "--crit", "2h"][..],
            3,
            "check has no option --wran (did you mean --warn?)\nTry 'cinder-snapshots check --help'.".to_owned(),
        ),
    ] {
        env.usage(args, code, &format!("cinder-snapshots: {want}\n"));
    }
    let out = env.run(&["check", "--all", "--policy", "p", "--wran", "1h", "--crit", "2h"]);
    assert_eq!(stdout(&out), "CINDER-SNAPSHOTS UNKNOWN - check has no option --wran (did you mean --warn?)\n");
}

#[test]
fn help_command_and_every_group_and_command_has_its_own_help() {
    let env = Env::new("help");
    let global = env.ok(&["--help"]);
    assert_eq!(env.ok(&["help"]), global);
    assert!(global.contains("cinder-snapshots COMMAND --help   (or: cinder-snapshots help COMMAND)"));
    // Every command: help COMMAND is COMMAND --help, and is not the global help.
    let names = [
        "list",
        "show",
        "create",
        "update",
        "set-metadata",
        "unset-metadata",
        "set",
        "unset",
        "delete",
        "force-delete",
        "reset-status",
        "wait",
        "prune",
        "run",
        "check",
        "volume list",
        "volume show",
        "restore",
        "revert",
        "completions",
        "help",
    ];
    for name in names {
        let words: Vec<&str> = name.split(' ').collect();
        let mut asked = words.clone();
        asked.push("--help");
        let own = env.ok(&asked);
        assert!(own.starts_with(&format!("Usage: cinder-snapshots [GLOBAL OPTIONS] {name}")), "{name}: {own}");
        let mut via = vec!["help"];
        via.extend(&words);
        assert_eq!(env.ok(&via), own, "help {name}");
    }
    // A group (the first word of two-word commands): its own help, its commands.
    let group = "Usage: cinder-snapshots [GLOBAL OPTIONS] volume COMMAND [ARGS]\n\nCommands:\n  volume list   list volumes\n  \
                 volume show   show one volume\n  volume set    add or change a volume's metadata items (enrol it in a job)\n  \
                 volume unset  remove a volume's metadata items\n\nOne command's options: cinder-snapshots volume COMMAND --help\n\
                 Global options, output formats and exit codes: cinder-snapshots --help\n";
    assert_eq!(env.ok(&["volume", "--help"]), group);
    assert_eq!(env.ok(&["volume", "-h"]), group);
    assert_eq!(env.ok(&["help", "volume"]), group);
    // The formats and sort options are in the help of the commands they apply to.
    let list = env.ok(&["list", "--help"]);
    assert!(list.contains("Output: -f table|json|value|csv|yaml (default table; --json is -f json)"), "{list}");
    assert!(list.contains("--os-compat: JSON and YAML keyed as the openstack command's -f json."), "{list}");
    assert!(list.contains("--sort-column COLUMN (repeatable) sorts the rows"), "{list}");
    assert!(env.ok(&["show", "--help"]).contains("Output: -f table|json|value|csv|yaml|shell"));
    assert!(env.cloud.requests().is_empty());
}

#[test]
fn a_dry_run_prints_no_progress_line() {
    let env = Env::new("dry");
    env.cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    let out = env.run(&["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--dry-run", "-f", "value"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let volume = env.cloud.volumes()[0].id.clone();
    assert_eq!(stdout(&out), format!("{volume} db would create   0 \n"));
    let out = env.run(&["prune", "--policy", "nightly", "--keep-daily", "7", "--dry-run"]);
    assert_eq!((out.status.code(), stderr(&out)), (Some(0), String::new()));
    // The real run shows its progress (stderr is not a terminal here: plain lines).
    let out = env.run(&["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "-f", "value"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("1 created, 0 reused, 0 available, 0 failed of 1; 1 pending ("), "{}", stderr(&out));
}

/// The line's time, which must be RFC 3339 UTC (`Z`) and between `from` and `to`.
fn stamped(line: &str, from: time::OffsetDateTime, to: time::OffsetDateTime) -> String {
    let (at, rest) = line.split_once(' ').unwrap_or_else(|| panic!("no time: {line:?}"));
    assert!(at.ends_with('Z'), "{line:?}");
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert!(from <= t && t <= to, "{line:?} not between {from} and {to}");
    rest.to_owned()
}

#[test]
fn log_timestamps_begin_every_line_on_stderr() {
    let env = Env::new("stamps");
    env.cloud.add_volume_with(&VolumeSpec::new("db").metadata("backup", "nightly"));
    let from = time::OffsetDateTime::now_utc();
    let out = env.run(&[
        "--log-timestamps",
        "run",
        "--select",
        "backup=nightly",
        "--policy",
        "nightly",
        "--keep-daily",
        "7",
        "--debug",
        "-f",
        "value",
    ]);
    let to = time::OffsetDateTime::now_utc();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<String> = stderr(&out).lines().map(|l| stamped(l, from, to)).collect();
    assert!(lines.iter().any(|l| l.starts_with("debug: POST ")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("1 created, 0 reused, 0 available, 0 failed of 1; 1 pending (")), "{lines:?}");
    // stdout is the output, unstamped.
    assert!(!stdout(&out).is_empty() && stdout(&out).split(' ').next().is_some_and(|w| w.len() == 36), "{}", stdout(&out));
    // An error, each of its lines.
    let from = time::OffsetDateTime::now_utc();
    let out = env.run(&["show", "no-such-snapshot", "--log-timestamps"]);
    let to = time::OffsetDateTime::now_utc();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = stderr(&out).lines().map(|l| stamped(l, from, to)).collect();
    assert!(lines[0].starts_with("cinder-snapshots: "), "{lines:?}");
    // Without the flag, no time.
    let out = env.run(&["show", "no-such-snapshot"]);
    assert!(stderr(&out).starts_with("cinder-snapshots: "), "{}", stderr(&out));
}
