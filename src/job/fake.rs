//! [`FakeRunner`]: runs nothing, follows a script in the item text.

use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};

use super::{Job, JobResult, LineSink, Runner};
use crate::cancel::CancelToken;
use crate::event::Stream;
use crate::outcome::Outcome;

/// A runner that spawns nothing and follows a script in the item text:
/// `ok`, `exit:N`, `sleep:MS`, `hang` (until cancelled), `signal:N`,
/// `out:TEXT` (TEXT on stdout), `err:TEXT` (TEXT on stderr, exit 1), `panic`.
/// Anything else succeeds. Used by engine tests and `--debug-fake-runner`.
#[derive(Debug, Default)]
pub struct FakeRunner;

impl Runner for FakeRunner {
    fn run(&self, job: &Job<'_>, cancel: &CancelToken, lines: &mut LineSink<'_>) -> JobResult {
        let text = String::from_utf8_lossy(&job.item.raw).into_owned();
        let (verb, arg) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let outcome = match verb {
            "exit" => match arg.parse() {
                Ok(0) => Outcome::Success,
                Ok(code) => Outcome::Failed { code },
                Err(_) => Outcome::Failed { code: 1 },
            },
            "sleep" => {
                let end = Instant::now() + Duration::from_millis(arg.parse().unwrap_or(10));
                while Instant::now() < end {
                    if cancel.is_forwarding() {
                        return JobResult::bare(Outcome::Interrupted);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Outcome::Success
            }
            "hang" => {
                let mut fds = [PollFd::from_borrowed_fd(cancel.forward_fd(), PollFlags::IN)];
                let _ = poll(&mut fds, None);
                Outcome::Interrupted
            }
            "signal" => Outcome::Signaled {
                signal: arg.parse().unwrap_or(9),
            },
            "out" | "err" => {
                let stream = if verb == "out" {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                lines(stream, format!("{arg}\n").into_bytes());
                if verb == "out" {
                    Outcome::Success
                } else {
                    Outcome::Failed { code: 1 }
                }
            }
            "panic" => panic!("fake runner asked to panic"),
            _ => Outcome::Success,
        };
        JobResult::bare(outcome)
    }
}
