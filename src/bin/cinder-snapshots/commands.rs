//! What each command does: the crate's `snapshots` calls, the look-up of a snapshot by id or
//! name, the waits with their progress, and what is printed.
//!
//! A `SNAPSHOT` argument shaped like an id (a UUID) is used as it is, with no extra request;
//! anything else is tried as an id first and, when Cinder has no snapshot with that id,
//! looked up by name (it must match exactly one snapshot). A `VOLUME` argument (`--volume`
//! too) shaped like an id is used as it is; anything else is a name, looked up by name and
//! never sent to the server as an id (none or several matches: exit 1, the matches listed).
//! Commands taking several snapshots or keys try every one, print each failure, and end with
//! the first failure's exit code.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use cinder_snapshots::job::{self, CheckOpts, JobOpts, MetricsFile, ReportOpts};
use cinder_snapshots::retention::{self, PruneOpts};
use cinder_snapshots::snapshots::{self, Snapshot, SnapshotStatus, WaitOpts};
use cinder_snapshots::volumes::{self, Volume, VolumeStatus};
use cinder_snapshots::{Error, ServiceClient};

use crate::Failure;
use crate::args::{Command, Target};
use crate::output::{self, Output};
use crate::progress::Progress;

/// Runs one command; `out` is how to print.
pub fn run(client: &ServiceClient, command: &Command, out: &Output) -> Result<(), Failure> {
    match command {
        Command::List { opts, volume, long, limit } => {
            let opts = match volume {
                Some(v) => opts.clone().volume_id(volume_id_of(client, v)?),
                None => opts.clone(),
            };
            list(client, &opts, *long, *limit, out)
        }
        Command::Show { snapshot } => one(&resolve(client, snapshot)?, out),
        Command::Create { volume, snapshot, wait } => {
            let snap = snapshots::create(client, &snapshot.opts(&volume_id_of(client, volume)?))?;
            let snap = match wait {
                Some(timeout) => {
                    waiting(*timeout, Some(&snap), |o| snapshots::wait_for_status(client, &snap.id, SnapshotStatus::Available, o))?
                }
                None => snap,
            };
            one(&snap, out)
        }
        Command::Update { snapshot, opts } => {
            let id = id_of(client, snapshot)?;
            one(&snapshots::update(client, &id, opts)?, out)
        }
        Command::SetMetadata { snapshot, metadata } => {
            let id = id_of(client, snapshot)?;
            let all = snapshots::merge_metadata(client, &id, metadata)?;
            if out.json() {
                crate::print(&format!("{}\n", output::metadata_json(&all)))
            } else {
                crate::print(&out.rows(output::METADATA_COLUMNS, 2, &output::metadata_rows(&all)))
            }
        }
        Command::Set { snapshot, update, metadata, state } => {
            let id = id_of(client, snapshot)?;
            if let Some(update) = update {
                snapshots::update(client, &id, update)?;
            }
            if !metadata.is_empty() {
                snapshots::merge_metadata(client, &id, &metadata.iter().cloned().collect())?;
            }
            if let Some(state) = state {
                snapshots::reset_status(client, &id, state.clone())?;
            }
            Ok(())
        }
        Command::UnsetMetadata { snapshot, keys } => {
            let id = id_of(client, snapshot)?;
            each(keys, |key| Ok(snapshots::delete_metadata_key(client, &id, key)?))
        }
        Command::Delete { snapshots: names, wait, force } => {
            let mut deleted = Vec::new();
            let deletes = each(names, |name| {
                let id = id_of(client, name)?;
                if *force {
                    snapshots::force_delete(client, &id)?;
                } else {
                    snapshots::delete(client, &id)?;
                }
                deleted.push(id);
                Ok(())
            });
            // The deletes that were accepted are waited for even when another one failed.
            let waits = match wait {
                Some(timeout) => each(&deleted, |id| waiting(*timeout, None, |o| snapshots::wait_for_delete(client, id, o))),
                None => Ok(()),
            };
            match (deletes, waits) {
                // Both failed: the deletes' failures were printed already (several snapshots).
                (Err(first), Err(then)) => {
                    then.report();
                    Err(first)
                }
                (deletes, waits) => deletes.and(waits),
            }
        }
        Command::ResetStatus { snapshot, status } => {
            let id = id_of(client, snapshot)?;
            Ok(snapshots::reset_status(client, &id, status.clone())?)
        }
        Command::Wait { snapshot, target: Target::Deleted, timeout } => {
            // A snapshot that is already gone is done: no look-up that would fail first.
            let id = if looks_like_uuid(snapshot) { snapshot.clone() } else { resolve(client, snapshot)?.id };
            waiting(*timeout, None, |o| snapshots::wait_for_delete(client, &id, o))
        }
        Command::Wait { snapshot, target: Target::Status(status), timeout } => {
            // Looked up first: a snapshot that does not exist is "not found" (exit 1), not a
            // wait that failed.
            let snap = resolve(client, snapshot)?;
            let snap = if snap.status == *status {
                // Already there: its state shown as a wait would show it, and no wait.
                Progress::new().once(&snap);
                snap
            } else {
                waiting(*timeout, Some(&snap), |o| snapshots::wait_for_status(client, &snap.id, status.clone(), o))?
            };
            one(&snap, out)
        }
        Command::Prune { opts, volumes: names } => {
            if names.iter().all(|v| looks_like_uuid(v)) {
                return prune(client, opts, out);
            }
            let ids = names.iter().map(|v| volume_id_of(client, v)).collect::<Result<Vec<_>, Error>>()?;
            prune(client, &opts.clone().volumes(ids), out)
        }
        Command::Run { opts, metrics, .. } => run_job(client, opts, metrics.as_deref(), out),
        Command::Report { opts } => report(client, opts, out),
        Command::Check { opts, metrics } => check(client, opts, metrics.as_deref(), out),
        Command::VolumeList { opts, long, limit } => volume_list(client, opts, *long, *limit, out),
        Command::VolumeShow { volume } => one_volume(&resolve_volume(client, volume)?, out),
        Command::Restore { snapshot, name, size, wait } => {
            let mut opts = volumes::CreateOpts::from_snapshot(id_of(client, snapshot)?);
            if let Some(name) = name {
                opts = opts.name(name);
            }
            if let Some(size) = size {
                opts = opts.size(*size);
            }
            let volume = volumes::create(client, &opts)?;
            let volume = match wait {
                Some(timeout) => {
                    waiting_volume(*timeout, Some(&volume), |o| volumes::wait_for_status(client, &volume.id, VolumeStatus::Available, o))?
                }
                None => volume,
            };
            one_volume(&volume, out)
        }
        Command::Revert { volume, snapshot, wait } => {
            let volume_id = volume_id_of(client, volume)?;
            let snapshot_id = id_of(client, snapshot)?;
            volumes::revert_to_snapshot(client, &volume_id, &snapshot_id)?;
            match wait {
                Some(timeout) => {
                    let reverted = waiting_volume(*timeout, None, |o| volumes::wait_for_revert(client, &volume_id, o))?;
                    one_volume(&reverted, out)
                }
                None => Ok(()),
            }
        }
    }
}

