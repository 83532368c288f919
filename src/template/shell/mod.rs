//! A small model of the POSIX sh lexer, fed the literal bytes of the command
//! line, that knows at each placeholder whether the shell is outside quotes,
//! inside '...', or inside "...", and how many backtick levels enclose it. It
//! drops backslash-newline as the shell does, follows the words of each
//! simple command far enough to know the commands that parse their arguments
//! again (`eval`, `trap`, `alias`, a shell given a script with `-c`, and the
//! bash builtins that evaluate names), and models such a script with a nested
//! lexer so its values are quoted for the inner shell, then for the outer one.
//! Where the model is unsure (arithmetic, here-documents, `case` inside
//! `$(...)`, `${...}` with nested quoting, `$'...'`, comments), a placeholder is
//! refused rather than guessed: a wrong guess would let item text run as code.
//! The rules are the union of what dash, bash, ksh and zsh do, whatever
//! `/bin/sh` is, so a template refused here is refused on every machine.

pub(crate) mod command;
mod lexer;
pub(crate) mod quote;
pub(crate) mod refusal;
pub(crate) mod scan;

use super::TemplateError;
use super::placeholder::Ph;
use super::token::{Tok, literal_text};
use super::word::Word;
use command::evaluates_later;
use refusal::{EVALUATED_LATER, refuse};
use scan::Scan;

/// Appends literal shell text, letting the context model see it.
pub(crate) fn lit(line: &mut Word, scan: &mut Scan, bytes: &[u8]) {
    for &b in bytes {
        scan.byte(b);
    }
    line.push_lit(bytes);
}

pub(crate) fn shell_word(toks: Vec<Vec<Tok>>, has_hole: bool) -> Result<Word, TemplateError> {
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
