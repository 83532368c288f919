//! The default backend: `jobs` explicit worker threads pulling from a bounded
//! crossbeam channel that the dispatcher fills. The bound (2 per worker) is
//! the window the input runs ahead of the workers. `{%}` is the thread's slot.

use std::thread;

use crossbeam_channel::bounded;

use super::{Dispatch, Work};

/// Runs every item from `items` on `jobs` scoped worker threads.
pub fn run(jobs: usize, items: &mut dyn Iterator<Item = Dispatch>, work: &Work<'_>) {
    let (tx, rx) = bounded::<Dispatch>(jobs * 2);
    thread::scope(|scope| {
        for slot in 1..=jobs {
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("fanout-worker-{slot}"))
                .spawn_scoped(scope, move || {
                    for dispatch in rx {
                        work.execute(dispatch, slot);
                    }
                })
                .map(drop)
                .unwrap_or_else(|e| {
                    // Could not start this worker: the others carry the load.
                    eprintln!("fanout: could not start worker {slot}: {e}");
                });
        }
        drop(rx);
        for dispatch in items {
            if work.cancel.is_stopping() {
                // Pulled but never to run: it still gets its outcome.
                work.execute(dispatch, 0);
                continue;
            }
            if tx.send(dispatch).is_err() {
                break;
            }
        }
        drop(tx);
    });
}
