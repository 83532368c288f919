//! Job output: grouping (whole jobs, stdout then stderr), whole lines,
//! raw passthrough, `--tag`, large outputs (intact, and no temp files left),
//! and a closed stdout ending the run quietly.
//!
//! The two-job tests run the jobs in lock step through marker files: job a
//! writes round i, touches `a.i` and waits for `b.i` (and vice versa). So a
//! fanout that passed output through unbuffered would interleave the jobs
//! every time, not just sometimes.

use std::io::{BufRead as _, BufReader};

use crate::util::{Sandbox, bin, harness_env, names_in, sh_wait_for, wait_until};

/// A job in lock step with its partner, writing `ME out i` to stdout and
/// `ME err i` to stderr in each of three rounds.
fn lockstep_script() -> String {
    format!(
        "me=$1; if [ \"$me\" = a ]; then o=b; else o=a; fi; \
         for i in 1 2 3; do echo \"$me out $i\"; echo \"$me err $i\" >&2; touch \"$me.$i\"; {}; done",
        sh_wait_for("\"$o.$i\"")
    )
}

fn block(me: &str) -> Vec<String> {
    let mut lines: Vec<String> = (1..=3).map(|i| format!("{me} out {i}")).collect();
    lines.extend((1..=3).map(|i| format!("{me} err {i}")));
    lines
}

#[test]
fn group_writes_each_job_whole_stdout_then_stderr() {
    let sb = Sandbox::new();
    let script = lockstep_script();
    let ended = sb
        .fanout()
        .args(["-j", "2", "sh", "-c", &script, "_", "{}"])
        .items(["a", "b"])
        .merged()
        .spawn()
        .wait();
    ended.code(0);
    let lines: Vec<String> = ended.stdout.lines().map(str::to_owned).collect();
    let ab: Vec<String> = [block("a"), block("b")].concat();
    let ba: Vec<String> = [block("b"), block("a")].concat();
    assert!(
        lines.len() >= 12 && (lines[..12] == ab[..] || lines[..12] == ba[..]),
        "jobs interleaved, or stderr came before stdout:\n{}",
        ended.stdout
    );
}

#[test]
fn ungroup_passes_output_through_as_it_is_written() {
    let sb = Sandbox::new();
    let script = lockstep_script();
    let ended = sb
        .fanout()
        .args([
            "-j", "2", "--output", "ungroup", "sh", "-c", &script, "_", "{}",
        ])
        .items(["a", "b"])
        .merged()
        .spawn()
        .wait();
    ended.code(0);
    let lines: Vec<String> = ended.stdout.lines().map(str::to_owned).collect();
    assert!(lines.len() >= 12, "missing output:\n{}", ended.stdout);
    // Round i of both jobs is written before round i+1 of either.
    for (round, chunk) in lines[..12].chunks(4).enumerate() {
        let mut got = chunk.to_vec();
        got.sort();
        let i = round + 1;
        let mut want = vec![
            format!("a out {i}"),
            format!("a err {i}"),
            format!("b out {i}"),
            format!("b err {i}"),
        ];
        want.sort();
        assert_eq!(
            got, want,
            "ungrouped output was held back:\n{}",
            ended.stdout
        );
    }
}

#[test]
fn line_mode_never_splits_a_line() {
    // Each job writes half a line, waits until the other has written its
    // half, then ends the line: raw output would read `a-begin b-begin ...`.
    let script = format!(
        "me=$1; if [ \"$me\" = a ]; then o=b; else o=a; fi; \
         for i in 1 2; do printf '%s-begin-%s ' \"$me\" $i; touch \"$me.$i\"; {}; \
         printf '%s-end-%s\\n' \"$me\" $i; done",
        sh_wait_for("\"$o.$i\"")
    );
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "-j", "2", "--output", "line", "sh", "-c", &script, "_", "{}",
        ])
        .items(["a", "b"])
        .run()
        .code(0)
        .lines_any_order(&[
            "a-begin-1 a-end-1",
            "a-begin-2 a-end-2",
            "b-begin-1 b-end-1",
            "b-begin-2 b-end-2",
        ]);
}

