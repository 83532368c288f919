//! [`ProcessRunner`]: spawns a job in its own process group (capture
//! files or pipes, `PATH` looked up once per worker), waits for it through
//! the supervisor, and turns its exit status into an [`Outcome`].

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, test_kill_process_group};

use super::signal_group;
use super::stdin::StdinFeed;
use super::supervise::{Ended, LEAK_WAIT, Pipes, Supervisor};
use super::table::JobTable;
use super::terminal::Foreground;
use super::{Capture, Job, JobResult, LineSink, Runner, SpawnOptions};
use crate::cancel::CancelToken;
use crate::outcome::{Captured, Outcome};

/// Spawns real processes, each in its own process group.
#[derive(Debug)]
pub struct ProcessRunner {
    pub(super) opts: SpawnOptions,
    pub(super) table: Arc<JobTable>,
}

/// The kernel's limit on one argument or environment string, NUL included.
pub(super) const MAX_ARG_STRLEN: usize = 128 * 1024;

impl ProcessRunner {
    /// A runner with these options, registering running jobs in `table`.
    pub fn new(opts: SpawnOptions, table: Arc<JobTable>) -> ProcessRunner {
        ProcessRunner { opts, table }
    }

    pub(super) fn prepare(&self, cmd: &mut Command) -> Result<Captured, String> {
        let mut captured = Captured::default();
        match self.opts.capture {
            Capture::Files => {
                let open = || {
                    if let Some(file) = SPARE.with(|spare| spare.borrow_mut().pop()) {
                        return Ok(file);
                    }
                    tempfile::tempfile_in(&self.opts.temp_dir).map_err(|e| {
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
        Ok(captured)
    }
}

impl ProcessRunner {
    /// Whether the job's output may not have reached its capture files: the
    /// filesystem they are on is full now, and the job failed (a write error
    /// is the likely cause, and its message was lost too) or wrote output
    /// (which may be cut short). Then the item cannot count as done: it
    /// becomes an internal error that names the directory.
    pub(super) fn capture_lost(&self, captured: &Captured, outcome: &Outcome) -> Option<String> {
        let file = captured.stdout.as_ref()?;
        let stats = rustix::fs::fstatvfs(file).ok()?;
        let free = if rustix::process::geteuid().is_root() {
            stats.f_bfree
        } else {
            stats.f_bavail
        };
        if free > 0 {
            return None;
        }
        let wrote = [&captured.stdout, &captured.stderr]
            .into_iter()
            .flatten()
            .any(|f| f.metadata().is_ok_and(|m| m.len() > 0));
        if outcome.is_success() && !wrote {
            return None;
        }
        Some(format!(
            "fanout's capture file in `{}` could not be written: no space left on device, so \
             the job's output is incomplete (set TMPDIR to a directory with room); the job \
             itself ended: {}",
            self.opts.temp_dir.display(),
            outcome.describe()
        ))
    }
}

impl Runner for ProcessRunner {
    fn run(&self, job: &Job<'_>, cancel: &CancelToken, lines: &mut LineSink<'_>) -> JobResult {
        let mut cmd = match resolved(&job.spec.program) {
            Some(path) => Command::new(path),
            None => Command::new(&job.spec.program),
        };
        let tty = match (&self.opts.terminal, self.opts.tty) {
            (Some(terminal), true) => terminal.file.as_ref(),
            _ => None,
        };
        let stdin = match tty.map(File::try_clone) {
            Some(Ok(file)) => Stdio::from(file),
            Some(Err(e)) => {
                return JobResult::bare(Outcome::Internal {
                    message: format!("--tty: failed to duplicate the terminal: {e}"),
                });
            }
            None if job.item.is_block() || job.stream.is_some() => Stdio::piped(),
            None => Stdio::null(),
        };
        cmd.args(&job.spec.args)
            // Own process group: terminal signals do not reach the job, fanout
            // decides what does, and the whole tree can be signalled at once.
            // `process_group` keeps std's fast posix_spawn path (no pre_exec).
            // With --tty the group is then given the terminal's foreground.
            .process_group(0)
            .stdin(stdin)
            .env("FANOUT_SEQ", job.seq.to_string())
            .env("FANOUT_SLOT", job.slot.to_string());
        if self.opts.dialect == crate::gnu::Dialect::Gnu {
            cmd.env("PARALLEL_SEQ", job.item.seq.to_string())
                .env("PARALLEL_JOBSLOT", job.slot.to_string());
        }
        if let Some(nice) = self.opts.nice {
            // SAFETY: `nice` is one system call, safe between fork and exec.
            // Only with --nice: without a pre_exec std spawns faster. As
            // nice(1) does, a niceness the job may not have (a negative N
            // without privilege) leaves it as it is.
            unsafe {
                cmd.pre_exec(move || {
                    let _ = libc::nice(nice);
                    Ok(())
                });
            }
        }
        // Linux refuses any single argument or variable over 128 KiB; a job
        // that does not use a huge item must not fail because of its copy.
        if job.item.raw.len() + "FANOUT_ITEM=".len() < MAX_ARG_STRLEN {
            cmd.env("FANOUT_ITEM", OsStr::from_bytes(&job.item.raw));
        }
        let captured = match self.prepare(&mut cmd) {
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
                    captured: drop_empty(captured),
                    leaked: false,
                };
            }
        };
        let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) else {
            let status = child.wait();
            return JobResult::bare(match status {
                Ok(status) => classify(status, Ended::default()),
                Err(e) => Outcome::Internal {
                    message: format!("failed to wait for the job: {e}"),
                },
            });
        };
        self.table.register(job.slot, pid, cancel);
        let foreground = tty.map(|tty| Foreground::give(tty, pid));
        let mut streamed = None;
        let stdin = match (child.stdin.take(), &job.item.data) {
            (Some(pipe), _) if job.stream.is_some() => {
                streamed = Some(pipe);
                None
            }
            (Some(pipe), crate::item::ItemData::Block(block)) => {
                match StdinFeed::new(pipe, block) {
                    Ok(feed) => Some(feed),
                    Err(e) => {
                        signal_group(pid, Signal::KILL);
                        self.table.set(job.slot, None);
                        let _ = child.wait();
                        return JobResult::bare(Outcome::Internal {
                            message: format!("failed to set up the job's stdin: {e}"),
                        });
                    }
                }
            }
            _ => None,
        };
        let pipes = Pipes {
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            stdin,
        };
        let supervisor = Supervisor {
            pid,
            cancel,
            grace: self.opts.grace,
            timeout: self.opts.timeout,
            terminal: self.opts.terminal.as_deref(),
            foreground: foreground.as_ref(),
        };
        let exited = std::sync::atomic::AtomicBool::new(false);
        let ended = std::thread::scope(|scope| {
            if let (Some(stream), Some(pipe)) = (job.stream, streamed) {
                // Block after block, on a thread of its own, until the
                // input ends or it learns that the job has ended.
                let exited = &exited;
                let _ = std::thread::Builder::new()
                    .name(format!("fanout-stdin-{}", job.slot))
                    .spawn_scoped(scope, move || stream(pipe, exited));
            }
            let ended = supervisor.watch(&mut child, pipes, lines);
            exited.store(true, std::sync::atomic::Ordering::SeqCst);
            ended
        });
        let feed_failed = ended.feed_failed.clone();
        drop(foreground);
        // Unregister before reaping: once reaped, the pid may be reused.
        self.table.set(job.slot, None);
        let status = child.wait();
        let mut leaked = ended.leaked;
        if !leaked && group_lingers(pid) {
            // A background grandchild outlived the job: give it a moment,
            // then kill the group so nothing fanout started survives.
            leaked = true;
            signal_group(pid, Signal::KILL);
        }
        let mut outcome = match status {
            Ok(status) => classify(status, ended),
            Err(e) => Outcome::Internal {
                message: format!("failed to wait for the job: {e}"),
            },
        };
        if let Some(message) = self.capture_lost(&captured, &outcome) {
            outcome = Outcome::Internal { message };
        }
        if let Some(message) = feed_failed {
            outcome = Outcome::Internal { message };
        }
        if tty.is_some()
            && outcome
                == (Outcome::Signaled {
                    signal: libc::SIGINT,
                })
        {
            // Ctrl-C at the terminal reached only the job, which held it:
            // the run stops as if fanout had got it (as a shell loop does).
            cancel.signal(libc::SIGINT);
            outcome = Outcome::Interrupted;
        }
        JobResult {
            outcome,
            captured: drop_empty(captured),
            leaked,
        }
    }
}

thread_local! {
    /// Programs already looked up in `PATH` by this worker thread. Per
    /// thread, so no worker waits for another.
    static RESOLVED: std::cell::RefCell<std::collections::HashMap<OsString, Option<PathBuf>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The absolute path of a bare program name, looked up in `PATH` once per
/// worker: the spawn then execs it directly instead of trying every `PATH`
/// entry for every job. `None` for paths and for names not found (the spawn
/// then reports the error as usual).
pub(super) fn resolved(program: &OsStr) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') || program.is_empty() {
        return None;
    }
    RESOLVED.with(|cache| {
        cache
            .borrow_mut()
            .entry(program.to_owned())
            .or_insert_with(|| find_in_path(program))
            .clone()
    })
}

/// The first executable `PATH` entry named `program`, as `execvp` finds it.
pub(super) fn find_in_path(program: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate.is_file()
                && rustix::fs::access(candidate, rustix::fs::Access::EXEC_OK).is_ok()
        })
}

