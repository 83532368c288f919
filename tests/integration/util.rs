//! The test harness: a sandbox directory per test, a `#[must_use]` builder
//! for one `fanout` invocation (run to completion through assert_cmd, or
//! spawned to be signalled and fed while it runs), and helpers that wait on
//! files and inspect processes through `/proc`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The safety net for every wait. Only a broken fanout (or a hung job)
/// reaches it; passing tests never come close.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How often file and process waits look again.
const POLL: Duration = Duration::from_millis(10);

/// The fanout binary Cargo built for this test run.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fanout")
}

/// A file in the crate's `fixtures/` directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A state directory shared by this test binary's fanout runs.
pub fn state_home() -> &'static Path {
    static STATE: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    STATE
        .get_or_init(|| TempDir::new().expect("create a state directory"))
        .path()
}

/// A `fanout` invocation outside any sandbox (for `--help`, `completions`,
/// `man`): no `--no-progress` is added.
pub fn fanout() -> Fanout {
    Fanout::new(None)
}

/// A fresh temporary directory that a test's jobs run in. Dropping it kills
/// every process still working in it, so a failing test (or a fanout that
/// orphans its jobs) leaves nothing running behind.
pub struct Sandbox {
    dir: TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in processes_in(self.path()) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Live processes whose working directory is `dir`.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            alive(pid) && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
        })
        .collect()
}

impl Sandbox {
    /// A new, empty sandbox.
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("fanout-it-")
                .tempdir()
                .expect("create a sandbox directory"),
        }
    }

    /// The sandbox directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the sandbox.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `contents` to `name` in the sandbox and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The bytes of `name` in the sandbox.
    #[track_caller]
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.join(name);
        fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "read {}: {e}; the sandbox holds {:?}",
                path.display(),
                self.names()
            )
        })
    }

    /// The lines of `name` in the sandbox; none when it does not exist (a
    /// side file that no job has written yet).
    pub fn lines(&self, name: &str) -> Vec<String> {
        if !self.exists(name) {
            return Vec::new();
        }
        String::from_utf8_lossy(&self.read(name))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Whether `name` exists in the sandbox.
    pub fn exists(&self, name: &str) -> bool {
        self.join(name).exists()
    }

    /// Every file name in the sandbox, sorted (lossy for non-UTF-8 names).
    pub fn names(&self) -> Vec<String> {
        names_in(self.path())
    }

    /// The files `PREFIX.N` (N a number) and their contents, keyed by N.
    /// Jobs write `out.$FANOUT_SEQ` files; this reads them back in order.
    pub fn numbered(&self, prefix: &str) -> BTreeMap<u64, Vec<u8>> {
        let mut found = BTreeMap::new();
        for name in self.names() {
            let Some(n) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            if let Ok(n) = n.parse::<u64>() {
                found.insert(n, self.read(&name));
            }
        }
        found
    }

    /// A `fanout --no-progress` invocation that runs in the sandbox.
    pub fn fanout(&self) -> Fanout {
        Fanout::new(Some(self.path())).arg("--no-progress")
    }
}

/// Sorted file names in `dir`.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("read a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// One `fanout` invocation being built.
#[must_use]
pub struct Fanout {
    cmd: Command,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    merge: bool,
    stdout_path: Option<PathBuf>,
}

impl Fanout {
    fn new(dir: Option<&Path>) -> Fanout {
        let mut cmd = Command::new(bin());
        // Deterministic environment: no progress forced by CI, no colour, no
        // GitHub annotations, and fanout's own journals in a private state
        // directory rather than the user's.
        cmd.env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .env("XDG_STATE_HOME", state_home());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        Fanout {
            cmd,
            args: Vec::new(),
            stdin: None,
            merge: false,
            stdout_path: None,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Fanout {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Fanout
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `::: ITEMS...`.
    pub fn items<I, S>(self, items: I) -> Fanout
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.arg(":::").args(items)
    }

    /// Sets an environment variable for fanout (and so for its jobs).
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Fanout {
        self.cmd.env(key, value);
        self
    }

    /// Bytes for fanout's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Fanout {
        self.stdin = Some(bytes.into());
        self
    }

    /// For `spawn`: stderr goes to the same file as stdout (one open file
    /// description, as with `2>&1`), so their relative order is visible.
    pub fn merged(mut self) -> Fanout {
        self.merge = true;
        self
    }

    /// For `spawn`: stdout goes to `path` (which jobs can watch).
    pub fn stdout_to(mut self, path: PathBuf) -> Fanout {
        self.stdout_path = Some(path);
        self
    }

    fn describe(&self) -> String {
        let mut text = String::from("fanout");
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            if arg.is_empty()
                || arg.contains(|c: char| !c.is_ascii_alphanumeric() && !"-_./{}%#=:,".contains(c))
            {
                let _ = write!(text, " '{}'", arg.replace('\'', r"'\''"));
            } else {
                let _ = write!(text, " {arg}");
            }
        }
        text
    }

