//! argv mode: each word becomes exactly one argument, unquoted, except a
//! word that is a script given to a shell with `-c` (behind any wrapper),
//! whose placeholders are quoted for that shell as in shell mode.

use super::placeholder::Placeholder;
use super::quote::Layer;
use super::shell::command::is_assignment;
use super::shell::command::{
    CommandName, SimpleCommand, assigns_evaluated_var, classify, evaluates_later,
};
use super::shell::refusal::{
    AFTER_SPLIT, BATCH_ASSIGNMENT, BATCH_COMMAND, EVALUATED_LATER, IN_EVALUATED_VAR, refuse,
};
use super::shell::scanner::Scanner;
use super::shell::{check_spot, push_shell_text};
use super::token::{Token, literal_text};
use super::word::Word;
use super::{JobItems, TemplateError};

/// The argv-mode words: one per argument, and the item appended when no
/// word has a placeholder.
pub(crate) fn argv_words(
    tokens: Vec<Vec<Token>>,
    has_placeholder: bool,
    items: JobItems,
) -> Result<Vec<Word>, TemplateError> {
    if tokens.first().is_none_or(|first| first.is_empty()) {
        return Err(TemplateError::EmptyProgram);
    }
    // The program, or any later word (behind `env`, `strace -o f`, any
    // wrapper), may be a shell given a script with `-c`: that word is shell
    // code, so its placeholders are quoted for the shell that runs it, as
    // in shell mode.
    let mut command = SimpleCommand::Start;
    let mut words = Vec::with_capacity(tokens.len() + 1);
    for (n, word_tokens) in tokens.into_iter().enumerate() {
        let text = exact_text(&word_tokens);
        let prefix = match word_tokens.first() {
            Some(Token::Literal(bytes)) if text.is_none() => bytes.clone(),
            _ => Vec::new(),
        };
        let option = text.as_deref().is_some_and(|t| command.is_option(t));
        let first_placeholder = word_tokens.iter().find_map(|token| match token {
            Token::Placeholder(_, text) => Some(text.clone()),
            Token::Literal(_) => None,
        });
        if let Some(written) = &first_placeholder
            && items == JobItems::Several
            && word_tokens
                .iter()
                .any(|t| matches!(t, Token::Placeholder(p, _) if p.is_per_item()))
        {
            // The program, or a variable `env` sets: one word, one item.
            if n == 0 {
                return Err(refuse(&BATCH_COMMAND).error(written));
            }
            if command == SimpleCommand::Env && is_assignment(&prefix) {
                return Err(refuse(&BATCH_ASSIGNMENT).error(written));
            }
        }
        if let Some(written) = &first_placeholder {
            if command == SimpleCommand::Split {
                return Err(refuse(&AFTER_SPLIT).error(written));
            }
            if n > 0 && assigns_evaluated_var(&prefix) {
                return Err(refuse(&IN_EVALUATED_VAR).error(written));
            }
        }
        let mut word = Word::default();
        if command.wants_script() && !option {
            if let Some(written) = &first_placeholder
                && evaluates_later(&literal_text(word_tokens.iter()))
            {
                return Err(refuse(&EVALUATED_LATER).in_script().error(written));
            }
            let mut scanner = Scanner::new();
            for token in word_tokens {
                match token {
                    Token::Literal(bytes) => push_shell_text(&mut word, &mut scanner, &bytes),
                    Token::Placeholder(placeholder, text) => {
                        let layers = scanner
                            .placeholder_layers()
                            .map_err(|r| r.in_script().error(&text))?;
                        check_spot(&scanner, &placeholder, items)
                            .map_err(|r| r.in_script().error(&text))?;
                        word.push_placeholder(placeholder, layers);
                    }
                }
            }
            command = SimpleCommand::Normal;
        } else {
            for token in word_tokens {
                match token {
                    Token::Literal(bytes) => word.push_literal(&bytes),
                    Token::Placeholder(placeholder, _) => {
                        word.push_placeholder(placeholder, vec![Layer::RAW])
                    }
                }
            }
            if n == 0 {
                // A program name is never an assignment or a reserved word.
                command = match text.as_deref().map(classify) {
                    Some(CommandName::Becomes(command)) => command,
                    _ => SimpleCommand::Normal,
                };
            } else {
                command.take_word(text.as_deref(), &prefix);
            }
        }
        words.push(word);
    }
    if !has_placeholder {
        if command == SimpleCommand::Split {
            return Err(refuse(&AFTER_SPLIT).error_appended());
        }
        let mut word = Word::default();
        word.push_placeholder(Placeholder::Appended, vec![Layer::RAW]);
        words.push(word);
    }
    Ok(words)
}

/// The text of an argv word without placeholders, or `None` when it has one.
fn exact_text(tokens: &[Token]) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    for token in tokens {
        match token {
            Token::Literal(bytes) => text.extend_from_slice(bytes),
            Token::Placeholder(..) => return None,
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
