//! The one interface from the engine to everything that reports: workers send
//! [`Event`]s through the result channel; the collector consumes them.

use std::time::{Duration, Instant, SystemTime};

use crate::item::Item;
use crate::outcome::{Captured, Outcome};
use crate::record::ItemRecord;

/// Which output stream of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The job's stdout.
    Stdout,
    /// The job's stderr.
    Stderr,
}

/// Something that happened during the run.
#[derive(Debug)]
pub enum Event {
    /// The total number of items, once a background count has finished.
    Total(u64),
    /// An item the journal records as finished was skipped (`--resume`),
    /// with that record: the collector reports it as the earlier run ended.
    Skipped(Box<Skipped>),
    /// A worker started a job.
    Started(JobStarted),
    /// Whole lines a running job wrote (`--output line`).
    Output(Chunk),
    /// An attempt failed and the item will run again after its delay.
    Retrying(Retry),
    /// An item reached its final outcome.
    Finished(Box<Finished>),
    /// A run-fatal error outside the collector (the journal could not be
    /// written); the run is already stopping.
    Fatal(String),
}

/// An attempt that started.
#[derive(Debug)]
pub struct JobStarted {
    pub ticket: u64,
    pub seq: u64,
    pub slot: usize,
    pub attempt: u32,
    /// The item, shortened for display (only when a display or the event
    /// stream wants it).
    pub label: Option<String>,
    /// The item's bytes (only for `--tag` on streamed lines and the event
    /// stream).
    pub tag: Option<Vec<u8>>,
    /// The rendered `--tagstring` (only for it, on streamed lines).
    pub tagstring: Option<Vec<u8>>,
}

/// Streamed output of a running job.
#[derive(Debug)]
pub struct Chunk {
    pub ticket: u64,
    pub stream: Stream,
    pub bytes: Vec<u8>,
}

/// A failed attempt that will be retried after `delay`.
#[derive(Debug)]
pub struct Retry {
    pub ticket: u64,
    pub seq: u64,
    pub slot: usize,
    pub attempt: u32,
    pub outcome: Outcome,
    pub duration: Duration,
    pub delay: Duration,
}

/// An item finished in an earlier run, and what the journal says of it.
#[derive(Debug)]
pub struct Skipped {
    /// The item, keyed.
    pub item: Item,
    /// Its journal record.
    pub record: ItemRecord,
}

/// Everything known about an item that reached its outcome.
#[derive(Debug)]
pub struct Finished {
    /// Dispatch order, 0-based and contiguous: the reorder key for `-k`.
    pub ticket: u64,
    /// The item.
    pub item: Item,
    /// Worker slot that ran it (0 when it never ran).
    pub slot: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// Captured output (grouped mode).
    pub captured: Captured,
    /// When its last attempt started, wall clock.
    pub started_at: SystemTime,
    /// How long its last attempt ran.
    pub duration: Duration,
    /// When its first attempt started, wall clock.
    pub item_started_at: SystemTime,
    /// From the start of its first attempt to the end of its last (retry
    /// waits included).
    pub item_duration: Duration,
    /// The command that ran, as shell text: for failed items, and for every
    /// item when reports are written (`None` otherwise, or when nothing ran).
    pub command: Option<String>,
    /// How many attempts ran (0 when it never ran).
    pub attempts: u32,
    /// Processes of its group outlived the job and were killed.
    pub leaked: bool,
    /// The worker waits on this until the collector has written the item's
    /// output and journaled it (or, with `-k`, taken it into the reorder
    /// window), so a worker never takes another item first. `None` when no
    /// one waits.
    pub ack: Option<crossbeam_channel::Sender<()>>,
    /// The worker journaled it already (it had no output to write).
    pub journaled: bool,
    /// Its place in a job of several items (`-n`, `-X`...), or `None`.
    pub job: Option<JobPart>,
    /// The job's items joined by spaces, for `--tag` (only for a job of
    /// several items; otherwise the tag is the item).
    pub tag: Option<Vec<u8>>,
    /// A job's other items, as the worker sends its first: the collector
    /// turns each into its own `Finished` ([`Finished::member`]).
    pub members: Vec<Item>,
    /// The members' tickets, when they do not follow the first's
    /// (`--round-robin` deals blocks to jobs as they are ready).
    pub member_tickets: Vec<u64>,
}

