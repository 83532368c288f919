//! `--pipe` input: the records of a stream or a file cut into blocks, each
//! an item ([`ItemData::Block`]) whose bytes go to one job's stdin. The
//! rules of a cut are `cut.rs`. `stream.rs` reads a pipe (or anything that
//! is not a regular file) into memory, one block at a time, so the blocks in
//! memory are the ones in flight; `file.rs` cuts a regular file by reading
//! only a few bytes near each cut, and hands out byte ranges that the job's
//! stdin gets by `splice(2)` straight from the page cache. Both cut at the
//! same places, so a journal of one resumes with the other. A block's
//! offset and length are counted after the `--header` lines, which both
//! read first and put in front of every block.

mod cut;
mod file;
mod stream;

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

pub(crate) use self::file::FileBlocks;
pub(crate) use self::stream::StreamBlocks;
use super::{Reader, Record, RecordSource};
use crate::item::{Block, ItemData, Payload};
use crate::pipe::PipeSpec;

/// Where `--pipe` reads from.
pub(crate) enum BlockInput {
    /// A pipe, a terminal, a device: read through.
    Stream(Box<dyn Read + Send>),
    /// A regular file, from its current offset (stdin redirected from a
    /// file may start part way in).
    File(File),
}

impl Reader {
    /// The blocks of `input` as `spec` cuts them; `name` is how messages
    /// name the input. A file is cut in place unless the blocks are counted
    /// in records (`-N`, `-L`), which reads all of it anyway.
    pub(crate) fn blocks(input: BlockInput, name: &str, spec: &PipeSpec) -> io::Result<Reader> {
        let source: Box<dyn RecordSource> = match input {
            BlockInput::File(file) if !spec.counts_records() => {
                Box::new(FileBlocks::new(file, spec)?)
            }
            BlockInput::File(file) => Box::new(StreamBlocks::new(Box::new(file), spec)),
            BlockInput::Stream(read) => Box::new(StreamBlocks::new(read, spec)),
        };
        Ok(Reader::from_source(name, source))
    }
}

/// The record of one block.
fn block_record(offset: u64, len: u64, header: &Arc<[u8]>, payload: Payload) -> Record {
    Record {
        line: 0,
        raw: Block::name(offset, len).into_bytes(),
        data: ItemData::Block(Box::new(Block {
            offset,
            len,
            header: Arc::clone(header),
            payload,
        })),
    }
}

/// The end of the first `lines` lines of `data`, if it holds them all.
fn header_end(data: &[u8], lines: usize) -> Option<usize> {
    if lines == 0 {
        return Some(0);
    }
    memchr::memchr_iter(b'\n', data)
        .nth(lines - 1)
        .map(|at| at + 1)
}
