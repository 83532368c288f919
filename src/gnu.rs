//! GNU parallel's drop-in mode (`--gnu`, or fanout run under the name
//! `parallel`): what differs from fanout's own rules, in one place. The
//! command words form one shell line (GNU's rule, fanout's `--shell`, every
//! value still quoted by the template's shell model); `--retries N` counts
//! all N attempts; the exit status is GNU's: the number of failed jobs (101
//! for more than 100), the `--halt` forms' statuses, 255 for a usage or
//! fatal error. Interruptions keep fanout's 130 and 143. Everything else
//! (safety, journal, summary, Ctrl-C) stays fanout's.

use std::ffi::OsStr;
use std::path::Path;

use crate::halt::{Count, HaltPolicy, Threshold, Trigger};
use crate::outcome::Outcome;

/// Whose conventions a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// fanout's own.
    Fanout,
    /// GNU parallel's drop-in mode.
    Gnu,
}

/// The name that chooses the drop-in mode when fanout is run under it.
const GNU_NAME: &str = "parallel";

/// GNU parallel's exit status for a usage error or any other error.
pub const OTHER_ERROR: u8 = 255;

/// The command when none is given (GNU: each item is a command line):
/// the item as a script, passed to the shell as its argument, so that it
/// runs as the code it is and is never pasted into another line.
pub(crate) const ITEM_AS_COMMAND: [&str; 5] = ["/bin/sh", "-c", "eval \"$1\"", "sh", "{}"];

/// The most failed jobs GNU's exit status counts; more are 101.
const MOST_COUNTED: u64 = 100;

impl Dialect {
    /// The dialect chosen by the program's name (`argv[0]`): GNU's when its
    /// file name is `parallel` (a symlink or a copy), fanout's otherwise.
    pub fn of_program(argv0: Option<&OsStr>) -> Dialect {
        let name = argv0.and_then(|a| Path::new(a).file_name());
        if name.is_some_and(|n| n == GNU_NAME) {
            Dialect::Gnu
        } else {
            Dialect::Fanout
        }
    }

    /// fanout's retry count (retries after the first attempt) for a
    /// `--retries N` as written: GNU's N counts every attempt, so N - 1
    /// retries (GNU's `--retries 0` retries forever; fanout never does, and
    /// reads it as 1 attempt).
    pub(crate) fn retries(self, given: u32) -> u32 {
        match self {
            Dialect::Fanout => given,
            Dialect::Gnu => given.saturating_sub(1),
        }
    }
}

/// How a run ended, as GNU's exit status needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunEnd {
    /// Items that failed (every kind of failure), those an earlier run
    /// recorded (`--resume` skipped them) included: fanout's exit code.
    pub failed: u64,
    /// Jobs that failed in this run (a job of several items counts once):
    /// GNU's, so a `--resume` that skipped the failures can exit 0.
    pub failed_jobs: u64,
    /// The `--halt` policy and the moment it stopped the run, if it did.
    pub halt: Option<(HaltPolicy, Trigger)>,
    /// The `--halt` policy given, whether it stopped the run or not.
    pub policy: Option<HaltPolicy>,
    /// Jobs started in this run (a job of several items counts once).
    pub started_jobs: u64,
}

/// GNU parallel's exit status for a run that was neither interrupted nor
/// ended by a fatal error (see `halt()` and `should_we_halt` in GNU's
/// source): without a halt, the jobs that failed in this run, at most 101; a `--halt
/// ...,fail=1` or `done=1` stop gives the status of the job that met it
/// (128 + signal for a signal); `fail=N`/`done=N` the jobs failed by then,
/// at most 101; a percentage the percentage failed by then, rounded up; a
/// `success=` stop 0.
pub(crate) fn exit_status(end: &RunEnd) -> u8 {
    let Some((policy, trigger)) = &end.halt else {
        // A percentage `--halt` that never stopped the run still sets the
        // status: the share of the started jobs that failed (GNU's halt()).
        return match end.policy {
            Some(HaltPolicy {
                count: Count::Fail | Count::Done,
                threshold: Threshold::Percent(_),
                ..
            }) => percent(end.failed_jobs, end.started_jobs),
            _ => counted(end.failed_jobs),
        };
    };
    match (policy.count, policy.threshold) {
        (Count::Success, _) => 0,
        (_, Threshold::Items(1)) => job_status(&trigger.outcome),
        (_, Threshold::Items(_)) => counted(trigger.failed),
        // GNU computes the count as total × fraction; when it is exactly
        // one job, the status is that job's, as for `fail=1`.
        (_, Threshold::Percent(pct)) if trigger.base as f64 * (pct / 100.0) == 1.0 => {
            job_status(&trigger.outcome)
        }
        (_, Threshold::Percent(_)) => percent(trigger.failed, trigger.base),
    }
}

/// `failed` of `base` as a percentage, rounded up (GNU's `ceil`).
fn percent(failed: u64, base: u64) -> u8 {
    let percent = (failed * 100).div_ceil(base.max(1));
    u8::try_from(percent.min(MOST_COUNTED)).unwrap_or(u8::MAX)
}

/// A count of failed jobs as an exit status: 101 for more than 100.
fn counted(failed: u64) -> u8 {
    u8::try_from(failed.min(MOST_COUNTED + 1)).unwrap_or(u8::MAX)
}

