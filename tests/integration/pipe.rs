//! `--pipe` and `--pipe-part` (issue 11) through the real binary: blocks cut
//! at record ends and fed to jobs' stdin. Property checks over seeded random
//! inputs (any bytes, empty and long lines, several record separators) and
//! block sizes: `-k cat` gives the input back byte for byte, `wc -l` sums to
//! its newline count, and every block is exactly where the cut rule puts
//! it, from a pipe on stdin, a regular file on stdin, `-a FILE` (`--pipe`'s
//! rule: the last record end within --block) and `--pipe-part -a FILE`
//! (GNU's: after the first record end at or past --block). Then the edge
//! cases (CRLF, no final newline, empty input, a 50 MB line, `-0`,
//! `--recend`/`--recstart`, `-N`, `-L` and `--header` against GNU parallel's
//! --pipe and --pipe-part, `--recend ''` fixed-length records, `-L`'s
//! trailing lines, `--block` suffixes, `--block -N`, `{#}`), the refusals, output
//! (grouped per block, `-k`, `--output line`, progress in bytes) and
//! supervision per block: retries with the same bytes, failures, the
//! journal's `OFFSET+LENGTH` keys, `--resume` after a halt and after Ctrl-C,
//! reports, timeouts, jobs that never read their stdin, `--round-robin` and
//! backpressure.
//!
//! Jobs write what they got to `in.SEQ` files (`FANOUT_SEQ` is the block
//! number) and the tests read those back. Jobs that must wait wait for marker
//! files the test or another job creates, never for time; the backpressure
//! test alone polls, to see that fanout stopped taking its stdin.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{Seek as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::journal::{LastLine, journal_at};
use crate::util::{
    RECORD_PID, Run, Sandbox, assert_nothing_left, bin, harness_env, sh_wait_for, sh_wait_until,
    wait_or_kill,
};

// ---------------------------------------------------------------------------
// Harness: a seeded PRNG, the four ways to give fanout its input, the spec's
// cut rule, byte comparisons that say where they differ.
// ---------------------------------------------------------------------------

/// SplitMix64: small, seeded, good enough to pick lengths and bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// True `percent` times out of 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// `len` bytes, none of them in `banned`: any byte (invalid UTF-8 and
    /// NUL included), with extra `\r`s.
    fn bytes(&mut self, len: usize, banned: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let b = if self.chance(8) {
                b'\r'
            } else {
                self.next() as u8
            };
            if !banned.contains(&b) {
                out.push(b);
            }
        }
        out
    }
}

/// How fanout gets its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `--pipe`, the input written into a pipe on stdin.
    Stdin,
    /// `--pipe < FILE`: stdin is a regular file (the splice path).
    StdinFile,
    /// `--pipe -a FILE` (the splice path).
    File,
    /// `--pipe-part -a FILE`.
    PipePart,
}

const SOURCES: [Source; 4] = [
    Source::Stdin,
    Source::StdinFile,
    Source::File,
    Source::PipePart,
];

/// The name of the input file in the sandbox.
const INPUT: &str = "input.bin";

/// `fanout --pipe ARGS` (or `--pipe-part`) with `input` given as `source`
/// says; `args` are the options and the command.
fn pipe_run(sb: &Sandbox, source: Source, input: &[u8], args: &[&str]) -> Run {
    match source {
        Source::Stdin => sb.fanout().arg("--pipe").args(args).stdin(input).run(),
        Source::StdinFile => {
            let path = sb.write(INPUT, input);
            run_with_stdin_file(sb, &path, 0, &[&["--pipe"], args].concat())
        }
        Source::File => {
            sb.write(INPUT, input);
            sb.fanout().args(["--pipe", "-a", INPUT]).args(args).run()
        }
        Source::PipePart => {
            sb.write(INPUT, input);
            sb.fanout()
                .args(["--pipe-part", "-a", INPUT])
                .args(args)
                .run()
        }
    }
}

/// `fanout --no-progress ARGS < PATH`, in the sandbox, to completion (the
/// harness's `run` always gives fanout a pipe on stdin), stdin's offset
/// `skip` bytes into the file (as after `(head -1; fanout ...) < FILE`).
fn run_with_stdin_file(sb: &Sandbox, path: &Path, skip: u64, args: &[&str]) -> Run {
    let logs = tempfile::TempDir::new().expect("create a log directory");
    let (out, err) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let command = format!(
        "fanout --no-progress {} < {} (stdin at byte {skip})",
        args.join(" "),
        path.display()
    );
    let mut stdin = File::open(path).expect("open the input");
    stdin
        .seek(std::io::SeekFrom::Start(skip))
        .expect("seek the input");
    let mut cmd = Command::new(bin());
    harness_env(&mut cmd);
    cmd.current_dir(sb.path())
        .arg("--no-progress")
        .args(args)
        .stdin(stdin)
        .stdout(File::create(&out).expect("create the stdout log"))
        .stderr(File::create(&err).expect("create the stderr log"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn `{command}`: {e}"));
    let status = wait_or_kill(&mut child, || {
        format!(
            "command: {command}\n--- stderr ---\n{}",
            fs::read_to_string(&err).unwrap_or_default()
        )
    });
    Run {
        command,
        status,
        stdout: fs::read(&out).expect("read the stdout log"),
        stderr: String::from_utf8_lossy(&fs::read(&err).expect("read the stderr log")).into_owned(),
    }
}

/// A run, for failure messages (stdout bounded: it may be megabytes).
fn describe(run: &Run) -> String {
    let stderr: String = run.stderr.chars().take(3000).collect();
    format!(
        "command: {}\nstatus: {}\nstdout: {} bytes\n--- stderr ---\n{stderr}",
        run.command,
        run.status,
        run.stdout.len()
    )
}

/// `bytes[from..to]` escaped, for messages.
fn show(bytes: &[u8], from: usize, to: usize) -> String {
    let from = from.min(bytes.len());
    let to = to.min(bytes.len());
    format!("{}", bytes[from..to].escape_ascii())
}

/// Asserts two byte strings are equal; otherwise says where they part.
#[track_caller]
fn assert_bytes(what: &str, got: &[u8], want: &[u8], context: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let from = at.saturating_sub(40);
    panic!(
        "{what}: got {} bytes, expected {}; they differ first at byte {at}\n  got:      \
         ...{}...\n  expected: ...{}...\n{context}",
        got.len(),
        want.len(),
        show(got, from, at + 40),
        show(want, from, at + 40),
    );
}

/// Where `--pipe` cuts: the block starting at `start` ends at the last
/// record end at or before `start + size`, or, when a record is longer than
/// that, at that record's end. `ends` are the record ends in increasing
/// order, the input's length (EOF) last. Returns `(offset, length)` per
/// block.
fn cut_by_size(ends: &[usize], size: usize) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let Some(&len) = ends.last() else {
        return blocks;
    };
    while start < len {
        while ends[i] <= start {
            i += 1;
        }
        // ends[i] is the first end after start.
        let mut end = ends[i];
        let mut j = i;
        while j + 1 < ends.len() && ends[j + 1] <= start + size {
            j += 1;
            end = ends[j];
        }
        blocks.push((start, end - start));
        start = end;
    }
    blocks
}

/// `--pipe-part`'s cut, GNU's: the block starting at `start` ends right
/// after the first occurrence of `end` followed by `begin` (the cut between
/// them) that starts at or after `start + size`, else at EOF; blocks are
/// thus at least `size` bytes but the last. With both empty (`--recend ''`)
/// every block is `size` bytes. Works on the bytes, as GNU's search does.
fn cut_past_size(input: &[u8], end: &[u8], begin: &[u8], size: usize) -> Vec<(usize, usize)> {
    let pattern = [end, begin].concat();
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < input.len() {
        let point = start + size;
        let stop = if point >= input.len() {
            input.len()
        } else if pattern.is_empty() {
            point
        } else {
            input[point..]
                .windows(pattern.len())
                .position(|w| w == pattern)
                .map_or(input.len(), |at| point + at + end.len())
        };
        blocks.push((start, stop - start));
        start = stop;
    }
    blocks
}

/// The blocks `source` cuts newline-ended records into at `size`:
/// `--pipe-part`'s rule for it, `--pipe`'s for the others.
fn cut_lines(source: Source, input: &[u8], size: usize) -> Vec<(usize, usize)> {
    match source {
        Source::PipePart => cut_past_size(input, b"\n", b"", size),
        _ => cut_by_size(&ends_of(input, b"\n"), size),
    }
}

/// `-N n`: blocks of exactly `n` records (the last may have fewer).
fn cut_by_count(ends: &[usize], n: usize) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut start = 0;
    for chunk in ends.chunks(n) {
        let end = *chunk.last().expect("a record");
        if end > start {
            blocks.push((start, end - start));
        }
        start = end;
    }
    blocks
}

/// Record ends for records terminated by `sep` (the input's length last).
fn ends_of(input: &[u8], sep: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut i = 0;
    while i + sep.len() <= input.len() {
        if &input[i..i + sep.len()] == sep {
            i += sep.len();
            ends.push(i);
        } else {
            i += 1;
        }
    }
    if ends.last() != Some(&input.len()) && !input.is_empty() {
        ends.push(input.len());
    }
    ends
}

/// Every `n`th end (records of `n` lines, `-L n`), EOF kept.
fn every_nth(ends: &[usize], n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = ends.iter().skip(n - 1).step_by(n).copied().collect();
    if let Some(&last) = ends.last()
        && out.last() != Some(&last)
    {
        out.push(last);
    }
    out
}

/// The `in.N` files the jobs wrote, which must be numbered 1..=n.
#[track_caller]
fn blocks_in(sb: &Sandbox, prefix: &str, context: &str) -> Vec<Vec<u8>> {
    let found = sb.numbered(prefix);
    let numbers: Vec<u64> = found.keys().copied().collect();
    let want: Vec<u64> = (1..=found.len() as u64).collect();
    assert_eq!(
        numbers, want,
        "blocks are numbered 1..=n ({{#}}, FANOUT_SEQ)\n{context}"
    );
    found.into_values().collect()
}

/// Asserts the blocks the jobs got are exactly `want` (offset, length)
/// slices of `input`.
#[track_caller]
fn assert_blocks(got: &[Vec<u8>], input: &[u8], want: &[(usize, usize)], context: &str) {
    let got_lens: Vec<usize> = got.iter().map(Vec::len).collect();
    let want_lens: Vec<usize> = want.iter().map(|&(_, l)| l).collect();
    if got_lens != want_lens {
        let first = got_lens
            .iter()
            .zip(&want_lens)
            .position(|(a, b)| a != b)
            .unwrap_or(got_lens.len().min(want_lens.len()));
        let shown = |v: &[usize]| format!("{:?}", &v[first..v.len().min(first + 8)]);
        panic!(
            "block lengths differ from the spec's cut: {} blocks, expected {}; first \
             difference at block {} (offset {:?}): got {}..., expected {}...\n{context}",
            got_lens.len(),
            want_lens.len(),
            first + 1,
            want.get(first).map(|b| b.0),
            shown(&got_lens),
            shown(&want_lens),
        );
    }
    for (n, (block, &(offset, len))) in got.iter().zip(want).enumerate() {
        assert_bytes(
            &format!("block {} (bytes {offset}..{})", n + 1, offset + len),
            block,
            &input[offset..offset + len],
            context,
        );
    }
}

