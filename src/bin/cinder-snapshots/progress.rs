//! The progress of a wait, on stderr, fed by `WaitOpts::on_progress`.
//!
//! On a terminal: one line redrawn with `\r` at every check (id, status, a bar and the
//! percentage when the server gives one, elapsed time), ended with a newline when the wait
//! ends. Otherwise (a log file, a pipe): one plain line per change of status or progress,
//! `ID STATUS[ N%] (ELAPSED)`, so that logs stay readable.
//!
//! A `run` shows its counts the same way: `3 created, 1 reused, 2 available, 0 failed of 4;
//! 2 pending (7 s)` (not in a dry run: nothing is created, nothing to wait for).
//!
//! With `--log-timestamps` ([`set_timestamps`]) every line on stderr, these and the errors
//! and `--debug` lines, begins with the time in RFC 3339 UTC ([`stamp`]).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cinder_snapshots::job;
use cinder_snapshots::snapshots::Snapshot;
use cinder_snapshots::volumes::Volume;

use crate::output::printable;

/// What a progress line shows of a resource: its id, its status, and the progress Cinder
/// gives (snapshots only) as text and as a percentage.
pub trait Watched {
    fn id(&self) -> &str;
    fn status_text(&self) -> String;
    fn progress(&self) -> Option<String>;
    fn percent(&self) -> Option<u8>;
}

impl Watched for Snapshot {
    fn id(&self) -> &str {
        &self.id
    }

    fn status_text(&self) -> String {
        self.status.to_string()
    }

    fn progress(&self) -> Option<String> {
        self.progress.clone()
    }

    fn percent(&self) -> Option<u8> {
        self.progress_percent()
    }
}

impl Watched for Volume {
    fn id(&self) -> &str {
        &self.id
    }

    fn status_text(&self) -> String {
        self.status.to_string()
    }

    fn progress(&self) -> Option<String> {
        None
    }

    fn percent(&self) -> Option<u8> {
        None
    }
}

/// Whether the lines on stderr begin with the time (`--log-timestamps`).
static TIMESTAMPS: AtomicBool = AtomicBool::new(false);

/// Begins every later line on stderr with the time (`--log-timestamps`), or not.
pub fn set_timestamps(on: bool) {
    TIMESTAMPS.store(on, Ordering::Relaxed);
}

/// What begins a line on stderr: `2026-12-07T01:48:34.123456Z ` (the crate's one RFC 3339
/// UTC writer) with `--log-timestamps`, else nothing.
pub fn stamp() -> String {
    if TIMESTAMPS.load(Ordering::Relaxed) {
        format!("{} ", crate::output::timestamp(time::OffsetDateTime::now_utc()))
    } else {
        String::new()
    }
}

/// One wait's progress display.
pub struct Progress {
    terminal: bool,
    start: Instant,
    shown: Mutex<Shown>,
}

/// What is on the screen.
#[derive(Default)]
struct Shown {
    /// The last status and progress shown.
    state: Option<(String, Option<String>)>,
    /// Whether a redrawn line is open (to be ended by a newline).
    open: bool,
}

impl Progress {
    /// A display on stderr, redrawn when stderr is a terminal.
    pub fn new() -> Arc<Self> {
        Arc::new(Progress { terminal: std::io::stderr().is_terminal(), start: Instant::now(), shown: Mutex::default() })
    }

    /// Shows what a check of the wait saw.
    pub fn show(&self, snap: &impl Watched) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let state = (snap.status_text(), snap.progress());
        let elapsed = elapsed(self.start.elapsed());
        let (id, status) = (printable(snap.id()), printable(&state.0));
        let mut err = std::io::stderr().lock();
        // Failing to show progress is not worth failing the wait for: write errors are ignored.
        if self.terminal {
            let percent = snap.percent();
            let filled = usize::from(percent.unwrap_or(0)) / 5;
            let bar = format!("[{}{}]", "#".repeat(filled), "-".repeat(20 - filled));
            let percent = percent.map_or_else(|| "  ?%".to_owned(), |p| format!("{p:>3}%"));
            let _ = write!(err, "\r{}{id} {status:<14} {bar} {percent} {elapsed:>7}\x1b[K", stamp());
            let _ = err.flush();
            shown.open = true;
        } else if shown.state.as_ref() != Some(&state) {
            let percent = state.1.as_deref().map(|p| format!(" {}", printable(p))).unwrap_or_default();
            let _ = writeln!(err, "{}{id} {status}{percent} ({elapsed})", stamp());
        }
        shown.state = Some(state);
    }

    /// Shows one state and ends the line.
    pub fn once(&self, snap: &impl Watched) {
        self.show(snap);
        self.finish();
    }

    /// Ends the redrawn line, if there is one.
    pub fn finish(&self) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if shown.open {
            let _ = writeln!(std::io::stderr());
            shown.open = false;
        }
    }
}

impl Progress {
    /// Shows the counts of a `run` (after its creates, and after every poll of its wait):
    /// on a terminal one redrawn line, else one line each time the counts change.
    pub fn counts(&self, p: &job::Progress) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = format!("{} created, {} reused, {} available, {} failed of {}", p.created, p.reused, p.available, p.failed, p.total);
        let line = format!("{counts}; {} pending ({})", p.pending, elapsed(p.elapsed));
        let state = (counts, Some(p.pending.to_string()));
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{}{line}\x1b[K", stamp());
            let _ = err.flush();
            shown.open = true;
        } else if shown.state.as_ref() != Some(&state) {
            let _ = writeln!(err, "{}{line}", stamp());
        }
        shown.state = Some(state);
    }
}

/// `7 s`, `2 min 05 s`, `1 h 02 min`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_times() {
        assert_eq!(elapsed(Duration::from_millis(7900)), "7 s");
        assert_eq!(elapsed(Duration::from_secs(125)), "2 min 05 s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1 h 02 min");
    }
}
