//! The journal: a crash-safe, append-only JSON-lines record of finished
//! items, and what `--resume` reads back. One line is appended per item as it
//! reaches its final outcome, in a single `write` on an `O_APPEND` file, so a `kill -9` at any moment loses at most the line being written;
//! [`load`] tolerates such a torn last line and names any other bad line.
//!
//! Each run starts with a header line (fanout version, the command's exact
//! words, input, format, key template, column separator, shard, working
//! directory). An item's key is a hash of its bytes (or of
//! its `--key` rendering); duplicate lines share a key and the journal counts
//! their finished occurrences, so duplicates are distinct items, reordered,
//! appended or removed lines resume correctly, and keys cost no memory per
//! item.
//!
//! The collector appends an item's line once the item's output has been
//! written and flushed (an item whose output could not be written gets no
//! line, so `--resume` runs it again); the worker that ran it waits for
//! that before it takes another item (an item with no output at all is
//! journaled by its worker at once), so after a `kill -9` at most one item
//! per worker can run again on resume (with `-k`, the items in the reorder
//! window). A run holds a shared `flock` on its journal, and [`prune`]
//! skips journals so held. Journals are created 0600, state directories
//! 0700: they hold every item's text.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::item::Item;
use crate::record::{ItemRecord, Status};
use crate::template::Template;

/// How many journals fanout keeps in its state directory.
pub const KEEP_JOURNALS: usize = 20;

/// The first line of each run in a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always "run".
    #[serde(rename = "type")]
    pub kind: String,
    /// The fanout version that wrote it.
    pub fanout: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// The command template, as given.
    pub command: String,
    /// The input: a path, `<stdin>` or `:::`.
    pub input: String,
    /// The input format.
    pub format: String,
    /// The `--key` template, if any.
    pub key: Option<String>,
    /// The working directory.
    pub cwd: String,
    /// The full command line, for the resume hint.
    pub argv: Vec<String>,
    /// The command's exact words (`command` joins them with spaces, which
    /// loses where words end). Absent in journals of fanout before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<Word>>,
    /// `--shell`.
    #[serde(default)]
    pub shell: bool,
    /// `--colsep`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colsep: Option<Word>,
    /// `--shard K/N`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl Header {
    /// Whether `other` was written for the same command: the same words
    /// (or, for a journal older than the `words` field, the same text) and
    /// the same `--shell`.
    pub fn same_command(&self, other: &Header) -> bool {
        let words = match (&self.words, &other.words) {
            (Some(a), Some(b)) => a == b,
            _ => self.command == other.command,
        };
        words && self.shell == other.shell
    }

    /// Whether `other` describes the same run: command, input, format, key,
    /// column separator, shard and working directory. `--resume` without
    /// `--journal` looks for such a journal.
    pub fn same_run(&self, other: &Header) -> bool {
        self.same_command(other)
            && self.input == other.input
            && self.format == other.format
            && self.key == other.key
            && self.colsep == other.colsep
            && self.shard == other.shard
            && self.cwd == other.cwd
    }
}

/// A command word or separator, stored losslessly: a JSON string when it
/// is UTF-8, else `{"hex": "..."}` with its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Word {
    /// UTF-8 text.
    Text(String),
    /// Other bytes, hex-encoded.
    Bytes {
        /// Two lowercase hex digits per byte.
        hex: String,
    },
}

