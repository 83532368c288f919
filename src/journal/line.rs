//! The journal's item line: the part of an [`ItemRecord`] a resume needs,
//! written from the record and read back into one.

use serde::{Deserialize, Serialize};

use super::Header;
use crate::record::{ItemRecord, Status};

/// One finished item as a journal line: the part of an [`ItemRecord`] a
/// resume needs. `start` and `duration` are the last attempt's.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ItemLine<S> {
    /// Always "item".
    #[serde(rename = "type")]
    pub(super) kind: S,
    pub(super) key: S,
    pub(super) seq: u64,
    pub(super) item: S,
    pub(super) outcome: Status,
    pub(super) exit_code: Option<i32>,
    pub(super) signal: Option<i32>,
    pub(super) attempts: u32,
    pub(super) start: Option<S>,
    pub(super) duration: f64,
    /// What went wrong, in words, for a failure: what a resumed run
    /// reports for it. Absent in journals of fanout before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<S>,
    /// `failed` when this line replaces an earlier failed record of the
    /// same item (a `--retry-failed` run), so the item is counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) replaces: Option<Status>,
    /// The job that ran it, when jobs run several items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) job: Option<u64>,
}

impl<'a> ItemLine<&'a str> {
    pub(super) fn of(record: &'a ItemRecord) -> ItemLine<&'a str> {
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
            job: record.job,
        }
    }
}

impl ItemLine<String> {
    /// The record a resumed run reports for the item: the earlier run's.
    pub(super) fn into_record(self) -> ItemRecord {
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
            job: self.job,
        };
        record.error = record.describe();
        record
    }
}

/// The line each run ends its journal with: how it ended. A journal whose
/// last run has none was killed, or is still running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEndLine {
    /// Always "end".
    #[serde(rename = "type")]
    pub kind: String,
    /// When the run ended (RFC 3339).
    pub finished: String,
    /// "done", "failed", "interrupted by SIGINT", "halted: ...".
    pub status: String,
    /// The run's exit code.
    pub exit_code: i32,
    /// Every item of the run's input (its shard) reached an outcome: the
    /// input was read to its end and nothing stopped the run.
    pub complete: bool,
}

pub(super) enum Line {
    Header(Header),
    Entry(ItemLine<String>),
    End(RunEndLine),
}

pub(super) fn parse_line(text: &[u8]) -> Result<Line, String> {
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
        "end" => serde_json::from_slice(text)
            .map(Line::End)
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown entry type `{other}`")),
    }
}
