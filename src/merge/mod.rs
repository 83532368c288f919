//! `fanout merge JOURNAL_OR_DIR...`: the shards of one batch (each task of a
//! Slurm array or CI matrix ran `--shard` with its own journal) merged into
//! one answer: a line per shard (done, failed, did not finish, missing), the
//! summary a single run prints, any `--report` files, and the exit code the
//! whole run would have had.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cancel::StopReason;
use crate::cli::MergeArgs;
use crate::exit;
use crate::journal::{self, Header, ShardJournal};
use crate::record::{ItemRecord, Status};
use crate::shard::{Rule, Shard};
use crate::sink::report::{EarlierCounts, Report, RunInfo};
use crate::sink::summary::{Counts, FailureNote, SHOWN_FAILURES, Summary};

/// One journal and the shard it ran.
struct Part {
    path: PathBuf,
    shard: Shard,
    journal: ShardJournal,
}

/// An item of the batch's input (`fanout merge -a FILE`), keyed as the
/// shards keyed it.
#[derive(Debug)]
pub struct InputItem {
    pub key: String,
    /// Its line in the input.
    pub line: u64,
    /// It, shortened for messages.
    pub label: String,
}

/// Reads `-a FILE` as the shards whose first header this is read theirs.
pub type ReadInput<'a> = &'a dyn Fn(&Header, &Path) -> anyhow::Result<Vec<InputItem>>;

/// How many items a coverage message names.
const SHOWN: usize = 5;

/// Merges the journals and says how to exit.
pub fn run(args: &MergeArgs, read_input: ReadInput<'_>) -> anyhow::Result<u8> {
    let paths = journal_files(&args.journals)?;
    let mut parts = Vec::with_capacity(paths.len());
    for path in paths {
        let journal = journal::read_shard(&path).map_err(anyhow::Error::from)?;
        let shard = match journal.header.shard.as_deref() {
            Some(spec) => Shard::parse(spec)
                .map_err(|e| anyhow::anyhow!("journal `{}`: its shard {e}", path.display()))?,
            // A run without --shard is the one shard of its batch.
            None => Shard::new(Rule::Slice, 1, 1).unwrap_or(Shard {
                rule: Rule::Slice,
                index: 1,
                count: 1,
            }),
        };
        parts.push(Part {
            path,
            shard,
            journal,
        });
    }
    check_one_batch(&parts)?;
    let count = parts[0].shard.count;
    let mut problems = Vec::new();
    let mut stop = None;
    let mut lines = Vec::new();
    for index in 1..=count {
        let Some(part) = parts.iter().find(|p| p.shard.index == index) else {
            lines.push(format!("  shard {index}/{count}: missing"));
            problems.push(format!("shard {index}/{count} is missing"));
            continue;
        };
        let state = match &part.journal.end {
            None => {
                problems.push(format!("shard {index}/{count} did not finish"));
                "did not finish (no end line: killed, or still running)".to_owned()
            }
            Some(end) if !end.complete => {
                problems.push(format!("shard {index}/{count} did not finish"));
                if let Some(signal) = end
                    .exit_code
                    .checked_sub(128)
                    .filter(|s| (1..32).contains(s))
                {
                    stop.get_or_insert(StopReason::Signal(signal));
                }
                format!("did not finish ({})", end.status)
            }
            Some(end) => end.status.clone(),
        };
        let mut counts = Counts::default();
        for record in &part.journal.records {
            add(&mut counts, record.status);
        }
        let mut line = format!(
            "  shard {index}/{count}: {state}: {} ok, {} failed",
            counts.ok,
            counts.failures()
        );
        if let Some(node) = &part.journal.header.node {
            line.push_str(&format!(", node {node}"));
        }
        if part.journal.runs > 1 {
            line.push_str(&format!(", {} runs", part.journal.runs));
        }
        line.push_str(&format!(" ({})", part.path.display()));
        lines.push(line);
    }
    let coverage = match &args.input {
        Some(input) => {
            let items = read_input(&parts[0].journal.header, input)?;
            check_coverage(&parts, &items, &input.display().to_string())
        }
        None => Vec::new(),
    };
    problems.extend(coverage.iter().map(|(short, _)| short.clone()));
    let mut records: Vec<ItemRecord> = parts
        .iter_mut()
        .flat_map(|p| std::mem::take(&mut p.journal.records))
        .collect();
    records.sort_by_key(|r| r.seq);
    let mut summary = Summary {
        elapsed: elapsed(&parts),
        stop,
        ..Summary::default()
    };
    for record in &mut records {
        record.from_earlier_run = false;
        add(&mut summary.counts, record.status);
        if is_failure(record.status) && summary.failures.len() < SHOWN_FAILURES {
            summary.failures.push(FailureNote {
                seq: record.seq,
                label: crate::item::escaped(record.item.as_bytes(), crate::item::LABEL_MAX),
                what: record.error.clone(),
                command: None,
                stderr_tail: Vec::new(),
            });
        }
    }
    let code = match stop {
        Some(StopReason::Signal(signal)) => exit::for_signal(signal),
        _ if summary.counts.failures() > 0 || !problems.is_empty() => exit::ITEMS_FAILED,
        _ => exit::SUCCESS,
    };
    let first = &parts[0].journal.header;
    let info = RunInfo {
        command: first.command.clone(),
        started: first.started.clone(),
        elapsed: summary.elapsed.as_secs_f64(),
        total: summary.total(),
        ok: summary.counts.all_ok(),
        failed: summary.counts.failures(),
        from_earlier_run: EarlierCounts::default(),
        not_started: summary.not_started(),
        interrupted: summary.counts.interrupted,
        stopped: (!problems.is_empty()).then(|| problems.join("; ")),
        exit_code: i32::from(code),
    };
    for path in &args.report {
        let mut report = Report::create(path)?;
        for record in &records {
            report.record(record)?;
        }
        report.finish(&info)?;
    }
    let quiet = args.quiet && code == exit::SUCCESS;
    if !quiet {
        let mut text = format!(
            "fanout merge: {} of {count} shards ({}) of `{}`\n",
            parts.len(),
            match parts[0].shard.rule {
                Rule::Hash => "hash",
                Rule::Slice => "slice",
            },
            first.command
        );
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        for (_, long) in &coverage {
            text.push_str(&format!("fanout merge: {long}\n"));
        }
        if !problems.is_empty() {
            text.push_str(&format!(
                "fanout merge: incomplete: {}\n",
                problems.join("; ")
            ));
        }
        text.push_str(&summary.render());
        crate::stderr::text(&text);
    }
    Ok(code)
}

