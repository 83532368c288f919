//! The words of one simple command, followed far enough to know the commands
//! that parse their arguments again: `eval` and `trap`, `alias`, a shell
//! given a script with `-c` (behind wrappers such as `env` or `sudo`), the
//! bash builtins that evaluate names, and words that split into a command.

use crate::template::path::basename;
use crate::template::token::is_shell_name;

/// What the words seen so far of the current simple command make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimpleCommand {
    /// Expecting the command name (after assignments and reserved words).
    Start,
    /// A command that runs another (`env`, `sudo`, `exec`, ...): every later
    /// word may be the real command.
    Wrapper,
    /// A command fanout cannot name before it runs (`$SHELL`, `"$cmd"`), or
    /// one that gives `-c CMD` to a shell (`su`, `flock`): every later word
    /// may be the real command, and the word after a `-c` may be a script.
    Unknown { dash_c: bool },
    /// Nothing to watch.
    Normal,
    /// `echo`, which prints its arguments and runs none: a shell name among
    /// them is data.
    Inert,
    /// `eval` or `trap`: every argument is code.
    Eval,
    /// A shell reading its options: `dash_c` once `-c` is seen,
    /// `option_argument` when the next word is an option's argument,
    /// `options_ended` after `--`.
    Shell {
        dash_c: bool,
        option_argument: bool,
        options_ended: bool,
    },
    /// `declare` and friends (names before `=`); `let` (every word).
    Names { every_word: bool },
    /// `test`, `[` and `printf`, whose `-v NAME` is evaluated.
    TestV { after_v: bool },
    /// `[[ ... ]]`, until the word `]]`.
    DoubleBracket,
    /// After `function`: the name, then a command may follow (`{ ...`).
    FuncName,
    /// `env`: a wrapper whose `-S` splits a later word into a command.
    Env,
    /// After `env -S` or a word holding `sh -c`: later words are split into
    /// a command fanout cannot model, so every placeholder is refused.
    Split,
}

/// What a command name makes of its command.
pub(crate) enum CommandName {
    Becomes(SimpleCommand),
    Alias,
    Plain,
}

const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"ksh93", b"mksh", b"lksh", b"pdksh", b"oksh", b"ash",
    b"yash", b"posh", b"rbash",
];
const WRAPPERS: &[&[u8]] = &[
    b"env",
    b"command",
    b"builtin",
    b"exec",
    b"nohup",
    b"nice",
    b"ionice",
    b"timeout",
    b"setsid",
    b"stdbuf",
    b"sudo",
    b"doas",
    b"chronic",
    b"flock",
    b"chrt",
    b"taskset",
    b"busybox",
    b"unbuffer",
    b"nsenter",
    b"unshare",
    b"chroot",
    b"xargs",
    b"find",
    b"time",
];
const NAME_BUILTINS: &[&[u8]] = &[
    b"declare",
    b"typeset",
    b"local",
    b"export",
    b"readonly",
    b"unset",
    b"read",
    b"mapfile",
    b"readarray",
];
const RESERVED: &[&[u8]] = &[
    b"if", b"then", b"else", b"elif", b"do", b"while", b"until", b"!", b"{", b"time", b"coproc",
];

pub(crate) fn classify(name: &[u8]) -> CommandName {
    let base = memchr::memrchr(b'/', name).map_or(name, |at| &name[at + 1..]);
    match base {
        b"eval" | b"trap" => CommandName::Becomes(SimpleCommand::Eval),
        b"echo" => CommandName::Becomes(SimpleCommand::Inert),
        b"alias" => CommandName::Alias,
        b"let" => CommandName::Becomes(SimpleCommand::Names { every_word: true }),
        b"printf" | b"test" | b"[" => CommandName::Becomes(SimpleCommand::TestV { after_v: false }),
        b"[[" => CommandName::Becomes(SimpleCommand::DoubleBracket),
        b"su" | b"runuser" | b"flock" => {
            CommandName::Becomes(SimpleCommand::Unknown { dash_c: false })
        }
        _ if SHELLS.contains(&base) => CommandName::Becomes(SimpleCommand::Shell {
            dash_c: false,
            option_argument: false,
            options_ended: false,
        }),
        _ if NAME_BUILTINS.contains(&base) => {
            CommandName::Becomes(SimpleCommand::Names { every_word: false })
        }
        b"env" => CommandName::Becomes(SimpleCommand::Env),
        _ if WRAPPERS.contains(&base) => CommandName::Becomes(SimpleCommand::Wrapper),
        _ => CommandName::Plain,
    }
}