impl Word {
    /// The word for `bytes`.
    pub fn new(bytes: &[u8]) -> Word {
        match std::str::from_utf8(bytes) {
            Ok(text) => Word::Text(text.to_owned()),
            Err(_) => Word::Bytes {
                hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }
}

/// One finished item as a journal line: the part of an [`ItemRecord`] a
/// resume needs. `start` and `duration` are the last attempt's.
#[derive(Debug, Serialize, Deserialize)]
struct ItemLine<S> {
    /// Always "item".
    #[serde(rename = "type")]
    kind: S,
    key: S,
    seq: u64,
    item: S,
    outcome: Status,
    exit_code: Option<i32>,
    signal: Option<i32>,
    attempts: u32,
    start: Option<S>,
    duration: f64,
    /// What went wrong, in words, for a failure: what a resumed run
    /// reports for it. Absent in journals of fanout before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<S>,
    /// `failed` when this line replaces an earlier failed record of the
    /// same item (a `--retry-failed` run), so the item is counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaces: Option<Status>,
}

impl<'a> ItemLine<&'a str> {
    fn of(record: &'a ItemRecord) -> ItemLine<&'a str> {
        ItemLine {
            kind: "item",
            key: &record.key,
            seq: record.seq,
            item: &record.item,
            outcome: record.status,
            exit_code: record.exit_code,
            signal: record.signal,
            attempts: record.attempts,
            start: record.attempt_start.as_deref(),
            duration: record.attempt_duration,
            error: (!record.status.is_success()).then_some(record.error.as_str()),
            replaces: record.replaces_failure.then_some(Status::Failed),
        }
    }
}

impl ItemLine<String> {
    /// The record a resumed run reports for the item: the earlier run's.
    fn into_record(self) -> ItemRecord {
        let mut record = ItemRecord {
            seq: self.seq,
            item: self.item,
            key: self.key,
            status: self.outcome,
            exit_code: self.exit_code,
            signal: self.signal,
            attempts: self.attempts,
            start: self.start.clone(),
            duration: self.duration,
            attempt_start: self.start,
            attempt_duration: self.duration,
            stderr_tail: String::new(),
            error: self.error.unwrap_or_default(),
            command: String::new(),
            from_earlier_run: true,
            leaked: false,
            replaces_failure: false,
        };
        record.error = record.describe();
        record
    }
}

/// Journal errors: run-fatal, so they name the file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal cannot be opened, read or written.
    #[error("journal `{path}`")]
    Io {
        /// The journal.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A line other than a torn last one is not a journal entry.
    #[error("journal `{path}` line {line}: not a journal entry ({reason})")]
    Corrupt {
        /// The journal.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What the parser said.
        reason: String,
    },
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// An open journal. Workers append to it through a shared reference: each
/// line is one `write` on an `O_APPEND` file, which the kernel keeps whole
/// and unmixed without any lock of ours.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating) `path` for appending and writes the run header.
    pub fn open(path: &Path, header: &Header) -> Result<Journal, JournalError> {
        let err = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let mut tries = 0;
        let file = loop {
            // It holds every item's text: only its owner may read it.
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(err)?;
            // Held for the whole run (closing the file releases it): pruning
            // never removes a journal a live run holds. Shared, so runs that
            // share a journal still work.
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)
                .map_err(|e| err(e.into()))?;
            // A prune that removed the file while we waited for the lock
            // leaves us an unlinked file: open the path again.
            let (held, named) = (file.metadata().map_err(err)?, fs::metadata(path));
            tries += 1;
            if tries >= 3 || named.is_ok_and(|n| n.dev() == held.dev() && n.ino() == held.ino()) {
                break file;
            }
        };
        cut_torn_tail(&file).map_err(err)?;
        let journal = Journal {
            file,
            path: path.to_owned(),
        };
        journal.append(header).map_err(err)?;
        Ok(journal)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a finished item (nothing for interrupted or never-started ones).
    pub fn record(&self, record: &ItemRecord) -> Result<(), JournalError> {
        if !record.status.is_recorded() {
            return Ok(());
        }
        self.append(&ItemLine::of(record))
            .map_err(|source| JournalError::Io {
                path: self.path.display().to_string(),
                source,
            })
    }

    /// One line, one `write`: with `O_APPEND` a crash never interleaves or
    /// half-writes two lines.
    fn append(&self, value: &impl Serialize) -> io::Result<()> {
        let mut line = Vec::with_capacity(256);
        serde_json::to_writer(&mut line, value)?;
        line.push(b'\n');
        (&self.file).write_all(&line)
    }
}

/// Removes a torn last line (a `kill -9` mid-write): appending after it
/// would turn it into a corrupt line in the middle of the journal.
fn cut_torn_tail(file: &File) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..usize::try_from(end - start).unwrap_or(0)];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            let keep = start + i as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    // No newline at all: the whole file is one torn line.
    file.set_len(0)
}

/// How many finished occurrences of one key a journal records, and where
/// the latest record of each kind is (so a skipped item's outcome can be
/// read back from the file instead of being held in memory).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// Occurrences that succeeded.
    pub ok: u32,
    /// Occurrences whose latest record is a failure.
    pub failed: u32,
    /// Byte offset of the latest successful record.
    pub ok_at: u64,
    /// Byte offset of the latest failed record.
    pub failed_at: u64,
}

