//! The collector: the single thread that owns stdout, stderr, the progress
//! display and the counts. It consumes [`Event`]s from the result channel,
//! writes each job's output (whole, in input order with `-k`, or line by
//! line), journals each item once its output is flushed (then lets its
//! worker go on), notes failures for the summary, and hands back a
//! [`CollectorReport`]. Workers never print.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Seek, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde_json::json;

use crate::cancel::{CancelToken, RunState};
use crate::cli::OutputMode;
use crate::event::{Event, Finished, Skipped, Stream};
use crate::halt::HaltState;
use crate::journal::Journal;
use crate::outcome::{Captured, Outcome};
use crate::record::{ItemRecord, Status};
use crate::sink::event_stream::{EventWriter, attempt_fields, merge, outcome_fields};
use crate::sink::progress::{self, Progress};
use crate::sink::report::Report;
use crate::sink::summary::{Counts, FailureNote, SHOWN_FAILURES, format_duration};

/// Captured output larger than this is copied by the kernel, not through
/// the stdout buffer (smaller ones are batched with other jobs' output).
const KERNEL_COPY_FROM: u64 = 64 * 1024;

/// How often the display is refreshed without events (elapsed times).
const TICK: Duration = Duration::from_millis(100);

/// How much of a failed job's stderr is read for its tail.
const TAIL_BYTES: u64 = 4096;
/// How many stderr lines a failure note keeps.
const TAIL_LINES: usize = 5;
/// Longest stderr line kept in a failure note.
const TAIL_LINE_MAX: usize = 200;
/// Longest item label in failure notes.
const LABEL_MAX: usize = 80;
/// Longest command shown in failure notes (reports keep it whole).
const COMMAND_MAX: usize = 200;

/// Collector settings.
#[derive(Debug, Clone)]
pub struct CollectorOptions<'a> {
    /// Effective output mode.
    pub output: OutputMode,
    /// Write output in dispatch order.
    pub keep_order: bool,
    /// Prefix output lines with the item and a tab.
    pub tag: bool,
    /// `--halt`, whose counts the workers keep; the collector gives it the
    /// total and reports its reason.
    pub halt: Option<&'a HaltState>,
}

/// Where finished items are recorded besides the terminal.
#[derive(Default)]
pub struct Sinks {
    /// `--report` files.
    pub reports: Vec<Report>,
    /// `--events`.
    pub events: Option<EventWriter>,
    /// `::error` lines for failed items (GitHub Actions).
    pub annotations: bool,
    /// Job stdout goes to stderr (`--events -` owns stdout).
    pub stdout_to_stderr: bool,
    /// The journal: an item's line is appended once its output has been
    /// written (flushed), never before.
    pub journal: Option<Arc<Journal>>,
}

/// What the collector learned, for the summary and the exit code.
#[derive(Default)]
pub struct CollectorReport {
    /// Items per outcome.
    pub counts: Counts,
    /// The failures first in input order (lowest seq), at most
    /// [`SHOWN_FAILURES`], sorted by seq.
    pub failures: Vec<FailureNote>,
    /// The total number of items, when a count finished.
    pub total: Option<u64>,
    /// A write error on stdout other than a closed pipe.
    pub output_error: Option<String>,
    /// Why `--halt` stopped the run.
    pub halt: Option<String>,
    /// Items that passed only on a retry: "#3 `item` (attempt 2)".
    pub flaky: Vec<String>,
    /// Items whose processes outlived them.
    pub leaky: u64,
    /// Reports, still to be finished with the run's figures.
    pub reports: Vec<Report>,
    /// The event stream, still to get `run-finished`.
    pub events: Option<EventWriter>,
}

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sinks")
            .field("reports", &self.reports.len())
            .field("events", &self.events.as_ref().map(EventWriter::name))
            .finish()
    }
}

