//! Signal handling. The handlers do one thing: advance the run's
//! [`CancelToken`]. SIGINT comes through `ctrlc` (its own thread), SIGTERM and
//! SIGHUP through a `signal-hook` iterator thread that [`SignalGuard`] stops
//! and joins when dropped. [`SignalKind::Noop`] installs nothing, for tests.

use std::thread::JoinHandle;

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::cancel::CancelToken;

/// Whether to install handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// SIGINT, SIGTERM and SIGHUP cancel the run.
    Standard,
    /// Nothing is installed.
    Noop,
}

/// Keeps the handlers installed; dropping it stops the signal thread.
pub struct SignalGuard {
    handle: Option<Handle>,
    thread: Option<JoinHandle<()>>,
}

/// Installs the handlers of `kind`, feeding `cancel`.
pub fn install(kind: SignalKind, cancel: &CancelToken) -> anyhow::Result<SignalGuard> {
    if kind == SignalKind::Noop {
        return Ok(SignalGuard {
            handle: None,
            thread: None,
        });
    }
    let token = cancel.clone();
    ctrlc::set_handler(move || {
        token.signal(SIGINT);
    })
    .context("failed to install the SIGINT handler")?;
    let mut signals =
        Signals::new([SIGTERM, SIGHUP]).context("failed to install signal handlers")?;
    let handle = signals.handle();
    let token = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("fanout-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                token.signal(signal);
            }
        })
        .context("failed to start the signal thread")?;
    Ok(SignalGuard {
        handle: Some(handle),
        thread: Some(thread),
    })
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
