//! GNU parallel's drop-in mode, through the real binary: chosen by `--gnu`
//! or by running fanout under the name `parallel` (a real symbolic link in
//! the sandbox). Several command words are one shell line, every value
//! still quoted; `--retries N` is N attempts; the exit status is the number
//! of failed jobs (101 above 100), the `--halt` statuses, 255 for an error;
//! signals keep 130. GNU's own outputs for its documented examples are
//! compared in `gnu_compat`.

use crate::util::{LOOP, RECORD_PID, Sandbox};

/// The same checks through the link and through `--gnu`.
fn both(sb: &Sandbox) -> [crate::util::Fanout; 2] {
    [sb.fanout_named("parallel"), sb.fanout().arg("--gnu")]
}

#[test]
fn several_words_are_one_shell_line_as_in_gnu() {
    let sb = Sandbox::new();
    // GNU's own example: `parallel zcat {} ">"{.} ::: *.gz`.
    for (i, fanout) in both(&sb).into_iter().enumerate() {
        let dir = format!("d{i}");
        std::fs::create_dir(sb.join(&dir)).unwrap();
        fanout
            .args(["echo", "{}", ">"])
            .arg(format!("{dir}/{{.}}.txt"))
            .items(["a.gz", "b.gz"])
            .run()
            .code(0);
        assert_eq!(sb.read(&format!("{dir}/a.txt")), b"a.gz\n");
        assert_eq!(sb.read(&format!("{dir}/b.txt")), b"b.gz\n");
    }
    // fanout's own rule: several words are an argv, `>` an argument.
    sb.fanout()
        .args(["echo", "{}", ">", "{.}.txt"])
        .items(["c.gz"])
        .run()
        .code(0)
        .lines(&["c.gz > c.txt"]);
    assert!(!sb.exists("c.txt"));
}

#[test]
fn values_are_still_quoted_in_the_shell_line() {
    let sb = Sandbox::new();
    let hostile = [
        "$(touch pwned)",
        "'; touch pwned2; '",
        "`touch pwned3`",
        "a b",
    ];
    for fanout in both(&sb) {
        fanout
            .args(["-k", "echo", "[{}]", "|", "cat"])
            .items(hostile)
            .run()
            .code(0)
            .lines(&[
                "[$(touch pwned)]",
                "['; touch pwned2; ']",
                "[`touch pwned3`]",
                "[a b]",
            ]);
    }
    assert!(
        sb.names().iter().all(|n| !n.starts_with("pwned")),
        "an item ran as code: {:?}",
        sb.names()
    );
    // The places no quoting holds are refused in the drop-in mode too.
    sb.fanout_named("parallel")
        .args(["echo", "$(({}", "+", "1))"])
        .items(["1"])
        .run()
        .code(255)
        .stderr_has("cannot quote");
}

#[test]
fn exit_status_is_the_number_of_failed_jobs() {
    let sb = Sandbox::new();
    for fanout in both(&sb) {
        fanout
            .args(["test", "{}", "=", "ok"])
            .items(["ok", "x", "ok", "y", "z"])
            .run()
            .code(3);
    }
    // fanout's own: 1 for any failure.
    sb.fanout()
        .args(["test", "{}", "=", "ok"])
        .items(["ok", "x", "y"])
        .run()
        .code(1);
}

#[test]
fn more_than_100_failed_jobs_exit_101() {
    let sb = Sandbox::new();
    let items: String = (1..=150).map(|n| format!("{n}\n")).collect();
    sb.fanout_named("parallel")
        .args(["test", "{}", "-gt", "149"])
        .stdin(items.clone())
        .run()
        .code(101);
    sb.fanout_named("parallel")
        .args(["test", "{}", "-gt", "50"])
        .stdin(items)
        .run()
        .code(50);
}

