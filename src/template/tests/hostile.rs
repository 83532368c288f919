//! The safety property, run for real: hostile items rendered into shell
//! and argv templates and run under every installed shell must come out
//! literal, or the template must be refused before anything runs.

use super::*;
use crate::template::ShellMode;

// --- the safety property, run for real ----------------------------------

const HOSTILE: &[&[u8]] = &[
    b"plain",
    b"",
    b"$(touch pwned); rm -rf x",
    b"'; touch x; '",
    b"\"; touch x; \"",
    b"`id`",
    b"`touch pwned`",
    b"a\"b",
    b"-n",
    b"a b",
    b"x\ny",
    b"\xff\xfe",
    b"'",
    b"\\",
    b"a\\\nb",
    b"\\'\\\"\\`\\$",
    b"$HOME ${x} $((1+1)) $'\\x41'",
    b"*",
    b"); touch pwned; (",
    b"'\"$(touch pwned)\"'",
    b"\\`touch pwned\\`",
    b"# comment\ntouch pwned",
];

/// Shell templates writing the item to `out`, with text the output
/// should carry before and after the item.
const CONTEXTS: &[(&str, &str, &str)] = &[
    ("printf %s {} > out", "", ""),
    ("printf %s '{}' > out", "", ""),
    ("printf '%s' \"{}\" > out", "", ""),
    ("printf %s pre{}post > out", "pre", "post"),
    ("printf %s 'pre {} post' > out", "pre ", " post"),
    ("printf %s \"pre {} post\" > out", "pre ", " post"),
    ("printf %s \"$(printf %s {})\" > out", "", ""),
    ("printf %s \"$(printf %s '{}')\" > out", "", ""),
    ("printf %s \"$(printf %s \"{}\")\" > out", "", ""),
    (
        "printf %s \"$(printf %s \"$(printf %s {})\")\" > out",
        "",
        "",
    ),
    ("x=$(printf %s {}); printf %s \"$x\" > out", "", ""),
    ("printf %s \"`printf %s {}`\" > out", "", ""),
    ("printf %s \"`printf %s '{}'`\" > out", "", ""),
    ("printf %s \"`printf %s \\\"{}\\\"`\" > out", "", ""),
    ("x=`printf %s {}`; printf %s \"$x\" > out", "", ""),
    ("x=`printf %s \"{}\"`; printf %s \"$x\" > out", "", ""),
    (
        "printf %s \"`printf %s \\\"\\`printf %s {}\\`\\\"`\" > out",
        "",
        "",
    ),
    (
        "printf %s \"$(printf %s \"`printf %s {}`\")\" > out",
        "",
        "",
    ),
    ("cat > out <<< {}", "", "\n"),
    ("printf %s ${{NOPE:-}}{} > out", "", ""),
    ("printf %s {} > out # done", "", ""),
    ("printf %s \"$(printf %s {} # )\n)\" > out", "", ""),
];

/// `/bin/sh` plus bash and dash where installed, each once.
fn shells() -> Vec<&'static str> {
    let mut seen = Vec::new();
    let mut shells = Vec::new();
    for shell in [
        "/bin/sh",
        "/bin/bash",
        "/usr/bin/bash",
        "/bin/dash",
        "/usr/bin/dash",
    ] {
        if let Ok(real) = std::fs::canonicalize(shell)
            && !seen.contains(&real)
        {
            seen.push(real);
            shells.push(shell);
        }
    }
    shells
}

/// Files in `dir` other than `out`.
fn stray_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "out")
        .collect();
    names.sort();
    names
}

/// Runs one rendered shell command in a fresh directory and checks that
/// it wrote exactly `want` to `out` and created nothing else.
fn run_shell_case(shell: &str, template: &str, spec: &CommandSpec, raw: &[u8], want: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(shell)
        .args(&spec.args)
        .current_dir(dir.path())
        .status()
        .unwrap();
    let context = format!(
        "{shell} template {template:?} item {:?}: {}",
        String::from_utf8_lossy(raw),
        spec.display()
    );
    assert!(status.success(), "{context}");
    let got = std::fs::read(dir.path().join("out")).unwrap();
    assert_eq!(got, want, "{context}");
    assert_eq!(stray_files(dir.path()), Vec::<String>::new(), "{context}");
}

