//! One frame of the shell lexer (top level, `$(...)`, `${...}`, arithmetic)
//! and what each byte does in it: the quote state, the word being read, and
//! the frame to open or close.

use super::command::{SimpleCommand, is_assignment};
use super::refusal::{AFTER_ANSI_QUOTE, AFTER_HEREDOC, AFTER_PARAM, AFTER_PID, Why};
use crate::template::token::is_shell_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Top,
    /// `$(...)`: a nested unquoted context.
    CommandSubstitution,
    ParameterExpansion,
    /// `$(( ))`, `(( ))` (closed by `)`) or `$[ ]` (closed by `]`); `parens`
    /// counts the open brackets.
    Arithmetic {
        closer: Closer,
    },
}

/// The bracket that closes shell arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closer {
    Paren,
    Bracket,
}

/// Where a backtick substitution was opened: inside "..." the shell also
/// removes the backslash of `\"` when it collects the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackticksIn {
    Unquoted,
    DoubleQuotes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    None,
    Single,
    Double,
    /// `$'...'`, where `\'` does not end the string.
    DollarSingle,
    /// From `#` to the end of the line.
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirection {
    None,
    /// After `<`, `>`, `>>`, `>|`: the next word is a file name.
    File,
    /// After `>&` or `<&`.
    Duplicate,
}

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: FrameKind,
    pub(crate) quote: Quote,
    /// Open `(` inside a `$(`, so the matching `)` is found; the bracket
    /// depth of an `Arithmetic` frame.
    pub(crate) parens: u32,
    /// The previous byte was an unescaped backslash.
    pub(crate) backslash: bool,
    /// The previous byte was an unescaped `$`.
    pub(crate) dollar: bool,
    /// The previous two bytes were `$$` (the process id).
    pub(crate) after_pid: bool,
    /// Consecutive `<` just seen (2 means a here-document starts).
    pub(crate) less_thans: u8,
    /// At the start of a word, where `#` begins a comment.
    pub(crate) word_start: bool,
    /// The previous byte this frame read.
    pub(crate) previous: u8,
    /// A word has started (the model's view of the word being read).
    pub(crate) word_open: bool,
    /// The word's text so far, after quote removal.
    pub(crate) word: Vec<u8>,
    /// `None` while `word` is all of it; once an expansion or placeholder
    /// is read, how many bytes of `word` came before it.
    pub(crate) expansion_at: Option<usize>,
    pub(crate) command: SimpleCommand,
    pub(crate) redirection: Redirection,
    /// Open `[` of an array subscript in an assignment (`a[...]=`), which
    /// bash reads as one word up to the matching `]`, blanks and all.
    pub(crate) subscript: u32,
    /// Open `(` of an array assignment `a=(...)`.
    pub(crate) compound: u32,
}

impl Frame {
    pub(crate) fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            quote: Quote::None,
            parens: 0,
            backslash: false,
            dollar: false,
            after_pid: false,
            less_thans: 0,
            word_start: true,
            // A fresh `$(` has just read `(`: a second one makes `$((`.
            previous: if kind == FrameKind::CommandSubstitution {
                b'('
            } else {
                b' '
            },
            word_open: false,
            word: Vec::new(),
            expansion_at: None,
            command: SimpleCommand::Start,
            redirection: Redirection::None,
            subscript: 0,
            compound: 0,
        }
    }

    /// Marks the current word as started: `#` no longer opens a comment.
    pub(crate) fn in_word(&mut self) {
        self.word_start = false;
    }
}

/// What a byte contributes to the text of the word being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordEffect {
    /// Nothing (a comment, an `${...}` or arithmetic body).
    Nothing,
    /// This byte.
    Text(u8),
    /// A backslash and this byte (`\x` inside "..." for most x).
    BackslashText(u8),
    /// Only quoting: the word exists, its text does not change.
    Quote,
    /// An expansion: the word's text is known only when it runs.
    Expand,
    /// The word ends here.
    End,
}

/// Bytes that end an unquoted word.
const WORD_BOUNDARIES: &[u8] = b" \t\n;&|<>()";

pub(crate) fn word_effect(frame: &Frame, b: u8) -> WordEffect {
    match frame.quote {
        Quote::Single if b == b'\'' => WordEffect::Quote,
        Quote::Single => WordEffect::Text(b),
        Quote::DollarSingle => WordEffect::Expand,
        Quote::Comment => WordEffect::Nothing,
        Quote::Double if frame.backslash => {
            if matches!(b, b'$' | b'`' | b'"' | b'\\') {
                WordEffect::Text(b)
            } else {
                WordEffect::BackslashText(b)
            }
        }
        Quote::Double => match b {
            b'\\' | b'"' => WordEffect::Quote,
            b'$' | b'`' => WordEffect::Expand,
            _ if frame.dollar => WordEffect::Expand,
            _ => WordEffect::Text(b),
        },
        Quote::None => match frame.kind {
            FrameKind::ParameterExpansion | FrameKind::Arithmetic { .. } => WordEffect::Nothing,
            FrameKind::Top | FrameKind::CommandSubstitution => {
                if frame.backslash {
                    WordEffect::Text(b)
                } else if frame.dollar {
                    WordEffect::Expand
                } else {
                    match b {
                        b'\\' | b'\'' | b'"' => WordEffect::Quote,
                        b'$' | b'`' => WordEffect::Expand,
                        b'#' if frame.word_start => WordEffect::Nothing,
                        _ if WORD_BOUNDARIES.contains(&b) => WordEffect::End,
                        _ => WordEffect::Text(b),
                    }
                }
            }
        },
    }
}

