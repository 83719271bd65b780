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

use cinder_snapshots::retention::{PruneReport, SnapshotOutcome};
use cinder_snapshots::snapshots::Snapshot;
use cinder_snapshots::volumes::Volume;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// RFC 3339 in UTC with microseconds, as Cinder stores them: `2026-11-23T16:42:51.212740Z`
/// (the crate's one writer; never panics).
pub fn timestamp(t: OffsetDateTime) -> String {
    cinder_snapshots::timestamp::format_utc(t)
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

/// The headers of `volume list`, as `openstack volume list` has them.
pub fn volume_list_headers(long: bool) -> Vec<&'static str> {
    let mut h = vec!["ID", "Name", "Status", "Size", "Attached to"];
    if long {
        h.extend(["Type", "Bootable", "Properties"]);
    }
    h
}

/// The row of a volume in `volume list`.
pub fn volume_list_row(v: &Volume, long: bool) -> Vec<String> {
    let mut row =
        vec![v.id.clone(), v.name.clone().unwrap_or_default(), v.status.to_string(), v.size.to_string(), v.server_ids().join(", ")];
    if long {
        row.extend([v.volume_type.clone().unwrap_or_default(), v.bootable.to_string(), properties(&v.metadata)]);
    }
    row
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

/// The headers of `list`.
pub fn list_headers(long: bool) -> Vec<&'static str> {
    let mut h = vec!["ID", "Name", "Description", "Status", "Size"];
    if long {
        h.extend(["Created At", "Volume", "Properties"]);
    }
    h
}

/// The row of a snapshot in `list`: ID, Name, Description, Status, Size, and with `long`
/// Created At, Volume, Properties.
pub fn list_row(s: &Snapshot, long: bool) -> Vec<String> {
    let mut row = vec![
        s.id.clone(),
        s.name.clone().unwrap_or_default(),
        s.description.clone().unwrap_or_default(),
        s.status.to_string(),
        s.size.to_string(),
    ];
    if long {
        row.extend([s.created_at.map(timestamp).unwrap_or_default(), s.volume_id.clone(), properties(&s.metadata)]);
    }
    row
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

/// Key/Value rows of metadata.
pub fn metadata_rows(metadata: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    metadata.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect()
}

/// The headers of `prune`: the plan's columns, and the outcome unless it is a dry run.
pub fn prune_headers(dry_run: bool) -> Vec<&'static str> {
    let mut h = vec!["ID", "Name", "Volume", "Created At", "Action", "Reasons"];
    if !dry_run {
        h.push("Outcome");
    }
    h
}

/// The row of a snapshot in `prune`: ID, Name, Volume, Created At, Action (keep/delete),
/// Reasons, and unless it is a dry run the Outcome (`deleted`, `kept`, `failed: why`).
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
    if !dry_run {
        row.push(o.outcome().to_string());
    }
    row
}

/// The line after `prune`'s table: what was (or would be) done, and the policy.
pub fn prune_summary(report: &PruneReport) -> String {
    let c = report.counts();
    let policy = report.plan().policy();
    if report.is_dry_run() {
        format!("dry run: {} to delete, {} to keep; nothing was deleted ({policy})", c.would_delete, c.kept)
    } else {
        format!("{} deleted, {} kept, {} failed ({policy})", c.deleted, c.kept, c.failed)
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
