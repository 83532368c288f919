//! The command line, as plain clap data: the argument structs and their
//! value enums, which mirror the domain's enums so that nothing past this
//! module names clap. No logic lives here and nothing of the crate is
//! imported: `Config::from_args` (in `config`) validates and resolves the
//! arguments and maps each value enum to its domain type. The completion
//! scripts and the man page are generated from these definitions
//! ([`completions`]).

pub mod completions;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

/// Run a command for every item, in parallel, safely, and never lose a result.
#[derive(Debug, Parser)]
#[command(
    name = "fanout",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Items come from -a FILE, from `::: A B C`, from `:::: FILE`, or from stdin;\n\
several sources give every combination (`:::+`, `::::+`, --link: position by position).\n\
Several words run directly (no shell); one word with shell syntax runs under /bin/sh -c,\n\
with every substituted value quoted. Exit: 0 all ok, 1 some failed, 2 usage or fatal error,\n\
130/143 interrupted by SIGINT/SIGTERM. Under --gnu (or the name `parallel`): GNU parallel's rules."
)]
pub struct Args {
    /// Extra commands (completions, man page).
    #[command(subcommand)]
    pub subcommand: Option<Sub>,

    /// Where items come from and how they are read.
    #[command(flatten)]
    pub input: InputArgs,

    /// How jobs run.
    #[command(flatten)]
    pub exec: ExecArgs,

    /// Several items per job.
    #[command(flatten)]
    pub batch: BatchArgs,

    /// Blocks of the input on each job's stdin.
    #[command(flatten)]
    pub pipe: PipeArgs,

    /// What the user sees.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Journal, resume and reports.
    #[command(flatten)]
    pub resume: ResumeArgs,

    /// The command template, then optionally `::: ITEMS...` and `:::: FILES...` groups.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 1..,
    )]
    pub command: Vec<OsString>,
}

/// `--shard-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShardByArg {
    /// By xxh64 of the item's key bytes.
    Hash,
    /// By input position.
    Slice,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Merge the journals of a batch's shards into one summary, report and exit code.
    Merge(MergeArgs),
    /// Submit the whole batch to a scheduler as an array of shards, then merge.
    Submit {
        /// The scheduler.
        #[command(subcommand)]
        to: SubmitTo,
    },
}

/// `fanout submit`'s schedulers.
#[derive(Debug, Subcommand)]
pub enum SubmitTo {
    /// A Slurm job array: each task runs `fanout --shard slurm` with its own journal.
    Slurm(SlurmArgs),
}

/// `fanout submit slurm`.
#[derive(Debug, ClapArgs)]
pub struct SlurmArgs {
    /// How many array tasks (shards).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub tasks: u64,

    /// An option for sbatch (`--sbatch-arg=--partition=debug`); repeatable.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,

    /// Where the batch script, shard journals and logs go; every node must see it
    /// [default: fanout-slurm-TIME in the current directory].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Print the batch script and submit nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Write the merged report to FILE; repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,

    /// fanout's arguments for each task (after `--`).
    #[arg(value_name = "FANOUT_ARGS", last = true, required = true)]
    pub args: Vec<OsString>,
}

/// `fanout merge`.
#[derive(Debug, ClapArgs)]
pub struct MergeArgs {
    /// Shard journals, or directories whose `*.jsonl` files are shard journals.
    #[arg(value_name = "JOURNAL_OR_DIR", required = true)]
    pub journals: Vec<PathBuf>,

    /// Write the merged report to FILE (.json .jsonl .csv .tsv .xml); repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,

    /// No summary when every shard finished and every item succeeded.
    #[arg(short, long)]
    pub quiet: bool,

    /// The batch's input, read as the shards read it: say which of its items are in
    /// no shard's journal, or in two.
    #[arg(short = 'a', long = "input", value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Input options.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin.
    /// Repeatable: each FILE is another input source (every combination).
    #[arg(short = 'a', long = "input", alias = "arg-file", value_name = "FILE")]
    pub input: Vec<PathBuf>,

