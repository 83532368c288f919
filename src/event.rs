//! The one interface from the engine to everything that reports: workers send
//! [`Event`]s through the result channel; the collector consumes them.

use std::time::{Duration, Instant, SystemTime};

use crate::item::Item;
use crate::outcome::{Captured, Outcome};

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
    /// A worker started a job.
    Started {
        /// Dispatch order of the item, 0-based and contiguous.
        ticket: u64,
        /// Worker slot (1..=jobs).
        slot: usize,
        /// The item, shortened for display (only when progress is shown).
        label: Option<String>,
        /// The item's bytes, for `--tag` on streamed lines (only then).
        tag: Option<Vec<u8>>,
    },
    /// Whole lines a running job wrote (`--output line`).
    Output {
        /// The job's ticket.
        ticket: u64,
        /// Which stream.
        stream: Stream,
        /// One or more whole lines (the last chunk of a job may lack `\n`).
        bytes: Vec<u8>,
    },
    /// An item reached its outcome.
    Finished(Box<Finished>),
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
    /// When it started, wall clock.
    pub started_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// The command, for failure reports (shell text).
    pub command: Option<String>,
}

impl Finished {
    /// An item that never ran.
    pub fn without_run(ticket: u64, item: Item, outcome: Outcome) -> Finished {
        Finished {
            ticket,
            item,
            slot: 0,
            outcome,
            captured: Captured::default(),
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            command: None,
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
    /// Now.
    pub fn now() -> Stamp {
        Stamp {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}
