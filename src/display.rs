//! How commands built from items are shown to people: as shell text that
//! stays exact, with control characters (and invalid UTF-8) written as
//! `$'...'` escapes instead of raw, so an item can neither send escape
//! sequences to the terminal (OSC 52 writes the clipboard) nor break a line
//! that is meant to be one. `$'...'` is understood by bash, zsh, ksh and
//! POSIX.1-2024 sh; dash does not know it, so text meant for a pipe into
//! `sh` keeps its bytes raw (the caller decides).

use std::os::unix::ffi::OsStrExt;

use crate::template::{CommandSpec, shell_quote};

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

/// One shell word for `bytes`: `$'...'` when `escape` is on and the bytes
/// need it, else the usual quoting.
pub fn shell_word(bytes: &[u8], escape: bool) -> Vec<u8> {
    if escape && needs_escape(bytes) {
        ansi_c_quote(bytes)
    } else {
        shell_quote(bytes)
    }
}

/// A command as shell text. With `escape`, any word holding control bytes is
/// written `$'...'`; in shell mode, a command line holding them is shown as
/// what runs, `/bin/sh -c $'LINE'`. Without `escape`, the bytes are exact
/// and raw (for a pipe or `--print0`).
pub fn command_line(spec: &CommandSpec, escape: bool) -> Vec<u8> {
    if spec.shell {
        let line = spec.args.last().map_or(&[][..], |l| l.as_bytes());
        if !escape || !needs_escape(line) {
            return line.to_vec();
        }
        let mut out = shell_quote(spec.program.as_bytes());
        for arg in &spec.args[..spec.args.len().saturating_sub(1)] {
            out.push(b' ');
            out.extend_from_slice(&shell_quote(arg.as_bytes()));
        }
        out.push(b' ');
        out.extend_from_slice(&ansi_c_quote(line));
        return out;
    }
    let mut out = Vec::new();
    let program = spec.program.as_bytes();
    // A bare first word holding `=` would read as a variable assignment.
    let word = shell_word(program, escape);
    if program.contains(&b'=') && word == program {
        // Plain (no quote inside): quoting it whole is exact.
        out.push(b'\'');
        out.extend_from_slice(&word);
        out.push(b'\'');
    } else {
        out.extend_from_slice(&word);
    }
    for arg in &spec.args {
        out.push(b' ');
        out.extend_from_slice(&shell_word(arg.as_bytes(), escape));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&[u8]]) -> CommandSpec {
        use std::ffi::OsStr;
        CommandSpec {
            program: OsStr::from_bytes(words[0]).to_owned(),
            args: words[1..]
                .iter()
                .map(|w| OsStr::from_bytes(w).to_owned())
                .collect(),
            shell: false,
        }
    }

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

    #[test]
    fn command_lines() {
        let spec = argv(&[b"echo", b"a b", b"x\x1by"]);
        assert_eq!(command_line(&spec, true), b"echo 'a b' $'x\\x1by'");
        assert_eq!(command_line(&spec, false), b"echo 'a b' 'x\x1by'");
        let shell = CommandSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo 'a\nb'".into()],
            shell: true,
        };
        assert_eq!(command_line(&shell, false), b"echo 'a\nb'");
        assert_eq!(
            command_line(&shell, true),
            b"/bin/sh -c $'echo \\'a\\nb\\''"
        );
        let plain = CommandSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo 'a b'".into()],
            shell: true,
        };
        assert_eq!(command_line(&plain, true), b"echo 'a b'");
        assert_eq!(command_line(&argv(&[b"A=b", b""]), true), b"'A=b' ''");
    }
}
