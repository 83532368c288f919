//! The end of a run: the errors that ended it, the summary, the one exit
//! code, the resume hints, then `RunFinished` for the reports and the event
//! stream, and the summary on stderr.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::Exit;
use super::pipeline::Ended;
use crate::cancel::{CancelToken, StopReason};
use crate::config::{Config, Source};
use crate::dispatch::InputEnd;
use crate::exit;
use crate::gnu::{self, Dialect};
use crate::journal;
use crate::records::JournalChoice;
use crate::sink::RunEnd;
use crate::sink::report::{EarlierCounts, RunInfo};
use crate::sink::summary::Summary;
use crate::template::Template;

/// Whether a run-fatal error ended the run (already reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fatal {
    No,
    Yes,
}

/// The exit code, in its one order of precedence: a signal that stopped
/// the run, then a run-fatal error, then failed items, then success. GNU's
/// drop-in mode keeps the order, with GNU's codes for the last three.
pub(super) fn decide_exit(
    stop: Option<StopReason>,
    fatal: Fatal,
    dialect: Dialect,
    end: &gnu::RunEnd,
) -> Exit {
    match (stop, dialect) {
        (Some(StopReason::Signal(signal)), _) => Exit::signal(signal),
        (_, Dialect::Fanout) if fatal == Fatal::Yes => Exit::code(exit::FATAL),
        (_, Dialect::Fanout) if end.failed > 0 => Exit::code(exit::ITEMS_FAILED),
        (_, Dialect::Fanout) => Exit::code(exit::SUCCESS),
        (_, Dialect::Gnu) if fatal == Fatal::Yes => Exit::code(gnu::OTHER_ERROR),
        (_, Dialect::Gnu) => Exit::code(gnu::exit_status(end)),
    }
}

/// What the run was, for its summary and hints.
pub(super) struct RunFacts<'a> {
    pub config: &'a Config,
    pub cancel: &'a CancelToken,
    pub template: &'a Template,
    pub argv: &'a [OsString],
    pub journal_path: Option<PathBuf>,
    pub elapsed: Duration,
    pub started: SystemTime,
}

/// Reports what ended the run, closes the reports and the event stream,
/// prints the summary and says how to exit.
pub(super) fn finish(facts: &RunFacts<'_>, ended: Ended<'_>) -> Exit {
    let Ended {
        engine,
        input,
        collector,
    } = ended;
    let mut fatal = Fatal::No;
    let mut report_fatal = |message: &str| {
        crate::errln!("fanout: error: {message}");
        fatal = Fatal::Yes;
    };
    let exhausted = match input {
        Ok(InputEnd { exhausted, error }) => {
            if let Some(e) = error {
                report_fatal(&error_chain(&e));
            }
            exhausted
        }
        Err(e) => {
            report_fatal(&format!("{e:#}"));
            false
        }
    };
    if let Err(e) = &engine {
        report_fatal(&format!("{e:#}"));
    }
    let mut collector = match collector {
        Ok(collector) => Some(collector),
        Err(message) => {
            report_fatal(&message);
            None
        }
    };
    if let Some(message) = collector.as_mut().and_then(|c| c.take_error()) {
        report_fatal(&message);
    }
    let mut summary = Summary {
        elapsed: facts.elapsed,
        blocks: facts.config.pipe.is_some(),
        ..Summary::default()
    };
    if let Some(collector) = &collector {
        let tally = collector.tally();
        summary.counts = tally.counts.clone();
        summary.failures = tally.failures.clone();
        summary.flaky = tally.flaky.clone();
        summary.leaky = tally.leaky;
        summary.halt = tally.halt_reason();
        summary.unread = if exhausted {
            Some(0)
        } else {
            tally
                .total
                .map(|total| total.saturating_sub(tally.counts.seen()))
        };
    }
    if summary.counts.internal > 0 {
        fatal = Fatal::Yes;
    }
    let cancel_stop = facts.cancel.reason();
    summary.stop = cancel_stop;
    summary.fatal = fatal == Fatal::Yes;
    let end = gnu::RunEnd {
        failed: summary.counts.failures(),
        failed_jobs: collector.as_ref().map_or(0, |c| c.tally().failed_jobs),
        halt: collector.as_ref().and_then(|c| c.tally().halt_trigger()),
        policy: facts.config.halt,
        started_jobs: collector.as_ref().map_or(0, |c| c.tally().started_jobs),
    };
    let dialect = facts.config.dialect;
    let exit = decide_exit(cancel_stop, fatal, dialect, &end);
    add_hints(facts, &mut summary);
    let info = run_info(facts, &summary, exit);
    let late = collector.as_mut().and_then(|c| {
        c.finish(&RunEnd {
            summary: &summary,
            info: &info,
        })
    });
    let exit = match late {
        Some(message) => {
            crate::errln!("fanout: error: {message}");
            summary.fatal = true;
            decide_exit(cancel_stop, Fatal::Yes, dialect, &end)
        }
        None => exit,
    };
    if let Some(path) = &facts.journal_path {
        // How the run ended: `fanout merge` tells a finished shard from one
        // that was killed or is still running (no end line).
        let end = journal::RunEndLine {
            kind: "end".to_owned(),
            finished: crate::time::timestamp(SystemTime::now()),
            status: summary.status(),
            exit_code: i32::from(exit.code),
            complete: summary.stop.is_none() && !summary.fatal && summary.unread == Some(0),
        };
        if let Err(e) = journal::write_end(path, &end) {
            crate::errln!("fanout: warning: {:#}", anyhow::Error::from(e));
        }
    }
    print_summary(facts.config, &summary);
    exit
}

