//! xargs's and GNU parallel's input options (issue 10, point 3): `-I`,
//! `-d`, `-E`, `-r`, `--trim`, `--colsep` as a regular expression, `--csv`,
//! `--shuf`, `--tagstring`, `{##}` and `{0#}`. Each expected output is what
//! GNU parallel 20221122 (or GNU xargs 4.9.0) printed for the same input,
//! quoted in the comment; where fanout differs on purpose the comment says
//! so (and the README says why).

use crate::util::{Sandbox, fixture};

#[test]
fn replace_string_stands_for_the_item() {
    let sb = Sandbox::new();
    // `parallel -k -I @@ echo @@ {} {.} ::: a.b dir/c` prints `a.b {} a`
    // and `dir/c {} dir/c`: `{}` is text, the other placeholders stay.
    for flag in [&["-I", "@@"][..], &["--replace=@@"]] {
        sb.fanout()
            .args(["-k"])
            .args(flag)
            .args(["echo", "@@", "{}", "{.}"])
            .items(["a.b", "dir/c"])
            .run()
            .code(0)
            .lines(&["a.b {} a", "dir/c {} dir/c"]);
    }
    // `parallel -I @ echo ::: a` appends the item, as without -I.
    sb.fanout()
        .args(["-I", "@", "echo"])
        .items(["a"])
        .run()
        .code(0)
        .lines(&["a"]);
    // `--replace` alone is `-I {}` (xargs); fanout needs `=` for a value, so
    // it never takes the command's name as the string (GNU parallel reads
    // `--replace echo {}` as the string `echo`).
    sb.fanout()
        .args(["--replace", "echo", "[{}]"])
        .items(["a"])
        .run()
        .code(0)
        .lines(&["[a]"]);
    sb.fanout()
        .args(["-I", "", "echo"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("-I/--replace needs a non-empty string");
}

#[test]
fn replace_string_values_stay_quoted_in_a_shell_line() {
    let sb = Sandbox::new();
    // GNU parallel, `-I @ 'echo "@" > out-{#}'`, runs the `$(...)` of an
    // item inside the double quotes; fanout quotes it as it quotes `{}`.
    sb.fanout()
        .args(["-k", "-I", "@", "echo \"@\" > out-{#}"])
        .items(["it's", "$(touch pwned)"])
        .run()
        .code(0);
    assert_eq!(sb.read("out-1"), b"it's\n");
    assert_eq!(sb.read("out-2"), b"$(touch pwned)\n");
    assert!(!sb.exists("pwned"));
    // Where `{}` is refused, so is the replacement string.
    sb.fanout()
        .args(["-I", "@", "echo $((@ + 1))"])
        .items(["1"])
        .run()
        .code(2)
        .stderr_has("`@`");
}

#[test]
fn delimiter_cuts_records_like_gnu() {
    let sb = Sandbox::new();
    // `printf 'a,b,,c,' | parallel -k -d , echo '[{}]'`: [a] [b] [] [c].
    sb.fanout()
        .args(["-k", "-d", ",", "echo", "[{}]"])
        .stdin("a,b,,c,")
        .run()
        .code(0)
        .lines(&["[a]", "[b]", "[]", "[c]"]);
    // `-d ,` leaves a final newline in the last item, as GNU and xargs do.
    let run = sb
        .fanout()
        .args(["-k", "--delimiter", ",", "printf", "[%s]", "{}"])
        .stdin("a,c\n")
        .run();
    run.code(0);
    assert_eq!(run.stdout_text(), "[a][c\n]");
    // Several bytes (GNU parallel; xargs takes one): `-d '\r\n'` gives [a] [b].
    sb.fanout()
        .args(["-k", "-d", "\\r\\n", "echo", "[{}]"])
        .stdin("a\r\nb\r\n")
        .run()
        .code(0)
        .lines(&["[a]", "[b]"]);
    // `-d '\t'`: [one] [two]; `-d '\x3a'` as xargs reads it.
    sb.fanout()
        .args(["-k", "-d", "\\t", "echo", "[{}]"])
        .stdin("one\ttwo\t")
        .run()
        .code(0)
        .lines(&["[one]", "[two]"]);
    sb.fanout()
        .args(["-k", "-d", "\\x3a", "echo", "[{}]"])
        .stdin("a:b")
        .run()
        .code(0)
        .lines(&["[a]", "[b]"]);
    // `-d '\0'` is `-0`: a newline is content.
    sb.fanout()
        .args(["-k", "-d", "\\0", "printf", "[%s]\\n", "{}"])
        .stdin("a\nb\0c")
        .run()
        .code(0)
        .lines(&["[a", "b]", "[c]"]);
    sb.fanout()
        .args(["-d", "\\q", "echo"])
        .stdin("a")
        .run()
        .code(2)
        .stderr_has("unknown escape `\\q`");
}

#[test]
fn delimiter_newline_keeps_a_carriage_return() {
    let sb = Sandbox::new();
    // GNU parallel and xargs: with `-d '\n'` the `\r` of a CRLF line stays.
    let run = sb
        .fanout()
        .args(["-k", "-d", "\\n", "printf", "[%s]", "{}"])
        .stdin("a\r\nb\r\n")
        .run();
    run.code(0);
    assert_eq!(run.stdout_text(), "[a\r][b\r]");
}

#[test]
fn delimited_file_counts_its_records_for_the_total() {
    let sb = Sandbox::new();
    let input = sb.write("in.txt", "x;y;z;");
    sb.fanout()
        .args(["-k", "-d", ";", "-a"])
        .arg(&input)
        .args(["echo", "{#}/{##}", "{}"])
        .run()
        .code(0)
        .lines(&["1/3 x", "2/3 y", "3/3 z"]);
}

#[test]
fn end_marker_ends_the_input() {
    let sb = Sandbox::new();
    // `printf 'a\nb\nSTOP\nc\n' | parallel -k -E STOP echo`: a, b.
    for flag in [&["-E", "STOP"][..], &["--eof=STOP"]] {
        sb.fanout()
            .args(["-k"])
            .args(flag)
            .arg("echo")
            .stdin("a\nb\nSTOP\nc\n")
            .run()
            .code(0)
            .lines(&["a", "b"]);
    }
    // `parallel -k -E STOP echo ::: a STOP b`: a.
    sb.fanout()
        .args(["-k", "-E", "STOP", "echo"])
        .items(["a", "STOP", "b"])
        .run()
        .code(0)
        .lines(&["a"]);
    // `--eof` alone and `-E ''` set no marker.
    for flag in [&["--eof"][..], &["-E", ""]] {
        sb.fanout()
            .args(["-k"])
            .args(flag)
            .arg("echo")
            .stdin("a\n\nc\n")
            .run()
            .code(0)
            .lines(&["a", "", "c"]);
    }
    // The total of a file stops at the marker too.
    let input = sb.write("in.txt", "a\nb\nSTOP\nc\n");
    sb.fanout()
        .args(["-k", "-E", "STOP", "-a"])
        .arg(&input)
        .args(["echo", "{#}/{##}"])
        .run()
        .code(0)
        .lines(&["1/2", "2/2"]);
    sb.fanout()
        .args(["-E", "x", "--format", "jsonl", "echo"])
        .stdin("1\n")
        .run()
        .code(2)
        .stderr_has("not --format jsonl");
}

#[test]
fn no_run_if_empty_skips_blank_items() {
    let sb = Sandbox::new();
    // `printf 'a\n\n  \nb\n' | parallel -k -r echo '{#}:{}'`: 1:a, 2:b.
    for flag in ["-r", "--no-run-if-empty"] {
        sb.fanout()
            .args(["-k", flag, "echo", "{#}:{}"])
            .stdin("a\n\n  \nb\n")
            .run()
            .code(0)
            .lines(&["1:a", "2:b"]);
    }
    // `parallel -r -k echo ::: a '' ' ' b`: a, b.
    sb.fanout()
        .args(["-k", "-r", "echo"])
        .items(["a", "", " ", "b"])
        .run()
        .code(0)
        .lines(&["a", "b"]);
    // Empty input runs nothing, with or without -r (GNU parallel; xargs
    // without -r runs the command once).
    for flags in [&[][..], &["-r"]] {
        sb.fanout()
            .args(flags)
            .args(["touch", "ran"])
            .stdin("")
            .run()
            .code(0);
        assert!(!sb.exists("ran"));
    }
}

#[test]
fn trim_takes_white_space_off_values() {
    let sb = Sandbox::new();
    // `printf ' a \n' | parallel --trim l|r|lr echo '[{}]'`: [a ], [ a], [a].
    for (trim, want) in [
        ("l", "[a ]"),
        ("r", "[ a]"),
        ("lr", "[a]"),
        ("rl", "[a]"),
        ("n", "[ a ]"),
    ] {
        sb.fanout()
            .args(["--trim", trim, "echo", "[{}]"])
            .stdin(" a \n")
            .run()
            .code(0)
            .lines(&[want]);
    }
    // `printf ' a : b \n' | parallel --colsep : --trim lr echo '[{1}]' '[{2}]'`.
    sb.fanout()
        .args(["--colsep", ":", "--trim", "lr", "echo", "[{1}]", "[{2}]"])
        .stdin(" a : b \n")
        .run()
        .code(0)
        .lines(&["[a] [b]"]);
    // Without --trim the columns are kept as they are (GNU's --colsep trims
    // them unless told --trim n; fanout never changes a value unasked).
    sb.fanout()
        .args(["--colsep", ":", "echo", "[{1}]", "[{2}]"])
        .stdin(" a : b \n")
        .run()
        .code(0)
        .lines(&["[ a ] [ b ]"]);
    sb.fanout()
        .args(["--trim", "both", "echo"])
        .stdin("a\n")
        .run()
        .code(2)
        .stderr_has("--trim: `both` is not one of n, l, r, lr, rl");
}

#[test]
fn colsep_is_a_regular_expression_as_in_gnu() {
    let sb = Sandbox::new();
    // Each: `printf INPUT | parallel --colsep SEP echo TEMPLATE`.
    let cases: &[(&str, &str, &str, &str)] = &[
        ("\\s+", "x  y\tz\n", "{3}{2}{1}", "zyx"),
        ("\\.", "a.b\n", "{2}{1}", "ba"),
        (" +", "a   b c\n", "[{1}][{2}][{3}]", "[a][b][c]"),
        ("\\t", "a\tb c\n", "[{1}][{2}]", "[a][b c]"),
        ("\\|", "a|b|c\n", "[{1}][{2}][{3}]", "[a][b][c]"),
        ("\\d+", "a1b22c\n", "[{1}][{2}][{3}]", "[a][b][c]"),
        ("(-)", "a-b\n", "[{1}][{2}][{3}]", "[a][-][b]"),
        (";", "a;b;c\n", "[{3}]", "[c]"),
    ];
    for (sep, input, template, want) in cases {
        sb.fanout()
            .args(["-C", sep, "echo", template])
            .stdin(*input)
            .run()
            .code(0)
            .lines(&[want]);
    }
    // GNU splits `a|b` at every byte for `--colsep '|'`; fanout refuses a
    // separator that matches the empty string and says how to write it.
    sb.fanout()
        .args(["--colsep", "|", "echo", "{1}"])
        .stdin("a|b\n")
        .run()
        .code(2)
        .stderr_has("`|` matches the empty string")
        .stderr_has("`\\|`");
    sb.fanout()
        .args(["--colsep", "(", "echo", "{1}"])
        .stdin("a\n")
        .run()
        .code(2)
        .stderr_has("--colsep: `(` is not a regular expression");
}

#[test]
fn csv_flag_is_format_csv() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "--csv", "-a"])
        .arg(fixture("people.csv"))
        .args(["echo", "{name}"])
        .run()
        .code(0)
        .stdout_has("ada");
    sb.fanout()
        .args(["-k", "--csv", "echo", "{2}-{1}"])
        .stdin("name,age\nann,3\n\"b, c\",4\n")
        .run()
        .code(0)
        .lines(&["3-ann", "4-b, c"]);
    sb.fanout()
        .args(["--csv", "--format", "tsv", "echo"])
        .stdin("a\n")
        .run()
        .code(2);
}

