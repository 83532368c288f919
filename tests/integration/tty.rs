//! fanout at a real terminal (through [`crate::util::pty`]), asserted on
//! the rendered screen, as a user sees it: job output above the progress
//! bars, no bar remnants after the run, jobs that use the terminal, Ctrl-C
//! and Ctrl-Z.

use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::util::pty::{self, PtyRun};
use crate::util::{
    Sandbox, alive, bin, group_states, group_stopped, harness_env, parse_pid, send_signal,
    sh_wait_for, stat, stopped, wait_until,
};

/// Runs fanout at a terminal with two workers whose jobs wait for `go`:
/// once the bars are up, one row per worker, creates `go` and waits for
/// the end.
fn go_once_the_bars_show(sandbox: &Sandbox, args: &[&str]) -> pty::Ended {
    let run = PtyRun::start(sandbox.path(), args);
    run.wait_screen("the bars", |s| s.contains("ETA") && slot_rows(s) == 2);
    File::create(sandbox.join("go")).expect("create go");
    run.wait()
}

/// How many rows of the screen are worker lines of the bars (`  1   0s a`).
fn slot_rows(screen: &str) -> usize {
    worker_rows(screen, |w| w == "-" || w.ends_with('s'))
}

/// How many rows of the screen are worker lines running a job.
fn busy_rows(screen: &str) -> usize {
    worker_rows(screen, |w| w.ends_with('s'))
}

fn worker_rows(screen: &str, second: impl Fn(&str) -> bool) -> usize {
    screen
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|w| w.parse::<u32>().is_ok())
                && words.next().is_some_and(&second)
        })
        .count()
}

/// A job for `sh -c JOB _ ITEM`: waits for `go`, then writes OUT-item to
/// stdout and ERR-item to stderr.
fn out_err_job() -> String {
    format!("{}; echo OUT-$1; echo ERR-$1 >&2", sh_wait_for("go"))
}

/// Every job's stdout and stderr line lands on the screen above the bars,
/// once, and nothing of the bars stays after the run: in every output mode.
#[test]
fn job_output_stays_on_screen_above_the_bars() {
    let job = out_err_job();
    let modes: &[&[&str]] = &[
        &[],
        &["--output", "line"],
        &["-k"],
        &["--tag"],
        &["--output", "line", "--tag"],
        &["--output", "ungroup"],
    ];
    for mode in modes {
        let sandbox = Sandbox::new();
        let mut args = vec!["-j2", "--no-journal"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&[
            "sh", "-c", &job, "_", "{}", ":::", "1", "2", "3", "4", "5", "6",
        ]);
        let run = PtyRun::start(sandbox.path(), &args);
        if !mode.contains(&"ungroup") {
            // The bars are up, one row per worker, before any job writes.
            run.wait_screen("the bars", |s| s.contains("ETA") && slot_rows(s) == 2);
        }
        File::create(sandbox.join("go")).expect("create go");
        let ended = run.wait();
        ended.code(0).shows("fanout: done: 6 items").no_bars();
        let tagged = mode.contains(&"--tag");
        for n in 1..=6 {
            for what in ["OUT", "ERR"] {
                let line = if tagged {
                    format!("{n}\t{what}-{n}").replace('\t', "    ")
                } else {
                    format!("{what}-{n}")
                };
                let found = if tagged {
                    ended
                        .screen
                        .lines()
                        .filter(|l| {
                            l.starts_with(&n.to_string())
                                && l.trim_end().ends_with(&format!("{what}-{n}"))
                        })
                        .count()
                } else {
                    ended.count(&line)
                };
                assert_eq!(
                    found, 1,
                    "mode {mode:?}: `{line}` appears {found} times\n--- screen ---\n{}",
                    ended.screen
                );
            }
        }
    }
}

