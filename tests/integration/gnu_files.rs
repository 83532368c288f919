//! GNU parallel's files (issue 10, point 4): `--joblog` (its rows compared
//! with what GNU parallel 20221122 printed for the same commands on the
//! development machine, read by awk as GNU users read them, written as each
//! job ends, `+FILE` and `-`), `--resume` and `--resume-failed` from a
//! joblog (after failures, and after a real SIGINT), `--results DIR` in
//! GNU's layout with values that can never leave DIR, and `--results
//! FILE.csv|.tsv|.json|.jsonl|.xml`.
//!
//! GNU parallel need not be installed: its output is pinned below, with
//! the command that printed it. Times differ from run to run, so rows are
//! compared column by column, the times by their format.

use std::fs;
use std::process::Command;

use crate::util::{Sandbox, sh_wait_for, sh_wait_until};

const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

/// `parallel -j1 --joblog - sh -c "'exit \$1'" _ ::: 1 2 3 0`, GNU 20221122.
const GNU_EXIT_ROWS: &str = "\
Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand
1\t:\t1796180498.516\t     0.006\t0\t0\t1\t0\tsh -c 'exit $1' _ 1
2\t:\t1796180498.580\t     0.084\t0\t0\t2\t0\tsh -c 'exit $1' _ 2
3\t:\t1796180498.671\t     0.005\t0\t0\t3\t0\tsh -c 'exit $1' _ 3
4\t:\t1796180498.714\t     0.005\t0\t0\t0\t0\tsh -c 'exit $1' _ 0
";

/// `parallel -j1 --joblog - echo ::: a 'b c'` (output and rows on stdout).
const GNU_ECHO_STDOUT: &str = "\
Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand
a
1\t:\t1796180497.994\t     0.000\t0\t2\t0\t0\techo a
b c
2\t:\t1796180498.012\t     0.003\t0\t4\t0\t0\techo 'b c'
";

/// A joblog's text with the times (Starttime, JobRuntime) checked for
/// GNU's formats (`%.3f`, `%10.3f`) and replaced by `T` and `R`; other
/// lines (the header, job output) stay as they are, in their order.
#[track_caller]
fn normalized(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let columns: Vec<&str> = line.split('\t').collect();
        if columns.len() < 9 || columns[0] == "Seq" {
            lines.push(line.to_owned());
            continue;
        }
        let (start, runtime) = (columns[2], columns[3]);
        let (secs, millis) = start.split_once('.').expect("Starttime has a point");
        assert!(
            secs.len() >= 10 && secs.bytes().all(|b| b.is_ascii_digit()) && millis.len() == 3,
            "Starttime `{start}` is not %.3f seconds: {line}"
        );
        assert_eq!(
            runtime.len(),
            10,
            "JobRuntime `{runtime}` is %10.3f: {line}"
        );
        let trimmed = runtime.trim_start();
        assert!(
            trimmed.split_once('.').is_some_and(|(_, ms)| ms.len() == 3)
                && trimmed.parse::<f64>().is_ok(),
            "JobRuntime `{runtime}`: {line}"
        );
        let mut columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        columns[2] = "T".into();
        columns[3] = "R".into();
        lines.push(columns.join("\t"));
    }
    lines.join("\n")
}

/// `awk PROGRAM FILE` in the sandbox, as a GNU user reads a joblog.
#[track_caller]
fn awk(sb: &Sandbox, program: &str, file: &str) -> String {
    let out = Command::new("awk")
        .args(["-F", "\t", program, file])
        .current_dir(sb.path())
        .output()
        .expect("run awk");
    assert!(out.status.success(), "awk failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn joblog_rows_are_gnus_and_awk_reads_them() {
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "-j1", "--joblog", "log.tsv", "sh", "-c", "exit $1", "_", "{}",
        ])
        .items(["1", "2", "3", "0"])
        .run()
        .code(1);
    let text = String::from_utf8(sb.read("log.tsv")).expect("UTF-8");
    assert!(text.starts_with(&format!("{HEADER}\n")), "{text}");
    assert_eq!(normalized(&text), normalized(GNU_EXIT_ROWS));
    // What GNU users run on a joblog.
    assert_eq!(awk(&sb, "NR>1 && $7!=0 {print $1}", "log.tsv"), "1\n2\n3\n");
    assert_eq!(awk(&sb, "NR>1 {n++} END {print n, NF}", "log.tsv"), "4 9\n");
    assert_eq!(
        awk(&sb, "NR>1 && $7==0 && $8==0 {print $9}", "log.tsv"),
        "sh -c 'exit $1' _ 0\n"
    );
}

