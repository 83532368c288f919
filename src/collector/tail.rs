//! The last lines of a failed job's stderr, for the summary, the reports
//! and the annotations: read from the end of its capture file, or kept from
//! its streamed lines (`--output line`) as they pass.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// How much of a failed job's stderr is read for its tail.
const TAIL_BYTES: u64 = 4096;
/// How many stderr lines a tail keeps.
const TAIL_LINES: usize = 5;
/// Longest stderr line kept in a tail.
const TAIL_LINE_MAX: usize = 200;

/// The tails of running jobs whose stderr is streamed, by ticket.
#[derive(Debug, Default)]
pub struct StreamedTails(HashMap<u64, VecDeque<String>>);

impl StreamedTails {
    /// A job wrote these stderr lines.
    pub fn push(&mut self, ticket: u64, bytes: &[u8]) {
        push_tail(self.0.entry(ticket).or_default(), bytes);
    }

    /// The job's attempt ended: its tail, and forget it.
    pub fn take(&mut self, ticket: u64) -> Option<VecDeque<String>> {
        self.0.remove(&ticket)
    }
}

/// The tail of a failed item: from its capture file if it has one, else
/// from its streamed lines.
pub fn failure_tail(stderr: Option<&File>, streamed: Option<VecDeque<String>>) -> Vec<String> {
    match (stderr, streamed) {
        (Some(file), _) => file_tail(file),
        (None, Some(tail)) => tail.into_iter().collect(),
        (None, None) => Vec::new(),
    }
}

/// The last lines of a capture file, read from its end without moving it.
fn file_tail(file: &File) -> Vec<String> {
    let len = file.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(TAIL_BYTES);
    let mut buf = vec![0u8; (len - from) as usize];
    if file.read_exact_at(&mut buf, from).is_err() {
        return Vec::new();
    }
    let mut tail = VecDeque::new();
    push_tail(&mut tail, &buf);
    tail.into_iter().collect()
}

/// Adds the lines of `bytes` to a bounded tail of non-empty lines.
fn push_tail(tail: &mut VecDeque<String>, bytes: &[u8]) {
    for line in bytes.split(|&b| b == b'\n') {
        let text = crate::item::label(line, TAIL_LINE_MAX);
        if text.trim().is_empty() {
            continue;
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tail_keeps_last_nonempty_lines() {
        let mut tail = VecDeque::new();
        push_tail(&mut tail, b"1\n2\n\n3\n4\n5\n6\n7\n");
        assert_eq!(Vec::from(tail), vec!["3", "4", "5", "6", "7"]);
    }

    #[test]
    fn tail_of_file() {
        let mut file = tempfile::tempfile().unwrap();
        for i in 0..2000 {
            writeln!(file, "line {i}").unwrap();
        }
        assert_eq!(
            file_tail(&file).last().map(String::as_str),
            Some("line 1999")
        );
        assert_eq!(file_tail(&file).len(), TAIL_LINES);
    }
}