/// Output that does not end with a newline is not erased by the next redraw
/// of the bars (nor glued to a bar): on the screen it ends its line.
#[test]
fn output_without_a_final_newline_stays_on_screen() {
    let job = format!(
        "{}; printf 'OUT-%s' \"$1\"; printf 'ERR-%s' \"$1\" >&2",
        sh_wait_for("go")
    );
    let modes: &[&[&str]] = &[&[], &["--output", "line"], &["-k"], &["--tag"]];
    for mode in modes {
        let sandbox = Sandbox::new();
        let mut args = vec!["-j2", "--no-journal"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["sh", "-c", &job, "_", "{}", ":::", "1", "2", "3", "4"]);
        let ended = go_once_the_bars_show(&sandbox, &args);
        ended.code(0).shows("fanout: done: 4 items").no_bars();
        for n in 1..=4 {
            for what in ["OUT", "ERR"] {
                let text = format!("{what}-{n}");
                let found = ended
                    .screen
                    .lines()
                    .filter(|l| l.trim_end().ends_with(&text))
                    .count();
                assert_eq!(
                    found, 1,
                    "mode {mode:?}: `{text}` ends {found} lines\n--- screen ---\n{}",
                    ended.screen
                );
            }
        }
    }
}

/// A `FAIL` note at the terminal follows the failed job's own output, also
/// when nothing else flushes that output first (no journal).
#[test]
fn a_fail_note_follows_the_output_it_explains() {
    let job = format!("{}; echo \"out-$1\"; exit 3", sh_wait_for("go"));
    let sandbox = Sandbox::new();
    let args = [
        "-j2",
        "--no-journal",
        "sh",
        "-c",
        &job,
        "_",
        "{}",
        ":::",
        "1",
        "2",
        "3",
    ];
    let ended = go_once_the_bars_show(&sandbox, &args);
    ended.code(1).no_bars();
    let lines: Vec<&str> = ended.screen.lines().collect();
    for n in 1..=3 {
        let out = format!("out-{n}");
        let note = format!("fanout: FAIL #{n} ");
        let at = |needle: &str| {
            lines
                .iter()
                .position(|l| l.trim_end() == needle || l.starts_with(needle))
        };
        let (out_at, note_at) = (at(&out), at(&note));
        assert!(
            out_at.is_some() && note_at.is_some() && out_at < note_at,
            "`{out}` (line {out_at:?}) must come before its note (line {note_at:?})\n--- screen ---\n{}",
            ended.screen
        );
    }
}

/// With `-k`, a failed item's `FAIL` note waits with its output: item 2
/// fails while item 1 still runs, and its note comes after its output,
/// once item 1's output is written.
#[test]
fn with_keep_order_a_fail_note_waits_for_its_output() {
    let job = format!(
        "if [ \"$1\" = 2 ]; then echo out-2; : > release; exit 3; fi; {}; echo out-1",
        sh_wait_for("release")
    );
    let sandbox = Sandbox::new();
    let args = [
        "-j2",
        "-k",
        "--no-journal",
        "sh",
        "-c",
        &job,
        "_",
        "{}",
        ":::",
        "1",
        "2",
    ];
    let ended = PtyRun::start(sandbox.path(), &args).wait();
    ended.code(1).no_bars();
    let lines: Vec<&str> = ended.screen.lines().map(str::trim_end).collect();
    let at = |needle: &str| lines.iter().position(|l| l.starts_with(needle));
    let order = [at("out-1"), at("out-2"), at("fanout: FAIL #2 ")];
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "out-1, out-2 and then the note for #2, in that order: {order:?}\n--- screen ---\n{}",
        ended.screen
    );
}

/// Ctrl-C while the bars are up: the bars go, the output stays.
#[test]
fn ctrl_c_clears_the_bars() {
    let sandbox = Sandbox::new();
    let job = format!(
        "echo OUT-$1; echo started > started.$1; {}",
        sh_wait_for("never")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "-j2",
            "--no-journal",
            "--output",
            "line",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
        ],
    );
    run.wait_screen("both jobs' output above the bars", |s| {
        s.contains("OUT-1") && s.contains("OUT-2") && s.contains("ETA") && slot_rows(s) == 2
    });
    run.send(b"\x03");
    let ended = run.wait();
    // At a terminal fanout dies by the signal itself, as a shell expects.
    assert_eq!(ended.status.signal(), Some(2), "{}", ended.screen);
    ended
        .shows("OUT-1")
        .shows("OUT-2")
        .shows("interrupted by SIGINT")
        .no_bars();
}

