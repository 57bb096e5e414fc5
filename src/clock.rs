//! Where the service gets the time from, so tests can control it.
//!
//! The core takes time as an argument; the service asks a [`Clock`]. A clock that
//! fails makes every call fail with [`ClockError`]: nobody is let in on a guess.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

/// The clock could not tell the time.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the clock failed: {0}")]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct ClockError(pub String);

/// A source of the current time in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current time.
    ///
    /// # Errors
    /// [`ClockError`] when the time is not known; the service then lets nobody in.
    fn now(&self) -> Result<u64, ClockError>;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Result<u64, ClockError> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .map_err(|_| ClockError("the system clock is set before 1970".into()))
    }
}

/// A clock that stands still until told otherwise, for tests and demos. Clones share
/// the same time.
///
/// ```
/// use mfa_kit::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// clock.advance(30);
/// assert_eq!(clock.now(), Ok(1_700_000_030));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `unix_time`.
    pub fn new(unix_time: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(unix_time)))
    }

    /// Sets the time.
    pub fn set(&self, unix_time: u64) {
        self.0.store(unix_time, Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds` (saturating at `u64::MAX`).
    pub fn advance(&self, seconds: u64) {
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(seconds)));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Result<u64, ClockError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().unwrap() > 1_577_836_800);
    }

    #[test]
    fn manual_clock_clones_share_time_and_saturate() {
        let clock = ManualClock::new(10);
        let other = clock.clone();
        clock.advance(5);
        assert_eq!(other.now(), Ok(15));
        clock.set(u64::MAX - 1);
        clock.advance(10);
        assert_eq!(other.now(), Ok(u64::MAX));
    }
}
