//! Cancellation as a value. A [`CancelToken`] holds the run's state
//! (running → draining → stopping → killing) in atomics, plus three latches
//! that wake threads blocked in `poll`: the dispatcher (stop reading input),
//! and every worker (forward the signal to your job's group; kill it now).
//! Signal handlers only call [`CancelToken::signal`]; nothing else is global.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::halt::When;

/// Where the run is on its way to stopping. Ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum RunState {
    /// Items are being dispatched.
    Running = 0,
    /// No new item starts; running jobs finish undisturbed.
    Draining = 1,
    /// No new item starts; running jobs got the signal and a grace period.
    Stopping = 2,
    /// Running jobs' process groups are being killed now.
    Killing = 3,
}

/// What a stopping run does with its running jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    /// Let them finish.
    Finish,
    /// Terminate them as SIGTERM would.
    Terminate,
}

/// Why the run stopped early, when it did. When several apply, the first
/// listed wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal (SIGINT, SIGTERM, SIGHUP) from the user or the system.
    Signal(i32),
    /// fanout hit an error it cannot continue after (internal error, full disk).
    Fatal,
    /// A `--halt` condition was met.
    Halt,
    /// Our stdout was closed by its reader (`fanout ... | head`).
    BrokenPipe,
}

/// A flag that can also wake a `poll`: once set, its pipe stays readable.
#[derive(Debug)]
struct Latch {
    set: AtomicBool,
    read: OwnedFd,
    write: OwnedFd,
}

impl Latch {
    fn new() -> io::Result<Latch> {
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        Ok(Latch {
            set: AtomicBool::new(false),
            read,
            write,
        })
    }