impl Done {
    fn is_empty(&self) -> bool {
        self.ok == 0 && self.failed == 0
    }
}

/// What `--resume` does with the next occurrence of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not recorded as finished: run it.
    Run,
    /// Recorded as failed, and `--retry-failed`: run it again.
    Rerun,
    /// Recorded as finished: skip it. The record is the journal line at
    /// this byte offset; `ok` says whether it records a success.
    Skip {
        /// Where the record starts in the journal.
        at: u64,
        /// Whether it records a success.
        ok: bool,
    },
}

/// What a journal says about earlier runs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The last run's header.
    pub header: Option<Header>,
    /// Every run's header, oldest first (a `--force` resume appends one,
    /// and the earlier commands stay able to resume).
    pub headers: Vec<Header>,
    /// Finished occurrences per key. Duplicate items share a key; each
    /// occurrence in the input consumes one record, so the first N
    /// occurrences of an item recorded N times are skipped and the rest run.
    pub done: HashMap<String, Done>,
    /// A torn last line was ignored.
    pub torn: bool,
    /// The journal, open for reading the records of skipped items.
    file: Option<File>,
}

impl Loaded {
    /// Decides the next occurrence of `key`, consuming one record.
    pub fn admit(&mut self, key: &str, retry_failed: bool) -> Admission {
        let Some(done) = self.done.get_mut(key) else {
            return Admission::Run;
        };
        let admission = if done.ok > 0 {
            done.ok -= 1;
            Admission::Skip {
                at: done.ok_at,
                ok: true,
            }
        } else if done.failed > 0 {
            done.failed -= 1;
            if retry_failed {
                Admission::Rerun
            } else {
                Admission::Skip {
                    at: done.failed_at,
                    ok: false,
                }
            }
        } else {
            Admission::Run
        };
        if done.is_empty() {
            // Memory shrinks as the input is read.
            self.done.remove(key);
        }
        admission
    }

    /// The journal entry whose line starts at byte `at` (from
    /// [`Admission::Skip`]). Read from the file, one line at a time, so
    /// resuming holds no record in memory.
    pub fn record_at(&self, at: u64) -> Result<ItemRecord, String> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref().ok_or("the journal is not open")?;
        let mut line = Vec::new();
        let mut chunk = vec![0u8; 4096];
        loop {
            let n = file
                .read_at(&mut chunk, at + line.len() as u64)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &chunk[..n]) {
                line.extend_from_slice(&chunk[..i]);
                break;
            }
            line.extend_from_slice(&chunk[..n]);
            if chunk.len() < 1 << 20 {
                chunk.resize(chunk.len() * 2, 0);
            }
        }
        match parse_line(&line)? {
            Line::Entry(entry) => Ok(entry.into_record()),
            Line::Header(_) => Err("a run header, not an item".to_owned()),
        }
    }
}

