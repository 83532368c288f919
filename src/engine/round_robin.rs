//! `--round-robin`: a job's stdin is a stream of blocks. A job starts with
//! the block its worker took, and a thread of its own (started by the
//! runner) writes that block and then every block it takes from the feed
//! while the job reads, so `-j` long-running jobs share the input, each
//! getting blocks as fast as it reads them (GNU's round-robin hands them
//! to whichever job is ready, too). Each block the job read ends as the
//! job ended: one journal line, report row and count per block. A block
//! taken after the job stopped reading was never given to it: it starts
//! the worker's next job.

use std::collections::VecDeque;
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::dispatch::{Dispatch, Feed};
use crate::item::{Item, ItemData};
use crate::job::{WAKE, Written, capacity, unread, write_block};

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
    /// Blocks to write before taking any from the feed: an earlier job's
    /// that it never read.
    pending: Mutex<Vec<Dispatch>>,
    state: Mutex<Fed>,
}

/// What the stdin thread did.
#[derive(Default)]
pub(super) struct Fed {
    /// The blocks after the first that the job got, in the order written.
    pub(super) blocks: Vec<Dispatch>,
    /// Blocks the job never read a byte of (it ended first): they start
    /// the worker's next job.
    pub(super) unread: Vec<Dispatch>,
    /// A block could not be written (not because the job stopped reading).
    pub(super) failure: Option<String>,
}

/// A block written into the pipe, whose bytes may still be there.
struct InPipe {
    dispatch: Dispatch,
    /// Its place in the stream of bytes written.
    start: u64,
    end: u64,
}

impl<'a> Stream<'a> {
    pub(super) fn new(
        feed: &'a Feed,
        gate: &'a StartGate,
        cancel: &'a CancelToken,
        first: &'a Item,
        pending: Vec<Dispatch>,
    ) -> Stream<'a> {
        Stream {
            feed,
            gate,
            cancel,
            first,
            pending: Mutex::new(pending),
            state: Mutex::new(Fed::default()),
        }
    }

    /// Writes the first block, then each pending block and each block the
    /// feed gives, until the input ends (then, once the job has read what
    /// the pipe holds, closing `pipe` tells it its input is over), the run
    /// stops, or the job ends (`exited`) or stops reading. A block counts
    /// as the job's once the job has read from it: its bytes left the pipe.
    /// Blocks whose bytes are all still in the pipe when the job ends were
    /// never read, and go back (`Fed::unread`) with their bytes.
    pub(super) fn write_all(&self, pipe: ChildStdin, exited: &AtomicBool) {
        let mut fed = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pending: VecDeque<Dispatch> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
                .into();
        let mut total = match write(&pipe, self.first, exited) {
            Written::All => block_bytes(self.first),
            Written::Closed { .. } => {
                fed.unread.extend(pending);
                return;
            }
            Written::Failed(why) => {
                fed.failure = Some(why);
                fed.unread.extend(pending);
                return;
            }
        };
        let capacity = capacity(&pipe);
        let mut in_pipe: VecDeque<InPipe> = VecDeque::new();
        let mut input_done = false;
        let mut unwritten = None;
        self.gate.wait(self.cancel);
        while !self.cancel.is_stopping() && !exited.load(Ordering::SeqCst) {
            let next = match pending.pop_front() {
                Some(dispatch) => dispatch,
                None => match self.feed.next_within(WAKE) {
                    Ok(Some(dispatch)) => dispatch,
                    Ok(None) => {
                        input_done = true;
                        break;
                    }
                    Err(()) => continue,
                },
            };
            let start = total;
            match write(&pipe, &next.item, exited) {
                Written::All => {}
                Written::Closed { written: 0 } => {
                    unwritten = Some(next);
                    break;
                }
                // Part of it went in: the job's if it read any of that.
                Written::Closed { written } => {
                    total += written;
                    in_pipe.push_back(InPipe {
                        dispatch: next,
                        start,
                        end: total,
                    });
                    break;
                }
                Written::Failed(why) => {
                    fed.failure = Some(why);
                    fed.blocks.push(released(next));
                    break;
                }
            }
            total += block_bytes(&next.item);
            in_pipe.push_back(InPipe {
                dispatch: next,
                start,
                end: total,
            });
            // A block that ends a pipe's capacity behind is out of the pipe:
            // read by the job, and its bytes are not needed any more.
            while in_pipe.front().is_some_and(|b| total - b.end >= capacity) {
                if let Some(block) = in_pipe.pop_front() {
                    fed.blocks.push(released(block.dispatch));
                }
            }
        }
        if input_done {
            // Closing now would lose nothing, but whether the job reads what
            // the pipe holds is known only while it is open.
            while unread(&pipe) > 0 && !exited.load(Ordering::SeqCst) && !self.cancel.is_stopping()
            {
                std::thread::sleep(WAKE);
            }
        }
        let read_to = total - unread(&pipe).min(total);
        for block in in_pipe {
            if block.start >= read_to {
                fed.unread.push(block.dispatch);
            } else {
                fed.blocks.push(released(block.dispatch));
            }
        }
        // In input order: what was written, then what was not.
        fed.unread.extend(unwritten);
        fed.unread.extend(pending);
    }

    /// What was written, once the job has ended.
    pub(super) fn into_fed(self) -> Fed {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A block the job has read: its bytes are dropped.
fn released(mut dispatch: Dispatch) -> Dispatch {
    dispatch.item.release_payload();
    dispatch
}

/// The bytes a block puts into the pipe: its header and itself.
fn block_bytes(item: &Item) -> u64 {
    match &item.data {
        ItemData::Block(block) => block.len + block.header.len() as u64,
        _ => 0,
    }
}

fn write(pipe: &ChildStdin, item: &Item, exited: &AtomicBool) -> Written {
    match &item.data {
        ItemData::Block(block) => write_block(pipe, block, exited),
        _ => Written::All,
    }
}

#[cfg(test)]
mod tests {
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
