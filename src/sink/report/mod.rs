//! Per-item report files (`--report FILE`): one [`ItemRecord`] per finished item, in
//! the format the file's extension names (CSV, JSONL, JSON or JUnit XML). The
//! collector calls [`Report::record`] as each item finishes and
//! [`Report::finish`] once at the end, on every exit path. Memory stays flat
//! however many items run: CSV and JSONL stream rows straight to the file,
//! while JSON and JUnit, whose documents need the run summary and a closing
//! bracket, spool rows as JSON lines into an anonymous temporary file and
//! write the final document from it in `finish`.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::record::{ItemRecord, Status};
use crate::sink::{Control, RunEvent, Sink};

/// The CSV header, in [`ItemRecord`]'s field order (serde writes the fields in that order).
const CSV_HEADER: [&str; 15] = [
    "seq",
    "item",
    "key",
    "status",
    "exit_code",
    "signal",
    "attempts",
    "start",
    "duration",
    "attempt_start",
    "attempt_duration",
    "stderr_tail",
    "error",
    "command",
    "from_earlier_run",
];

/// The extensions [`ReportFormat::from_path`] knows, as error messages list them.
const SUPPORTED: &str = ".csv, .jsonl, .json, .xml";

/// JUnit test case names longer than this are cut, so one huge item does not
/// make a CI test list unreadable.
const MAX_CASE_NAME_CHARS: usize = 200;

/// Run-level figures for the formats that have a summary (JSON, JUnit).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunInfo {
    /// The command template.
    pub command: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// Wall time of the whole run in seconds.
    pub elapsed: f64,
    /// Items of the batch: `ok + failed + interrupted + not_started`.
    pub total: u64,
    /// Items that succeeded (in this run or an earlier one).
    pub ok: u64,
    /// Items that failed in any way (in this run or an earlier one).
    pub failed: u64,
    /// Of `ok` and `failed`, the items an earlier run finished (`--resume`
    /// skipped them).
    pub from_earlier_run: EarlierCounts,
    /// Items read but never started.
    pub not_started: u64,
    /// Items stopped by fanout on cancellation.
    pub interrupted: u64,
    /// Why the run stopped early (`interrupted by SIGINT`, `halted: ...`), `None` if it ran to the end.
    pub stopped: Option<String>,
    /// The exit code fanout returns.
    pub exit_code: i32,
}

/// Items an earlier run finished, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EarlierCounts {
    /// Recorded as succeeded.
    pub ok: u64,
    /// Recorded as failed.
    pub failed: u64,
}

/// A report file format, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `.csv`: one row per item after a header row.
    Csv,
    /// `.jsonl`: one JSON object per item per line.
    Jsonl,
    /// `.json`: one document with a `summary` object and an `items` array.
    Json,
    /// `.xml`: a JUnit report with one test case per item.
    Junit,
}

impl ReportFormat {
    /// Picks the format from `path`'s extension, ignoring case.
    pub fn from_path(path: &Path) -> Result<ReportFormat, ReportError> {
        let ext = path
            .extension()
            .and_then(OsStr::to_str)
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(ReportFormat::Csv),
            Some("jsonl") => Ok(ReportFormat::Jsonl),
            Some("json") => Ok(ReportFormat::Json),
            Some("xml") => Ok(ReportFormat::Junit),
            _ => Err(ReportError::UnknownFormat {
                path: path.display().to_string(),
            }),
        }
    }
}

