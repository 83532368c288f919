//! Turns parsed [`Args`] into a validated [`Config`]: jobs resolved, the
//! `:::` items split off the command, durations parsed, progress decided,
//! and the command line's value enums mapped to the domain's. Nothing
//! downstream sees clap types.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::batch::{BatchOptions, BatchSpec};
use crate::cli::{
    Args, BackoffArg, EngineArg, ExecArgs, FormatArg, InputArgs, OutputArg, ProgressArg,
};
use crate::dispatch::Shard;
use crate::duration;
use crate::engine::EngineKind;
use crate::gnu::{self, Dialect};
use crate::halt::HaltPolicy;
use crate::input::{self, Blanks, ColumnSplitter, RecordRules};
use crate::item::Format;
use crate::pipe::{PipeOptions, PipeSpec};
use crate::records::{InputOrigin, JournalChoice, RecordOptions, same_file};
use crate::retry::{Backoff, RetryOn, RetryPolicy};
use crate::shard::Rule as ShardRule;
use crate::sink::joblog::JoblogDest;
use crate::sink::output::OutputMode;
use crate::sink::report::ReportFormat;

/// Where items come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
    /// `:::` arguments.
    Args(Vec<OsString>),
}

/// An input source after the first (`:::`, `::::` FILE, `-a FILE`): it is
/// read whole into memory and combined with the first source's values.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldSource {
    pub source: Source,
    /// `:::+` / `::::+`: linked to the source before it (position by
    /// position) rather than combined with it.
    pub linked: bool,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Not at all.
    Off,
    /// indicatif bars on the terminal.
    Bars,
    /// A plain status line every few seconds (not a terminal, or CI).
    Plain,
}

