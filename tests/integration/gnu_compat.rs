//! GNU parallel's own examples (`man parallel_tutorial`, `man
//! parallel_examples`, `man parallel`) run through fanout under the name
//! `parallel` and compared with GNU parallel on the same machine: stdout
//! (sorted lines where GNU's own order is not deterministic) and the exit
//! status.
//!
//! The cases are data: `tests/gnu_compat/cases.txt` (format at its top).
//! Each runs as a bash script in a fresh directory whose `bin/parallel` is
//! the program under test, first on PATH. GNU's results are recorded in
//! `tests/gnu_compat/gnu.jsonl`, so a machine without GNU parallel compares
//! against the recording; with GNU parallel on PATH, fanout is compared with
//! it live, and the recording must agree with it when the versions match.
//! Under `CI=true` a missing GNU parallel is an error (`.ci/run` installs it);
//! `GNU_COMPAT=recorded` uses the recording even where GNU is installed.
//!
//! `match` cases must match. `pending: FEATURE` cases wait for a feature
//! being built (the test says when one matches, so it can be flipped);
//! `differs: REASON` and `unsupported: REASON` are deliberate or known gaps.
//!
//! - `cargo test --test integration gnu_compat_status -- --ignored --nocapture`
//!   prints every case's verdict now;
//! - `cargo test --test integration gnu_compat_record -- --ignored` records
//!   GNU's results again (after adding cases, or for a new GNU version).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::util::{bin, state_home};

/// How long one case may run on one side before it is killed (a pending
/// feature may make fanout wait on stdin or run something long).
const CASE_LIMIT: Duration = Duration::from_secs(30);

/// Cases run at once.
const THREADS: usize = 3;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gnu_compat")
}

/// What a case is expected to do in fanout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Match,
    Pending(String),
    Differs(String),
    Unsupported(String),
}

impl Expect {
    fn parse(text: &str) -> Result<Expect, String> {
        let (kind, reason) = text.split_once(':').unwrap_or((text, ""));
        let reason = reason.trim().to_owned();
        let need = |e: fn(String) -> Expect| {
            if reason.is_empty() {
                Err(format!("`{kind}` needs a reason after a colon"))
            } else {
                Ok(e(reason.clone()))
            }
        };
        match kind.trim() {
            "match" => Ok(Expect::Match),
            "pending" => need(Expect::Pending),
            "differs" => need(Expect::Differs),
            "unsupported" => need(Expect::Unsupported),
            other => Err(format!("unknown expectation `{other}`")),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Expect::Match => "match",
            Expect::Pending(_) => "pending",
            Expect::Differs(_) => "differs",
            Expect::Unsupported(_) => "unsupported",
        }
    }
}

/// How stdout is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Exact,
    Sorted,
}

/// One example.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    source: String,
    setup: String,
    run: String,
    check: String,
    stdin: Option<String>,
    order: Order,
    expect: Expect,
}

