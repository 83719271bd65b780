//! The client's sleeper: where every pause of the client (a retry's backoff, a rate
//! limiter's pause) reads the time and sleeps, so that a test can move time instead of
//! sleeping. (Not the cloud's clock, which is read from the `Date` of Cinder's answers.)

use std::fmt;
use std::time::{Duration, Instant};

/// The time source and sleeper of a [`ServiceClient`](crate::ServiceClient): its retries'
/// backoff, the rate limiter's pause shared by its clones, and the job's deadline read it.
/// The default is [`SystemSleeper`] (the monotonic clock and `std::thread::sleep`); a test
/// gives its own with [`ServiceClientBuilder::sleeper`](crate::ServiceClientBuilder::sleeper)
/// (the `testing` feature has `testing::ManualSleeper`, which moves instead of sleeping).
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// The time now.
    fn now(&self) -> Instant;
    /// Waits `d` (or moves the clock by `d`).
    fn sleep(&self, d: Duration);
}

/// The real one: [`Instant::now`] and [`std::thread::sleep`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSleeper;

impl Sleeper for SystemSleeper {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}
