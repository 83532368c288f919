//! The `fanout` binary: parse, run, map the result to an exit code (or, for
//! a run interrupted by a signal, die by that signal once all is written).

#![deny(clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = fanout::cli::Args::parse();
    match fanout::app::run(args) {
        Ok(exit) => {
            if let Some(signal) = exit.signal {
                let _ = std::io::stdout().flush();
                fanout::signal::die_by(signal);
            }
            ExitCode::from(exit.code)
        }
        Err(err) => {
            if fanout::app::is_broken_pipe(&err) {
                return ExitCode::from(fanout::exit::SUCCESS);
            }
            fanout::errln!("fanout: error: {err:#}");
            ExitCode::from(fanout::exit::FATAL)
        }
    }
}
