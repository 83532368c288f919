//! fanout's integration tests: one binary that drives the real `fanout`
//! executable with real child processes. `util/` is the harness (sandbox,
//! fanout builder, process checks, pseudo-terminal runner); each other
//! module covers one part of the contract in `DESIGN.md`.
//!
//! No test synchronises on time: jobs and tests meet through files in a
//! sandbox directory, and every wait has a generous safety-net deadline
//! ([`util::DEADLINE`]) that only a broken fanout ever reaches.

mod util;

mod batches;
mod cli;
mod crash;
mod formats;
mod gnu;
mod gnu_compat;
mod gnu_files;
mod input_options;
mod integrity;
mod journal;
mod merge;
mod output;
mod pipe;
mod reports;
mod resumed;
mod safety;
mod shard;
mod signals;
mod slurm;
mod sources;
mod submit;
mod supervision;
mod tty;