/// The single owner of the terminal during a run.
pub struct Collector<'a> {
    opts: CollectorOptions<'a>,
    sinks: Sinks,
    cancel: &'a CancelToken,
    progress: Progress,
    out: BufWriter<StdoutSink>,
    stdout_closed: bool,
    report: CollectorReport,
    /// `-k`: finished items waiting for their turn, by ticket.
    reorder: BTreeMap<u64, Box<Finished>>,
    next_ticket: u64,
    /// `-k`: one permit per item in the reorder window, released on emission.
    window: Option<Receiver<()>>,
    /// Streamed output of items whose output is not written live.
    pending: HashMap<u64, Vec<(Stream, Vec<u8>)>>,
    /// Last stderr lines of running jobs whose output is streamed.
    tails: HashMap<u64, VecDeque<String>>,
    /// `--tag` prefixes of running jobs whose lines are written live, with
    /// whether each stream (stdout, stderr) is at the start of a line.
    live_tags: HashMap<u64, (Vec<u8>, [bool; 2])>,
    /// A write of the item being emitted (or of a live line) failed.
    item_lost: bool,
    /// Items some of whose live lines could not be written: never journaled.
    lost: HashSet<u64>,
    /// Succeeded items whose output could not all be written.
    unwritten: u64,
    /// Running jobs (for the plain status line): label and start.
    running: HashMap<u64, (String, Instant)>,
    start: Instant,
}

