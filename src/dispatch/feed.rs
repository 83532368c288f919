//! The feed: the channel between the dispatcher and the workers. The
//! reader pushes through the [`Intake`]; every worker pulls from the same
//! [`Feed`] (the channels are multi-consumer, so no lock is involved),
//! which hands out a retry that is due before a fresh item. The channel's
//! bound is how far the input runs ahead of the workers.

use crossbeam_channel::{Receiver, Select, Sender, TrySendError, bounded};

use super::{CHECK_EVERY, Dispatch};
use crate::cancel::CancelToken;

/// The workers' side of dispatch: items in dispatch order from the reader,
/// merged with retries that are due. Shared by every worker (the channels are
/// multi-consumer); no lock is involved.
pub struct Feed {
    input: Receiver<Dispatch>,
    retries: Option<Receiver<Dispatch>>,
    /// Rung when the input channel is half empty, so the reader refills it in
    /// one go instead of waking for every item taken.
    doorbell: Sender<()>,
    low_water: usize,
}

/// The reader's side of dispatch.
pub struct Intake {
    tx: Sender<Dispatch>,
    doorbell: Receiver<()>,
}

impl Intake {
    /// Hands one item to the workers, waiting for room; false if they are
    /// gone. (The reader uses [`Intake::send`]; this is for tests.)
    #[cfg(test)]
    pub fn push(&self, dispatch: Dispatch) -> bool {
        self.tx.send(dispatch).is_ok()
    }

    /// Hands one item to the workers. When the channel is full, sleeps
    /// until the workers have drained half of it (the doorbell), so the
    /// reader wakes once per half channel, not once per item. False if the
    /// workers are gone.
    pub fn send(&self, mut dispatch: Dispatch, cancel: &CancelToken) -> bool {
        loop {
            match self.tx.try_send(dispatch) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => dispatch = back,
            }
            if cancel.is_stopping() {
                // Workers are draining the channel: wait for room plainly.
                return self.tx.send(dispatch).is_ok();
            }
            let _ = self.doorbell.recv_timeout(CHECK_EVERY);
        }
    }
}

/// A feed whose input channel holds `capacity` items, with its intake.
pub fn feed(capacity: usize, retries: Option<Receiver<Dispatch>>) -> (Intake, Feed) {
    let (tx, rx) = bounded(capacity);
    let (ring, doorbell) = bounded(1);
    (
        Intake { tx, doorbell },
        Feed {
            input: rx,
            retries,
            doorbell: ring,
            low_water: capacity / 2,
        },
    )
}

impl Feed {
    /// The next item for a worker; `None` once the input is done and no retry
    /// can come any more.
    pub fn next(&self) -> Option<Dispatch> {
        let Some(retries) = &self.retries else {
            let dispatch = self.input.recv().ok()?;
            self.took();
            return Some(dispatch);
        };
        let mut input_open = true;
        loop {
            // A retry that is due goes first: it has waited already.
            if let Ok(dispatch) = retries.try_recv() {
                return Some(dispatch);
            }
            let mut select = Select::new();
            let input_op = input_open.then(|| select.recv(&self.input));
            let retry_op = select.recv(retries);
            let op = select.select();
            if Some(op.index()) == input_op {
                match op.recv(&self.input) {
                    Ok(dispatch) => {
                        self.took();
                        return Some(dispatch);
                    }
                    Err(_) => input_open = false,
                }
            } else if op.index() == retry_op {
                match op.recv(retries) {
                    Ok(dispatch) => return Some(dispatch),
                    // The timer is done: nothing waits, and the input is done
                    // (the timer ends only after it).
                    Err(_) if !input_open => return None,
                    Err(_) => {
                        let dispatch = self.input.recv().ok()?;
                        self.took();
                        return Some(dispatch);
                    }
                }
            }
        }
    }

    /// The next item from the input, waiting at most `wait`: `Err` when
    /// none came in time, `Ok(None)` once the input is done. (Retries are
    /// not looked at: for `--round-robin`, which has none.)
    pub fn next_within(&self, wait: std::time::Duration) -> Result<Option<Dispatch>, ()> {
        match self.input.recv_timeout(wait) {
            Ok(dispatch) => {
                self.took();
                Ok(Some(dispatch))
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(()),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Ok(None),
        }
    }

    fn took(&self) {
        if self.input.len() <= self.low_water {
            let _ = self.doorbell.try_send(());
        }
    }
}