/// Which items of the input no shard recorded, which two shards recorded,
/// and which records are of no input item: (short, long) messages.
fn check_coverage(parts: &[Part], items: &[InputItem], input: &str) -> Vec<(String, String)> {
    // Per key: the shards that recorded it, one entry per record.
    let mut recorded: HashMap<&str, Vec<u64>> = HashMap::new();
    for part in parts {
        for record in &part.journal.records {
            recorded
                .entry(record.key.as_str())
                .or_default()
                .push(part.shard.index);
        }
    }
    let count = parts[0].shard.count;
    let mut in_none = Vec::new();
    let mut wanted: HashMap<&str, (usize, &InputItem)> = HashMap::new();
    for item in items {
        let entry = wanted.entry(item.key.as_str()).or_insert((0, item));
        entry.0 += 1;
        let seen = recorded.get(item.key.as_str()).map_or(0, Vec::len);
        if entry.0 > seen {
            in_none.push(item);
        }
    }
    let mut in_two = Vec::new();
    let mut not_in_input = 0usize;
    for (key, shards) in &recorded {
        match wanted.get(key) {
            None => not_in_input += shards.len(),
            Some((n, item)) if shards.len() > *n => in_two.push((*item, shards)),
            Some(_) => {}
        }
    }
    in_two.sort_by_key(|(item, _)| item.line);
    let named =
        |items: &mut dyn Iterator<Item = String>| items.take(SHOWN).collect::<Vec<_>>().join(", ");
    let mut messages = Vec::new();
    if !in_none.is_empty() {
        let n = in_none.len();
        messages.push((
            format!("{n} items of the input in no shard"),
            format!(
                "{n} {} of {input} {} in no shard's journal: {}",
                if n == 1 { "item" } else { "items" },
                if n == 1 { "is" } else { "are" },
                named(
                    &mut in_none
                        .iter()
                        .map(|i| format!("line {} `{}`", i.line, i.label))
                )
            ),
        ));
    }
    if !in_two.is_empty() {
        let n = in_two.len();
        messages.push((
            format!("{n} items in two shards"),
            format!(
                "{n} {} of {input} {} in two shards (or more): {}",
                if n == 1 { "item" } else { "items" },
                if n == 1 { "is" } else { "are" },
                named(&mut in_two.iter().map(|(i, shards)| {
                    let mut shards: Vec<String> =
                        shards.iter().map(|k| format!("{k}/{count}")).collect();
                    shards.dedup();
                    format!(
                        "line {} `{}` (shards {})",
                        i.line,
                        i.label,
                        shards.join(" and ")
                    )
                }))
            ),
        ));
    }
    if not_in_input > 0 {
        messages.push((
            format!("{not_in_input} records not in the input"),
            format!("{not_in_input} records of the journals are of items not in {input} (another input?)"),
        ));
    }
    messages
}

