//! Wiring only: configuration → input reader → template → engine and
//! collector threads → summary → exit code. Each piece lives in its module;
//! this file decides how they are connected for one run.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use anyhow::Context;
use clap::CommandFactory;
use crossbeam_channel::bounded;

use crate::cancel::{CancelToken, CancellableRead, StopReason};
use crate::cli::{Args, OutputMode, Sub};
use crate::collector::{Collector, CollectorOptions, CollectorReport, Sinks};
use crate::config::{Config, JournalChoice, ProgressMode, Source};
use crate::dispatch::{self, InputEnd, Reading, retry_timer};
use crate::engine::{self, Work};
use crate::event::Event;
use crate::exit;
use crate::halt::HaltState;
use crate::input::{self, Reader};
use crate::item::ItemData;
use crate::job::{Capture, FakeRunner, JobTable, ProcessRunner, Runner, SpawnOptions, Terminal};
use crate::journal;
use crate::resume::{self, Records};
use crate::signal::{self, SignalKind};
use crate::sink::progress::{Progress, Screen};
use crate::sink::report::{EarlierCounts, RunInfo};
use crate::sink::summary::Summary;
use crate::template::{Schema, Template};

/// How fanout ends: an exit code, or, for a run interrupted by a signal, that
/// signal (see [`crate::signal::die_by`]: re-raised at a terminal once
/// everything is written, exit status 130 or 143 elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code (128 + signal for a signal death that did not happen).
    pub code: u8,
    /// The signal to die by.
    pub signal: Option<i32>,
}

impl Exit {
    /// A plain exit code.
    pub fn code(code: u8) -> Exit {
        Exit { code, signal: None }
    }

    /// Death by `signal` (SIGHUP: by SIGTERM, see [`signal::death_signal`]).
    pub fn signal(signal: i32) -> Exit {
        let signal = signal::death_signal(signal);
        Exit {
            code: exit::for_signal(signal),
            signal: Some(signal),
        }
    }
}

/// Runs fanout with parsed arguments and says how to end.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    if let Some(sub) = args.subcommand {
        return subcommand(sub).map(Exit::code);
    }
    let config = Config::from_args(args)?;
    raise_fd_limit();
    let cancel = CancelToken::new().context("failed to set up cancellation")?;
    let table = Arc::new(JobTable::new(config.jobs));
    let screen = Arc::new(Screen::default());
    let _signals = signal::install(SignalKind::Standard, &cancel, &table, &screen)?;
    let reader = open_reader(&config, &cancel)?;
    for warning in reader.warnings() {
        crate::errln!("fanout: warning: {warning}");
    }
    let schema = Schema {
        format: config.format,
        headers: reader.headers(),
        colsep: config.colsep.is_some(),
    };
    let template = Template::parse(&config.command, config.force_shell, &schema)
        .with_context(|| format!("in the command template `{}`", source_text(&config)))?;
    if config.dry_run {
        let gate = resume::dry_run_gate(&config, &template, &schema)?;
        return dry_run(&config, &template, gate, reader, &cancel);
    }
    let argv: Vec<OsString> = std::env::args_os().collect();
    let records = resume::prepare(&config, &template, &schema, &argv)?;
    execute(
        &config,
        &template,
        reader,
        &cancel,
        Running {
            table: &table,
            screen: &screen,
        },
        records,
        &argv,
    )
}

