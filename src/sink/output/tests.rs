//! The output sink driven by synthetic events: no process, no sleep, no
//! terminal. Captures are temporary files holding bytes, the target is a
//! [`Buffer`] (or a recording or failing target), and every event goes
//! through [`Sink::handle`] as the collector would send it.

use std::io::Read;
use std::path::Path;

use crossbeam_channel::{Sender, bounded};

use super::*;
use crate::cancel::CancelToken;
use crate::event::Finished;
use crate::item::Item;
use crate::journal::Header;
use crate::outcome::Outcome;
use crate::sink::{Chunk, JobStarted};

/// A finished item as a worker sends it: ran once and succeeded, with no
/// capture, no ack and not yet journaled, keyed `k{ticket}`.
struct Job {
    finished: Finished,
}

fn job(ticket: u64, raw: &str) -> Job {
    let mut item = Item::plain(ticket + 1, raw);
    item.key = format!("k{ticket}");
    let mut finished = Finished::without_run(ticket, item, Outcome::Success);
    finished.slot = 1;
    finished.attempts = 1;
    Job { finished }
}

impl Job {
    fn stdout(mut self, bytes: &[u8]) -> Job {
        self.finished.captured.stdout = Some(capture(bytes));
        self
    }

    fn stderr(mut self, bytes: &[u8]) -> Job {
        self.finished.captured.stderr = Some(capture(bytes));
        self
    }

    fn ack(mut self, ack: &Sender<()>) -> Job {
        self.finished.ack = Some(ack.clone());
        self
    }

    fn journaled(mut self) -> Job {
        self.finished.journaled = true;
        self
    }

    fn done(self) -> Arc<Done> {
        Arc::new(Done::new(Box::new(self.finished), Vec::new()))
    }
}

/// A capture file holding `bytes`, left positioned at its end as a job
/// leaves it (the sink rewinds).
fn capture(bytes: &[u8]) -> File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn options(mode: OutputMode) -> OutputOptions {
    OutputOptions {
        mode,
        keep_order: false,
        tag: false,
        stdout_to_stderr: false,
        flush_each_item: false,
    }
}

/// The sink and the control the collector would hand it.
struct Run<'a> {
    sink: OutputSink,
    control: Control<'a>,
}

impl<'a> Run<'a> {
    fn new(cancel: &'a CancelToken, sink: OutputSink) -> Run<'a> {
        Run {
            sink,
            control: Control::new(cancel),
        }
    }

    fn send(&mut self, event: &RunEvent<'_>) {
        self.sink.handle(event, &mut self.control);
    }

    fn started(&mut self, ticket: u64, tag: Option<&[u8]>) {
        let job = JobStarted {
            ticket,
            seq: ticket + 1,
            slot: 1,
            attempt: 1,
            label: None,
            tag: tag.map(<[u8]>::to_vec),
            tagstring: None,
        };
        self.send(&RunEvent::Started(&job));
    }

    fn output(&mut self, ticket: u64, stream: Stream, bytes: &[u8]) {
        let chunk = Chunk {
            ticket,
            stream,
            bytes: bytes.to_vec(),
        };
        self.send(&RunEvent::Output(&chunk));
    }

    fn finished(&mut self, done: &Arc<Done>) {
        self.send(&RunEvent::Finished(done));
    }

    /// No event is waiting (the collector lets the sink flush).
    fn idle(&mut self) {
        self.sink.idle(&mut self.control);
    }

    fn input_end(&mut self) {
        self.send(&RunEvent::InputEnd);
    }
}

fn stdout(buffer: &Buffer) -> String {
    String::from_utf8(buffer.stdout.lock().unwrap().clone()).unwrap()
}

fn stderr(buffer: &Buffer) -> String {
    String::from_utf8(buffer.stderr.lock().unwrap().clone()).unwrap()
}

/// A target that records, in the order the target receives them, what
/// goes to each stream (adjacent writes to one stream joined).
#[derive(Clone, Default)]
struct Recording {
    writes: Arc<std::sync::Mutex<Vec<(Stream, String)>>>,
}

impl Recording {
    fn push(&self, stream: Stream, bytes: &[u8]) {
        let mut writes = self.writes.lock().unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        match writes.last_mut() {
            Some((last, joined)) if *last == stream => joined.push_str(&text),
            _ => writes.push((stream, text)),
        }
    }

