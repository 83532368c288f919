//! fanout at a real terminal: a pseudo-terminal whose slave is fanout's
//! controlling terminal and its stdin, stdout and stderr, and whose master
//! feeds a terminal emulator (`vt100`), so the tests assert on the rendered
//! screen, as a user sees it: job output above the progress bars, no bar
//! remnants after the run, jobs that use the terminal, Ctrl-C and Ctrl-Z.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

use crate::util::{DEADLINE, Sandbox, bin, sh_wait_for, state_home};

/// Screen size: tall enough that nothing scrolls away in these tests.
const ROWS: u16 = 100;
const COLS: u16 = 120;

/// What the reader thread saw on the master side.
struct Seen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    eof: bool,
}

/// fanout running at a pseudo-terminal.
struct PtyRun {
    child: Child,
    master: File,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
    command: String,
}

/// The terminal after the run.
struct Ended {
    status: ExitStatus,
    screen: String,
}

impl Ended {
    #[track_caller]
    fn code(&self, expected: i32) -> &Ended {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "status {:?}\n--- screen ---\n{}",
            self.status,
            self.screen
        );
        self
    }

    /// Asserts the screen holds `needle`.
    #[track_caller]
    fn shows(&self, needle: &str) -> &Ended {
        assert!(
            self.screen.contains(needle),
            "`{needle}` is not on the screen:\n{}",
            self.screen
        );
        self
    }

    /// Asserts no progress display is left on the screen.
    #[track_caller]
    fn no_bars(&self) -> &Ended {
        for line in self.screen.lines() {
            assert!(
                !is_bar_line(line),
                "a progress line stayed on the screen: {line:?}\n--- screen ---\n{}",
                self.screen
            );
        }
        self
    }

    /// How many lines of the screen are exactly `line`.
    fn count(&self, line: &str) -> usize {
        self.screen.lines().filter(|l| l.trim_end() == line).count()
    }
}

/// How many rows of the screen are worker lines of the bars (`  1   0s a`).
fn slot_rows(screen: &str) -> usize {
    worker_rows(screen, |w| w == "-" || w.ends_with('s'))
}

/// How many rows of the screen are worker lines running a job.
fn busy_rows(screen: &str) -> usize {
    worker_rows(screen, |w| w.ends_with('s'))
}

fn worker_rows(screen: &str, second: impl Fn(&str) -> bool) -> usize {
    screen
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|w| w.parse::<u32>().is_ok())
                && words.next().is_some_and(&second)
        })
        .count()
}

/// Whether a screen line is (part of) fanout's progress display.
fn is_bar_line(line: &str) -> bool {
    let line = line.trim();
    line.contains("idle")
        || line.contains("ETA")
        || line.contains(" done ")
        || line.starts_with("[00:")
        || line.starts_with("stopping:")
        || "⠁⠂⠄⡀⢀⠠⠐⠈⠉⠘⠰⠤⠆⠃⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
            .chars()
            .any(|c| line.starts_with(c))
}

impl PtyRun {
    /// Starts `fanout ARGS` in `dir` with a new pseudo-terminal as its
    /// controlling terminal and standard streams.
    fn start(dir: &Path, args: &[&str]) -> PtyRun {
        Self::start_with(dir, args, |_| {})
    }

