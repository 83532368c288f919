//! A random search for templates that let an item run as code: shell
//! fragments wrapped around a placeholder, each accepted template run with
//! hostile items under dash and bash. Slow (about a minute), so not part of
//! the suite: `SEED=7 N=2500 cargo test --lib shell_fuzz -- --ignored`.
//! Values piped into a shell (`| sh`) are skipped: no quoting can help there.

use super::*;
use crate::template::ShellMode;
use std::process::{Command, Stdio};

/// Pieces of shell syntax inserted at random into a template.
const FRAGMENTS: &[&str] = &[
    "echo",
    " ",
    "{}",
    "{}",
    "{}",
    "'",
    "\"",
    "$(",
    ")",
    "`",
    "\\",
    "\n",
    ";",
    "$",
    "((",
    "))",
    "#",
    "<<",
    "EOF",
    "sh -c ",
    "eval ",
    "${x",
    "}",
    "$'",
    "\\'",
    "a[",
    "]",
    "|",
    "&",
    ">&",
    "=",
    "x=",
    "(",
    "$$",
    "[[",
    "]]",
    "export ",
    "alias ",
    "{{",
    "}}",
    "case ",
    " in ",
    "esac",
    "-c",
    "bash -c ",
    "\\\n",
    "$[",
    "read ",
    "trap ",
    "dash -c ",
    "-e ",
    "local ",
    "f() { ",
    "; }",
    "function ",
    "<",
    ">",
    "\"$(",
    "'$(",
    "\\\"",
    "\\`",
];

/// Items that create `PWNED` when they run as code.
const ITEMS: &[&[u8]] = &[
    b"x\ntouch PWNED\n#",
    b"$(touch PWNED)",
    b"'$(touch PWNED)'",
    b"\"$(touch PWNED)\"",
    b"`touch PWNED`",
    b"a[$(touch PWNED)]",
    b"\\$(touch PWNED)",
    b"1)); touch PWNED; ((1",
    b"'\n touch PWNED\n'",
    b"\"\n touch PWNED\n\"",
];

/// Shell constructs wrapped around the template so far (at `X`).
const WRAPS: &[&str] = &[
    "echo X",
    "echo \"X\"",
    "echo 'X'",
    "$(X)",
    "\"$(X)\"",
    "`X`",
    "sh -c 'X'",
    "sh -c \"X\"",
    "bash -c 'X'",
    "dash -c \"X\"",
    "eval X",
    "X; echo {}",
    "X \\\n {}",
    "a=X",
    "export X",
    "(( X ))",
    "$(( X ))",
    "[[ X ]]",
    "case X in *) echo {};; esac",
    "f() { X; }; f",
    "alias a='X'",
    "X # {}",
    "$$(X)",
    "${x:-X}",
    "$'X'",
    "echo \\\nX",
    "cat <<E\nX\nE",
    "trap 'X' EXIT",
    "env sh -ec 'X'",
    "sh -c X",
    "x=$(X)",
    "X | sh",
    "echo \\'X",
    "\"X\"",
    "'X'",
    "a[X]=1",
    "test -v X",
    "echo X >&2",
    ">&X",
    "for ((X))",
    "$[X]",
    "X\\",
    "\\X",
    "{ X; }",
    "(X)",
    "if X; then X; fi",
    "echo ${HOME}X",
];

#[test]
#[ignore]
fn shell_fuzz() {
    let mut seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut ok = 0;
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..n {
        let t = random_template(&mut rnd);
        if [
            "| sh", "|sh", "| bash", "|bash", "| dash", "|dash", "|& sh", "|&sh",
        ]
        .iter()
        .any(|p| t.contains(p))
        {
            continue;
        }
        let Ok(tpl) = Template::parse(
            &[OsString::from(&t)],
            ShellMode::Always,
            &Schema {
                format: Format::Lines,
                headers: None,
                colsep: false,
                batch: false,
                sources: 1,
            },
        ) else {
            continue;
        };
        ok += 1;
        for &item in ITEMS {
            let spec = tpl.render(&Item::plain(1, item), 1).unwrap();
            for sh in ["/bin/dash", "/bin/bash"] {
                run_and_check(sh, &spec, dir.path(), &t, item);
            }
        }
    }
    eprintln!("parsed {ok} of {n}");
}

/// A placeholder command wrapped in one to three random constructs, with
/// a random fragment inserted now and then.
fn random_template(rnd: &mut impl FnMut() -> usize) -> String {
    let depth = 1 + rnd() % 3;
    let mut t = String::from(["{}", "echo {}", "printf %s {}", ": {}"][rnd() % 4]);
    for _ in 0..depth {
        let w = WRAPS[rnd() % WRAPS.len()];
        t = w.replace('X', &t);
        if rnd() % 4 == 0 {
            let f = FRAGMENTS[rnd() % FRAGMENTS.len()];
            let at = rnd() % (t.len() + 1);
            if t.is_char_boundary(at) {
                t.insert_str(at, f);
            }
        }
    }
    t
}

/// Runs one rendered command under `sh` in `dir` (killed after 1.5 s),
/// panics if it created `PWNED`, then empties `dir`.
fn run_and_check(sh: &str, spec: &CommandSpec, dir: &std::path::Path, t: &str, item: &[u8]) {
    let mut child = Command::new(sh)
        .args(&spec.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed().as_millis() > 1500 {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    if dir.join("PWNED").exists() {
        panic!(
            "INJECTION {sh} template {t:?} item {:?}\n{}",
            String::from_utf8_lossy(item),
            spec.display()
        );
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}
