//! The nightly backup job: a thin front for `cinder_snapshots::job::run`, the one way this
//! crate does the job (the `cinder-snapshots run` command is the other front of the same
//! function).
//!
//! It snapshots each selected volume once per window (by default a day), waits for all the
//! snapshots together (one paged listing per poll), and prunes the policy's own snapshots of
//! the volumes whose snapshot is available. A re-run in the same window (after a crash, or
//! from a timer catching up) reuses what the window already has: no duplicate, no leak. See
//! the `job` module's documentation for every step and guarantee.
//!
//! ```sh
//! scripts/local-cloud up && set -a && source .local-cloud/admin.env && set +a
//! cargo run --example nightly_snapshots -- --select backup=nightly --keep-daily 7 --keep-weekly 4
//! cargo run --example nightly_snapshots -- --volume db-data --every 6h --keep-last 4 --dry-run
//! ```
//!
//! Options: `--select KEY=VALUE` (also `--tag`; repeatable: all must match), `--volume ID|NAME`
//! (also a bare argument; repeatable), `--all`, `--all-projects`, `--policy ID` (default
//! `nightly`), `--keep-last N`, `--keep-hourly N`, `--keep-daily N`, `--keep-weekly N`,
//! `--keep-monthly N`, `--keep-yearly N`, `--keep-within DURATION` (restic's calendar
//! `1y2m3d4h`, `m` = months), `--utc-offset +HH:MM` (without any keep option: `--keep-daily
//! 7 --keep-weekly 4`), `--every WINDOW` (`hourly`, `daily`, `weekly`, `monthly`, `yearly`
//! or a duration such as `6h`, `30min`), `--concurrency N`, `--wait-timeout DURATION` (`2h`,
//! `90min`, or bare seconds), `--dry-run`, `--json`: the crate's one duration grammar
//! (`cinder_snapshots::duration`).
//!
//! One line per volume and a summary on stdout (or the report as JSON with `--json`),
//! progress and errors on stderr. Exit status: 0 all done, 1 some volume failed or was
//! skipped (or the run could not start), 3 the wait timed out, 2 bad arguments.

use std::io::Write;
use std::process::ExitCode;

use cinder_snapshots::ServiceClient;
use cinder_snapshots::duration;
use cinder_snapshots::job::{self, JobOpts, JobReport, VolumeAction, Window};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::time::UtcOffset;

const USAGE: &str = "usage: nightly_snapshots (--select KEY=VALUE... | --volume ID|NAME... | --all) [--all-projects] [--policy ID]
    [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]
    [--keep-within DURATION] [--utc-offset +HH:MM] [--every WINDOW] [--concurrency N] [--wait-timeout DURATION]
    [--dry-run] [--json]";

struct Args {
    opts: JobOpts,
    json: bool,
}

