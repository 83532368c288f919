//! Blocks of a stream: read into memory a block at a time, cut by the
//! [`Cutter`], the bytes after the cut carried to the next block. Each
//! block is read into its own buffer (no copy but the partial record
//! carried over), which goes to the job and is dropped when its last
//! attempt is over.

use std::io::{self, Read};
use std::sync::Arc;

use super::cut::{Cut, Cutter, Scan};
use super::{Record, RecordSource, block_record, header_end};
use crate::item::Payload;
use crate::pipe::PipeSpec;

/// How much more to read at a time once a block has its size.
const CHUNK: usize = 256 * 1024;

/// The largest buffer set aside for a block before its bytes arrive
/// (a huge `--block` grows as it reads).
const MAX_RESERVE: usize = 64 << 20;

pub(crate) struct StreamBlocks {
    read: Box<dyn Read + Send>,
    cutter: Cutter,
    /// The bytes read past the last cut, from `start`.
    carry: Vec<u8>,
    start: usize,
    /// Blocks are counted in records (`-N`, `-L`), not cut by size.
    counted: bool,
    /// Where `-N`/`-L` reads land before they join `carry`.
    chunk: Vec<u8>,
    /// The next block's offset in the input, after the header.
    offset: u64,
    header: Arc<[u8]>,
    /// The header's lines are still to read.
    header_lines: Option<usize>,
    eof: bool,
}

impl StreamBlocks {
    pub(crate) fn new(read: Box<dyn Read + Send>, spec: &PipeSpec) -> StreamBlocks {
        StreamBlocks {
            read,
            cutter: Cutter::new(spec),
            carry: Vec::new(),
            start: 0,
            counted: spec.counts_records(),
            chunk: Vec::new(),
            offset: 0,
            header: Arc::from(Vec::new()),
            header_lines: (spec.header_lines > 0).then_some(spec.header_lines),
            eof: false,
        }
    }

    /// Reads onto the end of `data` until it holds `more` bytes more or
    /// the input ends (noted). Reads into the vector's spare room, which is
    /// not zeroed first.
    fn fill_up(&mut self, data: &mut Vec<u8>, more: usize) -> io::Result<()> {
        let got = (&mut self.read).take(more as u64).read_to_end(data)?;
        if got < more {
            self.eof = true;
        }
        Ok(())
    }

    /// Reads what the input has now (up to a chunk) onto the end of
    /// `data`: records that trickle in are cut as they come.
    fn fill_some(&mut self, data: &mut Vec<u8>) -> io::Result<()> {
        self.chunk.resize(CHUNK, 0);
        let got = loop {
            match self.read.read(&mut self.chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        data.extend_from_slice(&self.chunk[..got]);
        if got == 0 {
            self.eof = true;
        }
        Ok(())
    }

    fn read_header(&mut self, lines: usize) -> io::Result<()> {
        let mut data = std::mem::take(&mut self.carry);
        self.start = 0;
        let end = loop {
            if let Some(end) = header_end(&data, lines) {
                break end;
            }
            if self.eof {
                break data.len();
            }
            self.fill_some(&mut data)?;
        };
        self.carry = data.split_off(end);
        self.header = Arc::from(data);
        Ok(())
    }

    fn next_block(&mut self) -> io::Result<Option<Record>> {
        if let Some(lines) = self.header_lines.take() {
            self.read_header(lines)?;
        }
        let (len, data) = if self.counted {
            self.next_counted()?
        } else {
            self.next_sized()?
        };
        if len == 0 {
            return Ok(None);
        }
        let record = block_record(self.offset, len, &self.header, Payload::Bytes(data));
        self.offset += len;
        Ok(Some(record))
    }

    /// A block by size: read into its own buffer up to the size (and the
    /// record start after it), so that what is carried to the next block
    /// is only the partial record after the cut.
    fn next_sized(&mut self) -> io::Result<(u64, Arc<Vec<u8>>)> {
        let wanted = self.cutter.wanted();
        let rest = &self.carry[self.start..];
        let mut data = Vec::with_capacity(wanted.min(MAX_RESERVE).max(rest.len()));
        data.extend_from_slice(rest);
        self.carry.clear();
        self.start = 0;
        let mut scan = Scan::default();
        loop {
            if !self.eof && data.len() < wanted {
                let more = (wanted - data.len()).min(MAX_RESERVE);
                self.fill_up(&mut data, more)?;
                continue;
            }
            match self.cutter.cut(&data, self.eof, &mut scan) {
                Cut::At(n) => {
                    self.carry = data.split_off(n);
                    return Ok((n as u64, Arc::new(data)));
                }
                // A record longer than the block: cut as soon as it ends.
                Cut::More => self.fill_some(&mut data)?,
            }
        }
    }

    /// A block of counted records (`-N`, `-L`): the input is read in
    /// chunks into one buffer and each block copied out of it, since a
    /// chunk may hold many blocks.
    fn next_counted(&mut self) -> io::Result<(u64, Arc<Vec<u8>>)> {
        let mut scan = Scan::default();
        loop {
            match self
                .cutter
                .cut(&self.carry[self.start..], self.eof, &mut scan)
            {
                Cut::At(n) => {
                    let block = self.carry[self.start..self.start + n].to_vec();
                    self.start += n;
                    return Ok((n as u64, Arc::new(block)));
                }
                Cut::More => {
                    // Only the unfinished block is kept: it moves to the front.
                    self.carry.drain(..self.start);
                    self.start = 0;
                    let mut carry = std::mem::take(&mut self.carry);
                    let filled = self.fill_some(&mut carry);
                    self.carry = carry;
                    filled?;
                }
            }
        }
    }
}

impl RecordSource for StreamBlocks {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        self.next_block().transpose()
    }
}
