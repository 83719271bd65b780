//! What the tool prints: boxed tables for people (the `openstack` command's look) and JSON
//! with a fixed shape for scripts.
//!
//! # The JSON shape
//!
//! A snapshot is one object with exactly these keys, whatever the server sent:
//!
//! | key | value |
//! |---|---|
//! | `id`, `volume_id`, `status` | strings |
//! | `name`, `description` | string or null |
//! | `size` | number (GiB) |
//! | `metadata` | object of strings (empty when none) |
//! | `created_at`, `updated_at` | RFC 3339 UTC string with microseconds (`"2026-11-23T16:42:51.212740Z"`) or null |
//! | `progress` | string such as `"100%"`, or null |
//! | `project_id`, `group_snapshot_id`, `user_id` | string or null |
//! | `consumes_quota` | boolean, or null when the server did not say |
//!
//! `list` prints an array of them, `show`/`create`/`update`/`wait` one, `set-metadata` the
//! metadata object. Keys come in alphabetical order, one snapshot per line in `list`.
//!
//! A volume (`volume list`, `volume show`, `restore`, `revert --wait`) is one object with
//! exactly these keys:
//!
//! | key | value |
//! |---|---|
//! | `id`, `status` | strings |
//! | `name`, `description`, `availability_zone`, `volume_type`, `snapshot_id` | string or null |
//! | `size` | number (GiB) |
//! | `bootable` | boolean |
//! | `metadata` | object of strings (empty when none) |
//! | `attached_to` | array of server ids (empty when not attached) |
//! | `created_at`, `updated_at` | RFC 3339 UTC string, or null |
//! | `project_id`, `user_id`, `group_id` | string or null |
//!
//! Text from the server is printed as it is, except control characters, which are shown
//! escaped (`\u{1b}`) in tables and progress lines so that a snapshot's name cannot drive the
//! terminal.

use std::collections::BTreeMap;

use std::time::Duration;

use cinder_snapshots::job::{CheckVolume, JobReport, PruneReport, Report, ReportVolume, SnapshotOutcome, VolumeAction, VolumeReport};
use cinder_snapshots::quotas::Room;
use cinder_snapshots::retention::format_duration;
use cinder_snapshots::snapshots::Snapshot;
use cinder_snapshots::volumes::Volume;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// RFC 3339 in UTC with microseconds, as Cinder stores them: `2026-11-23T16:42:51.212740Z`
/// (the crate's one writer; never panics).
pub fn timestamp(t: OffsetDateTime) -> String {
    cinder_snapshots::timestamp::format_utc(t)
}

/// An output format (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Boxed tables (the default).
    Table,
    /// The fixed JSON shapes (`--json`).
    Json,
    /// The values only: separated by spaces, one row a line.
    Value,
    /// A quoted header line, then one line a row, as the `openstack` command writes CSV.
    Csv,
    /// The JSON shapes written as YAML (block style, every string double-quoted).
    Yaml,
    /// One record as `name="value"` lines a POSIX shell can `eval` (the `openstack`
    /// command's `-f shell`, with `--prefix`).
    Shell,
}

impl Format {
    /// `table`, `json`, `value`, `csv`, `yaml` or `shell`.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "value" => Some(Format::Value),
            "csv" => Some(Format::Csv),
            "yaml" => Some(Format::Yaml),
            "shell" => Some(Format::Shell),
            _ => None,
        }
    }
}

/// A column a command can print: its header in tables and CSV, its key in the JSON objects,
/// and whether CSV writes it unquoted (a number).
#[derive(Debug, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub key: &'static str,
    pub numeric: bool,
}

impl Column {
    /// Whether `-c name` names this column: its header, its JSON key, or the header with `_`
    /// for spaces, in any case.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        name.eq_ignore_ascii_case(self.header)
            || name.eq_ignore_ascii_case(self.key)
            || name.eq_ignore_ascii_case(&self.header.replace(' ', "_"))
    }

    /// The name the completions offer: the header in lower case, `_` for spaces.
    pub fn word(&self) -> String {
        self.header.to_ascii_lowercase().replace(' ', "_")
    }
}

const fn col(header: &'static str, key: &'static str) -> Column {
    Column { header, key, numeric: false }
}

const fn num(header: &'static str, key: &'static str) -> Column {
    Column { header, key, numeric: true }
}

/// `list`'s columns (the first five without `--long`).
pub const SNAPSHOT_COLUMNS: &[Column] = &[
    col("ID", "id"),
    col("Name", "name"),
    col("Description", "description"),
    col("Status", "status"),
    num("Size", "size"),
    col("Created At", "created_at"),
    col("Volume", "volume_id"),
    col("Properties", "metadata"),
];

/// The fields of one snapshot (`show`, `create`, `update`, `wait`), alphabetical as the
/// `openstack` command shows them.
pub const SNAPSHOT_FIELDS: &[Column] = &[
    col("consumes_quota", "consumes_quota"),
    col("created_at", "created_at"),
    col("description", "description"),
    col("group_snapshot_id", "group_snapshot_id"),
    col("id", "id"),
    col("name", "name"),
    col("progress", "progress"),
    col("project_id", "project_id"),
    col("properties", "metadata"),
    num("size", "size"),
    col("status", "status"),
    col("updated_at", "updated_at"),
    col("user_id", "user_id"),
    col("volume_id", "volume_id"),
];

/// `volume list`'s columns (the first five without `--long`).
pub const VOLUME_COLUMNS: &[Column] = &[
    col("ID", "id"),
    col("Name", "name"),
    col("Status", "status"),
    num("Size", "size"),
    col("Attached to", "attached_to"),
    col("Type", "volume_type"),
    col("Bootable", "bootable"),
    col("Properties", "metadata"),
];

