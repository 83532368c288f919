//! Process supervision. [`Runner`] is the seam between the engine and the OS:
//! [`ProcessRunner`] spawns a real child in its own process group, captures
//! its output, forwards signals to the group, and escalates to SIGKILL after
//! the grace period; [`FakeRunner`] follows a script in the item text so the
//! engine is tested without processes.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::process::{Pid, Signal, kill_process_group};

use crate::cancel::CancelToken;
use crate::event::Stream;
use crate::item::Item;
use crate::outcome::{Captured, Outcome};
use crate::template::CommandSpec;

/// One job for a runner: an item rendered into a command.
#[derive(Debug)]
pub struct Job<'a> {
    /// The item.
    pub item: &'a Item,
    /// The command to run.
    pub spec: &'a CommandSpec,
    /// The worker slot (1..=jobs), exported as `FANOUT_SLOT`.
    pub slot: usize,
}

/// What a runner returns: the outcome and any captured output.
#[derive(Debug)]
pub struct JobResult {
    /// How the job ended.
    pub outcome: Outcome,
    /// Its output, when captured to files.
    pub captured: Captured,
}

impl JobResult {
    fn bare(outcome: Outcome) -> JobResult {
        JobResult {
            outcome,
            captured: Captured::default(),
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
    /// Where capture files live (they are unnamed: nothing to clean up).
    pub temp_dir: PathBuf,
}

/// Spawns real processes, each in its own process group.
#[derive(Debug)]
pub struct ProcessRunner {
    opts: SpawnOptions,
}

/// How long a job's pipes may stay open after it exited (a background
/// grandchild holding them) before fanout stops reading.
const PIPE_LINGER: Duration = Duration::from_millis(100);

/// Longest partial line buffered before it is forwarded anyway.
const MAX_LINE: usize = 64 * 1024;

impl ProcessRunner {
    /// A runner with these options.
    pub fn new(opts: SpawnOptions) -> ProcessRunner {
        ProcessRunner { opts }
    }

    fn temp_file(&self) -> io::Result<File> {
        tempfile::tempfile_in(&self.opts.temp_dir)
    }

    fn prepare(&self, job: &Job<'_>, cmd: &mut Command) -> Result<Captured, String> {
        let mut captured = Captured::default();
        match self.opts.capture {
            Capture::Files => {
                let open = || {
                    self.temp_file().map_err(|e| {
                        format!(
                            "failed to create a capture file in `{}`: {e}",
                            self.opts.temp_dir.display()
                        )
                    })
                };
                let (out, err) = (open()?, open()?);
                let dup = |f: &File| {
                    f.try_clone()
                        .map_err(|e| format!("failed to duplicate a capture file: {e}"))
                };
                cmd.stdout(dup(&out)?).stderr(dup(&err)?);
                captured.stdout = Some(out);
                captured.stderr = Some(err);
            }
            Capture::Lines => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Capture::Inherit => {}
        }
        let _ = job;
        Ok(captured)
    }
}

impl Runner for ProcessRunner {
    fn run(&self, job: &Job<'_>, cancel: &CancelToken, lines: &mut LineSink<'_>) -> JobResult {
        let mut cmd = Command::new(&job.spec.program);
        cmd.args(&job.spec.args)
            // Own process group: terminal signals do not reach the job, fanout
            // decides what does, and the whole tree can be signalled at once.
            // `process_group` keeps std's fast posix_spawn path (no pre_exec).
            .process_group(0)
            .stdin(Stdio::null())
            .env("FANOUT_SEQ", job.item.seq.to_string())
            .env("FANOUT_SLOT", job.slot.to_string())
            .env("FANOUT_ITEM", OsStr::from_bytes(&job.item.raw));
        let captured = match self.prepare(job, &mut cmd) {
            Ok(c) => c,
            Err(message) => return JobResult::bare(Outcome::Internal { message }),
        };
        let spawned = cmd.spawn();
        // The Command holds our copies of the capture descriptors: drop them
        // so only the child holds the write side.
        drop(cmd);
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                return JobResult {
                    outcome: Outcome::SpawnFailed {
                        message: spawn_error(&job.spec.program, &e),
                    },
                    captured,
                };
            }
        };
        let pipes = Pipes {
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        };
        let (status, forwarded) = supervise(&mut child, pipes, cancel, self.opts.grace, lines);
        let outcome = match status {
            Ok(status) => classify(status, forwarded),
            Err(e) => Outcome::Internal {
                message: format!("failed to wait for the job: {e}"),
            },
        };
        JobResult {
            outcome,
            captured: drop_empty(captured),
        }
    }
}

