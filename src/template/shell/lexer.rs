//! One frame of the shell lexer (top level, `$(...)`, `${...}`, arithmetic)
//! and what each byte does in it: the quote state, the word being read, and
//! the frame to open or close.

use super::command::{Cmd, is_assignment, is_shell_name};
use super::refusal::{AFTER_HEREDOC, AFTER_PARAM, AFTER_PID, Why};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Top,
    /// `$(...)`: a nested unquoted context.
    CmdSubst,
    /// `${...}`.
    ParamExp,
    /// `$(( ))`, `(( ))` (closed by `)`) or `$[ ]` (closed by `]`); `parens`
    /// counts the open brackets.
    Arith {
        bracket: bool,
    },
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
pub(crate) enum Redir {
    None,
    /// After `<`, `>`, `>>`, `>|`: the next word is a file name.
    File,
    /// After `>&` or `<&`.
    Dup,
}

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: FrameKind,
    pub(crate) quote: Quote,
    /// Open `(` inside a `$(`, so the matching `)` is found; the bracket
    /// depth of an `Arith` frame.
    pub(crate) parens: u32,
    /// The previous byte was an unescaped backslash.
    pub(crate) backslash: bool,
    /// The previous byte was an unescaped `$`.
    pub(crate) dollar: bool,
    /// The previous two bytes were `$$`.
    pub(crate) pid: bool,
    /// Consecutive `<` just seen (2 means a here-document starts).
    pub(crate) lt: u8,
    /// At the start of a word, where `#` begins a comment.
    pub(crate) word_start: bool,
    /// The previous byte this frame read.
    pub(crate) prev: u8,
    /// A word has started (the model's view of the word being read).
    pub(crate) word_open: bool,
    /// The word's text so far, after quote removal.
    pub(crate) word: Vec<u8>,
    /// `None` while `word` is all of it; once an expansion or placeholder
    /// is read, how many bytes of `word` came before it.
    pub(crate) word_known: Option<usize>,
    /// The current simple command.
    pub(crate) cmd: Cmd,
    pub(crate) redir: Redir,
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
            pid: false,
            lt: 0,
            word_start: true,
            // A fresh `$(` has just read `(`: a second one makes `$((`.
            prev: if kind == FrameKind::CmdSubst {
                b'('
            } else {
                b' '
            },
            word_open: false,
            word: Vec::new(),
            word_known: None,
            cmd: Cmd::Start,
            redir: Redir::None,
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
pub(crate) enum Eff {
    /// Nothing (a comment, an `${...}` or arithmetic body).
    Nothing,
    /// This byte.
    Text(u8),
    /// A backslash and this byte (`\x` inside "..." for most x).
    Text2(u8),
    /// Only quoting: the word exists, its text does not change.
    Quote,
    /// An expansion: the word's text is known only when it runs.
    Expand,
    /// The word ends here.
    End,
}

const BOUNDARY: &[u8] = b" \t\n;&|<>()";

pub(crate) fn effect(frame: &Frame, b: u8) -> Eff {
    match frame.quote {
        Quote::Single if b == b'\'' => Eff::Quote,
        Quote::Single => Eff::Text(b),
        Quote::DollarSingle => Eff::Expand,
        Quote::Comment => Eff::Nothing,
        Quote::Double if frame.backslash => {
            if matches!(b, b'$' | b'`' | b'"' | b'\\') {
                Eff::Text(b)
            } else {
                Eff::Text2(b)
            }
        }
        Quote::Double => match b {
            b'\\' | b'"' => Eff::Quote,
            b'$' | b'`' => Eff::Expand,
            _ if frame.dollar => Eff::Expand,
            _ => Eff::Text(b),
        },
        Quote::None => match frame.kind {
            FrameKind::ParamExp | FrameKind::Arith { .. } => Eff::Nothing,
            FrameKind::Top | FrameKind::CmdSubst => {
                if frame.backslash {
                    Eff::Text(b)
                } else if frame.dollar {
                    Eff::Expand
                } else {
                    match b {
                        b'\\' | b'\'' | b'"' => Eff::Quote,
                        b'$' | b'`' => Eff::Expand,
                        b'#' if frame.word_start => Eff::Nothing,
                        _ if BOUNDARY.contains(&b) => Eff::End,
                        _ => Eff::Text(b),
                    }
                }
            }
        },
    }
}

