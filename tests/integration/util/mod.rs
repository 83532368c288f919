//! The test harness, in one place, so every test file starts fanout, waits
//! and inspects processes the same way:
//!
//! - [`sandbox`]: a temporary directory per test that the jobs run in, the
//!   files they leave there (side files, `pid.N` records) read back.
//! - [`job`]: shell snippets for the jobs: record a pid, start a background
//!   child, wait for a marker file, loop until the safety net.
//! - [`fanout`]: the `#[must_use]` builder for one `fanout` invocation, run
//!   to completion or spawned to be signalled and fed while it runs.
//! - [`process`]: process checks through `/proc`: alive, stopped, a process
//!   group stopped, running or gone, nothing left behind in a sandbox.
//! - [`journal`]: journals and other JSON-lines files read back.
//! - [`pty`]: fanout at a real pseudo-terminal, its screen rendered.
//!
//! Every wait polls (never sleeps for a fixed time) and is bounded by the
//! safety net [`DEADLINE`], which only a broken fanout reaches.

pub mod fanout;
pub mod job;
pub mod journal;
pub mod process;
pub mod pty;
pub mod sandbox;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use fanout::{Ended, Fanout, Run, Running, dev_full, fanout};
pub use job::{BACKGROUND, LOOP, RECORD_PID, block, sh_wait_for, sh_wait_until};
pub use process::{
    alive, assert_nothing_left, group_running, group_states, group_stopped, processes_in,
    send_signal, stat, stopped, wait_dead, wait_group_gone,
};
pub use sandbox::{Sandbox, names_in, parse_pid};

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

/// The deterministic environment of every fanout the tests start, directly
/// or through a shell or wrapper: no progress forced by CI, no colour, no
/// GitHub annotations, and fanout's own journals in the private state
/// directory rather than the user's.
pub fn harness_env(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state_home())
}

/// Waits until `done` holds (safety net: [`DEADLINE`]); `seen` describes
/// what was seen instead, for the failure message.
#[track_caller]
pub fn wait_until(what: &str, done: impl Fn() -> bool, seen: impl Fn() -> String) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "safety net: {what} did not happen within {DEADLINE:?}; seen: {}",
            seen()
        );
        std::thread::sleep(POLL);
    }
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
