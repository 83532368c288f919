//! The scanner: feeds the literal bytes of a command line through a stack of
//! lexer frames, backtick bodies and scripts given to a shell, and at each
//! placeholder says how to quote it, or why it cannot.

use super::command::{Cmd, assigns_evaluated_var, in_subscript, is_assignment};
use super::lexer::{
    Act, Eff, Frame, FrameKind, Quote, Redir, arith, double_quoted, effect, unquoted,
};
use super::quote::{Ctx, Layer};
use super::refusal::{
    AFTER_ALIAS, AFTER_ANSI_QUOTE, AFTER_BACKSLASH, AFTER_CASE, AFTER_DOLLAR, AFTER_DUP,
    AFTER_HEREDOC, AFTER_SPLIT, AFTER_TEST_V, IN_ANSI, IN_ARITH, IN_COMMENT, IN_COMPOUND,
    IN_DBRACKET, IN_EVAL, IN_EVALUATED_VAR, IN_NAME, IN_PARAM, IN_SCRIPT_EXPANSION,
    IN_SHELL_OPTION, IN_SUBSCRIPT, OUTPUT_RUN, Refusal, Why, refuse,
};

#[derive(Debug)]
pub(crate) struct Scan {
    /// Never empty: the `Top` frame is never popped.
    frames: Vec<Frame>,
    /// An open backtick body, parsed by its own lexer after unescaping.
    tick: Option<Box<Tick>>,
    /// Set once the model can no longer be trusted; later placeholders are refused.
    lost: Option<&'static Why>,
    /// A backslash not yet fed: with a newline it is a line continuation,
    /// which the shell drops before anything else sees it.
    pending_backslash: bool,
    /// The word being read is a script given to a shell with `-c`.
    script: Option<Box<Script>>,
}

#[derive(Debug)]
struct Tick {
    /// The previous byte was a backslash not yet resolved.
    escape: bool,
    /// The backticks opened inside "...", where `\"` also unescapes.
    in_dq: bool,
    inner: Scan,
}

#[derive(Debug)]
struct Script {
    /// The inner shell's lexer, fed the word's text after quote removal.
    inner: Scan,
    /// The frame stack height of the frame reading the word.
    depth: usize,
    /// The word's first byte (`'` for a placeholder): `-` or `+` makes it an
    /// option, not the script.
    first: Option<u8>,
}

impl Scan {
    pub(crate) fn new() -> Scan {
        Scan {
            frames: vec![Frame::new(FrameKind::Top)],
            tick: None,
            lost: None,
            pending_backslash: false,
            script: None,
        }
    }

    pub(crate) fn byte(&mut self, b: u8) {
        if std::mem::take(&mut self.pending_backslash) {
            if b != b'\n' {
                self.step(b'\\');
                self.step(b);
            }
            return;
        }
        let continues = self.tick.is_none()
            && self
                .frames
                .last()
                .is_some_and(|f| matches!(f.quote, Quote::None | Quote::Double) && !f.backslash);
        if b == b'\\' && continues {
            self.pending_backslash = true;
            return;
        }
        self.step(b);
    }