    /// Item format [default: by extension (.csv .tsv .jsonl), else lines].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    /// NUL-separated items (same as --format null).
    #[arg(short = '0', long = "null", conflicts_with = "format")]
    pub null: bool,

    /// Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a
    /// regular expression as in GNU parallel (`,` `\t` `' +'`; escape `\|` `\.`).
    #[arg(short = 'C', long, value_name = "SEP", allow_hyphen_values = true)]
    pub colsep: Option<String>,

    // xargs and GNU parallel input options (README: "xargs and GNU input options").
    /// Use STR for the item instead of {} (xargs and GNU parallel -I).
    #[arg(
        short = 'I',
        value_name = "STR",
        conflicts_with = "replace",
        allow_hyphen_values = true
    )]
    pub replace_str: Option<String>,

    /// --replace=STR is -I STR; --replace alone is -I {}.
    #[arg(
        long,
        value_name = "STR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "{}"
    )]
    pub replace: Option<String>,

    /// Items end at DELIM instead of a newline; escapes \n \t \0 \\ \xHH \NNN.
    #[arg(short = 'd', long, value_name = "DELIM", allow_hyphen_values = true, conflicts_with_all = ["null", "format"])]
    pub delimiter: Option<String>,

    /// An item equal to EOF ends the input (xargs and GNU parallel -E).
    #[arg(
        short = 'E',
        value_name = "EOF",
        conflicts_with = "eof",
        allow_hyphen_values = true
    )]
    pub eof_str: Option<String>,

    /// --eof=EOF is -E EOF; --eof alone sets no end marker.
    #[arg(
        long,
        value_name = "EOF",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub eof: Option<String>,

    /// Skip items that are empty or only white space (GNU parallel -r).
    #[arg(short = 'r', long = "no-run-if-empty")]
    pub no_run_if_empty: bool,

    /// Trim white space around each item and column: n (none), l, r, lr.
    #[arg(long, value_name = "n|l|r|lr", default_value = "n")]
    pub trim: String,

    /// CSV input with a header row (same as --format csv).
    #[arg(long, conflicts_with_all = ["format", "null", "delimiter"])]
    pub csv: bool,

    /// Run the items in a random order (reads the whole input first).
    #[arg(long)]
    pub shuf: bool,

    /// GNU parallel's --plus: accepted; {##} and {0#} always work.
    #[arg(long)]
    pub plus: bool,
    /// Link the input sources: the Nth item takes each source's Nth value,
    /// the shorter sources wrapping around (GNU parallel's --link).
    #[arg(long, alias = "xapply")]
    pub link: bool,

    /// `--header :`: the first value of each input source names it (with
    /// --colsep, names its columns), for `{name}` placeholders.
    #[arg(long, value_name = ":")]
    pub header: Option<String>,
}

/// Several items per job (GNU parallel's and xargs's).
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Several items per job")]
pub struct BatchArgs {
    /// Up to N items per job; `{}` stands for all of them, one argument each.
    #[arg(
        short = 'n',
        long = "max-args",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub max_args: Option<String>,

    /// N items per job, `{1}`..`{N}` the job's items (GNU's -N).
    #[arg(
        short = 'N',
        long = "max-replace-args",
        value_name = "N",
        allow_hyphen_values = true,
        conflicts_with_all = ["max_args", "multiple", "xargs"]
    )]
    pub max_replace_args: Option<String>,

    /// N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record.
    #[arg(
        short = 'L',
        long = "max-lines",
        value_name = "N",
        allow_hyphen_values = true,
        conflicts_with = "max_args"
    )]
    pub max_lines: Option<String>,

    /// As many items per job as fit the command-line limit, each word that
    /// holds `{}` repeated per item (GNU's context replace).
    #[arg(short = 'X')]
    pub context_replace: bool,

    /// As many items per job as fit, `{}` standing for all of them (GNU's -m).
    #[arg(short = 'm', conflicts_with = "context_replace")]
    pub multiple: bool,

    /// As many items per job as fit, never spread over the job slots (GNU's --xargs).
    #[arg(long, conflicts_with_all = ["context_replace", "multiple"])]
    pub xargs: bool,

    /// At most N bytes of command line per job (arguments with their NULs).
    #[arg(
        short = 's',
        long = "max-chars",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub max_chars: Option<String>,
}

