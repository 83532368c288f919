//! Why a placeholder is refused: one reason and one safe spelling per spot
//! the shell model will not quote, and whether it was found inside a script
//! given to a shell.

use crate::template::TemplateError;

/// Why a placeholder is refused, and the safe spelling to suggest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Why {
    pub(crate) reason: &'static str,
    pub(crate) hint: &'static str,
}

const HINT_VAR: &str = "use \"$FANOUT_ITEM\" (the item, from the environment) there instead, \
                        or pass the value as an argument: sh -c '... \"$1\"' _ {}";
const HINT_BACKSLASH: &str = "remove the backslash: fanout quotes the value already";
const HINT_DOLLAR: &str = "for a shell variable write ${NAME} (or ${{NAME}} when NAME is also a \
                           placeholder); for the item use \"$FANOUT_ITEM\"";
const HINT_ARITH: &str = "check that the value is a number, then use the variable: \
                          case $FANOUT_ITEM in ''|*[!0-9]*) exit 1;; esac; echo $((FANOUT_ITEM + 1))";

pub(crate) const AFTER_BACKSLASH: Why = Why {
    reason: "it follows a backslash",
    hint: HINT_BACKSLASH,
};
pub(crate) const AFTER_DOLLAR: Why = Why {
    reason: "it follows `$`",
    hint: HINT_DOLLAR,
};
pub(crate) const IN_PARAM: Why = Why {
    reason: "it is inside `${...}`",
    hint: HINT_VAR,
};
pub(crate) const IN_ANSI: Why = Why {
    reason: "it is inside `$'...'`",
    hint: HINT_VAR,
};
pub(crate) const AFTER_ANSI_QUOTE: Why = Why {
    reason: "it follows a `$'...'` string holding `\\'`, where dash and bash disagree on \
             where the string ends",
    hint: "write the quote another way, such as \"it's\"",
};
pub(crate) const IN_COMMENT: Why = Why {
    reason: "it is inside a shell comment",
    hint: "move it out of the comment (a newline in the value would end the comment)",
};
pub(crate) const AFTER_HEREDOC: Why = Why {
    reason: "it follows a here-document (`<<`), whose quoting fanout does not track",
    hint: HINT_VAR,
};
pub(crate) const AFTER_CASE: Why = Why {
    reason: "it follows `case` inside `$(...)`, whose parentheses fanout does not track",
    hint: HINT_VAR,
};
pub(crate) const AFTER_PARAM: Why = Why {
    reason: "it follows a `${...}` holding quotes, braces or substitutions, which fanout does \
             not track",
    hint: HINT_VAR,
};
pub(crate) const AFTER_PID: Why = Why {
    reason: "it follows `$$(` (or `$${`, `$$[`), which dash reads as `$$` and a bracket but \
             bash as `$` and a substitution",
    hint: "write the process id as ${$}, or keep it apart: \"$$\"(...)",
};
pub(crate) const OUTPUT_RUN: Why = Why {
    reason: "it is in a substitution whose output is split into a command and its arguments, \
             which runs an item such as `eval ...` as code",
    hint: "put the substitution in double quotes, or use \"$FANOUT_ITEM\"",
};
pub(crate) const IN_COMPOUND: Why = Why {
    reason: "it is inside a bash array assignment `a=(...)`, which bash can misparse past \
             a syntax error",
    hint: "assign the elements one by one: a[0]={}",
};
pub(crate) const IN_ARITH: Why = Why {
    reason: "it is inside shell arithmetic (`$(( ))`, `$[ ]`, `(( ))`, `for ((`), which \
             evaluates the value as code",
    hint: HINT_ARITH,
};
pub(crate) const IN_EVAL: Why = Why {
    reason: "it is an argument of `eval` or `trap`, which run their arguments as shell code",
    hint: HINT_VAR,
};
pub(crate) const AFTER_ALIAS: Why = Why {
    reason: "it follows `alias`, which changes how the words after it parse",
    hint: "use a shell function instead of an alias, and \"$FANOUT_ITEM\" for the item",
};
pub(crate) const IN_SUBSCRIPT: Why = Why {
    reason: "it is inside an array subscript `a[...]`, which bash evaluates as arithmetic",
    hint: HINT_ARITH,
};
pub(crate) const IN_NAME: Why = Why {
    reason: "it is a name given to `declare`, `typeset`, `local`, `export`, `readonly`, \
             `unset`, `read` or `let`, which bash evaluates (a subscript runs code)",
    hint: "keep names literal and put the value after `=`: export NAME={}",
};
pub(crate) const AFTER_TEST_V: Why = Why {
    reason: "it follows `-v` of `test`, `[` or `printf`, a name that bash evaluates \
             (a subscript runs code)",
    hint: HINT_VAR,
};
pub(crate) const IN_DBRACKET: Why = Why {
    reason: "it is inside `[[ ]]`, where bash evaluates arithmetic operands as code",
    hint: "use `[ ]` (test), which does not: [ {} = x ]",
};
pub(crate) const AFTER_DUP: Why = Why {
    reason: "it is the target of `>&` or `<&`, which bash reads as a file descriptor or a file",
    hint: "redirect to a file with `>`: > {}",
};
pub(crate) const IN_SCRIPT_EXPANSION: Why = Why {
    reason: "it is in a script given to a shell with `-c` that is built from `$`, backticks or \
             `$'...'`, so fanout cannot tell how that shell reads it",
    hint: HINT_VAR,
};
pub(crate) const IN_SHELL_OPTION: Why = Why {
    reason: "it is in an option of a shell",
    hint: HINT_VAR,
};

