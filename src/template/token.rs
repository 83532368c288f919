//! Splitting a command word into literal bytes and placeholders: `{{` and
//! `}}` are literal braces, shell braces (`{ cmd; }`, `${NAME}`) stay literal,
//! and every other `{...}` is resolved as a placeholder.

use super::placeholder::{Placeholder, resolve};
use super::{Schema, TemplateError};

/// A word split into literal bytes and resolved placeholders.
#[derive(Debug)]
pub(crate) enum Token {
    Literal(Vec<u8>),
    /// The placeholder and its text as written, for messages.
    Placeholder(Placeholder, String),
}

pub(crate) fn tokenize(word: &[u8], schema: &Schema) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut literal = Vec::new();
    let mut at = 0;
    while at < word.len() {
        let Some(brace) = memchr::memchr2(b'{', b'}', &word[at..]).map(|i| at + i) else {
            literal.extend_from_slice(&word[at..]);
            break;
        };
        literal.extend_from_slice(&word[at..brace]);
        let open = word[brace] == b'{';
        if word.get(brace + 1) == Some(&word[brace]) {
            literal.push(word[brace]);
            at = brace + 2;
            continue;
        }
        let lossy = || String::from_utf8_lossy(word).into_owned();
        // A `{` followed by white space (or ending the word), and a `}` that
        // starts the word or follows white space or `;`, are shell syntax
        // such as `{ cmd; }`, not placeholders: keep them literal.
        let shell_brace = if open {
            word.get(brace + 1).is_none_or(u8::is_ascii_whitespace)
        } else {
            brace == 0 || matches!(word[brace - 1], b' ' | b'\t' | b'\n' | b';')
        };
        if shell_brace {
            literal.push(word[brace]);
            at = brace + 1;
            continue;
        }
        if !open {
            return Err(TemplateError::LoneClose { word: lossy() });
        }
        let Some(close) = memchr::memchr(b'}', &word[brace + 1..]).map(|i| brace + 1 + i) else {
            return Err(TemplateError::Unclosed { word: lossy() });
        };
        let content = &word[brace + 1..close];
        let text = format!("{{{}}}", String::from_utf8_lossy(content));
        at = close + 1;
        let placeholder = match resolve(content, &text, schema) {
            Ok(placeholder) => placeholder,
            // `${NAME}` (and `${NAME:-x}` and the like) where NAME is no
            // placeholder is the shell's own syntax: keep it.
            Err(_) if literal.last() == Some(&b'$') && is_shell_param(content) => {
                literal.extend_from_slice(&word[brace..at]);
                continue;
            }
            Err(e) => return Err(e),
        };
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Placeholder(placeholder, text));
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

/// `NAME`, `#NAME` or `NAME` and an operator (`:-x`, `%.txt`, ...): the body
/// of a shell parameter expansion `${...}`.
fn is_shell_param(content: &[u8]) -> bool {
    let body = content.strip_prefix(b"#").unwrap_or(content);
    let end = body
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(body.len());
    is_shell_name(&body[..end])
        && body[end..]
            .first()
            .is_none_or(|b| b":-=?+%#/^,@[".contains(b))
        && !content.contains(&b'{')
}

/// The literal text of some tokens, with each placeholder as a blank.
pub(crate) fn literal_text<'t>(tokens: impl Iterator<Item = &'t Token>) -> Vec<u8> {
    let mut text = Vec::new();
    for token in tokens {
        match token {
            Token::Literal(bytes) => text.extend_from_slice(bytes),
            Token::Placeholder(..) => text.push(b' '),
        }
    }
    text
}

/// A name the shell accepts for a variable: a letter or `_`, then letters,
/// digits and `_`.
pub(crate) fn is_shell_name(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use crate::item::{Format, Item};
    use crate::template::tests::*;

    #[test]
    fn literal_braces() {
        let t = parse(&["echo", "{{}}", "a{{b}}c", "{{{}}}"]);
        let got = argv(&t, &Item::plain(1, "X"));
        assert_eq!(got, [&b"echo"[..], b"{}", b"a{b}c", b"{X}"]);
    }

    #[test]
    fn literal_braces_alone_do_not_count_as_placeholder() {
        let t = parse(&["echo", "{{}}"]);
        let got = argv(&t, &Item::plain(1, "X"));
        assert_eq!(got, [&b"echo"[..], b"{}", b"X"]);
    }

    #[test]
    fn shell_brace_groups_stay_literal() {
        let t = parse(&["[ {} = x ] || { echo no; exit 4; }"]);
        assert!(t.is_shell());
        let spec = t.render(&Item::plain(1, &b"y"[..]), 1).unwrap();
        assert_eq!(spec.args[1], "[ 'y' = x ] || { echo no; exit 4; }");
        assert_eq!(
            argv(&parse(&["echo", "}", "{"]), &Item::plain(1, &b"i"[..]))[1..],
            [b"}".to_vec(), b"{".to_vec(), b"i".to_vec()]
        );
    }

    #[test]
    fn parse_errors() {
        let l = lines();
        let cases: &[(&[&str], &str)] = &[
            (&["echo", "{foo}"], "unknown placeholder `{foo}`"),
            (&["echo", "{?}"], "unknown placeholder `{?}`"),
            // Issue 10: `{1.}` is now a path form of position 1 (was unknown).
            (&["echo", "{1.x}"], "unknown placeholder `{1.x}`"),
            (&["echo", "{-0}"], "column `{-0}` does not exist"),
            (&["echo", "{--1}"], "unknown placeholder `{--1}`"),
            (&["awk", "{print $1}"], "unknown placeholder `{print $1}`"),
            (&["echo", "{abc"], "unclosed `{` in `{abc`"),
            (&["echo", "a{b"], "unclosed `{` in `a{b`"),
            (&["echo", "a}"], "lone `}` in `a}`"),
            (&["echo", "{}}"], "lone `}` in `{}}`"),
            (&["echo", "{0}"], "column `{0}` does not exist"),
            (
                &["echo", "{2}"],
                "column `{2}` needs --colsep to split lines records into columns",
            ),
            (&["echo", "{.f}"], "`{.f}` reads a JSON field"),
            (&["", "x"], "the command name is empty"),
        ];
        for (words, want) in cases {
            let got = parse_err(words, &l);
            assert!(got.starts_with(want), "{words:?}: {got}");
        }
        assert!(parse_err(&["echo", "{2}"], &schema(Format::Null)).contains("--colsep"));
        assert!(parse_err(&["echo", "{?}"], &schema(Format::Csv)).starts_with("unknown"));
        assert!(parse_err(&["echo", "{?}"], &schema(Format::Jsonl)).starts_with("unknown"));
        for words in [&[][..], &[""], &["  ", "\t"]] {
            assert_eq!(parse_err(words, &l), "no command given");
        }
        // Errors are found before anything runs, whatever the mode.
        assert!(parse_err(&["echo {nope} | cat"], &l).starts_with("unknown placeholder"));
    }
}
