//! Command templates: the one place where item bytes meet a command line.
//!
//! A template is parsed once, before any job runs. [`Template::parse`] splits
//! each command word into literal text and placeholders (`token`), resolving
//! every placeholder against the input's [`Schema`] (`placeholder`), so a
//! misspelt column fails the run before it starts. Literal shell syntax in a
//! single word picks shell mode; otherwise each word is one argument
//! (`argv`). In shell mode the literal text is fed through a small model of
//! the shell lexer (`shell`), which says for every placeholder how its value
//! must be quoted where it lands, or refuses the template when no quoting
//! keeps the value literal; argv mode does the same for a word that is a
//! script given to a shell with `-c`. The result is a list of parsed
//! words (`word`): literal bytes and placeholders with their quoting decided.
//!
//! Rendering, per item, is then only lookup and copying: each placeholder's
//! value is read out of the item (a path form from `path`, a column, a JSON
//! field), quoted as decided at parse time, and the words become a
//! [`CommandSpec`], which a job runner spawns.

mod argv;
mod batch;
pub mod display;
mod path;
mod placeholder;
mod quote;
mod replace;
mod shell;
pub(crate) mod text;
mod token;
mod word;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::batch::{BatchStyle, Cost, Limits, MAX_ARG_STRLEN};
use crate::display::Controls;
use crate::item::{Format, Item, ItemData};

use argv::argv_words;

pub use batch::BatchError;
use batch::Job;
use placeholder::Placeholder;
pub use quote::shell_quote;
use shell::command_line;
use token::Token;
use word::Word;

/// What the input looks like, so placeholders can be checked before anything runs.
#[derive(Debug, Clone, Copy)]
pub struct Schema<'a> {
    pub format: Format,
    /// The CSV/TSV header names, when the input has a header row.
    pub headers: Option<&'a [String]>,
    /// Whether `--colsep` splits lines (or NUL records) into columns.
    pub colsep: bool,
    /// Jobs run several items (`-n`, `-X`...): `{N}` is the job's Nth item.
    pub batch: bool,
    /// How many input sources each item combines (1 for a single source).
    pub sources: usize,
}

/// Whether a job runs one item or several (`-n`, `-X`...): several items
/// cannot go where the shell takes one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobItems {
    One,
    Several,
}

/// What a job's placeholders stand for: an item's values, or (`--pipe`)
/// a block's, which has none but its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Items,
    Blocks,
}

/// Whether a command line runs under `/bin/sh -c`: always (`--shell`), or
/// when the template decides it (a single word holding shell syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShellMode {
    Auto,
    Always,
    /// Never a shell: one word with shell syntax is a program's name
    /// (GNU's `-q` under `--gnu`).
    Never,
}

/// A parsed command template, ready to render once per item.
#[derive(Debug, Clone)]
pub struct Template {
    /// argv mode: one entry per argument (program first); shell mode: exactly
    /// one entry, the command line.
    words: Vec<Word>,
    shell: bool,
    source: String,
    /// Set when jobs run several items: how their words are rendered.
    batch: Option<BatchStyle>,
    /// `-N 0`: a job reads one item and inserts none.
    insert_none: bool,
    #[cfg(test)]
    uses_slot: bool,
}

/// One rendered command: what a job runner spawns.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// The program to execute (`/bin/sh` in shell mode).
    pub program: OsString,
    /// Its arguments (`-c LINE` in shell mode).
    pub args: Vec<OsString>,
    pub shell: bool,
}

