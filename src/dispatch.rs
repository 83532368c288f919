//! The dispatcher: between the input reader and the engine. It numbers items
//! in dispatch order, stops taking new ones when the run is stopping, holds
//! back while the `-k` reorder window is full, and merges in items whose
//! retry is due. The retry timer ([`RetryTimer`]) keeps waiting items off
//! the workers: a failed attempt is handed to it, and it hands the item back
//! here when its delay has passed (at once when the run is stopping).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender, unbounded};

use crate::cancel::CancelToken;
use crate::engine::Dispatch;
use crate::item::Item;

/// How often blocked loops look at the stop flag when nothing wakes them.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Items in the system that may still come back for a retry: fresh items
/// dispatched and not yet finally finished.
#[derive(Debug, Default)]
pub struct Outstanding {
    count: AtomicUsize,
    input_done: AtomicBool,
}

/// A message to the retry timer.
#[derive(Debug)]
pub enum RetryMsg {
    /// Run this item again at this time.
    Schedule(Instant, Dispatch),
    /// Re-check whether the run is over.
    Wake,
}

/// The workers' handle on the retry timer.
#[derive(Debug, Clone)]
pub struct RetryHandle {
    tx: Sender<RetryMsg>,
    outstanding: std::sync::Arc<Outstanding>,
}

impl RetryHandle {
    /// Hands a failed item to the timer for another attempt at `due`.
    pub fn schedule(&self, due: Instant, dispatch: Dispatch) {
        // The timer outlives every worker; a send cannot fail before the
        // engine is done.
        let _ = self.tx.send(RetryMsg::Schedule(due, dispatch));
    }

    /// An item reached its final outcome.
    pub fn finished(&self) {
        let left = self.outstanding.count.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && self.outstanding.input_done.load(Ordering::SeqCst) {
            let _ = self.tx.send(RetryMsg::Wake);
        }
    }
}

/// Holds items until their retry is due.
pub struct RetryTimer {
    rx: Receiver<RetryMsg>,
    ready: Sender<Dispatch>,
    outstanding: std::sync::Arc<Outstanding>,
}

/// The parts of the retry machinery: the workers' handle, the timer (to run
/// on its own thread) and the dispatcher's receiver of due items.
pub fn retry_timer() -> (RetryHandle, RetryTimer, Receiver<Dispatch>) {
    let (tx, rx) = unbounded();
    let (ready, ready_rx) = unbounded();
    let outstanding = std::sync::Arc::new(Outstanding::default());
    (
        RetryHandle {
            tx,
            outstanding: std::sync::Arc::clone(&outstanding),
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
    /// done; dropping `ready` then tells the dispatcher no retry will come.
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
                && self.outstanding.count.load(Ordering::SeqCst) == 0
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
                    waiting.insert((due, dispatch.ticket), dispatch);
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

/// How the input ended, as the dispatcher saw it.
#[derive(Debug, Default)]
pub struct InputEnd {
    /// The whole input was read.
    pub exhausted: bool,
}

/// Hands items to the engine in dispatch order. An iterator, so both engines
/// consume it the same way.
pub struct Dispatcher<'a> {
    cancel: &'a CancelToken,
    input: Option<Receiver<Item>>,
    retries: Option<Receiver<Dispatch>>,
    timer: Option<RetryHandle>,
    window: Option<Sender<()>>,
    /// A fresh item waiting for room in the window.
    pending: Option<Item>,
    next_ticket: u64,
}

impl<'a> Dispatcher<'a> {
    /// A dispatcher over items from `input`, merging due retries from
    /// `retries` (with the timer's `handle`), and holding one permit of
    /// `window` per fresh item.
    pub fn new(
        cancel: &'a CancelToken,
        input: Receiver<Item>,
        retries: Option<(Receiver<Dispatch>, &RetryHandle)>,
        window: Option<Sender<()>>,
    ) -> Dispatcher<'a> {
        let (retries, timer) = match retries {
            Some((rx, handle)) => (Some(rx), Some(handle.clone())),
            None => (None, None),
        };
        Dispatcher {
            cancel,
            input: Some(input),
            retries,
            timer,
            window,
            pending: None,
            next_ticket: 0,
        }
    }

    fn fresh(&mut self, item: Item) -> Dispatch {
        if let Some(timer) = &self.timer {
            timer.outstanding.count.fetch_add(1, Ordering::SeqCst);
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        Dispatch {
            ticket,
            item,
            attempts: 0,
            last: None,
        }
    }

    fn close_input(&mut self) {
        self.input = None;
        if let Some(timer) = &self.timer {
            timer.outstanding.input_done.store(true, Ordering::SeqCst);
            let _ = timer.tx.send(RetryMsg::Wake);
        }
    }
}

impl Iterator for Dispatcher<'_> {
    type Item = Dispatch;

    fn next(&mut self) -> Option<Dispatch> {
        loop {
            if self.cancel.is_stopping() && self.input.is_some() {
                // Items already read never run, but each still gets its
                // outcome (not started). The reader stops at the flag, so
                // the channel ends soon.
                if let Some(item) = self.pending.take() {
                    return Some(self.fresh(item));
                }
                match self.input.as_ref().map(Receiver::recv) {
                    Some(Ok(item)) => return Some(self.fresh(item)),
                    _ => self.close_input(),
                }
            }
            if self.input.is_none() && self.retries.is_none() {
                return None;
            }
            let mut select = Select::new();
            let retry_op = self.retries.as_ref().map(|rx| select.recv(rx));
            let input_op = match (&self.input, &self.pending) {
                (Some(rx), None) => Some(select.recv(rx)),
                _ => None,
            };
            let window_op = match (&self.window, &self.pending) {
                (Some(tx), Some(_)) => Some(select.send(tx)),
                _ => None,
            };
            let Ok(op) = select.select_timeout(CHECK_EVERY) else {
                continue;
            };
            let index = op.index();
            if Some(index) == retry_op {
                match self.retries.as_ref().map(|rx| op.recv(rx)) {
                    Some(Ok(dispatch)) => return Some(dispatch),
                    _ => self.retries = None,
                }
            } else if Some(index) == input_op {
                match self.input.as_ref().map(|rx| op.recv(rx)) {
                    Some(Ok(item)) if self.window.is_none() => return Some(self.fresh(item)),
                    Some(Ok(item)) => self.pending = Some(item),
                    _ => self.close_input(),
                }
            } else if Some(index) == window_op {
                let sent = self.window.as_ref().map(|tx| op.send(tx, ()));
                if let Some(Err(_)) = sent {
                    // The collector is gone: no more ordering to keep.
                    self.window = None;
                }
                let item = self.pending.take()?;
                return Some(self.fresh(item));
            }
        }
    }
}
