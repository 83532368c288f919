//! Engine tests with the fake runner: no process is spawned. Every test runs
//! against both backends, and checks the same invariants, plain and with
//! retries, a halt policy and a journal.

use crate::template::ShellMode;
use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::unbounded;

use super::*;
use crate::cancel::StopReason;
use crate::dispatch::{Dispatch, InFlight, retry_timer};
use crate::event::{Chunk, Event, JobStarted, Retry};
use crate::halt::HaltPolicy;
use crate::item::{Format, Item};
use crate::job::FakeRunner;
use crate::journal::Header;
use crate::record::ItemRecord;
use crate::retry::{Backoff, RetryOn};
use crate::template::Schema;

const KINDS: [EngineKind; 2] = [EngineKind::Threads, EngineKind::Rayon];

fn template() -> Template {
    let schema = Schema {
        format: Format::Lines,
        headers: None,
        colsep: false,
        batch: false,
        sources: 1,
    };
    Template::parse(&[OsString::from("fake")], ShellMode::Auto, &schema).unwrap()
}

fn dispatches(texts: &[&str]) -> Vec<Dispatch> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Dispatch::fresh(i as u64, Item::plain(i as u64 + 1, t.as_bytes()), None))
        .collect()
}

/// Runs `items` through `kind` and returns every event, in arrival order.
/// A feeder thread hands the items over through a feed of capacity 4,
/// counting them in `pulled`; `on_event` sees each event as it arrives (to
/// cancel mid-run).
fn run_items(
    kind: EngineKind,
    jobs: usize,
    items: Vec<Dispatch>,
    pulled: &AtomicU64,
    cancel: &CancelToken,
    on_event: &(dyn Fn(&Event, &CancelToken) + Sync),
) -> Vec<Event> {
    let run = Run {
        kind,
        jobs,
        cancel,
        extras: Extras::default(),
    };
    run_with(&run, items, pulled, on_event)
}

/// What a run adds to the plain one.
#[derive(Default, Clone, Copy)]
struct Extras<'a> {
    retry: Option<&'a RetryPolicy>,
    halt: Option<&'a HaltState>,
    journal: Option<&'a Journal>,
}

struct Run<'a> {
    kind: EngineKind,
    jobs: usize,
    cancel: &'a CancelToken,
    extras: Extras<'a>,
}

/// [`run_items`] with retries (a retry timer on its own thread, each item
/// counted in flight as the reader would), a halt policy and a journal, as
/// `run.extras` asks. The collecting thread plays the collector's part for
/// the journal: it records each item a worker left to it, then lets the
/// worker go on.
fn run_with(
    run: &Run<'_>,
    items: Vec<Dispatch>,
    pulled: &AtomicU64,
    on_event: &(dyn Fn(&Event, &CancelToken) + Sync),
) -> Vec<Event> {
    let Run {
        kind,
        jobs,
        cancel,
        extras,
    } = *run;
    let template = template();
    let runner = FakeRunner;
    let (tx, rx) = unbounded();
    let (timer_handle, timer, due) = retry_timer();
    let retries = extras.retry.is_some();
    let (intake, feed) = crate::dispatch::feed(4, retries.then_some(due));
    thread::scope(|scope| {
        let collect = scope.spawn(|| {
            let mut events = Vec::new();
            for mut event in rx {
                if let (Event::Finished(f), Some(journal)) = (&mut event, extras.journal)
                    && let Some(ack) = f.ack.take()
                {
                    journal.record(&ItemRecord::of(f)).unwrap();
                    let _ = ack.send(());
                }
                on_event(&event, cancel);
                events.push(event);
            }
            events
        });
        if retries {
            scope.spawn(|| timer.run(cancel));
        } else {
            drop(timer);
        }
        let feeder_timer = retries.then(|| timer_handle.clone());
        scope.spawn(move || {
            for mut dispatch in items {
                pulled.fetch_add(1, Ordering::SeqCst);
                dispatch.in_flight = feeder_timer.as_ref().map(InFlight::new);
                if !intake.push(dispatch) {
                    break;
                }
            }
            if let Some(timer) = feeder_timer {
                timer.input_done();
            }
        });
        let work = Work {
            template: &template,
            input: "test",
            runner: &runner,
            cancel,
            events: tx,
            labels: true,
            tags: false,
            tagstring: None,
            commands: false,
            retry: extras.retry.map(|policy| (policy, timer_handle.clone())),
            journal: extras.journal,
            halt: extras.halt,
            delay: None,
            round_robin: None,
        };
        super::run(kind, jobs, &feed, &work).unwrap();
        drop(work);
        collect.join().unwrap()
    })
}

