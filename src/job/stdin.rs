//! A job's stdin under `--pipe`: its block written into the pipe while the
//! supervisor watches the job, never blocking it (the pipe is
//! non-blocking, and the supervisor polls it for room). The `--header`
//! lines go first. A block in memory is written (one copy, into the
//! pipe); a block of a regular file is moved from the page cache with
//! `splice(2)`, so it never passes through fanout. (`vmsplice(2)` would
//! save the copy of a block in memory, but the pipe would then refer to
//! fanout's own pages, which a process that outlived the job, holding its
//! stdin, could read after fanout had reused them: another block's bytes,
//! or fanout's heap.) A job that stops reading (it exited, or
//! closed its stdin: `head -1`) ends the feeding; its exit status decides
//! the outcome, as in a shell pipeline.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::event::{PollFd, PollFlags, poll};

use rustix::io::Errno;
use rustix::pipe::SpliceFlags;

use crate::item::{Block, Payload};

/// The largest pipe buffer asked for (Linux's default limit for users,
/// `/proc/sys/fs/pipe-max-size`): fewer wake-ups of the job and of fanout.
const PIPE_SIZE: usize = 1 << 20;

/// What one step of feeding came to.
#[derive(Debug)]
pub(super) enum Fed {
    /// The pipe is full: wait until it has room.
    Pending,
    /// Everything was written.
    Done,
    /// The job no longer reads its stdin.
    Closed,
    /// The block could not be read or written (the job is then failed).
    Failed(String),
}

/// The rest of a block, on its way into a job's stdin.
pub(super) struct StdinFeed<'a, P: AsFd = ChildStdin> {
    pipe: P,
    header: &'a [u8],
    body: Body<'a>,
}

/// How a block's writing into a stream of blocks ended (`--round-robin`).
#[derive(Debug)]
pub(crate) enum Written {
    /// All of it.
    All,
    /// The job stopped reading (or ended), after `written` bytes of the
    /// block (header included).
    Closed { written: u64 },
    /// The block could not be read or written: why.
    Failed(String),
}

/// Writes `block` into `pipe` (copied, so the block's memory may be freed
/// once the job has read it): one block of a `--round-robin` job's stream.
/// The header goes before every block, as GNU's does. Waits for room in
/// the pipe, but returns `Closed` once `exited` is set (the job ended, and
/// a process that outlived it may hold its stdin without reading).
pub(crate) fn write_block(pipe: &ChildStdin, block: &Block, exited: &AtomicBool) -> Written {
    let mut feed = match StdinFeed::with(pipe, block) {
        Ok(feed) => feed,
        Err(e) => return Written::Failed(format!("failed to set up the job's stdin: {e}")),
    };
    let before = feed.left();
    loop {
        let step = feed.step();
        let closed = Written::Closed {
            written: before - feed.left(),
        };
        match step {
            Fed::Pending => {
                if exited.load(Ordering::SeqCst) {
                    return closed;
                }
                let mut fds = [PollFd::new(pipe, PollFlags::OUT)];
                let wake = rustix::event::Timespec {
                    tv_sec: 0,
                    tv_nsec: i64::from(WAKE.subsec_nanos()),
                };
                let _ = poll(&mut fds, Some(&wake));
            }
            Fed::Done => return Written::All,
            Fed::Closed => return closed,
            Fed::Failed(why) => return Written::Failed(why),
        }
    }
}

/// How often a stream's writer looks whether its job has ended.
pub(crate) const WAKE: std::time::Duration = std::time::Duration::from_millis(20);

/// The bytes in `pipe` that its reader has not read yet (`FIONREAD` works
/// on either end of a pipe).
pub(crate) fn unread(pipe: &ChildStdin) -> u64 {
    rustix::io::ioctl_fionread(pipe).unwrap_or(0)
}

/// The capacity of `pipe`.
pub(crate) fn capacity(pipe: &ChildStdin) -> u64 {
    rustix::pipe::fcntl_getpipe_size(pipe).map_or(PIPE_SIZE as u64, |n| n as u64)
}

enum Body<'a> {
    Bytes(&'a [u8]),
    File { file: &'a File, at: u64, left: u64 },
}

impl<'a> StdinFeed<'a> {
    /// Feeds `block` into `pipe`, a job's stdin, as the pipe has room.
    pub(super) fn new(pipe: ChildStdin, block: &'a Block) -> io::Result<StdinFeed<'a>> {
        StdinFeed::with(pipe, block)
    }
}

impl<'a, P: AsFd> StdinFeed<'a, P> {
    fn with(pipe: P, block: &'a Block) -> io::Result<StdinFeed<'a, P>> {
        let body = match &block.payload {
            Payload::Bytes(data) => Body::Bytes(data.as_slice()),
            Payload::File { file, at } => Body::File {
                file,
                at: *at,
                left: block.len,
            },
            Payload::Released => {
                return Err(io::Error::other(
                    "internal error: the block's bytes were released",
                ));
            }
        };
        rustix::io::ioctl_fionbio(&pipe, true)?;
        let total = usize::try_from(block.len).unwrap_or(usize::MAX) + block.header.len();
        if total > 64 * 1024 {
            // Best effort: a smaller pipe only means more wake-ups.
            let _ = rustix::pipe::fcntl_setpipe_size(&pipe, total.min(PIPE_SIZE));
        }
        Ok(StdinFeed {
            pipe,
            header: &block.header,
            body,
        })
    }

    /// Bytes still to write.
    fn left(&self) -> u64 {
        let body = match &self.body {
            Body::Bytes(data) => data.len() as u64,
            Body::File { left, .. } => *left,
        };
        body + self.header.len() as u64
    }

    /// The pipe, to poll for room.
    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }

    /// Writes as much as the pipe takes now.
    pub(super) fn step(&mut self) -> Fed {
        loop {
            let result = if !self.header.is_empty() {
                rustix::io::write(&self.pipe, self.header).map(|n| {
                    self.header = &self.header[n..];
                })
            } else {
                match &mut self.body {
                    Body::Bytes([]) | Body::File { left: 0, .. } => return Fed::Done,
                    Body::Bytes(data) => {
                        rustix::io::write(&self.pipe, data).map(|n| *data = &data[n..])
                    }
                    Body::File { file, at, left } => {
                        let len = usize::try_from(*left).unwrap_or(usize::MAX).min(PIPE_SIZE);
                        let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
                        match rustix::pipe::splice(file, Some(at), &self.pipe, None, len, flags) {
                            Ok(0) => {
                                return Fed::Failed(format!(
                                    "the input file ended {left} bytes before this block's end \
                                     (it was cut while fanout read it)"
                                ));
                            }
                            Ok(n) => {
                                *left -= n as u64;
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                }
            };
            match result {
                Ok(()) => {}
                Err(Errno::AGAIN) => return Fed::Pending,
                Err(Errno::INTR) => {}
                Err(Errno::PIPE) => return Fed::Closed,
                Err(e) => {
                    return Fed::Failed(format!(
                        "failed to write the block to the job's stdin: {e}"
                    ));
                }
            }
        }
    }
}