/// A report could not be created or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file's extension names no format fanout can write.
    #[error(
        "cannot tell the format of report `{path}` from its extension (supported: {SUPPORTED})"
    )]
    UnknownFormat {
        /// The report path, as given.
        path: String,
    },
    /// Creating or writing the report file failed.
    #[error("failed to write report `{path}`")]
    Io {
        /// The report path, as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The temporary file that holds rows until `finish` failed (usually a full temp directory).
    #[error("failed to use the temporary spool file for report `{path}`")]
    Spool {
        /// The report path, as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The JUnit XML could not be written.
    #[error("failed to write JUnit report `{path}`")]
    Junit {
        /// The report path, as given.
        path: String,
        /// The underlying serializer error.
        #[source]
        source: quick_junit::SerializeError,
    },
}

/// An open report file that rows are written to as items finish.
pub struct Report {
    /// The path as error messages show it.
    path: String,
    writer: Writer,
}

/// Where rows go until `finish`.
enum Writer {
    /// The csv writer buffers internally, so rows stream to the file. Boxed
    /// because its state is ten times the other variants'.
    Csv(Box<csv::Writer<File>>),
    Jsonl(BufWriter<File>),
    /// JSON and JUnit: rows wait as JSON lines in `spool` until `finish`
    /// knows the summary; `out` is already created (and truncated) so a bad
    /// path fails before anything runs.
    Spooled {
        format: ReportFormat,
        out: File,
        spool: BufWriter<File>,
        /// Where each row's line is in the spool, by seq: rows arrive as
        /// items finish, the document lists them in input order. 20 bytes
        /// per row, the rows themselves stay on disk.
        index: Vec<(u64, u64, u32)>,
        /// Bytes written to the spool so far.
        written: u64,
    },
}

impl Report {
    /// Creates (truncating) the report file now, so an unwritable path fails before anything runs.
    pub fn create(path: &Path) -> Result<Report, ReportError> {
        let format = ReportFormat::from_path(path)?;
        let shown = path.display().to_string();
        let file = File::create(path).map_err(|source| ReportError::Io {
            path: shown.clone(),
            source,
        })?;
        let writer = match format {
            ReportFormat::Csv => {
                // Headers are written by hand: serde would only write them
                // with the first row, and an empty run still deserves them.
                let mut writer = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file);
                writer
                    .write_record(CSV_HEADER)
                    .map_err(|e| io_error(&shown, csv_to_io(e)))?;
                Writer::Csv(Box::new(writer))
            }
            ReportFormat::Jsonl => Writer::Jsonl(BufWriter::new(file)),
            ReportFormat::Json | ReportFormat::Junit => {
                let spool = tempfile::tempfile().map_err(|source| ReportError::Spool {
                    path: shown.clone(),
                    source,
                })?;
                Writer::Spooled {
                    format,
                    out: file,
                    spool: BufWriter::new(spool),
                    index: Vec::new(),
                    written: 0,
                }
            }
        };
        Ok(Report {
            path: shown,
            writer,
        })
    }

    /// Writes one finished item's row (or spools it for JSON and JUnit).
    pub fn record(&mut self, row: &ItemRecord) -> Result<(), ReportError> {
        match &mut self.writer {
            Writer::Csv(writer) => writer
                .serialize(row)
                .map_err(|e| io_error(&self.path, csv_to_io(e))),
            Writer::Jsonl(out) => write_json_line(out, row).map_err(|e| io_error(&self.path, e)),
            Writer::Spooled {
                spool,
                index,
                written,
                ..
            } => {
                let mut line = Vec::with_capacity(256);
                write_json_line(&mut line, row).map_err(|e| spool_error(&self.path, e))?;
                spool
                    .write_all(&line)
                    .map_err(|e| spool_error(&self.path, e))?;
                let len = u32::try_from(line.len()).unwrap_or(u32::MAX);
                index.push((row.seq, *written, len));
                *written += line.len() as u64;
                Ok(())
            }
        }
    }

    /// Writes whatever the format still needs (summary, closing brackets) and flushes.
    pub fn finish(self, info: &RunInfo) -> Result<(), ReportError> {
        let path = self.path;
        match self.writer {
            Writer::Csv(mut writer) => writer.flush().map_err(|e| io_error(&path, e)),
            Writer::Jsonl(mut out) => out.flush().map_err(|e| io_error(&path, e)),
            Writer::Spooled {
                format,
                out,
                spool,
                mut index,
                ..
            } => {
                index.sort_by_key(|&(seq, offset, _)| (seq, offset));
                let spool = in_order(spool, &index).map_err(|e| spool_error(&path, e))?;
                let mut out = BufWriter::new(out);
                if format == ReportFormat::Junit {
                    let report = junit_report(spool, info).map_err(|e| spool_error(&path, e))?;
                    report
                        .serialize(&mut out)
                        .map_err(|source| ReportError::Junit {
                            path: path.clone(),
                            source,
                        })?;
                } else {
                    write_json_document(&mut out, spool, info).map_err(|e| io_error(&path, e))?;
                }
                out.flush().map_err(|e| io_error(&path, e))
            }
        }
    }
}

