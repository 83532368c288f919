//! `--halt`, with GNU parallel's syntax: `never`, or `now|soon` followed by
//! `,fail=N`, `,success=N` or `,done=N`, where N is a count or a percentage.
//! `soon` starts nothing new and lets running jobs finish; `now` also kills
//! them. The worker that finishes an item checks the policy (through the
//! shared [`HaltState`]) before it takes another.

use std::fmt;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Outcome;

/// How hard a halt stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Kill running jobs too.
    Now,
    /// Start nothing new; running jobs finish.
    Soon,
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Failed items.
    Fail,
    /// Succeeded items.
    Success,
    /// Finished items, either way.
    Done,
}

/// A count or a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// At least this many.
    Items(u64),
    /// At least this percentage of all items (of those finished so far while
    /// the total is not known).
    Percent(f64),
}

/// A parsed `--halt` policy (`never` is `None` where it is used).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HaltPolicy {
    /// How hard to stop.
    pub when: When,
    /// What to count.
    pub count: Count,
    /// When to stop.
    pub threshold: Threshold,
}

impl HaltPolicy {
    /// `--fail-fast`: `soon,fail=1`.
    pub fn fail_fast() -> HaltPolicy {
        HaltPolicy {
            when: When::Soon,
            count: Count::Fail,
            threshold: Threshold::Items(1),
        }
    }

    /// Parses a `--halt` value; `Ok(None)` for `never`.
    pub fn parse(text: &str) -> Result<Option<HaltPolicy>, String> {
        if text == "never" {
            return Ok(None);
        }
        // GNU parallel's older forms: 0, 1, 2, -1, -2 and 1-99%.
        let legacy = match text {
            "0" => Some("never".to_owned()),
            "1" => Some("soon,fail=1".to_owned()),
            "2" => Some("now,fail=1".to_owned()),
            "-1" => Some("soon,success=1".to_owned()),
            "-2" => Some("now,success=1".to_owned()),
            _ => text
                .strip_suffix('%')
                .and_then(|p| p.parse::<u8>().ok())
                .filter(|p| (1..=99).contains(p))
                .map(|p| format!("soon,fail={p}%")),
        };
        if let Some(modern) = legacy {
            return HaltPolicy::parse(&modern);
        }
        let bad = || {
            format!(
                "`{text}` is not a halt policy (never, or now|soon with ,fail=N, ,success=N or ,done=N; N may be a percentage)"
            )
        };
        let (when, rest) = text.split_once(',').ok_or_else(bad)?;
        let when = match when {
            "now" => When::Now,
            "soon" => When::Soon,
            _ => return Err(bad()),
        };
        let (count, value) = rest.split_once('=').ok_or_else(bad)?;
        let count = match count {
            "fail" => Count::Fail,
            "success" => Count::Success,
            "done" => Count::Done,
            _ => return Err(bad()),
        };
        let threshold = if let Some(p) = value.strip_suffix('%') {
            match p.parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 100.0 => Threshold::Percent(p),
                _ => return Err(bad()),
            }
        } else {
            match value.parse::<u64>() {
                Ok(n) if n > 0 => Threshold::Items(n),
                _ => return Err(bad()),
            }
        };
        Ok(Some(HaltPolicy {
            when,
            count,
            threshold,
        }))
    }

    /// Whether the run must halt now, given how many items succeeded and
    /// failed so far and the total number of items when known. Returns the
    /// reason for the summary.
    fn check(&self, ok: u64, failed: u64, total: Option<u64>) -> Option<String> {
        let done = ok + failed;
        let (n, what) = match self.count {
            Count::Fail => (failed, "failed"),
            Count::Success => (ok, "succeeded"),
            Count::Done => (done, "done"),
        };
        let reached = match self.threshold {
            Threshold::Items(limit) => n >= limit,
            Threshold::Percent(p) => {
                let base = total.unwrap_or(done);
                base > 0 && n as f64 * 100.0 >= p * base as f64
            }
        };
        reached.then(|| format!("{n} {what} (--halt {self})"))
    }
}

/// A halt policy with the counts it watches, shared by the workers: the
/// worker that finishes an item checks the policy before it takes another,
/// so with `soon` no item starts after the one that met the condition (on
/// that worker; others may be starting at the same moment).
#[derive(Debug)]
pub struct HaltState {
    policy: HaltPolicy,
    ok: AtomicU64,
    failed: AtomicU64,
    /// The number of items, 0 while unknown.
    total: AtomicU64,
    reason: OnceLock<String>,
    trigger: OnceLock<Trigger>,
}

/// The moment a halt condition was met: the item that met it and the
/// counts then (GNU's drop-in mode derives its exit status from them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trigger {
    /// The final outcome of the item that met the condition.
    pub outcome: Outcome,
    /// Items failed by then, that one included.
    pub failed: u64,
    /// What a percentage was taken of: all items when known, else those
    /// finished by then.
    pub base: u64,
}

impl HaltState {
    /// Watches `policy`.
    pub fn new(policy: HaltPolicy) -> HaltState {
        HaltState {
            policy,
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            total: AtomicU64::new(0),
            reason: OnceLock::new(),
            trigger: OnceLock::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &HaltPolicy {
        &self.policy
    }

    /// The number of items became known.
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::SeqCst);
    }