/// `prune`: the report as a table and a summary line, or as JSON; exit 1 when a delete
/// failed (each failure is in the output; one line on stderr counts them).
fn prune(client: &ServiceClient, opts: &PruneOpts, out: &Output) -> Result<(), Failure> {
    let report = retention::prune(client, opts)?;
    let rows: Vec<Vec<String>> = report.outcomes().iter().map(|o| output::prune_row(o, report.is_dry_run())).collect();
    // Without --dry-run, the Outcome column too.
    let shown = if report.is_dry_run() { output::PRUNE_COLUMNS.len() - 1 } else { output::PRUNE_COLUMNS.len() };
    match out.format {
        output::Format::Json => {
            let text = serde_json::to_string_pretty(&report).map_err(|e| Error::InvalidInput(format!("cannot write the report: {e}")))?;
            crate::print(&format!("{text}\n"))?;
        }
        output::Format::Table => {
            let table = out.rows(output::PRUNE_COLUMNS, shown, &rows);
            crate::print(&format!("{table}{}\n", output::prune_summary(&report)))?;
        }
        output::Format::Value | output::Format::Csv => crate::print(&out.rows(output::PRUNE_COLUMNS, shown, &rows))?,
    }
    let counts = report.counts();
    if counts.failed > 0 {
        let tried = counts.failed.saturating_add(counts.deleted);
        crate::error_line(&format!("{} of {tried} deletes failed (see the output)", counts.failed));
        return Err(Failure::Reported(1));
    }
    Ok(())
}