/// What an unquoted byte does to the frame stack.
pub(crate) enum Act {
    Nothing,
    Push(FrameKind),
    /// Push an arithmetic frame with this many brackets open.
    Arith {
        bracket: bool,
        open: u32,
    },
    Pop,
    Tick(bool),
    Lost(&'static Why),
    Boundary,
    BoundaryThenPop,
}

/// The byte after a `$` (or after `$$`), the same in every context that
/// expands: a substitution, a parameter expansion or arithmetic begins, or
/// `$$` (a special parameter) ends the `$`; `None` when `b` is an ordinary
/// byte for the context to handle.
fn after_dollar(frame: &mut Frame, b: u8) -> Option<Act> {
    if std::mem::take(&mut frame.pid) && matches!(b, b'(' | b'{' | b'[') {
        return Some(Act::Lost(&AFTER_PID));
    }
    if !std::mem::take(&mut frame.dollar) {
        return None;
    }
    match b {
        b'(' => Some(Act::Push(FrameKind::CmdSubst)),
        b'{' => Some(Act::Push(FrameKind::ParamExp)),
        b'[' => Some(Act::Arith {
            bracket: true,
            open: 1,
        }),
        b'$' => {
            frame.pid = true;
            Some(Act::Nothing)
        }
        _ => None,
    }
}

/// A byte inside "...": only `\`, `"`, `` ` `` and `$` matter.
pub(crate) fn double_quoted(frame: &mut Frame, b: u8) -> Act {
    if frame.backslash {
        frame.backslash = false;
        return Act::Nothing;
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    match b {
        b'\\' => frame.backslash = true,
        b'"' => frame.quote = Quote::None,
        b'`' => return Act::Tick(true),
        b'$' => frame.dollar = true,
        _ => {}
    }
    Act::Nothing
}

/// A byte of shell arithmetic outside quotes: quotes, substitutions and
/// brackets are followed only to find where it ends.
pub(crate) fn arith(frame: &mut Frame, b: u8, bracket: bool) -> Act {
    if frame.backslash {
        frame.backslash = false;
        return Act::Nothing;
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    let (open, close) = if bracket { (b'[', b']') } else { (b'(', b')') };
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => return Act::Tick(false),
        b'$' => frame.dollar = true,
        _ if b == open => frame.parens += 1,
        _ if b == close => {
            frame.parens = frame.parens.saturating_sub(1);
            if frame.parens == 0 {
                return Act::Pop;
            }
        }
        _ => {}
    }
    Act::Nothing
}

/// A byte outside quotes (at top level, in `$(...)` or in `${...}`).
pub(crate) fn unquoted(frame: &mut Frame, b: u8) -> Act {
    if frame.backslash {
        frame.backslash = false;
        frame.in_word();
        return Act::Nothing;
    }
    let heredoc = frame.lt == 2 && b != b'<';
    frame.lt = if b == b'<' {
        frame.lt.saturating_add(1)
    } else {
        0
    };
    if heredoc {
        return Act::Lost(&AFTER_HEREDOC);
    }
    // (A `$` never stands while `frame.pid` does: `$$` takes it.)
    if frame.dollar {
        if frame.kind == FrameKind::ParamExp && matches!(b, b'(' | b'{' | b'[') {
            frame.dollar = false;
            return Act::Lost(&AFTER_PARAM);
        }
        if b == b'\'' {
            frame.dollar = false;
            frame.quote = Quote::DollarSingle;
            return Act::Nothing;
        }
    }
    if let Some(act) = after_dollar(frame, b) {
        return act;
    }
    if frame.kind == FrameKind::ParamExp {
        return match b {
            b'}' => Act::Pop,
            b'\'' | b'"' | b'`' | b'\\' | b'{' => Act::Lost(&AFTER_PARAM),
            b'$' => {
                frame.dollar = true;
                Act::Nothing
            }
            _ => Act::Nothing,
        };
    }
    match b {
        b'[' if frame.subscript > 0 => frame.subscript += 1,
        b']' if frame.subscript > 0 => frame.subscript -= 1,
        // `NAME[` where an assignment may stand (the text, `[` included,
        // is in `frame.word` already).
        b'[' if matches!(frame.cmd, Cmd::Start | Cmd::Names { .. })
            && frame.word_known.is_none()
            && frame
                .word
                .split_last()
                .is_some_and(|(_, name)| is_shell_name(name)) =>
        {
            frame.subscript = 1;
        }
        _ => {}
    }
    match b {
        b'\\' => frame.backslash = true,
        b'\'' => frame.quote = Quote::Single,
        b'"' => frame.quote = Quote::Double,
        b'`' => {
            frame.in_word();
            return Act::Tick(false);
        }
        b'$' => frame.dollar = true,
        b'#' if frame.word_start => {
            frame.quote = Quote::Comment;
            return Act::Nothing;
        }
        b'(' if frame.compound > 0 => {
            frame.compound += 1;
            return Act::Boundary;
        }
        b')' if frame.compound > 0 => {
            frame.compound -= 1;
            return Act::Boundary;
        }
        b'(' if matches!(frame.cmd, Cmd::Start | Cmd::Names { .. })
            && frame.word_known.is_none()
            && frame.word.ends_with(b"=")
            && is_assignment(&frame.word) =>
        {
            frame.compound = 1;
            return Act::Boundary;
        }
        b'(' => {
            // `((`, `$((` and `for ((` are arithmetic (dash reads `$((`
            // as arithmetic even when a subshell is meant).
            if frame.prev == b'(' {
                if frame.kind == FrameKind::CmdSubst && frame.parens == 0 {
                    frame.kind = FrameKind::Arith { bracket: false };
                    frame.parens = 2;
                    return Act::Nothing;
                }
                if frame.kind == FrameKind::CmdSubst {
                    frame.parens -= 1;
                }
                return Act::Arith {
                    bracket: false,
                    open: 2,
                };
            }
            if frame.kind == FrameKind::CmdSubst {
                frame.parens += 1;
            }
            return Act::Boundary;
        }
        b')' => {
            if frame.kind == FrameKind::CmdSubst {
                if frame.parens == 0 {
                    return Act::BoundaryThenPop;
                }
                frame.parens -= 1;
            }
            return Act::Boundary;
        }
        _ if BOUNDARY.contains(&b) => return Act::Boundary,
        _ => {
            frame.word_start = false;
            return Act::Nothing;
        }
    }
    frame.in_word();
    Act::Nothing
}
