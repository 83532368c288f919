//! The end-of-run summary: counts per outcome, the first failures with their
//! stderr tail, and why the run stopped. [`Summary::render`] is pure text so
//! it is tested without a clock or a terminal.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cancel::StopReason;
use crate::duration::format_duration;
use crate::outcome::{Outcome, signal_name};

/// How many failures the summary lists in full.
pub const SHOWN_FAILURES: usize = 5;

/// Items per outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Succeeded.
    pub ok: u64,
    /// Exited non-zero.
    pub failed: u64,
    /// Killed by a signal fanout did not send.
    pub signaled: u64,
    /// Ran past the timeout.
    pub timed_out: u64,
    /// Could not start.
    pub spawn_failed: u64,
    /// Bad input record.
    pub bad_input: u64,
    /// Stopped by fanout on cancellation.
    pub interrupted: u64,
    /// Read but never started.
    pub not_started: u64,
    /// Internal errors.
    pub internal: u64,
    /// Skipped because the journal records them as succeeded (`--resume`).
    pub earlier_ok: u64,
    /// Skipped because the journal records them as failed (`--resume`
    /// without `--retry-failed`): still failures of the batch.
    pub earlier_failed: u64,
}

impl Counts {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        let slot = match outcome {
            Outcome::Success => &mut self.ok,
            Outcome::Failed { .. } => &mut self.failed,
            Outcome::Signaled { .. } => &mut self.signaled,
            Outcome::TimedOut => &mut self.timed_out,
            Outcome::SpawnFailed { .. } => &mut self.spawn_failed,
            Outcome::BadInput { .. } => &mut self.bad_input,
            Outcome::Interrupted => &mut self.interrupted,
            Outcome::NotStarted => &mut self.not_started,
            Outcome::Internal { .. } => &mut self.internal,
        };
        *slot += 1;
    }

    /// Counts an item an earlier run finished (`--resume` skipped it).
    pub fn add_earlier(&mut self, ok: bool) {
        if ok {
            self.earlier_ok += 1;
        } else {
            self.earlier_failed += 1;
        }
    }

    /// Items skipped because an earlier run finished them.
    pub fn skipped(&self) -> u64 {
        self.earlier_ok + self.earlier_failed
    }

    /// Items that count as failures for the exit code: this run's and
    /// the ones an earlier run recorded (a resume does not forget them).
    pub fn failures(&self) -> u64 {
        self.failed
            + self.signaled
            + self.timed_out
            + self.spawn_failed
            + self.bad_input
            + self.internal
            + self.earlier_failed
    }

    /// Items that succeeded, in this run or an earlier one.
    pub fn all_ok(&self) -> u64 {
        self.ok + self.earlier_ok
    }

    /// Items that reached an outcome (after running or being rejected, in
    /// this run or an earlier one).
    pub fn done(&self) -> u64 {
        self.all_ok() + self.failures() + self.interrupted
    }

    /// Every item reported, not-started and skipped ones included.
    pub fn seen(&self) -> u64 {
        self.done() + self.not_started
    }
}

/// One failure, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureNote {
    /// The item's sequence number.
    pub seq: u64,
    /// The item, shortened.
    pub label: String,
    /// What happened ("exit code 3").
    pub what: String,
    /// The command that ran, if any.
    pub command: Option<String>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
}

/// Everything the summary says.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Items per outcome.
    pub counts: Counts,
    /// The first failures, in the order they happened.
    pub failures: Vec<FailureNote>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Why the run stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Items in the input that were never read, when known (`None`: unknown,
    /// `Some(0)`: all read).
    pub unread: Option<u64>,
    /// A run-fatal error, already reported, that ended the run.
    pub fatal: bool,
    /// Why a `--halt` condition stopped the run.
    pub halt: Option<String>,
    /// Items that passed only on a retry.
    pub flaky: Vec<String>,
    /// Items whose processes outlived them (killed by fanout).
    pub leaky: u64,
    /// The command that resumes an interrupted or halted run.
    pub resume: Option<String>,
    /// The command that runs the failures an earlier run recorded again.
    pub retry_failed: Option<String>,
    /// The items are `--pipe` blocks: the summary counts blocks.
    pub blocks: bool,
}

impl Summary {
    /// Items never started: read but skipped, plus never read (when known).
    pub fn not_started(&self) -> u64 {
        self.counts.not_started + self.unread.unwrap_or(0)
    }

    /// Every item of the batch: finished (now or in an earlier run),
    /// interrupted, or never started. The one total the summary, the
    /// reports and the event stream all give.
    pub fn total(&self) -> u64 {
        self.counts.seen() + self.unread.unwrap_or(0)
    }

