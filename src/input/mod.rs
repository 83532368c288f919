//! Input: this module owns turning the bytes of an item file, stdin or the
//! `:::` arguments into [`Item`]s, one at a time.
//!
//! A run opens one [`Reader`]. [`Reader::new`] picks the format's record
//! source, one file each: `lines.rs` for lines and NUL records, `json.rs`
//! for JSON lines, `csv.rs` for CSV and TSV (which read their header row up
//! front); [`Reader::from_args`] takes `:::` arguments (`args.rs`);
//! [`Reader::combined`] makes one reader of several sources, the first
//! streamed and the others held in memory, whose items are their
//! combinations (`combine.rs`). Lines,
//! NUL records and JSON lines share the record splitter in `split.rs`,
//! which also splits a record into `--colsep` columns. Every file and stdin
//! is read through the wrappers in `read.rs`: cancellable while blocked,
//! interrupted reads retried, a byte order mark dropped where the format
//! says it is markup. Each source hands back a record with its line and
//! whatever structure the format gave it; the reader numbers it (`seq`) and
//! makes it an [`Item`]. A record that cannot be parsed is a `Bad` item, not
//! an error; only a failed read is fatal, and ends the stream.
//!
//! xargs's and GNU parallel's input options each have their file:
//! `delimiter.rs` (`-d`, records ended by any byte string), `colsep.rs`
//! (the `--colsep` pattern, literal or a regex), `rules.rs` (`-E`, `-r` and
//! `trim.rs`'s `--trim`, applied by the reader to each record before it is
//! numbered; with several sources, to each source's records before they are
//! combined), and `shuffle.rs` (reading everything ahead, for `--shuf` and
//! for a total that cannot be counted ahead).
//!
//! Reading streams: the input is read in fixed-size blocks and each item is
//! handed out as soon as it is complete, so memory is bounded by the longest
//! record, never by the number of records, and an endless pipe works. For a
//! progress total, `count_records` counts a regular file's records ahead of
//! time, as the reader would see them, without building any item.
//! `detect_format` guesses a format from a file name.

mod args;
pub(crate) mod blocks;
mod colsep;
mod combine;
mod csv;
pub(crate) mod delimiter;
mod json;
mod lines;
pub(crate) mod read;
mod rules;
mod shuffle;
mod split;
#[cfg(test)]
mod test_support;
pub(crate) mod trim;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use self::args::ArgSource;
use self::combine::{CombinedSource, Held};
pub(crate) use self::combine::{Linking, Shape};
use self::csv::{CsvSource, Dialect};
use self::json::JsonLineSource;
use self::lines::LineSource;
use self::split::Terminator;
use crate::item::{ARGS_INPUT_NAME, Format, Item, ItemData};

pub(crate) use self::colsep::ColumnSplitter;
pub(crate) use self::rules::{Blanks, RecordRules, count_items};
pub(crate) use self::shuffle::Order;

/// Read block size: large blocks keep syscalls and per-read overhead negligible
/// next to the work done per item, and are still small enough to not matter.
const BLOCK_SIZE: usize = 256 * 1024;

/// A run-fatal input error. Records that do not parse are not errors: they
/// become items with [`ItemData::Bad`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Reading the input failed (the run cannot continue).
    #[error("failed to read `{name}`")]
    Io {
        /// The input, as errors name it.
        name: String,
        #[source]
        source: io::Error,
    },
    /// The input cannot be resumed from the journal as it is cut now
    /// (`--pipe` blocks cut otherwise than in the earlier run).
    #[error("{0}")]
    Refused(String),
    /// A CSV/TSV input is empty, so it has no header row to name its columns.
    #[error("`{name}` has no header row")]
    NoHeader {
        /// The input, as errors name it.
        name: String,
    },
}

/// A streaming source of items in one format; yields `Result<Item, InputError>`.
pub struct Reader {
    name: String,
    headers: Option<Vec<String>>,
    warnings: Vec<String>,
    seq: u64,
    /// `None` once exhausted, or stopped after a fatal error.
    source: Option<Box<dyn RecordSource>>,
    /// `-E`, `-r`, `--trim` (`rules.rs`).
    rules: RecordRules,
    /// The number of items, when all were read ahead (`shuffle.rs`).
    total: Option<u64>,
    /// Several sources: the held ones' lengths and how they combine.
    shape: Option<Shape>,
}

