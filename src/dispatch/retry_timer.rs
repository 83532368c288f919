//! The retry timer: holds the items whose retry is waiting, on its own
//! thread, so a waiting item never holds a worker, and hands each back to
//! the feed when its delay has passed (all of them at once when the run is
//! stopping; they then end with their last attempt's outcome). It ends, and
//! so lets the workers end, once the input is done and no item is in
//! flight: every dispatched item carries an [`InFlight`] guard that counts
//! it until the item is dropped after its last attempt. How long to wait
//! and what to retry is the policy's business (`crate::retry`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::{CHECK_EVERY, Dispatch};
use crate::cancel::CancelToken;

/// What the timer waits for besides its own items.
#[derive(Debug, Default)]
struct Outstanding {
    /// Items dispatched and not yet final (they may still come back).
    in_flight: AtomicUsize,
    /// No fresh item will come.
    input_done: AtomicBool,
}

/// A message to the retry timer.
#[derive(Debug)]
enum RetryMsg {
    /// Run this item again at this time.
    Schedule(Instant, Box<Dispatch>),
    /// Re-check whether the run is over.
    Wake,
}

/// The handle on the retry timer that workers and the reader hold.
#[derive(Debug, Clone)]
pub struct RetryHandle {
    tx: Sender<RetryMsg>,
    outstanding: Arc<Outstanding>,
}

impl RetryHandle {
    /// Hands a failed item to the timer for another attempt at `due`.
    pub fn schedule(&self, due: Instant, dispatch: Dispatch) {
        // The timer outlives every worker; a send cannot fail before the
        // engine is done.
        let _ = self.tx.send(RetryMsg::Schedule(due, Box::new(dispatch)));
    }

    /// The reader is done: no fresh item will come.
    pub fn input_done(&self) {
        self.outstanding.input_done.store(true, Ordering::SeqCst);
        let _ = self.tx.send(RetryMsg::Wake);
    }
}

/// Counts one dispatched item as in flight for as long as it lives: taken
/// by the reader, carried with the item through its attempts and retries,
/// and given back when the item is dropped after its last attempt (or never
/// reaches a worker), so no count is raised in one place and lowered in
/// another.
#[derive(Debug)]
pub struct InFlight {
    timer: RetryHandle,
}

impl InFlight {
    /// Counts one more item in flight.
    pub fn new(timer: &RetryHandle) -> InFlight {
        timer.outstanding.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight {
            timer: timer.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let outstanding = &self.timer.outstanding;
        let left = outstanding.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && outstanding.input_done.load(Ordering::SeqCst) {
            let _ = self.timer.tx.send(RetryMsg::Wake);
        }
    }
}

/// Holds items until their retry is due.
pub struct RetryTimer {
    rx: Receiver<RetryMsg>,
    ready: Sender<Dispatch>,
    outstanding: Arc<Outstanding>,
}

/// The parts of the retry machinery: the handle, the timer (to run on its
/// own thread) and the feed's receiver of due items.
pub fn retry_timer() -> (RetryHandle, RetryTimer, Receiver<Dispatch>) {
    let (tx, rx) = unbounded();
    let (ready, ready_rx) = unbounded();
    let outstanding = Arc::new(Outstanding::default());
    (
        RetryHandle {
            tx,
            outstanding: Arc::clone(&outstanding),
        },
        RetryTimer {
            rx,
            ready,
            outstanding,
        },
        ready_rx,
    )
}

impl RetryTimer {
    /// Runs until every item has reached its final outcome and the input is
    /// done; dropping `ready` then tells the feed no retry will come.
    pub fn run(self, cancel: &CancelToken) {
        let mut waiting: BTreeMap<(Instant, u64), Dispatch> = BTreeMap::new();
        loop {
            let now = Instant::now();
            // On stop, waiting items go back at once and end with the outcome
            // of their last attempt.
            while let Some(entry) = waiting.first_entry() {
                if entry.key().0 > now && !cancel.is_stopping() {
                    break;
                }
                let _ = self.ready.send(entry.remove());
            }
            if waiting.is_empty()
                && self.outstanding.input_done.load(Ordering::SeqCst)
                && self.outstanding.in_flight.load(Ordering::SeqCst) == 0
            {
                return;
            }
            let wait = waiting
                .keys()
                .next()
                .map_or(CHECK_EVERY, |(due, _)| due.saturating_duration_since(now))
                .min(CHECK_EVERY);
            match self.rx.recv_timeout(wait) {
                Ok(RetryMsg::Schedule(due, dispatch)) => {
                    waiting.insert((due, dispatch.ticket), *dispatch);
                }
                Ok(RetryMsg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    for (_, dispatch) in std::mem::take(&mut waiting) {
                        let _ = self.ready.send(dispatch);
                    }
                    return;
                }
            }
        }
    }
}
