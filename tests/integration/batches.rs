//! Several items per job (`-n`, `-N`, `-X`, `-m`, `-s`, `-L`, `--xargs`):
//! the commands GNU parallel and xargs print for the same input, values
//! still quoted in a batch, the argument limit never passed, and each item
//! keeping its own journal line, report row and outcome.

use std::collections::BTreeMap;

use crate::util::Sandbox;
use crate::util::journal::json_lines;

/// What GNU parallel 20221122 and GNU xargs print here for the same line.
#[test]
fn batches_match_gnu_parallel_and_xargs() {
    let seq30: Vec<String> = (1..=30).map(|n| n.to_string()).collect();
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["-n2", "echo", "x{}y"],
            &["a", "b", "c", "d", "e"],
            &["xa by", "xc dy", "xey"],
        ),
        (
            &["-j2", "-X", "echo", "x{}y"],
            &["a", "b", "c"],
            &["xay xby", "xcy"],
        ),
        (
            &["-j2", "-m", "echo", "x{}y"],
            &["a", "b", "c"],
            &["xa by", "xcy"],
        ),
        (
            &["-N2", "echo", "{1}-{2}"],
            &["a", "b", "c"],
            &["a-b", "c-"],
        ),
        (
            &["-N2", "echo", "{#}", "{.}"],
            &["a.x", "b.y", "c"],
            &["1 a b", "2 c"],
        ),
        (&["-N0", "echo", "hi"], &["a", "b"], &["hi", "hi"]),
        (&["--xargs", "echo", "x{}y"], &["a", "b", "c"], &["xa b cy"]),
        (&["-L2", "echo"], &["a", "b", "c"], &["a b", "c"]),
        (&["-n", "3", "echo"], &["1", "2", "3", "4"], &["1 2 3", "4"]),
        (
            &["-j1", "-X", "echo", "{/}", "pre-{}"],
            &["d/a", "d/b"],
            &["a b pre-d/a pre-d/b"],
        ),
    ];
    for (args, items, want) in cases {
        let sb = Sandbox::new();
        sb.fanout()
            .arg("-k")
            .args(*args)
            .items(*items)
            .run()
            .code(0)
            .lines(want);
    }
    // xargs -s 50 echo: 50 characters per command, NULs included.
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-k", "-j1", "-m", "-s", "50", "echo"])
        .stdin(seq30.join("\n"))
        .run();
    run.code(0).lines(&[
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18",
        "19 20 21 22 23 24 25 26 27 28 29 30",
    ]);
}

#[test]
fn values_in_a_batch_stay_literal_in_shell_mode_and_argv_mode() {
    let hostile = [
        "$(touch pwned)",
        "'; touch pwned2; '",
        "a b",
        "`touch pwned3`",
        "-n",
    ];
    for args in [
        &["-j1", "-X", "printf '%s\\n' {} >> out"][..],
        &["-j1", "-m", "printf '%s\\n' {} >> out"],
        &["-j1", "-X", "printf '%s\\n' x{}.gz >> out"],
        &["-j1", "-X", "sh", "-c", "printf '%s\\n' {} >> out"],
        &["-j1", "-m", "sh", "-c", "printf '%s\\n' \"$@\" >> out", "_"],
    ] {
        let sb = Sandbox::new();
        sb.fanout().args(args).items(hostile).run().code(0);
        let out = text(&sb, "out");
        for value in hostile {
            assert!(
                out.lines().any(|l| l.contains(value)),
                "{args:?}: `{value}` did not arrive whole:\n{out}"
            );
        }
        for file in ["pwned", "pwned2", "pwned3"] {
            assert!(!sb.join(file).exists(), "{args:?}: an item ran as code");
        }
    }
    // Where the shell takes one word, several items are refused before
    // anything runs: they would move into the command's place, or be lost.
    for args in [
        &["-j1", "-n4", "<{} wc -l"][..],
        &["-j1", "-X", "echo {} > {}.txt"],
        &["-j1", "-m", "X={} env"],
        &["-j1", "-m", "env", "X={}", "sh", "-c", "echo \"$X\""],
    ] {
        let sb = Sandbox::new();
        sb.write("in.txt", "x\n");
        sb.fanout()
            .args(args)
            .items(["in.txt", "sh", "-c", "touch pwned"])
            .run()
            .code(2)
            .stderr_has("several items per job");
        assert!(
            !sb.join("pwned").exists(),
            "{args:?}: an item ran as a command"
        );
    }
}