fn source_text(config: &Config) -> String {
    config
        .command
        .iter()
        .map(|w| w.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an error is a closed stdout, which ends a run quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn subcommand(sub: Sub) -> anyhow::Result<u8> {
    let mut stdout = io::stdout().lock();
    match sub {
        Sub::Completions { shell } => {
            clap_complete::generate(shell, &mut Args::command(), "fanout", &mut stdout);
        }
        Sub::Man => {
            clap_mangen::Man::new(Args::command())
                .render(&mut stdout)
                .context("failed to write the man page")?;
        }
    }
    stdout.flush().context("failed to write to stdout")?;
    Ok(exit::SUCCESS)
}

/// Lets `-k` windows and many jobs hold their capture files: raise the soft
/// open-file limit to the hard one, as far as the system allows.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn open_reader(config: &Config, cancel: &CancelToken) -> anyhow::Result<Reader> {
    let colsep = config.colsep.clone();
    let reader = match &config.source {
        Source::Args(items) => Reader::from_args(items.clone(), colsep),
        Source::Stdin => Reader::new(
            Box::new(CancellableRead::new(io::stdin(), cancel.clone())),
            "<stdin>",
            config.format,
            colsep,
        )?,
        Source::File(path) => {
            let file = File::open(path)
                .with_context(|| format!("failed to open input `{}`", path.display()))?;
            Reader::new(
                Box::new(CancellableRead::new(file, cancel.clone())),
                &path.display().to_string(),
                config.format,
                colsep,
            )?
        }
    };
    Ok(reader)
}

/// `--dry-run`: render and print every command that would run; nothing
/// runs, so no pool. Items pass the same gate as in a real run: keyed (a
/// `--key` that cannot render makes the item bad input) and, with
/// `--resume`, skipped when the journal records them as finished.
fn dry_run(
    config: &Config,
    template: &Template,
    mut gate: resume::Gate,
    reader: Reader,
    cancel: &CancelToken,
) -> anyhow::Result<Exit> {
    // At a terminal, control bytes are shown as `$'...'` escapes (exact in
    // bash and zsh); into a pipe (`| sh`) or with --print0 they stay raw.
    let escape = !config.print0 && io::stdout().is_terminal();
    let end = if config.print0 { b'\0' } else { b'\n' };
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut bad = 0u64;
    let input_name = reader.name().to_owned();
    let mut skipped = 0u64;
    for item in reader {
        if cancel.is_stopping() {
            break;
        }
        let mut item = item?;
        // As the dispatcher: keys over the whole input, then the shard.
        let admitted = gate.admit(&mut item);
        if config.shard.is_some_and(|shard| !shard.contains(item.seq)) {
            continue;
        }
        if matches!(admitted, resume::Admit::Skip(_)) {
            skipped += 1;
            continue;
        }
        let slot = ((item.seq - 1) % config.jobs as u64) as usize + 1;
        let rendered = match &item.data {
            ItemData::Bad(message) => Err(message.clone()),
            _ => template
                .render(&item, slot)
                .map_err(|m| format!("{}: {m}", input::place(&input_name, item.line))),
        };
        match rendered {
            Ok(spec) => {
                let mut text = crate::display::command_line(&spec, escape);
                text.push(end);
                if let Err(e) = out.write_all(&text) {
                    return dry_run_write_error(e);
                }
            }
            Err(message) => {
                bad += 1;
                crate::errln!("fanout: bad input: {message}");
            }
        }
    }
    if let Err(e) = out.flush() {
        return dry_run_write_error(e);
    }
    if skipped > 0 {
        crate::errln!(
            "fanout: dry run: {skipped} item{} not listed: finished in an earlier run (--resume skips {})",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "it" } else { "them" },
        );
    }
    if let Some(StopReason::Signal(sig)) = cancel.reason() {
        return Ok(Exit::signal(sig));
    }
    Ok(Exit::code(if bad > 0 {
        exit::ITEMS_FAILED
    } else {
        exit::SUCCESS
    }))
}

fn dry_run_write_error(e: io::Error) -> anyhow::Result<Exit> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Ok(Exit::code(exit::SUCCESS));
    }
    Err(e).context("failed to write to stdout")
}

/// A `Read` that fails once `stop` is set, so a background count ends with
/// the run.
struct StopRead<'a> {
    inner: File,
    stop: &'a AtomicBool,
}

impl io::Read for StopRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("count no longer needed"));
        }
        self.inner.read(buf)
    }
}

/// What the signal thread shares with a run: the running jobs' groups, and
/// the bars it erases on Ctrl-Z.
struct Running<'a> {
    table: &'a Arc<JobTable>,
    screen: &'a Screen,
}

