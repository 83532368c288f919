//! CSV and TSV with a header row. The header names the columns (`{name}`)
//! and fixes how many fields a row has: a row with another count, or one the
//! parser rejects, becomes a `Bad` item naming its line, and reading goes
//! on. An item's `raw` is its row written back with the input's delimiter,
//! quoted only where needed. Line numbers are where a row starts, whatever
//! the line endings and however many newlines its quoted fields hold. TSV
//! follows IANA text/tab-separated-values: no quoting, no escapes.

use std::cell::Cell;
use std::io::{self, Read, Write};

use csv::ByteRecord;

use super::read::{Bom, InputRead};
use super::{BLOCK_SIZE, InputError, Record, RecordSource};
use crate::item::ItemData;

/// How long a column name may get in a warning before it is shortened.
const COLUMN_NAME_SHOWN: usize = 60;

/// Which of the two delimited formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Comma-separated, RFC 4180 quoting.
    Csv,
    /// Tab-separated: a field is every byte between tabs, `"` and `\` included.
    Tsv,
}

impl Dialect {
    fn delimiter(self) -> u8 {
        match self {
            Dialect::Csv => b',',
            Dialect::Tsv => b'\t',
        }
    }
}

pub(crate) struct CsvSource {
    reader: csv::Reader<InputRead<Box<dyn Read + Send>>>,
    /// Reused for every record.
    record: ByteRecord,
    /// Re-encodes each record into `raw`; reused, see [`EncodedRow`].
    writer: csv::Writer<EncodedRow>,
    dialect: Dialect,
    /// Number of header fields; other counts make a `Bad` item.
    fields: usize,
    /// Where the last non-I/O csv error happened, to never loop on one spot.
    last_error_at: Option<u64>,
}

impl CsvSource {
    /// Reads the header row now; `name` is how errors refer to the input.
    pub(crate) fn new(
        read: Box<dyn Read + Send>,
        dialect: Dialect,
        name: &str,
    ) -> Result<(CsvSource, Vec<String>), InputError> {
        let mut reader = csv_reader(InputRead::new(read, Bom::Skip).remembering(), dialect);
        let mut header = ByteRecord::new();
        let io_error = |source| InputError::Io {
            name: name.to_owned(),
            source,
        };
        match reader.read_byte_record(&mut header) {
            Ok(true) => {}
            Ok(false) => {
                return Err(InputError::NoHeader {
                    name: name.to_owned(),
                });
            }
            // With flexible byte records the parser has no errors of its own,
            // so this is I/O; anything else is still reported, not unwrapped.
            Err(err) => return Err(io_error(csv_io_error(err))),
        }
        let mut headers: Vec<String> = header
            .iter()
            .map(|field| String::from_utf8_lossy(field).into_owned())
            .collect();
        if let Some(first) = headers.first_mut()
            && let Some(rest) = first.strip_prefix('\u{feff}')
        {
            *first = rest.to_owned();
        }
        let source = CsvSource {
            reader,
            record: ByteRecord::new(),
            writer: csv_writer(dialect),
            dialect,
            fields: header.len(),
            last_error_at: None,
        };
        Ok((source, headers))
    }

    /// The line where the record just read starts.
    ///
    /// csv's record position is where the previous record ended, which is
    /// before any blank lines in between and, in CRLF files, before the `\n`
    /// of the previous line ending. So count back from where this record ends
    /// instead: its newlines are those inside its (quoted) fields plus its
    /// terminator, when that was a `\n` (not a lone `\r`, nor the end of input).
    fn start_line(&self) -> u64 {
        let end = self.reader.position();
        let inside: usize = self
            .record
            .iter()
            .map(|field| memchr::memchr_iter(b'\n', field).count())
            .sum();
        let terminator = end
            .byte()
            .checked_sub(1)
            .and_then(|last| self.reader.get_ref().byte_at(last))
            == Some(b'\n');
        let line = end
            .line()
            .saturating_sub(inside as u64 + u64::from(terminator));
        // Never before the previous record's end (an unclosed quote that
        // ends in a newline at the end of input could otherwise look so).
        line.max(record_line(&self.record))
    }

