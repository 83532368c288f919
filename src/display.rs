//! How commands built from items are shown to people: as shell text that
//! stays exact, with control characters (and invalid UTF-8) written as
//! `$'...'` escapes instead of raw, so an item can neither send escape
//! sequences to the terminal (OSC 52 writes the clipboard) nor break a line
//! that is meant to be one. `$'...'` is understood by bash, zsh, ksh and
//! POSIX.1-2024 sh; dash does not know it, so text meant for a pipe into
//! `sh` keeps its bytes raw (the caller decides). This module escapes bytes;
//! `template::display` shows whole commands with it.

/// Whether control bytes are shown as `$'...'` escapes or kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controls {
    /// `$'...'` escapes: for a terminal, for messages.
    Escape,
    /// The exact bytes: for a pipe into `sh`, for `--print0`.
    Raw,
}

/// A character that must not reach a terminal raw: a control character
/// (C0, DEL, C1), or an invisible one that changes how text around it is
/// shown (bidirectional overrides and isolates, zero-width characters, the
/// line and paragraph separators, the byte order mark), so an item cannot
/// make a tag or a summary line read as something else.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{061C}'
        )
}

/// Whether `bytes` hold anything a terminal could act on or show wrongly:
/// control characters (C0, DEL, C1) or bytes that are not UTF-8.
pub fn needs_escape(bytes: &[u8]) -> bool {
    bytes
        .utf8_chunks()
        .any(|chunk| !chunk.invalid().is_empty() || chunk.valid().chars().any(is_unsafe_char))
}

/// `bytes` as one `$'...'` word: `\\`, `\'`, `\n`, `\t`, `\r`, and `\xNN`
/// for other control characters and for invalid UTF-8; the rest as it is.
pub fn ansi_c_quote(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 3);
    out.extend_from_slice(b"$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\'' => out.extend_from_slice(b"\\'"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if is_unsafe_char(c) => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    out.push(b'\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_needs_it() {
        assert!(!needs_escape("a b 'c' é".as_bytes()));
        assert!(needs_escape(b"a\nb"));
        assert!(needs_escape(b"\x1b]52;c;eA==\x07"));
        assert!(needs_escape(b"\xe9"));
        assert!(needs_escape("\u{9b}".as_bytes()));
        assert_eq!(
            ansi_c_quote(b"a\nb'\\\x1b\xe9"),
            b"$'a\\nb\\'\\\\\\x1b\\xe9'"
        );
        assert_eq!(ansi_c_quote("\u{9b}x".as_bytes()), b"$'\\xc2\\x9bx'");
    }
}
