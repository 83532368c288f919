//! Input readers: this module owns turning the bytes of an item file, stdin or
//! the `:::` arguments into [`Item`]s, one at a time. It knows the five input
//! formats (lines, NUL records, CSV, TSV, JSON lines), their header rows, byte
//! order marks, CRLF endings and `--colsep` splitting, and it reports a record
//! that cannot be parsed as a `Bad` item rather than an error. Memory is
//! bounded by the longest record, never by the number of records: the input is
//! read in fixed-size blocks and each item is handed out as soon as it is
//! complete. It also counts records ahead of time for a progress total
//! ([`count_records`]) and guesses a format from a file name ([`detect_format`]).

use std::cell::Cell;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use csv::ByteRecord;
use memchr::memmem::Finder;

use crate::item::{Format, Item, ItemData};

/// Read block size: large blocks keep syscalls and per-read overhead negligible
/// next to the work done per item, and are still small enough to not matter.
const BLOCK: usize = 256 * 1024;

/// The UTF-8 byte order mark some tools (Excel, PowerShell) put in front of
/// CSV and JSON files; it is not part of the first field or value.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A run-fatal input error. Records that do not parse are not errors: they
/// become items with [`ItemData::Bad`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Reading the input failed (the run cannot continue).
    #[error("failed to read `{name}`")]
    Io {
        /// The input, as errors name it.
        name: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
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
    colsep: Option<Finder<'static>>,
    seq: u64,
    source: Source,
}

/// What a source hands to [`Reader::next`], before it gets its `seq`.
struct Record {
    line: u64,
    raw: Vec<u8>,
    data: ItemData,
}

enum Source {
    /// Lines, NUL records and JSON lines: all are "split on one byte".
    Split(Box<SplitSource>),
    Csv(Box<CsvSource>),
    Args {
        args: std::vec::IntoIter<OsString>,
        position: u64,
    },
    /// Exhausted, or stopped after a fatal error.
    Done,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SplitKind {
    Lines,
    Null,
    Jsonl,
}

struct SplitSource {
    read: BufReader<InputRead<Box<dyn Read + Send>>>,
    kind: SplitKind,
    /// Reused for every record so that reading allocates only the item's Vec.
    buf: Vec<u8>,
    /// Records (null) or lines (lines, jsonl, blank ones included) read so far.
    line: u64,
}

struct CsvSource {
    reader: csv::Reader<InputRead<Box<dyn Read + Send>>>,
    /// Reused for every record.
    record: ByteRecord,
    /// Re-encodes each record into `raw`; reused, see [`Sink`].
    writer: csv::Writer<Sink>,
    delimiter: u8,
    /// Number of header fields; other counts make a `Bad` item.
    fields: usize,
    /// Where the last non-I/O csv error happened, to never loop on one spot.
    last_error_at: Option<u64>,
}

impl Reader {
    /// Reads `format` records from `read`; `name` (a path or `<stdin>`) is how
    /// errors refer to the input. CSV/TSV read their header row now.
    pub fn new(
        read: Box<dyn Read + Send>,
        name: &str,
        format: Format,
        colsep: Option<Vec<u8>>,
    ) -> Result<Reader, InputError> {
        let name = name.to_owned();
        let (source, headers) = match format {
            Format::Lines => (SplitSource::source(read, SplitKind::Lines), None),
            Format::Null => (SplitSource::source(read, SplitKind::Null), None),
            Format::Jsonl => (SplitSource::source(read, SplitKind::Jsonl), None),
            Format::Csv | Format::Tsv => {
                let delimiter = if format == Format::Csv { b',' } else { b'\t' };
                let (source, headers) = CsvSource::new(read, delimiter, &name)?;
                (Source::Csv(Box::new(source)), Some(headers))
            }
        };
        // Columns are a line-ish notion; CSV/TSV already have columns and JSON
        // has fields, so `--colsep` does not apply to them.
        let colsep = match format {
            Format::Lines | Format::Null => colsep.map(|sep| Finder::new(&sep).into_owned()),
            _ => None,
        };
        let warnings = headers
            .as_deref()
            .map_or_else(Vec::new, |h| duplicates(&name, h));
        Ok(Reader {
            name,
            headers,
            warnings,
            colsep,
            seq: 0,
            source,
        })
    }