    fn set(&self) {
        if !self.set.swap(true, Ordering::SeqCst) {
            // The pipe is never drained, so one byte keeps it readable for
            // every poller. A failed write cannot be handled in a signal path;
            // pollers also re-check the flag after every wake-up.
            let _ = rustix::io::write(&self.write, b"x");
        }
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Inner {
    state: AtomicU8,
    /// The first signal received, 0 for none: what is forwarded to jobs.
    signal: AtomicI32,
    signals: AtomicU32,
    broken_pipe: AtomicBool,
    fatal: AtomicBool,
    halted: AtomicBool,
    /// Monotonic origin for the pause clock.
    base: Instant,
    /// Nanoseconds spent stopped (Ctrl-Z) in pauses that ended.
    paused_ns: AtomicU64,
    /// When the current pause began (nanoseconds since `base`, plus one), or 0.
    pause_start: AtomicU64,
    drain: Latch,
    forward: Latch,
    kill: Latch,
}

/// Shared, cheaply clonable cancellation state of one run.
#[derive(Debug, Clone)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

impl CancelToken {
    /// A token in the running state.
    pub fn new() -> io::Result<CancelToken> {
        Ok(CancelToken {
            inner: Arc::new(Inner {
                state: AtomicU8::new(RunState::Running as u8),
                signal: AtomicI32::new(0),
                signals: AtomicU32::new(0),
                broken_pipe: AtomicBool::new(false),
                fatal: AtomicBool::new(false),
                halted: AtomicBool::new(false),
                base: Instant::now(),
                paused_ns: AtomicU64::new(0),
                pause_start: AtomicU64::new(0),
                drain: Latch::new()?,
                forward: Latch::new()?,
                kill: Latch::new()?,
            }),
        })
    }

    /// Records a received signal and escalates: the first stops dispatch and
    /// forwards `signal` to running jobs; the second kills them now. Returns
    /// how many signals have been received, this one included.
    pub fn signal(&self, signal: i32) -> u32 {
        let count = self.inner.signals.fetch_add(1, Ordering::SeqCst) + 1;
        if count == 1 {
            let _ =
                self.inner
                    .signal
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
            self.raise(RunState::Stopping);
        } else {
            self.raise(RunState::Killing);
        }
        count
    }

    /// Stops dispatch and lets running jobs finish (halt soon, internal error).
    pub fn drain(&self) {
        self.raise(RunState::Draining);
    }

    /// Something went wrong that makes the run fail with exit 2: stop
    /// dispatch, and either terminate running jobs as SIGTERM would (their
    /// output has nowhere to go) or let them finish.
    pub fn fatal(&self, running: Running) {
        self.inner.fatal.store(true, Ordering::SeqCst);
        match running {
            Running::Terminate => self.raise(RunState::Stopping),
            Running::Finish => self.drain(),
        }
    }

    /// A `--halt` condition was met: stop dispatch, and for `--halt now`
    /// kill the running jobs as a second Ctrl-C would.
    pub fn halt(&self, when: When) {
        self.inner.halted.store(true, Ordering::SeqCst);
        self.raise(match when {
            When::Now => RunState::Killing,
            When::Soon => RunState::Draining,
        });
    }

    /// fanout is being stopped (Ctrl-Z): time from now on does not count
    /// toward job timeouts until [`CancelToken::pause_end`].
    pub fn pause_begin(&self) {
        let now = self.now_ns() + 1;
        let _ = self
            .inner
            .pause_start
            .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// fanout was continued (`fg`, SIGCONT).
    pub fn pause_end(&self) {
        let start = self.inner.pause_start.swap(0, Ordering::SeqCst);
        if start != 0 {
            let spent = self.now_ns().saturating_sub(start - 1);
            self.inner.paused_ns.fetch_add(spent, Ordering::SeqCst);
        }
    }

    /// Whether fanout is stopped right now.
    pub fn is_paused(&self) -> bool {
        self.inner.pause_start.load(Ordering::SeqCst) != 0
    }

    /// Total time spent stopped so far, the current pause included.
    pub fn paused(&self) -> Duration {
        let mut ns = self.inner.paused_ns.load(Ordering::SeqCst);
        let start = self.inner.pause_start.load(Ordering::SeqCst);
        if start != 0 {
            ns += self.now_ns().saturating_sub(start - 1);
        }
        Duration::from_nanos(ns)
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.inner.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Our stdout is gone: stop quietly, terminating running jobs.
    pub fn broken_pipe(&self) {
        self.inner.broken_pipe.store(true, Ordering::SeqCst);
        self.raise(RunState::Stopping);
    }

    fn raise(&self, to: RunState) {
        let previous = self.inner.state.fetch_max(to as u8, Ordering::SeqCst);
        if previous >= to as u8 {
            return;
        }
        self.inner.drain.set();
        if to >= RunState::Stopping {
            self.inner.forward.set();
        }
        if to >= RunState::Killing {
            self.inner.kill.set();
        }
    }

    /// The current state.
    pub fn state(&self) -> RunState {
        match self.inner.state.load(Ordering::SeqCst) {
            0 => RunState::Running,
            1 => RunState::Draining,
            2 => RunState::Stopping,
            _ => RunState::Killing,
        }
    }

    /// Whether new items must not start.
    pub fn is_stopping(&self) -> bool {
        self.inner.drain.is_set()
    }

    /// Whether running jobs got a signal from fanout.
    pub fn is_forwarding(&self) -> bool {
        self.inner.forward.is_set()
    }

    /// Whether running jobs must be killed now.
    pub fn is_killing(&self) -> bool {
        self.inner.kill.is_set()
    }

    /// The signal to forward to running jobs: the first one received (SIGHUP
    /// as SIGTERM), else SIGTERM.
    pub fn forward_signal(&self) -> Signal {
        let received = self.inner.signal.load(Ordering::SeqCst);
        Signal::from_named_raw(crate::exit::death_signal(received)).unwrap_or(Signal::TERM)
    }

    /// Why the run stopped early, if it did.
    pub fn reason(&self) -> Option<StopReason> {
        match self.inner.signal.load(Ordering::SeqCst) {
            0 => {}
            s => return Some(StopReason::Signal(s)),
        }
        if self.inner.fatal.load(Ordering::SeqCst) {
            Some(StopReason::Fatal)
        } else if self.inner.halted.load(Ordering::SeqCst) {
            Some(StopReason::Halt)
        } else if self.inner.broken_pipe.load(Ordering::SeqCst) {
            Some(StopReason::BrokenPipe)
        } else {
            None
        }
    }

    /// Readable once dispatch must stop.
    pub fn drain_fd(&self) -> BorrowedFd<'_> {
        self.inner.drain.read.as_fd()
    }

    /// Readable once running jobs must get the forwarded signal.
    pub fn forward_fd(&self) -> BorrowedFd<'_> {
        self.inner.forward.read.as_fd()
    }

    /// Readable once running jobs must be killed.
    pub fn kill_fd(&self) -> BorrowedFd<'_> {
        self.inner.kill.read.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates() {
        let token = CancelToken::new().unwrap();
        assert_eq!(token.state(), RunState::Running);
        assert!(!token.is_stopping());
        assert_eq!(token.signal(2), 1);
        assert_eq!(token.state(), RunState::Stopping);
        assert!(token.is_stopping() && token.is_forwarding() && !token.is_killing());
        assert_eq!(token.signal(15), 2);
        assert!(token.is_killing());
        assert_eq!(token.forward_signal(), Signal::INT);
        assert_eq!(token.reason(), Some(StopReason::Signal(2)));
    }

    #[test]
    fn pause_clock() {
        let token = CancelToken::new().unwrap();
        assert_eq!(token.paused(), Duration::ZERO);
        token.pause_begin();
        assert!(token.is_paused());
        std::thread::sleep(Duration::from_millis(5));
        token.pause_end();
        assert!(!token.is_paused());
        let paused = token.paused();
        assert!(paused >= Duration::from_millis(5), "{paused:?}");
        assert_eq!(token.paused(), paused, "the clock stops with the pause");
    }

    #[test]
    fn reasons_by_precedence() {
        let token = CancelToken::new().unwrap();
        token.broken_pipe();
        assert_eq!(token.reason(), Some(StopReason::BrokenPipe));
        token.halt(When::Soon);
        assert_eq!(token.reason(), Some(StopReason::Halt));
        token.fatal(Running::Finish);
        assert_eq!(token.reason(), Some(StopReason::Fatal));
        token.signal(15);
        assert_eq!(token.reason(), Some(StopReason::Signal(15)));
    }

    #[test]
    fn drain_does_not_forward() {
        let token = CancelToken::new().unwrap();
        token.drain();
        assert!(token.is_stopping());
        assert!(!token.is_forwarding());
        token.drain();
        assert_eq!(token.state(), RunState::Draining);
    }
}
