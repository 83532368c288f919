//! Command templates: this module owns parsing the command words once, before
//! any job runs (placeholders resolved against the input's schema, argv or
//! shell mode chosen, the shell quoting context of every placeholder worked
//! out), and rendering them per item into a [`CommandSpec`]. It is the one
//! place where item bytes meet a command line, so it also owns the safety
//! rule: in argv mode each word becomes exactly one argument; in shell mode
//! every substituted value is quoted for the context it lands in, and a
//! placeholder whose context cannot be quoted safely is refused at parse time.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use serde_json::Value;

use crate::item::{Format, Item, ItemData};

/// What the input looks like, so placeholders can be checked before anything runs.
#[derive(Debug, Clone, Copy)]
pub struct Schema<'a> {
    /// The input format.
    pub format: Format,
    /// The CSV/TSV header names, when the input has a header row.
    pub headers: Option<&'a [String]>,
    /// Whether `--colsep` splits lines (or NUL records) into columns.
    pub colsep: bool,
}

/// A parsed command template, ready to render once per item.
#[derive(Debug, Clone)]
pub struct Template {
    /// argv mode: one entry per argument (program first); shell mode: exactly
    /// one entry, the command line.
    words: Vec<Word>,
    shell: bool,
    source: String,
    uses_slot: bool,
}

/// One rendered command: what a job runner spawns.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// The program to execute (`/bin/sh` in shell mode).
    pub program: OsString,
    /// Its arguments (`-c LINE` in shell mode).
    pub args: Vec<OsString>,
    /// Whether this runs a shell command line.
    pub shell: bool,
}

/// Why a template was rejected before anything ran.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No command words were given.
    #[error("no command given")]
    Empty,
    /// The first word of an argv command is empty.
    #[error("the command name is empty")]
    EmptyProgram,
    /// A `{` without a closing `}` in the same word.
    #[error("unclosed `{{` in `{word}` (write `{{{{` for a literal brace)")]
    Unclosed {
        /// The word holding the brace.
        word: String,
    },
    /// A `}` that closes nothing.
    #[error("lone `}}` in `{word}` (write `}}}}` for a literal brace)")]
    LoneClose {
        /// The word holding the brace.
        word: String,
    },
    /// A placeholder fanout does not know.
    #[error("unknown placeholder `{placeholder}`{hint}")]
    Unknown {
        /// The placeholder as written, braces included.
        placeholder: String,
        /// Extra advice, starting with a space, or empty.
        hint: &'static str,
    },
    /// `{name}` names no column of the CSV/TSV header.
    #[error("column `{placeholder}` is not in the header (columns: {columns})")]
    NotInHeader {
        /// The placeholder as written.
        placeholder: String,
        /// The header's column names, comma separated.
        columns: String,
    },
    /// `{name}` with a CSV/TSV input that has no header row.
    #[error("column `{placeholder}` cannot be resolved: the input has no header row")]
    NoHeader {
        /// The placeholder as written.
        placeholder: String,
    },
    /// `{N}` past the last column of the CSV/TSV header.
    #[error("column `{placeholder}` is past the end of the header ({count} columns: {columns})")]
    ColumnOutOfRange {
        /// The placeholder as written.
        placeholder: String,
        /// How many columns the header has.
        count: usize,
        /// The header's column names, comma separated.
        columns: String,
    },
    /// `{0}`: columns are numbered from 1.
    #[error("column `{placeholder}` does not exist: columns are numbered from 1")]
    ZeroColumn {
        /// The placeholder as written.
        placeholder: String,
    },
    /// `{2}` and up on lines/NUL records that are not split into columns.
    #[error("column `{placeholder}` needs --colsep to split {format} records into columns")]
    NeedsColsep {
        /// The placeholder as written.
        placeholder: String,
        /// The input format's name.
        format: &'static str,
    },
    /// `{2}` and up on JSON records, which have fields, not columns.
    #[error("`{placeholder}` needs columns, but jsonl records have none (use `{{.field}}`)")]
    NoColumns {
        /// The placeholder as written.
        placeholder: String,
    },
    /// `{.field}` with an input that is not JSON lines.
    #[error(
        "`{placeholder}` reads a JSON field, which needs --format jsonl (the input format is {format})"
    )]
    NeedsJsonl {
        /// The placeholder as written.
        placeholder: String,
        /// The input format's name.
        format: &'static str,
    },
    /// A JSON path with an empty segment, such as `{.a..b}`.
    #[error("invalid JSON path `{placeholder}`: a field name is empty")]
    BadJsonPath {
        /// The placeholder as written.
        placeholder: String,
    },
    /// A shell-mode placeholder in a spot where no quoting keeps the value literal.
    #[error("cannot quote {what} safely in this shell command: {reason}{place}; {hint}")]
    Unsafe {
        /// Which placeholder, for example "`{}`" or "the appended `{}`".
        what: String,
        /// Where it is.
        reason: &'static str,
        /// Empty, or where the script holding it is.
        place: &'static str,
        /// The safe spelling.
        hint: &'static str,
    },
}

impl Template {
    /// Parses the command words once, checking every placeholder against the schema.
    pub fn parse(
        words: &[OsString],
        force_shell: bool,
        schema: &Schema,
    ) -> Result<Template, TemplateError> {
        if words
            .iter()
            .all(|w| w.as_bytes().iter().all(u8::is_ascii_whitespace))
        {
            return Err(TemplateError::Empty);
        }
        let source = words
            .iter()
            .map(|w| w.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        let toks = words
            .iter()
            .map(|w| tokenize(w.as_bytes(), schema))
            .collect::<Result<Vec<_>, _>>()?;
        let has_hole = toks.iter().flatten().any(|t| matches!(t, Tok::Hole(..)));
        let uses_slot = toks
            .iter()
            .flatten()
            .any(|t| matches!(t, Tok::Hole(Ph::Slot, _)));
        // Characters inside placeholders and `{{`/`}}` are not the user's
        // shell syntax, so only literal bytes decide the mode.
        let shell = force_shell
            || (words.len() == 1
                && toks.first().is_some_and(|word| {
                    word.iter()
                        .any(|t| matches!(t, Tok::Lit(b) if b.iter().copied().any(is_shell_byte)))
                }));
        let words = if shell {
            vec![shell_word(toks, has_hole)?]
        } else {
            argv_words(toks, has_hole)?
        };
        Ok(Template {
            words,
            shell,
            source,
            uses_slot,
        })
    }

    /// Renders the command for one item; `Err` says what this item lacks.
    pub fn render(&self, item: &Item, slot: usize) -> Result<CommandSpec, String> {
        if let ItemData::Bad(reason) = &item.data {
            return Err(reason.clone());
        }
        if self.shell {
            let line = match self.words.first() {
                Some(word) => word.render(item, slot)?,
                None => Vec::new(),
            };
            return Ok(CommandSpec {
                program: OsString::from("/bin/sh"),
                args: vec![OsString::from("-c"), OsString::from_vec(line)],
                shell: true,
            });
        }
        let mut rendered = self
            .words
            .iter()
            .map(|w| w.render(item, slot).map(OsString::from_vec));
        let program = rendered.next().transpose()?.unwrap_or_default();
        let args = rendered.collect::<Result<Vec<_>, _>>()?;
        Ok(CommandSpec {
            program,
            args,
            shell: false,
        })
    }

    /// Whether commands run under `/bin/sh -c`.
    pub fn is_shell(&self) -> bool {
        self.shell
    }

    /// The template as the user gave it, words joined by spaces.
    pub fn source(&self) -> String {
        self.source.clone()
    }

    /// Whether the template uses the worker slot `{%}`.
    pub fn uses_slot(&self) -> bool {
        self.uses_slot
    }
}

impl CommandSpec {
    /// Copy-pasteable shell text for this command (for messages and
    /// reports): its exact bytes ([`crate::display::command_line`]) when
    /// they are UTF-8; otherwise with `$'\xe9'` escapes (bash syntax), so no
    /// byte is lost to U+FFFD.
    pub fn display(&self) -> String {
        match String::from_utf8(crate::display::command_line(self, false)) {
            Ok(text) => text,
            Err(_) => {
                String::from_utf8_lossy(&crate::display::command_line(self, true)).into_owned()
            }
        }
    }
}

/// Quotes bytes as one POSIX sh word; plain words are returned bare.
pub fn shell_quote(value: &[u8]) -> Vec<u8> {
    if !value.is_empty() && value.iter().all(|&b| is_plain_byte(b)) {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len() + 2);
    quote_into(&mut out, value);
    out
}

/// Bytes that never need quoting in a POSIX sh word.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b)
}

/// Bytes that make a single-word template a shell command line.
fn is_shell_byte(b: u8) -> bool {
    b.is_ascii_whitespace() || b"|&;<>()$`\\\"'*?[]~#".contains(&b)
}

/// `'value'`, with each `'` written as `'\''`.
fn quote_into(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    single_quoted_body(out, value);
    out.push(b'\'');
}

