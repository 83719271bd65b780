//! A nightly backup job: snapshot each volume selected, wait until every snapshot is
//! available, then prune the job's own snapshots with a retention policy.
//!
//! The volumes are selected through the crate's `volumes` module: `--tag KEY=VALUE`
//! (repeatable: all must match) takes every volume with that metadata, listed to the last
//! page; a `VOLUME` argument is a volume id, or a name that must match exactly one volume.
//! Each volume is snapshotted once even when selected twice. Each snapshot is named
//! `nightly-<volume id>-<YYYYMMDD>` (UTC) and carries the labels of the retention policy
//! `--policy ID` (default `nightly`; see `retention::labels`): the policy id, the run's time
//! and the rules. Pruning uses `retention::prune`, restic's rules, with `--keep-daily N`
//! (default 7) and `--keep-weekly N` (default 4):
//!
//! - only snapshots carrying this policy's label are ever deleted: snapshots made by hand or
//!   by another policy are never touched;
//! - the newest snapshot of each volume is never deleted (so tonight's is kept), and a
//!   policy with no rule (`--keep-daily 0 --keep-weekly 0`) is refused;
//! - a volume whose snapshot failed tonight is not pruned at all; the others are;
//! - the listing is read to its last page before anything is deleted, and fails the prune
//!   when any page fails.
//!
//! `--dry-run` prints what the prune would delete, and why, and deletes nothing.
//!
//! ```sh
//! scripts/local-cloud up && set -a && source .local-cloud/admin.env && set +a
//! cargo run --example nightly_snapshots -- [--policy ID] [--keep-daily N] [--keep-weekly N] [--dry-run] [--tag KEY=VALUE]... [VOLUME]...
//! # every volume tagged backup=nightly:
//! cargo run --example nightly_snapshots -- --tag backup=nightly
//! ```
//!
//! One line per action on stdout; errors on stderr. Exit status: 0 when everything worked,
//! 1 when a call failed, 2 for bad arguments.

use std::process::ExitCode;

use cinder_snapshots::retention::{self, Outcome, Policy, PruneOpts};
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus, WaitOpts};
use cinder_snapshots::volumes;
use cinder_snapshots::{Error, ServiceClient};
use time::OffsetDateTime;

const USAGE: &str =
    "usage: nightly_snapshots [--policy ID] [--keep-daily N] [--keep-weekly N] [--dry-run] [--tag KEY=VALUE]... [VOLUME]...";

