//! Process supervision. [`Runner`] is the seam between the engine and the OS:
//! [`ProcessRunner`] spawns a real child in its own process group, captures
//! its output, forwards signals to the group, and escalates to SIGKILL after
//! the grace period; [`FakeRunner`] follows a script in the item text so the
//! engine is tested without processes.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

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
}

/// fanout's controlling terminal.
#[derive(Debug)]
pub struct Terminal {
    /// Its device number, as `/proc/PID/stat` gives it.
    dev: u64,
    /// `/dev/tty`, opened for `--tty`.
    file: Option<File>,
}

impl Terminal {
    /// The controlling terminal of fanout's session, if it has one.
    pub fn current() -> Option<Terminal> {
        let stat = std::fs::read("/proc/self/stat").ok()?;
        let dev = stat_field(&stat, 4)?;
        (dev != 0).then_some(Terminal { dev, file: None })
    }

    /// For `--tty`: the terminal, which fanout must be in the foreground of.
    pub fn for_jobs() -> Result<Terminal, String> {
        let not_at = |why: String| format!("--tty: fanout is not at a terminal ({why})");
        let mut terminal =
            Terminal::current().ok_or_else(|| not_at("it has no controlling terminal".into()))?;
        let file = File::options()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| not_at(format!("/dev/tty: {e}")))?;
        let foreground = rustix::termios::tcgetpgrp(&file).ok();
        if foreground != Some(rustix::process::getpgrp()) {
            return Err(
                "--tty: fanout is not in the terminal's foreground (run it without `&`)".into(),
            );
        }
        terminal.file = Some(file);
        Ok(terminal)
    }
}

/// Field `n` (0 = state) after the `(comm)` of a `/proc/PID/stat` line, as
/// a number.
fn stat_field(stat: &[u8], n: usize) -> Option<u64> {
    let close = memchr::memrchr(b')', stat)?;
    let field = stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .nth(n)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// SIGTTIN and SIGTTOU: the terminal stops a background job that reads from
/// it, or writes to it with `stty tostop` (or changes its settings).
pub const SIGTTIN: i32 = 21;
/// See [`SIGTTIN`].
pub const SIGTTOU: i32 = 22;

/// How often a running job is checked for being stopped by the terminal.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// Whether the job of group leader `pid` was stopped by the terminal, and
/// by which signal. A job stopped by fanout (Ctrl-Z) is not; nor one
/// stopped with SIGSTOP or SIGTSTP by someone else, which is deliberate.
fn stopped_by_terminal(pid: Pid, terminal: &Terminal, cancel: &CancelToken) -> Option<i32> {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    if cancel.is_paused() {
        return None;
    }
    let options = WaitIdOptions::STOPPED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    let found = match waitid(WaitId::Pid(pid), options) {
        Ok(Some(status)) if status.stopped() => status
            .stopping_signal()
            .filter(|&sig| sig == SIGTTIN || sig == SIGTTOU),
        _ => None,
    }
    .or_else(|| stopped_descendant(pid, terminal));
    // fanout may have begun stopping the job's group meanwhile.
    found.filter(|_| !cancel.is_paused())
}

/// A descendant of `pid` stopped while it uses the terminal: its guessed
/// signal (SIGTTIN when stopped in a read, SIGTTOU otherwise). Its parent
/// cannot tell fanout why it stopped, so a process counts only when it has
/// the terminal open (the only way the terminal can stop it).
fn stopped_descendant(pid: Pid, terminal: &Terminal) -> Option<i32> {
    let mut todo = children(pid.as_raw_nonzero().get());
    let mut seen = 0;
    while let Some(child) = todo.pop() {
        seen += 1;
        if seen > 4096 {
            return None;
        }
        let Ok(stat) = std::fs::read(format!("/proc/{child}/stat")) else {
            continue;
        };
        let close = memchr::memrchr(b')', &stat).unwrap_or(0);
        let state = stat.get(close + 2).copied();
        if state == Some(b'T') && holds_terminal(child, terminal.dev) {
            return Some(if in_read(child) { SIGTTIN } else { SIGTTOU });
        }
        todo.extend(children(child));
    }
    None
}

/// The children of `pid`, from `/proc/PID/task/*/children`.
fn children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for task in tasks.filter_map(Result::ok) {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    found
}

/// Whether process `pid` has a descriptor open on terminal `dev`.
fn holds_terminal(pid: i32, dev: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .any(|fd| std::fs::metadata(fd.path()).is_ok_and(|m| m.rdev() == dev))
}

/// Whether process `pid` is stopped inside a read (from `/proc/PID/syscall`).
fn in_read(pid: i32) -> bool {
    #[cfg(target_arch = "x86_64")]
    const READS: &[&str] = &["0", "17", "19"];
    #[cfg(target_arch = "aarch64")]
    const READS: &[&str] = &["63", "65", "67"];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    const READS: &[&str] = &[];
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .is_some_and(|nr| READS.contains(&nr.as_str()) || READS.is_empty())
}

/// SIGTTOU blocked in this thread while it holds the guard: a process in
/// the background may then hand the terminal to another group (and take it
/// back) without being stopped for it.
struct TtouBlocked {
    old: libc::sigset_t,
}

impl TtouBlocked {
    fn new() -> TtouBlocked {
        // SAFETY: plain libc calls on local, initialised signal sets.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTTOU);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            TtouBlocked { old }
        }
    }
}

