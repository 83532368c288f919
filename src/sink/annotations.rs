//! GitHub Actions annotations: an `::error` workflow command on stderr for
//! each failed item (also one an earlier run recorded), with its stderr
//! tail, so the failure shows on the run's page.

use std::io::{self, Write};

use indicatif::MultiProgress;

use crate::sink::{Control, RunEvent, Sink};

/// The sink that writes annotations.
pub struct Annotations {
    /// The progress bars, moved out of the way of each line.
    bars: Option<MultiProgress>,
}

impl Annotations {
    pub fn new(bars: Option<MultiProgress>) -> Annotations {
        Annotations { bars }
    }

    fn annotate(&self, seq: u64, item: &str, what: &str, stderr_tail: &[String]) {
        let line = annotation(seq, item, what, stderr_tail);
        let write = || writeln!(io::stderr(), "{line}");
        let _ = match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        };
    }
}

impl Sink for Annotations {
    fn handle(&mut self, event: &RunEvent<'_>, _control: &mut Control<'_>) {
        match event {
            RunEvent::Finished(done) if done.finished.outcome.is_failure() => {
                let record = done.record();
                self.annotate(record.seq, &record.item, &record.error, &done.stderr_tail);
            }
            RunEvent::Skipped(earlier) if !earlier.record.status.is_success() => {
                let record = &earlier.record;
                let what = format!("{} (in an earlier run)", record.error);
                self.annotate(record.seq, &record.item, &what, &[]);
            }
            _ => {}
        }
    }
}

/// The `::error` line for a failed item.
fn annotation(seq: u64, item: &str, what: &str, stderr_tail: &[String]) -> String {
    let mut message = format!("#{seq} {item}: {what}");
    for line in stderr_tail {
        message.push('\n');
        message.push_str(line);
    }
    let title = format!("fanout: item #{seq} failed");
    format!(
        "::error title={}::{}",
        escape_property(&title),
        escape_data(&message)
    )
}

/// Escapes a GitHub Actions workflow-command message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a GitHub Actions workflow-command property (such as `title`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escapes_newlines_and_property_separators() {
        let line = annotation(3, "a,b", "exit code 1", &["50% done".into(), "x".into()]);
        assert_eq!(
            line,
            "::error title=fanout%3A item #3 failed::#3 a,b: exit code 1%0A50%25 done%0Ax"
        );
    }
}