fn finished(events: &[Event]) -> Vec<&Finished> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finished(f) => Some(f.as_ref()),
            _ => None,
        })
        .collect()
}

/// Every started item finishes exactly once, after it started, on a valid
/// slot; each attempt starts once, in order, and every attempt but the last
/// is retried.
fn check_invariants(events: &[Event], jobs: usize, items: usize) {
    let mut started = vec![0u32; items];
    let mut retried = vec![0u32; items];
    let mut done = vec![0; items];
    for event in events {
        match event {
            Event::Started(JobStarted {
                ticket,
                slot,
                attempt,
                ..
            }) => {
                let t = *ticket as usize;
                assert!((1..=jobs).contains(slot), "slot {slot} out of range");
                assert_eq!(*attempt, started[t] + 1, "started twice");
                assert_eq!(retried[t], started[t], "started again without a retry");
                started[t] = *attempt;
            }
            Event::Retrying(Retry {
                ticket, attempt, ..
            }) => {
                let t = *ticket as usize;
                assert_eq!(*attempt, started[t], "retried an attempt that did not run");
                assert_eq!(done[t], 0, "retried after it finished");
                retried[t] = *attempt;
            }
            Event::Finished(f) => {
                let t = f.ticket as usize;
                if f.slot != 0 {
                    assert!(started[t] > 0, "finished before started");
                }
                assert_eq!(f.attempts, started[t], "attempts of ticket {t}");
                done[t] += 1;
            }
            _ => {}
        }
    }
    assert!(
        done.iter().all(|&n| n == 1),
        "each item finishes exactly once: {done:?}"
    );
}

/// The final outcomes, in ticket order.
fn outcomes(events: &[Event]) -> Vec<Outcome> {
    let mut done: Vec<(u64, Outcome)> = finished(events)
        .iter()
        .map(|f| (f.ticket, f.outcome.clone()))
        .collect();
    done.sort_by_key(|(t, _)| *t);
    done.into_iter().map(|(_, o)| o).collect()
}

/// The journal holds one line for every item that finished for good
/// (interrupted and never-started ones run again on resume) and nothing
/// else, each with its final outcome and attempts.
fn check_journal(path: &std::path::Path, events: &[Event]) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header.kind, "run");
    let entries: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let number = |entry: &serde_json::Value, field: &str| {
        entry[field].as_i64().map(|n| i32::try_from(n).unwrap())
    };
    let done = finished(events);
    for f in &done {
        let records: Vec<&serde_json::Value> =
            entries.iter().filter(|e| e["key"] == f.item.key).collect();
        if f.outcome.status().is_recorded() {
            assert_eq!(records.len(), 1, "{} journaled once", f.item.key);
            assert_eq!(number(records[0], "exit_code"), f.outcome.exit_code());
            assert_eq!(number(records[0], "signal"), f.outcome.signal());
            assert_eq!(
                number(records[0], "attempts"),
                Some(i32::try_from(f.attempts).unwrap())
            );
        } else {
            assert!(
                records.is_empty(),
                "{} runs again: not journaled",
                f.item.key
            );
        }
    }
    assert!(
        entries
            .iter()
            .all(|e| e["type"] == "item" && done.iter().any(|f| e["key"] == f.item.key))
    );
}

#[test]
fn every_item_gets_one_outcome() {
    for kind in KINDS {
        let texts = ["ok", "exit:3", "signal:9", "exit:0", "sleep:5", "out:hello"];
        let cancel = CancelToken::new().unwrap();
        let events = run_items(
            kind,
            3,
            dispatches(&texts),
            &AtomicU64::new(0),
            &cancel,
            &|_, _| {},
        );
        check_invariants(&events, 3, texts.len());
        let mut outcomes: Vec<_> = finished(&events)
            .iter()
            .map(|f| (f.ticket, f.outcome.clone()))
            .collect();
        outcomes.sort_by_key(|(t, _)| *t);
        let outcomes: Vec<_> = outcomes.into_iter().map(|(_, o)| o).collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Success,
                Outcome::Failed { code: 3 },
                Outcome::Signaled { signal: 9 },
                Outcome::Success,
                Outcome::Success,
                Outcome::Success,
            ],
            "{kind:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Output(Chunk { bytes, .. }) if bytes == b"hello\n"))
        );
    }
}

