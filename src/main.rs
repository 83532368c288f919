//! The `fanout` binary: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = fanout::cli::Args::parse();
    match fanout::app::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if fanout::app::is_broken_pipe(&err) {
                return ExitCode::from(fanout::exit::SUCCESS);
            }
            eprintln!("fanout: error: {err:#}");
            ExitCode::from(fanout::exit::FATAL)
        }
    }
}
