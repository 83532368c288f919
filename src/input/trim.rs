//! `--trim l|r|lr|n`: white space taken off the start and/or end of each
//! value, as GNU parallel's `--trim` (its Perl `\s`: space, `\t`, `\n`,
//! `\v`, `\f`, `\r`; bytes beyond ASCII are never white space here). A
//! record split by `--colsep` has each column trimmed, and the whole
//! record (`{}`) too.

use crate::item::ItemData;

/// Which ends of a value lose their white space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Trim {
    /// Values are kept as they are (the default).
    #[default]
    None,
    Left,
    Right,
    Both,
}

impl Trim {
    /// The `--trim` value: `n`, `l`, `r`, `lr` or `rl`.
    pub(crate) fn parse(text: &str) -> Result<Trim, String> {
        match text {
            "n" => Ok(Trim::None),
            "l" => Ok(Trim::Left),
            "r" => Ok(Trim::Right),
            "lr" | "rl" => Ok(Trim::Both),
            _ => Err(format!("`{text}` is not one of n, l, r, lr, rl")),
        }
    }

    /// `value` without the white space this trim removes.
    #[cfg(test)]
    fn apply(self, value: &[u8]) -> &[u8] {
        let (start, end) = self.bounds(value);
        &value[start..end]
    }

    /// Where the kept part of `value` starts and ends.
    fn bounds(self, value: &[u8]) -> (usize, usize) {
        let start = match self {
            Trim::Left | Trim::Both => value
                .iter()
                .position(|b| !is_space(*b))
                .unwrap_or(value.len()),
            Trim::None | Trim::Right => 0,
        };
        let end = match self {
            Trim::Right | Trim::Both => value[start..]
                .iter()
                .rposition(|b| !is_space(*b))
                .map_or(start, |at| start + at + 1),
            Trim::None | Trim::Left => value.len(),
        };
        (start, end)
    }

    /// Trims a record's bytes and its columns in place.
    pub(crate) fn record(self, raw: &mut Vec<u8>, data: &mut ItemData) {
        if self == Trim::None {
            return;
        }
        trim_vec(self, raw);
        if let ItemData::Columns(fields) = data {
            for field in fields {
                trim_vec(self, field);
            }
        }
    }
}

fn trim_vec(trim: Trim, value: &mut Vec<u8>) {
    let (start, end) = trim.bounds(value);
    value.truncate(end);
    value.drain(..start);
}

/// White space as GNU parallel's Perl `\s` sees it in bytes.
pub(crate) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether a value is empty or only white space (`-r` skips such records).
pub(crate) fn is_blank(value: &[u8]) -> bool {
    value.iter().all(|b| is_space(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_gnu_parallel() {
        // GNU's examples: " a bc " -> "a bc " (l), " a bc" (r), "a bc" (lr).
        let value = b" a bc ";
        assert_eq!(Trim::None.apply(value), b" a bc ");
        assert_eq!(Trim::Left.apply(value), b"a bc ");
        assert_eq!(Trim::Right.apply(value), b" a bc");
        assert_eq!(Trim::Both.apply(value), b"a bc");
        assert_eq!(Trim::Both.apply(b"\t\x0b\x0c\r\n a \t"), b"a");
        assert_eq!(Trim::Both.apply(b"   "), b"");
        assert_eq!(Trim::Left.apply(b""), b"");
        // No-break space and other bytes beyond ASCII stay.
        assert_eq!(Trim::Both.apply("\u{a0}x".as_bytes()), "\u{a0}x".as_bytes());
        assert_eq!(Trim::Both.apply(b"\xff "), b"\xff");
    }

    #[test]
    fn parses_every_spelling() {
        for (text, trim) in [
            ("n", Trim::None),
            ("l", Trim::Left),
            ("r", Trim::Right),
            ("lr", Trim::Both),
            ("rl", Trim::Both),
        ] {
            assert_eq!(Trim::parse(text), Ok(trim));
        }
        assert_eq!(
            Trim::parse("both").unwrap_err(),
            "`both` is not one of n, l, r, lr, rl"
        );
    }

    #[test]
    fn trims_records_and_columns() {
        let mut raw = b" a , b ".to_vec();
        let mut data = ItemData::Columns(vec![b" a ".to_vec(), b" b ".to_vec()]);
        Trim::Both.record(&mut raw, &mut data);
        assert_eq!(raw, b"a , b");
        assert_eq!(data, ItemData::Columns(vec![b"a".to_vec(), b"b".to_vec()]));
        let mut raw = b" x".to_vec();
        let mut data = ItemData::Plain;
        Trim::Right.record(&mut raw, &mut data);
        assert_eq!(raw, b" x");
    }

    #[test]
    fn blank_values() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" x "));
        assert!(!is_blank("\u{a0}".as_bytes()));
    }
}