/// `wc -l` outputs (one number per line), summed.
#[track_caller]
fn sum_of_counts(run: &Run) -> usize {
    run.stdout_lines()
        .iter()
        .map(|l| {
            l.trim()
                .parse::<usize>()
                .unwrap_or_else(|e| run.fail(&format!("`wc -l` printed {l:?}: {e}")))
        })
        .sum()
}

fn count(bytes: &[u8], b: u8) -> usize {
    bytes.iter().filter(|&&x| x == b).count()
}

/// Lines of text with a final newline.
fn text_lines(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The job that writes its stdin to `in.SEQ`.
const SAVE: [&str; 3] = ["sh", "-c", "cat > in.$FANOUT_SEQ"];

// ---------------------------------------------------------------------------
// 1. Random inputs and block sizes
// ---------------------------------------------------------------------------

/// How records are delimited in a random case.
#[derive(Debug, Clone, Copy)]
enum Sep {
    /// Lines (the default).
    Newline,
    /// `-0`.
    Nul,
    /// `--recend ';;'`.
    Double,
    /// `--recend '\n' --recstart '>'` (FASTA-like, several lines a record).
    Fasta,
    /// `--recstart '@@'` alone (no end string).
    StartOnly,
}

impl Sep {
    /// The end and start strings.
    fn strings(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Sep::Newline => (b"\n", b""),
            Sep::Nul => (b"\0", b""),
            Sep::Double => (b";;", b""),
            Sep::Fasta => (b"\n", b">"),
            Sep::StartOnly => (b"", b"@@"),
        }
    }

    fn options(self) -> &'static [&'static str] {
        match self {
            Sep::Newline => &[],
            Sep::Nul => &["-0"],
            Sep::Double => &["--recend", ";;"],
            Sep::Fasta => &["--recend", r"\n", "--recstart", ">"],
            Sep::StartOnly => &["--recstart", "@@"],
        }
    }
}

/// A random input of `records` records whose bodies are mostly short, some
/// empty and some up to `long` bytes; returns it with its record ends (EOF
/// last).
fn random_input(rng: &mut Rng, sep: Sep, records: usize, long: usize) -> (Vec<u8>, Vec<usize>) {
    let mut input = Vec::new();
    let mut ends = Vec::new();
    let body_len = |rng: &mut Rng| {
        let pick = rng.next() % 100;
        match pick {
            0..15 => 0,
            15..80 => rng.range(1, 40),
            80..95 => rng.range(41, 400),
            _ => rng.range(401, long.max(402)),
        }
    };
    for r in 0..records {
        let last = r + 1 == records;
        match sep {
            Sep::Newline => {
                let n = body_len(rng);
                input.extend(rng.bytes(n, b"\n"));
                if !last || rng.chance(70) {
                    input.push(b'\n');
                }
            }
            Sep::Nul => {
                let n = body_len(rng);
                input.extend(rng.bytes(n, b"\0"));
                if !last || rng.chance(70) {
                    input.push(b'\0');
                }
            }
            Sep::Double => {
                let n = body_len(rng);
                input.extend(rng.bytes(n, b";"));
                if !last || rng.chance(70) {
                    input.extend(b";;");
                }
            }
            Sep::Fasta => {
                input.push(b'>');
                let n = rng.range(0, 12);
                input.extend(rng.bytes(n, b"\n>"));
                for _ in 0..rng.range(0, 3) {
                    input.push(b'\n');
                    let n = body_len(rng);
                    input.extend(rng.bytes(n, b"\n>"));
                }
                if !last || rng.chance(70) {
                    input.push(b'\n');
                }
            }
            Sep::StartOnly => {
                input.extend(b"@@");
                let n = body_len(rng);
                input.extend(rng.bytes(n, b"@"));
            }
        }
        ends.push(input.len());
    }
    (input, ends)
}

/// One random case: an input and the options that cut it.
struct Case {
    label: String,
    input: Vec<u8>,
    ends: Vec<usize>,
    sep: Sep,
    block: String,
    size: usize,
    jobs: &'static str,
}

impl Case {
    fn new(seed: u64, sep: Sep, records: usize, long: usize, size: usize) -> Case {
        let mut rng = Rng::new(seed);
        let (input, ends) = random_input(&mut rng, sep, records, long);
        let jobs = if seed % 2 == 0 { "-j1" } else { "-j4" };
        // Sizes in the suffixed forms where they are exact (GNU's: M and K
        // powers of 1024, k of 1000).
        let block = if size >= 1 << 20 && size % (1 << 20) == 0 {
            format!("{}M", size >> 20)
        } else if size >= 1024 && size % 1024 == 0 {
            format!("{}K", size >> 10)
        } else if size >= 1000 && size % 1000 == 0 {
            format!("{}k", size / 1000)
        } else {
            size.to_string()
        };
        Case {
            label: format!(
                "seed {seed}, {sep:?}, {} bytes in {records} records, --block {block}, {jobs}",
                input.len()
            ),
            input,
            ends,
            sep,
            block,
            size,
            jobs,
        }
    }

    /// The options: separator, block size, jobs, then `extra`.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = self.sep.options().to_vec();
        args.extend(["--block", &self.block, self.jobs]);
        args.extend(extra);
        args
    }

    /// Checks the case from every source: `-k cat` gives the input back,
    /// `wc -l` sums to its newline count (from one source, in turn), and the
    /// blocks are where the source's rule cuts (from one source, in turn).
    fn check(&self, turn: usize) {
        for source in SOURCES {
            let sb = Sandbox::new();
            let run = pipe_run(&sb, source, &self.input, &self.args(&["-k", "cat"]));
            let context = format!("{} from {source:?}\n{}", self.label, describe(&run));
            if run.status.code() != Some(0) {
                panic!("exit status is not 0\n{context}");
            }
            assert_bytes(
                "`--pipe -k cat` gives the input back",
                &run.stdout,
                &self.input,
                &context,
            );
        }

        let source = SOURCES[turn % SOURCES.len()];
        let sb = Sandbox::new();
        let run = pipe_run(&sb, source, &self.input, &self.args(&["wc", "-l"]));
        let context = format!("{} from {source:?}\n{}", self.label, describe(&run));
        run.code(0);
        assert_eq!(
            sum_of_counts(&run),
            count(&self.input, b'\n'),
            "`--pipe wc -l` sums to the newline count\n{context}"
        );

        let source = SOURCES[(turn + 1) % SOURCES.len()];
        let sb = Sandbox::new();
        let run = pipe_run(&sb, source, &self.input, &self.args(&SAVE));
        let context = format!("{} from {source:?}\n{}", self.label, describe(&run));
        run.code(0);
        let got = blocks_in(&sb, "in", &context);
        let want = if source == Source::PipePart {
            let (end, begin) = self.sep.strings();
            cut_past_size(&self.input, end, begin, self.size)
        } else {
            cut_by_size(&self.ends, self.size)
        };
        assert_blocks(&got, &self.input, &want, &context);
    }
}

#[test]
fn random_small_inputs_come_back_byte_for_byte_in_spec_blocks() {
    let seps = [
        Sep::Newline,
        Sep::Nul,
        Sep::Double,
        Sep::Fasta,
        Sep::StartOnly,
    ];
    for seed in 1..=12u64 {
        let mut rng = Rng::new(seed * 1000);
        let sep = seps[rng.range(0, seps.len() - 1)];
        // Tiny blocks on few records (a job per record); otherwise a size
        // that gives a few to a few dozen blocks.
        let (records, size) = match seed % 5 {
            0 => (rng.range(1, 12), 1),
            1 => (rng.range(1, 25), 7),
            2 => (rng.range(20, 60), 100),
            3 => (rng.range(20, 80), rng.range(50, 2000)),
            _ => (rng.range(30, 80), 1 << 20),
        };
        let case = Case::new(seed, sep, records, 3000, size);
        case.check(seed as usize);
    }
}

#[test]
fn random_larger_inputs_come_back_byte_for_byte_in_spec_blocks() {
    // Lines up to 300 kB against 64 kB blocks, then lines up to 2.5 MB
    // against the default-sized 1 MB block.
    Case::new(101, Sep::Newline, 400, 300_000, 64 << 10).check(0);
    Case::new(102, Sep::Newline, 150, 2_500_000, 1 << 20).check(1);
    Case::new(103, Sep::Nul, 2000, 20_000, 16 << 10).check(2);
}

#[test]
fn the_default_block_is_one_mebibyte_and_suffixes_are_gnus() {
    // GNU's suffixes: lowercase k m g t are powers of 1000, uppercase K M G
    // T (and Ki Mi Gi Ti in any case) powers of 1024. 100-byte lines: a
    // 1 MiB block holds 10485 of them (1048500 bytes), a 1 MB one 10000.
    let line = format!("{}\n", "x".repeat(99));
    let input = line.repeat(30_000);
    let ends = ends_of(input.as_bytes(), b"\n");
    for (opts, size) in [
        (&[][..], 1usize << 20),
        (&["--block", "1M"][..], 1 << 20),
        (&["--block", "1m"][..], 1_000_000),
        (&["--block", "1Mi"][..], 1 << 20),
        (&["--block", "1mi"][..], 1 << 20),
        (&["--block-size", "1024k"][..], 1_024_000),
        (&["--block-size", "1024K"][..], 1 << 20),
        (&["--block", "100K"][..], 100 << 10),
        (&["--block", "100k"][..], 100_000),
        (&["--block", "100kI"][..], 100 << 10),
        (&["--block", "50000"][..], 50_000),
    ] {
        let sb = Sandbox::new();
        let mut args = opts.to_vec();
        args.extend(SAVE);
        let run = pipe_run(&sb, Source::Stdin, input.as_bytes(), &args);
        let context = describe(&run);
        run.code(0);
        let got = blocks_in(&sb, "in", &context);
        assert_blocks(&got, input.as_bytes(), &cut_by_size(&ends, size), &context);
    }
}

