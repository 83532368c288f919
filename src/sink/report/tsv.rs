//! `.tsv` reports: the CSV report's header and rows with a tab between
//! fields (GNU parallel's `--results FILE.tsv` names it; any field holding
//! a tab, a quote or a newline is quoted as in CSV, so every row stays one
//! record).

use std::fs::File;

use crate::sink::report::FormatError;
use crate::sink::report::csv::Csv;

/// A TSV report: [`Csv`] with tabs.
pub(crate) fn tsv(out: File) -> Result<Csv, FormatError> {
    Csv::with_delimiter(out, b'\t')
}

#[cfg(test)]
mod tests {
    use crate::record::ItemRecord;
    use crate::sink::report::csv::CSV_HEADER;
    use crate::sink::report::tests::{fixture_rows, info, row, write_report};

    #[test]
    fn tsv_has_the_csv_columns_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tsv");
        let mut rows = fixture_rows();
        rows.push(ItemRecord {
            item: "tab\there \"q\"\nline".to_owned(),
            ..row(7, "", "ok")
        });
        write_report(&path, &rows, &info(7));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next().unwrap(), CSV_HEADER.join("\t"));
        assert!(text.contains("1\talpha\tk1\tok\t0\t"), "{text}");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .from_path(&path)
            .unwrap();
        let back: Vec<ItemRecord> = reader.deserialize().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, rows);
    }
}
