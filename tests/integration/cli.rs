//! The command line: items and output, exit codes, usage errors (before any
//! job runs), the summary, `--dry-run`, `-j`, both engines, the job
//! environment, template basics, and the `completions` / `man` subcommands.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::util::{Sandbox, dev_full, fanout, fixture, harness_env, sh_wait_for, sh_wait_until};

/// A job that leaves `ran.N` behind, so a test can tell whether any job ran.
const MARK: &str = "touch ran.$FANOUT_SEQ";

#[test]
fn echo_prints_every_item_and_exits_0() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["echo", "{}"])
        .items(["a", "b", "c"])
        .run();
    run.code(0).lines_any_order(&["a", "b", "c"]);
    run.stderr_has("3 ok");
}

#[test]
fn keep_order_holds_input_order_over_500_items() {
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=500).map(|n| n.to_string()).collect();
    let want: Vec<&str> = items.iter().map(String::as_str).collect();
    sb.fanout()
        .args(["-k", "-j8", "echo", "{}"])
        .items(&items)
        .run()
        .code(0)
        .lines(&want);
}

#[test]
fn keep_order_waits_for_the_slow_first_item() {
    // Item 1 cannot finish until item 2 has: a reversal of finishing order,
    // synchronised on a file.
    let script = format!(
        "if [ \"$1\" = first ]; then {}; else touch second.done; fi; echo \"$1\"",
        sh_wait_for("second.done")
    );
    for engine in ["threads", "rayon"] {
        let sb = Sandbox::new();
        sb.fanout()
            .args([
                "-j2", "-k", "--engine", engine, "sh", "-c", &script, "_", "{}",
            ])
            .items(["first", "second"])
            .run()
            .code(0)
            .lines(&["first", "second"]);
    }
}

#[test]
fn without_keep_order_output_is_written_as_jobs_finish() {
    // Item 1 does not finish until fanout has written item 2's output: a
    // fanout that held output back until the end (or in input order) would
    // never let it finish, and the job gives up after the safety net.
    let script = format!(
        "if [ \"$1\" = first ]; then {}; fi; echo \"$1\"",
        sh_wait_until("grep -qx second fanout.out")
    );
    for engine in ["threads", "rayon"] {
        let sb = Sandbox::new();
        let ended = sb
            .fanout()
            .args(["-j2", "--engine", engine, "sh", "-c", &script, "_", "{}"])
            .items(["first", "second"])
            .stdout_to(sb.join("fanout.out"))
            .spawn()
            .wait();
        ended.code(0);
        assert_eq!(ended.stdout, "second\nfirst\n", "{}", ended.dump());
    }
}

#[test]
fn one_failed_item_exits_1_and_the_summary_names_it() {
    let sb = Sandbox::new();
    let script = "echo \"stderr of $1\" >&2; echo \"last words of $1\" >&2; \
                  if [ \"$1\" = bad ]; then exit 3; fi";
    let run = sb
        .fanout()
        .args(["sh", "-c", script, "_", "{}"])
        .items(["good", "bad", "fine"])
        .run();
    run.code(1)
        .stderr_has("2 ok")
        .stderr_has("1 failed")
        .stderr_has("`bad`")
        .stderr_has("exit code 3")
        .stderr_has("last words of bad");
}

#[test]
fn exit_code_1_even_when_every_item_fails() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["sh", "-c", "exit 3", "_", "{}"])
        .items(["a", "b"])
        .run()
        .code(1);
}

#[test]
fn command_not_found_is_a_failed_item() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["fanout-no-such-command-xyz", "{}"])
        .items(["a", "b"])
        .run();
    run.code(1)
        .stderr_has("command not found")
        .stderr_has("fanout-no-such-command-xyz");
}