    /// Items from `:::` arguments, one per argument, split into columns with `colsep`.
    pub fn from_args(args: Vec<OsString>, colsep: Option<Vec<u8>>) -> Reader {
        Reader {
            name: ":::".to_owned(),
            headers: None,
            warnings: Vec::new(),
            colsep: colsep.map(|sep| Finder::new(&sep).into_owned()),
            seq: 0,
            source: Source::Args {
                args: args.into_iter(),
                position: 0,
            },
        }
    }

    /// The CSV/TSV header names, or `None` for formats without a header.
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    /// Things about the input worth a warning before the run (a header
    /// that names two columns alike).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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

impl Iterator for Reader {
    type Item = Result<Item, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reader {
            name,
            colsep,
            source,
            ..
        } = self;
        let next = match source {
            Source::Split(split) => split.next(name, colsep.as_ref()),
            Source::Csv(csv) => csv.next(name),
            Source::Args { args, position } => args.next().map(|arg| {
                *position += 1;
                let raw = os_bytes(arg);
                Ok(Record {
                    line: *position,
                    data: columns(&raw, colsep.as_ref()),
                    raw,
                })
            }),
            Source::Done => None,
        };
        match next {
            Some(Ok(record)) => {
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
            Some(Err(source)) => {
                // A failed read may have lost bytes mid-record; anything read
                // after it could be a wrong item, so the stream ends here.
                self.source = Source::Done;
                Some(Err(InputError::Io {
                    name: self.name.clone(),
                    source,
                }))
            }
            None => {
                // Drops the input (closing files) as soon as it is exhausted.
                self.source = Source::Done;
                None
            }
        }
    }
}

impl SplitSource {
    fn source(read: Box<dyn Read + Send>, kind: SplitKind) -> Source {
        // A BOM is markup only for formats with a parsed structure; lines and
        // NUL records are bytes that pass through intact.
        let skip_bom = kind == SplitKind::Jsonl;
        Source::Split(Box::new(SplitSource {
            read: BufReader::with_capacity(BLOCK, InputRead::new(read, skip_bom)),
            kind,
            buf: Vec::new(),
            line: 0,
        }))
    }

    fn next(&mut self, name: &str, colsep: Option<&Finder<'_>>) -> Option<io::Result<Record>> {
        let sep = if self.kind == SplitKind::Null {
            0
        } else {
            b'\n'
        };
        loop {
            self.buf.clear();
            // One huge line should not pin its buffer for the rest of the run.
            self.buf.shrink_to(BLOCK);
            match self.read.read_until(sep, &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(err) => return Some(Err(err)),
            }
            self.line += 1;
            let mut record = self.buf.as_slice();
            if let Some(rest) = record.strip_suffix(&[sep]) {
                record = rest;
            }
            if self.kind != SplitKind::Null {
                // CRLF files: the `\r` belongs to the line ending, not the item.
                if let Some(rest) = record.strip_suffix(b"\r") {
                    record = rest;
                }
            }
            let data = match self.kind {
                SplitKind::Lines | SplitKind::Null => columns(record, colsep),
                SplitKind::Jsonl if is_blank(record) => continue,
                SplitKind::Jsonl => match serde_json::from_slice(record) {
                    Ok(value) => ItemData::Json(value),
                    Err(err) => {
                        ItemData::Bad(format!("`{name}` line {}: invalid JSON: {err}", self.line))
                    }
                },
            };
            return Some(Ok(Record {
                line: self.line,
                raw: record.to_vec(),
                data,
            }));
        }
    }
}

impl CsvSource {
    fn new(
        read: Box<dyn Read + Send>,
        delimiter: u8,
        name: &str,
    ) -> Result<(CsvSource, Vec<String>), InputError> {
        let mut reader = csv_reader(InputRead::new(read, true).remembering(), delimiter);
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
            writer: csv_writer(delimiter),
            delimiter,
            fields: header.len(),
            last_error_at: None,
        };
        Ok((source, headers))
    }

