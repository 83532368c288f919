//! Where a block ends: the pure part of `--pipe`. A cut sits between a
//! record end and a record start ([`Boundary`]); a block that starts at a
//! cut ends at the last cut within `--block` bytes of it, or, when a
//! record is longer than that, at the first cut after (nothing is ever
//! split mid-record); with `-N` at its Nth record end, and with `-L` only
//! after a whole number of L-line records. The stream reader asks a
//! [`Cutter`] as data arrives; the file reader asks [`Boundaries`] about the
//! few bytes it reads near each cut.

use memchr::memmem::{Finder, FinderRev};

use crate::pipe::{Boundary, PipeSpec};

/// Finds cuts in bytes: each occurrence of the end and start strings, the
/// cut between them.
#[derive(Debug, Clone)]
pub(crate) struct Boundaries {
    forward: Finder<'static>,
    backward: FinderRev<'static>,
    /// The end string's length: a cut is this far into an occurrence.
    end_len: usize,
    /// The start string's length: the bytes a cut needs after it.
    start_len: usize,
}

impl Boundaries {
    pub(crate) fn new(boundary: &Boundary) -> Boundaries {
        let pattern = boundary.pattern();
        Boundaries {
            forward: Finder::new(&pattern).into_owned(),
            backward: FinderRev::new(&pattern).into_owned(),
            end_len: boundary.end.len(),
            start_len: boundary.start.len(),
        }
    }

    /// The bytes a cut at the end of a span needs to be seen after it.
    pub(crate) fn lookahead(&self) -> usize {
        self.start_len
    }

    /// The end string's length: a cut is this far into an occurrence.
    pub(crate) fn end_len(&self) -> usize {
        self.end_len
    }

    pub(crate) fn pattern_len(&self) -> usize {
        self.end_len + self.start_len
    }

    /// The last cut in `data`, if it is at `min` or after (cuts are
    /// offsets in `data`; one needs its start string inside `data`).
    pub(crate) fn last(&self, data: &[u8], min: usize) -> Option<usize> {
        let cut = self.backward.rfind(data)? + self.end_len;
        (cut >= min).then_some(cut)
    }

    /// The first cut in `data` at or after `from`.
    pub(crate) fn first(&self, data: &[u8], from: usize) -> Option<usize> {
        let begin = from.saturating_sub(self.end_len);
        let mut at = begin;
        while at <= data.len() {
            let found = self.forward.find(&data[at..])? + at;
            let cut = found + self.end_len;
            if cut >= from {
                return Some(cut);
            }
            at = found + 1;
        }
        None
    }
}

/// Where a block ends, or that more data is needed to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The block is the first this many bytes.
    At(usize),
    /// Read more (the data so far holds no cut the rules accept).
    More,
}

/// How far one block has been searched, so that a long block is not
/// searched again from its start each time more of it arrives.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scan {
    /// Searched up to here.
    searched: usize,
    /// Forward search for a record longer than the block has begun.
    forward: bool,
    /// Record ends counted so far (`-N`, `-L`).
    ends: u64,
    /// The last cut within the block's size after a whole record (`-L`).
    last_whole: Option<usize>,
}

/// The block rules of one run, applied to a block's data from its start.
#[derive(Debug, Clone)]
pub(crate) struct Cutter {
    boundaries: Boundaries,
    size: usize,
    records: Option<u64>,
    lines: u64,
}

impl Cutter {
    pub(crate) fn new(spec: &PipeSpec) -> Cutter {
        Cutter {
            boundaries: Boundaries::new(&spec.boundary),
            size: usize::try_from(spec.block_size).unwrap_or(usize::MAX),
            records: spec.records,
            lines: spec.lines,
        }
    }

    /// How many bytes of a block to have before asking (by size: the block
    /// and the start string after it).
    pub(crate) fn wanted(&self) -> usize {
        self.size.saturating_add(self.boundaries.lookahead())
    }

    /// Where the block that starts at `data[0]` ends; `eof`: `data` is all
    /// that is left of the input. Never `At(0)`; at the end of the input,
    /// never `More`.
    pub(crate) fn cut(&self, data: &[u8], eof: bool, scan: &mut Scan) -> Cut {
        if data.is_empty() {
            return if eof { Cut::At(0) } else { Cut::More };
        }
        if self.records.is_some() || self.lines > 1 {
            return self.count(data, eof, scan);
        }
        if eof && data.len() <= self.size {
            return Cut::At(data.len());
        }
        if !scan.forward {
            if data.len() < self.wanted() && !eof {
                return Cut::More;
            }
            let window = &data[..data.len().min(self.wanted())];
            if let Some(cut) = self.boundaries.last(window, 1) {
                return Cut::At(cut);
            }
            // A record longer than the block: it grows to the record's end.
            scan.forward = true;
            scan.searched = self.size + 1;
        }
        match self.boundaries.first(data, scan.searched) {
            Some(cut) => Cut::At(cut),
            None if eof => Cut::At(data.len()),
            None => {
                let rescan = self.boundaries.pattern_len().saturating_sub(1);
                scan.searched = scan.searched.max(data.len().saturating_sub(rescan));
                Cut::More
            }
        }
    }

