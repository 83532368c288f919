//! Everything a run records beyond the terminal, prepared before it starts:
//! the journal to append to (explicit, or fanout's own in the state
//! directory), what an earlier run already finished (`--resume`,
//! `--retry-failed`, or without a journal a GNU joblog's), the item keys,
//! `--report` files, the `--joblog` and the `--events` stream. Opening them all up front means an unwritable path is an error
//! (exit 2) before any job runs.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::item::Format;
use crate::journal::{self, EarlierRun, Gate, Header, Journal, Keyer, Loaded, Word};
use crate::sink::event_stream::EventWriter;
use crate::sink::joblog::{Joblog, JoblogDest};
use crate::sink::report::Report;
use crate::template::{Schema, ShellMode, Template};

/// Which journal the run keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalChoice {
    /// `--journal FILE`.
    File(PathBuf),
    /// One in the state directory, found or created by fanout.
    Implicit,
    /// `--no-journal`.
    Off,
}

/// Where the items come from, as the journal header names it and as no
/// output may overwrite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOrigin<'a> {
    /// No `-a`, or `-a -`.
    Stdin,
    /// `-a FILE`.
    File(&'a Path),
    /// `:::` arguments.
    Args,
}

/// What the records of a run are made from: the options that choose the
/// journal, reports and event stream, and those that identify the run in a
/// journal header (so a resume finds a journal of the same run).
#[derive(Debug, Clone)]
pub struct RecordOptions<'a> {
    pub(crate) source: InputOrigin<'a>,
    /// The other input sources, after the first; empty for one source.
    pub(crate) held: Vec<InputOrigin<'a>>,
    pub(crate) format: Format,
    /// The command template's words, before any `:::`.
    pub(crate) command: &'a [OsString],
    /// `--shell`.
    pub(crate) force_shell: bool,
    pub(crate) colsep: Option<&'a [u8]>,
    /// `--shard`, as `K/N` or `hash:K/N`.
    pub(crate) shard: Option<String>,
    /// Where a scheduler's shard came from.
    pub(crate) shard_from: Option<&'a str>,
    /// `--key`.
    pub(crate) key: Option<&'a str>,
    pub(crate) journal: &'a JournalChoice,
    /// `--resume` or `--retry-failed`.
    pub(crate) resume: bool,
    pub(crate) retry_failed: bool,
    /// `--force`: resume a journal written for another command.
    pub(crate) force: bool,
    /// `--report` files.
    pub(crate) reports: &'a [PathBuf],
    /// `--events` (`-`: stdout).
    pub(crate) events: Option<&'a Path>,
    /// `--joblog`.
    pub(crate) joblog: Option<&'a JoblogDest>,
    /// `--results DIR`.
    pub(crate) results_dir: Option<&'a Path>,
}

/// The records of one run, ready to use.
pub struct Records {
    /// The journal being appended to.
    pub journal: Option<Journal>,
    /// Decides which items run and gives each its key.
    pub gate: Gate,
    /// `--report` files, opened.
    pub reports: Vec<Report>,
    /// `--events`, opened.
    pub events: Option<EventWriter>,
    /// `--joblog`, opened.
    pub joblog: Option<Joblog>,
}

/// How the input is named in journal headers.
pub fn input_name(source: InputOrigin<'_>) -> String {
    match source {
        InputOrigin::Stdin => "<stdin>".to_owned(),
        InputOrigin::File(path) => path.display().to_string(),
        InputOrigin::Args => ":::".to_owned(),
    }
}

