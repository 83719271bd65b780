use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::requests::get;
use super::results::{Snapshot, SnapshotStatus};
use super::urls;
use crate::client::{Microversion, PollPolicy, Request, ServiceClient};
use crate::error::{Error, Result};
use crate::timestamp;

/// A function that sees every snapshot a wait observes.
pub type ProgressFn = Arc<dyn Fn(&Snapshot) + Send + Sync>;

/// How [`wait_for_status`] and [`wait_for_delete`] wait. Everything left unset comes from
/// the client's [`PollPolicy`] (by default: up to 30 minutes, checks 1 s apart growing
/// ×1.5 to 15 s, 3 consecutive transient errors tolerated).
///
/// ```
/// use std::sync::{Arc, atomic::AtomicBool};
/// use std::time::Duration;
/// use cinder_snapshots::snapshots::WaitOpts;
/// let stop = Arc::new(AtomicBool::new(false));
/// let opts = WaitOpts::new()
///     .timeout(Duration::from_secs(600))
///     .cancel_flag(stop.clone())
///     .on_progress(|snap| eprintln!("{} {}", snap.status, snap.progress.as_deref().unwrap_or("")));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct WaitOpts {
    timeout: Option<Option<Duration>>,
    initial_interval: Option<Duration>,
    backoff_factor: Option<f64>,
    max_interval: Option<Duration>,
    max_transient_errors: Option<u32>,
    failures: Option<Vec<SnapshotStatus>>,
    cancel: Option<Arc<AtomicBool>>,
    on_progress: Option<ProgressFn>,
}

impl WaitOpts {
    /// The client's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Give up after this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// Wait with no time limit.
    pub fn forever(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// First interval between checks.
    pub fn initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = Some(interval);
        self
    }

