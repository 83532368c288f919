//! Input formats and item bytes: lines (LF, CRLF), NUL records, CSV, TSV and
//! JSON lines (by flag and by extension), stdin, bad rows as failed items,
//! invalid UTF-8 and long lines intact, and streaming from a still-open stdin.

use std::io::Write as _;

use crate::util::{Sandbox, fixture};

/// An argv job that writes its one argument, byte for byte, to `out.SEQ`.
pub const WRITE_ARG: [&str; 5] = ["sh", "-c", "printf %s \"$1\" > out.$FANOUT_SEQ", "_", "{}"];

/// Asserts that the jobs wrote exactly `expected` to out.1, out.2, ...
#[track_caller]
pub fn assert_outputs(sb: &Sandbox, run: &crate::util::Run, expected: &[&[u8]]) {
    let got = sb.numbered("out");
    let want: std::collections::BTreeMap<u64, Vec<u8>> = expected
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64 + 1, v.to_vec()))
        .collect();
    if got != want {
        let show = |m: &std::collections::BTreeMap<u64, Vec<u8>>| {
            m.iter()
                .map(|(k, v)| format!("out.{k} = {:?}", String::from_utf8_lossy(v)))
                .collect::<Vec<_>>()
        };
        run.fail(&format!(
            "the jobs did not receive the items intact\nwant: {:#?}\ngot:  {:#?}",
            show(&want),
            show(&got)
        ));
    }
}

#[test]
fn lines_with_lf_endings() {
    let sb = Sandbox::new();
    sb.write("in.txt", "one\ntwo words\n\nlast-without-newline");
    let run = sb.fanout().args(["-a", "in.txt"]).args(WRITE_ARG).run();
    run.code(0);
    assert_outputs(
        &sb,
        &run,
        &[b"one", b"two words", b"", b"last-without-newline"],
    );
}

#[test]
fn lines_with_crlf_endings_lose_the_cr() {
    let sb = Sandbox::new();
    sb.write("in.txt", "one\r\ntwo\r\nthree\r\n");
    let run = sb.fanout().args(["-a", "in.txt"]).args(WRITE_ARG).run();
    run.code(0);
    assert_outputs(&sb, &run, &[b"one", b"two", b"three"]);
}

#[test]
fn null_records_keep_embedded_newlines() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("-0")
        .arg("-a")
        .arg(fixture("records.nul"))
        .args(WRITE_ARG)
        .run();
    run.code(0);
    assert_outputs(
        &sb,
        &run,
        &[b"first item", b"second\nitem with newline", b"third"],
    );
}

#[test]
fn csv_columns_by_header_name() {
    let sb = Sandbox::new();
    sb.fanout()
        .arg("-a")
        .arg(fixture("people.csv"))
        .args(["echo", "{name}", "{age}"])
        .run()
        .code(0)
        .lines_any_order(&["ada 36", "grace 45", "linus 28", "o'brien, pat 51"]);
}

#[test]
fn csv_quoted_fields_are_one_value() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("-a")
        .arg(fixture("people.csv"))
        .args([
            "sh",
            "-c",
            "printf %s \"$1|$2\" > out.$FANOUT_SEQ",
            "_",
            "{name}",
            "{city}",
        ])
        .run();
    run.code(0);
    assert_outputs(
        &sb,
        &run,
        &[
            b"ada|London",
            b"grace|New York",
            b"linus|Helsinki",
            b"o'brien, pat|Dublin",
        ],
    );
}

#[test]
fn tsv_columns_by_header_name() {
    let sb = Sandbox::new();
    sb.fanout()
        .arg("-a")
        .arg(fixture("people.tsv"))
        .args(["echo", "{name}:{city}"])
        .run()
        .code(0)
        .lines_any_order(&["ada:London", "grace:New York", "linus:Helsinki"]);
}

#[test]
fn tsv_fields_are_literal_quotes_included() {
    let sb = Sandbox::new();
    // An unterminated quote must not swallow the rows after it, and quotes
    // inside a field stay.
    sb.write(
        "films.tsv",
        "title\tnote\n\"big\" screen\tok\n\"open\tquote\nnext\trow\nback\\slash\tx\n",
    );
    sb.fanout()
        .args(["--no-journal", "-k", "-a", "films.tsv"])
        .args(["printf", "[%s|%s]\\n", "{title}", "{note}"])
        .run()
        .code(0)
        .lines(&[
            "[\"big\" screen|ok]",
            "[\"open|quote]",
            "[next|row]",
            "[back\\slash|x]",
        ]);
}

