//! Wiring the xargs and GNU input options into the reader: `-d` picks the
//! delimited source, `-E`/`-r`/`--trim` become each source's rules, `--shuf`
//! reads everything ahead and shuffles it, and `{##}`/`{0#}` get the number
//! of items: counted ahead for a regular file (read twice, as for the
//! progress total; a CSV/TSV header is no item), taken from the items in
//! memory otherwise (stdin and pipes are read whole first, as GNU parallel
//! does). With several input sources every source is read through the same
//! options, and the numbers are of combinations.

use std::fs::File;
use std::io::Read;

use anyhow::Context;

use crate::cancel::CancelToken;
use crate::config::{Config, Source};
use crate::input::read::CancellableRead;
use crate::input::{self, ColumnSplitter, InputError, Order, Reader, Shape};

/// The compiled `--colsep` (the configuration has checked it).
pub(super) fn column_splitter(config: &Config) -> anyhow::Result<Option<ColumnSplitter>> {
    config
        .colsep
        .as_deref()
        .map(ColumnSplitter::new)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--colsep: {e}"))
}

/// The reader of a file or stdin: `-d` records, or the configured format.
pub(super) fn records(
    read: Box<dyn Read + Send>,
    name: &str,
    config: &Config,
    colsep: Option<ColumnSplitter>,
) -> Result<Reader, InputError> {
    match &config.delimiter {
        Some(delimiter) => Ok(Reader::delimited(read, name, delimiter, colsep)),
        None => Reader::new(read, name, config.format, colsep),
    }
}

/// The reader (its sources already carry their rules), shuffled for
/// `--shuf`: with several sources every combination is made first and the
/// combinations are shuffled, as GNU parallel does. A single source of
/// `:::` items with rules is read ahead (the items are in memory anyway),
/// so that its total, which `-E` and `-r` change, is known.
pub(super) fn arrange(config: &Config, reader: Reader) -> Reader {
    let rules = !config.rules.is_default();
    let single = config.more_sources.is_empty();
    if config.shuffle {
        reader.read_ahead(Order::Shuffled)
    } else if rules && single && matches!(config.source, Source::Args(_)) {
        reader.read_ahead(Order::Input)
    } else {
        reader
    }
}

/// The first of several sources, before it is combined: `:::` values are
/// read ahead (they are in memory anyway), so that their number after
/// `--header :` and the rules, and with it the number of combinations, is
/// known before the run.
pub(super) fn first_of_several(config: &Config, reader: Reader) -> Reader {
    match config.source {
        Source::Args(_) => reader.read_ahead(Order::Input),
        _ => reader,
    }
}

/// How many items `records` counted records of the first source give: less
/// the `--header :` line (a CSV/TSV header is not counted as a record), and
/// for several sources their combinations (`shape`).
pub(super) fn items_of(config: &Config, shape: Option<&Shape>, records: u64) -> u64 {
    let header = u64::from(config.header && !config.format.has_header());
    let values = records.saturating_sub(header);
    shape.map_or(values, |shape| shape.items(values))
}

/// The number of items the run reads, for `{##}` and `{0#}`, and the
/// reader to read them from.
pub(super) fn with_total(
    config: &Config,
    cancel: &CancelToken,
    reader: Reader,
) -> anyhow::Result<(Reader, u64)> {
    if let Some(total) = reader.total() {
        return Ok((reader, total));
    }
    match &config.source {
        Source::Args(items) => {
            let total = items_of(config, reader.shape().as_ref(), items.len() as u64);
            Ok((reader, total))
        }
        Source::File(path) if std::fs::metadata(path).is_ok_and(|m| m.is_file()) => {
            let file = File::open(path)
                .with_context(|| format!("failed to open input `{}`", path.display()))?;
            let total = input::count_items(
                CancellableRead::new(file, cancel.clone()),
                config.format,
                config.delimiter.as_deref(),
                &config.rules,
            )
            .with_context(|| format!("failed to read `{}`", path.display()))?;
            let total = items_of(config, reader.shape().as_ref(), total);
            Ok((reader, total))
        }
        _ => {
            let reader = reader.read_ahead(Order::Input);
            let total = reader.total().unwrap_or(0);
            Ok((reader, total))
        }
    }
}
