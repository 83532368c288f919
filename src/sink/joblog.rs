//! GNU parallel's joblog (`--joblog FILE`, `+FILE` to append, `-` for
//! stdout): a tab-separated header, then one row per finished item, written
//! and flushed as the item's output is written (the `Written` event), so
//! `tail -f` shows each row as its job ends and a row is never there before
//! the output it describes. The row is GNU's, column for column and in
//! GNU's number formats (`/usr/bin/parallel`, `print_joblog`), so scripts
//! that read GNU joblogs (`awk -F'\t' '$7!=0'`) keep working; it is built
//! by one function, [`JoblogRow::write`], from the item's record.
//!
//! Items interrupted or never started get no row, as in GNU parallel: a
//! joblog lists what finished, and a `--resume` from it runs the rest.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::event::Stream;
use crate::item::ItemData;
use crate::record::{ItemRecord, Status};
use crate::sink::output::StdStreams;
use crate::sink::{Control, Done, RunEvent, Sink};

/// GNU's header line, byte for byte.
pub(crate) const HEADER: &str =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// Where `--joblog` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoblogDest {
    /// `--joblog -`.
    Stdout,
    /// `--joblog FILE`, or `+FILE` (`append`: no header, nothing truncated).
    File { path: PathBuf, append: bool },
}

impl JoblogDest {
    /// Reads `--joblog`'s value as GNU does: `-` is stdout, a leading `+`
    /// appends.
    pub fn parse(given: &Path) -> JoblogDest {
        use std::os::unix::ffi::OsStrExt;
        let bytes = given.as_os_str().as_bytes();
        if bytes == b"-" {
            return JoblogDest::Stdout;
        }
        match bytes.strip_prefix(b"+") {
            Some(rest) => JoblogDest::File {
                path: PathBuf::from(std::ffi::OsStr::from_bytes(rest)),
                append: true,
            },
            None => JoblogDest::File {
                path: given.to_path_buf(),
                append: false,
            },
        }
    }

    /// The file, when it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            JoblogDest::Stdout => None,
            JoblogDest::File { path, .. } => Some(path),
        }
    }
}

/// One joblog row: GNU's columns, from one finished item's record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JoblogRow<'a> {
    pub seq: u64,
    /// When the (last) attempt started, seconds since the epoch.
    pub start: f64,
    /// How long it ran, seconds.
    pub runtime: f64,
    /// Bytes sent to the job (GNU: `--pipe` blocks and `--transfer`; 0 here).
    pub send: u64,
    /// Bytes the job wrote to stdout.
    pub receive: u64,
    pub exitval: i64,
    pub signal: i32,
    /// The command as it ran (shell text).
    pub command: &'a str,
}

impl<'a> JoblogRow<'a> {
    /// The row of an item that finished, `None` for an item interrupted or
    /// never started (GNU logs neither). `receive`: its stdout's bytes.
    ///
    /// Exitval and Signal follow GNU: a timed-out job is `-1` and the
    /// signal that ended it (SIGTERM); a job that could not start has the
    /// shell's codes (127 not found, 126 not executable), as GNU, which
    /// starts every job through a shell, records; bad input and fanout's
    /// own errors are 255, GNU's code for its own failures.
    pub fn of(record: &'a ItemRecord, receive: u64, now: SystemTime) -> Option<JoblogRow<'a>> {
        let (exitval, signal) = match record.status {
            Status::Interrupted | Status::NotStarted => return None,
            Status::Ok => (0, 0),
            Status::Failed => (i64::from(record.exit_code.unwrap_or(1)), 0),
            Status::Signal => (0, record.signal.unwrap_or(0)),
            Status::Timeout => (-1, libc::SIGTERM),
            Status::SpawnError if record.error.contains("permission denied") => (126, 0),
            Status::SpawnError if record.error.contains("not found") => (127, 0),
            Status::SpawnError | Status::BadInput | Status::InternalError => (255, 0),
        };
        let start = record
            .attempt_start
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339(s).ok())
            .unwrap_or(now);
        let start = start
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Some(JoblogRow {
            seq: record.seq,
            start,
            runtime: record.attempt_duration,
            send: 0,
            receive,
            exitval,
            signal,
            command: &record.command,
        })
    }

