//! The engine: N workers run items as the dispatcher hands them over, and
//! every outcome goes out as an [`Event`] on one result channel. Two
//! backends share [`Work::execute`], so they differ only in how items reach a
//! worker: [`threads`] (explicit crossbeam worker threads, the default) and
//! [`rayon`] (a rayon pool). Neither prints anything.

mod delay;
pub mod rayon;
mod round_robin;
pub mod threads;

use std::panic::{AssertUnwindSafe, catch_unwind};

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::cancel::{CancelToken, Running};
use crate::dispatch::{Dispatch, Feed, Members, RetryHandle};
use crate::event::{Chunk, Event, Finished, JobPart, JobStarted, Retry, Stamp};
use crate::halt::HaltState;
use crate::item::{Item, ItemData};
use crate::job::{Job, JobResult, Runner, StreamStdin};
use crate::journal::Journal;
use crate::outcome::Captured;
use crate::outcome::Outcome;
use crate::retry::RetryPolicy;
use crate::template::text::TextTemplate;
use crate::template::{CommandSpec, Template};
pub(crate) use delay::StartDelay;
pub use round_robin::StartGate;

/// Which worker pool runs the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Explicit worker threads fed by a bounded crossbeam channel.
    Threads,
    /// A rayon thread pool.
    Rayon,
}

/// What every worker needs to turn an item into an outcome event.
pub struct Work<'a> {
    /// The parsed command template.
    pub template: &'a Template,
    /// How messages name the input (a path, `<stdin>` or `:::`).
    pub input: &'a str,
    /// Runs the rendered command.
    pub runner: &'a dyn Runner,
    /// The run's cancellation state.
    pub cancel: &'a CancelToken,
    /// The result channel to the collector.
    pub events: Sender<Event>,
    /// Whether `Started` events are sent, with a label (progress or events
    /// are on).
    pub labels: bool,
    /// Whether `Started` events are sent with the item bytes (streamed lines
    /// with `--tag`, and the event stream, which names the whole item).
    pub tags: bool,
    /// `--tagstring`: with `tags`, `Started` events carry the rendered prefix.
    pub tagstring: Option<&'a TextTemplate>,
    /// Whether every finished item carries its command text (reports list
    /// it); failed items always do, for the summary.
    pub commands: bool,
    /// Retries: the policy and the timer that holds waiting items.
    pub retry: Option<(&'a RetryPolicy, RetryHandle)>,
    /// The journal. A worker journals an item with no output itself;
    /// otherwise it waits, after the item, until the collector has written
    /// its output and journaled it. Either way a crash repeats at most one
    /// item per worker (see [`Finished::ack`]).
    pub journal: Option<&'a Journal>,
    /// `--halt`: checked by the worker that finished an item, before it
    /// takes another.
    pub halt: Option<&'a HaltState>,
    /// `--delay`: the moments jobs may start.
    pub delay: Option<&'a StartDelay>,
    /// `--round-robin`: a job's stdin takes block after block from the
    /// feed, once every worker has started its job.
    pub round_robin: Option<&'a StartGate>,
}

/// Whether a finished item has output for the collector to write (so
/// the collector journals it after writing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    None,
    ToWrite,
}