/// Reads `cases.txt`: blocks that start with `[name]`, then `key: value`
/// lines (`setup`, `run` and `check` may repeat: their lines are joined
/// with newlines); `#` lines are comments.
fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut fields: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut name: Option<(String, usize)> = None;
    let mut finish = |name: Option<(String, usize)>, fields: &mut BTreeMap<&str, Vec<String>>| {
        let Some((name, line)) = name else { return };
        let one = |key: &str| fields.get(key).map(|v| v.join("\n"));
        let at = format!("cases.txt:{line} [{name}]");
        let run = one("run").unwrap_or_else(|| panic!("{at}: no `run:`"));
        let order = match one("order").as_deref() {
            None | Some("exact") => Order::Exact,
            Some("sorted") => Order::Sorted,
            Some(other) => panic!("{at}: order `{other}` (exact or sorted)"),
        };
        let expect = Expect::parse(&one("expect").unwrap_or_else(|| panic!("{at}: no `expect:`")))
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(
            cases.iter().all(|c| c.name != name),
            "{at}: the name is used twice"
        );
        cases.push(Case {
            name,
            source: one("source").unwrap_or_else(|| panic!("{at}: no `source:`")),
            setup: one("setup").unwrap_or_default(),
            run,
            check: one("check").unwrap_or_default(),
            stdin: one("stdin").map(|s| s.replace("\\n", "\n")),
            order,
            expect,
        });
        fields.clear();
    };
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            finish(name.take(), &mut fields);
            let case = rest
                .strip_suffix(']')
                .unwrap_or_else(|| panic!("cases.txt:{}: `[name]` expected", number + 1));
            name = Some((case.to_owned(), number + 1));
            continue;
        }
        let (key, value) = line.split_once(':').unwrap_or_else(|| {
            panic!(
                "cases.txt:{}: `key: value` expected, got `{line}`",
                number + 1
            )
        });
        let key = key.trim();
        let known = [
            "source", "setup", "run", "check", "stdin", "order", "expect",
        ];
        let key = known
            .iter()
            .find(|k| **k == key)
            .unwrap_or_else(|| panic!("cases.txt:{}: unknown key `{key}`", number + 1));
        fields
            .entry(key)
            .or_default()
            .push(value.strip_prefix(' ').unwrap_or(value).to_owned());
    }
    finish(name, &mut fields);
    cases
}

fn cases() -> Vec<Case> {
    let path = compat_dir().join("cases.txt");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_cases(&text)
}

/// What one side printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Outcome {
    /// The exit status, or 128 + a signal; -1 when the case was killed.
    exit: i32,
    stdout: String,
}

impl Outcome {
    /// Stdout as compared: exact, or its lines sorted.
    fn compared(&self, order: Order) -> (i32, String) {
        let stdout = match order {
            Order::Exact => self.stdout.clone(),
            Order::Sorted => {
                let mut lines: Vec<&str> = self.stdout.lines().collect();
                lines.sort_unstable();
                lines.join("\n")
            }
        };
        (self.exit, stdout)
    }
}

/// GNU parallel on PATH, with its version, if it is there.
fn gnu_parallel() -> Option<(PathBuf, String)> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("parallel");
        let Ok(output) = Command::new(&candidate)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let Some(first) = text.lines().next() else {
            continue;
        };
        if let Some(version) = first.strip_prefix("GNU parallel ") {
            return Some((candidate, version.trim().to_owned()));
        }
    }
    None
}

/// Runs one case with `program` as `parallel`, in a fresh directory.
fn run_case(case: &Case, program: &Path) -> Outcome {
    let dir = TempDir::with_prefix("fanout-compat-").expect("create a case directory");
    let work = dir.path().join("work");
    let bin_dir = dir.path().join("bin");
    let home = dir.path().join("home");
    for d in [&work, &bin_dir, &home] {
        fs::create_dir(d).expect("create a case directory");
    }
    std::os::unix::fs::symlink(program, bin_dir.join("parallel")).expect("link parallel");
    let path = match std::env::var_os("PATH") {
        Some(rest) => {
            let mut dirs = vec![bin_dir.clone()];
            dirs.extend(std::env::split_paths(&rest));
            std::env::join_paths(dirs).expect("join PATH")
        }
        None => bin_dir.clone().into_os_string(),
    };
    let script = |text: &str| {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(text)
            .current_dir(&work)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .env("XDG_STATE_HOME", state_home())
            .env("SHELL", "/bin/bash")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("PARALLEL")
            .env_remove("PARALLEL_HOME")
            .process_group(0);
        cmd
    };
    if !case.setup.is_empty() {
        let status = script(&case.setup)
            .stdin(Stdio::null())
            .status()
            .expect("run a case's setup");
        assert!(status.success(), "[{}]: the setup failed", case.name);
    }
    let mut outcome = run_limited(script(&case.run), case.stdin.as_deref());
    if !case.check.is_empty() {
        let check = run_limited(script(&case.check), None);
        outcome.stdout.push_str(&check.stdout);
    }
    outcome
}

