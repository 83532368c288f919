//! The rayon backend: a pool of `jobs` rayon threads, joined when the run ends
//! (`build_scoped`). The calling thread takes items from the [`Feed`] and
//! spawns one task per item into a scope, one per thread in flight, so the
//! input never runs further ahead than with the threads backend. `{%}` is the rayon thread index plus one.

use anyhow::Context;
use crossbeam_channel::bounded;

use super::Work;
use crate::dispatch::Feed;

/// Runs every item from `feed` on a scoped rayon pool of `jobs` threads.
pub fn run(jobs: usize, feed: &Feed, work: &Work<'_>) -> anyhow::Result<()> {
    // A permit channel: the dispatcher sends one per task and blocks while
    // every thread is busy; each task takes one back when done. Items wait
    // in the feed, as with the threads backend, not in rayon's queue.
    let (permit_tx, permit_rx) = bounded::<()>(jobs);
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("fanout-rayon-{}", i + 1))
        .build_scoped(
            |thread| thread.run(),
            |pool| {
                pool.in_place_scope_fifo(|scope| {
                    // With --round-robin a running job's stdin takes blocks
                    // from the feed too: a block is taken only with a thread
                    // for it, so none waits here for a job to end.
                    let ahead = work.round_robin.is_some();
                    loop {
                        if ahead && permit_tx.send(()).is_err() {
                            break;
                        }
                        let Some(dispatch) = feed.next() else {
                            if ahead {
                                let _ = permit_rx.try_recv();
                            }
                            break;
                        };
                        if work.cancel.is_stopping() {
                            // Taken but never to run: it still gets its outcome.
                            work.execute(dispatch, 0);
                            if ahead {
                                let _ = permit_rx.try_recv();
                            }
                            continue;
                        }
                        if !ahead && permit_tx.send(()).is_err() {
                            break;
                        }
                        let permit_rx = &permit_rx;
                        scope.spawn_fifo(move |_| {
                            let slot = rayon::current_thread_index().map_or(1, |i| i + 1);
                            work.run(dispatch, feed, slot);
                            let _ = permit_rx.recv();
                        });
                    }
                    work.input_done();
                });
            },
        )
        .context("failed to start the rayon thread pool")
}
