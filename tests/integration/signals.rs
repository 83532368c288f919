//! Real signals to a real fanout: SIGINT → 130, SIGTERM → 143 (as an exit
//! code, or as death by the same signal after the summary: a shell shows
//! both as the same `$?`), the signal
//! forwarded to every running job's process group, SIGKILL after `--grace`
//! or on a second signal, and a summary that counts what never started.
//!
//! Each job writes its pid to `pid.SEQ` (through a rename, so the file is
//! whole when it appears) before it blocks; the test waits for those files,
//! never for time. Jobs run in their own process group whose id is that pid,
//! so "gone" means no live process is left in the group.

use crate::util::{BACKGROUND, LOOP, RECORD_PID, Running, Sandbox, alive, wait_group_gone};

const ITEMS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// Records the job's pid, as the first thing after `prelude`.
fn script(prelude: &str, body: &str) -> String {
    format!("{prelude} {RECORD_PID} {body}")
}

/// Starts fanout with -j2 over ten items and waits until two jobs run.
fn start(sb: &Sandbox, extra: &[&str], job: &str) -> (Running, Vec<u32>) {
    let mut running = sb
        .fanout()
        .args(["-j", "2"])
        .args(extra)
        .args(["sh", "-c", job, "_", "{}"])
        .items(ITEMS)
        .spawn();
    let pids = running.wait_for_pids(sb, "pid", 2);
    (running, pids)
}

/// Each job (reaped by fanout before it exits) is gone, and so is the rest
/// of its process group once the SIGKILL fanout sent has been delivered.
#[track_caller]
fn assert_gone(pids: &[u32]) {
    for &pid in pids {
        assert!(!alive(pid), "job {pid} is still alive after fanout exited");
        let left = wait_group_gone(pid);
        assert!(
            left.is_empty(),
            "job {pid}'s process group still has {left:?} after fanout exited"
        );
    }
}

#[test]
fn sigint_stops_the_run_with_130() {
    let sb = Sandbox::new();
    let (running, pids) = start(&sb, &[], &script("", "exec sleep 1000"));
    running.signal("INT");
    let ended = running.wait();
    ended
        .interrupted_by(2)
        .stderr_has("interrupted")
        .stderr_has("2 interrupted")
        .stderr_has("8 not started");
    assert_gone(&pids);
    assert_eq!(
        sb.numbered("pid").len(),
        2,
        "no new job may start after the signal"
    );
}

#[test]
fn sigterm_stops_the_run_with_143() {
    let sb = Sandbox::new();
    let (running, pids) = start(&sb, &[], &script("", "exec sleep 1000"));
    running.signal("TERM");
    let ended = running.wait();
    ended
        .interrupted_by(15)
        .stderr_has("SIGTERM")
        .stderr_has("8 not started");
    assert_gone(&pids);
}

#[test]
fn a_job_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let sb = Sandbox::new();
    let job = script("trap '' INT TERM;", LOOP);
    let (running, pids) = start(&sb, &["--grace", "100ms"], &job);
    running.signal("TERM");
    let ended = running.wait();
    ended.interrupted_by(15).stderr_has("8 not started");
    assert_gone(&pids);
}

#[test]
fn a_second_sigint_kills_at_once() {
    let sb = Sandbox::new();
    // The job notes each SIGINT it gets (in `got.SEQ`) and carries on.
    let job = script("trap 'touch got.$FANOUT_SEQ' INT; trap '' TERM;", LOOP);
    let (mut running, pids) = start(&sb, &["--grace", "1h"], &job);
    running.signal("INT");
    // Both jobs got the first SIGINT from fanout: it was handled, and the
    // second one below cannot merge with it.
    running.wait_for_numbered(&sb, "got", 2);
    running.signal("INT");
    // With a one-hour grace, only the second signal can end this run
    // before the safety net.
    let ended = running.wait();
    ended
        .interrupted_by(2)
        .stderr_has("interrupted")
        .stderr_has("8 not started");
    assert_gone(&pids);
}

#[test]
fn sigint_while_waiting_for_input() {
    use std::io::Write as _;
    let sb = Sandbox::new();
    let mut running = sb
        .fanout()
        .args([
            "sh",
            "-c",
            "printf %s \"$1\" > tmp.$FANOUT_SEQ && mv tmp.$FANOUT_SEQ out.$FANOUT_SEQ",
            "_",
            "{}",
        ])
        .pipe_stdin()
        .spawn();
    let mut stdin = running.stdin.take().expect("piped stdin");
    stdin.write_all(b"first\n").expect("write an item");
    stdin.flush().expect("flush");
    // A finished job proves fanout runs (its handlers are installed); now it
    // blocks reading stdin, which stays open.
    running.wait_for_numbered(&sb, "out", 1);
    running.signal("INT");
    let ended = running.wait();
    drop(stdin);
    ended.interrupted_by(2).stderr_has("interrupted");
}

#[test]
fn an_interrupted_job_leaves_no_orphans() {
    // The job's main process dies of the forwarded SIGINT at once, but its
    // background child ignores SIGINT (as sh makes `&` commands do). After
    // the grace period the whole group must get SIGKILL: no orphans, ever.
    let sb = Sandbox::new();
    let job = script(BACKGROUND, "exec sleep 1000");
    let (mut running, pids) = start(&sb, &["--grace", "100ms"], &job);
    let background = running.wait_for_pids(&sb, "bg", 2);
    running.signal("INT");
    running.wait().interrupted_by(2);
    assert_gone(&pids);
    for pid in background {
        assert!(
            !alive(pid),
            "the job's background child {pid} outlived the run"
        );
    }
}
