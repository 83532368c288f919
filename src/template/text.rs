//! Templates whose result is text for people, not a command: the
//! `--tagstring STR` prefix of each output line. The same placeholders as a
//! command (`{}`, `{#}`, `{%}`, columns, `{##}`...) are substituted without
//! any quoting, because nothing runs the text; the output sink escapes
//! control characters in it as it does for `--tag`. A value the item lacks
//! (a column past the end of its row) is empty.

use super::placeholder::{Placeholder, value};
use super::replace::tokenize_word;
use super::token::Token;
use super::{Schema, TemplateError};
use crate::item::Item;

/// A parsed text template.
#[derive(Debug, Clone)]
pub(crate) struct TextTemplate {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(Vec<u8>),
    Value(Placeholder),
}

impl TextTemplate {
    /// Parses `text` against the input's schema; `replace` is `-I STR`.
    pub(crate) fn parse(
        text: &[u8],
        schema: &Schema,
        replace: Option<&[u8]>,
    ) -> Result<TextTemplate, TemplateError> {
        let pieces = tokenize_word(text, schema, replace)?
            .into_iter()
            .map(|token| match token {
                Token::Literal(bytes) => Piece::Literal(bytes),
                Token::Placeholder(placeholder, _) => Piece::Value(placeholder),
            })
            .collect();
        Ok(TextTemplate { pieces })
    }

    /// The text for `item`, run on worker `slot`.
    #[cfg(test)]
    pub(crate) fn render(&self, item: &Item, slot: usize) -> Vec<u8> {
        self.render_job(item, None, None, slot)
    }

    /// The text for a job: `item` is its first item and `joined`, for a
    /// job of several items (`-n`, `-X`), all of them joined by spaces,
    /// which `{}` stands for (as in GNU parallel); the other placeholders
    /// are the first item's, but `{#}`, which is the job's number `seq`.
    pub(crate) fn render_job(
        &self,
        item: &Item,
        joined: Option<&[u8]>,
        seq: Option<u64>,
        slot: usize,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(bytes) => out.extend_from_slice(bytes),
                Piece::Value(Placeholder::Whole) if joined.is_some() => {
                    out.extend_from_slice(joined.unwrap_or_default());
                }
                Piece::Value(Placeholder::Seq) if seq.is_some() => {
                    out.extend_from_slice(seq.unwrap_or_default().to_string().as_bytes());
                }
                Piece::Value(placeholder) => {
                    let mut digits = [0u8; 20];
                    if let Ok(value) = value(placeholder, item, slot, &mut digits) {
                        out.extend_from_slice(&value);
                    }
                }
            }
        }
        out
    }

    /// Whether a placeholder needs the number of items (`{##}`, `{0#}`).
    pub(crate) fn needs_total(&self) -> bool {
        self.pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Value(p) if p.needs_total()))
    }

    /// Gives `{##}` and `{0#}` the number of items.
    pub(crate) fn set_total(&mut self, total: u64) {
        for piece in &mut self.pieces {
            if let Piece::Value(placeholder) = piece {
                placeholder.set_total(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemData;
    use crate::template::tests::*;

    #[test]
    fn renders_values_unquoted() {
        let t = TextTemplate::parse(b"{#}-{} {/} [{%}]", &lines(), None).unwrap();
        let mut item = Item::plain(1, "dir/a b'c");
        item.seq = 7;
        assert_eq!(t.render(&item, 3), b"7-dir/a b'c a b'c [3]");
        let t = TextTemplate::parse(b"no values", &lines(), None).unwrap();
        assert_eq!(t.render(&item, 1), b"no values");
    }

    #[test]
    fn columns_totals_and_replacement_strings() {
        let colsep = crate::template::Schema {
            colsep: true,
            ..lines()
        };
        let mut t = TextTemplate::parse(b"<{1}>{2}{3} {0#}/{##} @", &colsep, Some(b"@")).unwrap();
        assert!(t.needs_total());
        t.set_total(120);
        let row = item_with(
            ItemData::Columns(vec![b"a".to_vec(), b"b".to_vec()]),
            b"a,b",
        );
        assert_eq!(t.render(&row, 1), b"<a>b 001/120 a,b");
        assert!(TextTemplate::parse(b"{nope}", &lines(), None).is_err());
        let t = TextTemplate::parse(b"{}/{.}", &lines(), None).unwrap();
        assert_eq!(
            t.render_job(&Item::plain(1, "a.x"), Some(b"a.x b"), Some(1), 1),
            b"a.x b/a"
        );
    }
}