#[test]
fn tag_prefixes_every_line_with_the_item_and_a_tab() {
    for mode in ["group", "line", "ungroup"] {
        let sb = Sandbox::new();
        let run = sb
            .fanout()
            .args([
                "--tag",
                "--output",
                mode,
                "sh",
                "-c",
                "echo one; echo two",
                "_",
                "{}",
            ])
            .items(["a", "b c"])
            .run();
        run.code(0)
            .lines_any_order(&["a\tone", "a\ttwo", "b c\tone", "b c\ttwo"]);
    }
}

#[test]
fn fifty_megabytes_arrive_intact_and_no_temp_file_is_left() {
    let sb = Sandbox::new();
    let tmp = tempfile::tempdir().expect("create a TMPDIR");
    let run = sb
        .fanout()
        .env("TMPDIR", tmp.path())
        .args(["sh", "-c", "head -c 50000000 /dev/zero", "_", "{}"])
        .items(["x"])
        .run();
    run.code(0);
    assert_eq!(run.stdout.len(), 50_000_000, "output bytes");
    assert!(run.stdout.iter().all(|&b| b == 0), "output bytes changed");
    let left = names_in(tmp.path());
    assert!(left.is_empty(), "files left in TMPDIR: {left:?}");
}

#[test]
fn large_outputs_of_concurrent_jobs_stay_whole() {
    let sb = Sandbox::new();
    let tmp = tempfile::tempdir().expect("create a TMPDIR");
    const SIZE: usize = 8_000_000;
    let script = format!("head -c {SIZE} /dev/zero | tr '\\000' \"$1\"");
    let run = sb
        .fanout()
        .env("TMPDIR", tmp.path())
        .args(["-j", "3", "sh", "-c", &script, "_", "{}"])
        .items(["a", "b", "c"])
        .run();
    run.code(0);
    assert_eq!(run.stdout.len(), 3 * SIZE, "output bytes");
    let mut letters = Vec::new();
    for chunk in run.stdout.chunks(SIZE) {
        let first = chunk[0];
        assert!(
            chunk.iter().all(|&b| b == first),
            "the outputs of jobs interleaved"
        );
        letters.push(first);
    }
    letters.sort_unstable();
    assert_eq!(letters, b"abc");
    let left = names_in(tmp.path());
    assert!(left.is_empty(), "files left in TMPDIR: {left:?}");
}

#[test]
fn closed_stdout_ends_the_run_quietly() {
    for extra in [&["--output", "group"][..], &["--output", "line"], &["-k"]] {
        let sb = Sandbox::new();
        let items: Vec<String> = (1..=1000).map(|n| n.to_string()).collect();
        let mut running = sb
            .fanout()
            .args(["-j", "2"])
            .args(extra)
            .args(["sh", "-c", "touch ran.$FANOUT_SEQ; seq 1 2000", "_", "{}"])
            .items(&items)
            .pipe_stdout()
            .spawn();
        let stdout = running.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("read the first line");
        assert_eq!(first, "1\n");
        drop(reader);
        let ended = running.wait();
        let lower = ended.stderr.to_lowercase();
        assert!(
            !lower.contains("broken pipe") && !lower.contains("error"),
            "{extra:?}: a closed stdout is not an error:\n{}",
            ended.dump()
        );
        ended.code(0);
        let ran = sb.names().iter().filter(|n| n.starts_with("ran.")).count();
        assert!(
            ran < items.len(),
            "{extra:?}: the run went on after stdout closed ({ran} jobs ran)"
        );
    }
}

/// The peak memory (VmHWM, in kB) of a live process, from `/proc`.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

