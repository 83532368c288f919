//! Engine tests with the fake runner: no process is spawned. Every test runs
//! against both backends.

use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use crossbeam_channel::unbounded;

use super::*;
use crate::dispatch::Dispatch;
use crate::event::Event;
use crate::item::{Format, Item};
use crate::job::FakeRunner;
use crate::template::Schema;

const KINDS: [EngineKind; 2] = [EngineKind::Threads, EngineKind::Rayon];

fn template() -> Template {
    let schema = Schema {
        format: Format::Lines,
        headers: None,
        colsep: false,
    };
    Template::parse(&[OsString::from("fake")], false, &schema).unwrap()
}

fn dispatches(texts: &[&str]) -> Vec<Dispatch> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Dispatch {
            ticket: i as u64,
            item: Item::plain(i as u64 + 1, t.as_bytes()),
            attempts: 0,
            last: None,
            first: None,
        })
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
    let template = template();
    let runner = FakeRunner;
    let (tx, rx) = unbounded();
    let (intake, feed) = crate::dispatch::feed(4, None);
    thread::scope(|scope| {
        let collect = scope.spawn(|| {
            let mut events = Vec::new();
            for event in rx {
                on_event(&event, cancel);
                events.push(event);
            }
            events
        });
        scope.spawn(move || {
            for dispatch in items {
                pulled.fetch_add(1, Ordering::SeqCst);
                if !intake.push(dispatch) {
                    break;
                }
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
            commands: false,
            retry: None,
            journal: None,
            halt: None,
        };
        run(kind, jobs, &feed, &work).unwrap();
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

/// Every started item finishes exactly once, after it started, on a valid slot.
fn check_invariants(events: &[Event], jobs: usize, items: usize) {
    let mut started = vec![false; items];
    let mut done = vec![0; items];
    for event in events {
        match event {
            Event::Started { ticket, slot, .. } => {
                assert!((1..=jobs).contains(slot), "slot {slot} out of range");
                assert!(!started[*ticket as usize], "started twice");
                started[*ticket as usize] = true;
            }
            Event::Finished(f) => {
                let t = f.ticket as usize;
                if f.slot != 0 {
                    assert!(started[t], "finished before started");
                }
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
                .any(|e| matches!(e, Event::Output { bytes, .. } if bytes == b"hello\n"))
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
            .filter(|e| matches!(e, Event::Started { .. }))
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
            if matches!(e, Event::Started { .. }) && starts.fetch_add(1, Ordering::SeqCst) + 1 == 2
            {
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