/// Blocks of the input on each job's stdin (GNU parallel's --pipe).
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Blocks of input on stdin (--pipe)")]
pub struct PipeArgs {
    /// Cut the input (stdin or -a FILE) into blocks of whole records, each one job's
    /// stdin; -N N records a block, -L N lines a record, -0 NUL records.
    #[arg(long, alias = "spreadstdin")]
    pub pipe: bool,

    /// --pipe on the regular file given with -a: blocks go from the file to the
    /// jobs with splice(2), not through fanout (--pipe does this on any regular file).
    #[arg(long = "pipe-part", alias = "pipepart")]
    pub pipe_part: bool,

    /// About SIZE bytes a block (k m g t: powers of 1000, K M G T: of 1024, as GNU);
    /// -N: a file's size over N times -j [default: 1M; with --pipe-part -10].
    #[arg(
        long,
        alias = "block-size",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub block: Option<String>,

    /// What ends a record [default: \n]; escapes \n \t \0 \\ \xHH as in -d.
    #[arg(long, value_name = "STR", allow_hyphen_values = true)]
    pub recend: Option<String>,

    /// What starts a record: blocks are cut only before it (and after --recend).
    #[arg(long, value_name = "STR", allow_hyphen_values = true)]
    pub recstart: Option<String>,

    /// Start only -j jobs and deal the blocks to whichever is ready (for filters
    /// that are slow to start); implies --pipe.
    #[arg(
        long = "round-robin",
        visible_alias = "round",
        alias = "roundrobin",
        conflicts_with = "keep_order"
    )]
    pub round_robin: bool,
}

/// Execution options.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Execution")]
pub struct ExecArgs {
    /// Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs].
    #[arg(
        short = 'j',
        short_alias = 'P',
        long = "jobs",
        alias = "max-procs",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub jobs: Option<String>,

    /// Worker pool.
    #[arg(long, value_enum, default_value = "threads")]
    pub engine: EngineArg,

    /// Run the command under /bin/sh -c even when it has several words.
    #[arg(long)]
    pub shell: bool,

    /// Time limit per attempt: then SIGTERM to the job's process group, and
    /// SIGKILL after --grace.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub timeout: Option<String>,