#[test]
fn shuf_runs_every_item_once_in_a_random_order() {
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=60).map(|n| n.to_string()).collect();
    let run = sb
        .fanout()
        .args(["-k", "--shuf", "echo", "{#}", "{}"])
        .items(&items)
        .run();
    run.code(0);
    // GNU (`parallel -k --shuf echo {#} {} ::: a b c d e f`): `{#}` counts
    // the jobs in the shuffled order, and -k keeps that order.
    let lines = run.stdout_lines();
    let mut seen: Vec<u32> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let (seq, item) = line.split_once(' ').unwrap_or_else(|| run.fail("bad line"));
        assert_eq!(seq, (n + 1).to_string(), "{line}");
        seen.push(item.parse().unwrap_or_else(|_| run.fail("bad item")));
    }
    // 60 items in input order by chance: 1 in 60! (about 10^-81).
    assert!(
        seen.windows(2).any(|w| w[0] > w[1]),
        "not shuffled: {seen:?}"
    );
    seen.sort_unstable();
    assert_eq!(seen, (1..=60).collect::<Vec<_>>());
    // Every shard would shuffle its own way: refused.
    sb.fanout()
        .args(["--shuf", "--shard", "1/2", "echo"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("--shuf cannot be combined with --shard");
    // `parallel -k --shuf --plus echo '{#}/{##}' ::: a b c`: 1/3 2/3 3/3.
    sb.fanout()
        .args(["-k", "--shuf", "echo", "{#}/{##}"])
        .stdin("a\nb\nc\n")
        .run()
        .code(0)
        .lines(&["1/3", "2/3", "3/3"]);
}

#[test]
fn tagstring_prefixes_each_line_with_a_rendered_template() {
    let sb = Sandbox::new();
    // `printf 'a;b;c\n' | parallel --colsep ';' --tagstring '{2}-{#}' echo '{1}'`:
    // `b-1<TAB>a`.
    sb.fanout()
        .args(["--colsep", ";", "--tagstring", "{2}-{#}", "echo", "{1}"])
        .stdin("a;b;c\n")
        .run()
        .code(0)
        .lines(&["b-1\ta"]);
    // `parallel -k --tagstring '{#}-{}' echo x ::: a b`.
    sb.fanout()
        .args(["-k", "--tagstring", "{#}-{}", "echo", "x"])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines(&["1-a\tx a", "2-b\tx b"]);
    // A job of several items: `{}` is all of them, as in GNU
    // (`parallel -k -j1 -n2 --tagstring 'T{}' echo ::: a b c`); -j1 keeps
    // the order, and with `--output line` the worker renders the tag.
    for mode in ["group", "line"] {
        sb.fanout()
            .args(["-j1", "-n2", "--output", mode, "--tagstring", "T{}", "echo"])
            .items(["a", "b", "c"])
            .run()
            .code(0)
            .lines(&["Ta b\ta b", "Tc\tc"]);
    }
    // Streamed lines (`--output line`), stderr too; a control character in
    // a value is escaped as with --tag, and nothing in it runs.
    let run = sb
        .fanout()
        .args([
            "--output",
            "line",
            "--tagstring",
            "<{}>",
            "sh",
            "-c",
            "echo out; echo err >&2",
            "_",
        ])
        .items(["$(touch pwned)\u{1b}"])
        .run();
    run.code(0).lines(&["<$(touch pwned)\\u{1b}>\tout"]);
    run.stderr_has("<$(touch pwned)\\u{1b}>\terr");
    assert!(!sb.exists("pwned"));
    sb.fanout()
        .args(["--tagstring", "{nope}", "echo"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("in --tagstring `{nope}`: unknown placeholder `{nope}`");
}

#[test]
fn total_and_padded_seq_placeholders() {
    let sb = Sandbox::new();
    // `seq 10 | parallel -k --plus echo '{0#}/{##}'`: 01/10 ... 10/10
    // (stdin is read whole first, as GNU does).
    let want: Vec<String> = (1..=10).map(|n| format!("{n:02}/10")).collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    let stdin: String = (1..=10).map(|n| format!("{n}\n")).collect();
    sb.fanout()
        .args(["-k", "--plus", "echo", "{0#}/{##}"])
        .stdin(stdin.clone())
        .run()
        .code(0)
        .lines(&want);
    // A regular file is counted ahead; `:::` items are counted.
    let input = sb.write("ten.txt", &stdin);
    sb.fanout()
        .args(["-k", "-a"])
        .arg(&input)
        .args(["echo", "{0#}/{##}"])
        .run()
        .code(0)
        .lines(&want);
    // `parallel -k --plus echo '{0#}/{##}' ::: a b c`: 1/3 2/3 3/3.
    sb.fanout()
        .args(["-k", "echo", "{0#}/{##}"])
        .items(["a", "b", "c"])
        .run()
        .code(0)
        .lines(&["1/3", "2/3", "3/3"]);
    // In --dry-run and --tagstring too.
    sb.fanout()
        .args(["--dry-run", "-k", "echo", "{##}"])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines(&["echo 2", "echo 2"]);
    sb.fanout()
        .args(["-k", "--tagstring", "{#}/{##}", "echo", "x"])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines(&["1/2\tx a", "2/2\tx b"]);
}