#[test]
fn duplicate_csv_header_names_warn_and_the_first_wins() {
    let sb = Sandbox::new();
    sb.write("dup.csv", "id,name,id\n1,a,2\n");
    sb.fanout()
        .args(["--no-journal", "-a", "dup.csv", "echo", "{id}", "{3}"])
        .run()
        .code(0)
        .stderr_has(
            "warning: `dup.csv` has 2 columns named `id` (columns 1, 3): `{id}` is column 1",
        )
        .lines(&["1 2"]);
}

#[test]
fn a_missing_json_field_names_the_file_and_the_placeholder_as_written() {
    let sb = Sandbox::new();
    sb.write("in.jsonl", "{\"name\":\"a\"}\n");
    sb.fanout()
        .args(["--no-journal", "-a", "in.jsonl", "echo", "{file}"])
        .run()
        .code(1)
        .stderr_has("`in.jsonl` line 1: no field `{file}` in this record");
    sb.fanout()
        .args(["--dry-run", "-a", "in.jsonl", "echo", "{.a.b}"])
        .run()
        .code(1)
        .stderr_has("bad input: `in.jsonl` line 1: no field `{.a.b}` in this record");
}

#[test]
fn json_lines_fields() {
    let sb = Sandbox::new();
    sb.fanout()
        .arg("-a")
        .arg(fixture("events.jsonl"))
        .args(["echo", "{.id}", "{.user.name}"])
        .run()
        .code(0)
        .lines_any_order(&["1 ada", "2 grace", "3 linus"]);
}

#[test]
fn the_extension_picks_the_format() {
    let sb = Sandbox::new();
    let csv = std::fs::read(fixture("people.csv")).expect("read the fixture");
    sb.write("people.txt", &csv);
    // `.txt` is lines: the header is an item like any other.
    sb.fanout()
        .args(["-a", "people.txt", "echo", "{}"])
        .run()
        .code(0)
        .lines_any_order(&[
            "name,age,city",
            "ada,36,London",
            "grace,45,\"New York\"",
            "linus,28,Helsinki",
            "\"o'brien, pat\",51,Dublin",
        ]);
    // --format csv overrides the extension.
    sb.fanout()
        .args(["-a", "people.txt", "--format", "csv", "echo", "{name}"])
        .run()
        .code(0)
        .lines_any_order(&["ada", "grace", "linus", "o'brien, pat"]);
    // The same bytes as `.tsv` and `.jsonl` (by extension, no flag).
    sb.write("t.tsv", "k\tv\nx\t1\n");
    sb.fanout()
        .args(["-a", "t.tsv", "echo", "{k}={v}"])
        .run()
        .code(0)
        .lines(&["x=1"]);
    sb.write("j.jsonl", "{\"k\": \"x\"}\n");
    sb.fanout()
        .args(["-a", "j.jsonl", "echo", "{.k}"])
        .run()
        .code(0)
        .lines(&["x"]);
}

#[test]
fn items_from_stdin() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["echo", "{}"])
        .stdin("a\nb\nc\n")
        .run()
        .code(0)
        .lines_any_order(&["a", "b", "c"]);
    sb.fanout()
        .args(["-a", "-", "echo", "{}"])
        .stdin("d\ne\n")
        .run()
        .code(0)
        .lines_any_order(&["d", "e"]);
}

#[test]
fn csv_from_stdin_with_format() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--format", "csv", "echo", "{name}-{age}"])
        .stdin("name,age\nada,36\n\"x, y\",7\n")
        .run()
        .code(0)
        .lines_any_order(&["ada-36", "x, y-7"]);
}

#[test]
fn malformed_csv_row_is_a_failed_item_naming_its_line() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("-a")
        .arg(fixture("bad.csv"))
        .args(["echo", "{name}"])
        .run();
    run.code(1)
        .lines_any_order(&["ada", "grace"])
        .stderr_has("line 3")
        .stderr_has("2 ok");
}

