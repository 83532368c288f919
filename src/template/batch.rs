//! One command for several items (`-n`, `-N`, `-X`, `-m`, `-s`, `-L`,
//! `--xargs`), with the same quoting as one item: every value is quoted for
//! the spot it lands in, each on its own.
//!
//! A word that holds a per-item placeholder (`{}`, a path form, a column)
//! becomes several arguments. In GNU's context replace ([`BatchStyle::Context`])
//! the word is repeated per item (`x{}y` gives `xay xby`); otherwise
//! ([`BatchStyle::Joined`]) the placeholder stands for all the items, one
//! argument each, the word's text before it going with the first and the
//! text after it with the last (`xa by`). In shell mode the values are
//! quoted and separated by spaces; context replace repeats only a run of
//! plain text around an unquoted placeholder (`x{}.gz`), where repeating
//! cannot change what is quoted; anywhere else it joins. `{#}` is the job's
//! number and `{N}` the job's Nth item.
//!
//! [`Word::item_cost`] says how many bytes one more item adds to a
//! command line, so the batcher can stop before the system's limit.
//!
//! An item of several input sources (`::: a b ::: 1 2`) brings each of its
//! positions as a value of its own ([`spread_positions`]), as GNU parallel
//! does: `-n 2 echo` runs `echo a 1 a 2`, `-X echo x{}y` runs
//! `echo xay x1y xay x2y`, and `{N}` is the job's Nth value counted across
//! its combinations.

use std::borrow::Cow;

use crate::batch::{BatchStyle, Cost};
use crate::item::{Item, ItemData};

use super::placeholder::{Placeholder, value};
use super::quote::{Layer, QuotingContext};
use super::word::{Piece, Word, push_layered};

/// A job's values when its items combine several sources: every
/// position of every item, in order, with the index of the item each came
/// from (`origins`, for errors).
pub(crate) struct Spread {
    pub(crate) values: Vec<Item>,
    pub(crate) origins: Vec<usize>,
}

/// Each combination's positions as values of their own; `None` when no
/// item is a combination (the items are the values).
pub(crate) fn spread_positions(items: &[&Item]) -> Option<Spread> {
    if !items
        .iter()
        .any(|item| matches!(item.data, ItemData::Combined(_)))
    {
        return None;
    }
    let mut spread = Spread {
        values: Vec::new(),
        origins: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        for position in item.positions() {
            spread.values.push(Item {
                seq: item.seq,
                line: item.line,
                raw: position.to_vec(),
                data: ItemData::Plain,
                key: String::new(),
                rerun: false,
            });
            spread.origins.push(index);
        }
    }
    Some(spread)
}

/// The job a batch command is rendered for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job<'a> {
    pub items: &'a [&'a Item],
    /// The job's number (`{#}`).
    pub seq: u64,
    pub slot: usize,
}

/// Why a batch cannot render: which item, and what it lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchError {
    /// The item's index in the batch.
    pub index: usize,
    pub message: String,
}

impl Job<'_> {
    /// The value of a placeholder that does not depend on the item.
    fn job_value<'v>(
        &self,
        placeholder: &Placeholder,
        digits: &'v mut [u8; 20],
    ) -> Result<Cow<'v, [u8]>, BatchError>
    where
        Self: 'v,
    {
        match placeholder {
            Placeholder::BatchItem(n) => Ok(Cow::Borrowed(match self.items.get(*n) {
                Some(item) => item.raw.as_slice(),
                None => b"",
            })),
            Placeholder::Seq => Ok(Cow::Owned(self.seq.to_string().into_bytes())),
            // `{0#}` pads the job's number; `{##}` counts items (`Total`
            // falls through: it depends on no item).
            Placeholder::PaddedSeq { width } => Ok(Cow::Owned(
                format!("{:0width$}", self.seq, width = *width).into_bytes(),
            )),
            Placeholder::Total(total) => Ok(Cow::Owned(total.to_string().into_bytes())),
            Placeholder::Slot => Ok(Cow::Owned(self.slot.to_string().into_bytes())),
            other => {
                let first = self.items.first().ok_or_else(no_items)?;
                value(other, first, self.slot, digits)
                    .map(|v| Cow::Owned(v.into_owned()))
                    .map_err(|message| BatchError { index: 0, message })
            }
        }
    }

    fn item_value<'v>(
        &self,
        placeholder: &Placeholder,
        index: usize,
        digits: &'v mut [u8; 20],
    ) -> Result<Cow<'v, [u8]>, BatchError>
    where
        Self: 'v,
    {
        let item = self.items[index];
        value(placeholder, item, self.slot, digits)
            .map(|v| Cow::Owned(v.into_owned()))
            .map_err(|message| BatchError { index, message })
    }
}

