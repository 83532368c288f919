//! fanout at a real terminal: [`PtyRun`] starts it with a new
//! pseudo-terminal as its controlling terminal and its stdin, stdout and
//! stderr; the master side feeds a terminal emulator (`vt100`), so tests
//! assert on the rendered screen, as a user sees it, and type at it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

use super::{DEADLINE, bin, harness_env, wait_or_kill};

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
pub struct PtyRun {
    child: Child,
    master: File,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
    command: String,
}

/// The terminal after the run.
pub struct Ended {
    pub status: ExitStatus,
    pub screen: String,
}

impl Ended {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Ended {
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
    pub fn shows(&self, needle: &str) -> &Ended {
        assert!(
            self.screen.contains(needle),
            "`{needle}` is not on the screen:\n{}",
            self.screen
        );
        self
    }

    /// Asserts no progress display is left on the screen.
    #[track_caller]
    pub fn no_bars(&self) -> &Ended {
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
    pub fn count(&self, line: &str) -> usize {
        self.screen.lines().filter(|l| l.trim_end() == line).count()
    }
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
    pub fn start(dir: &Path, args: &[&str]) -> PtyRun {
        Self::start_with(dir, args, |_| {})
    }

    /// As [`PtyRun::start`], with a chance to change the terminal settings
    /// (through the slave) before fanout starts.
    pub fn start_with(dir: &Path, args: &[&str], setup: impl FnOnce(&File)) -> PtyRun {
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
        harness_env(&mut cmd)
            .args(args)
            .current_dir(dir)
            .env("TERM", "xterm")
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The screen as rendered now.
    pub fn screen(&self) -> String {
        render(&self.seen.0.lock().unwrap().parser)
    }

    /// Waits until the screen satisfies `ok` (bounded by the safety net).
    #[track_caller]
    pub fn wait_screen(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
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
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_screen(&format!("`{needle}`"), |s| s.contains(needle))
    }

    /// Types `bytes` at the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the pty");
    }

    /// Waits for fanout to exit and its output to be drained.
    pub fn wait(mut self) -> Ended {
        let command = self.command.clone();
        let seen = Arc::clone(&self.seen);
        let status = wait_or_kill(&mut self.child, || {
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
