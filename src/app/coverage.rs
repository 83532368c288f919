//! `fanout merge -a FILE`: the input read again as the shards read it (the
//! command line in their journal's header, with FILE as its input), each
//! item keyed as the shards keyed it, so the merge can say which items are
//! in no shard's journal, or in two.

use std::path::Path;

use anyhow::Context;
use clap::Parser;

use super::setup;
use crate::cancel::CancelToken;
use crate::cli::Args;
use crate::config::Config;
use crate::journal::{Header, Keyer};
use crate::merge::InputItem;
use crate::template::{Schema, ShellMode, Template};

/// Every item of `input` with the key the shards gave it.
pub(super) fn input_items(header: &Header, input: &Path) -> anyhow::Result<Vec<InputItem>> {
    let mut args = Args::try_parse_from(&header.argv).map_err(|e| {
        anyhow::anyhow!(
            "-a {}: the shards' command line in their journal cannot be read again: {}",
            input.display(),
            e.to_string().lines().next().unwrap_or_default()
        )
    })?;
    args.input.input = vec![input.to_owned()];
    args.exec.shard = None;
    args.exec.shard_by = None;
    args.exec.shard_count = None;
    args.exec.dry_run = true;
    args.resume.resume = false;
    args.resume.retry_failed = false;
    args.resume.report.clear();
    let config = Config::from_args(args).with_context(|| format!("-a {}", input.display()))?;
    let cancel = CancelToken::new().context("failed to set up cancellation")?;
    let reader = setup::open_reader(&config, &cancel)?;
    let headers = reader.headers().map(<[String]>::to_vec);
    let schema = Schema {
        format: config.format,
        headers: headers.as_deref(),
        colsep: config.colsep.is_some(),
        batch: false,
        sources: 1 + config.more_sources.len(),
    };
    let template = config
        .key
        .as_deref()
        .map(|key| {
            Template::parse(&["key".into(), key.into()], ShellMode::Auto, &schema)
                .with_context(|| format!("in --key `{key}`"))
        })
        .transpose()?;
    let keyer = Keyer::new(template);
    let mut items = Vec::new();
    for item in reader {
        let item = item?;
        items.push(InputItem {
            key: keyer.key(&item).unwrap_or_else(|_| Keyer::hash(&item)),
            line: item.line,
            label: item.label(crate::item::LABEL_MAX),
        });
    }
    Ok(items)
}