struct Args {
    /// Volume ids or names.
    volumes: Vec<String>,
    /// Metadata every selected volume has (`--tag`).
    tags: Vec<(String, String)>,
    policy: Policy,
    dry_run: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut id, mut daily, mut weekly, mut dry_run) = ("nightly".to_owned(), 7, 4, false);
    let (mut volumes, mut tags) = (Vec::new(), Vec::new());
    let number = |flag: &str, v: Option<String>| -> Result<u32, String> {
        let v = v.ok_or(format!("{flag} needs a number"))?;
        v.parse().map_err(|_| format!("{flag} {v:?} is not a whole number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--policy" => id = it.next().ok_or("--policy needs an id")?,
            "--keep-daily" => daily = number("--keep-daily", it.next())?,
            "--keep-weekly" => weekly = number("--keep-weekly", it.next())?,
            "--dry-run" => dry_run = true,
            "--tag" => {
                let tag = it.next().ok_or("--tag needs KEY=VALUE")?;
                let (k, v) = tag.split_once('=').filter(|(k, _)| !k.is_empty()).ok_or(format!("--tag {tag:?} is not KEY=VALUE"))?;
                tags.push((k.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}\n{USAGE}")),
            _ => volumes.push(arg),
        }
    }
    if volumes.is_empty() && tags.is_empty() {
        return Err(format!("no volume and no --tag given\n{USAGE}"));
    }
    // Refuses a bad id, and a policy with no rule (it would delete all but the newest).
    let policy = Policy::builder(id).keep_daily(daily).keep_weekly(weekly).build().map_err(|e| e.to_string())?;
    Ok(Args { volumes, tags, policy, dry_run })
}

/// `8-4-4-4-12` hexadecimal digits.
fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// The ids of the selected volumes, each once, in the order found: every volume with the
/// tags (to the last page), then the volumes named, by id or by name (exactly one match).
fn select(client: &ServiceClient, args: &Args) -> Result<Vec<String>, Error> {
    let mut ids: Vec<String> = Vec::new();
    if !args.tags.is_empty() {
        let opts = args.tags.iter().fold(volumes::ListOpts::new(), |o, (k, v)| o.metadata(k, v));
        for volume in volumes::list_detail(client, &opts)? {
            let volume = volume?;
            println!("selected {} ({}) by tag", volume.id, volume.name.as_deref().unwrap_or(""));
            ids.push(volume.id);
        }
    }
    for given in &args.volumes {
        let id = if looks_like_uuid(given) { given.clone() } else { volumes::find_by_name(client, given)?.id };
        ids.push(id);
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

/// Runs the job; `Ok(false)` when something failed but the job went on (already reported).
fn run(client: &ServiceClient, args: &Args) -> Result<bool, Error> {
    let now = OffsetDateTime::now_utc();
    let day = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
    let labels = retention::labels(&args.policy, now);
    let mut ok = true;
    let selected = select(client, args)?;
    if selected.is_empty() {
        println!("no volume selected");
    }

    // 1. One snapshot per volume, labelled for the policy. `force`: in-use volumes too.
    let mut made = Vec::new();
    for volume in &selected {
        let name = format!("nightly-{volume}-{day}");
        let opts = labels.iter().fold(CreateOpts::new(volume.as_str()).name(name.as_str()).force(true), |o, (k, v)| o.metadata(k, v));
        match snapshots::create(client, &opts) {
            Ok(snap) => {
                println!("created {} ({name}) of volume {volume}", snap.id);
                made.push((volume.clone(), snap.id));
            }
            Err(e) => {
                eprintln!("nightly_snapshots: cannot snapshot volume {volume}: {e}");
                ok = false;
            }
        }
    }

    // 2. Wait for all of them (they progress in parallel on the server). Only the volumes
    //    whose snapshot is there are pruned.
    let mut done = Vec::new();
    for (volume, id) in &made {
        match snapshots::wait_for_status(client, id, SnapshotStatus::Available, &WaitOpts::new()) {
            Ok(snap) => {
                println!("available {} ({} GiB)", snap.id, snap.size);
                done.push(volume.clone());
            }
            Err(e) => {
                eprintln!("nightly_snapshots: {e}");
                ok = false;
            }
        }
    }
    for volume in selected.iter().filter(|v| !done.contains(v)) {
        eprintln!("nightly_snapshots: not pruning volume {volume}: tonight's snapshot of it is not there");
    }

    // 3. Prune the policy's own snapshots of those volumes.
    let report = retention::prune(client, &PruneOpts::new(args.policy.clone()).volumes(done).dry_run(args.dry_run))?;
    for o in report.outcomes() {
        let s = o.snapshot();
        match o.outcome() {
            Outcome::Kept => println!("keeping {} ({})", s.id, o.decision().reasons_text()),
            Outcome::WouldDelete => println!("would delete {} (dry run)", s.id),
            Outcome::Deleted => println!("deleted {}", s.id),
            Outcome::Failed(e) => {
                eprintln!("nightly_snapshots: {e}");
                ok = false;
            }
            _ => println!("{} {}", s.id, o.outcome()),
        }
    }
    let c = report.counts();
    println!("done: {} snapshot(s) made, {} deleted, {} kept, {} failed ({})", made.len(), c.deleted, c.kept, c.failed, args.policy);
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
