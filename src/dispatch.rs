//! Dispatch: from the input to the workers. The reader thread ([`Reading`])
//! is the dispatcher: it numbers items in dispatch order, skips what an
//! earlier run finished, stops taking new ones when the run is stopping, and
//! holds back while the `-k` reorder window is full. Workers take items
//! straight from its bounded channel through a [`Feed`], which merges in
//! items whose retry is due. The retry timer ([`RetryTimer`]) keeps waiting
//! items off the workers: a failed attempt is handed to it, and it hands the item back
//! here when its delay has passed (at once when the run is stopping).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{
    Receiver, RecvTimeoutError, Select, SendTimeoutError, Sender, TrySendError, bounded, unbounded,
};

use crate::cancel::{CancelToken, Running};
use crate::event::{Event, Skipped, Stamp};
use crate::input::{InputError, Reader};
use crate::item::Item;
use crate::outcome::Outcome;
use crate::resume::{Admit, Gate};

/// How often blocked loops look at the stop flag when nothing wakes them.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// An item on its way to a worker, numbered in dispatch order.
#[derive(Debug)]
pub struct Dispatch {
    /// Dispatch order, 0-based and contiguous.
    pub ticket: u64,
    /// The item.
    pub item: Item,
    /// Attempts already made (0 for a fresh item).
    pub attempts: u32,
    /// The outcome of the last attempt, for a retry.
    pub last: Option<Outcome>,
    /// When the first attempt started, for a retry (an item's span runs
    /// from there to the end of its last attempt).
    pub first: Option<Stamp>,
}

/// `--shard K/N`: this run takes the items at input positions K, K+N, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: u64,
    /// N.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not K/N with 1 <= K <= N (e.g. 2/8)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (k.trim().parse::<u64>(), n.trim().parse::<u64>());
        match (index, count) {
            (Ok(index), Ok(count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(bad()),
        }
    }

    /// Whether the item at input position `seq` (from 1) is in this shard.
    pub fn contains(&self, seq: u64) -> bool {
        (seq.saturating_sub(1)) % self.count == self.index - 1
    }

    /// How many of the items at positions 1..=`total` are in this shard.
    pub fn size_of(&self, total: u64) -> u64 {
        if total < self.index {
            0
        } else {
            (total - self.index) / self.count + 1
        }
    }
}

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
    Schedule(Instant, Box<Dispatch>),
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
        let _ = self.tx.send(RetryMsg::Schedule(due, Box::new(dispatch)));
    }

    /// The reader is done: no fresh item will come.
    pub fn input_done(&self) {
        self.outstanding.input_done.store(true, Ordering::SeqCst);
        let _ = self.tx.send(RetryMsg::Wake);
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

/// The workers' side of dispatch: items in dispatch order from the reader,
/// merged with retries that are due. Shared by every worker (the channels are
/// multi-consumer); no lock is involved.
pub struct Feed {
    input: Receiver<Dispatch>,
    retries: Option<Receiver<Dispatch>>,
    /// Rung when the input channel is half empty, so the reader refills it in
    /// one go instead of waking for every item taken.
    doorbell: Sender<()>,
    low_water: usize,
}

/// The reader's side of dispatch.
pub struct Intake {
    tx: Sender<Dispatch>,
    doorbell: Receiver<()>,
}

impl Intake {
    /// Hands one item to the workers, waiting for room; false if they are
    /// gone. (The reader uses the doorbell instead; this is for tests and
    /// simple feeders.)
    pub fn push(&self, dispatch: Dispatch) -> bool {
        self.tx.send(dispatch).is_ok()
    }
}

/// A feed whose input channel holds `capacity` items, with its intake.
pub fn feed(capacity: usize, retries: Option<Receiver<Dispatch>>) -> (Intake, Feed) {
    let (tx, rx) = bounded(capacity);
    let (ring, doorbell) = bounded(1);
    (
        Intake { tx, doorbell },
        Feed {
            input: rx,
            retries,
            doorbell: ring,
            low_water: capacity / 2,
        },
    )
}

impl Feed {
    /// The next item for a worker; `None` once the input is done and no retry
    /// can come any more.
    pub fn next(&self) -> Option<Dispatch> {
        let Some(retries) = &self.retries else {
            let dispatch = self.input.recv().ok()?;
            self.took();
            return Some(dispatch);
        };
        let mut input_open = true;
        loop {
            // A retry that is due goes first: it has waited already.
            if let Ok(dispatch) = retries.try_recv() {
                return Some(dispatch);
            }
            let mut select = Select::new();
            let input_op = input_open.then(|| select.recv(&self.input));
            let retry_op = select.recv(retries);
            let op = select.select();
            if Some(op.index()) == input_op {
                match op.recv(&self.input) {
                    Ok(dispatch) => {
                        self.took();
                        return Some(dispatch);
                    }
                    Err(_) => input_open = false,
                }
            } else if op.index() == retry_op {
                match op.recv(retries) {
                    Ok(dispatch) => return Some(dispatch),
                    // The timer is done: nothing waits, and the input is done
                    // (the timer ends only after it).
                    Err(_) if !input_open => return None,
                    Err(_) => {
                        let dispatch = self.input.recv().ok()?;
                        self.took();
                        return Some(dispatch);
                    }
                }
            }
        }
    }

    fn took(&self) {
        if self.input.len() <= self.low_water {
            let _ = self.doorbell.try_send(());
        }
    }
}

/// How the input ended, as the reader saw it.
#[derive(Debug)]
pub struct InputEnd {
    /// The whole input was read.
    pub exhausted: bool,
    /// A run-fatal read error.
    pub error: Option<InputError>,
}

/// Everything the reader needs to turn input into dispatched items.
pub struct Reading<'a> {
    /// The run's cancellation state.
    pub cancel: &'a CancelToken,
    /// Gives items their keys and skips what an earlier run finished.
    pub gate: Gate,
    /// Where skipped items are reported.
    pub events: Sender<Event>,
    /// `-k`: one permit per item in the reorder window.
    pub window: Option<Sender<()>>,
    /// Retries: the timer is told how many items are out and when the
    /// input is done.
    pub timer: Option<RetryHandle>,
    /// `--shard`: only these items are dispatched.
    pub shard: Option<Shard>,
}