/// What a format's source hands to [`Reader::next`], before it gets its `seq`.
#[derive(Debug, Clone)]
struct Record {
    line: u64,
    raw: Vec<u8>,
    data: ItemData,
}

/// One format's records, in input order.
trait RecordSource: Send {
    /// The next record, or `None` at the end of the input. `name` is how
    /// messages in `Bad` records refer to the input. An error means bytes
    /// may have been lost: the reader reads nothing after it.
    fn next_record(&mut self, name: &str) -> Option<io::Result<Record>>;

    /// How many bytes the records hold in all, when known ahead (`--pipe`
    /// blocks of a regular file).
    fn bytes_total(&self) -> Option<u64> {
        None
    }
}

impl Reader {
    /// Reads `format` records from `read`; `name` (a path or `<stdin>`) is how
    /// errors refer to the input. CSV/TSV read their header row now.
    pub fn new(
        read: Box<dyn Read + Send>,
        name: &str,
        format: Format,
        colsep: Option<ColumnSplitter>,
    ) -> Result<Reader, InputError> {
        let name = name.to_owned();
        // Columns are a line-ish notion; CSV/TSV already have columns and JSON
        // has fields, so `--colsep` does not apply to them.
        let (source, headers): (Box<dyn RecordSource>, _) = match format {
            Format::Lines => (
                Box::new(LineSource::new(read, Terminator::Newline, colsep)),
                None,
            ),
            Format::Null => (
                Box::new(LineSource::new(read, Terminator::Nul, colsep)),
                None,
            ),
            Format::Jsonl => (Box::new(JsonLineSource::new(read)), None),
            Format::Csv | Format::Tsv => {
                let dialect = if format == Format::Csv {
                    Dialect::Csv
                } else {
                    Dialect::Tsv
                };
                let (source, headers) = CsvSource::new(read, dialect, &name)?;
                (Box::new(source), Some(headers))
            }
        };
        let warnings = headers
            .as_deref()
            .map_or_else(Vec::new, |h| csv::duplicate_warnings(&name, h));
        Ok(Reader {
            headers,
            warnings,
            ..Reader::from_source(&name, source)
        })
    }

    /// Items from `:::` arguments, one per argument, split into columns with `colsep`.
    pub fn from_args(args: Vec<OsString>, colsep: Option<ColumnSplitter>) -> Reader {
        Reader::from_source(ARGS_INPUT_NAME, Box::new(ArgSource::new(args, colsep)))
    }

    /// A reader of `source`'s records, without a header.
    fn from_source(name: &str, source: Box<dyn RecordSource>) -> Reader {
        Reader {
            name: name.to_owned(),
            headers: None,
            warnings: Vec::new(),
            seq: 0,
            source: Some(source),
            rules: RecordRules::default(),
            total: None,
            shape: None,
        }
    }

    /// How many items the reader yields, when it knows ahead: it read them
    /// all ahead, or (several sources) it read the first source ahead.
    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    /// `--header :`: the first record names the positions (its columns
    /// with `--colsep`) and is no item. A CSV/TSV input has its own header
    /// row already, so this reads nothing for it. An empty input names
    /// nothing.
    pub(crate) fn take_header(&mut self) -> Result<(), InputError> {
        if self.headers.is_some() {
            return Ok(());
        }
        let Some(source) = self.source.as_mut() else {
            return Ok(());
        };
        let names = match source.next_record(&self.name) {
            None => Vec::new(),
            Some(Ok(record)) => match &record.data {
                ItemData::Columns(columns) => columns
                    .iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect(),
                _ => vec![String::from_utf8_lossy(&record.raw).into_owned()],
            },
            Some(Err(source)) => {
                self.source = None;
                return Err(InputError::Io {
                    name: self.name.clone(),
                    source,
                });
            }
        };
        self.warnings = csv::duplicate_warnings(&self.name, &names);
        self.headers = Some(names);
        Ok(())
    }