#[test]
fn invalid_json_line_is_a_failed_item_naming_its_line() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .arg("-a")
        .arg(fixture("bad.jsonl"))
        .args(["echo", "{.id}"])
        .run();
    run.code(1)
        .lines_any_order(&["1", "3"])
        .stderr_has("line 2")
        .stderr_has("2 ok");
}

#[test]
fn invalid_utf8_reaches_the_job_intact() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(WRITE_ARG)
        .stdin(&b"caf\xe9\n\xff\xfe\x80\nok\n"[..])
        .run();
    run.code(0);
    assert_outputs(&sb, &run, &[b"caf\xe9", b"\xff\xfe\x80", b"ok"]);
    // And through FANOUT_ITEM.
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args([
            "sh",
            "-c",
            "printf %s \"$FANOUT_ITEM\" > out.$FANOUT_SEQ",
            "_",
            "{}",
        ])
        .stdin(&b"caf\xe9\n"[..])
        .run();
    run.code(0);
    assert_outputs(&sb, &run, &[b"caf\xe9"]);
}

#[test]
fn a_100_kb_line_reaches_the_job_intact() {
    // Linux caps one argv or environment string at 128 KiB, so this is
    // about the largest item that can reach a job as an argument.
    let line: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = line.clone();
    input.push(b'\n');
    let sb = Sandbox::new();
    let run = sb.fanout().args(WRITE_ARG).stdin(input).run();
    run.code(0);
    assert_outputs(&sb, &run, &[&line]);
}

#[test]
fn a_1_mb_line_passes_intact() {
    let line: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = line.clone();
    input.extend_from_slice(b"\nshort\n");
    let sb = Sandbox::new();
    sb.write("big.txt", &input);
    // Reader and renderer: --dry-run prints the item whole.
    let run = sb
        .fanout()
        .args(["--dry-run", "-a", "big.txt", "echo", "{}"])
        .run();
    run.code(0);
    let want = format!("echo {}", String::from_utf8_lossy(&line));
    if !run.stdout_lines().contains(&want) {
        run.fail("--dry-run did not print the 1 MB item whole");
    }
    // Through a real job: a pipe into the job's stdin is the only way for
    // 1 MB to reach it (argv and environment strings stop at 128 KiB).
    let run = sb
        .fanout()
        .args([
            "-a",
            "big.txt",
            "sh",
            "-c",
            "printf %s \"$1\" | wc -c",
            "_",
            "{}",
        ])
        .run();
    // This is the kernel's limit, not fanout's: the item fails to start,
    // cleanly, and the other item still runs.
    run.code(1).stderr_has("could not start").lines(&["5"]);
}

#[test]
fn a_job_for_a_1_mb_item_starts_when_the_template_does_not_use_it() {
    // The command never sees the item, so nothing stops it from running:
    // fanout must not put the whole item into the job's environment
    // (FANOUT_ITEM) when the kernel cannot take it.
    let mut input = vec![b'x'; 1_000_000];
    input.extend_from_slice(b"\nshort\n");
    let sb = Sandbox::new();
    sb.write("big.txt", &input);
    sb.fanout()
        .args(["-a", "big.txt", "sh", "-c", "echo \"$1\"", "_", "{#}"])
        .run()
        .code(0)
        .lines_any_order(&["1", "2"]);
}

#[test]
fn streaming_starts_jobs_before_stdin_closes() {
    let sb = Sandbox::new();
    let mut running = sb
        .fanout()
        .args([
            "-j",
            "2",
            "sh",
            "-c",
            "printf %s \"$1\" > tmp.$FANOUT_SEQ && mv tmp.$FANOUT_SEQ out.$FANOUT_SEQ",
            "_",
            "{}",
        ])
        .pipe_stdin()
        .spawn();
    let mut stdin = running.stdin.take().expect("piped stdin");
    stdin.write_all(b"first\n").expect("write the first item");
    stdin.flush().expect("flush");
    // If fanout waited for EOF, this would only end at the safety net.
    let started = running.wait_for_numbered(&sb, "out", 1);
    assert_eq!(started.get(&1).map(Vec::as_slice), Some(&b"first"[..]));
    stdin.write_all(b"second\nthird\n").expect("write the rest");
    drop(stdin);
    running.wait().code(0);
    let all: Vec<Vec<u8>> = sb.numbered("out").into_values().collect();
    assert_eq!(
        all,
        [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
    );
}
