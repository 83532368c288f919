//! Where job output goes: [`Target`]. A run writes to fanout's own stdout
//! and stderr through [`StdStreams`], which keeps the progress bars out of
//! the way and lets the kernel copy large captures; tests swap in
//! [`Buffer`] and read back exactly what a run would have written.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use indicatif::MultiProgress;

use super::tagged::{copy_tagged, write_tagged};

/// Job output's destination. Its `Write` is job stdout, in batches (the
/// output sink buffers in front of it); captures and stderr have their own
/// calls so a real target can copy with the kernel and move the bars.
pub trait Target: Write + Send {
    /// Copies a whole capture of `len` bytes, positioned at its start, to
    /// stdout (the batch buffer in front was flushed first).
    fn stdout_file(&mut self, file: &File, len: u64) -> io::Result<()>;
    /// Copies a capture to stderr, tagging its lines if `tag` is given.
    fn stderr_file(&mut self, file: &File, len: u64, tag: Option<&[u8]>) -> io::Result<()>;
    /// Writes a streamed piece of a job's stderr.
    fn stderr_chunk(&mut self, bytes: &[u8], tag: Option<(&[u8], &mut bool)>) -> io::Result<()>;
}

/// Nowhere: `--results DIR` saves job output in files instead of printing
/// it (GNU parallel prints nothing either).
pub struct Discard;

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Target for Discard {
    fn stdout_file(&mut self, _file: &File, _len: u64) -> io::Result<()> {
        Ok(())
    }

    fn stderr_file(&mut self, _file: &File, _len: u64, _tag: Option<&[u8]>) -> io::Result<()> {
        Ok(())
    }

    fn stderr_chunk(&mut self, _bytes: &[u8], _tag: Option<(&[u8], &mut bool)>) -> io::Result<()> {
        Ok(())
    }
}

/// fanout's stdout and stderr. When stdout is the terminal the bars are
/// drawn on, every write that reaches it is made with the bars erased first
/// and redrawn after (indicatif's `suspend`), so job output lands above them
/// and the bars never overwrite it. Elsewhere (a pipe, a file) writes go
/// straight through: no redraw per write.
///
/// A line left unfinished on that terminal would be erased by the next
/// redraw (the bars are drawn from the cursor's line), so there the target
/// writes up to the last newline and holds the rest until more comes or the
/// batch is flushed, which ends it with a newline. Only the screen gets that
/// newline; a pipe or a file gets the bytes exactly. The same holds for
/// stderr whenever bars are shown.
pub struct StdStreams {
    /// The bars, when stdout is their terminal.
    stdout_bars: Option<MultiProgress>,
    /// The bars, when they are shown (on stderr).
    bars: Option<MultiProgress>,
    /// The unfinished last line, at the bars' terminal only.
    partial: Vec<u8>,
}

/// The longest unfinished line [`StdStreams`] holds back at the terminal;
/// a longer one is written with a line break after this much.
const MAX_HELD_LINE: usize = 64 * 1024;

impl StdStreams {
    /// `bars`: the progress bars, if shown; `stdout_is_terminal`: whether
    /// stdout is the terminal they are drawn on.
    pub fn new(bars: Option<MultiProgress>, stdout_is_terminal: bool) -> StdStreams {
        StdStreams {
            stdout_bars: bars.clone().filter(|_| stdout_is_terminal),
            bars,
            partial: Vec::new(),
        }
    }

    /// Runs `f`, which writes to stdout, with the bars out of the way.
    fn around_stdout<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.stdout_bars {
            Some(bars) => bars.suspend(f),
            None => f(),
        }
    }

    /// Runs `f`, which writes to stderr, with the bars out of the way.
    fn around_stderr<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bars {
            Some(bars) => bars.suspend(f),
            None => f(),
        }
    }
}