/// What an unquoted byte does to the frame stack.
pub(crate) enum Action {
    Nothing,
    Open(FrameKind),
    /// Open an arithmetic frame with this many brackets open.
    OpenArithmetic {
        closer: Closer,
        open: u32,
    },
    Close,
    OpenBackticks(BackticksIn),
    /// The model can no longer be trusted: later placeholders are refused.
    LoseTrack(&'static Why),
    EndWord,
    EndWordThenClose,
}

/// What one byte does to the frame reading it, and to the frame stack.
pub(crate) fn next_action(frame: &mut Frame, b: u8) -> Action {
    match frame.quote {
        Quote::Single => {
            if b == b'\'' {
                frame.quote = Quote::None;
            }
            Action::Nothing
        }
        Quote::DollarSingle => dollar_single_quoted(frame, b),
        Quote::Comment => {
            if b == b'\n' {
                frame.quote = Quote::None;
                frame.word_start = true;
                // A comment ends the command as its newline does.
                frame.command = SimpleCommand::Start;
                frame.redirection = Redirection::None;
            }
            Action::Nothing
        }
        Quote::Double => double_quoted(frame, b),
        Quote::None => match frame.kind {
            FrameKind::Arithmetic { closer } => arithmetic(frame, b, closer),
            _ => unquoted(frame, b),
        },
    }
}

/// A byte inside `$'...'`, where `\'` does not end the string.
fn dollar_single_quoted(frame: &mut Frame, b: u8) -> Action {
    if frame.backslash {
        frame.backslash = false;
        if b == b'\'' {
            Action::LoseTrack(&AFTER_ANSI_QUOTE)
        } else {
            Action::Nothing
        }
    } else {
        if b == b'\\' {
            frame.backslash = true;
        } else if b == b'\'' {
            frame.quote = Quote::None;
        }
        Action::Nothing
    }
}

/// The byte after a `$` (or after `$$`), the same in every context that
/// expands: a substitution, a parameter expansion or arithmetic begins, or
/// `$$` (a special parameter) ends the `$`; `None` when `b` is an ordinary
/// byte for the context to handle.
fn after_dollar(frame: &mut Frame, b: u8) -> Option<Action> {
    if std::mem::take(&mut frame.after_pid) && matches!(b, b'(' | b'{' | b'[') {
        return Some(Action::LoseTrack(&AFTER_PID));
    }
    if !std::mem::take(&mut frame.dollar) {
        return None;
    }
    match b {
        b'(' => Some(Action::Open(FrameKind::CommandSubstitution)),
        b'{' => Some(Action::Open(FrameKind::ParameterExpansion)),
        b'[' => Some(Action::OpenArithmetic {
            closer: Closer::Bracket,
            open: 1,
        }),
        b'$' => {
            frame.after_pid = true;
            Some(Action::Nothing)
        }
        _ => None,
    }
}

/// A byte inside "...": only `\`, `"`, `` ` `` and `$` matter.
fn double_quoted(frame: &mut Frame, b: u8) -> Action {
    if frame.backslash {
        frame.backslash = false;
        return Action::Nothing;
    }
    if let Some(action) = after_dollar(frame, b) {
        return action;
    }
    match b {
        b'\\' => frame.backslash = true,
        b'"' => frame.quote = Quote::None,
        b'`' => return Action::OpenBackticks(BackticksIn::DoubleQuotes),
        b'$' => frame.dollar = true,
        _ => {}
    }
    Action::Nothing
}

/// A byte of shell arithmetic outside quotes: quotes, substitutions and
/// brackets are followed only to find where it ends.
fn arithmetic(frame: &mut Frame, b: u8, closer: Closer) -> Action {
    if frame.backslash {
        frame.backslash = false;
        return Action::Nothing;
    }
    if let Some(action) = after_dollar(frame, b) {
        return action;
    }
    let (open, close) = match closer {
        Closer::Paren => (b'(', b')'),
        Closer::Bracket => (b'[', b']'),
    };
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => return Action::OpenBackticks(BackticksIn::Unquoted),
        b'$' => frame.dollar = true,
        _ if b == open => frame.parens += 1,
        _ if b == close => {
            frame.parens = frame.parens.saturating_sub(1);
            if frame.parens == 0 {
                return Action::Close;
            }
        }
        _ => {}
    }
    Action::Nothing
}

