//! The parsed form of one command word: literal bytes and placeholders, each
//! placeholder with the quoting layers it needs, rendered once per item.

use crate::item::Item;

use super::placeholder::Ph;
use super::placeholder::value;
use super::shell::quote::{Layer, backtick_escape, put};

/// One argument (argv mode) or the command line (shell mode).
#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
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

impl Word {
    pub(crate) fn push_lit(&mut self, bytes: &[u8]) {
        self.lit_len += bytes.len();
        if let Some(Piece::Lit(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Lit(bytes.to_vec()));
        }
    }

    pub(crate) fn push_hole(&mut self, ph: Ph, layers: Vec<Layer>) {
        self.holes += 1;
        self.pieces.push(Piece::Hole { ph, layers });
    }

    pub(crate) fn render(&self, item: &Item, slot: usize) -> Result<Vec<u8>, String> {
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
