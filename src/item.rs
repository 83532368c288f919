//! The unit of work: one input record, as bytes, with whatever structure its
//! format gave it (CSV/TSV columns, a parsed JSON value) or the reason it could
//! not be parsed. Readers produce items; templates render them; the collector
//! reports them.

use std::fmt;
use std::sync::Arc;

/// One input record.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// 1-based position in the input, bad records included. `{#}` renders it.
    pub seq: u64,
    /// 1-based line of the input where the record starts (for `:::` items,
    /// the argument's position). Error messages name it.
    pub line: u64,
    /// The item's bytes, without its terminator. `{}` renders it.
    pub raw: Vec<u8>,
    /// Structure the format gave the record.
    pub data: ItemData,
    /// The journal key (empty until the dispatcher assigns one).
    pub key: String,
    /// It runs again because an earlier run recorded it as failed
    /// (`--retry-failed`): its journal line replaces that record.
    pub rerun: bool,
}

/// Structure of a record beyond its raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemData {
    /// A plain line or NUL record (or a `:::` argument).
    Plain,
    /// CSV/TSV fields, or a line split by `--colsep`.
    Columns(Vec<Vec<u8>>),
    /// A parsed JSON-lines record.
    Json(serde_json::Value),
    /// The record could not be parsed; the reason names what is wrong. Such an
    /// item never runs: it becomes a failed outcome.
    Bad(String),
    /// One combination of several input sources' values (`::: a b ::: c d`).
    Combined(Box<Combination>),
    /// A block of records for one job's stdin (`--pipe`).
    Block(Box<Block>),
}

/// A block of whole records (`--pipe`): where it is in the input, and its
/// bytes, which go to its job's stdin. The item's `raw` is only its name
/// (`bytes 0..1048576`); `{}` and the other values are refused for blocks.
#[derive(Debug, Clone)]
pub struct Block {
    /// Where the block starts in the input (after a `--header`), in bytes.
    pub offset: u64,
    /// Its length in bytes (the header not counted).
    pub len: u64,
    /// The `--header` lines, written before the block to every job.
    pub header: Arc<[u8]>,
    /// The block's bytes, until its last attempt is over.
    pub payload: Payload,
}

/// Where a block's bytes are.
#[derive(Debug, Clone)]
pub enum Payload {
    /// Read from a stream into memory (a pipe, a terminal).
    Bytes(Arc<Vec<u8>>),
    /// In a regular file, from the file offset `at` (the input may start
    /// part way into the file, so this is not always the block's offset):
    /// spliced from the page cache into the job's stdin, never through
    /// fanout's memory.
    File { file: Arc<std::fs::File>, at: u64 },
    /// Dropped: the block's last attempt is over.
    Released,
}

impl PartialEq for Block {
    fn eq(&self, other: &Block) -> bool {
        (self.offset, self.len) == (other.offset, other.len)
    }
}

impl Block {
    /// The block's name in reports, labels and messages: its bytes in the
    /// input, as a half-open range.
    pub fn name(offset: u64, len: u64) -> String {
        format!("bytes {offset}..{}", offset + len)
    }

    /// Its journal key: offset and length in the input.
    pub fn key(&self) -> String {
        format!("{}+{}", self.offset, self.len)
    }
}

/// One value of each input source: an item of several sources. The item's
/// `raw` is its positions joined by spaces (GNU parallel's `{}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Combination {
    /// Each source's value, in source order.
    pub values: Vec<SourceValue>,
    /// The sources' names as messages give them (a path, `<stdin>`, `:::`),
    /// shared by every item of the run.
    pub sources: Arc<[String]>,
}

/// One source's value in a [`Combination`].
#[derive(Debug, Clone, PartialEq)]
pub struct SourceValue {
    /// The value's bytes, as read.
    pub raw: Vec<u8>,
    /// Its `--colsep` columns, or `None` when the source is not split.
    pub columns: Option<Vec<Vec<u8>>>,
    /// Which source (0-based), for messages and names.
    pub source: usize,
    /// The value's line (for `:::` values, its position) in its source.
    pub line: u64,
}

impl SourceValue {
    /// The positions this value contributes: its columns, or itself.
    pub fn positions(&self) -> impl Iterator<Item = &[u8]> {
        let (whole, columns) = match &self.columns {
            Some(columns) => (None, columns.as_slice()),
            None => (Some(self.raw.as_slice()), &[][..]),
        };
        whole.into_iter().chain(columns.iter().map(Vec::as_slice))
    }
}

impl Combination {
    /// The positions `{1}`, `{2}`, ... in order: each source's columns (with
    /// `--colsep`) or its value.
    pub fn positions(&self) -> impl Iterator<Item = &[u8]> {
        self.values.iter().flat_map(SourceValue::positions)
    }
}