#[test]
fn joblog_to_stdout_follows_each_jobs_output_and_counts_its_bytes() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        // No journal: its flush before each line would hide a missing one.
        .args(["-j1", "--no-journal", "--joblog", "-", "echo"])
        .items(["a", "b c"])
        .run();
    run.code(0);
    assert_eq!(normalized(&run.stdout_text()), normalized(GNU_ECHO_STDOUT));
}

#[test]
fn joblog_plus_appends_without_a_header() {
    let sb = Sandbox::new();
    // `parallel --joblog +ap.tsv true ::: 1` wrote just the row.
    for _ in 0..2 {
        sb.fanout()
            .args(["--joblog", "+ap.tsv", "true"])
            .items(["1"])
            .run()
            .code(0);
    }
    let text = String::from_utf8(sb.read("ap.tsv")).unwrap();
    assert_eq!(
        normalized(&text),
        "1\t:\tT\tR\t0\t0\t0\t0\ttrue 1\n1\t:\tT\tR\t0\t0\t0\t0\ttrue 1"
    );
    // Without `+` the file starts again, with the header.
    sb.fanout()
        .args(["--joblog", "ap.tsv", "true"])
        .items(["2"])
        .run()
        .code(0);
    let text = String::from_utf8(sb.read("ap.tsv")).unwrap();
    assert_eq!(
        normalized(&text),
        format!("{HEADER}\n1\t:\tT\tR\t0\t0\t0\t0\ttrue 2")
    );
}

#[test]
fn joblog_records_signals_timeouts_and_commands_that_cannot_start_as_gnu() {
    let sb = Sandbox::new();
    // GNU here: `--timeout 1 'sleep {}' ::: 5` gave Exitval -1, Signal 15;
    // `'kill -9 $$'` 0 and 9; `nosuchcmd ::: 1` 127 and 0.
    sb.fanout()
        .args(["--joblog", "sig.tsv", "sh", "-c", "kill -$1 $$", "_", "{}"])
        .items(["9", "15"])
        .run()
        .code(1);
    assert_eq!(
        awk(&sb, "NR>1 {print $1, $7, $8}", "sig.tsv")
            .lines()
            .collect::<std::collections::BTreeSet<_>>(),
        ["1 0 9", "2 0 15"].into_iter().collect()
    );
    sb.fanout()
        .args(["--joblog", "to.tsv", "--timeout", "200ms", "--grace", "5s"])
        .args(["sh", "-c", &sh_wait_for("never-created"), "_", "{}"])
        .items(["x"])
        .run()
        .code(1);
    assert_eq!(awk(&sb, "NR>1 {print $7, $8}", "to.tsv"), "-1 15\n");
    sb.fanout()
        .args(["--joblog", "nf.tsv", "no-such-command-anywhere"])
        .items(["1"])
        .run()
        .code(1);
    assert_eq!(
        awk(&sb, "NR>1 {print $7, $8, $9}", "nf.tsv"),
        "127 0 no-such-command-anywhere 1\n"
    );
}

