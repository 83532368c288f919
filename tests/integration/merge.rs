//! `fanout merge` (issue 12): shard journals merged into one summary, report
//! and exit code, checked against a single-machine run of the same items.
//! Shards here are real fanout runs with `--shard hash:K/N` and their own
//! journals, as a Slurm array's tasks would write them on a shared disk.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;

use crate::util::{Fanout, Run, Sandbox, fanout, sh_wait_until, wait_until};

/// `fanout merge ARGS`, each argument a path in the sandbox unless it is an
/// option. (A sandboxed invocation starts with `--no-progress`, which would
/// make `merge` the command to run.)
fn merge(sb: &Sandbox, args: &[&str]) -> Run {
    let mut cmd = fanout().arg("merge");
    for arg in args {
        cmd = match arg.starts_with("--") {
            true => cmd.arg(arg),
            false => cmd.arg(sb.join(arg)),
        };
    }
    cmd.run()
}

/// Fails item 7 unless the file `fixed` exists; items 11 block while
/// `block` exists (after touching `blocked`).
fn job() -> String {
    format!(
        r#"if [ "$1" = 11 ] && [ -e block ]; then touch blocked; {}; fi; [ -e fixed ] || [ "$1" != 7 ]"#,
        sh_wait_until("[ ! -e block ]")
    )
}

fn shard(sb: &Sandbox, k: u64, n: u64) -> Fanout {
    shard_with(sb, k, n, &[])
}

fn shard_with(sb: &Sandbox, k: u64, n: u64, opts: &[&str]) -> Fanout {
    sb.fanout()
        .args(opts)
        .args(["--shard", &format!("hash:{k}/{n}"), "-a", "items"])
        .args(["--journal", &format!("j/shard-{k}.jsonl")])
        .args(["sh", "-c", &job(), "_", "{}"])
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let items: String = (1..=30).map(|i| format!("{i}\n")).collect();
    sb.write("items", items);
    fs::create_dir(sb.join("j")).unwrap();
    sb
}

