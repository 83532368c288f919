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
use std::sync::{Mutex, PoisonError};

use crate::cancel::CancelToken;
use crate::dispatch::{Dispatch, Feed};
use crate::item::{Item, ItemData};
use crate::job::{Written, write_block};

/// The blocks of one round-robin job, as its stdin thread wrote them.
pub(super) struct Stream<'a> {
    feed: &'a Feed,
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
    pub(super) fn new(feed: &'a Feed, cancel: &'a CancelToken, first: &'a Item) -> Stream<'a> {
        Stream {
            feed,
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