impl Drop for TtouBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

/// `--tty`: the job's group holds the terminal's foreground until dropped,
/// then fanout's own group has it again.
struct Foreground<'a> {
    tty: &'a File,
    _blocked: TtouBlocked,
}

impl<'a> Foreground<'a> {
    fn give(tty: &'a File, pid: Pid) -> Foreground<'a> {
        let blocked = TtouBlocked::new();
        let _ = rustix::termios::tcsetpgrp(tty, pid);
        // The job may have touched the terminal before it was its own, and
        // been stopped for it: go on.
        signal_group(pid, Signal::CONT);
        Foreground {
            tty,
            _blocked: blocked,
        }
    }

    /// fanout takes the terminal back (the job stopped: Ctrl-Z).
    fn take_back(&self) {
        let _ = rustix::termios::tcsetpgrp(self.tty, rustix::process::getpgrp());
    }

    /// The job gets the terminal again (fanout was continued).
    fn give_again(&self, pid: Pid) {
        let _ = rustix::termios::tcsetpgrp(self.tty, pid);
        signal_group(pid, Signal::CONT);
    }
}

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        self.take_back();
    }
}

/// The process groups of running jobs, one entry per worker slot, so the
/// signal thread can stop, continue or kill them all (Ctrl-Z, `fg`, a third
/// Ctrl-C). Each slot has its own lock: workers never contend with each other,
/// only with the rare signal.
#[derive(Debug)]
pub struct JobTable {
    slots: Vec<Mutex<Option<Pid>>>,
}

