//! Tests of the template through its public API, and the helpers the
//! hostile-input suite and the shell fuzzer share.

mod fuzz;
mod hostile;

use super::*;
use std::path::Path;
use std::process::Command;

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn schema(format: Format) -> Schema<'static> {
    Schema {
        format,
        headers: None,
        colsep: false,
    }
}

fn lines() -> Schema<'static> {
    schema(Format::Lines)
}

fn parse(words: &[&str]) -> Template {
    match Template::parse(&os(words), false, &lines()) {
        Ok(t) => t,
        Err(e) => panic!("{words:?}: {e}"),
    }
}

fn parse_err(words: &[&str], schema: &Schema) -> String {
    match Template::parse(&os(words), false, schema) {
        Ok(t) => panic!("{words:?} parsed: {t:?}"),
        Err(e) => e.to_string(),
    }
}

/// Program and arguments of an argv-mode render, as bytes.
fn argv(t: &Template, item: &Item) -> Vec<Vec<u8>> {
    let spec = t.render(item, 1).expect("render");
    assert!(!spec.shell);
    std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

/// The one rendered value of `echo {...}` for this item.
fn one(placeholder: &str, raw: &[u8]) -> Vec<u8> {
    let t = parse(&["echo", placeholder]);
    argv(&t, &Item::plain(1, raw)).remove(1)
}

fn shell_line(template: &str, item: &Item) -> String {
    let t = parse(&[template]);
    assert!(t.is_shell(), "{template} should be shell mode");
    let spec = t.render(item, 1).expect("render");
    assert_eq!(spec.program, "/bin/sh");
    assert_eq!(spec.args[0], "-c");
    spec.display()
}

fn item_with(data: ItemData, raw: &[u8]) -> Item {
    Item {
        seq: 1,
        line: 1,
        raw: raw.to_vec(),
        data,
        key: String::new(),
        rerun: false,
    }
}

#[test]
fn template_can_be_shared_by_workers() {
    fn shared<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shared::<Template>();
    shared::<CommandSpec>();
}

// --- placeholders -----------------------------------------------------

#[test]
fn every_placeholder_renders() {
    let t = parse(&["x", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}"]);
    let mut item = Item::plain(7, "dir/sub/file.tar.gz");
    item.seq = 42;
    let spec = t.render(&item, 3).unwrap();
    let args: Vec<_> = spec.args.iter().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "dir/sub/file.tar.gz",
            "dir/sub/file.tar",
            "file.tar.gz",
            "dir/sub",
            "file.tar",
            "42",
            "3",
            "dir/sub/file.tar.gz"
        ]
    );
}

#[test]
fn placeholders_inside_words() {
    let t = parse(&["convert", "{}", "out/{/.}.webp", "--seq={#}"]);
    let got = argv(&t, &Item::plain(5, "in/cat.png"));
    assert_eq!(
        got,
        [&b"convert"[..], b"in/cat.png", b"out/cat.webp", b"--seq=5"]
    );
}

#[test]
fn without_extension_edge_cases() {
    for (input, want) in [
        ("a/b.tar.gz", "a/b.tar"),
        ("a.b/c", "a.b/c"),
        (".bashrc", ".bashrc"),
        ("a/.bashrc", "a/.bashrc"),
        ("file.txt", "file"),
        ("a.", "a."),
        ("..", ".."),
        ("a/b.c/", "a/b.c/"),
        ("", ""),
        ("noext", "noext"),
    ] {
        assert_eq!(
            one("{.}", input.as_bytes()),
            want.as_bytes(),
            "{{.}} of {input:?}"
        );
    }
}

#[test]
fn basename_edge_cases() {
    for (input, base, base_no_ext) in [
        ("a/b/c.txt", "c.txt", "c"),
        ("c", "c", "c"),
        ("/a", "a", "a"),
        ("/", "/", "/"),
        ("a/b/", "b", "b"),
        ("a.b/c", "c", "c"),
        ("x/.bashrc", ".bashrc", ".bashrc"),
        ("x/a.tar.gz", "a.tar.gz", "a.tar"),
        ("", "", ""),
    ] {
        assert_eq!(
            one("{/}", input.as_bytes()),
            base.as_bytes(),
            "{{/}} of {input:?}"
        );
        assert_eq!(
            one("{/.}", input.as_bytes()),
            base_no_ext.as_bytes(),
            "{{/.}} of {input:?}"
        );
    }
}