    /// Run a failed item up to N more times.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_hyphen_values = true,
        value_parser = parse_retries
    )]
    pub retries: u32,

    /// Wait before a retry.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "0s",
        allow_hyphen_values = true
    )]
    pub retry_delay: String,

    /// How the retry delay grows: fixed, or exp (doubling, with jitter).
    #[arg(long, value_enum, default_value = "fixed")]
    pub backoff: BackoffArg,

    /// Longest retry delay.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "5m",
        allow_hyphen_values = true
    )]
    pub max_delay: String,

    /// Retry only these failures: exit codes, `timeout`, `signal`, `any` (comma-separated)
    /// [default: any exit code, timeout, signal].
    #[arg(long, value_name = "LIST")]
    pub retry_on: Option<String>,

    /// Stop early (GNU parallel syntax): never, or now|soon with ,fail=N ,success=N
    /// or ,done=N (N a count or a percentage).
    #[arg(
        long,
        value_name = "WHEN,COUNT=N",
        default_value = "never",
        allow_hyphen_values = true
    )]
    pub halt: String,

    /// Stop at the first failure: --halt soon,fail=1.
    #[arg(long)]
    pub fail_fast: bool,

    /// How long a signalled job gets before SIGKILL.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "10s",
        allow_hyphen_values = true
    )]
    pub grace: String,

    /// Run jobs N steps nicer than fanout (GNU parallel's --nice).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-20..=19))]
    pub nice: Option<i32>,

    /// At least DUR between two job starts (GNU parallel's --delay).
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub delay: Option<String>,

    /// Print the commands that would run, and run nothing.
    #[arg(long, alias = "dryrun")]
    pub dry_run: bool,

    /// With --dry-run: end each command with a NUL byte instead of a newline,
    /// bytes raw (for `xargs -0` and items holding newlines).
    #[arg(long, requires = "dry_run")]
    pub print0: bool,

    /// Run only one shard of the items: K/N or slice:K/N (input positions K,
    /// K+N...), hash:K/N (by the item's key: stable when the input is
    /// reordered or grows), or from a scheduler's environment: env, slurm, sge,
    /// kubernetes, gitlab, circleci, buildkite, azure, aws-batch, gcp-batch,
    /// cloud-run.
    #[arg(long, value_name = "SPEC")]
    pub shard: Option<String>,

    /// The rule for a scheduler's shard (--shard env, slurm...) [default: hash].
    #[arg(long, value_enum, value_name = "RULE")]
    pub shard_by: Option<ShardByArg>,

    /// How many shards there are, when the scheduler's environment does not say
    /// (a Kubernetes Indexed Job's completions).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_count: Option<u64>,

    /// Run each job in the terminal's foreground with the terminal as its
    /// stdin, one at a time (for ssh or sudo prompts); implies -j1 and
    /// --output ungroup.
    #[arg(long)]
    pub tty: bool,

    /// Testing aid: run items with the scripted fake runner, spawning nothing.
    #[arg(long, hide = true)]
    pub debug_fake_runner: bool,

    /// GNU parallel's drop-in mode, also chosen by running fanout under the
    /// name `parallel`: the command words form one shell line (values still
    /// quoted), --retries N counts all N attempts, and the exit status is the
    /// number of failed jobs (101 for more than 100; 255 for an error).
    #[arg(long)]
    pub gnu: bool,

    /// GNU's `--quote` (under --gnu also `-q`): several command words stay
    /// separate arguments, as without --gnu.
    #[arg(long, hide = true)]
    pub quote: bool,
}

/// `--format`: the input formats (`item::Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// One item per line; LF or CRLF endings.
    Lines,
    /// NUL-separated records (`-0`).
    Null,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON value per line.
    Jsonl,
}

/// `--engine`: the worker pools (`engine::EngineKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Explicit worker threads fed by a bounded crossbeam channel.
    Threads,
    /// A rayon thread pool.
    Rayon,
}

/// `--backoff`: how the retry delay grows (`retry::Backoff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackoffArg {
    /// The same delay every time.
    Fixed,
    /// Doubling each time, with jitter, up to `--max-delay`.
    Exp,
}

/// `--output`: how job output is written (`config::OutputMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Each job's stdout, then stderr, written whole when it ends.
    Group,
    /// Whole lines, jobs interleaved, as they are written.
    Line,
    /// Raw: jobs write straight to fanout's stdout and stderr.
    Ungroup,
}

/// `--progress`: when progress is shown (resolved to `config::ProgressMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// Bars when stderr is a terminal, nothing otherwise.
    Auto,
    /// Always: bars on a terminal, a plain status line otherwise (or under CI=true).
    Always,
    /// Never.
    Never,
}

