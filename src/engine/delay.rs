//! `--delay DUR` (GNU parallel's): at least DUR between two job starts,
//! across all workers. Each start takes the next free moment, so starts
//! are spaced evenly however many workers wait; a stopping run ends every
//! wait at once.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use crate::cancel::CancelToken;

/// The moments jobs may start.
#[derive(Debug)]
pub(crate) struct StartDelay {
    every: Duration,
    /// The earliest moment the next start may take.
    next: Mutex<Option<Instant>>,
}

impl StartDelay {
    pub(crate) fn new(every: Duration) -> StartDelay {
        StartDelay {
            every,
            next: Mutex::new(None),
        }
    }

    /// Waits for this start's moment; returns early when the run stops.
    pub(crate) fn wait(&self, cancel: &CancelToken) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let at = next.map_or(now, |next| next.max(now));
            *next = Some(at + self.every);
            at
        };
        loop {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() || cancel.is_stopping() {
                return;
            }
            let timeout = Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let mut fds = [PollFd::from_borrowed_fd(cancel.drain_fd(), PollFlags::IN)];
            let _ = poll(&mut fds, Some(&timeout));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_spaced_and_a_stop_ends_the_wait() {
        let cancel = CancelToken::new().unwrap();
        let delay = StartDelay::new(Duration::from_millis(30));
        let begin = Instant::now();
        delay.wait(&cancel);
        delay.wait(&cancel);
        delay.wait(&cancel);
        // Three starts: the first at once, then 30 ms apart (at least).
        assert!(begin.elapsed() >= Duration::from_millis(60));
        let long = StartDelay::new(Duration::from_secs(3600));
        long.wait(&cancel);
        cancel.drain();
        let stopped = Instant::now();
        long.wait(&cancel);
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "a stop ends the wait"
        );
    }
}
