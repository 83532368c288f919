//! Commands shown to people: a [`CommandSpec`] as copy-pasteable shell
//! text, exact, with control bytes escaped where asked (see
//! [`crate::display`]).

use std::os::unix::ffi::OsStrExt;

use super::{CommandSpec, shell_quote};
use crate::display::{Controls, ansi_c_quote, needs_escape};

/// One shell word for `bytes`: `$'...'` when escaping and the bytes need
/// it, else the usual quoting.
pub fn shell_word(bytes: &[u8], controls: Controls) -> Vec<u8> {
    if controls == Controls::Escape && needs_escape(bytes) {
        ansi_c_quote(bytes)
    } else {
        shell_quote(bytes)
    }
}

/// A command as shell text. Escaping, any word holding control bytes is
/// written `$'...'`; in shell mode, a command line holding them is shown as
/// what runs, `/bin/sh -c $'LINE'`. Raw, the bytes are exact
/// and raw (for a pipe or `--print0`).
pub fn command_line(spec: &CommandSpec, controls: Controls) -> Vec<u8> {
    if spec.shell {
        let line = spec.args.last().map_or(&[][..], |l| l.as_bytes());
        if controls == Controls::Raw || !needs_escape(line) {
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
    let word = shell_word(program, controls);
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
        out.extend_from_slice(&shell_word(arg.as_bytes(), controls));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Controls::{Escape, Raw};

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
    fn command_lines() {
        let spec = argv(&[b"echo", b"a b", b"x\x1by"]);
        assert_eq!(command_line(&spec, Escape), b"echo 'a b' $'x\\x1by'");
        assert_eq!(command_line(&spec, Raw), b"echo 'a b' 'x\x1by'");
        let shell = CommandSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo 'a\nb'".into()],
            shell: true,
        };
        assert_eq!(command_line(&shell, Raw), b"echo 'a\nb'");
        assert_eq!(
            command_line(&shell, Escape),
            b"/bin/sh -c $'echo \\'a\\nb\\''"
        );
        let plain = CommandSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo 'a b'".into()],
            shell: true,
        };
        assert_eq!(command_line(&plain, Escape), b"echo 'a b'");
        assert_eq!(command_line(&argv(&[b"A=b", b""]), Escape), b"'A=b' ''");
    }
}
