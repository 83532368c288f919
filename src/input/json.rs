//! JSON lines: one JSON value per line, parsed into [`ItemData::Json`] for
//! `{name}` and `{.a.b}` placeholders. Blank lines are skipped (they still count for
//! line numbers), a leading byte order mark is dropped, and a line that is
//! not JSON becomes a `Bad` item naming its line. `--colsep` does not apply.

use std::io::{self, Read};

use super::read::{Bom, InputRead};
use super::split::{RecordSplitter, Terminator};
use super::{BLOCK_SIZE, Record, RecordSource};
use crate::item::ItemData;

pub(crate) struct JsonLineSource {
    splitter: RecordSplitter,
}

impl JsonLineSource {
    pub(crate) fn new(read: Box<dyn Read + Send>) -> JsonLineSource {
        JsonLineSource {
            splitter: RecordSplitter::new(read, Terminator::Newline, Bom::Skip),
        }
    }
}

impl RecordSource for JsonLineSource {
    fn next_record(&mut self, name: &str) -> Option<io::Result<Record>> {
        loop {
            let (line, record) = match self.splitter.next_record()? {
                Ok(next) => next,
                Err(err) => return Some(Err(err)),
            };
            if is_blank(record) {
                continue;
            }
            let data = match serde_json::from_slice(record) {
                Ok(value) => ItemData::Json(value),
                Err(err) => ItemData::Bad(format!("`{name}` line {line}: invalid JSON: {err}")),
            };
            return Some(Ok(Record {
                line,
                raw: record.to_vec(),
                data,
            }));
        }
    }
}

/// Whether a JSON line holds nothing but JSON whitespace (such lines are skipped).
fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Lines that are not blank, as the reader sees them.
pub(crate) fn count(read: impl Read) -> io::Result<u64> {
    let mut read = InputRead::new(read, Bom::Skip);
    let mut block = vec![0; BLOCK_SIZE];
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

#[cfg(test)]
mod tests {
    use crate::input::test_support::*;
    use crate::item::{Format, ItemData};

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
}
