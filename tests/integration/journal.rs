//! The journal and `--resume` (issue 4): the journal's header and item lines,
//! resuming after SIGINT (nothing recorded as succeeded runs again), after a
//! `--halt` (`kill -9`: `crash.rs`), `--retry-failed`, input
//! that was reordered, cut and extended, duplicate lines, `--key`, a changed
//! command (refused unless `--force`), a torn last line and a corrupt one,
//! and the `fanout: resume with:` hint (which must work when pasted).
//!
//! Jobs append their item to the side file `side`, so the side file says
//! what really ran and how often. Jobs that must still be running when the
//! test signals fanout touch `blocked.SEQ` and then wait while the file
//! `block` exists; the test waits for those markers, never for time, and
//! removes `block` before resuming (the command template stays the same).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::journal::{LastLine, journal_at, ok_items};
use crate::util::{DEADLINE, Ended, Fanout, Run, Sandbox, harness_env, sh_wait_until};

/// The job of most tests: record the item; items starting with `b` block
/// while `block` exists (after touching `blocked.SEQ`).
fn job() -> String {
    format!(
        r#"echo "$1" >> side; case "$1" in b*) if [ -e block ]; then touch blocked.$FANOUT_SEQ; {}; fi;; esac"#,
        sh_wait_until("[ ! -e block ]")
    )
}

/// `fanout -j2 OPTS sh -c JOB _ {}` in the sandbox.
fn fanout_job(sb: &Sandbox, opts: &[&str]) -> Fanout {
    sb.fanout()
        .arg("-j2")
        .args(opts)
        .args(["sh", "-c", &job(), "_", "{}"])
}

/// Runs `fanout_job` with `block` present until `blocked` jobs block, then
/// sends SIGINT; returns the interrupted run (exit 130) with `block` gone.
fn interrupted(sb: &Sandbox, opts: &[&str], blocked: usize) -> Ended {
    sb.write("block", "");
    let mut running = fanout_job(sb, opts).spawn();
    running.wait_for_numbered(sb, "blocked", blocked);
    running.signal("INT");
    let ended = running.wait();
    ended.interrupted_by(2);
    fs::remove_file(sb.join("block")).expect("remove the block marker");
    ended
}

/// Lines of `input.txt`, written with a final newline.
fn write_input(sb: &Sandbox, items: &[&str]) {
    let mut text = items.join("\n");
    text.push('\n');
    sb.write("input.txt", text);
}

/// The lines of the side file (what ran, once per run of a job).
fn side(sb: &Sandbox) -> Vec<String> {
    sb.lines("side")
}

/// How many times each line occurs.
fn counts<S: AsRef<str>>(lines: &[S]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.as_ref().to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Sorted copy, for comparing multisets.
fn sorted<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v
}

#[track_caller]
fn journal(sb: &Sandbox, name: &str) -> Vec<Value> {
    journal_at(&sb.join(name), LastLine::Whole)
}

fn is_header(v: &Value) -> bool {
    v["type"] == "run"
}

/// Items the journal records as succeeded.
fn recorded_ok(lines: &[Value]) -> BTreeSet<String> {
    ok_items(lines).into_iter().collect()
}

/// Asserts that every item in `items` ran, and that the items recorded as
/// succeeded before the resume ran exactly once.
#[track_caller]
fn assert_complete_without_repeats(sb: &Sandbox, items: &[&str], ok_before: &BTreeSet<String>) {
    let ran = counts(&side(sb));
    for item in items {
        assert!(
            ran.contains_key(*item),
            "item {item:?} never ran; ran: {ran:?}"
        );
    }
    for item in ok_before {
        assert_eq!(
            ran.get(item),
            Some(&1),
            "item {item:?} was recorded as succeeded before the resume, yet ran {:?} times; \
             ran: {ran:?}",
            ran.get(item)
        );
    }
}