    /// Counts an item's final outcome; returns true when this one met the
    /// condition (once per run).
    pub fn record(&self, outcome: &Outcome) -> bool {
        if outcome.is_success() {
            self.ok.fetch_add(1, Ordering::SeqCst);
        } else if outcome.is_failure() {
            self.failed.fetch_add(1, Ordering::SeqCst);
        } else {
            return false;
        }
        if self.reason.get().is_some() {
            return false;
        }
        let total = match self.total.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        };
        let ok = self.ok.load(Ordering::SeqCst);
        let failed = self.failed.load(Ordering::SeqCst);
        match self.policy.check(ok, failed, total) {
            Some(why) => {
                let first = self.reason.set(why).is_ok();
                if first {
                    let _ = self.trigger.set(Trigger {
                        outcome: outcome.clone(),
                        failed,
                        base: total.unwrap_or(ok + failed),
                    });
                }
                first
            }
            None => false,
        }
    }

    /// The item and counts that met the condition, if it was met.
    pub(crate) fn trigger(&self) -> Option<&Trigger> {
        self.trigger.get()
    }

    /// Why the run halted, if it did.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }
}

impl fmt::Display for HaltPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match self.when {
            When::Now => "now",
            When::Soon => "soon",
        };
        let count = match self.count {
            Count::Fail => "fail",
            Count::Success => "success",
            Count::Done => "done",
        };
        match self.threshold {
            Threshold::Items(n) => write!(f, "{when},{count}={n}"),
            Threshold::Percent(p) => write!(f, "{when},{count}={p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gnu_syntax() {
        assert_eq!(HaltPolicy::parse("never"), Ok(None));
        assert_eq!(
            HaltPolicy::parse("soon,fail=1"),
            Ok(Some(HaltPolicy::fail_fast()))
        );
        let p = HaltPolicy::parse("now,success=20%").unwrap().unwrap();
        assert_eq!(p.when, When::Now);
        assert_eq!(p.count, Count::Success);
        assert_eq!(p.threshold, Threshold::Percent(20.0));
        assert_eq!(p.to_string(), "now,success=20%");
        for bad in [
            "",
            "now",
            "later,fail=1",
            "now,fail",
            "now,fail=0",
            "now,oops=1",
            "soon,fail=101%",
        ] {
            assert!(HaltPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds() {
        // 6 succeeded and 3 failed so far.
        let (ok, failed) = (6, 3);
        let fail3 = HaltPolicy::parse("soon,fail=3").unwrap().unwrap();
        assert_eq!(
            fail3.check(ok, failed, None).as_deref(),
            Some("3 failed (--halt soon,fail=3)")
        );
        let fail4 = HaltPolicy::parse("soon,fail=4").unwrap().unwrap();
        assert_eq!(fail4.check(ok, failed, None), None);
        let pct = HaltPolicy::parse("soon,fail=30%").unwrap().unwrap();
        assert!(pct.check(ok, failed, Some(10)).is_some(), "3 of 10 is 30%");
        assert!(
            pct.check(ok, failed, Some(100)).is_none(),
            "3 of 100 is not"
        );
        assert!(pct.check(ok, failed, None).is_some(), "3 of 9 done so far");
        let done = HaltPolicy::parse("now,done=9").unwrap().unwrap();
        assert!(done.check(ok, failed, None).is_some());
        let success = HaltPolicy::parse("now,success=7").unwrap().unwrap();
        assert!(success.check(ok, failed, None).is_none());
    }

    #[test]
    fn shared_state_triggers_once() {
        let state = HaltState::new(HaltPolicy::parse("soon,fail=2").unwrap().unwrap());
        assert!(!state.record(&Outcome::Failed { code: 1 }));
        assert!(!state.record(&Outcome::Success));
        assert!(
            !state.record(&Outcome::Interrupted),
            "interrupted items do not count"
        );
        assert!(state.record(&Outcome::TimedOut));
        assert!(!state.record(&Outcome::Failed { code: 1 }), "only once");
        assert_eq!(state.reason(), Some("2 failed (--halt soon,fail=2)"));
        let pct = HaltState::new(HaltPolicy::parse("soon,success=50%").unwrap().unwrap());
        pct.set_total(4);
        assert!(!pct.record(&Outcome::Success));
        assert!(pct.record(&Outcome::Success));
    }

    #[test]
    fn gnu_legacy_forms_mean_what_gnu_says() {
        for (legacy, modern) in [
            ("1", "soon,fail=1"),
            ("2", "now,fail=1"),
            ("-1", "soon,success=1"),
            ("-2", "now,success=1"),
            ("30%", "soon,fail=30%"),
        ] {
            assert_eq!(
                HaltPolicy::parse(legacy),
                HaltPolicy::parse(modern),
                "{legacy}"
            );
            assert!(HaltPolicy::parse(legacy).unwrap().is_some());
        }
        assert_eq!(HaltPolicy::parse("0"), Ok(None));
        assert!(HaltPolicy::parse("3").is_err());
        assert!(HaltPolicy::parse("100%").is_err());
        assert!(HaltPolicy::parse("0%").is_err());
    }
}
