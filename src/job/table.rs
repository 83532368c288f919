//! The running jobs' process groups, per worker slot, for the signal thread.

use std::sync::{Mutex, PoisonError};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::cancel::CancelToken;

/// The process groups of running jobs, one entry per worker slot, so the
/// signal thread can stop, continue or kill them all (Ctrl-Z, `fg`, a third
/// Ctrl-C). Each slot has its own lock: workers never contend with each other,
/// only with the rare signal.
#[derive(Debug)]
pub struct JobTable {
    pub(super) slots: Vec<Mutex<Option<Pid>>>,
}

impl JobTable {
    /// A table for `slots` workers.
    pub fn new(slots: usize) -> JobTable {
        JobTable {
            slots: (0..=slots).map(|_| Mutex::new(None)).collect(),
        }
    }

    pub(super) fn set(&self, slot: usize, pid: Option<Pid>) {
        if let Some(entry) = self.slots.get(slot) {
            *entry.lock().unwrap_or_else(PoisonError::into_inner) = pid;
        }
    }

    /// Registers a job that has just started. A Ctrl-Z that came between its
    /// spawn and now missed it, so it is stopped here; under the slot's lock,
    /// so a SIGCONT (which ends the pause before it continues every group)
    /// cannot slip between the check and the stop.
    pub(super) fn register(&self, slot: usize, pid: Pid, cancel: &CancelToken) {
        if let Some(entry) = self.slots.get(slot) {
            let mut entry = entry.lock().unwrap_or_else(PoisonError::into_inner);
            *entry = Some(pid);
            if cancel.is_paused() {
                let _ = kill_process_group(pid, Signal::STOP);
            }
        }
    }

    /// Sends `signal` to every running job's process group. A worker removes
    /// its entry (under the same lock) before it reaps its child, so a group
    /// signalled here is never a recycled pid.
    pub fn signal_all(&self, signal: Signal) {
        for entry in &self.slots {
            let entry = entry.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(pid) = *entry {
                let _ = kill_process_group(pid, signal);
            }
        }
    }
}
