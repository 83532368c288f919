//! What fanout writes for other programs (issue 4): `--report` files (CSV,
//! JSON lines, JSON, JUnit XML) on a normal end, a halt and SIGINT, and their
//! usage errors; the `--events` stream (to a file and to stdout); and CI
//! output: plain status lines when stderr is not a terminal, and GitHub
//! Actions `::error` annotations.
//!
//! Jobs meet the test through files: blocked jobs touch `started.SEQ` and
//! wait for a marker that is never created, and the status-line jobs wait
//! until fanout's own stderr log holds a status line.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::journal::json_lines;
use crate::util::{Sandbox, fanout, sh_wait_for, sh_wait_until};

const CSV_HEADER: &str = "seq,item,key,status,exit_code,signal,attempts,start,duration,attempt_start,attempt_duration,stderr_tail,error,command,from_earlier_run,job";

/// The report formats, in one run.
const REPORTS: [&str; 8] = [
    "--report",
    "out.csv",
    "--report",
    "out.xml",
    "--report",
    "out.json",
    "--report",
    "out.jsonl",
];

/// The CSV report's rows as header → value maps, after checking the header.
#[track_caller]
fn csv_rows(sb: &Sandbox, name: &str) -> Vec<BTreeMap<String, String>> {
    let bytes = sb.read(name);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(
        text.lines().next(),
        Some(CSV_HEADER),
        "the CSV header\n{text}"
    );
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().expect("a CSV header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("a CSV row: {e}\n{text}"));
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[track_caller]
fn json_file(sb: &Sandbox, name: &str) -> Value {
    let text = String::from_utf8_lossy(&sb.read(name)).into_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}):\n{text}"))
}