    fn writes(&self) -> Vec<(Stream, String)> {
        self.writes.lock().unwrap().clone()
    }
}

impl Write for Recording {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(Stream::Stdout, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Target for Recording {
    fn stdout_file(&mut self, file: &File, _len: u64) -> io::Result<()> {
        let mut bytes = Vec::new();
        (&mut &*file).read_to_end(&mut bytes)?;
        self.push(Stream::Stdout, &bytes);
        Ok(())
    }

    fn stderr_file(&mut self, file: &File, _len: u64, tag: Option<&[u8]>) -> io::Result<()> {
        let mut bytes = Vec::new();
        copy_tagged(file, &mut bytes, tag)?;
        self.push(Stream::Stderr, &bytes);
        Ok(())
    }

    fn stderr_chunk(&mut self, bytes: &[u8], tag: Option<(&[u8], &mut bool)>) -> io::Result<()> {
        let mut tagged = Vec::new();
        write_tagged(bytes, &mut tagged, tag)?;
        self.push(Stream::Stderr, &tagged);
        Ok(())
    }
}

/// A target whose stdout always fails (a full disk); stderr is accepted.
struct Failing;

impl Write for Failing {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Target for Failing {
    fn stdout_file(&mut self, _file: &File, _len: u64) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }

    fn stderr_file(&mut self, _file: &File, _len: u64, _tag: Option<&[u8]>) -> io::Result<()> {
        Ok(())
    }

    fn stderr_chunk(&mut self, _bytes: &[u8], _tag: Option<(&[u8], &mut bool)>) -> io::Result<()> {
        Ok(())
    }
}

fn journal(dir: &Path) -> Arc<Journal> {
    let header = Header::example();
    Arc::new(Journal::open(&dir.join("journal.jsonl"), &header).unwrap())
}

/// The keys of the items the journal records, in order.
fn journaled_keys(journal: &Journal) -> Vec<String> {
    std::fs::read_to_string(journal.path())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["type"] == "item")
        .map(|line| line["key"].as_str().unwrap().to_owned())
        .collect()
}

// Group mode.

#[test]
fn group_writes_each_items_stdout_then_stderr_whole() {
    let cancel = CancelToken::new().unwrap();
    let target = Recording::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(target.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(b"a1\na2\n").stderr(b"ae\n").done());
    run.finished(&job(1, "b").stdout(b"b1\n").stderr(b"be1\nbe2\n").done());
    run.finished(&job(2, "c").stdout(b"c1\n").done());
    run.input_end();
    assert_eq!(
        target.writes(),
        [
            (Stream::Stdout, "a1\na2\n".to_owned()),
            (Stream::Stderr, "ae\n".to_owned()),
            (Stream::Stdout, "b1\n".to_owned()),
            (Stream::Stderr, "be1\nbe2\n".to_owned()),
            (Stream::Stdout, "c1\n".to_owned()),
        ]
    );
    assert_eq!(run.control.error(), None);
}

#[test]
fn group_writes_stdout_and_stderr_to_their_buffers() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(buffer.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(b"out a\n").stderr(b"err a\n").done());
    run.finished(&job(1, "b").stderr(b"err b\n").done());
    run.finished(&job(2, "c").stdout(b"out c\n").done());
    // Nothing captured at all, or empty captures: nothing written.
    run.finished(&job(3, "d").done());
    run.finished(&job(4, "e").stdout(b"").stderr(b"").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "out a\nout c\n");
    assert_eq!(stderr(&buffer), "err a\nerr b\n");
}

#[test]
fn group_writes_a_large_capture_whole() {
    // Larger than the batch buffer: the kernel-copy path of the target.
    let big: Vec<u8> = (0..200_000u32)
        .map(|i| if i % 100 == 99 { b'\n' } else { b'x' })
        .collect();
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(buffer.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "small").stdout(b"first\n").done());
    run.finished(&job(1, "big").stdout(&big).done());
    run.finished(&job(2, "small").stdout(b"last\n").done());
    run.input_end();
    let mut want = b"first\n".to_vec();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"last\n");
    assert!(*buffer.stdout.lock().unwrap() == want);
}