/// The sink that writes one `--report` file. A write error is run-fatal
/// and ends this report.
pub struct ReportSink {
    report: Option<Report>,
}

impl ReportSink {
    pub fn new(report: Report) -> ReportSink {
        ReportSink {
            report: Some(report),
        }
    }

    fn record(&mut self, record: &ItemRecord, control: &mut Control<'_>) {
        if let Some(report) = self.report.as_mut()
            && let Err(e) = report.record(record)
        {
            self.report = None;
            control.fail(format!("{:#}", anyhow::Error::from(e)));
        }
    }
}

impl Sink for ReportSink {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        match event {
            RunEvent::Finished(done) => self.record(&done.record, control),
            RunEvent::Skipped(earlier) => self.record(&earlier.record, control),
            RunEvent::RunFinished(end) => {
                if let Some(report) = self.report.take()
                    && let Err(e) = report.finish(end.info)
                {
                    control.fail(format!("{:#}", anyhow::Error::from(e)));
                }
            }
            _ => {}
        }
    }
}

fn io_error(path: &str, source: io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_owned(),
        source,
    }
}

fn spool_error(path: &str, source: io::Error) -> ReportError {
    ReportError::Spool {
        path: path.to_owned(),
        source,
    }
}

/// Unwraps the I/O error inside a csv error, so the chain does not say it twice.
fn csv_to_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(e) => e,
        csv::ErrorKind::Serialize(msg) => io::Error::new(io::ErrorKind::InvalidData, msg),
        // Only reading produces the other kinds.
        kind => io::Error::other(format!("{kind:?}")),
    }
}

/// Writes `row` as one compact JSON line; serde_json escapes newlines inside
/// strings, so one row is always exactly one line.
fn write_json_line(out: &mut impl Write, row: &ItemRecord) -> io::Result<()> {
    serde_json::to_writer(&mut *out, row)?;
    out.write_all(b"\n")
}

/// Flushes the spool and returns a reader over its rows in `index` order,
/// copied into a second anonymous file one row at a time.
fn in_order(spool: BufWriter<File>, index: &[(u64, u64, u32)]) -> io::Result<BufReader<File>> {
    use std::os::unix::fs::FileExt;
    let spool = spool.into_inner().map_err(io::IntoInnerError::into_error)?;
    let mut sorted = BufWriter::new(tempfile::tempfile()?);
    let mut line = Vec::new();
    for &(_, offset, len) in index {
        line.resize(len as usize, 0);
        spool.read_exact_at(&mut line, offset)?;
        sorted.write_all(&line)?;
    }
    let mut file = sorted
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(BufReader::new(file))
}

/// Calls `each` with every spooled row line, reusing one buffer so memory
/// does not grow with the number of rows.
fn for_each_line(
    mut spool: impl BufRead,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if spool.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let row = line.strip_suffix(b"\n").unwrap_or(&line);
        if !row.is_empty() {
            each(row)?;
        }
    }
}