impl<'a> Collector<'a> {
    /// A collector writing to this process's stdout and stderr.
    pub fn new(
        opts: CollectorOptions<'a>,
        sinks: Sinks,
        cancel: &'a CancelToken,
        progress: Progress,
        window: Option<Receiver<()>>,
    ) -> Collector<'a> {
        // Job output is batched in `out`; what reaches a terminal that the
        // bars are drawn on goes through them (see `StdoutSink`).
        let sink = StdoutSink {
            bars: progress
                .bars_handle()
                .filter(|_| io::stdout().is_terminal()),
            partial: Vec::new(),
        };
        Collector {
            opts,
            sinks,
            cancel,
            progress,
            out: BufWriter::with_capacity(64 * 1024, sink),
            stdout_closed: false,
            report: CollectorReport::default(),
            reorder: BTreeMap::new(),
            next_ticket: 0,
            window,
            pending: HashMap::new(),
            tails: HashMap::new(),
            live_tags: HashMap::new(),
            item_lost: false,
            lost: HashSet::new(),
            unwritten: 0,
            running: HashMap::new(),
            start: Instant::now(),
        }
    }

    /// Consumes events until every sender is gone, then flushes what is left.
    pub fn run(mut self, events: Receiver<Event>) -> CollectorReport {
        // The display changes without events too: elapsed times, the
        // stopping message, the plain status line.
        let tick = !matches!(self.progress, Progress::Off);
        let mut next_tick = Instant::now();
        loop {
            let event = if tick {
                match events.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
                    Ok(event) => Some(event),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match events.recv() {
                    Ok(event) => Some(event),
                    Err(_) => break,
                }
            };
            if let Some(event) = event {
                self.handle(event);
            }
            if tick && Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                let status = self.status();
                let stopping = self.stopping();
                self.progress.tick(|| status, stopping);
            }
            // Batch terminal writes: flush only when no event is waiting.
            if events.is_empty() {
                self.flush();
            }
        }
        // Items whose turn never came (cannot happen with contiguous
        // tickets, but never drop output).
        for (_, finished) in std::mem::take(&mut self.reorder) {
            self.emit(finished);
        }
        self.flush();
        self.progress.finish();
        self.report.halt = self
            .opts
            .halt
            .and_then(HaltState::reason)
            .map(str::to_owned);
        self.report.reports = std::mem::take(&mut self.sinks.reports);
        self.report.events = self.sinks.events.take();
        // Their jobs succeeded, but what they printed is gone: say so where
        // the write error is told, so the "ok" count does not mislead.
        if let (Some(error), n @ 1..) = (self.report.output_error.as_mut(), self.unwritten) {
            let what = if n == 1 { "item" } else { "items" };
            error.push_str(&format!(
                " (the output of {n} {what} that ran was lost; they are not journaled, so \
                 --resume runs them again)"
            ));
        }
        self.report
    }

    fn status(&self) -> progress::Status {
        let longest = self
            .running
            .values()
            .min_by_key(|(_, started)| *started)
            .map(|(label, started)| (label.clone(), started.elapsed()));
        progress::Status {
            done: self.report.counts.seen(),
            total: self.report.total,
            failed: self.report.counts.failures(),
            elapsed: self.start.elapsed(),
            longest,
        }
    }

    /// While the run stops: what it waits for.
    fn stopping(&self) -> Option<String> {
        let jobs = self.running.len();
        let n = |what: &str| format!("{what} {jobs} job{}", if jobs == 1 { "" } else { "s" });
        match self.cancel.state() {
            RunState::Running => None,
            RunState::Draining => Some(format!("finishing: {}", n("waiting for"))),
            RunState::Stopping => Some(format!(
                "stopping: {} (Ctrl-C again to kill)",
                n("waiting for")
            )),
            RunState::Killing => Some(format!("stopping: {}", n("killing"))),
        }
    }

    fn live_lines(&self) -> bool {
        self.opts.output == OutputMode::Line && !self.opts.keep_order
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Total(total) => {
                self.report.total = Some(total);
                if let Some(halt) = self.opts.halt {
                    halt.set_total(total);
                }
                self.progress.set_total(total);
            }
            Event::Skipped(skipped) => self.skipped(*skipped),
            Event::Started {
                ticket,
                seq,
                slot,
                attempt,
                label,
                tag,
            } => {
                if self.sinks.events.is_some() {
                    // The whole item, as `item-finished` names it, and the
                    // label progress shows.
                    let item = tag.as_deref().map(String::from_utf8_lossy);
                    let fields = json!({
                        "seq": seq,
                        "item": item.as_deref().unwrap_or(""),
                        "label": label.as_deref().unwrap_or(""),
                        "slot": slot,
                        "attempt": attempt,
                    });
                    self.event("item-started", fields);
                }
                if let Some(tag) = tag
                    && self.opts.tag
                    && self.live_lines()
                {
                    self.live_tags.insert(ticket, (tag_prefix(&tag), [true; 2]));
                }
                if let Some(label) = label {
                    self.progress.started(slot, &label);
                    self.running.insert(ticket, (label, Instant::now()));
                }
            }
            Event::Output {
                ticket,
                stream,
                bytes,
            } => {
                if stream == Stream::Stderr {
                    let tail = self.tails.entry(ticket).or_default();
                    push_tail(tail, &bytes);
                }
                if self.live_lines() {
                    self.item_lost = false;
                    match self.live_tags.remove(&ticket) {
                        Some((tag, mut at_start)) => {
                            let state = &mut at_start[stream as usize];
                            self.write_chunk(stream, &bytes, Some((&tag, state)));
                            self.live_tags.insert(ticket, (tag, at_start));
                        }
                        None => self.write_chunk(stream, &bytes, None),
                    }
                    if self.item_lost {
                        self.lost.insert(ticket);
                    }
                } else {
                    self.pending
                        .entry(ticket)
                        .or_default()
                        .push((stream, bytes));
                }
            }
            Event::Retrying {
                ticket,
                seq,
                slot,
                attempt,
                outcome,
                duration,
                delay,
            } => {
                if self.sinks.events.is_some() {
                    let fields = merge(
                        json!({ "seq": seq, "attempt": attempt, "duration": duration.as_secs_f64() }),
                        attempt_fields(&outcome),
                    );
                    self.event("attempt-finished", fields);
                    let next =
                        json!({ "seq": seq, "attempt": attempt + 1, "delay": delay.as_secs_f64() });
                    self.event("retry-scheduled", next);
                }
                // The failed attempt's streamed lines stay; its tail goes.
                self.tails.remove(&ticket);
                let label = self.running.remove(&ticket).map(|(label, _)| label);
                self.progress.retrying(slot);
                if let (Some(label), true) = (label, self.progress.is_bars()) {
                    self.progress.println(&format!(
                        "fanout: RETRY `{label}`: attempt {attempt} {}; next in {}",
                        outcome.describe(),
                        format_duration(delay)
                    ));
                }
            }
            Event::Finished(finished) => self.finished(finished),
            Event::Fatal(message) => self.fail(message),
        }
    }

    fn finished(&mut self, mut finished: Box<Finished>) {
        if self.opts.output == OutputMode::Ungroup
            && finished.outcome == (Outcome::Signaled { signal: SIGPIPE })
            && stdout_is_broken()
        {
            // The job wrote straight to our stdout, and its reader is gone:
            // the run ends quietly, as if fanout had written the line itself.
            self.stdout_closed = true;
            self.cancel.broken_pipe();
            finished.outcome = Outcome::Interrupted;
        }
        let outcome = &finished.outcome;
        self.report.counts.add(outcome);
        if finished.leaked {
            self.report.leaky += 1;
        }
        if finished.is_flaky() && self.report.flaky.len() < SHOWN_FAILURES {
            self.report.flaky.push(format!(
                "#{} `{}` (passed on attempt {})",
                finished.item.seq,
                finished.item.label(LABEL_MAX),
                finished.attempts
            ));
        }
        let outcome = &finished.outcome;
        self.running.remove(&finished.ticket);
        self.live_tags.remove(&finished.ticket);
        let failed = outcome.is_failure();
        self.progress.finished(finished.slot, failed);
        let tail = self.tails.remove(&finished.ticket);
        // The summary lists the failures lowest in input order, not the
        // first to finish: a note is kept while it is among those.
        let seq = finished.item.seq;
        let shown = failed
            && (self.report.failures.len() < SHOWN_FAILURES
                || self
                    .report
                    .failures
                    .last()
                    .is_some_and(|last| seq < last.seq));
        let wants_tail = shown || !self.sinks.reports.is_empty() || self.sinks.annotations;
        let stderr_tail: Vec<String> = match (failed && wants_tail, &finished.captured.stderr, tail)
        {
            (false, _, _) => Vec::new(),
            (true, Some(file), _) => file_tail(file),
            (true, None, Some(tail)) => tail.into_iter().collect(),
            (true, None, None) => Vec::new(),
        };
        let tail_for_sinks = stderr_tail.clone();
        if shown {
            let note = FailureNote {
                seq: finished.item.seq,
                label: finished.item.label(LABEL_MAX),
                what: match finished.attempts {
                    0 | 1 => outcome.describe(),
                    n => format!("{} (after {n} attempts)", outcome.describe()),
                },
                command: finished
                    .command
                    .as_deref()
                    .map(|c| crate::item::escaped(c.as_bytes(), COMMAND_MAX)),
                stderr_tail,
            };
            self.note_failure(note);
        }
        self.record(&finished, tail_for_sinks);
        let live_note = (failed && self.progress.is_bars()).then(|| {
            format!(
                "fanout: FAIL #{} `{}`: {}",
                finished.item.seq,
                finished.item.label(LABEL_MAX),
                finished.outcome.describe()
            )
        });
        if self.opts.keep_order {
            // The worker goes on once the item is in the reorder window;
            // it is journaled when its turn comes and its output is written.
            drop(finished.ack.take());
            self.reorder.insert(finished.ticket, finished);
            while let Some(next) = self.reorder.remove(&self.next_ticket) {
                self.next_ticket += 1;
                self.emit(next);
            }
        } else {
            self.emit(finished);
        }
        // After the job's own output, so the note follows what it explains.
        if let Some(line) = live_note {
            self.progress.println(&line);
        }
    }

    /// Keeps `note` if it is among the [`SHOWN_FAILURES`] failures lowest
    /// in input order.
    fn note_failure(&mut self, note: FailureNote) {
        let failures = &mut self.report.failures;
        let at = failures.partition_point(|n| n.seq < note.seq);
        if at < SHOWN_FAILURES {
            failures.insert(at, note);
            failures.truncate(SHOWN_FAILURES);
        }
    }

    /// An item an earlier run finished (`--resume` skipped it): counted and
    /// reported with its journal record, marked as from the earlier run, so
    /// the run's figures and reports cover the whole batch; a recorded
    /// failure stays a failure.
    fn skipped(&mut self, skipped: Skipped) {
        let Skipped { item, mut record } = skipped;
        // Reported as this run's item, with the earlier run's outcome.
        record.seq = item.seq;
        record.item = String::from_utf8_lossy(&item.raw).into_owned();
        record.key.clone_from(&item.key);
        let ok = record.status.is_success();
        self.report.counts.add_earlier(ok);
        self.progress.finished(0, !ok);
        if !ok {
            self.note_failure(FailureNote {
                seq: item.seq,
                label: item.label(LABEL_MAX),
                what: format!("{} (in an earlier run)", record.error),
                command: None,
                stderr_tail: Vec::new(),
            });
        }
        if !ok && self.sinks.annotations {
            let what = format!("{} (in an earlier run)", record.error);
            self.annotate(record.seq, &record.item, &what, &[]);
        }
        if self.sinks.events.is_some() {
            let fields = json!({
                "seq": record.seq,
                "key": record.key,
                "item": record.item,
                "status": record.status,
                "exit_code": record.exit_code,
                "signal": record.signal,
                "error": record.error,
                "attempts": record.attempts,
                "start": record.start,
                "duration": record.duration,
                "from_earlier_run": true,
            });
            self.event("item-skipped", fields);
        }
        if !self.sinks.reports.is_empty() {
            self.write_row(&record);
        }
    }

    /// A GitHub Actions `::error` line for a failed item.
    fn annotate(&mut self, seq: u64, item: &str, what: &str, stderr_tail: &[String]) {
        let mut message = format!("#{seq} {item}: {what}");
        for line in stderr_tail {
            message.push('\n');
            message.push_str(line);
        }
        let title = format!("fanout: item #{seq} failed");
        let line = format!(
            "::error title={}::{}",
            escape_property(&title),
            escape_data(&message)
        );
        let _ = self.progress.suspend(|| writeln!(io::stderr(), "{line}"));
    }

    /// Writes one row to every report; a write error ends the run.
    fn write_row(&mut self, row: &ItemRecord) {
        let mut failed = None;
        for report in &mut self.sinks.reports {
            if let Err(e) = report.record(row) {
                failed = Some(format!("{:#}", anyhow::Error::from(e)));
                break;
            }
        }
        if let Some(message) = failed {
            self.sinks.reports.clear();
            self.fail(message);
        }
    }

    /// Sends one event to `--events`, if on; a write error ends the run.
    fn event(&mut self, name: &str, fields: serde_json::Value) {
        let Some(events) = self.sinks.events.as_mut() else {
            return;
        };
        if let Err(e) = events.emit(name, fields) {
            self.events_failed(&e);
        }
    }

    /// The event stream could not be written: a closed pipe (`--events - |
    /// head`) ends the run quietly, as a closed stdout does; anything else
    /// is run-fatal.
    fn events_failed(&mut self, e: &io::Error) {
        let Some(events) = self.sinks.events.take() else {
            return;
        };
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.cancel.broken_pipe();
        } else {
            self.fail(format!(
                "failed to write events to `{}`: {e}",
                events.name()
            ));
        }
    }

    /// A run-fatal error in one of the sinks: report it once, stop the run.
    fn fail(&mut self, message: String) {
        if self.report.output_error.is_none() {
            self.report.output_error = Some(message);
        }
        self.cancel.fatal(true);
    }

    /// Records a finished item in the reports, the event stream and the CI
    /// annotations (the journal line follows once its output is written).
    fn record(&mut self, finished: &Finished, stderr_tail: Vec<String>) {
        let outcome = &finished.outcome;
        if self.sinks.annotations && outcome.is_failure() {
            let item = String::from_utf8_lossy(&finished.item.raw);
            self.annotate(finished.item.seq, &item, &outcome.describe(), &stderr_tail);
        }
        if self.sinks.reports.is_empty() && self.sinks.events.is_none() {
            return;
        }
        let mut record = ItemRecord::of(finished);
        record.stderr_tail = stderr_tail.join("\n");
        let ran = record.attempts > 0;
        if ran && self.sinks.events.is_some() && record.status != Status::NotStarted {
            let attempt = merge(
                json!({
                    "seq": record.seq,
                    "attempt": record.attempts,
                    "duration": record.attempt_duration,
                }),
                outcome_fields(&record),
            );
            self.event("attempt-finished", attempt);
        }
        if self.sinks.events.is_some() {
            let done = merge(
                json!({
                    "seq": record.seq,
                    "key": record.key,
                    "item": record.item,
                    "attempts": record.attempts,
                    "start": record.start,
                    "duration": record.duration,
                    "attempt_start": record.attempt_start,
                    "attempt_duration": record.attempt_duration,
                    "leaked": record.leaked,
                }),
                outcome_fields(&record),
            );
            self.event("item-finished", done);
        }
        if !self.sinks.reports.is_empty() {
            self.write_row(&record);
        }
    }

    /// Writes an item's output, releases its place in the window, then
    /// journals the item (once the output is flushed) and lets its worker go
    /// on. An item whose output could not all be written is not journaled,
    /// so `--resume` runs it again.
    #[allow(clippy::boxed_local)]
    fn emit(&mut self, mut finished: Box<Finished>) {
        // Boxed because it travels boxed through the channel and the window.
        let ack = finished.ack.take();
        let ticket = finished.ticket;
        let captured = std::mem::take(&mut finished.captured);
        self.item_lost = false;
        self.write_output(ticket, &finished.item.raw, captured);
        if let Some(window) = &self.window {
            let _ = window.try_recv();
        }
        if self.sinks.journal.is_some() {
            if !self.stdout_closed
                && let Err(e) = self.out.flush()
            {
                self.output_failed(Stream::Stdout, e);
            }
            let lost = self.lost.remove(&ticket) || self.item_lost || self.stdout_closed;
            if lost && finished.outcome.is_success() && !finished.journaled {
                self.unwritten += 1;
            }
            if !lost
                && !finished.journaled
                && let Some(journal) = &self.sinks.journal
                && let Err(e) = journal.record(&ItemRecord::of(&finished))
            {
                self.sinks.journal = None;
                self.fail(format!("{:#}", anyhow::Error::from(e)));
            }
        }
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }

    fn write_output(&mut self, ticket: u64, raw: &[u8], captured: Captured) {
        let tag = self.opts.tag.then(|| tag_prefix(raw));
        let tag = tag.as_deref();
        let Captured { stdout, stderr } = captured;
        let chunks = self.pending.remove(&ticket).unwrap_or_default();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let file = if stream == Stream::Stdout {
                &stdout
            } else {
                &stderr
            };
            if let Some(file) = file {
                self.write_file(stream, file, tag);
            }
            let mut at_start = true;
            for (s, bytes) in &chunks {
                if *s == stream {
                    self.write_chunk(stream, bytes, tag.map(|t| (t, &mut at_start)));
                }
            }
        }
    }

    fn write_file(&mut self, stream: Stream, file: &File, tag: Option<&[u8]>) {
        let stream = self.route(stream);
        // An empty capture costs one fstat, not a copy.
        let len = match file.metadata() {
            Ok(meta) if meta.len() == 0 => return,
            Ok(meta) => meta.len(),
            Err(e) => return self.output_failed(stream, e),
        };
        let mut file = file;
        if let Err(e) = file.rewind() {
            return self.output_failed(stream, e);
        }
        let result = if stream == Stream::Stdout {
            if self.stdout_closed {
                return;
            }
            let out = &mut self.out;
            if tag.is_none() && len > KERNEL_COPY_FROM {
                // Large output: let the kernel move it (copy_file_range,
                // splice or sendfile), never through our memory.
                out.flush().and_then(|()| {
                    let sink = out.get_ref();
                    let end = sink.bars.is_some() && ends_mid_line(file, len);
                    sink.around(|| {
                        let mut stdout = io::stdout().lock();
                        io::copy(&mut file, &mut stdout)?;
                        if end {
                            stdout.write_all(b"\n")?;
                        }
                        stdout.flush()
                    })
                })
            } else {
                // Batched; `StdoutSink` moves the bars out of the way when
                // the batch reaches the terminal.
                copy_tagged(file, out, tag)
            }
        } else {
            // Keep stdout and stderr of fanout in the order jobs wrote them.
            let _ = self.out.flush();
            let end = self.progress.is_bars() && ends_mid_line(file, len);
            let mut err = io::stderr().lock();
            self.progress.suspend(|| {
                match tag {
                    None => io::copy(&mut file, &mut err).map(drop),
                    Some(_) => copy_tagged(file, &mut err, tag),
                }?;
                if end {
                    err.write_all(b"\n")?;
                }
                Ok(())
            })
        };
        if let Err(e) = result {
            self.output_failed(stream, e);
        }
    }

    /// Where a job's stream goes: stdout is stderr when events own stdout.
    fn route(&self, stream: Stream) -> Stream {
        if self.sinks.stdout_to_stderr {
            Stream::Stderr
        } else {
            stream
        }
    }

    /// Writes a chunk of streamed output; with a tag, `.1` says whether the
    /// stream is at the start of a line (a long line comes in pieces).
    fn write_chunk(&mut self, stream: Stream, bytes: &[u8], tag: Option<(&[u8], &mut bool)>) {
        let stream = self.route(stream);
        let result = if stream == Stream::Stdout {
            if self.stdout_closed {
                return;
            }
            write_tagged(bytes, &mut self.out, tag)
        } else {
            let _ = self.out.flush();
            // On the bars' terminal an unfinished line would be erased.
            let end = self.progress.is_bars() && bytes.last().is_some_and(|&b| b != b'\n');
            let mut err = io::stderr().lock();
            self.progress.suspend(|| {
                write_tagged(bytes, &mut err, tag)?;
                if end {
                    err.write_all(b"\n")?;
                }
                Ok(())
            })
        };
        if let Err(e) = result {
            self.output_failed(stream, e);
        }
    }

    fn flush(&mut self) {
        if let Some(events) = self.sinks.events.as_mut()
            && let Err(e) = events.flush()
        {
            self.events_failed(&e);
        }
        if self.stdout_closed {
            return;
        }
        if let Err(e) = self.out.flush() {
            self.output_failed(Stream::Stdout, e);
        }
    }

    fn output_failed(&mut self, stream: Stream, e: io::Error) {
        self.item_lost = true;
        if stream == Stream::Stderr {
            // Nowhere left to report it; stdout and the exit code still work.
            return;
        }
        self.stdout_closed = true;
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.cancel.broken_pipe();
        } else if self.report.output_error.is_none() {
            self.report.output_error = Some(format!("failed to write to stdout: {e}"));
            self.cancel.fatal(true);
        }
    }
}