    /// The current record written back with the input's delimiter, quoted only
    /// where needed, without the terminator.
    fn encode(&mut self) -> Vec<u8> {
        let written = self
            .writer
            .write_byte_record(&self.record)
            .and_then(|()| Ok(self.writer.flush()?));
        let mut raw = self.writer.get_ref().take();
        if written.is_err() {
            // Cannot happen when writing to memory; if it did, the writer may
            // be mid-record, so start a fresh one and fall back to plain joining.
            self.writer = csv_writer(self.dialect);
            let delimiter = self.dialect.delimiter();
            return self.record.iter().collect::<Vec<_>>().join(&delimiter);
        }
        if raw.last() == Some(&b'\n') {
            raw.pop();
        }
        raw
    }
}

impl RecordSource for CsvSource {
    fn next_record(&mut self, name: &str) -> Option<io::Result<Record>> {
        let (line, data) = match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {
                let line = self.start_line();
                let found = self.record.len();
                if found == self.fields {
                    let fields = self.record.iter().map(<[u8]>::to_vec).collect();
                    (line, ItemData::Columns(fields))
                } else {
                    let reason = format!(
                        "`{name}` line {line}: expected {} fields, found {found}",
                        self.fields
                    );
                    (line, ItemData::Bad(reason))
                }
            }
            Err(err) => match csv_error(err, self.reader.position(), &mut self.last_error_at) {
                CsvFailure::Io(err) => return Some(Err(err)),
                CsvFailure::Bad { line, message } => {
                    return Some(Ok(Record {
                        line,
                        raw: self.encode(),
                        data: ItemData::Bad(format!("`{name}` line {line}: {message}")),
                    }));
                }
            },
        };
        Some(Ok(Record {
            line,
            raw: self.encode(),
            data,
        }))
    }
}

/// A warning for every name that heads more than one column: `{name}`
/// means the first of them (the others are still there by number).
pub(crate) fn duplicate_warnings(input: &str, headers: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (index, name) in headers.iter().enumerate() {
        if name.is_empty() || headers[..index].contains(name) {
            continue;
        }
        let numbers: Vec<String> = headers
            .iter()
            .enumerate()
            .filter(|(_, header)| *header == name)
            .map(|(column, _)| (column + 1).to_string())
            .collect();
        if numbers.len() > 1 {
            let label = crate::item::escaped(name.as_bytes(), COLUMN_NAME_SHOWN);
            warnings.push(format!(
                "`{input}` has {} columns named `{label}` (columns {}): `{{{label}}}` is column {}; \
                 use the number for the others",
                numbers.len(),
                numbers.join(", "),
                numbers[0],
            ));
        }
    }
    warnings
}

/// Where a csv record starts (1-based line).
fn record_line(record: &ByteRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

/// How a csv error is handled by both the reader and [`count`].
enum CsvFailure {
    /// Fatal: the input cannot be read.
    Io(io::Error),
    /// A parse error: the record becomes a `Bad` item and reading continues.
    Bad { line: u64, message: String },
}

fn csv_error(err: csv::Error, at: &csv::Position, last_error_at: &mut Option<u64>) -> CsvFailure {
    if err.is_io_error() {
        return CsvFailure::Io(csv_io_error(err));
    }
    if *last_error_at == Some(at.byte()) {
        // A second parse error without progress would repeat forever; stop,
        // loudly rather than by silently dropping the rest of the input.
        let stuck = format!("CSV parsing stopped at line {}: {err}", at.line());
        return CsvFailure::Io(io::Error::new(io::ErrorKind::InvalidData, stuck));
    }
    *last_error_at = Some(at.byte());
    let line = err.position().unwrap_or(at).line();
    CsvFailure::Bad {
        line,
        message: err.to_string(),
    }
}

fn csv_io_error(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(err) => err,
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
    }
}