/// Runs a command line that must be refused before anything starts.
#[track_caller]
fn usage_error(sb: &Sandbox, args: &[&str], names: &str) {
    let run = sb.fanout().args(args).run();
    run.code(2).stderr_has(names);
    let ran: Vec<String> = sb
        .names()
        .into_iter()
        .filter(|n| n.starts_with("ran."))
        .collect();
    if !ran.is_empty() {
        run.fail(&format!("a usage error still ran jobs: {ran:?}"));
    }
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let sb = Sandbox::new();
    usage_error(
        &sb,
        &["--no-such-flag", "sh", "-c", MARK, "_", "{}", ":::", "a"],
        "--no-such-flag",
    );
}

#[test]
fn unknown_placeholder_is_a_usage_error_naming_it() {
    let sb = Sandbox::new();
    usage_error(
        &sb,
        &["sh", "-c", MARK, "_", "{foo}", ":::", "a", "b"],
        "{foo}",
    );
}

#[test]
fn column_missing_from_the_csv_header_is_a_usage_error_naming_it() {
    let sb = Sandbox::new();
    sb.write("people.csv", "name,city\nada,London\ngrace,New York\n");
    usage_error(
        &sb,
        &["-a", "people.csv", "sh", "-c", MARK, "_", "{name}", "{age}"],
        "age",
    );
}

#[test]
fn missing_input_file_is_an_error_naming_the_path() {
    let sb = Sandbox::new();
    usage_error(
        &sb,
        &["-a", "no-such-input.txt", "sh", "-c", MARK, "_", "{}"],
        "no-such-input.txt",
    );
}

/// `-j 0` was a usage error before issue 10; it is GNU's "as many as
/// possible" now (README: "Choices the contract leaves open").
#[test]
fn zero_jobs_runs_as_many_as_possible() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-j", "0", "sh", "-c", MARK, "_", "{}"])
        .items(["a", "b", "c"])
        .run();
    run.code(0);
    for seq in 1..=3 {
        assert!(sb.exists(&format!("ran.{seq}")), "item {seq} did not run");
    }
    let dry = sb
        .fanout()
        .args(["-j", "0", "--engine", "rayon", "--dry-run", "echo", "{%}"])
        .stdin("x\n")
        .run();
    dry.code(0);
    usage_error(
        &Sandbox::new(),
        &["-j", "lots", "sh", "-c", MARK, "_", "{}", ":::", "a"],
        "lots",
    );
}

#[test]
fn dry_run_prints_commands_and_runs_nothing() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--dry-run", "sh", "-c", MARK, "_", "{}"])
        .items(["alpha", "beta"])
        .run();
    run.code(0);
    let lines = run.stdout_lines();
    if lines.len() != 2 || !lines[0].contains("alpha") || !lines[1].contains("beta") {
        run.fail("expected one command line per item, in input order");
    }
    if !lines.iter().all(|l| l.contains("touch ran.")) {
        run.fail("dry-run lines should show the command");
    }
    assert!(
        sb.names().is_empty(),
        "--dry-run ran something: {:?}",
        sb.names()
    );
}

/// Two jobs that each wait for the other to start: they only finish if
/// fanout runs them at the same time. Each records its slot.
fn rendezvous(sb: &Sandbox, extra: &[&str]) -> crate::util::Run {
    let script = format!(
        "echo $FANOUT_SLOT > tmp.$FANOUT_SEQ && mv tmp.$FANOUT_SEQ slot.$FANOUT_SEQ; {}",
        sh_wait_for("slot.$((3 - FANOUT_SEQ))")
    );
    sb.fanout()
        .args(extra)
        .args(["sh", "-c", &script, "_", "{}"])
        .items(["a", "b"])
        .run()
}

#[test]
fn two_jobs_run_at_once_in_distinct_slots() {
    for engine in ["threads", "rayon"] {
        let sb = Sandbox::new();
        let run = rendezvous(&sb, &["-j", "2", "--engine", engine]);
        run.code(0);
        let slots: BTreeSet<String> = sb
            .numbered("slot")
            .values()
            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
            .collect();
        let want: BTreeSet<String> = ["1", "2"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            slots, want,
            "engine {engine}: concurrent jobs need slots 1 and 2"
        );
    }
}