/// `90s`, `30m`, `6h`, `2d`, `1h30m`.
/// `+HH:MM` or `-HH:MM`.
fn offset(text: &str) -> Result<UtcOffset, String> {
    let bad = || format!("--utc-offset {text:?} is not +HH:MM or -HH:MM");
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1i8, rest),
        Some(("-", rest)) => (-1i8, rest),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let (h, m) = (h.checked_mul(sign).ok_or_else(bad)?, m.checked_mul(sign).ok_or_else(bad)?);
    UtcOffset::from_hms(h, m, 0).map_err(|_| bad())
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut id = "nightly".to_owned();
    let mut keep: Vec<(String, u32)> = Vec::new();
    let (mut within, mut utc_offset) = (None, None);
    let (mut tags, mut volumes) = (Vec::new(), Vec::new());
    let (mut all, mut all_projects, mut dry_run, mut json) = (false, false, false, false);
    let (mut every, mut concurrency, mut timeout) = (None, None, None);
    let value = |flag: &str, v: Option<String>| v.ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--select" | "--tag" => {
                let tag = value(&arg, it.next())?;
                let (k, v) = tag.split_once('=').filter(|(k, _)| !k.is_empty()).ok_or(format!("{arg} {tag:?} is not KEY=VALUE"))?;
                tags.push((k.to_owned(), v.to_owned()));
            }
            "--volume" => volumes.push(value(&arg, it.next())?),
            "--all" => all = true,
            "--all-projects" => all_projects = true,
            "--policy" => id = value(&arg, it.next())?,
            "--keep-last" | "--keep-hourly" | "--keep-daily" | "--keep-weekly" | "--keep-monthly" | "--keep-yearly" => {
                let v = value(&arg, it.next())?;
                let n = v.parse().map_err(|_| format!("{arg} {v:?} is not a whole number"))?;
                keep.push((arg.clone(), n));
            }
            "--keep-within" => {
                let v = value(&arg, it.next())?;
                within = Some(duration::parse_calendar(&v).map_err(|e| format!("{arg} {v:?} {e}"))?);
            }
            "--utc-offset" => utc_offset = Some(offset(&value(&arg, it.next())?)?),
            "--every" => every = Some(Window::parse(&value(&arg, it.next())?)?),
            "--concurrency" => {
                let v = value(&arg, it.next())?;
                concurrency =
                    Some(v.parse::<usize>().ok().filter(|n| *n > 0).ok_or(format!("--concurrency {v:?} is not a number above 0"))?);
            }
            "--wait-timeout" => {
                let v = value(&arg, it.next())?;
                timeout = Some(duration::parse_timeout(&v).map_err(|e| format!("{arg} {v:?} {e}"))?);
            }
            "--dry-run" => dry_run = true,
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}\n{USAGE}")),
            _ => volumes.push(arg),
        }
    }
    if keep.is_empty() && within.is_none() {
        keep = vec![("--keep-daily".into(), 7), ("--keep-weekly".into(), 4)];
    }
    let mut builder = Policy::builder(id);
    for (flag, n) in keep {
        builder = match flag.as_str() {
            "--keep-last" => builder.keep_last(n),
            "--keep-hourly" => builder.keep_hourly(n),
            "--keep-daily" => builder.keep_daily(n),
            "--keep-weekly" => builder.keep_weekly(n),
            "--keep-monthly" => builder.keep_monthly(n),
            _ => builder.keep_yearly(n),
        };
    }
    if let Some(d) = within {
        builder = builder.keep_within(d);
    }
    if let Some(o) = utc_offset {
        builder = builder.utc_offset(o);
    }
    // Refuses a bad id, and a policy with no rule (it would delete all but the newest).
    let policy = builder.build().map_err(|e| e.to_string())?;
    let mut opts = JobOpts::new(policy).all_volumes(all).all_projects(all_projects).dry_run(dry_run);
    for (k, v) in tags {
        opts = opts.select_tag(k, v);
    }
    for v in volumes {
        opts = opts.select_volume(v);
    }
    if opts.get_selection().is_empty() {
        return Err(format!("no volume selected: give --select KEY=VALUE, --volume ID|NAME or --all\n{USAGE}"));
    }
    if let Some(w) = every {
        opts = opts.every(w);
    }
    if let Some(n) = concurrency {
        opts = opts.concurrency(n);
    }
    if let Some(t) = timeout {
        opts = opts.timeout(t);
    }
    if !json {
        opts = opts.progress(|p| {
            eprintln!(
                "{} created, {} reused, {} available, {} failed of {} ({} pending)",
                p.created, p.reused, p.available, p.failed, p.total, p.pending
            )
        });
    }
    Ok(Args { opts, json })
}

/// Prints a line on stdout; a closed stdout (`| head`) is not an error of the job.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// One line per volume, then the summary.
fn print_report(report: &JobReport) {
    for v in report.volumes() {
        let mut line = format!("{:12} {}", v.action.to_string(), v.label());
        if let Some(id) = &v.snapshot_id {
            line.push_str(&format!(" snapshot {id}"));
        }
        if let Some(s) = &v.snapshot_status {
            line.push_str(&format!(" ({s})"));
        }
        if !v.pruned.is_empty() {
            let verb = if report.is_dry_run() { "would prune" } else { "pruned" };
            line.push_str(&format!("; {verb} {}", v.pruned.join(", ")));
        }
        say!("{line}");
        let errors = v.error.iter().map(ToString::to_string);
        for e in errors.chain(v.prune_errors.iter().map(ToString::to_string)).chain(v.warnings.iter().map(ToString::to_string)) {
            eprintln!("nightly_snapshots: {}: {e}", v.label());
        }
        if let (Some(why), VolumeAction::Failed | VolumeAction::Skipped) = (&v.prune_skipped, v.action) {
            say!("{:12} {} ({why})", "", v.label());
        }
    }
    let t = report.totals();
    say!(
        "{} window from {}, run {}: {} volumes, {} created, {} reused, {} would create, {} would reuse, {} failed, {} skipped, {} pruned, {} prune failures{}{}{} in {:.1} s",
        report.window(),
        report.window_label(),
        report.run_id(),
        t.volumes,
        t.created,
        t.reused,
        t.would_create,
        t.would_reuse,
        t.failed,
        t.skipped,
        t.pruned,
        t.prune_failed,
        if report.is_dry_run() { " (dry run)" } else { "" },
        if report.over_quota() { ", over quota" } else { "" },
        if report.timed_out() { ", timed out" } else { "" },
        report.elapsed().as_secs_f64()
    );
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("nightly_snapshots: {message}");
            return ExitCode::from(2);
        }
    };
    let report = match ServiceClient::from_env().and_then(|client| job::run(&client, &args.opts)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("nightly_snapshots: {}", e.full_message());
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => say!("{text}"),
            Err(e) => eprintln!("nightly_snapshots: {e}"),
        }
    } else {
        print_report(&report);
    }
    if report.timed_out() {
        ExitCode::from(3)
    } else if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