    /// Several sources as one reader: `first` streams, each of `held` is
    /// read whole now (a read error names its source), and the items are
    /// their combinations as `linking` says (see `combine.rs`). Each
    /// source's records pass its reader's rules (`-E`, `-r`, `--trim`)
    /// before they are combined. Their names, from `--header :`, are the
    /// sources' names in order. When `first` knows its total (it was read
    /// ahead), the combined reader knows the number of combinations.
    pub(crate) fn combined(
        first: Reader,
        held: Vec<Reader>,
        linking: &Linking,
    ) -> Result<Reader, InputError> {
        let mut names = vec![first.name.clone()];
        let mut headers = first.headers.clone();
        let mut warnings = first.warnings.clone();
        let mut sources = Vec::with_capacity(held.len());
        for mut reader in held {
            let mut records = Vec::new();
            while let Some(record) = reader.next_judged() {
                records.push(record?);
            }
            if let (Some(all), Some(more)) = (headers.as_mut(), reader.headers.as_ref()) {
                all.extend(more.iter().cloned());
            }
            warnings.extend(reader.warnings);
            names.push(reader.name);
            sources.push(Held { records });
        }
        let shape = Shape {
            held: sources.iter().map(|h| h.records.len()).collect(),
            linking: linking.clone(),
        };
        let name = first.name.clone();
        let total = first.total.map(|values| shape.items(values));
        let source = CombinedSource::new(Box::new(Streamed(first)), sources, names.into(), linking);
        Ok(Reader {
            headers,
            warnings,
            total,
            shape: Some(shape),
            ..Reader::from_source(&name, Box::new(source))
        })
    }

    /// The header names: CSV/TSV columns, or with `--header :` the names of
    /// the positions (`Item::positions`), in order; `None` without a header.
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    /// Things about the input worth a warning before the run (a header
    /// that names two columns alike).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Several sources: the held sources' lengths and how they combine,
    /// to turn a count of the first source's values into the number of
    /// combinations (`Shape::items`); `None` for a single source.
    pub(crate) fn shape(&self) -> Option<Shape> {
        self.shape.clone()
    }

    /// The bytes of all the blocks, when known ahead (`--pipe` on a
    /// regular file): the progress display's total.
    pub(crate) fn bytes_total(&self) -> Option<u64> {
        self.source.as_ref().and_then(|source| source.bytes_total())
    }

    /// How errors refer to the input: a path, `<stdin>` or `:::`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("name", &self.name)
            .field("headers", &self.headers)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// The next record that passes the rules, not yet numbered: what
    /// [`Reader::next`] makes an item of, and what a source of several
    /// hands to their combination.
    fn next_judged(&mut self) -> Option<Result<Record, InputError>> {
        loop {
            let source = self.source.as_mut()?;
            let mut record = match source.next_record(&self.name) {
                Some(Ok(record)) => record,
                Some(Err(source)) => {
                    // A failed read may have lost bytes mid-record; anything read
                    // after it could be a wrong item, so the stream ends here.
                    self.source = None;
                    return Some(Err(InputError::Io {
                        name: self.name.clone(),
                        source,
                    }));
                }
                None => {
                    // Drops the input (closing files) as soon as it is exhausted.
                    self.source = None;
                    return None;
                }
            };
            match self.rules.judge(&mut record) {
                rules::Verdict::Keep => return Some(Ok(record)),
                rules::Verdict::Skip => continue,
                rules::Verdict::End => {
                    self.source = None;
                    return None;
                }
            }
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Item, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.next_judged()? {
            Ok(record) => record,
            Err(err) => return Some(Err(err)),
        };
        self.seq += 1;
        Some(Ok(Item {
            seq: self.seq,
            line: record.line,
            raw: record.raw,
            data: record.data,
            key: String::new(),
            rerun: false,
        }))
    }
}

/// The first of several sources, streamed into their combination: its
/// reader's records after its rules. The combined reader is named after
/// it, so a read error keeps its name.
struct Streamed(Reader);

impl RecordSource for Streamed {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        self.0.next_judged().map(|next| {
            next.map_err(|err| match err {
                InputError::Io { source, .. } => source,
                other => io::Error::other(other.to_string()),
            })
        })
    }
}

/// The format a file's extension implies (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`).
pub(crate) fn detect_format(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(Format::Csv),
        "tsv" | "tab" => Some(Format::Tsv),
        "jsonl" | "ndjson" => Some(Format::Jsonl),
        _ => None,
    }
}