fn execute(
    config: &Config,
    template: &Template,
    reader: Reader,
    cancel: &CancelToken,
    running: Running<'_>,
    records: Records,
    argv: &[OsString],
) -> anyhow::Result<Exit> {
    let Running { table, screen } = running;
    let started = Instant::now();
    let started_wall = std::time::SystemTime::now();
    let Records {
        journal,
        gate,
        reports,
        events,
    } = records;
    let journal_path = journal.as_ref().map(|j| j.path().to_owned());
    // The collector journals items with output; workers those without.
    let journal = journal.map(Arc::new);
    let input_name = reader.name().to_owned();
    let sinks = Sinks {
        reports,
        events,
        annotations: config.annotations,
        stdout_to_stderr: config
            .events
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-"),
        journal: journal.clone(),
    };
    let labels = config.progress != ProgressMode::Off || sinks.events.is_some();
    let jobs = config.jobs;
    // Ungroup cannot tag raw output, so tagged ungroup streams lines; line
    // mode cannot keep order without buffering in memory, so `-k` groups
    // (capture files hold the output, whatever its size).
    let output = match (config.output, config.tag, config.keep_order) {
        (OutputMode::Ungroup, true, true) => OutputMode::Group,
        (OutputMode::Ungroup, true, false) => OutputMode::Line,
        (OutputMode::Line, _, true) => OutputMode::Group,
        (mode, _, _) => mode,
    };
    let capture = match output {
        OutputMode::Group => Capture::Files,
        OutputMode::Line => Capture::Lines,
        OutputMode::Ungroup => Capture::Inherit,
    };
    let keep_order = config.keep_order && output != OutputMode::Ungroup;
    // At a terminal, jobs it stops are detected; --tty hands it to them.
    let terminal = if config.tty {
        Some(Arc::new(Terminal::for_jobs().map_err(anyhow::Error::msg)?))
    } else {
        Terminal::current().map(Arc::new)
    };
    let runner: Box<dyn Runner> = if config.fake_runner {
        Box::new(FakeRunner)
    } else {
        Box::new(ProcessRunner::new(
            SpawnOptions {
                capture,
                grace: config.grace,
                timeout: config.timeout,
                temp_dir: config.temp_dir.clone(),
                terminal,
                tty: config.tty,
            },
            Arc::clone(table),
        ))
    };
    let in_shard = |total: u64| config.shard.map_or(total, |shard| shard.size_of(total));
    let known_total = match &config.source {
        Source::Args(items) => Some(in_shard(items.len() as u64)),
        _ => None,
    };
    let progress = match config.progress {
        ProgressMode::Off => Progress::Off,
        ProgressMode::Bars => Progress::bars(jobs, known_total),
        ProgressMode::Plain => Progress::plain(),
    };
    if let Some(bars) = progress.bars_handle() {
        screen.set(bars);
    }
    // The total matters for the progress bar and for percentage halts.
    let count_total = config.progress != ProgressMode::Off
        || config
            .halt
            .is_some_and(|h| matches!(h.threshold, crate::halt::Threshold::Percent(_)));
    let (events_tx, events_rx) = bounded::<Event>(jobs * 4 + 16);
    let (window_tx, window_rx) = if keep_order {
        let (tx, rx) = bounded::<()>((jobs * 8).clamp(32, 512));
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    if let Some(total) = known_total {
        let _ = events_tx.send(Event::Total(total));
    }
    let halt = config.halt.map(HaltState::new);
    let count_stop = AtomicBool::new(false);
    let (retry_handle, retry_timer, retry_rx) = retry_timer();
    let retries = config.retry.is_some();
    // The reader runs ahead of the workers by this channel only.
    let (intake, feed) = dispatch::feed((jobs * 2).max(64), retries.then_some(retry_rx));
    let outcome = thread::scope(|scope| {
        let collector = Collector::new(
            CollectorOptions {
                output,
                keep_order,
                tag: config.tag,
                halt: halt.as_ref(),
            },
            sinks,
            cancel,
            progress,
            window_rx,
        );
        let collector = thread::Builder::new()
            .name("fanout-collector".into())
            .spawn_scoped(scope, move || collector.run(events_rx));
        let reading = Reading {
            cancel,
            gate,
            events: events_tx.clone(),
            window: window_tx,
            timer: retries.then(|| retry_handle.clone()),
            shard: config.shard,
        };
        let reading = thread::Builder::new()
            .name("fanout-reader".into())
            .spawn_scoped(scope, move || reading.run(reader, intake));
        if let (Source::File(path), true) = (&config.source, count_total) {
            let tx = events_tx.clone();
            let stop = &count_stop;
            let format = config.format;
            let _ = thread::Builder::new()
                .name("fanout-count".into())
                .spawn_scoped(scope, move || {
                    // Only a regular file can be read twice: counting a FIFO
                    // or a device would steal the items.
                    let Ok(inner) = File::open(path) else { return };
                    if !inner.metadata().is_ok_and(|m| m.is_file()) {
                        return;
                    }
                    if let Ok(total) = input::count_records(StopRead { inner, stop }, format) {
                        let _ = tx.send(Event::Total(in_shard(total)));
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
            template,
            input: &input_name,
            runner: runner.as_ref(),
            cancel,
            events: events_tx,
            labels,
            tags: (config.tag && output == OutputMode::Line) || config.events.is_some(),
            commands: !config.reports.is_empty(),
            retry: config.retry.as_ref().map(|p| (p, retry_handle.clone())),
            journal: journal.as_deref(),
            halt: halt.as_ref(),
        };
        let engine_result = match timer {
            Ok(_) => engine::run(config.engine, jobs, &feed, &work),
            Err(e) => Err(anyhow::Error::from(e).context("failed to start the retry timer")),
        };
        drop(work);
        // Unblocks a reader still sending (the engine stopped taking items).
        drop(feed);
        drop(retry_handle);
        count_stop.store(true, Ordering::Relaxed);
        let input_end = reading.map_err(anyhow::Error::from).and_then(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("the input reader panicked"))
        });
        let report = match collector {
            Ok(handle) => handle.join().unwrap_or_else(|_| CollectorReport {
                output_error: Some("internal error: the collector panicked".into()),
                ..CollectorReport::default()
            }),
            Err(e) => CollectorReport {
                output_error: Some(format!("failed to start the collector thread: {e}")),
                ..CollectorReport::default()
            },
        };
        (engine_result, input_end, report)
    });
    let (engine_result, input_end, report) = outcome;
    let mut fatal = false;
    let exhausted = match input_end {
        Ok(InputEnd { exhausted, error }) => {
            if let Some(e) = error {
                crate::errln!("fanout: error: {}", error_chain(&e));
                fatal = true;
            }
            exhausted
        }
        Err(e) => {
            crate::errln!("fanout: error: {e:#}");
            fatal = true;
            false
        }
    };
    if let Err(e) = &engine_result {
        crate::errln!("fanout: error: {e:#}");
        fatal = true;
    }
    if let Some(e) = &report.output_error {
        crate::errln!("fanout: error: {e}");
        fatal = true;
    }
    fatal |= report.counts.internal > 0;
    let counts = report.counts.clone();
    let unread = if exhausted {
        Some(0)
    } else {
        report
            .total
            .map(|total| total.saturating_sub(counts.seen()))
    };
    let stop = cancel.reason();
    let summary = Summary {
        counts,
        failures: report.failures,
        elapsed: started.elapsed(),
        stop,
        unread,
        fatal,
        halt: report.halt,
        flaky: report.flaky,
        leaky: report.leaky,
        resume: None,
        retry_failed: None,
    };
    let exit = match stop {
        Some(StopReason::Signal(sig)) => Exit::signal(sig),
        _ if fatal => Exit::code(exit::FATAL),
        _ if summary.counts.failures() > 0 => Exit::code(exit::ITEMS_FAILED),
        _ => Exit::code(exit::SUCCESS),
    };
    let mut summary = summary;
    let given = journal::Given {
        resume: config.resume,
        retry_failed: config.retry_failed,
        journal: matches!(config.journal, JournalChoice::File(_)),
    };
    let hint = |how| {
        journal_path.as_ref().map(|path| {
            let mut hint = journal::resume_command(argv, given, how, path);
            if config.source == Source::Stdin {
                hint.push_str("   # with the same input on stdin");
            }
            hint
        })
    };
    // A fatal stop (a full disk, an unreadable input) leaves unwritten and
    // unstarted items unjournaled: the resume runs them.
    if fatal || matches!(stop, Some(StopReason::Signal(_) | StopReason::Halt)) {
        summary.resume = hint(journal::Continue::Resume);
    }
    // Failures an earlier run recorded were not run again: say how.
    if summary.counts.earlier_failed > 0 && !config.retry_failed {
        summary.retry_failed = hint(journal::Continue::RetryFailed);
    }
    let info = RunInfo {
        command: template.source(),
        started: journal::timestamp(started_wall),
        elapsed: summary.elapsed.as_secs_f64(),
        total: summary.total(),
        ok: summary.counts.all_ok(),
        failed: summary.counts.failures(),
        from_earlier_run: EarlierCounts {
            ok: summary.counts.earlier_ok,
            failed: summary.counts.earlier_failed,
        },
        not_started: summary.not_started(),
        interrupted: summary.counts.interrupted,
        stopped: stop.map(|_| summary.status()),
        exit_code: i32::from(exit.code),
    };
    let mut sink_error = None;
    for report in report.reports {
        if let Err(e) = report.finish(&info) {
            sink_error.get_or_insert(format!("{:#}", anyhow::Error::from(e)));
        }
    }
    if let Some(mut events) = report.events {
        let fields = serde_json::json!({
            "exit_code": exit.code,
            "elapsed": info.elapsed,
            "stopped": info.stopped,
            "total": info.total,
            "ok": info.ok,
            "failed": info.failed,
            "interrupted": info.interrupted,
            "not_started": info.not_started,
            "skipped": summary.counts.skipped(),
            "from_earlier_run": info.from_earlier_run,
        });
        if let Err(e) = events
            .emit("run-finished", fields)
            .and_then(|()| events.flush())
            // A reader that has gone (`--events - | head`) is not an error.
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            sink_error.get_or_insert(format!(
                "failed to write events to `{}`: {e}",
                events.name()
            ));
        }
    }
    let exit = match sink_error {
        Some(message) => {
            crate::errln!("fanout: error: {message}");
            summary.fatal = true;
            if exit.signal.is_some() {
                exit
            } else {
                Exit::code(exit::FATAL)
            }
        }
        None => exit,
    };
    let fatal = summary.fatal;
    let quiet_ok = config.quiet && summary.counts.failures() == 0 && stop.is_none() && !fatal;
    // A closed stdout ends the run quietly unless something had failed.
    let quiet_pipe = stop == Some(StopReason::BrokenPipe) && summary.counts.failures() == 0;
    if !quiet_ok && !quiet_pipe {
        crate::stderr::text(&summary.render());
    }
    Ok(exit)
}

/// An error and its causes, `: `-separated, as anyhow's `{:#}` prints them.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