/// A validated run configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--pipe`: blocks of the input on each job's stdin, not items.
    pub pipe: Option<PipeSpec>,
    /// Several items per job (`-n`, `-X`...), or `None`: one per job.
    pub batch: Option<BatchSpec>,
    /// Item source: the only one, or the first of several (which streams).
    pub source: Source,
    /// The other input sources, in order; empty for a single source.
    pub more_sources: Vec<HeldSource>,
    /// `--link`: all sources position by position.
    pub link: bool,
    /// `--header :`: each source's first value names it (or its columns).
    pub header: bool,
    /// Item format.
    pub format: Format,
    /// Column separator for lines/null/`:::` items (a pattern, `input::colsep`).
    pub colsep: Option<Vec<u8>>,
    /// `-I STR`: another spelling of `{}`.
    pub replace: Option<Vec<u8>>,
    /// `-d DELIM`: records end at DELIM (not a newline, not NUL).
    pub delimiter: Option<Vec<u8>>,
    /// `-E EOF`, `-r`, `--trim`.
    pub rules: RecordRules,
    /// `--shuf`.
    pub shuffle: bool,
    /// `--tagstring STR`.
    pub tagstring: Option<String>,
    /// The command template words.
    pub command: Vec<OsString>,
    /// `--shell`, or GNU's drop-in mode (several words are one shell line).
    pub force_shell: bool,
    /// Never a shell, even for one word with shell syntax (`-q` under
    /// `--gnu`: GNU's `--quote`).
    pub never_shell: bool,
    /// fanout's conventions or GNU parallel's (`--gnu`, the name `parallel`).
    pub dialect: Dialect,
    /// Worker count.
    pub jobs: usize,
    /// Worker pool.
    pub engine: EngineKind,
    /// Output grouping.
    pub output: OutputMode,
    /// `-k`.
    pub keep_order: bool,
    /// `--tag`.
    pub tag: bool,
    /// Progress display.
    pub progress: ProgressMode,
    /// Grace period before SIGKILL.
    pub grace: Duration,
    /// Per-attempt time limit.
    pub timeout: Option<Duration>,
    /// `--delay`: at least this long between two job starts.
    pub delay: Option<Duration>,
    /// `--nice N`.
    pub nice: Option<i32>,
    /// Retry policy, when `--retries` is more than 0.
    pub retry: Option<RetryPolicy>,
    /// `--halt` / `--fail-fast`.
    pub halt: Option<HaltPolicy>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--print0`: dry-run commands end with NUL, bytes raw.
    pub print0: bool,
    /// `--shard`.
    pub shard: Option<Shard>,
    /// Where the shard came from, for a scheduler's (`slurm: SLURM_ARRAY_TASK_ID=3 ...`).
    pub shard_from: Option<String>,
    /// `--debug-fake-runner`.
    pub fake_runner: bool,
    /// `--tty`: one job at a time, in the terminal's foreground.
    pub tty: bool,
    /// `-q`.
    pub quiet: bool,
    /// Where capture files go.
    pub temp_dir: PathBuf,
    /// The journal.
    pub journal: JournalChoice,
    /// `--resume` or `--retry-failed`.
    pub resume: bool,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// `--key`.
    pub key: Option<String>,
    /// `--force`.
    pub force: bool,
    /// `--report` files.
    pub reports: Vec<PathBuf>,
    /// `--events` file (`-`: stdout).
    pub events: Option<PathBuf>,
    /// `--joblog`.
    pub joblog: Option<JoblogDest>,
    /// `--results DIR`: each job's output saved there, not printed.
    pub results_dir: Option<PathBuf>,
    /// GitHub Actions annotations for failed items.
    pub annotations: bool,
}

impl Config {
    /// Validates and resolves the command line.
    pub fn from_args(mut args: Args) -> anyhow::Result<Config> {
        // First: `-n echo` takes `echo` as its count, which says more than
        // "no command given".
        let pipe = pipe_spec(&args)?;
        let batch = match pipe {
            Some(_) => None,
            None => batch_spec(&args.batch)?,
        };
        let dialect = if args.exec.gnu {
            Dialect::Gnu
        } else {
            Dialect::Fanout
        };
        // Under --gnu, `-q` is GNU's --quote, not --quiet.
        let quote = args.exec.quote || (dialect == Dialect::Gnu && args.output.quiet);
        let quiet = args.output.quiet && dialect == Dialect::Fanout;
        let (mut command, groups) = split_items(args.command)?;
        let mut force_shell = args.exec.shell || (dialect == Dialect::Gnu && !quote);
        if command.is_empty() && dialect == Dialect::Gnu {
            if batch.is_some() {
                bail!(
                    "without a command each item is a command line, one per job: -n, -N, -L, -X, \
                     -m, --xargs and -s cannot put several in one job"
                );
            }
            // GNU: without a command, each item is a command line. Asked
            // for, so run as code on purpose: as the item, not as text
            // pasted into a line. With `-q` (GNU's --quote) it is quoted:
            // the item is a program's name.
            command = if quote {
                vec![OsString::from("{}")]
            } else {
                gnu::ITEM_AS_COMMAND.iter().map(OsString::from).collect()
            };
            force_shell = false;
        }
        if command.is_empty() {
            bail!("no command given (usage: fanout [OPTIONS] COMMAND [ARGS...] [::: ITEMS...])");
        }
        let gnu = gnu_input(&args.input)?;
        let null = args.input.null || gnu.delimiter.as_deref() == Some(b"\0");
        let csv = args.input.csv.then_some(FormatArg::Csv);
        let format_given = FormatGiven {
            null,
            format: args.input.format.or(csv),
            ..FormatGiven::from(&args.input)
        };
        let inputs = std::mem::take(&mut args.input.input);
        let (source, more_sources) = sources(groups, inputs)?;
        if let Some(spec) = &pipe {
            refuse_with_pipe(&args.input, spec, &source, more_sources.len())?;
        }
        let header = match pipe {
            Some(_) => false,
            None => header(args.input.header.as_deref())?,
        };
        let format = if gnu.delimiter.is_some() && !null {
            Format::Lines
        } else {
            format(format_given, &source, &more_sources, dialect)?
        };
        let delimiter = gnu.delimiter.filter(|_| !null);
        if !gnu.rules.is_default() && !matches!(format, Format::Lines | Format::Null) {
            bail!(
                "-E/--eof, -r and --trim apply to lines, NUL records, -d records and `:::` items, \
                 not --format {}",
                format.as_str()
            );
        }
        // GNU: `--header` splits at a tab when no --colsep is given.
        let given_colsep = match args.input.colsep {
            None if header && !format.has_header() => Some("\t".to_owned()),
            given => given,
        };
        let colsep = colsep(given_colsep, format)?;
        if args.input.shuf && args.exec.shard.is_some() {
            bail!(
                "--shuf cannot be combined with --shard: each shard would shuffle its own way, \
                 and items would be run twice or never"
            );
        }
        let (shard, shard_from) = shard_of(&args.exec)?;
        let tty = args.exec.tty;
        let engine = EngineKind::from(args.exec.engine);
        let jobs = jobs(&args.exec, &source, more_sources.is_empty(), engine)?;
        // A job that holds the terminal writes to it directly (GNU's -u).
        let output = if tty || args.output.ungroup {
            OutputMode::Ungroup
        } else if args.output.line_buffer {
            OutputMode::Line
        } else if args.output.group {
            OutputMode::Group
        } else {
            args.output.output.into()
        };
        let grace =
            duration::parse(&args.exec.grace).map_err(|e| anyhow::anyhow!("--grace: {e}"))?;
        let timeout = timeout(args.exec.timeout.as_deref())?;
        let delay = match args.exec.delay.as_deref() {
            Some(text) => Some(duration::parse(text).map_err(|e| anyhow::anyhow!("--delay: {e}"))?)
                .filter(|d| !d.is_zero()),
            None => None,
        };
        let retry = retry_policy(&args.exec, dialect)?;
        let halt = halt_policy(&args.exec)?;
        let when = if args.output.no_progress {
            ProgressArg::Never
        } else if args.output.bar {
            ProgressArg::Always
        } else {
            args.output.progress.unwrap_or(ProgressArg::Auto)
        };
        let tagstring = args.output.tagstring.is_some();
        let progress = progress_mode(
            when,
            output == OutputMode::Ungroup && !args.output.tag && !tagstring,
        );
        let resume_args = args.resume;
        if resume_args
            .events
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-")
            && output == OutputMode::Ungroup
        {
            bail!(
                "--events - writes the event stream to stdout: use --output group or line, not ungroup"
            );
        }
        let journal = match (resume_args.no_journal, resume_args.journal) {
            (true, _) => JournalChoice::Off,
            (false, Some(path)) => JournalChoice::File(path),
            (false, None) => JournalChoice::Implicit,
        };
        let joblog = resume_args.joblog.as_deref().map(JoblogDest::parse);
        if resume_args.no_journal
            && (resume_args.resume || resume_args.retry_failed)
            && joblog.as_ref().and_then(JoblogDest::path).is_none()
        {
            bail!(
                "--no-journal keeps no journal to resume: leave it out, or resume from a GNU joblog with --joblog FILE"
            );
        }
        if joblog == Some(JoblogDest::Stdout)
            && resume_args
                .events
                .as_deref()
                .is_some_and(|p| p.as_os_str() == "-")
        {
            bail!("--joblog - and --events - both write to stdout: give one of them a file");
        }
        let mut reports = resume_args.report;
        let results_dir = match resume_args.results {
            Some(results) => results_target(results, &mut reports)?,
            None => None,
        };
        if tty && results_dir.is_some() {
            bail!(
                "--tty gives jobs the terminal, --results DIR takes their output: give one of them"
            );
        }
        refuse_duplicate_reports(&reports)?;
        let annotations = !resume_args.no_annotations
            && std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        if pipe.is_some() && tty {
            bail!(
                "--tty gives each job the terminal as its stdin, --pipe a block: give one of them"
            );
        }
        if pipe.as_ref().is_some_and(|p| p.round_robin) && retry.is_some() {
            bail!(
                "--retries with --round-robin: a job gets block after block, and its blocks are \
                 not kept to run again (drop --round-robin to retry each block)"
            );
        }
        if pipe.is_some() && resume_args.key.is_some() {
            bail!("--key: with --pipe a block's key is its place in the input (offset and length)");
        }
        Ok(Config {
            pipe,
            batch,
            journal,
            resume: resume_args.resume || resume_args.retry_failed,
            retry_failed: resume_args.retry_failed,
            key: resume_args.key,
            force: resume_args.force,
            reports,
            events: resume_args.events,
            joblog,
            results_dir,
            annotations,
            source,
            more_sources,
            link: args.input.link,
            header,
            format,
            colsep,
            replace: gnu.replace,
            delimiter,
            rules: gnu.rules,
            shuffle: args.input.shuf,
            tagstring: args.output.tagstring,
            command,
            force_shell,
            never_shell: quote && dialect == Dialect::Gnu,
            dialect,
            jobs,
            engine,
            output,
            keep_order: args.output.keep_order,
            tag: args.output.tag || tagstring,
            progress,
            grace,
            timeout,
            delay,
            nice: args.exec.nice,
            retry,
            halt,
            dry_run: args.exec.dry_run,
            print0: args.exec.print0,
            shard,
            shard_from,
            fake_runner: args.exec.debug_fake_runner,
            tty,
            quiet,
            temp_dir: std::env::temp_dir(),
        })
    }
}

/// The input sources, in GNU parallel's order: each `-a FILE` first, then
/// the `:::` and `::::` groups as written; stdin when there is none. The
/// first one streams; the others are returned to be held in memory.
fn sources(groups: Vec<Group>, inputs: Vec<PathBuf>) -> anyhow::Result<(Source, Vec<HeldSource>)> {
    let file = |path: PathBuf| {
        if path.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(path)
        }
    };
    let mut all: Vec<HeldSource> = inputs
        .into_iter()
        .map(|path| HeldSource {
            source: file(path),
            linked: false,
        })
        .collect();
    for group in groups {
        match group.kind {
            GroupKind::Args => all.push(HeldSource {
                source: Source::Args(group.words),
                linked: group.linked,
            }),
            GroupKind::Files => {
                if group.words.is_empty() {
                    bail!("`::::` needs one or more files after it (`-` for stdin)");
                }
                // GNU: `::::+ f g` links each of its files.
                all.extend(group.words.into_iter().map(|path| HeldSource {
                    source: file(PathBuf::from(path)),
                    linked: group.linked,
                }));
            }
        }
    }
    if all.iter().filter(|s| s.source == Source::Stdin).count() > 1 {
        bail!("stdin (`-`) can be only one of the input sources");
    }
    let mut all = all.into_iter();
    let first = all.next().map_or(Source::Stdin, |first| first.source);
    Ok((first, all.collect()))
}

/// `--header :` (GNU's other forms, a regular expression or a number of
/// lines, are not supported).
fn header(given: Option<&str>) -> anyhow::Result<bool> {
    match given {
        None => Ok(false),
        Some(":") => Ok(true),
        Some(other) => bail!(
            "--header `{other}`: only `--header :` is supported (the first value of each source names it)"
        ),
    }
}

/// What the command line says about the format.
#[derive(Debug, Clone, Copy)]
struct FormatGiven {
    null: bool,
    format: Option<FormatArg>,
    colsep: bool,
    header: bool,
}

impl From<&InputArgs> for FormatGiven {
    fn from(input: &InputArgs) -> FormatGiven {
        FormatGiven {
            null: input.null,
            format: input.format,
            colsep: input.colsep.is_some(),
            header: input.header.is_some(),
        }
    }
}

/// The item format: `-0`, `--format`, or told by a file's extension (for a
/// single file without --colsep; not under --gnu: GNU reads every file as
/// lines). Several sources are lines or NUL records.
fn format(
    input: FormatGiven,
    source: &Source,
    more: &[HeldSource],
    dialect: Dialect,
) -> anyhow::Result<Format> {
    let format = if input.null {
        Format::Null
    } else if let Some(format) = input.format {
        format.into()
    } else if let (Source::File(path), [], false, Dialect::Fanout) =
        (source, more, input.colsep, dialect)
    {
        input::detect_format(path).unwrap_or(Format::Lines)
    } else {
        Format::Lines
    };
    let several = !more.is_empty();
    if several && !matches!(format, Format::Lines | Format::Null) {
        bail!(
            "several input sources are read as lines (or NUL records with -0); --format {} needs a single -a FILE or stdin",
            format.as_str()
        );
    }
    if !several
        && matches!(source, Source::Args(_))
        && !matches!(format, Format::Lines | Format::Null)
    {
        bail!(
            "`:::` items are plain values; --format {} needs -a FILE or stdin",
            format.as_str()
        );
    }
    if input.header && format == Format::Jsonl {
        bail!("--header : names lines' columns; JSON lines have field names of their own");
    }
    Ok(format)
}

/// `--colsep`, for the formats that have no columns of their own.
/// `--shard`, `--shard-by` and `--shard-count`: the shard, and where a
/// scheduler's came from. The environment is read only for `--shard env`
/// or a scheduler's name.
fn shard_of(exec: &crate::cli::ExecArgs) -> anyhow::Result<(Option<Shard>, Option<String>)> {
    let by = exec.shard_by.map(|by| match by {
        crate::cli::ShardByArg::Hash => ShardRule::Hash,
        crate::cli::ShardByArg::Slice => ShardRule::Slice,
    });
    let Some(spec) = exec.shard.as_deref() else {
        if by.is_some() || exec.shard_count.is_some() {
            bail!("--shard-by and --shard-count need --shard (e.g. --shard slurm)");
        }
        return Ok((None, None));
    };
    let (shard, from) =
        crate::shard::env::resolve(spec, by, exec.shard_count, &|name| std::env::var(name).ok())
            .map_err(|e| match e.starts_with("--shard") {
                true => anyhow::anyhow!(e),
                false => anyhow::anyhow!("--shard: {e}"),
            })?;
    Ok((Some(shard), from))
}

fn colsep(given: Option<String>, format: Format) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(match given {
        Some(sep) if sep.is_empty() => bail!("--colsep needs a non-empty separator"),
        Some(_) if format.has_header() || format == Format::Jsonl => {
            bail!(
                "--colsep applies to lines and NUL records, not --format {}",
                format.as_str()
            )
        }
        Some(sep) => {
            ColumnSplitter::new(sep.as_bytes()).map_err(|e| anyhow::anyhow!("--colsep: {e}"))?;
            Some(sep.into_bytes())
        }
        None => None,
    })
}

/// xargs's and GNU parallel's input options, checked.
struct GnuInput {
    replace: Option<Vec<u8>>,
    delimiter: Option<Vec<u8>>,
    rules: RecordRules,
}

/// `-I`/`--replace`, `-d`, `-E`/`--eof`, `-r` and `--trim`.
fn gnu_input(input: &crate::cli::InputArgs) -> anyhow::Result<GnuInput> {
    let replace = match input.replace_str.as_ref().or(input.replace.as_ref()) {
        Some(text) if text.is_empty() => bail!("-I/--replace needs a non-empty string"),
        Some(text) => Some(text.clone().into_bytes()),
        None => None,
    };
    let delimiter = input
        .delimiter
        .as_deref()
        .map(input::delimiter::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("-d/--delimiter: {e}"))?;
    // An empty end marker is none, as in GNU parallel and xargs.
    let end_marker = input
        .eof_str
        .as_ref()
        .or(input.eof.as_ref())
        .filter(|text| !text.is_empty())
        .map(|text| text.clone().into_bytes());
    let trim = input::trim::Trim::parse(&input.trim).map_err(|e| anyhow::anyhow!("--trim: {e}"))?;
    Ok(GnuInput {
        replace,
        delimiter,
        rules: RecordRules {
            end_marker,
            blanks: if input.no_run_if_empty {
                Blanks::Skip
            } else {
                Blanks::Keep
            },
            trim,
        },
    })
}

/// The worker count: `-j`, one for `--tty`, no more than the `:::` items.
fn jobs(
    exec: &ExecArgs,
    source: &Source,
    single: bool,
    engine: EngineKind,
) -> anyhow::Result<usize> {
    let mut jobs = parse_jobs(exec.jobs.as_deref())?;
    if engine == EngineKind::Rayon && exec.jobs.as_deref().is_some_and(|j| j.trim() == "0") {
        // As many as possible, for rayon's pool, is its own ceiling.
        jobs = jobs.min(MAX_RAYON_JOBS);
    }
    if exec.tty && exec.jobs.is_some() && jobs != 1 {
        bail!("--tty runs one job at a time: leave out -j/--jobs");
    }
    if exec.tty {
        jobs = 1;
    }
    if let (Source::Args(items), true) = (source, single) {
        // More workers than items would only sit idle.
        jobs = jobs.min(items.len().max(1));
    }
    // With `:::` items the pool is already no bigger than the items.
    if engine == EngineKind::Rayon && jobs > MAX_RAYON_JOBS {
        bail!(
            "-j/--jobs: --engine rayon runs at most {MAX_RAYON_JOBS} threads (its idle threads \
             search every other thread for work, so a bigger pool spends its time searching); \
             the default engine runs up to {MAX_JOBS}"
        );
    }
    Ok(jobs)
}

/// `--timeout`, more than zero.
fn timeout(text: Option<&str>) -> anyhow::Result<Option<Duration>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let t = duration::parse(text).map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    if t.is_zero() {
        bail!("--timeout must be more than 0");
    }
    Ok(Some(t))
}

/// `--halt`, or `--fail-fast` (not both).
fn halt_policy(exec: &ExecArgs) -> anyhow::Result<Option<HaltPolicy>> {
    Ok(match (exec.fail_fast, exec.halt.as_str()) {
        (true, "never") => Some(HaltPolicy::fail_fast()),
        (true, _) => bail!("--fail-fast is --halt soon,fail=1: give one or the other"),
        (false, text) => HaltPolicy::parse(text).map_err(|e| anyhow::anyhow!("--halt: {e}"))?,
    })
}

/// How progress is shown. `raw_output`: `--output ungroup` jobs write
/// straight to fanout's stdout and stderr; at a terminal, bars would be
/// drawn over their output (and it over them), so none are drawn, and
/// `--progress always` gives the plain status lines instead. (`--tag` makes
/// ungroup stream lines through fanout, which the bars can stay above.)
fn progress_mode(when: ProgressArg, raw_output: bool) -> ProgressMode {
    let stderr_tty = std::io::stderr().is_terminal();
    let ci = std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1");
    let bars = stderr_tty && !ci && !raw_output;
    match when {
        ProgressArg::Never => ProgressMode::Off,
        ProgressArg::Auto if bars => ProgressMode::Bars,
        ProgressArg::Auto if ci => ProgressMode::Plain,
        ProgressArg::Auto => ProgressMode::Off,
        ProgressArg::Always if bars => ProgressMode::Bars,
        ProgressArg::Always => ProgressMode::Plain,
    }
}

/// `--results NAME`: a report file when NAME ends in a report format's
/// extension (it joins `reports`), else GNU's directory of outputs.
fn results_target(name: PathBuf, reports: &mut Vec<PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    let text = name.to_string_lossy();
    if text.starts_with("-.") {
        bail!(
            "--results `{text}`: GNU parallel's report on stdout is not supported; write it to a file, or use --events -"
        );
    }
    if text.contains('{') {
        bail!(
            "--results `{text}`: replacement strings in the name are not supported; give a directory (DIR/1/VALUE/stdout) or a report file"
        );
    }
    if text.is_empty() {
        bail!("--results needs a directory or a report file name");
    }
    if ReportFormat::from_path(&name).is_ok() {
        reports.push(name);
        return Ok(None);
    }
    Ok(Some(name))
}

/// Each `--report` needs its own file.
fn refuse_duplicate_reports(reports: &[PathBuf]) -> anyhow::Result<()> {
    for (i, report) in reports.iter().enumerate() {
        if let Some(earlier) = reports[..i].iter().find(|r| same_file(r, report)) {
            bail!(
                "--report `{}` is given twice (also as `{}`): each report needs its own file",
                report.display(),
                earlier.display()
            );
        }
    }
    Ok(())
}

impl Config {
    /// What the journal, reports and event stream are made from.
    pub fn record_options(&self) -> RecordOptions<'_> {
        RecordOptions {
            source: origin(&self.source),
            held: self
                .more_sources
                .iter()
                .map(|s| origin(&s.source))
                .collect(),
            format: self.format,
            command: &self.command,
            force_shell: self.force_shell,
            colsep: self.colsep.as_deref(),
            shard: self.shard.map(|shard| shard.label()),
            shard_from: self.shard_from.as_deref(),
            key: self.key.as_deref(),
            journal: &self.journal,
            resume: self.resume,
            retry_failed: self.retry_failed,
            force: self.force,
            reports: &self.reports,
            events: self.events.as_deref(),
            joblog: self.joblog.as_ref(),
            results_dir: self.results_dir.as_deref(),
        }
    }
}

fn origin(source: &Source) -> InputOrigin<'_> {
    match source {
        Source::Stdin => InputOrigin::Stdin,
        Source::File(path) => InputOrigin::File(path),
        Source::Args(_) => InputOrigin::Args,
    }
}

impl Config {
    /// How several sources are matched up (`--link`, `:::+`).
    pub(crate) fn linking(&self) -> input::Linking {
        if self.link {
            input::Linking::All
        } else {
            let first = std::iter::once(false);
            input::Linking::Nested {
                linked: first
                    .chain(self.more_sources.iter().map(|s| s.linked))
                    .collect(),
            }
        }
    }
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Lines => Format::Lines,
            FormatArg::Null => Format::Null,
            FormatArg::Csv => Format::Csv,
            FormatArg::Tsv => Format::Tsv,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

impl From<EngineArg> for EngineKind {
    fn from(engine: EngineArg) -> EngineKind {
        match engine {
            EngineArg::Threads => EngineKind::Threads,
            EngineArg::Rayon => EngineKind::Rayon,
        }
    }
}

impl From<BackoffArg> for Backoff {
    fn from(backoff: BackoffArg) -> Backoff {
        match backoff {
            BackoffArg::Fixed => Backoff::Fixed,
            BackoffArg::Exp => Backoff::Exp,
        }
    }
}

impl From<OutputArg> for OutputMode {
    fn from(output: OutputArg) -> OutputMode {
        match output {
            OutputArg::Group => OutputMode::Group,
            OutputArg::Line => OutputMode::Line,
            OutputArg::Ungroup => OutputMode::Ungroup,
        }
    }
}

/// The retry policy; `--retries` as the dialect counts it (GNU: attempts).
fn retry_policy(exec: &ExecArgs, dialect: Dialect) -> anyhow::Result<Option<RetryPolicy>> {
    let delay =
        duration::parse(&exec.retry_delay).map_err(|e| anyhow::anyhow!("--retry-delay: {e}"))?;
    let max_delay =
        duration::parse(&exec.max_delay).map_err(|e| anyhow::anyhow!("--max-delay: {e}"))?;
    let on = match &exec.retry_on {
        Some(text) => RetryOn::parse(text).map_err(|e| anyhow::anyhow!("--retry-on: {e}"))?,
        None => RetryOn::all(),
    };
    let retries = dialect.retries(exec.retries);
    if retries == 0 {
        return Ok(None);
    }
    Ok(Some(RetryPolicy {
        retries,
        delay,
        backoff: exec.backoff.into(),
        max_delay,
        on,
    }))
}

/// `--pipe`, `--pipe-part`, `--round-robin` and their options as one
/// spec; with them, `-N` and `-L` count records, not items.
fn pipe_spec(args: &Args) -> anyhow::Result<Option<PipeSpec>> {
    let escaped = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<Vec<u8>>> {
        // Empty is allowed: `--recend ''` means fixed-length records.
        text.as_deref()
            .map(|t| match t {
                "" => Ok(Vec::new()),
                t => input::delimiter::parse(t).map_err(|e| anyhow::anyhow!("{flag}: {e}")),
            })
            .transpose()
    };
    let count = |flag: &str, text: Option<&str>| -> anyhow::Result<Option<u64>> {
        text.map(|t| {
            unit_count(t)
                .map(|n| n as u64)
                .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        })
        .transpose()
    };
    let recend = escaped("--recend", &args.pipe.recend)?;
    let recstart = escaped("--recstart", &args.pipe.recstart)?;
    let spec = PipeSpec::from_options(&PipeOptions {
        pipe: args.pipe.pipe,
        part: args.pipe.pipe_part,
        round_robin: args.pipe.round_robin,
        block: args.pipe.block.as_deref(),
        records: count("-N", args.batch.max_replace_args.as_deref())?,
        lines: count("-L", args.batch.max_lines.as_deref())?,
        recend: recend.as_deref(),
        recstart: recstart.as_deref(),
        null: args.input.null,
        header: args.input.header.as_deref(),
    })?;
    if spec.is_some() {
        let batch = &args.batch;
        for (given, name) in [
            (batch.max_args.is_some(), "-n/--max-args"),
            (batch.context_replace, "-X"),
            (batch.multiple, "-m"),
            (batch.xargs, "--xargs"),
            (batch.max_chars.is_some(), "-s/--max-chars"),
        ] {
            if given {
                bail!(
                    "{name} puts several items on one command line; with --pipe a job gets a \
                     block on stdin (size it with --block, -N or -L)"
                );
            }
        }
    }
    Ok(spec)
}

/// What `--pipe` reads is bytes of one stream or file: the options that
/// make items of it (a format, columns, several sources) do not apply.
fn refuse_with_pipe(
    input: &InputArgs,
    spec: &PipeSpec,
    source: &Source,
    more_sources: usize,
) -> anyhow::Result<()> {
    if matches!(source, Source::Args(_)) || more_sources > 0 {
        bail!(
            "--pipe reads one stream: stdin or a single -a FILE (not `:::` items or several sources)"
        );
    }
    if spec.part && !matches!(source, Source::File(_)) {
        bail!("--pipe-part cuts a regular file in place: give it with -a FILE");
    }
    let format = input
        .format
        .filter(|f| !matches!(f, FormatArg::Lines | FormatArg::Null));
    let in_the_job = "do that in the job, which reads the block's records";
    for (given, name, hint) in [
        (
            format.is_some() || input.csv || input.delimiter.is_some(),
            "--format, --csv and -d",
            "--recend and --recstart say where records end and start, -0 ends them in NUL",
        ),
        (input.colsep.is_some(), "--colsep", in_the_job),
        (input.shuf, "--shuf", in_the_job),
        (input.link, "--link", "--pipe reads one input"),
        (
            input.eof_str.is_some() || input.eof.is_some(),
            "-E/--eof",
            in_the_job,
        ),
        (input.no_run_if_empty, "-r", in_the_job),
        (input.trim != "n", "--trim", in_the_job),
        (
            input.replace_str.is_some() || input.replace.is_some(),
            "-I/--replace",
            "a block has no value to replace; {#} is its number",
        ),
    ] {
        if given {
            bail!("{name}: with --pipe a job gets a block of records on stdin, not items ({hint})");
        }
    }
    Ok(())
}

/// `-n`, `-N`, `-L`, `-X`, `-m`, `--xargs` and `-s` as one spec.
fn batch_spec(args: &crate::cli::BatchArgs) -> anyhow::Result<Option<BatchSpec>> {
    // Together only with --pipe: N records of L lines a block.
    if args.max_lines.is_some() && args.max_replace_args.is_some() {
        bail!(
            "-L and -N both say how many items a job gets: give one (both go together with --pipe)"
        );
    }
    let count = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<usize>> {
        text.as_deref()
            .map(|t| unit_count(t).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .transpose()
    };
    let max_chars = count("-s/--max-chars", &args.max_chars)?;
    if max_chars == Some(0) {
        bail!("-s/--max-chars: the command line needs at least one byte");
    }
    let options = BatchOptions {
        max_args: count("-n/--max-args", &args.max_args)?,
        exact: count("-N", &args.max_replace_args)?,
        lines: count("-L/--max-lines", &args.max_lines)?,
        context: args.context_replace,
        multiple: args.multiple,
        xargs: args.xargs,
        max_chars,
    };
    Ok(BatchSpec::from_options(&options))
}

/// A count with GNU's unit suffixes: `k` 1000, `K` 1024, `m` 10^6, `M`
/// 2^20, `g` 10^9, `G` 2^30.
pub fn unit_count(text: &str) -> anyhow::Result<usize> {
    let (digits, factor) = match text.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => {
            let factor: u64 = match unit {
                'k' => 1_000,
                'K' => 1 << 10,
                'm' => 1_000_000,
                'M' => 1 << 20,
                'g' => 1_000_000_000,
                'G' => 1 << 30,
                _ => {
                    bail!("`{text}` is not a count (a number, optionally with k, K, m, M, g or G)")
                }
            };
            (&text[..at], factor)
        }
        _ => (text, 1),
    };
    let n: u64 = digits.parse().map_err(|_| {
        anyhow::anyhow!("`{text}` is not a count (a whole number such as 50 or 10k)")
    })?;
    n.checked_mul(factor)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| anyhow::anyhow!("`{text}` is too large"))
}

/// A `:::` or `::::` group after the command.
#[derive(Debug, Clone, PartialEq)]
struct Group {
    kind: GroupKind,
    /// `:::+` / `::::+`.
    linked: bool,
    /// The arguments (`:::`) or file names (`::::`).
    words: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    /// `:::`: the words are the values.
    Args,
    /// `::::`: each word is a file of values.
    Files,
}

/// Which group a separator word opens, if it is one.
fn separator(word: &OsString) -> Option<(GroupKind, bool)> {
    match word.as_encoded_bytes() {
        b":::" => Some((GroupKind::Args, false)),
        b":::+" => Some((GroupKind::Args, true)),
        b"::::" => Some((GroupKind::Files, false)),
        b"::::+" => Some((GroupKind::Files, true)),
        _ => None,
    }
}

/// Splits `cmd args ::: a b :::: f` into the command (the words before the
/// first separator) and its groups, in order.
fn split_items(words: Vec<OsString>) -> anyhow::Result<(Vec<OsString>, Vec<Group>)> {
    let mut command = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for word in words {
        if let Some((kind, linked)) = separator(&word) {
            groups.push(Group {
                kind,
                linked,
                words: Vec::new(),
            });
        } else if let Some(group) = groups.last_mut() {
            group.words.push(word);
        } else {
            command.push(word);
        }
    }
    Ok((command, groups))
}

fn bad_jobs(text: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "-j/--jobs: `{text}` is not a number of jobs: give N (1 to {MAX_JOBS}), N% of the CPUs, or +N or -N (more or fewer than the CPUs)"
    )
}

/// The most jobs fanout runs at once. Each job holds a worker thread and up
/// to four file descriptors; beyond a few thousand, a machine runs out of
/// processes, descriptors or memory before the jobs gain anything.
pub const MAX_JOBS: usize = 4096;

/// The most threads `--engine rayon` is given: measured, 2,000 `true` jobs
/// take 1.3 s at 256 threads, 3.3 s at 1,024 and over 30 s at 4,000, since
/// rayon's idle threads scan every other thread's queue.
pub const MAX_RAYON_JOBS: usize = 1024;

/// `-j 0`, GNU's "as many as possible": as many jobs as the system's limits
/// allow, as GNU computes them (four file descriptors per job and a reserve,
/// one process per job), at most [`MAX_JOBS`]. The descriptor limit is the
/// hard one, since fanout raises its soft limit to it before the run.
fn as_many_as_possible() -> usize {
    use rustix::process::{Resource, getrlimit};
    const FDS_PER_JOB: u64 = 4;
    const RESERVED_FDS: u64 = 64;
    const RESERVED_PROCESSES: u64 = 16;
    let by_fds = getrlimit(Resource::Nofile).maximum.map_or(u64::MAX, |fds| {
        fds.saturating_sub(RESERVED_FDS) / FDS_PER_JOB
    });
    let by_processes = getrlimit(Resource::Nproc)
        .current
        .map_or(u64::MAX, |n| n.saturating_sub(RESERVED_PROCESSES));
    let most = by_fds.min(by_processes).min(MAX_JOBS as u64).max(1);
    usize::try_from(most).unwrap_or(MAX_JOBS)
}

/// Parses `-j`: `N` (at least 1), `N%` of the CPUs (at least 1), `+N`/`-N`
/// (more or fewer than the CPUs), or `0` (as many as possible, see
/// [`as_many_as_possible`]), at most [`MAX_JOBS`].
pub fn parse_jobs(text: Option<&str>) -> anyhow::Result<usize> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(text) = text else { return Ok(cpus) };
    let parsed = if let Some(percent) = text.strip_suffix('%') {
        let p: f64 = percent.parse().map_err(|_| bad_jobs(text))?;
        if p.is_nan() || p <= 0.0 {
            bail!("-j/--jobs: `{text}` must be more than 0%");
        }
        ((cpus as f64 * p / 100.0).floor() as usize).max(1)
    } else if let Some(more) = text.strip_prefix('+') {
        // GNU: `+N` is N more than the CPUs, `-N` N fewer (at least one).
        cpus.saturating_add(more.parse::<usize>().map_err(|_| bad_jobs(text))?)
    } else if let Some(fewer) = text.strip_prefix('-') {
        cpus.saturating_sub(fewer.parse::<usize>().map_err(|_| bad_jobs(text))?)
            .max(1)
    } else if text.trim() == "0" {
        // GNU: "run as many as possible".
        as_many_as_possible()
    } else {
        text.parse::<usize>().map_err(|_| bad_jobs(text))?
    };
    if parsed == 0 {
        bail!("-j/--jobs: must be at least 1");
    }
    if parsed > MAX_JOBS {
        bail!(
            "-j/--jobs: `{text}` is {parsed} jobs; fanout runs at most {MAX_JOBS} at once \
             (each job needs a thread and file descriptors)"
        );
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(parse_jobs(Some("3")).unwrap(), 3);
        assert_eq!(parse_jobs(None).unwrap(), cpus);
        assert_eq!(parse_jobs(Some("100%")).unwrap(), cpus);
        assert_eq!(parse_jobs(Some("1%")).unwrap(), 1);
        // `-j 0` was refused before issue 10; it is GNU's "as many as
        // possible" now: the system's limits, at most MAX_JOBS.
        let most = parse_jobs(Some("0")).unwrap();
        assert!((1..=MAX_JOBS).contains(&most), "-j 0 gave {most}");
        assert_eq!(most, as_many_as_possible());
        assert!(parse_jobs(Some("x")).is_err());
        assert!(parse_jobs(Some("-5%")).is_err());
        assert_eq!(parse_jobs(Some("4096")).unwrap(), MAX_JOBS);
        assert_eq!(parse_jobs(Some("+2")).unwrap(), cpus + 2);
        assert_eq!(
            parse_jobs(Some("-1")).unwrap(),
            cpus.saturating_sub(1).max(1)
        );
        assert_eq!(parse_jobs(Some("-1000")).unwrap(), 1);
        assert!(parse_jobs(Some("+x")).is_err());
        assert!(parse_jobs(Some("-")).is_err());
        assert!(parse_jobs(Some("4097")).is_err());
        assert!(parse_jobs(Some("1000000")).is_err());
        assert!(parse_jobs(Some("10000000%")).is_err());
    }

    #[test]
    fn results_name_is_a_report_by_extension_else_a_directory() {
        let target = |name: &str| {
            let mut reports = Vec::new();
            results_target(PathBuf::from(name), &mut reports).map(|dir| (dir, reports))
        };
        for report in ["r.csv", "r.TSV", "out/r.json", "r.jsonl", "r.xml"] {
            assert_eq!(target(report).unwrap(), (None, vec![PathBuf::from(report)]));
        }
        for dir in ["out", "out/", "r.csv.d", "res.txt"] {
            assert_eq!(target(dir).unwrap(), (Some(PathBuf::from(dir)), Vec::new()));
        }
        for refused in ["-.csv", "-.json", "my_{}", "out/{1}/", ""] {
            assert!(target(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn items_split() {
        let w = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        let group = |kind, linked, words: &[&str]| Group {
            kind,
            linked,
            words: w(words),
        };
        assert_eq!(
            split_items(w(&["echo", "{}"])).unwrap(),
            (w(&["echo", "{}"]), vec![])
        );
        assert_eq!(
            split_items(w(&["echo", ":::", "a", "b"])).unwrap(),
            (
                w(&["echo"]),
                vec![group(GroupKind::Args, false, &["a", "b"])]
            )
        );
        // Issue 10: several groups are several sources (this was an error,
        // "only one `:::` group is supported").
        assert_eq!(
            split_items(w(&[
                "echo", "{1}", ":::", "a", ":::+", "c", "::::", "f", "g", "::::+", "h", ":::"
            ]))
            .unwrap(),
            (
                w(&["echo", "{1}"]),
                vec![
                    group(GroupKind::Args, false, &["a"]),
                    group(GroupKind::Args, true, &["c"]),
                    group(GroupKind::Files, false, &["f", "g"]),
                    group(GroupKind::Files, true, &["h"]),
                    group(GroupKind::Args, false, &[]),
                ]
            )
        );
    }

    #[test]
    fn sources_in_gnu_order() {
        let w = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        let groups = vec![
            Group {
                kind: GroupKind::Args,
                linked: false,
                words: w(&["a"]),
            },
            Group {
                kind: GroupKind::Files,
                linked: true,
                words: w(&["f", "-"]),
            },
        ];
        // `-a` sources come first, as GNU parallel puts them.
        let (first, more) = sources(groups, vec![PathBuf::from("in")]).unwrap();
        assert_eq!(first, Source::File(PathBuf::from("in")));
        assert_eq!(
            more,
            [
                HeldSource {
                    source: Source::Args(w(&["a"])),
                    linked: false
                },
                HeldSource {
                    source: Source::File(PathBuf::from("f")),
                    linked: true
                },
                HeldSource {
                    source: Source::Stdin,
                    linked: true
                },
            ]
        );
        assert_eq!(sources(vec![], vec![]).unwrap(), (Source::Stdin, vec![]));
        let two_stdins = sources(vec![], vec![PathBuf::from("-"), PathBuf::from("-")]);
        assert!(two_stdins.unwrap_err().to_string().contains("only one"));
        let no_file = vec![Group {
            kind: GroupKind::Files,
            linked: false,
            words: vec![],
        }];
        assert!(sources(no_file, vec![]).is_err());
    }
}

#[cfg(test)]
mod gnu_input_tests {
    //! The xargs and GNU input options, as they resolve.

    use super::*;
    use crate::input::trim::Trim;

    fn config(flags: &[&str]) -> anyhow::Result<Config> {
        let mut argv = vec!["fanout", "--no-progress"];
        argv.extend(flags);
        argv.push("echo");
        let args = Args::try_parse_words(argv).map_err(anyhow::Error::msg)?;
        Config::from_args(args)
    }

    #[test]
    fn input_options_resolve() {
        let c = config(&["-d", "\\0"]).unwrap();
        assert_eq!((c.format, c.delimiter), (Format::Null, None));
        let c = config(&["-d", "\\n"]).unwrap();
        assert_eq!(
            (c.format, c.delimiter),
            (Format::Lines, Some(b"\n".to_vec()))
        );
        let c = config(&["-a", "x.csv", "-d", ";"]).unwrap();
        assert_eq!(
            c.format,
            Format::Lines,
            "-d reads records, whatever the name"
        );
        assert_eq!(config(&["--csv"]).unwrap().format, Format::Csv);
        let c = config(&["-I", "@"]).unwrap();
        assert_eq!(c.replace, Some(b"@".to_vec()));
        assert_eq!(
            config(&["--replace"]).unwrap().replace,
            Some(b"{}".to_vec())
        );
        let c = config(&["-E", "END", "-r", "--trim", "rl"]).unwrap();
        assert_eq!(
            c.rules,
            RecordRules {
                end_marker: Some(b"END".to_vec()),
                blanks: Blanks::Skip,
                trim: Trim::Both,
            }
        );
        assert!(config(&["-E", ""]).unwrap().rules.is_default());
        assert!(config(&["--eof"]).unwrap().rules.is_default());
        assert!(config(&["--plus", "--shuf"]).unwrap().shuffle);
        let c = config(&["--tagstring", "{#}"]).unwrap();
        assert!(c.tag && c.tagstring.as_deref() == Some("{#}"));
    }

    #[test]
    fn input_options_refused() {
        let cases: &[(&[&str], &str)] = &[
            (&["-I", ""], "-I/--replace needs a non-empty string"),
            (&["-d", ""], "-d/--delimiter: the delimiter is empty"),
            (
                &["-d", "\\x"],
                "-d/--delimiter: `\\x`: `\\x` needs one or two hex digits",
            ),
            (
                &["--trim", "x"],
                "--trim: `x` is not one of n, l, r, lr, rl",
            ),
            (
                &["--colsep", "a*"],
                "--colsep: `a*` matches the empty string",
            ),
            (&["--csv", "-r"], "-E/--eof, -r and --trim apply to lines"),
            (&["--format", "jsonl", "--trim", "l"], "not --format jsonl"),
            (
                &["--shuf", "--shard", "1/2"],
                "--shuf cannot be combined with --shard",
            ),
            (&["--csv", "-0"], "cannot be used with"),
            (&["-d", ",", "-0"], "cannot be used with"),
            (&["-I", "@", "--replace=%"], "cannot be used with"),
        ];
        for (flags, want) in cases {
            let err = match config(flags) {
                Ok(_) => panic!("{flags:?} was accepted"),
                Err(err) => format!("{err:#}"),
            };
            assert!(err.contains(want), "{flags:?}: {err}");
        }
    }
}
