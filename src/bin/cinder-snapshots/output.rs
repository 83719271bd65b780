//! What the tool prints: tables for people (the `openstack` command's look) and JSON with a
//! fixed shape for scripts.

use std::collections::BTreeMap;

use cinder_snapshots::snapshots::Snapshot;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// RFC 3339 in UTC with microseconds, as Cinder stores them: `2026-11-23T16:42:51.212740Z`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The stable JSON shape of a snapshot.
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

/// `a='1', b='2'`, as the `openstack` command shows properties.
pub fn properties(metadata: &BTreeMap<String, String>) -> String {
    metadata.iter().map(|(k, v)| format!("{k}='{v}'")).collect::<Vec<_>>().join(", ")
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

/// The headers of `list`.
pub fn list_headers(long: bool) -> Vec<String> {
    let mut h = vec!["ID", "Name", "Description", "Status", "Size"];
    if long {
        h.extend(["Created At", "Volume", "Properties"]);
    }
    h.into_iter().map(str::to_owned).collect()
}

/// Field/Value rows of one snapshot.
pub fn show_rows(s: &Snapshot) -> Vec<Vec<String>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        ("created_at", s.created_at.map(timestamp).unwrap_or_default()),
        ("description", opt(&s.description)),
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

/// A boxed table: `+----+` rules, `| a  |` cells, widths in characters.
pub fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+\n";
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (w, cell) in widths.iter().zip(cells) {
            out.push_str(&format!("| {cell}{} ", " ".repeat(w - cell.chars().count())));
        }
        out + "|\n"
    };
    let mut out = rule.clone();
    out.push_str(&line(headers));
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(row));
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
    fn tables_and_timestamps() {
        let t = table(&["ID".into(), "Name".into()], &[vec!["a".into(), "ünï".into()]]);
        assert_eq!(t, "+----+------+\n| ID | Name |\n+----+------+\n| a  | ünï  |\n+----+------+\n");
        let at = time::macros::datetime!(2026-11-23 16:42:51.212740 UTC);
        assert_eq!(timestamp(at), "2026-11-23T16:42:51.212740Z");
        let m = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x y".to_owned())]);
        assert_eq!(properties(&m), "a='1', b='x y'");
    }
}
