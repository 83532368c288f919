//! The parsed form of one command word: literal bytes and placeholders, each
//! placeholder with the quoting layers it needs, rendered once per item.

use crate::item::{Item, ItemData};

use super::placeholder::Placeholder;
use super::placeholder::value;
use super::quote::{Layer, backtick_escape, push_quoted};

/// One argument (argv mode) or the command line (shell mode).
#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
    pub(super) pieces: Vec<Piece>,
    pub(super) literal_len: usize,
    placeholders: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Piece {
    Literal(Vec<u8>),
    Placeholder {
        placeholder: Placeholder,
        /// How to write the value, innermost shell first: a placeholder in a
        /// script given to `sh -c` is quoted for that shell, then the result
        /// for the shell that reads the script.
        layers: Vec<Layer>,
    },
}

impl Word {
    pub(crate) fn push_literal(&mut self, bytes: &[u8]) {
        self.literal_len += bytes.len();
        if let Some(Piece::Literal(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Literal(bytes.to_vec()));
        }
    }

    pub(crate) fn push_placeholder(&mut self, placeholder: Placeholder, layers: Vec<Layer>) {
        self.placeholders += 1;
        self.pieces.push(Piece::Placeholder {
            placeholder,
            layers,
        });
    }

    /// Whether a placeholder needs the number of items (`{##}`, `{0#}`).
    pub(crate) fn needs_total(&self) -> bool {
        self.pieces.iter().any(|piece| {
            matches!(piece, Piece::Placeholder { placeholder, .. } if placeholder.needs_total())
        })
    }

    /// Gives `{##}` and `{0#}` the number of items.
    pub(crate) fn set_total(&mut self, total: u64) {
        for piece in &mut self.pieces {
            if let Piece::Placeholder { placeholder, .. } = piece {
                placeholder.set_total(total);
            }
        }
    }

    /// The positions of an item of several sources, when this word is
    /// only the appended `{}` (argv mode gives each its own argument).
    pub(crate) fn spread<'i>(&self, item: &'i Item) -> Option<Vec<&'i [u8]>> {
        let [Piece::Placeholder { placeholder, .. }] = self.pieces.as_slice() else {
            return None;
        };
        match (&item.data, placeholder) {
            (ItemData::Combined(combination), Placeholder::Appended) => {
                Some(combination.positions().collect())
            }
            _ => None,
        }
    }

    pub(crate) fn render(&self, item: &Item, slot: usize) -> Result<Vec<u8>, String> {
        let mut out =
            Vec::with_capacity(self.literal_len + self.placeholders * (item.raw.len() + 8));
        for piece in &self.pieces {
            match piece {
                Piece::Literal(bytes) => out.extend_from_slice(bytes),
                Piece::Placeholder {
                    placeholder: Placeholder::Appended,
                    layers,
                } if matches!(item.data, ItemData::Combined(_)) => {
                    // Each position its own quoted word, as GNU appends them.
                    let ItemData::Combined(combination) = &item.data else {
                        continue;
                    };
                    for (n, position) in combination.positions().enumerate() {
                        if n > 0 {
                            out.push(b' ');
                        }
                        push_layered(&mut out, position, layers)?;
                    }
                }
                Piece::Placeholder {
                    placeholder,
                    layers,
                } => {
                    let mut digits = [0u8; 20];
                    let value = value(placeholder, item, slot, &mut digits)?;
                    push_layered(&mut out, &value, layers)?;
                }
            }
        }
        Ok(out)
    }
}

/// Writes a value quoted for every layer it lands in (one per shell it
/// passes through, innermost first). A NUL byte cannot be in an argument.
pub(super) fn push_layered(
    out: &mut Vec<u8>,
    value: &[u8],
    layers: &[Layer],
) -> Result<(), String> {
    if memchr::memchr(0, value).is_some() {
        return Err(NUL_IN_ARGUMENT.to_string());
    }
    if let [
        Layer {
            context,
            backticks: 0,
        },
    ] = layers
    {
        push_quoted(out, value, *context);
    } else {
        let mut text = value.to_vec();
        for layer in layers {
            let mut next = Vec::with_capacity(text.len() + 8);
            push_quoted(&mut next, &text, layer.context);
            for _ in 0..layer.backticks {
                next = backtick_escape(&next);
            }
            text = next;
        }
        out.extend_from_slice(&text);
    }
    Ok(())
}

/// Why a value holding a NUL byte cannot be passed.
pub(crate) const NUL_IN_ARGUMENT: &str =
    "the item contains a NUL byte, which a command argument cannot hold";