#[test]
fn jobs_as_a_percentage_of_cpus() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = (cpus / 2).max(1);
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=8).map(|n| n.to_string()).collect();
    let run = sb
        .fanout()
        .args(["-j", "50%", "sh", "-c", "echo $FANOUT_SLOT", "_", "{}"])
        .items(&items)
        .run();
    run.code(0);
    for slot in run.stdout_lines() {
        let n: usize = slot
            .parse()
            .unwrap_or_else(|_| run.fail("slot is not a number"));
        if !(1..=max).contains(&n) {
            run.fail(&format!(
                "-j 50% of {cpus} CPUs allows slots 1..={max}, got {n}"
            ));
        }
    }
    assert_eq!(run.stdout_lines().len(), 8);
}

#[test]
fn jobs_get_seq_slot_and_item_in_their_environment() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args([
            "-j",
            "2",
            "sh",
            "-c",
            "echo \"$FANOUT_SEQ|$FANOUT_SLOT|$FANOUT_ITEM\"",
            "_",
            "{}",
        ])
        .items(["x", "y z", "w"])
        .run();
    run.code(0);
    let mut seen = Vec::new();
    for line in run.stdout_lines() {
        let parts: Vec<&str> = line.split('|').collect();
        let &[seq, slot, item] = parts.as_slice() else {
            run.fail("bad line")
        };
        if !["1", "2"].contains(&slot) {
            run.fail(&format!("FANOUT_SLOT {slot} is outside 1..=2"));
        }
        seen.push((seq.to_owned(), item.to_owned()));
    }
    seen.sort();
    let want: Vec<(String, String)> = [("1", "x"), ("2", "y z"), ("3", "w")]
        .iter()
        .map(|(s, i)| ((*s).to_owned(), (*i).to_owned()))
        .collect();
    assert_eq!(seen, want, "FANOUT_SEQ / FANOUT_ITEM pairs\n{}", run.stderr);
}

#[test]
fn seq_and_slot_placeholders_match_the_environment() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-j", "2", "sh", "-c"])
        .arg("echo \"$1 $2 $3 $FANOUT_SEQ $FANOUT_SLOT\"")
        .args(["_", "{#}", "{%}", "{}"])
        .items(["a", "b", "c", "d"])
        .run();
    run.code(0);
    let mut items = Vec::new();
    for line in run.stdout_lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 5 || f[0] != f[3] || f[1] != f[4] || !["1", "2"].contains(&f[1]) {
            run.fail(&format!(
                "{{#}} {{%}} must equal FANOUT_SEQ FANOUT_SLOT: {line:?}"
            ));
        }
        items.push(format!("{} {}", f[0], f[2]));
    }
    items.sort();
    assert_eq!(
        items,
        ["1 a", "2 b", "3 c", "4 d"],
        "{{#}} is the 1-based input position"
    );
}

#[test]
fn no_placeholder_appends_the_item() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["echo", "hello"])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines_any_order(&["hello a", "hello b"]);
}

#[test]
fn doubled_braces_are_literal() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "echo", "{{x}}", "{{}}", "{}"])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines(&["{x} {} a", "{x} {} b"]);
    // Literal braces are not a placeholder: the item is still appended.
    sb.fanout()
        .args(["echo", "{{}}"])
        .items(["a"])
        .run()
        .code(0)
        .lines(&["{} a"]);
}

