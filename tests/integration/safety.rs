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

/// Bidirectional overrides and zero-width characters in an item cannot
/// make a tag, a failure note or a dry run read as something else.
#[test]
fn invisible_format_characters_are_escaped_like_control_characters() {
    let sb = Sandbox::new();
    let item = "evil\u{202e}txt.exe\u{200b}";
    let run = sb
        .fanout()
        .args([
            "--no-journal",
            "--tag",
            "sh",
            "-c",
            "echo hi; exit 3",
            "_",
            "{}",
        ])
        .items([item])
        .run();
    run.code(1);
    run.lines_any_order(&["evil\\u{202e}txt.exe\\u{200b}\thi"]);
    assert!(
        !run.stderr.contains('\u{202e}') && !run.stderr.contains('\u{200b}'),
        "format characters reached the summary raw:\n{}",
        run.stderr
    );
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

// --- issue 8: spots where the shell parses text again --------------------

/// The audit's probes: each creates `PWNED` if it ever runs as code. The
/// second is the newline item, fed with `-0`; the last aims at bash's
/// arithmetic in subscripts.
const PROBES: &[&[u8]] = &[
    b"$(touch PWNED)",
    b"x\ntouch PWNED\n#",
    b"'; touch PWNED; '",
    b"\"; touch PWNED; \"",
    b"`touch PWNED`",
    b"a[$(touch PWNED)]",
    b"1 )); touch PWNED; (( 1",
    b"eval touch PWNED",
];

/// Runs fanout over [`PROBES`] (NUL-separated, `-0`) in an empty sandbox.
fn probe(args: &[&str]) -> (Sandbox, crate::util::Run) {
    let sb = Sandbox::new();
    let mut input = Vec::new();
    for item in PROBES {
        input.extend_from_slice(item);
        input.push(0);
    }
    let run = sb
        .fanout()
        .args(["--no-journal", "-0"])
        .args(args)
        .stdin(input)
        .run();
    if sb.exists("PWNED") {
        run.fail("an item ran as code: PWNED exists");
    }
    (sb, run)
}

/// The template must be refused before anything runs, naming the place
/// and a safe spelling.
#[track_caller]
fn refused(args: &[&str], place: &str, hint: &str) {
    let (sb, run) = probe(args);
    run.code(2)
        .stderr_has("cannot quote `{}` safely")
        .stderr_has(place)
        .stderr_has(hint);
    if !sb.names().is_empty() {
        run.fail(&format!("something ran: {:?}", sb.names()));
    }
}

/// Every job must write exactly its item to `out.N`.
#[track_caller]
fn literal(args: &[&str]) {
    let (sb, run) = probe(args);
    run.code(0);
    assert_outputs(&sb, &run, PROBES);
    let extra: Vec<String> = sb
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("out."))
        .collect();
    if !extra.is_empty() {
        run.fail(&format!("an item ran as code: unexpected files {extra:?}"));
    }
}

const USE_ITEM: &str = "\"$FANOUT_ITEM\"";

/// Whether `program` is on PATH (bash, dash and zsh are optional here).
fn installed(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()));
    if !found {
        eprintln!("{program} is not installed: its cases are skipped");
    }
    found
}

#[test]
fn arithmetic_is_refused() {
    for template in [
        "echo $(( {} + 1 ))",
        "echo \"$(( {} ))\"",
        // dash reads `$((` as arithmetic even when a subshell is meant.
        "echo \"$((echo {}))\"",
        "echo $[ {} ]",
        "(( {} ))",
        "for (( i={}; i<2; i++ )); do :; done",
        "sh -c 'echo $(( {} ))'",
    ] {
        refused(&[template], "inside shell arithmetic", "FANOUT_ITEM");
    }
    // Arithmetic that holds no placeholder changes nothing after it.
    literal(&[": $(( (1) + 2 )); printf %s {} > out.$FANOUT_SEQ"]);
}

#[test]
fn placeholders_after_an_ansi_string_holding_an_escaped_quote_are_refused() {
    refused(
        &["echo $'it\\'s' {}"],
        "follows a `$'...'` string holding `\\'`",
        "\"it's\"",
    );
}

#[test]
fn dollar_dollar_ends_the_dollar() {
    // dash reads `$$(` as `$$` and `(`, bash as `$` and `$(`: refused.
    refused(&["echo \"tmp.$$(basename {})\""], "`$$(`", "${$}");
    // `$$` before a placeholder is the process id, nothing more.
    literal(&["x=$${}; printf %s \"${x#$$}\" > out.$FANOUT_SEQ"]);
}