/// Why a template was rejected before anything ran.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no command given")]
    Empty,
    /// The first word of an argv command is empty.
    #[error("the command name is empty")]
    EmptyProgram,
    /// A `{` without a closing `}` in the same word.
    #[error("unclosed `{{` in `{word}` (write `{{{{` for a literal brace)")]
    Unclosed { word: String },
    /// A `}` that closes nothing.
    #[error("lone `}}` in `{word}` (write `}}}}` for a literal brace)")]
    LoneClose { word: String },
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
        placeholder: String,
        /// The header's column names, comma separated.
        columns: String,
    },
    /// `{name}` with a CSV/TSV input that has no header row.
    #[error("column `{placeholder}` cannot be resolved: the input has no header row")]
    NoHeader { placeholder: String },
    /// `{N}` past the last column of the CSV/TSV header.
    #[error("column `{placeholder}` is past the end of the header ({count} columns: {columns})")]
    ColumnOutOfRange {
        placeholder: String,
        count: usize,
        /// The header's column names, comma separated.
        columns: String,
    },
    /// `{0}`: columns are numbered from 1.
    #[error("column `{placeholder}` does not exist: columns are numbered from 1")]
    ZeroColumn { placeholder: String },
    /// `{2}` and up on lines/NUL records that are not split into columns.
    #[error("column `{placeholder}` needs --colsep to split {format} records into columns")]
    NeedsColsep {
        placeholder: String,
        format: &'static str,
    },
    /// `{N}` past the last of several sources (without --colsep, one
    /// position each).
    #[error(
        "`{placeholder}` is past the last input source ({count} sources, `{{1}}` to `{{{count}}}`)"
    )]
    PastLastSource { placeholder: String, count: usize },
    /// `{-N}`, `{N/.}` or `{name}` when jobs run several items of several
    /// sources: their values are one list, which only `{N}` indexes.
    #[error(
        "`{placeholder}` is not supported when jobs run several items of several input sources: \
         use `{{N}}`, the job's Nth value counted across its combinations (as GNU parallel), or `{{}}`"
    )]
    PositionInBatch { placeholder: String },
    /// `{2}` and up on JSON records, which have fields, not columns.
    #[error("`{placeholder}` needs columns, but jsonl records have none (use `{{.field}}`)")]
    NoColumns { placeholder: String },
    /// `{.field}` with an input that is not JSON lines.
    #[error(
        "`{placeholder}` reads a JSON field, which needs --format jsonl (the input format is {format})"
    )]
    NeedsJsonl {
        placeholder: String,
        format: &'static str,
    },
    /// A JSON path with an empty segment, such as `{.a..b}`.
    #[error("invalid JSON path `{placeholder}`: a field name is empty")]
    BadJsonPath { placeholder: String },
    /// `-s` leaves no room for an item.
    #[error(
        "-s {chars} leaves no room for an item: the command alone takes {command} characters \
         (each argument's bytes and its NUL)"
    )]
    MaxCharsTooSmall { chars: usize, command: usize },
    /// Jobs of several items with a template that some of them never reach.
    #[error(
        "with {limit} per job, the command must take every item: use `{{}}` (all of the job's \
         items) or {positions} (each position once); otherwise the job's other items would \
         reach no command"
    )]
    ItemsUnused { limit: String, positions: String },
    /// A value placeholder in a `--pipe` template: a block has none.
    #[error(
        "`{placeholder}` has no value with --pipe: each job reads its block on stdin, and only \
         `{{#}}` (the block's number) and `{{%}}` (the slot) are filled in"
    )]
    ValueOfBlock { placeholder: String },
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
        mode: ShellMode,
        schema: &Schema,
    ) -> Result<Template, TemplateError> {
        Template::parse_replacing(words, mode, schema, None)
    }

    /// [`Template::parse`], with `replace` (`-I STR`) standing for `{}`.
    pub(crate) fn parse_replacing(
        words: &[OsString],
        mode: ShellMode,
        schema: &Schema,
        replace: Option<&[u8]>,
    ) -> Result<Template, TemplateError> {
        Template::parse_as(words, mode, schema, replace, Values::Items)
    }

    /// The template of `--pipe` jobs, whose input is a block on stdin: only
    /// `{#}` (the block's number) and `{%}` have a value, and nothing is
    /// appended to a template without placeholders.
    pub(crate) fn for_blocks(
        words: &[OsString],
        mode: ShellMode,
        schema: &Schema,
    ) -> Result<Template, TemplateError> {
        Template::parse_as(words, mode, schema, None, Values::Blocks)
    }

    fn parse_as(
        words: &[OsString],
        mode: ShellMode,
        schema: &Schema,
        replace: Option<&[u8]>,
        values: Values,
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
        let tokens = words
            .iter()
            .map(|w| replace::tokenize_word(w.as_bytes(), schema, replace))
            .collect::<Result<Vec<_>, _>>()?;
        if values == Values::Blocks {
            let value = tokens.iter().flatten().find_map(|t| match t {
                Token::Placeholder(Placeholder::Seq | Placeholder::Slot, _) => None,
                Token::Placeholder(_, text) => Some(text.clone()),
                Token::Literal(_) => None,
            });
            if let Some(placeholder) = value {
                return Err(TemplateError::ValueOfBlock { placeholder });
            }
        }
        let has_placeholder = values == Values::Blocks
            || tokens
                .iter()
                .flatten()
                .any(|t| matches!(t, Token::Placeholder(..)));
        #[cfg(test)]
        let uses_slot = tokens
            .iter()
            .flatten()
            .any(|t| matches!(t, Token::Placeholder(placeholder::Placeholder::Slot, _)));
        // Characters inside placeholders and `{{`/`}}` are not the user's
        // shell syntax, so only literal bytes decide the mode.
        let shell = mode == ShellMode::Always
            || (mode == ShellMode::Auto
                && words.len() == 1
                && tokens.first().is_some_and(|word| {
                    word.iter().any(
                        |t| matches!(t, Token::Literal(b) if b.iter().copied().any(is_shell_byte)),
                    )
                }));
        let items = if schema.batch {
            JobItems::Several
        } else {
            JobItems::One
        };
        let words = if shell {
            vec![command_line(tokens, has_placeholder, items)?]
        } else {
            argv_words(tokens, has_placeholder, items)?
        };
        Ok(Template {
            words,
            shell,
            source,
            batch: None,
            insert_none: false,
            #[cfg(test)]
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
        let mut rendered = Vec::with_capacity(self.words.len());
        for word in &self.words {
            match word.spread(item) {
                // Several sources' appended `{}`: one argument per position.
                Some(positions) => {
                    for position in positions {
                        if memchr::memchr(0, position).is_some() {
                            return Err(word::NUL_IN_ARGUMENT.to_owned());
                        }
                        rendered.push(OsString::from_vec(position.to_vec()));
                    }
                }
                None => rendered.push(OsString::from_vec(word.render(item, slot)?)),
            }
        }
        let mut rendered = rendered.into_iter();
        let program = rendered.next().unwrap_or_default();
        let args = rendered.collect();
        Ok(CommandSpec {
            program,
            args,
            shell: false,
        })
    }

    /// The template for jobs of several items, rendered as `spec` says.
    /// Refused when some items of a job would reach no command: no word
    /// takes every item (`{}`, a path form, a column) and the positions
    /// `{1}`..`{N}` do not cover the most a job holds.
    pub(crate) fn for_batches(
        mut self,
        spec: &crate::batch::BatchSpec,
    ) -> Result<Template, TemplateError> {
        self.batch = Some(spec.style);
        self.insert_none = spec.insert_none;
        let command = self.base_cost().chars;
        if let Some(chars) = spec.max_chars
            && chars < command + 2
        {
            return Err(TemplateError::MaxCharsTooSmall { chars, command });
        }
        if spec.insert_none || self.words.iter().any(Word::has_per_item) {
            return Ok(self);
        }
        let used: std::collections::BTreeSet<usize> =
            self.words.iter().flat_map(Word::positions).collect();
        let covered = spec
            .max_items
            .is_some_and(|max| (0..max).all(|n| used.contains(&n)));
        if covered {
            return Ok(self);
        }
        Err(TemplateError::ItemsUnused {
            limit: match spec.max_items {
                Some(max) => format!("up to {max} items"),
                None => "as many items as fit".to_owned(),
            },
            positions: spec.max_items.map_or_else(
                || "`{1}`..".to_owned(),
                |max| format!("`{{1}}`..`{{{max}}}`"),
            ),
        })
    }

    /// Renders the command for a job of several items (`items` may be
    /// empty: `-N 0`); `seq` is the job's number. `Err` names the item
    /// that cannot render and why.
    pub fn render_batch(
        &self,
        items: &[&Item],
        seq: u64,
        slot: usize,
    ) -> Result<CommandSpec, BatchError> {
        let items = if self.insert_none { &[] } else { items };
        for (index, item) in items.iter().enumerate() {
            if let ItemData::Bad(reason) = &item.data {
                return Err(BatchError {
                    index,
                    message: reason.clone(),
                });
            }
        }
        // Several sources: each combination's positions are values of
        // their own, and an error names the item its value came from.
        let Some(spread) = batch::spread_positions(items) else {
            return self.render_job(&Job { items, seq, slot });
        };
        let values: Vec<&Item> = spread.values.iter().collect();
        self.render_job(&Job {
            items: &values,
            seq,
            slot,
        })
        .map_err(|e| BatchError {
            index: spread.origins.get(e.index).copied().unwrap_or(0),
            message: e.message,
        })
    }

    /// [`Template::render_batch`] for the job's values.
    fn render_job(&self, job: &Job<'_>) -> Result<CommandSpec, BatchError> {
        let style = self.batch.unwrap_or(BatchStyle::Joined);
        if self.shell {
            let line = match self.words.first() {
                Some(word) => word.batch_line(style, job)?,
                None => Vec::new(),
            };
            return Ok(CommandSpec {
                program: OsString::from("/bin/sh"),
                args: vec![OsString::from("-c"), OsString::from_vec(line)],
                shell: true,
            });
        }
        let mut args = Vec::with_capacity(self.words.len() + job.items.len());
        for word in &self.words {
            word.batch_args(style, job, &mut args)?;
        }
        let mut args = args.into_iter().map(OsString::from_vec);
        let program = args.next().unwrap_or_default();
        Ok(CommandSpec {
            program,
            args: args.collect(),
            shell: false,
        })
    }

    /// What one more item adds to a batch's command line; `Err` when the
    /// item cannot render.
    pub(crate) fn item_cost(&self, item: &Item, scratch: &mut Vec<u8>) -> Result<Cost, String> {
        let style = self.batch.unwrap_or(BatchStyle::Joined);
        let mut cost = Cost::default();
        // Several sources: each position comes as a value of its own.
        if let Some(spread) = batch::spread_positions(&[item]) {
            for value in &spread.values {
                for word in &self.words {
                    cost = cost + word.item_cost(self.shell, style, value, scratch)?;
                }
            }
            return Ok(cost);
        }
        for word in &self.words {
            cost = cost + word.item_cost(self.shell, style, item, scratch)?;
        }
        Ok(cost)
    }

    /// What a batch's command line takes before any item.
    pub(crate) fn base_cost(&self) -> Cost {
        let style = self.batch.unwrap_or(BatchStyle::Joined);
        let words = self.words.iter().fold(Cost::default(), |sum, w| {
            sum + w.base_cost(self.shell, style)
        });
        if self.shell {
            // `/bin/sh -c LINE`
            words
                + Cost {
                    chars: "/bin/sh".len() + "-c".len() + 2,
                    args: 3,
                }
        } else {
            words
        }
    }

    /// How long a batch's command line may be: `max_chars` (`-s`), and in
    /// shell mode no more than one argument holds (the line is one `sh -c`
    /// argument); within `exec`'s limit always.
    pub(crate) fn batch_limits(&self, max_chars: Option<usize>) -> Limits {
        let bytes = crate::batch::system_limit();
        let mut chars = max_chars.unwrap_or(usize::MAX);
        if self.shell {
            // The line, and the `/bin/sh -c` before it.
            chars = chars.min(MAX_ARG_STRLEN - 1 + "/bin/sh".len() + "-c".len() + 2);
        }
        Limits {
            chars: chars.min(bytes),
            bytes,
        }
    }

    /// Whether a placeholder needs the number of items (`{##}`, `{0#}`).
    pub(crate) fn needs_total(&self) -> bool {
        self.words.iter().any(Word::needs_total)
    }

    /// Gives `{##}` and `{0#}` the number of items, before the run.
    pub(crate) fn set_total(&mut self, total: u64) {
        for word in &mut self.words {
            word.set_total(total);
        }
    }

    /// Whether commands run under `/bin/sh -c`.
    #[cfg(test)]
    pub fn is_shell(&self) -> bool {
        self.shell
    }

    /// Whether the template uses the worker slot `{%}`.
    #[cfg(test)]
    pub fn uses_slot(&self) -> bool {
        self.uses_slot
    }

    /// The template as the user gave it, words joined by spaces.
    pub fn source(&self) -> String {
        self.source.clone()
    }
}

impl CommandSpec {
    /// Copy-pasteable shell text for this command (for messages and
    /// reports): its exact bytes ([`display::command_line`]) when
    /// they are UTF-8; otherwise with `$'\xe9'` escapes (bash syntax), so no
    /// byte is lost to U+FFFD.
    pub fn display(&self) -> String {
        match String::from_utf8(display::command_line(self, Controls::Raw)) {
            Ok(text) => text,
            Err(_) => {
                String::from_utf8_lossy(&display::command_line(self, Controls::Escape)).into_owned()
            }
        }
    }
}

/// Bytes that make a single-word template a shell command line.
fn is_shell_byte(b: u8) -> bool {
    b.is_ascii_whitespace() || b"|&;<>()$`\\\"'*?[]~#".contains(&b)
}
