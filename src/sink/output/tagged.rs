//! `--tag`: every line of a job's output prefixed with its item and a tab.
//! Output may arrive in pieces (streamed lines, a capture read in bounded
//! chunks), so the writers carry whether the stream is at a line start.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

/// The `--tag` prefix of an item: its text with control characters and
/// invalid UTF-8 escaped (so an item cannot forge lines or send terminal
/// escapes), at full length.
pub fn tag_prefix(raw: &[u8]) -> Vec<u8> {
    crate::item::escaped(raw, usize::MAX).into_bytes()
}

/// Copies a capture file from its current position, prefixing every line
/// with `tag` and a tab if given, in bounded pieces (a line is never held
/// whole).
pub fn copy_tagged(file: &File, out: &mut dyn Write, tag: Option<&[u8]>) -> io::Result<()> {
    let Some(tag) = tag else {
        let mut file = file;
        io::copy(&mut file, out)?;
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut at_start = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let n = buf.len();
        write_tagged(buf, out, Some((tag, &mut at_start)))?;
        reader.consume(n);
    }
}

/// Writes `bytes`, prefixing every line with `tag` and a tab if given.
/// `bytes` may be a piece of a longer stream: the prefix goes only where a
/// line starts, and the flag carries that state from piece to piece.
pub fn write_tagged(
    bytes: &[u8],
    out: &mut dyn Write,
    tag: Option<(&[u8], &mut bool)>,
) -> io::Result<()> {
    let Some((tag, at_start)) = tag else {
        return out.write_all(bytes);
    };
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if *at_start {
            out.write_all(tag)?;
            out.write_all(b"\t")?;
        }
        out.write_all(line)?;
        *at_start = line.ends_with(b"\n");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_lines() {
        let mut out = Vec::new();
        let mut at_start = true;
        write_tagged(b"a\nb\nc", &mut out, Some((b"x y", &mut at_start))).unwrap();
        assert_eq!(out, b"x y\ta\nx y\tb\nx y\tc");
        assert!(!at_start);
        // The rest of a line that came in pieces gets no second prefix.
        write_tagged(b"c\nd", &mut out, Some((b"x y", &mut at_start))).unwrap();
        assert_eq!(out, b"x y\ta\nx y\tb\nx y\tcc\nx y\td");
        let mut out = Vec::new();
        write_tagged(b"a\n", &mut out, None).unwrap();
        assert_eq!(out, b"a\n");
    }

    #[test]
    fn tag_prefix_escapes_controls() {
        assert_eq!(tag_prefix(b"a\nb"), b"a\\nb");
        assert_eq!(tag_prefix(b"\x1b]52;c;x\x07"), b"\\u{1b}]52;c;x\\u{7}");
        assert_eq!(tag_prefix(b"n\xe9"), b"n\\xe9");
        assert_eq!(tag_prefix("caf\u{e9}".as_bytes()), "caf\u{e9}".as_bytes());
    }
}
