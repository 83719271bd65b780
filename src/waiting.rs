//! Waiting for any resource with a status: until it reaches a status, or until it is gone.
//!
//! A wait checks at once, then polls with a growing interval (the client's
//! [`PollPolicy`] unless [`WaitOpts`] says otherwise), never sleeping past
//! its deadline. It ends early, with [`Error::Wait`], when the resource
//! reaches a failure status (Cinder's newest user message about it attached), disappears,
//! the time runs out or the cancel flag is set; a few consecutive transient errors are
//! tolerated. Resource modules offer it as their `wait_for_status` and `wait_for_delete`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::client::{Microversion, PollPolicy, Request, ServiceClient};
use crate::error::{Error, Result, WaitError, WaitErrorKind};
use crate::resource::Stateful;
use crate::timestamp;

/// A function that sees every state a wait observes.
pub type ProgressFn<R> = Arc<dyn Fn(&R) + Send + Sync>;

/// How a wait waits. Everything left unset comes from the client's [`PollPolicy`] (by
/// default: up to 30 minutes, checks 1 s apart growing ×1.5 to 15 s, 3 consecutive
/// transient errors tolerated).
///
/// ```
/// use std::sync::{Arc, atomic::AtomicBool};
/// use std::time::Duration;
/// use cinder_snapshots::snapshots::Snapshot;
/// use cinder_snapshots::waiting::WaitOpts;
/// let stop = Arc::new(AtomicBool::new(false));
/// let opts: WaitOpts<Snapshot> = WaitOpts::new()
///     .timeout(Duration::from_secs(600))
///     .cancel_flag(stop.clone())
///     .on_progress(|snap: &Snapshot| eprintln!("{} {}", snap.status, snap.progress.as_deref().unwrap_or("")));
/// ```
#[must_use]
pub struct WaitOpts<R: Stateful> {
    timeout: Option<Option<Duration>>,
    initial_interval: Option<Duration>,
    backoff_factor: Option<f64>,
    max_interval: Option<Duration>,
    max_transient_errors: Option<u32>,
    failures: Option<Vec<R::Status>>,
    cancel: Option<Arc<AtomicBool>>,
    on_progress: Option<ProgressFn<R>>,
}

impl<R: Stateful> Default for WaitOpts<R> {
    fn default() -> Self {
        WaitOpts {
            timeout: None,
            initial_interval: None,
            backoff_factor: None,
            max_interval: None,
            max_transient_errors: None,
            failures: None,
            cancel: None,
            on_progress: None,
        }
    }
}

impl<R: Stateful> Clone for WaitOpts<R> {
    fn clone(&self) -> Self {
        WaitOpts {
            timeout: self.timeout,
            initial_interval: self.initial_interval,
            backoff_factor: self.backoff_factor,
            max_interval: self.max_interval,
            max_transient_errors: self.max_transient_errors,
            failures: self.failures.clone(),
            cancel: self.cancel.clone(),
            on_progress: self.on_progress.clone(),
        }
    }
}

impl<R: Stateful> WaitOpts<R> {
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