    /// Appends the row as GNU prints it: `%.3f` start, `%10.3f` runtime
    /// cut (not rounded) to milliseconds, `:` as the local host, and the
    /// command's newlines as NUL bytes so a row stays one line.
    pub fn write(&self, out: &mut Vec<u8>) {
        let runtime = (self.runtime * 1000.0).trunc() / 1000.0;
        let head = format!(
            "{}\t:\t{:.3}\t{:>10.3}\t{}\t{}\t{}\t{}\t",
            self.seq, self.start, runtime, self.send, self.receive, self.exitval, self.signal
        );
        out.extend_from_slice(head.as_bytes());
        out.extend(self.command.bytes().map(|b| if b == b'\n' { 0 } else { b }));
        out.push(b'\n');
    }
}

/// A joblog could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JoblogError {
    #[error("failed to open joblog `{path}`")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("failed to write joblog `{path}`")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// An open joblog, before the run.
#[derive(Debug)]
pub enum Joblog {
    /// A file, its header written (unless appended to).
    File { file: File, shown: String },
    /// stdout: the header is written when the run starts, through the
    /// output's stream.
    Stdout,
}

impl Joblog {
    /// Opens the joblog now, so an unwritable path fails before anything
    /// runs. As GNU: `+FILE` appends; `FILE` is truncated and gets the
    /// header, except that a resumed run (`resume`) appends to a FILE that
    /// already starts with a line.
    pub fn open(dest: &JoblogDest, resume: bool) -> Result<Joblog, JoblogError> {
        let (path, append) = match dest {
            JoblogDest::Stdout => return Ok(Joblog::Stdout),
            JoblogDest::File { path, append } => (path, *append),
        };
        let shown = path.display().to_string();
        let append = append || (resume && starts_with_a_line(path));
        let mut options = OpenOptions::new();
        if append {
            options.read(true).append(true).create(true);
        } else {
            options.write(true).create(true).truncate(true);
        }
        let open_err = |source| JoblogError::Open {
            path: shown.clone(),
            source,
        };
        let mut file = options.open(path).map_err(open_err)?;
        if append {
            // A row torn by a kill would join the next row: cut it, as the
            // journal does (its item runs again).
            crate::journal::cut_torn_tail(&file).map_err(open_err)?;
        }
        if !append {
            file.write_all(HEADER.as_bytes())
                .map_err(|source| JoblogError::Write {
                    path: shown.clone(),
                    source,
                })?;
        }
        Ok(Joblog::File { file, shown })
    }
}

/// Whether `path` exists and has a first line (GNU appends to such a
/// joblog on `--resume`, reading that line as its header).
fn starts_with_a_line(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = Vec::new();
    BufReader::new(file)
        .read_until(b'\n', &mut first)
        .is_ok_and(|n| n > 0)
}

/// Where rows go while the run goes on.
enum Out {
    File {
        file: File,
        shown: String,
    },
    /// Through the output's stream, so rows keep clear of the progress bars
    /// and follow the output they describe.
    Stdout(StdStreams),
}

/// The sink that writes `--joblog`. A write error is run-fatal and ends
/// the joblog.
pub struct JoblogSink {
    out: Option<Out>,
    /// Bytes each running job wrote to stdout, for jobs whose output is
    /// streamed (`--output line`): by ticket.
    streamed: HashMap<u64, u64>,
}