/// The fields of one volume (`volume show`, `restore`, `revert --wait`), alphabetical.
pub const VOLUME_FIELDS: &[Column] = &[
    col("attached_to", "attached_to"),
    col("availability_zone", "availability_zone"),
    col("bootable", "bootable"),
    col("created_at", "created_at"),
    col("description", "description"),
    col("group_id", "group_id"),
    col("id", "id"),
    col("name", "name"),
    col("project_id", "project_id"),
    col("properties", "metadata"),
    num("size", "size"),
    col("snapshot_id", "snapshot_id"),
    col("status", "status"),
    col("type", "volume_type"),
    col("updated_at", "updated_at"),
    col("user_id", "user_id"),
];

/// `set-metadata`'s columns.
pub const METADATA_COLUMNS: &[Column] = &[col("Key", "key"), col("Value", "value")];

/// `prune`'s columns (Outcome not in a dry run).
pub const PRUNE_COLUMNS: &[Column] = &[
    col("ID", "id"),
    col("Name", "name"),
    col("Volume", "volume_id"),
    col("Created At", "created_at"),
    col("Action", "action"),
    col("Reasons", "reasons"),
    col("Outcome", "outcome"),
];

/// `run`'s columns, one row a volume.
pub const RUN_COLUMNS: &[Column] = &[
    col("Volume", "volume_id"),
    col("Name", "volume_name"),
    col("Action", "action"),
    col("Snapshot", "snapshot_id"),
    col("Status", "snapshot_status"),
    num("Pruned", "pruned"),
    col("Error", "error"),
];

/// `check`'s columns, one row a volume (`-f value`, `-f csv`).
pub const CHECK_COLUMNS: &[Column] = &[
    col("Volume", "volume_id"),
    col("Name", "volume_name"),
    col("Newest", "newest"),
    col("Snapshot", "snapshot_id"),
    num("Age", "age_s"),
    col("Status", "status"),
];

/// `report`'s columns.
pub const REPORT_COLUMNS: &[Column] = &[
    col("Volume", "volume_id"),
    col("Name", "volume_name"),
    num("Size", "volume_size"),
    num("Snapshots", "snapshots"),
    num("GiB", "gib"),
    num("Errors", "errors"),
    col("Newest", "newest"),
    num("Age", "age_s"),
];

/// How to print: the format, the columns picked with `-c` (none: the command's own), the
/// rows' order (`--sort-column`, `--sort-descending`), the variables' prefix of `-f shell`
/// (`--prefix`) and the `openstack` command's keys (`--os-compat`).
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub columns: Vec<&'static Column>,
    pub sort: Vec<&'static Column>,
    pub descending: bool,
    pub prefix: String,
    pub compat: bool,
}

impl Output {
    /// The output as the table shows it, with nothing picked.
    #[cfg(test)]
    pub fn new(format: Format) -> Self {
        Output { format, columns: Vec::new(), sort: Vec::new(), descending: false, prefix: String::new(), compat: false }
    }

    /// Whether the output is a data format (JSON or YAML) rather than rows or a record.
    pub fn json(&self) -> bool {
        matches!(self.format, Format::Json | Format::Yaml)
    }

    /// The positions in `all` of the columns to print: those picked, in their order, else
    /// the first `default`.
    fn pick(&self, all: &[Column], default: usize) -> Vec<usize> {
        if self.columns.is_empty() {
            return (0..default.min(all.len())).collect();
        }
        self.columns.iter().filter_map(|c| all.iter().position(|a| a.header == c.header)).collect()
    }

    /// Rows holding a value for each column of `all`, in its order: a table, values or CSV
    /// of the picked columns (without `-c`: the first `default`).
    pub fn rows(&self, all: &[Column], default: usize, rows: &[Vec<String>]) -> String {
        debug_assert!(rows.iter().all(|r| r.len() == all.len()), "a row has a value for each column");
        let mut rows = rows.to_vec();
        self.sort_rows(all, &mut rows, |r| r.clone());
        let rows = &rows;
        let picked = self.pick(all, default);
        let cells = |row: &Vec<String>| -> Vec<String> { picked.iter().map(|&i| row.get(i).cloned().unwrap_or_default()).collect() };
        match self.format {
            // JSON, YAML and shell records are printed from the data, never as rows: a table.
            Format::Table | Format::Json | Format::Yaml | Format::Shell => {
                let headers: Vec<&str> = picked.iter().map(|&i| all[i].header).collect();
                table(&headers, &rows.iter().map(cells).collect::<Vec<_>>())
            }
            Format::Value => rows.iter().map(|r| value_line(&cells(r))).collect(),
            Format::Csv => {
                let header: Vec<String> = picked.iter().map(|&i| csv_field(all[i].header, false)).collect();
                let mut out = header.join(",") + "\n";
                for row in rows {
                    let fields: Vec<String> =
                        picked.iter().map(|&i| csv_field(row.get(i).map_or("", String::as_str), all[i].numeric)).collect();
                    out.push_str(&(fields.join(",") + "\n"));
                }
                out
            }
        }
    }

