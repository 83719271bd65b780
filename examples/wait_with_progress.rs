//! Waits for a snapshot to reach a status, showing its progress on stderr: a bar redrawn in
//! place on a terminal, a plain line per change otherwise (a log file, a cron mail). Ctrl-C is
//! not needed to give up: `--timeout SECONDS` ends the wait with the last status seen.
//!
//! ```sh
//! source .local-cloud/admin.env
//! cargo run --example wait_with_progress -- SNAPSHOT_ID [STATUS] [--timeout SECONDS]
//! ```

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cinder_snapshots::snapshots::{self, SnapshotStatus, WaitErrorKind, WaitOpts};
use cinder_snapshots::{Error, ServiceClient};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut timeout = Duration::from_secs(30 * 60);
    if let Some(i) = args.iter().position(|a| a == "--timeout") {
        let Some(secs) = args.get(i + 1).and_then(|s| s.parse::<u64>().ok()) else {
            eprintln!("wait_with_progress: --timeout needs a number of seconds");
            return ExitCode::from(2);
        };
        timeout = Duration::from_secs(secs);
        args.drain(i..=i + 1);
    }
    let Some(id) = args.first().cloned() else {
        eprintln!("usage: wait_with_progress SNAPSHOT_ID [STATUS] [--timeout SECONDS]");
        return ExitCode::from(2);
    };
    let target: SnapshotStatus = args.get(1).map_or(SnapshotStatus::Available, |s| s.parse().unwrap_or_else(|never| match never {}));

    let terminal = std::io::stderr().is_terminal();
    let start = Instant::now();
    let last = Mutex::new(String::new());
    let opts = WaitOpts::new().timeout(timeout).on_progress(move |snap| {
        let percent = snap.progress_percent().unwrap_or(0);
        let line = format!("{} {:>3}%", snap.status, percent);
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if terminal {
            let bar = "#".repeat(usize::from(percent) / 5);
            let _ = write!(err, "\r[{bar:<20}] {line:<20} {:>5.1} s", start.elapsed().as_secs_f64());
        } else if *last != line {
            let _ = writeln!(err, "{:>6.1} s  {line}", start.elapsed().as_secs_f64());
        }
        *last = line;
    });

    let result = ServiceClient::from_env().and_then(|client| snapshots::wait_for_status(&client, &id, target.clone(), &opts));
    if terminal {
        eprintln!();
    }
    match result {
        Ok(snap) => {
            println!("{} is {}", snap.id, snap.status);
            ExitCode::SUCCESS
        }
        Err(Error::Wait(w)) => {
            // The error says what was seen last and, for a failure, Cinder's user message.
            eprintln!("wait_with_progress: {w}");
            ExitCode::from(if w.kind == WaitErrorKind::TimedOut { 3 } else { 4 })
        }
        Err(e) => {
            eprintln!("wait_with_progress: {e}");
            ExitCode::FAILURE
        }
    }
}
