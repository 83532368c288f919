//! The collector: the single consumer of the result channel. It receives
//! each [`Event`] the workers, the reader and the counter send, turns a
//! finished item into its one [`ItemRecord`] (with the stderr tail of a
//! failure), and hands every event to the [`Tally`] and then to each sink
//! in turn (job output, the event stream, reports, annotations, progress:
//! see [`crate::sink`]). It owns no output itself; the sinks do, on this
//! one thread, so workers never print. The run's start and end are events
//! too: [`Collector::run`] begins with `RunStarted`, and
//! [`Collector::finish`] ends with `RunFinished`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::cancel::CancelToken;
use crate::event::{Event, Finished, Skipped, Stream};
use crate::outcome::Outcome;
use crate::sink::output::stdout_is_broken;
use crate::sink::tally::Tally;
use crate::sink::{Control, Done, Earlier, RunEnd, RunEvent, RunStart, Sink};

mod tail;

use tail::{StreamedTails, failure_tail};

/// How often the display is refreshed without events (elapsed times).
const TICK: Duration = Duration::from_millis(100);

/// The single owner of what a run writes while it runs.
pub struct Collector<'a> {
    control: Control<'a>,
    tally: Tally<'a>,
    /// In the order they see each event.
    sinks: Vec<Box<dyn Sink + 'a>>,
    tails: StreamedTails,
    start: RunStart,
    /// A display needs ticks between events.
    ticks: bool,
    /// Jobs write straight to fanout's stdout (`--output ungroup`).
    ungrouped: bool,
}

impl<'a> Collector<'a> {
    /// `ticks`: send `Tick`s between events (a display is shown);
    /// `ungrouped`: jobs share fanout's stdout.
    pub fn new(
        cancel: &'a CancelToken,
        tally: Tally<'a>,
        sinks: Vec<Box<dyn Sink + 'a>>,
        start: RunStart,
        ticks: bool,
        ungrouped: bool,
    ) -> Collector<'a> {
        Collector {
            control: Control::new(cancel),
            tally,
            sinks,
            tails: StreamedTails::default(),
            start,
            ticks,
            ungrouped,
        }
    }

    /// Consumes events until every sender is gone, then lets the sinks
    /// write what is left.
    pub fn run(&mut self, events: &Receiver<Event>) {
        let start = self.start.clone();
        self.dispatch(&RunEvent::RunStarted(&start));
        let mut next_tick = Instant::now();
        loop {
            let event = if self.ticks {
                match events.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
                    Ok(event) => Some(event),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match events.recv() {
                    Ok(event) => Some(event),
                    Err(_) => break,
                }
            };
            if let Some(event) = event {
                self.handle(event);
            }
            if self.ticks && Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.dispatch(&RunEvent::Tick);
            }
            // Batch terminal writes: flush only when no event is waiting.
            if events.is_empty() {
                for sink in &mut self.sinks {
                    sink.idle(&mut self.control);
                }
            }
        }
        self.dispatch(&RunEvent::InputEnd);
    }

    /// What the run counted.
    pub fn tally(&self) -> &Tally<'a> {
        &self.tally
    }

    /// The first run-fatal error a sink (or a worker) reported, taken.
    pub fn take_error(&mut self) -> Option<String> {
        self.control.take_error()
    }

    /// Ends the run: reports and the event stream get its figures. Returns
    /// the first error writing them.
    pub fn finish(&mut self, end: &RunEnd<'_>) -> Option<String> {
        let _ = self.control.take_error();
        self.dispatch(&RunEvent::RunFinished(end));
        self.control.take_error()
    }

    fn dispatch(&mut self, event: &RunEvent<'_>) {
        self.tally.handle(event, &mut self.control);
        for sink in &mut self.sinks {
            sink.handle(event, &mut self.control);
        }
        for done in self.control.take_written() {
            self.dispatch(&RunEvent::Written(&done));
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Total(total) => self.dispatch(&RunEvent::Total(total)),
            Event::Skipped(skipped) => self.skipped(*skipped),
            Event::Started(job) => self.dispatch(&RunEvent::Started(&job)),
            Event::Output(chunk) => {
                if chunk.stream == Stream::Stderr {
                    self.tails.push(chunk.ticket, &chunk.bytes);
                }
                self.dispatch(&RunEvent::Output(&chunk));
            }
            Event::Retrying(retry) => {
                // The failed attempt's streamed lines stay; its tail goes.
                self.tails.take(retry.ticket);
                self.dispatch(&RunEvent::Retrying(&retry));
            }
            Event::Finished(finished) => self.finished(finished),
            Event::Fatal(message) => self.control.fail(message),
        }
    }

    fn finished(&mut self, mut finished: Box<Finished>) {
        if self.ungrouped
            && finished.outcome
                == (Outcome::Signaled {
                    signal: libc::SIGPIPE,
                })
            && stdout_is_broken()
        {
            // The job wrote straight to our stdout, and its reader is gone:
            // the run ends quietly, as if fanout had written the line itself.
            self.control.broken_pipe();
            finished.outcome = Outcome::Interrupted;
            self.dispatch(&RunEvent::StdoutGone);
        }
        let streamed = self.tails.take(finished.ticket);
        let stderr_tail = if finished.outcome.is_failure() {
            failure_tail(finished.captured.stderr.as_ref(), streamed)
        } else {
            Vec::new()
        };
        let members = std::mem::take(&mut finished.members);
        // A batch's worker goes on once all its items are journaled, not
        // only its first.
        let ack = if members.is_empty() {
            None
        } else {
            finished.ack.take()
        };
        let done = Arc::new(Done::new(finished, stderr_tail));
        self.dispatch(&RunEvent::Finished(&done));
        // A job of several items: each of the others ends as the job did,
        // in ticket order, right after its first (which has its output).
        for (index, item) in members.into_iter().enumerate() {
            let member = Box::new(done.finished.member(index, item));
            self.dispatch(&RunEvent::Finished(&Arc::new(Done::new(
                member,
                Vec::new(),
            ))));
        }
        if let Some(ack) = ack {
            let _ = ack.try_send(());
        }
    }

    /// An item an earlier run finished (`--resume` skipped it): reported
    /// as this run's item with the earlier run's outcome, so the run's
    /// figures and reports cover the whole batch.
    fn skipped(&mut self, skipped: Skipped) {
        let Skipped { item, mut record } = skipped;
        record.name(&item);
        let earlier = Earlier { item, record };
        self.dispatch(&RunEvent::Skipped(&earlier));
    }
}