#[test]
fn the_journal_has_a_header_then_a_line_per_finished_item_and_appends() {
    let sb = Sandbox::new();
    write_input(&sb, &["good", "bad", "killed", "fine"]);
    let script = r#"echo "$1" >> side; case "$1" in bad) exit 3;; killed) kill -9 $$;; esac"#;
    let run = || {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(["sh", "-c", script, "_", "{}"])
            .run()
    };
    run().code(1);
    let lines = journal(&sb, "j.jsonl");
    assert_eq!(lines.len(), 6, "a header, 4 items and the end: {lines:#?}");
    let end = &lines[5];
    assert_eq!(end["type"], "end", "the run ends with its end line: {end}");
    assert_eq!(end["exit_code"], 1, "{end}");
    assert_eq!(end["status"], "failed", "{end}");
    assert_eq!(
        end["complete"], true,
        "every item reached an outcome: {end}"
    );
    let header = &lines[0];
    assert!(
        is_header(header),
        "the first line is the run header: {header}"
    );
    assert_eq!(header["fanout"], env!("CARGO_PKG_VERSION"), "{header}");
    let command = header["command"].as_str().expect("a command string");
    assert!(
        command.contains(script) && command.contains("{}"),
        "the header holds the command template: {header}"
    );
    assert!(
        header["input"]
            .as_str()
            .is_some_and(|i| i.ends_with("input.txt")),
        "{header}"
    );
    assert_eq!(header["format"], "lines", "{header}");
    assert!(
        header.get("key").is_some_and(Value::is_null),
        "no --key: the key template is null: {header}"
    );

    let mut by_item = BTreeMap::new();
    for entry in &lines[1..5] {
        assert_eq!(entry["type"], "item", "{entry}");
        for field in ["key", "start"] {
            assert!(
                entry[field].as_str().is_some_and(|s| !s.is_empty()),
                "`{field}` is a non-empty string: {entry}"
            );
        }
        assert!(
            entry["duration"].as_f64().is_some_and(|d| d >= 0.0),
            "{entry}"
        );
        assert_eq!(entry["attempts"], 1, "{entry}");
        let item = entry["item"].as_str().expect("an item").to_owned();
        by_item.insert(item, entry.clone());
    }
    let expect = [
        ("good", 1, "ok", Value::from(0), Value::Null),
        ("bad", 2, "failed", Value::from(3), Value::Null),
        ("killed", 3, "signal", Value::Null, Value::from(9)),
        ("fine", 4, "ok", Value::from(0), Value::Null),
    ];
    for (item, seq, outcome, exit_code, signal) in expect {
        let entry = by_item
            .get(item)
            .unwrap_or_else(|| panic!("no journal line for {item:?}: {lines:#?}"));
        assert_eq!(entry["seq"], seq, "{entry}");
        assert_eq!(entry["outcome"], outcome, "{entry}");
        assert_eq!(entry["exit_code"], exit_code, "{entry}");
        assert_eq!(entry["signal"], signal, "{entry}");
    }
    let keys: BTreeSet<&str> = lines[1..5]
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 4, "every item has its own key: {lines:#?}");

    // A second run on the same journal appends a new header and its items.
    run().code(1);
    let lines = journal(&sb, "j.jsonl");
    assert_eq!(lines.len(), 12, "{lines:#?}");
    assert_eq!(lines.iter().filter(|l| is_header(l)).count(), 2);
    assert!(
        is_header(&lines[6]),
        "the second run starts with its header"
    );
}

#[test]
fn resume_after_sigint_runs_the_rest_and_repeats_no_finished_item() {
    let sb = Sandbox::new();
    // -j2: a1 finishes, b1 blocks, a2 finishes, b2 blocks; the rest waits.
    let items = ["a1", "b1", "a2", "b2", "a3", "a4", "a5"];
    write_input(&sb, &items);
    let opts = ["--journal", "j.jsonl", "-a", "input.txt"];
    let ended = interrupted(&sb, &opts, 2);
    ended.stderr_has("not started");
    let ok_before = recorded_ok(&journal(&sb, "j.jsonl"));
    assert!(
        ok_before.contains("a1") && ok_before.contains("a2"),
        "the items that finished before the signal are recorded: {ok_before:?}"
    );
    assert!(
        !ok_before.contains("b1") && !ok_before.contains("b2"),
        "interrupted items are not recorded as succeeded: {ok_before:?}"
    );

    let mut resume = vec!["--resume"];
    resume.extend(opts);
    fanout_job(&sb, &resume).run().code(0);
    assert_complete_without_repeats(&sb, &items, &ok_before);
    let after = recorded_ok(&journal(&sb, "j.jsonl"));
    let all: BTreeSet<String> = items.iter().map(|s| s.to_string()).collect();
    assert_eq!(after, all, "after the resume every item is recorded as ok");

    // Nothing is left: another resume runs nothing.
    let before = side(&sb);
    fanout_job(&sb, &resume).run().code(0);
    assert_eq!(side(&sb), before, "a finished run resumes to nothing");
}

