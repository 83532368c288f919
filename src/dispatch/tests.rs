//! The dispatcher and the retry timer over plain channels: the reader loop
//! reads `:::` items and the test takes them from the feed as a worker
//! would; nothing runs, and no test sleeps to synchronise (waits end on a
//! channel, with a generous deadline as the only safety net).

use std::ffi::OsString;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded, unbounded};

use super::*;
use crate::cancel::CancelToken;
use crate::event::Event;
use crate::input::Reader;
use crate::item::Item;
use crate::journal::Gate;

/// Only a broken dispatcher or timer makes a wait reach this.
const DEADLINE: Duration = Duration::from_secs(30);

fn items(n: u64) -> Reader {
    let args = (1..=n)
        .map(|i| OsString::from(format!("item{i}")))
        .collect();
    Reader::from_args(args, None)
}

fn reading(cancel: &CancelToken) -> (Reading<'_>, Receiver<Event>) {
    let (events, skipped) = unbounded();
    let reading = Reading {
        cancel,
        gate: Gate::open(),
        events,
        window: None,
        timer: None,
        shard: None,
        batcher: None,
    };
    (reading, skipped)
}

/// Runs `reading` over `reader` on its own thread, feeding a channel of
/// `capacity`, takes every item as a worker would, and returns them in the
/// order taken, with how the input ended.
fn dispatch_all(
    reading: Reading<'_>,
    reader: Reader,
    capacity: usize,
) -> (Vec<Dispatch>, InputEnd) {
    let (intake, feed) = feed(capacity, None);
    thread::scope(|scope| {
        let dispatcher = scope.spawn(move || reading.run(reader, intake));
        let taken: Vec<Dispatch> = std::iter::from_fn(|| feed.next()).collect();
        (taken, dispatcher.join().unwrap())
    })
}

#[test]
fn items_go_out_in_input_order_numbered_from_zero() {
    let cancel = CancelToken::new().unwrap();
    let (reading, skipped) = reading(&cancel);
    // A channel of 4: the reader waits for room (the doorbell) many times.
    let (taken, end) = dispatch_all(reading, items(200), 4);
    let tickets: Vec<u64> = taken.iter().map(|d| d.ticket).collect();
    assert_eq!(tickets, (0..200).collect::<Vec<_>>());
    let seqs: Vec<u64> = taken.iter().map(|d| d.item.seq).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    assert_eq!(taken[41].item.raw, b"item42");
    assert!(
        taken
            .iter()
            .all(|d| d.attempts == 0 && d.last.is_none() && d.in_flight.is_none())
    );
    assert!(end.exhausted && end.error.is_none());
    assert!(skipped.try_recv().is_err(), "an open gate skips nothing");
}

#[test]
fn a_shard_takes_its_items_and_numbers_them_contiguously() {
    let cancel = CancelToken::new().unwrap();
    let (mut reading, _skipped) = reading(&cancel);
    reading.shard = Some(Shard::parse("2/3").unwrap());
    let (taken, end) = dispatch_all(reading, items(10), 4);
    let taken: Vec<(u64, u64)> = taken.iter().map(|d| (d.ticket, d.item.seq)).collect();
    assert_eq!(taken, vec![(0, 2), (1, 5), (2, 8)]);
    assert!(end.exhausted);
}

#[test]
fn the_stop_flag_ends_dispatch_within_the_channel() {
    let cancel = CancelToken::new().unwrap();
    let (reading, _skipped) = reading(&cancel);
    let (intake, feed) = feed(2, None);
    let (taken, end) = thread::scope(|scope| {
        let dispatcher = scope.spawn(move || reading.run(items(1000), intake));
        let first = feed.next().expect("a first item");
        cancel.signal(libc::SIGINT);
        let mut taken = vec![first];
        taken.extend(std::iter::from_fn(|| feed.next()));
        (taken, dispatcher.join().unwrap())
    });
    // The one taken, at most two in the channel, and the one in the
    // reader's hand when the flag went up.
    assert!(
        taken.len() <= 4,
        "{} items dispatched after the stop",
        taken.len()
    );
    let tickets: Vec<u64> = taken.iter().map(|d| d.ticket).collect();
    assert_eq!(tickets, (0..taken.len() as u64).collect::<Vec<_>>());
    assert!(!end.exhausted, "a stopped input is not exhausted");
    assert!(end.error.is_none());
}

#[test]
fn every_item_dispatched_holds_a_permit_of_the_window() {
    let cancel = CancelToken::new().unwrap();
    let (mut reading, _skipped) = reading(&cancel);
    // The collector's side of `-k`: it takes a permit back once an item's
    // output is written.
    let (window, written) = bounded::<()>(3);
    reading.window = Some(window);
    let (intake, feed) = feed(64, None);
    thread::scope(|scope| {
        let dispatcher = scope.spawn(move || reading.run(items(10), intake));
        let (mut taken, mut released) = (0, 0);
        while taken < 10 {
            if taken - released == 3 {
                // The window is full: nothing more comes until one is written.
                written.recv_timeout(DEADLINE).unwrap();
                released += 1;
            }
            let dispatch = feed.next().expect("an item");
            assert_eq!(dispatch.ticket, taken as u64);
            taken += 1;
            // The reader may already hold the next item's permit.
            let held = written.len();
            assert!(
                held >= taken - released && held <= 3,
                "{held} permits held for {} items in the window",
                taken - released
            );
        }
        assert!(feed.next().is_none());
        assert!(dispatcher.join().unwrap().exhausted);
    });
}

