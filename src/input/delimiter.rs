//! `-d DELIM` / `--delimiter DELIM`: records ended by any byte string, as
//! GNU parallel's and xargs's `-d`. [`parse`] reads the delimiter's escapes
//! (`\n`, `\t`, `\0`, `\\`, `\xHH`, octal `\NNN`, ...); [`DelimitedSource`]
//! cuts the input at every occurrence, one or more bytes long, without
//! holding more than the record being read. Nothing but the delimiter is
//! removed: with `-d '\n'` a `\r` before it stays in the item, as in GNU
//! parallel and xargs (the default line format drops it). `-d '\0'` is `-0`
//! (the configuration maps it to NUL records).

use std::io::{self, BufRead, BufReader, Read};

use memchr::memmem::Finder;

use super::BLOCK_SIZE;
use super::colsep::ColumnSplitter;
use super::read::{Bom, InputRead};
use super::split::columns;
use super::{Reader, Record, RecordSource};

/// The delimiter's bytes from its command-line spelling. Escapes, as C and
/// printf(1) write them: `\n` `\t` `\r` `\a` `\b` `\f` `\v` `\\`, `\xHH`
/// (one or two hex digits) and `\NNN` (one to three octal digits, so `\0`
/// is NUL). Any other byte stands for itself, so a delimiter may be several
/// bytes long (`-d '\r\n'`, `-d ', '`, a UTF-8 character).
pub(crate) fn parse(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        at += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&escape) = bytes.get(at) else {
            return Err(format!(
                "`{text}` ends in a lone `\\` (write `\\\\` for a backslash)"
            ));
        };
        at += 1;
        let simple = match escape {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(value) = simple {
            out.push(value);
        } else if escape == b'x' {
            let digits = take_digits(&bytes[at..], 2, 16);
            if digits == 0 {
                return Err(format!("`{text}`: `\\x` needs one or two hex digits"));
            }
            out.push(number(&bytes[at..at + digits], 16));
            at += digits;
        } else if (b'0'..=b'7').contains(&escape) {
            let digits = 1 + take_digits(&bytes[at..], 2, 8);
            let value = bytes[at - 1..at - 1 + digits]
                .iter()
                .fold(0u32, |value, b| value * 8 + u32::from(b - b'0'));
            // `\777` is more than a byte.
            let value = u8::try_from(value)
                .map_err(|_| format!("`{text}`: octal escape is larger than a byte"))?;
            out.push(value);
            at += digits - 1;
        } else {
            return Err(format!(
                "`{text}`: unknown escape `\\{}` (known: \\n \\t \\r \\0 \\\\ \\xHH \\NNN \\a \\b \\f \\v)",
                char::from(escape)
            ));
        }
    }
    if out.is_empty() {
        return Err("the delimiter is empty".to_owned());
    }
    Ok(out)
}

/// How many of the first `max` bytes are digits of `radix`.
fn take_digits(bytes: &[u8], max: usize, radix: u32) -> usize {
    bytes
        .iter()
        .take(max)
        .take_while(|b| char::from(**b).is_digit(radix))
        .count()
}

/// The value of one or two hex digits (checked by [`take_digits`]).
fn number(digits: &[u8], radix: u32) -> u8 {
    let value = digits.iter().fold(0u32, |value, b| {
        value * radix + char::from(*b).to_digit(radix).unwrap_or(0)
    });
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// Records ended by `delimiter`: each is an item exactly as its bytes are,
/// split into columns only with `--colsep`. The empty string after a final
/// delimiter is no record (as a final newline ends the last line).
pub(crate) struct DelimitedSource {
    read: BufReader<InputRead<Box<dyn Read + Send>>>,
    finder: Finder<'static>,
    /// The record being read; reused.
    buf: Vec<u8>,
    record: u64,
    colsep: Option<ColumnSplitter>,
}

impl DelimitedSource {
    pub(crate) fn new(
        read: Box<dyn Read + Send>,
        delimiter: &[u8],
        colsep: Option<ColumnSplitter>,
    ) -> DelimitedSource {
        DelimitedSource {
            read: BufReader::with_capacity(BLOCK_SIZE, InputRead::new(read, Bom::Keep)),
            finder: Finder::new(delimiter).into_owned(),
            buf: Vec::new(),
            record: 0,
            colsep,
        }
    }

    /// Reads the next record (without the delimiter) into `buf`; `None`
    /// at the end of the input.
    fn read_next(&mut self) -> Option<io::Result<()>> {
        let found = read_record(&mut self.read, &self.finder, &mut self.buf)?;
        self.record += 1;
        Some(found)
    }
}

/// Reads the next record ended by `finder`'s delimiter (or by the end of
/// the input) into `buf`, without the delimiter; `None` at the end.
pub(crate) fn read_record(
    read: &mut impl BufRead,
    finder: &Finder<'_>,
    buf: &mut Vec<u8>,
) -> Option<io::Result<()>> {
    let width = finder.needle().len();
    buf.clear();
    // One huge record should not pin its buffer for the rest of the run.
    buf.shrink_to(BLOCK_SIZE);
    loop {
        let block = match read.fill_buf() {
            Ok(block) => block,
            Err(err) => return Some(Err(err)),
        };
        if block.is_empty() {
            if buf.is_empty() {
                return None;
            }
            return Some(Ok(()));
        }
        let old = buf.len();
        let taken = block.len();
        buf.extend_from_slice(block);
        // A delimiter may straddle two blocks: search from where the last
        // one could have started.
        let from = old.saturating_sub(width - 1);
        if let Some(found) = finder.find(&buf[from..]) {
            let end = from + found;
            // The match ends past `old`: the earlier search saw every
            // delimiter that ends within the bytes before.
            read.consume(end + width - old);
            buf.truncate(end);
            return Some(Ok(()));
        }
        read.consume(taken);
    }
}

impl RecordSource for DelimitedSource {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        if let Err(err) = self.read_next()? {
            return Some(Err(err));
        }
        Some(Ok(Record {
            line: self.record,
            data: columns(&self.buf, self.colsep.as_ref()),
            raw: self.buf.clone(),
        }))
    }
}