/// The commands that continue the run: a resume after a stop, a
/// `--retry-failed` for failures an earlier run recorded.
fn add_hints(facts: &RunFacts<'_>, summary: &mut Summary) {
    let config = facts.config;
    let given = journal::Given {
        resume: config.resume,
        retry_failed: config.retry_failed,
        // A joblog resume goes on from the joblog, as GNU's does: the
        // journal of this run alone lacks what the earlier runs finished.
        journal: matches!(config.journal, JournalChoice::File(_))
            || crate::records::resume_joblog(&config.record_options()).is_some(),
    };
    let hint = |how| {
        facts.journal_path.as_ref().map(|path| {
            let mut hint = journal::resume_command(facts.argv, given, how, path);
            let stdin = std::iter::once(&config.source)
                .chain(config.more_sources.iter().map(|held| &held.source))
                .any(|source| *source == Source::Stdin);
            if stdin {
                hint.push_str("   # with the same input on stdin");
            }
            hint
        })
    };
    // A fatal stop (a full disk, an unreadable input) leaves unwritten and
    // unstarted items unjournaled: the resume runs them.
    if summary.fatal || matches!(summary.stop, Some(StopReason::Signal(_) | StopReason::Halt)) {
        summary.resume = hint(journal::Continue::Resume);
    }
    // Failures an earlier run recorded were not run again: say how.
    if summary.counts.earlier_failed > 0 && !config.retry_failed {
        summary.retry_failed = hint(journal::Continue::RetryFailed);
    }
}

/// The run-level figures the reports and the event stream end with.
fn run_info(facts: &RunFacts<'_>, summary: &Summary, exit: Exit) -> RunInfo {
    RunInfo {
        command: facts.template.source(),
        started: crate::time::timestamp(facts.started),
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
        stopped: summary.stop.map(|_| summary.status()),
        exit_code: i32::from(exit.code),
    }
}

/// The summary on stderr, unless `-q` and all went well, or stdout's
/// reader went away and nothing had failed.
fn print_summary(config: &Config, summary: &Summary) {
    let failures = summary.counts.failures();
    let quiet_ok = config.quiet && failures == 0 && summary.stop.is_none() && !summary.fatal;
    let quiet_pipe = summary.stop == Some(StopReason::BrokenPipe) && failures == 0;
    if !quiet_ok && !quiet_pipe {
        crate::stderr::text(&summary.render());
    }
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
