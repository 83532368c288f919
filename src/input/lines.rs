//! Lines and NUL records (`-0`): each record is an item exactly as its bytes
//! are (invalid UTF-8 and a byte order mark included), split into columns
//! only with `--colsep`. A line loses its `\n` or `\r\n`; a NUL record only
//! its `\0`.

use std::io::{self, Read};

use super::colsep::ColumnSplitter;
use super::read::{Bom, InputRead};
use super::split::{RecordSplitter, Terminator, columns};
use super::{BLOCK_SIZE, Record, RecordSource};

/// Lines (`Terminator::Newline`) or NUL records (`Terminator::Nul`).
pub(crate) struct LineSource {
    splitter: RecordSplitter,
    colsep: Option<ColumnSplitter>,
}

impl LineSource {
    pub(crate) fn new(
        read: Box<dyn Read + Send>,
        terminator: Terminator,
        colsep: Option<ColumnSplitter>,
    ) -> LineSource {
        // A BOM is markup only for formats with a parsed structure; lines and
        // NUL records are bytes that pass through intact.
        LineSource {
            splitter: RecordSplitter::new(read, terminator, Bom::Keep),
            colsep,
        }
    }
}

impl RecordSource for LineSource {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        Some(self.splitter.next_record()?.map(|(line, record)| Record {
            line,
            data: columns(record, self.colsep.as_ref()),
            raw: record.to_vec(),
        }))
    }
}

/// Records ended by the terminator, plus a last one without it.
pub(crate) fn count(read: impl Read, terminator: Terminator) -> io::Result<u64> {
    let mut read = InputRead::new(read, Bom::Keep);
    let end = terminator.byte();
    let mut block = vec![0; BLOCK_SIZE];
    let mut count = 0;
    let mut last = None;
    loop {
        let n = read.read(&mut block)?;
        if n == 0 {
            break;
        }
        count += memchr::memchr_iter(end, &block[..n]).count() as u64;
        last = block[..n].last().copied();
    }
    if last.is_some_and(|byte| byte != end) {
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use crate::input::test_support::*;
    use crate::item::{Format, Item, ItemData};

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
        assert_eq!(
            raws(b"a\r\nb\r\nc", Format::Lines),
            byte_vecs(&["a", "b", "c"])
        );
        // Only the `\r` of the line ending goes; others are content.
        assert_eq!(raws(b"a\rb\r\r\n", Format::Lines), byte_vecs(&["a\rb\r"]));
    }

    #[test]
    fn lines_empty_input_and_empty_lines() {
        assert!(items(b"", Format::Lines).is_empty());
        assert_eq!(raws(b"\n", Format::Lines), byte_vecs(&[""]));
        assert_eq!(
            raws(b"a\n\n\nb\n", Format::Lines),
            byte_vecs(&["a", "", "", "b"])
        );
        assert_eq!(
            raws(b"a\r\n\r\nb", Format::Lines),
            byte_vecs(&["a", "", "b"])
        );
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
        assert_eq!(items[0].data, column_data(&["a", "b", ""]));
        assert_eq!(items[1].data, column_data(&["c"]));
        assert_eq!(items[2].data, column_data(&[""]));
        let items: Vec<_> = reader_sep(b"a:::b\n", Format::Lines, Some(b"::"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, column_data(&["a", ":b"]));
        let items: Vec<_> = reader_sep(b"a,b\n", Format::Lines, Some(b""))
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].data, column_data(&["a,b"]));
    }

    #[test]
    fn null_records() {
        let items = items(b"a\nb\0c\r\n\0\0d", Format::Null);
        assert_eq!(
            items.iter().map(|i| i.raw.clone()).collect::<Vec<_>>(),
            byte_vecs(&["a\nb", "c\r\n", "", "d"])
        );
        assert_eq!(lines_of(&items), [1, 2, 3, 4]);
        assert!(items.iter().all(|i| i.data == ItemData::Plain));
    }

    #[test]
    fn null_trailing_terminator_and_empty_input() {
        assert_eq!(raws(b"a\0b\0", Format::Null), byte_vecs(&["a", "b"]));
        assert_eq!(raws(b"\0", Format::Null), byte_vecs(&[""]));
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
        assert_eq!(items[0].data, column_data(&["a", "b"]));
    }
}
