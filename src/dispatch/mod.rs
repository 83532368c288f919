//! Dispatch: from the input to the workers. The reader thread
//! ([`reader::Reading`]) is the dispatcher: it numbers items in dispatch
//! order, skips what an earlier run finished, passes over other shards'
//! items ([`crate::shard`]), stops taking new ones when the run is stopping, and
//! holds back while the `-k` reorder window is full. Workers take items
//! straight from its bounded channel through a [`feed::Feed`], which merges
//! in items whose retry is due. The retry timer ([`retry_timer`]) keeps
//! waiting items off the workers: a failed attempt is handed to it, and it
//! hands the item back to the feed when its delay has passed (at once when
//! the run is stopping). It ends once every item is final, which it learns
//! from the [`InFlight`] guard each item carries: the guard is taken when
//! the reader dispatches the item and given back when the item is dropped
//! after its last attempt, whichever thread that happens on.

pub mod batcher;
pub mod feed;
pub mod reader;
pub mod retry_timer;

use std::time::Duration;

use crate::event::Stamp;
use crate::item::Item;
use crate::outcome::Outcome;

pub use crate::shard::Shard;
pub use feed::{Feed, Intake, feed};
pub use reader::{InputEnd, Reading};
#[cfg(test)]
pub use retry_timer::RetryTimer;
pub use retry_timer::{InFlight, RetryHandle, retry_timer};

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
    /// With retries: counts the item as one the retry timer must wait for,
    /// until it is dropped with the item's last attempt.
    pub in_flight: Option<InFlight>,
    /// When jobs run several items (`-n`, `-X`...): the job's number and
    /// its other items; `item` is its first. `None`: one item per job.
    pub members: Option<Members>,
}

/// The items of a job after its first, and the job's number (`{#}`). The
/// members' tickets follow the first item's: `ticket + 1`, `ticket + 2`...
#[derive(Debug)]
pub struct Members {
    /// The job's number, 1-based, in dispatch order.
    pub seq: u64,
    pub items: Vec<Item>,
}

impl Dispatch {
    /// An item's first attempt.
    pub fn fresh(ticket: u64, item: Item, in_flight: Option<InFlight>) -> Dispatch {
        Dispatch {
            ticket,
            item,
            attempts: 0,
            last: None,
            first: None,
            in_flight,
            members: None,
        }
    }
}

#[cfg(test)]
mod tests;
