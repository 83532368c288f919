// Writes to stderr go through `errln!` (see `stderr`), which cannot panic.
#![cfg_attr(not(test), deny(clippy::print_stderr))]
//! fanout: a parallel batch processor.
//!
//! Items flow in one direction. The [`input`] reader turns a file, stdin or
//! `:::` arguments into [`item::Item`]s, streaming, on its own thread, which
//! is also the dispatcher ([`dispatch`]): it numbers items, skips what an
//! earlier run finished ([`resume`], [`journal`]), honours `--shard`, the
//! `-k` window and the stop flag, and hands items to the workers through a
//! bounded channel. The [`engine`]'s workers (explicit threads, or a rayon
//! pool) render the [`template::Template`] for each item and run it through
//! a [`job::Runner`], which returns an [`outcome::Outcome`]: per-item failure
//! is data. Each worker journals its finished item, then sends it as an
//! [`event::Event`] through one result channel to the [`collector`], the
//! single thread that owns stdout, stderr, progress, reports, the event
//! stream and the summary. Cancellation ([`cancel`]) is a value the signal
//! handlers ([`signal`]) advance. [`app`] wires these together; `main` only
//! maps the result to an exit code.

pub mod app;
pub mod cancel;
pub mod cli;
pub mod collector;
pub mod config;
pub mod dispatch;
pub mod display;
pub mod duration;
pub mod engine;
pub mod event;
pub mod exit;
pub mod halt;
pub mod input;
pub mod item;
pub mod job;
pub mod journal;
pub mod outcome;
pub mod plan;
pub mod record;
pub mod resume;
pub mod retry;
pub mod signal;
pub mod sink;
pub mod stderr;
pub mod template;