fn no_items() -> BatchError {
    BatchError {
        index: 0,
        message: "no items".to_owned(),
    }
}

impl Word {
    /// The job positions (`{N}`, 0-based) the word uses.
    pub(crate) fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Placeholder {
                placeholder: Placeholder::BatchItem(n),
                ..
            } => Some(*n),
            _ => None,
        })
    }

    pub(crate) fn has_per_item(&self) -> bool {
        self.pieces.iter().any(|piece| match piece {
            Piece::Placeholder { placeholder, .. } => placeholder.is_per_item(),
            Piece::Literal(_) => false,
        })
    }

    /// Whether the word is shell code (its placeholders are quoted for a
    /// shell), not a plain argument.
    fn is_script(&self) -> bool {
        self.pieces.iter().any(|piece| {
            matches!(piece, Piece::Placeholder { layers, .. } if layers.as_slice() != [Layer::RAW])
        })
    }

    /// The style a word is rendered in: a `NAME=`-style word (`--file={}`)
    /// is repeated per item even when joined, so each value keeps its
    /// `NAME=` (`--file=a --file=b`, not `--file=a b`). A real assignment
    /// (`X={} cmd`, `env X={}`) never gets here: the template refuses it
    /// when jobs run several items.
    fn effective(&self, style: BatchStyle) -> BatchStyle {
        match self.pieces.first() {
            Some(Piece::Literal(prefix)) if prefix.contains(&b'=') => BatchStyle::Context,
            _ => style,
        }
    }

    /// argv mode: this word's arguments for the job. A word with a
    /// per-item placeholder and a job with no items (`-N 0`) gives none.
    pub(crate) fn batch_args(
        &self,
        style: BatchStyle,
        job: &Job<'_>,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), BatchError> {
        if !self.has_per_item() {
            out.push(self.render_with(job, None)?);
            return Ok(());
        }
        if self.is_script() {
            // A script given to a shell (`sh -c 'echo {}'`) stays one
            // argument: its values are quoted and joined as in shell mode.
            out.push(self.batch_line(style, job)?);
            return Ok(());
        }
        if job.items.is_empty() {
            return Ok(());
        }
        match self.effective(style) {
            BatchStyle::Context => {
                for index in 0..job.items.len() {
                    out.push(self.render_with(job, Some(index))?);
                }
            }
            BatchStyle::Joined => {
                let mut current = Vec::new();
                for piece in &self.pieces {
                    match piece {
                        Piece::Literal(bytes) => current.extend_from_slice(bytes),
                        Piece::Placeholder { placeholder, .. } if placeholder.is_per_item() => {
                            for index in 0..job.items.len() {
                                if index > 0 {
                                    out.push(std::mem::take(&mut current));
                                }
                                let mut digits = [0u8; 20];
                                let value = job.item_value(placeholder, index, &mut digits)?;
                                push_layered(&mut current, &value, &[Layer::RAW])
                                    .map_err(|message| BatchError { index, message })?;
                            }
                        }
                        Piece::Placeholder { placeholder, .. } => {
                            let mut digits = [0u8; 20];
                            let value = job.job_value(placeholder, &mut digits)?;
                            push_layered(&mut current, &value, &[Layer::RAW])
                                .map_err(|message| BatchError { index: 0, message })?;
                        }
                    }
                }
                out.push(current);
            }
        }
        Ok(())
    }

    /// Renders the pieces with per-item placeholders taken from item
    /// `index` (or, when `None`, from the job: there are none).
    fn render_with(&self, job: &Job<'_>, index: Option<usize>) -> Result<Vec<u8>, BatchError> {
        let mut out = Vec::with_capacity(self.literal_len + 16);
        for piece in &self.pieces {
            self.push_piece(piece, job, index, &mut out)?;
        }
        Ok(out)
    }

    fn push_piece(
        &self,
        piece: &Piece,
        job: &Job<'_>,
        index: Option<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), BatchError> {
        match piece {
            Piece::Literal(bytes) => out.extend_from_slice(bytes),
            Piece::Placeholder {
                placeholder,
                layers,
            } => {
                let mut digits = [0u8; 20];
                let (value, at) = match index {
                    Some(index) if placeholder.is_per_item() => {
                        (job.item_value(placeholder, index, &mut digits)?, index)
                    }
                    _ => (job.job_value(placeholder, &mut digits)?, 0),
                };
                push_layered(out, &value, layers)
                    .map_err(|message| BatchError { index: at, message })?;
            }
        }
        Ok(())
    }

    /// Shell mode: the command line for the job.
    pub(crate) fn batch_line(
        &self,
        style: BatchStyle,
        job: &Job<'_>,
    ) -> Result<Vec<u8>, BatchError> {
        let mut out = Vec::with_capacity(self.literal_len + 64 * job.items.len());
        for run in runs(&self.pieces) {
            match run {
                Run::Space(bytes) => out.extend_from_slice(bytes),
                Run::Text(units) => {
                    let assigns = matches!(units.first(), Some(Unit::Text(t)) if t.contains(&b'='));
                    let repeat = (style == BatchStyle::Context || assigns) && repeatable(&units);
                    if repeat {
                        for index in 0..job.items.len() {
                            if index > 0 {
                                out.push(b' ');
                            }
                            for unit in &units {
                                match unit {
                                    Unit::Text(bytes) => out.extend_from_slice(bytes),
                                    Unit::Place(piece) => {
                                        self.push_piece(piece, job, Some(index), &mut out)?
                                    }
                                }
                            }
                        }
                    } else {
                        for unit in &units {
                            match unit {
                                Unit::Text(bytes) => out.extend_from_slice(bytes),
                                Unit::Place(piece) => push_joined(piece, job, assigns, &mut out)?,
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// What `item` adds to a command line of this word: never less than
    /// what rendering adds. `scratch` is reused between calls.
    pub(crate) fn item_cost(
        &self,
        shell: bool,
        style: BatchStyle,
        item: &Item,
        scratch: &mut Vec<u8>,
    ) -> Result<Cost, String> {
        let mut chars = 0;
        let mut any = false;
        for piece in &self.pieces {
            let Piece::Placeholder {
                placeholder,
                layers,
            } = piece
            else {
                continue;
            };
            let mut digits = [0u8; 20];
            let text: Cow<'_, [u8]> = match placeholder {
                // A positional value may be this item: count it there.
                Placeholder::BatchItem(_) => Cow::Borrowed(&item.raw),
                p if p.is_per_item() => value(p, item, 0, &mut digits)?,
                _ => continue,
            };
            scratch.clear();
            push_layered(scratch, &text, layers)?;
            // The value, and a space or NUL after it.
            chars += scratch.len() + 1;
            any |= placeholder.is_per_item();
        }
        if !any {
            return Ok(Cost { chars, args: 0 });
        }
        // Context replace repeats the word's text with every item; outside
        // shell mode every item is one more argument.
        if style == BatchStyle::Context || self.effective(style) == BatchStyle::Context {
            chars += self.literal_len;
        }
        let args = usize::from(!shell && !self.is_script());
        Ok(Cost { chars, args })
    }

    /// What this word takes in a command line besides what its items add.
    pub(crate) fn base_cost(&self, shell: bool, style: BatchStyle) -> Cost {
        let repeated = self.has_per_item()
            && (style == BatchStyle::Context || self.effective(style) == BatchStyle::Context);
        if repeated && !shell {
            // The whole word comes with each item.
            return Cost::default();
        }
        let job_values = self
            .pieces
            .iter()
            .filter(|p| matches!(p, Piece::Placeholder { placeholder, .. } if !placeholder.is_per_item()))
            .count();
        // Each item brings a NUL (or space): a word of items needs no other.
        let end = usize::from(!self.has_per_item());
        Cost {
            chars: self.literal_len + 20 * job_values + end,
            args: usize::from(!shell),
        }
    }
}

/// A placeholder's values for all the items, each quoted, separated by
/// spaces (a job-wide one once). In a `NAME=`-style word that cannot be
/// repeated (`--dir=$D/{}`) they are joined first and quoted as one value,
/// so the word stays one word.
fn push_joined(
    piece: &Piece,
    job: &Job<'_>,
    assigns: bool,
    out: &mut Vec<u8>,
) -> Result<(), BatchError> {
    let Piece::Placeholder {
        placeholder,
        layers,
    } = piece
    else {
        if let Piece::Literal(bytes) = piece {
            out.extend_from_slice(bytes);
        }
        return Ok(());
    };
    let mut digits = [0u8; 20];
    if !placeholder.is_per_item() {
        let value = job.job_value(placeholder, &mut digits)?;
        return push_layered(out, &value, layers)
            .map_err(|message| BatchError { index: 0, message });
    }
    if assigns {
        let mut joined = Vec::new();
        for index in 0..job.items.len() {
            if index > 0 {
                joined.push(b' ');
            }
            joined.extend_from_slice(&job.item_value(placeholder, index, &mut digits)?);
        }
        return push_layered(out, &joined, layers)
            .map_err(|message| BatchError { index: 0, message });
    }
    for index in 0..job.items.len() {
        if index > 0 {
            out.push(b' ');
        }
        let value = job.item_value(placeholder, index, &mut digits)?;
        push_layered(out, &value, layers).map_err(|message| BatchError { index, message })?;
    }
    Ok(())
}

/// A shell line cut at literal white space.
enum Run<'p> {
    Space(&'p [u8]),
    Text(Vec<Unit<'p>>),
}

enum Unit<'p> {
    Text(&'p [u8]),
    Place(&'p Piece),
}

fn runs(pieces: &[Piece]) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    let mut text: Vec<Unit<'_>> = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Placeholder { .. } => text.push(Unit::Place(piece)),
            Piece::Literal(bytes) => {
                let mut rest = bytes.as_slice();
                while !rest.is_empty() {
                    let space = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                    if space > 0 {
                        if !text.is_empty() {
                            runs.push(Run::Text(std::mem::take(&mut text)));
                        }
                        runs.push(Run::Space(&rest[..space]));
                        rest = &rest[space..];
                        continue;
                    }
                    let word = rest.iter().take_while(|b| !b.is_ascii_whitespace()).count();
                    text.push(Unit::Text(&rest[..word]));
                    rest = &rest[word..];
                }
            }
        }
    }
    if !text.is_empty() {
        runs.push(Run::Text(text));
    }
    runs
}

/// Whether a run can be repeated per item without changing what is
/// quoted: it holds a per-item placeholder, every placeholder sits outside
/// any quotes, and its text is plain (no quote, `$`, backslash, brace,
/// glob or tilde that repeating could unbalance or expand).
fn repeatable(units: &[Unit<'_>]) -> bool {
    let mut per_item = false;
    for unit in units {
        match unit {
            Unit::Text(bytes) => {
                if !bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b))
                {
                    return false;
                }
            }
            Unit::Place(Piece::Placeholder {
                placeholder,
                layers,
            }) => {
                let unquoted = matches!(
                    layers.as_slice(),
                    [Layer {
                        context: QuotingContext::Unquoted,
                        backticks: 0
                    }]
                );
                if !unquoted {
                    return false;
                }
                per_item |= placeholder.is_per_item();
            }
            Unit::Place(Piece::Literal(_)) => return false,
        }
    }
    per_item
}
