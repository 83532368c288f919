//! Reading a journal back: finished occurrences per key, and where each
//! record is, so a resume skips what is done without holding records.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::line::{Line, parse_line};
use super::{Header, JournalError};
use crate::record::ItemRecord;

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
            Line::Header(_) | Line::End(_) => Err("a run's header or end, not an item".to_owned()),
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
            Ok(Line::End(_)) => {}
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
