//! Waits for a snapshot to reach a status (default `available`), showing its status and
//! Cinder's `progress` field on stderr at every poll: one line redrawn in place when stderr
//! is a terminal, a plain line per change otherwise (a log file, a cron mail). The target
//! `deleted` waits for the snapshot to be gone.
//!
//! The progress comes from `WaitOpts::on_progress`, which sees every snapshot the wait
//! polls; the wait itself (intervals, deadline, failure statuses, Cinder's message about a
//! failure) is the crate's `wait_for_status` / `wait_for_delete`.
//!
//! ```sh
//! scripts/local-cloud up && set -a && source .local-cloud/admin.env && set +a
//! cargo run --example wait_with_progress -- SNAPSHOT_ID [STATUS] [--timeout SECONDS]
//! ```
//!
//! Exit status: 0 reached, 1 a call failed, 2 bad arguments, 3 timed out, 4 the snapshot
//! went to a failure status or otherwise could not reach the target.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cinder_snapshots::WaitErrorKind;
use cinder_snapshots::snapshots::{self, Snapshot, SnapshotStatus, WaitOpts};
use cinder_snapshots::{Error, ServiceClient};

const USAGE: &str = "usage: wait_with_progress SNAPSHOT_ID [STATUS] [--timeout SECONDS]";

struct Args {
    id: String,
    target: SnapshotStatus,
    timeout: Option<Duration>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut timeout = None;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--timeout" => {
                let secs = it.next().ok_or("--timeout needs a number of seconds")?;
                let secs: u64 = secs.parse().map_err(|_| format!("--timeout {secs:?} is not a whole number of seconds"))?;
                timeout = Some(Duration::from_secs(secs));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let id = positional.next().ok_or_else(|| format!("no snapshot id given\n{USAGE}"))?;
    let target = match positional.next() {
        None => SnapshotStatus::Available,
        Some(s) => match s.parse::<SnapshotStatus>() {
            // A typo would otherwise wait until the timeout for a status that never comes.
            Ok(SnapshotStatus::Other(_)) => return Err(format!("{s:?} is not a snapshot status")),
            Ok(status) => status,
            Err(never) => match never {},
        },
    };
    if let Some(extra) = positional.next() {
        return Err(format!("unexpected argument {extra:?}\n{USAGE}"));
    }
    Ok(Args { id, target, timeout })
}

/// The progress display: redrawn in place on a terminal, one line per change otherwise.
struct Progress {
    terminal: bool,
    start: Instant,
    last: Mutex<String>,
}

impl Progress {
    fn show(&self, snap: &Snapshot) {
        let state = format!("{} {}", snap.status, snap.progress.as_deref().unwrap_or("(no progress reported)"));
        let secs = self.start.elapsed().as_secs_f64();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if self.terminal {
            // Pad so that a shorter line hides the end of a longer one.
            let _ = write!(err, "\r{secs:6.1} s  {state:<40}");
            let _ = err.flush();
        } else if *last != state {
            let _ = writeln!(err, "{secs:6.1} s  {state}");
        }
        *last = state;
    }

    fn finish(&self) {
        if self.terminal && !self.last.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            eprintln!();
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("wait_with_progress: {message}");
            return ExitCode::from(2);
        }
    };
    let progress =
        std::sync::Arc::new(Progress { terminal: std::io::stderr().is_terminal(), start: Instant::now(), last: Mutex::new(String::new()) });
    let shown = progress.clone();
    let mut opts = WaitOpts::new().on_progress(move |snap| shown.show(snap));
    if let Some(timeout) = args.timeout {
        opts = opts.timeout(timeout);
    }

    let result = ServiceClient::from_env().and_then(|client| {
        if args.target == SnapshotStatus::Deleted {
            snapshots::wait_for_delete(&client, &args.id, &opts).map(|()| None)
        } else {
            snapshots::wait_for_status(&client, &args.id, args.target.clone(), &opts).map(Some)
        }
    });
    progress.finish();
    match result {
        Ok(Some(snap)) => {
            println!("{} is {} after {:.1} s", snap.id, snap.status, progress.start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("{} is deleted after {:.1} s", args.id, progress.start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(Error::Wait(w)) => {
            // Says what was seen last and, for a failure status, Cinder's message about it.
            eprintln!("wait_with_progress: {w}");
            ExitCode::from(if w.kind == WaitErrorKind::TimedOut { 3 } else { 4 })
        }
        Err(e) => {
            eprintln!("wait_with_progress: {e}");
            ExitCode::FAILURE
        }
    }
}