#[test]
fn retries_count_every_attempt_as_in_gnu() {
    let sb = Sandbox::new();
    // Each attempt appends a line to the item's log, then fails.
    let job = ["echo", "x", ">>", "{}.log", ";", "exit", "1"];
    sb.fanout_named("parallel")
        .args(["--retries", "3"])
        .args(job)
        .items(["a"])
        .run()
        .code(1);
    assert_eq!(sb.lines("a.log").len(), 3, "GNU's --retries 3: 3 attempts");
    sb.fanout_named("parallel")
        .args(["--retries", "1"])
        .args(job)
        .items(["b"])
        .run()
        .code(1);
    assert_eq!(sb.lines("b.log").len(), 1, "GNU's --retries 1: 1 attempt");
    // fanout's own: 3 retries after the first attempt.
    sb.fanout()
        .args(["--shell", "--retries", "3"])
        .args(job)
        .items(["c"])
        .run()
        .code(1);
    assert_eq!(
        sb.lines("c.log").len(),
        4,
        "fanout's --retries 3: 4 attempts"
    );
}

#[test]
fn halt_statuses_are_gnus() {
    let sb = Sandbox::new();
    let exit = ["exit", "{}"];
    let run = |halt: &str, items: &[&str]| {
        sb.fanout_named("parallel")
            .args(["-j1", "--halt", halt])
            .args(exit)
            .items(items)
            .run()
    };
    // fail=1: the failing job's own exit status.
    run("now,fail=1", &["0", "7", "3"]).code(7);
    run("soon,fail=1", &["0", "5", "3"]).code(5);
    // fail=N: the number failed.
    run("soon,fail=2", &["0", "7", "3", "5"]).code(2);
    // A percentage: the percentage failed, rounded up (2 of 6 is 34).
    run("soon,fail=30%", &["0", "1", "1", "0", "0", "0"]).code(34);
    // success=: 0.
    run("now,success=1", &["4", "0", "3"]).code(0);
}

#[test]
fn usage_and_fatal_errors_exit_255() {
    let sb = Sandbox::new();
    sb.fanout_named("parallel")
        .args(["--no-such-option", "echo"])
        .items(["a"])
        .run()
        .code(255);
    sb.fanout()
        .args(["--gnu", "--no-such-option", "echo"])
        .items(["a"])
        .run()
        .code(255);
    sb.fanout_named("parallel")
        .args(["-j", "lots", "echo"])
        .items(["a"])
        .run()
        .code(255)
        .stderr_has("lots");
    sb.fanout_named("parallel")
        .args(["-a", "no-such-file", "echo"])
        .run()
        .code(255)
        .stderr_has("no-such-file");
    // fanout's own: 2.
    sb.fanout()
        .args(["--no-such-option", "echo"])
        .items(["a"])
        .run()
        .code(2);
    sb.fanout_named("parallel").arg("--help").run().code(0);
}

#[test]
fn an_interrupted_run_keeps_130_and_its_summary() {
    let sb = Sandbox::new();
    let job = format!("{RECORD_PID} {LOOP}");
    let mut running = sb
        .fanout_named("parallel")
        .args(["-j2", "sh", "-c"])
        .arg(format!("'{job}'"))
        .items(["1", "2", "3", "4"])
        .spawn();
    running.wait_for_pids(&sb, "pid", 2);
    running.signal("INT");
    running
        .wait()
        .interrupted_by(2)
        .stderr_has("2 interrupted")
        .stderr_has("2 not started");
}

#[test]
fn without_a_command_each_item_is_a_command_line() {
    let sb = Sandbox::new();
    sb.fanout_named("parallel")
        .arg("-k")
        .items(["echo a", "echo 'b  c' | tr b B", "exit 3"])
        .run()
        .code(1)
        .lines(&["a", "B  c"]);
    // fanout's own: a command is needed.
    sb.fanout().items(["echo a"]).run().code(2);
    // One command line per job: a batch would run only its first.
    for batch in [&["-n2"][..], &["-X"], &["--xargs"], &["-N", "2"]] {
        sb.fanout_named("parallel")
            .args(batch)
            .items(["touch f1", "touch f2"])
            .run()
            .code(255)
            .stderr_has("one per job");
        assert!(!sb.join("f1").exists(), "{batch:?}");
    }
    // `-q` quotes the item, as GNU's does: it is a program's name.
    sb.fanout_named("parallel")
        .arg("-q")
        .items(["touch PW"])
        .run()
        .code(1);
    assert!(!sb.join("PW").exists(), "-q ran the item as code");
    // A one-word template with `-q` is a program's name too, as in GNU.
    sb.fanout_named("parallel")
        .args(["-q", "echo {} > out"])
        .items(["a"])
        .run()
        .code(1)
        .stderr_has("command not found");
    assert!(!sb.join("out").exists(), "-q ran a shell");
}

