//! The one typed record of a finished item, [`ItemRecord`], and its
//! [`Status`]. The journal, every report format and the event stream write
//! their lines from this one type, and a resumed run reads the journal back
//! into it, so a field or a status means the same thing in every file.
//! Statuses are an enum everywhere; their names (`ok`, `spawn-error`, ...)
//! exist only where a file is written or read.

use serde::{Deserialize, Serialize};

use crate::item::Item;
use crate::outcome::{Outcome, signal_name};

/// How an item ended, as every file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The job exited 0.
    Ok,
    /// The job exited with a non-zero code.
    Failed,
    /// A signal fanout did not send killed the job.
    Signal,
    /// The job ran past `--timeout`.
    Timeout,
    /// The job could not be started.
    SpawnError,
    /// The record could not be parsed or rendered; nothing ran.
    BadInput,
    /// fanout stopped the job because the run was cancelled.
    Interrupted,
    /// Read but never started: the run was stopping.
    NotStarted,
    /// fanout itself failed while handling the item.
    InternalError,
}

impl Status {
    /// The name files use (`spawn-error`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Signal => "signal",
            Status::Timeout => "timeout",
            Status::SpawnError => "spawn-error",
            Status::BadInput => "bad-input",
            Status::Interrupted => "interrupted",
            Status::NotStarted => "not-started",
            Status::InternalError => "internal-error",
        }
    }

    /// Whether the item succeeded.
    pub fn is_success(self) -> bool {
        self == Status::Ok
    }

    #[cfg(test)]
    /// Whether the item counts as a failure for the exit code and summary.
    pub fn is_failure(self) -> bool {
        !matches!(self, Status::Ok | Status::Interrupted | Status::NotStarted)
    }

    /// Whether the item finished, for `--resume`: the journal records it.
    /// Interrupted and never-started items run again.
    pub fn is_recorded(self) -> bool {
        !matches!(self, Status::Interrupted | Status::NotStarted)
    }

    /// Whether the failure is fanout's or the system's (JUnit `error`),
    /// rather than the command's (JUnit `failure`).
    pub fn is_error(self) -> bool {
        matches!(self, Status::SpawnError | Status::InternalError)
    }
}

impl Outcome {
    /// The status files record for this outcome.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Success => Status::Ok,
            Outcome::Failed { .. } => Status::Failed,
            Outcome::Signaled { .. } => Status::Signal,
            Outcome::TimedOut => Status::Timeout,
            Outcome::SpawnFailed { .. } => Status::SpawnError,
            Outcome::BadInput { .. } => Status::BadInput,
            Outcome::Interrupted => Status::Interrupted,
            Outcome::NotStarted => Status::NotStarted,
            Outcome::Internal { .. } => Status::InternalError,
        }
    }
}

/// One finished item. Its serde form, in this field order, is a report row
/// (the CSV columns, a JSON lines object); the journal writes the subset it
/// needs (see `journal`). Times are RFC 3339 with milliseconds, UTC;
/// durations are seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// 1-based input position.
    pub seq: u64,
    /// The item text (lossy UTF-8).
    pub item: String,
    /// The item's journal key.
    pub key: String,
    pub status: Status,
    /// The exit code of the last attempt, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the last attempt, if one did.
    pub signal: Option<i32>,
    /// How many times the command was started.
    pub attempts: u32,
    /// When the first attempt started, `None` if it never ran.
    pub start: Option<String>,
    /// From the start of the first attempt to the end of the last (retry
    /// waits included).
    pub duration: f64,
    /// When the last attempt started, `None` if it never ran.
    pub attempt_start: Option<String>,
    /// How long the last attempt ran.
    pub attempt_duration: f64,
    /// The last lines of stderr of a failure, `\n`-joined; empty otherwise.
    pub stderr_tail: String,
    /// What went wrong in words (`exit code 3`), empty for `ok`.
    pub error: String,
    /// The command as shell text, empty when it never ran (or ran in an
    /// earlier run), or when no report asked for it.
    pub command: String,
    /// An earlier run finished the item (`--resume` skipped it): the other
    /// fields are that run's, from its journal.
    #[serde(default)]
    pub from_earlier_run: bool,
    /// Processes of its group outlived the job and were killed (the event
    /// stream writes it; reports do not).
    #[serde(skip)]
    pub leaked: bool,
    /// This run re-ran an item an earlier run recorded as failed
    /// (`--retry-failed`): its journal line replaces that record.
    #[serde(skip)]
    pub replaces_failure: bool,
    /// The number of the job that ran it, when jobs run several items
    /// (`-n`, `-X`...): the items of one job share it (and its outcome).
    #[serde(default)]
    pub job: Option<u64>,
}

impl ItemRecord {
    /// Makes the record name `item`: its seq, its text and its key (for a
    /// record taken from another item's: a batch's, or the journal's).
    pub fn name(&mut self, item: &Item) {
        self.seq = item.seq;
        self.item = String::from_utf8_lossy(&item.raw).into_owned();
        self.key.clone_from(&item.key);
    }

    /// What went wrong, in words, also for a record whose journal line
    /// predates the `error` field.
    pub fn describe(&self) -> String {
        if !self.error.is_empty() || self.status.is_success() {
            return self.error.clone();
        }
        match (self.status, self.exit_code, self.signal) {
            (Status::Failed, Some(code), _) => format!("exit code {code}"),
            (Status::Signal, _, Some(signal)) => format!("killed by {}", signal_name(signal)),
            (Status::Timeout, _, _) => "timed out".to_owned(),
            (other, _, _) => other.as_str().replace('-', " "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_file_names() {
        let all = [
            Status::Ok,
            Status::Failed,
            Status::Signal,
            Status::Timeout,
            Status::SpawnError,
            Status::BadInput,
            Status::Interrupted,
            Status::NotStarted,
            Status::InternalError,
        ];
        for status in all {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), status);
        }
        assert!(serde_json::from_str::<Status>("\"okay\"").is_err());
    }

    #[test]
    fn failure_classes_match_outcomes() {
        let outcomes = [
            Outcome::Success,
            Outcome::Failed { code: 3 },
            Outcome::Signaled { signal: 9 },
            Outcome::TimedOut,
            Outcome::SpawnFailed {
                message: String::new(),
            },
            Outcome::BadInput {
                message: String::new(),
            },
            Outcome::Interrupted,
            Outcome::NotStarted,
            Outcome::Internal {
                message: String::new(),
            },
        ];
        for outcome in outcomes {
            let status = outcome.status();
            assert_eq!(status.is_failure(), outcome.is_failure(), "{outcome:?}");
            assert_eq!(status.is_success(), outcome.is_success(), "{outcome:?}");
        }
    }
}