/// Runs `cmd` (its own process group) with `stdin`, killing the group
/// after [`CASE_LIMIT`].
fn run_limited(mut cmd: Command, stdin: Option<&str>) -> Outcome {
    let stdin_file = tempfile::tempfile().expect("create a stdin file");
    if let Some(text) = stdin {
        use std::io::{Seek, Write};
        let mut f = &stdin_file;
        f.write_all(text.as_bytes()).expect("write stdin");
        f.rewind().expect("rewind stdin");
    }
    let mut child = cmd
        .stdin(stdin_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bash");
    let mut stdout = child.stdout.take().expect("stdout pipe");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + CASE_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for a case") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The group is gone (or finished): nothing holds the pipe past it but a
    // stray background job, which the kill above also ended.
    let bytes = reader.join().unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    let exit = match status {
        Some(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
        None => -1,
    };
    Outcome {
        exit,
        stdout: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The recording: GNU's version, then one result per case.
#[derive(Debug, Default)]
struct Recording {
    version: String,
    results: BTreeMap<String, Outcome>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RecordedLine {
    case: String,
    exit: i32,
    stdout: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RecordedHeader {
    gnu_parallel: String,
}

fn recording_path() -> PathBuf {
    compat_dir().join("gnu.jsonl")
}

fn read_recording() -> Recording {
    let Ok(text) = fs::read_to_string(recording_path()) else {
        return Recording::default();
    };
    let mut lines = text.lines();
    let mut recording = Recording::default();
    if let Some(first) = lines.next() {
        let header: RecordedHeader = serde_json::from_str(first).expect("gnu.jsonl: a header");
        recording.version = header.gnu_parallel;
    }
    for line in lines {
        let r: RecordedLine = serde_json::from_str(line).expect("gnu.jsonl: a result line");
        recording.results.insert(
            r.case,
            Outcome {
                exit: r.exit,
                stdout: r.stdout,
            },
        );
    }
    recording
}

/// Runs `work` for every case, [`THREADS`] at a time, in case order.
fn for_each_case<T: Send>(cases: &[Case], work: impl Fn(&Case) -> T + Sync) -> Vec<T> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut next = next.lock().unwrap();
                        let i = *next;
                        *next += 1;
                        i
                    };
                    let Some(case) = cases.get(i) else { break };
                    let result = work(case);
                    results.lock().unwrap()[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}

/// One case's verdict.
struct Verdict {
    name: String,
    expect: Expect,
    matches: bool,
    detail: String,
}

/// Compares fanout with GNU (live, or the recording) for every case.
fn verdicts() -> (Vec<Verdict>, Vec<String>, &'static str) {
    let cases = cases();
    let recording = read_recording();
    // GNU_COMPAT=recorded compares with the recording even where GNU is
    // installed (to check what a machine without it does).
    let recorded_only = std::env::var_os("GNU_COMPAT").is_some_and(|v| v == "recorded");
    let installed = gnu_parallel();
    let ci = std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1");
    if installed.is_none() && ci {
        panic!("GNU parallel is not on PATH, and CI=true needs it (.ci/run installs it)");
    }
    let gnu = installed.filter(|_| !recorded_only);
    let mut problems = Vec::new();
    let against = if gnu.is_some() {
        "GNU parallel, live"
    } else {
        "the recording of GNU parallel"
    };
    let fanout = PathBuf::from(bin());
    let results = for_each_case(&cases, |case| {
        let ours = run_case(case, &fanout);
        // GNU runs live where the verdict counts (`match`, and `pending`
        // to say when one can be flipped); the rest use the recording,
        // which keeps the test's time down (GNU starts slowly).
        let live = matches!(case.expect, Expect::Match | Expect::Pending(_))
            || !recording.results.contains_key(&case.name);
        let theirs = gnu
            .as_ref()
            .filter(|_| live)
            .map(|(path, _)| run_case(case, path));
        (ours, theirs)
    });
    let mut verdicts = Vec::new();
    for (case, (ours, theirs)) in cases.iter().zip(results) {
        let recorded = recording.results.get(&case.name);
        let reference = match (&theirs, recorded) {
            (Some(live), recorded) => {
                let same_version = gnu.as_ref().is_some_and(|(_, v)| *v == recording.version);
                match recorded {
                    Some(r)
                        if same_version && r.compared(case.order) != live.compared(case.order) =>
                    {
                        problems.push(format!(
                            "[{}]: the recording differs from GNU parallel {} run now \
                             (recorded {:?}, now {:?}): record again (gnu_compat_record)",
                            case.name, recording.version, r, live
                        ));
                    }
                    None => problems.push(format!(
                        "[{}]: no recording of GNU's result: record it (gnu_compat_record)",
                        case.name
                    )),
                    _ => {}
                }
                live.clone()
            }
            (None, Some(recorded)) => recorded.clone(),
            (None, None) => {
                problems.push(format!(
                    "[{}]: no recording of GNU's result and no GNU parallel to run",
                    case.name
                ));
                continue;
            }
        };
        let matches = ours.compared(case.order) == reference.compared(case.order);
        verdicts.push(Verdict {
            name: case.name.clone(),
            expect: case.expect.clone(),
            matches,
            detail: format!(
                "source: {}\nrun: {}\n--- GNU (exit {}):\n{}--- fanout (exit {}):\n{}",
                case.source, case.run, reference.exit, reference.stdout, ours.exit, ours.stdout
            ),
        });
    }
    (verdicts, problems, against)
}

/// Counts by expectation, and how many of each match now.
fn counts(verdicts: &[Verdict]) -> String {
    let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for v in verdicts {
        let entry = by.entry(v.expect.label()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(v.matches);
    }
    let parts: Vec<String> = by
        .iter()
        .map(|(label, (n, matching))| format!("{label} {n} ({matching} matching now)"))
        .collect();
    format!("{} cases: {}", verdicts.len(), parts.join(", "))
}

#[test]
fn gnu_parallel_examples_match() {
    let (verdicts, mut problems, against) = verdicts();
    for v in &verdicts {
        if v.expect == Expect::Match && !v.matches {
            problems.push(format!(
                "[{}] is `match` but differs from GNU:\n{}",
                v.name, v.detail
            ));
        }
    }
    let flip: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.expect != Expect::Match && v.matches)
        .map(|v| v.name.as_str())
        .collect();
    println!("gnu_compat against {against}: {}", counts(&verdicts));
    if !flip.is_empty() {
        println!("gnu_compat: these match now, flip them to `match`: {flip:?}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every case's verdict (`-- --ignored --nocapture`).
#[test]
#[ignore = "a report: run with --ignored --nocapture"]
fn gnu_compat_status() {
    let (verdicts, problems, against) = verdicts();
    for v in &verdicts {
        let now = if v.matches { "matches" } else { "differs" };
        let reason = match &v.expect {
            Expect::Match => String::new(),
            Expect::Pending(r) | Expect::Differs(r) | Expect::Unsupported(r) => format!(" ({r})"),
        };
        println!("{:<40} {:<12} {now}{reason}", v.name, v.expect.label());
        if !v.matches {
            for line in v.detail.lines() {
                println!("    {line}");
            }
        }
    }
    for p in &problems {
        println!("problem: {p}");
    }
    println!("against {against}: {}", counts(&verdicts));
}

/// Records GNU's result for every case in `tests/gnu_compat/gnu.jsonl`.
#[test]
#[ignore = "needs GNU parallel; writes tests/gnu_compat/gnu.jsonl"]
fn gnu_compat_record() {
    let (gnu, version) = gnu_parallel().expect("GNU parallel on PATH");
    let cases = cases();
    let results = for_each_case(&cases, |case| run_case(case, &gnu));
    let mut text = serde_json::to_string(&RecordedHeader {
        gnu_parallel: version,
    })
    .expect("JSON");
    text.push('\n');
    for (case, outcome) in cases.iter().zip(results) {
        let line = RecordedLine {
            case: case.name.clone(),
            exit: outcome.exit,
            stdout: outcome.stdout,
        };
        text.push_str(&serde_json::to_string(&line).expect("JSON"));
        text.push('\n');
    }
    fs::write(recording_path(), text).expect("write gnu.jsonl");
}