    /// One record, a value for each field of `all`: a Field/Value table, one value a line
    /// (`-f value`, as the `openstack` command prints one object), or a CSV header and row.
    pub fn record(&self, all: &[Column], values: &[String]) -> String {
        debug_assert_eq!(values.len(), all.len(), "a value for each field");
        let picked = self.pick(all, all.len());
        match self.format {
            Format::Shell => {
                picked.iter().map(|&i| shell_line(&self.prefix, all[i].header, values.get(i).map_or("", String::as_str))).collect()
            }
            Format::Table | Format::Json | Format::Yaml => {
                let rows: Vec<Vec<String>> =
                    picked.iter().map(|&i| vec![all[i].header.to_owned(), values.get(i).cloned().unwrap_or_default()]).collect();
                table(&["Field", "Value"], &rows)
            }
            Format::Value => picked.iter().map(|&i| printable(values.get(i).map_or("", String::as_str)) + "\n").collect(),
            Format::Csv => self.rows(all, all.len(), &[values.to_vec()]),
        }
    }

    /// The entries of one object of the command's JSON shape, as printed. Without `-c`: every
    /// key, in the shape's (alphabetical) order; with `-c`: the picked columns' keys in the
    /// order given. With `--os-compat`: the columns' headers as keys (`ID`, `Created At`,
    /// `Properties`, ...), as the `openstack` command's `-f json` has them: the picked
    /// columns, else the first `default` of `all`.
    pub fn entries(&self, all: &[Column], default: usize, value: Value) -> Vec<(String, Value)> {
        let Value::Object(mut map) = value else { return Vec::new() };
        if self.compat {
            return self
                .pick(all, default)
                .into_iter()
                .filter_map(|i| all.get(i))
                .map(|c| (c.header.to_owned(), map.get(c.key).cloned().unwrap_or(Value::Null)))
                .collect();
        }
        if self.columns.is_empty() {
            return map.into_iter().collect();
        }
        self.columns.iter().filter_map(|c| map.remove(c.key).map(|v| (c.key.to_owned(), v))).collect()
    }

    /// One object (see [`Output::entries`]) as printed: a JSON line, or a YAML document.
    pub fn object(&self, all: &[Column], default: usize, value: Value) -> String {
        let entries = self.entries(all, default, value);
        match self.format {
            Format::Yaml => yaml_entries(&entries),
            _ => json_object(&entries) + "\n",
        }
    }

    /// One item of a listing (see [`Output::entries`]): a JSON object without its line end,
    /// or a YAML sequence entry (`- key: ...`).
    pub fn item(&self, all: &[Column], default: usize, value: Value) -> String {
        let entries = self.entries(all, default, value);
        match self.format {
            Format::Yaml if entries.is_empty() => "- {}\n".to_owned(),
            Format::Yaml => {
                let mut out = "-".to_owned();
                yaml_mapping(&mut out, entries.iter().map(|(k, v)| (k.as_str(), v)), 2, true);
                out
            }
            _ => json_object(&entries),
        }
    }

    /// Sorts `items` by the `--sort-column` columns (the first given first), each compared as
    /// its column shows it (`row` gives a value for each of `all`): numbers as numbers, text
    /// as text, empty values last; `--sort-descending` reverses the order. Stable: items that
    /// compare equal keep the server's order.
    pub fn sort_rows<T>(&self, all: &[Column], items: &mut [T], row: impl Fn(&T) -> Vec<String>) {
        if self.sort.is_empty() {
            return;
        }
        let keys: Vec<(usize, bool)> =
            self.sort.iter().filter_map(|c| all.iter().position(|a| a.header == c.header).map(|i| (i, c.numeric))).collect();
        let key = |item: &T| -> Vec<SortKey> {
            let row = row(item);
            keys.iter()
                .map(|&(i, numeric)| match row.get(i).map(String::as_str) {
                    None | Some("") => SortKey::Empty,
                    Some(text) => match text.parse::<u64>() {
                        Ok(n) if numeric => SortKey::Number(n),
                        _ => SortKey::Text(text.to_owned()),
                    },
                })
                .collect()
        };
        if self.descending {
            items.sort_by_cached_key(|item| std::cmp::Reverse(key(item)));
        } else {
            items.sort_by_cached_key(key);
        }
    }
}

/// A sort key of one cell: numbers before text, an empty cell last.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(u64),
    Text(String),
    Empty,
}

/// A JSON object with these entries in this order (`{"a":1,"b":2}`, as `serde_json` writes
/// one).
fn json_object(entries: &[(String, Value)]) -> String {
    let fields: Vec<String> = entries.iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
    format!("{{{}}}", fields.join(","))
}

/// A YAML document holding `value` (the same data as its JSON): block style, every string
/// double-quoted with the escapes of JSON (so that no text of the cloud can read as another
/// type, a comment, a key or a second document), keys plain when they are made of lower-case
/// letters, digits and `_` (and are no word YAML 1.1 reads as a boolean or null), else quoted.
/// Control characters, U+2028/U+2029 and the bidirectional overrides are written as `\uXXXX`
/// escapes: the text reads back exactly, and every line of the output is one line.
pub fn yaml(value: &Value) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            yaml_mapping(&mut out, map.iter().map(|(k, v)| (k.as_str(), v)), 0, false);
            out.split_off(1)
        }
        Value::Array(items) if !items.is_empty() => {
            let mut out = String::new();
            yaml_sequence(&mut out, items, 0, false);
            out.split_off(1)
        }
        other => {
            let mut out = String::new();
            yaml_node(&mut out, other, 0, false);
            out.split_off(1)
        }
    }
}

/// A YAML document of these entries in this order (see [`yaml`]).
fn yaml_entries(entries: &[(String, Value)]) -> String {
    if entries.is_empty() {
        return "{}\n".to_owned();
    }
    let mut out = String::new();
    yaml_mapping(&mut out, entries.iter().map(|(k, v)| (k.as_str(), v)), 0, false);
    out.split_off(1)
}