#[test]
fn dirname_edge_cases() {
    for (input, want) in [
        ("a/b/c", "a/b"),
        ("c", "."),
        ("/a", "/"),
        ("/", "/"),
        ("a/b/", "a"),
        ("a//b", "a"),
        ("//a", "/"),
        ("", "."),
        ("./x", "."),
    ] {
        assert_eq!(
            one("{//}", input.as_bytes()),
            want.as_bytes(),
            "{{//}} of {input:?}"
        );
    }
}

#[test]
fn path_ops_keep_invalid_utf8() {
    assert_eq!(one("{/}", b"d\xff/f\xfe.x"), b"f\xfe.x");
    assert_eq!(one("{.}", b"d\xff/f\xfe.x"), b"d\xff/f\xfe");
    assert_eq!(one("{}", b"\xff\r"), b"\xff\r");
}

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
fn appends_item_in_argv_mode() {
    let t = parse(&["echo"]);
    assert!(!t.is_shell());
    assert_eq!(argv(&t, &Item::plain(1, "a b")), [&b"echo"[..], b"a b"]);
    let t = parse(&["gzip", "-9"]);
    assert_eq!(argv(&t, &Item::plain(1, "f")), [&b"gzip"[..], b"-9", b"f"]);
}

#[test]
fn appends_item_in_shell_mode() {
    let item = Item::plain(1, "it's");
    assert_eq!(shell_line("echo hi >&2", &item), r"echo hi >&2 'it'\''s'");
    let t = Template::parse(&os(&["echo"]), true, &lines()).unwrap();
    assert_eq!(t.render(&item, 1).unwrap().display(), r"echo 'it'\''s'");
}

#[test]
fn no_append_when_only_seq_or_slot_is_used() {
    let t = parse(&["echo", "{#}"]);
    assert_eq!(argv(&t, &Item::plain(9, "x")), [&b"echo"[..], b"9"]);
    let t = parse(&["echo", "{%}"]);
    assert!(t.uses_slot());
    assert_eq!(t.render(&Item::plain(9, "x"), 4).unwrap().args, ["4"]);
    assert!(!parse(&["echo", "{}"]).uses_slot());
}

#[test]
fn numbered_columns() {
    let colsep = Schema {
        colsep: true,
        ..lines()
    };
    let t = Template::parse(&os(&["p", "{2}", "{1}"]), false, &colsep).unwrap();
    let row = item_with(
        ItemData::Columns(vec![b"a".to_vec(), b"b\xff".to_vec()]),
        b"a,b\xff",
    );
    assert_eq!(argv(&t, &row), [&b"p"[..], b"b\xff", b"a"]);
    let t = Template::parse(&os(&["p", "{3}"]), false, &colsep).unwrap();
    assert_eq!(
        t.render(&row, 1).unwrap_err(),
        "no column 3 in this row (2 columns)"
    );
    let t = Template::parse(&os(&["p", "{2}"]), false, &colsep).unwrap();
    assert_eq!(
        t.render(&Item::plain(1, "whole"), 1).unwrap_err(),
        "no column 2 in this row (1 column)"
    );
    // `{1}` of a plain item is the whole item.
    let t = parse(&["p", "{1}"]);
    assert_eq!(argv(&t, &Item::plain(1, "a b")), [&b"p"[..], b"a b"]);
}

#[test]
fn csv_header_names_and_indices() {
    let headers = vec![
        "name".to_string(),
        "city".to_string(),
        "first name".to_string(),
    ];
    for format in [Format::Csv, Format::Tsv] {
        let schema = Schema {
            format,
            headers: Some(&headers),
            colsep: false,
        };
        let t = Template::parse(
            &os(&["p", "{city}", "{1}", "{name}-{3}", "{first name}"]),
            false,
            &schema,
        )
        .unwrap();
        let row = item_with(
            ItemData::Columns(vec![b"ann".to_vec(), b"oslo".to_vec(), b"a".to_vec()]),
            b"ann,oslo,a",
        );
        assert_eq!(argv(&t, &row), [&b"p"[..], b"oslo", b"ann", b"ann-a", b"a"]);
        // A short row is this item's problem, found at render time.
        let short = item_with(ItemData::Columns(vec![b"bo".to_vec()]), b"bo");
        assert_eq!(
            t.render(&short, 1).unwrap_err(),
            "no column 2 in this row (1 column)"
        );
    }
}

