//! Journals and other JSON-lines files (reports, the event stream) read
//! back: every line parsed, a line that is not JSON failing the test.

use std::fs;
use std::path::Path;

use serde_json::Value;

/// Whether the last line of a journal may be cut short: after `kill -9`,
/// or while a run is still writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastLine {
    Whole,
    MayBeTorn,
}

/// Every line of a JSON-lines text, parsed; a line that is not JSON fails
/// the test, naming it.
#[track_caller]
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {l:?}\n{text}", i + 1))
        })
        .collect()
}

/// Every line of the journal at `path`, parsed; a line that is not JSON
/// fails the test (naming it), except a torn last line when `last` allows.
#[track_caller]
pub fn journal_at(path: &Path, last: LastLine) -> Vec<Value> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let text = String::from_utf8_lossy(&bytes);
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut values = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => values.push(v),
            Err(_) if last == LastLine::MayBeTorn && !complete && i + 1 == lines.len() => {}
            Err(e) => panic!(
                "journal {} line {} is not JSON ({e}): {line:?}\n--- journal ---\n{text}",
                path.display(),
                i + 1
            ),
        }
    }
    values
}

/// The items that journal lines record as succeeded, sorted (an item
/// recorded twice appears twice).
pub fn ok_items(lines: &[Value]) -> Vec<String> {
    let mut items: Vec<String> = lines
        .iter()
        .filter(|v| v["type"] == "item" && v["outcome"] == "ok")
        .map(|v| v["item"].as_str().expect("an item string").to_owned())
        .collect();
    items.sort();
    items
}
