//! `--round-robin`: a job's stdin is a stream of blocks. A job starts with
//! the block its worker took, and a thread of its own (started by the
//! runner) writes that block and then every block it takes from the feed
//! while the job reads, so `-j` long-running jobs share the input, each
//! getting blocks as fast as it reads them (GNU's round-robin hands them
//! to whichever job is ready, too). Each block the job read ends as the
//! job ended: one journal line, report row and count per block. A block
//! taken after the job stopped reading was never given to it: it starts
//! the worker's next job.

use std::process::ChildStdin;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::dispatch::{Dispatch, Feed};
use crate::item::{Item, ItemData};
use crate::job::{Written, write_block};

/// Holds the jobs' stdin threads back from the feed until every worker
/// has its first block (or the input ended first), so that `-j` jobs run
/// whatever the timing, as GNU's `--round-robin` starts `-j` jobs: a fast
/// job's stdin thread would otherwise take the blocks meant to start the
/// others.
pub struct StartGate {
    jobs: usize,
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl StartGate {
    /// A gate for `jobs` workers.
    pub fn new(jobs: usize) -> StartGate {
        StartGate {
            jobs,
            state: Mutex::new((0, false)),
            changed: Condvar::new(),
        }
    }

    /// A worker took a block to start a job with.
    pub(super) fn arrived(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += 1;
        self.changed.notify_all();
    }

    /// A worker found the input done: no more jobs will start.
    pub(super) fn input_done(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 = true;
        self.changed.notify_all();
    }

    /// Waits until every worker has started a job, the input is done or
    /// the run stops.
    fn wait(&self, cancel: &CancelToken) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 < self.jobs && !state.1 && !cancel.is_stopping() {
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The blocks of one round-robin job, as its stdin thread wrote them.
pub(super) struct Stream<'a> {
    feed: &'a Feed,
    gate: &'a StartGate,
    cancel: &'a CancelToken,
    first: &'a Item,
    state: Mutex<Fed>,
}

/// What the stdin thread did.
#[derive(Default)]
pub(super) struct Fed {
    /// The blocks after the first that the job got, in the order written.
    pub(super) blocks: Vec<Dispatch>,
    /// A block taken after the job stopped reading: none of it was written.
    pub(super) unfed: Option<Dispatch>,
    /// A block could not be written (not because the job stopped reading).
    pub(super) failure: Option<String>,
}

impl<'a> Stream<'a> {
    pub(super) fn new(
        feed: &'a Feed,
        gate: &'a StartGate,
        cancel: &'a CancelToken,
        first: &'a Item,
    ) -> Stream<'a> {
        Stream {
            feed,
            gate,
            cancel,
            first,
            state: Mutex::new(Fed::default()),
        }
    }

    /// Writes the first block, then each block the feed gives, until the
    /// input ends, the run stops or the job stops reading; closing `pipe`
    /// then tells the job its input is over.
    pub(super) fn write_all(&self, pipe: ChildStdin) {
        let mut fed = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match write(&pipe, self.first) {
            Written::All => {}
            Written::Closed { .. } => return,
            Written::Failed(why) => {
                fed.failure = Some(why);
                return;
            }
        }
        self.gate.wait(self.cancel);
        while !self.cancel.is_stopping() {
            let Some(mut dispatch) = self.feed.next() else {
                return;
            };
            let written = write(&pipe, &dispatch.item);
            if let Written::Closed { any: false } = written {
                fed.unfed = Some(dispatch);
                return;
            }
            dispatch.item.release_payload();
            fed.blocks.push(dispatch);
            match written {
                Written::All => {}
                Written::Closed { .. } => return,
                Written::Failed(why) => {
                    fed.failure = Some(why);
                    return;
                }
            }
        }
    }

    /// What was written, once the job has ended.
    pub(super) fn into_fed(self) -> Fed {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn write(pipe: &ChildStdin, item: &Item) -> Written {
    match &item.data {
        ItemData::Block(block) => write_block(pipe, block),
        _ => Written::All,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Whether `wait` returned only once `open` had begun on another
    /// thread (a gate open too early returns before, seeing `false`).
    fn opens_with(gate: &StartGate, cancel: &CancelToken, open: impl FnOnce() + Send) -> bool {
        let opened = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::yield_now();
                opened.store(true, Ordering::SeqCst);
                open();
            });
            gate.wait(cancel);
            opened.load(Ordering::SeqCst)
        })
    }

    #[test]
    fn the_gate_opens_once_every_worker_started_a_job() {
        let cancel = CancelToken::new().unwrap();
        let gate = StartGate::new(3);
        gate.arrived();
        gate.arrived();
        assert!(opens_with(&gate, &cancel, || gate.arrived()));
        // Open for good: a job that runs later does not wait.
        gate.wait(&cancel);
    }

    #[test]
    fn the_gate_opens_when_the_input_ends_first() {
        let cancel = CancelToken::new().unwrap();
        let gate = StartGate::new(4);
        gate.arrived();
        assert!(opens_with(&gate, &cancel, || gate.input_done()));
    }

    #[test]
    fn the_gate_opens_when_the_run_stops() {
        let cancel = CancelToken::new().unwrap();
        let gate = StartGate::new(2);
        assert!(opens_with(&gate, &cancel, || {
            cancel.signal(libc::SIGINT);
        }));
    }
}
