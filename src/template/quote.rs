//! Quoting a value for the spot it lands in: one POSIX sh word (`shell_quote`),
//! the body of `'...'`, a value spliced into `"..."`, and one more level of
//! backslashes per enclosing backtick.

/// How a substituted value must be written where it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotingContext {
    /// argv mode: the value is the argument, no quoting.
    Raw,
    /// Outside quotes: the value becomes one `'...'` word.
    Unquoted,
    /// Inside `'...'`.
    Single,
    /// Inside `"..."`.
    Double,
}

/// One shell's quoting of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layer {
    pub(crate) context: QuotingContext,
    /// How many levels of backticks enclose the placeholder; each needs one
    /// more level of backslash escaping.
    pub(crate) backticks: usize,
}

impl Layer {
    pub(crate) const RAW: Layer = Layer {
        context: QuotingContext::Raw,
        backticks: 0,
    };
}

/// Writes a value so the shell reads it back as exactly these bytes.
pub(crate) fn push_quoted(out: &mut Vec<u8>, value: &[u8], context: QuotingContext) {
    match context {
        QuotingContext::Raw => out.extend_from_slice(value),
        QuotingContext::Unquoted => quote_into(out, value),
        QuotingContext::Single => single_quoted_body(out, value),
        QuotingContext::Double => {
            // Close the user's double quote, single-quote the value, reopen:
            // inside "..." a value could still expand `$` and backticks.
            out.extend_from_slice(b"\"'");
            single_quoted_body(out, value);
            out.extend_from_slice(b"'\"");
        }
    }
}

/// Escapes text for one level of backticks: the shell removes a backslash
/// before `\`, `` ` `` and `$` when it collects a backtick body.
pub(crate) fn backtick_escape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for &b in text {
        if matches!(b, b'\\' | b'`' | b'$') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Quotes bytes as one POSIX sh word; plain words are returned bare.
pub fn shell_quote(value: &[u8]) -> Vec<u8> {
    if !value.is_empty() && value.iter().all(|&b| is_plain_byte(b)) {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len() + 2);
    quote_into(&mut out, value);
    out
}

/// Bytes that never need quoting in a POSIX sh word.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b)
}

/// `'value'`, with each `'` written as `'\''`.
fn quote_into(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    single_quoted_body(out, value);
    out.push(b'\'');
}

/// The value as it goes between single quotes: each `'` closes, escapes and reopens.
fn single_quoted_body(out: &mut Vec<u8>, value: &[u8]) {
    let mut start = 0;
    for at in memchr::memchr_iter(b'\'', value) {
        out.extend_from_slice(&value[start..at]);
        out.extend_from_slice(b"'\\''");
        start = at + 1;
    }
    out.extend_from_slice(&value[start..]);
}

#[cfg(test)]
mod tests {
    use crate::item::Item;
    use crate::template::shell_quote;
    use crate::template::tests::*;

    #[test]
    fn shell_quote_words() {
        for (input, want) in [
            (
                &b"plain-word_1.2/x:y=z@a%b+c,d"[..],
                &b"plain-word_1.2/x:y=z@a%b+c,d"[..],
            ),
            (b"-n", b"-n"),
            (b"", b"''"),
            (b"a b", b"'a b'"),
            (b"it's", br"'it'\''s'"),
            (b"'", br"''\'''"),
            (b"$(x)", b"'$(x)'"),
            (b"~", b"'~'"),
            (b"a\nb", b"'a\nb'"),
            (b"\xff", b"'\xff'"),
        ] {
            assert_eq!(shell_quote(input), want, "{input:?}");
        }
    }

    #[test]
    fn shell_rendering_per_context() {
        let item = Item::plain(1, "a'b");
        let cases = [
            ("echo {}", r"echo 'a'\''b'"),
            ("echo '{}'", r"echo 'a'\''b'"),
            ("echo 'x {} y'", r"echo 'x a'\''b y'"),
            ("echo \"{}\"", r#"echo ""'a'\''b'"""#),
            (
                "echo \"$(printf %s {})\"",
                r#"echo "$(printf %s 'a'\''b')""#,
            ),
            (
                "echo \"$(printf %s \"{}\")\"",
                r#"echo "$(printf %s ""'a'\''b'"")""#,
            ),
            ("echo `printf %s {}`", r"echo `printf %s 'a'\\''b'`"),
            ("echo \"it's {}\"", r#"echo "it's "'a'\''b'"""#),
            ("echo $(( 1 + 2 )) {}", r"echo $(( 1 + 2 )) 'a'\''b'"),
            ("echo $(echo ')') {}", r"echo $(echo ')') 'a'\''b'"),
            ("cat <<< {}", r"cat <<< 'a'\''b'"),
            ("echo ${{HOME}} {}", r"echo ${HOME} 'a'\''b'"),
            ("echo \\$ {}", r"echo \$ 'a'\''b'"),
            ("echo a#b {}", r"echo a#b 'a'\''b'"),
            ("echo # c\necho {}", "echo # c\necho 'a'\\''b'"),
            ("{{ echo {}; }}", r"{ echo 'a'\''b'; }"),
        ];
        for (template, want) in cases {
            assert_eq!(shell_line(template, &item), want, "{template}");
        }
        // Digits and the empty value need no special case.
        assert_eq!(
            shell_line("echo {#} '{}' \"{}\" {}", &Item::plain(3, "")),
            r#"echo '3' '' ""''"" ''"#
        );
    }
}
