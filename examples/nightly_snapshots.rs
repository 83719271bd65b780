//! A nightly backup job: snapshot each volume given, wait until every snapshot is
//! available, then prune the job's own snapshots that are older than the retention.
//!
//! The volumes are given by id on the command line: this crate covers the snapshot API
//! only and has no volumes API to find them by tag or name. Each snapshot is named
//! `nightly-<volume id>-<YYYYMMDD>` (UTC) and carries the label `--label KEY=VALUE`
//! (default `created-by=nightly`) as metadata. Pruning lists the snapshots with that label
//! (the metadata filter needs microversion 3.22) and deletes those created more than
//! `--keep-days N` (default 7) days ago; snapshots without the label, and the ones made by
//! this run, are never touched. If any snapshot of this run fails, nothing is pruned.
//!
//! ```sh
//! scripts/local-cloud up && set -a && source .local-cloud/admin.env && set +a
//! cargo run --example nightly_snapshots -- [--keep-days N] [--label KEY=VALUE] VOLUME_ID...
//! ```
//!
//! One line per action on stdout; errors on stderr. Exit status: 0 when everything worked,
//! 1 when a call failed, 2 for bad arguments.

use std::collections::BTreeMap;
use std::process::ExitCode;

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, ListOptsBuilder, SnapshotStatus, WaitOpts};
use cinder_snapshots::{Error, ServiceClient};
use time::{Duration, OffsetDateTime};

const USAGE: &str = "usage: nightly_snapshots [--keep-days N] [--label KEY=VALUE] VOLUME_ID...";

struct Args {
    volumes: Vec<String>,
    keep_days: u32,
    label: (String, String),
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args { volumes: Vec::new(), keep_days: 7, label: ("created-by".to_owned(), "nightly".to_owned()) };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--keep-days" => {
                let n = it.next().ok_or("--keep-days needs a number of days")?;
                args.keep_days = n.parse().map_err(|_| format!("--keep-days {n:?} is not a whole number of days"))?;
            }
            "--label" => {
                let kv = it.next().ok_or("--label needs KEY=VALUE")?;
                match kv.split_once('=') {
                    Some((k, v)) if !k.is_empty() => args.label = (k.to_owned(), v.to_owned()),
                    _ => return Err(format!("--label {kv:?} is not KEY=VALUE")),
                }
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}\n{USAGE}")),
            _ => args.volumes.push(arg),
        }
    }
    if args.volumes.is_empty() {
        return Err(format!("no volume id given\n{USAGE}"));
    }
    Ok(args)
}

/// Runs the job; `Ok(false)` when something failed but the job went on (already reported).
fn run(client: &ServiceClient, args: &Args) -> Result<bool, Error> {
    let (key, value) = (&args.label.0, &args.label.1);
    let now = OffsetDateTime::now_utc();
    let day = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
    let mut ok = true;

    // Fail now on bad credentials, or on a server too old for the metadata filter (3.22),
    // rather than after making snapshots that could not be pruned.
    let prune = ListOpts { metadata: BTreeMap::from([(key.clone(), value.clone())]), ..Default::default() };
    prune.to_query(client.microversion()?)?;

    // 1. One snapshot per volume. `force`: in-use (attached) volumes too.
    let mut made = Vec::new();
    for volume in &args.volumes {
        let name = format!("nightly-{volume}-{day}");
        let opts = CreateOpts::new(volume.as_str()).name(name.as_str()).force(true).metadata(key.as_str(), value.as_str());
        match snapshots::create(client, &opts) {
            Ok(snap) => {
                println!("created {} ({name}) of volume {volume}", snap.id);
                made.push(snap.id);
            }
            Err(e) => {
                eprintln!("nightly_snapshots: cannot snapshot volume {volume}: {e}");
                ok = false;
            }
        }
    }

    // 2. Wait for all of them (they progress in parallel on the server).
    for id in &made {
        match snapshots::wait_for_status(client, id, SnapshotStatus::Available, &WaitOpts::new()) {
            Ok(snap) => println!("available {} ({} GiB)", snap.id, snap.size),
            Err(e) => {
                eprintln!("nightly_snapshots: {e}");
                ok = false;
            }
        }
    }
    if !ok {
        eprintln!("nightly_snapshots: not pruning, since tonight's snapshots are not all there");
        return Ok(false);
    }

    // 3. Prune the labelled snapshots created before the cutoff.
    let cutoff = now - Duration::days(i64::from(args.keep_days));
    let mut deleting = Vec::new();
    for snap in snapshots::list_detail(client, &prune)? {
        let snap = snap?;
        if made.contains(&snap.id) {
            continue;
        }
        let Some(created) = snap.created_at else {
            println!("keeping {}: its creation time is unreadable", snap.id);
            continue;
        };
        if created >= cutoff {
            continue;
        }
        // Cinder deletes only `available` and `error` snapshots.
        if !matches!(snap.status, SnapshotStatus::Available | SnapshotStatus::Error) {
            println!("skipping {} (created {created}): it is {}", snap.id, snap.status);
            continue;
        }
        match snapshots::delete(client, &snap.id) {
            Ok(()) => {
                println!("deleting {} (created {created})", snap.id);
                deleting.push(snap.id);
            }
            Err(e) => {
                eprintln!("nightly_snapshots: cannot delete {}: {e}", snap.id);
                ok = false;
            }
        }
    }
    for id in &deleting {
        match snapshots::wait_for_delete(client, id, &WaitOpts::new()) {
            Ok(()) => println!("deleted {id}"),
            Err(e) => {
                eprintln!("nightly_snapshots: {e}");
                ok = false;
            }
        }
    }
    println!("done: {} snapshot(s) made, {} pruned (label {key}={value}, keep {} days)", made.len(), deleting.len(), args.keep_days);
    Ok(ok)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("nightly_snapshots: {message}");
            return ExitCode::from(2);
        }
    };
    match ServiceClient::from_env().and_then(|client| run(&client, &args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("nightly_snapshots: {e}");
            ExitCode::FAILURE
        }
    }
}