#[test]
fn bad_records_fail_without_running() {
    for kind in KINDS {
        let mut items = dispatches(&["ok", "ok"]);
        items[1].item.data = ItemData::Bad("`x.csv` line 3: expected 2 fields, found 1".into());
        let cancel = CancelToken::new().unwrap();
        let events = run_items(kind, 2, items, &AtomicU64::new(0), &cancel, &|_, _| {});
        check_invariants(&events, 2, 2);
        let bad = finished(&events)
            .into_iter()
            .find(|f| f.ticket == 1)
            .unwrap();
        assert_eq!(bad.slot, 0);
        assert!(
            matches!(&bad.outcome, Outcome::BadInput { message } if message.contains("line 3"))
        );
        let started = events
            .iter()
            .filter(|e| matches!(e, Event::Started(_)))
            .count();
        assert_eq!(started, 1, "{kind:?}");
    }
}

#[test]
fn cancel_interrupts_running_and_skips_the_rest() {
    for kind in KINDS {
        let texts = ["hang"; 50];
        let cancel = CancelToken::new().unwrap();
        let starts = AtomicU64::new(0);
        let pulled = AtomicU64::new(0);
        let pulled_at_cancel = AtomicU64::new(0);
        // Cancel once both workers are running a hanging item.
        let on_event = |e: &Event, c: &CancelToken| {
            if matches!(e, Event::Started(_)) && starts.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
                pulled_at_cancel.store(pulled.load(Ordering::SeqCst), Ordering::SeqCst);
                c.signal(2);
            }
        };
        let events = run_items(kind, 2, dispatches(&texts), &pulled, &cancel, &on_event);
        let done = finished(&events);
        let interrupted = done
            .iter()
            .filter(|f| f.outcome == Outcome::Interrupted)
            .count();
        let not_started = done
            .iter()
            .filter(|f| f.outcome == Outcome::NotStarted)
            .count();
        assert_eq!(interrupted, 2, "{kind:?}");
        // Every item gets an outcome, the ones never started included.
        assert_eq!(done.len(), texts.len(), "{kind:?}");
        assert_eq!(interrupted + not_started, done.len());
        // While the workers were busy, the input ran ahead of them by a
        // bounded window only: 2 running, 4 in the feed, one in the
        // feeder's hand and (rayon) one in the dispatching thread's.
        let ahead = pulled_at_cancel.load(Ordering::SeqCst);
        assert!(ahead <= 2 + 4 + 2, "{kind:?} pulled {ahead} items ahead");
    }
}

#[test]
fn a_panicking_job_is_an_internal_error_and_drains_the_run() {
    for kind in KINDS {
        let texts = ["panic", "sleep:1", "sleep:1", "sleep:1"];
        let cancel = CancelToken::new().unwrap();
        let events = run_items(
            kind,
            1,
            dispatches(&texts),
            &AtomicU64::new(0),
            &cancel,
            &|_, _| {},
        );
        let done = finished(&events);
        assert!(
            matches!(&done[0].outcome, Outcome::Internal { message } if message.contains("panic"))
        );
        assert!(cancel.is_stopping(), "{kind:?}");
        assert!(!cancel.is_forwarding(), "a panic lets running jobs finish");
        assert!(
            done.iter()
                .skip(1)
                .all(|f| f.outcome != Outcome::Interrupted)
        );
    }
}

#[test]
fn slots_stay_within_jobs_and_all_are_used() {
    for kind in KINDS {
        let texts = vec!["sleep:3"; 40];
        let cancel = CancelToken::new().unwrap();
        let events = run_items(
            kind,
            4,
            dispatches(&texts),
            &AtomicU64::new(0),
            &cancel,
            &|_, _| {},
        );
        check_invariants(&events, 4, texts.len());
        let mut slots: Vec<usize> = finished(&events).iter().map(|f| f.slot).collect();
        slots.sort_unstable();
        slots.dedup();
        assert!(slots.len() > 1, "{kind:?} used one slot only: {slots:?}");
    }
}

fn retry_policy(retries: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy {
        retries,
        delay,
        backoff: Backoff::Fixed,
        max_delay: Duration::from_secs(3600),
        on: RetryOn::all(),
    }
}