#[test]
fn joblog_row_is_written_as_its_job_ends() {
    let sb = Sandbox::new();
    // The second job ends only once the first one's row is in the joblog,
    // so a joblog written at the end would make it give up (exit 97).
    let wait_for_row = sh_wait_until(r#"grep -q "^1$(printf '\t'):" log.tsv"#);
    let job = format!(r#"if [ "$1" = second ]; then {wait_for_row}; fi"#);
    sb.fanout()
        .args(["-j2", "--joblog", "log.tsv", "sh", "-c", &job, "_", "{}"])
        .items(["first", "second"])
        .run()
        .code(0);
    assert_eq!(awk(&sb, "NR>1 {print $1, $7}", "log.tsv"), "1 0\n2 0\n");
}

#[test]
fn an_unwritable_joblog_is_an_error_before_anything_runs() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--joblog", "no/such/dir/log.tsv", "touch", "ran"])
        .items(["1"])
        .run()
        .code(2)
        .stderr_has("failed to open joblog `no/such/dir/log.tsv`");
    assert!(!sb.exists("ran"), "nothing runs");
    sb.write("in.txt", "a\n");
    sb.fanout()
        .args(["-a", "in.txt", "--joblog", "in.txt", "true"])
        .run()
        .code(2)
        .stderr_has("--joblog `in.txt` is the input");
    assert_eq!(sb.read("in.txt"), b"a\n");
}

/// Records the item in `side`, then exits with it unless `fixed` exists.
const FLAKY_EXIT: &str = r#"echo "$1" >> side; [ -e fixed ] && exit 0; exit "$1""#;

#[test]
fn resume_failed_from_a_joblog_reruns_only_the_failures() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j1", "--joblog", "log.tsv"])
            .args(extra)
            .args(["sh", "-c", FLAKY_EXIT, "_", "{}"])
            .items(["1", "0", "2", "0"])
            .run()
    };
    run(&[]).code(1);
    assert_eq!(sb.lines("side"), ["1", "0", "2", "0"]);
    fs::remove_file(sb.join("side")).unwrap();
    sb.write("fixed", "");
    run(&["--resume-failed"])
        .code(0)
        .stderr_has("2 ok in an earlier run");
    assert_eq!(sb.lines("side"), ["1", "2"], "only the failed seqs ran");
    // The joblog was appended to: the old rows, then the reruns.
    assert_eq!(
        awk(&sb, "NR>1 {print $1, $7}", "log.tsv"),
        "1 1\n2 0\n3 2\n4 0\n1 0\n3 0\n"
    );
    // Now every seq has succeeded: a resume runs nothing.
    fs::remove_file(sb.join("side")).unwrap();
    run(&["--resume"]).code(0);
    assert!(!sb.exists("side"), "nothing ran again");
    // And --resume alone skips recorded failures too (GNU's --resume).
    fs::remove_file(sb.join("fixed")).unwrap();
    sb.fanout()
        .args([
            "-j1",
            "--joblog",
            "fresh.tsv",
            "sh",
            "-c",
            FLAKY_EXIT,
            "_",
            "{}",
        ])
        .items(["3"])
        .run()
        .code(1);
    sb.fanout()
        .args(["-j1", "--joblog", "fresh.tsv", "--resume"])
        .args(["sh", "-c", FLAKY_EXIT, "_", "{}"])
        .items(["3", "4"])
        .run()
        .code(1)
        .stderr_has("exit code 3 (in an earlier run)");
    assert_eq!(sb.lines("side"), ["3", "4"]);
}

#[test]
fn resume_failed_with_a_journal_is_retry_failed() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j1", "--journal", "j.jsonl"])
            .args(extra)
            .args(["sh", "-c", FLAKY_EXIT, "_", "{}"])
            .items(["0", "5"])
            .run()
    };
    run(&[]).code(1);
    fs::remove_file(sb.join("side")).unwrap();
    sb.write("fixed", "");
    run(&["--resume-failed"]).code(0);
    assert_eq!(sb.lines("side"), ["5"]);
}

#[test]
fn an_interrupted_run_resumes_from_its_joblog() {
    let sb = Sandbox::new();
    // Items starting with `b` block (after touching `blocked.SEQ`) while
    // `block` exists; with -j2, both workers end up blocked.
    let job = format!(
        r#"echo "$1" >> side; case "$1" in b*) if [ -e block ]; then touch blocked.$FANOUT_SEQ; {}; fi;; esac"#,
        sh_wait_until("[ ! -e block ]")
    );
    let items = ["a1", "b1", "a2", "b2", "a3", "a4"];
    sb.write("block", "");
    let fanout = |extra: &[&str]| {
        sb.fanout()
            .args(["-j2", "--joblog", "log.tsv"])
            .args(extra)
            .args(["sh", "-c", &job, "_", "{}"])
            .items(items)
    };
    let mut running = fanout(&[]).spawn();
    running.wait_for_numbered(&sb, "blocked", 2);
    running.signal("INT");
    running.wait().interrupted_by(2);
    fs::remove_file(sb.join("block")).unwrap();

    // Interrupted and unstarted jobs have no row, as in GNU parallel.
    let logged: Vec<usize> = awk(&sb, "NR>1 {print $1}", "log.tsv")
        .lines()
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(!logged.contains(&2) && !logged.contains(&4), "{logged:?}");
    let first = sb.lines("side");
    fs::remove_file(sb.join("side")).unwrap();

    fanout(&["--resume"]).run().code(0);
    let mut rest: Vec<String> = (1..=items.len())
        .filter(|seq| !logged.contains(seq))
        .map(|seq| items[seq - 1].to_owned())
        .collect();
    let mut ran = sb.lines("side");
    rest.sort();
    ran.sort();
    assert_eq!(ran, rest, "the resume runs exactly the seqs without a row");
    assert!(first.len() >= logged.len());
    let mut all = awk(&sb, "NR>1 {print $1}", "log.tsv")
        .lines()
        .map(|s| s.parse::<usize>().unwrap())
        .collect::<Vec<_>>();
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3, 4, 5, 6], "one row per item in the end");
}