#[test]
fn backslash_newline_is_dropped_as_the_shell_does() {
    literal(&["printf %s \"$\\\n(printf %s {})\" > out.$FANOUT_SEQ"]);
    literal(&["printf %s \\\n{} > out.$FANOUT_SEQ"]);
    // A comment or a here-document hidden by a line continuation.
    refused(&["echo \\\n# {}"], "inside a shell comment", "comment");
    refused(&["cat <\\\n<EOF\n{}\nEOF"], "here-document", USE_ITEM);
}

#[test]
fn eval_trap_and_alias_are_refused_with_a_hint() {
    for template in [
        "eval echo {}",
        "trap 'rm -f {}.lock' EXIT",
        "command eval \"$(echo {})\"",
    ] {
        refused(&[template], "argument of `eval` or `trap`", USE_ITEM);
    }
    // A substitution's output run as the command: an item `eval ...` runs.
    for template in ["$(echo {})", "env `echo {}`"] {
        refused(
            &[template],
            "output is split into a command",
            "double quotes",
        );
    }
    for template in ["alias q='echo \"'\nq {}", "alias e='echo {}'"] {
        refused(&[template], "follows `alias`", "FANOUT_ITEM");
    }
    // The hint's spelling works (`: {}` keeps fanout from appending `{}` to
    // the trap, which would be refused too).
    literal(&["trap 'printf %s \"$FANOUT_ITEM\" > out.$FANOUT_SEQ' EXIT; : {}"]);
}

#[test]
fn a_script_given_to_a_shell_is_quoted_for_that_shell_in_shell_mode() {
    literal(&["sh -c 'printf %s {} > out.$FANOUT_SEQ'"]);
    literal(&["sh -c \"printf %s {} > out.$FANOUT_SEQ\""]);
    if installed("bash") {
        literal(&["bash -euc 'printf %s \"{}\" > out.$FANOUT_SEQ'"]);
    }
    if installed("dash") {
        literal(&["env dash -e -c 'printf %s {} > out.$FANOUT_SEQ'"]);
    }
    literal(&["sh -c 'sh -c \"printf %s {} > out.\\$FANOUT_SEQ\"'"]);
    // What that shell would parse again is refused there too.
    refused(
        &["sh -c 'eval echo {}'"],
        "in the script given to a shell with `-c`",
        USE_ITEM,
    );
}

#[test]
fn a_script_given_to_a_shell_is_quoted_for_that_shell_in_argv_mode() {
    let script = "printf %s {} > out.$FANOUT_SEQ";
    literal(&["sh", "-c", script]);
    literal(&["/bin/sh", "-c", script]);
    if installed("bash") {
        literal(&["bash", "-c", script]);
        literal(&["bash", "-euc", script]);
    }
    if installed("dash") {
        literal(&["dash", "-e", "-c", script]);
    }
    literal(&["env", "sh", "-c", script]);
    literal(&["sh", "-c", "printf %s \"{}\" > out.$FANOUT_SEQ"]);
    // An argument after the script is an argument, passed unchanged.
    literal(&["sh", "-c", "printf %s \"$1\" > out.$FANOUT_SEQ", "_", "{}"]);
    refused(
        &["bash", "-c", "trap 'rm {}' EXIT"],
        "in the script given to a shell with `-c`",
        USE_ITEM,
    );
}

#[test]
fn a_zsh_script_is_quoted_for_zsh() {
    if !installed("zsh") {
        return;
    }
    literal(&["zsh", "-c", "printf %s {} > out.$FANOUT_SEQ"]);
    literal(&["zsh -c 'printf %s \"{}\" > out.$FANOUT_SEQ'"]);
}

#[test]
fn spots_bash_evaluates_are_refused_whatever_bin_sh_is() {
    refused(&["echo x >&{}"], "target of `>&`", "> {}");
    refused(&["a[{}]=1"], "array subscript", "number");
    refused(&["[[ {} -eq 1 ]]"], "inside `[[ ]]`", "[ {} = x ]");
    refused(&["declare {}=1"], "a name given to `declare`", "NAME={}");
    // The value after `=` is no name.
    literal(&["export X={}; printf %s \"$X\" > out.$FANOUT_SEQ"]);
}

#[test]
fn dollar_brace_name_is_shell_syntax() {
    literal(&["printf %s ${NOPE:-}{} > out.${FANOUT_SEQ}"]);
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--no-journal", "echo ${HOME}:{}"])
        .env("HOME", "/home/someone")
        .items(["a"])
        .run();
    run.code(0).lines(&["/home/someone:a"]);
}