    /// How the run ended, in a few words: "done", "failed", "interrupted by
    /// SIGINT", "halted: 3 failed (--halt soon,fail=3)"...
    pub fn status(&self) -> String {
        match self.stop {
            Some(StopReason::Signal(sig)) => format!("interrupted by {}", signal_name(sig)),
            Some(StopReason::BrokenPipe) => "stopped: output closed".to_owned(),
            Some(StopReason::Fatal) => "stopped by an error".to_owned(),
            Some(StopReason::Halt) => match &self.halt {
                Some(why) => format!("halted: {why}"),
                None => "halted".to_owned(),
            },
            None if self.fatal => "stopped by an error".to_owned(),
            None if self.counts.failures() > 0 => "failed".to_owned(),
            None => "done".to_owned(),
        }
    }

    /// The summary text, one or more lines, each ending in `\n`.
    pub fn render(&self) -> String {
        let c = &self.counts;
        let status = self.status();
        let mut parts = Vec::new();
        let mut part = |n: u64, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        part(c.ok, "ok");
        part(c.failed, "failed");
        part(c.signaled, "killed by a signal");
        part(c.timed_out, "timed out");
        part(c.spawn_failed, "could not start");
        part(c.bad_input, "bad input");
        part(c.interrupted, "interrupted");
        part(self.not_started(), "not started");
        match (c.earlier_ok, c.earlier_failed) {
            (0, 0) => {}
            (ok, 0) => parts.push(format!("{ok} ok in an earlier run")),
            (0, failed) => parts.push(format!("{failed} failed in an earlier run")),
            (ok, failed) => parts.push(format!("{ok} ok and {failed} failed in an earlier run")),
        }
        let mut part = |n: u64, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        part(self.leaky, "leaky (outlived by their processes)");
        part(
            c.internal,
            if c.internal == 1 {
                "internal error"
            } else {
                "internal errors"
            },
        );
        let noun = if self.blocks { "block" } else { "item" };
        if parts.is_empty() {
            parts.push(format!("no {noun}s"));
        }
        let total = self.total();
        let mut out = String::new();
        let _ = write!(
            out,
            "fanout: {status}: {total} {noun}{} in {}: {}",
            if total == 1 { "" } else { "s" },
            format_duration(self.elapsed),
            parts.join(", ")
        );
        if self.stop.is_some() && self.unread.is_none() {
            out.push_str(" (the rest of the input was not read)");
        }
        out.push('\n');
        for note in &self.failures {
            let _ = writeln!(out, "  FAIL #{} `{}`: {}", note.seq, note.label, note.what);
            if let Some(command) = &note.command {
                let _ = writeln!(out, "    command: {command}");
            }
            for line in &note.stderr_tail {
                let _ = writeln!(out, "    stderr: {line}");
            }
        }
        for flaky in &self.flaky {
            let _ = writeln!(out, "  FLAKY {flaky}");
        }
        let more = c.failures().saturating_sub(self.failures.len() as u64);
        if more > 0 {
            let _ = writeln!(
                out,
                "  ... and {more} more failure{}",
                if more == 1 { "" } else { "s" }
            );
        }
        if let Some(retry) = &self.retry_failed {
            let _ = writeln!(out, "fanout: run the failed items again with: {retry}");
        }
        if let Some(resume) = &self.resume {
            let _ = writeln!(out, "fanout: resume with: {resume}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(counts: Counts) -> Summary {
        Summary {
            counts,
            elapsed: Duration::from_millis(420),
            unread: Some(0),
            ..Summary::default()
        }
    }

    #[test]
    fn all_ok() {
        let s = summary(Counts {
            ok: 3,
            ..Counts::default()
        });
        assert_eq!(s.render(), "fanout: done: 3 items in 0.42s: 3 ok\n");
        let blocks = Summary {
            blocks: true,
            ..summary(Counts {
                ok: 1,
                ..Counts::default()
            })
        };
        assert_eq!(blocks.render(), "fanout: done: 1 block in 0.42s: 1 ok\n");
    }

    #[test]
    fn failures_listed_with_tail() {
        let mut s = summary(Counts {
            ok: 1,
            failed: 7,
            ..Counts::default()
        });
        s.failures.push(FailureNote {
            seq: 2,
            label: "b".into(),
            what: "exit code 3".into(),
            command: Some("sh -c 'exit 3'".into()),
            stderr_tail: vec!["oops".into()],
        });
        insta::assert_snapshot!(s.render(), @r"
        fanout: failed: 8 items in 0.42s: 1 ok, 7 failed
          FAIL #2 `b`: exit code 3
            command: sh -c 'exit 3'
            stderr: oops
          ... and 6 more failures
        ");
    }

    #[test]
    fn interrupted_counts_unread() {
        let mut s = summary(Counts {
            ok: 2,
            interrupted: 2,
            not_started: 1,
            ..Counts::default()
        });
        s.stop = Some(StopReason::Signal(2));
        s.unread = Some(5);
        assert_eq!(
            s.render(),
            "fanout: interrupted by SIGINT: 10 items in 0.42s: 2 ok, 2 interrupted, 6 not started\n"
        );
        s.unread = None;
        assert!(s.render().contains("the rest of the input was not read"));
    }

    #[test]
    fn earlier_runs_items_count_once_and_failures_stay_failures() {
        let mut s = summary(Counts {
            ok: 2,
            earlier_ok: 1,
            earlier_failed: 1,
            ..Counts::default()
        });
        s.failures.push(FailureNote {
            seq: 2,
            label: "b".into(),
            what: "exit code 1 (in an earlier run)".into(),
            command: None,
            stderr_tail: Vec::new(),
        });
        s.retry_failed = Some("fanout --retry-failed --journal j echo '{}'".into());
        assert_eq!(s.total(), 4);
        assert_eq!(s.counts.failures(), 1);
        insta::assert_snapshot!(s.render(), @r"
        fanout: failed: 4 items in 0.42s: 2 ok, 1 ok and 1 failed in an earlier run
          FAIL #2 `b`: exit code 1 (in an earlier run)
        fanout: run the failed items again with: fanout --retry-failed --journal j echo '{}'
        ");
        // Stopped with items unread: each item once.
        s.stop = Some(StopReason::Halt);
        s.unread = Some(10);
        assert_eq!(s.total(), 14);
        assert!(s.render().contains(": 14 items in"), "{}", s.render());
    }

    #[test]
    fn halted_with_its_reason_and_a_resume_hint() {
        let mut s = summary(Counts {
            ok: 2,
            failed: 3,
            interrupted: 1,
            not_started: 1,
            ..Counts::default()
        });
        s.stop = Some(StopReason::Halt);
        s.halt = Some("3 failed (--halt soon,fail=3)".into());
        s.unread = Some(4);
        for seq in [2, 4, 5] {
            s.failures.push(FailureNote {
                seq,
                label: format!("item{seq}"),
                what: "exit code 1".into(),
                command: None,
                stderr_tail: Vec::new(),
            });
        }
        s.resume = Some("fanout --resume --journal /state/j.jsonl echo '{}'".into());
        insta::assert_snapshot!(s.render(), @r"
        fanout: halted: 3 failed (--halt soon,fail=3): 11 items in 0.42s: 2 ok, 3 failed, 1 interrupted, 5 not started
          FAIL #2 `item2`: exit code 1
          FAIL #4 `item4`: exit code 1
          FAIL #5 `item5`: exit code 1
        fanout: resume with: fanout --resume --journal /state/j.jsonl echo '{}'
        ");
        // Without a recorded reason.
        s.halt = None;
        assert!(
            s.render().starts_with("fanout: halted: 11 items"),
            "{}",
            s.render()
        );
    }

    #[test]
    fn flaky_and_leaky_items() {
        let mut s = summary(Counts {
            ok: 4,
            ..Counts::default()
        });
        s.flaky = vec![
            "#1 `a` (passed on attempt 2)".into(),
            "#3 `c` (passed on attempt 3)".into(),
        ];
        s.leaky = 2;
        insta::assert_snapshot!(s.render(), @r"
        fanout: done: 4 items in 0.42s: 4 ok, 2 leaky (outlived by their processes)
          FLAKY #1 `a` (passed on attempt 2)
          FLAKY #3 `c` (passed on attempt 3)
        ");
    }

    #[test]
    fn interrupted_with_a_resume_hint() {
        let mut s = summary(Counts {
            ok: 1,
            interrupted: 2,
            ..Counts::default()
        });
        s.stop = Some(StopReason::Signal(libc::SIGINT));
        s.unread = Some(3);
        s.resume = Some(
            "fanout --resume --journal /state/j.jsonl -j2 echo '{}'   # with the same input on stdin"
                .into(),
        );
        insta::assert_snapshot!(s.render(), @r"
        fanout: interrupted by SIGINT: 6 items in 0.42s: 1 ok, 2 interrupted, 3 not started
        fanout: resume with: fanout --resume --journal /state/j.jsonl -j2 echo '{}'   # with the same input on stdin
        ");
    }

    #[test]
    fn stopped_by_a_fatal_error() {
        let mut s = summary(Counts {
            ok: 3,
            interrupted: 1,
            internal: 1,
            ..Counts::default()
        });
        s.stop = Some(StopReason::Fatal);
        s.fatal = true;
        s.unread = None;
        s.failures.push(FailureNote {
            seq: 5,
            label: "e".into(),
            what: Outcome::Internal {
                message: "worker lost".into(),
            }
            .describe(),
            command: None,
            stderr_tail: Vec::new(),
        });
        insta::assert_snapshot!(s.render(), @r"
        fanout: stopped by an error: 5 items in 0.42s: 3 ok, 1 interrupted, 1 internal error (the rest of the input was not read)
          FAIL #5 `e`: internal error: worker lost
        ");
        // A fatal error after every item was in (a report could not be
        // written) ends the run the same way, with all input read.
        let mut s = summary(Counts {
            ok: 2,
            ..Counts::default()
        });
        s.fatal = true;
        insta::assert_snapshot!(s.render(), @"fanout: stopped by an error: 2 items in 0.42s: 2 ok");
    }

    #[test]
    fn every_kind_of_failure_is_counted() {
        let mut s = summary(Counts {
            ok: 10,
            failed: 2,
            signaled: 1,
            timed_out: 3,
            spawn_failed: 1,
            bad_input: 2,
            internal: 2,
            ..Counts::default()
        });
        s.elapsed = Duration::from_millis(83_400);
        let notes = [
            (
                1,
                Outcome::Failed { code: 2 },
                Some("sh -c 'exit 2'"),
                vec!["no such file"],
            ),
            (
                4,
                Outcome::Signaled {
                    signal: libc::SIGKILL,
                },
                Some("kill -9 $$"),
                vec![],
            ),
            (
                6,
                Outcome::TimedOut,
                Some("sleep 60"),
                vec!["started", "waiting"],
            ),
            (
                7,
                Outcome::SpawnFailed {
                    message: "No such file or directory (os error 2)".into(),
                },
                None,
                vec![],
            ),
            (
                9,
                Outcome::BadInput {
                    message: "invalid JSON at column 3".into(),
                },
                None,
                vec![],
            ),
        ];
        for (seq, outcome, command, tail) in notes {
            s.failures.push(FailureNote {
                seq,
                label: format!("item {seq}"),
                what: outcome.describe(),
                command: command.map(str::to_owned),
                stderr_tail: tail.into_iter().map(str::to_owned).collect(),
            });
        }
        insta::assert_snapshot!(s.render(), @r"
        fanout: failed: 21 items in 1m23s: 10 ok, 2 failed, 1 killed by a signal, 3 timed out, 1 could not start, 2 bad input, 2 internal errors
          FAIL #1 `item 1`: exit code 2
            command: sh -c 'exit 2'
            stderr: no such file
          FAIL #4 `item 4`: killed by SIGKILL
            command: kill -9 $$
          FAIL #6 `item 6`: timed out
            command: sleep 60
            stderr: started
            stderr: waiting
          FAIL #7 `item 7`: could not start: No such file or directory (os error 2)
          FAIL #9 `item 9`: bad input: invalid JSON at column 3
          ... and 6 more failures
        ");
    }

    #[test]
    fn stopped_by_sigterm_with_unread_items() {
        let mut s = summary(Counts {
            ok: 5,
            failed: 1,
            interrupted: 2,
            not_started: 3,
            ..Counts::default()
        });
        s.stop = Some(StopReason::Signal(libc::SIGTERM));
        s.unread = Some(90);
        s.failures.push(FailureNote {
            seq: 3,
            label: "c".into(),
            what: "exit code 1".into(),
            command: None,
            stderr_tail: vec!["boom".into()],
        });
        insta::assert_snapshot!(s.render(), @r"
        fanout: interrupted by SIGTERM: 101 items in 0.42s: 5 ok, 1 failed, 2 interrupted, 93 not started
          FAIL #3 `c`: exit code 1
            stderr: boom
        ");
        // The input was not all read and its size is unknown.
        s.unread = None;
        insta::assert_snapshot!(s.render(), @r"
        fanout: interrupted by SIGTERM: 11 items in 0.42s: 5 ok, 1 failed, 2 interrupted, 3 not started (the rest of the input was not read)
          FAIL #3 `c`: exit code 1
            stderr: boom
        ");
    }
}