fn csv_reader<R: Read>(read: R, dialect: Dialect) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter())
        .quoting(dialect == Dialect::Csv)
        // The header is read by hand so that it is bytes like every row, and
        // so an empty input is told apart from a header-only one.
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(BLOCK_SIZE)
        .from_reader(read)
}

fn csv_writer(dialect: Dialect) -> csv::Writer<EncodedRow> {
    // A TSV record is written back as it was read: its fields joined by tabs.
    let quote_style = match dialect {
        Dialect::Csv => csv::QuoteStyle::Necessary,
        Dialect::Tsv => csv::QuoteStyle::Never,
    };
    csv::WriterBuilder::new()
        .delimiter(dialect.delimiter())
        .quote_style(quote_style)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(EncodedRow::default())
}

/// The csv writer's output buffer. `csv::Writer` only lends out `&W`, so the
/// bytes sit in a `Cell` to be taken through a shared reference: each item's
/// `raw` is then the one allocation per record, with no writer rebuilt.
#[derive(Default)]
struct EncodedRow(Cell<Vec<u8>>);

impl EncodedRow {
    fn take(&self) -> Vec<u8> {
        self.0.take()
    }
}

impl Write for EncodedRow {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Records after the header, bad ones included.
pub(crate) fn count(read: impl Read, dialect: Dialect) -> io::Result<u64> {
    let mut reader = csv_reader(InputRead::new(read, Bom::Skip), dialect);
    let mut record = ByteRecord::new();
    let mut count: u64 = 0;
    let mut last_error_at = None;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => count += 1,
            Ok(false) => break,
            Err(err) => match csv_error(err, reader.position(), &mut last_error_at) {
                CsvFailure::Io(err) => return Err(err),
                CsvFailure::Bad { .. } => count += 1,
            },
        }
    }
    Ok(count.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use std::io;

    use crate::input::test_support::*;
    use crate::input::{InputError, Reader};
    use crate::item::{Format, ItemData};

    #[test]
    fn csv_ordinary() {
        let mut reader = reader(b"name,size\na,1\nb,2\n", Format::Csv);
        assert_eq!(reader.headers().unwrap(), ["name", "size"]);
        let items: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].seq, 1);
        assert_eq!(items[0].raw, b"a,1");
        assert_eq!(items[0].data, column_data(&["a", "1"]));
        assert_eq!(lines_of(&items), [2, 3]);
        assert!(reader.next().is_none());
    }

    #[test]
    fn csv_crlf_no_final_newline_blank_lines() {
        let items = items(b"h1,h2\r\na,1\r\n\r\n\r\nb,2", Format::Csv);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].data, column_data(&["a", "1"]));
        assert_eq!(items[1].data, column_data(&["b", "2"]));
        assert_eq!(items[1].raw, b"b,2");
        assert_eq!(lines_of(&items), [2, 5]);
    }

    #[test]
    fn csv_quoted_fields() {
        let input = b"id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,plain\n";
        let items = items(input, Format::Csv);
        assert_eq!(items[0].data, column_data(&["1", "a, b"]));
        assert_eq!(items[0].raw, b"1,\"a, b\"");
        assert_eq!(items[1].data, column_data(&["2", "say \"hi\""]));
        assert_eq!(items[1].raw, b"2,\"say \"\"hi\"\"\"");
        assert_eq!(items[2].data, column_data(&["3", "two\nlines"]));
        assert_eq!(items[2].raw, b"3,\"two\nlines\"");
        // Quotes that were not needed are not kept.
        assert_eq!(items[3].raw, b"4,plain");
        assert_eq!(lines_of(&items), [2, 3, 4, 6]);
        let items = items_named(b"h\n\"x\"\n\"\"\n", Format::Csv, "q.csv");
        assert_eq!(items[0].raw, b"x");
        assert_eq!(items[1].raw, b"\"\"");
        assert_eq!(items[1].data, column_data(&[""]));
    }

    #[test]
    fn csv_line_numbers_with_any_line_ending() {
        // Records with blank lines before them, newlines inside quotes and
        // each kind of terminator; `line` must be where each one starts.
        let mut input = b"h1,h2".to_vec();
        let mut expected = Vec::new();
        let endings: [&[u8]; 3] = [b"\n", b"\r\n", b"\r"];
        for n in 0..300 {
            input.extend_from_slice(endings[n % 3]);
            for _ in 0..n % 4 {
                input.extend_from_slice(endings[(n / 3) % 3]);
            }
            let start = 1 + memchr::memchr_iter(b'\n', &input).count() as u64;
            // A lone `\r` ends a record but not a line.
            expected.push(start);
            let record = match n % 5 {
                0 => format!("{n},\"multi\nline\r\nfield\""),
                1 => format!("{n},\"\n\""),
                2 => format!("{n},{}", "w".repeat(n * 100)),
                3 => format!("{n}"),
                _ => format!("\"{n}\",plain"),
            };
            input.extend_from_slice(record.as_bytes());
        }
        let from_cursor = items(&input, Format::Csv);
        assert_eq!(lines_of(&from_cursor), expected);
        let reader = Reader::new(Box::new(choppy(&input)), "in.txt", Format::Csv, None).unwrap();
        let from_choppy: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(lines_of(&from_choppy), expected);
        assert!(from_choppy == from_cursor, "choppy reads changed the items");
        assert_eq!(count(&input, Format::Csv), 300);
        let ItemData::Bad(reason) = &from_cursor[3].data else {
            panic!("not bad: {:?}", from_cursor[3]);
        };
        let line = from_cursor[3].line;
        assert_eq!(
            reason,
            &format!("`in.txt` line {line}: expected 2 fields, found 1")
        );
    }

    #[test]
    fn csv_wrong_field_count_is_a_bad_item() {
        let input = b"a,b\n1,2\n3\n4,5,6\n\"x\ny\",z,w\n7,8\n";
        let items = items_named(input, Format::Csv, "data.csv");
        assert_eq!(items.len(), 5);
        assert_eq!(
            items[1].data,
            ItemData::Bad("`data.csv` line 3: expected 2 fields, found 1".into())
        );
        assert_eq!(items[1].raw, b"3");
        assert_eq!(
            items[2].data,
            ItemData::Bad("`data.csv` line 4: expected 2 fields, found 3".into())
        );
        assert_eq!(
            items[3].data,
            ItemData::Bad("`data.csv` line 5: expected 2 fields, found 3".into())
        );
        assert_eq!(items[4].data, column_data(&["7", "8"]));
        assert_eq!(
            items.iter().map(|i| i.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(lines_of(&items), [2, 3, 4, 5, 7]);
    }

    #[test]
    fn csv_empty_input_has_no_header() {
        for input in [&b""[..], b"\n\n", b"\r\n"] {
            let err = Reader::new(Box::new(input), "e.csv", Format::Csv, None).unwrap_err();
            assert!(matches!(&err, InputError::NoHeader { name } if name == "e.csv"));
            assert_eq!(err.to_string(), "`e.csv` has no header row");
        }
        let mut header_only = reader(b"a,b\n", Format::Csv);
        assert_eq!(header_only.headers().unwrap(), ["a", "b"]);
        assert!(header_only.next().is_none());
    }

    #[test]
    fn io_error_reading_the_header() {
        let read = FailAfter {
            data: io::Cursor::new(b"a,b".to_vec()),
        };
        let err = Reader::new(Box::new(read), "h.csv", Format::Csv, None).unwrap_err();
        assert!(matches!(err, InputError::Io { .. }));
    }

    #[test]
    fn csv_invalid_utf8() {
        let mut reader = reader(b"n\xff,b\n\xfe,\xc3(\n", Format::Csv);
        assert_eq!(reader.headers().unwrap(), ["n\u{fffd}", "b"]);
        let item = reader.next().unwrap().unwrap();
        assert_eq!(item.raw, b"\xfe,\xc3(");
        assert_eq!(
            item.data,
            ItemData::Columns(vec![b"\xfe".to_vec(), b"\xc3(".to_vec()])
        );
    }

    #[test]
    fn csv_bom_in_header() {
        let mut reader = reader(b"\xEF\xBB\xBF\"name\",size\na,1\n", Format::Csv);
        assert_eq!(reader.headers().unwrap(), ["name", "size"]);
        assert_eq!(
            reader.next().unwrap().unwrap().data,
            column_data(&["a", "1"])
        );
        let reader = self::reader(b"\xEF\xBB\xBFid\tx\n", Format::Tsv);
        assert_eq!(reader.headers().unwrap(), ["id", "x"]);
        // A BOM alone is an empty input.
        let err = Reader::new(Box::new(&b"\xEF\xBB\xBF"[..]), "b", Format::Csv, None);
        assert!(matches!(err, Err(InputError::NoHeader { .. })));
    }

    #[test]
    fn csv_ten_megabyte_field() {
        let long = "y".repeat(10 * 1024 * 1024);
        let input = format!("a,b\n1,\"{long}\"\n2,{long}\n3,z\n");
        let items = items(input.as_bytes(), Format::Csv);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].data, column_data(&["1", &long]));
        assert_eq!(items[1].raw, format!("2,{long}").as_bytes());
        assert_eq!(items[2].data, column_data(&["3", "z"]));
    }

    #[test]
    fn csv_colsep_is_ignored() {
        let items: Vec<_> = reader_sep(b"a,b\n1,2\n", Format::Csv, Some(b","))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, column_data(&["1", "2"]));
    }

    #[test]
    fn tsv() {
        let input = b"name\tnote\r\nx\ta,b \"q\"\r\ny\t\"big\" screen\r\nz\n";
        let reader = self::reader(input, Format::Tsv);
        assert_eq!(reader.headers().unwrap(), ["name", "note"]);
        let items: Vec<_> = reader.map(Result::unwrap).collect();
        // Fields are literal (IANA TSV): quotes are ordinary bytes, and the
        // raw item is the line as it was.
        assert_eq!(items[0].data, column_data(&["x", "a,b \"q\""]));
        assert_eq!(items[0].raw, b"x\ta,b \"q\"");
        assert_eq!(items[1].data, column_data(&["y", "\"big\" screen"]));
        assert_eq!(items[1].raw, b"y\t\"big\" screen");
        assert_eq!(
            items[2].data,
            ItemData::Bad("`in.txt` line 4: expected 2 fields, found 1".into())
        );
        assert_eq!(lines_of(&items), [2, 3, 4]);
    }

    #[test]
    fn duplicate_header_names_warn() {
        let reader = self::reader(b"id,x,id,,,id\n1,2,3,4,5,6\n", Format::Csv);
        assert_eq!(
            reader.warnings(),
            [
                "`in.txt` has 3 columns named `id` (columns 1, 3, 6): `{id}` is column 1; \
              use the number for the others"
            ]
        );
        assert!(self::reader(b"a,b\n", Format::Csv).warnings().is_empty());
    }

    #[test]
    fn tsv_unterminated_quote_swallows_nothing() {
        let input = b"a\tb\n\"open\t1\nnext\t2\nlast\t\\t3\n";
        let items: Vec<_> = items(input, Format::Tsv);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].data, column_data(&["\"open", "1"]));
        assert_eq!(items[1].data, column_data(&["next", "2"]));
        // No escapes either: a backslash is a backslash.
        assert_eq!(items[2].data, column_data(&["last", "\\t3"]));
        assert_eq!(lines_of(&items), [2, 3, 4]);
        assert_eq!(count(input, Format::Tsv), 3);
    }
}
