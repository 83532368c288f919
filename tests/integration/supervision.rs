//! Supervision through the real binary: `--timeout` (the whole process group,
//! SIGKILL after `--grace`), retries (`--retries`, `--retry-on`, `--backoff`,
//! a waiting retry that holds no worker), `--halt`, SIGHUP, Ctrl-Z and a
//! third Ctrl-C, output under stress (hundreds of megabytes on both streams,
//! a full disk), leaky jobs, and, after every way a run can end, no process
//! left behind and no temp file left in `$TMPDIR`.
//!
//! Jobs record their pid (`pid.SEQ`, the id of their process group) and the
//! pid of a background child (`bg.SEQ`) through a rename, so a file is whole
//! when it appears; the tests wait for those files, never for time. A job that
//! must block waits for a marker file the test never creates (bounded by the
//! safety net). Durations appear only where the feature is about time
//! (`--timeout 1s` on a job that would run 1000 s: the margin lets a slow
//! machine start the job and record its pids first) and nothing asserts on
//! elapsed time.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use std::thread::JoinHandle;

use tempfile::TempDir;

use crate::util::{
    BACKGROUND, LOOP, RECORD_PID, Running, Sandbox, assert_nothing_left, block, dev_full,
    group_running, group_states, group_stopped, names_in, sh_wait_for, stat, stopped, wait_dead,
    wait_until,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Counts this attempt of item `$1` in `n.$1`.
const COUNT_ATTEMPT: &str = "n=$(( $(cat n.$1 2>/dev/null || echo 0) + 1 )); echo $n > n.$1;";

/// How many attempts item `item` made (its `n.ITEM` counter).
#[track_caller]
fn attempts(sb: &Sandbox, item: &str) -> u32 {
    let text = String::from_utf8_lossy(&sb.read(&format!("n.{item}"))).into_owned();
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad counter {text:?}: {e}"))
}

/// `TMPDIR` holds nothing.
#[track_caller]
fn assert_tmp_empty(tmp: &Path, context: &str) {
    let left = names_in(tmp);
    assert!(left.is_empty(), "files left in TMPDIR: {left:?}\n{context}");
}

/// The counts of the summary line (`fanout: STATUS: N items in T: 2 ok, 1
/// failed`), by label.
#[track_caller]
fn summary_counts(stderr: &str) -> BTreeMap<String, u64> {
    let line = stderr
        .lines()
        .find(|l| {
            l.starts_with("fanout: ") && (l.contains(" items in ") || l.contains(" item in "))
        })
        .unwrap_or_else(|| panic!("no summary line in stderr:\n{stderr}"));
    let (_, parts) = line.rsplit_once(": ").expect("summary parts");
    let parts = parts
        .strip_suffix(" (the rest of the input was not read)")
        .unwrap_or(parts);
    parts
        .split(", ")
        .map(|part| {
            let (n, label) = part
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad summary part {part:?} in {line:?}"));
            let n = n
                .parse()
                .unwrap_or_else(|e| panic!("bad count in {part:?} of {line:?}: {e}"));
            (label.to_owned(), n)
        })
        .collect()
}

/// Asserts the summary counts are exactly `expected`.
#[track_caller]
fn assert_counts(stderr: &str, expected: &[(&str, u64)], context: &str) {
    let want: BTreeMap<String, u64> = expected
        .iter()
        .map(|&(label, n)| (label.to_owned(), n))
        .collect();
    assert_eq!(
        summary_counts(stderr),
        want,
        "summary counts differ\n{context}"
    );
}

const LEAKY: &str = "leaky (outlived by their processes)";

/// What a stream held: its length, how many bytes were not NUL, and those
/// bytes (bounded), e.g. the summary after megabytes of zeros.
#[derive(Debug, Default)]
struct Tally {
    len: u64,
    nonzero: u64,
    text: Vec<u8>,
}

/// Reads `stream` to its end on a thread, tallying it.
fn tally(mut stream: impl Read + Send + 'static) -> JoinHandle<Tally> {
    std::thread::spawn(move || {
        let mut tally = Tally::default();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => return tally,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read fanout's output: {e}"),
            };
            tally.len += n as u64;
            for &b in &buf[..n] {
                if b != 0 {
                    tally.nonzero += 1;
                    if tally.text.len() < 1 << 16 {
                        tally.text.push(b);
                    }
                }
            }
        }
    })
}

// ---------------------------------------------------------------------------
// 1. --timeout
// ---------------------------------------------------------------------------