#[test]
fn path_placeholders() {
    let sb = Sandbox::new();
    sb.fanout()
        .arg("-k")
        .arg("-a")
        .arg(fixture("files.txt"))
        .args([
            "sh",
            "-c",
            "printf '%s|%s|%s|%s|%s\\n' \"$@\"",
            "_",
            "{}",
            "{.}",
            "{/}",
            "{//}",
            "{/.}",
        ])
        .run()
        .code(0)
        .lines(&[
            "photos/beach.png|photos/beach|beach.png|photos|beach",
            "photos/city at night.png|photos/city at night|city at night.png|photos|city at night",
            "docs/report.final.pdf|docs/report.final|report.final.pdf|docs|report.final",
            "notes.txt|notes|notes.txt|.|notes",
        ]);
}

#[test]
fn placeholders_combine_within_one_word() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "echo", "convert", "{}", "{.}.webp", "x{#}y"])
        .items(["a.png", "dir/b.jpg"])
        .run()
        .code(0)
        .lines(&[
            "convert a.png a.webp x1y",
            "convert dir/b.jpg dir/b.webp x2y",
        ]);
}

#[test]
fn numbered_columns_with_colsep() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "--colsep", ",", "echo", "{2}-{1}"])
        .items(["a,b", "c,d"])
        .run()
        .code(0)
        .lines(&["b-a", "d-c"]);
}

/// Cases that must give the same result on both engines.
const ENGINE_CASES: &[&[&str]] = &[
    &["echo", "{}", ":::", "a", "b", "c"],
    &["sh", "-c", "exit $1", "_", "{}", ":::", "0", "3", "0", "5"],
    &[
        "-k", "-j3", "echo", "{}", ":::", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
    ],
    &["fanout-no-such-command-xyz", ":::", "a"],
    &[
        "--debug-fake-runner",
        "true",
        ":::",
        "ok",
        "exit:3",
        "signal:9",
        "out:hello",
        "err:oops",
    ],
];

#[test]
fn rayon_engine_matches_threads() {
    for case in ENGINE_CASES {
        let runs: Vec<_> = ["threads", "rayon"]
            .iter()
            .map(|engine| {
                let sb = Sandbox::new();
                sb.fanout().args(["--engine", engine]).args(*case).run()
            })
            .collect();
        let (threads, rayon) = (&runs[0], &runs[1]);
        let keep_order = case.contains(&"-k");
        let norm = |r: &crate::util::Run| {
            let mut lines = r.stdout_lines();
            if !keep_order {
                lines.sort();
            }
            // The first summary line, without its elapsed time.
            let head = r.stderr.lines().next().unwrap_or_default();
            let head = head.split_once(" in ").map_or(head.to_owned(), |(a, b)| {
                format!("{a} in _{}", b.split_once(':').map_or("", |(_, rest)| rest))
            });
            (r.status.code(), lines, head)
        };
        assert_eq!(
            norm(threads),
            norm(rayon),
            "case {case:?}\n--- threads ---\n{threads:#?}\n--- rayon ---\n{rayon:#?}"
        );
    }
}

#[test]
fn fake_runner_summary_counts_each_outcome() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--debug-fake-runner", "true"])
        .items(["ok", "exit:3", "signal:9", "out:hello", "err:oops"])
        .run();
    run.code(1)
        .stdout_has("hello")
        .stderr_has("2 ok")
        .stderr_has("2 failed")
        .stderr_has("1 killed by a signal")
        .stderr_has("exit code 3")
        .stderr_has("oops");
}

#[test]
fn a_panicking_worker_is_an_internal_error_and_the_run_ends_with_2() {
    // Both engines: the panic is caught, its item reported, nothing new
    // starts, running items finish, and the run ends instead of hanging.
    for engine in ["threads", "rayon"] {
        let sb = Sandbox::new();
        let run = sb
            .fanout()
            .args(["--engine", engine, "-j1", "--debug-fake-runner", "true"])
            .items(["ok", "panic", "ok", "ok"])
            .run();
        run.code(2)
            .stderr_has("internal error")
            .stderr_has("fake runner asked to panic")
            .stderr_has("1 ok")
            .stderr_has("2 not started");
    }
}