#[test]
fn a_full_window_gives_way_when_the_run_stops() {
    let cancel = CancelToken::new().unwrap();
    let (mut reading, _skipped) = reading(&cancel);
    let (window, _written) = bounded::<()>(2);
    reading.window = Some(window);
    let (intake, feed) = feed(64, None);
    let (taken, end) = thread::scope(|scope| {
        let dispatcher = scope.spawn(move || reading.run(items(10), intake));
        let mut taken = vec![feed.next().unwrap(), feed.next().unwrap()];
        // Nothing is ever written: the reader waits for the window until
        // the stop, then hands over the item it holds (to end as not
        // started) and reads no further.
        cancel.signal(libc::SIGINT);
        taken.extend(std::iter::from_fn(|| feed.next()));
        (taken, dispatcher.join().unwrap())
    });
    assert!((2..=3).contains(&taken.len()), "{} items", taken.len());
    assert!(!end.exhausted);
}

/// Starts `timer` on a thread of its own (not scoped: a timer that never
/// ends fails its test instead of hanging it).
fn start(timer: RetryTimer, cancel: &CancelToken) -> thread::JoinHandle<()> {
    let cancel = cancel.clone();
    thread::spawn(move || timer.run(&cancel))
}

/// Whether the timer has ended: the feed's receiver of due items is
/// disconnected.
fn ended(ready: &Receiver<Dispatch>) -> bool {
    matches!(
        ready.recv_timeout(DEADLINE),
        Err(RecvTimeoutError::Disconnected)
    )
}

/// A dispatch of item `seq` counted in flight by `timer`.
fn counted(timer: &RetryHandle, seq: u64) -> Dispatch {
    let item = Item::plain(seq, format!("item{seq}"));
    Dispatch::fresh(seq - 1, item, Some(InFlight::new(timer)))
}

#[test]
fn a_waiting_retry_is_released_at_its_time() {
    let cancel = CancelToken::new().unwrap();
    let (handle, timer, ready) = retry_timer();
    let timer = start(timer, &cancel);
    let now = Instant::now();
    let (soon, later) = (
        now + Duration::from_millis(20),
        now + Duration::from_millis(60),
    );
    handle.schedule(soon, counted(&handle, 1));
    handle.schedule(later, counted(&handle, 2));
    handle.input_done();
    let first = ready.recv_timeout(DEADLINE).unwrap();
    assert!(Instant::now() >= soon, "released before its time");
    assert_eq!(first.item.seq, 1);
    let second = ready.recv_timeout(DEADLINE).unwrap();
    assert!(Instant::now() >= later, "released before its time");
    assert_eq!(second.item.seq, 2);
    // Both items are final once dropped: the timer ends, and the feed
    // learns that no retry will come.
    drop((first, second));
    assert!(ended(&ready));
    timer.join().unwrap();
}

#[test]
fn ctrl_c_releases_every_waiting_retry_at_once() {
    let cancel = CancelToken::new().unwrap();
    let (handle, timer, ready) = retry_timer();
    let timer = start(timer, &cancel);
    let in_an_hour = Instant::now() + Duration::from_secs(3600);
    for seq in 1..=3 {
        handle.schedule(in_an_hour, counted(&handle, seq));
    }
    handle.input_done();
    cancel.signal(libc::SIGINT);
    let released: Vec<u64> = (0..3)
        .map(|_| ready.recv_timeout(DEADLINE).unwrap().item.seq)
        .collect();
    assert_eq!(released, vec![1, 2, 3]);
    assert!(Instant::now() < in_an_hour);
    assert!(ended(&ready), "the timer ends");
    timer.join().unwrap();
}

#[test]
fn the_timer_waits_for_the_last_item_in_flight() {
    let cancel = CancelToken::new().unwrap();
    let (handle, timer, ready) = retry_timer();
    // Dispatched, then the input ends: the item is still out (on a
    // worker, say), so the timer must not end yet...
    let out = counted(&handle, 1);
    handle.input_done();
    let timer = start(timer, &cancel);
    // ...and it fails and comes back for a retry, due now.
    handle.schedule(Instant::now(), out);
    let back = ready.recv_timeout(DEADLINE).expect("the retry is released");
    assert_eq!(back.item.seq, 1);
    // Its last attempt is over: dropping the item ends the timer.
    drop(back);
    assert!(ended(&ready));
    timer.join().unwrap();
}
