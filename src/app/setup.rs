//! Setting up one run from its configuration and plan: the input reader,
//! the job runner, the progress display, and the collector with its sinks
//! in the order they see each event.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::sync::Arc;

use anyhow::Context;
use crossbeam_channel::Receiver;

use crate::cancel::CancelToken;
use crate::collector::Collector;
use crate::config::{Config, ProgressMode, Source};
use crate::halt::HaltState;
use crate::input::blocks::BlockInput;
use crate::input::read::CancellableRead;
use crate::input::{ColumnSplitter, Reader};
use crate::job::{FakeRunner, JobTable, ProcessRunner, Runner, SpawnOptions, Terminal};
use crate::journal::Journal;
use crate::pipe::PipeSpec;
use crate::plan::{JobStdout, RunPlan};
use crate::sink::annotations::Annotations;
use crate::sink::event_stream::{EventStream, EventWriter};
use crate::sink::joblog::{Joblog, JoblogSink};
use crate::sink::output::{Discard, OutputOptions, OutputSink, StdStreams, Target};
use crate::sink::progress::{Progress, ProgressSink, Units};
use crate::sink::report::{Report, ReportSink};
use crate::sink::results::ResultsSink;
use crate::sink::tally::Tally;
use crate::sink::{RunStart, Sink};
use crate::template::text::TextTemplate;

/// Opens the input: `:::` items, stdin or a file, read so that Ctrl-C
/// ends a blocked read. With several sources, the first streams and the
/// others are read whole now (`input::Reader::combined`). Every source is
/// read through the same input options (`-d`, `-0`, `--colsep`, `-E`, `-r`,
/// `--trim`); with `--header :` each source's first value is taken as its
/// names.
pub(super) fn open_reader(config: &Config, cancel: &CancelToken) -> anyhow::Result<Reader> {
    if let Some(spec) = &config.pipe {
        return block_reader(config, spec, cancel);
    }
    let colsep = super::input::column_splitter(config)?;
    let open = |source: &Source| -> anyhow::Result<Reader> {
        let mut reader = open_source(config, source, colsep.clone(), cancel)?;
        if config.header {
            reader.take_header()?;
        }
        Ok(reader.with_rules(config.rules.clone()))
    };
    let first = open(&config.source)?;
    let reader = if config.more_sources.is_empty() {
        first
    } else {
        let held = config
            .more_sources
            .iter()
            .map(|held| open(&held.source))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let first = super::input::first_of_several(config, first);
        Reader::combined(first, held, &config.linking())?
    };
    Ok(super::input::arrange(config, reader))
}

/// `--pipe`: the blocks of stdin or the `-a` file. A regular file (also
/// stdin redirected from one) is cut in place and its blocks spliced to
/// the jobs; anything else is read through.
fn block_reader(config: &Config, spec: &PipeSpec, cancel: &CancelToken) -> anyhow::Result<Reader> {
    let (file, name) = match &config.source {
        Source::File(path) => (
            File::open(path)
                .with_context(|| format!("failed to open input `{}`", path.display()))?,
            path.display().to_string(),
        ),
        _ => {
            let stdin = io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .context("failed to duplicate stdin")?;
            (File::from(stdin), "<stdin>".to_owned())
        }
    };
    let metadata = file.metadata().ok();
    let regular = metadata.as_ref().is_some_and(|m| m.is_file());
    if spec.part && !regular {
        anyhow::bail!("--pipe-part: `{name}` is not a regular file (use --pipe to read a stream)");
    }
    if spec.per_slot.is_some() && !regular {
        anyhow::bail!(
            "--block -N shares out a file's size, and `{name}` is not a regular file: give a size (--block 1M)"
        );
    }
    let (input, spec) = if regular {
        let size = metadata.as_ref().map_or(0, |m| m.len());
        (BlockInput::File(file), spec.for_file(size, config.jobs))
    } else {
        // A bigger pipe from the writer: fewer wake-ups for both (best
        // effort: it fails on what is not a pipe, and past the user limit).
        if metadata.as_ref().is_some_and(|m| m.file_type().is_fifo()) {
            let _ = rustix::pipe::fcntl_setpipe_size(&file, 1 << 20);
        }
        let read = CancellableRead::new(file, cancel.clone());
        (BlockInput::Stream(Box::new(read)), spec.clone())
    };
    Reader::blocks(input, &name, &spec).with_context(|| format!("failed to read `{name}`"))
}

/// Opens one input source.
fn open_source(
    config: &Config,
    source: &Source,
    colsep: Option<ColumnSplitter>,
    cancel: &CancelToken,
) -> anyhow::Result<Reader> {
    Ok(match source {
        Source::Args(items) => Reader::from_args(items.clone(), colsep),
        Source::Stdin => super::input::records(
            Box::new(CancellableRead::new(io::stdin(), cancel.clone())),
            "<stdin>",
            config,
            colsep,
        )?,
        Source::File(path) => {
            let file = File::open(path)
                .with_context(|| format!("failed to open input `{}`", path.display()))?;
            super::input::records(
                Box::new(CancellableRead::new(file, cancel.clone())),
                &path.display().to_string(),
                config,
                colsep,
            )?
        }
    })
}

