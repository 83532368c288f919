//! The `completions` and `man` subcommands: shell completion scripts and
//! the roff man page, generated from the clap definition in [`super`]. The
//! committed scripts in `completions/` are this output (a test keeps them
//! current).

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use super::{Args, Sub};

/// Writes what `sub` asks for to `out` (`merge` is run by `crate::merge`).
pub fn write(sub: Sub, out: &mut impl Write) -> anyhow::Result<()> {
    match sub {
        Sub::Completions { shell } => {
            clap_complete::generate(shell, &mut Args::command(), "fanout", out);
        }
        Sub::Man => {
            clap_mangen::Man::new(Args::command())
                .render(out)
                .context("failed to write the man page")?;
        }
        Sub::Merge(_) | Sub::Submit { .. } => anyhow::bail!("not a generator"),
    }
    Ok(())
}