impl JoblogSink {
    /// `stdout`: the stream that `--joblog -` writes to.
    pub fn new(joblog: Joblog, stdout: StdStreams) -> JoblogSink {
        let out = match joblog {
            Joblog::File { file, shown } => Out::File { file, shown },
            Joblog::Stdout => Out::Stdout(stdout),
        };
        JoblogSink {
            out: Some(out),
            streamed: HashMap::new(),
        }
    }

    fn write(&mut self, bytes: &[u8], control: &mut Control<'_>) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let result = match out {
            // One write per row: a reader (`tail -f`) sees whole rows.
            Out::File { file, .. } => file.write_all(bytes),
            Out::Stdout(stream) => stream.write_all(bytes).and_then(|()| stream.flush()),
        };
        if let Err(source) = result {
            let out = self.out.take();
            match out {
                Some(Out::Stdout(_)) if source.kind() == io::ErrorKind::BrokenPipe => {
                    control.broken_pipe();
                }
                Some(Out::Stdout(_)) => {
                    control.fail(format!("failed to write the joblog to stdout: {source}"));
                }
                Some(Out::File { shown, .. }) => {
                    let e = JoblogError::Write {
                        path: shown,
                        source,
                    };
                    control.fail(format!("{:#}", anyhow::Error::from(e)));
                }
                None => {}
            }
        }
    }

    /// The bytes a finished job wrote to stdout: its capture's size, or
    /// what was streamed.
    fn receive(&mut self, done: &Done) -> u64 {
        let streamed = self.streamed.remove(&done.finished.ticket).unwrap_or(0);
        let captured = done
            .finished
            .captured
            .stdout
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        streamed + captured
    }

    fn written(&mut self, done: &Done, control: &mut Control<'_>) {
        let receive = self.receive(done);
        let record = done.record();
        if let Some(mut row) = JoblogRow::of(record, receive, SystemTime::now()) {
            // GNU's Send: the bytes a `--pipe` job got on stdin.
            if let ItemData::Block(block) = &done.finished.item.data {
                row.send = block.len + block.header.len() as u64;
            }
            let mut line = Vec::with_capacity(128 + row.command.len());
            row.write(&mut line);
            self.write(&line, control);
        }
    }
}

impl Sink for JoblogSink {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        match event {
            RunEvent::RunStarted(_) => {
                if matches!(self.out, Some(Out::Stdout(_))) {
                    self.write(HEADER.as_bytes(), control);
                }
            }
            RunEvent::Output(chunk) if chunk.stream == Stream::Stdout => {
                *self.streamed.entry(chunk.ticket).or_default() += chunk.bytes.len() as u64;
            }
            // The row describes the last attempt, as GNU's does.
            RunEvent::Retrying(retry) => {
                self.streamed.remove(&retry.ticket);
            }
            RunEvent::Written(done) => self.written(done, control),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::report::tests::row;

    /// `parallel --joblog log.tsv 'exit {}' ::: 1 2 3 0` printed, on this
    /// machine (GNU parallel 20221122):
    const GNU_ROWS: &str = "\
Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand
1\t:\t1796179606.146\t     0.002\t0\t0\t1\t0\texit 1
4\t:\t1796179606.154\t     0.000\t0\t0\t0\t0\texit 0
";

    fn record(seq: u64, status: &str, start: &str, duration: f64, command: &str) -> ItemRecord {
        ItemRecord {
            attempt_start: Some(start.to_owned()),
            attempt_duration: duration,
            command: command.to_owned(),
            ..row(seq, "x", status)
        }
    }

