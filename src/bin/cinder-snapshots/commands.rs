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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinder_snapshots::job::{self, CheckOpts, JobLock, JobOpts, LockError, MetricsFile, PruneOpts, ReportOpts};
use cinder_snapshots::resource::canonical_id;
use cinder_snapshots::snapshots::{self, Snapshot, SnapshotStatus, WaitOpts};
use cinder_snapshots::spec::{self as estate_spec, Mode, TargetsOpts, run_targets};
use cinder_snapshots::volumes::{self, RevertRefusal, Volume, VolumeStatus};
use cinder_snapshots::{Error, ServiceClient};

use crate::Failure;
use crate::args::{Command, RestoreFrom, Target};
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
            if out.format == output::Format::Yaml {
                crate::print(&output::yaml(&output::metadata_json(&all)))
            } else if out.json() {
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
        Command::Pin { snapshot, note: Some(note) } => {
            let id = id_of(client, snapshot)?;
            job::pin(client, &id, note)?;
            Ok(())
        }
        Command::Pin { snapshot, note: None } => {
            let id = id_of(client, snapshot)?;
            job::unpin(client, &id)?;
            Ok(())
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
            let id = id_of(client, snapshot)?;
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
        Command::Prune { opts, volumes: names, lock_file } => {
            let _lock = if opts.is_dry_run() { None } else { Some(job_lock(client, opts.policy().id(), lock_file.as_deref())?) };
            if names.is_empty() {
                return prune(client, opts, out);
            }
            // Ids (in Cinder's form, no request) or names (looked up).
            let ids = names.iter().map(|v| volume_id_of(client, v)).collect::<Result<Vec<_>, Error>>()?;
            prune(client, &opts.clone().volumes(ids), out)
        }
        // Dispatched by main (a client per target).
        Command::Estate { .. } => {
            Err(Failure::Usage(crate::args::Usage { message: "a job spec has no single client".into(), command: None }))
        }
        Command::Run { opts, lock_file, metrics, .. } => {
            let _lock = if opts.is_dry_run() { None } else { Some(job_lock(client, opts.policy().id(), lock_file.as_deref())?) };
            run_job(client, opts, metrics.as_deref(), out)
        }
        Command::Report { opts } => report(client, opts, out),
        Command::Check { opts, metrics } => check(client, opts, metrics.as_deref(), out),
        Command::VolumeList { opts, long, limit } => volume_list(client, opts, *long, *limit, out),
        Command::VolumeShow { volume } => one_volume(&resolve_volume(client, volume)?, out),
        Command::VolumeSet { volume, metadata } => {
            let id = volume_id_of(client, volume)?;
            volumes::merge_metadata(client, &id, &metadata.iter().cloned().collect())?;
            Ok(())
        }
        Command::VolumeUnset { volume, keys } => {
            let id = volume_id_of(client, volume)?;
            each(keys, |key| Ok(volumes::delete_metadata_key(client, &id, key)?))
        }
        Command::Restore { from, name, size, wait } => {
            let snapshot_id = match from {
                RestoreFrom::Snapshot(snapshot) => id_of(client, snapshot).map_err(ambiguous_restore)?,
                RestoreFrom::Latest { volume, policy } => {
                    volumes::latest_owned_snapshot(client, &volume_id_of(client, volume)?, policy.as_deref())?.id
                }
            };
            let mut opts = volumes::CreateOpts::from_snapshot(snapshot_id);
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
            let reverted = match snapshot {
                Some(snapshot) => id_of(client, snapshot).and_then(|id| volumes::revert_to_snapshot(client, &volume_id, &id).map(|()| id)),
                None => volumes::revert_to_latest(client, &volume_id).map(|snap| snap.id),
            };
            if let Err(e) = reverted {
                return Err(revert_failure(e, &volume_id, snapshot.as_deref()));
            }
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

/// `restore NAME` matching several snapshots (the job named all the volumes' snapshots of a
/// window alike before it added the volume id): the matches, and the way to pick one.
fn ambiguous_restore(e: Error) -> Failure {
    if !matches!(&e, Error::MultipleMatches { resource: "snapshot", .. }) {
        return Failure::Cloud(e);
    }
    crate::error_line(&format!(
        "{}
To restore a volume's newest snapshot: cinder-snapshots restore --volume VOLUME --latest [--policy ID]; or give a snapshot id",
        e.full_message()
    ));
    Failure::Reported(1)
}

/// A failed revert: a refusal (Cinder's, or ours before sending) explained in our words with
/// what to do instead (exit 1); any other error as it is.
fn revert_failure(e: Error, volume_id: &str, snapshot: Option<&str>) -> Failure {
    let Some(reason) = volumes::revert_refusal(&e) else { return Failure::Cloud(e) };
    let snap = match (&e, snapshot) {
        (Error::RevertRefused { snapshot: Some(s), .. }, _) => s.clone(),
        (_, Some(s)) => s.to_owned(),
        _ => "the latest snapshot".to_owned(),
    };
    // Cloud text (ids) escaped here: a newline in it must not make a line of its own.
    let (snap, volume_id) = (output::printable(&snap), output::printable(volume_id));
    let text = match reason {
        RevertRefusal::NoSnapshots => format!("volume {volume_id} has no snapshot to revert to"),
        RevertRefusal::NotLatestSnapshot => format!(
            "Cinder reverts a volume only to its latest snapshot, and {snap} is not the latest of volume {volume_id}.\n\
             To revert to the latest: cinder-snapshots revert {volume_id} --latest\n\
             To get an older snapshot's data back, make a new volume from it: cinder-snapshots restore {snap}"
        ),
        RevertRefusal::SizeMismatch => format!(
            "volume {volume_id} was extended after snapshot {snap} was taken: Cinder cannot revert it.\n\
             Make a new volume from the snapshot instead: cinder-snapshots restore {snap}"
        ),
        RevertRefusal::VolumeNotAvailable => format!(
            "volume {volume_id} is not available (attached, or busy): Cinder reverts only a detached, idle volume.\n\
             Detach it, or wait until it is available, and try again"
        ),
        RevertRefusal::SnapshotNotAvailable if matches!(e, Error::RevertRefused { .. }) => format!(
            "not reverting volume {volume_id}: its latest snapshot ({snap}) is not available, and Cinder would leave\n\
             the volume stuck in reverting. Wait for the snapshot (cinder-snapshots wait SNAPSHOT) or delete it, then\n\
             try again. Nothing was sent."
        ),
        RevertRefusal::SnapshotNotAvailable => format!(
            "snapshot {snap} is not available: Cinder refused the revert after marking volume {volume_id} reverting,\n\
             where it stays until an admin resets its status (openstack volume set --state available {volume_id})"
        ),
        RevertRefusal::AmbiguousLatest => format!(
            "not reverting volume {volume_id}: several snapshots ({snap}) share its newest creation time, so which\n\
             one Cinder would revert to cannot be told. Nothing was sent."
        ),
        _ => return Failure::Cloud(e),
    };
    crate::error_line(&text);
    Failure::Reported(1)
}

/// The job's lock (`run`, `prune`; not taken by a dry run), held until the command ends:
/// `lock_file`, else the default file of this cloud, project and policy. Held by another
/// run: exit 5, naming it; not takeable: exit 1.
fn job_lock(client: &ServiceClient, policy_id: &str, lock_file: Option<&Path>) -> Result<JobLock, Failure> {
    let path = match lock_file {
        Some(p) => p.to_path_buf(),
        None => JobLock::default_path(client, policy_id)
            .ok_or_else(|| Error::Config("no place for the job's lock: set HOME or XDG_STATE_HOME, or give --lock-file PATH".into()))?,
    };
    JobLock::acquire(&path).map_err(|e| {
        crate::error_line(&e.to_string());
        Failure::Reported(match e {
            LockError::Held { .. } => 5,
            _ => 1,
        })
    })
}

/// `run`, `check`, `prune` or `plan` with `--config`: every target of the spec, each with the
/// client `connect` makes it, one report with a section per target. The lock (`run`,
/// `prune`): `--lock-file`, else `estate-HASH.lock` in the default directory, the hash of the
/// spec's canonical path and its targets' names (held: exit 5). Two targets on one project
/// and endpoint with a common policy: exit 2 (`check`: UNKNOWN). Exit: the report's (0, 1, 3;
/// `check`: the plugin's).
pub fn estate(
    command: &Command,
    connect: impl Fn(&estate_spec::Target) -> Result<ServiceClient, Error> + Sync,
    out: &Output,
) -> Result<(), Failure> {
    let Command::Estate { mode, spec, path, lock_file, flags } = command else {
        return Err(Failure::Reported(2));
    };
    let _lock = match mode {
        Mode::Run | Mode::Prune => {
            let path = match lock_file {
                Some(p) => p.clone(),
                None => JobLock::spec_path(path, spec.targets().iter().map(|t| t.name.as_str())).ok_or_else(|| {
                    Error::Config("no place for the job's lock: set HOME or XDG_STATE_HOME, or give --lock-file PATH".into())
                })?,
            };
            Some(JobLock::acquire(&path).map_err(|e| {
                crate::error_line(&e.to_string());
                Failure::Reported(match e {
                    LockError::Held { .. } => 5,
                    _ => 1,
                })
            })?)
        }
        _ => None,
    };
    let stop = crate::signals::stop_flag();
    let flags = flags.clone();
    let mut opts = TargetsOpts::new(*mode).adjust(move |o| flags.apply(o).cancel_flag(stop.clone()));
    // run, plan and prune print each target's section as it is done (in the spec's order)
    // and let it go: the estate's memory is the targets in flight, not every report.
    let streamed = *mode != Mode::Check && out.format != output::Format::Yaml;
    let sink = Arc::new(SectionSink { out: out.clone(), started: AtomicBool::new(false), failed: Mutex::new(None) });
    if streamed {
        let sink = Arc::clone(&sink);
        opts = opts.each_target(move |t| sink.section(t));
    }
    let report = match run_targets(spec, connect, &opts) {
        Ok(report) => report,
        Err(e) if *mode == Mode::Check => {
            let _ = crate::print(&job::unknown_output(&e.to_string()));
            crate::error_line(&e.to_string());
            return Err(Failure::Reported(3));
        }
        Err(e) => {
            crate::error_line(&e.to_string());
            return Err(Failure::Reported(2));
        }
    };
    match out.format {
        _ if streamed => sink.finish(&report)?,
        output::Format::Json | output::Format::Yaml => print_report(&report, out.format)?,
        _ if *mode == Mode::Check => crate::print(&report.check_output())?,
        _ => crate::print(&output::estate_text(&report, out))?,
    }
    if report.exit_code != 0 {
        if *mode != Mode::Check {
            let failed = report.targets.iter().filter(|t| t.exit_code != 0).count();
            crate::error_line(&format!("{failed} of {} targets failed (see the output)", report.targets.len()));
        }
        return Err(Failure::Reported(report.exit_code));
    }
    Ok(())
}

/// Prints a spec's report one target at a time: as text each section, then the totals; as
/// JSON the report's own shape (`{"targets": [...], "exit_code"}`), each section written
/// when it is done.
struct SectionSink {
    out: Output,
    /// Whether the first section was written (JSON: the opening, then commas).
    started: AtomicBool,
    /// The first failure to write, reported at the end.
    failed: Mutex<Option<Failure>>,
}

impl SectionSink {
    fn section(&self, t: &estate_spec::TargetReport) {
        let first = !self.started.swap(true, Ordering::SeqCst);
        let text = if self.out.json() {
            match serde_json::to_string_pretty(t) {
                // The section inside the report: indented as the array's items are.
                Ok(json) => {
                    let body: Vec<String> = json.lines().map(|l| format!("    {l}")).collect();
                    format!("{}{}", if first { "{\n  \"targets\": [\n" } else { ",\n" }, body.join("\n"))
                }
                Err(e) => return self.fail(Error::InvalidInput(format!("cannot write the report: {e}")).into()),
            }
        } else {
            output::target_text(t, &self.out)
        };
        if let Err(f) = crate::print(&text) {
            self.fail(f);
        }
    }

    fn fail(&self, f: Failure) {
        let mut failed = self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failed.get_or_insert(f);
    }

    /// The end of the report (JSON: the exit code; text: the totals), or the first failure
    /// to write a section.
    fn finish(&self, report: &estate_spec::TargetsReport) -> Result<(), Failure> {
        if let Some(f) = self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            return Err(f);
        }
        if self.out.json() {
            let open = if self.started.load(Ordering::SeqCst) { "\n  ]" } else { "{\n  \"targets\": []" };
            crate::print(&format!("{open},\n  \"exit_code\": {}\n}}\n", report.exit_code))
        } else {
            crate::print(&output::estate_summary(report))
        }
    }
}

/// `prune`: the report as a table and a summary line, or as JSON; exit 1 when a delete
/// failed (each failure is in the output; one line on stderr counts them).
fn prune(client: &ServiceClient, opts: &PruneOpts, out: &Output) -> Result<(), Failure> {
    let report = job::prune(client, opts)?;
    let rows: Vec<Vec<String>> = report.outcomes().iter().map(|o| output::prune_row(o, report.is_dry_run())).collect();
    // Without --dry-run, the Outcome column too.
    let shown = if report.is_dry_run() { output::PRUNE_COLUMNS.len() - 1 } else { output::PRUNE_COLUMNS.len() };
    match out.format {
        output::Format::Json | output::Format::Yaml => print_report(&report, out.format)?,
        output::Format::Table | output::Format::Shell => {
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
    let stop = crate::signals::stop_flag();
    // A dry run creates nothing and waits for nothing: no progress line.
    let cli =
        if opts.is_dry_run() { opts.clone().cancel_flag(stop) } else { opts.clone().progress(move |p| shown.counts(p)).cancel_flag(stop) };
    let report = one_entry_run(client, cli);
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
        output::Format::Json | output::Format::Yaml => print_report(&report, out.format)?,
        output::Format::Table | output::Format::Shell => {
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
    if let Some(hook) = report.on_failure().filter(|h| !h.succeeded()) {
        crate::error_line(&format!("the on-failure hook failed ({})", hook.describe()));
    }
    if report.interrupted() {
        crate::error_line("interrupted (SIGTERM/SIGINT): no further create was sent, the post-hooks due ran, nothing was pruned");
        return Err(Failure::Reported(1));
    }
    if report.timed_out() {
        crate::error_line("the wait timed out: the snapshots still creating are kept and reused by the next run");
        return Err(Failure::Reported(3));
    }
    if report.no_volume_matched() {
        crate::error_line(&format!("no volume matched {} (--allow-empty makes that a success)", opts.get_selection()));
        return Err(Failure::Reported(1));
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

/// The flag form of `run` as a one-entry spec (target `default`, selection `default`, the
/// one policy: [`Spec::single`](estate_spec::Spec::single)) through
/// [`run_targets`](estate_spec::run_targets), the spec's code path, with the client already
/// made: the single job's report, or its error (the target's own error too, such as a failed
/// authentication). `opts` is the command line's whole job (hooks, polls, progress, cancel
/// flag, ...); the spec gives it its selection (the policy choices among the one policy).
fn one_entry_run(client: &ServiceClient, opts: JobOpts) -> Result<job::JobReport, Error> {
    let spec = estate_spec::Spec::single(
        estate_spec::PolicySpec::new(opts.policy().clone()),
        opts.get_selection().clone(),
        estate_spec::Settings::new(),
    );
    let targets = TargetsOpts::new(Mode::Run).adjust(move |o| opts.clone().selection(o.get_selection().clone()));
    match one_entry(client, &spec, &targets)? {
        estate_spec::Outcome::Run(r) => Ok(*r),
        _ => Err(Error::InvalidInput("the one-entry spec's job gave no run report".into())),
    }
}

/// The flag form of `check` as a one-entry spec, as [`one_entry_run`] is `run`'s: the
/// policy with its rules when `--keep-*` gave some, else known by its id and thresholds only
/// ([`PolicySpec::check_only`](estate_spec::PolicySpec::check_only): no rule made up), through
/// [`run_targets`] in [`Mode::Check`]. `opts` is the command line's whole check (timeout,
/// `--warn-uncovered`, the rules, ...); the spec gives it its selection. `--timeout` bounds
/// the connection and the check together, as when the check called `job::check` itself. The
/// single check's report, or its error.
fn one_entry_check(client: &ServiceClient, opts: CheckOpts) -> Result<job::CheckReport, Error> {
    let policy = match opts.get_policy() {
        Some(rules) => {
            let mut p = estate_spec::PolicySpec::new(rules.clone());
            (p.warn, p.crit) = (Some(opts.warn()), Some(opts.crit()));
            p
        }
        None => estate_spec::PolicySpec::check_only(opts.policy_id(), opts.warn(), opts.crit()),
    };
    let spec = estate_spec::Spec::single(policy, opts.get_selection().clone(), estate_spec::Settings::new());
    // One deadline for the connection and the check, as `--timeout` says (the connection is
    // bounded by run_targets, the check ends by the same instant).
    let ends_by = std::time::Instant::now().checked_add(opts.get_timeout());
    let targets = TargetsOpts::new(Mode::Check).adjust_check(move |o| {
        let check = opts.clone().selection(o.get_selection().clone());
        match ends_by {
            Some(instant) => check.ends_by(instant),
            None => check,
        }
    });
    match one_entry(client, &spec, &targets)? {
        estate_spec::Outcome::Check(r) => Ok(*r),
        _ => Err(Error::InvalidInput("the one-entry spec's job gave no check report".into())),
    }
}

/// The one job of a one-entry spec through [`run_targets`] with the client already made:
/// its outcome, or its error (the target's own error too, such as a failed authentication).
fn one_entry(client: &ServiceClient, spec: &estate_spec::Spec, targets: &TargetsOpts) -> Result<estate_spec::Outcome, Error> {
    // One target: no duplicate to refuse.
    let report = run_targets(spec, |_| Ok(client.clone()), targets).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let Some(target) = report.targets.into_iter().next() else {
        return Err(Error::InvalidInput("the one-entry spec has no target".into()));
    };
    match target.error {
        Some(estate_spec::TargetError::Cloud(e)) => return Err(e),
        // A bug: the process panics as the job itself would have.
        Some(estate_spec::TargetError::Panicked(why)) => std::panic::panic_any(why),
        Some(other) => return Err(Error::InvalidInput(other.to_string())),
        None => {}
    }
    match target.jobs.into_iter().next().map(|j| j.outcome) {
        Some(estate_spec::Outcome::Failed { error }) => Err(error),
        Some(outcome) => Ok(outcome),
        None => Err(Error::InvalidInput("the one-entry spec gave no job".into())),
    }
}

/// `check`: the status line (or the report, or one row a volume), and the plugin's exit
/// code. Any error is UNKNOWN (exit 3), with the error in the line. The check runs as a
/// one-entry spec ([`one_entry_check`]), the spec's code path.
fn check(client: &ServiceClient, opts: &CheckOpts, metrics: Option<&Path>, out: &Output) -> Result<(), Failure> {
    let report = one_entry_check(client, opts.clone());
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
        output::Format::Json | output::Format::Yaml => print_report(&report, out.format)?,
        // Escaped by the library: one '|', only the check's own lines.
        output::Format::Table | output::Format::Shell => crate::print(&report.output())?,
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
        output::Format::Json | output::Format::Yaml => print_report(&report, out.format)?,
        output::Format::Table | output::Format::Shell => {
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

/// A report as pretty JSON or as YAML (the same data).
fn print_report(report: &impl serde::Serialize, format: output::Format) -> Result<(), Failure> {
    let written = |e: serde_json::Error| Error::InvalidInput(format!("cannot write the report: {e}"));
    if format == output::Format::Yaml {
        return crate::print(&output::yaml(&serde_json::to_value(report).map_err(written)?));
    }
    // Written as it is serialised, never whole in memory: an estate's report is the largest
    // thing the tool holds (10,000 volumes: megabytes of JSON).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, report)
        .map_err(|e| if e.is_io() { Failure::from(std::io::Error::from(e)) } else { written(e).into() })?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
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
    let shown = if long { output::SNAPSHOT_COLUMNS.len() } else { 5 };
    listing_out(listing, output::SNAPSHOT_COLUMNS, shown, shape, output::snapshot_json, output::list_row)
}

/// Prints a listing: JSON (an array, one object a line) or YAML (a sequence), streamed as
/// the pages come unless `--sort-column` needs them all; else rows of the `shown` first
/// columns. A page that fails midway leaves the JSON array unclosed (and the exit code not 0).
fn listing_out<T>(
    listing: impl Iterator<Item = Result<T, Error>>,
    all: &'static [output::Column],
    shown: usize,
    shape: &Output,
    json: fn(&T) -> serde_json::Value,
    row: fn(&T) -> Vec<String>,
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    if shape.json() {
        let sorted;
        let items: Box<dyn Iterator<Item = Result<T, Error>>> = if shape.sort.is_empty() {
            Box::new(listing)
        } else {
            let mut all_items = listing.collect::<Result<Vec<T>, Error>>()?;
            shape.sort_rows(all, &mut all_items, row);
            sorted = all_items;
            Box::new(sorted.into_iter().map(Ok))
        };
        let yaml = shape.format == output::Format::Yaml;
        if !yaml {
            out.write_all(b"[")?;
        }
        let mut first = true;
        for item in items {
            let item = item?;
            let text = shape.item(all, shown, json(&item));
            if yaml {
                out.write_all(text.as_bytes())?;
            } else {
                write!(out, "{}{text}", if first { "\n" } else { ",\n" })?;
            }
            first = false;
        }
        match (yaml, first) {
            (true, true) => out.write_all(b"[]\n")?,
            (true, false) => {}
            (false, true) => out.write_all(b"]\n")?,
            (false, false) => out.write_all(b"\n]\n")?,
        }
    } else {
        let rows = listing.map(|s| s.map(|s| row(&s))).collect::<Result<Vec<_>, Error>>()?;
        out.write_all(shape.rows(all, shown, &rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Prints one snapshot: a Field/Value table, its values, or its JSON object.
fn one(snap: &Snapshot, out: &Output) -> Result<(), Failure> {
    if out.json() {
        crate::print(&out.object(output::SNAPSHOT_FIELDS, output::SNAPSHOT_FIELDS.len(), output::snapshot_json(snap)))
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
    let shown = if long { output::VOLUME_COLUMNS.len() } else { 5 };
    listing_out(listing, output::VOLUME_COLUMNS, shown, shape, output::volume_json, output::volume_list_row)
}

/// Prints one volume: a Field/Value table, its values, or its JSON object.
fn one_volume(volume: &Volume, out: &Output) -> Result<(), Failure> {
    if out.json() {
        crate::print(&out.object(output::VOLUME_FIELDS, output::VOLUME_FIELDS.len(), output::volume_json(volume)))
    } else {
        crate::print(&out.record(output::VOLUME_FIELDS, &output::volume_show_values(volume)))
    }
}

/// The volume `name_or_id` names: by id when it is shaped like one (the crate's one rule,
/// [`canonical_id`]: 32 hex digits too, sent in Cinder's form), else by name (exactly one
/// volume; a name is never sent as an id).
fn resolve_volume(client: &ServiceClient, name_or_id: &str) -> Result<Volume, Error> {
    match canonical_id(name_or_id) {
        Some(id) => volumes::get(client, &id),
        None => volumes::find_by_name(client, name_or_id),
    }
}

/// The id `name_or_id` stands for: itself in Cinder's form when shaped like an id (no
/// request), else the id of the one volume with that name.
fn volume_id_of(client: &ServiceClient, name_or_id: &str) -> Result<String, Error> {
    match canonical_id(name_or_id) {
        Some(id) => Ok(id),
        None => Ok(volumes::find_by_name(client, name_or_id)?.id),
    }
}

/// The snapshot `name_or_id` names: by id when shaped like one ([`canonical_id`]), else
/// by id as given and then by name.
fn resolve(client: &ServiceClient, name_or_id: &str) -> Result<Snapshot, Error> {
    if let Some(id) = canonical_id(name_or_id) {
        return snapshots::get(client, &id);
    }
    match snapshots::get(client, name_or_id) {
        // Not an id Cinder knows, or not one that can be an id at all (a slash in a name).
        Err(e) if e.is_not_found() || matches!(e, Error::InvalidInput(_)) => snapshots::find_by_name(client, name_or_id),
        other => other,
    }
}

/// The id `name_or_id` stands for: itself in Cinder's form when shaped like an id (no
/// request), else the id of the snapshot it names.
fn id_of(client: &ServiceClient, name_or_id: &str) -> Result<String, Error> {
    match canonical_id(name_or_id) {
        Some(id) => Ok(id),
        None => Ok(resolve(client, name_or_id)?.id),
    }
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

    /// The command's look-ups follow the crate's one rule: 32 hex digits are an id (it was
    /// a name for `restore` and an id for `run --volume`).
    #[test]
    fn ids_follow_the_one_rule() {
        const ID: &str = "da89784d-f5b3-463b-b79a-e0d97710ff99";
        for (given, want) in [
            ("da89784d-f5b3-463b-b79a-e0d97710ff99", Some(ID)),
            ("DA89784D-F5B3-463B-B79A-E0D97710FF99", Some(ID)),
            ("da89784df5b3463bb79ae0d97710ff99", Some(ID)),
            ("nightly", None),
            ("da89784d-f5b3-463b-b79a-e0d97710ff9", None),
            ("da89784d_f5b3-463b-b79a-e0d97710ff99", None),
        ] {
            assert_eq!(canonical_id(given).as_deref(), want, "{given}");
        }
    }
}