#[test]
fn results_dir_is_gnus_layout_and_prints_nothing() {
    let sb = Sandbox::new();
    // `parallel --results out echo ::: a b` made out/1/a/{seq,stderr,stdout},
    // seq without a newline, and printed nothing.
    let run = sb
        .fanout()
        .args([
            "--results",
            "out",
            "sh",
            "-c",
            "echo $1; echo err-$1 >&2",
            "_",
            "{}",
        ])
        .items(["a", "b"])
        .run();
    run.code(0);
    assert_eq!(run.stdout_text(), "");
    assert!(!run.stderr.contains("err-a"), "{}", run.stderr);
    assert_eq!(sb.read("out/1/a/seq"), b"1");
    assert_eq!(sb.read("out/1/a/stdout"), b"a\n");
    assert_eq!(sb.read("out/1/a/stderr"), b"err-a\n");
    assert_eq!(sb.read("out/1/b/seq"), b"2");
    // Columns are sources by position (`--colsep`) or by header name.
    sb.fanout()
        .args(["--colsep", ",", "--results", "cols", "echo", "{1}"])
        .items(["A,D"])
        .run()
        .code(0);
    assert_eq!(sb.read("cols/1/A/2/D/stdout"), b"A\n");
    sb.write("people.csv", "name,age\nann,3\n");
    sb.fanout()
        .args(["-a", "people.csv", "--results", "named", "echo", "{name}"])
        .run()
        .code(0);
    assert_eq!(sb.read("named/name/ann/age/3/stdout"), b"ann\n");
}

#[test]
fn results_values_never_leave_the_directory() {
    let sb = Sandbox::new();
    fs::create_dir(sb.join("box")).unwrap();
    let hostile = ["../../x", "/etc", "..", ".", "", "a/../../b", "x\ty"];
    sb.fanout()
        .args(["--results", "box/out", "printf", "%s", "{}"])
        .items(hostile)
        .run()
        .code(0);
    assert_eq!(crate::util::names_in(&sb.join("box")), ["out"]);
    let dirs = crate::util::names_in(&sb.join("box/out/1"));
    let expected = [
        "..\\_..\\_x",
        "\\_etc",
        "\\.\\.",
        "\\.",
        "\\e",
        "a\\_..\\_..\\_b",
        "x\\ty",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(dirs, expected);
    assert_eq!(sb.read("box/out/1/\\.\\./stdout"), b"..");
    assert_eq!(sb.read("box/out/1/\\e/stdout"), b"");
    assert!(!sb.join("x").exists() && !sb.join("b").exists());
}

#[test]
fn results_into_a_file_is_refused_before_anything_runs() {
    let sb = Sandbox::new();
    sb.write("taken", "");
    sb.fanout()
        .args(["--results", "taken", "touch", "ran"])
        .items(["1"])
        .run()
        .code(2)
        .stderr_has("failed to create the --results directory `taken`");
    assert!(!sb.exists("ran"));
    sb.fanout()
        .args(["--results", "my_{}", "true"])
        .items(["1"])
        .run()
        .code(2)
        .stderr_has("replacement strings");
}

#[test]
fn results_file_writes_the_report_of_its_extension_and_still_prints() {
    let sb = Sandbox::new();
    for name in ["r.csv", "r.tsv", "r.json", "r.jsonl", "r.xml"] {
        let run = sb
            .fanout()
            .args(["--results", name, "echo"])
            .items(["a"])
            .run();
        run.code(0);
        assert_eq!(run.stdout_text(), "a\n", "{name}: output is still printed");
        let text = String::from_utf8(sb.read(name)).unwrap();
        assert!(text.contains("echo a"), "{name}: {text}");
    }
    let tsv = String::from_utf8(sb.read("r.tsv")).unwrap();
    assert!(tsv.starts_with("seq\titem\tkey\tstatus\t"), "{tsv}");
    assert!(tsv.contains("\n1\ta\t"), "{tsv}");
}

#[test]
fn no_journal_resumes_from_a_joblog_and_is_refused_without_one() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j1", "--no-journal"])
            .args(extra)
            .args(["sh", "-c", FLAKY_EXIT, "_", "{}"])
            .items(["0", "6"])
            .run()
    };
    run(&["--joblog", "log.tsv"]).code(1);
    fs::remove_file(sb.join("side")).unwrap();
    sb.write("fixed", "");
    run(&["--joblog", "log.tsv", "--retry-failed"]).code(0);
    assert_eq!(sb.lines("side"), ["6"]);
    run(&["--resume"])
        .code(2)
        .stderr_has("--no-journal keeps no journal to resume");
}