/// `NAME=...` or `NAME[...]=...`: a variable assignment before a command.
pub(crate) fn is_assignment(word: &[u8]) -> bool {
    let Some(eq) = memchr::memchr(b'=', word) else {
        return false;
    };
    let name = &word[..eq];
    let name = name.strip_suffix(b"+").unwrap_or(name);
    let name = match memchr::memchr(b'[', name) {
        Some(open) if name.ends_with(b"]") => &name[..open],
        _ => name,
    };
    is_shell_name(name)
}

/// A word that holds a shell name followed by a `-c` option (`'sh -c'`,
/// as given to `env -S`): split later into a shell and its script.
fn splits_into_shell(word: &[u8]) -> bool {
    let mut parts = word
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let mut shell = false;
    let mut first = true;
    for part in parts.by_ref() {
        if shell && part.len() > 1 && part[0] == b'-' && part.contains(&b'c') {
            // One word alone (`-c`) is an option, not a split command.
            return !first;
        }
        // A shell's other options come between it and `-c`.
        shell = SHELLS.contains(&basename(part)) || (shell && matches!(part[0], b'-' | b'+'));
        first = false;
    }
    false
}

/// Variables a shell evaluates later (at startup, in a prompt, under
/// `set -x`): a value assigned to them is code.
const EVALUATED_VARS: &[&[u8]] = &[
    b"BASH_ENV",
    b"ENV",
    b"PS0",
    b"PS1",
    b"PS2",
    b"PS3",
    b"PS4",
    b"PROMPT_COMMAND",
    b"SHELLOPTS",
    b"BASHOPTS",
];

/// `NAME=...` or `NAME+=...` for a variable in [`EVALUATED_VARS`].
pub(crate) fn assigns_evaluated_var(word: &[u8]) -> bool {
    let Some(eq) = memchr::memchr(b'=', word) else {
        return false;
    };
    let name = &word[..eq];
    let name = name.strip_suffix(b"+").unwrap_or(name);
    EVALUATED_VARS.contains(&name)
}

