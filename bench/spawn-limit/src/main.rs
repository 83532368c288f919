//! spawn-limit: the cheapest job dispatcher that std can express, used as the floor
//! that fanout's dispatch overhead is measured against (see ../../BENCHMARKS.md).
//!
//! ```text
//! spawn-limit run [-j N] [--capture|--inherit] [-a FILE] PROG [ARGS...]   < items
//! spawn-limit emit BYTES [IGNORED...]
//! spawn-limit bench N
//! ```
//!
//! `run` reads every item (one per line) first, then N threads each loop over
//! "take the next item -> `Command::new(PROG).args(ARGS).arg(ITEM)`, stdin null,
//! stdout null, stderr inherited -> `.status()`". Nothing else happens between jobs:
//! no scheduling, no output handling, no bookkeeping beyond an atomic index and a
//! failure counter. With `--capture` the child's stdout is a pipe that is read to
//! the end and written to our stdout (fd 1, unbuffered, under a mutex) when the
//! job ends, i.e. the cheapest possible "grouped" output. With `--inherit` the
//! child writes straight to our stdout (the floor of "ungrouped" output).
//! `-a FILE` reads the items from FILE instead of stdin.
//!
//! `emit` writes BYTES bytes of 80-byte text lines to stdout and ignores the rest
//! of its arguments (so every runner can append the item): the job of the output
//! throughput benchmark.
//!
//! `bench` prints the spawn rate of a few variants over N generated items.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!(
        "usage: spawn-limit run [-j N] [--capture|--inherit] [-a FILE] PROG [ARGS...] < items\n       \
         spawn-limit emit BYTES [IGNORED...]\n       spawn-limit bench N"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("emit") => emit(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => usage(),
    }
}

/// fd 1 as an unbuffered File that is never closed.
fn raw_stdout() -> ManuallyDrop<File> {
    // SAFETY: fd 1 is open for the life of the process and ManuallyDrop never closes it.
    ManuallyDrop::new(unsafe { File::from_raw_fd(1) })
}

#[derive(Clone, Copy, PartialEq)]
enum Out {
    Null,
    Capture,
    Inherit,
}

struct Spec {
    jobs: usize,
    out: Out,
    prog: String,
    args: Vec<String>,
}

fn run(args: &[String]) -> ExitCode {
    let mut jobs = 2;
    let mut out = Out::Null;
    let mut input: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-j" => {
                i += 1;
                jobs = match args.get(i).and_then(|s| s.parse().ok()) {
                    Some(n) if n > 0 => n,
                    _ => return usage(),
                };
            }
            s if s.starts_with("-j") => {
                jobs = match s[2..].parse() {
                    Ok(n) if n > 0 => n,
                    _ => return usage(),
                };
            }
            "--capture" => out = Out::Capture,
            "--inherit" => out = Out::Inherit,
            "-a" => {
                i += 1;
                match args.get(i) {
                    Some(f) => input = Some(f.clone()),
                    None => return usage(),
                }
            }
            _ => break,
        }
        i += 1;
    }
    let Some(prog) = args.get(i).cloned() else {
        return usage();
    };
    let spec = Spec {
        jobs,
        out,
        prog,
        args: args[i + 1..].to_vec(),
    };

    let reader: Box<dyn BufRead> = match &input {
        Some(f) => match File::open(f) {
            Ok(f) => Box::new(io::BufReader::new(f)),
            Err(e) => {
                eprintln!("spawn-limit: {f}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let mut items = Vec::new();
    for line in reader.lines() {
        match line {
            Ok(l) => items.push(l),
            Err(e) => {
                eprintln!("spawn-limit: reading items: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let failed = dispatch(&spec, &items, &mut raw_stdout());
    if failed > 0 {
        eprintln!("spawn-limit: {failed} of {} jobs failed", items.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs every item on `spec.jobs` threads; returns the number of failed jobs.
fn dispatch(spec: &Spec, items: &[String], sink: &mut File) -> usize {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let out = Mutex::new(sink);
    std::thread::scope(|s| {
        for _ in 0..spec.jobs {
            s.spawn(|| {
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let mut cmd = Command::new(&spec.prog);
                    cmd.args(&spec.args).arg(item).stdin(Stdio::null());
                    let ok = if spec.out == Out::Capture {
                        cmd.stdout(Stdio::piped());
                        match cmd.spawn() {
                            Ok(mut child) => {
                                buf.clear();
                                let read = child.stdout.take().unwrap().read_to_end(&mut buf);
                                let status = child.wait();
                                if !buf.is_empty() {
                                    let mut o = out.lock().unwrap();
                                    let _ = o.write_all(&buf);
                                }
                                read.is_ok() && status.is_ok_and(|s| s.success())
                            }
                            Err(_) => false,
                        }
                    } else {
                        if spec.out == Out::Null {
                            cmd.stdout(Stdio::null());
                        }
                        cmd.status().is_ok_and(|s| s.success())
                    };
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    failed.into_inner()
}

fn emit(args: &[String]) -> ExitCode {
    let Some(bytes) = args.first().and_then(|s| s.parse::<usize>().ok()) else {
        return usage();
    };
    let mut line = [b'x'; 80];
    line[79] = b'\n';
    let chunk: Vec<u8> = line.iter().copied().cycle().take(80 * 1024).collect();
    let mut out = raw_stdout();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        if out.write_all(&chunk[..n]).is_err() {
            return ExitCode::from(1);
        }
        left -= n;
    }
    ExitCode::SUCCESS
}

fn bench(args: &[String]) -> ExitCode {
    let Some(n) = args.first().and_then(|s| s.parse::<usize>().ok()) else {
        return usage();
    };
    let items: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let variants: Vec<(&str, Spec)> = vec![
        (
            "(a) /bin/true, sequential (1 thread)",
            Spec {
                jobs: 1,
                out: Out::Null,
                prog: "/bin/true".into(),
                args: vec![],
            },
        ),
        (
            "(b) /bin/true, 2 threads",
            Spec {
                jobs: 2,
                out: Out::Null,
                prog: "/bin/true".into(),
                args: vec![],
            },
        ),
        (
            "(c) sh -c true, 2 threads",
            Spec {
                jobs: 2,
                out: Out::Null,
                prog: "/bin/sh".into(),
                args: s(&["-c", "true"]),
            },
        ),
        (
            "(x) /bin/true, 4 threads",
            Spec {
                jobs: 4,
                out: Out::Null,
                prog: "/bin/true".into(),
                args: vec![],
            },
        ),
        (
            "(y) /bin/echo ITEM, 2 threads, stdout piped and copied",
            Spec {
                jobs: 2,
                out: Out::Capture,
                prog: "/bin/echo".into(),
                args: vec![],
            },
        ),
    ];
    // The captured output of (y) goes to /dev/null, not to the report.
    let mut null = match File::options().write(true).open("/dev/null") {
        Ok(f) => f,
        Err(e) => {
            eprintln!("spawn-limit: /dev/null: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = String::new();
    report.push_str(&format!(
        "spawn-limit bench {n}\n\n| variant | jobs/s | us/job (wall) |\n|---|---:|---:|\n"
    ));
    for (name, spec) in &variants {
        let t = Instant::now();
        let failed = dispatch(spec, &items, &mut null);
        let secs = t.elapsed().as_secs_f64();
        report.push_str(&format!(
            "| {name} | {:.0} | {:.0} |{}\n",
            n as f64 / secs,
            secs * 1e6 / n as f64,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            }
        ));
    }
    print!("{report}");
    ExitCode::SUCCESS
}