#[test]
fn stdout_to_stderr_routes_job_stdout_to_stderr() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        stdout_to_stderr: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(b"out a\n").stderr(b"err a\n").done());
    run.finished(&job(1, "b").stdout(b"out b\n").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "");
    assert_eq!(stderr(&buffer), "out a\nerr a\nout b\n");

    // Streamed lines too.
    let buffer = Buffer::default();
    let opts = OutputOptions {
        stdout_to_stderr: true,
        ..options(OutputMode::Line)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.started(0, None);
    run.output(0, Stream::Stdout, b"line\n");
    run.idle();
    run.finished(&job(0, "a").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "");
    assert_eq!(stderr(&buffer), "line\n");
}

// `-k`.

#[test]
fn keep_order_writes_in_ticket_order() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        keep_order: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(2, "c").stdout(b"c\n").stderr(b"ec\n").done());
    run.idle();
    assert_eq!(stdout(&buffer), "", "ticket 2 waits for 0 and 1");
    run.finished(&job(0, "a").stdout(b"a\n").stderr(b"ea\n").done());
    run.idle();
    assert_eq!(
        stdout(&buffer),
        "a\n",
        "ticket 0 goes out; 2 still waits for 1"
    );
    assert_eq!(stderr(&buffer), "ea\n");
    run.finished(&job(1, "b").stdout(b"b\n").done());
    run.idle();
    assert_eq!(stdout(&buffer), "a\nb\nc\n");
    assert_eq!(stderr(&buffer), "ea\nec\n");
    run.input_end();
    assert_eq!(stdout(&buffer), "a\nb\nc\n");
}

#[test]
fn keep_order_releases_the_ack_when_an_item_enters_the_window() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        keep_order: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    let (ack, acked) = bounded(1);
    run.finished(&job(1, "b").stdout(b"b\n").ack(&ack).done());
    run.idle();
    assert!(acked.try_recv().is_ok(), "released before its turn");
    assert_eq!(stdout(&buffer), "", "but not yet written");
    run.finished(&job(0, "a").stdout(b"a\n").ack(&ack).done());
    assert!(acked.try_recv().is_ok());
    run.input_end();
    assert_eq!(stdout(&buffer), "a\nb\n");
}

#[test]
fn keep_order_consumes_one_window_permit_per_emitted_item() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        keep_order: true,
        ..options(OutputMode::Group)
    };
    // The dispatcher takes a place in the window before it sends an item.
    let (permit, window) = bounded(3);
    for _ in 0..3 {
        permit.send(()).unwrap();
    }
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, Some(window.clone()));
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(2, "c").stdout(b"c\n").done());
    assert_eq!(window.len(), 3, "waiting items keep their places");
    run.finished(&job(0, "a").stdout(b"a\n").done());
    assert_eq!(window.len(), 2);
    run.finished(&job(1, "b").stdout(b"b\n").done());
    assert_eq!(window.len(), 0, "1 and 2 went out");
    run.input_end();
    assert_eq!(stdout(&buffer), "a\nb\nc\n");
}

#[test]
fn keep_order_leaves_nothing_unwritten_at_input_end() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        keep_order: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    // Ticket 0 never finishes: the items after it are written anyway, in
    // ticket order, when every event is in.
    run.finished(&job(3, "d").stdout(b"d\n").done());
    run.finished(&job(1, "b").stdout(b"b\n").stderr(b"eb\n").done());
    run.idle();
    assert_eq!(stdout(&buffer), "");
    run.input_end();
    assert_eq!(stdout(&buffer), "b\nd\n");
    assert_eq!(stderr(&buffer), "eb\n");
}

#[test]
fn input_end_flushes_batched_output() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(buffer.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(b"a\n").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "a\n");
}

// `--tag`.

#[test]
fn tag_prefixes_every_line_with_the_escaped_item() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a b").stdout(b"1\n2\n").stderr(b"e\n").done());
    // A tab and an escape in the item cannot forge columns or reach the
    // terminal raw.
    run.finished(&job(1, "x\ty\x1b").stdout(b"3\n").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "a b\t1\na b\t2\nx\\ty\\u{1b}\t3\n");
    assert_eq!(stderr(&buffer), "a b\te\n");
}