#[test]
fn a_regular_file_on_stdin_is_read_from_its_offset() {
    // `(head -1; fanout --pipe ...) < FILE`: stdin is the file, already part
    // way in; the input is the rest, and offsets count from there.
    let skipped = b"already read by someone else\n";
    let body = fastq(11, 20);
    let input = [&skipped[..], &body].concat();
    let sb = Sandbox::new();
    let path = sb.write(INPUT, &input);
    let want = cut_by_size(&ends_of(&body, b"\n"), 150);
    let mut args = vec!["--pipe", "--block", "150", "--journal", "j.jsonl"];
    args.extend(SAVE);
    let run = run_with_stdin_file(&sb, &path, skipped.len() as u64, &args);
    let context = describe(&run);
    run.code(0);
    let got = blocks_in(&sb, "in", &context);
    assert_blocks(&got, &body, &want, &context);
    let mut keys: Vec<String> = block_lines(&sb, "j.jsonl")
        .iter()
        .map(|v| v["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    let mut want_keys: Vec<String> = want.iter().map(|(o, l)| format!("{o}+{l}")).collect();
    want_keys.sort();
    assert_eq!(
        keys, want_keys,
        "offsets count from where stdin was\n{context}"
    );
}

#[test]
fn a_negative_block_shares_a_file_among_the_job_slots() {
    // GNU's `--block -N`: a file's size over -j times N (1 + size / j / N),
    // and --pipe-part's default, -10.
    let lines: Vec<String> = (1..=3000).map(|n| n.to_string()).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    let len = input.len();
    for (source, opts, n) in [
        (Source::File, &["--block", "-3"][..], 3),
        (Source::StdinFile, &["--block", "-3"], 3),
        (Source::PipePart, &["--block", "-3"], 3),
        (Source::PipePart, &[], 10),
    ] {
        let sb = Sandbox::new();
        let mut args = opts.to_vec();
        args.extend(["-j2"]);
        args.extend(SAVE);
        let run = pipe_run(&sb, source, input.as_bytes(), &args);
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let got = blocks_in(&sb, "in", &context);
        let want = cut_lines(source, input.as_bytes(), 1 + len / 2 / n);
        assert_blocks(&got, input.as_bytes(), &want, &context);
        // GNU's --pipe-part, live, makes the same blocks.
        if source == Source::PipePart {
            let run = pipe_run(
                &sb,
                source,
                input.as_bytes(),
                &[opts, &["-j2", "-k", "wc", "-c"]].concat(),
            );
            run.code(0);
            let mut gnu = Command::new("parallel");
            gnu.args(["--pipe-part", "-a", INPUT])
                .args(opts)
                .args(["-j2", "-k", "wc", "-c"])
                .current_dir(sb.path())
                .env("HOME", sb.path())
                .env_remove("PARALLEL")
                .stdin(Stdio::null());
            let ci = std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1");
            let out = gnu.output();
            assert!(out.is_ok() || !ci, "CI=true needs GNU parallel on PATH");
            if let Ok(out) = out {
                assert!(out.status.success(), "GNU parallel {opts:?}: {out:?}");
                assert_eq!(
                    run.stdout_lines(),
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .collect::<Vec<_>>(),
                    "block lengths against GNU's --pipe-part {opts:?} -j2\n{}",
                    describe(&run)
                );
            }
        }
    }
    // A stream has no size to share.
    let sb = Sandbox::new();
    pipe_run(
        &sb,
        Source::Stdin,
        input.as_bytes(),
        &["--block", "-3", "cat"],
    )
    .code(2)
    .stderr_has("regular file");
}

// ---------------------------------------------------------------------------
// 2. Record boundaries and the edge cases
// ---------------------------------------------------------------------------

#[test]
fn every_block_is_whole_lines_in_order() {
    let lines: Vec<String> = (1..=40)
        .map(|n| "y".repeat(n % 7) + &n.to_string())
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", "10", "-k", "sh", "-c", "cat; echo ---"],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let text = run.stdout_text();
        let mut rebuilt = String::new();
        let blocks: Vec<&str> = text.split("---\n").filter(|b| !b.is_empty()).collect();
        for (n, block) in blocks.iter().enumerate() {
            let (n, last) = (n + 1, n + 1 == blocks.len());
            assert!(
                block.ends_with('\n'),
                "block {n} ends mid-line: {block:?}\n{context}"
            );
            if source == Source::PipePart {
                // GNU's rule: the block ends at the first line end at or
                // past 10 bytes, so only its last line reaches that far,
                // and only the last block is shorter.
                let body = &block[..block.len() - 1];
                assert!(
                    body.rfind('\n').is_none_or(|at| at < 10),
                    "block {n} goes on past a line end at or past --block: \
                     {block:?}\n{context}"
                );
                assert!(
                    last || block.len() > 10,
                    "block {n} ends before --block bytes: {block:?}\n{context}"
                );
            } else {
                assert!(
                    block.len() <= 10 || block.lines().count() == 1,
                    "block {n} is longer than --block yet holds more than one line: \
                     {block:?}\n{context}"
                );
            }
            rebuilt.push_str(block);
        }
        assert!(blocks.len() > 5, "the input took several blocks\n{context}");
        assert_eq!(
            rebuilt, input,
            "the blocks, in order, are the input\n{context}"
        );
    }
}

#[test]
fn a_50_mb_line_is_one_block() {
    let mut input = vec![b'x'; 50 << 20];
    input.push(b'\n');
    input.extend(b"tail\n");
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(&sb, source, &input, &["--block", "1M", "-k", "wc", "-c"]);
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        assert_eq!(
            run.stdout_lines(),
            [(50usize << 20) + 1, 5].map(|n| n.to_string()),
            "the 50 MB line is one block and the next line another\n{context}"
        );
    }
}

#[test]
fn crlf_lines_keep_their_carriage_returns() {
    let input = b"a\r\nbb\r\ncc\r\n\r\nd";
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(&sb, source, input, &[&["--block", "5"][..], &SAVE].concat());
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let got = blocks_in(&sb, "in", &context);
        let want: &[&[u8]] = if source == Source::PipePart {
            &[b"a\r\nbb\r\n", b"cc\r\n\r\n", b"d"]
        } else {
            &[b"a\r\n", b"bb\r\n", b"cc\r\n", b"\r\nd"]
        };
        assert_eq!(got, want, "\n{context}");
    }
}

#[test]
fn a_last_line_without_newline_is_passed_as_is() {
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(&sb, source, b"a\nb\nc", &["--block", "2", "-k", "cat"]);
        run.code(0);
        assert_eq!(run.stdout, b"a\nb\nc", "{}", describe(&run));
        let run = pipe_run(&sb, source, b"a\nb\nc", &["--block", "2", "wc", "-l"]);
        run.code(0);
        assert_eq!(sum_of_counts(&run), 2, "{}", describe(&run));
        // The whole input in one block, no newline at all.
        let run = pipe_run(&sb, source, b"no newline", &["-k", "wc", "-c"]);
        run.code(0).lines(&["10"]);
    }
}

#[test]
fn empty_input_runs_no_job_and_succeeds() {
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            b"",
            &["sh", "-c", "touch ran.$FANOUT_SEQ; cat"],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        assert!(run.stdout.is_empty(), "no output\n{context}");
        assert!(
            sb.numbered("ran").is_empty(),
            "no job runs on empty input: {:?}\n{context}",
            sb.names()
        );
    }
}

#[test]
fn nul_records_with_null() {
    // Records end in NUL and may hold newlines.
    let input = b"a\nb\0cc\0\0dddddd\0e\ne";
    for source in SOURCES {
        for opts in [&["-0"][..], &["--null"], &["--recend", r"\0"]] {
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(["--block", "5", "-k"]);
            args.extend(SAVE);
            let run = pipe_run(&sb, source, input, &args);
            let context = format!("from {source:?}\n{}", describe(&run));
            run.code(0);
            let got = blocks_in(&sb, "in", &context);
            let want: &[&[u8]] = if source == Source::PipePart {
                &[b"a\nb\0cc\0", b"\0dddddd\0", b"e\ne"]
            } else {
                &[b"a\nb\0", b"cc\0\0", b"dddddd\0", b"e\ne"]
            };
            assert_eq!(got, want, "\n{context}");
        }
    }
}

#[test]
fn an_empty_recend_makes_fixed_length_records_of_exactly_block_bytes() {
    // GNU's `--recend ''`: records end anywhere, so every block is --block
    // bytes (the last what is left), whatever bytes they hold.
    let mut rng = Rng::new(77);
    let all = rng.bytes(10_007, b"");
    // A job a block: a short input for the small block.
    for (block, size, len) in [("7", 7, 500), ("1k", 1000, 10_007), ("4K", 4096, 10_007)] {
        let input = &all[..len];
        assert!(input.contains(&b'\n') && input.contains(&0));
        let want: Vec<(usize, usize)> = (0..input.len())
            .step_by(size)
            .map(|o| (o, size.min(input.len() - o)))
            .collect();
        for (turn, source) in SOURCES.into_iter().enumerate() {
            let jobs = if turn % 2 == 0 { "-j1" } else { "-j4" };
            let args = ["--recend", "", "--block", block, jobs];
            let sb = Sandbox::new();
            let run = pipe_run(&sb, source, input, &[&args[..], &["-k", "cat"]].concat());
            let context = format!("--block {block} from {source:?}\n{}", describe(&run));
            run.code(0);
            assert_bytes(
                "`-k cat` gives the input back",
                &run.stdout,
                input,
                &context,
            );
            let sb = Sandbox::new();
            let run = pipe_run(&sb, source, input, &[&args[..], &SAVE].concat());
            let context = format!("--block {block} from {source:?}\n{}", describe(&run));
            run.code(0);
            let got = blocks_in(&sb, "in", &context);
            assert_blocks(&got, input, &want, &context);
        }
    }
}

#[test]
fn recend_and_recstart_take_c_escapes() {
    let input = b"a;b;c\td\te;f";
    for (opts, want) in [
        (
            &["--recend", r"\x3b"][..],
            &[&b"a;"[..], b"b;", b"c\td\te;", b"f"][..],
        ),
        (&["--recend", r"\t"], &[b"a;b;c\t", b"d\t", b"e;f"]),
        (&["--recstart", r"\x3b"], &[b"a", b";b", b";c\td\te", b";f"]),
    ] {
        for source in SOURCES {
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(["--block", "1", "-k"]);
            args.extend(SAVE);
            let run = pipe_run(&sb, source, input, &args);
            let context = format!("from {source:?}\n{}", describe(&run));
            run.code(0);
            assert_eq!(blocks_in(&sb, "in", &context), want, "\n{context}");
        }
    }
}

