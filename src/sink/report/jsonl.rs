//! `.jsonl` reports: one compact JSON object per item per line, streamed to
//! the file as items finish.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use crate::record::ItemRecord;
use crate::sink::report::{Format, FormatError, RunInfo};

pub(crate) struct Jsonl {
    out: BufWriter<File>,
}

impl Jsonl {
    pub(crate) fn new(out: File) -> Jsonl {
        Jsonl {
            out: BufWriter::new(out),
        }
    }
}

impl Format for Jsonl {
    fn record(&mut self, row: &ItemRecord) -> Result<(), FormatError> {
        write_json_line(&mut self.out, row).map_err(FormatError::Write)
    }

    fn finish(mut self: Box<Self>, _info: &RunInfo) -> Result<(), FormatError> {
        self.out.flush().map_err(FormatError::Write)
    }
}

/// Writes `row` as one compact JSON line; serde_json escapes newlines inside
/// strings, so one row is always exactly one line.
pub(crate) fn write_json_line(out: &mut impl Write, row: &ItemRecord) -> io::Result<()> {
    serde_json::to_writer(&mut *out, row)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use crate::record::ItemRecord;
    use crate::sink::report::tests::{fixture_rows, info, write_report};

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
}