    /// Growth of the interval after each check (1.0 keeps it fixed; below 1.0, or not a
    /// number, counts as 1.0).
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = Some(factor);
        self
    }

    /// Largest interval between checks.
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = Some(interval);
        self
    }

    /// Consecutive transient errors (5xx, connection failures) to tolerate.
    pub fn max_transient_errors(mut self, n: u32) -> Self {
        self.max_transient_errors = Some(n);
        self
    }

    /// Statuses that end the wait at once with [`WaitErrorKind::Failed`]. Default: `error`
    /// for a wait for a status, `error_deleting` for a wait for a delete.
    pub fn failures(mut self, statuses: Vec<R::Status>) -> Self {
        self.failures = Some(statuses);
        self
    }

    /// When this flag becomes `true` the wait ends at once with
    /// [`WaitErrorKind::Cancelled`], carrying the last state seen (set it from a Ctrl-C
    /// handler, for example).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called with every state observed, progress included.
    pub fn on_progress(mut self, f: impl Fn(&R) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// The client's poll policy with this wait's settings laid over it.
    pub(crate) fn policy(&self, client: &ServiceClient) -> PollPolicy {
        let d = client.poll_policy();
        let mut policy = d.clone();
        policy.timeout = self.timeout.unwrap_or(d.timeout);
        policy.initial_interval = self.initial_interval.unwrap_or(d.initial_interval);
        policy.backoff_factor = self.backoff_factor.unwrap_or(d.backoff_factor);
        policy.max_interval = self.max_interval.unwrap_or(d.max_interval);
        policy.max_transient_errors = self.max_transient_errors.unwrap_or(d.max_transient_errors);
        policy
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

impl<R: Stateful> fmt::Debug for WaitOpts<R> {
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

/// Waits until the resource `id` reaches `target` and returns it; `get` fetches it once.
pub(crate) fn wait_for_status<R: Stateful>(
    client: &ServiceClient,
    id: &str,
    target: R::Status,
    opts: &WaitOpts<R>,
    get: impl Fn(&ServiceClient, &str) -> Result<R>,
) -> Result<R> {
    let failures = opts.failures.clone().unwrap_or_else(R::failed);
    let mut waiter = Waiter::new(client, id, target.to_string(), opts);
    loop {
        match waiter.observe(&get)? {
            None => return Err(waiter.fail(WaitErrorKind::Vanished, false)),
            Some(r) if *r.status() == target => return Ok(r),
            Some(r) if failures.contains(r.status()) => {
                let kind = WaitErrorKind::Failed(r.status().to_string());
                waiter.last = Some(r);
                return Err(waiter.fail(kind, true));
            }
            Some(r) => waiter.last = Some(r),
        }
        waiter.pause()?;
    }
}

/// Waits until the resource `id` is gone (GET answers 404, or its status means deleted).
/// Ends early on a delete failure status, or when it goes back to the status of a refused
/// delete ([`WaitErrorKind::DeleteRefused`]).
pub(crate) fn wait_for_delete<R: Stateful>(
    client: &ServiceClient,
    id: &str,
    opts: &WaitOpts<R>,
    get: impl Fn(&ServiceClient, &str) -> Result<R>,
) -> Result<()> {
    let failures = opts.failures.clone().unwrap_or_else(R::failed_delete);
    let mut waiter = Waiter::new(client, id, "deleted".to_owned(), opts);
    loop {
        match waiter.observe(&get)? {
            None => return Ok(()),
            Some(r) if R::is_deleted(r.status()) => return Ok(()),
            Some(r) if failures.contains(r.status()) => {
                let kind = WaitErrorKind::Failed(r.status().to_string());
                waiter.last = Some(r);
                return Err(waiter.fail(kind, true));
            }
            Some(r) if R::is_delete_refused(r.status()) => {
                waiter.last = Some(r);
                return Err(waiter.fail(WaitErrorKind::DeleteRefused, true));
            }
            Some(r) => waiter.last = Some(r),
        }
        waiter.pause()?;
    }
}

/// The state of one wait.
struct Waiter<'a, R: Stateful> {
    client: &'a ServiceClient,
    id: &'a str,
    target: String,
    opts: &'a WaitOpts<R>,
    policy: PollPolicy,
    pacer: Pacer,
    transient: u32,
    last: Option<R>,
}

impl<'a, R: Stateful> Waiter<'a, R> {
    fn new(client: &'a ServiceClient, id: &'a str, target: String, opts: &'a WaitOpts<R>) -> Self {
        let policy = opts.policy(client);
        let pacer = Pacer::new(policy.timeout, policy.initial_interval, policy.backoff_factor, policy.max_interval);
        Waiter { client, id, target, opts, policy, pacer, transient: 0, last: None }
    }

    /// One check: `Some(resource)`, or `None` when it is gone. Transient errors are retried
    /// here, within the limit.
    fn observe(&mut self, get: &impl Fn(&ServiceClient, &str) -> Result<R>) -> Result<Option<R>> {
        loop {
            if self.opts.cancelled() {
                return Err(self.fail(WaitErrorKind::Cancelled, false));
            }
            match get(self.client, self.id) {
                Ok(r) => {
                    self.transient = 0;
                    if let Some(f) = &self.opts.on_progress {
                        f(&r);
                    }
                    return Ok(Some(r));
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
        match self.pacer.pause(|| self.opts.cancelled()) {
            Paused::Slept => Ok(()),
            Paused::TimedOut => Err(self.fail(WaitErrorKind::TimedOut, false)),
            Paused::Cancelled => Err(self.fail(WaitErrorKind::Cancelled, false)),
        }
    }

    fn fail(&mut self, kind: WaitErrorKind, with_message: bool) -> Error {
        let user_message = if with_message { newest_user_message(self.client, self.id) } else { None };
        let last = self.last.take();
        Error::Wait(Box::new(WaitError {
            kind,
            resource: R::KIND,
            id: self.id.to_owned(),
            target: self.target.clone(),
            last_status: last.as_ref().map(|r| r.status().to_string()),
            last: last.map(|r| Arc::new(r) as Arc<dyn std::any::Any + Send + Sync>),
            elapsed: self.pacer.elapsed(),
            user_message,
        }))
    }
}

/// The pace of a poll loop, shared by every wait (one resource's, or the job's listing per
/// poll): intervals growing by a factor up to a maximum, never a sleep past the deadline.
pub(crate) struct Pacer {
    start: Instant,
    timeout: Option<Duration>,
    interval: Duration,
    factor: f64,
    max: Duration,
}

/// How a [`Pacer::pause`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Paused {
    /// The interval went by: check again.
    Slept,
    /// The deadline had passed: no more checks.
    TimedOut,
    /// The cancel test said so.
    Cancelled,
}

impl Pacer {
    /// A pace starting now: `timeout` from now (`None`: none), the first interval `initial`,
    /// each next one `factor` times longer (a factor below 1 counts as 1), at most `max`.
    pub(crate) fn new(timeout: Option<Duration>, initial: Duration, factor: f64, max: Duration) -> Self {
        Pacer { start: Instant::now(), timeout, interval: initial, factor: factor.max(1.0), max }
    }

    /// The time since the pace started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Sleeps the current interval (cut to the deadline), checking `cancelled` every 50 ms,
    /// then grows the interval; [`Paused::TimedOut`] at once when the deadline has passed.
    pub(crate) fn pause(&mut self, cancelled: impl Fn() -> bool) -> Paused {
        let elapsed = self.start.elapsed();
        let mut sleep = self.interval;
        if let Some(timeout) = self.timeout {
            if elapsed >= timeout {
                return Paused::TimedOut;
            }
            sleep = sleep.min(timeout - elapsed);
        }
        // A sleep too long for the clock to represent its end (a huge interval given in code,
        // with no timeout) is a sleep until cancelled: no arithmetic on `Instant` overflows.
        let until = Instant::now().checked_add(sleep);
        loop {
            if cancelled() {
                return Paused::Cancelled;
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
        let grown = self.interval.as_secs_f64() * self.factor;
        self.interval = Duration::try_from_secs_f64(grown).unwrap_or(self.max).min(self.max);
        Paused::Slept
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
pub(crate) fn newest_user_message(client: &ServiceClient, id: &str) -> Option<String> {
    if client.microversion().ok()? < Microversion::new(3, 3) {
        return None;
    }
    let response = client.send(Request::get(["messages"]).query([("resource_uuid", id)])).ok()?;
    let messages: Messages = response.json("user messages").ok()?;
    messages.messages.into_iter().filter(|m| m.user_message.is_some()).max_by_key(|m| m.created_at)?.user_message
}