    /// Growth of the interval after each check (1.0 keeps it fixed).
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = Some(factor);
        self
    }

    /// Largest interval between checks.
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = Some(interval);
        self
    }

    /// Consecutive transient errors ([`Error::is_transient`]: 429, 502, 503, 504, connection
    /// failures, timeouts) to tolerate.
    pub fn max_transient_errors(mut self, n: u32) -> Self {
        self.max_transient_errors = Some(n);
        self
    }

    /// Statuses that end the wait at once with [`WaitErrorKind::Failed`]. Default:
    /// `error` for [`wait_for_status`], `error_deleting` for [`wait_for_delete`].
    pub fn failures(mut self, statuses: Vec<SnapshotStatus>) -> Self {
        self.failures = Some(statuses);
        self
    }

    /// When this flag becomes `true` the wait ends at once with
    /// [`WaitErrorKind::Cancelled`], carrying the last snapshot seen (set it from a Ctrl-C
    /// handler, for example).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called with every snapshot observed, progress included.
    pub fn on_progress(mut self, f: impl Fn(&Snapshot) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    fn policy(&self, client: &ServiceClient) -> PollPolicy {
        let d = client.poll_policy();
        PollPolicy {
            timeout: self.timeout.unwrap_or(d.timeout),
            initial_interval: self.initial_interval.unwrap_or(d.initial_interval),
            backoff_factor: self.backoff_factor.unwrap_or(d.backoff_factor),
            max_interval: self.max_interval.unwrap_or(d.max_interval),
            max_transient_errors: self.max_transient_errors.unwrap_or(d.max_transient_errors),
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for WaitOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOpts")
            .field("timeout", &self.timeout)
            .field("initial_interval", &self.initial_interval)
            .field("backoff_factor", &self.backoff_factor)
            .field("max_interval", &self.max_interval)
            .field("max_transient_errors", &self.max_transient_errors)
            .field("failures", &self.failures)
            .field("cancel", &self.cancel.is_some())
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

/// Why a wait ended without reaching its target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitErrorKind {
    /// The snapshot reached a failure status (`error`, `error_deleting`, ...).
    Failed(SnapshotStatus),
    /// The time ran out.
    TimedOut,
    /// The cancel flag was set.
    Cancelled,
    /// The snapshot disappeared (404) while waiting for a status.
    Vanished,
    /// While waiting for a delete, the snapshot went back to `available`: the backend
    /// refused or failed the delete.
    DeleteRefused,
}

/// A wait that ended without reaching its target, with what it saw last.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WaitError {
    /// Why it ended.
    pub kind: WaitErrorKind,
    /// The snapshot waited on.
    pub snapshot_id: String,
    /// What was waited for (a status, or `deleted`).
    pub target: String,
    /// The last snapshot seen, if any.
    pub last: Option<Snapshot>,
    /// Time spent waiting.
    pub elapsed: Duration,
    /// Cinder's newest user message about the snapshot (`GET /messages`, 3.3+), fetched
    /// when it failed; it often says why.
    pub user_message: Option<String>,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let (id, target) = (&self.snapshot_id, &self.target);
        match &self.kind {
            WaitErrorKind::Failed(status) => write!(f, "snapshot {id} went to {status} while waiting for {target} ({secs:.1} s)")?,
            WaitErrorKind::TimedOut => {
                let last = self.last.as_ref().map_or("unknown".to_owned(), |s| s.status.to_string());
                write!(f, "snapshot {id} did not reach {target} within {secs:.1} s (last status: {last})")?;
            }
            WaitErrorKind::Cancelled => write!(f, "waiting for snapshot {id} to reach {target} was cancelled after {secs:.1} s")?,
            WaitErrorKind::Vanished => write!(f, "snapshot {id} disappeared while waiting for {target} ({secs:.1} s)")?,
            WaitErrorKind::DeleteRefused => {
                write!(f, "snapshot {id} went back to available: the delete was refused or failed ({secs:.1} s)")?
            }
        }
        if let Some(m) = &self.user_message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitError {}

/// Waits until a snapshot reaches `target` and returns it.
///
/// Checks at once, then polls with a growing interval. Ends early with
/// [`Error::Wait`] when the snapshot reaches a failure status (`error` by default; Cinder's
/// user message saying why is attached when there is one), disappears, the time runs out
/// (with the last snapshot seen) or the cancel flag is set. Up to a few consecutive
/// transient errors are tolerated.
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// let snap = snapshots::create(&client, &CreateOpts::new("5aa119a8-d25b-45a7-8d1b-88e127885635"))?;
/// let snap = snapshots::wait_for_status(&client, &snap.id, SnapshotStatus::Available, &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_status(client: &ServiceClient, id: &str, target: SnapshotStatus, opts: &WaitOpts) -> Result<Snapshot> {
    let failures = opts.failures.clone().unwrap_or_else(|| vec![SnapshotStatus::Error]);
    let mut waiter = Waiter::new(client, id, target.to_string(), opts);
    loop {
        match waiter.observe()? {
            None => return Err(waiter.fail(WaitErrorKind::Vanished, false)),
            Some(s) if s.status == target => return Ok(s),
            Some(s) if failures.contains(&s.status) => {
                let kind = WaitErrorKind::Failed(s.status.clone());
                waiter.last = Some(s);
                return Err(waiter.fail(kind, true));
            }
            Some(s) => waiter.last = Some(s),
        }
        waiter.pause()?;
    }
}

/// Waits until a snapshot is gone (GET answers 404, or the status is `deleted`).
///
/// Ends early when the snapshot reaches `error_deleting` (or the given failures), or goes
/// back to `available` (the delete was refused, [`WaitErrorKind::DeleteRefused`]).
///
/// ```no_run
/// use cinder_snapshots::snapshots::{self, WaitOpts};
/// # let client = cinder_snapshots::ServiceClient::from_env()?;
/// snapshots::delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21")?;
/// snapshots::wait_for_delete(&client, "b36476e5-d18b-47f9-ac69-4818cb43ee21", &WaitOpts::new())?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
pub fn wait_for_delete(client: &ServiceClient, id: &str, opts: &WaitOpts) -> Result<()> {
    let failures = opts.failures.clone().unwrap_or_else(|| vec![SnapshotStatus::ErrorDeleting]);
    let mut waiter = Waiter::new(client, id, "deleted".to_owned(), opts);
    loop {
        match waiter.observe()? {
            None => return Ok(()),
            Some(s) if s.status == SnapshotStatus::Deleted => return Ok(()),
            Some(s) if failures.contains(&s.status) => {
                let kind = WaitErrorKind::Failed(s.status.clone());
                waiter.last = Some(s);
                return Err(waiter.fail(kind, true));
            }
            Some(s) if s.status == SnapshotStatus::Available => {
                waiter.last = Some(s);
                return Err(waiter.fail(WaitErrorKind::DeleteRefused, true));
            }
            Some(s) => waiter.last = Some(s),
        }
        waiter.pause()?;
    }
}

/// The state of one wait.
struct Waiter<'a> {
    client: &'a ServiceClient,
    id: &'a str,
    target: String,
    opts: &'a WaitOpts,
    policy: PollPolicy,
    start: Instant,
    interval: Duration,
    transient: u32,
    last: Option<Snapshot>,
}