/// A byte outside quotes (at top level, in `$(...)` or in `${...}`).
fn unquoted(frame: &mut Frame, b: u8) -> Action {
    if frame.backslash {
        frame.backslash = false;
        frame.in_word();
        return Action::Nothing;
    }
    let heredoc = frame.less_thans == 2 && b != b'<';
    frame.less_thans = if b == b'<' {
        frame.less_thans.saturating_add(1)
    } else {
        0
    };
    if heredoc {
        return Action::LoseTrack(&AFTER_HEREDOC);
    }
    // (A `$` never stands while `frame.after_pid` does: `$$` takes it.)
    if frame.dollar {
        if frame.kind == FrameKind::ParameterExpansion && matches!(b, b'(' | b'{' | b'[') {
            frame.dollar = false;
            return Action::LoseTrack(&AFTER_PARAM);
        }
        if b == b'\'' {
            frame.dollar = false;
            frame.quote = Quote::DollarSingle;
            return Action::Nothing;
        }
    }
    if let Some(action) = after_dollar(frame, b) {
        return action;
    }
    if frame.kind == FrameKind::ParameterExpansion {
        return parameter_expansion(frame, b);
    }
    track_subscript(frame, b);
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => {
            frame.in_word();
            return Action::OpenBackticks(BackticksIn::Unquoted);
        }
        b'$' => frame.dollar = true,
        b'#' if frame.word_start => {
            frame.quote = Quote::Comment;
            return Action::Nothing;
        }
        b'(' => return open_paren(frame),
        b')' => return close_paren(frame),
        _ if WORD_BOUNDARIES.contains(&b) => return Action::EndWord,
        _ => {
            frame.word_start = false;
            return Action::Nothing;
        }
    }
    frame.in_word();
    Action::Nothing
}

/// A byte of a `${...}` body, outside quotes: only its end is followed.
fn parameter_expansion(frame: &mut Frame, b: u8) -> Action {
    match b {
        b'}' => Action::Close,
        b'\'' | b'"' | b'`' | b'\\' | b'{' => Action::LoseTrack(&AFTER_PARAM),
        b'$' => {
            frame.dollar = true;
            Action::Nothing
        }
        _ => Action::Nothing,
    }
}

/// Follows the brackets of an array subscript in an assignment (`a[...]=`).
fn track_subscript(frame: &mut Frame, b: u8) {
    match b {
        b'[' if frame.subscript > 0 => frame.subscript += 1,
        b']' if frame.subscript > 0 => frame.subscript -= 1,
        // `NAME[` where an assignment may stand (the text, `[` included,
        // is in `frame.word` already).
        b'[' if matches!(
            frame.command,
            SimpleCommand::Start | SimpleCommand::Names { .. }
        ) && frame.expansion_at.is_none()
            && frame
                .word
                .split_last()
                .is_some_and(|(_, name)| is_shell_name(name)) =>
        {
            frame.subscript = 1;
        }
        _ => {}
    }
}

/// An unquoted `(`: an array assignment's, arithmetic's, or one that ends
/// a word (a subshell, or nested in `$(...)`).
fn open_paren(frame: &mut Frame) -> Action {
    if frame.compound > 0 {
        frame.compound += 1;
        return Action::EndWord;
    }
    if matches!(
        frame.command,
        SimpleCommand::Start | SimpleCommand::Names { .. }
    ) && frame.expansion_at.is_none()
        && frame.word.ends_with(b"=")
        && is_assignment(&frame.word)
    {
        frame.compound = 1;
        return Action::EndWord;
    }
    // `((`, `$((` and `for ((` are arithmetic (dash reads `$((` as
    // arithmetic even when a subshell is meant).
    if frame.previous == b'(' {
        if frame.kind == FrameKind::CommandSubstitution && frame.parens == 0 {
            frame.kind = FrameKind::Arithmetic {
                closer: Closer::Paren,
            };
            frame.parens = 2;
            return Action::Nothing;
        }
        if frame.kind == FrameKind::CommandSubstitution {
            frame.parens -= 1;
        }
        return Action::OpenArithmetic {
            closer: Closer::Paren,
            open: 2,
        };
    }
    if frame.kind == FrameKind::CommandSubstitution {
        frame.parens += 1;
    }
    Action::EndWord
}

/// An unquoted `)`: it may close the `$(...)` this frame is.
fn close_paren(frame: &mut Frame) -> Action {
    if frame.compound > 0 {
        frame.compound -= 1;
        return Action::EndWord;
    }
    if frame.kind == FrameKind::CommandSubstitution {
        if frame.parens == 0 {
            return Action::EndWordThenClose;
        }
        frame.parens -= 1;
    }
    Action::EndWord
}
