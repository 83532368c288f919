//! Journal integrity (issue 8, points 3, 4, 5, 7, 10, 14): an item is
//! journaled only once its output is written; a live run's journal is never
//! pruned; `--resume` finds the journal of the same run (shard included);
//! outputs never overwrite the input or each other; the command is
//! identified by its exact words; journals are private to their owner.
//!
//! Jobs append their item to the side file `side`, so it says what ran.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::journal::{self, LastLine, journal_at};
use crate::util::{DEADLINE, Ended, Sandbox, bin, dev_full};

const RECORD: &str = r#"echo "$1" >> side"#;

/// The lines of the side file.
fn side(sb: &Sandbox) -> Vec<String> {
    let mut lines = sb.lines("side");
    lines.sort();
    lines
}

/// Items a journal records as succeeded (a torn last line is allowed: the
/// journal may belong to a live run).
fn ok_items(path: &Path) -> Vec<String> {
    journal::ok_items(&journal_at(path, LastLine::MayBeTorn))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The journals in a state directory.
fn state_journals(state: &Path) -> Vec<PathBuf> {
    let dir = state.join("fanout").join("journals");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
}

// ---------------------------------------------------------------------------
// Point 3: journaled only after the output is written

/// Runs `fanout OPTS MODE sh -c JOB _ {} ::: a b c` with stdout on
/// `/dev/full`.
fn with_stdout_full(sb: &Sandbox, opts: &[&str], mode: &[&str], job: &str) -> Ended {
    sb.fanout()
        .args(opts)
        .args(mode)
        .args(["sh", "-c", job, "_", "{}"])
        .items(["a", "b", "c"])
        .stdout_file(dev_full())
        .spawn()
        .wait()
}

#[test]
fn an_item_whose_output_could_not_be_written_is_not_journaled_and_resume_reruns_it() {
    for mode in [&[][..], &["--output", "line"][..], &["-k"][..]] {
        let sb = Sandbox::new();
        // The job ignores SIGTERM, so it always succeeds: with `--output
        // line` its line is written (and fails) while it runs, and the run
        // then stops, sending SIGTERM to the job at whatever point it is.
        let job = r#"trap '' TERM; echo "out-$1"; echo "$1" >> side"#;
        let fanout = |extra: &[&str]| {
            sb.fanout()
                .args(["-j1", "--journal", "j.jsonl"])
                .args(mode)
                .args(extra)
                .args(["sh", "-c", job, "_", "{}"])
                .items(["a", "b", "c"])
        };
        let full = with_stdout_full(&sb, &["-j1", "--journal", "j.jsonl"], mode, job);
        let stderr = &full.stderr;
        assert_eq!(full.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("failed to write to stdout"), "{stderr}");
        assert!(
            stderr.contains("resume with: ") && stderr.contains(" --resume "),
            "{mode:?}: a run stopped by a full disk says how to resume it\n{stderr}"
        );
        assert!(
            stderr
                .contains("that ran was lost; they are not journaled, so --resume runs them again"),
            "{mode:?}: the summary says which \"ok\" items lost their output\n{stderr}"
        );
        let recorded = ok_items(&sb.join("j.jsonl"));
        assert!(
            recorded.is_empty(),
            "{mode:?}: items whose output went nowhere are journaled as ok: {recorded:?}\n{stderr}"
        );
        let resumed = fanout(&["--resume"]).run();
        resumed.code(0);
        let mut lines = resumed.stdout_lines();
        lines.sort();
        assert_eq!(
            lines,
            ["out-a", "out-b", "out-c"],
            "{mode:?}: the resume must produce every output that was lost"
        );
    }
}

#[test]
fn items_without_output_are_journaled_and_output_lands_before_its_line() {
    let sb = Sandbox::new();
    // Each job checks that the previous item's output is already in the
    // stdout file when it starts (-j1: the worker waits for the journal
    // line, which follows the write).
    let out = sb.join("out");
    let job = r#"n=$(grep -c . out 2>/dev/null || true); [ "$n" -ge "$(($1 - 1))" ] || exit 9; echo "$1""#;
    let ended = sb
        .fanout()
        .args(["-j1", "--journal", "j.jsonl", "sh", "-c", job, "_", "{}"])
        .items(["1", "2", "3", "4"])
        .stdout_to(out.clone())
        .spawn()
        .wait();
    ended.code(0);
    assert_eq!(ok_items(&sb.join("j.jsonl")), ["1", "2", "3", "4"]);
    sb.fanout()
        .args(["--journal", "q.jsonl", "true"])
        .items(["x", "y"])
        .run()
        .code(0);
    assert_eq!(ok_items(&sb.join("q.jsonl")), ["x", "y"]);
}

// ---------------------------------------------------------------------------
// Point 4: a live run's journal is never pruned

#[test]
fn pruning_keeps_the_journal_of_a_live_run_and_its_resume_hint_works() {
    let sb = Sandbox::new();
    let state = tempfile::TempDir::new().expect("a state directory");
    let long = |extra: &[&OsStr]| {
        sb.fanout()
            .env("XDG_STATE_HOME", state.path())
            .arg("-j1")
            .args(extra)
            .args(["sh", "-c", RECORD, "_", "{}"])
    };
    let mut running = long(&[]).pipe_stdin().spawn();
    let mut stdin = running.stdin.take().expect("piped stdin");
    stdin.write_all(b"x1\n").expect("feed the long run");
    stdin.flush().expect("feed the long run");
    // Wait until the long run has journaled x1 (the reader then blocks on
    // the pipe, which stays open).
    let deadline = Instant::now() + DEADLINE;
    let live = loop {
        let found = state_journals(state.path())
            .into_iter()
            .find(|p| ok_items(p) == ["x1"]);
        if let Some(path) = found {
            break path;
        }
        assert!(Instant::now() < deadline, "safety net: x1 never journaled");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    for i in 0..21 {
        sb.fanout()
            .env("XDG_STATE_HOME", state.path())
            .args(["true"])
            .items([i.to_string()])
            .run()
            .code(0);
    }
    assert!(
        live.is_file(),
        "21 quick runs pruned the journal {} of the live run",
        live.display()
    );
    assert!(
        state_journals(state.path()).len() <= 21,
        "the others are still pruned"
    );
    running.signal("INT");
    // Stdin stays open until fanout has ended: an end of input that came
    // first would let the run finish before the signal was handled.
    let ended = running.wait();
    drop(stdin);
    ended.interrupted_by(2);
    let hint = ended.stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        hint.contains(&live.display().to_string()),
        "the hint names the live journal: {hint}"
    );
    long(&["--resume".as_ref(), "--journal".as_ref(), live.as_os_str()])
        .stdin("x1\nx2\n")
        .run()
        .code(0);
    assert_eq!(side(&sb), ["x1", "x2"], "x1 ran once, x2 on resume");
}

#[test]
fn a_resume_of_a_missing_journal_says_so() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args([
            "--resume",
            "--journal",
            "gone.jsonl",
            "sh",
            "-c",
            RECORD,
            "_",
            "{}",
        ])
        .items(["a"])
        .run();
    run.code(0).stderr_has("does not exist");
    assert_eq!(side(&sb), ["a"]);
}

