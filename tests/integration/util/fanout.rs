//! One `fanout` invocation: the `#[must_use]` builder [`Fanout`], run to
//! completion ([`Run`], through assert_cmd) or spawned ([`Running`], to be
//! signalled and fed while it runs, then [`Ended`]).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Instant;

use tempfile::TempDir;

use super::process::send_signal;
use super::sandbox::Sandbox;
use super::{DEADLINE, POLL, bin, harness_env, wait_or_kill};

/// A `fanout` invocation outside any sandbox (for `--help`, `completions`,
/// `man`): no `--no-progress` is added.
pub fn fanout() -> Fanout {
    Fanout::new(None)
}

/// `/dev/full` opened for writing: every write fails with ENOSPC.
pub fn dev_full() -> File {
    fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
}

/// One `fanout` invocation being built.
#[must_use]
pub struct Fanout {
    cmd: Command,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    /// For `spawn`: a pipe on stdin rather than `/dev/null`.
    pipe_stdin: bool,
    stdout: StdoutTo,
    stderr: StderrTo,
}

/// Where a spawned fanout's stdout goes.
enum StdoutTo {
    /// A log file, read back by `wait`: a temporary one, or this path.
    Log(Option<PathBuf>),
    /// An open file that is not read back (`/dev/full`).
    File(File),
    /// A pipe, in [`Running::stdout`].
    Pipe,
}

/// Where a spawned fanout's stderr goes.
enum StderrTo {
    /// A log file, read back by `wait`.
    Log,
    /// The same open file as stdout, as with `2>&1`.
    Stdout,
    /// A pipe, in [`Running::stderr`].
    Pipe,
}

impl Fanout {
    pub(super) fn new(dir: Option<&Path>) -> Fanout {
        Fanout::with_program(Path::new(bin()), dir)
    }

    /// fanout started as `program` (a link to it under another name).
    pub(super) fn with_program(program: &Path, dir: Option<&Path>) -> Fanout {
        let mut cmd = Command::new(program);
        harness_env(&mut cmd);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        Fanout {
            cmd,
            args: Vec::new(),
            stdin: None,
            pipe_stdin: false,
            stdout: StdoutTo::Log(None),
            stderr: StderrTo::Log,
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
        self.stderr = StderrTo::Stdout;
        self
    }

    /// For `spawn`: stdout goes to `path` (which jobs can watch).
    pub fn stdout_to(mut self, path: PathBuf) -> Fanout {
        self.stdout = StdoutTo::Log(Some(path));
        self
    }

    /// For `spawn`: stdout goes to `file`, which is not read back (such as
    /// `/dev/full`, whose reading never ends).
    pub fn stdout_file(mut self, file: File) -> Fanout {
        self.stdout = StdoutTo::File(file);
        self
    }

    /// For `spawn`: stdin is a pipe, in [`Running::stdin`].
    pub fn pipe_stdin(mut self) -> Fanout {
        self.pipe_stdin = true;
        self
    }

    /// For `spawn`: stdout is a pipe, in [`Running::stdout`].
    pub fn pipe_stdout(mut self) -> Fanout {
        self.stdout = StdoutTo::Pipe;
        self
    }

    /// For `spawn`: stderr is a pipe, in [`Running::stderr`].
    pub fn pipe_stderr(mut self) -> Fanout {
        self.stderr = StderrTo::Pipe;
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

    /// Starts fanout and returns while it runs. Stdin is `/dev/null`
    /// unless piped; stdout and stderr go to log files (read back by
    /// [`Running::wait`]) unless told otherwise.
    pub fn spawn(mut self) -> Running {
        let command = self.describe();
        let logs = TempDir::new().expect("create a log directory");
        let stderr_log = logs.path().join("stderr");
        let (stdout, stdout_log, stdout_file) = match self.stdout {
            StdoutTo::Log(path) => {
                let path = path.unwrap_or_else(|| logs.path().join("stdout"));
                let file = File::create(&path).expect("create the stdout log");
                let copy = file.try_clone().expect("share the stdout log");
                (Stdio::from(file), Some(path), Some(copy))
            }
            StdoutTo::File(file) => {
                let copy = file.try_clone().expect("share the stdout file");
                (Stdio::from(file), None, Some(copy))
            }
            StdoutTo::Pipe => (Stdio::piped(), None, None),
        };
        let stderr = match self.stderr {
            StderrTo::Log => Stdio::from(File::create(&stderr_log).expect("create the stderr log")),
            StderrTo::Stdout => {
                Stdio::from(stdout_file.expect("`merged` needs stdout in a file, not a pipe"))
            }
            StderrTo::Pipe => Stdio::piped(),
        };
        self.cmd
            .args(&self.args)
            .stdin(if self.pipe_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(stdout)
            .stderr(stderr);
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{command}`: {e}"));
        Running {
            command,
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
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
    /// Fanout's stderr, when piped.
    pub stderr: Option<ChildStderr>,
    /// The stdout log, when stdout is read back.
    stdout_log: Option<PathBuf>,
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
    /// Stdout, when it went to a log file.
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

    /// Waits until `n` jobs recorded their pid in `PREFIX.N` files (see
    /// [`super::RECORD_PID`]) and returns those pids, in order of N.
    #[track_caller]
    pub fn wait_for_pids(&mut self, sandbox: &Sandbox, prefix: &str, n: usize) -> Vec<u32> {
        self.wait_for_numbered(sandbox, prefix, n)
            .values()
            .map(|b| super::parse_pid(b))
            .collect()
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
            stdout: self
                .stdout_log
                .as_ref()
                .and_then(|log| fs::read_to_string(log).ok())
                .unwrap_or_default(),
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
