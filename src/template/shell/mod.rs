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
//!
//! `scanner` drives the model: it feeds the bytes through a stack of
//! `lexer` frames (top level, `$(...)`, `${...}`, arithmetic), backtick
//! bodies and scripts, and answers for each placeholder with the quoting
//! layers of `quote` or a reason from `refusal`; `command` follows the
//! words of each simple command.

pub(crate) mod command;
mod lexer;
pub(crate) mod refusal;
pub(crate) mod scanner;

use super::placeholder::Placeholder;
use super::token::{Token, literal_text};
use super::word::Word;
use super::{JobItems, TemplateError};
use command::evaluates_later;
use refusal::{EVALUATED_LATER, Refusal, refuse};
use scanner::Scanner;

/// Appends literal shell text, letting the context model see it.
pub(crate) fn push_shell_text(line: &mut Word, scanner: &mut Scanner, bytes: &[u8]) {
    for &b in bytes {
        scanner.feed(b);
    }
    line.push_literal(bytes);
}

/// With several items per job, a per-item placeholder cannot go where the
/// shell takes one word.
pub(crate) fn check_spot(
    scanner: &Scanner,
    placeholder: &Placeholder,
    items: JobItems,
) -> Result<(), Refusal> {
    match scanner.single_word_spot() {
        Some(why) if items == JobItems::Several && placeholder.is_per_item() => Err(refuse(why)),
        _ => Ok(()),
    }
}

/// The shell-mode command line: the words joined by spaces, the item
/// appended when no word has a placeholder.
pub(crate) fn command_line(
    tokens: Vec<Vec<Token>>,
    has_placeholder: bool,
    items: JobItems,
) -> Result<Word, TemplateError> {
    let later = evaluates_later(&literal_text(tokens.iter().flatten()));
    if later {
        let first = tokens.iter().flatten().find_map(|token| match token {
            Token::Placeholder(_, text) => Some(text.clone()),
            Token::Literal(_) => None,
        });
        let refusal = refuse(&EVALUATED_LATER);
        return Err(match first {
            Some(text) => refusal.error(&text),
            None => refusal.error_appended(),
        });
    }
    let mut scanner = Scanner::new();
    let mut line = Word::default();
    for (n, word_tokens) in tokens.into_iter().enumerate() {
        if n > 0 {
            push_shell_text(&mut line, &mut scanner, b" ");
        }
        for token in word_tokens {
            match token {
                Token::Literal(bytes) => push_shell_text(&mut line, &mut scanner, &bytes),
                Token::Placeholder(placeholder, text) => {
                    let layers = scanner.placeholder_layers().map_err(|r| r.error(&text))?;
                    check_spot(&scanner, &placeholder, items).map_err(|r| r.error(&text))?;
                    line.push_placeholder(placeholder, layers);
                }
            }
        }
    }
    if !has_placeholder {
        push_shell_text(&mut line, &mut scanner, b" ");
        let layers = scanner
            .placeholder_layers()
            .map_err(|r| r.error_appended())?;
        check_spot(&scanner, &Placeholder::Appended, items).map_err(|r| r.error_appended())?;
        line.push_placeholder(Placeholder::Appended, layers);
    }
    Ok(line)
}