// ---------------------------------------------------------------------------
// Point 5: the lookup matches the whole run, shard included

#[test]
fn resume_without_journal_finds_the_journal_of_its_own_shard() {
    let sb = Sandbox::new();
    let state = tempfile::TempDir::new().expect("a state directory");
    sb.write("input.txt", "a\nb\nc\nd\n");
    let shard = |k: &str, extra: &[&str]| {
        sb.fanout()
            .env("XDG_STATE_HOME", state.path())
            .args(["--shard", k, "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", RECORD, "_", "{}"])
            .run()
    };
    shard("1/2", &[]).code(0);
    shard("2/2", &[]).code(0);
    assert_eq!(side(&sb), ["a", "b", "c", "d"]);
    shard("1/2", &["--resume"]).code(0);
    shard("2/2", &["--resume"]).code(0);
    assert_eq!(
        side(&sb),
        ["a", "b", "c", "d"],
        "each shard's resume found its own journal: nothing ran again"
    );
    // Another --colsep is another run: no journal to resume.
    shard("1/2", &["--resume", "--colsep", ","])
        .code(2)
        .stderr_has("no journal");
}

// ---------------------------------------------------------------------------
// Point 7: outputs never overwrite the input, nor each other

#[test]
fn an_output_that_is_the_input_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let items = "name\na\nb\n";
    sb.write("list.csv", items);
    std::os::unix::fs::symlink("list.csv", sb.join("link.csv")).expect("symlink");
    fs::hard_link(sb.join("list.csv"), sb.join("hard.jsonl")).expect("hard link");
    let cases: [&[&str]; 6] = [
        &["--report", "list.csv"],
        &["--report", "./link.csv"],
        &["--report", "hard.jsonl"],
        &["--journal", "list.csv"],
        &["--journal", "link.csv", "--resume"],
        &["--events", "hard.jsonl"],
    ];
    for case in cases {
        let run = sb
            .fanout()
            .args(["-a", "list.csv", "--format", "csv"])
            .args(case)
            .args(["sh", "-c", RECORD, "_", "{name}"])
            .run();
        run.code(2).stderr_has("is the input");
        assert_eq!(
            String::from_utf8_lossy(&sb.read("list.csv")),
            items,
            "{case:?} changed the input"
        );
        assert!(side(&sb).is_empty(), "{case:?}: nothing runs");
    }
    // The input on stdin, redirected from the file.
    let out = Command::new(bin())
        .current_dir(sb.path())
        .env("XDG_STATE_HOME", sb.path())
        .args(["--no-progress", "--format", "csv", "--report", "list.csv"])
        .args(["sh", "-c", RECORD, "_", "{name}"])
        .stdin(File::open(sb.join("list.csv")).expect("open the input"))
        .stdout(Stdio::null())
        .output()
        .expect("run fanout");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&sb.read("list.csv")), items);
    // Two outputs that are one file.
    let run = sb
        .fanout()
        .args(["--journal", "out.jsonl", "--report", "./out.jsonl", "true"])
        .items(["a"])
        .run();
    run.code(2).stderr_has("same file");
    assert!(!sb.exists("out.jsonl"), "nothing was opened for writing");
}