/// Writes `{"summary": .., "items": [..]}`, copying the spooled lines as
/// they are: they are already the items' JSON. One item per line keeps the
/// file greppable.
fn write_json_document(
    out: &mut impl Write,
    spool: impl BufRead,
    info: &RunInfo,
) -> io::Result<()> {
    out.write_all(b"{\"summary\":")?;
    serde_json::to_writer(&mut *out, info)?;
    out.write_all(b",\"items\":[")?;
    let mut first = true;
    for_each_line(spool, |row| {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        out.write_all(row)
    })?;
    out.write_all(b"\n]}\n")
}

/// Builds the JUnit report from the spooled rows: one suite named after the
/// command template, one test case per item.
fn junit_report(spool: impl BufRead, info: &RunInfo) -> io::Result<quick_junit::Report> {
    let elapsed = seconds(info.elapsed);
    let mut suite = TestSuite::new(info.command.as_str());
    suite.set_time(elapsed);
    // quick-junit wants a chrono timestamp; fanout has none, so the start
    // time and the outcome of the run travel as properties.
    suite.add_property(("started", info.started.as_str()));
    suite.add_property(("exit_code", info.exit_code.to_string().as_str()));
    if let Some(stopped) = &info.stopped {
        suite.add_property(("stopped", stopped.as_str()));
    }
    for_each_line(spool, |line| {
        let row: ItemRecord = serde_json::from_slice(line)?;
        suite.add_test_case(test_case(&row));
        Ok(())
    })?;
    let mut report = quick_junit::Report::new("fanout");
    report.set_time(elapsed);
    report.add_test_suite(suite);
    Ok(report)
}

/// Maps one row to a JUnit test case.
fn test_case(row: &ItemRecord) -> TestCase {
    let mut status = match row.status {
        Status::Ok => TestCaseStatus::success(),
        Status::NotStarted | Status::Interrupted => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(row.status.as_str().replace('-', " "));
            status
        }
        failure => {
            // Errors are fanout's or the system's fault, failures the command's.
            let kind = if failure.is_error() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let message = if row.error.is_empty() {
                failure.as_str()
            } else {
                &row.error
            };
            status.set_message(message).set_type(failure.as_str());
            status
        }
    };
    if !row.stderr_tail.is_empty() {
        // No-op on success, which has no description.
        status.set_description(row.stderr_tail.as_str());
    }
    // Earlier attempts failed (that is why there was another), but only the
    // last one's details survive; record each as a bare rerun.
    for attempt in 1..row.attempts {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        rerun.set_message(format!("attempt {attempt} of {} failed", row.attempts));
        status.add_rerun(rerun);
    }

    let mut case = TestCase::new(case_name(row), status);
    case.set_classname("fanout");
    case.set_time(seconds(row.duration));
    case.add_property(("key", row.key.as_str()));
    if !row.command.is_empty() {
        case.add_property(("command", row.command.as_str()));
    }
    if row.attempts > 1 {
        case.add_property(("attempts", row.attempts.to_string().as_str()));
    }
    if row.from_earlier_run {
        case.add_property(("from_earlier_run", "true"));
    }
    case
}

/// `#{seq} {item}` on one line, cut to [`MAX_CASE_NAME_CHARS`].
fn case_name(row: &ItemRecord) -> String {
    let full = format!("#{} {}", row.seq, row.item);
    let mut chars = full.chars().map(|c| {
        if matches!(c, '\n' | '\r' | '\t') {
            ' '
        } else {
            c
        }
    });
    let mut name: String = chars.by_ref().take(MAX_CASE_NAME_CHARS).collect();
    if chars.next().is_some() {
        name.pop();
        name.push('…');
    }
    name
}