/// (seq, item, status) of every row of a JSON report.
fn rows(sb: &Sandbox, name: &str) -> Vec<(u64, String, String)> {
    let doc: Value = serde_json::from_slice(&sb.read(name)).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["item"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn merged_shards_equal_one_run_and_a_failure_exits_1() {
    let sb = sandbox();
    for k in 1..=3 {
        let run = shard(&sb, k, 3).run();
        assert!(matches!(run.status.code(), Some(0 | 1)), "{}", run.stderr);
    }
    let merged = merge(
        &sb,
        &["j", "--report", "merged.json", "--report", "merged.xml"],
    );
    merged
        .code(1)
        .stderr_has("shard 1/3: ")
        .stderr_has("shard 3/3: ")
        .stderr_has("30 items")
        .stderr_has("29 ok, 1 failed")
        .stderr_has("FAIL #7 `7`");
    sb.fanout()
        .args([
            "-a",
            "items",
            "--report",
            "single.json",
            "sh",
            "-c",
            &job(),
            "_",
            "{}",
        ])
        .run()
        .code(1);
    let merged_rows = rows(&sb, "merged.json");
    assert_eq!(
        merged_rows,
        rows(&sb, "single.json"),
        "merged = one machine's run"
    );
    let seqs: Vec<u64> = merged_rows.iter().map(|r| r.0).collect();
    assert_eq!(
        seqs,
        (1..=30).collect::<Vec<_>>(),
        "in input order, each once"
    );
    let xml = String::from_utf8(sb.read("merged.xml")).unwrap();
    assert!(
        xml.contains("tests=\"30\"") && xml.contains("failures=\"1\""),
        "{xml}"
    );
    // The summary in the report is the merged one.
    let doc: Value = serde_json::from_slice(&sb.read("merged.json")).unwrap();
    assert_eq!(doc["summary"]["exit_code"], 1);
    assert_eq!(doc["summary"]["ok"], 29);
}

#[test]
fn a_missing_or_unfinished_shard_is_named_and_exits_1() {
    let sb = sandbox();
    sb.write("fixed", "");
    for k in [1, 3] {
        shard(&sb, k, 3).run().code(0);
    }
    merge(&sb, &["j"])
        .code(1)
        .stderr_has("shard 2/3: missing")
        .stderr_has("incomplete: shard 2/3 is missing");
    // A journal without its end line: the task was killed, or still runs.
    let path = sb.join("j/shard-3.jsonl");
    let text = fs::read_to_string(&path).unwrap();
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(r#""type":"end""#))
        .collect();
    fs::write(&path, cut.join("\n") + "\n").unwrap();
    shard(&sb, 2, 3).run().code(0);
    merge(
        &sb,
        &["j/shard-1.jsonl", "j/shard-2.jsonl", "j/shard-3.jsonl"],
    )
    .code(1)
    .stderr_has("shard 3/3: did not finish (no end line");
}

#[test]
fn an_interrupted_shard_then_its_resume() {
    let sb = sandbox();
    sb.write("fixed", "");
    sb.write("block", "");
    // Item 11's shard: interrupt it while 11 blocks.
    let k = (1..=3)
        .find(|k| {
            let run = sb
                .fanout()
                .args([
                    "--dry-run",
                    "--shard",
                    &format!("hash:{k}/3"),
                    "-a",
                    "items",
                    "echo",
                    "{}",
                ])
                .run();
            run.stdout_lines().iter().any(|l| l == "echo 11")
        })
        .unwrap();
    for other in (1..=3).filter(|o| *o != k) {
        shard(&sb, other, 3).run().code(0);
    }
    let running = shard(&sb, k, 3).spawn();
    wait_until("item 11 blocks", || sb.exists("blocked"), String::new);
    running.signal("INT");
    running.wait().interrupted_by(2);
    merge(&sb, &["j"]).code(130).stderr_has(&format!(
        "shard {k}/3: did not finish (interrupted by SIGINT)"
    ));
    // Resumed as on one machine: the merge is whole.
    fs::remove_file(sb.join("block")).unwrap();
    shard_with(&sb, k, 3, &["--resume"]).run().code(0);
    merge(&sb, &["j", "--report", "m.json"])
        .code(0)
        .stderr_has("2 runs")
        .stderr_has("30 items");
    let items: BTreeSet<String> = rows(&sb, "m.json").into_iter().map(|r| r.1).collect();
    assert_eq!(items.len(), 30);
}

#[test]
fn journals_of_another_batch_or_twice_one_shard_are_refused() {
    let sb = sandbox();
    sb.write("fixed", "");
    shard(&sb, 1, 2).run().code(0);
    sb.fanout()
        .args([
            "--shard",
            "hash:2/2",
            "-a",
            "items",
            "--journal",
            "j/other.jsonl",
            "true",
        ])
        .run()
        .code(0);
    merge(&sb, &["j"]).code(2).stderr_has("another batch");
    fs::remove_file(sb.join("j/other.jsonl")).unwrap();
    fs::copy(sb.join("j/shard-1.jsonl"), sb.join("j/copy.jsonl")).unwrap();
    merge(&sb, &["j"])
        .code(2)
        .stderr_has("two journals of shard hash:1/2");
    merge(&sb, &["nowhere"]).code(2).stderr_has("nowhere");
}

#[test]
fn given_the_input_it_names_items_in_no_shard_and_in_two() {
    // Slice shards whose nodes read the input in different orders: the
    // failure `hash:` shards cannot have.
    let sb = sandbox();
    let ordered: String = (1..=10).map(|i| format!("{i}\n")).collect();
    let reversed: String = (1..=10).rev().map(|i| format!("{i}\n")).collect();
    let slice = |k: u64| {
        sb.fanout()
            .args(["--shard", &format!("{k}/2"), "-a", "items"])
            .args(["--journal", &format!("j/shard-{k}.jsonl"), "true"])
            .run()
            .code(0);
    };
    sb.write("items", &ordered);
    slice(1);
    sb.write("items", &reversed);
    slice(2);
    sb.write("all", &ordered);
    let merged = merge(&sb, &["j", "--input", "all"]);
    merged
        .code(1)
        .stderr_has("5 items of ")
        .stderr_has("are in no shard's journal: line 2 `2`, line 4 `4`")
        .stderr_has("in two shards (or more): line 1 `1` (shards 1/2 and 2/2)");
    // Hash shards of the same two orders cover the input exactly.
    fs::remove_dir_all(sb.join("j")).unwrap();
    fs::create_dir(sb.join("j")).unwrap();
    for (k, text) in [(1, &ordered), (2, &reversed)] {
        sb.write("items", text);
        sb.fanout()
            .args(["--shard", &format!("hash:{k}/2"), "-a", "items"])
            .args(["--journal", &format!("j/shard-{k}.jsonl"), "true"])
            .run()
            .code(0);
    }
    let merged = merge(&sb, &["j", "--input", "all"]);
    merged.code(0).stderr_has("10 items");
    assert!(!merged.stderr.contains("no shard"), "{}", merged.stderr);
    // An input with more items: the new ones are in no shard.
    let more: String = (1..=12).map(|i| format!("{i}\n")).collect();
    sb.write("more", more);
    merge(&sb, &["j", "--input", "more"])
        .code(1)
        .stderr_has("2 items of ")
        .stderr_has("line 11 `11`, line 12 `12`");
}
