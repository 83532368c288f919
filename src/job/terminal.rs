//! fanout's controlling terminal: jobs it stops (SIGTTIN, SIGTTOU) are
//! found and failed with a hint, and `--tty` hands the terminal's
//! foreground to one job at a time.

use super::signal_group;
use std::fs::File;
use std::time::Duration;

use rustix::process::{Pid, Signal};

use crate::cancel::CancelToken;

/// fanout's controlling terminal.
#[derive(Debug)]
pub struct Terminal {
    /// Its device number, as `/proc/PID/stat` gives it.
    pub(super) dev: u64,
    /// `/dev/tty`, opened for `--tty`.
    pub(super) file: Option<File>,
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
pub(super) fn stat_field(stat: &[u8], n: usize) -> Option<u64> {
    let close = memchr::memrchr(b')', stat)?;
    let field = stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .nth(n)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// How often a running job is checked for being stopped by the terminal.
pub(super) const STOP_CHECK: Duration = Duration::from_millis(200);

/// Whether the job of group leader `pid` was stopped by the terminal, and
/// by which signal. A job stopped by fanout (Ctrl-Z) is not; nor one
/// stopped with SIGSTOP or SIGTSTP by someone else, which is deliberate.
pub(super) fn stopped_by_terminal(
    pid: Pid,
    terminal: &Terminal,
    cancel: &CancelToken,
) -> Option<i32> {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    if cancel.is_paused() {
        return None;
    }
    let options = WaitIdOptions::STOPPED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    let found = match waitid(WaitId::Pid(pid), options) {
        Ok(Some(status)) if status.stopped() => status
            .stopping_signal()
            .filter(|&sig| sig == libc::SIGTTIN || sig == libc::SIGTTOU),
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
pub(super) fn stopped_descendant(pid: Pid, terminal: &Terminal) -> Option<i32> {
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
            return Some(if in_read(child) {
                libc::SIGTTIN
            } else {
                libc::SIGTTOU
            });
        }
        todo.extend(children(child));
    }
    None
}

/// The children of `pid`, from `/proc/PID/task/*/children`.
pub(super) fn children(pid: i32) -> Vec<i32> {
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
pub(super) fn holds_terminal(pid: i32, dev: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .any(|fd| std::fs::metadata(fd.path()).is_ok_and(|m| m.rdev() == dev))
}

/// Whether process `pid` is stopped inside a read (from `/proc/PID/syscall`).
pub(super) fn in_read(pid: i32) -> bool {
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
pub(super) struct TtouBlocked {
    pub(super) old: libc::sigset_t,
}

impl TtouBlocked {
    pub(super) fn new() -> TtouBlocked {
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
pub(super) struct Foreground<'a> {
    pub(super) tty: &'a File,
    pub(super) _blocked: TtouBlocked,
}

impl<'a> Foreground<'a> {
    pub(super) fn give(tty: &'a File, pid: Pid) -> Foreground<'a> {
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
    pub(super) fn take_back(&self) {
        let _ = rustix::termios::tcsetpgrp(self.tty, rustix::process::getpgrp());
    }

    /// The job gets the terminal again (fanout was continued).
    pub(super) fn give_again(&self, pid: Pid) {
        let _ = rustix::termios::tcsetpgrp(self.tty, pid);
        signal_group(pid, Signal::CONT);
    }
}

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        self.take_back();
    }
}
