//! The `Read` wrappers between a file or stdin and the input parsers.
//! [`CancellableRead`] wraps the file or stdin of a run and ends the input
//! cleanly once dispatch must stop, even while blocked on a pipe that sends
//! nothing. [`InputRead`], which every format reads through, retries
//! interrupted reads and drops a leading UTF-8 byte order mark where the format
//! says it is markup. [`StopRead`] lets the background record count give up
//! when the run ends.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cancel::CancelToken;

/// The UTF-8 byte order mark some tools (Excel, PowerShell) put in front of
/// CSV and JSON files; it is not part of the first field or value.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What [`InputRead`] does with a leading UTF-8 byte order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bom {
    /// The BOM is data (lines and NUL records pass through intact).
    Keep,
    /// The BOM is markup in front of a parsed structure (CSV, TSV, JSON).
    Skip,
}

/// The input as every format reads it: `Interrupted` reads are retried (a
/// signal arriving during a read must not end the run; `BufReader::fill_buf`,
/// which csv uses, would pass it on), and an optional leading UTF-8 BOM is
/// dropped before any parser sees it (so a quoted first CSV field still parses).
pub(crate) struct InputRead<R> {
    inner: R,
    /// Still to decide whether the input starts with a BOM.
    bom_pending: bool,
    /// Bytes read while deciding, served before anything else.
    prefix: [u8; UTF8_BOM.len()],
    prefix_len: usize,
    prefix_pos: usize,
    /// Bytes handed out so far.
    handed: u64,
    /// A copy of the last non-empty chunk handed out, when `remember` is set,
    /// and its offset: see [`InputRead::byte_at`].
    remember: bool,
    last: Vec<u8>,
    last_start: u64,
}

impl<R: Read> InputRead<R> {
    pub(crate) fn new(inner: R, bom: Bom) -> Self {
        InputRead {
            inner,
            bom_pending: bom == Bom::Skip,
            prefix: [0; UTF8_BOM.len()],
            prefix_len: 0,
            prefix_pos: 0,
            handed: 0,
            remember: false,
            last: Vec::new(),
            last_start: 0,
        }
    }

    /// Also keeps the last chunk, so that [`InputRead::byte_at`] works.
    pub(crate) fn remembering(mut self) -> Self {
        self.remember = true;
        self
    }

    /// The byte at `offset` (counted after the BOM), if it is in the last
    /// chunk handed out. The csv reader consumes its buffer before refilling
    /// it, so the last byte it consumed is always in that chunk.
    pub(crate) fn byte_at(&self, offset: u64) -> Option<u8> {
        let index = usize::try_from(offset.checked_sub(self.last_start)?).ok()?;
        self.last.get(index).copied()
    }

    fn read_retrying(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(out) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }

    fn read_without_bom(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Read only while what came so far could still be a BOM, so that an
        // input that does not start with one is never held back waiting.
        while self.bom_pending {
            let so_far = &self.prefix[..self.prefix_len];
            if so_far == UTF8_BOM {
                self.prefix_len = 0;
                self.bom_pending = false;
            } else if !UTF8_BOM.starts_with(so_far) {
                self.bom_pending = false;
            } else {
                let mut prefix = self.prefix;
                let n = self.read_retrying(&mut prefix[self.prefix_len..])?;
                self.prefix = prefix;
                if n == 0 {
                    self.bom_pending = false;
                }
                // `min`: a Read that claims more than it was given must not
                // make this index out of bounds.
                self.prefix_len = (self.prefix_len + n).min(self.prefix.len());
            }
        }
        if self.prefix_pos < self.prefix_len {
            let pending = &self.prefix[self.prefix_pos..self.prefix_len];
            let n = pending.len().min(out.len());
            out[..n].copy_from_slice(&pending[..n]);
            self.prefix_pos += n;
            return Ok(n);
        }
        self.read_retrying(out)
    }
}

impl<R: Read> Read for InputRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.read_without_bom(out)?;
        if n > 0 && self.remember {
            self.last.clear();
            self.last.extend_from_slice(out.get(..n).unwrap_or(out));
            self.last_start = self.handed;
        }
        self.handed += n as u64;
        Ok(n)
    }
}

/// A reader that gives up, with [`io::ErrorKind::Interrupted`] turned into a
/// clean end of input, as soon as dispatch must stop, even while blocked on a
/// pipe or terminal that sends nothing.
pub(crate) struct CancellableRead<R> {
    inner: R,
    cancel: CancelToken,
}

impl<R: Read + AsFd> CancellableRead<R> {
    pub(crate) fn new(inner: R, cancel: CancelToken) -> Self {
        CancellableRead { inner, cancel }
    }
}

impl<R: Read + AsFd> Read for CancellableRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use rustix::event::{PollFd, PollFlags, poll};
        loop {
            if self.cancel.is_stopping() {
                return Ok(0);
            }
            let mut fds = [
                PollFd::new(&self.inner, PollFlags::IN),
                PollFd::from_borrowed_fd(self.cancel.drain_fd(), PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if !fds[1].revents().is_empty() {
                return Ok(0);
            }
            if !fds[0].revents().is_empty() {
                return self.inner.read(buf);
            }
        }
    }
}

/// A `Read` that fails once `stop` is set, so a background count ends with
/// the run.
pub(crate) struct StopRead<'a, R> {
    pub(crate) inner: R,
    pub(crate) stop: &'a AtomicBool,
}

impl<R: Read> Read for StopRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("count no longer needed"));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellable_read_ends_on_drain() {
        let (read, _write) = rustix::pipe::pipe().unwrap();
        let token = CancelToken::new().unwrap();
        let mut reader = CancellableRead::new(std::fs::File::from(read), token.clone());
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            reader.read(&mut buf).unwrap()
        });
        token.drain();
        assert_eq!(t.join().unwrap(), 0);
    }
}