/// Reads a journal. A torn last line (no newline at the end, not valid JSON)
/// is ignored; any other bad line is an error naming it.
pub fn load(path: &Path) -> Result<Loaded, JournalError> {
    let name = path.display().to_string();
    let io_err = |source| JournalError::Io {
        path: name.clone(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut loaded = Loaded::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut offset = 0u64;
    loop {
        buf.clear();
        let at = offset;
        let read = reader.read_until(b'\n', &mut buf).map_err(io_err)?;
        if read == 0 {
            break;
        }
        offset += read as u64;
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(text) {
            Ok(Line::Header(header)) => {
                loaded.headers.push(header.clone());
                loaded.header = Some(header);
            }
            Ok(Line::Entry(entry)) => {
                let done = loaded.done.entry(entry.key).or_default();
                if entry.replaces.is_some() {
                    done.failed = done.failed.saturating_sub(1);
                }
                if entry.outcome.is_success() {
                    done.ok += 1;
                    done.ok_at = at;
                } else {
                    done.failed += 1;
                    done.failed_at = at;
                }
            }
            Err(_) if !complete => {
                loaded.torn = true;
                break;
            }
            Err(reason) => {
                return Err(JournalError::Corrupt {
                    path: name,
                    line: line_no,
                    reason,
                });
            }
        }
    }
    loaded.file = Some(reader.into_inner());
    Ok(loaded)
}

enum Line {
    Header(Header),
    Entry(ItemLine<String>),
}

fn parse_line(text: &[u8]) -> Result<Line, String> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind: Kind = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    match kind.kind.as_str() {
        "run" => serde_json::from_slice(text)
            .map(Line::Header)
            .map_err(|e| e.to_string()),
        "item" => serde_json::from_slice(text)
            .map(Line::Entry)
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown entry type `{other}`")),
    }
}

/// Assigns keys: a 128-bit hash of the item's bytes, or its `--key`
/// rendering. Duplicate items share a key and the journal counts their
/// occurrences, so keys cost no memory per item (no table of items seen).
#[derive(Debug)]
pub struct Keyer {
    template: Option<Template>,
}

impl Keyer {
    /// A keyer hashing item bytes, or rendering `template` (`--key`).
    pub fn new(template: Option<Template>) -> Keyer {
        Keyer { template }
    }

    /// The key of an item: the hash of its bytes, or its `--key`
    /// rendering. `Err` says why the `--key` template cannot render for it
    /// (a missing field): such an item is bad input, never keyed by its bytes
    /// behind the user's back.
    pub fn key(&self, item: &Item) -> Result<String, String> {
        let Some(template) = &self.template else {
            return Ok(Keyer::hash(item));
        };
        use std::os::unix::ffi::OsStrExt;
        let spec = template.render(item, 0)?;
        let text = spec.args.first().map(|a| a.as_bytes()).unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The byte hash of an item, whatever the template (the key of an item
    /// whose `--key` cannot render).
    pub fn hash(item: &Item) -> String {
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&item.raw))
    }
}

/// fanout's state directory: `$XDG_STATE_HOME/fanout`, else
/// `~/.local/state/fanout`.
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("fanout"))
}

/// Where journals live inside the state directory.
pub fn journal_dir(state: &Path) -> PathBuf {
    state.join("journals")
}

/// A new journal path for this run in `dir` (time-ordered names).
pub fn new_journal_path(dir: &Path) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    dir.join(format!(
        "run-{}-{:09}-{}.jsonl",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    ))
}

/// The journals in `dir`, newest first.
fn journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("run-") && n.ends_with(".jsonl"))
        })
        .collect();
    // Names start with the time, zero-padded within a second; seconds have
    // the same width for centuries.
    paths.sort();
    paths.reverse();
    paths
}