/// `run`: the job with its progress on stderr, then its report (a table and a summary, the
/// rows as values or CSV, or the JSON report). Exit 0 when every volume is done, 3 when the
/// wait timed out, 1 when some volume failed or was skipped or a prune failed.
fn run_job(client: &ServiceClient, opts: &JobOpts, metrics: Option<&Path>, out: &Output) -> Result<(), Failure> {
    let progress = Progress::new();
    let shown = progress.clone();
    let report = job::run(client, &opts.clone().progress(move |p| shown.counts(p)));
    progress.finish();
    // Written whatever the outcome: a failed run keeps the last success's time.
    let metrics_failed = metrics.is_some_and(|path| match MetricsFile::new(path).write_run(client, opts, report.as_ref()) {
        Ok(_) => false,
        Err(e) => {
            crate::error_line(&format!("the metrics were not written: {e}"));
            true
        }
    });
    let report = report?;
    let rows: Vec<Vec<String>> = report.volumes().iter().map(output::run_row).collect();
    match out.format {
        output::Format::Json => {
            let text = serde_json::to_string_pretty(&report).map_err(|e| Error::InvalidInput(format!("cannot write the report: {e}")))?;
            crate::print(&format!("{text}\n"))?;
        }
        output::Format::Table => {
            let table = out.rows(output::RUN_COLUMNS, output::RUN_COLUMNS.len(), &rows);
            crate::print(&format!("{table}{}\n", output::run_summary(&report)))?;
        }
        output::Format::Value | output::Format::Csv => crate::print(&out.rows(output::RUN_COLUMNS, output::RUN_COLUMNS.len(), &rows))?,
    }
    if let Some(quota) = report.quota() {
        if let Some(why) = &quota.unreadable {
            crate::error_line(&format!("the quota could not be read, the creates were sent without a preflight: {why}"));
        } else if quota.gigabytes_only {
            let binding: Vec<String> = quota.binding.iter().map(ToString::to_string).collect();
            crate::error_line(&format!("only the gigabytes quota is short ({}): every create was tried", binding.join("; ")));
        } else if quota.skipped > 0 {
            let binding: Vec<String> = quota.binding.iter().map(ToString::to_string).collect();
            crate::error_line(&format!("over quota: {} volumes skipped ({})", quota.skipped, binding.join("; ")));
        }
    }
    if report.timed_out() {
        crate::error_line("the wait timed out: the snapshots still creating are kept and reused by the next run");
        return Err(Failure::Reported(3));
    }
    if !report.is_success() {
        let t = report.totals();
        crate::error_line(&format!("{} failed, {} skipped, {} prune failures (see the output)", t.failed, t.skipped, t.prune_failed));
        return Err(Failure::Reported(1));
    }
    if metrics_failed {
        return Err(Failure::Reported(1));
    }
    Ok(())
}

/// `check`: the status line (or the report, or one row a volume), and the plugin's exit
/// code. Any error is UNKNOWN (exit 3), with the error in the line.
fn check(client: &ServiceClient, opts: &CheckOpts, metrics: Option<&Path>, out: &Output) -> Result<(), Failure> {
    let report = job::check(client, opts);
    // Written whatever the outcome: a failed check's file has no per-volume sample.
    let metrics_failed = metrics.is_some_and(|path| match MetricsFile::new(path).write_check(client, opts, report.as_ref()) {
        Ok(_) => false,
        Err(e) => {
            crate::error_line(&format!("the metrics were not written: {e}"));
            true
        }
    });
    let report = report?;
    match out.format {
        output::Format::Json => {
            let text = serde_json::to_string_pretty(&report).map_err(|e| Error::InvalidInput(format!("cannot write the report: {e}")))?;
            crate::print(&format!("{text}\n"))?;
        }
        // Escaped by the library: one '|', only the check's own lines.
        output::Format::Table => crate::print(&report.output())?,
        output::Format::Value | output::Format::Csv => {
            let rows: Vec<Vec<String>> = report.volumes().iter().map(output::check_row).collect();
            crate::print(&out.rows(output::CHECK_COLUMNS, output::CHECK_COLUMNS.len(), &rows))?;
        }
    }
    // Metrics not written: UNKNOWN at least (CRITICAL stays CRITICAL).
    match (report.status().code(), metrics_failed) {
        (0, false) => Ok(()),
        (0 | 1, true) => Err(Failure::Reported(3)),
        (code, _) => Err(Failure::Reported(code)),
    }
}

