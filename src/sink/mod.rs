//! Sinks: everything that records or shows what happens to items. The
//! collector hands every [`RunEvent`] to each sink in turn, on its one
//! thread (nextest's reporter seam): job output with the `-k` window and
//! tags ([`output`]), the tallies behind the summary ([`tally`],
//! [`summary`]), the progress display ([`progress`]), the `--events` stream
//! ([`event_stream`]), CI annotations ([`annotations`]), one sink per
//! `--report` file ([`report`]), GNU parallel's `--joblog` ([`joblog`]) and
//! `--results DIR` ([`results`]). A new way to show or record a run is one
//! new file here, implementing [`Sink`].
//!
//! Sinks never stop the run themselves: a sink that cannot write says so
//! through [`Control`], which records the first run-fatal error and stops
//! the run, or ends it quietly when a reader went away.

use std::sync::{Arc, OnceLock};

use crate::cancel::{CancelToken, Running};
use crate::event::Finished;
pub use crate::event::{Chunk, JobStarted, Retry};
use crate::item::Item;
use crate::record::ItemRecord;
use crate::sink::summary::Summary;

pub mod annotations;
pub mod event_stream;
pub mod joblog;
pub mod output;
pub mod progress;
pub mod report;
pub mod results;
pub mod summary;
pub mod tally;

/// One thing that happened, as the sinks see it.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// The run begins: before any other event.
    RunStarted(&'a RunStart),
    /// The total number of items became known.
    Total(u64),
    /// A worker started an attempt.
    Started(&'a JobStarted),
    /// Whole lines a running job wrote (`--output line`).
    Output(&'a Chunk),
    /// An attempt failed and the item will run again.
    Retrying(&'a Retry),
    /// A job that wrote straight to fanout's stdout (`--output ungroup`)
    /// died of SIGPIPE: stdout's reader is gone. Sent before its `Finished`.
    StdoutGone,
    /// An item reached its final outcome in this run.
    Finished(&'a Arc<Done>),
    /// The output sink has written this item's output (with `-k`, when its
    /// turn came): what explains it may follow on screen.
    Written(&'a Arc<Done>),
    /// An item an earlier run finished (`--resume` skipped it).
    Skipped(&'a Earlier),
    /// Time passed without events (only while a display is shown).
    Tick,
    /// Every event of the run has arrived.
    InputEnd,
    /// The run is over: its figures and exit code.
    RunFinished(&'a RunEnd<'a>),
}

/// What a run is, for `run-started`.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub command: String,
    /// How the journal names the input: a path, `<stdin>` or `:::`.
    pub input: String,
    pub format: &'static str,
    pub jobs: usize,
    /// The journal being appended to, if any.
    pub journal: Option<String>,
}

/// An item that finished in this run: what the worker sent, and its record.
/// Shared (`Arc`) so the output sink can hold it in the `-k` window.
#[derive(Debug)]
pub struct Done {
    pub finished: Box<Finished>,
    /// The last lines of a failure's stderr (empty for a success).
    pub stderr_tail: Vec<String>,
    /// Made on first use: a run whose sinks write no record (the common
    /// quiet job, journaled by its worker) pays nothing for it.
    record: OnceLock<ItemRecord>,
}

impl Done {
    pub fn new(finished: Box<Finished>, stderr_tail: Vec<String>) -> Done {
        Done {
            finished,
            stderr_tail,
            record: OnceLock::new(),
        }
    }

    /// The one record every file writes, with the stderr tail of a failure.
    pub fn record(&self) -> &ItemRecord {
        self.record.get_or_init(|| {
            let mut record = ItemRecord::of(&self.finished);
            record.stderr_tail = self.stderr_tail.join("\n");
            record
        })
    }
}

/// An item an earlier run finished, reported with that run's record.
#[derive(Debug)]
pub struct Earlier {
    pub item: Item,
    pub record: ItemRecord,
}

/// The end of a run, as the reports and the event stream close it.
#[derive(Debug)]
pub struct RunEnd<'a> {
    pub summary: &'a Summary,
    pub info: &'a report::RunInfo,
}

/// What a sink may do to the run: fail it (run-fatal, the first error is
/// the one reported) or end it quietly because its reader went away.
#[derive(Debug)]
pub struct Control<'a> {
    cancel: &'a CancelToken,
    error: Option<String>,
    /// Items whose output the output sink wrote while handling the last
    /// event; the collector announces each as `Written`.
    written: Vec<Arc<Done>>,
}

impl<'a> Control<'a> {
    pub fn new(cancel: &'a CancelToken) -> Control<'a> {
        Control {
            cancel,
            error: None,
            written: Vec::new(),
        }
    }

    /// A run-fatal error: keep the first, stop the run and its jobs.
    pub fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(message);
        }
        self.cancel.fatal(Running::Terminate);
    }

    /// The reader of stdout or the event stream went away: the run ends
    /// quietly, as if fanout had been killed by SIGPIPE.
    pub fn broken_pipe(&self) {
        self.cancel.broken_pipe();
    }

    /// The output sink wrote `done`'s output.
    pub fn written(&mut self, done: Arc<Done>) {
        self.written.push(done);
    }

    pub fn take_written(&mut self) -> Vec<Arc<Done>> {
        std::mem::take(&mut self.written)
    }

    pub fn cancel(&self) -> &'a CancelToken {
        self.cancel
    }

    /// The first run-fatal error, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn error_mut(&mut self) -> Option<&mut String> {
        self.error.as_mut()
    }

    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}

/// A consumer of run events. Every sink sees every event, in order, on the
/// collector's thread.
pub trait Sink: Send {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>);

    /// No event is waiting: push buffered writes out.
    fn idle(&mut self, _control: &mut Control<'_>) {}
}