/// A running job's elapsed time ticks on the bars while nothing else
/// happens.
#[test]
fn running_jobs_elapsed_time_ticks() {
    let sandbox = Sandbox::new();
    let job = sh_wait_for("go");
    let run = PtyRun::start(
        sandbox.path(),
        &["-j1", "--no-journal", "sh", "-c", &job, ":::", "slow-item"],
    );
    run.wait_screen("the job's elapsed time at 1s", |s| {
        s.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "1s", "slow-item"])
    });
    File::create(sandbox.join("go")).expect("create go");
    run.wait().code(0).no_bars();
}

/// After Ctrl-C the bars say what the run waits for, and say it again as
/// jobs end; the second Ctrl-C is what kills.
#[test]
fn ctrl_c_shows_what_the_run_waits_for() {
    let sandbox = Sandbox::new();
    // The job outlives SIGINT until `release.N` exists.
    let job = format!(
        "trap 'echo got-int > int.$1' INT; : > trapped.$1; {}",
        sh_wait_for("release.$1")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "-j2",
            "--no-journal",
            "--grace",
            "60s",
            "sh",
            "-c",
            &job,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
        ],
    );
    // Both jobs are past their `trap` (so SIGINT does not end them).
    wait_until(
        "the jobs starting",
        || sandbox.exists("trapped.1") && sandbox.exists("trapped.2"),
        || format!("{:?}", sandbox.names()),
    );
    run.wait_screen("two running jobs", |s| {
        s.contains("ETA") && busy_rows(s) == 2
    });
    run.send(b"\x03");
    run.wait_for("stopping: waiting for 2 jobs (Ctrl-C again to kill)");
    File::create(sandbox.join("release.1")).expect("create release.1");
    run.wait_for("stopping: waiting for 1 job (Ctrl-C again to kill)");
    File::create(sandbox.join("release.2")).expect("create release.2");
    let ended = run.wait();
    assert_eq!(ended.status.signal(), Some(2), "{}", ended.screen);
    ended.shows("interrupted by SIGINT").no_bars();
}