#[test]
fn q_keeps_the_words_apart_as_gnus_quote() {
    let sb = Sandbox::new();
    for flag in ["-q", "--quote"] {
        sb.fanout_named("parallel")
            .args([flag, "echo", "a  $HOME", "{}"])
            .items(["x"])
            .run()
            .code(0)
            .lines(&["a  $HOME x"]);
    }
    // Without it the words are one shell line.
    sb.fanout_named("parallel")
        .args(["echo", "'a  $NOPE'", "{}"])
        .items(["x"])
        .env("NOPE", "set")
        .run()
        .code(0)
        .lines(&["a  $NOPE x"]);
}

#[test]
fn jobs_get_gnus_environment_variables() {
    let sb = Sandbox::new();
    sb.fanout_named("parallel")
        .args([
            "-j1",
            "-k",
            "echo",
            "$PARALLEL_SEQ",
            "$PARALLEL_JOBSLOT",
            "{}",
        ])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines(&["1 1 a", "2 1 b"]);
}

#[test]
fn files_are_lines_whatever_their_extension() {
    let sb = Sandbox::new();
    sb.write("table.tsv", "in1\tout1\nin2\tout2\n");
    sb.fanout_named("parallel")
        .args([
            "-k",
            "-a",
            "table.tsv",
            "--colsep",
            "\t",
            "echo",
            "{2}",
            "{1}",
        ])
        .run()
        .code(0)
        .lines(&["out1 in1", "out2 in2"]);
}

#[test]
fn a_resumed_run_counts_only_its_own_failures_as_gnu() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout_named("parallel")
            .args(["--journal", "j.jsonl"])
            .args(extra)
            .args(["exit", "{}"])
            .items(["1", "2", "0"])
            .run()
    };
    run(&[]).code(2);
    // GNU's --resume skips the failed jobs and exits 0: none failed now.
    run(&["--resume"]).code(0);
    // --retry-failed runs them again: they fail again.
    run(&["--retry-failed"]).code(2);
    // fanout's own exit status keeps the recorded failures.
    sb.fanout()
        .args(["--journal", "j.jsonl", "--resume", "--shell", "exit", "{}"])
        .items(["1", "2", "0"])
        .run()
        .code(1);
}

#[test]
fn a_job_of_several_items_counts_once_as_in_gnu() {
    let sb = Sandbox::new();
    // Three jobs (a b, c d, e), all failing: GNU exits 3.
    sb.fanout_named("parallel")
        .args(["-n2", "false"])
        .items(["a", "b", "c", "d", "e"])
        .run()
        .code(3)
        .stderr_has("5 failed");
}

#[test]
fn under_the_name_parallel_fanouts_subcommands_are_commands() {
    let sb = Sandbox::new();
    let run = sb.fanout_named("parallel");
    // A program named like a fanout subcommand, first on PATH.
    let script = sb.write("bin/man", "#!/bin/sh\necho \"man $*\"\n");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        sb.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run.env("PATH", &path)
        .args(["man", "-w"])
        .items(["ls"])
        .run()
        .code(0)
        .lines(&["man -w ls"]);
}

/// GNU 20221122 on the same lines: a percentage `--halt` sets the status
/// even when it never stops the run (20), and a percentage that is one
/// job gives that job's status (3).
#[test]
fn percentage_halts_give_gnus_statuses() {
    let sb = Sandbox::new();
    let items = ["1", "1", "0", "0", "0", "0", "0", "0", "0", "0"];
    sb.fanout_named("parallel")
        .args(["-j1", "--halt", "soon,fail=50%", "exit {}"])
        .items(items)
        .run()
        .code(20);
    let items = ["0", "3", "0", "0", "0", "0", "0", "0", "0", "0"];
    sb.fanout_named("parallel")
        .args(["-j1", "--halt", "soon,fail=10%", "exit {}"])
        .items(items)
        .run()
        .code(3);
}