impl<'a> Waiter<'a> {
    fn new(client: &'a ServiceClient, id: &'a str, target: String, opts: &'a WaitOpts) -> Self {
        let policy = opts.policy(client);
        let interval = policy.initial_interval;
        Waiter { client, id, target, opts, policy, start: Instant::now(), interval, transient: 0, last: None }
    }

    /// One check: `Some(snapshot)`, or `None` when it is gone. Transient errors are retried
    /// here, within the limit.
    fn observe(&mut self) -> Result<Option<Snapshot>> {
        loop {
            if self.opts.cancelled() {
                return Err(self.fail(WaitErrorKind::Cancelled, false));
            }
            match get(self.client, self.id) {
                Ok(s) => {
                    self.transient = 0;
                    if let Some(f) = &self.opts.on_progress {
                        f(&s);
                    }
                    return Ok(Some(s));
                }
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) if e.is_transient() && self.transient < self.policy.max_transient_errors => {
                    self.transient += 1;
                    self.pause()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sleeps until the next check, never past the deadline; a timeout when it has passed.
    fn pause(&mut self) -> Result<()> {
        let elapsed = self.start.elapsed();
        let mut sleep = self.interval;
        if let Some(timeout) = self.policy.timeout {
            if elapsed >= timeout {
                return Err(self.fail(WaitErrorKind::TimedOut, false));
            }
            sleep = sleep.min(timeout - elapsed);
        }
        // A sleep too long for the clock to represent its end (a huge interval given in code,
        // with no timeout) is a sleep until cancelled: no arithmetic on `Instant` overflows.
        let until = Instant::now().checked_add(sleep);
        loop {
            if self.opts.cancelled() {
                return Err(self.fail(WaitErrorKind::Cancelled, false));
            }
            let left = match until {
                Some(until) => until.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        let grown = self.interval.as_secs_f64() * self.policy.backoff_factor.max(1.0);
        self.interval = Duration::try_from_secs_f64(grown).unwrap_or(self.policy.max_interval).min(self.policy.max_interval);
        Ok(())
    }

    fn fail(&mut self, kind: WaitErrorKind, with_message: bool) -> Error {
        let user_message = if with_message { newest_user_message(self.client, self.id) } else { None };
        Error::Wait(Box::new(WaitError {
            kind,
            snapshot_id: self.id.to_owned(),
            target: self.target.clone(),
            last: self.last.take(),
            elapsed: self.start.elapsed(),
            user_message,
        }))
    }
}

#[derive(Deserialize)]
struct Messages {
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    user_message: Option<String>,
    #[serde(default, deserialize_with = "timestamp::deserialize_lenient")]
    created_at: Option<time::OffsetDateTime>,
}

/// Cinder's newest user message about a resource, best effort: any failure gives `None`.
fn newest_user_message(client: &ServiceClient, id: &str) -> Option<String> {
    if client.microversion().ok()? < Microversion::new(3, 3) {
        return None;
    }
    let response = client.send(Request::get(urls::messages()).query([("resource_uuid", id)])).ok()?;
    let messages: Messages = response.json("user messages").ok()?;
    messages.messages.into_iter().filter(|m| m.user_message.is_some()).max_by_key(|m| m.created_at)?.user_message
}