#[test]
fn retry_failed_runs_failed_items_again_and_succeeded_ones_not() {
    let sb = Sandbox::new();
    write_input(&sb, &["a", "b", "c", "d"]);
    // b and d fail until `fixed` exists (the template never changes).
    let script = r#"echo "$1" >> side; case "$1" in b|d) [ -e fixed ] || exit 3;; esac"#;
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", script, "_", "{}"])
            .run()
    };
    run(&[]).code(1);
    assert_eq!(sorted(&side(&sb)), ["a", "b", "c", "d"]);

    // --resume does not run failed items again, and they stay failures.
    run(&["--resume"])
        .code(1)
        .stderr_has("2 ok and 2 failed in an earlier run");
    assert_eq!(
        sorted(&side(&sb)),
        ["a", "b", "c", "d"],
        "--resume must not run failed items again"
    );

    sb.write("fixed", "");
    let before = side(&sb).len();
    run(&["--retry-failed"]).code(0);
    let again = side(&sb)[before..].to_vec();
    assert_eq!(
        sorted(&again),
        ["b", "d"],
        "--retry-failed runs exactly the failed items again"
    );

    let before = side(&sb).len();
    run(&["--retry-failed"]).code(0);
    assert_eq!(
        side(&sb).len(),
        before,
        "after they succeeded, nothing is left to retry"
    );
}

#[test]
fn resume_handles_reordered_removed_and_appended_lines() {
    let sb = Sandbox::new();
    write_input(&sb, &["a1", "b1", "a2", "b2", "a3", "a4"]);
    let opts = ["--journal", "j.jsonl", "-a", "input.txt"];
    interrupted(&sb, &opts, 2);
    let ok_before = recorded_ok(&journal(&sb, "j.jsonl"));
    assert!(ok_before.contains("a1") && ok_before.contains("a2"));
    let first = side(&sb).len();

    // Shuffled, without a1, b1 and a3, with two new lines; a2 now comes
    // after lines it used to precede.
    write_input(&sb, &["x1", "a4", "b2", "a2", "x2"]);
    fanout_job(
        &sb,
        &["--resume", "--journal", "j.jsonl", "-a", "input.txt"],
    )
    .run()
    .code(0);
    let resumed = side(&sb)[first..].to_vec();
    assert_eq!(
        sorted(&resumed),
        ["a4", "b2", "x1", "x2"],
        "only new and unfinished items run: {ok_before:?} were done"
    );
}

#[test]
fn duplicate_lines_are_distinct_items() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", r#"echo "$1" >> side"#, "_", "{}"])
            .run()
    };
    write_input(&sb, &["a", "a"]);
    run(&[]).code(0);
    assert_eq!(side(&sb), ["a", "a"]);
    write_input(&sb, &["a", "a", "a"]);
    run(&["--resume"]).code(0);
    assert_eq!(
        side(&sb),
        ["a", "a", "a"],
        "two of three equal lines were done: exactly one more run"
    );
    let lines = journal(&sb, "j.jsonl");
    let last_header = lines.iter().rposition(is_header).unwrap();
    let resumed: Vec<&Value> = lines[last_header + 1..]
        .iter()
        .filter(|l| l["type"] == "item")
        .collect();
    assert_eq!(resumed.len(), 1, "{lines:#?}");
    assert_eq!(resumed[0]["seq"], 3, "the third occurrence ran: {lines:#?}");
}