fn halt_state(policy: &str) -> HaltState {
    HaltState::new(HaltPolicy::parse(policy).unwrap().unwrap())
}

/// Each item keyed by its position, as the resume gate would key it.
fn keyed(texts: &[&str]) -> Vec<Dispatch> {
    let mut items = dispatches(texts);
    for dispatch in &mut items {
        dispatch.item.key = format!("key{}", dispatch.item.seq);
    }
    items
}

/// A journal in a fresh directory (kept while the directory lives).
fn journal() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let header = Header {
        kind: "run".into(),
        fanout: "0.1.0".into(),
        started: "2026-01-01T00:00:00.000Z".into(),
        command: "fake".into(),
        input: "test".into(),
        format: "lines".into(),
        key: None,
        cwd: "/tmp".into(),
        argv: vec!["fanout".into(), "fake".into()],
        words: None,
        shell: false,
        colsep: None,
        shard: None,
        shard_from: None,
        node: None,
    };
    let journal = Journal::open(&dir.path().join("journal.jsonl"), &header).unwrap();
    (dir, journal)
}

fn attempts(events: &[Event]) -> Vec<u32> {
    let mut done: Vec<(u64, u32)> = finished(events)
        .iter()
        .map(|f| (f.ticket, f.attempts))
        .collect();
    done.sort_by_key(|(t, _)| *t);
    done.into_iter().map(|(_, a)| a).collect()
}

#[test]
fn retries_run_failed_attempts_again_and_report_each_item_once() {
    for kind in KINDS {
        let texts = ["exit:3", "ok", "signal:9", "exit:0", "out:hello"];
        let policy = retry_policy(2, Duration::ZERO);
        let cancel = CancelToken::new().unwrap();
        let run = Run {
            kind,
            jobs: 2,
            cancel: &cancel,
            extras: Extras {
                retry: Some(&policy),
                ..Extras::default()
            },
        };
        let events = run_with(&run, dispatches(&texts), &AtomicU64::new(0), &|_, _| {});
        check_invariants(&events, 2, texts.len());
        assert_eq!(
            outcomes(&events),
            vec![
                Outcome::Failed { code: 3 },
                Outcome::Success,
                Outcome::Signaled { signal: 9 },
                Outcome::Success,
                Outcome::Success,
            ],
            "{kind:?}"
        );
        assert_eq!(attempts(&events), vec![3, 1, 3, 1, 1], "{kind:?}");
        let retried = events
            .iter()
            .filter(|e| matches!(e, Event::Retrying(_)))
            .count();
        assert_eq!(retried, 4, "{kind:?}");
    }
}

#[test]
fn a_retry_waiting_when_the_run_stops_ends_with_its_last_attempt() {
    for kind in KINDS {
        let texts = ["exit:3", "ok"];
        let policy = retry_policy(5, Duration::from_secs(3600));
        let cancel = CancelToken::new().unwrap();
        let run = Run {
            kind,
            jobs: 2,
            cancel: &cancel,
            extras: Extras {
                retry: Some(&policy),
                ..Extras::default()
            },
        };
        // Ctrl-C while the retry waits its hour.
        let on_event = |e: &Event, c: &CancelToken| {
            if matches!(e, Event::Retrying(_)) {
                c.signal(libc::SIGINT);
            }
        };
        let events = run_with(&run, dispatches(&texts), &AtomicU64::new(0), &on_event);
        check_invariants(&events, 2, texts.len());
        let outcomes = outcomes(&events);
        assert_eq!(outcomes[0], Outcome::Failed { code: 3 }, "{kind:?}");
        assert_eq!(attempts(&events)[0], 1, "{kind:?}");
        assert!(
            matches!(outcomes[1], Outcome::Success | Outcome::NotStarted),
            "{kind:?}: {:?}",
            outcomes[1]
        );
        assert_eq!(cancel.reason(), Some(StopReason::Signal(libc::SIGINT)));
    }
}