    fn step(&mut self, b: u8) {
        if let Some(tick) = self.tick.as_mut() {
            if tick.escape {
                tick.escape = false;
                // Backslash-newline inside backticks is a line continuation.
                if b == b'\n' {
                    return;
                }
                let unescapes = matches!(b, b'\\' | b'`' | b'$') || (tick.in_dq && b == b'"');
                if !unescapes {
                    tick.inner.byte(b'\\');
                }
                tick.inner.byte(b);
            } else if b == b'\\' {
                tick.escape = true;
            } else if b == b'`' {
                if let Some(reason) = tick.inner.lost {
                    self.lost.get_or_insert(reason);
                }
                self.tick = None;
            } else {
                tick.inner.byte(b);
            }
            return;
        }
        let depth = self.frames.len();
        let in_cmdsubst = self.frames.iter().any(|f| f.kind == FrameKind::CmdSubst);
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        let eff = effect(frame, b);
        if matches!(eff, Eff::Text(_) | Eff::Text2(_) | Eff::Quote | Eff::Expand) {
            if !frame.word_open {
                frame.word_open = true;
                if frame.cmd.wants_script() && self.script.is_none() {
                    self.script = Some(Box::new(Script {
                        inner: Scan::new(),
                        depth,
                        first: None,
                    }));
                }
            }
            match eff {
                Eff::Text(c) => frame.word.push(c),
                Eff::Text2(c) => frame.word.extend_from_slice(&[b'\\', c]),
                Eff::Expand => {
                    frame.word_known.get_or_insert(frame.word.len());
                }
                _ => {}
            }
        }
        if let Some(script) = self.script.as_mut()
            && script.depth == depth
        {
            match eff {
                Eff::Text(c) => {
                    script.first.get_or_insert(c);
                    script.inner.byte(c);
                }
                Eff::Text2(c) => {
                    script.first.get_or_insert(b'\\');
                    script.inner.byte(b'\\');
                    script.inner.byte(c);
                }
                Eff::Expand => {
                    script.first.get_or_insert(b'$');
                    script.inner.lost.get_or_insert(&IN_SCRIPT_EXPANSION);
                }
                _ => {}
            }
        }
        let act = match frame.quote {
            Quote::Single => {
                if b == b'\'' {
                    frame.quote = Quote::None;
                }
                Act::Nothing
            }
            Quote::DollarSingle => {
                if frame.backslash {
                    frame.backslash = false;
                    if b == b'\'' {
                        Act::Lost(&AFTER_ANSI_QUOTE)
                    } else {
                        Act::Nothing
                    }
                } else {
                    if b == b'\\' {
                        frame.backslash = true;
                    } else if b == b'\'' {
                        frame.quote = Quote::None;
                    }
                    Act::Nothing
                }
            }
            Quote::Comment => {
                if b == b'\n' {
                    frame.quote = Quote::None;
                    frame.word_start = true;
                    // A comment ends the command as its newline does.
                    frame.cmd = Cmd::Start;
                    frame.redir = Redir::None;
                }
                Act::Nothing
            }
            Quote::Double => double_quoted(frame, b),
            Quote::None => match frame.kind {
                FrameKind::Arith { bracket } => arith(frame, b, bracket),
                _ => unquoted(frame, b),
            },
        };
        match act {
            Act::Nothing => {}
            Act::Push(kind) => self.frames.push(Frame::new(kind)),
            Act::Arith { bracket, open } => {
                let mut frame = Frame::new(FrameKind::Arith { bracket });
                frame.parens = open;
                self.frames.push(frame);
            }
            Act::Pop => self.pop(),
            Act::Tick(in_dq) => {
                self.tick = Some(Box::new(Tick {
                    escape: false,
                    in_dq,
                    inner: Scan::new(),
                }));
            }
            Act::Lost(why) => {
                self.lost.get_or_insert(why);
            }
            Act::Boundary | Act::BoundaryThenPop => {
                self.end_word(b, in_cmdsubst);
                if matches!(act, Act::BoundaryThenPop) {
                    self.pop();
                }
            }
        }
        let len = self.frames.len();
        if let Some(frame) = self.frames.get_mut(depth.min(len) - 1) {
            frame.prev = b;
        }
        if self.script.as_ref().is_some_and(|s| s.depth > len) {
            self.script = None;
        }
    }

    /// A word ends at `sep` (white space or an operator byte).
    fn end_word(&mut self, sep: u8, in_cmdsubst: bool) {
        let depth = self.frames.len();
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if std::mem::take(&mut frame.word_open) {
            let word = std::mem::take(&mut frame.word);
            let known = frame.word_known.take();
            let exact = known.is_none();
            let prefix = &word[..known.unwrap_or(0).min(word.len())];
            if exact && word == b"case" && in_cmdsubst {
                self.lost.get_or_insert(&AFTER_CASE);
            }
            let fd = matches!(sep, b'<' | b'>')
                && exact
                && !word.is_empty()
                && word.iter().all(u8::is_ascii_digit);
            if frame.redir != Redir::None {
                // A redirection's target is no word of the command.
                frame.redir = Redir::None;
            } else if !fd
                && frame
                    .cmd
                    .word_with_prefix(exact.then_some(word.as_slice()), prefix)
            {
                self.lost.get_or_insert(&AFTER_ALIAS);
            }
        }
        if self.script.as_ref().is_some_and(|s| s.depth == depth) {
            self.script = None;
        }
        match sep {
            b'<' | b'>' => frame.redir = Redir::File,
            b'&' if matches!(frame.prev, b'<' | b'>') => frame.redir = Redir::Dup,
            b'|' if frame.prev == b'>' => frame.redir = Redir::File,
            b' ' | b'\t' => {}
            b'&' | b'|' | b'(' | b')' if frame.cmd == Cmd::DBracket => {}
            _ => {
                frame.cmd = Cmd::Start;
                frame.redir = Redir::None;
            }
        }
        frame.word_start = true;
    }

    fn pop(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }

