//! `.json` reports: one document, `{"summary": .., "items": [..]}`. The
//! summary is known only at the end, so rows wait in the spool and the
//! document is written in `finish`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

use crate::sink::report::spool::{Document, for_each_line};
use crate::sink::report::{FormatError, RunInfo};

pub(crate) struct Json;

impl Document for Json {
    fn write(
        rows: BufReader<File>,
        info: &RunInfo,
        out: &mut BufWriter<File>,
    ) -> Result<(), FormatError> {
        write_json_document(out, rows, info).map_err(FormatError::Write)
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

#[cfg(test)]
mod tests {

    use super::*;
    use crate::record::ItemRecord;
    use crate::sink::report::Report;
    use crate::sink::report::tests::{fixture_rows, info, row, write_report};

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
}