    fn next(&mut self, name: &str) -> Option<io::Result<Record>> {
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
            self.writer = csv_writer(self.delimiter);
            return self.record.iter().collect::<Vec<_>>().join(&self.delimiter);
        }
        if raw.last() == Some(&b'\n') {
            raw.pop();
        }
        raw
    }
}

/// Where an item is, for messages: "`FILE` line N", or "`:::` item N".
pub fn place(input: &str, line: u64) -> String {
    if input == ":::" {
        format!("`:::` item {line}")
    } else {
        format!("`{input}` line {line}")
    }
}

/// A warning for every name that heads more than one column: `{name}`
/// means the first of them (the others are still there by number).
fn duplicates(input: &str, headers: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        if name.is_empty() || headers[..i].contains(name) {
            continue;
        }
        let same: Vec<String> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| *h == name)
            .map(|(j, _)| (j + 1).to_string())
            .collect();
        if same.len() > 1 {
            let label = crate::item::escaped(name.as_bytes(), 60);
            warnings.push(format!(
                "`{input}` has {} columns named `{label}` (columns {}): `{{{label}}}` is column {}; \
                 use the number for the others",
                same.len(),
                same.join(", "),
                same[0],
            ));
        }
    }
    warnings
}

/// Where a csv record starts (1-based line).
fn record_line(record: &ByteRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

/// How a csv error is handled by both the reader and [`count_records`].
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

/// TSV (IANA text/tab-separated-values) has no quoting and no escapes: a
/// field is every byte between tabs, `"` and `\` included.
fn is_tsv(delimiter: u8) -> bool {
    delimiter == b'\t'
}

fn csv_reader<R: Read>(read: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(!is_tsv(delimiter))
        // The header is read by hand so that it is bytes like every row, and
        // so an empty input is told apart from a header-only one.
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(BLOCK)
        .from_reader(read)
}

fn csv_writer(delimiter: u8) -> csv::Writer<Sink> {
    // A TSV record is written back as it was read: its fields joined by tabs.
    let quote_style = if is_tsv(delimiter) {
        csv::QuoteStyle::Never
    } else {
        csv::QuoteStyle::Necessary
    };
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote_style(quote_style)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Sink::default())
}

/// The csv writer's output buffer. `csv::Writer` only lends out `&W`, so the
/// bytes sit in a `Cell` to be taken through a shared reference: each item's
/// `raw` is then the one allocation per record, with no writer rebuilt.
#[derive(Default)]
struct Sink(Cell<Vec<u8>>);