impl Work<'_> {
    /// Runs one attempt of an item on worker `slot` and reports it, or hands
    /// it to the retry timer. Never panics: a panic inside the runner becomes
    /// an internal-error outcome and drains the run.
    pub fn execute(&self, dispatch: Dispatch, slot: usize) {
        let _ = self.execute_fed(dispatch, slot, None);
    }

    /// Runs what a worker took from `feed`: one item, or with
    /// `--round-robin` a job whose stdin takes more blocks from the feed
    /// (jobs after jobs, while blocks are left that a job ended before
    /// reading).
    pub fn run(&self, dispatch: Dispatch, feed: &Feed, slot: usize) {
        let Some(gate) = self.round_robin else {
            return self.execute(dispatch, slot);
        };
        gate.arrived();
        // A job that ended before reading all it was given leaves blocks
        // for the next.
        let mut left = vec![dispatch];
        while !left.is_empty() {
            let first = left.remove(0);
            left = self.execute_fed(first, slot, Some((feed, gate, left)));
        }
    }

    /// A worker found the input done (so the round-robin jobs running
    /// need not wait for more workers to start).
    pub fn input_done(&self) {
        if let Some(gate) = self.round_robin {
            gate.input_done();
        }
    }

    /// [`Work::execute`]; with `feed`, the job's stdin is a stream of
    /// blocks from it (`--round-robin`). Returns a block taken for the job
    /// after it stopped reading.
    fn execute_fed(
        &self,
        dispatch: Dispatch,
        slot: usize,
        feed: Option<(&Feed, &StartGate, Vec<Dispatch>)>,
    ) -> Vec<Dispatch> {
        // `in_flight` goes with the item to the retry timer, or is dropped
        // when this returns, once the item's last attempt is reported: the
        // timer then knows the item is final.
        if let Some(delay) = self.delay {
            delay.wait(self.cancel);
        }
        let Some((dispatch, spec)) = self.ready(dispatch, slot) else {
            // The others end alike (the run stops): each on its own.
            for rest in feed.map(|(_, _, rest)| rest).unwrap_or_default() {
                let _ = self.ready(rest, slot);
            }
            return Vec::new();
        };
        let Dispatch {
            ticket,
            item,
            attempts,
            first,
            in_flight,
            members,
            ..
        } = dispatch;
        let attempt = attempts + 1;
        // A batch's items joined by spaces: its `--tag` (and `{}` of
        // `--tagstring`), made once for the start and the end.
        let joined = members
            .as_ref()
            .filter(|m| !m.items.is_empty())
            .map(|m| job_tag(&item, m));
        // Only progress, events and live tags need to know a job started:
        // without them, one message (and one collector wake-up) per item less.
        if self.labels || self.tags {
            let _ = self.events.send(Event::Started(JobStarted {
                ticket,
                seq: item.seq,
                slot,
                attempt,
                label: self.labels.then(|| job_label(&item, members.as_ref())),
                tag: self
                    .tags
                    .then(|| joined.clone().unwrap_or_else(|| item.raw.clone())),
                tagstring: self.tagstring.filter(|_| self.tags).map(|tagstring| {
                    tagstring.render_job(
                        &item,
                        joined.as_deref(),
                        members.as_ref().map(|m| m.seq),
                        slot,
                    )
                }),
            }));
        }
        let start = Stamp::now();
        let stream = feed.map(|(feed, gate, pending)| {
            round_robin::Stream::new(feed, gate, self.cancel, &item, pending)
        });
        let write_all = stream
            .as_ref()
            .map(|s| move |pipe, exited: &AtomicBool| s.write_all(pipe, exited));
        let stdin = write_all.as_ref().map(|w| w as &StreamStdin<'_>);
        let (
            JobResult {
                mut outcome,
                captured,
                leaked,
            },
            streamed,
        ) = self.attempt(&item, members.as_ref(), &spec, slot, ticket, stdin);
        let fed = stream.map(round_robin::Stream::into_fed);
        let duration = start.instant.elapsed();
        let first = first.unwrap_or(start);
        if let Some((policy, timer)) = &self.retry
            && policy.wants(&outcome, attempt)
            && !self.cancel.is_stopping()
        {
            let delay = policy.delay(
                attempt,
                ticket ^ (u64::from(attempt) << 40) ^ start.wall_nanos(),
            );
            let _ = self.events.send(Event::Retrying(Retry {
                ticket,
                seq: item.seq,
                slot,
                attempt,
                outcome: outcome.clone(),
                duration,
                delay,
            }));
            // The failed attempt's output is dropped with `captured`: only
            // the final attempt's output is written. (A round-robin job
            // has no retries.)
            timer.schedule(
                Instant::now() + delay,
                Dispatch {
                    ticket,
                    item,
                    attempts: attempt,
                    last: Some(outcome),
                    first: Some(first),
                    in_flight,
                    members,
                },
            );
            return Vec::new();
        }
        let mut unfed = Vec::new();
        let mut members = members;
        let mut member_tickets = Vec::new();
        if let Some(fed) = fed {
            if let (Some(why), true) = (fed.failure, outcome.is_success()) {
                outcome = Outcome::Internal { message: why };
            }
            unfed = fed.unread;
            member_tickets = fed.blocks.iter().map(|d| d.ticket).collect();
            members = Some(Members {
                seq: item.seq,
                items: fed.blocks.into_iter().map(|d| d.item).collect(),
            });
        }
        // Rendering the command as shell text costs an allocation per item:
        // only failure notes and reports use it.
        let command = (!outcome.is_success() || self.commands).then(|| spec.display());
        // Nothing for the collector to write: the worker journals the item
        // itself, without a round trip (the common case of quiet jobs).
        let output = if attempt == 1 && !streamed && nothing_captured(&captured) {
            Output::None
        } else {
            Output::ToWrite
        };
        self.finish(
            Finished {
                ticket,
                item,
                slot,
                outcome,
                captured,
                started_at: start.wall,
                duration,
                item_started_at: first.wall,
                item_duration: first.instant.elapsed(),
                command,
                attempts: attempt,
                leaked,
                ack: None,
                journaled: false,
                job: members.as_ref().map(|m| JobPart::First { seq: m.seq }),
                tag: joined,
                members: members.map(|m| m.items).unwrap_or_default(),
                member_tickets,
            },
            output,
        );
        unfed
    }

    /// The item's command, or `None` when the item ends without running:
    /// the run is stopping (a waiting retry keeps its last attempt's
    /// outcome), the record is bad, or the template cannot render it.
    fn ready(&self, dispatch: Dispatch, slot: usize) -> Option<(Dispatch, CommandSpec)> {
        if self.cancel.is_stopping() {
            let Dispatch {
                ticket,
                item,
                attempts,
                last,
                first,
                members,
                ..
            } = dispatch;
            let outcome = last.unwrap_or(Outcome::NotStarted);
            let mut finished = Finished::without_run(ticket, item, outcome);
            with_members(&mut finished, members);
            finished.attempts = attempts;
            if let Some(first) = first {
                finished.item_started_at = first.wall;
                finished.item_duration = first.instant.elapsed();
            }
            // Earlier attempts may have streamed lines the collector holds.
            let output = if attempts == 0 {
                Output::None
            } else {
                Output::ToWrite
            };
            self.finish(finished, output);
            return None;
        }
        if let ItemData::Bad(message) = &dispatch.item.data {
            let outcome = Outcome::BadInput {
                message: message.clone(),
            };
            let mut finished = Finished::without_run(dispatch.ticket, dispatch.item, outcome);
            with_members(&mut finished, dispatch.members);
            self.finish(finished, Output::None);
            return None;
        }
        let rendered = match &dispatch.members {
            None => self
                .template
                .render(&dispatch.item, slot)
                .map_err(|message| (dispatch.item.place(self.input), message)),
            Some(members) => {
                let items: Vec<&Item> = std::iter::once(&dispatch.item)
                    .chain(&members.items)
                    .collect();
                self.template
                    .render_batch(&items, members.seq, slot)
                    .map_err(|e| (items[e.index].place(self.input), e.message))
            }
        };
        match rendered {
            Ok(spec) => Some((dispatch, spec)),
            Err((place, message)) => {
                let outcome = Outcome::BadInput {
                    message: format!("{place}: {message}"),
                };
                let mut finished = Finished::without_run(dispatch.ticket, dispatch.item, outcome);
                with_members(&mut finished, dispatch.members);
                self.finish(finished, Output::None);
                None
            }
        }
    }

    /// Runs one attempt, streaming its lines to the collector; a panicking
    /// runner becomes an internal error. Says whether any line streamed.
    fn attempt(
        &self,
        item: &Item,
        members: Option<&Members>,
        spec: &CommandSpec,
        slot: usize,
        ticket: u64,
        stream: Option<&StreamStdin<'_>>,
    ) -> (JobResult, bool) {
        let seq = members.map_or(item.seq, |m| m.seq);
        let job = Job {
            item,
            seq,
            spec,
            slot,
            stream,
        };
        let events = &self.events;
        let streamed = std::cell::Cell::new(false);
        let mut lines = |stream, bytes| {
            streamed.set(true);
            let _ = events.send(Event::Output(Chunk {
                ticket,
                stream,
                bytes,
            }));
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.runner.run(&job, self.cancel, &mut lines)
        }));
        let result = result.unwrap_or_else(|payload| {
            self.cancel.fatal(Running::Finish);
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a worker panicked".to_owned());
            JobResult {
                outcome: Outcome::Internal { message },
                captured: Default::default(),
                leaked: false,
            }
        });
        (result, streamed.get())
    }

    /// Reports a finished item. With no output for the collector to write,
    /// this worker journals it; otherwise the collector does, once the
    /// output is written, and this worker waits for that.
    fn finish(&self, mut finished: Finished, output: Output) {
        // Its last attempt is over: a block's bytes are not needed again.
        finished.item.release_payload();
        if let Some(halt) = self.halt
            && halt.record(&finished.outcome)
        {
            self.cancel.halt(halt.policy().when);
        }
        let recorded = finished.outcome.status().is_recorded();
        if let (Some(journal), Output::None, true) = (self.journal, output, recorded) {
            finished.journaled = true;
            if let Err(e) = journal_job(journal, &finished) {
                self.cancel.fatal(Running::Terminate);
                let _ = self
                    .events
                    .send(Event::Fatal(format!("{:#}", anyhow::Error::from(e))));
            }
        }
        // The collector journals the item once its output is written; this
        // worker takes no other item until then. A dropped sender (the
        // collector gone, or the event never delivered) ends the wait too.
        let ack = if self.journal.is_some() && recorded && !finished.journaled {
            let (tx, rx) = crossbeam_channel::bounded::<()>(1);
            finished.ack = Some(tx);
            Some(rx)
        } else {
            None
        };
        // A closed channel means the collector is gone; there is no one left
        // to tell, and the run is ending anyway.
        let sent = self
            .events
            .send(Event::Finished(Box::new(finished)))
            .is_ok();
        if let (Some(rx), true) = (ack, sent) {
            let _ = rx.recv();
        }
    }
}

