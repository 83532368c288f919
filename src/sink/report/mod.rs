//! Per-item report files (`--report FILE`): one [`ItemRecord`] per finished item, in
//! the format the file's extension names, one file per format behind the
//! `Format` trait (hyperfine's `export/`): `csv`, `tsv`, `jsonl`, `json` and
//! `junit`. The collector calls [`Report::record`] as each item finishes and
//! [`Report::finish`] once at the end, on every exit path. Memory stays flat
//! however many items run: CSV and JSONL stream rows straight to the file,
//! while JSON and JUnit, whose documents need the run summary and a closing
//! bracket, keep rows in the `spool` and write the final document from it
//! in `finish`. A new format is one new file here plus its variant, its
//! extension and its constructor in `ReportFormat`.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;

use crate::record::ItemRecord;
use crate::sink::{Control, RunEvent, Sink};

mod csv;
mod json;
mod jsonl;
mod junit;
mod spool;
mod tsv;

/// One open report file's writer, in one format.
pub(crate) trait Format: Send {
    /// Writes one finished item's row (or keeps it until `finish`).
    fn record(&mut self, row: &ItemRecord) -> Result<(), FormatError>;

    /// Writes whatever the format still needs (summary, closing brackets) and flushes.
    fn finish(self: Box<Self>, info: &RunInfo) -> Result<(), FormatError>;
}

/// What a [`Format`] failed at; [`Report`] names the file to make it a [`ReportError`].
pub(crate) enum FormatError {
    /// Writing the report file.
    Write(io::Error),
    /// Using the spool (usually a full temp directory).
    Spool(io::Error),
    Junit(quick_junit::SerializeError),
}

impl FormatError {
    fn at(self, path: &str) -> ReportError {
        let path = path.to_owned();
        match self {
            FormatError::Write(source) => ReportError::Io { path, source },
            FormatError::Spool(source) => ReportError::Spool { path, source },
            FormatError::Junit(source) => ReportError::Junit { path, source },
        }
    }
}

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
    pub exit_code: i32,
}

/// Items an earlier run finished, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EarlierCounts {
    pub ok: u64,
    pub failed: u64,
}

/// A report file format, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// `.csv`: one row per item after a header row.
    Csv,
    /// `.tsv`: the CSV rows, tab-separated.
    Tsv,
    /// `.jsonl`: one JSON object per item per line.
    Jsonl,
    /// `.json`: one document with a `summary` object and an `items` array.
    Json,
    /// `.xml`: a JUnit report with one test case per item.
    Junit,
}

impl ReportFormat {
    /// Each format with the extension that names it, in the order error
    /// messages list them.
    const BY_EXTENSION: [(&'static str, ReportFormat); 5] = [
        ("csv", ReportFormat::Csv),
        ("tsv", ReportFormat::Tsv),
        ("jsonl", ReportFormat::Jsonl),
        ("json", ReportFormat::Json),
        ("xml", ReportFormat::Junit),
    ];

    /// Picks the format from `path`'s extension, ignoring case.
    pub(crate) fn from_path(path: &Path) -> Result<ReportFormat, ReportError> {
        let ext = path
            .extension()
            .and_then(OsStr::to_str)
            .map(str::to_ascii_lowercase);
        ReportFormat::BY_EXTENSION
            .iter()
            .find(|(known, _)| ext.as_deref() == Some(*known))
            .map(|&(_, format)| format)
            .ok_or_else(|| ReportError::UnknownFormat {
                path: path.display().to_string(),
            })
    }

    /// The writer of this format, on the just-created `file`.
    fn open(self, file: File) -> Result<Box<dyn Format>, FormatError> {
        Ok(match self {
            ReportFormat::Csv => Box::new(csv::Csv::new(file)?),
            ReportFormat::Tsv => Box::new(tsv::tsv(file)?),
            ReportFormat::Jsonl => Box::new(jsonl::Jsonl::new(file)),
            ReportFormat::Json => Box::new(spool::Spooled::<json::Json>::new(file)?),
            ReportFormat::Junit => Box::new(spool::Spooled::<junit::Junit>::new(file)?),
        })
    }

    /// `.csv, .jsonl, ...`, as error messages list them.
    fn supported() -> String {
        ReportFormat::BY_EXTENSION
            .map(|(extension, _)| format!(".{extension}"))
            .join(", ")
    }
}

/// A report could not be created or written. `path` is the report path as given.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "cannot tell the format of report `{path}` from its extension (supported: {})",
        ReportFormat::supported()
    )]
    UnknownFormat { path: String },
    #[error("failed to write report `{path}`")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The temporary file that holds rows until `finish` failed (usually a full temp directory).
    #[error("failed to use the temporary spool file for report `{path}`")]
    Spool {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("failed to write JUnit report `{path}`")]
    Junit {
        path: String,
        #[source]
        source: quick_junit::SerializeError,
    },
}

/// An open report file that rows are written to as items finish.
pub struct Report {
    /// The path as error messages show it.
    path: String,
    format: Box<dyn Format>,
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
        let format = format.open(file).map_err(|e| e.at(&shown))?;
        Ok(Report {
            path: shown,
            format,
        })
    }

    /// Writes one finished item's row (or spools it for JSON and JUnit).
    pub fn record(&mut self, row: &ItemRecord) -> Result<(), ReportError> {
        self.format.record(row).map_err(|e| e.at(&self.path))
    }

    /// Writes whatever the format still needs (summary, closing brackets) and flushes.
    pub fn finish(self, info: &RunInfo) -> Result<(), ReportError> {
        self.format.finish(info).map_err(|e| e.at(&self.path))
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
            RunEvent::Finished(done) => self.record(done.record(), control),
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

/// Also the rows, run figures and writer that the format files' tests share.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(seq: u64, item: &str, status: &str) -> ItemRecord {
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
            job: None,
        }
    }

    /// One row of every kind the JUnit mapping treats differently.
    pub(super) fn fixture_rows() -> Vec<ItemRecord> {
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

    pub(super) fn info(total: u64) -> RunInfo {
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

    pub(super) fn write_report(path: &Path, rows: &[ItemRecord], info: &RunInfo) {
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
            ("a.tsv", ReportFormat::Tsv),
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
            assert!(msg.contains(".csv, .tsv, .jsonl, .json, .xml"), "{msg}");
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
            "seq,item,key,status,exit_code,signal,attempts,start,duration,attempt_start,attempt_duration,stderr_tail,error,command,from_earlier_run,job\n"
        );
    }
}