/// Writes `value` after a `key:` or `-` already written on the current line, ending with a
/// line end; its entries or items indented by `indent`.
fn yaml_node(out: &mut String, value: &Value, indent: usize, after_dash: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => yaml_mapping(out, map.iter().map(|(k, v)| (k.as_str(), v)), indent, after_dash),
        Value::Array(items) if !items.is_empty() => yaml_sequence(out, items, indent, after_dash),
        Value::Object(_) => out.push_str(" {}\n"),
        Value::Array(_) => out.push_str(" []\n"),
        Value::Null => out.push_str(" null\n"),
        Value::Bool(b) => out.push_str(if *b { " true\n" } else { " false\n" }),
        Value::Number(n) => {
            let text = n.to_string();
            // YAML 1.1 readers take `1e21` for a string: a float keeps its point.
            let text = match text.split_once('e') {
                Some((mantissa, exponent)) if !mantissa.contains('.') => format!("{mantissa}.0e{exponent}"),
                _ => text,
            };
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        }
        Value::String(text) => {
            out.push(' ');
            out.push_str(&yaml_string(text));
            out.push('\n');
        }
    }
}

/// The entries of a mapping, one a line at `indent` (the first on the dash's line after `-`).
fn yaml_mapping<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, &'a Value)>, indent: usize, after_dash: bool) {
    for (i, (key, value)) in entries.enumerate() {
        if i == 0 && after_dash {
            out.push(' ');
        } else {
            if i == 0 {
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_key(key));
        out.push(':');
        yaml_node(out, value, indent.saturating_add(2), false);
    }
}

/// The items of a sequence, `- ` a line at `indent`.
fn yaml_sequence(out: &mut String, items: &[Value], indent: usize, after_dash: bool) {
    for (i, item) in items.iter().enumerate() {
        if i == 0 && after_dash {
            out.push(' ');
        } else {
            if i == 0 {
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
        }
        out.push('-');
        yaml_node(out, item, indent.saturating_add(2), true);
    }
}

/// A key: plain when it is `[a-z_][a-z0-9_]*` and no word YAML reads as another type,
/// else a double-quoted string.
fn yaml_key(key: &str) -> String {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !WORDS.contains(&key);
    if plain { key.to_owned() } else { yaml_string(key) }
}

/// A YAML double-quoted string: `\\` and `\"` escaped, and every character YAML does not
/// allow as it is or that could drive a terminal (control characters, U+2028, U+2029, the
/// bidirectional overrides, U+FEFF, U+FFFE, U+FFFF) as `\uXXXX`.
fn yaml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(2));
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') =>
            {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line of `-f shell`: `PREFIXname="value"`, the name the header in lower case with `_`
/// for spaces, `-` and `:` (as the `openstack` command writes it), the value as the table
/// shows it (control characters escaped) with `\`, `"`, `$` and `` ` `` escaped by a
/// backslash, so that `eval` sets the variable to the text and runs nothing.
pub fn shell_line(prefix: &str, header: &str, value: &str) -> String {
    let name: String = header.to_ascii_lowercase().chars().map(|c| if matches!(c, ' ' | '-' | ':') { '_' } else { c }).collect();
    let mut quoted = String::with_capacity(value.len());
    for c in printable(value).chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("{prefix}{name}=\"{quoted}\"\n")
}

/// Values separated by spaces, control characters escaped, and a newline.
fn value_line(cells: &[String]) -> String {
    cells.iter().map(|c| printable(c)).collect::<Vec<_>>().join(" ") + "\n"
}

/// One CSV field as the `openstack` command writes them (Python's csv module, quoting all
/// but numbers): a number as it is, anything else in double quotes with `""` for a quote.
/// Control characters are escaped as in tables, so that a row is one line.
fn csv_field(text: &str, numeric: bool) -> String {
    let text = printable(text);
    if numeric && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text
    } else {
        format!("\"{}\"", text.replace('"', "\"\""))
    }
}

/// The stable JSON shape of a snapshot (see the module docs).
pub fn snapshot_json(s: &Snapshot) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "volume_id": s.volume_id,
        "status": s.status.as_str(),
        "size": s.size,
        "metadata": s.metadata,
        "created_at": s.created_at.map(timestamp),
        "updated_at": s.updated_at.map(timestamp),
        "progress": s.progress,
        "project_id": s.project_id,
        "group_snapshot_id": s.group_snapshot_id,
        "user_id": s.user_id,
        "consumes_quota": s.consumes_quota,
    })
}

/// The stable JSON shape of a volume (see the module docs).
pub fn volume_json(v: &Volume) -> Value {
    json!({
        "id": v.id,
        "name": v.name,
        "description": v.description,
        "status": v.status.as_str(),
        "size": v.size,
        "metadata": v.metadata,
        "availability_zone": v.availability_zone,
        "bootable": v.bootable,
        "attached_to": v.server_ids(),
        "volume_type": v.volume_type,
        "snapshot_id": v.snapshot_id,
        "created_at": v.created_at.map(timestamp),
        "updated_at": v.updated_at.map(timestamp),
        "project_id": v.project_id,
        "user_id": v.user_id,
        "group_id": v.group_id,
    })
}

/// The row of a volume in `volume list`, a value for each of [`VOLUME_COLUMNS`].
pub fn volume_list_row(v: &Volume) -> Vec<String> {
    vec![
        v.id.clone(),
        v.name.clone().unwrap_or_default(),
        v.status.to_string(),
        v.size.to_string(),
        v.server_ids().join(", "),
        v.volume_type.clone().unwrap_or_default(),
        v.bootable.to_string(),
        properties(&v.metadata),
    ]
}