/// The JUnit report's test cases, keyed by sequence number (from their
/// `#SEQ item` names), each the XML text up to the next test case.
#[track_caller]
fn junit_cases(sb: &Sandbox, name: &str) -> BTreeMap<u64, String> {
    let xml = String::from_utf8_lossy(&sb.read(name)).into_owned();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(
        xml.matches("<testsuite ").count(),
        1,
        "one test suite\n{xml}"
    );
    let mut cases = BTreeMap::new();
    for chunk in xml.split("<testcase ").skip(1) {
        let name = chunk
            .split("name=\"#")
            .nth(1)
            .unwrap_or_else(|| panic!("a test case without a `#SEQ` name: {chunk}"));
        let seq: u64 = name
            .split(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a test case name without a number: {chunk}"));
        let case = chunk.split("</testcase>").next().unwrap().to_owned();
        assert!(
            cases.insert(seq, case).is_none(),
            "two test cases for #{seq}\n{xml}"
        );
    }
    cases
}

/// The job of the main report test: `b` writes two stderr lines and exits 3.
const JOB: &str = r#"echo "$1" >> side; if [ "$1" = b ]; then echo "first line" >&2; echo "boom-b" >&2; exit 3; fi"#;

const ITEMS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// `-j1 --fail-fast` over ITEMS with all four reports: a ok, b failed, the
/// rest ok or not started (after the failure, at most the item already
/// handed to the worker still runs).
fn halted_run(sb: &Sandbox) {
    sb.fanout()
        .args(["-j1", "--fail-fast"])
        .args(REPORTS)
        .args(["sh", "-c", JOB, "_", "{}"])
        .items(ITEMS)
        .run()
        .code(1)
        .stderr_has("halted");
}

#[test]
fn reports_in_every_format_after_a_halt() {
    let sb = Sandbox::new();
    halted_run(&sb);

    // CSV: one row per item, by seq.
    let rows = csv_rows(&sb, "out.csv");
    assert_eq!(rows.len(), ITEMS.len(), "one row per item: {rows:#?}");
    let by_seq: BTreeMap<u64, &BTreeMap<String, String>> = rows
        .iter()
        .map(|r| (r["seq"].parse().expect("a numeric seq"), r))
        .collect();
    assert_eq!(
        by_seq.keys().copied().collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    let mut statuses = Vec::new();
    for (seq, row) in &by_seq {
        assert_eq!(row["item"], ITEMS[*seq as usize - 1], "{row:?}");
        assert!(!row["key"].is_empty(), "every row has a key: {row:?}");
        statuses.push(row["status"].clone());
    }
    let a = by_seq[&1];
    assert_eq!(
        (
            a["status"].as_str(),
            a["exit_code"].as_str(),
            a["attempts"].as_str()
        ),
        ("ok", "0", "1"),
        "{a:?}"
    );
    assert!(!a["start"].is_empty() && a["error"].is_empty(), "{a:?}");
    let b = by_seq[&2];
    assert_eq!(
        (
            b["status"].as_str(),
            b["exit_code"].as_str(),
            b["signal"].as_str()
        ),
        ("failed", "3", ""),
        "{b:?}"
    );
    assert!(
        b["stderr_tail"].contains("boom-b") && b["error"].contains('3'),
        "the failed row carries its stderr tail and error: {b:?}"
    );
    // After b, a prefix of items may still have run; the rest never started.
    let first_not_started = statuses
        .iter()
        .position(|s| s == "not-started")
        .unwrap_or_else(|| panic!("no item is not-started after --fail-fast: {rows:#?}"));
    assert!(first_not_started >= 2, "{statuses:?}");
    for (i, status) in statuses.iter().enumerate().skip(2) {
        let want = if i < first_not_started {
            "ok"
        } else {
            "not-started"
        };
        assert_eq!(status, want, "statuses by seq: {statuses:?}");
    }
    let last = by_seq[&8];
    assert!(
        last["attempts"] == "0" && last["start"].is_empty() && last["exit_code"].is_empty(),
        "a row that never started: {last:?}"
    );
    let ok_count = statuses.iter().filter(|s| *s == "ok").count() as u64;
    let not_started = statuses.iter().filter(|s| *s == "not-started").count() as u64;

    // JSON lines: the same rows.
    let jsonl = json_lines(&String::from_utf8_lossy(&sb.read("out.jsonl")));
    assert_eq!(jsonl.len(), ITEMS.len());
    for row in &jsonl {
        let seq = row["seq"].as_u64().expect("a numeric seq");
        let csv = by_seq[&seq];
        assert_eq!(row["item"], csv["item"].as_str(), "{row}");
        assert_eq!(row["status"], csv["status"].as_str(), "{row}");
        assert_eq!(row["key"], csv["key"].as_str(), "{row}");
    }
    let jb = jsonl.iter().find(|r| r["seq"] == 2).unwrap();
    assert_eq!(jb["exit_code"], 3, "{jb}");
    assert!(
        jb["stderr_tail"]
            .as_str()
            .is_some_and(|t| t.contains("boom-b")),
        "{jb}"
    );

    // JSON: the summary and the items in input order.
    let doc = json_file(&sb, "out.json");
    let summary = &doc["summary"];
    assert_eq!(summary["exit_code"], 1, "{summary}");
    assert_eq!(summary["total"], 8, "{summary}");
    assert_eq!(summary["ok"], ok_count, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["not_started"], not_started, "{summary}");
    assert!(
        summary["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("halt")),
        "the summary says why the run stopped: {summary}"
    );
    let items = doc["items"].as_array().expect("an items array");
    let mut seqs: Vec<u64> = items.iter().map(|i| i["seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "one entry per item");
    for item in items {
        let csv = by_seq[&item["seq"].as_u64().unwrap()];
        assert_eq!(item["status"], csv["status"].as_str(), "{item}");
    }

    // JUnit: a test case per item; b fails, the not-started ones are skipped.
    let cases = junit_cases(&sb, "out.xml");
    assert_eq!(cases.len(), 8, "{cases:#?}");
    for (seq, case) in &cases {
        let status = by_seq[seq]["status"].as_str();
        let (failure, skipped) = (case.contains("<failure"), case.contains("<skipped"));
        match status {
            "ok" => assert!(!failure && !skipped, "#{seq} passed: {case}"),
            "failed" => {
                assert!(failure && !skipped, "#{seq} failed: {case}");
                assert!(
                    case.contains("exit code 3") && case.contains("boom-b"),
                    "the failure carries the exit code and stderr: {case}"
                );
            }
            _ => assert!(skipped && !failure, "#{seq} never started: {case}"),
        }
    }
}

#[test]
fn the_json_report_lists_items_in_input_order() {
    // -j2: item 1 finishes only after the collector has handled item 2
    // (its `item-finished` event is in the stream), so the items finish in
    // the order 2, 1, 3 or 2, 3, 1.
    let sb = Sandbox::new();
    let job = format!(
        r#"if [ "$1" = 1 ]; then {}; fi"#,
        sh_wait_until(r#"grep -q '"item-finished","seq":2,' ev.jsonl"#)
    );
    sb.fanout()
        .args(["-j2", "--events", "ev.jsonl", "--report", "out.json"])
        .args(["sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3"])
        .run()
        .code(0);
    let doc = json_file(&sb, "out.json");
    let seqs: Vec<u64> = doc["items"]
        .as_array()
        .expect("an items array")
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3], "items in input order: {doc}");
}

#[test]
fn report_rows_carry_the_command_of_items_that_ran() {
    // `command` is "the command as shell text, empty when it never ran".
    let sb = Sandbox::new();
    halted_run(&sb);
    let rows = csv_rows(&sb, "out.csv");
    let b = rows.iter().find(|r| r["item"] == "b").unwrap();
    assert!(
        b["command"].contains("sh -c") && b["command"].ends_with('b'),
        "the failed item's row names its command: {b:?}"
    );
    let jsonl = json_lines(&String::from_utf8_lossy(&sb.read("out.jsonl")));
    let jb = jsonl.iter().find(|r| r["item"] == "b").unwrap();
    assert!(
        jb["command"].as_str().is_some_and(|c| c.contains("sh -c")),
        "{jb}"
    );
    let a = rows.iter().find(|r| r["item"] == "a").unwrap();
    assert!(
        a["command"].contains("sh -c"),
        "a succeeded item ran, so its row names its command: {a:?}"
    );
    for row in rows.iter().filter(|r| r["status"] == "not-started") {
        assert!(row["command"].is_empty(), "{row:?}");
    }
}

#[test]
fn reports_are_written_when_the_run_is_interrupted() {
    let sb = Sandbox::new();
    let job = format!(
        "touch started.$FANOUT_SEQ; {}",
        sh_wait_for("never-created")
    );
    let mut running = sb
        .fanout()
        .arg("-j2")
        .args(REPORTS)
        .args(["sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3", "4", "5"])
        .spawn();
    running.wait_for_numbered(&sb, "started", 2);
    running.signal("INT");
    running.wait().interrupted_by(2);

    let doc = json_file(&sb, "out.json");
    let summary = &doc["summary"];
    assert_eq!(summary["exit_code"], 130, "{summary}");
    assert_eq!(summary["interrupted"], 2, "{summary}");
    assert_eq!(summary["not_started"], 3, "{summary}");
    assert!(
        summary["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("SIGINT") || s.contains("interrupt")),
        "the summary says the run was stopped: {summary}"
    );
    let statuses: BTreeMap<u64, String> = doc["items"]
        .as_array()
        .expect("an items array")
        .iter()
        .map(|i| {
            (
                i["seq"].as_u64().unwrap(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: BTreeMap<u64, String> = [
        (1, "interrupted"),
        (2, "interrupted"),
        (3, "not-started"),
        (4, "not-started"),
        (5, "not-started"),
    ]
    .into_iter()
    .map(|(s, t)| (s, t.to_owned()))
    .collect();
    assert_eq!(statuses, want, "{doc}");

    let rows = csv_rows(&sb, "out.csv");
    assert_eq!(rows.len(), 5, "{rows:#?}");
    for row in &rows {
        assert_eq!(
            &row["status"],
            &want[&row["seq"].parse::<u64>().unwrap()],
            "{row:?}"
        );
    }
    assert_eq!(
        json_lines(&String::from_utf8_lossy(&sb.read("out.jsonl"))).len(),
        5
    );
    let cases = junit_cases(&sb, "out.xml");
    assert_eq!(cases.len(), 5);
    for (seq, case) in &cases {
        assert!(
            case.contains("<skipped") && !case.contains("<failure"),
            "#{seq} was interrupted or not started: skipped: {case}"
        );
    }
}

#[test]
fn an_unknown_report_extension_is_a_usage_error_before_any_job() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--report", "out.txt", "touch", "ran.{}"])
        .items(["1", "2"])
        .run()
        .code(2)
        .stderr_has("out.txt");
    assert!(
        sb.numbered("ran").is_empty(),
        "no job may run: {:?}",
        sb.names()
    );
}

#[test]
fn an_unwritable_report_path_fails_before_any_job() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--report", "no-such-dir/out.csv", "touch", "ran.{}"])
        .items(["1", "2"])
        .run()
        .code(2)
        .stderr_has("no-such-dir/out.csv");
    assert!(
        sb.numbered("ran").is_empty(),
        "no job may run: {:?}",
        sb.names()
    );
}

// ---------------------------------------------------------------------------
// Events

/// `a` succeeds, `b` fails once then succeeds, `c` always fails (exit 3).
const RETRY_JOB: &str = r#"echo "out-$1"; case "$1" in b) [ -e tried ] && exit 0; touch tried; exit 1;; c) exit 3;; esac"#;

/// Checks the common fields of every event line and returns them parsed.
#[track_caller]
fn events(text: &str) -> Vec<Value> {
    let events = json_lines(text);
    assert!(!events.is_empty(), "no events");
    for e in &events {
        assert_eq!(e["schema"], 1, "{e}");
        assert!(
            e["ts"]
                .as_str()
                .is_some_and(|t| t.contains('T') && t.ends_with('Z')),
            "ts is RFC 3339 UTC: {e}"
        );
        assert!(e["event"].is_string(), "{e}");
    }
    events
}

fn of_kind<'a>(events: &'a [Value], kind: &str, seq: u64) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == kind && e["seq"] == seq)
        .collect()
}

#[test]
fn the_event_stream_tells_the_whole_run() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-j2", "--retries", "1", "--events", "ev.jsonl"])
        .args(["sh", "-c", RETRY_JOB, "_", "{}"])
        .items(["a", "b", "c"])
        .run()
        .code(1);
    let text = String::from_utf8_lossy(&sb.read("ev.jsonl")).into_owned();
    let events = events(&text);
    let first = &events[0];
    assert_eq!(first["event"], "run-started", "{text}");
    assert_eq!(first["jobs"], 2, "{first}");
    assert!(
        first["command"]
            .as_str()
            .is_some_and(|c| c.contains("out-$1")),
        "{first}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "run-finished", "{text}");
    assert_eq!(last["exit_code"], 1, "{last}");
    assert_eq!(
        (&last["ok"], &last["failed"]),
        (&2.into(), &1.into()),
        "{last}"
    );

    for (seq, attempts, status) in [(1, 1, "ok"), (2, 2, "ok"), (3, 2, "failed")] {
        let started = of_kind(&events, "item-started", seq);
        let finished = of_kind(&events, "item-finished", seq);
        assert_eq!(
            started.len(),
            attempts,
            "#{seq} starts once per attempt\n{text}"
        );
        assert_eq!(finished.len(), 1, "#{seq} finishes once\n{text}");
        assert_eq!(finished[0]["status"], status, "{}", finished[0]);
        assert_eq!(finished[0]["attempts"], attempts, "{}", finished[0]);
        // item-finished comes after every start of the item.
        let pos = |e: &Value| events.iter().position(|x| std::ptr::eq(x, e)).unwrap();
        assert!(
            started.iter().all(|s| pos(s) < pos(finished[0])),
            "#{seq} finished before it started\n{text}"
        );
    }
    let c = of_kind(&events, "item-finished", 3)[0];
    assert_eq!(c["exit_code"], 3, "{c}");

    // The retried item: a failed first attempt, then a retry.
    let attempts = of_kind(&events, "attempt-finished", 2);
    assert!(
        attempts
            .iter()
            .any(|a| a["attempt"] == 1 && a["status"] == "failed" && a["exit_code"] == 1),
        "b's first attempt failed\n{text}"
    );
    let retries = of_kind(&events, "retry-scheduled", 2);
    assert_eq!(retries.len(), 1, "{text}");
    assert_eq!(
        retries[0]["attempt"], 2,
        "the retry is attempt 2: {}",
        retries[0]
    );
    assert_eq!(
        of_kind(&events, "retry-scheduled", 1).len(),
        0,
        "a success is not retried\n{text}"
    );
}

#[test]
fn events_to_stdout_move_job_output_to_stderr() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-j2", "--events", "-"])
        .args(["sh", "-c", r#"echo "out-$1""#, "_", "{}"])
        .items(["a", "b"])
        .run();
    run.code(0).stderr_has("out-a").stderr_has("out-b");
    let events = events(&run.stdout_text());
    assert_eq!(events[0]["event"], "run-started");
    assert_eq!(events.last().unwrap()["event"], "run-finished");
    assert_eq!(events.last().unwrap()["exit_code"], 0);
}

// ---------------------------------------------------------------------------
// CI

/// Runs two jobs that each wait until the log of fanout's stderr (merged
/// with stdout into `log`) holds a plain status line, so the run can only
/// end once fanout printed one. Returns the log.
fn status_line_run(extra: &[&str], env: &[(&str, &str)]) -> String {
    let sb = Sandbox::new();
    let log = sb.join("log");
    let log_text = log.to_str().expect("a UTF-8 path").to_owned();
    let job = sh_wait_until(r#"grep -q '^fanout: [0-9]*/2 done, ' "$1""#);
    // Outside the sandbox's builder: that one adds --no-progress. The jobs
    // write nothing, so the working directory does not matter.
    let mut f = fanout()
        .env("FANOUT_STATUS_INTERVAL_MS", "50")
        .args(extra)
        .args(["-j2", "--no-journal"])
        .args(["sh", "-c", &job, "_", &log_text, "{}"])
        .items(["1", "2"])
        .merged()
        .stdout_to(log.clone());
    for (k, v) in env {
        f = f.env(k, v);
    }
    let ended = f.spawn().wait();
    let text = std::fs::read_to_string(&log).expect("read the log");
    assert_eq!(
        ended.status.code(),
        Some(0),
        "the jobs never saw a status line\n{text}"
    );
    text
}

#[test]
fn progress_without_a_terminal_prints_plain_status_lines() {
    let text = status_line_run(&["--progress"], &[]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("fanout: ") && l.contains("/2 done, ")),
        "{text}"
    );
}

#[test]
fn bare_progress_right_before_the_command_takes_no_value() {
    // `--progress[=WHEN]`: the command's first word is not its value.
    let sb = Sandbox::new();
    let run = fanout()
        .args([
            "--no-journal",
            "--progress",
            "sh",
            "-c",
            r#"echo "$2" > "$1""#,
            "_",
        ])
        .arg(sb.join("out"))
        .arg("{}")
        .items(["x"])
        .run();
    run.code(0);
    assert_eq!(sb.read("out"), b"x\n");
}

#[test]
fn ci_true_turns_on_status_lines_by_default() {
    let text = status_line_run(&[], &[("CI", "true")]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("fanout: ") && l.contains("/2 done, ")),
        "{text}"
    );
}

#[test]
fn github_actions_annotates_failed_items_unless_told_not_to() {
    let sb = Sandbox::new();
    let script = r#"echo "oops from $1" >&2; [ "$1" != bad ]"#;
    let run = |extra: &[&str]| {
        sb.fanout()
            .env("GITHUB_ACTIONS", "true")
            .args(["-j2", "--no-journal"])
            .args(extra)
            .args(["sh", "-c", script, "_", "{}"])
            .items(["good", "bad"])
            .run()
    };
    let annotated = run(&[]);
    annotated.code(1);
    let lines: Vec<&str> = annotated
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one annotation, for the failed item\n{}",
        annotated.stderr
    );
    assert!(
        lines[0].starts_with("::error title=") && lines[0].contains("::"),
        "{}",
        lines[0]
    );
    let message = lines[0].splitn(3, "::").nth(2).unwrap_or_default();
    assert!(
        message.contains("bad") && message.contains("oops from bad"),
        "the annotation names the item and its stderr: {}",
        lines[0]
    );

    let quiet = run(&["--no-annotations"]);
    quiet.code(1);
    assert!(
        !quiet.stderr.lines().any(|l| l.starts_with("::error")),
        "--no-annotations: no ::error lines\n{}",
        quiet.stderr
    );
}

#[test]
fn a_retried_item_reports_its_whole_span_and_its_last_attempt() {
    let sb = Sandbox::new();
    // Fails once, then passes after a 400 ms retry delay.
    let long = "a-long-item-".repeat(8);
    sb.fanout()
        .args(["--no-journal", "--retries", "1", "--retry-delay", "400ms"])
        .args(["--report", "out.csv", "--events", "events.jsonl"])
        .args([
            "sh",
            "-c",
            "[ -e tried ] && exit 0; touch tried; exit 1",
            "_",
            "{}",
        ])
        .items([long.as_str()])
        .run()
        .code(0);
    let rows = csv_rows(&sb, "out.csv");
    let row = &rows[0];
    let duration: f64 = row["duration"].parse().expect("duration");
    let attempt: f64 = row["attempt_duration"].parse().expect("attempt_duration");
    assert!(
        duration >= 0.4,
        "the item's span holds the retry wait: {row:?}"
    );
    assert!(attempt < duration, "{row:?}");
    assert!(row["start"] < row["attempt_start"], "{row:?}");

    let text = String::from_utf8_lossy(&sb.read("events.jsonl")).into_owned();
    let all = events(&text);
    let started = of_kind(&all, "item-started", 1);
    let finished = of_kind(&all, "item-finished", 1);
    assert_eq!(started.len(), 2, "{text}");
    for s in &started {
        // The same whole item as item-finished, plus the shortened label.
        assert_eq!(s["item"], finished[0]["item"], "{text}");
        assert_eq!(s["item"], long.as_str(), "{text}");
        assert!(
            s["label"].as_str().is_some_and(|l| l.ends_with('…')),
            "{text}"
        );
    }
    let f = finished[0];
    assert!(f["duration"].as_f64().is_some_and(|d| d >= 0.4), "{f}");
    assert!(
        f["attempt_duration"].as_f64() < f["duration"].as_f64(),
        "{f}"
    );
    assert!(f["start"].as_str() < f["attempt_start"].as_str(), "{f}");
}

#[test]
fn a_closed_event_stream_on_stdout_ends_the_run_quietly() {
    use std::io::{BufRead as _, BufReader};
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=2000).map(|n| n.to_string()).collect();
    let mut running = sb
        .fanout()
        .args(["--no-journal", "--events", "-", "true", "{}"])
        .items(&items)
        .pipe_stdout()
        .spawn();
    let stdout = running.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read an event");
        assert!(line.starts_with('{'), "{line}");
    }
    drop(reader);
    let ended = running.wait();
    let lower = ended.stderr.to_lowercase();
    assert!(
        !lower.contains("broken pipe") && !lower.contains("error"),
        "a closed event stream is not an error:\n{}",
        ended.dump()
    );
    ended.code(0);
}

#[test]
fn exponential_backoff_never_waits_less_than_the_retry_delay() {
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    // Each item fails once, then passes.
    sb.fanout()
        .args([
            "--no-journal",
            "-j",
            "12",
            "--retries",
            "1",
            "--backoff",
            "exp",
        ])
        .args(["--retry-delay", "200ms", "--events", "events.jsonl"])
        .args([
            "sh",
            "-c",
            "[ -e tried.$1 ] && exit 0; touch tried.$1; exit 1",
            "_",
            "{}",
        ])
        .items(&items)
        .run()
        .code(0);
    let text = String::from_utf8_lossy(&sb.read("events.jsonl")).into_owned();
    let delays: Vec<f64> = events(&text)
        .iter()
        .filter(|e| e["event"] == "retry-scheduled")
        .map(|e| e["delay"].as_f64().expect("a delay"))
        .collect();
    assert_eq!(delays.len(), items.len(), "{text}");
    for delay in delays {
        assert!(
            delay >= 0.2,
            "a retry waited {delay}s, less than --retry-delay 200ms"
        );
    }
}
