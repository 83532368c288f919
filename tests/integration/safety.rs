//! Item text never becomes code. Hostile items go through argv mode, shell
//! mode (bare, inside the user's double and single quotes, inside `$(...)`)
//! and `--shell`; every job must write exactly the item's bytes, and no
//! injected `touch` may run.

use crate::formats::assert_outputs;
use crate::util::{Sandbox, fixture};

/// Items that would run `touch pwned` (or otherwise misbehave) if they ever
/// reached a shell unquoted.
const HOSTILE: &[&[u8]] = &[
    b"$(touch pwned)",
    b"`touch pwned`",
    b"; touch pwned",
    b"| touch pwned",
    b"&& touch pwned",
    b"'; touch pwned; '",
    b"\"; touch pwned; \"",
    b"'\"$(touch pwned)\"'",
    b"\\'; touch pwned; \\'",
    b"$HOME",
    b"-n",
    b"--help",
    b"a b  c",
    b"line one\nline two; touch pwned",
    b"tab\there",
    b"*",
    b"\xff\xfe non-utf8 \xe9",
    b"{}",
    b"",
];

/// Runs `args` over [`HOSTILE`] (NUL-separated on stdin) and checks that
/// `out.N` holds item N exactly and nothing was injected.
#[track_caller]
fn check(args: &[&str]) {
    let sb = Sandbox::new();
    let mut input = Vec::new();
    for item in HOSTILE {
        input.extend_from_slice(item);
        input.push(0);
    }
    let run = sb.fanout().arg("-0").args(args).stdin(input).run();
    run.code(0);
    assert_outputs(&sb, &run, HOSTILE);
    let names = sb.names();
    let extra: Vec<&String> = names.iter().filter(|n| !n.starts_with("out.")).collect();
    if !extra.is_empty() {
        run.fail(&format!("an item ran as code: unexpected files {extra:?}"));
    }
}

#[test]
fn argv_mode() {
    check(&[
        "sh",
        "-c",
        "printf %s \"$1\" > \"out.$FANOUT_SEQ\"",
        "_",
        "{}",
    ]);
}

#[test]
fn shell_mode_bare_placeholder() {
    check(&["printf %s {} > out.$FANOUT_SEQ"]);
}

#[test]
fn shell_mode_inside_double_quotes() {
    check(&["printf %s \"{}\" > out.$FANOUT_SEQ"]);
}

#[test]
fn shell_mode_inside_single_quotes() {
    check(&["printf %s '{}' > out.$FANOUT_SEQ"]);
}

#[test]
fn shell_mode_inside_command_substitution() {
    // Command substitution drops trailing newlines; no item here has one.
    check(&["printf %s \"$(printf %s {})\" > out.$FANOUT_SEQ"]);
}

#[test]
fn shell_mode_with_the_placeholder_twice() {
    // Each substitution is quoted on its own: `{}{}` is the item twice, so
    // write it once and compare the file with the expected single copy.
    check(&["x={}; [ \"$x\" = {} ] && printf %s \"$x\" > out.$FANOUT_SEQ"]);
}

#[test]
fn forced_shell_joins_words() {
    check(&["--shell", "printf", "%s", "{}", ">", "out.$FANOUT_SEQ"]);
}

#[test]
fn hostile_fixture_in_shell_mode() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("-a")
        .arg(fixture("hostile.txt"))
        .arg("printf '%s\\n' {} > out.$FANOUT_SEQ")
        .run();
    run.code(0);
    let text = std::fs::read_to_string(fixture("hostile.txt")).expect("read the fixture");
    let want: Vec<Vec<u8>> = text
        .lines()
        .map(|l| format!("{l}\n").into_bytes())
        .collect();
    let want: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
    assert_outputs(&sb, &run, &want);
    for name in ["pwned", "x"] {
        if sb.exists(name) {
            run.fail(&format!("an item ran as code: `{name}` exists"));
        }
    }
}

#[test]
fn items_on_the_command_line_are_not_code_either() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("printf %s {} > out.$FANOUT_SEQ")
        .items(["$(touch pwned)", "'; touch pwned; '", "; touch pwned"])
        .run();
    run.code(0);
    assert_outputs(
        &sb,
        &run,
        &[b"$(touch pwned)", b"'; touch pwned; '", b"; touch pwned"],
    );
    assert!(!sb.exists("pwned"), "an item ran as code");
}
