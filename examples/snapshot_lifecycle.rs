//! The whole life of a snapshot, against any cloud configured through the `OS_*` variables:
//! snapshot a volume with the labels of a retention policy (`lifecycle-demo`, keep the last
//! 2), wait with progress, label it further, list the volume's snapshots, then prune by the
//! policy: only the policy's own snapshots beyond the 2 newest are deleted, never one made
//! by hand, never the newest. Run it three times on a volume and the first snapshot goes.
//!
//! ```sh
//! source admin.env                      # OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, ...
//! cargo run --example snapshot_lifecycle -- VOLUME_ID
//! ```
//!
//! Without a VOLUME_ID a 1 GiB scratch volume is created first with `volumes::create` and
//! its wait (and deleted at the end with `volumes::delete` and its wait).

use std::io::Write;
use std::time::Duration;

use cinder_snapshots::job::{self, PruneOpts};
use cinder_snapshots::retention::{self, Policy};
use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, UpdateMetadataOpts, WaitOpts};
use cinder_snapshots::volumes::{self, VolumeStatus};
use cinder_snapshots::{ServiceClient, timestamp};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let client = ServiceClient::from_env()?;
    client.authenticate()?;
    println!("endpoint {} at microversion {}", client.endpoint()?, client.microversion()?);

    let (volume_id, scratch) = match std::env::args().nth(1) {
        Some(id) => (id, false),
        None => (create_scratch_volume(&client)?, true),
    };

    // Snapshot with the policy's labels and wait, showing the progress Cinder reports.
    let policy = Policy::builder("lifecycle-demo").keep_last(2).build()?;
    let now = time::OffsetDateTime::now_utc();
    let name = format!("lifecycle-{}", now.unix_timestamp());
    let mut create = CreateOpts::new(&volume_id).name(&name).description("made by the snapshot_lifecycle example");
    for (key, value) in retention::labels(&policy, now) {
        create = create.metadata(key, value);
    }
    let snap = snapshots::create(&client, &create)?;
    println!("created {} ({}), request {}", snap.id, snap.status, snap.request_id.as_deref().unwrap_or("-"));
    let progress = WaitOpts::new().initial_interval(Duration::from_millis(200)).on_progress(|s| {
        eprint!("\r  {} {}   ", s.status, s.progress.as_deref().unwrap_or(""));
        let _ = std::io::stderr().flush();
    });
    let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &progress)?;
    eprintln!();
    println!("{} is {}", snap.id, snap.status);

    // Label it further (merge keeps the policy's labels).
    let labels = UpdateMetadataOpts::new().set("made-by", "snapshot_lifecycle");
    let metadata = snapshots::merge_metadata(&client, &snap.id, &labels)?;
    println!("metadata: {metadata:?}");

    // List the volume's snapshots, to the last page.
    let opts = ListOpts::new().volume_id(volume_id.clone());
    for s in snapshots::list_detail(&client, &opts)? {
        let s = s?;
        let created = s.created_at.map_or("?".to_owned(), timestamp::format_utc);
        println!("  {}  {:<10} {:>3} GiB  {}  {}", s.id, s.status, s.size, created, s.name.as_deref().unwrap_or("-"));
    }

    // Prune by the policy: its own snapshots beyond the 2 newest, each with its reasons.
    let report = job::prune(
        &client,
        &PruneOpts::new(policy.clone())
            .volumes([volume_id.clone()])
            .wait_opts(WaitOpts::new().initial_interval(Duration::from_millis(200))),
    )?;
    for o in report.outcomes() {
        println!("  {} {:<8} {}", o.snapshot().id, o.outcome(), o.decision().reasons_text());
    }
    if !report.is_success() {
        return Err("some deletes failed (see above)".into());
    }

    if scratch {
        // A volume with snapshots cannot be deleted: remove this example's last ones first.
        for s in snapshots::list_detail(&client, &ListOpts::new().volume_id(volume_id.clone()))? {
            let s = s?;
            if retention::is_owned(&s, policy.id()) {
                snapshots::delete(&client, &s.id)?;
                snapshots::wait_for_delete(&client, &s.id, &WaitOpts::new().initial_interval(Duration::from_millis(200)))?;
            }
        }
        volumes::delete(&client, &volume_id)?;
        volumes::wait_for_delete(&client, &volume_id, &volumes::WaitOpts::new().initial_interval(Duration::from_millis(200)))?;
        println!("deleted scratch volume {volume_id}");
    }
    Ok(())
}

/// Creates a 1 GiB volume and waits until it is available (a volume in `error` ends the
/// wait with that error).
fn create_scratch_volume(client: &ServiceClient) -> Result<String, Box<dyn std::error::Error>> {
    let volume = volumes::create(client, &volumes::CreateOpts::new(1).name("snapshot-lifecycle-scratch"))?;
    let wait = volumes::WaitOpts::new().initial_interval(Duration::from_millis(200)).timeout(Duration::from_secs(300));
    let volume = volumes::wait_for_status(client, &volume.id, VolumeStatus::Available, &wait)?;
    println!("created scratch volume {}", volume.id);
    Ok(volume.id)
}