/// fanout's stdout under the collector's batch buffer. When stdout is the
/// terminal the bars are drawn on, every write that reaches it is made with
/// the bars erased first and redrawn after (indicatif's `suspend`), so job
/// output lands above them and the bars never overwrite it. Elsewhere (a
/// pipe, a file) writes go straight through: no redraw per write.
///
/// A line left unfinished on that terminal would be erased by the next
/// redraw (the bars are drawn from the cursor's line), so there the sink
/// writes up to the last newline and holds the rest until more comes or the
/// batch is flushed, which ends it with a newline. Only the screen gets that
/// newline; a pipe or a file gets the bytes exactly.
struct StdoutSink {
    bars: Option<indicatif::MultiProgress>,
    /// The unfinished last line, at the bars' terminal only.
    partial: Vec<u8>,
}

impl StdoutSink {
    /// Runs `f`, which writes to stdout, with the bars out of the way.
    fn around<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bars {
            Some(bars) => bars.suspend(f),
            None => f(),
        }
    }
}

impl Write for StdoutSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bars.is_some() {
            let whole = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
            if whole == 0 && self.partial.len() + buf.len() <= MAX_HELD_LINE {
                self.partial.extend_from_slice(buf);
                return Ok(buf.len());
            }
            let (head, tail) = buf.split_at(whole);
            let held = std::mem::take(&mut self.partial);
            let ended = if whole == 0 { &b"\n"[..] } else { &[] };
            self.around(|| {
                let mut out = io::stdout().lock();
                out.write_all(&held)?;
                out.write_all(if whole == 0 { buf } else { head })?;
                out.write_all(ended)?;
                out.flush()
            })?;
            if whole > 0 {
                self.partial.extend_from_slice(tail);
            }
            return Ok(buf.len());
        }
        let mut out = io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.partial);
        self.around(|| {
            let mut out = io::stdout().lock();
            if !held.is_empty() {
                out.write_all(&held)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        })
    }
}

