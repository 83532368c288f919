//! Process checks through `/proc`: whether a process is alive or stopped,
//! the members of a job's process group and whether they are stopped,
//! running or gone, and that nothing a run started is left behind.
//!
//! Jobs run in their own process group, whose id is the pid they record
//! (see [`super::RECORD_PID`]), so "gone" means no live process is left in
//! that group.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::POLL;
use super::sandbox::Sandbox;

/// How long processes that were sent SIGKILL may take to disappear. A
/// safety net for the scheduler on a loaded machine, not a timing check:
/// a killed process normally goes within a millisecond.
pub const KILL_SETTLE: Duration = Duration::from_secs(10);

/// SIGSTOP's bit in the signal masks of `/proc/PID/status`.
const SIGSTOP_BIT: u64 = 1 << (19 - 1);

/// Sends `signal` (a name such as `INT`, `TERM`, `KILL`) to `pid`.
#[track_caller]
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed: {status}");
}

/// What `/proc/PID/stat` says of a process.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// `R`, `S`, `D`, `T`, `Z`...
    pub state: char,
    pub parent: u32,
    pub group: u32,
}

/// `/proc/PID/stat` of `pid`, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parens.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(Stat {
        state,
        parent,
        group,
    })
}

/// Whether `pid` is a live process (a zombie is not: it is dead, and only
/// waits for a parent to reap it).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|s| !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// Whether `pid` is stopped (state T).
pub fn stopped(pid: u32) -> bool {
    stat(pid).is_some_and(|s| s.state == 'T')
}

/// Every pid in `/proc`.
fn all_pids() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

/// Live processes whose working directory is `dir`.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| {
            alive(pid) && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
        })
        .collect()
}

/// Live processes in process group `pgid` (a job and everything it started).
pub fn group_members(pgid: u32) -> Vec<u32> {
    group_states(pgid).into_iter().map(|(pid, _)| pid).collect()
}

/// Every live process of group `pgid`, with what `/proc` says of it.
pub fn group_states(pgid: u32) -> Vec<(u32, Stat)> {
    all_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.group == pgid && !matches!(s.state, 'Z' | 'X' | 'x'))
        .collect()
}

/// Whether job `pgid` is stopped: it is alive and every process of its
/// group is in state T. dash starts commands with vfork, and a shell whose
/// vforked child was stopped before it could exec waits in the kernel
/// (state D) until the child goes on, its own SIGSTOP pending: such a
/// parent of a stopped child counts as stopped.
pub fn group_stopped(pgid: u32) -> bool {
    let members = group_states(pgid);
    members.iter().any(|&(pid, _)| pid == pgid)
        && members.iter().all(|&(pid, s)| {
            s.state == 'T'
                || (s.state == 'D'
                    && stop_pending(pid)
                    && members
                        .iter()
                        .any(|&(_, child)| child.parent == pid && child.state == 'T'))
        })
}

/// Whether job `pgid` runs: it is alive and no process of its group is
/// stopped.
pub fn group_running(pgid: u32) -> bool {
    let members = group_states(pgid);
    members.iter().any(|&(pid, _)| pid == pgid)
        && members.iter().all(|&(_, s)| !matches!(s.state, 'T' | 't'))
}

/// Whether SIGSTOP is pending for `pid` (for the process or its thread).
fn stop_pending(pid: u32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status.lines().any(|line| {
        let Some((name, mask)) = line.split_once(':') else {
            return false;
        };
        matches!(name, "SigPnd" | "ShdPnd")
            && u64::from_str_radix(mask.trim(), 16).is_ok_and(|mask| mask & SIGSTOP_BIT != 0)
    })
}

/// Waits until `pid` is no live process; false if it still is after
/// [`KILL_SETTLE`].
pub fn wait_dead(pid: u32) -> bool {
    let deadline = Instant::now() + KILL_SETTLE;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
    true
}

/// Waits until process group `pgid` has no live member; returns the members
/// still alive after [`KILL_SETTLE`] (empty when the group is gone).
pub fn wait_group_gone(pgid: u32) -> Vec<u32> {
    let deadline = Instant::now() + KILL_SETTLE;
    loop {
        let left = group_members(pgid);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(POLL);
    }
}

/// Every recorded job (`pid.N`, with its whole process group) and background
/// child (`bg.N`) is gone, and no process is left working in the sandbox.
/// Returns how many jobs and background children were checked.
#[track_caller]
pub fn assert_nothing_left(sb: &Sandbox, context: &str) -> (usize, usize) {
    let jobs = sb.pids("pid");
    let background = sb.pids("bg");
    for &pid in &jobs {
        assert!(
            wait_dead(pid),
            "job {pid} is still alive after fanout exited\n{context}"
        );
        let left = wait_group_gone(pid);
        assert!(
            left.is_empty(),
            "job {pid}'s process group still has {left:?} after fanout exited\n{context}"
        );
    }
    for &pid in &background {
        assert!(
            wait_dead(pid),
            "background child {pid} outlived the run\n{context}"
        );
    }
    let deadline = Instant::now() + KILL_SETTLE;
    loop {
        let left = processes_in(sb.path());
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes {left:?} still work in the sandbox after fanout exited\n{context}"
        );
        std::thread::sleep(POLL);
    }
    (jobs.len(), background.len())
}
