//! Job output: each finished item's captured output written whole
//! (`--output group`), streamed lines written as they come (`line`), or
//! nothing (`ungroup`: jobs write straight to fanout's stdout). With `-k`
//! items wait in a bounded window until their turn; with `--tag` every line
//! starts with its item. Once an item's output is written and flushed the
//! sink journals it and lets its worker go on: a result never reaches the
//! journal before its output, and an item whose output could not all be
//! written is not journaled, so `--resume` runs it again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::sync::Arc;

use crossbeam_channel::Receiver;

use crate::event::{JobPart, Stream};
use crate::journal::Journal;
use crate::outcome::Captured;
use crate::sink::{Control, Done, RunEvent, Sink};
use crate::template::text::TextTemplate;

mod tagged;
mod target;

pub use tagged::tag_prefix;
#[cfg(test)]
pub use target::Buffer;
pub use target::{Discard, StdStreams, Target};

use tagged::{copy_tagged, write_tagged};

/// How job output is written (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Each job's stdout, then stderr, written whole when it ends.
    Group,
    /// Whole lines, jobs interleaved, as they are written.
    Line,
    /// Raw: jobs write straight to fanout's stdout and stderr.
    Ungroup,
}

/// Captured output larger than this is copied by the kernel, not through
/// the batch buffer (smaller ones are batched with other jobs' output).
const KERNEL_COPY_FROM: u64 = 64 * 1024;

/// How the output sink writes.
#[derive(Debug, Clone, Copy)]
pub struct OutputOptions {
    /// The effective output mode.
    pub mode: OutputMode,
    /// `-k`: write in dispatch order.
    pub keep_order: bool,
    /// `--tag`.
    pub tag: bool,
    /// Job stdout goes to stderr (`--events -` owns stdout).
    pub stdout_to_stderr: bool,
    /// Flush stdout after each item's output, so what the next sinks write
    /// to stdout about it (`--joblog -`) comes after it.
    pub flush_each_item: bool,
}

/// The sink that writes job output, then journals.
pub struct OutputSink {
    opts: OutputOptions,
    out: BufWriter<Box<dyn Target>>,
    stdout_closed: bool,
    journal: Option<Arc<Journal>>,
    /// `-k`: one permit per item in the reorder window, released on emission.
    window: Option<Receiver<()>>,
    /// `-k`: finished items waiting for their turn, by ticket.
    reorder: BTreeMap<u64, Arc<Done>>,
    next_ticket: u64,
    /// Streamed output of items whose output is not written live.
    pending: HashMap<u64, Vec<(Stream, Vec<u8>)>>,
    /// `--tag` prefixes of running jobs whose lines are written live, with
    /// whether each stream (stdout, stderr) is at the start of a line.
    live_tags: HashMap<u64, (Vec<u8>, [bool; 2])>,
    /// A write of the item being emitted (or of a live line) failed.
    item_lost: bool,
    /// Items some of whose live lines could not be written: never journaled.
    lost: HashSet<u64>,
    /// Succeeded items whose output could not all be written.
    unwritten: u64,
    /// `--output line`: the job whose last line on stdout (0) or stderr (1)
    /// has no newline yet.
    unended: [Option<u64>; 2],
    /// The output of the job being emitted (its first item) was lost: so
    /// was its other items' (`-n`, `-X`), which follow it at once.
    job_lost: bool,
    /// `--tagstring`: the prefix, rendered per item, instead of the item.
    tagstring: Option<TextTemplate>,
}

impl OutputSink {
    pub fn new(
        opts: OutputOptions,
        target: Box<dyn Target>,
        journal: Option<Arc<Journal>>,
        window: Option<Receiver<()>>,
    ) -> OutputSink {
        OutputSink {
            opts,
            out: BufWriter::with_capacity(64 * 1024, target),
            stdout_closed: false,
            journal,
            window,
            reorder: BTreeMap::new(),
            next_ticket: 0,
            pending: HashMap::new(),
            live_tags: HashMap::new(),
            item_lost: false,
            lost: HashSet::new(),
            unwritten: 0,
            job_lost: false,
            unended: [None; 2],
            tagstring: None,
        }
    }

    /// Tags lines with `--tagstring` (rendered per item) instead of the item.
    pub fn with_tagstring(mut self, tagstring: Option<TextTemplate>) -> OutputSink {
        self.tagstring = tagstring;
        self
    }

    fn live_lines(&self) -> bool {
        self.opts.mode == OutputMode::Line && !self.opts.keep_order
    }

