//! The command that continues a run: `--resume`, or `--retry-failed`.

use std::ffi::OsString;
use std::path::Path;

use crate::display::Controls;

/// Which of the options that pick the journal a run was given (parsed, not
/// guessed from the words: a command word or an item may be `--resume`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    /// `--resume`.
    pub resume: bool,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// `--journal FILE`.
    pub journal: bool,
}

/// How the printed command continues a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// `--resume`: run what has not finished.
    Resume,
    /// `--retry-failed`: that, and the failed items again.
    RetryFailed,
}

/// The exact command that continues a run: the program name, `--resume`
/// or `--retry-failed` (unless given) and `--journal PATH` (unless given),
/// then the original words. Whether an option was given comes from the
/// parsed arguments ([`Given`]), never from matching words: the command
/// and its `:::` items may hold any word. The new options go right after
/// the program name, where they can be nothing but fanout's options (not
/// the value of another option, not part of the command). Each word is
/// quoted for bash with its bytes intact ([`crate::template::display::shell_word`]), so the line
/// pastes back into bash as exactly the same arguments.
pub fn resume_command(argv: &[OsString], given: Given, how: Continue, journal: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut words: Vec<Vec<u8>> = Vec::with_capacity(argv.len() + 3);
    words.push(
        argv.first()
            .map_or_else(|| b"fanout".to_vec(), |a| a.as_bytes().to_vec()),
    );
    match how {
        Continue::Resume if !given.resume && !given.retry_failed => {
            words.push(b"--resume".to_vec());
        }
        Continue::RetryFailed if !given.retry_failed => words.push(b"--retry-failed".to_vec()),
        _ => {}
    }
    if !given.journal {
        words.push(b"--journal".to_vec());
        words.push(journal.as_os_str().as_bytes().to_vec());
    }
    let rest = argv.get(1..).unwrap_or_default();
    words.extend(rest.iter().map(|a| a.as_bytes().to_vec()));
    // Words with control bytes or invalid UTF-8 become `$'...'`: exact
    // in bash, and nothing raw reaches the terminal.
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            String::from_utf8_lossy(&crate::template::display::shell_word(w, Controls::Escape))
                .into_owned()
        })
        .collect();
    quoted.join(" ")
}
