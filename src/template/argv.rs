//! argv mode: each word becomes exactly one argument, unquoted, except a
//! word that is a script given to a shell with `-c` (behind any wrapper),
//! whose placeholders are quoted for that shell as in shell mode.

use super::TemplateError;
use super::placeholder::Ph;
use super::shell::command::{Class, Cmd, assigns_evaluated_var, classify, evaluates_later};
use super::shell::lit;
use super::shell::quote::RAW;
use super::shell::refusal::{AFTER_SPLIT, EVALUATED_LATER, IN_EVALUATED_VAR, refuse};
use super::shell::scan::Scan;
use super::token::{Tok, literal_text};
use super::word::Word;

pub(crate) fn argv_words(toks: Vec<Vec<Tok>>, has_hole: bool) -> Result<Vec<Word>, TemplateError> {
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

#[cfg(test)]
mod tests {
    use crate::item::Item;
    use crate::template::tests::*;

    #[test]
    fn argv_mode_never_splits_or_quotes() {
        let t = parse(&["sh", "-c", "echo \"$1\"", "_", "{}"]);
        let hostile = b"$(touch pwned); rm -rf x".to_vec();
        let got = argv(&t, &Item::plain(1, hostile.clone()));
        assert_eq!(got[1..], [&b"-c"[..], b"echo \"$1\"", b"_", &hostile]);
    }
}