    fn finished(&mut self, done: &Arc<Done>, control: &mut Control<'_>) {
        let ticket = done.finished.ticket;
        self.live_tags.remove(&ticket);
        if self.opts.keep_order {
            // The worker goes on once the item is in the reorder window;
            // it is journaled when its turn comes and its output is written.
            release(done);
            self.reorder.insert(ticket, Arc::clone(done));
            while let Some(next) = self.reorder.remove(&self.next_ticket) {
                self.next_ticket += 1;
                self.emit(&next, control);
                control.written(next);
            }
        } else {
            self.emit(done, control);
            release(done);
            control.written(Arc::clone(done));
        }
    }

    /// Writes an item's output, releases its place in the window, then
    /// journals the item once the output is flushed.
    fn emit(&mut self, done: &Done, control: &mut Control<'_>) {
        let finished = &done.finished;
        let ticket = finished.ticket;
        let member = matches!(finished.job, Some(JobPart::Member { .. }));
        self.item_lost = false;
        if !member {
            let tag = self.opts.tag.then(|| match &self.tagstring {
                Some(tagstring) => tag_prefix(&tagstring.render_job(
                    &finished.item,
                    finished.tag.as_deref(),
                    finished.job.map(|part| part.seq()),
                    finished.slot,
                )),
                None => tag_prefix(finished.tag.as_deref().unwrap_or(&finished.item.raw)),
            });
            self.write_output(ticket, tag.as_deref(), &finished.captured, control);
            // A job holds one place in the window, however many items it has.
            if let Some(window) = &self.window {
                let _ = window.try_recv();
            }
        }
        if (finished.outcome.is_failure() || self.opts.flush_each_item) && !member {
            // The failure's note, printed next by the progress sink, follows
            // the output it explains (and so does a `--joblog -` row).
            self.flush(control);
        }
        if self.journal.is_none() {
            return;
        }
        if !member
            && !self.stdout_closed
            && let Err(e) = self.out.flush()
        {
            self.output_failed(Stream::Stdout, e, control);
        }
        let lost = if member {
            self.job_lost || self.stdout_closed
        } else {
            let lost = self.lost.remove(&ticket) || self.item_lost || self.stdout_closed;
            self.job_lost = lost;
            lost
        };
        if lost && finished.outcome.is_success() && !finished.journaled {
            self.unwritten += 1;
        }
        if !lost
            && !finished.journaled
            && let Some(journal) = &self.journal
            && let Err(e) = journal.record(done.record())
        {
            self.journal = None;
            control.fail(format!("{:#}", anyhow::Error::from(e)));
        }
    }