/// `report`: a table of the volumes and a line per quota (the rows as values or CSV, or
/// the JSON report); exit 1 unless every quota is known to fit.
fn report(client: &ServiceClient, opts: &ReportOpts, out: &Output) -> Result<(), Failure> {
    let report = job::report(client, opts)?;
    match out.format {
        output::Format::Json => {
            let text = serde_json::to_string_pretty(&report).map_err(|e| Error::InvalidInput(format!("cannot write the report: {e}")))?;
            crate::print(&format!("{text}\n"))?;
        }
        output::Format::Table => {
            let rows: Vec<Vec<String>> = report.volumes.iter().map(|v| output::report_row(v, true)).collect();
            let table = out.rows(output::REPORT_COLUMNS, output::REPORT_COLUMNS.len(), &rows);
            crate::print(&format!("{table}{}", output::report_summary(&report)))?;
        }
        output::Format::Value | output::Format::Csv => {
            let rows: Vec<Vec<String>> = report.volumes.iter().map(|v| output::report_row(v, false)).collect();
            crate::print(&out.rows(output::REPORT_COLUMNS, output::REPORT_COLUMNS.len(), &rows))?;
        }
    }
    if report.fits() { Ok(()) } else { Err(Failure::Reported(1)) }
}

/// What `check` prints for an error before or while reaching the cloud: UNKNOWN (exit 3),
/// the error in the status line on stdout (what a monitoring system reads, escaped:
/// `job::unknown_output`) and on stderr. Output that cannot be written is UNKNOWN too.
pub fn check_unknown(failure: Failure) -> Failure {
    match failure {
        Failure::Cloud(e) => {
            let message = e.full_message();
            let _ = crate::print(&job::unknown_output(&message));
            crate::error_line(&message);
            Failure::Reported(3)
        }
        // Even a reader gone away: a check whose output was not read is not OK.
        Failure::Output(e) => {
            crate::error_line(&format!("cannot write the output: {e}"));
            Failure::Reported(3)
        }
        other => other,
    }
}

