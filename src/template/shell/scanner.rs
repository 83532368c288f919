//! The scanner: feeds the literal bytes of a command line through a stack of
//! lexer frames, backtick bodies and scripts given to a shell, and at each
//! placeholder says how to quote it, or why it cannot.

use super::command::{SimpleCommand, Taken, assigns_evaluated_var, in_subscript, is_assignment};
use super::lexer::{
    Action, BackticksIn, Frame, FrameKind, Quote, Redirection, WordEffect, next_action, word_effect,
};
use super::refusal::{
    AFTER_ALIAS, AFTER_BACKSLASH, AFTER_CASE, AFTER_DOLLAR, AFTER_DUP, AFTER_HEREDOC, AFTER_SPLIT,
    AFTER_TEST_V, BATCH_ASSIGNMENT, BATCH_COMMAND, BATCH_REDIRECT, IN_ANSI, IN_ARITH, IN_COMMENT,
    IN_COMPOUND, IN_DBRACKET, IN_EVAL, IN_EVALUATED_VAR, IN_NAME, IN_PARAM, IN_SCRIPT_EXPANSION,
    IN_SHELL_OPTION, IN_SUBSCRIPT, OUTPUT_RUN, Refusal, Why, refuse,
};
use crate::template::quote::{Layer, QuotingContext};

#[derive(Debug)]
pub(crate) struct Scanner {
    /// Never empty: the `Top` frame is never closed.
    frames: Vec<Frame>,
    /// An open backtick body, parsed by its own scanner after unescaping.
    backticks: Option<Box<Backticks>>,
    /// Set once the model can no longer be trusted; later placeholders are refused.
    lost_track: Option<&'static Why>,
    /// A backslash not yet fed: with a newline it is a line continuation,
    /// which the shell drops before anything else sees it.
    pending_backslash: bool,
    /// The word being read is a script given to a shell with `-c`.
    script: Option<Box<Script>>,
}

#[derive(Debug)]
struct Backticks {
    /// The previous byte was a backslash not yet resolved.
    backslash: bool,
    opened_in: BackticksIn,
    inner: Scanner,
}

#[derive(Debug)]
struct Script {
    /// The inner shell's scanner, fed the word's text after quote removal.
    inner: Scanner,
    /// The frame stack height of the frame reading the word.
    depth: usize,
    /// The word's first byte (`'` for a placeholder): `-` or `+` makes it an
    /// option, not the script.
    first: Option<u8>,
}

impl Script {
    fn starting_at(depth: usize) -> Box<Script> {
        Box::new(Script {
            inner: Scanner::new(),
            depth,
            first: None,
        })
    }
}

impl Scanner {
    pub(crate) fn new() -> Scanner {
        Scanner {
            frames: vec![Frame::new(FrameKind::Top)],
            backticks: None,
            lost_track: None,
            pending_backslash: false,
            script: None,
        }
    }

    /// Reads one literal byte of the command line.
    pub(crate) fn feed(&mut self, b: u8) {
        if std::mem::take(&mut self.pending_backslash) {
            if b != b'\n' {
                self.step(b'\\');
                self.step(b);
            }
            return;
        }
        let continues = self.backticks.is_none()
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
        if self.backticks.is_some() {
            self.step_in_backticks(b);
            return;
        }
        let depth = self.frames.len();
        let Some(frame) = self.frames.last() else {
            return;
        };
        self.add_to_word(word_effect(frame, b), depth);
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        let action = next_action(frame, b);
        self.apply(action, b);
        let len = self.frames.len();
        if let Some(frame) = self.frames.get_mut(depth.min(len) - 1) {
            frame.previous = b;
        }
        if self.script.as_ref().is_some_and(|s| s.depth > len) {
            self.script = None;
        }
    }

    /// A byte of an open backtick body: unescaped once, then fed to the
    /// body's own scanner, until the closing backtick.
    fn step_in_backticks(&mut self, b: u8) {
        let Some(backticks) = self.backticks.as_mut() else {
            return;
        };
        if backticks.backslash {
            backticks.backslash = false;
            // Backslash-newline inside backticks is a line continuation.
            if b == b'\n' {
                return;
            }
            let unescapes = matches!(b, b'\\' | b'`' | b'$')
                || (backticks.opened_in == BackticksIn::DoubleQuotes && b == b'"');
            if !unescapes {
                backticks.inner.feed(b'\\');
            }
            backticks.inner.feed(b);
        } else if b == b'\\' {
            backticks.backslash = true;
        } else if b == b'`' {
            if let Some(reason) = backticks.inner.lost_track {
                self.lost_track.get_or_insert(reason);
            }
            self.backticks = None;
        } else {
            backticks.inner.feed(b);
        }
    }

