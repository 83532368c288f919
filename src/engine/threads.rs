//! The default backend: `jobs` explicit worker threads, each taking items
//! straight from the reader's bounded channel (the [`Feed`]). The channel's
//! bound is the window the input runs ahead of the workers. `{%}` is the
//! thread's slot.

use std::thread;

use super::Work;
use crate::dispatch::Feed;

/// Runs every item from `feed` on `jobs` scoped worker threads.
pub fn run(jobs: usize, feed: &Feed, work: &Work<'_>) {
    thread::scope(|scope| {
        for slot in 1..=jobs {
            let spawned = thread::Builder::new()
                .name(format!("fanout-worker-{slot}"))
                .spawn_scoped(scope, move || {
                    while let Some(dispatch) = feed.next() {
                        work.execute(dispatch, slot);
                    }
                });
            if let Err(e) = spawned {
                // Could not start this worker: the others carry the load.
                eprintln!("fanout: could not start worker {slot}: {e}");
            }
        }
    });
}
