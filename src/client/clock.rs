//! The client's clock: where every pause of the client (a retry's backoff, a rate limiter's
//! pause) reads the time and sleeps, so that a test can move time instead of sleeping.

use std::fmt;
use std::time::{Duration, Instant};

/// The time source and sleeper of a [`ServiceClient`](crate::ServiceClient): its retries'
/// backoff, the rate limiter's pause shared by its clones, and the job's deadline read it.
/// The default is [`SystemClock`] (the monotonic clock and `std::thread::sleep`); a test
/// gives its own with [`ServiceClientBuilder::clock`](crate::ServiceClientBuilder::clock)
/// (the `testing` feature has `testing::ManualClock`, which moves instead of sleeping).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The time now.
    fn now(&self) -> Instant;
    /// Waits `d` (or moves the clock by `d`).
    fn sleep(&self, d: Duration);
}

/// The real clock: [`Instant::now`] and [`std::thread::sleep`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}
