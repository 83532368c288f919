//! The run's threads, in one scope: the collector, the reader (which is
//! the dispatcher), a background count of a file's items, the retry timer,
//! and the engine's workers on this thread. Channels connect them; when the
//! engine returns, the scope drops what unblocks the others and joins them.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{Sender, bounded};

use crate::cancel::CancelToken;
use crate::collector::Collector;
use crate::config::{Config, Source};
use crate::dispatch::{self, InputEnd, Reading, retry_timer};
use crate::engine::{self, StartDelay, StartGate, Work};
use crate::event::Event;
use crate::halt::HaltState;
use crate::input::read::StopRead;
use crate::input::{self, Reader};
use crate::job::Runner;
use crate::journal::Gate;
use crate::journal::Journal;
use crate::plan::RunPlan;
use crate::template::Template;
use crate::template::text::TextTemplate;

/// The `-k` window: one permit per item between dispatch and emission.
pub(super) fn reorder_window(
    plan: &RunPlan,
    jobs: usize,
) -> (Option<Sender<()>>, Option<crossbeam_channel::Receiver<()>>) {
    if plan.keep_order {
        let (tx, rx) = bounded::<()>((jobs * 8).clamp(32, 512));
        (Some(tx), Some(rx))
    } else {
        (None, None)
    }
}

/// What the run needs besides its configuration.
pub(super) struct Parts<'a> {
    pub template: &'a Template,
    pub reader: Reader,
    pub gate: Gate,
    pub runner: &'a dyn Runner,
    pub journal: Option<&'a Journal>,
    pub halt: Option<&'a HaltState>,
    pub known_total: Option<u64>,
    /// `--tagstring`: workers render it for live tagged lines.
    pub tagstring: Option<&'a TextTemplate>,
}

/// How the threads ended.
pub(super) struct Ended<'a> {
    pub engine: anyhow::Result<()>,
    pub input: anyhow::Result<InputEnd>,
    pub collector: Result<Collector<'a>, String>,
}

/// Runs the items: returns once every thread has ended.
pub(super) fn run<'a>(
    config: &Config,
    plan: &RunPlan,
    cancel: &'a CancelToken,
    parts: Parts<'_>,
    mut collector: Collector<'a>,
    window: Option<Sender<()>>,
) -> Ended<'a> {
    let jobs = config.jobs;
    let input_name = parts.reader.name().to_owned();
    let shape = parts.reader.shape();
    let (events_tx, events_rx) = bounded::<Event>(jobs * 4 + 16);
    if let Some(total) = parts.known_total {
        let _ = events_tx.send(Event::Total(total));
    }
    let count_stop = AtomicBool::new(false);
    let delay = config.delay.map(StartDelay::new);
    let round_robin = config
        .pipe
        .as_ref()
        .filter(|p| p.round_robin)
        .map(|_| StartGate::new(jobs));
    let (retry_handle, retry_timer, retry_rx) = retry_timer();
    let retries = config.retry.is_some();
    // The reader runs ahead of the workers by this channel only. A block
    // is big: one waits for a worker, one is being read, the others run.
    let ahead = match config.pipe {
        Some(_) => 1,
        None => (jobs * 2).max(64),
    };
    let (intake, feed) = dispatch::feed(ahead, retries.then_some(retry_rx));
    thread::scope(|scope| {
        let collector = thread::Builder::new()
            .name("fanout-collector".into())
            .spawn_scoped(scope, move || {
                collector.run(&events_rx);
                collector
            });
        let reading = Reading {
            cancel,
            gate: parts.gate,
            events: events_tx.clone(),
            window,
            timer: retries.then(|| retry_handle.clone()),
            shard: config.shard,
            batcher: config
                .batch
                .map(|spec| dispatch::batcher::Batcher::new(parts.template, spec, jobs)),
        };
        let reader = parts.reader;
        let reading = thread::Builder::new()
            .name("fanout-reader".into())
            .spawn_scoped(scope, move || reading.run(reader, intake));
        // Blocks are not counted ahead: their bytes are the total.
        let counted = parts.known_total.is_some() || config.pipe.is_some();
        if let (Source::File(path), true, false) = (&config.source, plan.count_total, counted) {
            let tx = events_tx.clone();
            let stop = &count_stop;
            let format = config.format;
            let delimiter = config.delimiter.as_deref();
            let rules = &config.rules;
            let shard = config.shard;
            let shape = shape.clone();
            let _ = thread::Builder::new()
                .name("fanout-count".into())
                .spawn_scoped(scope, move || {
                    // Only a regular file can be read twice: counting a FIFO
                    // or a device would steal the items.
                    let Ok(inner) = File::open(path) else { return };
                    if !inner.metadata().is_ok_and(|m| m.is_file()) {
                        return;
                    }
                    let read = StopRead { inner, stop };
                    if let Ok(records) = input::count_items(read, format, delimiter, rules) {
                        let total = super::input::items_of(config, shape.as_ref(), records);
                        // A hash shard's size is known only by hashing every item.
                        if let Some(total) = shard.map_or(Some(total), |s| s.size_of(total)) {
                            let _ = tx.send(Event::Total(total));
                        }
                    }
                });
        }
        let timer = if retries {
            thread::Builder::new()
                .name("fanout-retry".into())
                .spawn_scoped(scope, move || retry_timer.run(cancel))
                .map(Some)
        } else {
            drop(retry_timer);
            Ok(None)
        };
        let work = Work {
            template: parts.template,
            input: &input_name,
            runner: parts.runner,
            cancel,
            events: events_tx,
            labels: plan.labels,
            tags: plan.item_bytes,
            tagstring: parts.tagstring,
            commands: plan.commands,
            retry: config.retry.as_ref().map(|p| (p, retry_handle.clone())),
            journal: parts.journal,
            halt: parts.halt,
            delay: delay.as_ref(),
            round_robin: round_robin.as_ref(),
        };
        let engine = match timer {
            Ok(_) => engine::run(config.engine, jobs, &feed, &work),
            Err(e) => Err(anyhow::Error::from(e).context("failed to start the retry timer")),
        };
        drop(work);
        // Unblocks a reader still sending (the engine stopped taking items).
        drop(feed);
        drop(retry_handle);
        count_stop.store(true, Ordering::Relaxed);
        let input = reading.map_err(anyhow::Error::from).and_then(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("the input reader panicked"))
        });
        let collector = match collector {
            Ok(handle) => handle
                .join()
                .map_err(|_| "internal error: the collector panicked".to_owned()),
            Err(e) => Err(format!("failed to start the collector thread: {e}")),
        };
        Ended {
            engine,
            input,
            collector,
        }
    })
}
