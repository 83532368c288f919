//! Signal handling. The handlers advance the run's `CancelToken` and do
//! nothing else that can block: SIGINT comes through `ctrlc` (its own
//! thread), SIGTERM, SIGHUP, SIGTSTP and SIGCONT through a `signal-hook`
//! iterator thread that `SignalGuard` stops and joins when dropped.
//!
//! - SIGINT, SIGTERM (and SIGHUP, which behaves as SIGTERM): the first stops
//!   dispatch and forwards the signal to running jobs, the second kills them,
//!   the third kills them and exits at once by the same signal.
//! - SIGTSTP (Ctrl-Z): stops every running job's process group, then fanout;
//!   SIGCONT (`fg`) continues them. Time spent stopped does not count toward
//!   timeouts.
//!
//! `SignalKind::Noop` installs nothing, for tests.

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use rustix::process::Signal;
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGTERM, SIGTSTP};
use signal_hook::iterator::{Handle, Signals};

use crate::cancel::CancelToken;
use crate::exit;
use crate::job::JobTable;
use crate::sink::progress::Screen;

/// Whether to install handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKind {
    /// Handle SIGINT, SIGTERM, SIGHUP, SIGTSTP and SIGCONT.
    Standard,
    /// Nothing is installed.
    Noop,
}

/// Keeps the handlers installed; dropping it stops the signal thread.
pub(crate) struct SignalGuard {
    handle: Option<Handle>,
    thread: Option<JoinHandle<()>>,
}

/// Installs the handlers of `kind`, feeding `cancel` and acting on the
/// running jobs in `table`.
pub(crate) fn install(
    kind: SignalKind,
    cancel: &CancelToken,
    table: &Arc<JobTable>,
    screen: &Arc<Screen>,
) -> anyhow::Result<SignalGuard> {
    if kind == SignalKind::Noop {
        return Ok(SignalGuard {
            handle: None,
            thread: None,
        });
    }
    let token = cancel.clone();
    let jobs = Arc::clone(table);
    ctrlc::set_handler(move || cancel_signal(SIGINT, &token, &jobs))
        .context("failed to install the SIGINT handler")?;
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGTSTP, SIGCONT])
        .context("failed to install signal handlers")?;
    let handle = signals.handle();
    let token = cancel.clone();
    let jobs = Arc::clone(table);
    let screen = Arc::clone(screen);
    let thread = std::thread::Builder::new()
        .name("fanout-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                match signal {
                    SIGTSTP => {
                        token.pause_begin();
                        jobs.signal_all(Signal::STOP);
                        screen.hide();
                        // Stop ourselves as the default action would; this
                        // thread resumes here on SIGCONT.
                        let _ = signal_hook::low_level::emulate_default_handler(SIGTSTP);
                    }
                    SIGCONT => {
                        // The pause ends first: a job registering meanwhile
                        // either sees it over or is continued below.
                        token.pause_end();
                        jobs.signal_all(Signal::CONT);
                    }
                    // SIGHUP (the terminal went away) behaves as SIGTERM,
                    // and is reported by its own name.
                    other => cancel_signal(other, &token, &jobs),
                }
            }
        })
        .context("failed to start the signal thread")?;
    Ok(SignalGuard {
        handle: Some(handle),
        thread: Some(thread),
    })
}

/// SIGINT, SIGTERM or SIGHUP: escalate; the third exits at once.
fn cancel_signal(signal: i32, token: &CancelToken, jobs: &JobTable) {
    if token.signal(signal) >= 3 {
        jobs.signal_all(Signal::KILL);
        die_by(exit::death_signal(signal));
    }
}

/// Ends an interrupted process. At a terminal, by re-raising `signal` with
/// its default action, so a calling shell sees a real signal death (and a
/// shell loop stops as it would for any Ctrl-C'd command). Elsewhere (pipes,
/// scripts, CI, test harnesses) with exit status 130 or 143, as the exit-code
/// contract says. `$?` in a shell is the same either way.
pub fn die_by(signal: i32) -> ! {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() || std::io::stdin().is_terminal() {
        let _ = signal_hook::low_level::emulate_default_handler(signal);
    }
    std::process::exit(i32::from(exit::for_signal(signal)));
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.close();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
