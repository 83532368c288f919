//! Crash safety of the journal: `kill -9` of fanout at many moments, then
//! `--resume` to the end, and the journal's guarantee checked each time:
//!
//! - no item is lost: every item ran, and its output was written whole, in
//!   the killed run or in the resume;
//! - an item the journal recorded as succeeded did not run again, and its
//!   output is whole in the killed run's stdout (it was journaled only once
//!   written);
//! - only items in flight at the kill ran twice: at most one per worker
//!   (`-j`), or with `-k` the reorder window (8 × `-j`, at least 32).
//!
//! Each trial runs 300 items with `-j4`, in group, line or `-k` mode. Half
//! the trials write stdout to a file and kill once a number of jobs ran (by
//! the side file); the other half write it to a pipe that the test stops
//! reading, and kill once the pipe is full, so fanout is blocked in the
//! middle of writing an item's output: the moment at which journaling
//! before writing would be caught every time. `FANOUT_CRASH_TRIALS=N` runs
//! N trials instead of the default.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::journal::{LastLine, journal_at, ok_items};
use crate::util::{DEADLINE, Ended, Fanout, Sandbox, alive, processes_in};

const ITEMS: usize = 300;
const JOBS: usize = 4;

/// Trials in a default run: each of the six kinds (three modes, two
/// stdouts) five times, at different moments.
const DEFAULT_TRIALS: usize = 30;

/// Zeros after each item's name on its output line, so that a few dozen
/// items fill a pipe.
const PAD: usize = 4000;

/// The job: record the item in the side file, then print its output line.
fn job() -> String {
    format!(r#"echo "$1" >> side; printf 'out-%s %0{PAD}d\n' "$1" 0"#)
}

/// The output line of item `item`.
fn output_line(item: &str) -> String {
    format!("out-{item} {}", "0".repeat(PAD))
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Group,
    Line,
    KeepOrder,
}

impl Mode {
    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Group => &[],
            Mode::Line => &["--output", "line"],
            Mode::KeepOrder => &["-k"],
        }
    }

    /// How many items may run twice after a kill.
    fn repeat_bound(self) -> usize {
        match self {
            Mode::Group | Mode::Line => JOBS,
            Mode::KeepOrder => (8 * JOBS).max(32),
        }
    }
}

/// Where the killed run's stdout goes, and so when it is killed.
#[derive(Debug, Clone, Copy)]
enum Stdout {
    /// A file; the kill comes once this many jobs wrote the side file.
    File { ran: usize },
    /// A pipe, read for this many bytes and then no more; the kill comes
    /// once the pipe is full and fanout is blocked writing to it.
    StalledPipe { read: usize },
}

#[derive(Debug, Clone, Copy)]
struct Trial {
    mode: Mode,
    stdout: Stdout,
}

/// The `n`th trial: modes and stdouts take turns, and the moment of the
/// kill moves through the run.
fn trial(n: usize) -> Trial {
    let mode = [Mode::Group, Mode::Line, Mode::KeepOrder][n % 3];
    let spread = n * 97 % ITEMS;
    let stdout = if n / 3 % 2 == 0 {
        Stdout::File { ran: spread }
    } else {
        // Leave enough items unread to fill the pipe; stop mid-line too.
        let lines = spread % (ITEMS - 40);
        Stdout::StalledPipe {
            read: lines * (output_line("1").len() + 1) + n * 31 % PAD,
        }
    };
    Trial { mode, stdout }
}

/// Newline count of `path` (0 when it does not exist).
fn line_count(path: &Path) -> usize {
    fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// The whole lines of an output (a line cut by the kill is not one).
fn whole_lines(bytes: &[u8]) -> BTreeSet<String> {
    let text = String::from_utf8_lossy(bytes);
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().map(str::to_owned).collect()
}

/// Runs the first run of `trial` and kills it; returns how it ended and
/// what it wrote to stdout.
fn killed_run(sb: &Sandbox, trial: Trial, first: Fanout) -> (Ended, Vec<u8>) {
    let deadline = Instant::now() + DEADLINE;
    match trial.stdout {
        Stdout::File { ran } => {
            let out = sb.join("out.first");
            let running = first.stdout_to(out.clone()).spawn();
            let pid = running.pid();
            // The header line first (so there is a journal to resume), then
            // `ran` lines in the side file, polled as fast as possible.
            while line_count(&sb.join("journal.jsonl")) < 1 || line_count(&sb.join("side")) < ran {
                if !alive(pid) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "safety net: no progress to {ran} side lines"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            running.signal("KILL");
            let ended = running.wait();
            let written = fs::read(&out).expect("read the first run's stdout");
            (ended, written)
        }
        Stdout::StalledPipe { read } => {
            // The test keeps a copy of the write end, to see when it is full.
            let (reader, writer) =
                rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("a pipe");
            let writer = File::from(writer);
            let mut reader = File::from(reader);
            let running = first
                .stdout_file(writer.try_clone().expect("share the pipe"))
                .spawn();
            let mut written = vec![0; read];
            reader
                .read_exact(&mut written)
                .unwrap_or_else(|e| panic!("{trial:?}: read {read} bytes of stdout: {e}"));
            // No more reading: fanout fills the pipe and blocks writing.
            while writable(&writer) || !blocked_in_pipe_write(running.pid()) {
                assert!(
                    alive(running.pid()),
                    "{trial:?}: fanout ended before its stdout was full"
                );
                assert!(
                    Instant::now() < deadline,
                    "safety net: {trial:?}: fanout did not block on its full stdout (wait \
                     channels {:?}, pipe writable: {})",
                    wait_channels(running.pid()),
                    writable(&writer)
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            running.signal("KILL");
            let ended = running.wait();
            drop(writer);
            reader
                .read_to_end(&mut written)
                .expect("read the rest of the first run's stdout");
            (ended, written)
        }
    }
}

/// Whether a thread of `pid` sleeps in a pipe write (the kernel's wait
/// channel `pipe_write` or `anon_pipe_write`, or `pipe_wait_writable` for a
/// splice), so the kill lands inside an item's write rather than between
/// two. Where the kernel does not tell wait channels, a full pipe has to do.
fn blocked_in_pipe_write(pid: u32) -> bool {
    let channels = wait_channels(pid);
    channels.iter().any(|c| c.contains("pipe_w"))
        || channels
            .iter()
            .all(|c| c.trim().is_empty() || c.trim() == "0")
}

/// The kernel's wait channel of every thread of `pid`.
fn wait_channels(pid: u32) -> Vec<String> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("wchan")).ok())
        .collect()
}

/// Whether a write to the pipe `writer` would not block (the pipe has room).
fn writable(writer: &File) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(writer, PollFlags::OUT)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).expect("poll the pipe") > 0
        && fds[0].revents().contains(PollFlags::OUT)
}

