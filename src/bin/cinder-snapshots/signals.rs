//! SIGTERM and SIGINT set the run's cancel flag ([`JobOpts::cancel_flag`]): the job stops
//! sending creates, runs the post-hooks due, prints its report and exits 1. SIGKILL cannot
//! be caught: see the README (systemd's `OnFailure=`).
//!
//! [`JobOpts::cancel_flag`]: cinder_snapshots::job::JobOpts::cancel_flag

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag the handler sets.
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

#[cfg(unix)]
/// The handler: one atomic store (async-signal-safe).
extern "C" fn on_signal(_: libc::c_int) {
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// Elsewhere: a flag nothing sets.
#[cfg(not(unix))]
pub fn stop_flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// Installs the handler for SIGTERM and SIGINT (once) and returns the flag it sets.
#[cfg(unix)]
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid (no flags, empty mask once sigemptyset ran);
        // the handler only loads a OnceLock that is already set and stores an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    flag
}