/// Field/Value rows of one volume, alphabetical.
pub fn volume_show_rows(v: &Volume) -> Vec<Vec<String>> {
    let opt = |x: &Option<String>| x.clone().unwrap_or_default();
    [
        ("attached_to", v.server_ids().join(", ")),
        ("availability_zone", opt(&v.availability_zone)),
        ("bootable", v.bootable.to_string()),
        ("created_at", v.created_at.map(timestamp).unwrap_or_default()),
        ("description", opt(&v.description)),
        ("group_id", opt(&v.group_id)),
        ("id", v.id.clone()),
        ("name", opt(&v.name)),
        ("project_id", opt(&v.project_id)),
        ("properties", properties(&v.metadata)),
        ("size", v.size.to_string()),
        ("snapshot_id", opt(&v.snapshot_id)),
        ("status", v.status.to_string()),
        ("type", opt(&v.volume_type)),
        ("updated_at", v.updated_at.map(timestamp).unwrap_or_default()),
        ("user_id", opt(&v.user_id)),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_owned(), v])
    .collect()
}

/// Metadata as a JSON object.
pub fn metadata_json(metadata: &BTreeMap<String, String>) -> Value {
    json!(metadata)
}

/// `a='1', b='2'`, as the `openstack` command shows properties.
pub fn properties(metadata: &BTreeMap<String, String>) -> String {
    metadata.iter().map(|(k, v)| format!("{k}='{v}'")).collect::<Vec<_>>().join(", ")
}

/// The row of a snapshot in `list`, a value for each of [`SNAPSHOT_COLUMNS`].
pub fn list_row(s: &Snapshot) -> Vec<String> {
    vec![
        s.id.clone(),
        s.name.clone().unwrap_or_default(),
        s.description.clone().unwrap_or_default(),
        s.status.to_string(),
        s.size.to_string(),
        s.created_at.map(timestamp).unwrap_or_default(),
        s.volume_id.clone(),
        properties(&s.metadata),
    ]
}

/// Field/Value rows of one snapshot, in the `openstack` command's order (alphabetical).
pub fn show_rows(s: &Snapshot) -> Vec<Vec<String>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        ("consumes_quota", s.consumes_quota.map(|c| c.to_string()).unwrap_or_default()),
        ("created_at", s.created_at.map(timestamp).unwrap_or_default()),
        ("description", opt(&s.description)),
        ("group_snapshot_id", opt(&s.group_snapshot_id)),
        ("id", s.id.clone()),
        ("name", opt(&s.name)),
        ("progress", opt(&s.progress)),
        ("project_id", opt(&s.project_id)),
        ("properties", properties(&s.metadata)),
        ("size", s.size.to_string()),
        ("status", s.status.to_string()),
        ("updated_at", s.updated_at.map(timestamp).unwrap_or_default()),
        ("user_id", opt(&s.user_id)),
        ("volume_id", s.volume_id.clone()),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_owned(), v])
    .collect()
}

/// The values of [`show_rows`], one for each of [`SNAPSHOT_FIELDS`].
pub fn show_values(s: &Snapshot) -> Vec<String> {
    show_rows(s).into_iter().filter_map(|mut r| r.pop()).collect()
}

/// The values of [`volume_show_rows`], one for each of [`VOLUME_FIELDS`].
pub fn volume_show_values(v: &Volume) -> Vec<String> {
    volume_show_rows(v).into_iter().filter_map(|mut r| r.pop()).collect()
}

/// Key/Value rows of metadata.
pub fn metadata_rows(metadata: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    metadata.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect()
}

/// The row of a snapshot in `prune`, a value for each of [`PRUNE_COLUMNS`]: ID, Name,
/// Volume, Created At, Action (keep/delete), Reasons, Outcome (`deleted`, `kept`,
/// `failed: why`; empty in a dry run).
pub fn prune_row(o: &SnapshotOutcome, dry_run: bool) -> Vec<String> {
    let s = o.snapshot();
    let mut row = vec![
        s.id.clone(),
        s.name.clone().unwrap_or_default(),
        s.volume_id.clone(),
        s.created_at.map(timestamp).unwrap_or_default(),
        o.decision().action().to_string(),
        o.decision().reasons_text(),
    ];
    row.push(if dry_run { String::new() } else { o.outcome().to_string() });
    row
}

/// The row of a volume in `run`, a value for each of [`RUN_COLUMNS`]: Volume, Name, Action,
/// Snapshot, Status, Pruned (how many), Error (why it failed or was skipped, else the prune's
/// errors, else why it was not pruned).
pub fn run_row(v: &VolumeReport) -> Vec<String> {
    let error = match (&v.error, v.prune_errors.is_empty(), &v.prune_skipped) {
        (Some(e), _, _) => e.to_string(),
        (None, false, _) => v.prune_errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        (None, true, Some(why)) if !matches!(v.action, VolumeAction::Created | VolumeAction::Reused) => why.clone(),
        _ => String::new(),
    };
    vec![
        v.volume_id.clone(),
        v.volume_name.clone().unwrap_or_default(),
        v.action.to_string(),
        v.snapshot_id.clone().unwrap_or_default(),
        v.snapshot_status.as_ref().map(ToString::to_string).unwrap_or_default(),
        v.pruned.len().to_string(),
        error,
    ]
}