impl JobTable {
    /// A table for `slots` workers.
    pub fn new(slots: usize) -> JobTable {
        JobTable {
            slots: (0..=slots).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn set(&self, slot: usize, pid: Option<Pid>) {
        if let Some(entry) = self.slots.get(slot) {
            *entry.lock().unwrap_or_else(PoisonError::into_inner) = pid;
        }
    }

    /// Registers a job that has just started. A Ctrl-Z that came between its
    /// spawn and now missed it, so it is stopped here; under the slot's lock,
    /// so a SIGCONT (which ends the pause before it continues every group)
    /// cannot slip between the check and the stop.
    fn register(&self, slot: usize, pid: Pid, cancel: &CancelToken) {
        if let Some(entry) = self.slots.get(slot) {
            let mut entry = entry.lock().unwrap_or_else(PoisonError::into_inner);
            *entry = Some(pid);
            if cancel.is_paused() {
                let _ = kill_process_group(pid, Signal::STOP);
            }
        }
    }

    /// Sends `signal` to every running job's process group. A worker removes
    /// its entry (under the same lock) before it reaps its child, so a group
    /// signalled here is never a recycled pid.
    pub fn signal_all(&self, signal: Signal) {
        for entry in &self.slots {
            let entry = entry.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(pid) = *entry {
                let _ = kill_process_group(pid, signal);
            }
        }
    }
}

/// Spawns real processes, each in its own process group.
#[derive(Debug)]
pub struct ProcessRunner {
    opts: SpawnOptions,
    table: Arc<JobTable>,
}

/// How long a job's pipes may stay open, or its process group live on, after
/// the job exited (a background grandchild) before fanout kills the group.
/// nextest waits the same 100 ms.
const LEAK_WAIT: Duration = Duration::from_millis(100);

/// The kernel's limit on one argument or environment string, NUL included.
const MAX_ARG_STRLEN: usize = 128 * 1024;

/// Longest partial line buffered before it is forwarded anyway.
const MAX_LINE: usize = 64 * 1024;

impl ProcessRunner {
    /// A runner with these options, registering running jobs in `table`.
    pub fn new(opts: SpawnOptions, table: Arc<JobTable>) -> ProcessRunner {
        ProcessRunner { opts, table }
    }

    fn prepare(&self, cmd: &mut Command) -> Result<Captured, String> {
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
    fn capture_lost(&self, captured: &Captured, outcome: &Outcome) -> Option<String> {
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
            None => Stdio::null(),
        };
        cmd.args(&job.spec.args)
            // Own process group: terminal signals do not reach the job, fanout
            // decides what does, and the whole tree can be signalled at once.
            // `process_group` keeps std's fast posix_spawn path (no pre_exec).
            // With --tty the group is then given the terminal's foreground.
            .process_group(0)
            .stdin(stdin)
            .env("FANOUT_SEQ", job.item.seq.to_string())
            .env("FANOUT_SLOT", job.slot.to_string());
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
        let pipes = Pipes {
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        };
        let supervisor = Supervisor {
            pid,
            cancel,
            grace: self.opts.grace,
            timeout: self.opts.timeout,
            terminal: self.opts.terminal.as_deref(),
            foreground: foreground.as_ref(),
        };
        let ended = supervisor.watch(&mut child, pipes, lines);
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
        if tty.is_some() && outcome == (Outcome::Signaled { signal: SIGINT }) {
            // Ctrl-C at the terminal reached only the job, which held it:
            // the run stops as if fanout had got it (as a shell loop does).
            cancel.signal(SIGINT);
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
fn resolved(program: &OsStr) -> Option<PathBuf> {
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
fn find_in_path(program: &OsStr) -> Option<PathBuf> {
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
fn group_lingers(pid: Pid) -> bool {
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
fn group_has_live_members(pgid: Pid) -> bool {
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
const MAX_SPARE: usize = 2;

/// Keeps only capture files the job wrote to, for the collector; empty ones
/// go back to this worker's spares (still at offset 0: nothing was written),
/// so neither the collector nor the `-k` window holds them.
fn drop_empty(captured: Captured) -> Captured {
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

/// What fanout did to a job while it ran.
#[derive(Debug, Default, Clone, Copy)]
struct Ended {
    /// fanout forwarded a cancellation signal.
    forwarded: bool,
    /// The job hit its timeout.
    timed_out: bool,
    /// Its pipes stayed open after it exited.
    leaked: bool,
    /// The terminal stopped it (SIGTTIN, SIGTTOU) and fanout killed it.
    stopped_by: Option<i32>,
}

/// Maps an exit status to an outcome. A timeout wins; a job that fanout
/// signalled on cancellation and that did not succeed was interrupted.
fn classify(status: ExitStatus, ended: Ended) -> Outcome {
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

/// SIGINT's number.
const SIGINT: i32 = 2;

/// Whether the job's leader is stopped right now (by any signal).
fn job_is_stopped(pid: Pid) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    let options = WaitIdOptions::STOPPED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(waitid(WaitId::Pid(pid), options), Ok(Some(status)) if status.stopped())
}

fn signal_group(pid: Pid, signal: Signal) {
    // ESRCH (the group is gone) is the normal race with a job exiting.
    let _ = kill_process_group(pid, signal);
}

fn timespec(left: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(left.subsec_nanos()),
    }
}

/// Watches one running child: forwards cancellation to its process group,
/// enforces the timeout and the grace period, and reads its pipes.
struct Supervisor<'a> {
    pid: Pid,
    cancel: &'a CancelToken,
    grace: Duration,
    timeout: Option<Duration>,
    /// fanout's terminal: check the job for stops by it.
    terminal: Option<&'a Terminal>,
    /// `--tty`: the job holds the terminal.
    foreground: Option<&'a Foreground<'a>>,
}

impl Supervisor<'_> {
    /// A periodic check of a running job: stopped by the terminal (then it
    /// is killed), or with `--tty` stopped by Ctrl-Z (then fanout takes the
    /// terminal back and stops too, and gives it back when continued).
    fn check_stop(&self, suspended: &mut Option<Duration>, ended: &mut Ended) -> bool {
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
    fn watch(&self, child: &mut Child, mut pipes: Pipes, lines: &mut LineSink<'_>) -> Ended {
        let pid = self.pid;
        let cancel = self.cancel;
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
        let started = Instant::now();
        let paused_before = cancel.paused();
        let mut out_buf = LineBuf {
            stream: Stream::Stdout,
            buf: Vec::new(),
        };
        let mut err_buf = LineBuf {
            stream: Stream::Stderr,
            buf: Vec::new(),
        };
        let mut ended = Ended::default();
        let mut killed = false;
        let mut kill_at: Option<Instant> = None;
        let mut exited = false;
        let mut linger_until: Option<Instant> = None;
        let mut chunk = vec![0u8; if pipes.stdout.is_some() { 64 * 1024 } else { 0 }];
        let checks_stops = self.terminal.is_some() || self.foreground.is_some();
        let mut next_check = started + STOP_CHECK;
        let mut suspended = None;
        loop {
            let now = Instant::now();
            let mut timeout_at = None;
            if checks_stops && !exited && !killed && now >= next_check {
                next_check = now + STOP_CHECK;
                if self.check_stop(&mut suspended, &mut ended) {
                    killed = true;
                    kill_at = None;
                }
            }
            if !exited && !ended.forwarded && cancel.is_forwarding() {
                signal_group(pid, cancel.forward_signal());
                ended.forwarded = true;
                kill_at = Some(kill_at.map_or(now + self.grace, |t| t.min(now + self.grace)));
            }
            if let (false, false, Some(limit)) = (exited, ended.timed_out, self.timeout) {
                // Time fanout spent stopped (Ctrl-Z) does not count.
                let ran = now
                    .duration_since(started)
                    .saturating_sub(cancel.paused().saturating_sub(paused_before));
                if ran >= limit && !cancel.is_paused() {
                    signal_group(pid, Signal::TERM);
                    ended.timed_out = true;
                    kill_at = Some(kill_at.map_or(now + self.grace, |t| t.min(now + self.grace)));
                } else {
                    timeout_at =
                        Some(now + limit.saturating_sub(ran).max(Duration::from_millis(1)));
                }
            }
            if !killed && (cancel.is_killing() || kill_at.is_some_and(|t| now >= t)) {
                signal_group(pid, Signal::KILL);
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
                let until = *linger_until.get_or_insert(now + LEAK_WAIT);
                if now >= until {
                    // A background grandchild holds the pipe: stop waiting.
                    signal_group(pid, Signal::KILL);
                    ended.leaked = true;
                    break;
                }
            }
            let stop_check = (checks_stops && !exited && !killed).then_some(next_check);
            let mut deadline = [kill_at, linger_until, timeout_at, stop_check]
                .into_iter()
                .flatten()
                .min();
            if pidfd.is_none() && !exited {
                let tick = now + Duration::from_millis(10);
                deadline = Some(deadline.map_or(tick, |d| d.min(tick)));
            }
            let timeout = deadline.map(|d| timespec(d.saturating_duration_since(now)));
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
                if !ended.forwarded && !exited {
                    fds.push(PollFd::from_borrowed_fd(cancel.forward_fd(), PollFlags::IN));
                }
                if !killed && !exited {
                    fds.push(PollFd::from_borrowed_fd(cancel.kill_fd(), PollFlags::IN));
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(_) => {
                        // Cannot wait properly: fall back to a blocking wait.
                        let _ = child.wait();
                        exited = true;
                        pipes = Pipes {
                            stdout: None,
                            stderr: None,
                        };
                        continue;
                    }
                }
                let ready =
                    |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
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
        ended
    }
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
