//! Blocks of a regular file, cut in place: for each block only the bytes
//! near its cut are read (a window before the size, searched backwards for
//! the last cut; for a record longer than the block, forwards for the
//! first), and the block is handed out as a byte range of the file. Its
//! job's stdin gets the range by `splice(2)` from the page cache, so the
//! data never passes through fanout's memory. The file's length is taken
//! when it is opened: what is appended later is not read.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::cut::Boundaries;
use super::{Record, RecordSource, block_record, header_end};
use crate::item::Payload;
use crate::pipe::PipeSpec;

/// The first window read before a cut; it doubles while it holds none.
const WINDOW: u64 = 64 * 1024;

pub(crate) struct FileBlocks {
    file: Arc<File>,
    boundaries: Boundaries,
    size: u64,
    /// Where the input starts in the file: the offset it was opened at,
    /// after the header.
    base: u64,
    /// The input's length from `base`.
    len: u64,
    /// The next block's offset from `base`.
    offset: u64,
    header: Arc<[u8]>,
    /// How cuts are placed: as `--pipe` does, or as GNU's `--pipe-part`.
    rule: Rule,
}

/// Where a block of a file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// `--pipe`: at the last cut within `--block` bytes of the block's
    /// start (the same blocks as from a pipe).
    LastWithin,
    /// `--pipe-part`, as GNU's: after the first record end that starts at
    /// or after `--block` bytes from the block's start.
    FirstAfter,
}

impl FileBlocks {
    /// Cuts `file` from its current offset; reads the `--header` lines now.
    pub(crate) fn new(file: File, spec: &PipeSpec) -> io::Result<FileBlocks> {
        let start =
            rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).map_err(io::Error::from)?;
        let end = file.metadata()?.len();
        let mut blocks = FileBlocks {
            file: Arc::new(file),
            boundaries: Boundaries::new(&spec.boundary),
            size: spec.block_size,
            base: start,
            len: end.saturating_sub(start),
            offset: 0,
            header: Arc::from(Vec::new()),
            rule: if spec.part {
                Rule::FirstAfter
            } else {
                Rule::LastWithin
            },
        };
        if spec.header_lines > 0 {
            blocks.read_header(spec.header_lines)?;
        }
        Ok(blocks)
    }

    /// Reads `len` bytes at `offset` from the input's start (fewer at its
    /// end). A file that ends before the length it had when opened has
    /// been cut while fanout read it: an error, since its blocks would be
    /// wrong (and a search for a cut would never end).
    fn read_at(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let len = len.min(self.len.saturating_sub(offset));
        let mut data = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        let mut got = 0;
        while got < data.len() {
            match self
                .file
                .read_at(&mut data[got..], self.base + offset + got as u64)
            {
                Ok(0) => {
                    return Err(io::Error::other(format!(
                        "the file shrank while fanout cut it into blocks (it was {} bytes, and \
                         ended at {})",
                        self.base + self.len,
                        self.base + offset + got as u64
                    )));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(data)
    }

    fn read_header(&mut self, lines: usize) -> io::Result<()> {
        let mut want = WINDOW;
        let end = loop {
            let data = self.read_at(0, want)?;
            if let Some(end) = header_end(&data, lines) {
                break end as u64;
            }
            if (data.len() as u64) < want {
                break data.len() as u64;
            }
            want *= 2;
        };
        self.header = Arc::from(self.read_at(0, end)?);
        self.base += end;
        self.len -= end;
        Ok(())
    }

    /// GNU's `--pipe-part`: the block starting at `start` ends after the
    /// first record end that starts `--block` bytes or more after it, else
    /// at the input's end.
    fn cut_past_size(&self, start: u64) -> io::Result<u64> {
        let point = start.saturating_add(self.size);
        if point >= self.len {
            return Ok(self.len);
        }
        let end_len = self.boundaries.end_len() as u64;
        self.first_cut(start, point + end_len)
    }

    /// Where the block starting at `start` ends (an offset from the input's
    /// start): the last cut within the size, else the first after it, else
    /// the input's end. Searched in windows of a fixed size, so that a
    /// record longer than a huge `--block` is not read into memory whole.
    fn cut_after(&self, start: u64) -> io::Result<u64> {
        let limit = start + self.size;
        let lookahead = self.boundaries.lookahead() as u64;
        let end_len = self.boundaries.end_len() as u64;
        let window = WINDOW.max(2 * self.boundaries.pattern_len() as u64);
        // Backwards from the size, window by window, for the last cut; the
        // windows overlap by what an occurrence across their border needs.
        let mut high = limit;
        loop {
            let from = high.saturating_sub(window).max(start);
            let data = self.read_at(from, high + lookahead - from)?;
            // A cut at the block's own start is none.
            let min = usize::from(from == start);
            if let Some(cut) = self.boundaries.last(&data, min) {
                return Ok(from + cut as u64);
            }
            if from == start {
                break;
            }
            high = (from + end_len).saturating_sub(1).max(start);
        }
        // A record longer than the block: forwards for its end.
        self.first_cut(start, limit + 1)
    }

    /// The first cut at or after `from`, in the block starting at `start`
    /// (else the input's end), searched forwards in windows of a fixed size
    /// that overlap by what an occurrence across their border needs.
    fn first_cut(&self, start: u64, from: u64) -> io::Result<u64> {
        let lookahead = self.boundaries.lookahead() as u64;
        let end_len = self.boundaries.end_len() as u64;
        let chunk = (16 * WINDOW).max(2 * self.boundaries.pattern_len() as u64);
        let mut from = from;
        loop {
            let at = from.saturating_sub(end_len).max(start);
            let data = self.read_at(at, from - at + chunk + lookahead)?;
            let wanted = usize::try_from(from - at).unwrap_or(usize::MAX);
            if let Some(cut) = self.boundaries.first(&data, wanted) {
                return Ok(at + cut as u64);
            }
            let end = at + data.len() as u64;
            if end >= self.len {
                return Ok(self.len);
            }
            // The next occurrence starts past the last one `data` could hold.
            from = (end + 1).saturating_sub(lookahead).max(from + 1);
        }
    }

    fn next_block(&mut self) -> io::Result<Option<Record>> {
        let start = self.offset;
        if start >= self.len {
            return Ok(None);
        }
        let end = match self.rule {
            Rule::FirstAfter => self.cut_past_size(start)?,
            Rule::LastWithin if self.len - start <= self.size => self.len,
            Rule::LastWithin => self.cut_after(start)?,
        };
        let payload = Payload::File {
            file: Arc::clone(&self.file),
            at: self.base + start,
        };
        self.offset = end;
        Ok(Some(block_record(
            start,
            end - start,
            &self.header,
            payload,
        )))
    }
}

impl RecordSource for FileBlocks {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        self.next_block().transpose()
    }

    fn bytes_total(&self) -> Option<u64> {
        Some(self.len)
    }
}