    fn write_output(
        &mut self,
        ticket: u64,
        tag: Option<&[u8]>,
        captured: &Captured,
        control: &mut Control<'_>,
    ) {
        let chunks = self.pending.remove(&ticket).unwrap_or_default();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let file = match stream {
                Stream::Stdout => &captured.stdout,
                Stream::Stderr => &captured.stderr,
            };
            if let Some(file) = file {
                self.write_file(stream, file, tag, control);
            }
            let mut at_start = true;
            for (s, bytes) in &chunks {
                if *s == stream {
                    self.write_chunk(stream, bytes, tag.map(|t| (t, &mut at_start)), control);
                }
            }
        }
    }

    fn write_file(
        &mut self,
        stream: Stream,
        file: &File,
        tag: Option<&[u8]>,
        control: &mut Control<'_>,
    ) {
        let stream = self.route(stream);
        // An empty capture costs one fstat, not a copy.
        let len = match file.metadata() {
            Ok(meta) if meta.len() == 0 => return,
            Ok(meta) => meta.len(),
            Err(e) => return self.output_failed(stream, e, control),
        };
        if let Err(e) = (&mut &*file).rewind() {
            return self.output_failed(stream, e, control);
        }
        let result = match stream {
            Stream::Stdout if self.stdout_closed => return,
            Stream::Stdout if tag.is_none() && len > KERNEL_COPY_FROM => {
                let out = &mut self.out;
                out.flush()
                    .and_then(|()| out.get_mut().stdout_file(file, len))
            }
            Stream::Stdout => copy_tagged(file, &mut self.out, tag),
            Stream::Stderr => {
                // Keep stdout and stderr of fanout in the order jobs wrote them.
                let _ = self.out.flush();
                self.out.get_mut().stderr_file(file, len, tag)
            }
        };
        if let Err(e) = result {
            self.output_failed(stream, e, control);
        }
    }

    /// Where a job's stream goes: stdout is stderr when events own stdout.
    fn route(&self, stream: Stream) -> Stream {
        if self.opts.stdout_to_stderr {
            Stream::Stderr
        } else {
            stream
        }
    }

    /// Writes a chunk of streamed output; with a tag, `.1` says whether the
    /// stream is at the start of a line (a long line comes in pieces).
    fn write_chunk(
        &mut self,
        stream: Stream,
        bytes: &[u8],
        tag: Option<(&[u8], &mut bool)>,
        control: &mut Control<'_>,
    ) {
        let stream = self.route(stream);
        let result = match stream {
            Stream::Stdout if self.stdout_closed => return,
            Stream::Stdout => write_tagged(bytes, &mut self.out, tag),
            Stream::Stderr => {
                let _ = self.out.flush();
                self.out.get_mut().stderr_chunk(bytes, tag)
            }
        };
        if let Err(e) = result {
            self.output_failed(stream, e, control);
        }
    }

    fn live_chunk(&mut self, ticket: u64, stream: Stream, bytes: &[u8], control: &mut Control<'_>) {
        self.item_lost = false;
        // Another job's line must not continue one this job left unended:
        // flushing ends it (on the bars' terminal only; a pipe gets the
        // bytes exactly).
        let unended = &mut self.unended[stream as usize];
        if unended.is_some_and(|other| other != ticket) {
            *unended = None;
            self.flush(control);
        }
        self.unended[stream as usize] =
            (bytes.last().is_some_and(|&b| b != b'\n')).then_some(ticket);
        match self.live_tags.remove(&ticket) {
            Some((tag, mut at_start)) => {
                let state = &mut at_start[stream as usize];
                self.write_chunk(stream, bytes, Some((&tag, state)), control);
                self.live_tags.insert(ticket, (tag, at_start));
            }
            None => self.write_chunk(stream, bytes, None, control),
        }
        if self.item_lost {
            self.lost.insert(ticket);
        }
    }

    fn flush(&mut self, control: &mut Control<'_>) {
        if self.stdout_closed {
            return;
        }
        if let Err(e) = self.out.flush() {
            self.output_failed(Stream::Stdout, e, control);
        }
    }

    fn output_failed(&mut self, stream: Stream, e: io::Error, control: &mut Control<'_>) {
        self.item_lost = true;
        if stream == Stream::Stderr {
            // Nowhere left to report it; stdout and the exit code still work.
            return;
        }
        self.stdout_closed = true;
        if e.kind() == io::ErrorKind::BrokenPipe {
            control.broken_pipe();
        } else if control.error().is_none() {
            control.fail(format!("failed to write to stdout: {e}"));
        }
    }

    /// Every event is in: write what is left and say what was lost.
    fn input_end(&mut self, control: &mut Control<'_>) {
        // Items whose turn never came (cannot happen with contiguous
        // tickets, but never drop output).
        for (_, done) in std::mem::take(&mut self.reorder) {
            self.emit(&done, control);
            control.written(done);
        }
        self.flush(control);
        // Their jobs succeeded, but what they printed is gone: say so where
        // the write error is told, so the "ok" count does not mislead.
        if let (Some(error), n @ 1..) = (control.error_mut(), self.unwritten) {
            let what = if n == 1 { "item" } else { "items" };
            error.push_str(&format!(
                " (the output of {n} {what} that ran was lost; they are not journaled, so \
                 --resume runs them again)"
            ));
        }
    }
}

/// Lets the worker that ran the item take another (it waits until its
/// item is written and journaled, or taken into the `-k` window).
fn release(done: &Done) {
    if let Some(ack) = &done.finished.ack {
        let _ = ack.try_send(());
    }
}

impl Sink for OutputSink {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        match event {
            RunEvent::Started(job) => {
                if let Some(tag) = job.tagstring.as_ref().or(job.tag.as_ref())
                    && self.opts.tag
                    && self.live_lines()
                {
                    self.live_tags
                        .insert(job.ticket, (tag_prefix(tag), [true; 2]));
                }
            }
            RunEvent::Output(chunk) => {
                if self.live_lines() {
                    self.live_chunk(chunk.ticket, chunk.stream, &chunk.bytes, control);
                } else {
                    self.pending
                        .entry(chunk.ticket)
                        .or_default()
                        .push((chunk.stream, chunk.bytes.clone()));
                }
            }
            RunEvent::StdoutGone => self.stdout_closed = true,
            RunEvent::Finished(done) => self.finished(done, control),
            RunEvent::InputEnd => self.input_end(control),
            _ => {}
        }
    }

    fn idle(&mut self, control: &mut Control<'_>) {
        self.flush(control);
    }
}

/// Whether our stdout is a pipe whose reader has gone away.
pub fn stdout_is_broken() -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let stdout = io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::OUT)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
}

#[cfg(test)]
mod tests;