/// The line after `run`'s table: the counts, the window, the run id and how long it took.
pub fn run_summary(report: &JobReport) -> String {
    let t = report.totals();
    let mut text = if report.is_dry_run() {
        format!(
            "dry run: {} {}: {} would be created, {} would be reused, {} skipped; {} would be pruned",
            t.volumes,
            if t.volumes == 1 { "volume" } else { "volumes" },
            t.would_create,
            t.would_reuse,
            t.skipped,
            t.pruned
        )
    } else {
        format!(
            "{} {}: {} created, {} reused, {} available, {} failed, {} skipped; {} pruned, {} prune failures",
            t.volumes,
            if t.volumes == 1 { "volume" } else { "volumes" },
            t.created,
            t.reused,
            t.available,
            t.failed,
            t.skipped,
            t.pruned,
            t.prune_failed
        )
    };
    text.push_str(&format!(
        " (window {} from {}, run {}, {:.1} s)",
        report.window(),
        report.window_label(),
        report.run_id(),
        report.elapsed().as_secs_f64()
    ));
    if report.no_volume_matched() {
        text.push_str("; no volume matched");
    }
    if report.all_projects() {
        text.push_str("; all projects: the snapshots are in this caller's project (its quota), not the volumes' projects");
    }
    match report.quota() {
        Some(q) if q.skipped > 0 => {
            let binding: Vec<String> = q.binding.iter().map(ToString::to_string).collect();
            text.push_str(&format!("; over quota: {} not snapshotted ({})", q.skipped, binding.join("; ")));
        }
        _ if report.over_quota() => text.push_str("; over quota: later creates were not sent"),
        _ => {}
    }
    if report.timed_out() {
        text.push_str("; the wait timed out");
    }
    if let Some(skew) = report.clock_skew() {
        let way = if skew.is_negative() { "behind" } else { "ahead" };
        text.push_str(&format!(
            "\nclock: Cinder's clock is {} s {way} of this host's (more than 5 min): the window and the labels are on Cinder's",
            skew.unsigned_abs().as_secs()
        ));
    }
    text
}

/// The row of a volume in `check -f value|csv`, a value for each of [`CHECK_COLUMNS`].
pub fn check_row(v: &CheckVolume) -> Vec<String> {
    vec![
        v.volume_id.clone(),
        v.volume_name.clone().unwrap_or_default(),
        v.newest.map(timestamp).unwrap_or_default(),
        v.snapshot_id.clone().unwrap_or_default(),
        v.age.map(|a| a.as_secs().to_string()).unwrap_or_default(),
        v.status.to_string(),
    ]
}

/// The row of a volume in `report`, a value for each of [`REPORT_COLUMNS`]; the age as a
/// duration in a table, in seconds otherwise.
pub fn report_row(v: &ReportVolume, table: bool) -> Vec<String> {
    let age = v.age.map(|a| if table { format_duration(Duration::from_secs(a.as_secs())) } else { a.as_secs().to_string() });
    vec![
        v.volume_id.clone(),
        v.volume_name.clone().unwrap_or_default(),
        v.volume_size.to_string(),
        v.snapshots.to_string(),
        v.gib.to_string(),
        v.errors.to_string(),
        v.newest.map(timestamp).unwrap_or_default(),
        age.unwrap_or_default(),
    ]
}

/// The lines after `report`'s table: the totals, then one line per quota.
pub fn report_summary(report: &Report) -> String {
    let (n, gib) = report.totals();
    let steady = report.steady_count.map_or_else(|| "no bound (keep-within)".to_owned(), |c| format!("{c} + 1 per volume"));
    let mut out = format!(
        "{n} snapshots ({gib} GiB) owned by {} on {} volumes; steady state {steady}\n",
        printable(&report.policy),
        report.volumes.len()
    );
    for q in &report.quota {
        let unit = if q.key == "gigabytes" { " GiB" } else { "" };
        let needed = q.needed.map_or_else(|| "unbounded".to_owned(), |n| format!("{n}{unit}"));
        let room = match q.room {
            Room::Unlimited => "unlimited".to_owned(),
            Room::Left(l) => format!("{l}{unit} left"),
            _ => "room unknown".to_owned(),
        };
        let verdict = match q.fits {
            Some(true) => "fits",
            Some(false) => "DOES NOT FIT",
            None => "cannot be judged",
        };
        out.push_str(&format!("quota {}: steady state needs {needed}, holds {}{unit}, {room}: {verdict}\n", q.key, q.held));
    }
    if let Some(why) = &report.quota_unreadable {
        out.push_str(&format!("the quota could not be read: {}\n", printable(why)));
    }
    out
}

/// The line after `prune`'s table: what was (or would be) done, and the policy.
pub fn prune_summary(report: &PruneReport) -> String {
    let c = report.counts();
    let policy = report.plan().policy();
    // The snapshots to delete for a reason of their own, and those kept as another
    // version's, when there are any: ` (to delete: 1 in error; kept: 1 with an unknown label
    // format)`.
    let mut to_delete = Vec::new();
    if c.in_error > 0 {
        to_delete.push(format!("{} in error", c.in_error));
    }
    if c.duplicates > 0 {
        to_delete.push(format!("{} duplicate in a window", c.duplicates));
    }
    let mut parts = Vec::new();
    if !to_delete.is_empty() {
        parts.push(format!("to delete: {}", to_delete.join(", ")));
    }
    if c.unknown_format > 0 {
        parts.push(format!("kept: {} with an unknown label format", c.unknown_format));
    }
    let extra = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join("; ")) };
    if report.is_dry_run() {
        format!("dry run: {} to delete, {} to keep{extra}; nothing was deleted ({policy})", c.would_delete, c.kept)
    } else {
        format!("{} deleted, {} kept, {} failed{extra} ({policy})", c.deleted, c.kept, c.failed)
    }
}

