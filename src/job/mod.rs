//! Process supervision. [`Runner`] is the seam between the engine and the OS:
//! [`ProcessRunner`] spawns a real child in its own process group, captures
//! its output, forwards signals to the group, and escalates to SIGKILL after
//! the grace period; [`FakeRunner`] follows a script in the item text so the
//! engine is tested without processes.
//!
//! `process` spawns and classifies, `supervise` watches a running job
//! (signals, timeouts, leaks, streamed lines), `terminal` handles jobs the
//! terminal stops and `--tty`, `table` lets the signal thread reach every
//! running group.

mod fake;
mod process;
mod stdin;
mod supervise;
mod table;
mod terminal;

pub use fake::FakeRunner;
pub use process::ProcessRunner;
pub(crate) use stdin::{WAKE, Written, capacity, unread, write_block};
pub use table::JobTable;
pub use terminal::Terminal;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::event::Stream;
use crate::item::Item;
use crate::outcome::{Captured, Outcome};
use crate::template::CommandSpec;

/// One job for a runner: an item rendered into a command.
pub struct Job<'a> {
    /// The item (a batch's first), exported as `FANOUT_ITEM`.
    pub item: &'a Item,
    /// The job's number, exported as `FANOUT_SEQ`: the item's, or a
    /// batch's.
    pub seq: u64,
    /// The command to run.
    pub spec: &'a CommandSpec,
    /// The worker slot (1..=jobs), exported as `FANOUT_SLOT`.
    pub slot: usize,
    /// `--round-robin`: the job's stdin goes to this, which writes block
    /// after block into it on a thread of its own while the job runs.
    pub stream: Option<&'a StreamStdin<'a>>,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("item", &self.item)
            .field("seq", &self.seq)
            .field("spec", &self.spec)
            .field("slot", &self.slot)
            .field("stream", &self.stream.is_some())
            .finish()
    }
}

/// Writes a stream of blocks into a job's stdin (`--round-robin`).
/// It is told, through the flag, when the job has ended.
pub type StreamStdin<'a> =
    dyn Fn(std::process::ChildStdin, &std::sync::atomic::AtomicBool) + Sync + 'a;

/// What a runner returns: the outcome and any captured output.
#[derive(Debug)]
pub struct JobResult {
    /// How the job ended.
    pub outcome: Outcome,
    /// Its output, when captured to files.
    pub captured: Captured,
    /// Processes of the job's group outlived it (and were killed).
    pub leaked: bool,
}

impl JobResult {
    fn bare(outcome: Outcome) -> JobResult {
        JobResult {
            outcome,
            captured: Captured::default(),
            leaked: false,
        }
    }
}

/// Receives whole lines of a running job's output (`--output line`).
pub type LineSink<'a> = dyn FnMut(Stream, Vec<u8>) + 'a;

/// Runs one job to its outcome. Implementations never panic on job failure:
/// failure is an [`Outcome`].
pub trait Runner: Send + Sync {
    /// Runs `job`, honouring `cancel`, sending output lines to `lines` when
    /// the runner streams them.
    fn run(&self, job: &Job<'_>, cancel: &CancelToken, lines: &mut LineSink<'_>) -> JobResult;
}

/// How a job's stdout and stderr are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Into anonymous temp files, written whole by the collector when the job ends.
    Files,
    /// Through pipes, forwarded line by line while the job runs.
    Lines,
    /// Inherited: the job writes straight to fanout's stdout and stderr.
    Inherit,
}

/// The isolation and capture choices for spawned jobs.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// Output handling.
    pub capture: Capture,
    /// How long a signalled job gets before SIGKILL.
    pub grace: Duration,
    /// Per-attempt time limit (time fanout spent stopped does not count).
    pub timeout: Option<Duration>,
    /// Where capture files live (they are unnamed: nothing to clean up).
    pub temp_dir: PathBuf,
    /// fanout's controlling terminal, when it has one: jobs that the
    /// terminal stops (SIGTTIN, SIGTTOU) are then detected and failed.
    pub terminal: Option<Arc<Terminal>>,
    /// `--tty`: each job runs in the terminal's foreground with the
    /// terminal as its stdin.
    pub tty: bool,
    /// `--nice N`: jobs run N steps nicer than fanout (GNU parallel's).
    pub nice: Option<i32>,
    /// GNU's drop-in mode: jobs also get GNU's `PARALLEL_SEQ` and
    /// `PARALLEL_JOBSLOT`.
    pub dialect: crate::gnu::Dialect,
}

fn signal_group(pid: rustix::process::Pid, signal: rustix::process::Signal) {
    // ESRCH (the group is gone) is the normal race with a job exiting.
    let _ = rustix::process::kill_process_group(pid, signal);
}