impl Item {
    /// A plain item.
    #[cfg(test)]
    pub fn plain(seq: u64, raw: impl Into<Vec<u8>>) -> Item {
        Item {
            seq,
            line: seq,
            raw: raw.into(),
            data: ItemData::Plain,
            key: String::new(),
            rerun: false,
        }
    }

    /// The item's positional values, `{1}`, `{2}`, ... in order: for an item
    /// of several sources each source's value (or, with `--colsep`, each of
    /// its columns); for a row with columns (CSV/TSV, `--colsep`) its
    /// columns; otherwise the item itself. Names for them, when the input
    /// has any (`--header :`, a CSV/TSV header), are the reader's
    /// `headers()`, position by position (`--results DIR` names its
    /// directories after them).
    pub fn positions(&self) -> Vec<&[u8]> {
        match &self.data {
            ItemData::Columns(fields) => fields.iter().map(Vec::as_slice).collect(),
            ItemData::Combined(combination) => combination.positions().collect(),
            _ => vec![self.raw.as_slice()],
        }
    }

    /// Where the item is, for messages: "`FILE` line N" (`input` names the
    /// input), or for an item of several sources each value's source and line.
    pub fn place(&self, input: &str) -> String {
        match &self.data {
            ItemData::Combined(combination) => combination
                .values
                .iter()
                .map(|value| {
                    let name = combination
                        .sources
                        .get(value.source)
                        .map_or(input, String::as_str);
                    place(name, value.line)
                })
                .collect::<Vec<_>>()
                .join(", "),
            ItemData::Block(block) => format!("`{input}` {}", Block::name(block.offset, block.len)),
            _ => place(input, self.line),
        }
    }

    /// Whether the item is a block of `--pipe` input.
    pub fn is_block(&self) -> bool {
        matches!(self.data, ItemData::Block(_))
    }

    /// Drops a block's bytes once its last attempt is over, so that a
    /// finished block waiting in the `-k` window or the collector holds no
    /// memory (the bound of `--pipe` is in flight blocks, not finished ones).
    pub fn release_payload(&mut self) {
        if let ItemData::Block(block) = &mut self.data {
            block.payload = Payload::Released;
        }
    }

    /// The item's text for people: lossy UTF-8, control characters escaped,
    /// shortened to `max` characters with an ellipsis.
    pub fn label(&self, max: usize) -> String {
        label(&self.raw, max)
    }
}

/// How errors and messages name the `:::` arguments as an input.
pub(crate) const ARGS_INPUT_NAME: &str = ":::";

/// Where an item is, for messages: "`FILE` line N", or "`:::` item N".
pub(crate) fn place(input: &str, line: u64) -> String {
    if input == ARGS_INPUT_NAME {
        format!("`:::` item {line}")
    } else {
        format!("`{input}` line {line}")
    }
}

/// The longest item label, in characters: progress lines, `FAIL` and
/// `RETRY` notes, the summary and the event stream's `label` all cut there.
pub const LABEL_MAX: usize = 80;

/// Lossy, single-line rendering of item bytes for progress lines and summaries.
pub fn label(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if crate::display::is_unsafe_char(c) => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Single-line rendering of item bytes that keeps every byte recoverable:
/// like [`label`], but invalid UTF-8 is written `\xNN` instead of U+FFFD
/// (a stray byte such as 0x9b is a control sequence to some terminals).
/// Shortened to `max` characters with an ellipsis.
pub fn escaped(raw: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max.saturating_add(3)));
    let mut n = 0usize;
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if n == max {
                out.push('…');
                return out;
            }
            n += 1;
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if crate::display::is_unsafe_char(c) => {
                    out.push_str(&c.escape_default().to_string())
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            if n == max {
                out.push('…');
                return out;
            }
            n += 1;
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label(usize::MAX))
    }
}

/// The input formats fanout reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One item per line; LF or CRLF endings.
    Lines,
    /// NUL-separated records (`-0`).
    Null,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON value per line.
    Jsonl,
}

impl Format {
    /// Whether records of this format carry a header with column names.
    pub fn has_header(self) -> bool {
        matches!(self, Format::Csv | Format::Tsv)
    }

    /// Lowercase name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Lines => "lines",
            Format::Null => "null",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_escapes_and_truncates() {
        assert_eq!(label(b"a\nb\tc", 10), "a\\nb\\tc");
        assert_eq!(label(b"abcdef", 3), "abc…");
        assert_eq!(label(b"\xff", 3), "\u{fffd}");
    }
}
