//! What a resumed run reports (issue 8, points 6, 8, 9, 11 and 13): items
//! an earlier run finished appear in every report with their recorded
//! outcome, marked as from the earlier run; recorded failures stay failures
//! (counted, listed, exit 1, a `--retry-failed` hint); one total everywhere;
//! the printed hints survive any word and any byte; `--dry-run` passes the
//! same resume gate and `--key` checks as a real run.
//!
//! Jobs append their item to the side file `side`, so it says what ran.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::Value;

use crate::util::journal;
use crate::util::{DEADLINE, Run, Sandbox, harness_env};

/// Records the item; fails for `b` until the file `fixed` exists.
const JOB: &str = r#"echo "$1" >> side; [ "$1" != b ] || [ -e fixed ]"#;

/// Lines of the side file.
fn side(sb: &Sandbox) -> Vec<String> {
    sb.lines("side")
}

/// How often each item ran.
fn ran(sb: &Sandbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in side(sb) {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

/// Every line of a JSON-lines file.
fn json_lines(bytes: &[u8]) -> Vec<Value> {
    journal::json_lines(&String::from_utf8_lossy(bytes))
}

/// `fanout -j1 --journal j.jsonl -a input.txt OPTS sh -c JOB _ {}`.
fn job_run(sb: &Sandbox, opts: &[&str]) -> Run {
    sb.fanout()
        .args(["-j1", "--journal", "j.jsonl", "-a", "input.txt"])
        .args(opts)
        .args(["sh", "-c", JOB, "_", "{}"])
        .run()
}

/// A first run over `a b` (b fails), then `c d` appended to the input.
fn earlier_run(sb: &Sandbox) {
    sb.write("input.txt", "a\nb\n");
    job_run(sb, &[]).code(1);
    sb.write("input.txt", "a\nb\nc\nd\n");
}

/// Runs `command` through bash in the sandbox, with the harness's
/// environment (and `state` as XDG_STATE_HOME).
fn bash_in(sb: &Sandbox, command: &[u8], state: &Path) -> std::process::Output {
    let mut cmd = std::process::Command::new("bash");
    harness_env(&mut cmd)
        .arg("-c")
        .arg(OsStr::from_bytes(command))
        .current_dir(sb.path())
        .env("XDG_STATE_HOME", state);
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(DEADLINE);
    cmd.output().expect("run bash")
}

/// The command after `prefix` on a line of `stderr`.
#[track_caller]
fn hint_after<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}:\n{stderr}"))
}

// ---------------------------------------------------------------------------
// 6: reports describe the whole batch