/// The value as it goes between single quotes: each `'` closes, escapes and reopens.
fn single_quoted_body(out: &mut Vec<u8>, value: &[u8]) {
    let mut start = 0;
    for at in memchr::memchr_iter(b'\'', value) {
        out.extend_from_slice(&value[start..at]);
        out.extend_from_slice(b"'\\''");
        start = at + 1;
    }
    out.extend_from_slice(&value[start..]);
}

// ---------------------------------------------------------------------------
// Parsed form

/// What a placeholder stands for, resolved at parse time.
#[derive(Debug, Clone, PartialEq)]
enum Ph {
    Whole,
    NoExt,
    Base,
    Dir,
    BaseNoExt,
    Seq,
    Slot,
    /// 0-based column index.
    Column(usize),
    Json(JsonPath),
}

/// A dotted path into a JSON record.
#[derive(Debug, Clone, PartialEq)]
struct JsonPath {
    segments: Vec<JsonSegment>,
    /// The placeholder as written (`{.a.b}`, `{name}`), for messages.
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
struct JsonSegment {
    key: String,
    /// Set when the segment is a number, so it can index arrays.
    index: Option<usize>,
}

/// How a substituted value must be written where it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// argv mode: the value is the argument, no quoting.
    Raw,
    Unquoted,
    Single,
    Double,
}

/// One argument (argv mode) or the command line (shell mode).
#[derive(Debug, Clone, Default)]
struct Word {
    pieces: Vec<Piece>,
    lit_len: usize,
    holes: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(Vec<u8>),
    Hole {
        ph: Ph,
        /// How to write the value, innermost shell first: a placeholder in a
        /// script given to `sh -c` is quoted for that shell, then the result
        /// for the shell that reads the script.
        layers: Vec<Layer>,
    },
}

/// One shell's quoting of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layer {
    ctx: Ctx,
    /// How many levels of backticks enclose the placeholder; each needs one
    /// more level of backslash escaping.
    ticks: usize,
}

impl Word {
    fn push_lit(&mut self, bytes: &[u8]) {
        self.lit_len += bytes.len();
        if let Some(Piece::Lit(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Lit(bytes.to_vec()));
        }
    }

    fn push_hole(&mut self, ph: Ph, layers: Vec<Layer>) {
        self.holes += 1;
        self.pieces.push(Piece::Hole { ph, layers });
    }