/// The journals named: files as given, and each directory's `*.jsonl`.
fn journal_files(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in given {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = fs::read_dir(path)
                .with_context(|| format!("failed to read the directory `{}`", path.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl") && p.is_file())
                .collect();
            if found.is_empty() {
                bail!("no journals (*.jsonl) in `{}`", path.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Refuses journals of different batches, or two journals of one shard.
fn check_one_batch(parts: &[Part]) -> anyhow::Result<()> {
    let Some(first) = parts.first() else {
        bail!("no journals to merge");
    };
    let (a, name) = (&first.journal.header, first.path.display());
    for part in &parts[1..] {
        let b = &part.journal.header;
        let differs = if !a.same_command(b) {
            Some(format!("command `{}` against `{}`", b.command, a.command))
        } else if a.input != b.input || a.format != b.format {
            Some(format!(
                "input `{}` ({}) against `{}` ({})",
                b.input, b.format, a.input, a.format
            ))
        } else if a.key != b.key || a.colsep != b.colsep {
            Some("another --key or --colsep".to_owned())
        } else if part.shard.count != first.shard.count || part.shard.rule != first.shard.rule {
            Some(format!(
                "shard {} against {}",
                part.shard.label(),
                first.shard.label()
            ))
        } else {
            None
        };
        if let Some(what) = differs {
            bail!(
                "`{}` is a journal of another batch than `{name}`: {what}",
                part.path.display()
            );
        }
    }
    for (i, part) in parts.iter().enumerate() {
        if let Some(other) = parts[..i]
            .iter()
            .find(|o| o.shard.index == part.shard.index)
        {
            bail!(
                "two journals of shard {}: `{}` and `{}` (a resumed shard appends to its own journal)",
                part.shard.label(),
                other.path.display(),
                part.path.display()
            );
        }
    }
    Ok(())
}

/// From the first shard's start to the last one's end.
fn elapsed(parts: &[Part]) -> Duration {
    let time = |text: &str| humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok();
    let start = parts
        .iter()
        .filter_map(|p| time(&p.journal.header.started))
        .min();
    let end = parts
        .iter()
        .filter_map(|p| p.journal.end.as_ref().and_then(|e| time(&e.finished)))
        .max();
    match (start, end) {
        (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

fn is_failure(status: Status) -> bool {
    !matches!(
        status,
        Status::Ok | Status::Interrupted | Status::NotStarted
    )
}

/// Counts one recorded outcome.
fn add(counts: &mut Counts, status: Status) {
    let slot = match status {
        Status::Ok => &mut counts.ok,
        Status::Failed => &mut counts.failed,
        Status::Signal => &mut counts.signaled,
        Status::Timeout => &mut counts.timed_out,
        Status::SpawnError => &mut counts.spawn_failed,
        Status::BadInput => &mut counts.bad_input,
        Status::Interrupted => &mut counts.interrupted,
        Status::NotStarted => &mut counts.not_started,
        Status::InternalError => &mut counts.internal,
    };
    *slot += 1;
}
