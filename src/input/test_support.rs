//! Test inputs shared by the format tests: readers over bytes, the items
//! they yield, and `Read`s that fail, interrupt or dribble.

use std::io::{self, Read};

use super::{Reader, count_records};
use crate::item::{Format, Item, ItemData};

pub(crate) fn reader(bytes: &[u8], format: Format) -> Reader {
    reader_sep(bytes, format, None)
}

pub(crate) fn reader_sep(bytes: &[u8], format: Format, colsep: Option<&[u8]>) -> Reader {
    Reader::new(
        Box::new(io::Cursor::new(bytes.to_vec())),
        "in.txt",
        format,
        colsep.map(|sep| super::ColumnSplitter::new(sep).expect("a valid separator")),
    )
    .unwrap()
}

pub(crate) fn items(bytes: &[u8], format: Format) -> Vec<Item> {
    reader(bytes, format).map(Result::unwrap).collect()
}

pub(crate) fn items_named(bytes: &[u8], format: Format, name: &str) -> Vec<Item> {
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

pub(crate) fn raws(bytes: &[u8], format: Format) -> Vec<Vec<u8>> {
    items(bytes, format)
        .into_iter()
        .map(|item| item.raw)
        .collect()
}

pub(crate) fn lines_of(items: &[Item]) -> Vec<u64> {
    items.iter().map(|item| item.line).collect()
}

pub(crate) fn count(bytes: &[u8], format: Format) -> u64 {
    count_records(bytes, format).unwrap()
}

pub(crate) fn column_data(fields: &[&str]) -> ItemData {
    ItemData::Columns(fields.iter().map(|f| f.as_bytes().to_vec()).collect())
}

pub(crate) fn byte_vecs(strs: &[&str]) -> Vec<Vec<u8>> {
    strs.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Serves `data`, then fails every later read.
pub(crate) struct FailAfter {
    pub(crate) data: io::Cursor<Vec<u8>>,
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
pub(crate) struct Choppy {
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

pub(crate) fn choppy(data: &[u8]) -> Choppy {
    Choppy {
        data: data.to_vec(),
        pos: 0,
        interrupt: false,
    }
}