/// One trial: kill, resume, check. Returns whether fanout was killed
/// before it finished.
fn crash_trial(trial: Trial) -> bool {
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=ITEMS).map(|i| i.to_string()).collect();
    sb.write("items", items.join("\n") + "\n");
    sb.write("side", "");
    let job = job();
    let jobs = JOBS.to_string();
    let command = |resume: &[&str]| {
        sb.fanout()
            .args(["-j", &jobs])
            .args(trial.mode.args())
            .args(resume)
            .args(["--journal", "journal.jsonl", "-a", "items"])
            .args(["sh", "-c", &job, "_", "{}"])
    };
    let (ended, first_output) = killed_run(&sb, trial, command(&[]));
    let killed = ended.status.signal() == Some(9);
    if !killed {
        ended.code(0);
    }
    // The journal as the kill left it (a torn last line is allowed).
    let ok_before: BTreeSet<String> =
        ok_items(&journal_at(&sb.join("journal.jsonl"), LastLine::MayBeTorn))
            .into_iter()
            .collect();
    // Jobs in flight at the kill run on in their own process groups; let
    // them end (they are one `echo` and one `printf`) before counting.
    let deadline = Instant::now() + DEADLINE;
    while !processes_in(sb.path()).is_empty() {
        assert!(Instant::now() < deadline, "safety net: orphaned jobs");
        std::thread::sleep(Duration::from_millis(5));
    }
    let resumed = command(&["--resume"]).run();
    resumed.code(0);

    let mut ran: BTreeMap<String, usize> = BTreeMap::new();
    for line in sb.lines("side") {
        *ran.entry(line).or_insert(0) += 1;
    }
    let context = format!(
        "{trial:?} (killed: {killed}, {} recorded ok)",
        ok_before.len()
    );
    let missing: Vec<&String> = items.iter().filter(|i| !ran.contains_key(*i)).collect();
    assert!(
        missing.is_empty(),
        "{context}: items never ran: {missing:?}"
    );
    let rerun_ok: Vec<&String> = ok_before.iter().filter(|i| ran[*i] > 1).collect();
    assert!(
        rerun_ok.is_empty(),
        "{context}: items recorded as succeeded ran again: {rerun_ok:?}"
    );
    let repeated: BTreeMap<&String, &usize> = ran.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= trial.mode.repeat_bound() && repeated.values().all(|n| **n == 2),
        "{context}: only items in flight may run again, at most {} of them, once: {repeated:?}",
        trial.mode.repeat_bound()
    );
    let first = whole_lines(&first_output);
    let unwritten: Vec<&String> = ok_before
        .iter()
        .filter(|i| !first.contains(&output_line(i)))
        .collect();
    assert!(
        unwritten.is_empty(),
        "{context}: items journaled as succeeded whose output the killed run did not write \
         whole: {unwritten:?}"
    );
    let after = whole_lines(&resumed.stdout);
    let lost: Vec<&String> = items
        .iter()
        .filter(|i| {
            let line = output_line(i);
            !first.contains(&line) && !after.contains(&line)
        })
        .collect();
    assert!(
        lost.is_empty(),
        "{context}: items whose output neither run wrote whole: {lost:?}"
    );
    killed
}

#[test]
fn kill_9_at_many_moments_loses_nothing_and_repeats_only_running_items() {
    let trials = std::env::var("FANOUT_CRASH_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_TRIALS);
    let killed = (0..trials).filter(|&n| crash_trial(trial(n))).count();
    // A trial whose fanout finished before the kill checked little.
    assert!(
        killed * 2 >= trials,
        "only {killed} of {trials} trials killed fanout before it finished"
    );
}