#[test]
fn a_cut_at_exactly_the_block_size_counts_though_its_start_string_lies_beyond() {
    // --pipe: a block ends at the last record end at or before SIZE; with
    // --recstart, that end is only known from the bytes after SIZE. (GNU
    // parallel 20221122's --pipe wants END and START both within SIZE: it
    // warns that a record is longer than SIZE and raises --block for the
    // rest of the run, which merges later blocks.) --pipe-part cuts after
    // the first END+START that starts at or past SIZE, as GNU's does (these
    // are among the GNU cases below).
    for (opts, input, want, want_part) in [
        (
            &["--recend", r"\n", "--recstart", ">", "--block", "3"][..],
            &b">a\n>bb\n>c\n"[..],
            &[&b">a\n"[..], b">bb\n", b">c\n"][..],
            &[&b">a\n>bb\n"[..], b">c\n"][..],
        ),
        (
            &["--recend", r"END\n", "--recstart", "START", "--block", "5"],
            b"aEND\nSTARTbEND\nSTARTc",
            &[b"aEND\n", b"STARTbEND\n", b"STARTc"],
            &[b"aEND\nSTARTbEND\n", b"STARTc"],
        ),
        (
            &["--recstart", "@@", "--block", "4"],
            b"@@ab@@cd@@e",
            &[b"@@ab", b"@@cd", b"@@e"],
            &[b"@@ab", b"@@cd", b"@@e"],
        ),
    ] {
        for source in SOURCES {
            let want = if source == Source::PipePart {
                want_part
            } else {
                want
            };
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(SAVE);
            let run = pipe_run(&sb, source, input, &args);
            let context = format!("{opts:?} from {source:?}\n{}", describe(&run));
            run.code(0);
            assert_eq!(blocks_in(&sb, "in", &context), want, "\n{context}");
        }
    }
}

/// A small case checked against GNU parallel 20221122, live when it is
/// installed (it is here and in CI), else against its recorded output: the
/// job is `cat; echo ---`, with -k. `pipe` is GNU's output with `--pipe`
/// (stdin), `part` with `--pipe-part -a FILE`. `None` where GNU does not run
/// the case cleanly that way, which the live check confirms: its --pipe
/// warns "A record was longer than ..." (and raises --block for the rest of
/// the run, where fanout grows only the one block; those cases are the
/// spec's, tested above); its --pipe-part refuses -N and -L, where fanout's
/// --pipe-part counts records as --pipe does and is checked against GNU's
/// --pipe.
struct GnuCase {
    opts: &'static [&'static str],
    input: &'static [u8],
    pipe: Option<&'static [u8]>,
    part: Option<&'static [u8]>,
}

const GNU_CASES: &[GnuCase] = &[
    GnuCase {
        opts: &["--recend", ";", "--block", "5"],
        input: b"ab;c;de;f;ghi;j;",
        pipe: Some(b"ab;c;---\nde;f;---\nghi;---\nj;---\n"),
        part: Some(b"ab;c;de;---\nf;ghi;---\nj;---\n"),
    },
    GnuCase {
        opts: &["--recend", ";;", "--block", "12"],
        input: b"one;;two;;three;;four;;five;six;;",
        pipe: Some(b"one;;two;;---\nthree;;---\nfour;;---\nfive;six;;---\n"),
        part: Some(b"one;;two;;three;;---\nfour;;five;six;;---\n"),
    },
    GnuCase {
        opts: &["--recstart", ">", "--block", "20"],
        input: b">s1\nACGT\n>s2\nGG\n>s3\nTTTTTTTT\n>s4\nA\n>s5\nCC\n",
        pipe: Some(b">s1\nACGT\n>s2\nGG\n---\n>s3\nTTTTTTTT\n>s4\nA\n---\n>s5\nCC\n---\n"),
        part: Some(b">s1\nACGT\n>s2\nGG\n>s3\nTTTTTTTT\n---\n>s4\nA\n>s5\nCC\n---\n"),
    },
    GnuCase {
        opts: &["--recend", r"END\n", "--recstart", "START", "--block", "30"],
        input: b"r1END\nSTARTr2 END x\nEND\nSTARTr3END\nSTARTr4 is longer END\nSTARTr5END\n",
        pipe: Some(
            b"r1END\nSTARTr2 END x\nEND\n---\nSTARTr3END\n---\nSTARTr4 is longer END\n---\nSTARTr5END\n---\n",
        ),
        part: Some(
            b"r1END\nSTARTr2 END x\nEND\nSTARTr3END\n---\nSTARTr4 is longer END\nSTARTr5END\n---\n",
        ),
    },
    GnuCase {
        opts: &["--recend", r"\0", "--block", "10"],
        input: b"aa\0bbb\0c\0dddd\0ee\0",
        pipe: Some(b"aa\0bbb\0c\0---\ndddd\0ee\0---\n"),
        part: Some(b"aa\0bbb\0c\0dddd\0---\nee\0---\n"),
    },
    GnuCase {
        opts: &["-N", "3"],
        input: b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        pipe: Some(b"1\n2\n3\n---\n4\n5\n6\n---\n7\n8\n9\n---\n10\n---\n"),
        part: None,
    },
    GnuCase {
        opts: &["--header", "1", "--block", "6"],
        input: b"H\na1\nb2\nc3\nd4\n",
        pipe: Some(b"H\na1\nb2\n---\nH\nc3\nd4\n---\n"),
        part: Some(b"H\na1\nb2\nc3\n---\nH\nd4\n---\n"),
    },
    GnuCase {
        opts: &["-L", "2", "--block", "5"],
        input: b"1\n2\n3\n4\n5\n6\n7\n8\n9\n",
        pipe: Some(b"1\n2\n---\n3\n4\n---\n5\n6\n---\n7\n8\n---\n9\n---\n"),
        part: None,
    },
    // By size, the lines after the last whole -L record are a block of
    // their own (GNU: `seq 10 | parallel --pipe -L 3 wc -l` prints 9, 1).
    GnuCase {
        opts: &["-L", "3"],
        input: b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        pipe: Some(b"1\n2\n3\n4\n5\n6\n7\n8\n9\n---\n10\n---\n"),
        part: None,
    },
    // -L with -N: N records of L lines a block; the last block takes what
    // is left, a partial record included.
    GnuCase {
        opts: &["-L", "3", "-N", "2"],
        input: b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        pipe: Some(b"1\n2\n3\n4\n5\n6\n---\n7\n8\n9\n10\n---\n"),
        part: None,
    },
    GnuCase {
        opts: &["-L", "3", "-N", "3"],
        input: b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
        pipe: Some(b"1\n2\n3\n4\n5\n6\n7\n8\n9\n---\n10\n---\n"),
        part: None,
    },
    GnuCase {
        opts: &["--block", "5"],
        input: b"a\r\nbb\r\ncc",
        pipe: Some(b"a\r\n---\nbb\r\n---\ncc---\n"),
        part: Some(b"a\r\nbb\r\n---\ncc---\n"),
    },
    // `--recend ''`: fixed-length records, blocks of exactly --block bytes.
    GnuCase {
        opts: &["--recend", "", "--block", "3"],
        input: b"abc\nde\nfgh",
        pipe: Some(b"abc---\n\nde---\n\nfg---\nh---\n"),
        part: Some(b"abc---\n\nde---\n\nfg---\nh---\n"),
    },
    // The spec's cuts at exactly --block (a_cut_at_exactly_...): GNU's
    // --pipe warns, its --pipe-part cuts after the first END+START at or
    // past --block.
    GnuCase {
        opts: &["--recend", r"\n", "--recstart", ">", "--block", "3"],
        input: b">a\n>bb\n>c\n",
        pipe: None,
        part: Some(b">a\n>bb\n---\n>c\n---\n"),
    },
    GnuCase {
        opts: &["--recend", r"END\n", "--recstart", "START", "--block", "5"],
        input: b"aEND\nSTARTbEND\nSTARTc",
        pipe: None,
        part: Some(b"aEND\nSTARTbEND\n---\nSTARTc---\n"),
    },
    GnuCase {
        opts: &["--recstart", "@@", "--block", "4"],
        input: b"@@ab@@cd@@e",
        pipe: None,
        part: Some(b"@@ab---\n@@cd---\n@@e---\n"),
    },
];

