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

/// An item that would set the user's clipboard (OSC 52) if printed raw.
const OSC52: &str = "\x1b]52;c;SGVsbG8=\x07";

#[test]
fn failure_notes_escape_and_shorten_the_command() {
    let sb = Sandbox::new();
    let huge = "x".repeat(1_000_000);
    let run = sb
        .fanout()
        .args(["--no-journal", "false", "{}"])
        .stdin(format!("{huge}\n{OSC52}\n"))
        .run();
    run.code(1);
    assert!(
        !run.stderr.contains('\x1b') && !run.stderr.contains('\x07'),
        "control characters reached stderr raw:\n{:?}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("command: false '\\u{1b}]52;c;SGVsbG8=\\u{7}'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.len() < 4000,
        "the summary printed a 1 MB command ({} bytes of stderr)",
        run.stderr.len()
    );
}

#[test]
fn tag_prefix_escapes_control_characters() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--no-journal", "--tag", "-0", "printf", "hi\\n%.0s", "{}"])
        .stdin(format!("a\nFORGED\0{OSC52}\0"))
        .run();
    run.code(0);
    run.lines_any_order(&["a\\nFORGED\thi", "\\u{1b}]52;c;SGVsbG8=\\u{7}\thi"]);
}

#[test]
fn resume_hint_escapes_control_characters() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--fail-fast", "-j", "1", "false", "{}"])
        .items([OSC52])
        .run();
    run.code(1);
    assert!(
        !run.stderr.contains('\x1b') && !run.stderr.contains('\x07'),
        "control characters reached stderr raw:\n{:?}",
        run.stderr
    );
    run.stderr_has("--resume")
        .stderr_has("$'\\x1b]52;c;SGVsbG8=\\x07'");
}

#[test]
fn dry_run_is_exact_into_a_pipe_and_nul_separated_with_print0() {
    let sb = Sandbox::new();
    let items = ["a\nb", OSC52];
    // Into a pipe: the bytes stay raw, so `| sh` runs exactly these commands.
    let run = sb
        .fanout()
        .args(["--dry-run", "printf", "%s", "{}"])
        .items(items)
        .run();
    run.code(0);
    assert_eq!(
        run.stdout,
        format!("printf %s 'a\nb'\nprintf %s '{OSC52}'\n").into_bytes()
    );
    let run = sb
        .fanout()
        .args(["--dry-run", "--print0", "printf", "%s", "{}"])
        .items(items)
        .run();
    run.code(0);
    assert_eq!(
        run.stdout,
        format!("printf %s 'a\nb'\0printf %s '{OSC52}'\0").into_bytes()
    );
    sb.fanout()
        .args(["--print0", "echo", "{}"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("--dry-run");
}

#[test]
fn dry_run_at_a_terminal_escapes_control_characters() {
    // `script` gives fanout a pseudo-terminal for stdout.
    if std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("skipped: no `script` (util-linux) for a pseudo-terminal");
        return;
    }
    let sb = Sandbox::new();
    let log = sb.join("typescript");
    let inner = format!(
        "{} --no-progress --dry-run printf %s {{}} ::: \"$(printf 'a\\033]52;c;x\\007b')\" 'c d'",
        crate::util::bin()
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &inner])
        .arg(&log)
        .current_dir(sb.path())
        .env("XDG_STATE_HOME", crate::util::state_home())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    assert!(status.status.success(), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(!text.contains('\x1b'), "raw ESC at the terminal: {text:?}");
    assert!(
        text.contains("printf %s $'a\\x1b]52;c;x\\x07b'") && text.contains("printf %s 'c d'"),
        "{text:?}"
    );
}
