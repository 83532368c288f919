//! The documented exit codes, in one place, and the signal an interrupted
//! fanout dies by.

/// Every item succeeded.
pub const SUCCESS: u8 = 0;
/// One or more items failed (exit code, signal, timeout, spawn error, bad input row).
pub(crate) const ITEMS_FAILED: u8 = 1;
/// Usage or fatal error: bad flags, unreadable input, unwritable output, internal error.
pub const FATAL: u8 = 2;
/// Interrupted by SIGINT (128 + 2); partial results were written.
pub(crate) const INTERRUPTED: u8 = 130;
/// Interrupted by SIGTERM or SIGHUP (128 + 15); partial results were written.
pub(crate) const TERMINATED: u8 = 143;

/// The exit code for a run that was interrupted by `signal`.
pub(crate) fn for_signal(signal: i32) -> u8 {
    if signal == libc::SIGINT {
        INTERRUPTED
    } else {
        TERMINATED
    }
}

/// The signal fanout dies by, and forwards to jobs, for a received one:
/// SIGHUP behaves as SIGTERM (so the exit status is 143, as documented).
pub(crate) fn death_signal(received: i32) -> i32 {
    if received == libc::SIGHUP {
        libc::SIGTERM
    } else {
        received
    }
}