#[test]
fn tag_prefixes_a_capture_without_a_final_newline() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(b"1\n2").stderr(b"e").done());
    run.finished(&job(1, "b").stdout(b"3").done());
    run.input_end();
    // The bytes are kept exactly: no newline is added.
    assert_eq!(stdout(&buffer), "a\t1\na\t2b\t3");
    assert_eq!(stderr(&buffer), "a\te");
}

#[test]
fn tag_prefixes_a_long_capture_line_once() {
    // Longer than the piece the capture is read in.
    let long = "y".repeat(200_000);
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    let text = format!("{long}\nz\n");
    run.finished(&job(0, "a").stdout(text.as_bytes()).done());
    run.input_end();
    assert_eq!(stdout(&buffer), format!("a\t{long}\na\tz\n"));
}

#[test]
fn tag_prefixes_a_streamed_line_that_arrives_in_pieces_once() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        ..options(OutputMode::Line)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.started(0, Some(b"a"));
    run.output(0, Stream::Stdout, b"lo");
    run.output(0, Stream::Stdout, b"ng\nne");
    run.output(0, Stream::Stdout, b"xt\n");
    run.output(0, Stream::Stdout, b"last");
    run.finished(&job(0, "a").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "a\tlong\na\tnext\na\tlast");
}

#[test]
fn tag_with_keep_order_prefixes_held_streamed_lines() {
    // `-k` with line mode holds the lines until the item's turn.
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        keep_order: true,
        ..options(OutputMode::Line)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.started(1, Some(b"b"));
    run.started(0, Some(b"a"));
    run.output(1, Stream::Stdout, b"b1\nb");
    run.output(1, Stream::Stdout, b"2\n");
    run.output(1, Stream::Stderr, b"eb\n");
    run.output(0, Stream::Stdout, b"a1\n");
    run.finished(&job(1, "b").done());
    run.idle();
    assert_eq!(stdout(&buffer), "", "held until ticket 0 is written");
    run.finished(&job(0, "a").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "a\ta1\nb\tb1\nb\tb2\n");
    assert_eq!(stderr(&buffer), "b\teb\n");
}

// Line mode.

#[test]
fn line_mode_ends_a_jobs_unended_line_before_another_jobs_line() {
    // At the bars' terminal the target holds an unended line until a
    // flush, which ends it: another job's line must not be glued to it.
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer {
        mark_flushes: true,
        ..Buffer::default()
    };
    let sink = OutputSink::new(
        options(OutputMode::Line),
        Box::new(buffer.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.output(0, Stream::Stdout, b"OUT-1");
    run.output(0, Stream::Stdout, b" more");
    run.output(1, Stream::Stdout, b"OUT-2\n");
    run.output(2, Stream::Stdout, b"OUT-3\n");
    run.idle();
    assert_eq!(stdout(&buffer), "OUT-1 more|OUT-2\nOUT-3\n|");
}

#[test]
fn line_mode_writes_lines_live_tagged_per_stream() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        tag: true,
        ..options(OutputMode::Line)
    };
    let sink = OutputSink::new(opts, Box::new(buffer.clone()), None, None);
    let mut run = Run::new(&cancel, sink);
    run.started(0, Some(b"a"));
    run.started(1, Some(b"b"));
    run.output(0, Stream::Stdout, b"a1\n");
    run.idle();
    assert_eq!(
        stdout(&buffer),
        "a\ta1\n",
        "written before the item finished"
    );
    run.output(1, Stream::Stdout, b"b1\n");
    // A stream's line state is its own: stdout is mid-line, stderr is not.
    run.output(0, Stream::Stdout, b"a2");
    run.output(0, Stream::Stderr, b"ae\n");
    run.idle();
    assert_eq!(stdout(&buffer), "a\ta1\nb\tb1\na\ta2");
    assert_eq!(stderr(&buffer), "a\tae\n");
    run.output(0, Stream::Stdout, b" end\n");
    run.finished(&job(0, "a").done());
    run.output(1, Stream::Stderr, b"be\n");
    run.finished(&job(1, "b").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "a\ta1\nb\tb1\na\ta2 end\n");
    assert_eq!(stderr(&buffer), "a\tae\nb\tbe\n");
}

