//! `--dry-run`: render and print every command that would run; nothing
//! runs, so there is no pool, no journal and no sink. Items pass the same
//! gate and shard filter as in a real run.

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;

use super::Exit;
use super::finish::{Fatal, decide_exit};
use crate::cancel::CancelToken;
use crate::config::Config;
use crate::dispatch::batcher::{Batch, Batcher};
use crate::display::Controls;
use crate::exit;
use crate::input::Reader;
use crate::item::{Item, ItemData};
use crate::journal;
use crate::template::{CommandSpec, Template};

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
    let mut printer = Printer {
        out: BufWriter::with_capacity(256 * 1024, io::stdout().lock()),
        controls,
        end: if config.print0 { b'\0' } else { b'\n' },
        bad: 0,
        input_name: reader.name().to_owned(),
        template,
        jobs: config.jobs as u64,
        failed: None,
    };
    let mut batcher = config
        .batch
        .map(|spec| Batcher::new(template, spec, config.jobs));
    let mut skipped = 0u64;
    for item in reader {
        if cancel.is_stopping() {
            break;
        }
        let mut item = item?;
        // As the dispatcher: keys over the whole input, then the shard.
        let admitted = gate.admit(&mut item);
        if config
            .shard
            .is_some_and(|shard| !shard.takes(item.seq, || gate.shard_hash(&item)))
        {
            continue;
        }
        if let journal::Admit::Refuse(why) = admitted {
            anyhow::bail!(why);
        }
        if matches!(admitted, journal::Admit::Skip(_)) {
            skipped += 1;
            continue;
        }
        let going = match &mut batcher {
            Some(batcher) => batcher.push(item, &mut |batch| printer.batch(&batch)),
            None => printer.item(&item),
        };
        if !going {
            break;
        }
    }
    if let Some(batcher) = &mut batcher {
        batcher.finish(&mut |batch| printer.batch(&batch));
    }
    if let Some(e) = printer.failed.take() {
        return dry_run_write_error(e);
    }
    if let Err(e) = printer.out.flush() {
        return dry_run_write_error(e);
    }
    let bad = printer.bad;
    if skipped > 0 {
        crate::errln!(
            "fanout: dry run: {skipped} item{} not listed: finished in an earlier run (--resume skips {})",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "it" } else { "them" },
        );
    }
    let end = crate::gnu::RunEnd {
        failed: bad,
        failed_jobs: bad,
        halt: None,
        policy: None,
        started_jobs: 0,
    };
    Ok(decide_exit(
        cancel.reason(),
        Fatal::No,
        config.dialect,
        &end,
    ))
}

/// Prints the commands, counting the items that cannot render.
struct Printer<'a, W: Write> {
    out: W,
    controls: Controls,
    end: u8,
    bad: u64,
    input_name: String,
    template: &'a Template,
    jobs: u64,
    /// The first failed write: nothing more is printed.
    failed: Option<io::Error>,
}

impl<W: Write> Printer<'_, W> {
    /// One item's command; says whether to go on.
    fn item(&mut self, item: &Item) -> bool {
        let slot = ((item.seq - 1) % self.jobs) as usize + 1;
        let rendered = match &item.data {
            ItemData::Bad(message) => Err(message.clone()),
            _ => self
                .template
                .render(item, slot)
                .map_err(|m| format!("{}: {m}", item.place(&self.input_name))),
        };
        self.print(rendered, 1)
    }

    /// A job of several items (`-n`, `-X`...); says whether to go on.
    fn batch(&mut self, batch: &Batch) -> bool {
        let slot = ((batch.seq - 1) % self.jobs) as usize + 1;
        let items: Vec<&Item> = batch.items.iter().collect();
        let rendered =
            self.template
                .render_batch(&items, batch.seq, slot)
                .map_err(|e| match &items[e.index].data {
                    ItemData::Bad(message) => message.clone(),
                    _ => format!("{}: {}", items[e.index].place(&self.input_name), e.message),
                });
        self.print(rendered, items.len() as u64)
    }

    fn print(&mut self, rendered: Result<CommandSpec, String>, items: u64) -> bool {
        match rendered {
            Ok(spec) => {
                let mut text = crate::template::display::command_line(&spec, self.controls);
                text.push(self.end);
                if let Err(e) = self.out.write_all(&text) {
                    self.failed = Some(e);
                    return false;
                }
            }
            Err(message) => {
                self.bad += items;
                crate::errln!("fanout: bad input: {message}");
            }
        }
        true
    }
}

fn dry_run_write_error(e: io::Error) -> anyhow::Result<Exit> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Ok(Exit::code(exit::SUCCESS));
    }
    Err(e).context("failed to write to stdout")
}
