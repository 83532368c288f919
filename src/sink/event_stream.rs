//! `--events FILE`: a JSON-lines stream of what happens during the run, for
//! other programs. Every line has `schema` (the version of this format),
//! `ts` (RFC 3339, milliseconds) and `event`; the collector writes them as
//! events arrive and flushes whenever it goes idle, so a reader following the
//! file sees each event promptly. The README documents the fields.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::outcome::Outcome;
use crate::record::{ItemRecord, Status};
use crate::sink::{Control, Done, RunEnd, RunEvent, Sink};
use crate::time::timestamp;

/// The version of the event format; bumped on incompatible changes.
pub const SCHEMA: u32 = 1;

/// Where events go.
pub struct EventWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    name: String,
}

impl EventWriter {
    /// Opens `path` (truncating it), or stdout for `-`.
    pub fn create(path: &Path) -> io::Result<EventWriter> {
        let (out, name): (Box<dyn Write + Send>, String) = if path.as_os_str() == "-" {
            (Box::new(io::stdout()), "<stdout>".to_owned())
        } else {
            (Box::new(File::create(path)?), path.display().to_string())
        };
        Ok(EventWriter {
            out: BufWriter::new(out),
            name,
        })
    }

    /// A writer into any sink (tests).
    #[cfg(test)]
    pub fn to_writer(out: Box<dyn Write + Send>) -> EventWriter {
        EventWriter {
            out: BufWriter::new(out),
            name: "<events>".to_owned(),
        }
    }

    /// Where events go, for error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes one event with the common fields first.
    pub fn emit(&mut self, event: &str, fields: Value) -> io::Result<()> {
        let mut line = Map::new();
        line.insert("schema".into(), json!(SCHEMA));
        line.insert("ts".into(), json!(timestamp(SystemTime::now())));
        line.insert("event".into(), json!(event));
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        serde_json::to_writer(&mut self.out, &Value::Object(line))?;
        self.out.write_all(b"\n")
    }

    /// Pushes buffered events out.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The outcome fields shared by `attempt-finished` and `item-finished`.
pub fn outcome_fields(record: &ItemRecord) -> Value {
    json!({
        "status": record.status,
        "exit_code": record.exit_code,
        "signal": record.signal,
        "error": record.error,
    })
}

/// [`outcome_fields`] of one failed attempt of a retried item.
pub fn attempt_fields(outcome: &Outcome) -> Value {
    json!({
        "status": outcome.status(),
        "exit_code": outcome.exit_code(),
        "signal": outcome.signal(),
        "error": if outcome.is_success() { String::new() } else { outcome.describe() },
    })
}

/// Merges two JSON objects (`extra` wins).
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// The sink that writes `--events`. A write error ends the stream: a
/// closed pipe (`--events - | head`) ends the run quietly, as a closed
/// stdout does; anything else is run-fatal.
pub struct EventStream {
    writer: Option<EventWriter>,
}

impl EventStream {
    pub fn new(writer: EventWriter) -> EventStream {
        EventStream {
            writer: Some(writer),
        }
    }

    fn emit(&mut self, name: &str, fields: Value, control: &mut Control<'_>) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if let Err(e) = writer.emit(name, fields) {
            self.failed(&e, control);
        }
    }