#[test]
fn line_mode_without_tag_writes_lines_as_they_come() {
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Line),
        Box::new(buffer.clone()),
        None,
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.started(0, None);
    run.started(1, None);
    run.output(1, Stream::Stdout, b"b1\n");
    run.output(0, Stream::Stdout, b"a1\n");
    run.output(0, Stream::Stderr, b"ae\n");
    run.idle();
    assert_eq!(stdout(&buffer), "b1\na1\n");
    assert_eq!(stderr(&buffer), "ae\n");
    run.finished(&job(0, "a").done());
    run.finished(&job(1, "b").done());
    run.input_end();
    assert_eq!(stdout(&buffer), "b1\na1\n");
}

// The journal.

#[test]
fn an_item_is_journaled_once_its_output_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(dir.path());
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(buffer.clone()),
        Some(Arc::clone(&journal)),
        None,
    );
    let mut run = Run::new(&cancel, sink);
    let (ack, acked) = bounded(1);
    run.finished(&job(0, "a").stdout(b"a\n").ack(&ack).done());
    // No idle: the sink flushed the output itself before journaling.
    assert_eq!(stdout(&buffer), "a\n");
    assert_eq!(journaled_keys(&journal), ["k0"]);
    assert!(acked.try_recv().is_ok(), "the worker goes on");
    run.finished(&job(1, "b").stderr(b"eb\n").done());
    assert_eq!(stderr(&buffer), "eb\n");
    assert_eq!(journaled_keys(&journal), ["k0", "k1"]);
    run.input_end();
    assert_eq!(run.control.error(), None);
}

#[test]
fn keep_order_journals_an_item_at_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(dir.path());
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let opts = OutputOptions {
        keep_order: true,
        ..options(OutputMode::Group)
    };
    let sink = OutputSink::new(
        opts,
        Box::new(buffer.clone()),
        Some(Arc::clone(&journal)),
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(1, "b").stdout(b"b\n").done());
    assert!(journaled_keys(&journal).is_empty(), "not written yet");
    run.finished(&job(0, "a").stdout(b"a\n").done());
    assert_eq!(stdout(&buffer), "a\nb\n");
    assert_eq!(journaled_keys(&journal), ["k0", "k1"]);
}

#[test]
fn an_item_the_worker_journaled_is_not_journaled_again() {
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(dir.path());
    let cancel = CancelToken::new().unwrap();
    let buffer = Buffer::default();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(buffer.clone()),
        Some(Arc::clone(&journal)),
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").journaled().done());
    run.finished(&job(1, "b").stdout(b"b\n").done());
    run.input_end();
    assert_eq!(journaled_keys(&journal), ["k1"]);
}

#[test]
fn an_item_whose_output_write_failed_is_not_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(dir.path());
    let cancel = CancelToken::new().unwrap();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(Failing),
        Some(Arc::clone(&journal)),
        None,
    );
    let mut run = Run::new(&cancel, sink);
    let (ack, acked) = bounded(1);
    run.finished(&job(0, "a").stdout(b"a\n").ack(&ack).done());
    assert!(journaled_keys(&journal).is_empty());
    assert!(acked.try_recv().is_ok(), "the worker is released anyway");
    let error = run.control.error().unwrap().to_owned();
    assert!(
        error.starts_with("failed to write to stdout: disk full"),
        "{error}"
    );
    assert_eq!(cancel.reason(), Some(crate::cancel::StopReason::Fatal));
    // Stdout is closed from now on: later items are not journaled either,
    // and the error says how many items' output was lost.
    run.finished(&job(1, "b").stdout(b"b\n").done());
    run.input_end();
    assert!(journaled_keys(&journal).is_empty());
    let error = run.control.error().unwrap();
    assert_eq!(
        error,
        "failed to write to stdout: disk full (the output of 2 items that ran was lost; \
         they are not journaled, so --resume runs them again)"
    );
}

#[test]
fn a_large_capture_that_fails_to_copy_is_not_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(dir.path());
    let cancel = CancelToken::new().unwrap();
    let sink = OutputSink::new(
        options(OutputMode::Group),
        Box::new(Failing),
        Some(Arc::clone(&journal)),
        None,
    );
    let mut run = Run::new(&cancel, sink);
    run.finished(&job(0, "a").stdout(&vec![b'x'; 100_000]).done());
    run.input_end();
    assert!(journaled_keys(&journal).is_empty());
    let error = run.control.error().unwrap();
    assert!(
        error.starts_with("failed to write to stdout: disk full (the output of 1 item "),
        "{error}"
    );
}