#[test]
fn shards_split_the_items_and_together_run_each_once() {
    let items: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let sb = Sandbox::new();
        let run = sb
            .fanout()
            .args(["-k", "--shard", &format!("{k}/3"), "echo"])
            .items(items.iter().map(String::as_str))
            .run();
        run.code(0);
        let out: Vec<u64> = String::from_utf8_lossy(&run.stdout)
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert!(
            out.iter().all(|i| (i - 1) % 3 == k - 1),
            "shard {k}/3 ran {out:?}"
        );
        seen.extend(out);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=10).collect::<Vec<u64>>());
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--shard", "4/3", "echo"])
        .items(["a"])
        .run()
        .code(2);
}

#[test]
fn help_describes_the_options() {
    let run = fanout().arg("--help").run();
    run.code(0)
        .stdout_has("Usage")
        .stdout_has("--jobs")
        .stdout_has("--keep-order");
}

#[test]
fn version_prints_the_version() {
    fanout()
        .arg("--version")
        .run()
        .code(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn man_prints_roff() {
    let run = fanout().arg("man").run();
    run.code(0).stdout_has(".TH").stdout_has("fanout");
}

/// Each shell clap_complete knows, with the file its script is committed as.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "fanout.bash"),
    ("zsh", "_fanout"),
    ("fish", "fanout.fish"),
    ("elvish", "fanout.elv"),
    ("powershell", "_fanout.ps1"),
];

#[test]
fn completions_print_a_script_for_every_shell() {
    for (shell, _) in COMPLETIONS {
        let run = fanout().args(["completions", shell]).run();
        run.code(0).stdout_has("fanout");
        if run.stdout.len() < 200 {
            run.fail(&format!(
                "the {shell} completion script is suspiciously short"
            ));
        }
    }
    // An unknown shell is a usage error.
    fanout().args(["completions", "tcsh"]).run().code(2);
}

#[test]
fn committed_completions_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in COMPLETIONS {
        let run = fanout().args(["completions", shell]).run();
        run.code(0);
        let committed = fs::read(dir.join(file));
        let problem = match committed {
            Err(e) => format!("completions/{file} cannot be read ({e})"),
            Ok(bytes) if bytes != run.stdout => format!("completions/{file} is stale"),
            Ok(_) => continue,
        };
        stale.push(format!(
            "{problem}; regenerate it with `cargo run -- completions {shell} > completions/{file}`"
        ));
    }
    assert!(
        stale.is_empty(),
        "committed completion scripts differ from `fanout completions`:\n{}",
        stale.join("\n")
    );
}

#[test]
fn absurd_jobs_are_refused_with_the_limit() {
    let sb = Sandbox::new();
    for jobs in ["100000", "1000000", "100000000%"] {
        sb.fanout()
            .args(["--no-journal", "--dry-run", "-j", jobs, "echo", "{}"])
            .items(["a"])
            .run()
            .code(2)
            .stderr_has("at most 4096");
    }
}

#[test]
fn workers_are_started_only_for_items_in_flight() {
    // A job reports how many threads fanout (its parent) has.
    let script = "grep Threads: /proc/$PPID/status";
    for engine in ["threads", "rayon"] {
        let sb = Sandbox::new();
        // `:::` items: the count is known, so at most that many workers.
        let run = sb
            .fanout()
            .args(["--no-journal", "--engine", engine, "-j", "4000"])
            .args(["sh", "-c", script, "_", "{}"])
            .items(["a"])
            .run();
        run.code(0);
        let threads: usize = run
            .stdout_text()
            .trim()
            .trim_start_matches("Threads:")
            .trim()
            .parse()
            .unwrap_or_else(|_| run.fail("no thread count"));
        assert!(
            threads < 20,
            "{engine}: {threads} threads for one item at -j 4000\n{}",
            run.stderr
        );
    }
    // A stream: workers start as items arrive.
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--no-journal", "-j", "4000", "sh", "-c", script, "_", "{}"])
        .stdin("a\n")
        .run();
    run.code(0);
    let threads: usize = run
        .stdout_text()
        .trim()
        .trim_start_matches("Threads:")
        .trim()
        .parse()
        .unwrap_or_else(|_| run.fail("no thread count"));
    assert!(
        threads < 20,
        "{threads} threads for one streamed item at -j 4000"
    );
}