/// Output options.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output grouping.
    #[arg(long, value_enum, default_value = "group", value_name = "MODE")]
    pub output: OutputArg,

    /// Write output in input order (jobs still run in parallel).
    #[arg(short = 'k', long)]
    pub keep_order: bool,

    /// Prefix each output line with the item and a tab.
    #[arg(long)]
    pub tag: bool,

    /// Prefix each output line with STR, its placeholders filled in, and a tab.
    #[arg(long, value_name = "STR", allow_hyphen_values = true)]
    pub tagstring: Option<String>,

    /// Show progress: --progress (always), or --progress=auto|always|never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "always"
    )]
    pub progress: Option<ProgressArg>,

    /// Never show progress.
    #[arg(long, conflicts_with = "progress")]
    pub no_progress: bool,

    /// No summary when every item succeeded.
    #[arg(short, long)]
    pub quiet: bool,

    /// GNU parallel's spellings (README: "Migrating from GNU parallel and xargs"):
    /// `-u`/`--ungroup` is --output ungroup.
    #[arg(short = 'u', long, hide = true, conflicts_with_all = ["line_buffer", "group"])]
    pub ungroup: bool,

    /// `--lb`/`--line-buffer` is --output line.
    #[arg(long, aliases = ["lb", "linebuffer"], hide = true, conflicts_with = "group")]
    pub line_buffer: bool,

    /// `--group` is --output group.
    #[arg(long, hide = true)]
    pub group: bool,

    /// `--bar` and `--eta` are --progress.
    #[arg(long, alias = "eta", hide = true)]
    pub bar: bool,

    /// `--will-cite`: accepted, nothing printed.
    #[arg(long, hide = true)]
    pub will_cite: bool,

    /// `--citation`: accepted, nothing printed.
    #[arg(long, hide = true)]
    pub citation: bool,
}

/// Journal, resume and report options.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Journal and reports")]
pub struct ResumeArgs {
    /// Record every finished item in FILE (JSON lines, appended) [default: a
    /// journal in $XDG_STATE_HOME/fanout/journals].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Keep no journal at all.
    #[arg(long, conflicts_with = "journal")]
    pub no_journal: bool,

    /// Skip items the journal records as finished; run the rest. Without
    /// --journal, the newest journal of the same command, input and directory.
    #[arg(long)]
    pub resume: bool,

    /// Like --resume, but also run the failed items again.
    #[arg(long, visible_alias = "resume-failed")]
    pub retry_failed: bool,

    /// Identify items by this template instead of their bytes (e.g. `{id}`).
    #[arg(long, value_name = "TEMPLATE")]
    pub key: Option<String>,

    /// Resume even though the journal was written for another command.
    #[arg(long)]
    pub force: bool,

    /// Write per-item results to FILE: .csv, .tsv, .jsonl, .json or .xml (JUnit). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,

    /// Write a JSON-lines event stream to FILE (`-`: stdout; job stdout then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// No `::error` annotations for failed items under GitHub Actions.
    #[arg(long)]
    pub no_annotations: bool,

    /// GNU parallel's joblog: a tab-separated row per finished job (`+FILE`
    /// appends, `-` is stdout); without --journal, --resume and
    /// --resume-failed resume from it, by sequence number.
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    pub joblog: Option<PathBuf>,

    /// Save each job's stdout, stderr and seq under DIR in GNU parallel's
    /// layout (DIR/1/VALUE/stdout), instead of printing them; a name ending
    /// in .csv, .tsv, .json, .jsonl or .xml is a --report.
    #[arg(long, alias = "res", value_name = "DIR|FILE")]
    pub results: Option<PathBuf>,
}

impl Args {
    /// Parses a command line (program name first) as `main` does, with the
    /// error as text instead of an exit: for tests of what flags resolve to.
    #[cfg(test)]
    pub(crate) fn try_parse_words<I, T>(words: I) -> Result<Args, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        <Args as Parser>::try_parse_from(words).map_err(|e| e.to_string())
    }
}

/// `--retries N`: a whole number, 0 or more (a negative one gets this
/// message rather than clap's hint to write `-- -1`).
fn parse_retries(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of retries: give a whole number, 0 or more"))
}
