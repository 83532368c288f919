//! The words of one simple command, followed far enough to know the commands
//! that parse their arguments again: `eval` and `trap`, `alias`, a shell
//! given a script with `-c` (behind wrappers such as `env` or `sudo`), the
//! bash builtins that evaluate names, and words that split into a command.

use crate::template::path::basename;

/// What the words seen so far of the current simple command make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// Expecting the command name (after assignments and reserved words).
    Start,
    /// A command that runs another (`env`, `sudo`, `exec`, ...): every later
    /// word may be the real command.
    Wrapper,
    /// A command fanout cannot name before it runs (`$SHELL`, `"$cmd"`), or
    /// one that gives `-c CMD` to a shell (`su`, `flock`): every later word
    /// may be the real command, and the word after a `-c` may be a script.
    Unknown { c: bool },
    /// Nothing to watch.
    Normal,
    /// `echo`, which prints its arguments and runs none: a shell name among
    /// them is data.
    Inert,
    /// `eval` or `trap`: every argument is code.
    Eval,
    /// A shell reading its options; `c` once `-c` is seen, `arg` when the
    /// next word is an option's argument, `end` after `--`.
    Shell { c: bool, arg: bool, end: bool },
    /// `declare` and friends (names before `=`); `let` (everything).
    Names { all: bool },
    /// `test`, `[` and `printf`, whose `-v NAME` is evaluated; `v` right after `-v`.
    TestV { v: bool },
    /// `[[ ... ]]`, until the word `]]`.
    DBracket,
    /// After `function`: the name, then a command may follow (`{ ...`).
    FuncName,
    /// `env`: a wrapper whose `-S` splits a later word into a command.
    Env,
    /// After `env -S` or a word holding `sh -c`: later words are split into
    /// a command fanout cannot model, so every placeholder is refused.
    Split,
}