    /// As [`PtyRun::start`], with a chance to change the terminal settings
    /// (through the slave) before fanout starts.
    fn start_with(dir: &Path, args: &[&str], setup: impl FnOnce(&File)) -> PtyRun {
        let master: OwnedFd =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
                .expect("open a pseudo-terminal");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave_path = std::path::PathBuf::from(name.to_str().expect("pts path").to_owned());
        rustix::termios::tcsetwinsize(
            &master,
            rustix::termios::Winsize {
                ws_row: ROWS,
                ws_col: COLS,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .expect("set the window size");
        let slave = File::options()
            .read(true)
            .write(true)
            .open(&slave_path)
            .expect("open the pty slave");
        setup(&slave);
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(dir)
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("XDG_STATE_HOME", state_home())
            .stdin(Stdio::from(slave.try_clone().expect("dup the slave")))
            .stdout(Stdio::from(slave.try_clone().expect("dup the slave")))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe system calls run between fork and
        // exec: a new session, then the pty (our stdin) as its terminal.
        unsafe {
            cmd.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?;
                Ok(())
            });
        }
        let command = format!("fanout {}", args.join(" "));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{command}`: {e}"));
        // `cmd` holds our copies of the slave: drop them, so the master
        // reads EOF once fanout and its jobs are gone.
        drop(cmd);
        let master = File::from(master);
        let seen = Arc::new((
            Mutex::new(Seen {
                parser: vt100::Parser::new(nonzero(ROWS), nonzero(COLS), 0),
                raw: Vec::new(),
                eof: false,
            }),
            Condvar::new(),
        ));
        let reader = {
            let seen = Arc::clone(&seen);
            let mut master = master.try_clone().expect("dup the master");
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = master.read(&mut buf).unwrap_or(0);
                    let (lock, cond) = &*seen;
                    let mut seen = lock
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if n == 0 {
                        seen.eof = true;
                        cond.notify_all();
                        return;
                    }
                    seen.parser.process(&buf[..n]);
                    seen.raw.extend_from_slice(&buf[..n]);
                    cond.notify_all();
                }
            })
        };
        PtyRun {
            child,
            master,
            seen,
            reader: Some(reader),
            command,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The screen as rendered now.
    fn screen(&self) -> String {
        render(&self.seen.0.lock().unwrap().parser)
    }

    /// Waits until the screen satisfies `ok` (bounded by the safety net).
    #[track_caller]
    fn wait_screen(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        let (lock, cond) = &*self.seen;
        let mut seen = lock.lock().unwrap();
        loop {
            let screen = render(&seen.parser);
            if ok(&screen) {
                return screen;
            }
            let now = Instant::now();
            if now >= deadline || seen.eof {
                panic!(
                    "`{}`: gave up waiting for {what}\n--- screen ---\n{screen}",
                    self.command
                );
            }
            seen = cond.wait_timeout(seen, deadline - now).unwrap().0;
        }
    }

    /// Waits until `needle` is on the screen.
    #[track_caller]
    fn wait_for(&self, needle: &str) -> String {
        self.wait_screen(&format!("`{needle}`"), |s| s.contains(needle))
    }

    /// Types `bytes` at the terminal.
    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the pty");
    }

    /// Waits for fanout to exit and its output to be drained.
    fn wait(mut self) -> Ended {
        let command = self.command.clone();
        let seen = Arc::clone(&self.seen);
        let status = crate::util::wait_or_kill(&mut self.child, || {
            let screen = render(&seen.0.lock().unwrap().parser);
            format!("command: {command}\n--- screen ---\n{screen}")
        });
        // Jobs may still hold the slave for a moment; the reader ends at EOF.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let screen = self.screen();
        Ended { status, screen }
    }
}

impl Drop for PtyRun {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A job for `sh -c JOB _ ITEM`: waits for `go`, then writes OUT-item to
/// stdout and ERR-item to stderr.
fn out_err_job() -> String {
    format!("{}; echo OUT-$1; echo ERR-$1 >&2", sh_wait_for("go"))
}

/// Every job's stdout and stderr line lands on the screen above the bars,
/// once, and nothing of the bars stays after the run: in every output mode.
#[test]
fn job_output_stays_on_screen_above_the_bars() {
    let job = out_err_job();
    let modes: &[&[&str]] = &[
        &[],
        &["--output", "line"],
        &["-k"],
        &["--tag"],
        &["--output", "line", "--tag"],
        &["--output", "ungroup"],
    ];
    for mode in modes {
        let sandbox = Sandbox::new();
        let mut args = vec!["-j2", "--no-journal"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&[
            "sh", "-c", &job, "_", "{}", ":::", "1", "2", "3", "4", "5", "6",
        ]);
        let run = PtyRun::start(sandbox.path(), &args);
        if !mode.contains(&"ungroup") {
            // The bars are up, one row per worker, before any job writes.
            run.wait_screen("the bars", |s| s.contains("ETA") && slot_rows(s) == 2);
        }
        File::create(sandbox.join("go")).expect("create go");
        let ended = run.wait();
        ended.code(0).shows("fanout: done: 6 items").no_bars();
        let tagged = mode.contains(&"--tag");
        for n in 1..=6 {
            for what in ["OUT", "ERR"] {
                let line = if tagged {
                    format!("{n}\t{what}-{n}").replace('\t', "    ")
                } else {
                    format!("{what}-{n}")
                };
                let found = if tagged {
                    ended
                        .screen
                        .lines()
                        .filter(|l| {
                            l.starts_with(&n.to_string())
                                && l.trim_end().ends_with(&format!("{what}-{n}"))
                        })
                        .count()
                } else {
                    ended.count(&line)
                };
                assert_eq!(
                    found, 1,
                    "mode {mode:?}: `{line}` appears {found} times\n--- screen ---\n{}",
                    ended.screen
                );
            }
        }
    }
}

/// Output that does not end with a newline is not erased by the next redraw
/// of the bars (nor glued to a bar): on the screen it ends its line.
#[test]
fn output_without_a_final_newline_stays_on_screen() {
    let job = format!(
        "{}; printf 'OUT-%s' \"$1\"; printf 'ERR-%s' \"$1\" >&2",
        sh_wait_for("go")
    );
    let modes: &[&[&str]] = &[&[], &["--output", "line"], &["-k"], &["--tag"]];
    for mode in modes {
        let sandbox = Sandbox::new();
        let mut args = vec!["-j2", "--no-journal"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["sh", "-c", &job, "_", "{}", ":::", "1", "2", "3", "4"]);
        let run = PtyRun::start(sandbox.path(), &args);
        run.wait_screen("the bars", |s| s.contains("ETA") && slot_rows(s) == 2);
        File::create(sandbox.join("go")).expect("create go");
        let ended = run.wait();
        ended.code(0).shows("fanout: done: 4 items").no_bars();
        for n in 1..=4 {
            for what in ["OUT", "ERR"] {
                let text = format!("{what}-{n}");
                let found = ended
                    .screen
                    .lines()
                    .filter(|l| l.trim_end().ends_with(&text))
                    .count();
                assert_eq!(
                    found, 1,
                    "mode {mode:?}: `{text}` ends {found} lines\n--- screen ---\n{}",
                    ended.screen
                );
            }
        }
    }
}

/// Ctrl-C while the bars are up: the bars go, the output stays.
#[test]
fn ctrl_c_clears_the_bars() {
    let sandbox = Sandbox::new();
    let job = format!(
        "echo OUT-$1; echo started > started.$1; {}",
        sh_wait_for("never")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "-j2",
            "--no-journal",
            "--output",
            "line",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
        ],
    );
    run.wait_screen("both jobs' output above the bars", |s| {
        s.contains("OUT-1") && s.contains("OUT-2") && s.contains("ETA") && slot_rows(s) == 2
    });
    run.send(b"\x03");
    let ended = run.wait();
    // At a terminal fanout dies by the signal itself, as a shell expects.
    assert_eq!(ended.status.signal(), Some(2), "{}", ended.screen);
    ended
        .shows("OUT-1")
        .shows("OUT-2")
        .shows("interrupted by SIGINT")
        .no_bars();
}

/// The screen, one line per row (a full-width row is not joined with the
/// next, as `contents` would), trailing blank rows dropped.
fn render(parser: &vt100::Parser) -> String {
    let rows: Vec<String> = parser.screen().rows(0, COLS).collect();
    let used = rows
        .iter()
        .rposition(|r| !r.trim().is_empty())
        .map_or(0, |i| i + 1);
    rows[..used].join("\n")
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a screen size")
}

/// A running job's elapsed time ticks on the bars while nothing else
/// happens.
#[test]
fn running_jobs_elapsed_time_ticks() {
    let sandbox = Sandbox::new();
    let job = sh_wait_for("go");
    let run = PtyRun::start(
        sandbox.path(),
        &["-j1", "--no-journal", "sh", "-c", &job, ":::", "slow-item"],
    );
    run.wait_screen("the job's elapsed time at 1s", |s| {
        s.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "1s", "slow-item"])
    });
    File::create(sandbox.join("go")).expect("create go");
    run.wait().code(0).no_bars();
}

/// After Ctrl-C the bars say what the run waits for, and say it again as
/// jobs end; the second Ctrl-C is what kills.
#[test]
fn ctrl_c_shows_what_the_run_waits_for() {
    let sandbox = Sandbox::new();
    // The job outlives SIGINT until `release.N` exists.
    let job = format!(
        "trap 'echo got-int > int.$1' INT; : > trapped.$1; {}",
        sh_wait_for("release.$1")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "-j2",
            "--no-journal",
            "--grace",
            "60s",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
        ],
    );
    // Both jobs are past their `trap` (so SIGINT does not end them).
    let deadline = Instant::now() + DEADLINE;
    while !(sandbox.exists("trapped.1") && sandbox.exists("trapped.2")) {
        assert!(Instant::now() < deadline, "the jobs did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    run.wait_screen("two running jobs", |s| {
        s.contains("ETA") && busy_rows(s) == 2
    });
    run.send(b"\x03");
    run.wait_for("stopping: waiting for 2 jobs (Ctrl-C again to kill)");
    File::create(sandbox.join("release.1")).expect("create release.1");
    run.wait_for("stopping: waiting for 1 job (Ctrl-C again to kill)");
    File::create(sandbox.join("release.2")).expect("create release.2");
    let ended = run.wait();
    assert_eq!(ended.status.signal(), Some(2), "{}", ended.screen);
    ended.shows("interrupted by SIGINT").no_bars();
}

/// The summary lists failures in input order, the first five of it, however
/// they finished.
#[test]
fn summary_lists_failures_in_input_order() {
    let sandbox = Sandbox::new();
    // Item 1 fails last: it waits until item 7 has started, which needs
    // items 2 to 6 finished on the other worker.
    let job = format!(
        "if [ $1 = 1 ]; then {}; fi; [ $1 = 7 ] && : > started.7; exit 1",
        sh_wait_for("started.7")
    );
    let run = sandbox
        .fanout()
        .args(["-j2", "--no-journal", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3", "4", "5", "6", "7"])
        .run();
    run.code(1);
    let listed: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FAIL #"))
        .map(|rest| rest.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(listed, ["1", "2", "3", "4", "5"], "{}", run.stderr);
    run.stderr_has("... and 2 more failures");
}

/// A job that reads the terminal is stopped by it (SIGTTIN: its process
/// group is not the foreground one): fanout fails it with a hint instead of
/// hanging, whether the job's own process or one it started reads.
#[test]
fn job_reading_the_terminal_fails_with_a_hint() {
    for job in ["read x </dev/tty; echo read-it", "cat /dev/tty; true"] {
        let sandbox = Sandbox::new();
        let run = PtyRun::start(
            sandbox.path(),
            &["--no-journal", "sh", "-c", job, ":::", "a"],
        );
        let ended = run.wait();
        ended
            .code(1)
            .shows("stopped: the job read from the terminal (SIGTTIN); use --tty")
            .no_bars();
        assert_eq!(ended.count("read-it"), 0, "{}", ended.screen);
    }
}

/// With `stty tostop`, a job writing to the terminal is stopped by it
/// (SIGTTOU): reported the same way.
#[test]
fn job_writing_the_terminal_with_tostop_fails_with_a_hint() {
    let sandbox = Sandbox::new();
    let run = PtyRun::start_with(
        sandbox.path(),
        &[
            "--no-journal",
            "sh",
            "-c",
            "echo hello >/dev/tty",
            ":::",
            "a",
        ],
        |slave| {
            let mut t = rustix::termios::tcgetattr(slave).expect("tcgetattr");
            t.local_modes |= rustix::termios::LocalModes::TOSTOP;
            rustix::termios::tcsetattr(slave, rustix::termios::OptionalActions::Now, &t)
                .expect("tcsetattr");
        },
    );
    run.wait().code(1).shows(
        "stopped: the job wrote to the terminal or changed its settings (SIGTTOU); use --tty",
    );
}

/// Ctrl-Z stops the jobs (fanout sends SIGSTOP to their groups): that is
/// not mistaken for a stop by the terminal, and `fg` (SIGCONT) goes on.
#[test]
fn ctrl_z_is_not_a_terminal_stop() {
    let sandbox = Sandbox::new();
    let job = format!(
        "echo $$ > pid; echo job-started; {}; echo done-waiting",
        sh_wait_for("go")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "--no-journal",
            "--no-progress",
            "--output",
            "line",
            "sh",
            "-c",
            &job,
            ":::",
            "a",
        ],
    );
    run.wait_for("job-started");
    let pid = crate::util::parse_pid(&sandbox.read("pid"));
    run.send(b"\x1a");
    // The job's group is stopped by fanout, well past a stop check. Every
    // member, not only the shell: that shell may be waiting in `vfork` for a
    // `sleep` stopped before its `exec`, and stops only once it is continued.
    let deadline = Instant::now() + DEADLINE;
    while !crate::util::group_stopped(pid) {
        assert!(Instant::now() < deadline, "the job was not stopped");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // As a shell does before `fg`: wait until fanout has stopped itself
    // (which it does after stopping the jobs), so SIGCONT follows the stop.
    while !crate::util::stopped(run.pid()) {
        assert!(Instant::now() < deadline, "fanout did not stop");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Not a synchronisation: three of fanout's stop checks (200 ms apart)
    // must pass without it killing the job.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(
        crate::util::alive(pid),
        "a job stopped by Ctrl-Z was killed"
    );
    // No shell is here to `fg` fanout: continue it as `fg` would.
    crate::util::send_signal(run.pid(), "CONT");
    File::create(sandbox.join("go")).expect("create go");
    let ended = run.wait();
    ended.code(0).shows("done-waiting");
    assert!(!ended.screen.contains("stopped:"), "{}", ended.screen);
}

/// `--tty`: each job in turn holds the terminal (its stdin, its foreground)
/// and can prompt and read; fanout gets it back after each.
#[test]
fn tty_jobs_read_the_terminal_one_at_a_time() {
    let sandbox = Sandbox::new();
    let job = "printf 'ask-%s\\n' \"$1\"; read x; echo \"got-$1-$x\"";
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "--tty",
            "--no-journal",
            "sh",
            "-c",
            job,
            "_",
            "{}",
            ":::",
            "a",
            "b",
        ],
    );
    run.wait_for("ask-a");
    run.send(b"one\r");
    run.wait_for("ask-b");
    run.send(b"two\r");
    run.wait()
        .code(0)
        .shows("got-a-one")
        .shows("got-b-two")
        .shows("fanout: done: 2 items");
}

/// `--tty` needs a terminal, and more than one job at a time is refused.
#[test]
fn tty_needs_a_terminal_and_one_job() {
    let sandbox = Sandbox::new();
    // `setsid` makes sure fanout has no controlling terminal, even when the
    // tests run at one.
    let out = Command::new("setsid")
        .args(["-w", bin(), "--tty", "--no-journal", "true", ":::", "a"])
        .current_dir(sandbox.path())
        .env("XDG_STATE_HOME", state_home())
        .stdin(Stdio::null())
        .output()
        .expect("run setsid");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tty: fanout is not at a terminal"),
        "{stderr}"
    );
    sandbox
        .fanout()
        .args(["--tty", "-j2", "true"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("--tty runs one job at a time");
}