/// How the inputs of a run are named in journal headers, the event stream
/// and reports: the input's name, or for several sources their names
/// joined by spaces (`::: ::: fb`).
pub fn inputs_name(options: &RecordOptions<'_>) -> String {
    std::iter::once(options.source)
        .chain(options.held.iter().copied())
        .map(input_name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `--key` template, parsed whatever the other options (a bad one is
/// an error before anything runs, with `--no-journal` and `--dry-run` too).
fn key_template(options: &RecordOptions<'_>, schema: &Schema) -> anyhow::Result<Option<Template>> {
    options
        .key
        .map(|key| {
            Template::parse(&["key".into(), key.into()], ShellMode::Auto, schema)
                .with_context(|| format!("in --key `{key}`"))
        })
        .transpose()
}

fn cwd_text() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default()
}

/// The header of this run: what identifies it, and what it was given.
fn run_header(options: &RecordOptions<'_>, template: &Template, argv: &[OsString]) -> Header {
    Header {
        kind: "run".to_owned(),
        fanout: env!("CARGO_PKG_VERSION").to_owned(),
        started: crate::time::timestamp(SystemTime::now()),
        command: template.source(),
        input: inputs_name(options),
        format: options.format.as_str().to_owned(),
        key: options.key.map(str::to_owned),
        cwd: cwd_text(),
        argv: argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        words: Some(
            options
                .command
                .iter()
                .map(|w| Word::new(w.as_bytes()))
                .collect(),
        ),
        shell: options.force_shell,
        colsep: options.colsep.map(Word::new),
        shard: options.shard.clone(),
        shard_from: options.shard_from.map(str::to_owned),
        // Where a shard ran: merging shards says which node ran which.
        node: options.shard.as_ref().and_then(|_| node_name()),
    }
}

/// The node this run is on: Slurm's name for it, else the host name.
fn node_name() -> Option<String> {
    if let Some(node) = std::env::var("SLURMD_NODENAME")
        .ok()
        .filter(|n| !n.is_empty())
    {
        return Some(node);
    }
    rustix::system::uname()
        .nodename()
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// What a resume resumes from.
enum Resumed {
    /// A fanout journal, appended to.
    Journal(PathBuf, Box<Loaded>),
    /// A GNU joblog (`--joblog FILE` without `--journal`): items by seq.
    Joblog(journal::JoblogDone),
}

/// The joblog a resume reads: `--joblog FILE` when no `--journal` is
/// given (GNU parallel's `--resume`), also with `--no-journal`.
pub(crate) fn resume_joblog<'a>(options: &RecordOptions<'a>) -> Option<&'a Path> {
    let joblog = options.joblog?.path()?;
    (options.resume && !matches!(options.journal, JournalChoice::File(_))).then_some(joblog)
}

/// `--resume`: finds the journal (or joblog) to resume, loads it and checks
/// that it was written for this run. `None` without `--resume`.
fn load_resume(options: &RecordOptions<'_>, this: &Header) -> anyhow::Result<Option<Resumed>> {
    if !options.resume {
        return Ok(None);
    }
    if let Some(joblog) = resume_joblog(options) {
        if !joblog.exists() {
            crate::errln!(
                "fanout: note: the joblog `{}` does not exist: nothing is skipped, every item runs (and is logged there)",
                joblog.display()
            );
        }
        return Ok(Some(Resumed::Joblog(journal::load_joblog(joblog)?)));
    }
    let state_journals = journal::state_dir().map(|d| journal::journal_dir(&d));
    let path = match options.journal {
        JournalChoice::File(path) => path.clone(),
        _ => state_journals
            .as_deref()
            .and_then(|dir| journal::find_latest(dir, this))
            .with_context(|| {
                let shard = this
                    .shard
                    .as_deref()
                    .map_or(String::new(), |s| format!(" (shard {s})"));
                format!(
                    "no journal of an earlier run of `{}` on `{}`{shard} with these options in this directory to resume (give --journal FILE)",
                    this.command, this.input
                )
            })?,
    };
    // As GNU parallel's --resume with a missing --joblog: nothing has
    // finished yet, so everything runs (and the journal is created).
    let found = if matches!(options.journal, JournalChoice::File(p) if !p.exists()) {
        crate::errln!(
            "fanout: note: the journal `{}` does not exist: nothing is skipped, every item runs (and is journaled there)",
            path.display()
        );
        Loaded::default()
    } else {
        journal::load(&path)?
    };
    check_identity(&found, this, options, &path)?;
    Ok(Some(Resumed::Journal(path, Box::new(found))))
}

/// The gate of `--dry-run`: the same `--key` and `--resume` checks as a
/// real run, and the same items skipped, with nothing opened for writing.
pub fn dry_run_gate(
    options: &RecordOptions<'_>,
    template: &Template,
    schema: &Schema,
) -> anyhow::Result<Gate> {
    let key_template = key_template(options, schema)?;
    let earlier =
        load_resume(options, &run_header(options, template, &[]))?.map(|resumed| match resumed {
            Resumed::Journal(_, loaded) => EarlierRun::Journal(loaded),
            Resumed::Joblog(done) => EarlierRun::Joblog(done),
        });
    let keyed = *options.journal != JournalChoice::Off
        || earlier.is_some()
        || !options.reports.is_empty()
        || options.events.is_some()
        || key_template.is_some();
    Ok(Gate::new(
        keyed.then(|| Keyer::new(key_template)),
        options.key.map(str::to_owned),
        earlier,
        options.retry_failed,
    ))
}

/// Opens the journal, loads what to skip, opens reports and events.
pub fn prepare(
    options: &RecordOptions<'_>,
    template: &Template,
    schema: &Schema,
    argv: &[OsString],
) -> anyhow::Result<Records> {
    refuse_overwriting_input(options)?;
    let header = run_header(options, template, argv);
    let key_template = key_template(options, schema)?;
    let state = journal::state_dir();
    let state_journals = state.as_deref().map(journal::journal_dir);
    let implicit = || {
        state
            .as_deref()
            .zip(state_journals.as_deref())
            .and_then(|(state, dir)| {
                // fanout's own journal must never stop a run: no state
                // directory just means no automatic resume.
                journal::create_private_dir(state, dir).ok()?;
                journal::prune(dir, journal::KEEP_JOURNALS - 1);
                Some(journal::new_journal_path(dir))
            })
    };
    let (path, earlier, resumed_journal) = match load_resume(options, &header)? {
        Some(Resumed::Journal(path, found)) => (Some(path), Some(EarlierRun::Journal(found)), true),
        // A joblog resume keeps a journal of this run, as a run without one.
        Some(Resumed::Joblog(done)) => {
            let path = (*options.journal == JournalChoice::Implicit)
                .then(implicit)
                .flatten();
            (path, Some(EarlierRun::Joblog(done)), false)
        }
        None => {
            let path = match options.journal {
                JournalChoice::File(path) => Some(path.clone()),
                JournalChoice::Off => None,
                JournalChoice::Implicit => implicit(),
            };
            (path, None, false)
        }
    };
    let journal = match (&path, options.journal) {
        (None, _) => None,
        (Some(path), JournalChoice::Implicit) if !resumed_journal => {
            Journal::open(path, &header).ok()
        }
        (Some(path), _) => Some(Journal::open(path, &header)?),
    };
    let reports = options
        .reports
        .iter()
        .map(|path| Report::create(path).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let events = match options.events {
        Some(path) => Some(
            EventWriter::create(path)
                .with_context(|| format!("failed to open the event stream `{}`", path.display()))?,
        ),
        None => None,
    };
    let joblog = options
        .joblog
        .map(|dest| Joblog::open(dest, options.resume))
        .transpose()?;
    if let Some(dir) = options.results_dir {
        fs::create_dir_all(dir).with_context(|| {
            format!(
                "failed to create the --results directory `{}`",
                dir.display()
            )
        })?;
    }
    let keyed = journal.is_some()
        || earlier.is_some()
        || !reports.is_empty()
        || events.is_some()
        || key_template.is_some();
    Ok(Records {
        journal,
        gate: Gate::new(
            keyed.then(|| Keyer::new(key_template)),
            options.key.map(str::to_owned),
            earlier,
            options.retry_failed,
        ),
        reports,
        events,
        joblog,
    })
}

/// Refuses a resume of a journal written for another command or key, unless
/// `--force`. Any run recorded in the journal counts: after a `--force`
/// resume, the journal's earlier command still resumes it.
fn check_identity(
    found: &Loaded,
    this: &Header,
    options: &RecordOptions<'_>,
    path: &Path,
) -> anyhow::Result<()> {
    if options.force || found.headers.is_empty() {
        return Ok(());
    }
    let same: Vec<&Header> = found
        .headers
        .iter()
        .filter(|h| h.same_command(this))
        .collect();
    if same.is_empty() {
        let first = &found.headers[0];
        let shell = |h: &Header| if h.shell { " (--shell)" } else { "" };
        let words = |h: &Header| {
            h.words.as_ref().map_or(String::new(), |w| {
                serde_json::to_string(w).unwrap_or_default()
            })
        };
        // The same text, other words (`echo 'a b'` and `echo a b`): show the words.
        let detail = if first.command == this.command && first.shell == this.shell {
            format!(" (as words: {}, not {})", words(first), words(this))
        } else {
            String::new()
        };
        bail!(
            "the journal `{}` was written for the command `{}`{}, not `{}`{}{detail} (use --force to resume anyway)",
            path.display(),
            first.command,
            shell(first),
            this.command,
            shell(this),
        );
    }
    if !same.iter().any(|h| h.key == this.key) {
        let by = |key: &Option<String>| {
            key.as_deref()
                .map_or("their bytes".to_owned(), |k| format!("--key `{k}`"))
        };
        bail!(
            "the journal `{}` identifies items by {}, this run by {} (use --force to resume anyway)",
            path.display(),
            by(&same[0].key),
            by(&this.key),
        );
    }
    Ok(())
}

/// Refuses (before anything is opened for writing) an output that is the
/// input file, or two outputs that are one file: the same inode (through a
/// symlink, a hard link or another spelling), or the same place for files
/// that do not exist yet.
fn refuse_overwriting_input(options: &RecordOptions<'_>) -> anyhow::Result<()> {
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let JournalChoice::File(path) = options.journal {
        outputs.push(("--journal", path));
    }
    for report in options.reports {
        outputs.push(("--report", report));
    }
    if let Some(events) = options.events.filter(|p| p.as_os_str() != "-") {
        outputs.push(("--events", events));
    }
    if let Some(joblog) = options.joblog.and_then(JoblogDest::path) {
        outputs.push(("--joblog", joblog));
    }
    for held in &options.held {
        refuse_overwriting(&outputs, *held)?;
    }
    refuse_overwriting(&outputs, options.source)
}

/// Refuses an output that is the `source` input file, or two outputs that
/// are one file.
fn refuse_overwriting(outputs: &[(&str, &Path)], source: InputOrigin<'_>) -> anyhow::Result<()> {
    let input = match source {
        InputOrigin::File(path) => fs::metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino(), format!("the input `{}`", path.display()))),
        // Its file, when stdin is redirected from one (`< list.csv`).
        InputOrigin::Stdin => fs::metadata("/dev/stdin")
            .ok()
            .filter(fs::Metadata::is_file)
            .map(|m| (m.dev(), m.ino(), "the input on stdin".to_owned())),
        InputOrigin::Args => None,
    };
    for (i, (flag, path)) in outputs.iter().enumerate() {
        if let (Some((dev, ino, name)), Ok(meta)) = (&input, fs::metadata(path))
            && meta.dev() == *dev
            && meta.ino() == *ino
        {
            bail!(
                "{flag} `{}` is {name}: writing it would destroy the items (give another file)",
                path.display()
            );
        }
        if let Some((other, earlier)) = outputs[..i]
            .iter()
            .find(|(_, earlier)| same_file(earlier, path))
        {
            bail!(
                "{flag} `{}` is the same file as {other} `{}`: give each its own file",
                path.display(),
                earlier.display()
            );
        }
    }
    Ok(())
}

/// Whether two paths name the same file: the same inode when it exists,
/// else the same place (`out.csv` and `./out.csv` are one file).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return x.dev() == y.dev() && x.ino() == y.ino();
    }
    let place = |p: &std::path::Path| {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let parent = std::fs::canonicalize(&parent).unwrap_or(parent);
        (parent, p.file_name().map(ToOwned::to_owned))
    };
    place(a) == place(b)
}
