//! Retry policy: which failed attempts run again (`--retries`, `--retry-on`)
//! and how long to wait first (`--retry-delay`, `--backoff`, `--max-delay`).
//! Pure: the waiting itself is the retry timer (`dispatch::retry_timer`),
//! so a waiting item never holds a worker.

use std::time::Duration;

use crate::outcome::Outcome;

/// How the delay grows between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// The same delay every time.
    Fixed,
    /// Doubling each time, with jitter, up to `--max-delay`.
    Exp,
}

/// Which failures are retried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryOn {
    /// Exit codes to retry; empty with `any_code` false means none.
    pub codes: Vec<i32>,
    /// Retry any non-zero exit code.
    pub any_code: bool,
    /// Retry timeouts.
    pub timeout: bool,
    /// Retry deaths by a signal.
    pub signal: bool,
}

impl RetryOn {
    /// The default: every failure of the command itself (exit code, signal,
    /// timeout). Spawn errors and bad input would fail the same way again.
    pub fn all() -> RetryOn {
        RetryOn {
            codes: Vec::new(),
            any_code: true,
            timeout: true,
            signal: true,
        }
    }

    /// Parses `--retry-on`: a comma-separated list of exit codes, `timeout`,
    /// `signal`, and `any` (any exit code).
    pub fn parse(text: &str) -> Result<RetryOn, String> {
        let mut on = RetryOn::default();
        for part in text.split(',').map(str::trim) {
            match part {
                "timeout" => on.timeout = true,
                "signal" => on.signal = true,
                "any" | "exit" => on.any_code = true,
                code => match code.parse::<i32>() {
                    Ok(c) if (1..=255).contains(&c) => on.codes.push(c),
                    _ => {
                        return Err(format!(
                            "`{code}` is not an exit code (1-255), `timeout`, `signal` or `any`"
                        ));
                    }
                },
            }
        }
        Ok(on)
    }

    fn matches(&self, outcome: &Outcome) -> bool {
        match outcome {
            Outcome::Failed { code } => self.any_code || self.codes.contains(code),
            Outcome::TimedOut => self.timeout,
            Outcome::Signaled { .. } => self.signal,
            _ => false,
        }
    }
}

/// When and how failed attempts are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// More attempts after the first.
    pub retries: u32,
    /// Base delay before a retry.
    pub delay: Duration,
    /// Growth of the delay.
    pub backoff: Backoff,
    /// Cap on the delay.
    pub max_delay: Duration,
    /// Which failures are retried.
    pub on: RetryOn,
}

impl RetryPolicy {
    /// Whether an item whose attempt number `attempts` (1-based) ended with
    /// `outcome` runs again.
    pub fn wants(&self, outcome: &Outcome, attempts: u32) -> bool {
        attempts <= self.retries && self.on.matches(outcome)
    }

    /// The wait before attempt `attempts + 1`. `seed` varies the jitter.
    pub fn delay(&self, attempts: u32, seed: u64) -> Duration {
        match self.backoff {
            Backoff::Fixed => self.delay.min(self.max_delay),
            Backoff::Exp => {
                let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
                let full = self.delay.saturating_mul(factor).min(self.max_delay);
                // "Equal jitter": at least half fixed, the rest random, so
                // retries of many items failing together spread out. Never
                // less than --retry-delay (nor more than --max-delay): the
                // first retry waits exactly the delay.
                let floor = (full / 2).max(self.delay.min(self.max_delay));
                let spread = full.saturating_sub(floor).as_nanos();
                let spread = u64::try_from(spread).unwrap_or(u64::MAX);
                let random = splitmix64(seed) % spread.saturating_add(1);
                floor + Duration::from_nanos(random)
            }
        }
    }
}

/// A small, good-enough mixer for jitter (not for anything secret).
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: Backoff) -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            delay: Duration::from_millis(100),
            backoff,
            max_delay: Duration::from_secs(1),
            on: RetryOn::all(),
        }
    }

    #[test]
    fn retries_only_what_is_asked() {
        let p = policy(Backoff::Fixed);
        assert!(p.wants(&Outcome::Failed { code: 1 }, 1));
        assert!(p.wants(&Outcome::Failed { code: 1 }, 3));
        assert!(
            !p.wants(&Outcome::Failed { code: 1 }, 4),
            "3 retries = 4 attempts"
        );
        assert!(p.wants(&Outcome::TimedOut, 1));
        assert!(!p.wants(&Outcome::Success, 1));
        assert!(!p.wants(
            &Outcome::SpawnFailed {
                message: String::new()
            },
            1
        ));
        let only = RetryPolicy {
            on: RetryOn::parse("3,timeout").unwrap(),
            ..p
        };
        assert!(only.wants(&Outcome::Failed { code: 3 }, 1));
        assert!(!only.wants(&Outcome::Failed { code: 1 }, 1));
        assert!(only.wants(&Outcome::TimedOut, 1));
        assert!(!only.wants(&Outcome::Signaled { signal: 9 }, 1));
    }

    #[test]
    fn parse_errors() {
        assert!(RetryOn::parse("0").is_err());
        assert!(RetryOn::parse("x").is_err());
        assert_eq!(
            RetryOn::parse("signal, 2").unwrap(),
            RetryOn {
                codes: vec![2],
                signal: true,
                ..RetryOn::default()
            }
        );
    }

    #[test]
    fn fixed_and_exponential_delays() {
        let fixed = policy(Backoff::Fixed);
        assert_eq!(fixed.delay(1, 7), Duration::from_millis(100));
        assert_eq!(fixed.delay(5, 7), Duration::from_millis(100));
        let exp = policy(Backoff::Exp);
        for (attempts, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            for seed in 0..50 {
                let d = exp.delay(attempts, seed);
                let full = Duration::from_millis(full);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempts}: {d:?} vs {full:?}"
                );
                assert!(d >= exp.delay, "never less than --retry-delay: {d:?}");
            }
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|s| exp.delay(3, s)).collect();
        assert!(spread.len() > 10, "jitter varies the delay");
    }
}