    /// `-N` and `-L`: count record ends from the block's start.
    fn count(&self, data: &[u8], eof: bool, scan: &mut Scan) -> Cut {
        let whole = self.records.map(|n| n.saturating_mul(self.lines));
        let mut from = scan.searched.max(1);
        while let Some(cut) = self.boundaries.first(data, from) {
            from = cut + 1;
            scan.searched = from;
            scan.ends += 1;
            if scan.ends % self.lines != 0 {
                continue;
            }
            match whole {
                Some(whole) if scan.ends == whole => return Cut::At(cut),
                Some(_) => {}
                None if cut <= self.size => scan.last_whole = Some(cut),
                None => return Cut::At(scan.last_whole.unwrap_or(cut)),
            }
        }
        if eof {
            // By size with -L, as GNU: what follows the last whole record
            // (fewer than L lines) is a block of its own.
            return match (whole, scan.last_whole) {
                (None, Some(cut)) if cut < data.len() => Cut::At(cut),
                _ => Cut::At(data.len()),
            };
        }
        let rescan = self.boundaries.pattern_len().saturating_sub(1);
        scan.searched = scan.searched.max(data.len().saturating_sub(rescan)).max(1);
        Cut::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::PipeOptions;

    fn cutter(block: &str, more: PipeOptions<'_>) -> Cutter {
        let spec = PipeSpec::from_options(&PipeOptions {
            pipe: true,
            block: Some(block),
            ..more
        })
        .unwrap()
        .unwrap();
        Cutter::new(&spec)
    }

    /// Cuts all of `data` as the stream reader does, handing the cutter
    /// `step` more bytes at a time.
    fn blocks(cutter: &Cutter, data: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let mut scan = Scan::default();
            let mut have = (start + step).min(data.len());
            loop {
                let eof = have == data.len();
                match cutter.cut(&data[start..have], eof, &mut scan) {
                    Cut::At(n) => {
                        assert!(n > 0, "empty block at {start}");
                        out.push(data[start..start + n].to_vec());
                        start += n;
                        break;
                    }
                    Cut::More => {
                        assert!(!eof);
                        have = (have + step).min(data.len());
                    }
                }
            }
        }
        out
    }