/// Whether the job's process group still has live members after the job
/// was reaped, waiting up to [`LEAK_WAIT`] for them to go.
pub(super) fn group_lingers(pid: Pid) -> bool {
    let until = Instant::now() + LEAK_WAIT;
    loop {
        if test_kill_process_group(pid).is_err() || !group_has_live_members(pid) {
            return false;
        }
        if Instant::now() >= until {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether any process of group `pgid` is alive. Orphaned members that died
/// stay in the group as zombies until init reaps them, which some inits do
/// slowly: those do not count. Only called when a signal test says the group
/// exists, so the scan of `/proc` is rare.
pub(super) fn group_has_live_members(pgid: Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc: trust the signal test.
        return true;
    };
    let pgid = pgid.as_raw_nonzero().get().to_string();
    entries.filter_map(Result::ok).any(|entry| {
        let name = entry.file_name();
        if !name.as_bytes().iter().all(u8::is_ascii_digit) {
            return false;
        }
        let Ok(stat) = std::fs::read(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parens.
        let Some(close) = memchr::memrchr(b')', &stat) else {
            return false;
        };
        let mut fields = stat[close + 1..]
            .split(|&b| b == b' ')
            .filter(|f| !f.is_empty());
        let state = fields.next();
        let _ppid = fields.next();
        let pgrp = fields.next();
        pgrp == Some(pgid.as_bytes()) && !matches!(state, Some(b"Z" | b"X"))
    })
}

thread_local! {
    /// Empty capture files this worker thread can use again: a job that
    /// writes nothing costs no file creation after the first.
    static SPARE: std::cell::RefCell<Vec<File>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most spare capture files a worker keeps.
pub(super) const MAX_SPARE: usize = 2;

/// Keeps only capture files the job wrote to, for the collector; empty ones
/// go back to this worker's spares (still at offset 0: nothing was written),
/// so neither the collector nor the `-k` window holds them.
pub(super) fn drop_empty(captured: Captured) -> Captured {
    let keep = |file: Option<File>| {
        let file = file?;
        if file.metadata().is_ok_and(|m| m.len() > 0) {
            return Some(file);
        }
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < MAX_SPARE {
                spare.push(file);
            }
        });
        None
    };
    Captured {
        stdout: keep(captured.stdout),
        stderr: keep(captured.stderr),
    }
}

pub(super) fn spawn_error(program: &OsStr, e: &io::Error) -> String {
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

/// Maps an exit status to an outcome. A timeout wins; a job that fanout
/// signalled on cancellation and that did not succeed was interrupted.
pub(super) fn classify(status: ExitStatus, ended: Ended) -> Outcome {
    if let Some(signal) = ended.stopped_by {
        Outcome::Signaled { signal }
    } else if ended.timed_out {
        Outcome::TimedOut
    } else if status.success() {
        Outcome::Success
    } else if ended.forwarded {
        Outcome::Interrupted
    } else if let Some(code) = status.code() {
        Outcome::Failed { code }
    } else {
        Outcome::Signaled {
            signal: status.signal().unwrap_or(0),
        }
    }
}
