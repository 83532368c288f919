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

mod blocks;
mod gate;
mod header;
mod hint;
mod joblog;
mod key;
mod line;
mod load;
mod shards;
mod state;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use gate::{Admit, EarlierRun, Gate};
pub use header::{Header, Word};
pub use hint::{Continue, Given, resume_command};
pub use joblog::{JoblogDone, load_joblog};
pub use key::Keyer;
pub use line::RunEndLine;
pub use load::{Admission, Loaded, load};
pub use shards::{ShardJournal, read_shard};
pub use state::{create_private_dir, find_latest, journal_dir, new_journal_path, prune, state_dir};

use crate::record::ItemRecord;
use line::ItemLine;

/// How many journals fanout keeps in its state directory.
pub const KEEP_JOURNALS: usize = 20;

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

    /// Records the items of one job in one `write` (a torn write loses
    /// only its last line, as for one item).
    pub fn record_all(&self, records: &[ItemRecord]) -> Result<(), JournalError> {
        let mut lines = Vec::with_capacity(records.len() * 200);
        for record in records.iter().filter(|r| r.status.is_recorded()) {
            serde_json::to_writer(&mut lines, &ItemLine::of(record))
                .map_err(|e| self.io_error(io::Error::from(e)))?;
            lines.push(b'\n');
        }
        (&self.file)
            .write_all(&lines)
            .map_err(|source| self.io_error(source))
    }

    fn io_error(&self, source: io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.display().to_string(),
            source,
        }
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

/// Ends the run in the journal at `path` with its end line, in one `write`
/// on the `O_APPEND` file, as every line.
pub fn write_end(path: &Path, end: &RunEndLine) -> Result<(), JournalError> {
    let err = |source| JournalError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = OpenOptions::new().append(true).open(path).map_err(err)?;
    let mut line = serde_json::to_vec(end).map_err(|e| err(e.into()))?;
    line.push(b'\n');
    (&file).write_all(&line).map_err(err)
}

/// Removes a torn last line (a `kill -9` mid-write): appending after it
/// would turn it into a corrupt line in the middle of the journal.
pub(crate) fn cut_torn_tail(file: &File) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Finished;
    use crate::item::Item;
    use crate::item::ItemData;
    use crate::outcome::Outcome;
    use crate::record::Status;
    use crate::template::ShellMode;
    use crate::template::Template;
    use line::{Line, parse_line};
    use state::journals;
    use std::ffi::OsString;
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
        Header::example()
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
            batch: false,
            sources: 1,
        };
        let t = Template::parse(&["key".into(), "{id}".into()], ShellMode::Auto, &schema).unwrap();
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