#[test]
fn shell_mode_keeps_hostile_items_literal() {
    let shells = shells();
    // One thread per context keeps the ~1000 shell runs quick.
    std::thread::scope(|scope| {
        for &(template, before, after) in CONTEXTS {
            let shells = &shells;
            scope.spawn(move || {
                let t = parse(&[template]);
                assert!(t.is_shell(), "{template}");
                for &raw in HOSTILE {
                    let spec = t.render(&Item::plain(1, raw), 1).unwrap();
                    let want = [before.as_bytes(), raw, after.as_bytes()].concat();
                    // `<<<` is not POSIX; only bash runs that template.
                    for shell in shells
                        .iter()
                        .filter(|s| !template.contains("<<<") || s.ends_with("bash"))
                    {
                        run_shell_case(shell, template, &spec, raw, &want);
                    }
                }
            });
        }
    });
}

/// What a template must do with every hostile item: write exactly
/// `before`, the item and `after` to `out`, or be refused before anything
/// runs.
#[derive(Clone, Copy)]
enum Want {
    Literal(&'static str, &'static str),
    Refused,
}

/// Items aimed at each spot the audit found, on top of [`HOSTILE`].
const HOSTILE_MORE: &[&[u8]] = &[
    b"x\ntouch pwned\n#",
    b"a[$(touch pwned)]",
    b"1)); touch pwned; ((1",
    b"]]; touch pwned; [[ 1",
    b"}; touch pwned; {",
    b"$((1+1))",
    b"\\\n$(touch pwned)",
    b"\"'\"'$(touch pwned)",
    b"-c",
    b"-e",
    b"' \\' $(touch pwned) '",
    b"$'\\'' ; touch pwned; '",
];