/// Where an item stands in a job of several items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPart {
    /// The job's first item: it carries the job's output.
    First { seq: u64 },
    /// Another item of job `seq`, whose first item has ticket `first`.
    Member { seq: u64, first: u64 },
}

impl JobPart {
    /// The job's number.
    pub fn seq(self) -> u64 {
        match self {
            JobPart::First { seq } | JobPart::Member { seq, .. } => seq,
        }
    }
}

impl Finished {
    /// Passed only on a retry.
    pub fn is_flaky(&self) -> bool {
        self.outcome.is_success() && self.attempts > 1
    }
}

impl Finished {
    /// An item that never ran.
    pub fn without_run(ticket: u64, item: Item, outcome: Outcome) -> Finished {
        let now = SystemTime::now();
        Finished {
            ticket,
            item,
            slot: 0,
            outcome,
            captured: Captured::default(),
            started_at: now,
            duration: Duration::ZERO,
            item_started_at: now,
            item_duration: Duration::ZERO,
            command: None,
            attempts: 0,
            leaked: false,
            ack: None,
            journaled: false,
            job: None,
            tag: None,
            members: Vec::new(),
            member_tickets: Vec::new(),
        }
    }

    /// The `index`th other item of this job (its ticket follows the
    /// first's), with the job's outcome, times and command, and no output
    /// of its own: the job's output goes with its first item.
    pub fn member(&self, index: usize, item: Item) -> Finished {
        let ticket = self
            .member_tickets
            .get(index)
            .copied()
            .unwrap_or(self.ticket + 1 + index as u64);
        Finished {
            ticket,
            item,
            slot: self.slot,
            outcome: self.outcome.clone(),
            captured: Captured::default(),
            started_at: self.started_at,
            duration: self.duration,
            item_started_at: self.item_started_at,
            item_duration: self.item_duration,
            command: self.command.clone(),
            attempts: self.attempts,
            leaked: self.leaked,
            ack: None,
            journaled: self.journaled,
            job: self.job.map(|part| JobPart::Member {
                seq: part.seq(),
                first: self.ticket,
            }),
            tag: None,
            members: Vec::new(),
            member_tickets: Vec::new(),
        }
    }
}

/// A monotonic start time paired with the wall clock, for durations and
/// timestamps that agree.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// Monotonic time.
    pub instant: Instant,
    /// Wall time.
    pub wall: SystemTime,
}

impl Stamp {
    /// Nanoseconds of the wall clock (a seed, not a timestamp to show).
    pub fn wall_nanos(&self) -> u64 {
        self.wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos().into())
    }

    /// Now.
    pub fn now() -> Stamp {
        Stamp {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// A finished item's record is made from what its worker sent.
impl ItemRecord {
    /// The record of an item that finished in this run.
    pub fn of(finished: &Finished) -> ItemRecord {
        let outcome = &finished.outcome;
        let ran = finished.attempts > 0;
        let timestamp = crate::time::timestamp;
        ItemRecord {
            seq: finished.item.seq,
            item: String::from_utf8_lossy(&finished.item.raw).into_owned(),
            key: finished.item.key.clone(),
            status: outcome.status(),
            exit_code: outcome.exit_code(),
            signal: outcome.signal(),
            attempts: finished.attempts,
            start: ran.then(|| timestamp(finished.item_started_at)),
            duration: finished.item_duration.as_secs_f64(),
            attempt_start: ran.then(|| timestamp(finished.started_at)),
            attempt_duration: finished.duration.as_secs_f64(),
            stderr_tail: String::new(),
            error: if outcome.is_success() {
                String::new()
            } else {
                outcome.describe()
            },
            command: finished.command.clone().unwrap_or_default(),
            from_earlier_run: false,
            leaked: finished.leaked,
            replaces_failure: finished.item.rerun,
            job: finished.job.map(JobPart::seq),
        }
    }
}
