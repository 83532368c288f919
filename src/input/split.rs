//! The shared record splitter: lines, NUL records and JSON lines are all a
//! byte stream cut at one terminator byte, so [`RecordSplitter`] does that
//! once for the three of them (and takes the `\r` of a CRLF ending off a
//! line). [`columns`] cuts one record further into `--colsep` columns
//! (`colsep.rs`), for lines, NUL records, `-d` records and `:::` arguments.

use std::io::{self, BufRead, BufReader, Read};

use super::BLOCK_SIZE;
use super::colsep::ColumnSplitter;
use super::read::{Bom, InputRead};
use crate::item::ItemData;

/// The byte that ends a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminator {
    /// `\n`: lines and JSON lines; a `\r` before it belongs to the ending.
    Newline,
    /// `\0`: NUL records (`-0`); every other byte is content.
    Nul,
}

impl Terminator {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Terminator::Newline => b'\n',
            Terminator::Nul => 0,
        }
    }
}

/// Records read one at a time from a buffered input: memory is bounded by
/// the longest record, and each record is handed out as soon as its
/// terminator (or the end of input) is read.
pub(crate) struct RecordSplitter {
    read: BufReader<InputRead<Box<dyn Read + Send>>>,
    terminator: Terminator,
    /// Reused for every record so that reading allocates only the item's Vec.
    buf: Vec<u8>,
    /// Records (NUL) or lines (blank ones included) read so far.
    line: u64,
}

impl RecordSplitter {
    pub(crate) fn new(read: Box<dyn Read + Send>, terminator: Terminator, bom: Bom) -> Self {
        RecordSplitter {
            read: BufReader::with_capacity(BLOCK_SIZE, InputRead::new(read, bom)),
            terminator,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next record's 1-based line (or record number, for NUL records)
    /// and its bytes without the terminator.
    pub(crate) fn next_record(&mut self) -> Option<io::Result<(u64, &[u8])>> {
        let end = self.terminator.byte();
        self.buf.clear();
        // One huge line should not pin its buffer for the rest of the run.
        self.buf.shrink_to(BLOCK_SIZE);
        match self.read.read_until(end, &mut self.buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(err) => return Some(Err(err)),
        }
        self.line += 1;
        let mut record = self.buf.as_slice();
        if let Some(rest) = record.strip_suffix(&[end]) {
            record = rest;
        }
        if self.terminator == Terminator::Newline {
            // CRLF files: the `\r` belongs to the line ending, not the item.
            if let Some(rest) = record.strip_suffix(b"\r") {
                record = rest;
            }
        }
        Some(Ok((self.line, record)))
    }
}

/// `raw` split into `--colsep` columns, or `Plain` without a separator.
pub(crate) fn columns(raw: &[u8], colsep: Option<&ColumnSplitter>) -> ItemData {
    match colsep {
        Some(splitter) => ItemData::Columns(splitter.split(raw)),
        None => ItemData::Plain,
    }
}