#[test]
fn a_huge_line_streams_in_bounded_memory_in_every_mode() {
    // One 128 MiB line, then a job that holds the run open (on a file the
    // test creates) so fanout's peak memory is read while it still runs.
    const BIG: u64 = 128 << 20;
    const LIMIT_KB: u64 = 64 * 1024;
    let script = format!(
        "if [ \"$1\" = big ]; then head -c {BIG} /dev/zero | tr '\\000' a; echo; \
         else {}; echo done; fi",
        sh_wait_for("release")
    );
    let modes: [&[&str]; 6] = [
        &["--output", "group"],
        &["--output", "group", "-k"],
        &["--output", "line"],
        &["--output", "line", "-k"],
        &["--output", "ungroup"],
        &["--output", "ungroup", "-k"],
    ];
    for tag in [true, false] {
        for mode in modes {
            let (big, hold): (&[u8], &[u8]) = if tag {
                (b"big\t", b"hold\t")
            } else {
                (b"", b"")
            };
            let sb = Sandbox::new();
            let out = sb.join("out");
            let first = big.len() as u64 + BIG + 1;
            let expected = first + hold.len() as u64 + "done\n".len() as u64;
            let running = sb
                .fanout()
                .args(["--no-journal", "-j", "1"])
                .args(tag.then_some("--tag"))
                .args(mode)
                .args(["sh", "-c", &script, "_", "{}"])
                .items(["big", "hold"])
                .stdout_to(out.clone())
                .spawn();
            let written = || std::fs::metadata(&out).map_or(0, |m| m.len());
            wait_until(
                &format!("{mode:?} tag={tag}: the big line being written"),
                || written() >= first,
                || format!("{} bytes", written()),
            );
            let peak = peak_rss_kb(running.pid());
            sb.write("release", "");
            running.wait().code(0);
            assert!(
                peak < LIMIT_KB,
                "{mode:?} tag={tag}: fanout's peak RSS was {peak} kB for a {BIG}-byte line"
            );
            // Byte-exact: one prefix at the start of the line, none inside it.
            let bytes = std::fs::read(&out).expect("read the output");
            assert_eq!(
                bytes.len() as u64,
                expected,
                "{mode:?} tag={tag}: output length"
            );
            assert_eq!(&bytes[..big.len()], big, "{mode:?} tag={tag}");
            let line_end = big.len() + BIG as usize;
            assert!(
                bytes[big.len()..line_end].iter().all(|&b| b == b'a'),
                "{mode:?} tag={tag}: the line was cut or prefixed inside"
            );
            assert_eq!(&bytes[line_end..line_end + 1], b"\n", "{mode:?} tag={tag}");
            assert_eq!(&bytes[line_end + 1..line_end + 1 + hold.len()], hold);
            assert_eq!(&bytes[line_end + 1 + hold.len()..], b"done\n");
        }
    }
}

/// Runs fanout with `args` and `TMPDIR` on a tiny tmpfs mounted in a private
/// mount namespace (`unshare -rm`: works as root and, where user namespaces
/// are allowed, as anyone). `None` when this machine allows neither.
fn with_full_tmpdir(sb: &Sandbox, args: &[&str]) -> Option<std::process::Output> {
    let tmp = sb.join("tmp");
    std::fs::create_dir(&tmp).expect("create tmp");
    let mount = r#"mount -t tmpfs -o size=64k fanout-test "$1" || exit 77; shift; exec "$@""#;
    let probe = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", mount, "_"])
        .arg(&tmp)
        .arg("true")
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let output = harness_env(&mut std::process::Command::new("unshare"))
        .args(["-rm", "sh", "-c", mount, "_"])
        .arg(&tmp)
        .arg(bin())
        .args(args)
        .current_dir(sb.path())
        .env("TMPDIR", &tmp)
        .output()
        .expect("run fanout under unshare");
    Some(output)
}

#[test]
fn a_full_tmpdir_is_reported_naming_the_directory() {
    let sb = Sandbox::new();
    let Some(output) = with_full_tmpdir(
        &sb,
        &[
            "--no-progress",
            "--no-journal",
            "sh",
            "-c",
            "head -c 1000000 /dev/zero",
            "_",
            "{}",
            ":::",
            "x",
        ],
    ) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root or user namespaces)");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tmp = sb.join("tmp");
    assert!(
        stderr.contains(&format!(
            "fanout's capture file in `{}` could not be written: no space left on device",
            tmp.display()
        )),
        "the summary must say why the output is missing:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}
