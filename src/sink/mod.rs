//! Sinks: everything that records or shows what happens to items.

pub mod event_stream;
pub mod progress;
pub mod report;
pub mod summary;