#[test]
fn halt_soon_starts_nothing_after_the_failure_that_meets_it() {
    for kind in KINDS {
        let texts = ["ok", "exit:1", "ok", "ok", "ok"];
        let halt = halt_state("soon,fail=1");
        let cancel = CancelToken::new().unwrap();
        // One worker: the items after the failure are taken only after it.
        let run = Run {
            kind,
            jobs: 1,
            cancel: &cancel,
            extras: Extras {
                halt: Some(&halt),
                ..Extras::default()
            },
        };
        let events = run_with(&run, dispatches(&texts), &AtomicU64::new(0), &|_, _| {});
        check_invariants(&events, 1, texts.len());
        assert_eq!(
            outcomes(&events),
            vec![
                Outcome::Success,
                Outcome::Failed { code: 1 },
                Outcome::NotStarted,
                Outcome::NotStarted,
                Outcome::NotStarted,
            ],
            "{kind:?}"
        );
        assert_eq!(cancel.reason(), Some(StopReason::Halt));
        assert!(!cancel.is_forwarding(), "soon lets running jobs finish");
        assert_eq!(halt.reason(), Some("1 failed (--halt soon,fail=1)"));
    }
}

#[test]
fn halt_now_interrupts_running_jobs() {
    for kind in KINDS {
        let texts = ["hang", "exit:1"];
        let halt = halt_state("now,fail=1");
        let cancel = CancelToken::new().unwrap();
        let run = Run {
            kind,
            jobs: 2,
            cancel: &cancel,
            extras: Extras {
                halt: Some(&halt),
                ..Extras::default()
            },
        };
        let events = run_with(&run, dispatches(&texts), &AtomicU64::new(0), &|_, _| {});
        check_invariants(&events, 2, texts.len());
        let outcomes = outcomes(&events);
        // The hanging job is interrupted, or never starts if the failure
        // came first.
        assert!(
            matches!(outcomes[0], Outcome::Interrupted | Outcome::NotStarted),
            "{kind:?}: {:?}",
            outcomes[0]
        );
        assert_eq!(outcomes[1], Outcome::Failed { code: 1 });
        assert!(cancel.is_forwarding(), "now signals running jobs");
    }
}

#[test]
fn the_journal_records_each_finished_item_once() {
    for kind in KINDS {
        let texts = ["ok", "exit:2", "out:hello", "err:oops", "signal:15", "ok"];
        let (dir, journal) = journal();
        let cancel = CancelToken::new().unwrap();
        let run = Run {
            kind,
            jobs: 3,
            cancel: &cancel,
            extras: Extras {
                journal: Some(&journal),
                ..Extras::default()
            },
        };
        let events = run_with(&run, keyed(&texts), &AtomicU64::new(0), &|_, _| {});
        check_invariants(&events, 3, texts.len());
        check_journal(journal.path(), &events);
        // A worker journals a quiet item itself; one with output waits
        // until the collector has written and journaled it.
        for f in finished(&events) {
            let has_output = f.item.raw.starts_with(b"out:") || f.item.raw.starts_with(b"err:");
            assert_eq!(f.journaled, !has_output, "{kind:?} {}", f.item);
        }
        drop(dir);
    }
}

#[test]
fn retries_a_halt_and_a_journal_together_keep_every_invariant() {
    for kind in KINDS {
        let texts: Vec<&str> = ["exit:1", "ok", "out:x", "sleep:2", "exit:4", "err:e"]
            .into_iter()
            .cycle()
            .take(30)
            .collect();
        let policy = retry_policy(1, Duration::ZERO);
        let halt = halt_state("soon,fail=3");
        let (dir, journal) = journal();
        let cancel = CancelToken::new().unwrap();
        let run = Run {
            kind,
            jobs: 3,
            cancel: &cancel,
            extras: Extras {
                retry: Some(&policy),
                halt: Some(&halt),
                journal: Some(&journal),
            },
        };
        let events = run_with(&run, keyed(&texts), &AtomicU64::new(0), &|_, _| {});
        check_invariants(&events, 3, texts.len());
        check_journal(journal.path(), &events);
        assert_eq!(cancel.reason(), Some(StopReason::Halt), "{kind:?}");
        assert_eq!(halt.reason(), Some("3 failed (--halt soon,fail=3)"));
        let done = finished(&events);
        let failed = done.iter().filter(|f| f.outcome.is_failure()).count();
        assert!(failed >= 3, "{kind:?}: {failed} failed");
        // A failure ran twice, unless the halt came while its retry waited.
        for f in done.iter().filter(|f| f.outcome.is_failure()) {
            assert!((1..=2).contains(&f.attempts), "{kind:?}: {f:?}");
        }
        drop(dir);
    }
}
