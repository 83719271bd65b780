//! Finds the one snapshot with a given name (exact match, in the project of the `OS_*`
//! variables) and prints it. Cinder does not keep names unique, so "none" and "several" are
//! separate answers, each with its own message and exit status, for scripts to tell apart.
//!
//! ```sh
//! scripts/local-cloud up && set -a && source .local-cloud/admin.env && set +a
//! cargo run --example find_by_name -- NAME
//! ```
//!
//! Exit status: 0 found, 1 a call failed, 2 bad arguments, 3 no snapshot has that name,
//! 4 several snapshots have it (their ids are printed, one per line, on stderr).

use std::process::ExitCode;

use cinder_snapshots::snapshots::{self, Snapshot};
use cinder_snapshots::{Error, ServiceClient};

fn print(snap: &Snapshot) {
    println!("id:          {}", snap.id);
    println!("name:        {}", snap.name.as_deref().unwrap_or(""));
    println!("status:      {}", snap.status);
    println!("size:        {} GiB", snap.size);
    println!("volume:      {}", snap.volume_id);
    println!("created:     {}", snap.created_at.map_or_else(|| "unknown".to_owned(), |t| t.to_string()));
    if let Some(progress) = &snap.progress {
        println!("progress:    {progress}");
    }
    if let Some(description) = &snap.description {
        println!("description: {description}");
    }
    for (key, value) in &snap.metadata {
        println!("metadata:    {key}={value}");
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(name), None) = (args.next(), args.next()) else {
        eprintln!("usage: find_by_name NAME");
        return ExitCode::from(2);
    };
    match ServiceClient::from_env().and_then(|client| snapshots::find_by_name(&client, &name)) {
        Ok(snap) => {
            print(&snap);
            ExitCode::SUCCESS
        }
        Err(Error::NoMatch(_)) => {
            eprintln!("find_by_name: no snapshot is named {name:?}");
            ExitCode::from(3)
        }
        Err(Error::MultipleMatches { ids, .. }) => {
            eprintln!("find_by_name: {} snapshots are named {name:?}; use one of these ids instead:", ids.len());
            for id in ids {
                eprintln!("  {id}");
            }
            ExitCode::from(4)
        }
        Err(e) => {
            eprintln!("find_by_name: {e}");
            ExitCode::FAILURE
        }
    }
}