    fn text(blocks: &[Vec<u8>]) -> Vec<String> {
        blocks
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn by_size_at_the_last_line_end_within_the_block() {
        let c = cutter("6", PipeOptions::default());
        assert_eq!(
            text(&blocks(&c, b"a\nbb\nccc\nd\ne\n", 100)),
            ["a\nbb\n", "ccc\nd\n", "e\n"]
        );
        // No trailing newline: the last block is what is left.
        assert_eq!(text(&blocks(&c, b"a\nbb\nccc", 2)), ["a\nbb\n", "ccc"]);
        // A line longer than the block grows it, whatever the reads.
        for step in [1, 3, 100] {
            assert_eq!(
                text(&blocks(&c, b"0123456789\nab\n", step)),
                ["0123456789\n", "ab\n"],
                "step {step}"
            );
        }
    }

    #[test]
    fn recstart_and_recend() {
        let start = PipeOptions {
            recstart: Some(b">"),
            ..Default::default()
        };
        let c = cutter("4", start);
        assert_eq!(
            text(&blocks(&c, b">a\n>b\n>c\n", 1)),
            [">a\n", ">b\n", ">c\n"]
        );
        let both = PipeOptions {
            recstart: Some(b">"),
            recend: Some(b"\n"),
            ..Default::default()
        };
        let c = cutter("5", both);
        // `a>b` holds a start that no end precedes: no cut there.
        assert_eq!(text(&blocks(&c, b">a>b\n>c\n", 2)), [">a>b\n", ">c\n"]);
        let c = cutter(
            "3",
            PipeOptions {
                recend: Some(b"\n\n"),
                ..Default::default()
            },
        );
        assert_eq!(
            text(&blocks(&c, b"a\nb\n\nc\n\n", 1)),
            ["a\nb\n\n", "c\n\n"]
        );
    }

    #[test]
    fn fixed_length_records_without_an_end() {
        let c = cutter(
            "3",
            PipeOptions {
                recend: Some(b""),
                ..Default::default()
            },
        );
        assert_eq!(text(&blocks(&c, b"abcdefgh", 2)), ["abc", "def", "gh"]);
    }

    #[test]
    fn counting_records_and_lines() {
        let n2 = cutter(
            "1M",
            PipeOptions {
                records: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(
            text(&blocks(&n2, b"1\n2\n3\n4\n5", 1)),
            ["1\n2\n", "3\n4\n", "5"]
        );
        // -L 2: blocks of about 5 bytes, cut only after whole 2-line records.
        let l2 = cutter(
            "5",
            PipeOptions {
                lines: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(
            text(&blocks(&l2, b"1\n2\n3\n4\n5\n6\n", 2)),
            ["1\n2\n", "3\n4\n", "5\n6\n"]
        );
        // The lines after the last whole record are a block of their own
        // (GNU: `seq 10 | parallel --pipe -L 3 wc -l` gives 9 and 1).
        let l3 = cutter(
            "1M",
            PipeOptions {
                lines: Some(3),
                ..Default::default()
            },
        );
        let ten: Vec<u8> = (1..=10)
            .flat_map(|n| format!("{n}\n").into_bytes())
            .collect();
        assert_eq!(
            blocks(&l3, &ten, 4)
                .iter()
                .map(|b| b.iter().filter(|&&c| c == b'\n').count())
                .collect::<Vec<_>>(),
            [9, 1]
        );
        // A record of 2 lines longer than the block is one block.
        let l2 = cutter(
            "2",
            PipeOptions {
                lines: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(text(&blocks(&l2, b"aa\nbb\ncc\n", 1)), ["aa\nbb\n", "cc\n"]);
        let both = cutter(
            "1M",
            PipeOptions {
                records: Some(2),
                lines: Some(3),
                ..Default::default()
            },
        );
        let data: Vec<u8> = (1..=8)
            .flat_map(|n| format!("{n}\n").into_bytes())
            .collect();
        assert_eq!(
            text(&blocks(&both, &data, 3)),
            ["1\n2\n3\n4\n5\n6\n", "7\n8\n"]
        );
    }

    /// The reference: every cut, then the rules applied to that list.
    fn reference(data: &[u8], size: usize, pattern_end: usize, pattern: &[u8]) -> Vec<usize> {
        let cuts: Vec<usize> = (0..data.len())
            .filter(|&i| data[i..].starts_with(pattern))
            .map(|i| i + pattern_end)
            .filter(|&c| c > 0)
            .collect();
        let mut out = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let within = cuts.iter().rev().find(|&&c| c > start && c <= start + size);
            let end = match within {
                _ if data.len() - start <= size => data.len(),
                Some(&c) => c,
                None => cuts
                    .iter()
                    .find(|&&c| c > start + size)
                    .copied()
                    .unwrap_or(data.len()),
            };
            out.push(end - start);
            start = end;
        }
        out
    }

    #[test]
    fn random_inputs_cut_as_the_reference_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..400 {
            let len = (next() % 200) as usize;
            let alphabet: &[u8] = if round % 2 == 0 { b"ab\n" } else { b"a>\n\n" };
            let data: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let size = 1 + (next() % 40) as usize;
            let step = 1 + (next() % 50) as usize;
            let (options, end, pattern): (PipeOptions<'_>, usize, &[u8]) = match round % 4 {
                0 => (PipeOptions::default(), 1, b"\n"),
                3 => (
                    PipeOptions {
                        recend: Some(b""),
                        ..Default::default()
                    },
                    0,
                    b"",
                ),
                1 => (
                    PipeOptions {
                        recstart: Some(b">"),
                        ..Default::default()
                    },
                    0,
                    b">",
                ),
                _ => (
                    PipeOptions {
                        recstart: Some(b">"),
                        recend: Some(b"\n"),
                        ..Default::default()
                    },
                    1,
                    b"\n>",
                ),
            };
            let c = cutter(&size.to_string(), options);
            let got: Vec<usize> = blocks(&c, &data, step).iter().map(Vec::len).collect();
            assert_eq!(
                got,
                reference(&data, size, end, pattern),
                "round {round} size {size} step {step} data {:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn boundaries_in_a_window() {
        let b = Boundaries::new(&Boundary {
            end: b"\n".to_vec(),
            start: Vec::new(),
        });
        assert_eq!(b.last(b"ab\ncd\nef", 1), Some(6));
        assert_eq!(b.last(b"abcdef", 1), None);
        assert_eq!(b.first(b"a\nb\nc", 3), Some(4));
        assert_eq!(b.first(b"a\nb\nc", 5), None);
        let s = Boundaries::new(&Boundary {
            end: Vec::new(),
            start: b">".to_vec(),
        });
        // A start at the block's own start is no cut.
        assert_eq!(s.last(b">abc", 1), None);
        assert_eq!(s.last(b">abc", 0), Some(0));
        assert_eq!(s.first(b">a>b", 1), Some(2));
    }
}
