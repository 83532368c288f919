//! The resume gate: gives each item its key, in input order, and decides
//! from the journal of an earlier run whether it runs (`--resume` skips
//! what is done; `--retry-failed` runs recorded failures again). The
//! dispatcher and `--dry-run` pass every item through it. The earlier run
//! is a fanout journal (items known by their keys) or, without one, a GNU
//! joblog (items known by their seq, as GNU parallel knows them).

use super::blocks::FinishedBlocks;
use super::joblog::{JoblogAdmission, JoblogDone};
use super::{Admission, Keyer, Loaded};
use crate::item::{Item, ItemData};
use crate::record::{ItemRecord, Status};

/// Assigns keys in input order and skips what the journal records as done.
pub struct Gate {
    keyer: Option<Keyer>,
    /// `--key`, for messages.
    key_text: Option<String>,
    earlier: Option<EarlierRun>,
    retry_failed: bool,
    /// The blocks the earlier run finished (`--pipe`), made at the first
    /// block.
    blocks: Option<FinishedBlocks>,
}

/// What an earlier run left to resume from.
#[derive(Debug)]
pub enum EarlierRun {
    /// A fanout journal: items by key.
    Journal(Box<Loaded>),
    /// A GNU parallel joblog: items by seq.
    Joblog(JoblogDone),
}

/// What the gate decided for one item.
#[derive(Debug)]
pub enum Admit {
    /// Run it.
    Run,
    /// An earlier run finished it: skip it, reporting this record.
    Skip(Box<ItemRecord>),
    /// It cannot run, nor can anything after it: the earlier run cut the
    /// input into other blocks (`--pipe`). Why, for the error.
    Refuse(String),
}

impl Gate {
    pub(crate) fn new(
        keyer: Option<Keyer>,
        key_text: Option<String>,
        earlier: Option<EarlierRun>,
        retry_failed: bool,
    ) -> Gate {
        Gate {
            keyer,
            key_text,
            earlier,
            retry_failed,
            blocks: None,
        }
    }

    /// A gate that keys nothing and skips nothing.
    #[cfg(test)]
    pub fn open() -> Gate {
        Gate {
            keyer: None,
            key_text: None,
            earlier: None,
            retry_failed: false,
            blocks: None,
        }
    }

    /// Gives `item` its key and decides whether it runs. An item whose
    /// `--key` cannot render becomes bad input naming what is missing (and
    /// is keyed by its bytes, so the journal still tells it apart).
    pub fn admit(&mut self, item: &mut Item) -> Admit {
        if let Some(keyer) = self.keyer.as_ref() {
            self.key(keyer, item);
        }
        let loaded = match self.earlier.as_mut() {
            None => return Admit::Run,
            Some(EarlierRun::Joblog(done)) => {
                return match done.admit(item.seq, self.retry_failed) {
                    JoblogAdmission::Run => Admit::Run,
                    JoblogAdmission::Skip(row) => Admit::Skip(Box::new(row.record(item.seq))),
                };
            }
            Some(EarlierRun::Journal(loaded)) => loaded,
        };
        let admitted = admit_by_key(loaded, item, self.retry_failed);
        if let (Admit::Run, ItemData::Block(block)) = (&admitted, &item.data) {
            let finished = self.blocks.get_or_insert_with(|| {
                FinishedBlocks::from_keys(loaded.done.keys().map(String::as_str))
            });
            let end = block.offset + block.len;
            if let Some((start, stop)) = finished.overlapping(block.offset, end) {
                // It would run bytes that an earlier run finished.
                return Admit::Refuse(format!(
                    "--resume: bytes {}..{end} of the input overlap bytes {start}..{stop}, a \
                     block the journal records as finished: the earlier run cut the input into \
                     other blocks; resume with its --block, -N, -L, --recend, --recstart and \
                     --header (and its -j, when the block size depends on it: --block -N, \
                     --pipe-part)",
                    block.offset
                ));
            }
        }
        admitted
    }

    /// The hash that places `item` in a `--shard hash:K/N`.
    pub fn shard_hash(&self, item: &Item) -> u64 {
        match &self.keyer {
            Some(keyer) => keyer.shard_hash(item),
            None => Keyer::bytes_hash(item),
        }
    }

    fn key(&self, keyer: &Keyer, item: &mut Item) {
        item.key = match keyer.key(item) {
            Ok(key) => key,
            Err(why) => {
                if !matches!(item.data, ItemData::Bad(_)) {
                    let key = self.key_text.as_deref().unwrap_or_default();
                    item.data =
                        ItemData::Bad(format!("line {}: in --key `{key}`: {why}", item.line));
                }
                Keyer::hash(item)
            }
        };
    }
}

/// Decides a keyed item from the journal of an earlier run.
fn admit_by_key(loaded: &mut Loaded, item: &mut Item, retry_failed: bool) -> Admit {
    match loaded.admit(&item.key, retry_failed) {
        Admission::Run => Admit::Run,
        Admission::Rerun => {
            item.rerun = true;
            Admit::Run
        }
        Admission::Skip { at, ok } => {
            // The line was whole when the journal was loaded; if it can
            // no longer be read, the item is still finished: report what
            // the count said.
            let record = loaded.record_at(at).unwrap_or_else(|_| {
                let status = if ok { Status::Ok } else { Status::Failed };
                ItemRecord {
                    seq: item.seq,
                    item: String::from_utf8_lossy(&item.raw).into_owned(),
                    key: item.key.clone(),
                    status,
                    exit_code: None,
                    signal: None,
                    attempts: 0,
                    start: None,
                    duration: 0.0,
                    attempt_start: None,
                    attempt_duration: 0.0,
                    stderr_tail: String::new(),
                    error: if ok {
                        String::new()
                    } else {
                        "failed".to_owned()
                    },
                    command: String::new(),
                    from_earlier_run: true,
                    leaked: false,
                    replaces_failure: false,
                    job: None,
                }
            });
            Admit::Skip(Box::new(record))
        }
    }
}