#[test]
fn key_template_keeps_a_csv_row_done_when_another_column_changes() {
    let sb = Sandbox::new();
    let run = |journal: &str, key: Option<&str>, resume: bool| {
        let mut f = sb
            .fanout()
            .args(["-j2", "--journal", journal, "-a", "items.csv"]);
        if let Some(key) = key {
            f = f.args(["--key", key]);
        }
        if resume {
            f = f.arg("--resume");
        }
        f.args(["sh", "-c", r#"echo "$1" >> side"#, "_", "{id}"])
            .run()
    };
    sb.write("items.csv", "id,name\n1,ann\n2,bob\n");
    run("keyed.jsonl", Some("{id}"), false).code(0);
    run("plain.jsonl", None, false).code(0);
    assert_eq!(journal(&sb, "keyed.jsonl")[0]["key"], "{id}");
    assert_eq!(sorted(&side(&sb)), ["1", "1", "2", "2"]);

    // Row 1's name changed, row 3 is new.
    sb.write("items.csv", "id,name\n1,ANNE\n2,bob\n3,cy\n");
    let before = side(&sb).len();
    run("keyed.jsonl", Some("{id}"), true).code(0);
    assert_eq!(
        sorted(&side(&sb)[before..]),
        ["3"],
        "with --key {{id}}, row 1 stays done although its name changed"
    );
    // Control: keyed by the row's bytes, the changed row 1 is a new item.
    let before = side(&sb).len();
    run("plain.jsonl", None, true).code(0);
    assert_eq!(sorted(&side(&sb)[before..]), ["1", "3"]);
}

#[test]
fn a_different_command_is_refused_unless_forced() {
    let sb = Sandbox::new();
    let first = r#"echo "$1" >> side"#;
    let changed = r#"echo "$1" >> side; true"#;
    let run = |script: &str, extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", script, "_", "{}"])
            .run()
    };
    write_input(&sb, &["a", "b"]);
    run(first, &[]).code(0);
    write_input(&sb, &["a", "b", "c"]);
    let refused = run(changed, &["--resume"]);
    refused.code(2).stderr_has("--force");
    if !refused.stderr.contains("command") {
        refused.fail("the message must say that the command differs");
    }
    assert_eq!(sorted(&side(&sb)), ["a", "b"], "no job runs when refused");

    run(changed, &["--resume", "--force"]).code(0);
    assert_eq!(
        sorted(&side(&sb)),
        ["a", "b", "c"],
        "--force resumes: only the new item runs"
    );
}

/// A journal of a finished run of `a b c` with half an item line appended,
/// as a `kill -9` in the middle of a write would leave it.
fn torn_journal(sb: &Sandbox) -> impl Fn(&[&str]) -> Run + '_ {
    let run = move |extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", r#"echo "$1" >> side"#, "_", "{}"])
            .run()
    };
    write_input(sb, &["a", "b", "c"]);
    run(&[]).code(0);
    let mut text = String::from_utf8(sb.read("j.jsonl")).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    text.push_str(&last[..last.len() / 2]);
    sb.write("j.jsonl", text);
    run
}

#[test]
fn a_torn_last_line_is_ignored() {
    let sb = Sandbox::new();
    let run = torn_journal(&sb);
    write_input(&sb, &["a", "b", "c", "d"]);
    run(&["--resume"]).code(0);
    assert_eq!(sorted(&side(&sb)), ["a", "b", "c", "d"]);
}

#[test]
fn a_journal_with_a_torn_line_stays_resumable() {
    // After a kill -9 tore the last line, the resumed run appends to the
    // journal; that run may be interrupted again, and must be resumable.
    let sb = Sandbox::new();
    let run = torn_journal(&sb);
    write_input(&sb, &["a", "b", "c", "d"]);
    run(&["--resume"]).code(0);
    write_input(&sb, &["a", "b", "c", "d", "e"]);
    run(&["--resume"]).code(0);
    assert_eq!(sorted(&side(&sb)), ["a", "b", "c", "d", "e"]);
}

#[test]
fn a_corrupt_line_in_the_middle_is_an_error_naming_it() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--journal", "j.jsonl", "-a", "input.txt"])
            .args(extra)
            .args(["sh", "-c", r#"echo "$1" >> side"#, "_", "{}"])
            .run()
    };
    write_input(&sb, &["a", "b", "c"]);
    run(&[]).code(0);
    let text = String::from_utf8(sb.read("j.jsonl")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "a header, 3 items and the end");
    lines[2] = "this is not a journal line";
    sb.write("j.jsonl", lines.join("\n") + "\n");
    write_input(&sb, &["a", "b", "c", "d"]);
    run(&["--resume"]).code(2).stderr_has("line 3");
    assert_eq!(side(&sb).len(), 3, "no job runs on a corrupt journal");
}

// ---------------------------------------------------------------------------
// The resume hint

/// The command in the summary's last line, `fanout: resume with: CMD`.
#[track_caller]
fn resume_hint(stderr: &str) -> String {
    let last = stderr.lines().last().unwrap_or_default();
    last.strip_prefix("fanout: resume with: ")
        .unwrap_or_else(|| {
            panic!("the summary's last line is not the resume hint: {last:?}\n{stderr}")
        })
        .to_owned()
}