// ---------------------------------------------------------------------------
// Point 10: the command is its exact words

#[test]
fn commands_whose_words_differ_do_not_resume_each_other() {
    let sb = Sandbox::new();
    // Both join to `sh -c echo "$0" >> side {} x`.
    let one = ["sh", "-c", r#"echo "$0" >> side"#, "{} x"];
    let two = ["sh", "-c", r#"echo "$0" >> side"#, "{}", "x"];
    let run = |command: &[&str], extra: &[&str], items: &[&str]| {
        sb.fanout()
            .args(["-j1", "--journal", "j.jsonl"])
            .args(extra)
            .args(command)
            .items(items)
            .run()
    };
    run(&one, &[], &["a"]).code(0);
    run(&two, &["--resume"], &["a", "b"])
        .code(2)
        .stderr_has("--force");
    assert_eq!(side(&sb), ["a x"], "nothing ran when refused");
    run(&two, &["--resume", "--force"], &["a", "b"]).code(0);
    assert_eq!(side(&sb), ["a x", "b"], "--force resumes");
    // The first command still resumes the journal, and so does the forced one.
    run(&one, &["--resume"], &["a", "b", "c"]).code(0);
    run(&two, &["--resume"], &["a", "b", "c", "d"]).code(0);
    assert_eq!(side(&sb), ["a x", "b", "c x", "d"]);
}

#[test]
fn command_words_that_are_not_utf8_are_kept_exactly() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;
    let sb = Sandbox::new();
    let run = |byte: u8, extra: &[&str]| {
        sb.fanout()
            .args(["--journal", "j.jsonl"])
            .args(extra)
            .args(["sh", "-c", RECORD, "_", "{}"])
            .arg(OsStr::from_bytes(&[b'n', byte]))
            .items(["a"])
            .run()
    };
    run(0xe9, &[]).code(0);
    let header = &journal_at(&sb.join("j.jsonl"), LastLine::Whole)[0];
    assert_eq!(header["words"][5], serde_json::json!({ "hex": "6ee9" }));
    // Another byte that lossy UTF-8 would show the same way.
    run(0xe8, &["--resume"]).code(2).stderr_has("--force");
    run(0xe9, &["--resume"]).code(0);
    assert_eq!(side(&sb), ["a"], "the same words resume: a is done");
}

// ---------------------------------------------------------------------------
// Point 14: journals are private

#[test]
fn journals_are_0600_and_state_directories_0700() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--journal", "j.jsonl", "true"])
        .items(["a"])
        .run()
        .code(0);
    assert_eq!(mode(&sb.join("j.jsonl")), 0o600, "a new --journal file");

    let state = tempfile::TempDir::new().expect("a state directory");
    // A state directory an older fanout left readable by all.
    let journals = state.path().join("fanout").join("journals");
    fs::create_dir_all(&journals).expect("create");
    for dir in [state.path().join("fanout"), journals.clone()] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let old = journals.join("run-1000000000-000000000-1.jsonl");
    fs::write(&old, "").expect("an old journal");
    fs::set_permissions(&old, fs::Permissions::from_mode(0o644)).expect("chmod");
    sb.fanout()
        .env("XDG_STATE_HOME", state.path())
        .args(["true"])
        .items(["a"])
        .run()
        .code(0);
    assert_eq!(mode(&state.path().join("fanout")), 0o700);
    assert_eq!(mode(&journals), 0o700);
    for journal in state_journals(state.path()) {
        assert_eq!(mode(&journal), 0o600, "{}", journal.display());
    }
    assert_eq!(state_journals(state.path()).len(), 2);
}