#[test]
fn negative_numbers_say_what_the_value_must_be() {
    let sb = Sandbox::new();
    for (flag, value, want) in [
        (
            "-j",
            "-x",
            "`-x` is not a number of jobs: give N (1 to 4096), N% of the CPUs, or +N or -N \
             (more or fewer than the CPUs)",
        ),
        ("--jobs", "-5%", "`-5%` must be more than 0%"),
        (
            "--retries",
            "-1",
            "`-1` is not a number of retries: give a whole number, 0 or more",
        ),
        (
            "--timeout",
            "-1",
            "`-1` is negative: a duration is 0 or more",
        ),
        ("--retry-delay", "-2s", "`-2s` is negative"),
        ("--grace", "-1", "`-1` is negative"),
    ] {
        let run = sb
            .fanout()
            .args(["--no-journal", flag, value, "echo", "{}"])
            .items(["a"])
            .run();
        run.code(2).stderr_has(want);
        assert!(
            !run.stderr.contains("use '--"),
            "clap's wrong tip:\n{}",
            run.stderr
        );
    }
}

#[test]
fn compound_durations_are_accepted() {
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "--no-journal",
            "--timeout",
            "1m30s",
            "--grace",
            "1s500ms",
            "echo",
            "{}",
        ])
        .items(["a"])
        .run()
        .code(0)
        .lines(&["a"]);
    sb.fanout()
        .args(["--no-journal", "--timeout", "1m30x", "echo", "{}"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("unknown unit");
}

#[test]
fn the_same_report_file_twice_is_refused() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--no-journal", "--report", "r.csv", "--report", "./r.csv"])
        .args(["touch", "ran.{}"])
        .items(["a"])
        .run();
    run.code(2).stderr_has("--report `./r.csv` is given twice");
    assert!(!sb.exists("ran.a"), "a job ran despite the usage error");
}

#[test]
fn readme_examples_run_as_written() {
    // The README's first examples (its top block and "Input formats") run
    // in a fresh clone: here, a sandbox holding a copy of fixtures/, with
    // this fanout first in PATH.
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let head = readme
        .split("### Placeholders")
        .next()
        .expect("README has a Placeholders section");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in head.lines() {
        match (&mut current, line) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    let blocks: Vec<String> = blocks
        .into_iter()
        .filter(|b| b.contains("fanout") && !b.contains("cargo "))
        .collect();
    assert!(blocks.len() >= 2, "the README's examples were not found");
    let bin_dir = Path::new(crate::util::bin()).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for block in blocks {
        let sb = Sandbox::new();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        fs::create_dir(sb.join("fixtures")).expect("create fixtures");
        for entry in fs::read_dir(&fixtures).expect("list fixtures") {
            let entry = entry.expect("a fixture");
            fs::copy(entry.path(), sb.join("fixtures").join(entry.file_name()))
                .expect("copy a fixture");
        }
        for line in block
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let output = harness_env(&mut std::process::Command::new("sh"))
                .args(["-c", line])
                .current_dir(sb.path())
                .env("PATH", &path)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run sh");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success() && !stderr.contains("no items"),
                "README example failed: {line}\n{stderr}"
            );
        }
    }
}