/// How many items a [`Reader`] of `format` would yield for the same bytes
/// (the CSV/TSV header excluded), without building any of them.
pub(crate) fn count_records(read: impl Read, format: Format) -> io::Result<u64> {
    match format {
        Format::Lines => lines::count(read, Terminator::Newline),
        Format::Null => lines::count(read, Terminator::Nul),
        Format::Jsonl => json::count(read),
        Format::Csv => csv::count(read, Dialect::Csv),
        Format::Tsv => csv::count(read, Dialect::Tsv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::test_support::*;

    /// An endless input: `header` then `line` forever.
    struct Endless {
        header: Vec<u8>,
        line: Vec<u8>,
        pos: usize,
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let mut n = 0;
            while n < out.len() {
                let source = if self.pos < self.header.len() {
                    &self.header[self.pos..]
                } else {
                    let at = (self.pos - self.header.len()) % self.line.len();
                    &self.line[at..]
                };
                let k = source.len().min(out.len() - n);
                out[n..n + k].copy_from_slice(&source[..k]);
                n += k;
                self.pos += k;
            }
            Ok(n)
        }
    }

    /// Serves `data`, then panics: reading further would mean the reader
    /// wants more of the input before handing out an item.
    struct ThenPanic {
        data: Vec<u8>,
        pos: usize,
    }

    impl Read for ThenPanic {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            assert!(self.pos < self.data.len(), "read past the first chunk");
            let n = out.len().min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn detect_format_by_extension() {
        let cases = [
            ("a.csv", Some(Format::Csv)),
            ("dir.d/A.CSV", Some(Format::Csv)),
            ("a.tsv", Some(Format::Tsv)),
            ("a.Tab", Some(Format::Tsv)),
            ("a.jsonl", Some(Format::Jsonl)),
            ("a.NDJSON", Some(Format::Jsonl)),
            ("a.json", None),
            ("a.txt", None),
            ("a.csv.gz", None),
            ("csv", None),
            (".csv", None),
            ("-", None),
        ];
        for (path, format) in cases {
            assert_eq!(detect_format(Path::new(path)), format, "{path}");
        }
    }

    #[test]
    fn count_records_agrees_with_reader() {
        let long = vec![b'q'; 600 * 1024];
        let mut long_lines = long.clone();
        long_lines.extend_from_slice(b"\n \n");
        long_lines.extend_from_slice(&long);
        let cases: Vec<(Format, Vec<u8>)> = vec![
            (Format::Lines, b"".to_vec()),
            (Format::Lines, b"\n".to_vec()),
            (Format::Lines, b"a\nb\n".to_vec()),
            (Format::Lines, b"a\nb".to_vec()),
            (Format::Lines, b"a\r\n\r\n\nb\r\n".to_vec()),
            (Format::Lines, long_lines.clone()),
            (Format::Null, b"".to_vec()),
            (Format::Null, b"a\0b\0".to_vec()),
            (Format::Null, b"a\0\0b\nc".to_vec()),
            (Format::Null, b"\0".to_vec()),
            (Format::Jsonl, b"".to_vec()),
            (Format::Jsonl, b"1\n2\n".to_vec()),
            (Format::Jsonl, b"1\n2".to_vec()),
            (Format::Jsonl, b"\n1\n \t\r\n\n{bad\n2\r\n  ".to_vec()),
            (Format::Jsonl, b"\xEF\xBB\xBF\n1\n".to_vec()),
            (Format::Jsonl, b"   \n".to_vec()),
            (Format::Jsonl, long_lines),
            (Format::Csv, b"h\n".to_vec()),
            (Format::Csv, b"a,b\n1,2\n3,4".to_vec()),
            (Format::Csv, b"a,b\n1,2\n\n3\n\"x\ny\",z\n".to_vec()),
            (Format::Csv, b"\xEF\xBB\xBFa\r\n1\r\n".to_vec()),
            (Format::Tsv, b"a\tb\n1\t2\n3\t4\t5\n".to_vec()),
        ];
        for (format, input) in cases {
            let read = reader(&input, format).count() as u64;
            let shown = String::from_utf8_lossy(&input[..input.len().min(40)]).into_owned();
            assert_eq!(count(&input, format), read, "{format:?} {shown:?}");
            // Tiny reads put block boundaries everywhere.
            let counted = count_records(choppy(&input), format).unwrap();
            assert_eq!(counted, read, "choppy {format:?} {shown:?}");
        }
        // Empty CSV: no header, and nothing to count.
        assert_eq!(count(b"", Format::Csv), 0);
    }

    #[test]
    fn count_records_reports_io_errors() {
        for format in [Format::Lines, Format::Null, Format::Jsonl, Format::Csv] {
            let read = FailAfter {
                data: io::Cursor::new(b"h\n1\n".to_vec()),
            };
            let err = count_records(read, format).unwrap_err();
            assert_eq!(err.to_string(), "disk on fire", "{format:?}");
        }
    }

    #[test]
    fn io_error_mid_stream_then_none() {
        for format in [
            Format::Lines,
            Format::Null,
            Format::Jsonl,
            Format::Csv,
            Format::Tsv,
        ] {
            let read = FailAfter {
                data: io::Cursor::new(b"1\n2\n".to_vec()),
            };
            let mut reader = Reader::new(Box::new(read), "f", format, None).unwrap();
            let mut ok = 0;
            let err = loop {
                match reader.next() {
                    Some(Ok(_)) => ok += 1,
                    Some(Err(err)) => break err,
                    None => panic!("{format:?}: ended without an error"),
                }
            };
            let expected = if format.has_header() { 1 } else { 2 };
            // NUL input has one record so far ("1\n2\n" unterminated): the
            // error arrives before it is complete.
            let expected = if format == Format::Null { 0 } else { expected };
            assert_eq!(ok, expected, "{format:?}");
            assert!(matches!(&err, InputError::Io { name, .. } if name == "f"));
            assert_eq!(err.to_string(), "failed to read `f`");
            let source = std::error::Error::source(&err).unwrap();
            assert_eq!(source.to_string(), "disk on fire");
            assert!(reader.next().is_none(), "{format:?}");
            assert!(reader.next().is_none(), "{format:?}");
        }
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let cases: [(Format, &[u8], usize); 4] = [
            (Format::Lines, b"a\nb\n", 2),
            (Format::Null, b"a\0b", 2),
            (Format::Jsonl, b"\xEF\xBB\xBF1\n2\n", 2),
            (Format::Csv, b"\xEF\xBB\xBF\"h\",i\n1,2\n", 1),
        ];
        for (format, input, expected) in cases {
            let reader = Reader::new(Box::new(choppy(input)), "c", format, None).unwrap();
            let items: Vec<_> = reader.map(Result::unwrap).collect();
            assert_eq!(items.len(), expected, "{format:?}");
            assert!(items.iter().all(|i| !matches!(i.data, ItemData::Bad(_))));
        }
    }

    #[test]
    fn endless_input_streams() {
        let cases: [(Format, &[u8], &[u8]); 5] = [
            (Format::Lines, b"", b"line\n"),
            (Format::Null, b"", b"rec\0"),
            (Format::Jsonl, b"", b"{\"n\":1}\n\n"),
            (Format::Csv, b"a,b\n", b"1,2\n"),
            (Format::Tsv, b"a\tb\n", b"1\t2\n"),
        ];
        for (format, header, line) in cases {
            let read = Endless {
                header: header.to_vec(),
                line: line.to_vec(),
                pos: 0,
            };
            let reader = Reader::new(Box::new(read), "endless", format, None).unwrap();
            let items: Vec<_> = reader.take(3).map(Result::unwrap).collect();
            assert_eq!(items.len(), 3, "{format:?}");
            assert!(items.iter().all(|i| !matches!(i.data, ItemData::Bad(_))));
        }
    }

    #[test]
    fn first_item_arrives_before_the_input_ends() {
        for (format, chunk) in [
            (Format::Lines, &b"first\n"[..]),
            (Format::Null, b"first\0"),
            (Format::Jsonl, b"\"first\"\n"),
            (Format::Csv, b"h\nfirst\n"),
        ] {
            let read = ThenPanic {
                data: chunk.to_vec(),
                pos: 0,
            };
            let mut reader = Reader::new(Box::new(read), "once", format, None).unwrap();
            let item = reader.next().unwrap().unwrap();
            assert_eq!(item.seq, 1, "{format:?}");
            assert!(item.label(20).contains("first"), "{format:?}");
        }
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Reader>();
        assert_send::<InputError>();
    }
}
