//! The default backend: up to `jobs` explicit worker threads, each taking
//! items straight from the reader's bounded channel (the [`Feed`]). The
//! channel's bound is the window the input runs ahead of the workers. `{%}`
//! is the thread's slot.
//!
//! Workers start lazily: the first at once, each further one only when a
//! worker takes an item while no other worker is waiting for one. So a run
//! never holds more threads than it has had items in flight, whatever `-j`
//! says.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, Scope};

use super::Work;
use crate::dispatch::Feed;

/// The shared state of the lazily grown pool.
struct Pool<'a, 'w> {
    jobs: usize,
    /// Workers started (or being started) so far: the next slot is this + 1.
    started: AtomicUsize,
    /// Workers waiting for an item.
    idle: AtomicUsize,
    feed: &'a Feed,
    work: &'a Work<'w>,
}

/// Runs every item from `feed` on at most `jobs` scoped worker threads.
pub fn run(jobs: usize, feed: &Feed, work: &Work<'_>) {
    let pool = Pool {
        jobs,
        started: AtomicUsize::new(0),
        idle: AtomicUsize::new(0),
        feed,
        work,
    };
    thread::scope(|scope| pool.grow(scope));
}

impl<'a, 'w> Pool<'a, 'w> {
    /// Starts one more worker, unless `jobs` are running already.
    fn grow<'s>(&'s self, scope: &'s Scope<'s, '_>) {
        let claimed = self
            .started
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.jobs).then_some(n + 1)
            });
        let Ok(before) = claimed else { return };
        let slot = before + 1;
        let spawned = thread::Builder::new()
            .name(format!("fanout-worker-{slot}"))
            .spawn_scoped(scope, move || self.worker(scope, slot));
        if let Err(e) = spawned {
            // Could not start this worker: the others carry the load.
            crate::errln!("fanout: could not start worker {slot}: {e}");
            if slot == 1 {
                // No worker at all: one on this thread, so the items still run.
                self.worker(scope, slot);
            }
        }
    }

    fn worker<'s>(&'s self, scope: &'s Scope<'s, '_>, slot: usize) {
        loop {
            self.idle.fetch_add(1, Ordering::SeqCst);
            let Some(dispatch) = self.feed.next() else {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                self.work.input_done();
                return;
            };
            // The last waiting worker took an item: start another, so the
            // next item does not wait for this one.
            if self.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.grow(scope);
            }
            self.work.run(dispatch, self.feed, slot);
        }
    }
}
