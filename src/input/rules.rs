//! What happens to each record between its source and its item: `-E EOF`
//! ends the input at a record equal to EOF, `-r` skips records that are
//! empty or only white space, and `--trim` trims the record and its
//! columns. The rules apply to every format that reads plain values (lines,
//! NUL records, `-d` records, `:::` items) in the order GNU parallel
//! applies them: the end marker is compared with the record as read, before
//! any trimming, and a skipped record gets no sequence number (its line
//! number still counts it).

use std::io::{self, BufReader, Read};

use memchr::memmem::Finder;

use super::delimiter::read_record;
use super::read::{Bom, InputRead};
use super::trim::{Trim, is_blank};
use super::{BLOCK_SIZE, Reader, Record, count_records};
use crate::item::{Format, ItemData};

/// The `-E`, `-r` and `--trim` rules of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecordRules {
    /// `-E EOF`: a record equal to this ends the input (never empty).
    pub(crate) end_marker: Option<Vec<u8>>,
    /// `-r`: skip records that are empty or only white space.
    pub(crate) blanks: Blanks,
    pub(crate) trim: Trim,
}

/// What `-r` / `--no-run-if-empty` does with blank records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Blanks {
    /// A blank record is an item, as any other (the default).
    #[default]
    Keep,
    /// A blank record is skipped (`-r`, as in GNU parallel).
    Skip,
}

/// What becomes of one record.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Keep,
    Skip,
    /// The end marker: this record and everything after it are not read.
    End,
}

impl RecordRules {
    /// Whether any rule changes what a reader yields.
    pub(crate) fn is_default(&self) -> bool {
        *self == RecordRules::default()
    }

    /// Applies the rules to `record` (trimming it in place).
    pub(super) fn judge(&self, record: &mut Record) -> Verdict {
        if self
            .end_marker
            .as_deref()
            .is_some_and(|marker| marker == record.raw.as_slice())
        {
            return Verdict::End;
        }
        if self.blanks == Blanks::Skip && is_blank(&record.raw) {
            return Verdict::Skip;
        }
        self.trim.record(&mut record.raw, &mut record.data);
        Verdict::Keep
    }
}

impl Reader {
    /// The same reader with `-E`, `-r` and `--trim` applied to its records.
    pub(crate) fn with_rules(mut self, rules: RecordRules) -> Reader {
        self.rules = rules;
        self
    }
}

/// How many items a reader of `format` (or of `-d delimiter` records) with
/// these rules would yield for the same bytes: the fast count when no rule
/// and no delimiter changes it, else each record cut and judged as the
/// reader does it (the rules apply to lines, NUL and `-d` records only).
pub(crate) fn count_items(
    read: impl Read,
    format: Format,
    delimiter: Option<&[u8]>,
    rules: &RecordRules,
) -> io::Result<u64> {
    if delimiter.is_none() && rules.is_default() {
        return count_records(read, format);
    }
    let terminator: &[u8] = match (delimiter, format) {
        (Some(delimiter), _) => delimiter,
        (None, Format::Null) => b"\0",
        (None, _) => b"\n",
    };
    let finder = Finder::new(terminator);
    let mut read = BufReader::with_capacity(BLOCK_SIZE, InputRead::new(read, Bom::Keep));
    let mut record = Record {
        line: 0,
        raw: Vec::new(),
        data: ItemData::Plain,
    };
    let mut count = 0;
    while let Some(found) = read_record(&mut read, &finder, &mut record.raw) {
        found?;
        if delimiter.is_none()
            && format == Format::Lines
            && let Some(rest) = record.raw.strip_suffix(b"\r")
        {
            // The line format's CRLF: the `\r` is no part of the item.
            let len = rest.len();
            record.raw.truncate(len);
        }
        match rules.judge(&mut record) {
            Verdict::Keep => count += 1,
            Verdict::Skip => {}
            Verdict::End => break,
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::input::test_support::{byte_vecs, reader};
    use crate::item::Format;

    fn run(reader: Reader, rules: RecordRules) -> Vec<(u64, u64, Vec<u8>)> {
        reader
            .with_rules(rules)
            .map(Result::unwrap)
            .map(|item| (item.seq, item.line, item.raw))
            .collect()
    }

    fn marker(text: &str) -> RecordRules {
        RecordRules {
            end_marker: Some(text.as_bytes().to_vec()),
            ..RecordRules::default()
        }
    }

    #[test]
    fn end_marker_ends_the_input() {
        // GNU: `printf 'a\nb\nc\n' | parallel -E b echo` runs `a` only; a
        // line with blanks around `b` is no marker.
        let got = run(reader(b"a\nb\nc\n", Format::Lines), marker("b"));
        assert_eq!(got, [(1, 1, b"a".to_vec())]);
        let got = run(reader(b"a\n b\nb \nc", Format::Lines), marker("b"));
        assert_eq!(got.len(), 4);
        // The marker is compared before trimming.
        let rules = RecordRules {
            trim: Trim::Both,
            ..marker("b")
        };
        let got = run(reader(b" b \nb\nc\n", Format::Lines), rules);
        assert_eq!(got, [(1, 1, b"b".to_vec())]);
        // `:::` items too, as in GNU.
        let args: Vec<OsString> = ["a", "STOP", "c"].map(OsString::from).to_vec();
        let got = run(Reader::from_args(args, None), marker("STOP"));
        assert_eq!(got, [(1, 1, b"a".to_vec())]);
    }

    #[test]
    fn blank_records_are_skipped_with_their_numbers() {
        let rules = RecordRules {
            blanks: Blanks::Skip,
            ..RecordRules::default()
        };
        let got = run(reader(b"a\n  \n\n\tb\n", Format::Lines), rules);
        assert_eq!(got, [(1, 1, b"a".to_vec()), (2, 4, b"\tb".to_vec())]);
        let got = run(reader(b"a\n\n", Format::Lines), RecordRules::default());
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn counts_agree_with_the_reader() {
        let input = b"a\n\nEND\nb\n";
        let rules = RecordRules {
            blanks: Blanks::Skip,
            ..RecordRules::default()
        };
        let count = |delimiter: Option<&[u8]>, rules: &RecordRules| {
            count_items(
                io::Cursor::new(input.to_vec()),
                Format::Lines,
                delimiter,
                rules,
            )
            .unwrap()
        };
        assert_eq!(count(None, &RecordRules::default()), 4);
        assert_eq!(count(None, &rules), 3);
        assert_eq!(count(None, &marker("END")), 2);
        assert_eq!(count(Some(b"\n\n"), &RecordRules::default()), 2);
        assert_eq!(count(Some(b"E"), &rules), 2);
    }

    #[test]
    fn trim_applies_to_every_record() {
        let rules = RecordRules {
            trim: Trim::Left,
            ..RecordRules::default()
        };
        let raws: Vec<_> = run(reader(b" a \n\tb\n", Format::Lines), rules)
            .into_iter()
            .map(|(_, _, raw)| raw)
            .collect();
        assert_eq!(raws, byte_vecs(&["a ", "b"]));
    }
}
