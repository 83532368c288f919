// Writes to stderr go through `errln!` (see `stderr`), which cannot panic.
#![cfg_attr(not(test), deny(clippy::print_stderr))]
//! fanout: a parallel batch processor. An item flows one way through one
//! folder per stage; a new input format, placeholder, sink or report format
//! is one new file in its stage's folder.
//!
//! **Configured.** `main` parses the command line (`cli`, the only place
//! that knows clap) and `config` validates and resolves it once into a
//! `Config`, whose `plan` decides how output is captured, ordered, tagged
//! and routed. `app` only wires the run: `setup` opens the reader, the
//! runner and the sinks, `pipeline` starts the threads, `finish` decides the
//! one exit code, `dry_run` renders without running.
//!
//! **Read.** `input` turns a file, stdin or `:::` arguments into
//! `item::Item`s, streaming, one file per format; several sources
//! (`:::`, `::::`, `-a`) become one item per combination, the first
//! source streamed and the others held in memory. The reader thread is
//! also the dispatcher (`dispatch`): it numbers items, keys them and
//! skips what an earlier run finished (the resume gate, built from the
//! `journal`, or from a GNU joblog by seq; `records` opens the journal,
//! reports, joblog and event stream before anything runs), honours `--shard`, the `-k` window and the
//! stop flag, and feeds the workers through a bounded channel; the retry
//! timer hands failed attempts back when their delay is over.
//!
//! **Run.** The `engine`'s workers (explicit threads, or a rayon pool)
//! render the `template` for each item (placeholders, path forms, and
//! shell quoting that keeps item text from ever running as code) and run it
//! through a `job::Runner`: processes in their own groups, supervised for
//! timeouts, signals, terminal stops and leaks. Per-item failure is data,
//! an `outcome::Outcome`, and every finished item travels as an
//! `event::Event` through one result channel.
//!
//! **Recorded and reported.** The `collector` is the single consumer of
//! that channel. It makes each finished item's one `record::ItemRecord`
//! and hands every event to the `sink`s in turn: job output (the `-k`
//! window, tags, then the item's journal line, never before its output),
//! the tally behind the summary, the progress display, the `--events`
//! stream, CI annotations, one sink per `--report` file, GNU's `--joblog`
//! and `--results DIR`. Cancellation
//! (`cancel`) is a value that the signal handlers (`signal`) advance;
//! the exit codes are named in `exit`.

pub mod app;
pub(crate) mod batch;
pub(crate) mod cancel;
pub mod cli;
pub(crate) mod collector;
pub(crate) mod config;
pub(crate) mod dispatch;
pub(crate) mod display;
pub(crate) mod duration;
pub(crate) mod engine;
pub(crate) mod event;
pub mod exit;
pub mod gnu;
pub(crate) mod halt;
pub(crate) mod input;
pub(crate) mod item;
pub(crate) mod job;
pub(crate) mod journal;
pub(crate) mod merge;
pub(crate) mod outcome;
pub(crate) mod pipe;
pub(crate) mod plan;
pub(crate) mod record;
pub(crate) mod records;
pub(crate) mod retry;
pub(crate) mod shard;
pub mod signal;
pub(crate) mod sink;
pub mod stderr;
pub(crate) mod submit;
pub(crate) mod template;
pub(crate) mod time;
