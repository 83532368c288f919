#![warn(missing_docs)]
//! fanout: a parallel batch processor.
//!
//! Items flow in one direction. The [`input`] reader turns a file, stdin or
//! `:::` arguments into [`item::Item`]s, streaming. The dispatcher (in
//! [`engine`]) hands them to N workers through a bounded channel, stopping when
//! the [`cancel::CancelToken`] says so. Each worker renders the
//! [`template::Template`] for its item and runs it through a [`job::Runner`],
//! which returns an [`outcome::Outcome`]: per-item failure is data. Every
//! outcome travels as an [`event::Event`] through one result channel to the
//! [`collector`], the single thread that owns stdout, stderr, progress and the
//! summary. [`app`] wires these together; `main` only maps the result to an
//! exit code.

pub mod app;
pub mod cancel;
pub mod cli;
pub mod collector;
pub mod config;
pub mod dispatch;
pub mod duration;
pub mod engine;
pub mod event;
pub mod events;
pub mod exit;
pub mod halt;
pub mod input;
pub mod item;
pub mod job;
pub mod journal;
pub mod outcome;
pub mod progress;
pub mod report;
pub mod resume;
pub mod retry;
pub mod signal;
pub mod summary;
pub mod template;