/// `list`: the detail listing, page after page as it is printed, stopped after `limit`.
fn list(client: &ServiceClient, opts: &snapshots::ListOpts, long: bool, limit: Option<usize>, shape: &Output) -> Result<(), Failure> {
    let listing = snapshots::list_detail(client, opts)?.take(limit.unwrap_or(usize::MAX));
    let mut out = std::io::stdout().lock();
    if shape.json() {
        // Streamed, one snapshot per line: a long listing never sits in memory whole. A page
        // that fails midway leaves the array unclosed (and the exit code not 0).
        out.write_all(b"[")?;
        let mut first = true;
        for snap in listing {
            let snap = snap?;
            write!(out, "{}{}", if first { "\n" } else { ",\n" }, shape.object(output::snapshot_json(&snap)))?;
            first = false;
        }
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    } else {
        let rows = listing.map(|s| s.map(|s| output::list_row(&s))).collect::<Result<Vec<_>, Error>>()?;
        let shown = if long { output::SNAPSHOT_COLUMNS.len() } else { 5 };
        out.write_all(shape.rows(output::SNAPSHOT_COLUMNS, shown, &rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Prints one snapshot: a Field/Value table, its values, or its JSON object.
fn one(snap: &Snapshot, out: &Output) -> Result<(), Failure> {
    if out.json() {
        crate::print(&format!("{}\n", out.object(output::snapshot_json(snap))))
    } else {
        crate::print(&out.record(output::SNAPSHOT_FIELDS, &output::show_values(snap)))
    }
}

/// Runs `f` for every item. One item: its failure as it is. Several: every failure is
/// printed as it happens and the first one's exit code is returned.
fn each<T>(items: &[T], mut f: impl FnMut(&T) -> Result<(), Failure>) -> Result<(), Failure> {
    if let [item] = items {
        return f(item);
    }
    let mut first = None;
    for item in items {
        if let Err(failure) = f(item) {
            let code = failure.report();
            first = first.or(Some(code));
        }
    }
    first.map_or(Ok(()), |code| Err(Failure::Reported(code)))
}

/// `volume list`: the detail listing, page after page as it is printed, stopped after `limit`.
fn volume_list(client: &ServiceClient, opts: &volumes::ListOpts, long: bool, limit: Option<usize>, shape: &Output) -> Result<(), Failure> {
    let listing = volumes::list_detail(client, opts)?.take(limit.unwrap_or(usize::MAX));
    let mut out = std::io::stdout().lock();
    if shape.json() {
        out.write_all(b"[")?;
        let mut first = true;
        for volume in listing {
            let volume = volume?;
            write!(out, "{}{}", if first { "\n" } else { ",\n" }, shape.object(output::volume_json(&volume)))?;
            first = false;
        }
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    } else {
        let rows = listing.map(|v| v.map(|v| output::volume_list_row(&v))).collect::<Result<Vec<_>, Error>>()?;
        let shown = if long { output::VOLUME_COLUMNS.len() } else { 5 };
        out.write_all(shape.rows(output::VOLUME_COLUMNS, shown, &rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Prints one volume: a Field/Value table, its values, or its JSON object.
fn one_volume(volume: &Volume, out: &Output) -> Result<(), Failure> {
    if out.json() {
        crate::print(&format!("{}\n", out.object(output::volume_json(volume))))
    } else {
        crate::print(&out.record(output::VOLUME_FIELDS, &output::volume_show_values(volume)))
    }
}

/// The volume `name_or_id` names: by id when it is shaped like one, else by name (exactly
/// one volume; a name is never sent as an id).
fn resolve_volume(client: &ServiceClient, name_or_id: &str) -> Result<Volume, Error> {
    if looks_like_uuid(name_or_id) { volumes::get(client, name_or_id) } else { volumes::find_by_name(client, name_or_id) }
}

/// The id `name_or_id` stands for: itself when shaped like an id (no request), else the id
/// of the one volume with that name.
fn volume_id_of(client: &ServiceClient, name_or_id: &str) -> Result<String, Error> {
    if looks_like_uuid(name_or_id) { Ok(name_or_id.to_owned()) } else { Ok(volumes::find_by_name(client, name_or_id)?.id) }
}

/// The snapshot `name_or_id` names: by id, else (when it is not shaped like an id) by name.
fn resolve(client: &ServiceClient, name_or_id: &str) -> Result<Snapshot, Error> {
    match snapshots::get(client, name_or_id) {
        // Not an id Cinder knows, or not one that can be an id at all (a slash in a name).
        Err(e) if !looks_like_uuid(name_or_id) && (e.is_not_found() || matches!(e, Error::InvalidInput(_))) => {
            snapshots::find_by_name(client, name_or_id)
        }
        other => other,
    }
}

/// The id `name_or_id` stands for: itself when shaped like an id (no request), else the id
/// of the snapshot it names.
fn id_of(client: &ServiceClient, name_or_id: &str) -> Result<String, Error> {
    if looks_like_uuid(name_or_id) { Ok(name_or_id.to_owned()) } else { Ok(resolve(client, name_or_id)?.id) }
}

/// `8-4-4-4-12` hexadecimal digits.
fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// [`waiting`] for a volume.
fn waiting_volume<T>(
    timeout: Option<Duration>,
    seen: Option<&Volume>,
    wait: impl FnOnce(&volumes::WaitOpts) -> cinder_snapshots::Result<T>,
) -> Result<T, Failure> {
    let mut opts = volumes::WaitOpts::new();
    if let Some(t) = timeout {
        opts = opts.timeout(t);
    }
    let progress = Progress::new();
    if let Some(volume) = seen {
        progress.show(volume);
    }
    let shown = progress.clone();
    let result = wait(&opts.on_progress(move |v| shown.show(v)));
    progress.finish();
    Ok(result?)
}

/// Runs a wait with `timeout` (else the client's default, 30 minutes) and its progress on
/// stderr, starting from `seen` when the snapshot was just read.
fn waiting<T>(
    timeout: Option<Duration>,
    seen: Option<&Snapshot>,
    wait: impl FnOnce(&WaitOpts) -> cinder_snapshots::Result<T>,
) -> Result<T, Failure> {
    let mut opts = WaitOpts::new();
    if let Some(t) = timeout {
        opts = opts.timeout(t);
    }
    let progress = Progress::new();
    if let Some(snap) = seen {
        progress.show(snap);
    }
    let shown = progress.clone();
    let result = wait(&opts.on_progress(move |snap| shown.show(snap)));
    progress.finish();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(looks_like_uuid("da89784d-f5b3-463b-b79a-e0d97710ff99"));
        assert!(looks_like_uuid("DA89784D-F5B3-463B-B79A-E0D97710FF99"));
        for not in
            ["nightly", "da89784d-f5b3-463b-b79a-e0d97710ff9", "da89784d_f5b3-463b-b79a-e0d97710ff99", "da89784df5b3463bb79ae0d97710ff99"]
        {
            assert!(!looks_like_uuid(not), "{not}");
        }
    }
}