/// Shell templates, for the hostile table. `sh` inside them is `/bin/sh`
/// from PATH; `{SHELL}` is each installed shell in turn.
const TABLE: &[(&str, Want)] = &[
    // Scripts given to a shell are quoted for that shell, then for ours.
    ("sh -c 'printf %s {}' > out", Want::Literal("", "")),
    ("sh -c \"printf %s {}\" > out", Want::Literal("", "")),
    ("sh -c 'printf %s \"{}\"' > out", Want::Literal("", "")),
    ("sh -c \"printf %s '{}'\" > out", Want::Literal("", "")),
    ("sh -c printf\\ %s\\ {} > out", Want::Literal("", "")),
    ("sh -c 'printf %s pre{}' > out", Want::Literal("pre", "")),
    (
        "sh -c 'sh -c \"printf %s {}\"' > out",
        Want::Literal("", ""),
    ),
    (
        "sh -c 'printf %s \"$(printf %s {})\"' > out",
        Want::Literal("", ""),
    ),
    (
        "sh -c 'printf %s \"`printf %s {}`\"' > out",
        Want::Literal("", ""),
    ),
    ("{SHELL} -c 'printf %s {}' > out", Want::Literal("", "")),
    ("{SHELL} -euc 'printf %s {}' > out", Want::Literal("", "")),
    ("{SHELL} -e -c 'printf %s {}' > out", Want::Literal("", "")),
    ("env {SHELL} -c 'printf %s {}' > out", Want::Literal("", "")),
    (
        "sh -o errexit -c 'printf %s {}' > out",
        Want::Literal("", ""),
    ),
    ("sh -c 'printf %s \"$1\"' _ {} > out", Want::Literal("", "")),
    ("sh -c 'printf %s {}' sh {} > out", Want::Literal("", "")),
    ("sh -c \"printf %s $HOME{}\" > out", Want::Refused),
    ("sh -c \"`printf %s {}`\"", Want::Refused),
    ("sh -c 'eval printf %s {}'", Want::Refused),
    ("sh -c ': $(( {} ))'", Want::Refused),
    // `$$` is a special parameter, not the start of `$(`.
    (": \"tmp.$$(basename {})\"", Want::Refused),
    ("x=$${}; printf %s \"${x#$$}\" > out", Want::Literal("", "")),
    (
        "x=\"$$\"{}; printf %s \"${x#$$}\" > out",
        Want::Literal("", ""),
    ),
    // Backslash-newline is dropped as the shell drops it.
    (
        "printf %s \"$\\\n(printf %s {})\" > out",
        Want::Literal("", ""),
    ),
    ("printf %s \\\n{} > out", Want::Literal("", "")),
    ("printf %s {} > out \\\n# done", Want::Literal("", "")),
    ("printf %s {} > o\\\nut", Want::Literal("", "")),
    ("printf %s \\\n# {}", Want::Refused),
    ("cat <\\\n<EOF > out\n{}\nEOF", Want::Refused),
    // Arithmetic evaluates its text as code.
    ("printf %s $(( {} + 1 ))", Want::Refused),
    ("printf %s \"$(( {} ))\"", Want::Refused),
    ("printf %s \"$((echo {}))\"", Want::Refused),
    ("printf %s $[ {} ]", Want::Refused),
    ("(( {} ))", Want::Refused),
    ("for (( i={}; i<1; i++ )); do :; done", Want::Refused),
    (": $(( 1 + 2 )); printf %s {} > out", Want::Literal("", "")),
    (
        ": $(( (1) + (2) )) $((3)); printf %s {} > out",
        Want::Literal("", ""),
    ),
    // Where dash and bash disagree on the end of `$'...'`.
    ("printf %s $'it\\'s' {}", Want::Refused),
    (
        "printf %s $'a\\\\' > out; printf %s {} > out",
        Want::Literal("", ""),
    ),
    // Commands that parse their arguments again.
    ("eval printf %s {}", Want::Refused),
    ("eval 'printf %s {}'", Want::Refused),
    ("eval \"$(printf %s {})\"", Want::Refused),
    ("command eval printf %s {}", Want::Refused),
    ("trap 'printf %s {}' EXIT", Want::Refused),
    ("alias p=printf; p %s {}", Want::Refused),
    ("alias q='printf \"'\nq %s {}", Want::Refused),
    ("alias e='echo {}'", Want::Refused),
    // The bash spots, refused whatever /bin/sh is.
    ("printf %s x >&{}", Want::Refused),
    ("printf %s x 2>& {}", Want::Refused),
    ("a[{}]=1", Want::Refused),
    ("a[$(printf %s {})]=1", Want::Refused),
    ("[[ {} -eq 1 ]]", Want::Refused),
    ("[[ -n x && {} ]]", Want::Refused),
    ("declare {}=1", Want::Refused),
    ("export {}", Want::Refused),
    ("readonly x{}=1", Want::Refused),
    ("unset {}", Want::Refused),
    ("let {}", Want::Refused),
    ("test -v {}", Want::Refused),
    ("[ -v {} ]", Want::Refused),
    ("test -v $(:) {}", Want::Refused),
    // What stays allowed around them.
    ("export X={}; printf %s \"$X\" > out", Want::Literal("", "")),
    (
        "f() { local v={}; printf %s \"$v\" > out; }; f",
        Want::Literal("", ""),
    ),
    (
        "f() { local v=$(printf %s {}); printf %s \"$v\" > out; }; f",
        Want::Literal("", ""),
    ),
    ("[ -n x{} ] && printf %s {} > out", Want::Literal("", "")),
    ("[ -n x ] && printf %s {} 2>&1 > out", Want::Literal("", "")),
    ("printf %s {} >out 2>&1", Want::Literal("", "")),
    ("printf %s {} | { cat > out; }", Want::Literal("", "")),
    (
        "if true; then printf %s {} > out; fi",
        Want::Literal("", ""),
    ),
    ("(printf %s {}) > out", Want::Literal("", "")),
    ("printf %s ${HOME+}{} > out", Want::Literal("", "")),
    ("printf %s \"${HOME:+<}\"{} > out", Want::Literal("<", "")),
    (
        "printf %s echo eval {} > out",
        Want::Literal("echoeval", ""),
    ),
    ("printf %s \"a[{}]\" > out", Want::Literal("a[", "]")),
    ("unset 'a[{}]'", Want::Refused),
    ("S=sh; $S -c 'printf %s {}' > out", Want::Literal("", "")),
    (
        "S=sh; \"$S\" -e -c 'printf %s {}' > out",
        Want::Literal("", ""),
    ),
    ("S=sh; $S -c 'eval {}'", Want::Refused),
    ("function f { eval {}; }", Want::Refused),
    ("f() { eval {}; }", Want::Refused),
    ("if true; then eval {}; fi", Want::Refused),
    ("x=1 eval {}", Want::Refused),
    ("exec 3>&1; 2>/dev/null eval {}", Want::Refused),
    ("sh -c -c${x} 'printf %s {}' > out", Want::Literal("", "")),
    ("a[printf %s {}]=1", Want::Refused),
    ("a[ x ; printf %s {}]=1", Want::Refused),
    ("local a[ x \n {}]=1", Want::Refused),
    ("a[1]=x; printf %s {} > out", Want::Literal("", "")),
    ("a=({{( printf %s {} ))", Want::Refused),
    ("a=( {} )", Want::Refused),
    ("`echo \"eval printf %s {}\"`", Want::Refused),
    ("$(printf %s {})", Want::Refused),
    ("env $(printf %s {})", Want::Refused),
    (
        "\"$(printf %s {})\" 2>/dev/null; printf %s {} > out",
        Want::Literal("", ""),
    ),
    (
        "x=$(printf %s {}) && printf %s \"$x\" > out",
        Want::Literal("", ""),
    ),
    // A shell behind a wrapper fanout has no list entry for.
    (
        "sh -c 'exec \"$@\"' _ {SHELL} -c 'printf %s {}' > out",
        Want::Literal("", ""),
    ),
    (
        "echo sh -c {} > /dev/null; printf %s {} > out",
        Want::Literal("", ""),
    ),
    ("env -S 'sh -c' 'printf %s {}'", Want::Refused),
    ("env --split-string='sh -c' 'printf %s {}'", Want::Refused),
    // Values a shell evaluates later.
    ("BASH_ENV={} bash -c :", Want::Refused),
    ("env ENV={} sh -i -c :", Want::Refused),
    ("export PS4={}; set -x; :", Want::Refused),
    ("bash -c 'declare -i n; n={}'", Want::Refused),
    ("n={}; typeset -i n; n+=0", Want::Refused),
    ("x={}; printf %s \"${x@P}\"", Want::Refused),
];

