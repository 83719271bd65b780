//! A bounded pool of scoped worker threads, shared by the job's creates and cleanups and the
//! prune's deletes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Runs `task(0..n)` on up to `workers` scoped threads (each takes the next index until
/// `stop` is set or `task` returns `None`); one result per index, `None` for an index not
/// run. A thread that cannot be started is one worker fewer (with none, the caller's
/// thread works); a worker's panic is not re-raised: its index stays `None`.
pub(crate) fn in_pool<T: Send>(
    n: usize,
    workers: usize,
    name: &str,
    stop: &AtomicBool,
    task: impl Fn(usize) -> Option<T> + Sync,
) -> Vec<Option<T>> {
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let work = || {
        while !stop.load(Ordering::SeqCst) {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= n {
                break;
            }
            let Some(out) = task(i) else { break };
            if let Some(slot) = results.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(i) {
                *slot = Some(out);
            }
        }
    };
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 0..workers.clamp(1, n.max(1)) {
            if let Ok(h) = std::thread::Builder::new().name(name.to_owned()).spawn_scoped(scope, work) {
                handles.push(h);
            }
        }
        if handles.is_empty() {
            work();
        }
        for h in handles {
            let _ = h.join();
        }
    });
    results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
}
