//! The supervisor of one running job: forwards cancellation to its
//! process group, enforces the timeout and the grace period, detects
//! terminal stops, reads its pipes into lines, and notices processes that
//! outlive it.

use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, ChildStderr, ChildStdout};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::process::{Pid, Signal};

use super::LineSink;
use super::signal_group;
use super::stdin::{Fed, StdinFeed};
use super::terminal::{Foreground, STOP_CHECK, Terminal, stopped_by_terminal};
use crate::cancel::CancelToken;
use crate::event::Stream;

pub(super) struct Pipes<'a> {
    pub(super) stdout: Option<ChildStdout>,
    pub(super) stderr: Option<ChildStderr>,
    /// `--pipe`: the block still to write to the job's stdin.
    pub(super) stdin: Option<StdinFeed<'a>>,
}

/// Line splitter for one output stream.
pub(super) struct LineBuf {
    pub(super) stream: Stream,
    pub(super) buf: Vec<u8>,
}

impl LineBuf {
    pub(super) fn push(&mut self, data: &[u8], lines: &mut LineSink<'_>) {
        self.buf.extend_from_slice(data);
        let cut = match memchr::memrchr(b'\n', &self.buf) {
            Some(i) => i + 1,
            None if self.buf.len() >= MAX_LINE => self.buf.len(),
            None => return,
        };
        let rest = self.buf.split_off(cut);
        lines(self.stream, std::mem::replace(&mut self.buf, rest));
    }

    pub(super) fn finish(&mut self, lines: &mut LineSink<'_>) {
        if !self.buf.is_empty() {
            lines(self.stream, std::mem::take(&mut self.buf));
        }
    }
}

/// Whether the job's leader is stopped right now (by any signal).
pub(super) fn job_is_stopped(pid: Pid) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    let options = WaitIdOptions::STOPPED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(waitid(WaitId::Pid(pid), options), Ok(Some(status)) if status.stopped())
}

pub(super) fn timespec(left: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(left.subsec_nanos()),
    }
}

/// How long a job's pipes may stay open, or its process group live on, after
/// the job exited (a background grandchild) before fanout kills the group.
/// nextest waits the same 100 ms.
pub(super) const LEAK_WAIT: Duration = Duration::from_millis(100);

/// Longest partial line buffered before it is forwarded anyway.
pub(super) const MAX_LINE: usize = 64 * 1024;

/// What fanout did to a job while it ran.
#[derive(Debug, Default, Clone)]
pub(super) struct Ended {
    /// fanout forwarded a cancellation signal.
    pub(super) forwarded: bool,
    /// The job hit its timeout.
    pub(super) timed_out: bool,
    /// Its pipes stayed open after it exited.
    pub(super) leaked: bool,
    /// The terminal stopped it (SIGTTIN, SIGTTOU) and fanout killed it.
    pub(super) stopped_by: Option<i32>,
    /// Its block could not be fed to its stdin (`--pipe`): why. The job
    /// was killed, since it would have worked on part of its block.
    pub(super) feed_failed: Option<String>,
}

/// Watches one running child: forwards cancellation to its process group,
/// enforces the timeout and the grace period, and reads its pipes.
pub(super) struct Supervisor<'a> {
    pub(super) pid: Pid,
    pub(super) cancel: &'a CancelToken,
    pub(super) grace: Duration,
    pub(super) timeout: Option<Duration>,
    /// fanout's terminal: check the job for stops by it.
    pub(super) terminal: Option<&'a Terminal>,
    /// `--tty`: the job holds the terminal.
    pub(super) foreground: Option<&'a Foreground<'a>>,
}

