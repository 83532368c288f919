//! `--colsep SEP`: where a record is cut into columns. As in GNU parallel,
//! SEP is a regular expression (`--colsep ' +'`, `--colsep '\t'`,
//! `--colsep '[,;]'`); one without regex syntax (`,`, `::`, `\t`, `\|`) is
//! matched as the literal bytes it stands for, with memchr's substring
//! search (the fast path: most separators are literal). A regex is matched
//! on bytes, never decoded (`.` is any byte, `\d` ASCII digits), and a
//! capture group adds what it matched as a column after each separator, as
//! Perl's `split` does. A pattern that can match the empty string (`|`,
//! `a*`) is refused: GNU parallel would cut between every byte, which is
//! never what `--colsep '|'` means.

use memchr::memmem::Finder;
use regex::bytes::{Regex, RegexBuilder};

/// A compiled `--colsep`: literal bytes or a regular expression.
#[derive(Debug, Clone)]
pub(crate) enum ColumnSplitter {
    Literal(Box<Finder<'static>>),
    Regex(Regex),
}

/// Bytes that have a meaning in a regular expression.
const REGEX_SYNTAX: &[u8] = b"\\.+*?()|[]{}^$";

impl ColumnSplitter {
    /// Compiles `pattern`; `Err` says why it is no separator.
    pub(crate) fn new(pattern: &[u8]) -> Result<ColumnSplitter, String> {
        if let Some(literal) = literal_of(pattern) {
            return Ok(ColumnSplitter::Literal(Box::new(
                Finder::new(&literal).into_owned(),
            )));
        }
        let text = std::str::from_utf8(pattern)
            .map_err(|_| "a regular expression must be UTF-8".to_owned())?;
        let regex = RegexBuilder::new(text)
            .unicode(false)
            .build()
            .map_err(|e| {
                // The parser's message draws the pattern over several lines:
                // keep its last line, which says what is wrong.
                let full = e.to_string();
                let why = full
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_owned();
                format!("`{text}` is not a regular expression fanout reads: {why}")
            })?;
        // A separator that matches nothing somewhere (`|`, `a*`, `\b`, `^`)
        // would cut between bytes, or never where meant.
        let samples: [&[u8]; 5] = [b"", b"a", b"ab", b"a b", b"a,b;c"];
        if samples
            .iter()
            .any(|s| regex.find_iter(s).any(|m| m.is_empty()))
        {
            return Err(format!(
                "`{text}` matches the empty string, so it would cut between every byte; \
                 escape what should be literal (`\\|`, `\\*`, `[|]`)"
            ));
        }
        Ok(ColumnSplitter::Regex(regex))
    }

    /// `raw`'s columns: the bytes between separators (an empty literal
    /// separator cuts nothing: one column; the empty ones
    /// included, also after a final separator), with a regex's captures
    /// after each separator (a group that took no part adds an empty column).
    pub(crate) fn split(&self, raw: &[u8]) -> Vec<Vec<u8>> {
        let mut fields = Vec::new();
        let mut start = 0;
        match self {
            ColumnSplitter::Literal(finder) => {
                let width = finder.needle().len();
                if width == 0 {
                    return vec![raw.to_vec()];
                }
                for at in finder.find_iter(raw) {
                    fields.push(raw[start..at].to_vec());
                    start = at + width;
                }
            }
            ColumnSplitter::Regex(regex) => {
                for captures in regex.captures_iter(raw) {
                    let Some(whole) = captures.get(0) else {
                        continue;
                    };
                    // `\b` and the like match nothing: no cut there.
                    if whole.is_empty() {
                        continue;
                    }
                    fields.push(raw[start..whole.start()].to_vec());
                    for group in captures.iter().skip(1) {
                        fields.push(group.map_or_else(Vec::new, |g| g.as_bytes().to_vec()));
                    }
                    start = whole.end();
                }
            }
        }
        fields.push(raw[start..].to_vec());
        fields
    }