    /// Runs fanout to completion (through assert_cmd, with the safety-net
    /// deadline) and returns what it did.
    pub fn run(mut self) -> Run {
        let command = self.describe();
        self.cmd.args(&self.args);
        let mut cmd = assert_cmd::Command::from_std(self.cmd);
        cmd.timeout(DEADLINE);
        cmd.write_stdin(self.stdin.unwrap_or_default());
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("run `{command}`: {e}"));
        Run {
            command,
            status: output.status,
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts fanout and returns while it runs. Stdin is null unless
    /// `stdin` is piped; stdout goes to a log file unless `stdout` is
    /// piped; stderr goes to a log file (read it after `wait`), or with
    /// stdout to the stdout log when `merged`.
    pub fn spawn(mut self, pipe_stdin: bool, pipe_stdout: bool) -> Running {
        let command = self.describe();
        let logs = TempDir::new().expect("create a log directory");
        let stdout_log = self
            .stdout_path
            .take()
            .unwrap_or_else(|| logs.path().join("stdout"));
        let stderr_log = logs.path().join("stderr");
        let out = File::create(&stdout_log).expect("create the stdout log");
        let err = if self.merge {
            out.try_clone().expect("share the stdout log")
        } else {
            File::create(&stderr_log).expect("create the stderr log")
        };
        self.cmd
            .args(&self.args)
            .stdin(if pipe_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if pipe_stdout {
                Stdio::piped()
            } else {
                out.into()
            })
            .stderr(err);
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{command}`: {e}"));
        Running {
            command,
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stdout_log,
            stderr_log,
            _logs: logs,
        }
    }
}

/// A finished fanout run.
#[derive(Debug)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// How fanout exited.
    pub status: ExitStatus,
    /// Everything fanout wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything fanout wrote to stderr (lossy UTF-8).
    pub stderr: String,
}

impl Run {
    fn dump(&self) -> String {
        let mut stdout: String = self.stdout_text().chars().take(4000).collect();
        if self.stdout.len() > stdout.len() {
            stdout.push_str("...[truncated]");
        }
        format!(
            "command: {}\nstatus: {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            self.command, self.status, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "unexpected exit status\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout_text().contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that stdout is exactly these lines, in this order.
    #[track_caller]
    pub fn lines(&self, expected: &[&str]) -> &Run {
        assert_eq!(
            self.stdout_lines(),
            expected,
            "stdout lines differ\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that stdout is these lines, in any order.
    #[track_caller]
    pub fn lines_any_order(&self, expected: &[&str]) -> &Run {
        let mut got = self.stdout_lines();
        got.sort();
        let mut want: Vec<&str> = expected.to_vec();
        want.sort_unstable();
        assert_eq!(
            got,
            want,
            "stdout lines differ (order ignored)\n{}",
            self.dump()
        );
        self
    }

    /// Stdout as lossy text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stdout split into lines (without terminators).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout_text().lines().map(str::to_owned).collect()
    }

    /// Fails with the full run dump.
    #[track_caller]
    pub fn fail(&self, message: &str) -> ! {
        panic!("{message}\n{}", self.dump())
    }
}

/// A fanout process that is still running.
pub struct Running {
    command: String,
    child: Child,
    /// Fanout's stdin, when piped.
    pub stdin: Option<ChildStdin>,
    /// Fanout's stdout, when piped.
    pub stdout: Option<ChildStdout>,
    stdout_log: PathBuf,
    stderr_log: PathBuf,
    _logs: TempDir,
}

/// How a spawned fanout ended.
#[derive(Debug)]
pub struct Ended {
    /// The command line, for messages.
    pub command: String,
    /// How fanout exited.
    pub status: ExitStatus,
    /// Stdout, when it was not piped.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

impl Ended {
    /// Everything known about the run, for failure messages.
    pub fn dump(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Ended {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "unexpected exit status\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that fanout ended as interrupted by `signal` (2 or 15): exit
    /// code 128 + signal, or death by that signal once everything was
    /// written (which a calling shell reports as the same `$?`).
    #[track_caller]
    pub fn interrupted_by(&self, signal: i32) -> &Ended {
        use std::os::unix::process::ExitStatusExt as _;
        // Not at a terminal, fanout exits with 128 + signal (at a terminal
        // it re-raises the signal instead).
        let ok = self.status.code() == Some(128 + signal);
        assert!(
            ok,
            "expected exit {} (status {:?}, signal {:?})\n{}",
            128 + signal,
            self.status.code(),
            self.status.signal(),
            self.dump()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Ended {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }
}

impl Running {
    /// Fanout's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name such as `INT`) to fanout.
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Fails the test at once if fanout already exited.
    #[track_caller]
    fn assert_running(&mut self, waiting_for: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "fanout exited ({status}) while the test waited for {waiting_for}\ncommand: {}\n\
                 --- stderr ---\n{}",
                self.command,
                fs::read_to_string(&self.stderr_log).unwrap_or_default()
            );
        }
    }

    /// Waits until `n` files `PREFIX.N` exist in `sandbox`, failing early
    /// if fanout exits first.
    #[track_caller]
    pub fn wait_for_numbered(
        &mut self,
        sandbox: &Sandbox,
        prefix: &str,
        n: usize,
    ) -> BTreeMap<u64, Vec<u8>> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let found = sandbox.numbered(prefix);
            if found.len() >= n {
                return found;
            }
            self.assert_running(&format!("{n} `{prefix}.N` files"));
            assert!(
                Instant::now() < deadline,
                "safety net: {n} `{prefix}.N` files did not appear within {DEADLINE:?}; \
                 the sandbox holds {:?}",
                sandbox.names()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits for fanout to exit (safety net: [`DEADLINE`], then it is killed
    /// and the test fails).
    #[track_caller]
    pub fn wait(mut self) -> Ended {
        drop(self.stdin.take());
        let status = wait_or_kill(&mut self.child, || {
            format!(
                "command: {}\n--- stderr ---\n{}",
                self.command,
                fs::read_to_string(&self.stderr_log).unwrap_or_default()
            )
        });
        Ended {
            command: self.command.clone(),
            status,
            stdout: fs::read_to_string(&self.stdout_log).unwrap_or_default(),
            stderr: fs::read_to_string(&self.stderr_log).unwrap_or_default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test must not leave fanout running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` (a name such as `INT`, `TERM`, `KILL`) to `pid`.
#[track_caller]
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed: {status}");
}

/// The state letter and process group of `pid`, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parens.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` is a live process (a zombie is not: it is dead, and only
/// waits for a parent to reap it).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X' | 'x'))
}

/// Live processes in process group `pgid` (a job and everything it started).
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat(pid).is_some_and(|(state, pgrp)| pgrp == pgid && !matches!(state, 'Z' | 'X' | 'x'))
        })
        .collect()
}