/// What runs each job: processes, or the scripted fake for tests.
pub(super) fn runner(
    config: &Config,
    plan: &RunPlan,
    table: &Arc<JobTable>,
) -> anyhow::Result<Box<dyn Runner>> {
    if config.fake_runner {
        return Ok(Box::new(FakeRunner));
    }
    // At a terminal, jobs it stops are detected; --tty hands it to them.
    let terminal = if config.tty {
        Some(Arc::new(Terminal::for_jobs().map_err(anyhow::Error::msg)?))
    } else {
        Terminal::current().map(Arc::new)
    };
    Ok(Box::new(ProcessRunner::new(
        SpawnOptions {
            capture: plan.capture,
            grace: config.grace,
            timeout: config.timeout,
            temp_dir: config.temp_dir.clone(),
            terminal,
            tty: config.tty,
            nice: config.nice,
            dialect: config.dialect,
        },
        Arc::clone(table),
    )))
}

/// What the progress display counts: items, or with `--pipe` bytes.
fn units(config: &Config) -> Units {
    match config.pipe {
        Some(_) => Units::Bytes,
        None => Units::Items,
    }
}

/// The progress display the configuration asks for (`known_total`: of
/// items, or with `--pipe` of bytes).
pub(super) fn progress(config: &Config, known_total: Option<u64>) -> Progress {
    match config.progress {
        ProgressMode::Off => Progress::Off,
        ProgressMode::Bars => Progress::bars(config.jobs, known_total, units(config)),
        ProgressMode::Plain => Progress::plain(),
    }
}

/// What the collector's sinks write to, besides the terminal.
pub(super) struct SinkParts {
    pub journal: Option<Arc<Journal>>,
    pub reports: Vec<Report>,
    pub events: Option<EventWriter>,
    pub joblog: Option<Joblog>,
    /// The input's header, naming the `--results DIR` directories.
    pub headers: Option<Vec<String>>,
    pub progress: Progress,
    /// `--pipe` on a regular file: the bytes of all its blocks.
    pub bytes_total: Option<u64>,
    /// `-k`: the window's permits, released as items are written.
    pub window: Option<Receiver<()>>,
    /// `--tagstring`.
    pub tagstring: Option<TextTemplate>,
}

/// The collector and its sinks. Order matters: annotations, the reports
/// and the event stream record an item as it finishes; `--results DIR`
/// saves its output; then its output is written and it is journaled; the
/// joblog row follows the written output; then the progress display counts
/// it and prints its `FAIL` note below its output.
pub(super) fn collector<'a>(
    config: &Config,
    plan: &RunPlan,
    cancel: &'a CancelToken,
    halt: Option<&'a HaltState>,
    parts: SinkParts,
    start: RunStart,
) -> Collector<'a> {
    let SinkParts {
        journal,
        reports,
        events,
        joblog,
        headers,
        progress,
        bytes_total,
        window,
        tagstring,
    } = parts;
    let bars = progress.bars_handle();
    let mut sinks: Vec<Box<dyn Sink + 'a>> = Vec::new();
    if config.annotations {
        sinks.push(Box::new(Annotations::new(bars.clone())));
    }
    // Reports before the event stream: at the end of the run the reports
    // are whole before `run-finished` tells a reader the run is over.
    for report in reports {
        sinks.push(Box::new(ReportSink::new(report)));
    }
    if let Some(events) = events {
        sinks.push(Box::new(EventStream::new(events)));
    }
    let stdout_is_terminal = io::stdout().is_terminal();
    let target: Box<dyn Target> = match &config.results_dir {
        Some(dir) => {
            sinks.push(Box::new(ResultsSink::new(dir.clone(), headers)));
            Box::new(Discard)
        }
        None => Box::new(StdStreams::new(bars.clone(), stdout_is_terminal)),
    };
    let joblog_to_stdout = matches!(joblog, Some(Joblog::Stdout));
    sinks.push(Box::new(
        OutputSink::new(
            OutputOptions {
                mode: plan.output,
                keep_order: plan.keep_order,
                tag: plan.tag,
                stdout_to_stderr: plan.job_stdout == JobStdout::Stderr,
                flush_each_item: joblog_to_stdout,
            },
            target,
            journal,
            window,
        )
        .with_tagstring(tagstring),
    ));
    if let Some(joblog) = joblog {
        sinks.push(Box::new(JoblogSink::new(
            joblog,
            StdStreams::new(bars, stdout_is_terminal),
        )));
    }
    sinks.push(Box::new(ProgressSink::new(
        progress,
        units(config),
        bytes_total,
    )));
    Collector::new(
        cancel,
        Tally::new(halt),
        sinks,
        start,
        plan.ticks,
        plan.output == crate::sink::output::OutputMode::Ungroup,
    )
}