/// One job's status as GNU reports it for `--halt ...=1`: its exit code,
/// or 128 + the signal that killed it (a timeout is a SIGTERM). A job
/// that could not start is 127, as the shell GNU runs it in says.
fn job_status(outcome: &Outcome) -> u8 {
    let status = match outcome {
        Outcome::Success => 0,
        Outcome::Failed { code } => *code,
        Outcome::Signaled { signal } => 128 + signal,
        Outcome::TimedOut => 128 + libc::SIGTERM,
        Outcome::SpawnFailed { .. } => 127,
        Outcome::BadInput { .. }
        | Outcome::Interrupted
        | Outcome::NotStarted
        | Outcome::Internal { .. } => 1,
    };
    u8::try_from(status).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halted(policy: &str, outcome: Outcome, failed: u64, base: u64) -> RunEnd {
        let policy = HaltPolicy::parse(policy).unwrap().unwrap();
        RunEnd {
            failed: failed + 3,
            failed_jobs: failed + 3,
            policy: Some(policy),
            started_jobs: base,
            halt: Some((
                policy,
                Trigger {
                    outcome,
                    failed,
                    base,
                },
            )),
        }
    }

    #[test]
    fn the_program_name_chooses_the_dialect() {
        let of = |name: &str| Dialect::of_program(Some(OsStr::new(name)));
        assert_eq!(of("parallel"), Dialect::Gnu);
        assert_eq!(of("/usr/local/bin/parallel"), Dialect::Gnu);
        assert_eq!(of("./parallel"), Dialect::Gnu);
        assert_eq!(of("fanout"), Dialect::Fanout);
        assert_eq!(of("/tmp/parallel/fanout"), Dialect::Fanout);
        assert_eq!(of("parallel-fanout"), Dialect::Fanout);
        assert_eq!(Dialect::of_program(None), Dialect::Fanout);
    }

    #[test]
    fn gnu_retries_count_every_attempt() {
        assert_eq!(Dialect::Gnu.retries(3), 2);
        assert_eq!(Dialect::Gnu.retries(1), 0);
        assert_eq!(Dialect::Gnu.retries(0), 0);
        assert_eq!(Dialect::Fanout.retries(3), 3);
        assert_eq!(Dialect::Fanout.retries(0), 0);
    }

    #[test]
    fn exit_status_counts_failed_jobs() {
        let plain = |failed| {
            exit_status(&RunEnd {
                failed,
                failed_jobs: failed,
                halt: None,
                policy: None,
                started_jobs: failed,
            })
        };
        assert_eq!(plain(0), 0);
        assert_eq!(plain(1), 1);
        assert_eq!(plain(3), 3);
        assert_eq!(plain(100), 100);
        assert_eq!(plain(101), 101);
        assert_eq!(plain(150), 101);
        assert_eq!(plain(u64::MAX), 101);
        // Failures a resumed run skipped are not this run's jobs, and a
        // job of several items counts once.
        let jobs = |failed, failed_jobs| {
            exit_status(&RunEnd {
                failed,
                failed_jobs,
                halt: None,
                policy: None,
                started_jobs: failed,
            })
        };
        assert_eq!(jobs(3, 0), 0);
        assert_eq!(jobs(500, 2), 2);
    }

    #[test]
    fn exit_status_of_a_halt() {
        let code = |c| Outcome::Failed { code: c };
        assert_eq!(exit_status(&halted("now,fail=1", code(7), 1, 3)), 7);
        assert_eq!(exit_status(&halted("soon,fail=1", code(300), 1, 3)), 1);
        assert_eq!(
            exit_status(&halted("now,fail=1", Outcome::Signaled { signal: 9 }, 1, 3)),
            137
        );
        assert_eq!(
            exit_status(&halted("now,done=1", Outcome::Success, 0, 3)),
            0
        );
        assert_eq!(exit_status(&halted("soon,fail=2", code(3), 2, 4)), 2);
        assert_eq!(
            exit_status(&halted("soon,fail=200", code(3), 200, 400)),
            101
        );
        // GNU: ceil(failed / total * 100); 2 of 6 is 34.
        assert_eq!(exit_status(&halted("soon,fail=30%", code(1), 2, 6)), 34);
        assert_eq!(exit_status(&halted("soon,fail=50%", code(1), 3, 6)), 50);
        assert_eq!(
            exit_status(&halted("now,success=1", Outcome::Success, 1, 3)),
            0
        );
        // 10% of 10 jobs is one job: that job's status, as fail=1.
        assert_eq!(exit_status(&halted("soon,fail=10%", code(5), 1, 10)), 5);
    }

    #[test]
    fn a_percentage_halt_that_never_stops_the_run_sets_the_status() {
        // GNU 20221122: `--halt soon,fail=50% 'exit {}' ::: 1 1 0 0 0 0 0 0 0 0`
        // exits 20 (2 of 10 started jobs failed).
        let end = |policy: &str, failed_jobs, started_jobs| RunEnd {
            failed: failed_jobs,
            failed_jobs,
            halt: None,
            policy: HaltPolicy::parse(policy).unwrap(),
            started_jobs,
        };
        assert_eq!(exit_status(&end("soon,fail=50%", 2, 10)), 20);
        assert_eq!(exit_status(&end("soon,fail=50%", 2, 6)), 34);
        assert_eq!(exit_status(&end("soon,fail=50%", 0, 6)), 0);
        assert_eq!(exit_status(&end("soon,fail=5", 2, 10)), 2);
    }
}