#[test]
fn a_resumed_runs_reports_list_earlier_items_with_their_recorded_outcome() {
    let sb = Sandbox::new();
    earlier_run(&sb);
    let journal = json_lines(&sb.read("j.jsonl"));
    let recorded = |item: &str| {
        journal
            .iter()
            .find(|v| v["type"] == "item" && v["item"] == item)
            .unwrap_or_else(|| panic!("{item} is journaled: {journal:#?}"))
            .clone()
    };
    let (a, b) = (recorded("a"), recorded("b"));

    job_run(
        &sb,
        &[
            "--resume",
            "--report",
            "out.csv",
            "--report",
            "out.json",
            "--report",
            "out.xml",
            "--report",
            "out.jsonl",
            "--events",
            "events.jsonl",
        ],
    );
    assert_eq!(
        sorted(side(&sb)),
        ["a", "b", "c", "d"],
        "only c and d ran again"
    );

    // JSONL (and the JSON items): every item, the earlier ones as recorded.
    let rows = json_lines(&sb.read("out.jsonl"));
    assert_eq!(rows.len(), 4, "one row per item of the batch: {rows:#?}");
    let row = |item: &str| {
        rows.iter()
            .find(|r| r["item"] == item)
            .unwrap_or_else(|| panic!("a row for {item}: {rows:#?}"))
    };
    for (item, record) in [("a", &a), ("b", &b)] {
        let r = row(item);
        assert_eq!(r["from_earlier_run"], true, "{r}");
        for field in ["exit_code", "attempts", "start", "duration", "key"] {
            assert_eq!(
                r[field], record[field],
                "{item}'s {field} is the journal's: {r}"
            );
        }
        assert_eq!(r["status"], record["outcome"], "{r}");
    }
    assert_eq!(row("b")["status"], "failed");
    assert_eq!(row("b")["error"], "exit code 1");
    for item in ["c", "d"] {
        assert_eq!(row(item)["from_earlier_run"], false, "{}", row(item));
        assert_eq!(row(item)["status"], "ok");
    }

    // CSV: a column says which rows are from the earlier run.
    let csv = String::from_utf8_lossy(&sb.read("out.csv")).into_owned();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let earlier: BTreeMap<String, (String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[at("item")].to_owned(),
                (
                    r[at("status")].to_owned(),
                    r[at("from_earlier_run")].to_owned(),
                ),
            )
        })
        .collect();
    assert_eq!(
        earlier,
        BTreeMap::from([
            ("a".into(), ("ok".into(), "true".into())),
            ("b".into(), ("failed".into(), "true".into())),
            ("c".into(), ("ok".into(), "false".into())),
            ("d".into(), ("ok".into(), "false".into())),
        ]),
        "{csv}"
    );

    // JSON: the items and a summary of the whole batch.
    let doc: Value = serde_json::from_slice(&sb.read("out.json")).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 4, "{doc:#}");
    assert_eq!(doc["summary"]["total"], 4, "{doc:#}");
    assert_eq!(doc["summary"]["ok"], 3, "{doc:#}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc:#}");
    assert_eq!(
        doc["summary"]["from_earlier_run"],
        serde_json::json!({"ok": 1, "failed": 1}),
        "{doc:#}"
    );

    // JUnit: a test case per item; b failed as recorded, marked earlier.
    let xml = String::from_utf8_lossy(&sb.read("out.xml")).into_owned();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    let case = |seq: u32| {
        let start = xml
            .find(&format!("name=\"#{seq} "))
            .unwrap_or_else(|| panic!("case #{seq}: {xml}"));
        let end = xml[start..]
            .find("</testcase>")
            .map_or(xml.len(), |e| start + e);
        xml[start..end].to_owned()
    };
    assert!(case(2).contains("<failure"), "{}", case(2));
    assert!(
        case(2).contains(r#"name="from_earlier_run" value="true""#),
        "{}",
        case(2)
    );
    assert!(
        !case(1).contains("<failure") && case(1).contains("from_earlier_run"),
        "{}",
        case(1)
    );
    assert!(!case(3).contains("from_earlier_run"), "{}", case(3));

    // Events: the skipped items with their outcome, and one total.
    let events = json_lines(&sb.read("events.jsonl"));
    let skipped: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "item-skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "{events:#?}");
    assert!(
        skipped
            .iter()
            .any(|e| e["status"] == "failed" && e["exit_code"] == 1),
        "{skipped:#?}"
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "run-finished")
        .unwrap();
    assert_eq!(finished["total"], 4, "{finished}");
    assert_eq!(finished["failed"], 1, "{finished}");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// 8: known failures stay failures

#[test]
fn a_resumed_run_keeps_recorded_failures_as_failures_and_hints_retry_failed() {
    let sb = Sandbox::new();
    earlier_run(&sb);
    let run = job_run(&sb, &["--resume"]);
    run.code(1)
        .stderr_has("fanout: failed: 4 items")
        .stderr_has("2 ok, 1 ok and 1 failed in an earlier run")
        .stderr_has("FAIL #2 `b`: exit code 1 (in an earlier run)");
    let hint = hint_after(&run.stderr, "fanout: run the failed items again with: ");
    assert!(hint.contains("--retry-failed"), "{hint}");

    // The hint runs exactly the recorded failure again.
    sb.write("fixed", "");
    let before = side(&sb).len();
    let out = bash_in(&sb, hint.as_bytes(), crate::util::state_home());
    assert_eq!(
        out.status.code(),
        Some(0),
        "the hint `{hint}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(side(&sb)[before..], ["b"], "the hint reruns b only");
}

// ---------------------------------------------------------------------------
// 9: one total

#[test]
fn a_stopped_resume_counts_skipped_items_once_everywhere() {
    let sb = Sandbox::new();
    let job = |extra: &[&str], items: &[&str]| {
        sb.fanout()
            .args(["-j1", "--journal", "j.jsonl"])
            .args(extra)
            .args(["sh", "-c", r#"echo "$1" >> side; [ "$1" != c ]"#, "_", "{}"])
            .items(items)
            .run()
    };
    job(&[], &["a", "b"]).code(0);
    // More items than the reader runs ahead by, so the halt leaves some
    // unread: they are counted from the known total, the skipped ones once.
    let fillers: Vec<String> = (0..994).map(|n| format!("x{n}")).collect();
    let mut items = vec!["a", "b", "c", "d", "e", "f"];
    items.extend(fillers.iter().map(String::as_str));
    let run = job(
        &[
            "--resume",
            "--fail-fast",
            "--report",
            "out.json",
            "--events",
            "events.jsonl",
        ],
        &items,
    );
    run.code(1)
        .stderr_has("halted")
        .stderr_has(": 1000 items in");
    let doc: Value = serde_json::from_slice(&sb.read("out.json")).unwrap();
    let s = &doc["summary"];
    assert_eq!(s["total"], 1000, "{s:#}");
    let parts = ["ok", "failed", "interrupted", "not_started"]
        .map(|k| s[k].as_u64().unwrap())
        .iter()
        .sum::<u64>();
    assert_eq!(parts, 1000, "the parts add up to the total: {s:#}");
    assert_eq!(s["from_earlier_run"]["ok"], 2, "{s:#}");
    let events = json_lines(&sb.read("events.jsonl"));
    let finished = events
        .iter()
        .find(|e| e["event"] == "run-finished")
        .unwrap();
    assert_eq!(finished["total"], 1000, "{finished}");
    assert_eq!(finished["skipped"], 2, "{finished}");
}

// ---------------------------------------------------------------------------
// 11: the hint is built from the parsed arguments, bytes intact

#[test]
fn the_resume_hint_keeps_resume_when_an_item_is_spelled_like_an_option() {
    let sb = Sandbox::new();
    // A private state directory: the implicit journal must survive other
    // tests' pruning of the shared one.
    let state = tempfile::TempDir::new().unwrap();
    let run = sb
        .fanout()
        .env("XDG_STATE_HOME", state.path())
        .args(["--fail-fast", "-j1", "echo ran {} >> log; [ {} != b ]"])
        .items(["a", "b", "c", "--resume", "--journal"])
        .run();
    run.code(1).stderr_has("halted");
    let hint = hint_after(&run.stderr, "fanout: resume with: ").to_owned();
    let out = bash_in(&sb, hint.as_bytes(), state.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hint `{hint}` resumes (b's failure is recorded): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&sb.read("log")).into_owned();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["ran --journal", "ran --resume", "ran a", "ran b", "ran c"],
        "every item ran once: the hint `{hint}` resumed"
    );
}

#[test]
fn the_resume_hint_keeps_non_utf8_bytes_of_paths() {
    let sb = Sandbox::new();
    let name = OsStr::from_bytes(b"n\xe9.txt");
    std::fs::write(sb.join(name), "a\nb\nc\n").unwrap();
    let run = sb
        .fanout()
        .args(["--fail-fast", "-j1", "--journal", "j.jsonl", "-a"])
        .arg(name)
        .args(["sh", "-c", r#"echo "$1" >> side; [ "$1" != b ]"#, "_", "{}"])
        .run();
    run.code(1).stderr_has("halted");
    let hint = hint_after(&run.stderr, "fanout: resume with: ").to_owned();
    assert!(hint.is_ascii(), "escaped, not mangled: {hint}");
    let out = bash_in(&sb, hint.as_bytes(), crate::util::state_home());
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hint `{hint}` reads the same file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ran(&sb),
        BTreeMap::from([("a".into(), 1), ("b".into(), 1), ("c".into(), 1)]),
        "the hint resumed the run"
    );
}

#[test]
fn dry_run_output_keeps_non_utf8_bytes() {
    let sb = Sandbox::new();
    let item = OsStr::from_bytes(b"n\xe9");
    let run = sb
        .fanout()
        .args(["--dry-run", "echo", "{}"])
        .arg(":::")
        .arg(item)
        .run();
    run.code(0);
    assert_eq!(run.stdout, b"echo 'n\xe9'\n", "{:?}", run.stdout);
    // Pasted into a shell, the line gives back the same bytes.
    let out = bash_in(&sb, &run.stdout, crate::util::state_home());
    assert_eq!(out.stdout, b"n\xe9\n");
}

// ---------------------------------------------------------------------------
// 13: a dry run passes the same gate; --key is checked always

#[test]
fn dry_run_resume_lists_only_what_the_resume_would_run() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--journal", "j.jsonl", "echo", "{}"])
        .items(["a", "b"])
        .run()
        .code(0);
    let run = sb
        .fanout()
        .args([
            "--dry-run",
            "--resume",
            "--journal",
            "j.jsonl",
            "echo",
            "{}",
        ])
        .items(["a", "b", "c"])
        .run();
    run.code(0)
        .lines(&["echo c"])
        .stderr_has("2 items not listed");
    // With --shard too: shard 1/2 is a and c, of which a is finished.
    sb.fanout()
        .args([
            "--dry-run",
            "--resume",
            "--shard",
            "1/2",
            "--journal",
            "j.jsonl",
        ])
        .args(["echo", "{}"])
        .items(["a", "b", "c"])
        .run()
        .code(0)
        .lines(&["echo c"]);
}

#[test]
fn dry_run_resume_refuses_a_journal_of_another_command() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--journal", "j.jsonl", "echo", "{}"])
        .items(["a"])
        .run()
        .code(0);
    sb.fanout()
        .args([
            "--dry-run",
            "--resume",
            "--journal",
            "j.jsonl",
            "printf",
            "{}",
        ])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("was written for the command `echo {}`");
}

#[test]
fn a_bad_key_template_is_refused_whatever_the_options() {
    let sb = Sandbox::new();
    for opts in [&["--no-journal"][..], &["--dry-run"], &[]] {
        sb.fanout()
            .args(opts)
            .args(["--key", "{nope}", "echo", "{}"])
            .items(["a"])
            .run()
            .code(2)
            .stderr_has("in --key `{nope}`");
    }
    assert!(!sb.exists("side"));
}

#[test]
fn a_key_that_cannot_render_makes_the_item_bad_input() {
    let sb = Sandbox::new();
    sb.write("in.jsonl", "{\"id\":1}\n{\"x\":2}\n");
    let script = r#"echo "$1" >> side"#;
    let run = sb
        .fanout()
        .args(["--no-journal", "--key", "{id}", "-a", "in.jsonl"])
        .args(["sh", "-c", script, "_", "{}"])
        .run();
    run.code(1)
        .stderr_has("1 bad input")
        .stderr_has("in --key `{id}`")
        .stderr_has("id");
    assert_eq!(
        side(&sb),
        [r#"{"id":1}"#],
        "the item without a key never ran"
    );
    // The dry run says the same.
    sb.fanout()
        .args(["--dry-run", "--key", "{id}", "-a", "in.jsonl"])
        .args(["sh", "-c", script, "_", "{}"])
        .run()
        .code(1)
        .stderr_has("bad input: line 2: in --key `{id}`");
}