/// Shells to run the table's templates under (`/bin/sh`, bash, dash,
/// and zsh and ksh where installed), by name.
fn table_shells() -> Vec<&'static str> {
    let mut found = shells();
    for extra in ["/bin/zsh", "/usr/bin/zsh", "/bin/ksh", "/usr/bin/ksh"] {
        if Path::new(extra).exists()
            && !found
                .iter()
                .any(|s| s.ends_with(&extra[extra.rfind('/').unwrap_or(0)..]))
        {
            found.push(extra);
        }
    }
    found
}

#[test]
fn hostile_table_is_literal_or_refused() {
    let shells = table_shells();
    let items: Vec<&[u8]> = HOSTILE.iter().chain(HOSTILE_MORE).copied().collect();
    // `{SHELL}` templates once per installed shell.
    let mut cases: Vec<(String, Want)> = Vec::new();
    for &(template, want) in TABLE {
        if template.contains("{SHELL}") {
            for shell in &shells {
                cases.push((template.replace("{SHELL}", shell), want));
            }
        } else {
            cases.push((template.to_string(), want));
        }
    }
    std::thread::scope(|scope| {
        for (template, want) in &cases {
            let (shells, items) = (&shells, &items);
            scope.spawn(move || {
                let parsed = Template::parse(&os(&[template]), ShellMode::Auto, &lines());
                let (before, after) = match (want, parsed) {
                    (Want::Refused, Err(TemplateError::Unsafe { .. })) => return,
                    (Want::Refused, other) => {
                        panic!("{template:?} should be refused as unsafe, got {other:?}")
                    }
                    (Want::Literal(..), Err(e)) => panic!("{template:?} refused: {e}"),
                    (Want::Literal(before, after), Ok(t)) => {
                        assert!(t.is_shell(), "{template}");
                        (before, after)
                    }
                };
                let t = parse(&[template]);
                for &raw in items {
                    let spec = t.render(&Item::plain(1, raw), 1).unwrap();
                    let want = [before.as_bytes(), raw, after.as_bytes()].concat();
                    for shell in shells {
                        run_shell_case(shell, template, &spec, raw, &want);
                    }
                }
            });
        }
    });
}