/// The longest unfinished line [`StdoutSink`] holds back at the terminal;
/// a longer one is written with a line break after this much.
const MAX_HELD_LINE: usize = 64 * 1024;

/// Whether a capture of `len` bytes ends without a newline, so that on the
/// bars' terminal a newline must follow it (see [`StdoutSink`]).
fn ends_mid_line(file: &File, len: u64) -> bool {
    let mut last = [0u8; 1];
    len > 0 && file.read_at(&mut last, len - 1).is_ok_and(|n| n == 1) && last[0] != b'\n'
}

/// Escapes a GitHub Actions workflow-command message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a GitHub Actions workflow-command property (such as `title`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// SIGPIPE's number.
const SIGPIPE: i32 = 13;

/// Whether our stdout is a pipe whose reader has gone away.
fn stdout_is_broken() -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let stdout = io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::OUT)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
}

/// The `--tag` prefix of an item: its text with control characters and
/// invalid UTF-8 escaped (so an item cannot forge lines or send terminal
/// escapes), at full length.
fn tag_prefix(raw: &[u8]) -> Vec<u8> {
    crate::item::escaped(raw, usize::MAX).into_bytes()
}

/// Copies a capture file, prefixing every line with `tag` and a tab if
/// given, in bounded pieces (a line is never held whole).
fn copy_tagged(file: &File, out: &mut dyn Write, tag: Option<&[u8]>) -> io::Result<()> {
    let Some(tag) = tag else {
        let mut file = file;
        io::copy(&mut file, out)?;
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut at_start = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let n = buf.len();
        write_tagged(buf, out, Some((tag, &mut at_start)))?;
        reader.consume(n);
    }
}

