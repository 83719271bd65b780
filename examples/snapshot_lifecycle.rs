//! The whole life of a snapshot, against any cloud configured through the `OS_*` variables:
//! snapshot a volume, wait with progress, label it, list the volume's snapshots, prune the
//! labelled ones, and wait for the deletes.
//!
//! ```sh
//! source admin.env                      # OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, ...
//! cargo run --example snapshot_lifecycle -- VOLUME_ID
//! ```
//!
//! Without a VOLUME_ID a 1 GiB scratch volume is created first (and deleted at the end),
//! through the client's raw [`Request`] for the volume API.

use std::io::Write;
use std::time::Duration;

use cinder_snapshots::snapshots::{self, CreateOpts, ListOpts, SnapshotStatus, UpdateMetadataOpts, WaitOpts};
use cinder_snapshots::{Request, ServiceClient};

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

    // Snapshot and wait, showing the progress Cinder reports.
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let name = format!("lifecycle-{stamp}");
    let snap = snapshots::create(&client, &CreateOpts::new(&volume_id).name(&name).description("made by the snapshot_lifecycle example"))?;
    println!("created {} ({})", snap.id, snap.status);
    let progress = WaitOpts::new().initial_interval(Duration::from_millis(200)).on_progress(|s| {
        eprint!("\r  {} {}   ", s.status, s.progress.as_deref().unwrap_or(""));
        let _ = std::io::stderr().flush();
    });
    let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &progress)?;
    eprintln!();
    println!("{} is {}", snap.id, snap.status);

    // Label it (merge keeps any metadata already there).
    let labels = UpdateMetadataOpts::new().set("made-by", "snapshot_lifecycle").set("run", stamp.to_string());
    let metadata = snapshots::merge_metadata(&client, &snap.id, &labels)?;
    println!("metadata: {metadata:?}");

    // List the volume's snapshots.
    let opts = ListOpts::new().volume_id(volume_id.clone());
    let mine = snapshots::list_detail(&client, &opts)?.all()?;
    for s in &mine {
        let created = s.created_at.map_or("?".to_owned(), |t| t.to_string());
        println!("  {}  {:<10} {:>3} GiB  {}  {}", s.id, s.status, s.size, created, s.name.as_deref().unwrap_or("-"));
    }

    // Prune what this example made, and wait until it is gone.
    for s in mine.iter().filter(|s| s.metadata.get("made-by").map(String::as_str) == Some("snapshot_lifecycle")) {
        snapshots::delete(&client, &s.id)?;
        snapshots::wait_for_delete(&client, &s.id, &WaitOpts::new().initial_interval(Duration::from_millis(200)))?;
        println!("pruned {}", s.id);
    }

    if scratch {
        client.send(Request::delete(["volumes", volume_id.as_str()]))?;
        println!("deleted scratch volume {volume_id}");
    }
    Ok(())
}

/// Creates a 1 GiB volume and waits until it is available.
fn create_scratch_volume(client: &ServiceClient) -> Result<String, Box<dyn std::error::Error>> {
    let body = serde_json::json!({"volume": {"size": 1, "name": "snapshot-lifecycle-scratch"}});
    let created: serde_json::Value = client.send(Request::post(["volumes"]).json(body))?.json("volume")?;
    let id = created["volume"]["id"].as_str().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err("the volume answer has no id".into());
    }
    for _ in 0..300 {
        let volume: serde_json::Value = client.send(Request::get(["volumes", id.as_str()]))?.json("volume")?;
        match volume["volume"]["status"].as_str() {
            Some("available") => {
                println!("created scratch volume {id}");
                return Ok(id);
            }
            Some("error") => return Err(format!("scratch volume {id} went to error").into()),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    Err(format!("scratch volume {id} did not become available").into())
}