    /// How a placeholder here must be quoted: one layer per shell that reads
    /// it, innermost first.
    pub(crate) fn hole(&mut self) -> Result<Vec<Layer>, Refusal> {
        if let Some(why) = self.lost {
            return Err(refuse(why));
        }
        if std::mem::take(&mut self.pending_backslash) {
            self.step(b'\\');
        }
        // Every enclosing command's word counts: a `$(...)` or backticks in
        // an argument of `eval` are part of what `eval` runs.
        let ticked = self.tick.is_some();
        let top = self.frames.len().saturating_sub(1);
        if self
            .frames
            .iter()
            .any(|f| matches!(f.kind, FrameKind::Arith { .. }))
        {
            return Err(refuse(&IN_ARITH));
        }
        for (at, frame) in self.frames.iter().enumerate() {
            if let Some(why) = word_rules(frame) {
                return Err(refuse(why));
            }
            // The frame above is a `$(...)` in this frame's word.
            let substituted = if at < top {
                self.frames[at + 1].kind == FrameKind::CmdSubst
            } else {
                ticked
            };
            if substituted && runs_output(frame) {
                return Err(refuse(&OUTPUT_RUN));
            }
        }
        if let Some(tick) = self.tick.as_mut() {
            if self.script.is_some() {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if tick.escape {
                return Err(refuse(&AFTER_BACKSLASH));
            }
            let mut layers = tick.inner.hole()?;
            if let Some(last) = layers.last_mut() {
                last.ticks += 1;
            }
            return Ok(layers);
        }
        let depth = self.frames.len();
        let Some(frame) = self.frames.last_mut() else {
            return Err(refuse(&AFTER_HEREDOC));
        };
        if frame.lt == 2 {
            self.lost = Some(&AFTER_HEREDOC);
            return Err(refuse(&AFTER_HEREDOC));
        }
        frame.lt = 0;
        frame.pid = false;
        if frame.backslash {
            return Err(refuse(&AFTER_BACKSLASH));
        }
        if frame.dollar {
            return Err(refuse(&AFTER_DOLLAR));
        }
        let ctx = match frame.quote {
            Quote::None if frame.kind == FrameKind::ParamExp => return Err(refuse(&IN_PARAM)),
            Quote::None => Ctx::Unquoted,
            Quote::Single => Ctx::Single,
            Quote::Double => Ctx::Double,
            Quote::DollarSingle => return Err(refuse(&IN_ANSI)),
            Quote::Comment => return Err(refuse(&IN_COMMENT)),
        };
        if ctx == Ctx::Unquoted {
            frame.in_word();
        }
        frame.word_known.get_or_insert(frame.word.len());
        if !std::mem::replace(&mut frame.word_open, true)
            && frame.cmd.wants_script()
            && self.script.is_none()
        {
            self.script = Some(Box::new(Script {
                inner: Scan::new(),
                depth,
                first: None,
            }));
        }
        let own = Layer { ctx, ticks: 0 };
        if let Some(script) = self.script.as_mut() {
            if script.depth != depth {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if matches!(script.first, Some(b'-' | b'+')) {
                return Err(refuse(&IN_SHELL_OPTION));
            }
            script.first.get_or_insert(b'\'');
            let mut layers = script.inner.hole().map_err(Refusal::in_script)?;
            layers.push(own);
            return Ok(layers);
        }
        Ok(vec![own])
    }
}

/// Whether the output of a substitution in the word this frame is reading
/// is split into a command and its arguments (so an item `eval ...` would
/// run as code).
fn runs_output(frame: &Frame) -> bool {
    matches!(
        frame.cmd,
        Cmd::Start | Cmd::Wrapper | Cmd::Env | Cmd::Unknown { .. }
    ) && frame.kind != FrameKind::ParamExp
        && frame.quote == Quote::None
        && frame.redir == Redir::None
        && !is_assignment(&frame.word)
}

/// Why a placeholder in the word this frame is reading is refused, for the
/// command the word belongs to (the bash spots are refused for every shell).
fn word_rules(frame: &Frame) -> Option<&'static Why> {
    if frame.subscript > 0 {
        return Some(&IN_SUBSCRIPT);
    }
    if frame.compound > 0 {
        return Some(&IN_COMPOUND);
    }
    match frame.cmd {
        Cmd::Eval => return Some(&IN_EVAL),
        Cmd::DBracket => return Some(&IN_DBRACKET),
        Cmd::Split => return Some(&AFTER_SPLIT),
        _ => {}
    }
    match frame.redir {
        Redir::Dup => return Some(&AFTER_DUP),
        // A file name, whatever the command.
        Redir::File => return None,
        Redir::None => {}
    }
    if assigns_evaluated_var(&frame.word) {
        return Some(&IN_EVALUATED_VAR);
    }
    // Bash evaluates a subscript in an assignment and in the names these
    // builtins take; elsewhere `a[x]` is a glob.
    if matches!(
        frame.cmd,
        Cmd::Start | Cmd::Names { .. } | Cmd::TestV { v: true }
    ) && in_subscript(&frame.word)
    {
        return Some(&IN_SUBSCRIPT);
    }
    match frame.cmd {
        Cmd::Names { all } if all || !frame.word.contains(&b'=') => Some(&IN_NAME),
        Cmd::TestV { v: true } => Some(&AFTER_TEST_V),
        _ => None,
    }
}