/// Whether script text holds something that evaluates a variable's value
/// later: `declare -i` and friends (an assignment becomes arithmetic,
/// which runs a subscript's `$(...)`), `declare -n` (a name reference) or
/// the `${x@P}`, `${x@E}` transformations.
pub(crate) fn evaluates_later(text: &[u8]) -> bool {
    if memchr::memmem::find(text, b"@P}").is_some() || memchr::memmem::find(text, b"@E}").is_some()
    {
        return true;
    }
    let mut words = text
        .split(|b| b.is_ascii_whitespace() || b";&|()'\"`{}".contains(b))
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(word) = words.next() {
        match word {
            b"integer" => return true,
            b"declare" | b"typeset" | b"local" => {
                while let Some(opt) = words.next_if(|w| matches!(w[0], b'-' | b'+')) {
                    if opt[1..].iter().any(|b| matches!(b, b'i' | b'n')) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// A word so far that opens an array subscript: `NAME[` with no `]` yet.
pub(crate) fn in_subscript(word: &[u8]) -> bool {
    match memchr::memchr(b'[', word) {
        Some(open) => is_shell_name(&word[..open]) && !word[open..].contains(&b']'),
        None => false,
    }
}

/// What a finished word was to its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// `alias`, which changes how the words after it parse.
    Alias,
    Word,
}

impl SimpleCommand {
    /// Whether the next word may be the script of `sh -c`.
    pub(crate) fn wants_script(self) -> bool {
        matches!(
            self,
            SimpleCommand::Shell {
                dash_c: true,
                option_argument: false,
                ..
            } | SimpleCommand::Unknown { dash_c: true }
        )
    }

    /// Whether `word`, given to a shell reading options, is an option.
    pub(crate) fn is_option(self, word: &[u8]) -> bool {
        match self {
            SimpleCommand::Shell {
                option_argument,
                options_ended,
                ..
            } => {
                option_argument
                    || (!options_ended && word.len() > 1 && matches!(word[0], b'-' | b'+'))
            }
            SimpleCommand::Unknown { dash_c: true } => word.len() > 1 && word[0] == b'-',
            _ => false,
        }
    }

    /// Takes one finished word (`None`: its text is not known before it
    /// runs).
    ///
    /// For an unknown word, `prefix` is its text before the first expansion:
    /// a shell reading options takes `-c$x` as an option that may hold `c`,
    /// and `$x` as a word that may be one.
    pub(crate) fn take_word(&mut self, text: Option<&[u8]>, prefix: &[u8]) -> Taken {
        if let Some(text) = text
            && self.takes_shell_name(text)
        {
            return Taken::Word;
        }
        if text.is_none() && self.takes_unknown_option(prefix) {
            return Taken::Word;
        }
        match *self {
            SimpleCommand::Unknown { dash_c } => return self.after_unknown(dash_c, text),
            SimpleCommand::Start | SimpleCommand::Wrapper | SimpleCommand::Env => {
                return self.command_name(text);
            }
            SimpleCommand::Shell {
                dash_c,
                option_argument,
                options_ended,
            } => {
                *self = match text {
                    _ if option_argument => SimpleCommand::Shell {
                        dash_c,
                        option_argument: false,
                        options_ended,
                    },
                    Some(b"-" | b"--") if !options_ended => SimpleCommand::Shell {
                        dash_c,
                        option_argument,
                        options_ended: true,
                    },
                    Some(t) if self.is_option(t) => {
                        if t.starts_with(b"--") {
                            let option_argument = matches!(t, b"--rcfile" | b"--init-file");
                            SimpleCommand::Shell {
                                dash_c,
                                option_argument,
                                options_ended,
                            }
                        } else {
                            SimpleCommand::Shell {
                                dash_c: dash_c || (t[0] == b'-' && t.contains(&b'c')),
                                option_argument: matches!(t.last(), Some(b'o' | b'O')),
                                options_ended,
                            }
                        }
                    }
                    // The script (with -c) or a script file: the rest are its
                    // arguments.
                    _ => SimpleCommand::Normal,
                };
            }
            // An unknown word may expand to nothing: `-v` still waits.
            SimpleCommand::TestV { after_v } => {
                *self = SimpleCommand::TestV {
                    after_v: text == Some(b"-v") || (after_v && text.is_none()),
                }
            }
            SimpleCommand::DoubleBracket if text == Some(b"]]") => *self = SimpleCommand::Normal,
            SimpleCommand::FuncName => *self = SimpleCommand::Start,
            _ => {}
        }
        Taken::Word
    }

    /// A word that holds a shell given `-c`, or names a shell; returns
    /// whether it did (and the command changed).
    fn takes_shell_name(&mut self, text: &[u8]) -> bool {
        if matches!(
            *self,
            SimpleCommand::Eval
                | SimpleCommand::DoubleBracket
                | SimpleCommand::Split
                | SimpleCommand::Shell { dash_c: true, .. }
        ) || self.wants_script()
        {
            return false;
        }
        // A word holding a shell given `-c` (`env -S 'sh -c'`) is split
        // into a command later: what follows cannot be modelled.
        if splits_into_shell(text) {
            *self = SimpleCommand::Split;
            return true;
        }
        // Any word naming a shell, whatever precedes it (`strace -o f
        // sh -c ...`): the words after it are its options and script. A
        // false positive (`mytool sh -c {}`) only quotes once more; the
        // arguments of `echo`, `printf` and `test` are known to be data.
        if matches!(
            *self,
            SimpleCommand::Normal
                | SimpleCommand::Wrapper
                | SimpleCommand::Env
                | SimpleCommand::Shell { .. }
        ) && SHELLS.contains(&basename(text))
        {
            *self = SimpleCommand::Shell {
                dash_c: false,
                option_argument: false,
                options_ended: false,
            };
            return true;
        }
        false
    }

    /// A word whose text is unknown, read where a shell or an unknown
    /// command takes options: it may be an option holding `c`; returns
    /// whether it was taken as an option.
    fn takes_unknown_option(&mut self, prefix: &[u8]) -> bool {
        if !(prefix.is_empty() || matches!(prefix[0], b'-' | b'+')) {
            return false;
        }
        let may_hold_c = prefix.first() == Some(&b'-') && prefix.contains(&b'c');
        match *self {
            SimpleCommand::Shell {
                dash_c,
                option_argument: false,
                options_ended: false,
            } => {
                *self = SimpleCommand::Shell {
                    dash_c: dash_c || may_hold_c,
                    option_argument: false,
                    options_ended: false,
                };
                true
            }
            SimpleCommand::Unknown { dash_c } => {
                *self = SimpleCommand::Unknown {
                    dash_c: dash_c || may_hold_c,
                };
                true
            }
            _ => false,
        }
    }

    /// A word after a command fanout cannot name: an option, the script
    /// after `-c`, or what may be the real command.
    fn after_unknown(&mut self, dash_c: bool, text: Option<&[u8]>) -> Taken {
        match text {
            Some(t) if dash_c && self.is_option(t) => {}
            // The script.
            _ if dash_c => *self = SimpleCommand::Normal,
            Some(t) if t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'c') => {
                *self = SimpleCommand::Unknown { dash_c: true };
            }
            Some(t) => match classify(t) {
                CommandName::Alias => {
                    *self = SimpleCommand::Normal;
                    return Taken::Alias;
                }
                CommandName::Becomes(command) => *self = command,
                CommandName::Plain => {}
            },
            None => {}
        }
        Taken::Word
    }

    /// A word where the command name stands, at the start or behind a
    /// wrapper.
    fn command_name(&mut self, text: Option<&[u8]>) -> Taken {
        let wrapper = *self != SimpleCommand::Start;
        if *self == SimpleCommand::Env
            && text.is_some_and(|t| {
                t.starts_with(b"--s")
                    || (t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'S'))
            })
        {
            *self = SimpleCommand::Split;
            return Taken::Word;
        }
        let Some(text) = text else {
            if !wrapper {
                *self = SimpleCommand::Unknown { dash_c: false };
            }
            return Taken::Word;
        };
        if !wrapper && (is_assignment(text) || RESERVED.contains(&text)) {
            return Taken::Word;
        }
        if !wrapper && text == b"function" {
            *self = SimpleCommand::FuncName;
            return Taken::Word;
        }
        match classify(text) {
            CommandName::Alias => {
                *self = SimpleCommand::Normal;
                return Taken::Alias;
            }
            CommandName::Becomes(command) => *self = command,
            CommandName::Plain if wrapper => {}
            CommandName::Plain => *self = SimpleCommand::Normal,
        }
        Taken::Word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_evaluation_and_split_words_are_spotted() {
        assert!(splits_into_shell(b"sh -c"));
        assert!(splits_into_shell(b"/bin/bash -e -c"));
        assert!(!splits_into_shell(b"-c"));
        assert!(!splits_into_shell(b"sh"));
        assert!(!splits_into_shell(b"echo -c"));
        assert!(evaluates_later(b"declare -i n; n=1"));
        assert!(evaluates_later(b"f(){ local -ix n=1;}"));
        assert!(evaluates_later(b"typeset -n r=x"));
        assert!(evaluates_later(b"echo \"${x@P}\""));
        assert!(!evaluates_later(
            b"declare -x n=1; read -n 1 x; echo ${x@Q}"
        ));
        assert!(assigns_evaluated_var(b"PS4=+"));
        assert!(assigns_evaluated_var(b"BASH_ENV+="));
        assert!(!assigns_evaluated_var(b"PS5="));
        assert!(!assigns_evaluated_var(b"echo"));
    }
}