    fn line(record: &ItemRecord, receive: u64) -> String {
        let mut out = Vec::new();
        JoblogRow::of(record, receive, SystemTime::UNIX_EPOCH)
            .expect("a row")
            .write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_are_byte_for_byte_what_gnu_prints() {
        // 1796179606.146 is 2026-12-02T02:46:46.146Z.
        let failed = ItemRecord {
            exit_code: Some(1),
            ..record(1, "failed", "2026-12-02T02:46:46.146Z", 0.0029, "exit 1")
        };
        let ok = record(4, "ok", "2026-12-02T02:46:46.154Z", 0.0004, "exit 0");
        let text = format!("{HEADER}{}{}", line(&failed, 0), line(&ok, 0));
        assert_eq!(text, GNU_ROWS);
    }

    #[test]
    fn exitval_and_signal_as_gnu_records_them() {
        let at = "2026-12-02T02:46:46.000Z";
        let cases = [
            // status, exit code, signal, error: Exitval, Signal
            ("signal", None, Some(9), "", "0\t9"),
            ("timeout", None, None, "timed out", "-1\t15"),
            (
                "spawn-error",
                None,
                None,
                "could not start: command not found: `nosuch`",
                "127\t0",
            ),
            (
                "spawn-error",
                None,
                None,
                "could not start: permission denied: `./x`",
                "126\t0",
            ),
            ("bad-input", None, None, "bad input: line 2", "255\t0"),
            ("failed", Some(3), None, "exit code 3", "3\t0"),
        ];
        for (status, exit_code, signal, error, expected) in cases {
            let record = ItemRecord {
                exit_code,
                signal,
                error: error.to_owned(),
                ..record(2, status, at, 1.5, "cmd")
            };
            let text = line(&record, 0);
            let columns: Vec<&str> = text.trim_end().split('\t').collect();
            assert_eq!(columns[6..8].join("\t"), expected, "{status}: {text}");
        }
        for status in ["interrupted", "not-started"] {
            let r = record(3, status, at, 0.0, "");
            assert!(
                JoblogRow::of(&r, 0, SystemTime::UNIX_EPOCH).is_none(),
                "{status}"
            );
        }
    }

    #[test]
    fn runtime_is_cut_to_milliseconds_padded_to_ten_and_newlines_become_nul() {
        let r = record(
            12,
            "ok",
            "2026-12-02T02:46:46.000Z",
            12345.6789,
            "printf 'a\nb'",
        );
        assert_eq!(
            line(&r, 6),
            "12\t:\t1796179606.000\t 12345.678\t0\t6\t0\t0\tprintf 'a\0b'\n"
        );
        // A job that never ran has the time of its row and no runtime.
        let never = ItemRecord {
            attempt_start: None,
            attempt_duration: 0.0,
            command: String::new(),
            ..row(5, "x", "bad-input")
        };
        assert_eq!(line(&never, 0), "5\t:\t0.000\t     0.000\t0\t0\t255\t0\t\n");
    }

    #[test]
    fn joblog_values_parse_as_gnu_reads_them() {
        assert_eq!(JoblogDest::parse(Path::new("-")), JoblogDest::Stdout);
        assert_eq!(
            JoblogDest::parse(Path::new("+log.tsv")),
            JoblogDest::File {
                path: "log.tsv".into(),
                append: true
            }
        );
        assert_eq!(
            JoblogDest::parse(Path::new("dir/log")),
            JoblogDest::File {
                path: "dir/log".into(),
                append: false
            }
        );
    }

    #[test]
    fn open_truncates_appends_or_resumes_as_gnu() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let file = |append| JoblogDest::File {
            path: path.clone(),
            append,
        };
        std::fs::write(&path, "old\n").unwrap();
        drop(Joblog::open(&file(false), false).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
        drop(Joblog::open(&file(true), false).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
        // A resumed run appends to a joblog with a first line.
        std::fs::write(&path, "Seq\n1\n").unwrap();
        drop(Joblog::open(&file(false), true).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "Seq\n1\n");
        // ... and starts an empty or missing one with the header.
        std::fs::remove_file(&path).unwrap();
        drop(Joblog::open(&file(false), true).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
        let missing = JoblogDest::File {
            path: dir.path().join("no/such/dir/log"),
            append: false,
        };
        let err = Joblog::open(&missing, false).unwrap_err();
        assert!(err.to_string().contains("no/such/dir/log"), "{err}");
    }
}