    /// Adds what a byte contributes to the word the top frame (at stack
    /// height `depth`) is reading, and to the script that word may be.
    fn add_to_word(&mut self, effect: WordEffect, depth: usize) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if matches!(
            effect,
            WordEffect::Text(_)
                | WordEffect::BackslashText(_)
                | WordEffect::Quote
                | WordEffect::Expand
        ) {
            if !frame.word_open {
                frame.word_open = true;
                if frame.command.wants_script() && self.script.is_none() {
                    self.script = Some(Script::starting_at(depth));
                }
            }
            match effect {
                WordEffect::Text(c) => frame.word.push(c),
                WordEffect::BackslashText(c) => frame.word.extend_from_slice(&[b'\\', c]),
                WordEffect::Expand => {
                    frame.expansion_at.get_or_insert(frame.word.len());
                }
                _ => {}
            }
        }
        if let Some(script) = self.script.as_mut()
            && script.depth == depth
        {
            match effect {
                WordEffect::Text(c) => {
                    script.first.get_or_insert(c);
                    script.inner.feed(c);
                }
                WordEffect::BackslashText(c) => {
                    script.first.get_or_insert(b'\\');
                    script.inner.feed(b'\\');
                    script.inner.feed(c);
                }
                WordEffect::Expand => {
                    script.first.get_or_insert(b'$');
                    script.inner.lost_track.get_or_insert(&IN_SCRIPT_EXPANSION);
                }
                _ => {}
            }
        }
    }

    fn apply(&mut self, action: Action, b: u8) {
        match action {
            Action::Nothing => {}
            Action::Open(kind) => self.frames.push(Frame::new(kind)),
            Action::OpenArithmetic { closer, open } => {
                let mut frame = Frame::new(FrameKind::Arithmetic { closer });
                frame.parens = open;
                self.frames.push(frame);
            }
            Action::Close => self.close_frame(),
            Action::OpenBackticks(opened_in) => {
                self.backticks = Some(Box::new(Backticks {
                    backslash: false,
                    opened_in,
                    inner: Scanner::new(),
                }));
            }
            Action::LoseTrack(why) => {
                self.lost_track.get_or_insert(why);
            }
            Action::EndWord => self.end_word(b),
            Action::EndWordThenClose => {
                self.end_word(b);
                self.close_frame();
            }
        }
    }

    /// A word ends at `separator` (white space or an operator byte).
    fn end_word(&mut self, separator: u8) {
        let depth = self.frames.len();
        let in_command_substitution = self
            .frames
            .iter()
            .any(|f| f.kind == FrameKind::CommandSubstitution);
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if std::mem::take(&mut frame.word_open) {
            let word = std::mem::take(&mut frame.word);
            let expansion_at = frame.expansion_at.take();
            let exact = expansion_at.is_none();
            let prefix = &word[..expansion_at.unwrap_or(0).min(word.len())];
            if exact && word == b"case" && in_command_substitution {
                self.lost_track.get_or_insert(&AFTER_CASE);
            }
            let fd = matches!(separator, b'<' | b'>')
                && exact
                && !word.is_empty()
                && word.iter().all(u8::is_ascii_digit);
            if frame.redirection != Redirection::None {
                // A redirection's target is no word of the command.
                frame.redirection = Redirection::None;
            } else if !fd
                && frame
                    .command
                    .take_word(exact.then_some(word.as_slice()), prefix)
                    == Taken::Alias
            {
                self.lost_track.get_or_insert(&AFTER_ALIAS);
            }
        }
        if self.script.as_ref().is_some_and(|s| s.depth == depth) {
            self.script = None;
        }
        match separator {
            b'<' | b'>' => frame.redirection = Redirection::File,
            b'&' if matches!(frame.previous, b'<' | b'>') => {
                frame.redirection = Redirection::Duplicate;
            }
            b'|' if frame.previous == b'>' => frame.redirection = Redirection::File,
            b' ' | b'\t' => {}
            b'&' | b'|' | b'(' | b')' if frame.command == SimpleCommand::DoubleBracket => {}
            _ => {
                frame.command = SimpleCommand::Start;
                frame.redirection = Redirection::None;
            }
        }
        frame.word_start = true;
    }

    fn close_frame(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }

    /// How a placeholder here must be quoted: one layer per shell that reads
    /// it, innermost first.
    pub(crate) fn placeholder_layers(&mut self) -> Result<Vec<Layer>, Refusal> {
        if let Some(why) = self.lost_track {
            return Err(refuse(why));
        }
        if std::mem::take(&mut self.pending_backslash) {
            self.step(b'\\');
        }
        self.check_enclosing_words()?;
        if let Some(backticks) = self.backticks.as_mut() {
            if self.script.is_some() {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if backticks.backslash {
                return Err(refuse(&AFTER_BACKSLASH));
            }
            let mut layers = backticks.inner.placeholder_layers()?;
            if let Some(last) = layers.last_mut() {
                last.backticks += 1;
            }
            return Ok(layers);
        }
        let depth = self.frames.len();
        let Some(frame) = self.frames.last_mut() else {
            return Err(refuse(&AFTER_HEREDOC));
        };
        if frame.less_thans == 2 {
            self.lost_track = Some(&AFTER_HEREDOC);
            return Err(refuse(&AFTER_HEREDOC));
        }
        frame.less_thans = 0;
        frame.after_pid = false;
        if frame.backslash {
            return Err(refuse(&AFTER_BACKSLASH));
        }
        if frame.dollar {
            return Err(refuse(&AFTER_DOLLAR));
        }
        let context = match frame.quote {
            Quote::None if frame.kind == FrameKind::ParameterExpansion => {
                return Err(refuse(&IN_PARAM));
            }
            Quote::None => QuotingContext::Unquoted,
            Quote::Single => QuotingContext::Single,
            Quote::Double => QuotingContext::Double,
            Quote::DollarSingle => return Err(refuse(&IN_ANSI)),
            Quote::Comment => return Err(refuse(&IN_COMMENT)),
        };
        if context == QuotingContext::Unquoted {
            frame.in_word();
        }
        frame.expansion_at.get_or_insert(frame.word.len());
        if !std::mem::replace(&mut frame.word_open, true)
            && frame.command.wants_script()
            && self.script.is_none()
        {
            self.script = Some(Script::starting_at(depth));
        }
        let own = Layer {
            context,
            backticks: 0,
        };
        if let Some(script) = self.script.as_mut() {
            if script.depth != depth {
                return Err(refuse(&IN_SCRIPT_EXPANSION));
            }
            if matches!(script.first, Some(b'-' | b'+')) {
                return Err(refuse(&IN_SHELL_OPTION));
            }
            script.first.get_or_insert(b'\'');
            let mut layers = script
                .inner
                .placeholder_layers()
                .map_err(Refusal::in_script)?;
            layers.push(own);
            return Ok(layers);
        }
        Ok(vec![own])
    }

    /// Whether the spot of the placeholder just quoted holds exactly one
    /// word, so that several items (`-n`, `-X`...) cannot go there: a
    /// redirection's target, the command name (or an assignment before it),
    /// a variable's value. Asked after [`Scanner::placeholder_layers`].
    pub(crate) fn single_word_spot(&self) -> Option<&'static Why> {
        if let Some(backticks) = &self.backticks {
            return backticks.inner.single_word_spot();
        }
        if let Some(script) = &self.script
            && script.depth == self.frames.len()
        {
            return script.inner.single_word_spot();
        }
        let frame = self.frames.last()?;
        if frame.redirection != Redirection::None {
            return Some(&BATCH_REDIRECT);
        }
        if frame.command == SimpleCommand::Start {
            return Some(&BATCH_COMMAND);
        }
        if is_assignment(&frame.word) {
            return Some(&BATCH_ASSIGNMENT);
        }
        None
    }

    /// Every enclosing command's word counts: a `$(...)` or backticks in an
    /// argument of `eval` are part of what `eval` runs.
    fn check_enclosing_words(&self) -> Result<(), Refusal> {
        let in_backticks = self.backticks.is_some();
        let top = self.frames.len().saturating_sub(1);
        if self
            .frames
            .iter()
            .any(|f| matches!(f.kind, FrameKind::Arithmetic { .. }))
        {
            return Err(refuse(&IN_ARITH));
        }
        for (at, frame) in self.frames.iter().enumerate() {
            if let Some(why) = word_rules(frame) {
                return Err(refuse(why));
            }
            // The frame above is a `$(...)` in this frame's word.
            let substituted = if at < top {
                self.frames[at + 1].kind == FrameKind::CommandSubstitution
            } else {
                in_backticks
            };
            if substituted && runs_output(frame) {
                return Err(refuse(&OUTPUT_RUN));
            }
        }
        Ok(())
    }
}

