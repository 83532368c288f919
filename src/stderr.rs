//! Writing to fanout's own stderr without ever panicking. `eprintln!`
//! panics when the write fails (`2>/dev/full`, a closed pipe); a message that
//! cannot be written has nowhere left to go, so it is dropped, and the exit
//! code still says how the run ended. Use [`errln!`](crate::errln) for lines.

use std::fmt;
use std::io::{self, Write};

/// Writes one line (the message and `\n`) to stderr, ignoring write errors.
pub fn line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Writes `text` as it is to stderr, ignoring write errors.
pub(crate) fn text(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// `eprintln!` that never panics: a write error on stderr is ignored.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stderr::line(format_args!($($arg)*))
    };
}