impl Write for StdStreams {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stdout_bars.is_some() {
            let whole = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
            if whole == 0 && self.partial.len() + buf.len() <= MAX_HELD_LINE {
                self.partial.extend_from_slice(buf);
                return Ok(buf.len());
            }
            let (head, tail) = buf.split_at(whole);
            let held = std::mem::take(&mut self.partial);
            let ended = if whole == 0 { &b"\n"[..] } else { &[] };
            self.around_stdout(|| {
                let mut out = io::stdout().lock();
                out.write_all(&held)?;
                out.write_all(if whole == 0 { buf } else { head })?;
                out.write_all(ended)?;
                out.flush()
            })?;
            if whole > 0 {
                self.partial.extend_from_slice(tail);
            }
            return Ok(buf.len());
        }
        let mut out = io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.partial);
        self.around_stdout(|| {
            let mut out = io::stdout().lock();
            if !held.is_empty() {
                out.write_all(&held)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        })
    }
}

impl Target for StdStreams {
    fn stdout_file(&mut self, file: &File, len: u64) -> io::Result<()> {
        // Let the kernel move it (copy_file_range, splice or sendfile),
        // never through our memory.
        let end = self.stdout_bars.is_some() && ends_mid_line(file, len);
        self.around_stdout(|| {
            let mut stdout = io::stdout().lock();
            io::copy(&mut &*file, &mut stdout)?;
            if end {
                stdout.write_all(b"\n")?;
            }
            stdout.flush()
        })
    }

    fn stderr_file(&mut self, file: &File, len: u64, tag: Option<&[u8]>) -> io::Result<()> {
        let end = self.bars.is_some() && ends_mid_line(file, len);
        let mut err = io::stderr().lock();
        self.around_stderr(|| {
            match tag {
                None => io::copy(&mut &*file, &mut err).map(drop),
                Some(_) => copy_tagged(file, &mut err, tag),
            }?;
            if end {
                err.write_all(b"\n")?;
            }
            Ok(())
        })
    }

    fn stderr_chunk(&mut self, bytes: &[u8], tag: Option<(&[u8], &mut bool)>) -> io::Result<()> {
        // On the bars' terminal an unfinished line would be erased.
        let end = self.bars.is_some() && bytes.last().is_some_and(|&b| b != b'\n');
        let mut err = io::stderr().lock();
        self.around_stderr(|| {
            write_tagged(bytes, &mut err, tag)?;
            if end {
                err.write_all(b"\n")?;
            }
            Ok(())
        })
    }
}

/// Whether a capture of `len` bytes ends without a newline, so that on the
/// bars' terminal a newline must follow it.
fn ends_mid_line(file: &File, len: u64) -> bool {
    let mut last = [0u8; 1];
    len > 0 && file.read_at(&mut last, len - 1).is_ok_and(|n| n == 1) && last[0] != b'\n'
}

#[cfg(test)]
pub use memory::Buffer;

#[cfg(test)]
mod memory {
    use std::fs::File;
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use super::Target;
    use crate::sink::output::tagged::{copy_tagged, write_tagged};

    /// A target in memory: what a run would write to stdout and stderr.
    #[derive(Debug, Clone, Default)]
    pub struct Buffer {
        pub stdout: Arc<Mutex<Vec<u8>>>,
        pub stderr: Arc<Mutex<Vec<u8>>>,
        /// Writes `|` into stdout at each flush, so a test sees where the
        /// sink flushed (a terminal target ends a held line there).
        pub mark_flushes: bool,
    }

    impl Buffer {
        fn out(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
            self.stdout
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        fn err(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
            self.stderr
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.out().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            if self.mark_flushes {
                self.out().push(b'|');
            }
            Ok(())
        }
    }

    impl Target for Buffer {
        fn stdout_file(&mut self, file: &File, _len: u64) -> io::Result<()> {
            copy_tagged(file, &mut *self.out(), None)
        }

        fn stderr_file(&mut self, file: &File, _len: u64, tag: Option<&[u8]>) -> io::Result<()> {
            copy_tagged(file, &mut *self.err(), tag)
        }

        fn stderr_chunk(
            &mut self,
            bytes: &[u8],
            tag: Option<(&[u8], &mut bool)>,
        ) -> io::Result<()> {
            write_tagged(bytes, &mut *self.err(), tag)
        }
    }
}
