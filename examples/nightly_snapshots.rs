//! A nightly job: snapshot every volume tagged for backup, wait for the snapshots, and prune
//! the job's snapshots older than the retention.
//!
//! Volumes are chosen by a metadata tag (`backup=nightly` by default) through the volumes API,
//! which the crate has no module for: `ServiceClient::send` with a `Request` reaches it on the
//! same client, token and microversion. The snapshots carry the label `created-by=nightly`;
//! pruning deletes only snapshots with that label, so hand-made ones are never touched.
//!
//! ```sh
//! scripts/local-cloud up && source .local-cloud/admin.env
//! cargo run --example nightly_snapshots -- [--tag KEY=VALUE] [--keep-days N] [--dry-run]
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, WaitOpts};
use cinder_snapshots::{Error, Request, ServiceClient};
use serde::Deserialize;
use time::OffsetDateTime;

const LABEL: (&str, &str) = ("created-by", "nightly");

struct Args {
    tag: (String, String),
    keep: time::Duration,
    dry_run: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args { tag: ("backup".into(), "nightly".into()), keep: time::Duration::days(7), dry_run: false };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tag" => {
                let v = it.next().ok_or("--tag needs KEY=VALUE")?;
                let (k, v) = v.split_once('=').ok_or("--tag needs KEY=VALUE")?;
                args.tag = (k.to_owned(), v.to_owned());
            }
            "--keep-days" => {
                let n: i64 = it.next().and_then(|n| n.parse().ok()).ok_or("--keep-days needs a number")?;
                args.keep = time::Duration::days(n);
            }
            "--dry-run" => args.dry_run = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[derive(Deserialize)]
struct Volumes {
    volumes: Vec<Volume>,
}

#[derive(Deserialize)]
struct Volume {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

fn run(client: &ServiceClient, args: &Args) -> Result<(), Error> {
    // 1. The tagged volumes (one page is plenty for a nightly job's scale).
    let filter = serde_json::json!({ &args.tag.0: &args.tag.1 }).to_string();
    let found: Volumes = client.send(Request::get(["volumes", "detail"]).query([("metadata", filter.as_str())]))?.json("volume list")?;
    println!("{} volume(s) tagged {}={}", found.volumes.len(), args.tag.0, args.tag.1);

    // 2. One snapshot each, then wait for all of them.
    let today = OffsetDateTime::now_utc().date();
    let mut made = Vec::new();
    for v in &found.volumes {
        let name = format!("nightly-{}-{today}", v.name.as_deref().unwrap_or(&v.id));
        if args.dry_run {
            println!("would snapshot {} as {name}", v.id);
            continue;
        }
        // force: snapshot attached (in-use) volumes too, as a nightly backup must.
        let snap = snapshots::create(client, &CreateOpts::new(&v.id).name(&name).force(true).metadata(LABEL.0, LABEL.1))?;
        println!("snapshot {} of volume {} started", snap.id, v.id);
        made.push(snap.id);
    }
    let wait = WaitOpts::new().timeout(Duration::from_secs(30 * 60));
    for id in &made {
        snapshots::wait_for_status(client, id, SnapshotStatus::Available, &wait)?;
        println!("snapshot {id} available");
    }

    // 3. Prune the job's own snapshots older than the retention.
    let cutoff = OffsetDateTime::now_utc() - args.keep;
    let opts = ListOpts { metadata: BTreeMap::from([(LABEL.0.to_owned(), LABEL.1.to_owned())]), ..Default::default() };
    let mut pruned = Vec::new();
    for snap in snapshots::list_detail(client, &opts)? {
        let snap = snap?;
        // A snapshot whose creation time could not be read is kept: never delete on a guess.
        let Some(created) = snap.created_at else { continue };
        if created < cutoff && snap.status == SnapshotStatus::Available {
            if args.dry_run {
                println!("would delete {} ({created})", snap.id);
            } else {
                snapshots::delete(client, &snap.id)?;
                println!("deleting {} ({created})", snap.id);
                pruned.push(snap.id);
            }
        }
    }
    for id in &pruned {
        snapshots::wait_for_delete(client, id, &wait)?;
        println!("deleted {id}");
    }
    println!("{} snapshot(s) made, {} pruned", made.len(), pruned.len());
    Ok(())
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nightly_snapshots: {e}");
            return ExitCode::from(2);
        }
    };
    match ServiceClient::from_env().and_then(|client| run(&client, &args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nightly_snapshots: {e}");
            ExitCode::FAILURE
        }
    }
}