impl Reader {
    /// Reads records ended by `delimiter` (`-d`) from `read`; `name` (a path
    /// or `<stdin>`) is how errors refer to the input. `colsep` is the
    /// `--colsep` pattern, already checked by the configuration.
    pub(crate) fn delimited(
        read: Box<dyn Read + Send>,
        name: &str,
        delimiter: &[u8],
        colsep: Option<ColumnSplitter>,
    ) -> Reader {
        Reader::from_source(
            name,
            Box::new(DelimitedSource::new(read, delimiter, colsep)),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::input::test_support::{byte_vecs, choppy, column_data};

    fn records(input: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
        Reader::delimited(
            Box::new(io::Cursor::new(input.to_vec())),
            "d",
            delimiter,
            None,
        )
        .map(|item| item.unwrap().raw)
        .collect()
    }

    #[test]
    fn escapes() {
        let cases: &[(&str, &[u8])] = &[
            (",", b","),
            ("\\n", b"\n"),
            ("\\t", b"\t"),
            ("\\r\\n", b"\r\n"),
            ("\\0", b"\0"),
            ("\\\\", b"\\"),
            ("\\x3a", b":"),
            ("\\x3A", b":"),
            ("\\x0", b"\0"),
            ("\\x41B", b"AB"),
            ("\\072", b":"),
            ("\\0123", b"\n3"),
            ("\\a\\b\\f\\v", b"\x07\x08\x0c\x0b"),
            ("XY", b"XY"),
            ("é", "é".as_bytes()),
            ("a\\tb", b"a\tb"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).as_deref(), Ok(*want), "{text}");
        }
        let errors = [
            ("", "the delimiter is empty"),
            (
                "\\",
                "`\\` ends in a lone `\\` (write `\\\\` for a backslash)",
            ),
            ("\\x", "`\\x`: `\\x` needs one or two hex digits"),
            ("\\xg", "`\\xg`: `\\x` needs one or two hex digits"),
            ("\\q", "`\\q`: unknown escape `\\q`"),
            ("\\777", "`\\777`: octal escape is larger than a byte"),
        ];
        for (text, want) in errors {
            let got = parse(text).unwrap_err();
            assert!(got.starts_with(want), "{text}: {got}");
        }
    }

    #[test]
    fn single_byte_delimiter_like_gnu() {
        // GNU parallel and xargs: `printf 'a,b,,c\n' | parallel -d , echo '[{}]'`
        // gives [a] [b] [] and `[c` + newline + `]`.
        assert_eq!(
            records(b"a,b,,c\n", b","),
            byte_vecs(&["a", "b", "", "c\n"])
        );
        assert_eq!(records(b"a,b,", b","), byte_vecs(&["a", "b"]));
        assert_eq!(records(b",", b","), byte_vecs(&[""]));
        assert!(records(b"", b",").is_empty());
        // `-d '\n'` keeps a `\r`, as GNU and xargs do.
        assert_eq!(records(b"a\r\nb\r\n", b"\n"), byte_vecs(&["a\r", "b\r"]));
    }

    #[test]
    fn multi_byte_delimiter() {
        assert_eq!(records(b"aXYbXYc", b"XY"), byte_vecs(&["a", "b", "c"]));
        assert_eq!(records(b"aXYXYb", b"XY"), byte_vecs(&["a", "", "b"]));
        assert_eq!(records(b"aXXYb", b"XY"), byte_vecs(&["aX", "b"]));
        assert_eq!(records(b"aXYbX", b"XY"), byte_vecs(&["a", "bX"]));
        assert_eq!(
            records(b"a\r\nb\r\nc", b"\r\n"),
            byte_vecs(&["a", "b", "c"])
        );
    }

    #[test]
    fn delimiters_across_block_boundaries() {
        // One byte per read: every delimiter straddles reads.
        let input = b"one<>two<<>>three<>";
        let items: Vec<Vec<u8>> = Reader::delimited(Box::new(choppy(input)), "c", b"<>", None)
            .map(|item| item.unwrap().raw)
            .collect();
        assert_eq!(items, byte_vecs(&["one", "two<", ">three"]));
        // Records longer than a block.
        let long = vec![b'z'; BLOCK_SIZE * 2 + 7];
        let mut input = long.clone();
        input.extend_from_slice(b"::");
        input.extend_from_slice(&long);
        assert_eq!(records(&input, b"::"), [long.clone(), long]);
    }

    #[test]
    fn record_numbers_and_columns() {
        let splitter = ColumnSplitter::new(b"=").unwrap();
        let items: Vec<_> = Reader::delimited(
            Box::new(io::Cursor::new(b"a=1;b=2;".to_vec())),
            "d",
            b";",
            Some(splitter),
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].line, 2);
        assert_eq!(items[1].seq, 2);
        assert_eq!(items[0].data, column_data(&["a", "1"]));
        assert_eq!(items[1].raw, b"b=2");
    }
}
