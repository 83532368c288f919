//! The tallies behind the summary and the exit code: items per outcome, the
//! failures lowest in input order with their stderr tails, flaky and leaky
//! items, the total, and the `--halt` state's total.

use crate::event::JobPart;
use crate::halt::{HaltPolicy, HaltState, Trigger};
use crate::sink::summary::{Counts, FailureNote, SHOWN_FAILURES};
use crate::sink::{Control, Done, Earlier, RunEvent, Sink};

/// Longest command shown in failure notes (reports keep it whole).
const COMMAND_MAX: usize = 200;

/// What the run counted.
#[derive(Debug, Default)]
pub struct Tally<'a> {
    pub counts: Counts,
    /// The failures first in input order (lowest seq), at most
    /// [`SHOWN_FAILURES`], sorted by seq.
    pub failures: Vec<FailureNote>,
    /// The total number of items, when a count finished.
    pub total: Option<u64>,
    /// Items that passed only on a retry: "#3 `item` (passed on attempt 2)".
    pub flaky: Vec<String>,
    /// Items whose processes outlived them.
    pub leaky: u64,
    /// Jobs that failed in this run: an item that ran alone, or the first
    /// item of a job of several (its others share its outcome). GNU's exit
    /// status counts these.
    pub failed_jobs: u64,
    /// Jobs started in this run (a job of several items counts once).
    pub started_jobs: u64,
    /// `--halt`, whose counts the workers keep; the tally gives it the total.
    halt: Option<&'a HaltState>,
}

impl<'a> Tally<'a> {
    pub fn new(halt: Option<&'a HaltState>) -> Tally<'a> {
        Tally {
            halt,
            ..Tally::default()
        }
    }

    /// Why `--halt` stopped the run.
    pub fn halt_reason(&self) -> Option<String> {
        self.halt.and_then(HaltState::reason).map(str::to_owned)
    }

    /// The policy and the moment `--halt` stopped the run, if it did.
    pub(crate) fn halt_trigger(&self) -> Option<(HaltPolicy, Trigger)> {
        let halt = self.halt?;
        Some((*halt.policy(), halt.trigger()?.clone()))
    }

    fn finished(&mut self, done: &Done) {
        let finished = &done.finished;
        let outcome = &finished.outcome;
        self.counts.add(outcome);
        let first_of_its_job = !matches!(finished.job, Some(JobPart::Member { .. }));
        if outcome.is_failure() && first_of_its_job {
            self.failed_jobs += 1;
        }
        if first_of_its_job && finished.attempts > 0 {
            self.started_jobs += 1;
        }
        if finished.leaked {
            self.leaky += 1;
        }
        if finished.is_flaky() && self.flaky.len() < SHOWN_FAILURES {
            self.flaky.push(format!(
                "#{} `{}` (passed on attempt {})",
                finished.item.seq,
                finished.item.label(crate::item::LABEL_MAX),
                finished.attempts
            ));
        }
        if outcome.is_failure() && self.among_shown(finished.item.seq) {
            self.note_failure(FailureNote {
                seq: finished.item.seq,
                label: finished.item.label(crate::item::LABEL_MAX),
                what: match finished.attempts {
                    0 | 1 => outcome.describe(),
                    n => format!("{} (after {n} attempts)", outcome.describe()),
                },
                command: finished
                    .command
                    .as_deref()
                    .map(|c| crate::item::escaped(c.as_bytes(), COMMAND_MAX)),
                stderr_tail: done.stderr_tail.clone(),
            });
        }
    }

    /// An item an earlier run finished: counted with its recorded outcome,
    /// and a recorded failure stays a failure.
    fn skipped(&mut self, earlier: &Earlier) {
        let ok = earlier.record.status.is_success();
        self.counts.add_earlier(ok);
        if !ok {
            self.note_failure(FailureNote {
                seq: earlier.item.seq,
                label: earlier.item.label(crate::item::LABEL_MAX),
                what: format!("{} (in an earlier run)", earlier.record.error),
                command: None,
                stderr_tail: Vec::new(),
            });
        }
    }

    /// Whether a failure at `seq` is among those the summary lists: the
    /// lowest in input order, not the first to finish.
    fn among_shown(&self, seq: u64) -> bool {
        self.failures.len() < SHOWN_FAILURES || self.failures.last().is_some_and(|l| seq < l.seq)
    }

    /// Keeps `note` if it is among the [`SHOWN_FAILURES`] failures lowest
    /// in input order.
    fn note_failure(&mut self, note: FailureNote) {
        let at = self.failures.partition_point(|n| n.seq < note.seq);
        if at < SHOWN_FAILURES {
            self.failures.insert(at, note);
            self.failures.truncate(SHOWN_FAILURES);
        }
    }
}

impl Sink for Tally<'_> {
    fn handle(&mut self, event: &RunEvent<'_>, _control: &mut Control<'_>) {
        match event {
            RunEvent::Total(total) => {
                self.total = Some(*total);
                if let Some(halt) = self.halt {
                    halt.set_total(*total);
                }
            }
            RunEvent::Finished(done) => self.finished(done),
            RunEvent::Skipped(earlier) => self.skipped(earlier),
            _ => {}
        }
    }
}