/// What a command name makes of its command.
pub(crate) enum Class {
    Cmd(Cmd),
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

pub(crate) fn classify(name: &[u8]) -> Class {
    let base = memchr::memrchr(b'/', name).map_or(name, |at| &name[at + 1..]);
    match base {
        b"eval" | b"trap" => Class::Cmd(Cmd::Eval),
        b"echo" => Class::Cmd(Cmd::Inert),
        b"alias" => Class::Alias,
        b"let" => Class::Cmd(Cmd::Names { all: true }),
        b"printf" | b"test" | b"[" => Class::Cmd(Cmd::TestV { v: false }),
        b"[[" => Class::Cmd(Cmd::DBracket),
        b"su" | b"runuser" | b"flock" => Class::Cmd(Cmd::Unknown { c: false }),
        _ if SHELLS.contains(&base) => Class::Cmd(Cmd::Shell {
            c: false,
            arg: false,
            end: false,
        }),
        _ if NAME_BUILTINS.contains(&base) => Class::Cmd(Cmd::Names { all: false }),
        b"env" => Class::Cmd(Cmd::Env),
        _ if WRAPPERS.contains(&base) => Class::Cmd(Cmd::Wrapper),
        _ => Class::Plain,
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

pub(crate) fn is_shell_name(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
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

impl Cmd {
    /// Whether the next word may be the script of `sh -c`.
    pub(crate) fn wants_script(self) -> bool {
        matches!(
            self,
            Cmd::Shell {
                c: true,
                arg: false,
                ..
            } | Cmd::Unknown { c: true }
        )
    }

    /// Whether `word`, given to a shell reading options, is an option.
    pub(crate) fn is_option(self, word: &[u8]) -> bool {
        match self {
            Cmd::Shell { arg, end, .. } => {
                arg || (!end && word.len() > 1 && matches!(word[0], b'-' | b'+'))
            }
            Cmd::Unknown { c: true } => word.len() > 1 && word[0] == b'-',
            _ => false,
        }
    }

    /// Takes one finished word (`None`: its text is not known before it
    /// runs); returns whether the word was `alias`.
    ///
    /// For an unknown word, `prefix` is its text before the first expansion:
    /// a shell reading options takes `-c$x` as an option that may hold `c`,
    /// and `$x` as a word that may be one.
    pub(crate) fn word_with_prefix(&mut self, text: Option<&[u8]>, prefix: &[u8]) -> bool {
        if let Some(t) = text
            && !matches!(
                *self,
                Cmd::Eval | Cmd::DBracket | Cmd::Split | Cmd::Shell { c: true, .. }
            )
            && !self.wants_script()
        {
            // A word holding a shell given `-c` (`env -S 'sh -c'`) is split
            // into a command later: what follows cannot be modelled.
            if splits_into_shell(t) {
                *self = Cmd::Split;
                return false;
            }
            // Any word naming a shell, whatever precedes it (`strace -o f
            // sh -c ...`): the words after it are its options and script. A
            // false positive (`mytool sh -c {}`) only quotes once more; the
            // arguments of `echo`, `printf` and `test` are known to be data.
            if matches!(
                *self,
                Cmd::Normal | Cmd::Wrapper | Cmd::Env | Cmd::Shell { .. }
            ) && SHELLS.contains(&basename(t))
            {
                *self = Cmd::Shell {
                    c: false,
                    arg: false,
                    end: false,
                };
                return false;
            }
        }
        if text.is_none() {
            let option = prefix.is_empty() || matches!(prefix[0], b'-' | b'+');
            match *self {
                Cmd::Shell {
                    c,
                    arg: false,
                    end: false,
                } if option => {
                    *self = Cmd::Shell {
                        c: c || (prefix.first() == Some(&b'-') && prefix.contains(&b'c')),
                        arg: false,
                        end: false,
                    };
                    return false;
                }
                Cmd::Unknown { c } if option => {
                    *self = Cmd::Unknown {
                        c: c || (prefix.first() == Some(&b'-') && prefix.contains(&b'c')),
                    };
                    return false;
                }
                _ => {}
            }
        }
        match *self {
            Cmd::Unknown { c } => match text {
                Some(t) if c && self.is_option(t) => {}
                // The script.
                _ if c => *self = Cmd::Normal,
                Some(t) if t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'c') => {
                    *self = Cmd::Unknown { c: true };
                }
                Some(t) => match classify(t) {
                    Class::Alias => {
                        *self = Cmd::Normal;
                        return true;
                    }
                    Class::Cmd(cmd) => *self = cmd,
                    Class::Plain => {}
                },
                None => {}
            },
            Cmd::Start | Cmd::Wrapper | Cmd::Env => {
                let wrapper = *self != Cmd::Start;
                if *self == Cmd::Env
                    && text.is_some_and(|t| {
                        t.starts_with(b"--s")
                            || (t.len() > 1 && t[0] == b'-' && t[1] != b'-' && t.contains(&b'S'))
                    })
                {
                    *self = Cmd::Split;
                    return false;
                }
                let Some(text) = text else {
                    if !wrapper {
                        *self = Cmd::Unknown { c: false };
                    }
                    return false;
                };
                if !wrapper && (is_assignment(text) || RESERVED.contains(&text)) {
                    return false;
                }
                if !wrapper && text == b"function" {
                    *self = Cmd::FuncName;
                    return false;
                }
                match classify(text) {
                    Class::Alias => {
                        *self = Cmd::Normal;
                        return true;
                    }
                    Class::Cmd(cmd) => *self = cmd,
                    Class::Plain if wrapper => {}
                    Class::Plain => *self = Cmd::Normal,
                }
            }
            Cmd::Shell { c, arg, end } => {
                *self = match text {
                    _ if arg => Cmd::Shell { c, arg: false, end },
                    Some(b"-" | b"--") if !end => Cmd::Shell { c, arg, end: true },
                    Some(t) if self.is_option(t) => {
                        if t.starts_with(b"--") {
                            let arg = matches!(t, b"--rcfile" | b"--init-file");
                            Cmd::Shell { c, arg, end }
                        } else {
                            Cmd::Shell {
                                c: c || (t[0] == b'-' && t.contains(&b'c')),
                                arg: matches!(t.last(), Some(b'o' | b'O')),
                                end,
                            }
                        }
                    }
                    // The script (with -c) or a script file: the rest are its
                    // arguments.
                    _ => Cmd::Normal,
                };
            }
            // An unknown word may expand to nothing: `-v` still waits.
            Cmd::TestV { v } => {
                *self = Cmd::TestV {
                    v: text == Some(b"-v") || (v && text.is_none()),
                }
            }
            Cmd::DBracket if text == Some(b"]]") => *self = Cmd::Normal,
            Cmd::FuncName => *self = Cmd::Start,
            _ => {}
        }
        false
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
