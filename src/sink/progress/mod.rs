//! The progress display as a sink: bars at a terminal, a plain status line
//! elsewhere (see [`display`]).

mod display;

pub use display::*;