/// GNU parallel's output for one case with `mode` (`--pipe`, or
/// `--pipe-part` on a file of the input): `None` when GNU parallel is not
/// on PATH, `Err` with its stderr when it fails or warns.
fn gnu_pipe(mode: Source, opts: &[&str], input: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let home = tempfile::TempDir::new().expect("create a home for GNU parallel");
    let mut command = Command::new("parallel");
    if mode == Source::PipePart {
        let file = home.path().join(INPUT);
        fs::write(&file, input).expect("write GNU's input");
        command.arg("--pipe-part").arg("-a").arg(file);
    } else {
        command.arg("--pipe");
    }
    let mut child = match command
        .arg("-k")
        .args(opts)
        .arg("cat; echo ---")
        .env("HOME", home.path())
        .env_remove("PARALLEL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return None,
    };
    let mut stdin = child.stdin.take().expect("GNU's stdin");
    if mode != Source::PipePart {
        stdin.write_all(input).expect("feed GNU parallel");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("wait for GNU parallel");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Some(if output.status.success() && !stderr.contains("Warning") {
        Ok(output.stdout)
    } else {
        Err(format!("{}: {stderr}", output.status))
    })
}

#[test]
fn recend_recstart_n_l_header_match_gnu_parallel() {
    let ci = std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1");
    for case in GNU_CASES {
        let opts = case.opts;
        // GNU's output by mode, live or recorded; live, GNU must run the
        // case cleanly exactly where a recording says it does.
        let mut want = BTreeMap::new();
        let mut live = false;
        for (mode, recorded) in [(Source::Stdin, case.pipe), (Source::PipePart, case.part)] {
            let got = match gnu_pipe(mode, opts, case.input) {
                None if ci => {
                    panic!(
                        "GNU parallel is not on PATH, and CI=true needs it (.ci/run installs it)"
                    )
                }
                None => recorded.map(<[u8]>::to_vec),
                Some(got) => {
                    live = true;
                    match (got, recorded) {
                        (Ok(out), Some(_)) => Some(out),
                        (Err(_), None) => None,
                        (Ok(out), None) => panic!(
                            "GNU parallel {mode:?} {opts:?} runs cleanly, giving {}; record it",
                            out.escape_ascii()
                        ),
                        (Err(e), Some(_)) => {
                            panic!(
                                "GNU parallel {mode:?} {opts:?} did not run the case cleanly ({e})"
                            )
                        }
                    }
                }
            };
            if let Some(out) = got {
                want.insert(mode == Source::PipePart, out);
            }
        }
        // Where GNU's --pipe-part refuses, fanout's is held to GNU's --pipe,
        // unless the size counts: its default block is -10, not 1M.
        let sized = opts.contains(&"--block") || opts.contains(&"-N");
        for source in SOURCES {
            // GNU's --pipe-part for fanout's, else its --pipe.
            let part = source == Source::PipePart;
            let (against, gnu) = match (want.get(&part), want.get(&false)) {
                (Some(out), _) => (if part { "--pipe-part" } else { "--pipe" }, out),
                (None, Some(out)) if part && sized => {
                    ("--pipe (its --pipe-part refuses these)", out)
                }
                _ => continue,
            };
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(["-k", "sh", "-c", "cat; echo ---"]);
            let run = pipe_run(&sb, source, case.input, &args);
            let context = format!(
                "from {source:?}, against GNU parallel {against} {}\n{}",
                if live { "live" } else { "(recorded)" },
                describe(&run)
            );
            run.code(0);
            assert_bytes(&format!("{opts:?}"), &run.stdout, gnu, &context);
        }
    }
}

#[test]
fn n_gives_exactly_n_records_per_block_whatever_the_block_size() {
    let input: String = (1..=20).map(|n| format!("{n}\n")).collect();
    let ends = ends_of(input.as_bytes(), b"\n");
    for source in SOURCES {
        for opts in [
            &["-N", "3"][..],
            &["-N", "3", "--block", "1"],
            &["-N3", "--block", "1M"],
        ] {
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(SAVE);
            let run = pipe_run(&sb, source, input.as_bytes(), &args);
            let context = format!("from {source:?}\n{}", describe(&run));
            run.code(0);
            let got = blocks_in(&sb, "in", &context);
            assert_blocks(&got, input.as_bytes(), &cut_by_count(&ends, 3), &context);
        }
    }
    // -N with NUL records.
    let sb = Sandbox::new();
    let run = pipe_run(
        &sb,
        Source::Stdin,
        b"a\0b\0c\0d\0e",
        &["-0", "-N", "2", "-k", "wc", "-c"],
    );
    run.code(0).lines(&["4", "4", "1"]);
}

/// A FASTQ-like input: `records` records of 4 lines of random lengths.
fn fastq(seed: u64, records: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for r in 0..records {
        let len = rng.range(1, 60);
        out.extend(format!("@read{r}\n").as_bytes());
        out.extend(rng.bytes(len, b"\n"));
        out.extend(b"\n+\n");
        out.extend(rng.bytes(len, b"\n"));
        out.push(b'\n');
    }
    out
}

/// Runs `-L 4 OPTS` on a FASTQ-like input from every source and checks the
/// blocks: whole 4-line records, cut as `want` says.
fn check_fastq_blocks(opts: &[&str], want: impl Fn(&[usize]) -> Vec<(usize, usize)>) {
    let input = fastq(7, 40);
    let records = every_nth(&ends_of(&input, b"\n"), 4);
    let want = want(&records);
    for source in SOURCES {
        let sb = Sandbox::new();
        let mut args = vec!["-L", "4"];
        args.extend(opts);
        args.extend(SAVE);
        let run = pipe_run(&sb, source, &input, &args);
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let got = blocks_in(&sb, "in", &context);
        for (n, block) in got.iter().enumerate() {
            assert!(
                block.starts_with(b"@read") && count(block, b'\n') % 4 == 0,
                "block {} is not whole 4-line records: {}\n{context}",
                n + 1,
                show(block, 0, 200)
            );
        }
        assert_blocks(&got, &input, &want, &context);
    }
}

#[test]
fn l_4_never_splits_a_fastq_record() {
    check_fastq_blocks(&["--block", "100"], |r| cut_by_size(r, 100));
    check_fastq_blocks(&["--block", "1"], |r| cut_by_size(r, 1));
}

#[test]
fn l_4_with_n_2_gives_two_fastq_records_per_block() {
    // GNU parallel 20221122 takes `--pipe -L 4 -N 2` (8 lines a block).
    check_fastq_blocks(&["-N", "2"], |r| cut_by_count(r, 2));
}

#[test]
fn l_by_size_gives_the_lines_after_the_last_whole_record_a_block_of_their_own() {
    // GNU: `seq 10 | parallel --pipe -L 3 wc -l` prints 9 then 1.
    let ten: String = (1..=10).map(|n| format!("{n}\n")).collect();
    for source in SOURCES {
        let sb = Sandbox::new();
        // --pipe-part's default block is -10 (a share of the file), not 1M.
        let mut args = if source == Source::PipePart {
            vec!["--block", "1M"]
        } else {
            vec![]
        };
        args.extend(["-L", "3", "-k", "wc", "-l"]);
        let run = pipe_run(&sb, source, ten.as_bytes(), &args);
        let context = format!("from {source:?}\n{}", describe(&run));
        assert_eq!(run.stdout_lines(), ["9", "1"], "\n{context}");
        run.code(0);
    }

    // FASTQ records and a last one of 2 lines: blocks by size of whole
    // records, then the 2 lines alone; with -N, they count as a record.
    let whole = fastq(9, 30);
    let input = [&whole[..], b"@partial\nACGT\n"].concat();
    let records = every_nth(&ends_of(&whole, b"\n"), 4);
    for (opts, want) in [
        (&["--block", "100"][..], {
            let mut want = cut_by_size(&records, 100);
            want.push((whole.len(), input.len() - whole.len()));
            want
        }),
        (&["-N", "4"], {
            let mut records = records.clone();
            records.push(input.len());
            cut_by_count(&records, 4)
        }),
    ] {
        for source in SOURCES {
            let sb = Sandbox::new();
            let mut args = vec!["-L", "4"];
            args.extend(opts);
            args.extend(SAVE);
            let run = pipe_run(&sb, source, &input, &args);
            let context = format!("{opts:?} from {source:?}\n{}", describe(&run));
            run.code(0);
            let got = blocks_in(&sb, "in", &context);
            assert_blocks(&got, &input, &want, &context);
        }
    }
}

#[test]
fn header_lines_top_every_block_and_are_in_none() {
    let rows: Vec<String> = (1..=30).map(|n| format!("{n},value{n}")).collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    for (opts, header_lines) in [
        (&["--header", "1"][..], 1),
        (&["--header", ":"], 1),
        (&["--header", "2"], 2),
    ] {
        let mut all = vec!["id,val", "# units"];
        all.truncate(header_lines);
        all.extend(&refs);
        let input = text_lines(&all);
        let header = text_lines(&all[..header_lines]);
        let body = &input.as_bytes()[header.len()..];
        for source in SOURCES {
            let sb = Sandbox::new();
            let mut args = opts.to_vec();
            args.extend(["--block", "40", "--journal", "j.jsonl"]);
            args.extend(SAVE);
            let run = pipe_run(&sb, source, input.as_bytes(), &args);
            let context = format!("{opts:?} from {source:?}\n{}", describe(&run));
            run.code(0);
            let got = blocks_in(&sb, "in", &context);
            assert!(got.len() > 3, "several blocks\n{context}");
            let mut blocks = Vec::new();
            for (n, stdin) in got.iter().enumerate() {
                let Some(block) = stdin.strip_prefix(header.as_bytes()) else {
                    panic!(
                        "job {}'s stdin does not start with the header: {}\n{context}",
                        n + 1,
                        show(stdin, 0, 80)
                    );
                };
                assert!(
                    !block.starts_with(all[0].as_bytes()),
                    "the header is in a block too: {}\n{context}",
                    show(stdin, 0, 80)
                );
                blocks.push(block.to_vec());
            }
            // Blocks are cut from the data after the header.
            let want = cut_lines(source, body, 40);
            assert_blocks(&blocks, body, &want, &context);
            // The journal's offsets count from the end of the header.
            let keys: Vec<String> = block_lines(&sb, "j.jsonl")
                .iter()
                .map(|v| v["key"].as_str().unwrap_or_default().to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut want_keys: Vec<String> = want.iter().map(|(o, l)| format!("{o}+{l}")).collect();
            want_keys.sort();
            assert_eq!(keys, want_keys, "journal keys OFFSET+LENGTH\n{context}");
        }
    }
}

#[test]
fn block_number_and_slot_placeholders() {
    let input = b"a\nb\nc\nd\ne\n";
    for source in SOURCES {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input,
            &[
                "--block",
                "4",
                "-k",
                "-j1",
                "sh",
                "-c",
                r#"echo "{#} $FANOUT_SEQ {%} $(wc -l)""#,
            ],
        );
        // --pipe-part: the first line end at or past 4 bytes ends a block.
        if source == Source::PipePart {
            run.code(0).lines(&["1 1 1 3", "2 2 1 2"]);
        } else {
            run.code(0).lines(&["1 1 1 2", "2 2 1 2", "3 3 1 1"]);
        }
        // {#} works as a word of its own too, and nothing else is appended.
        let run = pipe_run(&sb, source, input, &["--block", "4", "-k", "echo", "{#}"]);
        if source == Source::PipePart {
            run.code(0).lines(&["1", "2"]);
        } else {
            run.code(0).lines(&["1", "2", "3"]);
        }
    }
}

#[test]
fn options_pipe_cannot_take_are_refused_before_any_job() {
    let sb = Sandbox::new();
    sb.write("f1", "a\n");
    sb.write("f2", "b\n");
    let touch = ["sh", "-c", "touch ran; cat"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--pipe", "echo", "{}"], "{}"),
        (vec!["--pipe", "echo", "x{}y"], "{}"),
        (vec!["--pipe", "echo", "{.}"], "{.}"),
        (vec!["--pipe", "echo", "{1}"], "{1}"),
        (vec!["--pipe", "echo", "{##}"], "{##}"),
        (vec!["--pipe", "echo", "{name}"], "{name}"),
        (vec!["--pipe-part", "-a", "f1", "echo", "{}"], "{}"),
        (vec!["--spreadstdin", "echo", "{}"], "{}"),
        (vec!["--pipe", "cat", ":::", "a", "b"], ":::"),
        (vec!["--pipe", "-a", "f1", "-a", "f2", "cat"], "-a"),
        (vec!["--pipe", "--format", "csv", "cat"], "--format"),
        (vec!["--pipe", "--format", "json", "cat"], "--format"),
        (vec!["--pipe", "--round-robin", "-k", "cat"], "-k"),
        (vec!["--pipe-part", "cat"], "-a"),
        (
            vec!["--pipe-part", "-a", "/dev/null", "cat"],
            "regular file",
        ),
    ];
    for (args, mention) in cases {
        let mut args = args;
        let is_cat = args.last() == Some(&"cat");
        if is_cat {
            args.pop();
            args.extend(touch);
        }
        let run = sb.fanout().args(&args).stdin("a\nb\n").run();
        run.code(2).stderr_has(mention);
        assert!(!sb.exists("ran"), "a refused run started a job\n{run:?}");
    }
    // A value placeholder names --pipe in its refusal.
    sb.fanout()
        .args(["--pipe", "echo", "{}"])
        .stdin("a\n")
        .run()
        .code(2)
        .stderr_has("--pipe");
}

#[test]
fn aliases_spreadstdin_block_size_round_pipepart_roundrobin() {
    let input = text_lines(&["1", "2", "3", "4", "5", "6"]);
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--spreadstdin", "--block-size", "4", "-k", "wc", "-l"])
        .stdin(input.clone())
        .run()
        .code(0)
        .lines(&["2", "2", "2"]);
    let run = sb
        .fanout()
        .args(["--pipe", "--round", "-j2", "--block", "4", "wc", "-l"])
        .stdin(input.clone())
        .run();
    run.code(0);
    assert_eq!(sum_of_counts(&run), 6, "{}", describe(&run));
    // GNU's spellings without the dash.
    sb.write("six", &input);
    sb.fanout()
        .args(["--pipepart", "-a", "six", "--block", "3", "-k", "wc", "-l"])
        .run()
        .code(0)
        .lines(&["2", "2", "2"]);
    let run = sb
        .fanout()
        .args(["--pipe", "--roundrobin", "-j2", "--block", "4", "wc", "-l"])
        .stdin(input)
        .run();
    run.code(0);
    assert_eq!(sum_of_counts(&run), 6, "{}", describe(&run));
}

// ---------------------------------------------------------------------------
// 3. Supervision per block
// ---------------------------------------------------------------------------

/// The journal's block lines (its item lines).
#[track_caller]
fn block_lines(sb: &Sandbox, name: &str) -> Vec<Value> {
    journal_at(&sb.join(name), LastLine::Whole)
        .into_iter()
        .filter(|v| v["type"] == "item")
        .collect()
}

/// 16 unique 4-byte lines, `bad` third: [`two_lines_a_block`] makes 8
/// blocks of two.
fn sixteen_lines() -> String {
    let lines: Vec<String> = (1..=16)
        .map(|n| {
            if n == 3 {
                "bad".to_owned()
            } else {
                format!("l{n:02}")
            }
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    text_lines(&refs)
}

/// The `--block` that makes blocks of two of [`sixteen_lines`]: 8 for
/// `--pipe` (the last line end within it), 5 for `--pipe-part` (the first
/// at or past it).
fn two_lines_a_block(source: Source) -> &'static str {
    if source == Source::PipePart { "5" } else { "8" }
}

#[test]
fn a_failed_block_is_retried_with_the_same_bytes() {
    // Odd blocks read all their stdin on the first attempt, even ones none;
    // both fail, and the second attempt must get the block again, whole.
    let job = "if [ -e tried.$FANOUT_SEQ ]; then cat > second.$FANOUT_SEQ; \
               else touch tried.$FANOUT_SEQ; \
               case $FANOUT_SEQ in *[13579]) cat > first.$FANOUT_SEQ;; esac; exit 1; fi";
    let body = fastq(3, 30);
    for header in [&b""[..], b"@header line\n"] {
        let input = [header, &body].concat();
        for source in SOURCES {
            let want = cut_lines(source, &body, 200);
            let sb = Sandbox::new();
            let mut args = vec!["--block", "200", "-j2", "--retries", "1"];
            if !header.is_empty() {
                args.extend(["--header", "1"]);
            }
            args.extend(["--journal", "j.jsonl", "sh", "-c", job]);
            let run = pipe_run(&sb, source, &input, &args);
            let context = format!("from {source:?}, header {header:?}\n{}", describe(&run));
            run.code(0);
            // Each attempt's stdin is the header, then the block.
            let second: Vec<Vec<u8>> = blocks_in(&sb, "second", &context)
                .into_iter()
                .map(|stdin| {
                    stdin
                        .strip_prefix(header)
                        .unwrap_or_else(|| panic!("no header on a retry's stdin\n{context}"))
                        .to_vec()
                })
                .collect();
            assert_blocks(&second, &body, &want, &context);
            let first = sb.numbered("first");
            assert_eq!(first.len(), want.len().div_ceil(2), "\n{context}");
            for (n, bytes) in &first {
                assert_bytes(
                    &format!("block {n}: the retry's stdin equals the first attempt's"),
                    &[header, &second[*n as usize - 1]].concat(),
                    bytes,
                    &context,
                );
            }
            let lines = block_lines(&sb, "j.jsonl");
            assert_eq!(
                lines.len(),
                want.len(),
                "a journal line per block\n{context}"
            );
            for line in &lines {
                assert_eq!(line["outcome"], "ok", "{line}\n{context}");
                assert_eq!(line["attempts"], 2, "{line}\n{context}");
            }
        }
    }
}

#[test]
fn a_failing_block_fails_the_run_with_its_journal_line_and_report_row() {
    let input = sixteen_lines();
    let job = "cat > in.$FANOUT_SEQ; if grep -q bad in.$FANOUT_SEQ; then exit 3; fi";
    for source in SOURCES {
        let block = two_lines_a_block(source);
        let want = cut_lines(source, input.as_bytes(), block.parse().unwrap());
        assert_eq!(want.len(), 8, "{source:?}");
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &[
                "--block",
                block,
                "-j2",
                "--journal",
                "j.jsonl",
                "--report",
                "r.csv",
                "--report",
                "r.jsonl",
                "--report",
                "r.json",
                "sh",
                "-c",
                job,
            ],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(1);
        let jsonl = crate::util::journal::json_lines(&String::from_utf8_lossy(&sb.read("r.jsonl")));
        assert_eq!(jsonl.len(), 8, "a JSON-lines row per block\n{context}");
        let json: Value = serde_json::from_slice(&sb.read("r.json")).expect("the JSON report");
        let items = json["items"].as_array().expect("items");
        let texts: Vec<String> = items
            .iter()
            .map(|i| i["item"].as_str().unwrap_or_default().to_owned())
            .collect();
        let want_texts: Vec<String> = want
            .iter()
            .map(|(o, l)| format!("bytes {o}..{}", o + l))
            .collect();
        assert_eq!(
            texts, want_texts,
            "the JSON report's blocks, in input order\n{context}"
        );
        let lines = block_lines(&sb, "j.jsonl");
        assert_eq!(
            lines.len(),
            8,
            "a journal line per block\n{context}\n{lines:#?}"
        );
        let by_seq: BTreeMap<u64, &Value> = lines
            .iter()
            .map(|v| (v["seq"].as_u64().expect("a seq"), v))
            .collect();
        for (n, &(offset, len)) in want.iter().enumerate() {
            let seq = n as u64 + 1;
            let line = by_seq
                .get(&seq)
                .unwrap_or_else(|| panic!("no journal line for block {seq}\n{context}"));
            assert_eq!(line["key"], format!("{offset}+{len}"), "{line}\n{context}");
            if seq == 2 {
                assert_eq!(line["outcome"], "failed", "{line}\n{context}");
                assert_eq!(line["exit_code"], 3, "{line}\n{context}");
            } else {
                assert_eq!(line["outcome"], "ok", "{line}\n{context}");
            }
        }

        let bytes = sb.read("r.csv");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let headers = reader.headers().expect("a CSV header").clone();
        let rows: Vec<BTreeMap<String, String>> = reader
            .records()
            .map(|r| {
                let r = r.expect("a CSV row");
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect();
        assert_eq!(
            rows.len(),
            8,
            "a report row per block\n{context}\n{rows:#?}"
        );
        let mut by_seq: BTreeMap<u64, &BTreeMap<String, String>> = BTreeMap::new();
        for row in &rows {
            by_seq.insert(row["seq"].parse().expect("a seq"), row);
        }
        for (n, &(offset, len)) in want.iter().enumerate() {
            let seq = n as u64 + 1;
            let row = by_seq
                .get(&seq)
                .unwrap_or_else(|| panic!("no report row for block {seq}\n{context}"));
            assert_eq!(
                row["item"],
                format!("bytes {offset}..{}", offset + len),
                "{row:?}\n{context}"
            );
            assert_eq!(row["key"], format!("{offset}+{len}"), "{row:?}\n{context}");
            let status = if seq == 2 { "failed" } else { "ok" };
            assert_eq!(row["status"], status, "{row:?}\n{context}");
        }
    }
}

#[test]
fn resume_runs_only_the_blocks_not_finished() {
    let input = sixteen_lines();
    let all_lines: Vec<String> = input.lines().map(str::to_owned).collect();
    // Every run appends its block's lines to `side`; a block holding `bad`
    // fails while `fail` exists. -j1 and a halt on the first failure leave
    // blocks 3..8 unfinished.
    let job = "cat > blk.$$; cat blk.$$ >> side; \
               if [ -e fail ] && grep -q bad blk.$$; then exit 1; fi; rm blk.$$";
    for source in [Source::Stdin, Source::File, Source::PipePart] {
        let block = two_lines_a_block(source);
        let want = cut_lines(source, input.as_bytes(), block.parse().unwrap());
        assert_eq!(want.len(), 8, "{source:?}");
        let sb = Sandbox::new();
        let run = |extra: &[&str]| {
            let mut args = vec!["--block", block, "-j1", "--journal", "j.jsonl"];
            args.extend(extra);
            args.extend(["--halt", "now,fail=1", "sh", "-c", job]);
            pipe_run(&sb, source, input.as_bytes(), &args)
        };
        let side_len = || sb.lines("side").len();
        sb.write("fail", "");
        let first = run(&[]);
        let context = format!("from {source:?}\n{}", describe(&first));
        first.code(1);
        let finished: BTreeMap<String, String> = block_lines(&sb, "j.jsonl")
            .iter()
            .filter(|v| v["outcome"] == "ok" || v["outcome"] == "failed")
            .map(|v| {
                (
                    v["key"].as_str().unwrap_or_default().to_owned(),
                    v["outcome"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            finished
                .get(&format!("{}+{}", want[1].0, want[1].1))
                .map(String::as_str),
            Some("failed"),
            "block 2 is journaled as failed: {finished:?}\n{context}"
        );
        assert_eq!(
            finished
                .get(&format!("{}+{}", want[0].0, want[0].1))
                .map(String::as_str),
            Some("ok"),
            "block 1 is journaled as ok: {finished:?}\n{context}"
        );
        assert!(
            finished.len() < 8,
            "the halt left blocks unfinished: {finished:?}\n{context}"
        );

        // --resume runs exactly the blocks the journal lacks.
        fs::remove_file(sb.join("fail")).expect("remove the fail marker");
        let before = side_len();
        let resumed = run(&["--resume"]);
        let context = format!("from {source:?}\n{}", describe(&resumed));
        resumed.code(1);
        let mut ran: Vec<String> = sb.lines("side")[before..].to_vec();
        ran.sort();
        let mut expect: Vec<String> = want
            .iter()
            .filter(|(o, l)| !finished.contains_key(&format!("{o}+{l}")))
            .flat_map(|&(o, l)| {
                input[o..o + l]
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        expect.sort();
        assert_eq!(
            ran, expect,
            "--resume runs the unfinished blocks only\n{context}"
        );

        // --retry-failed runs the failed block alone; then nothing is left.
        let before = side_len();
        let retried = run(&["--retry-failed"]);
        let context = format!("from {source:?}\n{}", describe(&retried));
        retried.code(0);
        assert_eq!(
            sb.lines("side")[before..],
            all_lines[2..4],
            "--retry-failed reruns block 2 only\n{context}"
        );
        let before = side_len();
        run(&["--resume"]).code(0);
        assert_eq!(side_len(), before, "a finished run resumes to nothing");
    }
}

#[test]
fn ctrl_c_keeps_finished_blocks_and_resume_runs_the_rest() {
    // -j2: blocks 1 and 2 finish, 3 and 4 block while `block` exists (after
    // touching `blocked.SEQ`); the test then sends SIGINT.
    let input = sixteen_lines();
    let job = format!(
        "cat > in.$FANOUT_SEQ; cat in.$FANOUT_SEQ >> side; case $FANOUT_SEQ in 1|2) ;; \
         *) if [ -e block ]; then touch blocked.$FANOUT_SEQ; {}; fi;; esac",
        sh_wait_until("[ ! -e block ]")
    );
    for source in [Source::Stdin, Source::File, Source::PipePart] {
        let block = two_lines_a_block(source);
        let want = cut_lines(source, input.as_bytes(), block.parse().unwrap());
        assert_eq!(want.len(), 8, "{source:?}");
        let sb = Sandbox::new();
        sb.write(INPUT, &input);
        let fanout = |extra: &[&str]| {
            let f = match source {
                Source::PipePart => sb.fanout().args(["--pipe-part", "-a", INPUT]),
                Source::File => sb.fanout().args(["--pipe", "-a", INPUT]),
                _ => sb.fanout().arg("--pipe"),
            };
            f.args(["--block", block, "-j2", "--journal", "j.jsonl"])
                .args(extra)
                .args(["sh", "-c", &job])
        };
        sb.write("block", "");
        let mut running = fanout(&[]).pipe_stdin().spawn();
        let mut stdin = running.stdin.take().expect("fanout's stdin");
        if source == Source::Stdin {
            stdin.write_all(input.as_bytes()).expect("feed fanout");
        }
        drop(stdin);
        running.wait_for_numbered(&sb, "blocked", 2);
        running.signal("INT");
        let ended = running.wait();
        ended.interrupted_by(2).stderr_has("fanout: resume with: ");
        let context = format!("from {source:?}\n{}", ended.dump());
        let ok: BTreeSet<String> = block_lines(&sb, "j.jsonl")
            .iter()
            .filter(|v| v["outcome"] == "ok")
            .map(|v| v["key"].as_str().unwrap_or_default().to_owned())
            .collect();
        let key = |n: usize| format!("{}+{}", want[n].0, want[n].1);
        assert!(
            ok.contains(&key(0)) && ok.contains(&key(1)),
            "blocks 1 and 2 finished before the signal: {ok:?}\n{context}"
        );
        assert!(
            !ok.contains(&key(2)) && !ok.contains(&key(3)),
            "the interrupted blocks are not recorded as succeeded: {ok:?}\n{context}"
        );

        fs::remove_file(sb.join("block")).expect("remove the block marker");
        let before = sb.lines("side").len();
        let resumed = match source {
            Source::Stdin => fanout(&["--resume"]).stdin(input.clone()).run(),
            _ => fanout(&["--resume"]).run(),
        };
        let context = format!("from {source:?}\n{}", describe(&resumed));
        resumed.code(0);
        let mut ran = sb.lines("side")[before..].to_vec();
        ran.sort();
        let mut expect: Vec<String> = want
            .iter()
            .filter(|(o, l)| !ok.contains(&format!("{o}+{l}")))
            .flat_map(|&(o, l)| {
                input[o..o + l]
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        expect.sort();
        assert_eq!(
            ran, expect,
            "--resume runs the blocks not recorded as ok\n{context}"
        );
        let all: BTreeSet<String> = (0..want.len()).map(key).collect();
        let ok_after: BTreeSet<String> = block_lines(&sb, "j.jsonl")
            .iter()
            .filter(|v| v["outcome"] == "ok")
            .map(|v| v["key"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ok_after, all, "every block is recorded as ok\n{context}");
    }
}

#[test]
fn a_halt_stops_reading_an_endless_stream() {
    // The test writes lines into fanout's stdin until fanout closes it; the
    // third block fails and --halt now,fail=1 must end the run.
    let sb = Sandbox::new();
    let mut running = sb
        .fanout()
        .args(["--pipe", "--block", "1k", "-j2", "--halt", "now,fail=1"])
        .args(["sh", "-c", "cat > /dev/null; [ $FANOUT_SEQ != 3 ]"])
        .pipe_stdin()
        .spawn();
    let mut stdin = running.stdin.take().expect("fanout's stdin");
    let writer = std::thread::spawn(move || {
        let line = format!("{}\n", "e".repeat(63));
        loop {
            if let Err(e) = stdin.write_all(line.as_bytes()) {
                return e.kind();
            }
        }
    });
    let ended = running.wait();
    ended.code(1);
    assert_eq!(
        writer.join().expect("the writer"),
        std::io::ErrorKind::BrokenPipe,
        "fanout closed its stdin when it halted\n{}",
        ended.dump()
    );
}

#[test]
fn timeout_ends_a_job_that_never_reads_its_stdin() {
    // 9 MB in 3 MB blocks, more than a job's stdin pipe holds (at most
    // 1 MB unprivileged): fanout is stuck writing each job's stdin when the
    // timeout comes.
    let input = format!("{}\n", "z".repeat(1023)).repeat(9 << 10);
    let job = format!("{RECORD_PID} sleep 1000");
    for source in [Source::Stdin, Source::File, Source::PipePart] {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", "3M", "-j3", "--timeout", "1s", "sh", "-c", &job],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(1).stderr_has("timed out");
        let (jobs, _) = assert_nothing_left(&sb, &context);
        assert_eq!(jobs, 3, "three blocks, three jobs\n{context}");
    }
}

#[test]
fn k_keeps_input_order_when_blocks_finish_out_of_order() {
    // Block 1 waits for block 2 to finish, block 2 for block 3: they finish
    // 3, 2, 1.
    let job = format!(
        "cat > in.$FANOUT_SEQ; case $FANOUT_SEQ in 1) {w2};; 2) {w3};; esac; \
         cat in.$FANOUT_SEQ; touch done.$FANOUT_SEQ",
        w2 = sh_wait_for("done.2"),
        w3 = sh_wait_for("done.3"),
    );
    let input = text_lines(&["one", "two", "six"]);
    for source in SOURCES {
        // A line a block: the last line end within 4 bytes, or (--pipe-part)
        // the first at or past 3.
        let block = if source == Source::PipePart { "3" } else { "4" };
        let blocks = cut_lines(source, input.as_bytes(), block.parse().unwrap());
        assert_eq!(blocks.len(), 3, "{source:?}");
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", block, "-j3", "-k", "sh", "-c", &job],
        );
        run.code(0).lines(&["one", "two", "six"]);
    }
}

#[test]
fn a_job_that_does_not_read_its_stdin_neither_hangs_nor_fails_the_block() {
    // 12 MB in 4 MB blocks: more than a job's stdin pipe holds (at most
    // 1 MB unprivileged), so writing to a job that exits unread fails.
    let input = format!("{}\n", "q".repeat(99)).repeat(120_000);
    for source in SOURCES {
        let blocks = cut_lines(source, input.as_bytes(), 4 << 20).len();
        let sb = Sandbox::new();
        let context = |run: &Run| format!("from {source:?}\n{}", describe(run));
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", "4M", "-j2", "true"],
        );
        run.code(0);
        assert!(run.stdout.is_empty(), "{}", context(&run));

        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", "4M", "-j2", "head", "-c1"],
        );
        run.code(0);
        assert_eq!(
            run.stdout,
            "q".repeat(blocks).as_bytes(),
            "{}",
            context(&run)
        );

        // The job's own status decides: it failed, not the write.
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &[
                "--block",
                "4M",
                "-j2",
                "--journal",
                "j.jsonl",
                "sh",
                "-c",
                "exit 3",
            ],
        );
        run.code(1);
        let lines = block_lines(&sb, "j.jsonl");
        assert_eq!(lines.len(), blocks, "{}", context(&run));
        for line in lines {
            assert_eq!(line["exit_code"], 3, "{line}\n{}", context(&run));
        }
    }
}

#[test]
fn output_is_grouped_per_block_by_default() {
    // Three jobs run at once: each prints a line, waits until all three have
    // started, prints its block, then a last line. Grouped, each job's
    // lines come out together.
    let job = format!(
        "echo begin $FANOUT_SEQ; touch started.$FANOUT_SEQ; {}; cat; echo end $FANOUT_SEQ",
        sh_wait_until("[ -e started.1 ] && [ -e started.2 ] && [ -e started.3 ]")
    );
    let input = text_lines(&["aa", "bb", "cc"]);
    for source in [Source::Stdin, Source::PipePart] {
        // A line a block (--pipe-part: the first line end at or past 2).
        let block = if source == Source::PipePart { "2" } else { "3" };
        let blocks = cut_lines(source, input.as_bytes(), block.parse().unwrap());
        assert_eq!(blocks.len(), 3, "{source:?}");
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--block", block, "-j3", "sh", "-c", &job],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let lines = run.stdout_lines();
        assert_eq!(lines.len(), 9, "\n{context}");
        let mut seen = BTreeSet::new();
        for group in lines.chunks(3) {
            let n = group[0]
                .strip_prefix("begin ")
                .unwrap_or_else(|| panic!("a block's output is interleaved\n{context}"));
            let block = ["aa", "bb", "cc"][n.parse::<usize>().expect("a number") - 1];
            assert_eq!(
                group,
                [format!("begin {n}"), block.to_owned(), format!("end {n}")],
                "a block's output is interleaved\n{context}"
            );
            seen.insert(n.to_owned());
        }
        assert_eq!(seen.len(), 3, "\n{context}");
    }
}

#[test]
fn output_line_streams_whole_lines() {
    let lines: Vec<String> = (1..=200).map(|n| format!("line {n}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in [Source::Stdin, Source::PipePart] {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &["--output", "line", "--block", "100", "-j3", "cat"],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let mut got = run.stdout_lines();
        got.sort();
        let mut want = lines.clone();
        want.sort();
        assert_eq!(got, want, "every line once, whole\n{context}");
    }
}

#[test]
fn round_robin_deals_whole_blocks_to_j_long_running_jobs() {
    let lines: Vec<String> = (1..=60).map(|n| format!("r{n}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in [Source::Stdin, Source::File] {
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &[
                "--round-robin",
                "-j2",
                "--block",
                "10",
                "sh",
                "-c",
                "cat > rr.$$",
            ],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(0);
        let files: Vec<String> = sb
            .names()
            .into_iter()
            .filter(|n| n.starts_with("rr."))
            .collect();
        assert!(
            !files.is_empty() && files.len() <= 2,
            "at most -j jobs ran: {files:?}\n{context}"
        );
        let mut got = Vec::new();
        for file in &files {
            let bytes = sb.read(file);
            assert!(bytes.ends_with(b"\n"), "{file} ends mid-line\n{context}");
            got.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
        }
        got.sort();
        let mut want = lines.clone();
        want.sort();
        assert_eq!(got, want, "every line went to one job\n{context}");
    }
}

#[test]
fn a_round_robin_job_s_outcome_is_every_one_of_its_blocks() {
    // The job that gets line r13 fails: every block it got is failed, with
    // its exit code, and every block of the other job ok.
    let lines: Vec<String> = (1..=60).map(|n| format!("r{n:02}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in [Source::Stdin, Source::PipePart] {
        let want = cut_lines(source, input.as_bytes(), 12);
        let sb = Sandbox::new();
        let run = pipe_run(
            &sb,
            source,
            input.as_bytes(),
            &[
                "--round-robin",
                "-j2",
                "--block",
                "12",
                "--journal",
                "j.jsonl",
                "--report",
                "r.csv",
                "sh",
                "-c",
                "cat > rr.$$; if grep -q r13 rr.$$; then exit 4; fi",
            ],
        );
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(1);
        let jobs: Vec<Vec<u8>> = sb
            .names()
            .into_iter()
            .filter(|n| n.starts_with("rr."))
            .map(|n| sb.read(&n))
            .collect();
        let job_of = |block: &[u8]| {
            jobs.iter()
                .position(|j| j.windows(block.len()).any(|w| w == block))
                .unwrap_or_else(|| panic!("no job got {}\n{context}", show(block, 0, 40)))
        };
        let lines = block_lines(&sb, "j.jsonl");
        assert_eq!(
            lines.len(),
            want.len(),
            "a journal line per block\n{context}"
        );
        let keys: BTreeSet<String> = lines
            .iter()
            .map(|v| v["key"].as_str().unwrap_or_default().to_owned())
            .collect();
        for &(o, l) in &want {
            let key = format!("{o}+{l}");
            assert!(keys.contains(&key), "no journal line for {key}\n{context}");
        }
        for line in &lines {
            let key = line["key"].as_str().expect("a key");
            let (o, l) = key.split_once('+').expect("OFFSET+LENGTH");
            let (o, l): (usize, usize) = (o.parse().unwrap(), l.parse().unwrap());
            let job = &jobs[job_of(&input.as_bytes()[o..o + l])];
            if job.windows(4).any(|w| w == b"r13\n") {
                assert_eq!(line["outcome"], "failed", "{line}\n{context}");
                assert_eq!(line["exit_code"], 4, "{line}\n{context}");
            } else {
                assert_eq!(line["outcome"], "ok", "{line}\n{context}");
            }
        }
        let report = sb.read("r.csv");
        let rows = csv::Reader::from_reader(report.as_slice())
            .records()
            .count();
        assert_eq!(rows, want.len(), "a report row per block\n{context}");
    }
}

#[test]
fn progress_counts_bytes_not_lines() {
    // Plain status lines (stderr is no terminal); the jobs wait until the
    // log holds one, so the run cannot end before fanout printed one. The
    // input is 21000 bytes (20.51 KiB) in 3000 lines, 3 blocks.
    let lines: Vec<String> = (1..=3000).map(|n| format!("{n:06}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in [Source::File, Source::Stdin] {
        let sb = Sandbox::new();
        let path = sb.write(INPUT, &input);
        let log = sb.join("log");
        let job = format!(
            "cat > /dev/null; {}",
            sh_wait_until(&format!("grep -q '^fanout: ' '{}'", log.display()))
        );
        let mut fanout = crate::util::fanout()
            .env("FANOUT_STATUS_INTERVAL_MS", "50")
            .args(["--progress", "--no-journal", "--pipe"]);
        if source == Source::File {
            fanout = fanout.arg("-a").arg(&path);
        }
        let mut running = fanout
            .args(["--block", "7000", "-j2", "sh", "-c", &job])
            .merged()
            .stdout_to(log.clone())
            .pipe_stdin()
            .spawn();
        let mut stdin = running.stdin.take().expect("fanout's stdin");
        if source == Source::Stdin {
            stdin.write_all(input.as_bytes()).expect("feed fanout");
        }
        drop(stdin);
        let ended = running.wait();
        let text = fs::read_to_string(&log).expect("read the log");
        let context = format!("from {source:?}\n{text}");
        assert_eq!(ended.status.code(), Some(0), "{context}");
        let status: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("fanout: ") && !l.starts_with("fanout: done"))
            .collect();
        assert!(!status.is_empty(), "no status line\n{context}");
        for line in &status {
            assert!(
                !line.contains("/3000 "),
                "the total is the file's 3000 lines, not its bytes: {line}\n{context}"
            );
        }
        assert!(
            status.iter().any(|l| l.contains("B/s")),
            "progress counts bytes (throughput)\n{context}"
        );
        let done = |l: &&str| l.split(" done").next().unwrap_or_default().to_owned();
        if source == Source::File {
            assert!(
                status.iter().any(|l| done(l).ends_with("/20.51 KiB")),
                "a file's size is the total\n{context}"
            );
        } else {
            assert!(
                status.iter().all(|l| !done(l).contains('/')),
                "a pipe has no total\n{context}"
            );
        }
        assert!(
            text.contains("fanout: done: 3 blocks"),
            "the summary counts blocks\n{context}"
        );
    }
}

#[test]
fn a_slow_job_holds_back_the_reader() {
    use std::os::fd::AsRawFd as _;

    // -j1, 1 MB blocks and a first job that does not read until `go`
    // exists: fanout may hold about -j + 2 blocks, so it must stop reading
    // its stdin after a few megabytes. The test writes without blocking
    // and watches how much fanout took.
    let sb = Sandbox::new();
    let job = format!("{}; wc -l", sh_wait_for("go"));
    let mut running = sb
        .fanout()
        .args(["--pipe", "--block", "1M", "-j1", "sh", "-c", &job])
        .pipe_stdin()
        .spawn();
    let mut stdin = running.stdin.take().expect("fanout's stdin");
    let fd = stdin.as_raw_fd();
    // SAFETY: fcntl on a file descriptor this test owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0);
    }
    let line = format!("{}\n", "b".repeat(99));
    let chunk = line.repeat(640); // 64000 bytes
    // -j + 2 = 3 blocks, plus one being read, the job's 1 MB stdin pipe
    // and slack (fanout takes 4.2 MB here); one that reads on without
    // bound takes all 12 MB the test offers.
    let limit = 6usize << 20;
    let mut written = 0usize;
    let mut pending: &[u8] = chunk.as_bytes();
    let mut refused = 0;
    // fanout has stopped reading once writes fail for 50 polls in a row.
    while refused < 50 && written < 2 * limit {
        match stdin.write(pending) {
            Ok(n) => {
                written += n;
                pending = &pending[n..];
                if pending.is_empty() {
                    pending = chunk.as_bytes();
                }
                refused = 0;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                refused += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("write to fanout: {e}"),
        }
    }
    assert!(
        written < limit,
        "fanout read {written} bytes of stdin while its only job read nothing"
    );
    // Let the jobs go (fanout reads on only once they read), then finish
    // the chunk.
    sb.write("go", "");
    // SAFETY: as above.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    stdin.write_all(pending).expect("finish the chunk");
    written += pending.len();
    drop(stdin);
    let ended = running.wait();
    ended.code(0);
    let total: usize = ended
        .stdout
        .lines()
        .map(|l| l.trim().parse::<usize>().expect("a count"))
        .sum();
    assert_eq!(total, written / 100, "{}", ended.dump());
}

/// A round-robin job that ends without reading what it was given does not
/// take those blocks along: each goes to a job that reads it. `true` reads
/// nothing, so every block runs in a job of its own (and a job that reads
/// everything afterwards gets the rest).
#[test]
fn round_robin_blocks_a_job_never_read_go_to_the_next_job() {
    let lines: Vec<String> = (1..=400).map(|n| format!("line {n}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    let sb = Sandbox::new();
    let run = pipe_run(
        &sb,
        Source::Stdin,
        input.as_bytes(),
        &[
            "--round-robin",
            "-j1",
            "--block",
            "500",
            "--events",
            "events.jsonl",
            "true",
        ],
    );
    let context = describe(&run);
    run.code(0);
    let events = String::from_utf8_lossy(&sb.read("events.jsonl")).into_owned();
    let started = events.matches("\"item-started\"").count();
    let finished = events.matches("\"item-finished\"").count();
    assert!(finished > 1, "several blocks\n{context}");
    assert_eq!(
        started, finished,
        "a job that read nothing keeps only its first block\n{context}"
    );
    // The first job reads nothing; the next reads everything: all of the
    // input but the first job's own block reaches a job.
    let sb = Sandbox::new();
    let run = pipe_run(
        &sb,
        Source::Stdin,
        input.as_bytes(),
        &[
            "--round-robin",
            "-j1",
            "--block",
            "500",
            "sh",
            "-c",
            "if [ -e first ]; then cat >> got; else : > first; fi",
        ],
    );
    let context = describe(&run);
    run.code(0);
    let got = String::from_utf8_lossy(&sb.read("got")).into_owned();
    let got: Vec<&str> = got.lines().collect();
    let skipped = lines.len() - got.len();
    assert!(
        skipped > 0 && skipped < 100,
        "only the first block is missing: {skipped} lines\n{context}"
    );
    assert_eq!(got, refs[skipped..], "the rest, once, in order\n{context}");
}

/// `--resume` with blocks cut otherwise than in the earlier run (another
/// `--block`) would run bytes the journal records as finished: refused
/// before any block runs, naming the options to keep. The same blocks
/// resume.
#[test]
fn resume_with_blocks_cut_otherwise_is_refused() {
    let lines: Vec<String> = (1..=200).map(|n| format!("{n}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let input = text_lines(&refs);
    for source in [Source::Stdin, Source::File, Source::PipePart] {
        let sb = Sandbox::new();
        let job = ["sh", "-c", "cat >> ran"];
        let first = [&["--journal", "j.jsonl", "--block", "100"][..], &job].concat();
        pipe_run(&sb, source, input.as_bytes(), &first).code(0);
        let before = sb.read("ran");
        let other = [
            &["--resume", "--journal", "j.jsonl", "--block", "150"][..],
            &job,
        ]
        .concat();
        let run = pipe_run(&sb, source, input.as_bytes(), &other);
        let context = format!("from {source:?}\n{}", describe(&run));
        run.code(2)
            .stderr_has("cut the input into other blocks")
            .stderr_has("--block");
        assert_eq!(sb.read("ran"), before, "no block ran again\n{context}");
        let same = [
            &["--resume", "--journal", "j.jsonl", "--block", "100"][..],
            &job,
        ]
        .concat();
        pipe_run(&sb, source, input.as_bytes(), &same).code(0);
        assert_eq!(sb.read("ran"), before, "nothing left to run\n{context}");
    }
}