/// Whether `pid` is stopped (state T).
pub fn stopped(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state == 'T')
}

/// Whether process group `pgid` has live members and every one of them has
/// been stopped by SIGSTOP: it is stopped (state T), or SIGSTOP is pending
/// for it. A member can be unable to stop yet: a shell waiting in `vfork`
/// for a child that was itself stopped before its `exec` sleeps in the
/// kernel (state D) until that child runs again, its SIGSTOP pending.
pub fn group_stopped(pgid: u32) -> bool {
    let members = group_members(pgid);
    !members.is_empty() && members.iter().all(|&pid| stopped(pid) || stop_pending(pid))
}

/// Whether SIGSTOP is pending for `pid` (for the process or one thread).
fn stop_pending(pid: u32) -> bool {
    const SIGSTOP_BIT: u64 = 1 << (19 - 1);
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

/// How long processes that were sent SIGKILL may take to disappear. A
/// safety net for the scheduler on a loaded machine, not a timing check:
/// a killed process normally goes within a millisecond.
pub const KILL_SETTLE: Duration = Duration::from_secs(10);

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

/// Parses a pid written by a job (`echo $$ > pid.N`).
#[track_caller]
pub fn parse_pid(bytes: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(bytes);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad pid file {text:?}: {e}"))
}

/// A shell snippet that waits (polling, bounded by the safety net) until
/// `path` exists; after the bound the job exits 97 so a broken run ends.
pub fn sh_wait_for(path: &str) -> String {
    sh_wait_until(&format!("[ -e {path} ]"))
}

/// A shell snippet that waits (polling, bounded by the safety net) until the
/// shell command `condition` succeeds; after the bound the job exits 97.
pub fn sh_wait_until(condition: &str) -> String {
    format!(
        "n=0; until {condition}; do n=$((n+1)); \
         if [ $n -gt 6000 ]; then echo 'gave up waiting' >&2; exit 97; fi; \
         sleep 0.01; done"
    )
}

/// Waits for `child` to exit. The safety net: after [`DEADLINE`] it is
/// killed and the test fails, with `context()` (the command, what it wrote).
#[track_caller]
pub fn wait_or_kill(child: &mut Child, context: impl FnOnce() -> String) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("wait for fanout") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "safety net: fanout did not exit within {DEADLINE:?}\n{}",
                context()
            );
        }
        std::thread::sleep(POLL);
    }
}