impl Supervisor<'_> {
    /// A periodic check of a running job: stopped by the terminal (then it
    /// is killed), or with `--tty` stopped by Ctrl-Z (then fanout takes the
    /// terminal back and stops too, and gives it back when continued).
    pub(super) fn check_stop(&self, suspended: &mut Option<Duration>, ended: &mut Ended) -> bool {
        let (pid, cancel) = (self.pid, self.cancel);
        if let Some(foreground) = self.foreground {
            if let Some(paused_before) = *suspended {
                if !cancel.is_paused() && cancel.paused() > paused_before {
                    foreground.give_again(pid);
                    *suspended = None;
                }
                return false;
            }
            if !cancel.is_paused() && job_is_stopped(pid) {
                // The job holds the terminal, so a stop is the user's Ctrl-Z
                // (or its own): hand the terminal back, stop as fanout would.
                foreground.take_back();
                *suspended = Some(cancel.paused());
                let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::TSTP);
            }
            return false;
        }
        let Some(terminal) = self.terminal else {
            return false;
        };
        match stopped_by_terminal(pid, terminal, cancel) {
            Some(signal) => {
                signal_group(pid, Signal::KILL);
                ended.stopped_by = Some(signal);
                true
            }
            None => false,
        }
    }

    /// Runs until the child has exited and its pipes are done. Does not reap
    /// the child: all signalling happens while its pid is still ours.
    pub(super) fn watch(
        &self,
        child: &mut Child,
        mut pipes: Pipes<'_>,
        lines: &mut LineSink<'_>,
    ) -> Ended {
        let pidfd =
            rustix::process::pidfd_open(self.pid, rustix::process::PidfdFlags::empty()).ok();
        let mut out_buf = LineBuf {
            stream: Stream::Stdout,
            buf: Vec::new(),
        };
        let mut err_buf = LineBuf {
            stream: Stream::Stderr,
            buf: Vec::new(),
        };
        let mut chunk = vec![0u8; if pipes.stdout.is_some() { 64 * 1024 } else { 0 }];
        let mut watch = Watch::new(self.terminal.is_some() || self.foreground.is_some());
        let paused_before = self.cancel.paused();
        loop {
            let now = Instant::now();
            let timeout_at = self.enforce(&mut watch, now, paused_before);
            if !watch.exited && pidfd.is_none() {
                // No pidfd (old kernel): fall back to polling the child.
                if let Ok(Some(_)) = child.try_wait() {
                    watch.exited = true;
                }
            }
            if watch.exited {
                // Nobody reads the rest of the block any more.
                pipes.stdin = None;
                if pipes.stdout.is_none() && pipes.stderr.is_none() {
                    break;
                }
                let until = *watch.linger_until.get_or_insert(now + LEAK_WAIT);
                if now >= until {
                    // A background grandchild holds the pipe: stop waiting.
                    signal_group(self.pid, Signal::KILL);
                    watch.ended.leaked = true;
                    break;
                }
            }
            let deadline = watch.deadline(now, timeout_at, pidfd.is_none());
            let Some(ready) = self.wait(&watch, pidfd.as_ref(), &pipes, deadline, now) else {
                // Cannot wait properly: fall back to a blocking wait.
                let _ = child.wait();
                watch.exited = true;
                pipes = Pipes {
                    stdout: None,
                    stderr: None,
                    stdin: None,
                };
                continue;
            };
            if ready.exit {
                watch.exited = true;
            }
            if ready.stdout && read_pipe(&mut pipes.stdout, &mut chunk, &mut out_buf, lines) {
                pipes.stdout = None;
            }
            if ready.stderr && read_pipe(&mut pipes.stderr, &mut chunk, &mut err_buf, lines) {
                pipes.stderr = None;
            }
            if ready.stdin {
                self.feed(&mut pipes.stdin, &mut watch);
            }
        }
        out_buf.finish(lines);
        err_buf.finish(lines);
        watch.ended
    }

    /// Writes what the job's stdin pipe takes now; closes it once the block
    /// is written or the job stopped reading; kills the job when its block
    /// cannot be fed.
    fn feed(&self, stdin: &mut Option<StdinFeed<'_>>, watch: &mut Watch) {
        let Some(feed) = stdin.as_mut() else { return };
        match feed.step() {
            Fed::Pending => {}
            Fed::Done | Fed::Closed => *stdin = None,
            Fed::Failed(why) => {
                *stdin = None;
                signal_group(self.pid, Signal::KILL);
                watch.killed = true;
                watch.ended.feed_failed = Some(why);
            }
        }
    }

    /// What is due now: a terminal-stop check, forwarding a cancellation,
    /// the timeout, SIGKILL after the grace period. Returns when the timeout
    /// falls due, if it has not yet.
    fn enforce(&self, watch: &mut Watch, now: Instant, paused_before: Duration) -> Option<Instant> {
        let (pid, cancel) = (self.pid, self.cancel);
        if watch.checks_stops && !watch.exited && !watch.killed && now >= watch.next_check {
            watch.next_check = now + STOP_CHECK;
            if self.check_stop(&mut watch.suspended, &mut watch.ended) {
                watch.killed = true;
                watch.kill_at = None;
            }
        }
        if !watch.exited && !watch.ended.forwarded && cancel.is_forwarding() {
            signal_group(pid, cancel.forward_signal());
            watch.ended.forwarded = true;
            watch.kill_by(now + self.grace);
        }
        let mut timeout_at = None;
        if let (false, false, Some(limit)) = (watch.exited, watch.ended.timed_out, self.timeout) {
            // Time fanout spent stopped (Ctrl-Z) does not count.
            let ran = now
                .duration_since(watch.started)
                .saturating_sub(cancel.paused().saturating_sub(paused_before));
            if ran >= limit && !cancel.is_paused() {
                signal_group(pid, Signal::TERM);
                watch.ended.timed_out = true;
                watch.kill_by(now + self.grace);
            } else {
                timeout_at = Some(now + limit.saturating_sub(ran).max(Duration::from_millis(1)));
            }
        }
        if !watch.killed && (cancel.is_killing() || watch.kill_at.is_some_and(|t| now >= t)) {
            signal_group(pid, Signal::KILL);
            watch.killed = true;
            watch.kill_at = None;
        }
        timeout_at
    }

    /// Waits until the child exits, a pipe is readable, the run's state
    /// changes or `deadline` passes. `None`: polling failed.
    fn wait(
        &self,
        watch: &Watch,
        pidfd: Option<&OwnedFd>,
        pipes: &Pipes<'_>,
        deadline: Option<Instant>,
        now: Instant,
    ) -> Option<Ready> {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(now)));
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(6);
        let mut slot_exit = None;
        let mut slot_out = None;
        let mut slot_err = None;
        let mut slot_in = None;
        if let Some(feed) = pipes.stdin.as_ref() {
            slot_in = Some(fds.len());
            fds.push(PollFd::from_borrowed_fd(feed.fd(), PollFlags::OUT));
        }
        if let (false, Some(fd)) = (watch.exited, pidfd) {
            slot_exit = Some(fds.len());
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        if let Some(p) = pipes.stdout.as_ref() {
            slot_out = Some(fds.len());
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        if let Some(p) = pipes.stderr.as_ref() {
            slot_err = Some(fds.len());
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        if !watch.ended.forwarded && !watch.exited {
            fds.push(PollFd::from_borrowed_fd(
                self.cancel.forward_fd(),
                PollFlags::IN,
            ));
        }
        if !watch.killed && !watch.exited {
            fds.push(PollFd::from_borrowed_fd(
                self.cancel.kill_fd(),
                PollFlags::IN,
            ));
        }
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
        let ready = |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
        Some(Ready {
            exit: ready(slot_exit),
            stdout: ready(slot_out),
            stderr: ready(slot_err),
            stdin: ready(slot_in),
        })
    }
}

/// The state of one job's watch loop.
struct Watch {
    ended: Ended,
    started: Instant,
    killed: bool,
    /// When SIGKILL follows the TERM (or forwarded signal) already sent.
    kill_at: Option<Instant>,
    exited: bool,
    /// The job exited with its pipes still open: until when they may be.
    linger_until: Option<Instant>,
    /// Terminal stops are checked (a terminal, or `--tty`), next at this time.
    checks_stops: bool,
    next_check: Instant,
    /// `--tty`: fanout stopped with the job; fanout's paused time then.
    suspended: Option<Duration>,
}

impl Watch {
    fn new(checks_stops: bool) -> Watch {
        let started = Instant::now();
        Watch {
            ended: Ended::default(),
            started,
            killed: false,
            kill_at: None,
            exited: false,
            linger_until: None,
            checks_stops,
            next_check: started + STOP_CHECK,
            suspended: None,
        }
    }

    /// SIGKILL at `at` at the latest.
    fn kill_by(&mut self, at: Instant) {
        self.kill_at = Some(self.kill_at.map_or(at, |t| t.min(at)));
    }

    /// The next time something falls due, if any.
    fn deadline(
        &self,
        now: Instant,
        timeout_at: Option<Instant>,
        polling: bool,
    ) -> Option<Instant> {
        let stop_check =
            (self.checks_stops && !self.exited && !self.killed).then_some(self.next_check);
        let deadline = [self.kill_at, self.linger_until, timeout_at, stop_check]
            .into_iter()
            .flatten()
            .min();
        if polling && !self.exited {
            let tick = now + Duration::from_millis(10);
            return Some(deadline.map_or(tick, |d| d.min(tick)));
        }
        deadline
    }
}

/// What a wait found ready.
struct Ready {
    exit: bool,
    stdout: bool,
    stderr: bool,
    /// The job's stdin has room (or its reader is gone).
    stdin: bool,
}

/// Reads one chunk; returns true when the pipe is done (EOF or error).
pub(super) fn read_pipe<P: Read + AsFd>(
    pipe: &mut Option<P>,
    chunk: &mut [u8],
    buf: &mut LineBuf,
    lines: &mut LineSink<'_>,
) -> bool {
    let Some(p) = pipe.as_mut() else { return true };
    match p.read(chunk) {
        Ok(0) => true,
        Ok(n) => {
            buf.push(&chunk[..n], lines);
            false
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
        Err(_) => true,
    }
}