#[test]
fn a_shell_behind_any_wrapper_gets_its_script_quoted() {
    let script = "printf %s {} > out.$FANOUT_SEQ";
    // `sh -c 'exec "$@"' _` is a wrapper fanout has no list entry for.
    literal(&["sh", "-c", "exec \"$@\"", "_", "sh", "-c", script]);
    literal(&["sh -c 'exec \"$@\"' _ sh -c 'printf %s {} > out.$FANOUT_SEQ'"]);
    literal(&[
        "--shell",
        "sh",
        "-c",
        "'exec \"$@\"'",
        "_",
        "sh",
        "-c",
        "'printf %s {} > out.$FANOUT_SEQ'",
    ]);
    if installed("prlimit") {
        literal(&["prlimit", "--nofile=100", "sh", "-c", script]);
        literal(&["prlimit --nofile=100 /bin/sh -c 'printf %s {} > out.$FANOUT_SEQ'"]);
    }
    if installed("setpriv") {
        literal(&["setpriv", "--reuid=-1", "sh", "-c", script]);
    }
    if installed("strace") {
        literal(&["strace", "-f", "-o", "/dev/null", "sh", "-c", script]);
        literal(&["strace -o /dev/null sh -c 'printf \"%s\" {} > out.$FANOUT_SEQ'"]);
    }
    // An argument after the script stays an argument, also when a shell
    // name is `$0`.
    literal(&["sh", "-c", "printf %s \"$1\" > out.$FANOUT_SEQ", "sh", "{}"]);
}

#[test]
fn a_word_split_into_a_shell_command_is_refused() {
    let why = "follows `env -S` or a word holding a shell and `-c`";
    refused(&["env", "-S", "sh -c", "echo {}"], why, "env sh -c");
    refused(
        &["env", "--split-string=sh -c", "echo {}"],
        why,
        "env sh -c",
    );
    refused(&["env -S 'sh -c' 'echo {}'"], why, "env sh -c");
    refused(&["env", "-S", "sh", "-c", "{}"], why, "env sh -c");
    // The appended `{}` too.
    let (sb, run) = probe(&["env", "-S", "sh", "-c"]);
    run.code(2).stderr_has("the appended `{}`").stderr_has(why);
    assert!(sb.names().is_empty(), "something ran");
    refused(&["timeout", "5", "sh -c", "echo {}"], why, "env sh -c");
}

#[test]
fn values_a_shell_evaluates_later_are_refused() {
    let var = "value of BASH_ENV, ENV, PS0-PS4";
    for template in [
        "BASH_ENV={} bash -c :",
        "export BASH_ENV={}; sh -c :",
        "PS4=\"+{}\" sh -xc :",
        "sh -c 'PS4={}; set -x; :'",
        "declare -x PROMPT_COMMAND={}",
    ] {
        refused(&[template], var, USE_ITEM);
    }
    refused(&["env", "BASH_ENV={}", "bash", "-c", ":"], var, USE_ITEM);
    refused(&["env", "ENV={}", "sh", "-i", "-c", ":"], var, USE_ITEM);
    let later = "evaluate a variable's value later";
    for template in [
        "bash -c 'declare -i n; n={}'",
        "bash -c 'typeset -ix n; n+={}'",
        "f() { local -i n={}; }; f",
        "x={}; echo \"${x@P}\"",
        "sh -c 'x={}; echo \"${x@E}\"'",
    ] {
        refused(&[template], later, USE_ITEM);
    }
    refused(&["bash", "-c", "declare -i n; n={}"], later, USE_ITEM);
    // `"$1"`, checked, is the way.
    literal(&["sh", "-c", "printf %s \"$1\" > out.$FANOUT_SEQ", "_", "{}"]);
    // Other names take any value.
    literal(&["LC_X={} sh -c 'printf %s \"$LC_X\" > out.$FANOUT_SEQ'"]);
}

#[test]
fn dollar_dollar_before_a_numbered_placeholder_is_the_process_id() {
    // `$${1}` is `$$` and the placeholder `{1}`, as dash and bash read it.
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--no-journal", "printf '%s\\n' $${1} \"$$\" > out"])
        .items(["$(touch PWNED)"])
        .run();
    run.code(0);
    let text = String::from_utf8_lossy(&sb.read("out")).into_owned();
    let mut lines = text.lines();
    let (first, pid) = (lines.next().unwrap_or(""), lines.next().unwrap_or("-"));
    assert_eq!(first, format!("{pid}$(touch PWNED)"));
    assert!(!sb.exists("PWNED"), "an item ran as code");
}
