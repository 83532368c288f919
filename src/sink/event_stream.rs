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

use crate::journal::timestamp;
use crate::outcome::Outcome;
use crate::record::ItemRecord;

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
