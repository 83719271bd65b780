//! Finds the one snapshot with a given name and prints it; none and several are different
//! answers, each with its own message and exit code, so a script can tell them apart.
//!
//! ```sh
//! source .local-cloud/admin.env
//! cargo run --example find_by_name -- NAME
//! ```

use std::process::ExitCode;

use cinder_snapshots::snapshots;
use cinder_snapshots::{Error, ServiceClient};

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: find_by_name NAME");
        return ExitCode::from(2);
    };
    let found = ServiceClient::from_env().and_then(|client| snapshots::find_by_name(&client, &name));
    match found {
        Ok(snap) => {
            println!("{} {} {} GiB, volume {}", snap.id, snap.status, snap.size, snap.volume_id);
            ExitCode::SUCCESS
        }
        Err(e @ Error::NoMatch(_)) => {
            eprintln!("no snapshot is named {name:?} ({e})");
            ExitCode::from(3)
        }
        Err(e @ Error::MultipleMatches { .. }) => {
            // Names are not unique in Cinder: use the id instead.
            eprintln!("several snapshots are named {name:?}: {e}");
            ExitCode::from(4)
        }
        Err(e) => {
            eprintln!("find_by_name: {e}");
            ExitCode::FAILURE
        }
    }
}
