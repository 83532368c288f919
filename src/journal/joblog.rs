//! Resuming from a GNU parallel joblog (`--joblog FILE --resume` without
//! `--journal`), with GNU's semantics: items are known by their Seq (input
//! position) alone. `--resume` skips every seq the joblog has a row for;
//! `--resume-failed` (fanout's `--retry-failed`) skips only the seqs with a
//! row whose Exitval and Signal are both 0, and runs the rest again.
//!
//! The first line is GNU's header and is not read; each other line must
//! begin with GNU's eight number-and-host columns, else the load fails
//! naming the file and line. A torn last line (no newline, from a killed
//! run) is ignored. What is kept per seq is a few numbers, so that a
//! skipped item is reported with its row's outcome; entries leave the map
//! as their items are read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::record::{ItemRecord, Status};

/// One row, as far as a resume needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Starttime, seconds since the epoch.
    pub start: f64,
    /// JobRuntime, seconds.
    pub runtime: f64,
    pub exitval: i64,
    pub signal: i64,
}

impl Row {
    /// GNU's success: Exitval and Signal both 0.
    pub fn succeeded(&self) -> bool {
        self.exitval == 0 && self.signal == 0
    }

    /// The record a skipped item is reported with.
    pub fn record(&self, seq: u64) -> ItemRecord {
        let (status, exit_code, signal) = match (self.exitval, self.signal) {
            (0, 0) => (Status::Ok, Some(0), None),
            (-1, signal) if signal != 0 => (Status::Timeout, None, None),
            (_, 0) => (
                Status::Failed,
                Some(i32::try_from(self.exitval).unwrap_or(i32::MAX)),
                None,
            ),
            (_, signal) => (
                Status::Signal,
                None,
                Some(i32::try_from(signal).unwrap_or(0)),
            ),
        };
        let start = (self.start.is_finite() && self.start >= 0.0)
            // Whole milliseconds, as GNU wrote them (a float's nearest is
            // often a hair below).
            .then(|| {
                SystemTime::UNIX_EPOCH + Duration::from_millis((self.start * 1000.0).round() as u64)
            })
            .map(crate::time::timestamp);
        let mut record = ItemRecord {
            seq,
            item: String::new(),
            key: String::new(),
            status,
            exit_code,
            signal,
            attempts: 1,
            start: start.clone(),
            duration: self.runtime.max(0.0),
            attempt_start: start,
            attempt_duration: self.runtime.max(0.0),
            stderr_tail: String::new(),
            error: String::new(),
            command: String::new(),
            from_earlier_run: true,
            leaked: false,
            replaces_failure: false,
            job: None,
        };
        record.error = record.describe();
        record
    }
}

/// What a joblog says about earlier runs: a row per seq (a seq with
/// several rows, from earlier resumes, keeps a successful one if any).
#[derive(Debug, Default)]
pub struct JoblogDone {
    rows: HashMap<u64, Row>,
}

/// What a joblog resume does with an item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JoblogAdmission {
    Run,
    Skip(Row),
}

impl JoblogDone {
    /// Decides the item at `seq` (`retry_failed`: GNU's `--resume-failed`).
    pub fn admit(&mut self, seq: u64, retry_failed: bool) -> JoblogAdmission {
        match self.rows.remove(&seq) {
            Some(row) if row.succeeded() || !retry_failed => JoblogAdmission::Skip(row),
            _ => JoblogAdmission::Run,
        }
    }