#[test]
fn each_item_of_a_batch_gets_its_journal_line_report_row_and_outcome() {
    let sb = Sandbox::new();
    let items = ["a", "b", "c", "d", "bad", "f", "g"];
    let run = sb
        .fanout()
        .args([
            "-k",
            "-n3",
            "--journal",
            "j.jsonl",
            "--report",
            "r.csv",
            "--report",
            "r.jsonl",
        ])
        .args(["--events", "events.jsonl"])
        .args([
            "sh",
            "-c",
            "for x; do [ \"$x\" = bad ] && exit 3; done; echo \"$FANOUT_SEQ: $*\"",
            "_",
        ])
        .items(items)
        .run();
    run.code(1).lines(&["1: a b c", "3: g"]);
    run.stderr_has("4 ok").stderr_has("3 failed");
    let journal = json_lines(&text(&sb, "j.jsonl"));
    let lines: BTreeMap<String, (String, u64)> = journal
        .iter()
        .filter(|l| l["type"] == "item")
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_owned(),
                (
                    l["outcome"].as_str().unwrap().to_owned(),
                    l["job"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, u64)> = [
        ("a", "ok", 1),
        ("b", "ok", 1),
        ("c", "ok", 1),
        ("d", "failed", 2),
        ("bad", "failed", 2),
        ("f", "failed", 2),
        ("g", "ok", 3),
    ]
    .into_iter()
    .map(|(i, o, j)| (i.to_owned(), (o.to_owned(), j)))
    .collect();
    assert_eq!(lines, want, "one journal line per item, with its job");
    let rows = json_lines(&text(&sb, "r.jsonl"));
    let items_rows: Vec<&str> = rows.iter().filter_map(|r| r["item"].as_str()).collect();
    assert_eq!(
        items_rows.len(),
        items.len(),
        "one report row per item: {rows:?}"
    );
    let events = json_lines(&text(&sb, "events.jsonl"));
    let jobs: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "item-finished")
        .map(|e| e["job"].as_u64().expect("a job number"))
        .collect();
    assert_eq!(jobs.len(), items.len(), "{events:?}");
    let csv = text(&sb, "r.csv");
    assert_eq!(csv.lines().count(), items.len() + 1, "{csv}");
    assert!(csv.lines().next().unwrap().ends_with(",job"), "{csv}");

    // --retry-failed runs only the failed job's items again, batched anew.
    let rerun = sb
        .fanout()
        .args([
            "-k",
            "-n3",
            "--journal",
            "j.jsonl",
            "--retry-failed",
            "--force",
        ])
        .args(["sh", "-c", "echo \"$*\"", "_"])
        .items(items)
        .run();
    rerun.code(0).lines(&["d bad f"]);
}

#[test]
fn the_argument_limit_is_never_passed() {
    // About 6 MB of arguments: three times Linux's usual 2 MB.
    let items: Vec<String> = (0..200_000).map(|n| format!("item-{n:024}")).collect();
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-X", "sh", "-c", "echo $#", "_"])
        .stdin(items.join("\n"))
        .run();
    run.code(0);
    let counts: Vec<u64> = run
        .stdout_lines()
        .iter()
        .map(|l| l.parse().expect("a count"))
        .collect();
    assert!(counts.len() >= 3, "several jobs: {counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), items.len() as u64, "{counts:?}");
    // In shell mode the line is one `sh -c` argument (128 KiB at most).
    let run = sb
        .fanout()
        .args(["-X", "echo {} | wc -c"])
        .stdin(items[..20_000].join("\n"))
        .run();
    run.code(0);
    let sizes: Vec<usize> = run
        .stdout_lines()
        .iter()
        .map(|l| l.trim().parse().expect("a size"))
        .collect();
    assert!(sizes.len() >= 4, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s < 128 * 1024), "{sizes:?}");
}

#[test]
fn a_failed_batch_is_retried_whole_and_keep_order_holds() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-k", "-n2", "--retries", "1", "--report", "r.jsonl"])
        .args([
            "sh",
            "-c",
            "if [ \"$1\" = c ] && [ ! -e seen ]; then touch seen; exit 1; fi; echo \"$*\"",
            "_",
        ])
        .items(["a", "b", "c", "d", "e"])
        .run();
    run.code(0).lines(&["a b", "c d", "e"]);
    let rows = json_lines(&text(&sb, "r.jsonl"));
    let attempts: BTreeMap<&str, u64> = rows
        .iter()
        .filter_map(|r| Some((r["item"].as_str()?, r["attempts"].as_u64()?)))
        .collect();
    assert_eq!(attempts["c"], 2);
    assert_eq!(attempts["d"], 2, "the batch is retried whole");
    assert_eq!(attempts["a"], 1);

    let many: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    let run = sb
        .fanout()
        .args(["-k", "-j4", "-n7", "echo"])
        .items(&many)
        .run();
    run.code(0);
    let got: Vec<String> = run
        .stdout_lines()
        .iter()
        .flat_map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(got, many, "-k keeps input order across batches");
}

#[test]
fn tag_names_the_batch_and_dry_run_lists_batches() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "--tag", "-n2", "echo", "x"])
        .items(["a", "b", "c"])
        .run()
        .code(0)
        .lines(&["a b\tx a b", "c\tx c"]);
    sb.fanout()
        .args(["--dry-run", "-n2", "gzip", "--"])
        .items(["a b", "$(x)", "c"])
        .run()
        .code(0)
        .lines(&["gzip -- 'a b' '$(x)'", "gzip -- c"]);
}

fn text(sb: &Sandbox, name: &str) -> String {
    String::from_utf8_lossy(&sb.read(name)).into_owned()
}
