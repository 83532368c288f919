//! The header line each run writes first: what identifies the run, so a
//! resume finds a journal of the same command, input and options.

use serde::{Deserialize, Serialize};

/// The first line of each run in a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always "run".
    #[serde(rename = "type")]
    pub kind: String,
    /// The fanout version that wrote it.
    pub fanout: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// The command template, as given.
    pub command: String,
    /// The input: a path, `<stdin>` or `:::`.
    pub input: String,
    /// The input format.
    pub format: String,
    /// The `--key` template, if any.
    pub key: Option<String>,
    /// The working directory.
    pub cwd: String,
    /// The full command line, for the resume hint.
    pub argv: Vec<String>,
    /// The command's exact words (`command` joins them with spaces, which
    /// loses where words end). Absent in journals of fanout before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<Word>>,
    /// `--shell`.
    #[serde(default)]
    pub shell: bool,
    /// `--colsep`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colsep: Option<Word>,
    /// `--shard`, if any: `K/N` (by position) or `hash:K/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Where a scheduler's shard came from (`slurm: SLURM_ARRAY_TASK_ID=3
    /// (task 3 of 4)`). Not part of the run's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_from: Option<String>,
    /// The node a shard ran on (Slurm's node name, else the host name). Not
    /// part of the run's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Header {
    /// A header for tests.
    #[cfg(test)]
    pub(crate) fn example() -> Header {
        Header {
            kind: "run".into(),
            fanout: "0.1.0".into(),
            started: "2026-01-01T00:00:00.000Z".into(),
            command: "echo {}".into(),
            input: "<stdin>".into(),
            format: "lines".into(),
            key: None,
            cwd: "/tmp".into(),
            argv: vec!["fanout".into(), "echo".into()],
            words: Some(vec![Word::new(b"echo"), Word::new(b"{}")]),
            shell: false,
            colsep: None,
            shard: None,
            shard_from: None,
            node: None,
        }
    }

    /// Whether `other` was written for the same command: the same words
    /// (or, for a journal older than the `words` field, the same text) and
    /// the same `--shell`.
    pub fn same_command(&self, other: &Header) -> bool {
        let words = match (&self.words, &other.words) {
            (Some(a), Some(b)) => a == b,
            _ => self.command == other.command,
        };
        words && self.shell == other.shell
    }

    /// Whether `other` describes the same run: command, input, format, key,
    /// column separator, shard and working directory. `--resume` without
    /// `--journal` looks for such a journal.
    pub fn same_run(&self, other: &Header) -> bool {
        self.same_command(other)
            && self.input == other.input
            && self.format == other.format
            && self.key == other.key
            && self.colsep == other.colsep
            && self.shard == other.shard
            && self.cwd == other.cwd
    }
}

/// A command word or separator, stored losslessly: a JSON string when it
/// is UTF-8, else `{"hex": "..."}` with its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Word {
    /// UTF-8 text.
    Text(String),
    /// Other bytes, hex-encoded.
    Bytes {
        /// Two lowercase hex digits per byte.
        hex: String,
    },
}

impl Word {
    /// The word for `bytes`.
    pub fn new(bytes: &[u8]) -> Word {
        match std::str::from_utf8(bytes) {
            Ok(text) => Word::Text(text.to_owned()),
            Err(_) => Word::Bytes {
                hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }
}