#[test]
fn timeout_kills_the_whole_process_group_and_counts_as_timed_out() {
    let sb = Sandbox::new();
    let job = format!("{RECORD_PID} {BACKGROUND} sleep 1000");
    let run = sb
        .fanout()
        .args(["--timeout", "1s", "sh", "-c", &job, "_", "{}"])
        .items(["x"])
        .run();
    let context = format!("{run:?}");
    run.code(1).stderr_has("FAIL #1 `x`: timed out");
    assert_counts(&run.stderr, &[("timed out", 1)], &context);
    let (jobs, background) = assert_nothing_left(&sb, &context);
    assert_eq!((jobs, background), (1, 1), "the job recorded its pids");
}

#[test]
fn timeout_kills_a_job_that_ignores_sigterm_after_the_grace_period() {
    let sb = Sandbox::new();
    // The ignored SIGTERM is inherited by both sleeps: only SIGKILL ends them.
    let job = format!("trap '' TERM; {RECORD_PID} {BACKGROUND} sleep 1000");
    let run = sb
        .fanout()
        .args([
            "--timeout",
            "1s",
            "--grace",
            "200ms",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["x"])
        .run();
    let context = format!("{run:?}");
    run.code(1);
    assert_counts(&run.stderr, &[("timed out", 1)], &context);
    let (jobs, background) = assert_nothing_left(&sb, &context);
    assert_eq!((jobs, background), (1, 1), "the job recorded its pids");
}

// ---------------------------------------------------------------------------
// 2. Retries
// ---------------------------------------------------------------------------

#[test]
fn a_job_that_passes_on_its_third_attempt_is_ok_and_flaky() {
    let sb = Sandbox::new();
    let job = format!("{COUNT_ATTEMPT} [ $n -ge 3 ]");
    let run = sb
        .fanout()
        .args(["--retries", "2", "sh", "-c", &job, "_", "{}"])
        .items(["a"])
        .run();
    let context = format!("{run:?}");
    run.code(0).stderr_has("FLAKY #1 `a` (passed on attempt 3)");
    assert_counts(&run.stderr, &[("ok", 1)], &context);
    assert_eq!(attempts(&sb, "a"), 3, "{context}");
}

#[test]
fn an_always_failing_job_fails_after_all_its_attempts() {
    let sb = Sandbox::new();
    let job = format!("{COUNT_ATTEMPT} exit 5");
    let run = sb
        .fanout()
        .args(["--retries", "1", "sh", "-c", &job, "_", "{}"])
        .items(["a"])
        .run();
    let context = format!("{run:?}");
    run.code(1)
        .stderr_has("FAIL #1 `a`: exit code 5 (after 2 attempts)");
    assert_counts(&run.stderr, &[("failed", 1)], &context);
    assert_eq!(attempts(&sb, "a"), 2, "{context}");
}

#[test]
fn retry_on_an_exit_code_retries_only_that_code() {
    let sb = Sandbox::new();
    let job = format!("{COUNT_ATTEMPT} exit $1");
    let run = sb
        .fanout()
        .args([
            "--retries",
            "2",
            "--retry-on",
            "3",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["3", "4"])
        .run();
    let context = format!("{run:?}");
    run.code(1)
        .stderr_has("exit code 3 (after 3 attempts)")
        .stderr_has("FAIL #2 `4`: exit code 4\n");
    assert_counts(&run.stderr, &[("failed", 2)], &context);
    assert_eq!(attempts(&sb, "3"), 3, "exit 3 is retried\n{context}");
    assert_eq!(attempts(&sb, "4"), 1, "exit 4 is not retried\n{context}");
}

#[test]
fn retry_on_timeout_retries_a_timeout_but_not_an_exit_code() {
    let sb = Sandbox::new();
    // `t` times out on its first attempt and passes on its second; `e`
    // fails with an exit code, which `--retry-on timeout` does not retry.
    let job = format!(
        "{COUNT_ATTEMPT} if [ $1 = e ]; then exit 5; fi; if [ $n = 1 ]; then exec sleep 1000; fi"
    );
    let run = sb
        .fanout()
        .args([
            "--retries",
            "1",
            "--retry-on",
            "timeout",
            "--timeout",
            "1s",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["t", "e"])
        .run();
    let context = format!("{run:?}");
    run.code(1)
        .stderr_has("FLAKY #1 `t` (passed on attempt 2)")
        .stderr_has("FAIL #2 `e`: exit code 5\n");
    assert_counts(&run.stderr, &[("ok", 1), ("failed", 1)], &context);
    assert_eq!(attempts(&sb, "t"), 2, "{context}");
    assert_eq!(attempts(&sb, "e"), 1, "{context}");
}

#[test]
fn spawn_errors_are_not_retried() {
    let sb = Sandbox::new();
    sb.write("not-executable", "#!/bin/sh\nexit 0\n");
    for program in ["./no-such-command-for-fanout", "./not-executable"] {
        let run = sb
            .fanout()
            .args(["--retries", "3", "--events", "events.jsonl", program, "{}"])
            .items(["a"])
            .run();
        let context = format!("{run:?}");
        run.code(1).stderr_has("could not start");
        assert!(
            !run.stderr.contains("attempts"),
            "a spawn error was retried\n{context}"
        );
        assert_counts(&run.stderr, &[("could not start", 1)], &context);
        let events = String::from_utf8_lossy(&sb.read("events.jsonl")).into_owned();
        let starts = events
            .lines()
            .filter(|l| l.contains("\"event\":\"item-started\""))
            .count();
        assert_eq!(starts, 1, "attempts started:\n{events}\n{context}");
    }
}

#[test]
fn exponential_backoff_retries_until_the_job_passes() {
    let sb = Sandbox::new();
    let job = format!("{COUNT_ATTEMPT} [ $n -ge 3 ]");
    let run = sb
        .fanout()
        .args([
            "--retries",
            "3",
            "--backoff",
            "exp",
            "--retry-delay",
            "10ms",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["a"])
        .run();
    let context = format!("{run:?}");
    run.code(0).stderr_has("FLAKY #1 `a` (passed on attempt 3)");
    assert_eq!(attempts(&sb, "a"), 3, "{context}");
}

#[test]
fn a_waiting_retry_holds_no_worker_and_ctrl_c_ends_the_wait() {
    let sb = Sandbox::new();
    // With one worker, A fails and waits an hour for its retry; B must still
    // run meanwhile. B ignores SIGINT, so it ends ok whenever the signal
    // comes. A SIGINT then ends the hour's wait at once (passing at all
    // proves it), and A keeps the outcome of its failed attempt.
    let job = format!(
        "trap '' INT; {COUNT_ATTEMPT} touch rantmp.$FANOUT_SEQ && mv rantmp.$FANOUT_SEQ ran.$FANOUT_SEQ; \
         [ $1 = B ] || exit 7"
    );
    let mut running = sb
        .fanout()
        .args([
            "-j",
            "1",
            "--retries",
            "1",
            "--retry-delay",
            "1h",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["A", "B"])
        .spawn();
    running.wait_for_numbered(&sb, "ran", 2);
    running.signal("INT");
    let ended = running.wait();
    let context = ended.dump();
    ended
        .interrupted_by(2)
        .stderr_has("FAIL #1 `A`: exit code 7");
    assert_counts(&ended.stderr, &[("ok", 1), ("failed", 1)], &context);
    assert_eq!(attempts(&sb, "A"), 1, "{context}");
    assert_eq!(attempts(&sb, "B"), 1, "{context}");
}

// ---------------------------------------------------------------------------
// 3. --halt
// ---------------------------------------------------------------------------

/// How many rounds the `soon` tests run: a halt checked after the next job
/// was already handed out shows up in some rounds only.
const HALT_ROUNDS: usize = 5;

/// Runs `-j1` over `items` with a job that records `ran.ITEM` and fails for
/// the items in `failing`; returns the run and the items that ran.
fn halt_run(extra: &[&str], items: &[&str], failing: &[&str]) -> (crate::util::Run, Vec<String>) {
    let sb = Sandbox::new();
    let fail_case = if failing.is_empty() {
        String::new()
    } else {
        format!("case $1 in {}) exit 1;; esac", failing.join("|"))
    };
    let job = format!("touch ran.$1; {fail_case}");
    let run = sb
        .fanout()
        .args(["-j", "1"])
        .args(extra)
        .args(["sh", "-c", &job, "_", "{}"])
        .items(items)
        .run();
    let ran = sb
        .names()
        .into_iter()
        .filter_map(|n| n.strip_prefix("ran.").map(str::to_owned))
        .collect();
    (run, ran)
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure() {
    for round in 1..=HALT_ROUNDS {
        let (run, mut ran) = halt_run(&["--fail-fast"], &["1", "2", "3", "4", "5"], &["2"]);
        let context = format!("round {round}\n{run:?}");
        run.code(1)
            .stderr_has("halted: 1 failed (--halt soon,fail=1)");
        ran.sort();
        assert_eq!(ran, ["1", "2"], "items after the failure ran\n{context}");
        assert_counts(
            &run.stderr,
            &[("ok", 1), ("failed", 1), ("not started", 3)],
            &context,
        );
    }
}

#[test]
fn halt_soon_on_successes_exits_0_and_starts_nothing_after() {
    for round in 1..=HALT_ROUNDS {
        let (run, mut ran) = halt_run(
            &["--halt", "soon,success=2"],
            &["1", "2", "3", "4", "5"],
            &[],
        );
        let context = format!("round {round}\n{run:?}");
        run.code(0)
            .stderr_has("halted: 2 succeeded (--halt soon,success=2)");
        ran.sort();
        assert_eq!(ran, ["1", "2"], "items after the halt ran\n{context}");
        assert_counts(&run.stderr, &[("ok", 2), ("not started", 3)], &context);
    }
}

#[test]
fn halt_soon_on_a_percentage_of_all_items() {
    // Four items known in advance: 50% is two failures. (Of the items done
    // so far, the first failure alone would be 100%.)
    for round in 1..=HALT_ROUNDS {
        let (run, mut ran) = halt_run(
            &["--halt", "soon,fail=50%"],
            &["1", "2", "3", "4"],
            &["1", "2"],
        );
        let context = format!("round {round}\n{run:?}");
        run.code(1)
            .stderr_has("halted: 2 failed (--halt soon,fail=50%)");
        ran.sort();
        assert_eq!(ran, ["1", "2"], "items after the halt ran\n{context}");
        assert_counts(&run.stderr, &[("failed", 2), ("not started", 2)], &context);
    }
}

#[test]
fn halt_soon_on_done_items() {
    for round in 1..=HALT_ROUNDS {
        let (run, mut ran) = halt_run(
            &["--halt", "soon,done=3"],
            &["1", "2", "3", "4", "5", "6"],
            &["2"],
        );
        let context = format!("round {round}\n{run:?}");
        run.code(1)
            .stderr_has("halted: 3 done (--halt soon,done=3)");
        ran.sort();
        assert_eq!(ran, ["1", "2", "3"], "items after the halt ran\n{context}");
        assert_counts(
            &run.stderr,
            &[("ok", 2), ("failed", 1), ("not started", 3)],
            &context,
        );
    }
}

#[test]
fn halt_now_kills_a_running_job() {
    let sb = Sandbox::new();
    // Item 1 blocks for ever; item 2 fails once item 1 runs.
    let job = format!(
        "{RECORD_PID} if [ $1 = 1 ]; then {}; else {}; exit 1; fi",
        block(),
        sh_wait_for("pid.1")
    );
    let run = sb
        .fanout()
        .args([
            "-j",
            "2",
            "--halt",
            "now,fail=1",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
        ])
        .items(["1", "2"])
        .run();
    let context = format!("{run:?}");
    run.code(1)
        .stderr_has("halted: 1 failed (--halt now,fail=1)");
    assert_counts(&run.stderr, &[("failed", 1), ("interrupted", 1)], &context);
    let (jobs, _) = assert_nothing_left(&sb, &context);
    assert_eq!(jobs, 2, "both jobs recorded their pids\n{context}");
}

#[test]
fn a_bad_halt_value_is_a_usage_error() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["--halt", "later,fail=1", "touch", "ran.{}"])
        .items(["a"])
        .run();
    run.code(2).stderr_has("later,fail=1");
    assert!(!sb.exists("ran.a"), "a job ran despite the usage error");
}

// ---------------------------------------------------------------------------
// 4. Signals
// ---------------------------------------------------------------------------

#[test]
fn sighup_behaves_as_sigterm() {
    let sb = Sandbox::new();
    // Each job notes which signal it got from fanout, then ends.
    let job = format!(
        "trap 'touch term.$FANOUT_SEQ; exit 1' TERM; trap 'touch hup.$FANOUT_SEQ; exit 1' HUP; \
         {RECORD_PID} {LOOP}"
    );
    let mut running = sb
        .fanout()
        .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3", "4"])
        .spawn();
    running.wait_for_numbered(&sb, "pid", 2);
    running.signal("HUP");
    let ended = running.wait();
    let context = ended.dump();
    ended.interrupted_by(15).stderr_has("interrupted by SIGHUP");
    assert!(
        !ended.stderr.contains("SIGTERM"),
        "SIGHUP must be reported as SIGHUP:\n{context}"
    );
    assert_counts(
        &ended.stderr,
        &[("interrupted", 2), ("not started", 2)],
        &context,
    );
    assert_eq!(
        sb.numbered("term").len(),
        2,
        "both jobs got SIGTERM\n{context}"
    );
    assert!(
        sb.numbered("hup").is_empty(),
        "SIGHUP reached a job\n{context}"
    );
    let (jobs, _) = assert_nothing_left(&sb, &context);
    assert_eq!(jobs, 2, "{context}");
}

#[test]
fn ctrl_z_stops_fanout_and_its_jobs_and_sigcont_resumes_them() {
    let sb = Sandbox::new();
    let job = format!("{RECORD_PID} {}", sh_wait_for("go"));
    let mut running = sb
        .fanout()
        .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2"])
        .spawn();
    let jobs = running.wait_for_pids(&sb, "pid", 2);
    let fanout = running.pid();
    let seen = || {
        let jobs: Vec<_> = jobs.iter().map(|&pid| group_states(pid)).collect();
        format!(
            "fanout {:?}, jobs (pid, state, ppid) {jobs:?}",
            stat(fanout)
        )
    };
    running.signal("TSTP");
    wait_until(
        "fanout and both jobs stopping on SIGTSTP",
        || stopped(fanout) && jobs.iter().all(|&j| group_stopped(j)),
        seen,
    );
    running.signal("CONT");
    wait_until(
        "fanout and both jobs resuming on SIGCONT",
        || {
            stat(fanout).is_some_and(|s| !matches!(s.state, 'T' | 't'))
                && jobs.iter().all(|&j| group_running(j))
        },
        seen,
    );
    sb.write("go", "");
    let ended = running.wait();
    let context = ended.dump();
    ended.code(0);
    assert_counts(&ended.stderr, &[("ok", 2)], &context);
}

/// A job that notes every SIGINT in `got.SEQ`, ignores SIGTERM and runs on.
fn stubborn_job(before: &str) -> String {
    format!("trap 'touch got.$FANOUT_SEQ' INT; trap '' TERM; {before} {RECORD_PID} {LOOP}")
}

#[test]
fn a_third_sigint_exits_at_once() {
    let sb = Sandbox::new();
    let job = stubborn_job("");
    let mut running = sb
        .fanout()
        .args(["-j", "2", "--grace", "1h", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3"])
        .spawn();
    let jobs = running.wait_for_pids(&sb, "pid", 2);
    running.signal("INT");
    running.wait_for_numbered(&sb, "got", 2);
    running.signal("INT");
    // The second SIGINT was handled once the jobs are dead. fanout may have
    // exited already: it is our unreaped child, so the third signal still
    // reaches its pid (and does nothing then).
    for &pid in &jobs {
        assert!(wait_dead(pid), "job {pid} survived the second SIGINT");
    }
    running.signal("INT");
    let ended = running.wait();
    let context = ended.dump();
    ended.interrupted_by(2);
    assert_nothing_left(&sb, &context);
}

#[test]
fn a_third_sigint_exits_even_while_output_is_blocked() {
    // The jobs wrote a megabyte each, and fanout's stdout is a pipe that no
    // one reads: after the second SIGINT kills the jobs, fanout blocks
    // writing their output. Only the third SIGINT can end it before the
    // safety net.
    let sb = Sandbox::new();
    let job = stubborn_job("head -c 1000000 /dev/zero;");
    let mut running = sb
        .fanout()
        .args(["-j", "2", "--grace", "1h", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3"])
        .pipe_stdout()
        .spawn();
    let jobs = running.wait_for_pids(&sb, "pid", 2);
    running.signal("INT");
    running.wait_for_numbered(&sb, "got", 2);
    running.signal("INT");
    for &pid in &jobs {
        assert!(wait_dead(pid), "job {pid} survived the second SIGINT");
    }
    running.signal("INT");
    // `running` still holds the unread end of the pipe while it waits.
    let ended = running.wait();
    let context = ended.dump();
    ended.interrupted_by(2);
    assert_nothing_left(&sb, &context);
}

// ---------------------------------------------------------------------------
// 5. Output under stress
// ---------------------------------------------------------------------------

/// Two jobs each write 100 MB to stdout and 100 MB to stderr at once.
fn two_hundred_megabytes_each_way(mode: &str) {
    const SIZE: u64 = 100_000_000;
    let sb = Sandbox::new();
    let tmp = TempDir::new().expect("create a TMPDIR");
    let job = format!("head -c {SIZE} /dev/zero & head -c {SIZE} /dev/zero >&2; wait");
    let mut running = sb
        .fanout()
        .env("TMPDIR", tmp.path())
        .args(["-j", "2", "--output", mode, "sh", "-c", &job, "_", "{}"])
        .items(["a", "b"])
        .pipe_stdout()
        .pipe_stderr()
        .spawn();
    let out = tally(running.stdout.take().expect("piped stdout"));
    let err = tally(running.stderr.take().expect("piped stderr"));
    let status = running.wait().status;
    let out = out.join().expect("read stdout");
    let err = err.join().expect("read stderr");
    let summary = String::from_utf8_lossy(&err.text).into_owned();
    let context = format!("--output {mode}: status {status}, stderr text:\n{summary}");
    assert_eq!(status.code(), Some(0), "{context}");
    assert_eq!(out.len, 2 * SIZE, "stdout bytes\n{context}");
    assert_eq!(out.nonzero, 0, "stdout bytes changed\n{context}");
    assert_eq!(
        err.len - err.nonzero,
        2 * SIZE,
        "stderr bytes (NULs)\n{context}"
    );
    assert_counts(&summary, &[("ok", 2)], &context);
    assert!(
        summary.starts_with("fanout: done"),
        "stderr holds more than the jobs' bytes and the summary\n{context}"
    );
    assert_tmp_empty(tmp.path(), &context);
}

#[test]
fn group_mode_carries_200_megabytes_each_way_intact() {
    two_hundred_megabytes_each_way("group");
}

#[test]
fn line_mode_carries_200_megabytes_each_way_intact() {
    two_hundred_megabytes_each_way("line");
}

#[test]
fn a_full_disk_on_stdout_is_a_fatal_error_that_stops_running_jobs() {
    let sb = Sandbox::new();
    let tmp = TempDir::new().expect("create a TMPDIR");
    // Job 1 writes once job 2 runs; job 2 blocks for ever.
    let job = format!(
        "{RECORD_PID} if [ $1 = 1 ]; then {}; echo hello; else {}; fi",
        sh_wait_for("pid.2"),
        block()
    );
    let ended = sb
        .fanout()
        .env("TMPDIR", tmp.path())
        .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2"])
        .stdout_file(dev_full())
        .spawn()
        .wait();
    let (status, stderr) = (ended.status, ended.stderr);
    let context = format!("status {status}\n--- stderr ---\n{stderr}");
    assert_eq!(status.code(), Some(2), "{context}");
    assert!(stderr.contains("No space left"), "{context}");
    let (jobs, _) = assert_nothing_left(&sb, &context);
    assert_eq!(jobs, 2, "{context}");
    assert_counts(&stderr, &[("ok", 1), ("interrupted", 1)], &context);
    assert_tmp_empty(tmp.path(), &context);
}

// ---------------------------------------------------------------------------
// 6. Leaks
// ---------------------------------------------------------------------------

#[test]
fn a_background_child_holding_output_is_killed_and_reported_leaky() {
    for mode in ["group", "line", "ungroup"] {
        let sb = Sandbox::new();
        let job = format!("{BACKGROUND} echo hi");
        let run = sb
            .fanout()
            .args(["-j", "2", "--output", mode, "sh", "-c", &job, "_", "{}"])
            .items(["a", "b"])
            .run();
        let context = format!("--output {mode}\n{run:?}");
        run.code(0).lines(&["hi", "hi"]);
        assert_counts(&run.stderr, &[("ok", 2), (LEAKY, 2)], &context);
        let (_, background) = assert_nothing_left(&sb, &context);
        assert_eq!(background, 2, "{context}");
    }
}

// ---------------------------------------------------------------------------
// 7. Nothing left behind, however the run ends
// ---------------------------------------------------------------------------

/// The ways a run can end.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Success,
    Failure,
    Halt,
    Timeout,
    CtrlC,
    CtrlCTwice,
    CtrlCThrice,
    Sigterm,
    BrokenPipe,
    FullDisk,
}

/// Every job records its pid and starts a background child that records
/// its own; then does `body`.
fn recorded(body: &str) -> String {
    format!("{RECORD_PID} {BACKGROUND} {body}")
}

/// Runs fanout to `ending` with `TMPDIR` set to a fresh directory, then
/// checks that no process it started remains (at least one job and one
/// background child recorded their pids, so the check is not vacuous) and
/// that the directory is empty.
fn end_and_check(ending: Ending) {
    let sb = Sandbox::new();
    let tmp = TempDir::new().expect("create a TMPDIR");
    let fanout = || sb.fanout().env("TMPDIR", tmp.path());
    let blocking = recorded(&block());
    let stubborn = stubborn_job(BACKGROUND);
    let context = match ending {
        Ending::Success => {
            let run = fanout()
                .args(["-j", "2", "sh", "-c", &recorded("echo out $1"), "_", "{}"])
                .items(["a", "b"])
                .run();
            run.code(0).lines_any_order(&["out a", "out b"]);
            format!("{run:?}")
        }
        Ending::Failure => {
            let job = recorded("[ $1 = a ]");
            let run = fanout()
                .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
                .items(["a", "b"])
                .run();
            run.code(1).stderr_has("FAIL #2 `b`: exit code 1");
            format!("{run:?}")
        }
        Ending::Halt => {
            let job = recorded(&format!(
                "if [ $1 = a ]; then {}; else {}; exit 1; fi",
                block(),
                sh_wait_for("bg.1")
            ));
            let run = fanout()
                .args([
                    "-j",
                    "2",
                    "--halt",
                    "now,fail=1",
                    "sh",
                    "-c",
                    &job,
                    "_",
                    "{}",
                ])
                .items(["a", "b"])
                .run();
            run.code(1).stderr_has("halted");
            format!("{run:?}")
        }
        Ending::Timeout => {
            let run = fanout()
                .args([
                    "-j",
                    "2",
                    "--timeout",
                    "1s",
                    "sh",
                    "-c",
                    &blocking,
                    "_",
                    "{}",
                ])
                .items(["a", "b"])
                .run();
            run.code(1).stderr_has("2 timed out");
            format!("{run:?}")
        }
        Ending::CtrlC | Ending::Sigterm => {
            let mut running = fanout()
                .args(["-j", "2", "sh", "-c", &blocking, "_", "{}"])
                .items(["a", "b", "c"])
                .spawn();
            running.wait_for_numbered(&sb, "bg", 2);
            let (signal, number) = match ending {
                Ending::CtrlC => ("INT", 2),
                _ => ("TERM", 15),
            };
            running.signal(signal);
            let ended = running.wait();
            ended.interrupted_by(number);
            ended.dump()
        }
        Ending::CtrlCTwice | Ending::CtrlCThrice => {
            let mut running = fanout()
                .args(["-j", "2", "--grace", "1h", "sh", "-c", &stubborn, "_", "{}"])
                .items(["a", "b", "c"])
                .spawn();
            let jobs = running.wait_for_pids(&sb, "pid", 2);
            running.wait_for_numbered(&sb, "bg", 2);
            running.signal("INT");
            running.wait_for_numbered(&sb, "got", 2);
            running.signal("INT");
            if let Ending::CtrlCThrice = ending {
                for &pid in &jobs {
                    assert!(wait_dead(pid), "job {pid} survived the second SIGINT");
                }
                // fanout is our unreaped child: its pid is still ours.
                running.signal("INT");
            }
            let ended = running.wait();
            ended.interrupted_by(2);
            ended.dump()
        }
        Ending::BrokenPipe => broken_pipe(&sb, tmp.path()),
        Ending::FullDisk => full_disk(&sb, tmp.path()),
    };
    let context = format!("{ending:?}\n{context}");
    let (jobs, background) = assert_nothing_left(&sb, &context);
    assert!(
        jobs >= 1 && background >= 1,
        "no job recorded its pids\n{context}"
    );
    assert_tmp_empty(tmp.path(), &context);
}

/// Reads one line of fanout's stdout, then closes it.
fn broken_pipe(sb: &Sandbox, tmp: &Path) -> String {
    // Job 1 writes its line once job 2 (blocking) runs with its child; the
    // jobs after them write plenty, so a write after the close must fail.
    let job = format!(
        "{RECORD_PID} case $FANOUT_SEQ in \
         1) {BACKGROUND} {}; echo first;; \
         2) {BACKGROUND} {};; \
         *) seq 1 2000;; esac",
        sh_wait_for("bg.2"),
        block()
    );
    let items: Vec<String> = (1..=200).map(|n| n.to_string()).collect();
    let mut running: Running = sb
        .fanout()
        .env("TMPDIR", tmp)
        .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
        .items(&items)
        .pipe_stdout()
        .spawn();
    let stdout = running.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).expect("read the first line");
    assert_eq!(first, "first\n");
    drop(reader);
    let ended = running.wait();
    ended.code(0);
    ended.dump()
}

/// Runs with `/dev/full` as stdout while a job blocks.
fn full_disk(sb: &Sandbox, tmp: &Path) -> String {
    let job = recorded(&format!(
        "if [ $1 = a ]; then {}; echo hello; else {}; fi",
        sh_wait_for("bg.2"),
        block()
    ));
    let ended = sb
        .fanout()
        .env("TMPDIR", tmp)
        .args(["-j", "2", "sh", "-c", &job, "_", "{}"])
        .items(["a", "b"])
        .stdout_file(dev_full())
        .spawn()
        .wait();
    let (status, stderr) = (ended.status, ended.stderr);
    let context = format!("status {status}\n--- stderr ---\n{stderr}");
    assert_eq!(status.code(), Some(2), "{context}");
    context
}

#[test]
fn nothing_left_after_success() {
    end_and_check(Ending::Success);
}

#[test]
fn nothing_left_after_failure() {
    end_and_check(Ending::Failure);
}

#[test]
fn nothing_left_after_a_halt() {
    end_and_check(Ending::Halt);
}

#[test]
fn nothing_left_after_timeouts() {
    end_and_check(Ending::Timeout);
}

#[test]
fn nothing_left_after_ctrl_c() {
    end_and_check(Ending::CtrlC);
}

#[test]
fn nothing_left_after_ctrl_c_twice() {
    end_and_check(Ending::CtrlCTwice);
}

#[test]
fn nothing_left_after_ctrl_c_three_times() {
    end_and_check(Ending::CtrlCThrice);
}

#[test]
fn nothing_left_after_sigterm() {
    end_and_check(Ending::Sigterm);
}

#[test]
fn nothing_left_after_a_broken_pipe() {
    end_and_check(Ending::BrokenPipe);
}

#[test]
fn nothing_left_after_a_full_disk() {
    end_and_check(Ending::FullDisk);
}

/// `--delay` (GNU parallel's) spaces job starts by at least the delay,
/// across all workers: three starts 0.3 s apart take at least 0.6 s, however
/// many workers are free (a lower bound: load only makes a run longer).
#[test]
fn delay_spaces_job_starts() {
    let sb = Sandbox::new();
    let begin = std::time::Instant::now();
    sb.fanout()
        .args(["--no-journal", "-j3", "--delay", "0.3s"])
        .args(["sh", "-c", ": > start.$1", "_", "{}"])
        .items(["1", "2", "3"])
        .run()
        .code(0);
    let took = begin.elapsed();
    assert_eq!(sb.numbered("start").len(), 3);
    assert!(
        took >= std::time::Duration::from_millis(600),
        "three starts 0.3 s apart took only {took:?}"
    );
    // Without --delay the same three jobs take milliseconds: the bound
    // fails when the delay is not applied.
}

/// Ctrl-C ends a `--delay` wait at once: the waiting item never starts.
#[test]
fn ctrl_c_ends_a_delay_wait() {
    let sb = Sandbox::new();
    let job = format!(": > started.$1; {}", sh_wait_for("never"));
    let mut running = sb
        .fanout()
        .args(["--no-journal", "-j2", "--delay", "1h"])
        .args(["sh", "-c", &job, "_", "{}"])
        .items(["1", "2"])
        .spawn();
    running.wait_for_numbered(&sb, "started", 1);
    running.signal("INT");
    running
        .wait()
        .interrupted_by(2)
        .stderr_has("1 interrupted")
        .stderr_has("1 not started");
    // Which item starts first is the workers' race for the first moment;
    // the other waited for its start and never ran.
    let started = ["started.1", "started.2"]
        .iter()
        .filter(|name| sb.join(name).exists())
        .count();
    assert_eq!(started, 1, "the item that waited for its start never ran");
}

/// `--nice N` (GNU parallel's) runs jobs N steps nicer than fanout.
#[test]
fn nice_runs_jobs_nicer() {
    let base = std::process::Command::new("nice")
        .output()
        .expect("run nice");
    let base: i32 = String::from_utf8_lossy(&base.stdout)
        .trim()
        .parse()
        .expect("nice prints a number");
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args([
            "--no-journal",
            "--nice",
            "5",
            "sh",
            "-c",
            "nice",
            "_",
            "{}",
            ":::",
            "x",
        ])
        .run();
    run.code(0);
    assert_eq!(run.stdout_text().trim(), (base + 5).min(19).to_string());
    sb.fanout()
        .args(["--nice", "20", "true", ":::", "x"])
        .run()
        .code(2)
        .stderr_has("--nice");
}
