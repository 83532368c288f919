//! The progress display as a sink: bars at a terminal, a plain status line
//! elsewhere, nothing when off (the display itself is `display`). It
//! follows the running jobs for the per-slot lines and the longest-running
//! job, prints `FAIL` and `RETRY` notes above the bars, and says what a
//! stopping run waits for.

use std::collections::HashMap;
use std::time::Instant;

use crate::cancel::{CancelToken, RunState};
use crate::duration::format_duration;
use crate::item::{Item, ItemData};
use crate::sink::{Control, RunEvent, Sink};

mod display;

pub use display::*;

/// The sink that drives the display.
pub struct ProgressSink {
    progress: Progress,
    /// Running jobs (for the plain status line): label and start, by ticket.
    running: HashMap<u64, (String, Instant)>,
    done: u64,
    failed: u64,
    total: Option<u64>,
    start: Instant,
    units: Units,
}

impl ProgressSink {
    /// The sink of `progress`, which counts `units`; `bytes` is the total
    /// when it counts bytes and the total is known ahead.
    pub fn new(progress: Progress, units: Units, bytes: Option<u64>) -> ProgressSink {
        ProgressSink {
            units,
            total: bytes.filter(|_| units == Units::Bytes),
            progress,
            running: HashMap::new(),
            done: 0,
            failed: 0,
            start: Instant::now(),
        }
    }

    fn status(&self) -> Status {
        let longest = self
            .running
            .values()
            .min_by_key(|(_, started)| *started)
            .map(|(label, started)| (label.clone(), started.elapsed()));
        Status {
            units: self.units,
            done: self.done,
            total: self.total,
            failed: self.failed,
            elapsed: self.start.elapsed(),
            longest,
        }
    }

    /// While the run stops: what it waits for.
    fn stopping(&self, cancel: &CancelToken) -> Option<String> {
        let jobs = self.running.len();
        let n = |what: &str| format!("{what} {jobs} job{}", if jobs == 1 { "" } else { "s" });
        match cancel.state() {
            RunState::Running => None,
            RunState::Draining => Some(format!("finishing: {}", n("waiting for"))),
            RunState::Stopping => Some(format!(
                "stopping: {} (Ctrl-C again to kill)",
                n("waiting for")
            )),
            RunState::Killing => Some(format!("stopping: {}", n("killing"))),
        }
    }

    fn item_done(&mut self, slot: usize, failed: bool, item: &Item) {
        let amount = match (&item.data, self.units) {
            (ItemData::Block(block), Units::Bytes) => block.len,
            _ => 1,
        };
        self.done += amount;
        self.failed += u64::from(failed);
        self.progress.finished(slot, failed, amount);
    }
}

impl Sink for ProgressSink {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        match event {
            RunEvent::Total(total) => {
                self.total = Some(*total);
                self.progress.set_total(*total);
            }
            RunEvent::Started(job) => {
                if let Some(label) = &job.label {
                    self.progress.started(job.slot, label);
                    self.running
                        .insert(job.ticket, (label.clone(), Instant::now()));
                }
            }
            RunEvent::Retrying(retry) => {
                let label = self.running.remove(&retry.ticket).map(|(label, _)| label);
                self.progress.retrying(retry.slot);
                if let (Some(label), true) = (label, self.progress.is_bars()) {
                    self.progress.println(&format!(
                        "fanout: RETRY `{label}`: attempt {} {}; next in {}",
                        retry.attempt,
                        retry.outcome.describe(),
                        format_duration(retry.delay)
                    ));
                }
            }
            RunEvent::Finished(done) => {
                let finished = &done.finished;
                self.running.remove(&finished.ticket);
                self.item_done(finished.slot, finished.outcome.is_failure(), &finished.item);
            }
            RunEvent::Written(done) => {
                // Once the job's own output is on screen (with `-k`, when
                // its turn came), so the note follows what it explains.
                let finished = &done.finished;
                if finished.outcome.is_failure() && self.progress.is_bars() {
                    self.progress.println(&format!(
                        "fanout: FAIL #{} `{}`: {}",
                        finished.item.seq,
                        finished.item.label(crate::item::LABEL_MAX),
                        finished.outcome.describe()
                    ));
                }
            }
            RunEvent::Skipped(earlier) => {
                self.item_done(0, !earlier.record.status.is_success(), &earlier.item);
            }
            RunEvent::Tick => {
                let status = self.status();
                let stopping = self.stopping(control.cancel());
                self.progress.tick(|| status, stopping);
            }
            RunEvent::InputEnd => self.progress.finish(),
            _ => {}
        }
    }
}