#[test]
fn csv_header_errors() {
    let headers = vec!["name".to_string(), "city".to_string()];
    let csv = Schema {
        format: Format::Csv,
        headers: Some(&headers),
        colsep: false,
    };
    assert_eq!(
        parse_err(&["p", "{age}"], &csv),
        "column `{age}` is not in the header (columns: name, city)"
    );
    assert_eq!(
        parse_err(&["p", "{3}"], &csv),
        "column `{3}` is past the end of the header (2 columns: name, city)"
    );
    assert_eq!(
        parse_err(&["p", "{0}"], &csv),
        "column `{0}` does not exist: columns are numbered from 1"
    );
    let no_header = schema(Format::Csv);
    assert_eq!(
        parse_err(&["p", "{name}"], &no_header),
        "column `{name}` cannot be resolved: the input has no header row"
    );
    // Without a header, numbered columns are checked per row.
    assert!(Template::parse(&os(&["p", "{9}"]), false, &no_header).is_ok());
}

fn json_item(text: &str) -> Item {
    item_with(
        ItemData::Json(serde_json::from_str(text).unwrap()),
        text.as_bytes(),
    )
}

fn jsonl(words: &[&str]) -> Template {
    Template::parse(&os(words), false, &schema(Format::Jsonl)).unwrap()
}

#[test]
fn json_paths() {
    let item = json_item(
        r#"{"name":"a'b","user":{"id":7,"tags":["x","y"],"ok":true},"n":null,"f":1.5,"o":{"k":[1,{"z":2}]}}"#,
    );
    let t = jsonl(&[
        "p",
        "{name}",
        "{.user.id}",
        "{.user.tags.1}",
        "{.user.ok}",
        "{.n}",
        "{.f}",
        "{.user.tags}",
        "{.o}",
        "{.o.k.1.z}",
        "{1}",
    ]);
    let got = argv(&t, &item);
    let want: Vec<&[u8]> = vec![
        b"p",
        b"a'b",
        b"7",
        b"y",
        b"true",
        b"",
        b"1.5",
        br#"["x","y"]"#,
        br#"{"k":[1,{"z":2}]}"#,
        b"2",
        item.raw.as_slice(),
    ];
    assert_eq!(got, want);
}

