//! The `fanout` binary: parse, run, map the result to an exit code (or, for
//! a run interrupted by a signal, die by that signal once all is written).
//! Run under the name `parallel` (a link), it is GNU parallel's drop-in
//! mode, as with `--gnu`, whose usage errors exit 255 as GNU's do.

#![deny(clippy::print_stderr)]

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use fanout::gnu::Dialect;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let by_name = Dialect::of_program(argv.first().map(OsString::as_os_str));
    let parsed = if by_name == Dialect::Gnu {
        parse_as_parallel(&argv)
    } else {
        fanout::cli::Args::try_parse_from(&argv)
    };
    let mut args = match parsed {
        Ok(args) => args,
        Err(err) => {
            // Before parsing succeeds, `--gnu` is only a word on the line.
            let gnu = by_name == Dialect::Gnu || argv.iter().any(|a| a == "--gnu");
            return usage_error(&err, gnu);
        }
    };
    if by_name == Dialect::Gnu {
        args.exec.gnu = true;
    }
    let error_code = if args.exec.gnu {
        fanout::gnu::OTHER_ERROR
    } else {
        fanout::exit::FATAL
    };
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
            ExitCode::from(error_code)
        }
    }
}

/// Under the name `parallel` fanout's subcommands are not there: `parallel
/// man -w ::: ls` runs `man`, as GNU's does.
fn parse_as_parallel(argv: &[OsString]) -> Result<fanout::cli::Args, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let full = fanout::cli::Args::command();
    let bare = clap::Command::new("parallel")
        .version(env!("CARGO_PKG_VERSION"))
        .about(full.get_about().cloned().unwrap_or_default())
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned());
    let matches = bare.try_get_matches_from(argv)?;
    fanout::cli::Args::from_arg_matches(&matches)
}

/// Prints clap's message (help and version on stdout, exit 0) and says how
/// to exit: clap's code, or GNU's 255 for a usage error in the drop-in mode.
fn usage_error(err: &clap::Error, gnu: bool) -> ExitCode {
    let _ = err.print();
    let code = match err.exit_code() {
        0 => 0,
        _ if gnu => fanout::gnu::OTHER_ERROR,
        code => u8::try_from(code).unwrap_or(fanout::exit::FATAL),
    };
    ExitCode::from(code)
}