impl Reading<'_> {
    /// Reads, numbers and dispatches every item until the input ends, the
    /// run stops, or reading fails. Runs on its own thread: it is the
    /// dispatcher, and it is the only thread that reads the input.
    pub fn run(mut self, reader: Reader, intake: Intake) -> InputEnd {
        let end = self.pump(reader, &intake);
        if let Some(timer) = &self.timer {
            timer.input_done();
        }
        end
    }

    fn pump(&mut self, reader: Reader, intake: &Intake) -> InputEnd {
        let mut ticket = 0u64;
        for item in reader {
            if self.cancel.is_stopping() {
                return InputEnd {
                    exhausted: false,
                    error: None,
                };
            }
            let mut item = match item {
                Ok(item) => item,
                Err(error) => {
                    self.cancel.fatal(Running::Finish);
                    return InputEnd {
                        exhausted: false,
                        error: Some(error),
                    };
                }
            };
            // Keys are numbered over the whole input, so every shard agrees
            // on them; then the items of other shards are passed over.
            let admitted = self.gate.admit(&mut item);
            if self.shard.is_some_and(|shard| !shard.contains(item.seq)) {
                continue;
            }
            if let Admit::Skip(record) = admitted {
                // Finished in an earlier run (`--resume`): reported with
                // its record, so the run's reports cover the whole batch.
                let _ = self.events.send(Event::Skipped(Box::new(Skipped {
                    item,
                    record: *record,
                })));
                continue;
            }
            self.acquire_window();
            if let Some(timer) = &self.timer {
                timer.outstanding.count.fetch_add(1, Ordering::SeqCst);
            }
            let dispatch = Dispatch {
                ticket,
                item,
                attempts: 0,
                last: None,
                first: None,
            };
            ticket += 1;
            if !send(intake, dispatch, self.cancel) {
                return InputEnd {
                    exhausted: false,
                    error: None,
                };
            }
        }
        // A cancelled read also ends the input: that is not its end.
        InputEnd {
            exhausted: !self.cancel.is_stopping(),
            error: None,
        }
    }

    /// Waits for room in the `-k` window. Gives up when the run is stopping:
    /// the item then never runs, and still gets its outcome (not started)
    /// from the worker that takes it.
    fn acquire_window(&self) {
        let Some(window) = &self.window else {
            return;
        };
        loop {
            match window.send_timeout((), CHECK_EVERY) {
                Ok(()) | Err(SendTimeoutError::Disconnected(())) => return,
                Err(SendTimeoutError::Timeout(())) if self.cancel.is_stopping() => return,
                Err(SendTimeoutError::Timeout(())) => {}
            }
        }
    }
}

/// Hands one item to the workers. When the channel is full, sleeps until
/// the workers have drained half of it (the doorbell), so the reader wakes
/// once per half channel, not once per item. False if the workers are gone.
fn send(intake: &Intake, mut dispatch: Dispatch, cancel: &CancelToken) -> bool {
    loop {
        match intake.tx.try_send(dispatch) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) => dispatch = back,
        }
        if cancel.is_stopping() {
            // Workers are draining the channel: wait for room plainly.
            return intake.tx.send(dispatch).is_ok();
        }
        let _ = intake.doorbell.recv_timeout(CHECK_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        let s = Shard::parse("2/3").unwrap();
        let taken: Vec<u64> = (1..=10).filter(|&seq| s.contains(seq)).collect();
        assert_eq!(taken, vec![2, 5, 8]);
        assert_eq!(s.size_of(10), 3);
        assert_eq!(s.size_of(1), 0);
        assert_eq!(Shard::parse("3/3").unwrap().size_of(9), 3);
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        // Every item is in exactly one shard.
        for seq in 1..=20 {
            let n = (1..=4)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 4,
                    }
                    .contains(seq)
                })
                .count();
            assert_eq!(n, 1);
        }
    }
}