#[test]
fn json_missing_fields_fail_the_item() {
    let item = json_item(r#"{"a":{"b":[1]},"s":"str"}"#);
    // The placeholder is named as written.
    for placeholder in ["{.a.c}", "{.a.b.1}", "{.a.b.x}", "{.s.len}", "{missing}"] {
        let t = jsonl(&["p", placeholder]);
        assert_eq!(
            t.render(&item, 1).unwrap_err(),
            format!("no field `{placeholder}` in this record")
        );
    }
    // A numeric segment is also a key of an object.
    let t = jsonl(&["p", "{.m.0}"]);
    assert_eq!(argv(&t, &json_item(r#"{"m":{"0":"z"}}"#))[1], b"z");
}

#[test]
fn json_placeholder_errors() {
    let jsonl = schema(Format::Jsonl);
    assert_eq!(
        parse_err(&["p", "{.a..b}"], &jsonl),
        "invalid JSON path `{.a..b}`: a field name is empty"
    );
    assert!(parse_err(&["p", "{.a.}"], &jsonl).starts_with("invalid JSON path"));
    assert_eq!(
        parse_err(&["p", "{2}"], &jsonl),
        "`{2}` needs columns, but jsonl records have none (use `{.field}`)"
    );
    assert_eq!(
        parse_err(&["p", "{.a}"], &schema(Format::Csv)),
        "`{.a}` reads a JSON field, which needs --format jsonl (the input format is csv)"
    );
    assert!(parse_err(&["p", "{.a}"], &lines()).contains("needs --format jsonl"));
}

#[test]
fn bad_items_and_nul_bytes_fail_at_render() {
    let t = parse(&["echo", "{}"]);
    let bad = item_with(ItemData::Bad("unterminated quote".into()), b"\"x");
    assert_eq!(t.render(&bad, 1).unwrap_err(), "unterminated quote");
    let err = t.render(&Item::plain(1, "a\0b"), 1).unwrap_err();
    assert!(err.contains("NUL"), "{err}");
    // A NUL the template does not use does no harm.
    let t = parse(&["echo", "{#}"]);
    assert!(t.render(&Item::plain(1, "a\0b"), 1).is_ok());
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
        (&["echo", "{1.}"], "unknown placeholder `{1.}`"),
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

#[test]
fn mode_detection() {
    for (words, shell) in [
        (&["echo"][..], false),
        (&["{}"], false),
        (&["./run.sh"], false),
        (&["a{#}b"], false),
        (&["x{{y}}"], false),
        (&["echo", "a b", "$(x)"], false),
        (&["sh", "-c", "echo \"$1\"", "_", "{}"], false),
        (&["echo {}"], true),
        (&["gzip -c {} > {}.gz"], true),
        (&["ls;"], true),
        (&["[x]"], true),
        (&["~/bin/run"], true),
        (&["a#b"], true),
        (&["echo\t{}"], true),
    ] {
        assert_eq!(parse(words).is_shell(), shell, "{words:?}");
    }
    let t = Template::parse(&os(&["echo", "a b", "{}"]), true, &lines()).unwrap();
    assert!(t.is_shell());
    let spec = t.render(&Item::plain(1, "i"), 1).unwrap();
    assert_eq!(spec.args, ["-c", "echo a b 'i'"]);
}

#[test]
fn argv_mode_never_splits_or_quotes() {
    let t = parse(&["sh", "-c", "echo \"$1\"", "_", "{}"]);
    let hostile = b"$(touch pwned); rm -rf x".to_vec();
    let got = argv(&t, &Item::plain(1, hostile.clone()));
    assert_eq!(got[1..], [&b"-c"[..], b"echo \"$1\"", b"_", &hostile]);
}

#[test]
fn source_is_the_user_text() {
    let t = parse(&["convert", "{}", "{.}.webp"]);
    assert_eq!(t.source(), "convert {} {.}.webp");
    let t = parse(&["gzip -c {} > {}.gz"]);
    assert_eq!(t.source(), "gzip -c {} > {}.gz");
    let t = Template::parse(&[OsString::from_vec(b"e\xff".to_vec())], false, &lines()).unwrap();
    assert_eq!(t.source(), "e\u{fffd}");
}

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
fn display_is_copy_pasteable() {
    let t = parse(&["echo", "{}", "x"]);
    let spec = t.render(&Item::plain(1, "it's a"), 1).unwrap();
    assert_eq!(spec.display(), r"echo 'it'\''s a' x");
    let spec = CommandSpec {
        program: "A=b".into(),
        args: vec!["".into()],
        shell: false,
    };
    assert_eq!(spec.display(), "'A=b' ''");
    let item = Item::plain(1, "a b");
    assert_eq!(shell_line("wc -c {}", &item), "wc -c 'a b'");
}

#[test]
fn display_keeps_non_utf8_bytes() {
    use std::os::unix::ffi::OsStringExt;
    let spec = CommandSpec {
        program: "cat".into(),
        args: vec![OsString::from_vec(b"n\xe9 it's".to_vec())],
        shell: false,
    };
    assert_eq!(spec.display(), r"cat $'n\xe9 it\'s'");
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
        let err = Template::parse(&os(&[template]), false, &lines()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot quote `{{}}` safely in this shell command: {}; {}",
                reason.reason, reason.hint
            ),
            "{template}"
        );
    }
    let err = Template::parse(&os(&["echo hi # note"]), false, &lines()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot quote the appended `{{}}` safely in this shell command: {}; {}",
            IN_COMMENT.reason, IN_COMMENT.hint
        )
    );
}

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
