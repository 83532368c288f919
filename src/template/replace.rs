//! `-I STR` / `--replace=STR`: another spelling of `{}`, as in GNU parallel
//! and xargs. Every occurrence of STR in a command word is the item, a
//! placeholder like `{}`, found before the shell model reads the word, so
//! its value is quoted wherever it lands exactly as `{}`'s would be. As in
//! GNU parallel, `{}` itself is then plain text, while the other
//! placeholders (`{.}`, `{/}`, `{#}`, `{1}`...) keep their meaning; the
//! text between two occurrences is read as a word of its own.

use memchr::memmem;

use super::placeholder::Placeholder;
use super::token::{Token, tokenize};
use super::{Schema, TemplateError};

/// A word's tokens, with `replace` (when given) standing for the item.
pub(crate) fn tokenize_word(
    word: &[u8],
    schema: &Schema,
    replace: Option<&[u8]>,
) -> Result<Vec<Token>, TemplateError> {
    let Some(replace) = replace.filter(|r| !r.is_empty() && *r != b"{}") else {
        return tokenize(word, schema);
    };
    let written = String::from_utf8_lossy(replace).into_owned();
    let mut tokens = Vec::new();
    let mut start = 0;
    for at in memmem::find_iter(word, replace) {
        // Occurrences do not overlap: `-I aa` in `aaa` is one and an `a`.
        if at < start {
            continue;
        }
        push_piece(&mut tokens, &word[start..at], schema)?;
        tokens.push(Token::Placeholder(Placeholder::Whole, written.clone()));
        start = at + replace.len();
    }
    push_piece(&mut tokens, &word[start..], schema)?;
    Ok(tokens)
}

/// The tokens of the text between two occurrences, `{}` as plain text.
fn push_piece(tokens: &mut Vec<Token>, piece: &[u8], schema: &Schema) -> Result<(), TemplateError> {
    for token in tokenize(piece, schema)? {
        let token = match token {
            Token::Placeholder(Placeholder::Whole, text) if text == "{}" => {
                Token::Literal(b"{}".to_vec())
            }
            other => other,
        };
        match (tokens.last_mut(), token) {
            (Some(Token::Literal(last)), Token::Literal(bytes)) => last.extend_from_slice(&bytes),
            (_, token) => tokens.push(token),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use crate::item::Item;
    use crate::template::tests::*;
    use crate::template::{ShellMode, Template};

    fn replacing(words: &[&str], replace: &str) -> Template {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        Template::parse_replacing(&words, ShellMode::Auto, &lines(), Some(replace.as_bytes()))
            .unwrap()
    }

    #[test]
    fn replacement_string_is_the_item() {
        // GNU: `parallel -I @@ echo @@ {} '{.}' ::: a.b` prints `a.b {} a`.
        let t = replacing(&["echo", "@@", "{}", "{.}"], "@@");
        assert_eq!(
            argv(&t, &Item::plain(1, "a.b")),
            [&b"echo"[..], b"a.b", b"{}", b"a"]
        );
        let t = replacing(&["echo", "<@>", "{{@}}", "@@", "{@}"], "@");
        assert_eq!(
            argv(&t, &Item::plain(1, "x")),
            [&b"echo"[..], b"<x>", b"{x}", b"xx", b"{x}"]
        );
        // No occurrence, no other placeholder: the item is appended (GNU).
        let t = replacing(&["echo"], "@");
        assert_eq!(argv(&t, &Item::plain(1, "q")), [&b"echo"[..], b"q"]);
        // `-I {}` is the default.
        let t = replacing(&["echo", "{}"], "{}");
        assert_eq!(argv(&t, &Item::plain(1, "q")), [&b"echo"[..], b"q"]);
        let t = replacing(&["echo", "aaa"], "aa");
        assert_eq!(argv(&t, &Item::plain(1, "Z")), [&b"echo"[..], b"Za"]);
    }

    #[test]
    fn replacement_values_are_quoted_in_shell_mode() {
        // `%` is quoted exactly where and as `{}` would be.
        let t = replacing(&["echo %.txt > out/% && echo \"%\" {}"], "%");
        let braces = parse(&["echo {}.txt > out/{} && echo \"{}\" {{}}"]);
        assert!(t.is_shell());
        let item = Item::plain(1, "$(touch x); '");
        let spec = t.render(&item, 1).unwrap();
        assert_eq!(spec, braces.render(&item, 1).unwrap());
        assert_eq!(
            spec.args[1],
            r#"echo '$(touch x); '\'''.txt > out/'$(touch x); '\''' && echo ""'$(touch x); '\'''"" {}"#
        );
        // A replacement string in a refused spot is refused as `{}` is.
        let words = [OsString::from("echo $((@ + 1))")];
        let err = Template::parse_replacing(&words, ShellMode::Auto, &lines(), Some(b"@"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`@`"), "{err}");
    }
}