    /// Whether the fast literal search is used (for tests).
    #[cfg(test)]
    fn is_literal(&self) -> bool {
        matches!(self, ColumnSplitter::Literal(_))
    }
}

/// The bytes `pattern` matches when it holds no regex syntax, only plain
/// bytes and escapes that stand for one byte (`\t`, `\n`, `\r`, `\\`, a
/// backslash before punctuation); `None` when it is a real regex.
fn literal_of(pattern: &[u8]) -> Option<Vec<u8>> {
    let mut literal = Vec::with_capacity(pattern.len());
    let mut bytes = pattern.iter();
    while let Some(&byte) = bytes.next() {
        if byte == b'\\' {
            let escaped = *bytes.next()?;
            literal.push(match escaped {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                // `\,` `\|` `\.`: punctuation stands for itself.
                b if b.is_ascii_punctuation() => b,
                // `\d`, `\s`, `\x41`, `\b`...: a regex.
                _ => return None,
            });
        } else if REGEX_SYNTAX.contains(&byte) {
            return None;
        } else {
            literal.push(byte);
        }
    }
    Some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pattern: &str, raw: &str) -> Vec<String> {
        ColumnSplitter::new(pattern.as_bytes())
            .unwrap()
            .split(raw.as_bytes())
            .into_iter()
            .map(|f| String::from_utf8(f).unwrap())
            .collect()
    }

    #[test]
    fn literal_separators_take_the_fast_path() {
        for pattern in [
            ",", "::", "\\t", "\\|", "\\.", "a b", "é", "-", "\\\\", "#", "%",
        ] {
            let splitter = ColumnSplitter::new(pattern.as_bytes()).unwrap();
            assert!(splitter.is_literal(), "{pattern}");
        }
        for pattern in [
            " +", "\\s", "[,;]", "a|b", ".", "\\d+", "(-)", "^x", "x$", "\\x41",
        ] {
            let splitter = ColumnSplitter::new(pattern.as_bytes()).unwrap();
            assert!(!splitter.is_literal(), "{pattern}");
        }
        assert_eq!(literal_of(b"\\t"), Some(b"\t".to_vec()));
        assert_eq!(literal_of(b"a\\|b"), Some(b"a|b".to_vec()));
    }

    #[test]
    fn splits_as_gnu_parallel_does() {
        // Each row: what `parallel --trim n --colsep SEP` gives (GNU parallel 20221122).
        assert_eq!(split(",", "a,b,"), ["a", "b", ""]);
        assert_eq!(split("::", "a:::b"), ["a", ":b"]);
        assert_eq!(split("\\t", "a\tb c"), ["a", "b c"]);
        assert_eq!(split(" +", "a   b c"), ["a", "b", "c"]);
        assert_eq!(split("\\|", "a|b|c"), ["a", "b", "c"]);
        assert_eq!(split(".", "a.b"), ["", "", "", ""]);
        assert_eq!(split("\\d+", "a1b22c"), ["a", "b", "c"]);
        assert_eq!(split("(?i)x", "aXbxc"), ["a", "b", "c"]);
        assert_eq!(split("(-)", "a-b"), ["a", "-", "b"]);
        assert_eq!(split("(-)|(=)", "a=b"), ["a", "", "=", "b"]);
        assert_eq!(split(",", ""), [""]);
        assert_eq!(split("[,;]", "x"), ["x"]);
    }

    #[test]
    fn bytes_are_matched_not_decoded() {
        let splitter = ColumnSplitter::new(b"\\s+").unwrap();
        assert_eq!(
            splitter.split(b"\xff a\t\xfe"),
            [b"\xff".to_vec(), b"a".to_vec(), b"\xfe".to_vec()]
        );
        assert_eq!(split("é+", "aééb"), ["a", "b"]);
    }

    #[test]
    fn refused_patterns() {
        let err = |p: &str| ColumnSplitter::new(p.as_bytes()).unwrap_err();
        // The configuration refuses an empty `--colsep`; here it cuts nothing.
        assert_eq!(
            ColumnSplitter::new(b"").unwrap().split(b"a,b"),
            [b"a,b".to_vec()]
        );
        assert!(
            err("|").contains("matches the empty string"),
            "{}",
            err("|")
        );
        assert!(err("a*").contains("matches the empty string"));
        // Empty matches inside the text, not at its start, count too.
        assert!(err("\\b").contains("matches the empty string"));
        assert!(err("\\b{start}").contains("matches the empty string"));
        // The parser's drawing of the pattern is cut to its reason.
        assert_eq!(err("(").lines().count(), 1, "{}", err("("));
        assert!(err("(").contains("is not a regular expression"));
        // Perl's look-around is not in the regex crate.
        assert!(err("(?=,)").contains("is not a regular expression"));
        assert!(ColumnSplitter::new(b"\xff+").unwrap_err().contains("UTF-8"));
    }
}