#[test]
fn a_full_stderr_never_panics_and_keeps_the_exit_codes() {
    let sb = Sandbox::new();
    let cases: [(&[&str], i32); 6] = [
        (&["--no-journal", "true", ":::", "a"], 0),
        (&["--no-journal", "false", ":::", "a"], 1),
        (
            &["--no-journal", "sh", "-c", "echo to-stderr >&2", ":::", "a"],
            0,
        ),
        (
            &[
                "--no-journal",
                "--progress",
                "--fail-fast",
                "false",
                ":::",
                "a",
                "b",
            ],
            1,
        ),
        (&["--no-journal", "-a", "missing.txt", "echo"], 2),
        (&["--bogus-flag"], 2),
    ];
    for (args, code) in cases {
        let status = harness_env(&mut std::process::Command::new(crate::util::bin()))
            .args(args)
            .current_dir(sb.path())
            .env("GITHUB_ACTIONS", "true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(dev_full())
            .status()
            .expect("run fanout");
        assert_eq!(
            status.code(),
            Some(code),
            "{args:?} with stderr on /dev/full"
        );
    }
}

/// Issue 8, point 16: rayon's idle threads scan every other thread, so a
/// pool of thousands spends its time searching: refused with the limit.
#[test]
fn a_huge_rayon_pool_is_refused_with_the_limit() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--no-journal", "--engine", "rayon", "-j", "4000", "true"])
        .stdin("a\n")
        .run()
        .code(2)
        .stderr_has("--engine rayon runs at most 1024 threads");
}

/// GNU parallel's spellings of fanout's options work as GNU users type them
/// (README: "Migrating from GNU parallel and xargs").
#[test]
fn gnu_parallel_spellings_are_accepted() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--dryrun", "echo", ":::", "a"], "echo a\n"),
        (&["-u", "-j1", "echo", ":::", "a", "b"], "a\nb\n"),
        (&["--ungroup", "-j1", "echo", ":::", "a"], "a\n"),
        (&["--lb", "-j1", "echo", ":::", "a"], "a\n"),
        (&["--line-buffer", "-j1", "echo", ":::", "a"], "a\n"),
        (&["--group", "-j1", "echo", ":::", "a"], "a\n"),
        (
            &["--will-cite", "--citation", "-j1", "echo", ":::", "a"],
            "a\n",
        ),
        (&["-P", "2", "-k", "echo", ":::", "a", "b"], "a\nb\n"),
        (&["-j", "+1", "-k", "echo", ":::", "a", "b"], "a\nb\n"),
        (&["-j", "-1", "-k", "echo", ":::", "a", "b"], "a\nb\n"),
        (&["--bar", "-j1", "echo", ":::", "a"], "a\n"),
        (&["--eta", "-j1", "echo", ":::", "a"], "a\n"),
    ];
    for (args, stdout) in cases {
        let run = sb.fanout().args(["--no-journal"]).args(*args).run();
        run.code(0);
        assert_eq!(run.stdout_text(), *stdout, "{args:?}");
    }
    // Two of GNU's spellings of one grouping cannot both hold.
    sb.fanout()
        .args(["-u", "--lb", "echo", ":::", "a"])
        .run()
        .code(2)
        .stderr_has("cannot be used with");
}

/// `--halt` also takes GNU's older numeric forms: 2 is now,fail=1, -1 is
/// soon,success=1, 1 soon,fail=1, 0 never, and N% soon,fail=N%.
#[test]
fn gnu_halt_legacy_forms() {
    let sb = Sandbox::new();
    let job = ["sh", "-c", "exit $1", "_", "{}"];
    for (halt, code, says) in [
        ("2", 1, "halted"),
        ("1", 1, "halted"),
        ("50%", 1, "halted"),
        ("-1", 0, "halted"),
        ("0", 1, "failed: 4 items"),
    ] {
        let run = sb
            .fanout()
            .args(["--no-journal", "-j1", "--halt", halt])
            .args(job)
            .items(match halt {
                "-1" => ["0", "1", "1", "1"],
                "50%" => ["1", "1", "0", "0"],
                _ => ["1", "0", "0", "0"],
            })
            .run();
        run.code(code).stderr_has(says);
    }
}