/// Whether the output of a substitution in the word this frame is reading
/// is split into a command and its arguments (so an item `eval ...` would
/// run as code).
fn runs_output(frame: &Frame) -> bool {
    matches!(
        frame.command,
        SimpleCommand::Start
            | SimpleCommand::Wrapper
            | SimpleCommand::Env
            | SimpleCommand::Unknown { .. }
    ) && frame.kind != FrameKind::ParameterExpansion
        && frame.quote == Quote::None
        && frame.redirection == Redirection::None
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
    match frame.command {
        SimpleCommand::Eval => return Some(&IN_EVAL),
        SimpleCommand::DoubleBracket => return Some(&IN_DBRACKET),
        SimpleCommand::Split => return Some(&AFTER_SPLIT),
        _ => {}
    }
    match frame.redirection {
        Redirection::Duplicate => return Some(&AFTER_DUP),
        // A file name, whatever the command.
        Redirection::File => return None,
        Redirection::None => {}
    }
    if assigns_evaluated_var(&frame.word) {
        return Some(&IN_EVALUATED_VAR);
    }
    // Bash evaluates a subscript in an assignment and in the names these
    // builtins take; elsewhere `a[x]` is a glob.
    if matches!(
        frame.command,
        SimpleCommand::Start | SimpleCommand::Names { .. } | SimpleCommand::TestV { after_v: true }
    ) && in_subscript(&frame.word)
    {
        return Some(&IN_SUBSCRIPT);
    }
    match frame.command {
        SimpleCommand::Names { every_word } if every_word || !frame.word.contains(&b'=') => {
            Some(&IN_NAME)
        }
        SimpleCommand::TestV { after_v: true } => Some(&AFTER_TEST_V),
        _ => None,
    }
}