    /// How many seqs have a row.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A joblog that cannot be read for a resume.
#[derive(Debug, thiserror::Error)]
pub enum JoblogReadError {
    #[error("failed to read joblog `{path}`")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("joblog `{path}` line {line}: {reason} (not a GNU parallel joblog row)")]
    Format {
        path: String,
        line: u64,
        reason: String,
    },
}

/// Reads a joblog; a missing file is an empty one (everything runs, as
/// GNU's `--resume` with a missing joblog).
pub fn load_joblog(path: &Path) -> Result<JoblogDone, JoblogReadError> {
    let shown = path.display().to_string();
    let io_err = |source| JoblogReadError::Io {
        path: shown.clone(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(JoblogDone::default()),
        Err(e) => return Err(io_err(e)),
    };
    let mut reader = BufReader::new(file);
    let mut done = JoblogDone::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        // GNU's header; a `+FILE` joblog started without one (as GNU
        // starts it) has a row there.
        if line_no == 1 && buf.starts_with(b"Seq\t") {
            continue;
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_row(text) {
            Ok((seq, row)) => {
                let keep_earlier = done.rows.get(&seq).is_some_and(Row::succeeded);
                if !keep_earlier {
                    done.rows.insert(seq, row);
                }
            }
            Err(_) if !complete => break, // torn by a kill
            Err(reason) => {
                return Err(JoblogReadError::Format {
                    path: shown,
                    line: line_no,
                    reason,
                });
            }
        }
    }
    Ok(done)
}

/// Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal,
/// Command: the columns before Command.
fn parse_row(text: &[u8]) -> Result<(u64, Row), String> {
    // The command may hold any bytes; only the columns before it are read.
    let columns: Vec<&str> = text
        .splitn(9, |&b| b == b'\t')
        .take(8)
        .map(|column| std::str::from_utf8(column).unwrap_or("?"))
        .collect();
    if columns.len() < 8 {
        return Err(format!("{} tab-separated columns, not 9", columns.len()));
    }
    let number = |at: usize, name: &str| -> Result<f64, String> {
        columns[at]
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{name} `{}` is not a number", columns[at]))
    };
    let whole = |at: usize, name: &str| -> Result<i64, String> {
        columns[at]
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{name} `{}` is not a whole number", columns[at]))
    };
    let seq = columns[0]
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("Seq `{}` is not a sequence number", columns[0]))?;
    let row = Row {
        start: number(2, "Starttime")?,
        runtime: number(3, "JobRuntime")?,
        exitval: whole(6, "Exitval")?,
        signal: whole(7, "Signal")?,
    };
    Ok((seq, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows GNU parallel 20221122 wrote on this machine, for `exit {}`,
    /// `--timeout 1 sleep {}` and `kill -9 $$`.
    const GNU: &str = "\
Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand
1\t:\t1796179606.146\t     0.002\t0\t0\t1\t0\texit 1
2\t:\t1796179618.597\t     0.003\t0\t0\t0\t0\tsleep 0
3\t:\t1796179618.595\t     1.424\t0\t0\t-1\t15\tsleep 5
4\t:\t1796179620.245\t     0.004\t0\t0\t0\t9\tkill -9 $$
";

    fn load_text(text: &str) -> Result<JoblogDone, JoblogReadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, text).unwrap();
        load_joblog(&path)
    }

    #[test]
    fn resume_skips_every_row_resume_failed_only_successes() {
        let mut resume = load_text(GNU).unwrap();
        let mut failed = load_text(GNU).unwrap();
        assert_eq!(resume.len(), 4);
        for seq in 1..=4 {
            assert!(matches!(resume.admit(seq, false), JoblogAdmission::Skip(_)));
        }
        assert_eq!(resume.admit(5, false), JoblogAdmission::Run);
        let decided: Vec<bool> = (1..=5)
            .map(|seq| matches!(failed.admit(seq, true), JoblogAdmission::Skip(_)))
            .collect();
        assert_eq!(decided, [false, true, false, false, false]);
    }

    #[test]
    fn skipped_rows_become_records_with_their_outcome() {
        let mut done = load_text(GNU).unwrap();
        let status = |done: &mut JoblogDone, seq| match done.admit(seq, false) {
            JoblogAdmission::Skip(row) => row.record(seq),
            JoblogAdmission::Run => panic!("seq {seq} has a row"),
        };
        let failed = status(&mut done, 1);
        assert_eq!((failed.status, failed.exit_code), (Status::Failed, Some(1)));
        assert_eq!(failed.error, "exit code 1");
        assert_eq!(
            failed.attempt_start.as_deref(),
            Some("2026-12-02T02:46:46.146Z")
        );
        assert_eq!(status(&mut done, 2).status, Status::Ok);
        assert_eq!(status(&mut done, 3).status, Status::Timeout);
        let killed = status(&mut done, 4);
        assert_eq!((killed.status, killed.signal), (Status::Signal, Some(9)));
        assert!(killed.from_earlier_run);
    }

    #[test]
    fn a_later_success_wins_and_a_later_failure_does_not_undo_one() {
        let text = "Seq\tHost\n1\t:\t1\t0\t0\t0\t3\t0\tx\n1\t:\t2\t0\t0\t0\t0\t0\tx\n2\t:\t1\t0\t0\t0\t0\t0\tx\n2\t:\t2\t0\t0\t0\t4\t0\tx\n";
        let mut done = load_text(text).unwrap();
        assert!(matches!(done.admit(1, true), JoblogAdmission::Skip(_)));
        assert!(matches!(done.admit(2, true), JoblogAdmission::Skip(_)));
    }

    #[test]
    fn a_first_line_that_is_a_row_is_read_as_one() {
        // `--joblog +FILE` starts a joblog without GNU's header.
        let done = load_text("1\t:\t1\t0\t0\t0\t0\t0\tx\n2\t:\t1\t0\t0\t0\t0\t0\tx\n").unwrap();
        assert_eq!(done.len(), 2);
    }

    #[test]
    fn bad_rows_name_file_and_line_and_a_torn_last_line_is_ignored() {
        let err = load_text("Seq\tHost\n1\t:\t1\t0\t0\t0\t0\t0\tx\nnot a row\n2\t:\n")
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("/log`"), "{text}");
        let err = load_text("Seq\tHost\n1\t:\tsoon\t0\t0\t0\t0\t0\tx\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("Starttime `soon`"), "{err}");
        let done = load_text("Seq\tHost\n1\t:\t1\t0\t0\t0\t0\t0\tx\n2\t:\t1.5").unwrap();
        assert_eq!(done.len(), 1);
        // A command of any bytes, newlines written as NUL, tabs and all.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(
            &path,
            b"Seq\tHost\n7\t:\t1\t0\t0\t0\t0\t0\tprintf '\xe9\0\t'\n",
        )
        .unwrap();
        assert_eq!(load_joblog(&path).unwrap().len(), 1);
        // Missing: nothing has run.
        let none = load_joblog(Path::new("/no/such/joblog")).unwrap();
        assert_eq!(none.len(), 0);
    }
}
