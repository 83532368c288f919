//! How one item ended. Per-item failure is data: workers return an
//! [`Outcome`], never an `Err`, and the exit code is derived from the counts.

use std::fs::File;

/// The result of running (or not running) one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job exited 0.
    Success,
    /// The job exited with a non-zero code.
    Failed {
        /// The exit code.
        code: i32,
    },
    /// The job was killed by a signal that fanout did not send.
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// The job ran past `--timeout`; its process group was terminated.
    TimedOut,
    /// The job could not be started (not found, not executable, ...).
    SpawnFailed {
        /// Why, as the OS said it.
        message: String,
    },
    /// The record could not be parsed or rendered; nothing ran.
    BadInput {
        /// Why, naming the file and line where known.
        message: String,
    },
    /// The job was stopped by fanout because the run was cancelled.
    Interrupted,
    /// The item was read but never started because the run was stopping.
    NotStarted,
    /// fanout itself failed while handling the item (a bug): exit 2.
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl Outcome {
    /// Whether the item succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// Whether the item counts as a failure for the exit code and the summary.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed { .. }
                | Outcome::Signaled { .. }
                | Outcome::TimedOut
                | Outcome::SpawnFailed { .. }
                | Outcome::BadInput { .. }
                | Outcome::Internal { .. }
        )
    }

    /// The exit code, for a job that exited (0 for success).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Outcome::Success => Some(0),
            Outcome::Failed { code } => Some(*code),
            _ => None,
        }
    }

    /// The signal, for a job killed by one fanout did not send.
    pub fn signal(&self) -> Option<i32> {
        match self {
            Outcome::Signaled { signal } => Some(*signal),
            _ => None,
        }
    }

    /// One line for people: "exit code 3", "killed by SIGKILL", ...
    pub fn describe(&self) -> String {
        match self {
            Outcome::Success => "ok".to_owned(),
            Outcome::Failed { code } => format!("exit code {code}"),
            // fanout kills a job the terminal stopped, and records the stop.
            Outcome::Signaled {
                signal: libc::SIGTTIN,
            } => {
                "stopped: the job read from the terminal (SIGTTIN); use --tty".to_owned()
            }
            Outcome::Signaled {
                signal: libc::SIGTTOU,
            } => {
                "stopped: the job wrote to the terminal or changed its settings (SIGTTOU); use --tty"
                    .to_owned()
            }
            Outcome::Signaled { signal } => format!("killed by {}", signal_name(*signal)),
            Outcome::TimedOut => "timed out".to_owned(),
            Outcome::SpawnFailed { message } => format!("could not start: {message}"),
            Outcome::BadInput { message } => format!("bad input: {message}"),
            Outcome::Interrupted => "interrupted".to_owned(),
            Outcome::NotStarted => "not started".to_owned(),
            Outcome::Internal { message } => format!("internal error: {message}"),
        }
    }
}

/// The conventional name of a signal number ("SIGTERM"), or "signal N".
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// What a job wrote, captured for the collector. Files are anonymous
/// (`O_TMPFILE`): they never hold RAM and vanish when closed, on every exit path.
#[derive(Debug, Default)]
pub struct Captured {
    /// The job's stdout, positioned anywhere; `None` when not captured.
    pub stdout: Option<File>,
    /// The job's stderr.
    pub stderr: Option<File>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_classes() {
        assert!(Outcome::Success.is_success());
        assert!(!Outcome::Success.is_failure());
        assert!(Outcome::Failed { code: 1 }.is_failure());
        assert!(
            Outcome::BadInput {
                message: String::new()
            }
            .is_failure()
        );
        assert!(!Outcome::Interrupted.is_failure());
        assert!(!Outcome::NotStarted.is_failure());
        assert_eq!(
            Outcome::Signaled { signal: 9 }.describe(),
            "killed by SIGKILL"
        );
        assert_eq!(signal_name(64), "signal 64");
    }
}