/// Runs `command` through `sh -c` in the sandbox, with the harness's
/// environment and `state` as XDG_STATE_HOME.
fn sh_in(sb: &Sandbox, command: &str, state: &Path) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    harness_env(&mut cmd)
        .args(["-c", command])
        .current_dir(sb.path())
        .env("XDG_STATE_HOME", state);
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(DEADLINE);
    cmd.output()
        .unwrap_or_else(|e| panic!("run `{command}`: {e}"))
}

/// Splits shell words as `sh` does.
fn shell_words(sb: &Sandbox, text: &str) -> Vec<String> {
    let out = sh_in(
        sb,
        &format!("printf '%s\\0' {text}"),
        crate::util::state_home(),
    );
    assert!(out.status.success(), "split {text:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_resume_hint_ends_an_interrupted_summary_and_resumes_the_run() {
    let sb = Sandbox::new();
    let items = ["a1", "b1", "a2", "b2", "a3", "a4"];
    write_input(&sb, &items);
    let ended = interrupted(&sb, &["--journal", "j.jsonl", "-a", "input.txt"], 2);
    let hint = resume_hint(&ended.stderr);
    let ok_before = recorded_ok(&journal(&sb, "j.jsonl"));

    let out = sh_in(&sb, &hint, crate::util::state_home());
    assert_eq!(
        out.status.code(),
        Some(0),
        "the hint `{hint}` must resume the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_complete_without_repeats(&sb, &items, &ok_before);
}

#[test]
fn without_journal_the_hint_names_a_state_journal_and_resume_finds_it() {
    let sb = Sandbox::new();
    // A private state directory: the shared one is pruned to 20 journals
    // by every other test's run, which could remove this one meanwhile.
    let state = tempfile::TempDir::new().expect("a state directory");
    let items = ["a1", "b1", "a2", "b2", "a3", "a4"];
    write_input(&sb, &items);
    sb.write("block", "");
    let mut running = fanout_job(&sb, &["-a", "input.txt"])
        .env("XDG_STATE_HOME", state.path())
        .spawn();
    running.wait_for_numbered(&sb, "blocked", 2);
    running.signal("INT");
    let ended = running.wait();
    ended.interrupted_by(2);
    fs::remove_file(sb.join("block")).unwrap();

    let hint = resume_hint(&ended.stderr);
    let words = shell_words(&sb, &hint);
    let at = words
        .iter()
        .position(|w| w == "--journal")
        .unwrap_or_else(|| panic!("the hint names no journal: {hint}"));
    let path = Path::new(&words[at + 1]);
    let dir = state.path().join("fanout").join("journals");
    assert!(
        path.starts_with(&dir) && path.is_file(),
        "the hint's journal {} is not a file in {}",
        path.display(),
        dir.display()
    );
    let ok_before = recorded_ok(&journal_at(path, LastLine::Whole));
    assert!(!ok_before.is_empty(), "finished items are journaled");

    // `--resume` without `--journal` finds that journal by itself.
    fanout_job(&sb, &["--resume", "-a", "input.txt"])
        .env("XDG_STATE_HOME", state.path())
        .run()
        .code(0);
    assert_complete_without_repeats(&sb, &items, &ok_before);
}

#[test]
fn a_halted_run_prints_the_resume_hint_too() {
    let sb = Sandbox::new();
    let items = ["a", "b", "c", "d", "e", "f", "g", "h"];
    write_input(&sb, &items);
    let run = sb
        .fanout()
        .args([
            "-j1",
            "--halt",
            "soon,fail=1",
            "--journal",
            "j.jsonl",
            "-a",
            "input.txt",
        ])
        .args(["sh", "-c", r#"echo "$1" >> side; [ "$1" != b ]"#, "_", "{}"])
        .run();
    run.code(1).stderr_has("not started");
    let hint = resume_hint(&run.stderr);
    let out = sh_in(&sb, &hint, crate::util::state_home());
    // b's failure is recorded: the resumed run still fails (exit 1).
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hint `{hint}` must resume the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran = counts(&side(&sb));
    for item in items {
        assert_eq!(
            ran.get(item),
            Some(&1),
            "after the halt and the resume every item ran once (b failed, and is \
             finished); ran: {ran:?}"
        );
    }
}