    fn render(&self, item: &Item, slot: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(self.lit_len + self.holes * (item.raw.len() + 8));
        for piece in &self.pieces {
            match piece {
                Piece::Lit(bytes) => out.extend_from_slice(bytes),
                Piece::Hole { ph, layers } => {
                    let mut digits = [0u8; 20];
                    let value = value(ph, item, slot, &mut digits)?;
                    // The OS cannot carry a NUL inside an argument; say so
                    // here rather than fail obscurely at spawn.
                    if memchr::memchr(0, &value).is_some() {
                        return Err(
                            "the item contains a NUL byte, which a command argument cannot hold"
                                .to_string(),
                        );
                    }
                    if let [Layer { ctx, ticks: 0 }] = layers.as_slice() {
                        put(&mut out, &value, *ctx);
                    } else {
                        let mut text = value.into_owned();
                        for layer in layers {
                            let mut next = Vec::with_capacity(text.len() + 8);
                            put(&mut next, &text, layer.ctx);
                            for _ in 0..layer.ticks {
                                next = backtick_escape(&next);
                            }
                            text = next;
                        }
                        out.extend_from_slice(&text);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Writes a value so the shell reads it back as exactly these bytes.
fn put(out: &mut Vec<u8>, value: &[u8], ctx: Ctx) {
    match ctx {
        Ctx::Raw => out.extend_from_slice(value),
        Ctx::Unquoted => quote_into(out, value),
        Ctx::Single => single_quoted_body(out, value),
        Ctx::Double => {
            // Close the user's double quote, single-quote the value, reopen:
            // inside "..." a value could still expand `$` and backticks.
            out.extend_from_slice(b"\"'");
            single_quoted_body(out, value);
            out.extend_from_slice(b"'\"");
        }
    }
}

/// Escapes text for one level of backticks: the shell removes a backslash
/// before `\`, `` ` `` and `$` when it collects a backtick body.
fn backtick_escape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for &b in text {
        if matches!(b, b'\\' | b'`' | b'$') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// The bytes a placeholder stands for in this item.
fn value<'a>(
    ph: &Ph,
    item: &'a Item,
    slot: usize,
    digits: &'a mut [u8; 20],
) -> Result<Cow<'a, [u8]>, String> {
    let raw = item.raw.as_slice();
    Ok(Cow::Borrowed(match ph {
        Ph::Whole => raw,
        Ph::NoExt => without_ext(raw),
        Ph::Base => basename(raw),
        Ph::Dir => dirname(raw),
        Ph::BaseNoExt => strip_ext(basename(raw)),
        Ph::Seq => write_number(digits, item.seq),
        Ph::Slot => write_number(digits, slot as u64),
        Ph::Column(index) => match &item.data {
            ItemData::Columns(fields) => match fields.get(*index) {
                Some(field) => field,
                None => return Err(missing_column(*index, fields.len())),
            },
            _ if *index == 0 => raw,
            _ => return Err(missing_column(*index, 1)),
        },
        Ph::Json(path) => {
            let found = match &item.data {
                ItemData::Json(record) => lookup(record, path),
                _ => None,
            };
            match found {
                Some(Value::String(s)) => s.as_bytes(),
                Some(Value::Null) => b"",
                Some(Value::Bool(true)) => b"true",
                Some(Value::Bool(false)) => b"false",
                Some(Value::Number(n)) => return Ok(Cow::Owned(n.to_string().into_bytes())),
                Some(other) => {
                    return Ok(Cow::Owned(
                        serde_json::to_vec(other).map_err(|e| e.to_string())?,
                    ));
                }
                None => return Err(format!("no field `{}` in this record", path.text)),
            }
        }
    }))
}

fn missing_column(index: usize, count: usize) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!(
        "no column {} in this row ({count} column{plural})",
        index + 1
    )
}

fn lookup<'v>(record: &'v Value, path: &JsonPath) -> Option<&'v Value> {
    let mut current = record;
    for segment in &path.segments {
        current = match current {
            Value::Object(map) => map.get(&segment.key)?,
            Value::Array(values) => values.get(segment.index?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn write_number(digits: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

/// `{/}`: the last path component, trailing slashes ignored (POSIX basename).
fn basename(path: &[u8]) -> &[u8] {
    let end = trim_trailing_slashes(path);
    if end == 1 && path[0] == b'/' {
        return b"/";
    }
    let start = memchr::memrchr(b'/', &path[..end]).map_or(0, |at| at + 1);
    &path[start..end]
}

/// `{//}`: everything before the last component (POSIX dirname, as GNU parallel).
fn dirname(path: &[u8]) -> &[u8] {
    let end = trim_trailing_slashes(path);
    let Some(slash) = memchr::memrchr(b'/', &path[..end]) else {
        return b".";
    };
    let mut stop = slash;
    while stop > 0 && path[stop - 1] == b'/' {
        stop -= 1;
    }
    if stop == 0 { b"/" } else { &path[..stop] }
}

/// Length of the path without trailing slashes, keeping one for `/`.
fn trim_trailing_slashes(path: &[u8]) -> usize {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    end
}

/// `{.}`: the path with its last component's extension removed.
fn without_ext(path: &[u8]) -> &[u8] {
    let start = memchr::memrchr(b'/', path).map_or(0, |at| at + 1);
    let kept = strip_ext(&path[start..]).len();
    &path[..start + kept]
}

/// A file name without its last `.ext`; dotfiles and a trailing dot stay.
fn strip_ext(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b'.', name) {
        Some(dot) if dot > 0 && dot + 1 < name.len() => &name[..dot],
        _ => name,
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// A word split into literal bytes and resolved placeholders.
#[derive(Debug)]
enum Tok {
    Lit(Vec<u8>),
    /// The placeholder and its text as written, for messages.
    Hole(Ph, String),
}

fn tokenize(word: &[u8], schema: &Schema) -> Result<Vec<Tok>, TemplateError> {
    let mut toks = Vec::new();
    let mut lit = Vec::new();
    let mut at = 0;
    while at < word.len() {
        let Some(brace) = memchr::memchr2(b'{', b'}', &word[at..]).map(|i| at + i) else {
            lit.extend_from_slice(&word[at..]);
            break;
        };
        lit.extend_from_slice(&word[at..brace]);
        let open = word[brace] == b'{';
        if word.get(brace + 1) == Some(&word[brace]) {
            lit.push(word[brace]);
            at = brace + 2;
            continue;
        }
        let lossy = || String::from_utf8_lossy(word).into_owned();
        // A `{` followed by white space (or ending the word), and a `}` that
        // starts the word or follows white space or `;`, are shell syntax
        // such as `{ cmd; }`, not placeholders: keep them literal.
        let shell_brace = if open {
            word.get(brace + 1).is_none_or(u8::is_ascii_whitespace)
        } else {
            brace == 0 || matches!(word[brace - 1], b' ' | b'\t' | b'\n' | b';')
        };
        if shell_brace {
            lit.push(word[brace]);
            at = brace + 1;
            continue;
        }
        if !open {
            return Err(TemplateError::LoneClose { word: lossy() });
        }
        let Some(close) = memchr::memchr(b'}', &word[brace + 1..]).map(|i| brace + 1 + i) else {
            return Err(TemplateError::Unclosed { word: lossy() });
        };
        let content = &word[brace + 1..close];
        let text = format!("{{{}}}", String::from_utf8_lossy(content));
        at = close + 1;
        let ph = match resolve(content, &text, schema) {
            Ok(ph) => ph,
            // `${NAME}` (and `${NAME:-x}` and the like) where NAME is no
            // placeholder is the shell's own syntax: keep it.
            Err(_) if lit.last() == Some(&b'$') && is_shell_param(content) => {
                lit.extend_from_slice(&word[brace..at]);
                continue;
            }
            Err(e) => return Err(e),
        };
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        toks.push(Tok::Hole(ph, text));
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    Ok(toks)
}

/// `NAME`, `#NAME` or `NAME` and an operator (`:-x`, `%.txt`, ...): the body
/// of a shell parameter expansion `${...}`.
fn is_shell_param(content: &[u8]) -> bool {
    let body = content.strip_prefix(b"#").unwrap_or(content);
    let end = body
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(body.len());
    is_shell_name(&body[..end])
        && body[end..]
            .first()
            .is_none_or(|b| b":-=?+%#/^,@[".contains(b))
        && !content.contains(&b'{')
}

/// Turns the text between braces into a placeholder, or says why it cannot be one.
fn resolve(content: &[u8], text: &str, schema: &Schema) -> Result<Ph, TemplateError> {
    let placeholder = || text.to_string();
    match content {
        b"" => return Ok(Ph::Whole),
        b"." => return Ok(Ph::NoExt),
        b"/" => return Ok(Ph::Base),
        b"//" => return Ok(Ph::Dir),
        b"/." => return Ok(Ph::BaseNoExt),
        b"#" => return Ok(Ph::Seq),
        b"%" => return Ok(Ph::Slot),
        _ => {}
    }
    let unknown = |hint| TemplateError::Unknown {
        placeholder: placeholder(),
        hint,
    };
    let brace_hint = " (write `{{` and `}}` for literal braces)";
    let Ok(content) = std::str::from_utf8(content) else {
        return Err(unknown(brace_hint));
    };
    let format = schema.format;
    if content.bytes().all(|b| b.is_ascii_digit()) {
        let Ok(n) = content.parse::<usize>() else {
            return Err(unknown(""));
        };
        if n == 0 {
            return Err(TemplateError::ZeroColumn {
                placeholder: placeholder(),
            });
        }
        return match format {
            Format::Csv | Format::Tsv => match schema.headers {
                Some(headers) if n > headers.len() => Err(TemplateError::ColumnOutOfRange {
                    placeholder: placeholder(),
                    count: headers.len(),
                    columns: headers.join(", "),
                }),
                _ => Ok(Ph::Column(n - 1)),
            },
            Format::Jsonl if n > 1 => Err(TemplateError::NoColumns {
                placeholder: placeholder(),
            }),
            Format::Lines | Format::Null if n > 1 && !schema.colsep => {
                Err(TemplateError::NeedsColsep {
                    placeholder: placeholder(),
                    format: format.as_str(),
                })
            }
            _ => Ok(Ph::Column(n - 1)),
        };
    }
    if let Some(path) = content.strip_prefix('.') {
        if format != Format::Jsonl {
            return Err(TemplateError::NeedsJsonl {
                placeholder: placeholder(),
                format: format.as_str(),
            });
        }
        if path.split('.').any(str::is_empty) {
            return Err(TemplateError::BadJsonPath {
                placeholder: placeholder(),
            });
        }
        return Ok(Ph::Json(json_path(path.split('.'), text)));
    }
    match format {
        Format::Csv | Format::Tsv => {
            let Some(headers) = schema.headers else {
                return if is_name(content) {
                    Err(TemplateError::NoHeader {
                        placeholder: placeholder(),
                    })
                } else {
                    Err(unknown(brace_hint))
                };
            };
            // An exact header match wins, whatever characters it holds.
            if let Some(index) = headers.iter().position(|h| h == content) {
                Ok(Ph::Column(index))
            } else if is_name(content) {
                Err(TemplateError::NotInHeader {
                    placeholder: placeholder(),
                    columns: headers.join(", "),
                })
            } else {
                Err(unknown(brace_hint))
            }
        }
        Format::Jsonl if is_name(content) => {
            Ok(Ph::Json(json_path(std::iter::once(content), text)))
        }
        Format::Lines | Format::Null if is_name(content) => {
            Err(unknown(" (named columns need --format csv, tsv or jsonl)"))
        }
        _ => Err(unknown(brace_hint)),
    }
}

/// Whether placeholder text looks like a column or field name (not code).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn json_path<'s>(segments: impl Iterator<Item = &'s str>, written: &str) -> JsonPath {
    let segments: Vec<JsonSegment> = segments
        .map(|key| JsonSegment {
            key: key.to_string(),
            index: if key.bytes().all(|b| b.is_ascii_digit()) {
                key.parse().ok()
            } else {
                None
            },
        })
        .collect();
    JsonPath {
        segments,
        text: written.to_owned(),
    }
}

fn argv_words(toks: Vec<Vec<Tok>>, has_hole: bool) -> Result<Vec<Word>, TemplateError> {
    if toks.first().is_none_or(|first| first.is_empty()) {
        return Err(TemplateError::EmptyProgram);
    }
    // The program, or any later word (behind `env`, `strace -o f`, any
    // wrapper), may be a shell given a script with `-c`: that word is shell
    // code, so its placeholders are quoted for the shell that runs it, as
    // in shell mode.
    let mut cmd = Cmd::Start;
    let mut words = Vec::with_capacity(toks.len() + 1);
    for (n, word_toks) in toks.into_iter().enumerate() {
        let text = exact_text(&word_toks);
        let prefix = match word_toks.first() {
            Some(Tok::Lit(bytes)) if text.is_none() => bytes.clone(),
            _ => Vec::new(),
        };
        let option = text.as_deref().is_some_and(|t| cmd.is_option(t));
        let first_hole = word_toks.iter().find_map(|tok| match tok {
            Tok::Hole(_, text) => Some(text.clone()),
            Tok::Lit(_) => None,
        });
        if let Some(hole) = &first_hole {
            if cmd == Cmd::Split {
                return Err(refuse(&AFTER_SPLIT).error(hole));
            }
            if n > 0 && assigns_evaluated_var(&prefix) {
                return Err(refuse(&IN_EVALUATED_VAR).error(hole));
            }
        }
        let mut word = Word::default();
        if cmd.wants_script() && !option {
            if let Some(hole) = &first_hole
                && evaluates_later(&literal_text(word_toks.iter()))
            {
                return Err(refuse(&EVALUATED_LATER).in_script().error(hole));
            }
            let mut scan = Scan::new();
            for tok in word_toks {
                match tok {
                    Tok::Lit(bytes) => lit(&mut word, &mut scan, &bytes),
                    Tok::Hole(ph, text) => {
                        let layers = scan.hole().map_err(|r| r.in_script().error(&text))?;
                        word.push_hole(ph, layers);
                    }
                }
            }
            cmd = Cmd::Normal;
        } else {
            for tok in word_toks {
                match tok {
                    Tok::Lit(bytes) => word.push_lit(&bytes),
                    Tok::Hole(ph, _) => word.push_hole(ph, vec![RAW]),
                }
            }
            if n == 0 {
                // A program name is never an assignment or a reserved word.
                cmd = match text.as_deref().map(classify) {
                    Some(Class::Cmd(cmd)) => cmd,
                    _ => Cmd::Normal,
                };
            } else {
                cmd.word_with_prefix(text.as_deref(), &prefix);
            }
        }
        words.push(word);
    }
    if !has_hole {
        if cmd == Cmd::Split {
            return Err(refuse(&AFTER_SPLIT).error_appended());
        }
        let mut word = Word::default();
        word.push_hole(Ph::Whole, vec![RAW]);
        words.push(word);
    }
    Ok(words)
}

/// The literal text of some tokens, with each placeholder as a blank.
fn literal_text<'t>(toks: impl Iterator<Item = &'t Tok>) -> Vec<u8> {
    let mut text = Vec::new();
    for tok in toks {
        match tok {
            Tok::Lit(bytes) => text.extend_from_slice(bytes),
            Tok::Hole(..) => text.push(b' '),
        }
    }
    text
}

/// The text of an argv word without placeholders, or `None` when it has one.
fn exact_text(toks: &[Tok]) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    for tok in toks {
        match tok {
            Tok::Lit(bytes) => text.extend_from_slice(bytes),
            Tok::Hole(..) => return None,
        }
    }
    Some(text)
}

const RAW: Layer = Layer {
    ctx: Ctx::Raw,
    ticks: 0,
};

/// Appends literal shell text, letting the context model see it.
fn lit(line: &mut Word, scan: &mut Scan, bytes: &[u8]) {
    for &b in bytes {
        scan.byte(b);
    }
    line.push_lit(bytes);
}

fn shell_word(toks: Vec<Vec<Tok>>, has_hole: bool) -> Result<Word, TemplateError> {
    let later = evaluates_later(&literal_text(toks.iter().flatten()));
    if later {
        let first = toks.iter().flatten().find_map(|tok| match tok {
            Tok::Hole(_, text) => Some(text.clone()),
            Tok::Lit(_) => None,
        });
        let refusal = refuse(&EVALUATED_LATER);
        return Err(match first {
            Some(text) => refusal.error(&text),
            None => refusal.error_appended(),
        });
    }
    let mut scan = Scan::new();
    let mut line = Word::default();
    for (n, word_toks) in toks.into_iter().enumerate() {
        if n > 0 {
            lit(&mut line, &mut scan, b" ");
        }
        for tok in word_toks {
            match tok {
                Tok::Lit(bytes) => lit(&mut line, &mut scan, &bytes),
                Tok::Hole(ph, text) => {
                    let layers = scan.hole().map_err(|r| r.error(&text))?;
                    line.push_hole(ph, layers);
                }
            }
        }
    }
    if !has_hole {
        lit(&mut line, &mut scan, b" ");
        let layers = scan.hole().map_err(|r| r.error_appended())?;
        line.push_hole(Ph::Whole, layers);
    }
    Ok(line)
}

// ---------------------------------------------------------------------------
// Shell quoting context
//
// A small model of the POSIX sh lexer, fed the literal bytes of the command
// line, that knows at each placeholder whether the shell is outside quotes,
// inside '...', or inside "...", and how many backtick levels enclose it. It
// drops backslash-newline as the shell does, follows the words of each
// simple command far enough to know the commands that parse their arguments
// again (`eval`, `trap`, `alias`, a shell given a script with `-c`, and the
// bash builtins that evaluate names), and models such a script with a nested
// lexer so its values are quoted for the inner shell, then for the outer one.
// Where the model is unsure (arithmetic, here-documents, `case` inside
// `$(...)`, `${...}` with nested quoting, `$'...'`, comments), a placeholder is
// refused rather than guessed: a wrong guess would let item text run as code.
// The rules are the union of what dash, bash, ksh and zsh do, whatever
// `/bin/sh` is, so a template refused here is refused on every machine.

/// Why a placeholder is refused, and the safe spelling to suggest.
#[derive(Debug, PartialEq, Eq)]
struct Why {
    reason: &'static str,
    hint: &'static str,
}

const HINT_VAR: &str = "use \"$FANOUT_ITEM\" (the item, from the environment) there instead, \
                        or pass the value as an argument: sh -c '... \"$1\"' _ {}";
const HINT_BACKSLASH: &str = "remove the backslash: fanout quotes the value already";
const HINT_DOLLAR: &str = "for a shell variable write ${NAME} (or ${{NAME}} when NAME is also a \
                           placeholder); for the item use \"$FANOUT_ITEM\"";
const HINT_ARITH: &str = "check that the value is a number, then use the variable: \
                          case $FANOUT_ITEM in ''|*[!0-9]*) exit 1;; esac; echo $((FANOUT_ITEM + 1))";

const AFTER_BACKSLASH: Why = Why {
    reason: "it follows a backslash",
    hint: HINT_BACKSLASH,
};
const AFTER_DOLLAR: Why = Why {
    reason: "it follows `$`",
    hint: HINT_DOLLAR,
};
const IN_PARAM: Why = Why {
    reason: "it is inside `${...}`",
    hint: HINT_VAR,
};
const IN_ANSI: Why = Why {
    reason: "it is inside `$'...'`",
    hint: HINT_VAR,
};
const AFTER_ANSI_QUOTE: Why = Why {
    reason: "it follows a `$'...'` string holding `\\'`, where dash and bash disagree on \
             where the string ends",
    hint: "write the quote another way, such as \"it's\"",
};
const IN_COMMENT: Why = Why {
    reason: "it is inside a shell comment",
    hint: "move it out of the comment (a newline in the value would end the comment)",
};
const AFTER_HEREDOC: Why = Why {
    reason: "it follows a here-document (`<<`), whose quoting fanout does not track",
    hint: HINT_VAR,
};
const AFTER_CASE: Why = Why {
    reason: "it follows `case` inside `$(...)`, whose parentheses fanout does not track",
    hint: HINT_VAR,
};
const AFTER_PARAM: Why = Why {
    reason: "it follows a `${...}` holding quotes, braces or substitutions, which fanout does \
             not track",
    hint: HINT_VAR,
};
const AFTER_PID: Why = Why {
    reason: "it follows `$$(` (or `$${`, `$$[`), which dash reads as `$$` and a bracket but \
             bash as `$` and a substitution",
    hint: "write the process id as ${$}, or keep it apart: \"$$\"(...)",
};
const OUTPUT_RUN: Why = Why {
    reason: "it is in a substitution whose output is split into a command and its arguments, \
             which runs an item such as `eval ...` as code",
    hint: "put the substitution in double quotes, or use \"$FANOUT_ITEM\"",
};
const IN_COMPOUND: Why = Why {
    reason: "it is inside a bash array assignment `a=(...)`, which bash can misparse past \
             a syntax error",
    hint: "assign the elements one by one: a[0]={}",
};
const IN_ARITH: Why = Why {
    reason: "it is inside shell arithmetic (`$(( ))`, `$[ ]`, `(( ))`, `for ((`), which \
             evaluates the value as code",
    hint: HINT_ARITH,
};
const IN_EVAL: Why = Why {
    reason: "it is an argument of `eval` or `trap`, which run their arguments as shell code",
    hint: HINT_VAR,
};
const AFTER_ALIAS: Why = Why {
    reason: "it follows `alias`, which changes how the words after it parse",
    hint: "use a shell function instead of an alias, and \"$FANOUT_ITEM\" for the item",
};
const IN_SUBSCRIPT: Why = Why {
    reason: "it is inside an array subscript `a[...]`, which bash evaluates as arithmetic",
    hint: HINT_ARITH,
};
const IN_NAME: Why = Why {
    reason: "it is a name given to `declare`, `typeset`, `local`, `export`, `readonly`, \
             `unset`, `read` or `let`, which bash evaluates (a subscript runs code)",
    hint: "keep names literal and put the value after `=`: export NAME={}",
};
const AFTER_TEST_V: Why = Why {
    reason: "it follows `-v` of `test`, `[` or `printf`, a name that bash evaluates \
             (a subscript runs code)",
    hint: HINT_VAR,
};
const IN_DBRACKET: Why = Why {
    reason: "it is inside `[[ ]]`, where bash evaluates arithmetic operands as code",
    hint: "use `[ ]` (test), which does not: [ {} = x ]",
};
const AFTER_DUP: Why = Why {
    reason: "it is the target of `>&` or `<&`, which bash reads as a file descriptor or a file",
    hint: "redirect to a file with `>`: > {}",
};
const IN_SCRIPT_EXPANSION: Why = Why {
    reason: "it is in a script given to a shell with `-c` that is built from `$`, backticks or \
             `$'...'`, so fanout cannot tell how that shell reads it",
    hint: HINT_VAR,
};
const IN_SHELL_OPTION: Why = Why {
    reason: "it is in an option of a shell",
    hint: HINT_VAR,
};

const AFTER_SPLIT: Why = Why {
    reason: "it follows `env -S` or a word holding a shell and `-c`, which is split into a \
             command fanout cannot model",
    hint: "give the shell its script as one word: env sh -c '... \"$1\"' _ {}",
};
const IN_EVALUATED_VAR: Why = Why {
    reason: "it is the value of BASH_ENV, ENV, PS0-PS4, PROMPT_COMMAND, SHELLOPTS or \
             BASHOPTS, which a shell runs or expands as code later",
    hint: "pass the value as \"$1\" or \"$FANOUT_ITEM\", check it, and assign it yourself",
};
const EVALUATED_LATER: Why = Why {
    reason: "the script has `declare -i`, `typeset -i`, `local -i`, `integer`, `-n` or \
             `${x@P}`/`${x@E}`, which evaluate a variable's value later as code",
    hint: "pass the value as \"$1\" or \"$FANOUT_ITEM\" and check it (a number: \
           case $1 in *[!0-9]*) exit 1;; esac) before using it",
};

/// A refusal, and whether it was found inside a script given to a shell.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    why: &'static Why,
    in_script: bool,
}

impl Refusal {
    fn in_script(self) -> Refusal {
        Refusal {
            in_script: true,
            ..self
        }
    }

    fn place(self) -> &'static str {
        if self.in_script {
            " (in the script given to a shell with `-c`)"
        } else {
            ""
        }
    }

    fn error(self, text: &str) -> TemplateError {
        TemplateError::Unsafe {
            what: format!("`{text}`"),
            reason: self.why.reason,
            place: self.place(),
            hint: self.why.hint,
        }
    }

    fn error_appended(self) -> TemplateError {
        TemplateError::Unsafe {
            what: "the appended `{}`".to_string(),
            reason: self.why.reason,
            place: self.place(),
            hint: self.why.hint,
        }
    }
}

fn refuse(why: &'static Why) -> Refusal {
    Refusal {
        why,
        in_script: false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Top,
    /// `$(...)`: a nested unquoted context.
    CmdSubst,
    /// `${...}`.
    ParamExp,
    /// `$(( ))`, `(( ))` (closed by `)`) or `$[ ]` (closed by `]`); `parens`
    /// counts the open brackets.
    Arith {
        bracket: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
    /// `$'...'`, where `\'` does not end the string.
    DollarSingle,
    /// From `#` to the end of the line.
    Comment,
}

/// What the words seen so far of the current simple command make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// Expecting the command name (after assignments and reserved words).
    Start,
    /// A command that runs another (`env`, `sudo`, `exec`, ...): every later
    /// word may be the real command.
    Wrapper,
    /// A command fanout cannot name before it runs (`$SHELL`, `"$cmd"`), or
    /// one that gives `-c CMD` to a shell (`su`, `flock`): every later word
    /// may be the real command, and the word after a `-c` may be a script.
    Unknown { c: bool },
    /// Nothing to watch.
    Normal,
    /// `echo`, which prints its arguments and runs none: a shell name among
    /// them is data.
    Inert,
    /// `eval` or `trap`: every argument is code.
    Eval,
    /// A shell reading its options; `c` once `-c` is seen, `arg` when the
    /// next word is an option's argument, `end` after `--`.
    Shell { c: bool, arg: bool, end: bool },
    /// `declare` and friends (names before `=`); `let` (everything).
    Names { all: bool },
    /// `test`, `[` and `printf`, whose `-v NAME` is evaluated; `v` right after `-v`.
    TestV { v: bool },
    /// `[[ ... ]]`, until the word `]]`.
    DBracket,
    /// After `function`: the name, then a command may follow (`{ ...`).
    FuncName,
    /// `env`: a wrapper whose `-S` splits a later word into a command.
    Env,
    /// After `env -S` or a word holding `sh -c`: later words are split into
    /// a command fanout cannot model, so every placeholder is refused.
    Split,
}

/// What a command name makes of its command.
enum Class {
    Cmd(Cmd),
    Alias,
    Plain,
}

const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"ksh93", b"mksh", b"lksh", b"pdksh", b"oksh", b"ash",
    b"yash", b"posh", b"rbash",
];
const WRAPPERS: &[&[u8]] = &[
    b"env",
    b"command",
    b"builtin",
    b"exec",
    b"nohup",
    b"nice",
    b"ionice",
    b"timeout",
    b"setsid",
    b"stdbuf",
    b"sudo",
    b"doas",
    b"chronic",
    b"flock",
    b"chrt",
    b"taskset",
    b"busybox",
    b"unbuffer",
    b"nsenter",
    b"unshare",
    b"chroot",
    b"xargs",
    b"find",
    b"time",
];
const NAME_BUILTINS: &[&[u8]] = &[
    b"declare",
    b"typeset",
    b"local",
    b"export",
    b"readonly",
    b"unset",
    b"read",
    b"mapfile",
    b"readarray",
];
const RESERVED: &[&[u8]] = &[
    b"if", b"then", b"else", b"elif", b"do", b"while", b"until", b"!", b"{", b"time", b"coproc",
];

fn classify(name: &[u8]) -> Class {
    let base = memchr::memrchr(b'/', name).map_or(name, |at| &name[at + 1..]);
    match base {
        b"eval" | b"trap" => Class::Cmd(Cmd::Eval),
        b"echo" => Class::Cmd(Cmd::Inert),
        b"alias" => Class::Alias,
        b"let" => Class::Cmd(Cmd::Names { all: true }),
        b"printf" | b"test" | b"[" => Class::Cmd(Cmd::TestV { v: false }),
        b"[[" => Class::Cmd(Cmd::DBracket),
        b"su" | b"runuser" | b"flock" => Class::Cmd(Cmd::Unknown { c: false }),
        _ if SHELLS.contains(&base) => Class::Cmd(Cmd::Shell {
            c: false,
            arg: false,
            end: false,
        }),
        _ if NAME_BUILTINS.contains(&base) => Class::Cmd(Cmd::Names { all: false }),
        b"env" => Class::Cmd(Cmd::Env),
        _ if WRAPPERS.contains(&base) => Class::Cmd(Cmd::Wrapper),
        _ => Class::Plain,
    }
}

/// `NAME=...` or `NAME[...]=...`: a variable assignment before a command.
fn is_assignment(word: &[u8]) -> bool {
    let Some(eq) = memchr::memchr(b'=', word) else {
        return false;
    };
    let name = &word[..eq];
    let name = name.strip_suffix(b"+").unwrap_or(name);
    let name = match memchr::memchr(b'[', name) {
        Some(open) if name.ends_with(b"]") => &name[..open],
        _ => name,
    };
    is_shell_name(name)
}

fn is_shell_name(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// A word that holds a shell name followed by a `-c` option (`'sh -c'`,
/// as given to `env -S`): split later into a shell and its script.
fn splits_into_shell(word: &[u8]) -> bool {
    let mut parts = word
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let mut shell = false;
    let mut first = true;
    for part in parts.by_ref() {
        if shell && part.len() > 1 && part[0] == b'-' && part.contains(&b'c') {
            // One word alone (`-c`) is an option, not a split command.
            return !first;
        }
        // A shell's other options come between it and `-c`.
        shell = SHELLS.contains(&basename(part)) || (shell && matches!(part[0], b'-' | b'+'));
        first = false;
    }
    false
}

/// Variables a shell evaluates later (at startup, in a prompt, under
/// `set -x`): a value assigned to them is code.
const EVALUATED_VARS: &[&[u8]] = &[
    b"BASH_ENV",
    b"ENV",
    b"PS0",
    b"PS1",
    b"PS2",
    b"PS3",
    b"PS4",
    b"PROMPT_COMMAND",
    b"SHELLOPTS",
    b"BASHOPTS",
];

/// `NAME=...` or `NAME+=...` for a variable in [`EVALUATED_VARS`].
fn assigns_evaluated_var(word: &[u8]) -> bool {
    let Some(eq) = memchr::memchr(b'=', word) else {
        return false;
    };
    let name = &word[..eq];
    let name = name.strip_suffix(b"+").unwrap_or(name);
    EVALUATED_VARS.contains(&name)
}

/// Whether script text holds something that evaluates a variable's value
/// later: `declare -i` and friends (an assignment becomes arithmetic,
/// which runs a subscript's `$(...)`), `declare -n` (a name reference) or
/// the `${x@P}`, `${x@E}` transformations.
fn evaluates_later(text: &[u8]) -> bool {
    if memchr::memmem::find(text, b"@P}").is_some() || memchr::memmem::find(text, b"@E}").is_some()
    {
        return true;
    }
    let mut words = text
        .split(|b| b.is_ascii_whitespace() || b";&|()'\"`{}".contains(b))
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(word) = words.next() {
        match word {
            b"integer" => return true,
            b"declare" | b"typeset" | b"local" => {
                while let Some(opt) = words.next_if(|w| matches!(w[0], b'-' | b'+')) {
                    if opt[1..].iter().any(|b| matches!(b, b'i' | b'n')) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// A word so far that opens an array subscript: `NAME[` with no `]` yet.
fn in_subscript(word: &[u8]) -> bool {
    match memchr::memchr(b'[', word) {
        Some(open) => is_shell_name(&word[..open]) && !word[open..].contains(&b']'),
        None => false,
    }
}

impl Cmd {
    /// Whether the next word may be the script of `sh -c`.
    fn wants_script(self) -> bool {
        matches!(
            self,
            Cmd::Shell {
                c: true,
                arg: false,
                ..
            } | Cmd::Unknown { c: true }
        )
    }

    /// Whether `word`, given to a shell reading options, is an option.
    fn is_option(self, word: &[u8]) -> bool {
        match self {
            Cmd::Shell { arg, end, .. } => {
                arg || (!end && word.len() > 1 && matches!(word[0], b'-' | b'+'))
            }
            Cmd::Unknown { c: true } => word.len() > 1 && word[0] == b'-',
            _ => false,
        }
    }

    /// Takes one finished word (`None`: its text is not known before it
    /// runs); returns whether the word was `alias`.
    ///
    /// For an unknown word, `prefix` is its text before the first expansion:
    /// a shell reading options takes `-c$x` as an option that may hold `c`,
    /// and `$x` as a word that may be one.
    fn word_with_prefix(&mut self, text: Option<&[u8]>, prefix: &[u8]) -> bool {
        if let Some(t) = text
            && !matches!(
                *self,
                Cmd::Eval | Cmd::DBracket | Cmd::Split | Cmd::Shell { c: true, .. }
            )
            && !self.wants_script()
        {
            // A word holding a shell given `-c` (`env -S 'sh -c'`) is split
            // into a command later: what follows cannot be modelled.
            if splits_into_shell(t) {
                *self = Cmd::Split;
                return false;
            }
            // Any word naming a shell, whatever precedes it (`strace -o f
            // sh -c ...`): the words after it are its options and script. A
            // false positive (`mytool sh -c {}`) only quotes once more; the
            // arguments of `echo`, `printf` and `test` are known to be data.
            if matches!(
                *self,
                Cmd::Normal | Cmd::Wrapper | Cmd::Env | Cmd::Shell { .. }
            ) && SHELLS.contains(&basename(t))
            {
                *self = Cmd::Shell {
                    c: false,
                    arg: false,
                    end: false,
                };
                return false;
            }
        }
        if text.is_none() {
            let option = prefix.is_empty() || matches!(prefix[0], b'-' | b'+');
            match *self {
                Cmd::Shell {
                    c,
                    arg: false,
                    end: false,
                } if option => {
                    *self = Cmd::Shell {
                        c: c || (prefix.first() == Some(&b'-') && prefix.contains(&b'c')),
                        arg: false,
                        end: false,
                    };
                    return false;
                }
                Cmd::Unknown { c } if option => {
                    *self = Cmd::Unknown {
                        c: c || (prefix.first() == Some(&b'-') && prefix.contains(&b'c')),
                    };
                    return false;
                }
                _ => {}
            }
        }
        match *self {
            Cmd::Unknown { c } => match text {
                Some(t) if c && self.is_option(t) => {}
                // The script.
                _ if c => *self = Cmd::Normal,
                Some(t) if t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'c') => {
                    *self = Cmd::Unknown { c: true };
                }
                Some(t) => match classify(t) {
                    Class::Alias => {
                        *self = Cmd::Normal;
                        return true;
                    }
                    Class::Cmd(cmd) => *self = cmd,
                    Class::Plain => {}
                },
                None => {}
            },
            Cmd::Start | Cmd::Wrapper | Cmd::Env => {
                let wrapper = *self != Cmd::Start;
                if *self == Cmd::Env
                    && text.is_some_and(|t| {
                        t.starts_with(b"--s")
                            || (t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'S'))
                    })
                {
                    *self = Cmd::Split;
                    return false;
                }
                let Some(text) = text else {
                    if !wrapper {
                        *self = Cmd::Unknown { c: false };
                    }
                    return false;
                };
                if !wrapper && (is_assignment(text) || RESERVED.contains(&text)) {
                    return false;
                }
                if !wrapper && text == b"function" {
                    *self = Cmd::FuncName;
                    return false;
                }
                match classify(text) {
                    Class::Alias => {
                        *self = Cmd::Normal;
                        return true;
                    }
                    Class::Cmd(cmd) => *self = cmd,
                    Class::Plain if wrapper => {}
                    Class::Plain => *self = Cmd::Normal,
                }
            }
            Cmd::Shell { c, arg, end } => {
                *self = match text {
                    _ if arg => Cmd::Shell { c, arg: false, end },
                    Some(b"-" | b"--") if !end => Cmd::Shell { c, arg, end: true },
                    Some(t) if self.is_option(t) => {
                        if t.starts_with(b"--") {
                            let arg = matches!(t, b"--rcfile" | b"--init-file");
                            Cmd::Shell { c, arg, end }
                        } else {
                            Cmd::Shell {
                                c: c || (t[0] == b'-' && t.contains(&b'c')),
                                arg: matches!(t.last(), Some(b'o' | b'O')),
                                end,
                            }
                        }
                    }
                    // The script (with -c) or a script file: the rest are its
                    // arguments.
                    _ => Cmd::Normal,
                };
            }
            // An unknown word may expand to nothing: `-v` still waits.
            Cmd::TestV { v } => {
                *self = Cmd::TestV {
                    v: text == Some(b"-v") || (v && text.is_none()),
                }
            }
            Cmd::DBracket if text == Some(b"]]") => *self = Cmd::Normal,
            Cmd::FuncName => *self = Cmd::Start,
            _ => {}
        }
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redir {
    None,
    /// After `<`, `>`, `>>`, `>|`: the next word is a file name.
    File,
    /// After `>&` or `<&`.
    Dup,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    quote: Quote,
    /// Open `(` inside a `$(`, so the matching `)` is found; the bracket
    /// depth of an `Arith` frame.
    parens: u32,
    /// The previous byte was an unescaped backslash.
    backslash: bool,
    /// The previous byte was an unescaped `$`.
    dollar: bool,
    /// The previous two bytes were `$$`.
    pid: bool,
    /// Consecutive `<` just seen (2 means a here-document starts).
    lt: u8,
    /// At the start of a word, where `#` begins a comment.
    word_start: bool,
    /// The previous byte this frame read.
    prev: u8,
    /// A word has started (the model's view of the word being read).
    word_open: bool,
    /// The word's text so far, after quote removal.
    word: Vec<u8>,
    /// `None` while `word` is all of it; once an expansion or placeholder
    /// is read, how many bytes of `word` came before it.
    word_known: Option<usize>,
    /// The current simple command.
    cmd: Cmd,
    redir: Redir,
    /// Open `[` of an array subscript in an assignment (`a[...]=`), which
    /// bash reads as one word up to the matching `]`, blanks and all.
    subscript: u32,
    /// Open `(` of an array assignment `a=(...)`.
    compound: u32,
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            quote: Quote::None,
            parens: 0,
            backslash: false,
            dollar: false,
            pid: false,
            lt: 0,
            word_start: true,
            // A fresh `$(` has just read `(`: a second one makes `$((`.
            prev: if kind == FrameKind::CmdSubst {
                b'('
            } else {
                b' '
            },
            word_open: false,
            word: Vec::new(),
            word_known: None,
            cmd: Cmd::Start,
            redir: Redir::None,
            subscript: 0,
            compound: 0,
        }
    }

    /// Marks the current word as started: `#` no longer opens a comment.
    fn in_word(&mut self) {
        self.word_start = false;
    }
}

/// What a byte contributes to the text of the word being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eff {
    /// Nothing (a comment, an `${...}` or arithmetic body).
    Nothing,
    /// This byte.
    Text(u8),
    /// A backslash and this byte (`\x` inside "..." for most x).
    Text2(u8),
    /// Only quoting: the word exists, its text does not change.
    Quote,
    /// An expansion: the word's text is known only when it runs.
    Expand,
    /// The word ends here.
    End,
}

const BOUNDARY: &[u8] = b" \t\n;&|<>()";

fn effect(frame: &Frame, b: u8) -> Eff {
    match frame.quote {
        Quote::Single if b == b'\'' => Eff::Quote,
        Quote::Single => Eff::Text(b),
        Quote::DollarSingle => Eff::Expand,
        Quote::Comment => Eff::Nothing,
        Quote::Double if frame.backslash => {
            if matches!(b, b'$' | b'`' | b'"' | b'\\') {
                Eff::Text(b)
            } else {
                Eff::Text2(b)
            }
        }
        Quote::Double => match b {
            b'\\' | b'"' => Eff::Quote,
            b'$' | b'`' => Eff::Expand,
            _ if frame.dollar => Eff::Expand,
            _ => Eff::Text(b),
        },
        Quote::None => match frame.kind {
            FrameKind::ParamExp | FrameKind::Arith { .. } => Eff::Nothing,
            FrameKind::Top | FrameKind::CmdSubst => {
                if frame.backslash {
                    Eff::Text(b)
                } else if frame.dollar {
                    Eff::Expand
                } else {
                    match b {
                        b'\\' | b'\'' | b'"' => Eff::Quote,
                        b'$' | b'`' => Eff::Expand,
                        b'#' if frame.word_start => Eff::Nothing,
                        _ if BOUNDARY.contains(&b) => Eff::End,
                        _ => Eff::Text(b),
                    }
                }
            }
        },
    }
}

/// What an unquoted byte does to the frame stack.
enum Act {
    Nothing,
    Push(FrameKind),
    /// Push an arithmetic frame with this many brackets open.
    Arith {
        bracket: bool,
        open: u32,
    },
    Pop,
    Tick(bool),
    Lost(&'static Why),
    Boundary,
    BoundaryThenPop,
}

#[derive(Debug)]
struct Scan {
    /// Never empty: the `Top` frame is never popped.
    frames: Vec<Frame>,
    /// An open backtick body, parsed by its own lexer after unescaping.
    tick: Option<Box<Tick>>,
    /// Set once the model can no longer be trusted; later placeholders are refused.
    lost: Option<&'static Why>,
    /// A backslash not yet fed: with a newline it is a line continuation,
    /// which the shell drops before anything else sees it.
    pending_backslash: bool,
    /// The word being read is a script given to a shell with `-c`.
    script: Option<Box<Script>>,
}

#[derive(Debug)]
struct Tick {
    /// The previous byte was a backslash not yet resolved.
    escape: bool,
    /// The backticks opened inside "...", where `\"` also unescapes.
    in_dq: bool,
    inner: Scan,
}

#[derive(Debug)]
struct Script {
    /// The inner shell's lexer, fed the word's text after quote removal.
    inner: Scan,
    /// The frame stack height of the frame reading the word.
    depth: usize,
    /// The word's first byte (`'` for a placeholder): `-` or `+` makes it an
    /// option, not the script.
    first: Option<u8>,
}

impl Scan {
    fn new() -> Scan {
        Scan {
            frames: vec![Frame::new(FrameKind::Top)],
            tick: None,
            lost: None,
            pending_backslash: false,
            script: None,
        }
    }

    fn byte(&mut self, b: u8) {
        if std::mem::take(&mut self.pending_backslash) {
            if b != b'\n' {
                self.step(b'\\');
                self.step(b);
            }
            return;
        }
        let continues = self.tick.is_none()
            && self
                .frames
                .last()
                .is_some_and(|f| matches!(f.quote, Quote::None | Quote::Double) && !f.backslash);
        if b == b'\\' && continues {
            self.pending_backslash = true;
            return;
        }
        self.step(b);
    }

    fn step(&mut self, b: u8) {
        if let Some(tick) = self.tick.as_mut() {
            if tick.escape {
                tick.escape = false;
                // Backslash-newline inside backticks is a line continuation.
                if b == b'\n' {
                    return;
                }
                let unescapes = matches!(b, b'\\' | b'`' | b'$') || (tick.in_dq && b == b'"');
                if !unescapes {
                    tick.inner.byte(b'\\');
                }
                tick.inner.byte(b);
            } else if b == b'\\' {
                tick.escape = true;
            } else if b == b'`' {
                if let Some(reason) = tick.inner.lost {
                    self.lost.get_or_insert(reason);
                }
                self.tick = None;
            } else {
                tick.inner.byte(b);
            }
            return;
        }
        let depth = self.frames.len();
        let in_cmdsubst = self.frames.iter().any(|f| f.kind == FrameKind::CmdSubst);
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        let eff = effect(frame, b);
        if matches!(eff, Eff::Text(_) | Eff::Text2(_) | Eff::Quote | Eff::Expand) {
            if !frame.word_open {
                frame.word_open = true;
                if frame.cmd.wants_script() && self.script.is_none() {
                    self.script = Some(Box::new(Script {
                        inner: Scan::new(),
                        depth,
                        first: None,
                    }));
                }
            }
            match eff {
                Eff::Text(c) => frame.word.push(c),
                Eff::Text2(c) => frame.word.extend_from_slice(&[b'\\', c]),
                Eff::Expand => {
                    frame.word_known.get_or_insert(frame.word.len());
                }
                _ => {}
            }
        }
        if let Some(script) = self.script.as_mut()
            && script.depth == depth
        {
            match eff {
                Eff::Text(c) => {
                    script.first.get_or_insert(c);
                    script.inner.byte(c);
                }
                Eff::Text2(c) => {
                    script.first.get_or_insert(b'\\');
                    script.inner.byte(b'\\');
                    script.inner.byte(c);
                }
                Eff::Expand => {
                    script.first.get_or_insert(b'$');
                    script.inner.lost.get_or_insert(&IN_SCRIPT_EXPANSION);
                }
                _ => {}
            }
        }
        let act = match frame.quote {
            Quote::Single => {
                if b == b'\'' {
                    frame.quote = Quote::None;
                }
                Act::Nothing
            }
            Quote::DollarSingle => {
                if frame.backslash {
                    frame.backslash = false;
                    if b == b'\'' {
                        Act::Lost(&AFTER_ANSI_QUOTE)
                    } else {
                        Act::Nothing
                    }
                } else {
                    if b == b'\\' {
                        frame.backslash = true;
                    } else if b == b'\'' {
                        frame.quote = Quote::None;
                    }
                    Act::Nothing
                }
            }
            Quote::Comment => {
                if b == b'\n' {
                    frame.quote = Quote::None;
                    frame.word_start = true;
                    // A comment ends the command as its newline does.
                    frame.cmd = Cmd::Start;
                    frame.redir = Redir::None;
                }
                Act::Nothing
            }
            Quote::Double => double_quoted(frame, b),
            Quote::None => match frame.kind {
                FrameKind::Arith { bracket } => arith(frame, b, bracket),
                _ => unquoted(frame, b),
            },
        };
        match act {
            Act::Nothing => {}
            Act::Push(kind) => self.frames.push(Frame::new(kind)),
            Act::Arith { bracket, open } => {
                let mut frame = Frame::new(FrameKind::Arith { bracket });
                frame.parens = open;
                self.frames.push(frame);
            }
            Act::Pop => self.pop(),
            Act::Tick(in_dq) => {
                self.tick = Some(Box::new(Tick {
                    escape: false,
                    in_dq,
                    inner: Scan::new(),
                }));
            }
            Act::Lost(why) => {
                self.lost.get_or_insert(why);
            }
            Act::Boundary | Act::BoundaryThenPop => {
                self.end_word(b, in_cmdsubst);
                if matches!(act, Act::BoundaryThenPop) {
                    self.pop();
                }
            }
        }
        let len = self.frames.len();
        if let Some(frame) = self.frames.get_mut(depth.min(len) - 1) {
            frame.prev = b;
        }
        if self.script.as_ref().is_some_and(|s| s.depth > len) {
            self.script = None;
        }
    }

    /// A word ends at `sep` (white space or an operator byte).
    fn end_word(&mut self, sep: u8, in_cmdsubst: bool) {
        let depth = self.frames.len();
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if std::mem::take(&mut frame.word_open) {
            let word = std::mem::take(&mut frame.word);
            let known = frame.word_known.take();
            let exact = known.is_none();
            let prefix = &word[..known.unwrap_or(0).min(word.len())];
            if exact && word == b"case" && in_cmdsubst {
                self.lost.get_or_insert(&AFTER_CASE);
            }
            let fd = matches!(sep, b'<' | b'>')
                && exact
                && !word.is_empty()
                && word.iter().all(u8::is_ascii_digit);
            if frame.redir != Redir::None {
                // A redirection's target is no word of the command.
                frame.redir = Redir::None;
            } else if !fd
                && frame
                    .cmd
                    .word_with_prefix(exact.then_some(word.as_slice()), prefix)
            {
                self.lost.get_or_insert(&AFTER_ALIAS);
            }
        }
        if self.script.as_ref().is_some_and(|s| s.depth == depth) {
            self.script = None;
        }
        match sep {
            b'<' | b'>' => frame.redir = Redir::File,
            b'&' if matches!(frame.prev, b'<' | b'>') => frame.redir = Redir::Dup,
            b'|' if frame.prev == b'>' => frame.redir = Redir::File,
            b' ' | b'\t' => {}
            b'&' | b'|' | b'(' | b')' if frame.cmd == Cmd::DBracket => {}
            _ => {
                frame.cmd = Cmd::Start;
                frame.redir = Redir::None;
            }
        }
        frame.word_start = true;
    }

    fn pop(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }

    /// How a placeholder here must be quoted: one layer per shell that reads
    /// it, innermost first.
    fn hole(&mut self) -> Result<Vec<Layer>, Refusal> {
        if let Some(why) = self.lost {
            return Err(refuse(why));
        }
        if std::mem::take(&mut self.pending_backslash) {
            self.step(b'\\');
        }
        // Every enclosing command's word counts: a `$(...)` or backticks in
        // an argument of `eval` are part of what `eval` runs.
        let ticked = self.tick.is_some();
        let top = self.frames.len().saturating_sub(1);
        if self
            .frames
            .iter()
            .any(|f| matches!(f.kind, FrameKind::Arith { .. }))
        {
            return Err(refuse(&IN_ARITH));
        }
        for (at, frame) in self.frames.iter().enumerate() {
            if let Some(why) = word_rules(frame) {
                return Err(refuse(why));
            }
            // The frame above is a `$(...)` in this frame's word.
            let substituted = if at < top {
                self.frames[at + 1].kind == FrameKind::CmdSubst
            } else {
                ticked
            };
            if substituted && runs_output(frame) {
                return Err(refuse(&OUTPUT_RUN));
            }
        }
        if let Some(tick) = self.tick.as_mut() {
            if self.script.is_some() {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if tick.escape {
                return Err(refuse(&AFTER_BACKSLASH));
            }
            let mut layers = tick.inner.hole()?;
            if let Some(last) = layers.last_mut() {
                last.ticks += 1;
            }
            return Ok(layers);
        }
        let depth = self.frames.len();
        let Some(frame) = self.frames.last_mut() else {
            return Err(refuse(&AFTER_HEREDOC));
        };
        if frame.lt == 2 {
            self.lost = Some(&AFTER_HEREDOC);
            return Err(refuse(&AFTER_HEREDOC));
        }
        frame.lt = 0;
        frame.pid = false;
        if frame.backslash {
            return Err(refuse(&AFTER_BACKSLASH));
        }
        if frame.dollar {
            return Err(refuse(&AFTER_DOLLAR));
        }
        let ctx = match frame.quote {
            Quote::None if frame.kind == FrameKind::ParamExp => return Err(refuse(&IN_PARAM)),
            Quote::None => Ctx::Unquoted,
            Quote::Single => Ctx::Single,
            Quote::Double => Ctx::Double,
            Quote::DollarSingle => return Err(refuse(&IN_ANSI)),
            Quote::Comment => return Err(refuse(&IN_COMMENT)),
        };
        if ctx == Ctx::Unquoted {
            frame.in_word();
        }
        frame.word_known.get_or_insert(frame.word.len());
        if !std::mem::replace(&mut frame.word_open, true)
            && frame.cmd.wants_script()
            && self.script.is_none()
        {
            self.script = Some(Box::new(Script {
                inner: Scan::new(),
                depth,
                first: None,
            }));
        }
        let own = Layer { ctx, ticks: 0 };
        if let Some(script) = self.script.as_mut() {
            if script.depth != depth {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if matches!(script.first, Some(b'-' | b'+')) {
                return Err(refuse(&IN_SHELL_OPTION));
            }
            script.first.get_or_insert(b'\'');
            let mut layers = script.inner.hole().map_err(Refusal::in_script)?;
            layers.push(own);
            return Ok(layers);
        }
        Ok(vec![own])
    }
}

/// Whether the output of a substitution in the word this frame is reading
/// is split into a command and its arguments (so an item `eval ...` would
/// run as code).
fn runs_output(frame: &Frame) -> bool {
    matches!(
        frame.cmd,
        Cmd::Start | Cmd::Wrapper | Cmd::Env | Cmd::Unknown { .. }
    ) && frame.kind != FrameKind::ParamExp
        && frame.quote == Quote::None
        && frame.redir == Redir::None
        && !is_assignment(&frame.word)
}

/// Why a placeholder in the word this frame is reading is refused, for the
/// command the word belongs to (the bash spots are refused for every shell).
fn word_rules(frame: &Frame) -> Option<&'static Why> {
    if frame.subscript > 0 {
        return Some(&IN_SUBSCRIPT);
    }
    if frame.compound > 0 {
        return Some(&IN_COMPOUND);
    }
    match frame.cmd {
        Cmd::Eval => return Some(&IN_EVAL),
        Cmd::DBracket => return Some(&IN_DBRACKET),
        Cmd::Split => return Some(&AFTER_SPLIT),
        _ => {}
    }
    match frame.redir {
        Redir::Dup => return Some(&AFTER_DUP),
        // A file name, whatever the command.
        Redir::File => return None,
        Redir::None => {}
    }
    if assigns_evaluated_var(&frame.word) {
        return Some(&IN_EVALUATED_VAR);
    }
    // Bash evaluates a subscript in an assignment and in the names these
    // builtins take; elsewhere `a[x]` is a glob.
    if matches!(
        frame.cmd,
        Cmd::Start | Cmd::Names { .. } | Cmd::TestV { v: true }
    ) && in_subscript(&frame.word)
    {
        return Some(&IN_SUBSCRIPT);
    }
    match frame.cmd {
        Cmd::Names { all } if all || !frame.word.contains(&b'=') => Some(&IN_NAME),
        Cmd::TestV { v: true } => Some(&AFTER_TEST_V),
        _ => None,
    }
}

/// The byte after a `$` (or after `$$`), the same in every context that
/// expands: a substitution, a parameter expansion or arithmetic begins, or
/// `$$` (a special parameter) ends the `$`; `None` when `b` is an ordinary
/// byte for the context to handle.
fn after_dollar(frame: &mut Frame, b: u8) -> Option<Act> {
    if std::mem::take(&mut frame.pid) && matches!(b, b'(' | b'{' | b'[') {
        return Some(Act::Lost(&AFTER_PID));
    }
    if !std::mem::take(&mut frame.dollar) {
        return None;
    }
    match b {
        b'(' => Some(Act::Push(FrameKind::CmdSubst)),
        b'{' => Some(Act::Push(FrameKind::ParamExp)),
        b'[' => Some(Act::Arith {
            bracket: true,
            open: 1,
        }),
        b'$' => {
            frame.pid = true;
            Some(Act::Nothing)
        }
        _ => None,
    }
}

/// A byte inside "...": only `\`, `"`, `` ` `` and `$` matter.
fn double_quoted(frame: &mut Frame, b: u8) -> Act {
    if frame.backslash {
        frame.backslash = false;
        return Act::Nothing;
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    match b {
        b'\\' => frame.backslash = true,
        b'"' => frame.quote = Quote::None,
        b'`' => return Act::Tick(true),
        b'$' => frame.dollar = true,
        _ => {}
    }
    Act::Nothing
}

/// A byte of shell arithmetic outside quotes: quotes, substitutions and
/// brackets are followed only to find where it ends.
fn arith(frame: &mut Frame, b: u8, bracket: bool) -> Act {
    if frame.backslash {
        frame.backslash = false;
        return Act::Nothing;
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    let (open, close) = if bracket { (b'[', b']') } else { (b'(', b')') };
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => return Act::Tick(false),
        b'$' => frame.dollar = true,
        _ if b == open => frame.parens += 1,
        _ if b == close => {
            frame.parens = frame.parens.saturating_sub(1);
            if frame.parens == 0 {
                return Act::Pop;
            }
        }
        _ => {}
    }
    Act::Nothing
}

/// A byte outside quotes (at top level, in `$(...)` or in `${...}`).
fn unquoted(frame: &mut Frame, b: u8) -> Act {
    if frame.backslash {
        frame.backslash = false;
        frame.in_word();
        return Act::Nothing;
    }
    let heredoc = frame.lt == 2 && b != b'<';
    frame.lt = if b == b'<' {
        frame.lt.saturating_add(1)
    } else {
        0
    };
    if heredoc {
        return Act::Lost(&AFTER_HEREDOC);
    }
    // (A `$` never stands while `frame.pid` does: `$$` takes it.)
    if frame.dollar {
        if frame.kind == FrameKind::ParamExp && matches!(b, b'(' | b'{' | b'[') {
            frame.dollar = false;
            return Act::Lost(&AFTER_PARAM);
        }
        if b == b'\'' {
            frame.dollar = false;
            frame.quote = Quote::DollarSingle;
            return Act::Nothing;
        }
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    if frame.kind == FrameKind::ParamExp {
        return match b {
            b'}' => Act::Pop,
            b'\'' | b'"' | b'`' | b'\\' | b'{' => Act::Lost(&AFTER_PARAM),
            b'$' => {
                frame.dollar = true;
                Act::Nothing
            }
            _ => Act::Nothing,
        };
    }
    match b {
        b'[' if frame.subscript > 0 => frame.subscript += 1,
        b']' if frame.subscript > 0 => frame.subscript -= 1,
        // `NAME[` where an assignment may stand (the text, `[` included,
        // is in `frame.word` already).
        b'[' if matches!(frame.cmd, Cmd::Start | Cmd::Names { .. })
            && frame.word_known.is_none()
            && frame
                .word
                .split_last()
                .is_some_and(|(_, name)| is_shell_name(name)) =>
        {
            frame.subscript = 1;
        }
        _ => {}
    }
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => {
            frame.in_word();
            return Act::Tick(false);
        }
        b'$' => frame.dollar = true,
        b'#' if frame.word_start => {
            frame.quote = Quote::Comment;
            return Act::Nothing;
        }
        b'(' if frame.compound > 0 => {
            frame.compound += 1;
            return Act::Boundary;
        }
        b')' if frame.compound > 0 => {
            frame.compound -= 1;
            return Act::Boundary;
        }
        b'(' if matches!(frame.cmd, Cmd::Start | Cmd::Names { .. })
            && frame.word_known.is_none()
            && frame.word.ends_with(b"=")
            && is_assignment(&frame.word) =>
        {
            frame.compound = 1;
            return Act::Boundary;
        }
        b'(' => {
            // `((`, `$((` and `for ((` are arithmetic (dash reads `$((`
            // as arithmetic even when a subshell is meant).
            if frame.prev == b'(' {
                if frame.kind == FrameKind::CmdSubst && frame.parens == 0 {
                    frame.kind = FrameKind::Arith { bracket: false };
                    frame.parens = 2;
                    return Act::Nothing;
                }
                if frame.kind == FrameKind::CmdSubst {
                    frame.parens -= 1;
                }
                return Act::Arith {
                    bracket: false,
                    open: 2,
                };
            }
            if frame.kind == FrameKind::CmdSubst {
                frame.parens += 1;
            }
            return Act::Boundary;
        }
        b')' => {
            if frame.kind == FrameKind::CmdSubst {
                if frame.parens == 0 {
                    return Act::BoundaryThenPop;
                }
                frame.parens -= 1;
            }
            return Act::Boundary;
        }
        _ if BOUNDARY.contains(&b) => return Act::Boundary,
        _ => {
            frame.word_start = false;
            return Act::Nothing;
        }
    }
    frame.in_word();
    Act::Nothing
}

#[cfg(test)]
mod tests;