/// Removes all but the `keep` newest journals in `dir`, except those a live
/// run holds (locked), and makes the others private to their owner (older
/// fanout created them readable by all).
pub fn prune(dir: &Path, keep: usize) {
    use rustix::fs::{FlockOperation, flock};
    use std::os::unix::fs::PermissionsExt;
    for (i, path) in journals(dir).into_iter().enumerate() {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if let Ok(meta) = file.metadata()
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
        }
        // The exclusive lock fails while a run holds its shared one, and
        // keeps a run from starting on the file while it is removed.
        if i >= keep && flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Creates fanout's state directories (`dir` and its parents), private to
/// their owner: the journals in them hold every item's text. Fixes the mode
/// of fanout's own directories made before.
pub fn create_private_dir(state: &Path, dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for own in [state, dir] {
        let meta = fs::metadata(own)?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(own, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The newest journal in `dir` whose first run is the same run as `this`
/// (see [`Header::same_run`]).
pub fn find_latest(dir: &Path, this: &Header) -> Option<PathBuf> {
    journals(dir).into_iter().find(|path| {
        let Ok(file) = File::open(path) else {
            return false;
        };
        let mut first = Vec::new();
        if BufReader::new(file).read_until(b'\n', &mut first).is_err() {
            return false;
        }
        matches!(parse_line(first.trim_ascii_end()), Ok(Line::Header(h)) if h.same_run(this))
    })
}

/// Which of the options that pick the journal a run was given (parsed, not
/// guessed from the words: a command word or an item may be `--resume`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    /// `--resume`.
    pub resume: bool,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// `--journal FILE`.
    pub journal: bool,
}

/// How the printed command continues a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// `--resume`: run what has not finished.
    Resume,
    /// `--retry-failed`: that, and the failed items again.
    RetryFailed,
}

/// The exact command that continues a run: the program name, `--resume`
/// or `--retry-failed` (unless given) and `--journal PATH` (unless given),
/// then the original words. Whether an option was given comes from the
/// parsed arguments ([`Given`]), never from matching words: the command
/// and its `:::` items may hold any word. The new options go right after
/// the program name, where they can be nothing but fanout's options (not
/// the value of another option, not part of the command). Each word is
/// quoted for bash with its bytes intact ([`crate::display::shell_word`]), so the line
/// pastes back into bash as exactly the same arguments.
pub fn resume_command(argv: &[OsString], given: Given, how: Continue, journal: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut words: Vec<Vec<u8>> = Vec::with_capacity(argv.len() + 3);
    words.push(
        argv.first()
            .map_or_else(|| b"fanout".to_vec(), |a| a.as_bytes().to_vec()),
    );
    match how {
        Continue::Resume if !given.resume && !given.retry_failed => {
            words.push(b"--resume".to_vec());
        }
        Continue::RetryFailed if !given.retry_failed => words.push(b"--retry-failed".to_vec()),
        _ => {}
    }
    if !given.journal {
        words.push(b"--journal".to_vec());
        words.push(journal.as_os_str().as_bytes().to_vec());
    }
    let rest = argv.get(1..).unwrap_or_default();
    words.extend(rest.iter().map(|a| a.as_bytes().to_vec()));
    // Words with control bytes or invalid UTF-8 become `$'...'`: exact
    // in bash, and nothing raw reaches the terminal.
    let quoted: Vec<String> = words
        .iter()
        .map(|w| String::from_utf8_lossy(&crate::display::shell_word(w, true)).into_owned())
        .collect();
    quoted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Finished;
    use crate::item::ItemData;
    use crate::outcome::Outcome;
    use std::os::unix::ffi::OsStringExt;

    /// An admission's kind, without where its record is.
    fn kind(a: Admission) -> &'static str {
        match a {
            Admission::Run => "run",
            Admission::Rerun => "rerun",
            Admission::Skip { .. } => "skip",
        }
    }

    fn header() -> Header {
        Header {
            kind: "run".into(),
            fanout: "0.1.0".into(),
            started: "2026-01-01T00:00:00.000Z".into(),
            command: "echo {}".into(),
            input: "<stdin>".into(),
            format: "lines".into(),
            key: None,
            cwd: "/tmp".into(),
            argv: vec!["fanout".into(), "echo".into()],
            words: Some(vec![Word::new(b"echo"), Word::new(b"{}")]),
            shell: false,
            colsep: None,
            shard: None,
        }
    }

    fn finished(key: &str, outcome: Outcome) -> ItemRecord {
        let mut item = Item::plain(1, &b"a"[..]);
        item.key = key.into();
        let mut f = Finished::without_run(0, item, outcome);
        f.attempts = 1;
        ItemRecord::of(&f)
    }

    #[test]
    fn round_trip_and_retry_failed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path, &header()).unwrap();
        j.record(&finished("k1", Outcome::Success)).unwrap();
        j.record(&finished("k2", Outcome::Failed { code: 3 }))
            .unwrap();
        j.record(&finished("k3", Outcome::Interrupted)).unwrap();
        j.record(&finished("k4", Outcome::NotStarted)).unwrap();
        drop(j);
        // A second run appends a header.
        let j = Journal::open(&path, &header()).unwrap();
        j.record(&finished("k5", Outcome::TimedOut)).unwrap();
        drop(j);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.header, Some(header()));
        for retry_failed in [false, true] {
            let mut l = load(&path).unwrap();
            assert_eq!(kind(l.admit("k1", retry_failed)), "skip");
            let want = if retry_failed { "rerun" } else { "skip" };
            assert_eq!(kind(l.admit("k2", retry_failed)), want);
            assert_eq!(
                kind(l.admit("k3", retry_failed)),
                "run",
                "interrupted items run again"
            );
            assert_eq!(
                kind(l.admit("k4", retry_failed)),
                "run",
                "never-started items run again"
            );
            assert_eq!(kind(l.admit("k5", retry_failed)), want);
        }
    }

    #[test]
    fn duplicates_are_counted_and_a_rerun_replaces_its_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path, &header()).unwrap();
        // Input `a a a`: two occurrences finished, one ok, one failed.
        j.record(&finished("a", Outcome::Success)).unwrap();
        j.record(&finished("a", Outcome::Failed { code: 1 }))
            .unwrap();
        drop(j);
        let mut l = load(&path).unwrap();
        assert_eq!(kind(l.admit("a", false)), "skip");
        assert_eq!(kind(l.admit("a", false)), "skip");
        assert_eq!(
            kind(l.admit("a", false)),
            "run",
            "the third occurrence never ran"
        );
        // --retry-failed reruns the failed one; its line replaces the failure.
        let mut l = load(&path).unwrap();
        assert_eq!(kind(l.admit("a", true)), "skip");
        assert_eq!(kind(l.admit("a", true)), "rerun");
        let j = Journal::open(&path, &header()).unwrap();
        let mut again = finished("a", Outcome::Failed { code: 1 });
        again.replaces_failure = true;
        j.record(&again).unwrap();
        drop(j);
        let l = load(&path).unwrap();
        assert_eq!(
            (l.done["a"].ok, l.done["a"].failed),
            (1, 1),
            "still two occurrences, not three"
        );
    }

    #[test]
    fn a_skip_points_at_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path, &header()).unwrap();
        j.record(&finished("k1", Outcome::Success)).unwrap();
        j.record(&finished("k2", Outcome::Failed { code: 3 }))
            .unwrap();
        drop(j);
        let mut l = load(&path).unwrap();
        let Admission::Skip { at, ok: false } = l.admit("k2", false) else {
            panic!("k2 is a recorded failure");
        };
        let record = l.record_at(at).unwrap();
        assert_eq!(
            (record.key.as_str(), record.exit_code, record.error.as_str()),
            ("k2", Some(3), "exit code 3")
        );
        let Admission::Skip { at, ok: true } = l.admit("k1", false) else {
            panic!("k1 is a recorded success");
        };
        assert_eq!(l.record_at(at).unwrap().status, Status::Ok);
    }

    #[test]
    fn torn_last_line_is_tolerated_other_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path, &header()).unwrap();
        j.record(&finished("k1", Outcome::Success)).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"type":"item","key":"k2","se"#).unwrap();
        drop(f);
        let mut loaded = load(&path).unwrap();
        assert!(loaded.torn);
        assert_eq!(kind(loaded.admit("k1", false)), "skip");
        assert_eq!(kind(loaded.admit("k2", false)), "run");
        // The next run cuts the torn line off before appending its header.
        let j = Journal::open(&path, &header()).unwrap();
        j.record(&finished("k3", Outcome::Success)).unwrap();
        drop(j);
        let mut loaded = load(&path).unwrap();
        assert!(!loaded.torn);
        assert_eq!(kind(loaded.admit("k1", false)), "skip");
        assert_eq!(kind(loaded.admit("k3", false)), "skip");
        let mut text = fs::read_to_string(&path).unwrap();
        text.insert_str(0, "garbage\n");
        fs::write(&path, text).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn keys_depend_on_bytes_only() {
        let keyer = Keyer::new(None);
        let a1 = keyer.key(&Item::plain(1, &b"a"[..])).unwrap();
        let b = keyer.key(&Item::plain(2, &b"b"[..])).unwrap();
        let a2 = keyer.key(&Item::plain(3, &b"a"[..])).unwrap();
        assert_eq!(a1, a2, "duplicates share a key; the journal counts them");
        assert_ne!(a1, b);
        assert_eq!(a1.len(), 32);
    }

    #[test]
    fn key_template() {
        use crate::item::Format;
        use crate::template::Schema;
        let headers = vec!["id".to_owned(), "name".to_owned()];
        let schema = Schema {
            format: Format::Csv,
            headers: Some(&headers),
            colsep: false,
        };
        let t = Template::parse(&["key".into(), "{id}".into()], false, &schema).unwrap();
        let keyer = Keyer::new(Some(t));
        let row = |id: &str, name: &str| Item {
            seq: 1,
            line: 2,
            raw: format!("{id},{name}").into_bytes(),
            data: ItemData::Columns(vec![id.into(), name.into()]),
            key: String::new(),
            rerun: false,
        };
        assert_eq!(keyer.key(&row("7", "x")).unwrap(), "7");
        assert_eq!(keyer.key(&row("7", "y")).unwrap(), "7");
        let short = Item {
            data: ItemData::Columns(Vec::new()),
            ..row("", "")
        };
        assert!(
            keyer.key(&short).is_err(),
            "a key that cannot render is an error, not a hash of the bytes"
        );
    }

    #[test]
    fn resume_command_quotes_and_inserts() {
        let argv: Vec<OsString> = ["fanout", "-j2", "sh", "-c", "echo $1", "_", "{}"]
            .iter()
            .map(OsString::from)
            .collect();
        let none = Given::default();
        assert_eq!(
            resume_command(
                &argv,
                none,
                Continue::Resume,
                Path::new("/tmp/my journal.jsonl")
            ),
            "fanout --resume --journal '/tmp/my journal.jsonl' -j2 sh -c 'echo $1' _ '{}'"
        );
        // Words equal to fanout's options, in the command or the items, are
        // not fanout's options; other bytes survive.
        let argv: Vec<OsString> = vec![
            "fanout".into(),
            "-a".into(),
            OsString::from_vec(b"n\xe9.txt".to_vec()),
            "echo".into(),
            "--journal".into(),
            ":::".into(),
            "--resume".into(),
        ];
        assert_eq!(
            resume_command(&argv, none, Continue::RetryFailed, Path::new("j")),
            r"fanout --retry-failed --journal j -a $'n\xe9.txt' echo --journal ::: --resume"
        );
        let argv: Vec<OsString> = ["fanout", "--journal", "j", "echo"]
            .iter()
            .map(OsString::from)
            .collect();
        let given = Given {
            journal: true,
            ..Given::default()
        };
        assert_eq!(
            resume_command(&argv, given, Continue::Resume, Path::new("j")),
            "fanout --resume --journal j echo"
        );
        let given = Given {
            resume: true,
            journal: true,
            ..Given::default()
        };
        assert_eq!(
            resume_command(&argv, given, Continue::RetryFailed, Path::new("j")),
            "fanout --retry-failed --journal j echo"
        );
    }

    #[test]
    fn prune_and_find_latest() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            let path = dir
                .path()
                .join(format!("run-{}-000000000-1.jsonl", 1_700_000_000 + i));
            Journal::open(&path, &cmd(i)).unwrap();
        }
        let found = find_latest(dir.path(), &cmd(3)).unwrap();
        assert!(found.to_string_lossy().contains("1700000003"));
        let mut shard = cmd(3);
        shard.shard = Some("1/2".into());
        assert!(find_latest(dir.path(), &shard).is_none());
        // A live run holds journal 0: pruning keeps it.
        let held = Journal::open(
            &dir.path().join("run-1700000000-000000000-1.jsonl"),
            &cmd(0),
        )
        .unwrap();
        prune(dir.path(), 2);
        assert_eq!(journals(dir.path()).len(), 3);
        assert!(find_latest(dir.path(), &cmd(0)).is_some());
        assert!(find_latest(dir.path(), &cmd(1)).is_none());
        drop(held);
        prune(dir.path(), 2);
        assert!(find_latest(dir.path(), &cmd(0)).is_none());
    }

    fn cmd(i: usize) -> Header {
        let mut h = header();
        h.command = format!("cmd {i}");
        h.words = Some(vec![Word::new(b"cmd"), Word::new(i.to_string().as_bytes())]);
        h
    }

    #[test]
    fn words_are_exact_and_lossless() {
        let mut a = header();
        a.words = Some(vec![
            Word::new(b"echo"),
            Word::new(b"a b"),
            Word::new(b"{}"),
        ]);
        a.command = "echo a b {}".into();
        let mut b = a.clone();
        b.words = Some(vec![
            Word::new(b"echo"),
            Word::new(b"a"),
            Word::new(b"b"),
            Word::new(b"{}"),
        ]);
        assert!(!a.same_command(&b), "the same text, other words");
        let mut old = a.clone();
        old.words = None;
        assert!(old.same_command(&a), "an old journal compares the text");
        let raw = Word::new(b"n\xe9");
        let text = serde_json::to_string(&raw).unwrap();
        assert_eq!(text, r#"{"hex":"6ee9"}"#);
        assert_eq!(serde_json::from_str::<Word>(&text).unwrap(), raw);
        assert_ne!(raw, Word::new("né".as_bytes()));
        // A header without the new fields still reads.
        let line = br#"{"type":"run","fanout":"0.1.0","started":"x","command":"echo {}","input":"<stdin>","format":"lines","key":null,"cwd":"/tmp","argv":[]}"#;
        assert!(
            matches!(parse_line(line), Ok(Line::Header(h)) if h.words.is_none() && h.shard.is_none())
        );
    }
}