pub(crate) const AFTER_SPLIT: Why = Why {
    reason: "it follows `env -S` or a word holding a shell and `-c`, which is split into a \
             command fanout cannot model",
    hint: "give the shell its script as one word: env sh -c '... \"$1\"' _ {}",
};
const HINT_BATCH: &str = "run one item per job there (drop -n/-N/-L/-X/-m/--xargs/-s), or loop \
                          over the items yourself: sh -c 'for f; do gzip -c \"$f\" > \"$f.gz\"; done' _";
pub(crate) const BATCH_REDIRECT: Why = Why {
    reason: "it is a redirection's target, which holds one word: with several items per job \
             the other items would become words of the command (or be lost)",
    hint: HINT_BATCH,
};
pub(crate) const BATCH_COMMAND: Why = Why {
    reason: "it is the command name or an assignment before it, which holds one word: with \
             several items per job the other items would become the command and its arguments",
    hint: HINT_BATCH,
};
pub(crate) const BATCH_ASSIGNMENT: Why = Why {
    reason: "it is a variable's value, which holds one item: with several items per job all \
             but the last would be lost",
    hint: HINT_BATCH,
};
pub(crate) const IN_EVALUATED_VAR: Why = Why {
    reason: "it is the value of BASH_ENV, ENV, PS0-PS4, PROMPT_COMMAND, SHELLOPTS or \
             BASHOPTS, which a shell runs or expands as code later",
    hint: "pass the value as \"$1\" or \"$FANOUT_ITEM\", check it, and assign it yourself",
};
pub(crate) const EVALUATED_LATER: Why = Why {
    reason: "the script has `declare -i`, `typeset -i`, `local -i`, `integer`, `-n` or \
             `${x@P}`/`${x@E}`, which evaluate a variable's value later as code",
    hint: "pass the value as \"$1\" or \"$FANOUT_ITEM\" and check it (a number: \
           case $1 in *[!0-9]*) exit 1;; esac) before using it",
};

/// A refusal, and whether it was found inside a script given to a shell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal {
    why: &'static Why,
    in_script: bool,
}

impl Refusal {
    pub(crate) fn in_script(self) -> Refusal {
        Refusal {
            in_script: true,
            ..self
        }
    }

    fn place(self) -> &'static str {
        if self.in_script {
            " (in the script given to a shell with `-c`)"
        } else {
            ""
        }
    }

    pub(crate) fn error(self, text: &str) -> TemplateError {
        TemplateError::Unsafe {
            what: format!("`{text}`"),
            reason: self.why.reason,
            place: self.place(),
            hint: self.why.hint,
        }
    }

    pub(crate) fn error_appended(self) -> TemplateError {
        TemplateError::Unsafe {
            what: "the appended `{}`".to_string(),
            reason: self.why.reason,
            place: self.place(),
            hint: self.why.hint,
        }
    }
}

pub(crate) fn refuse(why: &'static Why) -> Refusal {
    Refusal {
        why,
        in_script: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Format, Item};
    use crate::template::ShellMode;
    use crate::template::Template;
    use crate::template::tests::*;

    #[test]
    fn unsafe_shell_contexts_are_refused() {
        for (template, reason) in [
            ("echo \\{}", AFTER_BACKSLASH),
            ("echo \"\\{}\"", AFTER_BACKSLASH),
            ("echo `echo \\{}`", AFTER_BACKSLASH),
            ("echo ${}", AFTER_DOLLAR),
            ("echo \"${}\"", AFTER_DOLLAR),
            ("echo ${{x:-{}}}", IN_PARAM),
            ("echo \"${{x:-{}}}\"", IN_PARAM),
            ("echo $'{}'", IN_ANSI),
            ("echo hi # {}", IN_COMMENT),
            ("cat <<EOF\n{}\nEOF", AFTER_HEREDOC),
            ("cat <<-EOF\nx\nEOF\necho {}", AFTER_HEREDOC),
            ("x=$(case a in a) echo {};; esac)", AFTER_CASE),
            ("echo ${{x:-'a'}} {}", AFTER_PARAM),
        ] {
            let err = Template::parse(&os(&[template]), ShellMode::Auto, &lines()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "cannot quote `{{}}` safely in this shell command: {}; {}",
                    reason.reason, reason.hint
                ),
                "{template}"
            );
        }
        let err = Template::parse(&os(&["echo hi # note"]), ShellMode::Auto, &lines()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot quote the appended `{{}}` safely in this shell command: {}; {}",
                IN_COMMENT.reason, IN_COMMENT.hint
            )
        );
    }

    #[test]
    fn dollar_brace_names_pass_through() {
        let item = Item::plain(1, "v");
        assert_eq!(shell_line("echo ${HOME} {}", &item), "echo ${HOME} 'v'");
        assert_eq!(shell_line("echo ${f%.txt} {}", &item), "echo ${f%.txt} 'v'");
        assert_eq!(shell_line("echo ${#x} {}", &item), "echo ${#x} 'v'");
        // A placeholder after `$` is still one, and still refused there.
        let err = parse_err(&["echo ${} x"], &lines());
        assert!(err.contains(AFTER_DOLLAR.reason), "{err}");
        let err = parse_err(&["echo ${name}"], &schema(Format::Jsonl));
        assert!(err.contains("${{NAME}}"), "{err}");
        // Not after `$`: still an unknown placeholder.
        assert!(parse_err(&["echo {HOME}"], &lines()).starts_with("unknown placeholder"));
        // argv words keep it too.
        let args = argv(&parse(&["echo", "${HOME}"]), &item);
        assert_eq!(args, [&b"echo"[..], b"${HOME}", b"v"]);
    }
}
