//! [`ManualClock`]: time that only moves when a test moves it.

use crate::lock;
use chrono::{DateTime, Duration, Utc};
use domain::ports::Clock;
use std::sync::{Arc, Mutex};

/// A thread-safe clock a test sets and advances. Clones share the same time, so a clone handed
/// to [`crate::FakeFusion::set_call_latency`] moves the clock the sync engine reads.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at [`crate::build::epoch`] (2026-11-01T10:00:00Z).
    pub fn new() -> Self {
        Self::at(crate::build::epoch())
    }

    /// A clock at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.now) = now;
    }

    /// Moves the time forward by `by` (backward if negative) and returns the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut now = lock(&self.now);
        *now += by;
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}