/// `text` with its control characters (C0 and C1, so ESC, CR, LF and CSI among them) and
/// bidirectional overrides escaped (`\n` as `\u{a}`): safe on a terminal, one line, read in
/// the order it is stored.
pub fn printable(text: &str) -> String {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    text.chars().map(|c| if unsafe_char(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

/// A boxed table: `+----+` rules, `| a  |` cells, widths in characters. An empty table has
/// its headers only.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| printable(c)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+\n";
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (w, cell) in widths.iter().zip(cells) {
            out.push_str(&format!("| {cell}{} ", " ".repeat(w - cell.chars().count())));
        }
        out + "|\n"
    };
    let mut out = rule.clone();
    out.push_str(&line(&mut headers.iter().copied()));
    out.push_str(&rule);
    for row in &rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    if !rows.is_empty() {
        out.push_str(&rule);
    }
    out
}

/// A job spec's report (`run`, `plan`, `prune` with `--config`): a section per target (its
/// place, its outcome, its error), in it a table per job (a volume refused for its policy
/// choice a failed row there) (as `run` or `prune` prints one; `plan` adds the prune's plan with the
/// reasons), then a line of totals.
pub fn estate_text(report: &cinder_snapshots::spec::TargetsReport, out: &Output) -> String {
    let mut s: String = report.targets.iter().map(|t| target_text(t, out)).collect();
    s.push_str(&estate_summary(report));
    s
}

/// The last line of `run`/`plan`/`prune --config` as text: how many targets succeeded.
pub fn estate_summary(report: &cinder_snapshots::spec::TargetsReport) -> String {
    let failed = report.targets.iter().filter(|t| t.exit_code != 0).count();
    format!("{} targets: {} succeeded, {failed} failed\n", report.targets.len(), report.targets.len().saturating_sub(failed))
}

/// One target's section as text: its header (name, place, verdict), its error, and each
/// job's table and summary.
pub fn target_text(t: &cinder_snapshots::spec::TargetReport, out: &Output) -> String {
    use cinder_snapshots::spec::Outcome;
    let mut s = String::new();
    {
        let place: Vec<String> = [("cloud", &t.cloud), ("region", &t.region), ("project", &t.project)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {}", printable(v))))
            .collect();
        let verdict = if t.exit_code == 0 { "ok".to_owned() } else { format!("failed (exit {})", t.exit_code) };
        s.push_str(&format!("== target {} ({}): {verdict}\n", printable(&t.name), place.join(", ")));
        if let Some(e) = &t.error {
            s.push_str(&format!("error: {}\n", printable(&e.to_string())));
        }
        for j in &t.jobs {
            s.push_str(&format!("-- policy {} on selection {}\n", printable(&j.policy), printable(&j.selection)));
            match &j.outcome {
                Outcome::Run(r) => {
                    let rows: Vec<Vec<String>> = r.volumes().iter().map(run_row).collect();
                    s.push_str(&out.rows(RUN_COLUMNS, RUN_COLUMNS.len(), &rows));
                    s.push_str(&run_summary(r));
                    s.push('\n');
                    if let Some(p) = r.prune_report().filter(|_| r.is_dry_run()) {
                        let rows: Vec<Vec<String>> = p.outcomes().iter().map(|o| prune_row(o, true)).collect();
                        s.push_str("the prune's plan (on the snapshots there are now):\n");
                        s.push_str(&out.rows(PRUNE_COLUMNS, PRUNE_COLUMNS.len().saturating_sub(1), &rows));
                    }
                }
                Outcome::Prune(p) => {
                    let rows: Vec<Vec<String>> = p.outcomes().iter().map(|o| prune_row(o, p.is_dry_run())).collect();
                    s.push_str(&out.rows(PRUNE_COLUMNS, PRUNE_COLUMNS.len(), &rows));
                    s.push_str(&prune_summary(p));
                    s.push('\n');
                }
                Outcome::Check(c) => s.push_str(&c.output()),
                Outcome::Failed { error } => s.push_str(&format!("error: {}\n", printable(&error.full_message()))),
                _ => {}
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        let t = table(&["ID", "Name"], &[vec!["a".into(), "ünï".into()]]);
        assert_eq!(t, "+----+------+\n| ID | Name |\n+----+------+\n| a  | ünï  |\n+----+------+\n");
        assert_eq!(table(&["ID"], &[]), "+----+\n| ID |\n+----+\n");
        let t = table(&["N"], &[vec!["x\x1b[2Jy".into()]]);
        assert!(t.contains("| x\\u{1b}[2Jy |") && !t.contains('\x1b'), "{t}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let at = time::macros::datetime!(2026-11-23 16:42:51.212740 UTC);
        assert_eq!(timestamp(at), "2026-11-23T16:42:51.212740Z");
        let elsewhere = time::macros::datetime!(2026-01-01 01:02:03 +02:00);
        assert_eq!(timestamp(elsewhere), "2025-12-31T23:02:03.000000Z");
        // Regression: converting this one to UTC panicked (the release build aborted).
        let far = time::macros::datetime!(9999-12-31 23:59:59 -01:00);
        assert_eq!(timestamp(far), "9999-12-31T23:59:59.000000-01:00");
    }

    #[test]
    fn the_fields_are_the_columns() {
        let s: Snapshot = serde_json::from_str(r#"{"id": "x", "volume_id": "v", "status": "creating"}"#).unwrap();
        let names: Vec<String> = show_rows(&s).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(names, SNAPSHOT_FIELDS.iter().map(|c| c.header).collect::<Vec<_>>());
        assert_eq!(list_row(&s).len(), SNAPSHOT_COLUMNS.len());
        // Every JSON key a column names is a key of the JSON object.
        let object = snapshot_json(&s);
        for c in SNAPSHOT_FIELDS.iter().chain(SNAPSHOT_COLUMNS) {
            assert!(object.get(c.key).is_some(), "{}", c.key);
        }
        let v: Volume = serde_json::from_str(r#"{"id": "x", "status": "available", "size": 1}"#).unwrap();
        let names: Vec<String> = volume_show_rows(&v).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(names, VOLUME_FIELDS.iter().map(|c| c.header).collect::<Vec<_>>());
        assert_eq!(volume_list_row(&v).len(), VOLUME_COLUMNS.len());
        let object = volume_json(&v);
        for c in VOLUME_FIELDS.iter().chain(VOLUME_COLUMNS) {
            assert!(object.get(c.key).is_some(), "{}", c.key);
        }
    }

    #[test]
    fn formats_and_columns() {
        let rows =
            vec![vec!["a b".to_owned(), "say \"hi\"".to_owned(), "10".to_owned()], vec![String::new(), "x\ny".to_owned(), String::new()]];
        let all = &[col("ID", "id"), col("Created At", "created_at"), num("Size", "size")];
        let out = |format, columns: Vec<&'static Column>| Output { columns, ..Output::new(format) };
        assert_eq!(out(Format::Value, vec![]).rows(all, 3, &rows), "a b say \"hi\" 10\n x\\u{a}y \n");
        assert_eq!(
            out(Format::Csv, vec![]).rows(all, 3, &rows),
            "\"ID\",\"Created At\",\"Size\"\n\"a b\",\"say \"\"hi\"\"\",10\n\"\",\"x\\u{a}y\",\"\"\n"
        );
        assert_eq!(out(Format::Table, vec![]).rows(all, 1, &rows[..1]), "+-----+\n| ID  |\n+-----+\n| a b |\n+-----+\n");
        // -c: in the order given.
        let picked = vec![&SNAPSHOT_COLUMNS[4], &SNAPSHOT_COLUMNS[0]];
        assert_eq!(out(Format::Value, picked.clone()).rows(SNAPSHOT_COLUMNS, 5, &[(1..=8).map(|n| n.to_string()).collect()]), "5 1\n");
        // -c in JSON: the keys picked, in the order given (not alphabetical).
        assert_eq!(
            out(Format::Json, picked).object(SNAPSHOT_COLUMNS, 5, json!({"id": "x", "size": 1, "name": "n"})),
            "{\"size\":1,\"id\":\"x\"}\n"
        );
        // A record: one value a line, or a header and a row.
        let fields = &[col("id", "id"), num("size", "size")];
        assert_eq!(out(Format::Value, vec![]).record(fields, &["x".into(), "1".into()]), "x\n1\n");
        assert_eq!(out(Format::Csv, vec![]).record(fields, &["x".into(), "1".into()]), "\"id\",\"size\"\n\"x\",1\n");
        assert!(
            SNAPSHOT_COLUMNS[5].matches("created_at")
                && SNAPSHOT_COLUMNS[5].matches("CREATED AT")
                && SNAPSHOT_COLUMNS[6].matches("volume_id")
        );
        assert!(!SNAPSHOT_COLUMNS[6].matches("vol"));
    }

    #[test]
    fn yaml_of_nested_values() {
        let value = json!({
            "a": [1, [2, []], {"b": {}, "c": [{"d": null, "e": [true]}]}],
            "big": 1e21,
            "half": 0.5,
            "yes": "no",
            "": "x\u{1b}\"\\",
            "list": [],
        });
        let text = yaml(&value);
        assert_eq!(
            text,
            "\"\": \"x\\u001b\\\"\\\\\"\na:\n  - 1\n  - - 2\n    - []\n  - b: {}\n    c:\n      - d: null\n        e:\n          - true\n\
             big: 1.0e+21\nhalf: 0.5\nlist: []\n\"yes\": \"no\"\n"
        );
        #[cfg(feature = "clouds-yaml")]
        assert_eq!(yaml_serde::from_str::<Value>(&text).unwrap(), value);
        assert_eq!(yaml(&json!([])), "[]\n");
        assert_eq!(yaml(&json!("s")), "\"s\"\n");
        assert_eq!(yaml_entries(&[]), "{}\n");
        assert_eq!(shell_line("p_", "Created At", "a$b"), "p_created_at=\"a\\$b\"\n");
    }

    #[test]
    fn properties_and_metadata() {
        let m = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x y".to_owned())]);
        assert_eq!(properties(&m), "a='1', b='x y'");
        assert_eq!(metadata_json(&m), json!({"a": "1", "b": "x y"}));
        assert_eq!(metadata_rows(&m), vec![vec!["a".to_owned(), "1".to_owned()], vec!["b".to_owned(), "x y".to_owned()]]);
    }

    #[test]
    fn the_json_shape_has_every_key_even_when_unset() {
        let s: Snapshot = serde_json::from_str(r#"{"id": "x", "volume_id": "v", "status": "creating"}"#).unwrap();
        let v = snapshot_json(&s);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 14, "{keys:?}");
        assert_eq!(v["metadata"], json!({}));
        assert_eq!((v["created_at"].clone(), v["consumes_quota"].clone(), v["size"].clone()), (Value::Null, Value::Null, json!(0)));
    }
}
