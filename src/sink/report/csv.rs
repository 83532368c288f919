//! `.csv` reports: a header row, then one row per item, streamed to the file
//! as items finish (the csv writer buffers internally).

use std::fs::File;
use std::io;

use crate::record::ItemRecord;
use crate::sink::report::{Format, FormatError, RunInfo};

/// The CSV header, in [`ItemRecord`]'s field order (serde writes the fields in that order).
pub(crate) const CSV_HEADER: [&str; 16] = [
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
    "job",
];

pub(crate) struct Csv {
    writer: csv::Writer<File>,
}

impl Csv {
    /// Writes the header now: serde would only write it with the first row,
    /// and an empty run still deserves one.
    pub(crate) fn new(out: File) -> Result<Csv, FormatError> {
        Csv::with_delimiter(out, b',')
    }

    /// The same rows with another field separator (TSV's tab).
    pub(crate) fn with_delimiter(out: File, delimiter: u8) -> Result<Csv, FormatError> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_writer(out);
        writer
            .write_record(CSV_HEADER)
            .map_err(|e| FormatError::Write(csv_to_io(e)))?;
        Ok(Csv { writer })
    }
}

impl Format for Csv {
    fn record(&mut self, row: &ItemRecord) -> Result<(), FormatError> {
        self.writer
            .serialize(row)
            .map_err(|e| FormatError::Write(csv_to_io(e)))
    }

    fn finish(mut self: Box<Self>, _info: &RunInfo) -> Result<(), FormatError> {
        self.writer.flush().map_err(FormatError::Write)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::report::tests::{fixture_rows, info, row, write_report};

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
        assert_eq!(
            not_started,
            "4,delta,k4,not-started,,,0,,0.0,,0.0,,,,false,"
        );
    }
}