/// Seconds as a `Duration`; a negative or non-finite value (never expected)
/// becomes zero rather than a panic.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, item: &str, status: &str) -> ItemRecord {
        ItemRecord {
            seq,
            item: item.to_owned(),
            key: format!("k{seq}"),
            status: serde_json::from_value(serde_json::json!(status)).unwrap(),
            exit_code: Some(0),
            signal: None,
            attempts: 1,
            start: Some("2024-05-01T12:00:00.000Z".to_owned()),
            duration: 0.25,
            attempt_start: Some("2024-05-01T12:00:00.000Z".to_owned()),
            attempt_duration: 0.25,
            stderr_tail: String::new(),
            error: String::new(),
            command: format!("echo {item}"),
            from_earlier_run: false,
            leaked: false,
            replaces_failure: false,
        }
    }

    /// One row of every kind the JUnit mapping treats differently.
    fn fixture_rows() -> Vec<ItemRecord> {
        let ok = row(1, "alpha", "ok");
        let failed = ItemRecord {
            exit_code: Some(3),
            stderr_tail: "warning: x\nerror: y".to_owned(),
            error: "exit code 3".to_owned(),
            duration: 1.5,
            ..row(2, "beta", "failed")
        };
        let timeout = ItemRecord {
            exit_code: None,
            signal: Some(9),
            error: "timed out after 10s".to_owned(),
            duration: 10.0,
            ..row(3, "gamma", "timeout")
        };
        let not_started = ItemRecord {
            exit_code: None,
            attempts: 0,
            start: None,
            duration: 0.0,
            attempt_start: None,
            attempt_duration: 0.0,
            command: String::new(),
            ..row(4, "delta", "not-started")
        };
        let interrupted = ItemRecord {
            exit_code: None,
            signal: Some(2),
            error: "interrupted".to_owned(),
            ..row(5, "epsilon", "interrupted")
        };
        let flaky = ItemRecord {
            attempts: 3,
            ..row(6, "zeta", "ok")
        };
        vec![ok, failed, timeout, not_started, interrupted, flaky]
    }

    fn info(total: u64) -> RunInfo {
        RunInfo {
            command: "echo {}".to_owned(),
            started: "2024-05-01T12:00:00.000Z".to_owned(),
            elapsed: 12.5,
            total,
            ok: 2,
            failed: 2,
            from_earlier_run: EarlierCounts::default(),
            not_started: 1,
            interrupted: 1,
            stopped: Some("interrupted by SIGINT".to_owned()),
            exit_code: 130,
        }
    }

    fn write_report(path: &Path, rows: &[ItemRecord], info: &RunInfo) {
        let mut report = Report::create(path).unwrap();
        for row in rows {
            report.record(row).unwrap();
        }
        report.finish(info).unwrap();
    }

    #[test]
    fn report_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Report>();
    }

    #[test]
    fn format_from_extension_ignores_case() {
        let cases = [
            ("a.csv", ReportFormat::Csv),
            ("dir/a.CSV", ReportFormat::Csv),
            ("a.jsonl", ReportFormat::Jsonl),
            ("a.Json", ReportFormat::Json),
            ("a.xml", ReportFormat::Junit),
        ];
        for (path, format) in cases {
            assert_eq!(ReportFormat::from_path(Path::new(path)).unwrap(), format);
        }
    }

    #[test]
    fn unknown_extension_names_path_and_formats() {
        for path in ["out.txt", "out", "out.csv.gz"] {
            let err = ReportFormat::from_path(Path::new(path)).unwrap_err();
            assert!(matches!(err, ReportError::UnknownFormat { .. }));
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{path}`")), "{msg}");
            assert!(msg.contains(".csv, .jsonl, .json, .xml"), "{msg}");
        }
        let err = Report::create(Path::new("never-created.yaml"))
            .err()
            .unwrap();
        assert!(matches!(err, ReportError::UnknownFormat { .. }));
        assert!(!Path::new("never-created.yaml").exists());
    }

    #[test]
    fn create_in_missing_directory_is_io_error_naming_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("report.csv");
        let err = Report::create(&path).err().unwrap();
        let ReportError::Io {
            path: shown,
            source,
        } = &err
        else {
            panic!("expected an Io error, got {err:?}");
        };
        assert_eq!(shown, &path.display().to_string());
        assert_eq!(source.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&format!("`{}`", path.display())));
    }

    #[test]
    fn create_truncates_and_writes_csv_header_now() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "old contents that must go\n".repeat(100)).unwrap();
        let report = Report::create(&path).unwrap();
        report.finish(&RunInfo::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "seq,item,key,status,exit_code,signal,attempts,start,duration,attempt_start,attempt_duration,stderr_tail,error,command,from_earlier_run\n"
        );
    }

    #[test]
    fn csv_round_trips_with_awkward_item_and_empty_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut rows = fixture_rows();
        rows.push(ItemRecord {
            exit_code: None,
            item: "a,b \"quoted\"\nsecond line".to_owned(),
            ..row(7, "", "signal")
        });
        write_report(&path, &rows, &info(7));

        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, CSV_HEADER);
        let back: Vec<ItemRecord> = reader.deserialize().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, rows);
        // None is an empty cell, not a word.
        let raw = std::fs::read_to_string(&path).unwrap();
        let not_started = raw.lines().find(|l| l.starts_with("4,")).unwrap();
        assert_eq!(not_started, "4,delta,k4,not-started,,,0,,0.0,,0.0,,,,false");
    }

    #[test]
    fn jsonl_lines_deserialize_to_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let rows = fixture_rows();
        write_report(&path, &rows, &info(6));

        let text = std::fs::read_to_string(&path).unwrap();
        let back: Vec<ItemRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, rows);
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["signal"], serde_json::Value::Null);
        assert_eq!(first["stderr_tail"], "");
    }

    #[test]
    fn json_has_summary_and_items_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let rows = fixture_rows();
        let info = info(6);
        write_report(&path, &rows, &info);

        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["summary"], serde_json::to_value(&info).unwrap());
        assert_eq!(doc["summary"]["stopped"], "interrupted by SIGINT");
        let items: Vec<ItemRecord> = serde_json::from_value(doc["items"].clone()).unwrap();
        assert_eq!(items, rows);
    }

    #[test]
    fn json_and_junit_list_items_in_input_order_whatever_order_they_finished() {
        let dir = tempfile::tempdir().unwrap();
        let rows = fixture_rows();
        let mut finished_order = rows.clone();
        finished_order.reverse();
        finished_order.swap(0, 2);
        let json = dir.path().join("r.json");
        write_report(&json, &finished_order, &info(6));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let items: Vec<ItemRecord> = serde_json::from_value(doc["items"].clone()).unwrap();
        assert_eq!(items, rows);
        let xml = dir.path().join("r.xml");
        write_report(&xml, &finished_order, &info(6));
        let text = std::fs::read_to_string(&xml).unwrap();
        let names: Vec<usize> = rows
            .iter()
            .map(|r| text.find(&format!("name=\"#{} ", r.seq)).unwrap())
            .collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "testcases in seq order"
        );
    }

    #[test]
    fn json_with_no_rows_has_empty_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_report(&path, &[], &RunInfo::default());

        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["summary"]["total"], 0);
        assert_eq!(doc["summary"]["stopped"], serde_json::Value::Null);
        assert_eq!(doc["items"], serde_json::json!([]));
    }

    #[test]
    fn json_streams_many_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let mut report = Report::create(&path).unwrap();
        let mut row = row(0, "", "ok");
        for seq in 1..=100_000 {
            row.seq = seq;
            row.item = format!("item-{seq}");
            report.record(&row).unwrap();
        }
        report.finish(&info(100_000)).unwrap();

        let doc: serde_json::Value =
            serde_json::from_reader(BufReader::new(File::open(&path).unwrap())).unwrap();
        let items = doc["items"].as_array().unwrap();
        assert_eq!(items.len(), 100_000);
        assert_eq!(items[99_999]["item"], "item-100000");
        assert_eq!(doc["summary"]["total"], 100_000);
    }

    #[test]
    fn junit_xml_snapshot_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.XML");
        write_report(&path, &fixture_rows(), &info(6));
        let xml = std::fs::read_to_string(&path).unwrap();

        assert_eq!(xml.matches("<testcase ").count(), 6);
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert_eq!(xml.matches("<skipped ").count(), 2);
        assert_eq!(xml.matches("<flakyFailure ").count(), 2);
        insta::assert_snapshot!(xml, @r##"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="fanout" tests="6" skipped="2" failures="2" errors="0" time="12.500">
            <testsuite name="echo {}" tests="6" skipped="2" errors="0" failures="2" time="12.500">
                <properties>
                    <property name="started" value="2024-05-01T12:00:00.000Z"/>
                    <property name="exit_code" value="130"/>
                    <property name="stopped" value="interrupted by SIGINT"/>
                </properties>
                <testcase name="#1 alpha" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k1"/>
                        <property name="command" value="echo alpha"/>
                    </properties>
                </testcase>
                <testcase name="#2 beta" classname="fanout" time="1.500">
                    <properties>
                        <property name="key" value="k2"/>
                        <property name="command" value="echo beta"/>
                    </properties>
                    <failure message="exit code 3" type="failed">warning: x
        error: y</failure>
                </testcase>
                <testcase name="#3 gamma" classname="fanout" time="10.000">
                    <properties>
                        <property name="key" value="k3"/>
                        <property name="command" value="echo gamma"/>
                    </properties>
                    <failure message="timed out after 10s" type="timeout"/>
                </testcase>
                <testcase name="#4 delta" classname="fanout" time="0.000">
                    <properties>
                        <property name="key" value="k4"/>
                    </properties>
                    <skipped message="not started"/>
                </testcase>
                <testcase name="#5 epsilon" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k5"/>
                        <property name="command" value="echo epsilon"/>
                    </properties>
                    <skipped message="interrupted"/>
                </testcase>
                <testcase name="#6 zeta" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k6"/>
                        <property name="command" value="echo zeta"/>
                        <property name="attempts" value="3"/>
                    </properties>
                    <flakyFailure message="attempt 1 of 3 failed">
                    </flakyFailure>
                    <flakyFailure message="attempt 2 of 3 failed">
                    </flakyFailure>
                </testcase>
            </testsuite>
        </testsuites>
        "##);
    }

    #[test]
    fn junit_maps_errors_and_long_names() {
        let spawn = ItemRecord {
            exit_code: None,
            error: "command not found: `x`".to_owned(),
            ..row(1, "a", "spawn-error")
        };
        let internal = ItemRecord {
            error: String::new(),
            ..row(2, "b", "internal-error")
        };
        let retried = ItemRecord {
            attempts: 2,
            error: "exit code 1".to_owned(),
            ..row(3, &"x".repeat(500), "failed")
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xml");
        write_report(&path, &[spawn, internal, retried], &RunInfo::default());
        let xml = std::fs::read_to_string(&path).unwrap();

        assert_eq!(xml.matches("<error ").count(), 2);
        assert!(xml.contains(r#"message="command not found: `x`" type="spawn-error""#));
        // An empty error falls back to the status, so the message is never blank.
        assert!(xml.contains(r#"message="internal-error" type="internal-error""#));
        assert_eq!(xml.matches("<rerunFailure ").count(), 1);
        let long = format!("#3 {}…", "x".repeat(MAX_CASE_NAME_CHARS - 4));
        assert_eq!(long.chars().count(), MAX_CASE_NAME_CHARS);
        assert!(xml.contains(&format!(r#"name="{long}""#)));
    }

    #[test]
    fn case_name_keeps_one_line() {
        let r = row(12, "a\nb\tc", "ok");
        assert_eq!(case_name(&r), "#12 a b c");
    }
}
