//! Reading one shard's journal whole, for `fanout merge`: its first run's
//! header, the final record of every item (a `--retry-failed` line replaces
//! the failure it reran), and how its last run ended.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::line::{Line, RunEndLine, parse_line};
use super::{Header, JournalError};
use crate::record::ItemRecord;

/// One shard's journal, read whole.
#[derive(Debug)]
pub struct ShardJournal {
    /// Its first run's header (a resume appends another of the same run).
    pub header: Header,
    /// How many runs it records (the first and its resumptions).
    pub runs: usize,
    /// Every item's final record, in the order they were written.
    pub records: Vec<ItemRecord>,
    /// How its last run ended; `None`: killed, or still running.
    pub end: Option<RunEndLine>,
}

/// Reads a shard's journal. A torn last line is ignored, as a resume does;
/// any other bad line is an error naming it.
pub fn read_shard(path: &Path) -> Result<ShardJournal, JournalError> {
    let name = path.display().to_string();
    let io_err = |source| JournalError::Io {
        path: name.clone(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut header = None;
    let mut runs = 0;
    let mut records: Vec<Option<ItemRecord>> = Vec::new();
    // Where each key's failed records are, latest last.
    let mut failed: HashMap<String, Vec<usize>> = HashMap::new();
    let mut end = None;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(text) {
            Ok(Line::Header(h)) => {
                runs += 1;
                end = None;
                header.get_or_insert(h);
            }
            Ok(Line::End(e)) => end = Some(e),
            Ok(Line::Entry(entry)) => {
                if entry.replaces.is_some()
                    && let Some(at) = failed.get_mut(&entry.key).and_then(Vec::pop)
                {
                    records[at] = None;
                }
                let record = entry.into_record();
                if !record.status.is_success() {
                    failed
                        .entry(record.key.clone())
                        .or_default()
                        .push(records.len());
                }
                records.push(Some(record));
            }
            Err(_) if !complete => break,
            Err(reason) => {
                return Err(JournalError::Corrupt {
                    path: name,
                    line: line_no,
                    reason,
                });
            }
        }
    }
    let header = header.ok_or_else(|| JournalError::Corrupt {
        path: name.clone(),
        line: 1,
        reason: "no run header: not a fanout journal".to_owned(),
    })?;
    Ok(ShardJournal {
        header,
        runs,
        records: records.into_iter().flatten().collect(),
        end,
    })
}