/// Closes capture files the job wrote nothing to, so the collector and the
/// `-k` window do not hold descriptors for empty output.
fn drop_empty(captured: Captured) -> Captured {
    let keep = |file: Option<File>| file.filter(|f| f.metadata().is_ok_and(|m| m.len() > 0));
    Captured {
        stdout: keep(captured.stdout),
        stderr: keep(captured.stderr),
    }
}

fn spawn_error(program: &OsStr, e: &io::Error) -> String {
    let program = program.to_string_lossy();
    match e.kind() {
        io::ErrorKind::NotFound => format!("command not found: `{program}`"),
        io::ErrorKind::PermissionDenied => format!("permission denied: `{program}`"),
        io::ErrorKind::InvalidInput => {
            format!("cannot run `{program}`: an argument or the item holds a NUL byte")
        }
        _ => format!("cannot run `{program}`: {e}"),
    }
}

/// Maps an exit status to an outcome; a job that fanout signalled and that
/// did not succeed was interrupted, not failed.
fn classify(status: ExitStatus, forwarded: bool) -> Outcome {
    if status.success() {
        Outcome::Success
    } else if forwarded {
        Outcome::Interrupted
    } else if let Some(code) = status.code() {
        Outcome::Failed { code }
    } else {
        Outcome::Signaled {
            signal: status.signal().unwrap_or(0),
        }
    }
}

struct Pipes {
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

/// Line splitter for one output stream.
struct LineBuf {
    stream: Stream,
    buf: Vec<u8>,
}

impl LineBuf {
    fn push(&mut self, data: &[u8], lines: &mut LineSink<'_>) {
        self.buf.extend_from_slice(data);
        let cut = match memchr::memrchr(b'\n', &self.buf) {
            Some(i) => i + 1,
            None if self.buf.len() >= MAX_LINE => self.buf.len(),
            None => return,
        };
        let rest = self.buf.split_off(cut);
        lines(self.stream, std::mem::replace(&mut self.buf, rest));
    }