/// Journals a finished job's items, in one write: its first item and
/// every other item of a batch.
fn journal_job(journal: &Journal, finished: &Finished) -> Result<(), crate::journal::JournalError> {
    use crate::record::ItemRecord;
    if finished.members.is_empty() {
        return journal.record(&ItemRecord::of(finished));
    }
    let mut records = Vec::with_capacity(finished.members.len() + 1);
    records.push(ItemRecord::of(finished));
    for item in &finished.members {
        let mut record = ItemRecord::of(finished);
        record.name(item);
        record.replaces_failure = item.rerun;
        records.push(record);
    }
    journal.record_all(&records)
}

/// A job that did not run takes its other items along: all end alike.
fn with_members(finished: &mut Finished, members: Option<Members>) {
    if let Some(members) = members {
        finished.job = Some(JobPart::First { seq: members.seq });
        finished.members = members.items;
    }
}

/// A running job's label: its first item, and how many more it holds.
fn job_label(item: &Item, members: Option<&Members>) -> String {
    let label = item.label(crate::item::LABEL_MAX);
    match members {
        Some(members) if !members.items.is_empty() => {
            format!("{label} (+{} more)", members.items.len())
        }
        _ => label,
    }
}

/// A job's `--tag`: its item, or a batch's items joined by spaces (GNU).
fn job_tag(item: &Item, members: &Members) -> Vec<u8> {
    let mut tag = item.raw.clone();
    for member in &members.items {
        tag.push(b' ');
        tag.extend_from_slice(&member.raw);
    }
    tag
}

/// Whether a job left nothing in its capture files (an unreadable one
/// counts as something).
fn nothing_captured(captured: &Captured) -> bool {
    [&captured.stdout, &captured.stderr].iter().all(|file| {
        file.as_ref()
            .is_none_or(|f| f.metadata().is_ok_and(|m| m.len() == 0))
    })
}

/// Runs every item from `feed` with `jobs` workers of the chosen backend
/// and returns when all have been reported.
pub fn run(kind: EngineKind, jobs: usize, feed: &Feed, work: &Work<'_>) -> anyhow::Result<()> {
    match kind {
        EngineKind::Threads => {
            threads::run(jobs, feed, work);
            Ok(())
        }
        EngineKind::Rayon => rayon::run(jobs, feed, work),
    }
}

#[cfg(test)]
mod tests;
