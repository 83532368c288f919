//! Wiring only: configuration → input reader → template → engine and
//! collector threads → summary → exit code. Each piece lives in its module;
//! this file decides how they are connected for one run.

mod coverage;
mod dry_run;
mod finish;
mod input;
mod pipeline;
mod setup;

use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;

use crate::cancel::CancelToken;
use crate::cli::{self, Args, Sub};
use crate::config::{Config, Source};
use crate::exit;
use crate::halt::HaltState;
use crate::input::Reader;
use crate::job::{JobTable, Runner};
use crate::records;
use crate::signal::{self, SignalKind};
use crate::sink::RunStart;
use crate::sink::progress::Screen;
use crate::template::text::TextTemplate;
use crate::template::{Schema, ShellMode, Template};

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

    /// Death by `signal` (SIGHUP: by SIGTERM, see `exit::death_signal`).
    pub fn signal(signal: i32) -> Exit {
        let signal = exit::death_signal(signal);
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
    let mut reader = setup::open_reader(&config, &cancel)?;
    for warning in reader.warnings() {
        crate::errln!("fanout: warning: {warning}");
    }
    // Owned: the reader may be replaced by one that read ahead (`{##}`).
    let headers = reader.headers().map(<[String]>::to_vec);
    let schema = Schema {
        format: config.format,
        headers: headers.as_deref(),
        colsep: config.colsep.is_some(),
        batch: config.batch.is_some(),
        sources: 1 + config.more_sources.len(),
    };
    let mode = if config.force_shell {
        ShellMode::Always
    } else if config.never_shell {
        ShellMode::Never
    } else {
        ShellMode::Auto
    };
    let replace = config.replace.as_deref();
    let template = match config.pipe {
        Some(_) => Template::for_blocks(&config.command, mode, &schema),
        None => Template::parse_replacing(&config.command, mode, &schema, replace),
    }
    .with_context(|| format!("in the command template `{}`", source_text(&config)))?;
    let mut template = match config.batch {
        Some(batch) => template
            .for_batches(&batch)
            .with_context(|| format!("in the command template `{}`", source_text(&config)))?,
        None => template,
    };
    // `--key` renders one item: `{N}` there is a column, not a job's item.
    let schema = Schema {
        batch: false,
        ..schema
    };
    let mut tagstring = match &config.tagstring {
        Some(text) => Some(
            TextTemplate::parse(text.as_bytes(), &schema, replace)
                .with_context(|| format!("in --tagstring `{text}`"))?,
        ),
        None => None,
    };
    if template.needs_total() || tagstring.as_ref().is_some_and(TextTemplate::needs_total) {
        let (counted, total) = input::with_total(&config, &cancel, reader)?;
        if total == u64::MAX {
            // The count saturated: no number {##} could print is right.
            anyhow::bail!("{{##}} and {{0#}}: the input gives more than 2^64 - 1 items");
        }
        reader = counted;
        template.set_total(total);
        if let Some(tagstring) = &mut tagstring {
            tagstring.set_total(total);
        }
    }
    if config.dry_run {
        let gate = records::dry_run_gate(&config.record_options(), &template, &schema)?;
        return dry_run::dry_run(&config, &template, gate, reader, &cancel);
    }
    // Before any record is opened: a run that cannot start leaves no files.
    let runner = setup::runner(&config, &config.plan(), &table)?;
    let argv: Vec<OsString> = std::env::args_os().collect();
    let records = records::prepare(&config.record_options(), &template, &schema, &argv)?;
    let jobs = Jobs {
        screen: &screen,
        runner,
        tagstring: tagstring.as_ref(),
    };
    execute(&config, &template, reader, &cancel, jobs, records, &argv)
}

/// What runs the jobs (registering their groups in the signal thread's
/// table), and the screen whose bars the signal thread erases on Ctrl-Z.
struct Jobs<'a> {
    screen: &'a Screen,
    runner: Box<dyn Runner>,
    /// `--tagstring`: rendered per item for its output lines.
    tagstring: Option<&'a TextTemplate>,
}

/// Runs the items and ends the run. `jobs`: the running jobs' groups and
/// the bars, which the signal thread shares with the run.
fn execute(
    config: &Config,
    template: &Template,
    reader: Reader,
    cancel: &CancelToken,
    jobs: Jobs<'_>,
    records: records::Records,
    argv: &[OsString],
) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let started_wall = SystemTime::now();
    let plan = config.plan();
    let records::Records {
        journal,
        gate,
        reports,
        events,
        joblog,
    } = records;
    let journal_path = journal.as_ref().map(|j| j.path().to_owned());
    // The collector journals items with output; workers those without.
    let journal = journal.map(Arc::new);
    let Jobs {
        screen,
        runner,
        tagstring,
    } = jobs;
    let known_total = match (&config.source, reader.total()) {
        (_, Some(total)) => Some(total),
        // `--header :` takes the first value as the names.
        (Source::Args(items), None) => Some(input::items_of(
            config,
            reader.shape().as_ref(),
            items.len() as u64,
        )),
        _ => None,
    }
    .and_then(|total| {
        config
            .shard
            .map_or(Some(total), |shard| shard.size_of(total))
    });
    // With --pipe the display counts bytes: the total is a file's size.
    let progress = match config.pipe {
        Some(_) => setup::progress(config, reader.bytes_total()),
        None => setup::progress(config, known_total),
    };
    if let Some(bars) = progress.bars_handle() {
        screen.set(bars);
    }
    let halt = config.halt.map(HaltState::new);
    // A percentage halt needs the total before the first item finishes: a
    // worker checks the halt before the collector has seen `Total`.
    if let (Some(halt), Some(total)) = (&halt, known_total) {
        halt.set_total(total);
    }
    let start = RunStart {
        command: template.source(),
        input: records::inputs_name(&config.record_options()),
        format: config.format.as_str(),
        jobs: config.jobs,
        journal: journal_path.as_ref().map(|p| p.display().to_string()),
    };
    let (window_tx, window_rx) = pipeline::reorder_window(&plan, config.jobs);
    let sinks = setup::SinkParts {
        journal: journal.clone(),
        reports,
        events,
        joblog,
        headers: reader.headers().map(<[String]>::to_vec),
        progress,
        bytes_total: reader.bytes_total(),
        window: window_rx,
        tagstring: tagstring.cloned(),
    };
    let collector = setup::collector(config, &plan, cancel, halt.as_ref(), sinks, start);
    let parts = pipeline::Parts {
        template,
        reader,
        gate,
        runner: runner.as_ref(),
        journal: journal.as_deref(),
        halt: halt.as_ref(),
        known_total,
        tagstring,
    };
    let ended = pipeline::run(config, &plan, cancel, parts, collector, window_tx);
    let facts = finish::RunFacts {
        config,
        cancel,
        template,
        argv,
        journal_path,
        elapsed: started.elapsed(),
        started: started_wall,
    };
    Ok(finish::finish(&facts, ended))
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
    match sub {
        Sub::Merge(args) => return crate::merge::run(&args, &coverage::input_items),
        Sub::Submit {
            to: cli::SubmitTo::Slurm(args),
        } => return crate::submit::slurm(&args),
        _ => {}
    }
    let mut stdout = io::stdout().lock();
    cli::completions::write(sub, &mut stdout)?;
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