    fn finish(&mut self, lines: &mut LineSink<'_>) {
        if !self.buf.is_empty() {
            lines(self.stream, std::mem::take(&mut self.buf));
        }
    }
}

fn signal_group(pid: Pid, signal: i32) {
    if let Some(sig) = Signal::from_named_raw(signal) {
        // ESRCH (the group is gone) is the normal race with a job exiting.
        let _ = kill_process_group(pid, sig);
    }
}

/// Waits for the child while forwarding cancellation to its process group
/// and reading its pipes. All signalling happens before the child is reaped,
/// so its pid (the group id) cannot have been reused. Returns the status and
/// whether fanout signalled the job.
fn supervise(
    child: &mut Child,
    mut pipes: Pipes,
    cancel: &CancelToken,
    grace: Duration,
    lines: &mut LineSink<'_>,
) -> (io::Result<ExitStatus>, bool) {
    let Some(pid) = Pid::from_raw(child.id() as i32) else {
        return (child.wait(), false);
    };
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    let mut out_buf = LineBuf {
        stream: Stream::Stdout,
        buf: Vec::new(),
    };
    let mut err_buf = LineBuf {
        stream: Stream::Stderr,
        buf: Vec::new(),
    };
    let mut forwarded = false;
    let mut killed = false;
    let mut kill_at: Option<Instant> = None;
    let mut exited = false;
    let mut linger_until: Option<Instant> = None;
    let mut chunk = vec![0u8; if pipes.stdout.is_some() { 64 * 1024 } else { 0 }];
    loop {
        let now = Instant::now();
        if !forwarded && cancel.is_forwarding() {
            signal_group(pid, cancel.forward_signal());
            forwarded = true;
            kill_at = Some(now + grace);
        }
        if !killed && (cancel.is_killing() || kill_at.is_some_and(|t| now >= t)) {
            signal_group(pid, Signal::KILL.as_raw());
            killed = true;
            kill_at = None;
        }
        if !exited && pidfd.is_none() {
            // No pidfd (old kernel): fall back to polling the child.
            if let Ok(Some(_)) = child.try_wait() {
                exited = true;
            }
        }
        let pipes_open = pipes.stdout.is_some() || pipes.stderr.is_some();
        if exited {
            if !pipes_open {
                break;
            }
            let until = *linger_until.get_or_insert(now + PIPE_LINGER);
            if now >= until {
                // A background grandchild holds the pipe: stop waiting for it.
                signal_group(pid, Signal::KILL.as_raw());
                break;
            }
        }
        let mut deadline = [kill_at, linger_until].into_iter().flatten().min();
        if pidfd.is_none() && !exited {
            let tick = now + Duration::from_millis(10);
            deadline = Some(deadline.map_or(tick, |d| d.min(tick)));
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(now);
            rustix::event::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            }
        });
        let (ready_exit, ready_out, ready_err) = {
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(5);
            let mut slot_exit = None;
            let mut slot_out = None;
            let mut slot_err = None;
            if let (false, Some(fd)) = (exited, pidfd.as_ref()) {
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
            if !forwarded {
                fds.push(PollFd::from_borrowed_fd(cancel.forward_fd(), PollFlags::IN));
            }
            if !killed {
                fds.push(PollFd::from_borrowed_fd(cancel.kill_fd(), PollFlags::IN));
            }
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return (Err(e.into()), forwarded),
            }
            let ready = |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
            (ready(slot_exit), ready(slot_out), ready(slot_err))
        };
        if ready_exit {
            exited = true;
        }
        if ready_out && read_pipe(&mut pipes.stdout, &mut chunk, &mut out_buf, lines) {
            pipes.stdout = None;
        }
        if ready_err && read_pipe(&mut pipes.stderr, &mut chunk, &mut err_buf, lines) {
            pipes.stderr = None;
        }
    }
    out_buf.finish(lines);
    err_buf.finish(lines);
    (child.wait(), forwarded)
}

/// Reads one chunk; returns true when the pipe is done (EOF or error).
fn read_pipe<P: Read + AsFd>(
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

/// A runner that spawns nothing and follows a script in the item text:
/// `ok`, `exit:N`, `sleep:MS`, `hang` (until cancelled), `signal:N`,
/// `out:TEXT` (TEXT on stdout), `err:TEXT` (TEXT on stderr, exit 1), `panic`.
/// Anything else succeeds. Used by engine tests and `--debug-fake-runner`.
#[derive(Debug, Default)]
pub struct FakeRunner;

impl Runner for FakeRunner {
    fn run(&self, job: &Job<'_>, cancel: &CancelToken, lines: &mut LineSink<'_>) -> JobResult {
        let text = String::from_utf8_lossy(&job.item.raw).into_owned();
        let (verb, arg) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let outcome = match verb {
            "exit" => match arg.parse() {
                Ok(0) => Outcome::Success,
                Ok(code) => Outcome::Failed { code },
                Err(_) => Outcome::Failed { code: 1 },
            },
            "sleep" => {
                let end = Instant::now() + Duration::from_millis(arg.parse().unwrap_or(10));
                while Instant::now() < end {
                    if cancel.is_forwarding() {
                        return JobResult::bare(Outcome::Interrupted);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Outcome::Success
            }
            "hang" => {
                let mut fds = [PollFd::from_borrowed_fd(cancel.forward_fd(), PollFlags::IN)];
                let _ = poll(&mut fds, None);
                Outcome::Interrupted
            }
            "signal" => Outcome::Signaled {
                signal: arg.parse().unwrap_or(9),
            },
            "out" | "err" => {
                let stream = if verb == "out" {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                lines(stream, format!("{arg}\n").into_bytes());
                if verb == "out" {
                    Outcome::Success
                } else {
                    Outcome::Failed { code: 1 }
                }
            }
            "panic" => panic!("fake runner asked to panic"),
            _ => Outcome::Success,
        };
        JobResult::bare(outcome)
    }
}