/// Writes `bytes`, prefixing every line with `tag` and a tab if given.
/// `bytes` may be a piece of a longer stream: the prefix goes only where a
/// line starts, and the flag carries that state from piece to piece.
fn write_tagged(
    bytes: &[u8],
    out: &mut dyn Write,
    tag: Option<(&[u8], &mut bool)>,
) -> io::Result<()> {
    let Some((tag, at_start)) = tag else {
        return out.write_all(bytes);
    };
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if *at_start {
            out.write_all(tag)?;
            out.write_all(b"\t")?;
        }
        out.write_all(line)?;
        *at_start = line.ends_with(b"\n");
    }
    Ok(())
}

/// The last lines of a capture file, read from its end without moving it.
fn file_tail(file: &File) -> Vec<String> {
    let len = file.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(TAIL_BYTES);
    let mut buf = vec![0u8; (len - from) as usize];
    if file.read_exact_at(&mut buf, from).is_err() {
        return Vec::new();
    }
    let mut tail = VecDeque::new();
    push_tail(&mut tail, &buf);
    tail.into_iter().collect()
}

/// Adds the lines of `bytes` to a bounded tail of non-empty lines.
fn push_tail(tail: &mut VecDeque<String>, bytes: &[u8]) {
    for line in bytes.split(|&b| b == b'\n') {
        let text = crate::item::label(line, TAIL_LINE_MAX);
        if text.trim().is_empty() {
            continue;
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_lines() {
        let mut out = Vec::new();
        let mut at_start = true;
        write_tagged(b"a\nb\nc", &mut out, Some((b"x y", &mut at_start))).unwrap();
        assert_eq!(out, b"x y\ta\nx y\tb\nx y\tc");
        assert!(!at_start);
        // The rest of a line that came in pieces gets no second prefix.
        write_tagged(b"c\nd", &mut out, Some((b"x y", &mut at_start))).unwrap();
        assert_eq!(out, b"x y\ta\nx y\tb\nx y\tcc\nx y\td");
        let mut out = Vec::new();
        write_tagged(b"a\n", &mut out, None).unwrap();
        assert_eq!(out, b"a\n");
    }

    #[test]
    fn tag_prefix_escapes_controls() {
        assert_eq!(tag_prefix(b"a\nb"), b"a\\nb");
        assert_eq!(tag_prefix(b"\x1b]52;c;x\x07"), b"\\u{1b}]52;c;x\\u{7}");
        assert_eq!(tag_prefix(b"n\xe9"), b"n\\xe9");
        assert_eq!(tag_prefix("caf\u{e9}".as_bytes()), "caf\u{e9}".as_bytes());
    }

    #[test]
    fn tail_keeps_last_nonempty_lines() {
        let mut tail = VecDeque::new();
        push_tail(&mut tail, b"1\n2\n\n3\n4\n5\n6\n7\n");
        assert_eq!(Vec::from(tail), vec!["3", "4", "5", "6", "7"]);
    }

    #[test]
    fn tail_of_file() {
        let mut file = tempfile::tempfile().unwrap();
        for i in 0..2000 {
            writeln!(file, "line {i}").unwrap();
        }
        assert_eq!(
            file_tail(&file).last().map(String::as_str),
            Some("line 1999")
        );
        assert_eq!(file_tail(&file).len(), TAIL_LINES);
    }
}
