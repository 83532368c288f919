//! `--dry-run`: render and print every command that would run; nothing
//! runs, so there is no pool, no journal and no sink. Items pass the same
//! gate and shard filter as in a real run.

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;

use super::Exit;
use super::finish::{Fatal, decide_exit};
use crate::cancel::CancelToken;
use crate::config::Config;
use crate::display::Controls;
use crate::exit;
use crate::input::{self, Reader};
use crate::item::ItemData;
use crate::journal;
use crate::template::Template;

/// `--dry-run`: render and print every command that would run; nothing
/// runs, so no pool. Items pass the same gate as in a real run: keyed (a
/// `--key` that cannot render makes the item bad input) and, with
/// `--resume`, skipped when the journal records them as finished.
pub(super) fn dry_run(
    config: &Config,
    template: &Template,
    mut gate: journal::Gate,
    reader: Reader,
    cancel: &CancelToken,
) -> anyhow::Result<Exit> {
    // At a terminal, control bytes are shown as `$'...'` escapes (exact in
    // bash and zsh); into a pipe (`| sh`) or with --print0 they stay raw.
    let controls = if !config.print0 && io::stdout().is_terminal() {
        Controls::Escape
    } else {
        Controls::Raw
    };
    let end = if config.print0 { b'\0' } else { b'\n' };
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut bad = 0u64;
    let input_name = reader.name().to_owned();
    let mut skipped = 0u64;
    for item in reader {
        if cancel.is_stopping() {
            break;
        }
        let mut item = item?;
        // As the dispatcher: keys over the whole input, then the shard.
        let admitted = gate.admit(&mut item);
        if config.shard.is_some_and(|shard| !shard.contains(item.seq)) {
            continue;
        }
        if matches!(admitted, journal::Admit::Skip(_)) {
            skipped += 1;
            continue;
        }
        let slot = ((item.seq - 1) % config.jobs as u64) as usize + 1;
        let rendered = match &item.data {
            ItemData::Bad(message) => Err(message.clone()),
            _ => template
                .render(&item, slot)
                .map_err(|m| format!("{}: {m}", input::place(&input_name, item.line))),
        };
        match rendered {
            Ok(spec) => {
                let mut text = crate::template::display::command_line(&spec, controls);
                text.push(end);
                if let Err(e) = out.write_all(&text) {
                    return dry_run_write_error(e);
                }
            }
            Err(message) => {
                bad += 1;
                crate::errln!("fanout: bad input: {message}");
            }
        }
    }
    if let Err(e) = out.flush() {
        return dry_run_write_error(e);
    }
    if skipped > 0 {
        crate::errln!(
            "fanout: dry run: {skipped} item{} not listed: finished in an earlier run (--resume skips {})",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "it" } else { "them" },
        );
    }
    Ok(decide_exit(cancel.reason(), Fatal::No, bad))
}

fn dry_run_write_error(e: io::Error) -> anyhow::Result<Exit> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Ok(Exit::code(exit::SUCCESS));
    }
    Err(e).context("failed to write to stdout")
}