#[test]
fn results_of_a_job_of_several_items_go_under_its_first_item() {
    let sb = Sandbox::new();
    // GNU (`parallel -n2 --results bo echo ::: a b c`) names both items:
    // bo/1/a/1/b; fanout the first (README), with GNU's job seq.
    sb.fanout()
        .args(["-n2", "--results", "bo", "echo"])
        .items(["a", "b", "c"])
        .run()
        .code(0);
    assert_eq!(sb.read("bo/1/a/stdout"), b"a b\n");
    assert_eq!(sb.read("bo/1/a/seq"), b"1");
    assert_eq!(sb.read("bo/1/c/stdout"), b"c\n");
    assert_eq!(sb.read("bo/1/c/seq"), b"2");
    assert!(!sb.join("bo/1/b").exists());
}

#[test]
fn a_joblog_gnu_wrote_resumes_a_fanout_run() {
    let sb = Sandbox::new();
    sb.write("log.tsv", GNU_EXIT_ROWS);
    let job = r#"echo "$1" >> side"#;
    sb.fanout()
        .args(["-j1", "--joblog", "log.tsv", "--resume-failed"])
        .args(["sh", "-c", job, "_", "{}"])
        .items(["1", "2", "3", "0", "5"])
        .run()
        .code(0);
    // Seq 4 succeeded under GNU; 1-3 failed there, 5 never ran.
    assert_eq!(sb.lines("side"), ["1", "2", "3", "5"]);
    let text = String::from_utf8(sb.read("log.tsv")).unwrap();
    assert!(text.starts_with(GNU_EXIT_ROWS), "appended to:\n{text}");
    assert_eq!(
        awk(&sb, "NR>5 {print $1, $7}", "log.tsv"),
        "1 0\n2 0\n3 0\n5 0\n"
    );
}

#[test]
fn a_headerless_or_torn_joblog_resumes_every_row_it_holds() {
    let sb = Sandbox::new();
    // `+FILE` starts without a header, as GNU's: its first row still counts.
    sb.fanout()
        .args(["-k", "--joblog", "+p.tsv", "echo"])
        .items(["a", "b"])
        .run()
        .code(0);
    sb.fanout()
        .args([
            "-k",
            "--joblog",
            "+p.tsv",
            "--no-journal",
            "--resume",
            "echo",
        ])
        .items(["a", "b", "c"])
        .run()
        .code(0)
        .lines(&["c"]);
    // A row torn by a kill is cut before new rows are appended, and its job
    // runs again.
    let mut text = sb.read("p.tsv");
    text.extend_from_slice(b"4\t:\t1796183853.853\t  0.0");
    sb.write("p.tsv", &text);
    sb.fanout()
        .args([
            "-k",
            "--joblog",
            "+p.tsv",
            "--no-journal",
            "--resume",
            "echo",
        ])
        .items(["a", "b", "c", "d"])
        .run()
        .code(0)
        .lines(&["d"]);
    let rows = String::from_utf8(sb.read("p.tsv")).unwrap();
    let seqs: Vec<&str> = rows
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(seqs, ["1", "2", "3", "4"], "{rows}");
}