#[test]
fn argv_mode_quotes_shell_scripts_for_that_shell() {
    let item: &[u8] = b"x\ntouch pwned\n#'\"$(touch pwned)";
    for words in [
        &["sh", "-c", "printf %s {} > out"][..],
        &["sh", "-c", "printf %s \"{}\" > out"],
        &["sh", "-c", "printf %s '{}' > out"],
        &["bash", "-euc", "printf %s {} > out"],
        &["/bin/sh", "-e", "-c", "printf %s {} > out"],
        &["env", "A=1", "dash", "-c", "printf %s {} > out"],
        &["sh", "-c", "sh -c 'printf %s {}' > out"],
        &["sh", "-c", "printf %s \"$1\" > out", "_", "{}"],
    ] {
        let t = parse(words);
        assert!(!t.is_shell(), "{words:?}");
        let on_path = |p: &str| {
            std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
        };
        if !words
            .iter()
            .take(3)
            .all(|w| !matches!(*w, "bash" | "dash") || on_path(w))
        {
            continue;
        }
        let spec = t.render(&Item::plain(1, item), 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(&spec.program)
            .args(&spec.args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "{words:?}: {}", spec.display());
        assert_eq!(
            std::fs::read(dir.path().join("out")).unwrap(),
            item,
            "{words:?}"
        );
        assert!(stray_files(dir.path()).is_empty(), "{words:?}");
    }
    // A script's `{}` is the script's, an argument's `{}` stays raw.
    let t = parse(&["sh", "-c", "echo {}", "_", "{}"]);
    let args = argv(&t, &Item::plain(1, "a b"));
    assert_eq!(args[2], b"echo 'a b'");
    assert_eq!(args[4], b"a b");
    for words in [
        &["sh", "-c", "eval {}"][..],
        &["bash", "-c", "echo $(( {} ))"],
        &["sudo", "-u", "nobody", "sh", "-c", "trap 'rm {}' EXIT"],
    ] {
        let err = Template::parse(&os(words), ShellMode::Auto, &lines()).unwrap_err();
        assert!(
            err.to_string()
                .contains("in the script given to a shell with `-c`"),
            "{words:?}: {err}"
        );
    }
    // Options and other programs are left alone.
    let args = argv(&parse(&["echo", "sh", "-c", "{}"]), &Item::plain(1, "a b"));
    assert_eq!(args[3], b"a b");
    let args = argv(&parse(&["sh", "script.sh", "{}"]), &Item::plain(1, "a b"));
    assert_eq!(args[2], b"a b");
}

#[test]
fn shell_mode_quotes_derived_values_too() {
    let t = Template::parse(
        &os(&["printf '%s|%s|%s' {/} \"{.v}\" '{.w.0}' > out"]),
        ShellMode::Auto,
        &schema(Format::Jsonl),
    )
    .unwrap();
    let item = json_item(r#"{"v":"$(touch pwned)'\"","w":["`touch x`"]}"#);
    let mut item = item;
    item.raw = b"d/'; touch x; '".to_vec();
    let dir = tempfile::tempdir().unwrap();
    let spec = t.render(&item, 1).unwrap();
    let status = Command::new(&spec.program)
        .args(&spec.args)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let got = std::fs::read(dir.path().join("out")).unwrap();
    assert_eq!(got, b"'; touch x; '|$(touch pwned)'\"|`touch x`");
    assert!(stray_files(dir.path()).is_empty());
}

#[test]
fn argv_mode_keeps_hostile_items_literal() {
    let t = parse(&["printf", "%s", "{}"]);
    assert!(!t.is_shell());
    for &raw in HOSTILE {
        let spec = t.render(&Item::plain(1, raw), 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(&spec.program)
            .args(&spec.args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, raw);
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
