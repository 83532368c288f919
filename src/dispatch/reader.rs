//! The reader loop, which is the dispatcher: on its own thread, the only
//! one that reads the input, it numbers items in dispatch order, keys them
//! and skips what an earlier run finished (the resume gate), passes over
//! other shards' items, waits for room in the `-k` window, and hands each
//! item to the workers through the feed, until the input ends, the run
//! stops, or reading fails.

use crossbeam_channel::{SendTimeoutError, Sender};

use super::batcher::{Batch, Batcher};
use super::{CHECK_EVERY, Dispatch, InFlight, Intake, Members, RetryHandle, Shard};
use crate::cancel::{CancelToken, Running};
use crate::event::{Event, Skipped};
use crate::input::{InputError, Reader};
use crate::journal::{Admit, Gate};

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
    /// Retries: each item dispatched takes an [`InFlight`] guard from the
    /// timer, and the timer is told when the input is done.
    pub timer: Option<RetryHandle>,
    /// `--shard`: only these items are dispatched.
    pub shard: Option<Shard>,
    /// Several items per job: groups items into jobs.
    pub batcher: Option<Batcher<'a>>,
}

impl Reading<'_> {
    /// Reads, numbers and dispatches every item until the input ends, the
    /// run stops, or reading fails.
    pub fn run(mut self, reader: Reader, intake: Intake) -> InputEnd {
        let end = self.pump(reader, &intake);
        if let Some(timer) = &self.timer {
            timer.input_done();
        }
        end
    }

    fn pump(&mut self, reader: Reader, intake: &Intake) -> InputEnd {
        let mut ticket = 0u64;
        let mut batcher = self.batcher.take();
        let stopped = InputEnd {
            exhausted: false,
            error: None,
        };
        for item in reader {
            if self.cancel.is_stopping() {
                // Items read into a batch still get their outcome.
                if let Some(batcher) = &mut batcher {
                    batcher.flush(&mut |batch| self.send_batch(batch, &mut ticket, intake));
                }
                return stopped;
            }
            let mut item = match item {
                Ok(item) => item,
                Err(error) => {
                    self.cancel.fatal(Running::Finish);
                    if let Some(batcher) = &mut batcher {
                        batcher.flush(&mut |batch| self.send_batch(batch, &mut ticket, intake));
                    }
                    return InputEnd {
                        exhausted: false,
                        error: Some(error),
                    };
                }
            };
            // Keys are numbered over the whole input, so every shard agrees
            // on them; then the items of other shards are passed over.
            let admitted = self.gate.admit(&mut item);
            let gate = &self.gate;
            if self
                .shard
                .is_some_and(|shard| !shard.takes(item.seq, || gate.shard_hash(&item)))
            {
                continue;
            }
            if let Admit::Refuse(why) = admitted {
                self.cancel.fatal(Running::Finish);
                if let Some(batcher) = &mut batcher {
                    batcher.flush(&mut |batch| self.send_batch(batch, &mut ticket, intake));
                }
                return InputEnd {
                    exhausted: false,
                    error: Some(InputError::Refused(why)),
                };
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
            let sent = match &mut batcher {
                Some(batcher) => batcher.push(item, &mut |batch| {
                    self.send_batch(batch, &mut ticket, intake)
                }),
                None => self.send(Dispatch::fresh(ticket, item, None), &mut ticket, intake),
            };
            if !sent {
                return stopped;
            }
        }
        if let Some(batcher) = &mut batcher
            && !batcher.finish(&mut |batch| self.send_batch(batch, &mut ticket, intake))
        {
            return stopped;
        }
        // A cancelled read also ends the input: that is not its end.
        InputEnd {
            exhausted: !self.cancel.is_stopping(),
            error: None,
        }
    }

    /// Dispatches a job of several items: the first carries the others.
    fn send_batch(&self, batch: Batch, ticket: &mut u64, intake: &Intake) -> bool {
        let mut items = batch.items.into_iter();
        let Some(first) = items.next() else {
            return true;
        };
        let mut dispatch = Dispatch::fresh(*ticket, first, None);
        dispatch.members = Some(Members {
            seq: batch.seq,
            items: items.collect(),
        });
        self.send(dispatch, ticket, intake)
    }

    /// Takes room in the `-k` window and an in-flight guard for a job, and
    /// hands it to the workers; its items take the next tickets.
    fn send(&self, mut dispatch: Dispatch, ticket: &mut u64, intake: &Intake) -> bool {
        self.acquire_window();
        dispatch.in_flight = self.timer.as_ref().map(InFlight::new);
        *ticket += 1 + dispatch
            .members
            .as_ref()
            .map_or(0, |m| m.items.len() as u64);
        intake.send(dispatch, self.cancel)
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