    fn failed(&mut self, e: &io::Error, control: &mut Control<'_>) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        if e.kind() == io::ErrorKind::BrokenPipe {
            control.broken_pipe();
        } else {
            control.fail(format!(
                "failed to write events to `{}`: {e}",
                writer.name()
            ));
        }
    }

    fn finished(&mut self, done: &Done, control: &mut Control<'_>) {
        let record = done.record();
        if record.attempts > 0 && record.status != Status::NotStarted {
            let attempt = merge(
                json!({
                    "seq": record.seq,
                    "attempt": record.attempts,
                    "duration": record.attempt_duration,
                }),
                outcome_fields(record),
            );
            self.emit("attempt-finished", attempt, control);
        }
        let mut item = merge(
            json!({
                "seq": record.seq,
                "key": record.key,
                "item": record.item,
                "attempts": record.attempts,
                "start": record.start,
                "duration": record.duration,
                "attempt_start": record.attempt_start,
                "attempt_duration": record.attempt_duration,
                "leaked": record.leaked,
            }),
            outcome_fields(record),
        );
        // Only in a run of several items per job: the job that ran it.
        if let (Some(job), Value::Object(fields)) = (record.job, &mut item) {
            fields.insert("job".to_owned(), job.into());
        }
        self.emit("item-finished", item, control);
    }

    fn run_finished(&mut self, end: &RunEnd<'_>, control: &mut Control<'_>) {
        let info = end.info;
        let fields = json!({
            "exit_code": info.exit_code,
            "elapsed": info.elapsed,
            "stopped": info.stopped,
            "total": info.total,
            "ok": info.ok,
            "failed": info.failed,
            "interrupted": info.interrupted,
            "not_started": info.not_started,
            "skipped": end.summary.counts.skipped(),
            "from_earlier_run": info.from_earlier_run,
        });
        self.emit("run-finished", fields, control);
        self.idle(control);
    }
}

impl Sink for EventStream {
    fn handle(&mut self, event: &RunEvent<'_>, control: &mut Control<'_>) {
        match event {
            RunEvent::RunStarted(start) => {
                let fields = json!({
                    "fanout": env!("CARGO_PKG_VERSION"),
                    "command": start.command,
                    "input": start.input,
                    "format": start.format,
                    "jobs": start.jobs,
                    "journal": start.journal,
                });
                self.emit("run-started", fields, control);
            }
            RunEvent::Started(job) => {
                // The whole item, as `item-finished` names it, and the
                // label progress shows.
                let item = job.tag.as_deref().map(String::from_utf8_lossy);
                let fields = json!({
                    "seq": job.seq,
                    "item": item.as_deref().unwrap_or(""),
                    "label": job.label.as_deref().unwrap_or(""),
                    "slot": job.slot,
                    "attempt": job.attempt,
                });
                self.emit("item-started", fields, control);
            }
            RunEvent::Retrying(retry) => {
                let fields = merge(
                    json!({
                        "seq": retry.seq,
                        "attempt": retry.attempt,
                        "duration": retry.duration.as_secs_f64(),
                    }),
                    attempt_fields(&retry.outcome),
                );
                self.emit("attempt-finished", fields, control);
                let next = json!({
                    "seq": retry.seq,
                    "attempt": retry.attempt + 1,
                    "delay": retry.delay.as_secs_f64(),
                });
                self.emit("retry-scheduled", next, control);
            }
            RunEvent::Finished(done) => self.finished(done, control),
            RunEvent::Skipped(earlier) => {
                let record = &earlier.record;
                let fields = json!({
                    "seq": record.seq,
                    "key": record.key,
                    "item": record.item,
                    "status": record.status,
                    "exit_code": record.exit_code,
                    "signal": record.signal,
                    "error": record.error,
                    "attempts": record.attempts,
                    "start": record.start,
                    "duration": record.duration,
                    "from_earlier_run": true,
                });
                self.emit("item-skipped", fields, control);
            }
            RunEvent::RunFinished(end) => self.run_finished(end, control),
            _ => {}
        }
    }

    fn idle(&mut self, control: &mut Control<'_>) {
        if let Some(writer) = self.writer.as_mut()
            && let Err(e) = writer.flush()
        {
            self.failed(&e, control);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_carry_schema_ts_and_event() {
        let sink = Shared::default();
        let mut w = EventWriter::to_writer(Box::new(sink.clone()));
        w.emit(
            "item-finished",
            merge(
                json!({"seq": 3}),
                attempt_fields(&Outcome::Failed { code: 2 }),
            ),
        )
        .unwrap();
        w.flush().unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["event"], "item-finished");
        assert_eq!(v["seq"], 3);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["error"], "exit code 2");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
        assert!(text.starts_with(r#"{"schema":1,"ts":"#), "{text}");
    }
}