impl Sink {
    fn take(&self) -> Vec<u8> {
        self.0.take()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The input as every format reads it: `Interrupted` reads are retried (a
/// signal arriving during a read must not end the run; `BufReader::fill_buf`,
/// which csv uses, would pass it on), and an optional leading UTF-8 BOM is
/// dropped before any parser sees it (so a quoted first CSV field still parses).
struct InputRead<R> {
    inner: R,
    /// Still to decide whether the input starts with a BOM.
    bom_pending: bool,
    /// Bytes read while deciding, served before anything else.
    prefix: [u8; 3],
    prefix_len: usize,
    prefix_pos: usize,
    /// Bytes handed out so far.
    handed: u64,
    /// A copy of the last non-empty chunk handed out, when `remember` is set,
    /// and its offset: see [`InputRead::byte_at`].
    remember: bool,
    last: Vec<u8>,
    last_start: u64,
}

impl<R: Read> InputRead<R> {
    fn new(inner: R, skip_bom: bool) -> Self {
        InputRead {
            inner,
            bom_pending: skip_bom,
            prefix: [0; 3],
            prefix_len: 0,
            prefix_pos: 0,
            handed: 0,
            remember: false,
            last: Vec::new(),
            last_start: 0,
        }
    }

    /// Also keeps the last chunk, so that [`InputRead::byte_at`] works.
    fn remembering(mut self) -> Self {
        self.remember = true;
        self
    }

    /// The byte at `offset` (counted after the BOM), if it is in the last
    /// chunk handed out. The csv reader consumes its buffer before refilling
    /// it, so the last byte it consumed is always in that chunk.
    fn byte_at(&self, offset: u64) -> Option<u8> {
        let index = usize::try_from(offset.checked_sub(self.last_start)?).ok()?;
        self.last.get(index).copied()
    }

    fn read_retrying(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(out) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }

    fn read_unbom(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Read only while what came so far could still be a BOM, so that an
        // input that does not start with one is never held back waiting.
        while self.bom_pending {
            let so_far = &self.prefix[..self.prefix_len];
            if so_far == BOM {
                self.prefix_len = 0;
                self.bom_pending = false;
            } else if !BOM.starts_with(so_far) {
                self.bom_pending = false;
            } else {
                let mut prefix = self.prefix;
                let n = self.read_retrying(&mut prefix[self.prefix_len..])?;
                self.prefix = prefix;
                if n == 0 {
                    self.bom_pending = false;
                }
                // `min`: a Read that claims more than it was given must not
                // make this index out of bounds.
                self.prefix_len = (self.prefix_len + n).min(self.prefix.len());
            }
        }
        if self.prefix_pos < self.prefix_len {
            let pending = &self.prefix[self.prefix_pos..self.prefix_len];
            let n = pending.len().min(out.len());
            out[..n].copy_from_slice(&pending[..n]);
            self.prefix_pos += n;
            return Ok(n);
        }
        self.read_retrying(out)
    }
}

impl<R: Read> Read for InputRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.read_unbom(out)?;
        if n > 0 && self.remember {
            self.last.clear();
            self.last.extend_from_slice(out.get(..n).unwrap_or(out));
            self.last_start = self.handed;
        }
        self.handed += n as u64;
        Ok(n)
    }
}

/// Whether a JSON line holds nothing but JSON whitespace (such lines are skipped).
fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// `raw` split on the literal `--colsep` bytes, or `Plain` without one. An
/// empty separator splits nothing: the record is a single column.
fn columns(raw: &[u8], colsep: Option<&Finder<'_>>) -> ItemData {
    let Some(finder) = colsep else {
        return ItemData::Plain;
    };
    let width = finder.needle().len();
    if width == 0 {
        return ItemData::Columns(vec![raw.to_vec()]);
    }
    let mut fields = Vec::new();
    let mut start = 0;
    for at in finder.find_iter(raw) {
        fields.push(raw[start..at].to_vec());
        start = at + width;
    }
    fields.push(raw[start..].to_vec());
    ItemData::Columns(fields)
}

/// An argument's bytes: exact on Unix, lossy UTF-8 elsewhere.
fn os_bytes(arg: OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::into_vec(arg)
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

/// The format a file's extension implies (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`).
pub fn detect_format(path: &Path) -> Option<Format> {
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
pub fn count_records(read: impl Read, format: Format) -> io::Result<u64> {
    match format {
        Format::Lines => count_terminated(InputRead::new(read, false), b'\n'),
        Format::Null => count_terminated(InputRead::new(read, false), 0),
        Format::Jsonl => count_jsonl(InputRead::new(read, true)),
        Format::Csv => count_csv(InputRead::new(read, true), b','),
        Format::Tsv => count_csv(InputRead::new(read, true), b'\t'),
    }
}

/// Records ended by `sep`, plus a last one without it.
fn count_terminated(mut read: impl Read, sep: u8) -> io::Result<u64> {
    let mut block = vec![0; BLOCK];
    let mut count = 0;
    let mut last = None;
    loop {
        let n = read.read(&mut block)?;
        if n == 0 {
            break;
        }
        count += memchr::memchr_iter(sep, &block[..n]).count() as u64;
        last = block[..n].last().copied();
    }
    if last.is_some_and(|byte| byte != sep) {
        count += 1;
    }
    Ok(count)
}

/// Lines that are not blank, as the reader sees them.
fn count_jsonl(mut read: impl Read) -> io::Result<u64> {
    let mut block = vec![0; BLOCK];
    let mut count = 0;
    // Whether the line in progress (it may span blocks) has a non-blank byte.
    let mut content = false;
    loop {
        let n = read.read(&mut block)?;
        if n == 0 {
            break;
        }
        let block = &block[..n];
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', block) {
            // `is_blank` stops at the first non-blank byte: for JSON lines
            // that is the first, so this costs little beyond the memchr.
            if content || !is_blank(&block[start..end]) {
                count += 1;
            }
            content = false;
            start = end + 1;
        }
        content = content || !is_blank(&block[start..]);
    }
    if content {
        count += 1;
    }
    Ok(count)
}

/// Records after the header, bad ones included.
fn count_csv(read: impl Read, delimiter: u8) -> io::Result<u64> {
    let mut reader = csv_reader(read, delimiter);
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
    use super::*;

    fn reader(bytes: &[u8], format: Format) -> Reader {
        reader_sep(bytes, format, None)
    }

    fn reader_sep(bytes: &[u8], format: Format, colsep: Option<&[u8]>) -> Reader {
        Reader::new(
            Box::new(io::Cursor::new(bytes.to_vec())),
            "in.txt",
            format,
            colsep.map(<[u8]>::to_vec),
        )
        .unwrap()
    }

    fn items(bytes: &[u8], format: Format) -> Vec<Item> {
        reader(bytes, format).map(Result::unwrap).collect()
    }

    fn raws(bytes: &[u8], format: Format) -> Vec<Vec<u8>> {
        items(bytes, format)
            .into_iter()
            .map(|item| item.raw)
            .collect()
    }

    fn lines_of(items: &[Item]) -> Vec<u64> {
        items.iter().map(|item| item.line).collect()
    }

    fn count(bytes: &[u8], format: Format) -> u64 {
        count_records(bytes, format).unwrap()
    }

    fn cols(fields: &[&str]) -> ItemData {
        ItemData::Columns(fields.iter().map(|f| f.as_bytes().to_vec()).collect())
    }

    fn v(strs: &[&str]) -> Vec<Vec<u8>> {
        strs.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Serves `data`, then fails every later read.
    struct FailAfter {
        data: io::Cursor<Vec<u8>>,
    }

    impl Read for FailAfter {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.data.read(out)? {
                0 => Err(io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    /// Serves `data` one byte at a time, with an `Interrupted` before each.
    struct Choppy {
        data: Vec<u8>,
        pos: usize,
        interrupt: bool,
    }

    impl Read for Choppy {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.pos == self.data.len() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.data[self.pos];
            self.pos += 1;
            Ok(1)
        }
    }

    fn choppy(data: &[u8]) -> Choppy {
        Choppy {
            data: data.to_vec(),
            pos: 0,
            interrupt: false,
        }
    }

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

    // ---- lines ----

    #[test]
    fn lines_ordinary() {
        let items = items(b"a\nb b\nc\n", Format::Lines);
        assert_eq!(items.len(), 3);
        assert_eq!(items[1], Item::plain(2, "b b"));
        assert_eq!(lines_of(&items), [1, 2, 3]);
        assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn lines_crlf_and_no_final_newline() {
        assert_eq!(raws(b"a\r\nb\r\nc", Format::Lines), v(&["a", "b", "c"]));
        // Only the `\r` of the line ending goes; others are content.
        assert_eq!(raws(b"a\rb\r\r\n", Format::Lines), v(&["a\rb\r"]));
    }

    #[test]
    fn lines_empty_input_and_empty_lines() {
        assert!(items(b"", Format::Lines).is_empty());
        assert_eq!(raws(b"\n", Format::Lines), v(&[""]));
        assert_eq!(raws(b"a\n\n\nb\n", Format::Lines), v(&["a", "", "", "b"]));
        assert_eq!(raws(b"a\r\n\r\nb", Format::Lines), v(&["a", "", "b"]));
        let items = items(b"a\n\nb\n", Format::Lines);
        assert_eq!(lines_of(&items), [1, 2, 3]);
    }

    #[test]
    fn lines_invalid_utf8_passes_through() {
        assert_eq!(
            raws(b"\xff\xfe\n\xc3(\n", Format::Lines),
            [b"\xff\xfe".to_vec(), b"\xc3(".to_vec()]
        );
    }

    #[test]
    fn lines_keep_a_bom() {
        assert_eq!(
            raws(b"\xEF\xBB\xBFa\n", Format::Lines),
            [b"\xEF\xBB\xBFa".to_vec()]
        );
    }

    #[test]
    fn lines_ten_megabyte_line() {
        let long = vec![b'x'; 10 * 1024 * 1024];
        let mut input = long.clone();
        input.extend_from_slice(b"\r\nshort\n");
        input.extend_from_slice(&long);
        let raws = raws(&input, Format::Lines);
        assert_eq!(raws.len(), 3);
        assert!(raws[0] == long && raws[2] == long);
        assert_eq!(raws[1], b"short");
    }

    #[test]
    fn lines_colsep() {
        let items: Vec<_> = reader_sep(b"a::b::\nc\n\n", Format::Lines, Some(b"::"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].raw, b"a::b::");
        assert_eq!(items[0].data, cols(&["a", "b", ""]));
        assert_eq!(items[1].data, cols(&["c"]));
        assert_eq!(items[2].data, cols(&[""]));
        let items: Vec<_> = reader_sep(b"a:::b\n", Format::Lines, Some(b"::"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, cols(&["a", ":b"]));
        let items: Vec<_> = reader_sep(b"a,b\n", Format::Lines, Some(b""))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, cols(&["a,b"]));
    }

    // ---- null ----

    #[test]
    fn null_records() {
        let items = items(b"a\nb\0c\r\n\0\0d", Format::Null);
        assert_eq!(
            items.iter().map(|i| i.raw.clone()).collect::<Vec<_>>(),
            v(&["a\nb", "c\r\n", "", "d"])
        );
        assert_eq!(lines_of(&items), [1, 2, 3, 4]);
        assert!(items.iter().all(|i| i.data == ItemData::Plain));
    }

    #[test]
    fn null_trailing_terminator_and_empty_input() {
        assert_eq!(raws(b"a\0b\0", Format::Null), v(&["a", "b"]));
        assert_eq!(raws(b"\0", Format::Null), v(&[""]));
        assert!(items(b"", Format::Null).is_empty());
    }

    #[test]
    fn null_invalid_utf8_long_record_and_colsep() {
        let long = vec![b'\n'; 10 * 1024 * 1024];
        let mut input = b"\xff\0".to_vec();
        input.extend_from_slice(&long);
        let raws = raws(&input, Format::Null);
        assert_eq!(raws, [b"\xff".to_vec(), long]);
        let items: Vec<_> = reader_sep(b"a\tb\0", Format::Null, Some(b"\t"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, cols(&["a", "b"]));
    }

    // ---- csv / tsv ----

    #[test]
    fn csv_ordinary() {
        let mut reader = reader(b"name,size\na,1\nb,2\n", Format::Csv);
        assert_eq!(reader.headers().unwrap(), ["name", "size"]);
        let items: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].seq, 1);
        assert_eq!(items[0].raw, b"a,1");
        assert_eq!(items[0].data, cols(&["a", "1"]));
        assert_eq!(lines_of(&items), [2, 3]);
        assert!(reader.next().is_none());
    }

    #[test]
    fn csv_crlf_no_final_newline_blank_lines() {
        let items = items(b"h1,h2\r\na,1\r\n\r\n\r\nb,2", Format::Csv);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].data, cols(&["a", "1"]));
        assert_eq!(items[1].data, cols(&["b", "2"]));
        assert_eq!(items[1].raw, b"b,2");
        assert_eq!(lines_of(&items), [2, 5]);
    }

    #[test]
    fn csv_quoted_fields() {
        let input = b"id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,plain\n";
        let items = items(input, Format::Csv);
        assert_eq!(items[0].data, cols(&["1", "a, b"]));
        assert_eq!(items[0].raw, b"1,\"a, b\"");
        assert_eq!(items[1].data, cols(&["2", "say \"hi\""]));
        assert_eq!(items[1].raw, b"2,\"say \"\"hi\"\"\"");
        assert_eq!(items[2].data, cols(&["3", "two\nlines"]));
        assert_eq!(items[2].raw, b"3,\"two\nlines\"");
        // Quotes that were not needed are not kept.
        assert_eq!(items[3].raw, b"4,plain");
        assert_eq!(lines_of(&items), [2, 3, 4, 6]);
        let items = items_named(b"h\n\"x\"\n\"\"\n", Format::Csv, "q.csv");
        assert_eq!(items[0].raw, b"x");
        assert_eq!(items[1].raw, b"\"\"");
        assert_eq!(items[1].data, cols(&[""]));
    }

    fn items_named(bytes: &[u8], format: Format, name: &str) -> Vec<Item> {
        Reader::new(
            Box::new(io::Cursor::new(bytes.to_vec())),
            name,
            format,
            None,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect()
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
        assert_eq!(items[4].data, cols(&["7", "8"]));
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
        assert_eq!(reader.next().unwrap().unwrap().data, cols(&["a", "1"]));
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
        assert_eq!(items[0].data, cols(&["1", &long]));
        assert_eq!(items[1].raw, format!("2,{long}").as_bytes());
        assert_eq!(items[2].data, cols(&["3", "z"]));
    }

    #[test]
    fn csv_colsep_is_ignored() {
        let items: Vec<_> = reader_sep(b"a,b\n1,2\n", Format::Csv, Some(b","))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, cols(&["1", "2"]));
    }

    #[test]
    fn tsv() {
        let input = b"name\tnote\r\nx\ta,b \"q\"\r\ny\t\"big\" screen\r\nz\n";
        let reader = self::reader(input, Format::Tsv);
        assert_eq!(reader.headers().unwrap(), ["name", "note"]);
        let items: Vec<_> = reader.map(Result::unwrap).collect();
        // Fields are literal (IANA TSV): quotes are ordinary bytes, and the
        // raw item is the line as it was.
        assert_eq!(items[0].data, cols(&["x", "a,b \"q\""]));
        assert_eq!(items[0].raw, b"x\ta,b \"q\"");
        assert_eq!(items[1].data, cols(&["y", "\"big\" screen"]));
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
        assert_eq!(items[0].data, cols(&["\"open", "1"]));
        assert_eq!(items[1].data, cols(&["next", "2"]));
        // No escapes either: a backslash is a backslash.
        assert_eq!(items[2].data, cols(&["last", "\\t3"]));
        assert_eq!(lines_of(&items), [2, 3, 4]);
        assert_eq!(count(input, Format::Tsv), 3);
    }

    // ---- jsonl ----

    #[test]
    fn jsonl_ordinary_crlf_blank_lines() {
        let input = b"{\"a\":1}\r\n\r\n  \t\n[2, 3]\n\"s\"";
        let items = items(input, Format::Jsonl);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].data, ItemData::Json(serde_json::json!({"a": 1})));
        assert_eq!(items[0].raw, b"{\"a\":1}");
        assert_eq!(items[1].data, ItemData::Json(serde_json::json!([2, 3])));
        assert_eq!(items[2].data, ItemData::Json(serde_json::json!("s")));
        assert_eq!(lines_of(&items), [1, 4, 5]);
        assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(self::items(b"", Format::Jsonl).is_empty());
        assert!(self::items(b"\n \n\r\n", Format::Jsonl).is_empty());
    }

    #[test]
    fn jsonl_invalid_json_is_a_bad_item() {
        let input = b"{\"a\":1}\n{oops\n\xff\n1 2\n{\"b\":2}\n";
        let items = items_named(input, Format::Jsonl, "x.jsonl");
        assert_eq!(items.len(), 5);
        let ItemData::Bad(reason) = &items[1].data else {
            panic!("not bad: {:?}", items[1]);
        };
        assert!(
            reason.starts_with("`x.jsonl` line 2: invalid JSON: "),
            "{reason}"
        );
        assert_eq!(items[1].raw, b"{oops");
        assert!(matches!(&items[2].data, ItemData::Bad(r) if r.contains("line 3")));
        assert_eq!(items[2].raw, b"\xff");
        assert!(matches!(&items[3].data, ItemData::Bad(r) if r.contains("line 4")));
        assert_eq!(items[4].data, ItemData::Json(serde_json::json!({"b": 2})));
    }

    #[test]
    fn jsonl_bom_and_long_line() {
        let items = items(b"\xEF\xBB\xBF{\"a\":1}\n", Format::Jsonl);
        assert_eq!(items[0].data, ItemData::Json(serde_json::json!({"a": 1})));
        let long = "z".repeat(10 * 1024 * 1024);
        let input = format!("{{\"k\":\"{long}\"}}\n2\n");
        let items = items_named(input.as_bytes(), Format::Jsonl, "l");
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].data,
            ItemData::Json(serde_json::json!({"k": long}))
        );
        assert_eq!(items[1].data, ItemData::Json(serde_json::json!(2)));
    }

    #[test]
    fn jsonl_colsep_is_ignored() {
        let items: Vec<_> = reader_sep(b"[1,2]\n", Format::Jsonl, Some(b","))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, ItemData::Json(serde_json::json!([1, 2])));
    }

    // ---- args ----

    #[test]
    fn from_args() {
        let args = vec![
            OsString::from("a b"),
            OsString::from(""),
            OsString::from("c"),
        ];
        let mut reader = Reader::from_args(args, None);
        assert_eq!(reader.name(), ":::");
        assert!(reader.headers().is_none());
        let items: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(
            items,
            [
                Item::plain(1, "a b"),
                Item::plain(2, ""),
                Item::plain(3, "c")
            ]
        );
        assert!(reader.next().is_none());
        assert_eq!(Reader::from_args(Vec::new(), None).count(), 0);
    }

    #[test]
    fn from_args_colsep_and_bytes() {
        let items: Vec<_> = Reader::from_args(vec!["x=1".into(), "y".into()], Some(b"=".to_vec()))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, cols(&["x", "1"]));
        assert_eq!(items[0].raw, b"x=1");
        assert_eq!(items[1].data, cols(&["y"]));
        assert_eq!(items[1].line, 2);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let arg = OsString::from_vec(b"\xff\n".to_vec());
            let item = Reader::from_args(vec![arg], None).next().unwrap().unwrap();
            assert_eq!(item.raw, b"\xff\n");
        }
    }

    // ---- detect_format ----

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

    // ---- count_records ----

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

    // ---- errors and streaming ----

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
    fn io_error_reading_the_header() {
        let read = FailAfter {
            data: io::Cursor::new(b"a,b".to_vec()),
        };
        let err = Reader::new(Box::new(read), "h.csv", Format::Csv, None).unwrap_err();
        assert!(matches!(err, InputError::Io { .. }));
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