/// The summary lists failures in input order, the first five of it, however
/// they finished.
#[test]
fn summary_lists_failures_in_input_order() {
    let sandbox = Sandbox::new();
    // Item 1 fails last: it waits until item 7 has started, which needs
    // items 2 to 6 finished on the other worker.
    let job = format!(
        "if [ $1 = 1 ]; then {}; fi; [ $1 = 7 ] && : > started.7; exit 1",
        sh_wait_for("started.7")
    );
    let run = sandbox
        .fanout()
        .args(["-j2", "--no-journal", "sh", "-c", &job, "_", "{}"])
        .items(["1", "2", "3", "4", "5", "6", "7"])
        .run();
    run.code(1);
    let listed: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FAIL #"))
        .map(|rest| rest.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(listed, ["1", "2", "3", "4", "5"], "{}", run.stderr);
    run.stderr_has("... and 2 more failures");
}

/// A job that reads the terminal is stopped by it (SIGTTIN: its process
/// group is not the foreground one): fanout fails it with a hint instead of
/// hanging, whether the job's own process or one it started reads.
#[test]
fn job_reading_the_terminal_fails_with_a_hint() {
    for job in ["read x </dev/tty; echo read-it", "cat /dev/tty; true"] {
        let sandbox = Sandbox::new();
        let run = PtyRun::start(
            sandbox.path(),
            &["--no-journal", "sh", "-c", job, ":::", "a"],
        );
        let ended = run.wait();
        ended
            .code(1)
            .shows("stopped: the job read from the terminal (SIGTTIN); use --tty")
            .no_bars();
        assert_eq!(ended.count("read-it"), 0, "{}", ended.screen);
    }
}

/// With `stty tostop`, a job writing to the terminal is stopped by it
/// (SIGTTOU): reported the same way.
#[test]
fn job_writing_the_terminal_with_tostop_fails_with_a_hint() {
    let sandbox = Sandbox::new();
    let run = PtyRun::start_with(
        sandbox.path(),
        &[
            "--no-journal",
            "sh",
            "-c",
            "echo hello >/dev/tty",
            ":::",
            "a",
        ],
        |slave| {
            let mut t = rustix::termios::tcgetattr(slave).expect("tcgetattr");
            t.local_modes |= rustix::termios::LocalModes::TOSTOP;
            rustix::termios::tcsetattr(slave, rustix::termios::OptionalActions::Now, &t)
                .expect("tcsetattr");
        },
    );
    run.wait().code(1).shows(
        "stopped: the job wrote to the terminal or changed its settings (SIGTTOU); use --tty",
    );
}

/// Ctrl-Z stops the jobs (fanout sends SIGSTOP to their groups): that is
/// not mistaken for a stop by the terminal, and `fg` (SIGCONT) goes on.
#[test]
fn ctrl_z_is_not_a_terminal_stop() {
    let sandbox = Sandbox::new();
    let job = format!(
        "echo $$ > pid; echo job-started; {}; echo done-waiting",
        sh_wait_for("go")
    );
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "--no-journal",
            "--no-progress",
            "--output",
            "line",
            "sh",
            "-c",
            &job,
            ":::",
            "a",
        ],
    );
    run.wait_for("job-started");
    let pid = parse_pid(&sandbox.read("pid"));
    run.send(b"\x1a");
    // The job's group is stopped by fanout, well past a stop check. Every
    // member, not only the shell: that shell may be waiting in `vfork` for a
    // `sleep` stopped before its `exec`, and stops only once it is continued.
    let seen = || format!("the job's group {:?}", group_states(pid));
    wait_until("the job stopping", || group_stopped(pid), seen);
    // As a shell does before `fg`: wait until fanout has stopped itself
    // (which it does after stopping the jobs), so SIGCONT follows the stop.
    wait_until(
        "fanout stopping",
        || stopped(run.pid()),
        || format!("{:?}", stat(run.pid())),
    );
    // Not a synchronisation: three of fanout's stop checks (200 ms apart)
    // must pass without it killing the job.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(alive(pid), "a job stopped by Ctrl-Z was killed");
    // No shell is here to `fg` fanout: continue it as `fg` would.
    send_signal(run.pid(), "CONT");
    File::create(sandbox.join("go")).expect("create go");
    let ended = run.wait();
    ended.code(0).shows("done-waiting");
    assert!(!ended.screen.contains("stopped:"), "{}", ended.screen);
}

/// `--tty`: each job in turn holds the terminal (its stdin, its foreground)
/// and can prompt and read; fanout gets it back after each.
#[test]
fn tty_jobs_read_the_terminal_one_at_a_time() {
    let sandbox = Sandbox::new();
    let job = "printf 'ask-%s\\n' \"$1\"; read x; echo \"got-$1-$x\"";
    let mut run = PtyRun::start(
        sandbox.path(),
        &[
            "--tty",
            "--no-journal",
            "sh",
            "-c",
            job,
            "_",
            "{}",
            ":::",
            "a",
            "b",
        ],
    );
    run.wait_for("ask-a");
    run.send(b"one\r");
    run.wait_for("ask-b");
    run.send(b"two\r");
    run.wait()
        .code(0)
        .shows("got-a-one")
        .shows("got-b-two")
        .shows("fanout: done: 2 items");
}

/// `--tty` needs a terminal, and more than one job at a time is refused.
#[test]
fn tty_needs_a_terminal_and_one_job() {
    let sandbox = Sandbox::new();
    // `setsid` makes sure fanout has no controlling terminal, even when the
    // tests run at one.
    let out = harness_env(&mut Command::new("setsid"))
        .args(["-w", bin(), "--tty", "--no-journal", "true", ":::", "a"])
        .current_dir(sandbox.path())
        .stdin(Stdio::null())
        .output()
        .expect("run setsid");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tty: fanout is not at a terminal"),
        "{stderr}"
    );
    sandbox
        .fanout()
        .args(["--tty", "-j2", "true"])
        .items(["a"])
        .run()
        .code(2)
        .stderr_has("--tty runs one job at a time");
}
