//! Several input sources (issue 10, point 1): `:::` groups, `::::` files and
//! repeated `-a`, in every combination or linked (`:::+`, `::::+`,
//! `--link`), `--header :`, the positional placeholders `{1}` `{-1}`
//! `{2/.}`, stdin streamed as the first source, and resuming combinations.
//!
//! Each expected output is what GNU parallel 20221122 prints for the same
//! command line (with `-k`), written down here so the tests do not need
//! GNU parallel installed.

use std::io::Write as _;

use crate::util::Sandbox;
use crate::util::journal::{json_lines, ok_items};

/// `fanout -k --no-journal ARGS`, expected to succeed with these lines.
#[track_caller]
fn prints(sb: &Sandbox, args: &[&str], want: &[&str]) {
    sb.fanout()
        .args(["-k", "--no-journal"])
        .args(args)
        .run()
        .code(0)
        .lines(want);
}

/// `fa` holds x, y; `fb` holds 1, 2.
fn two_files() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("fa", "x\ny\n");
    sb.write("fb", "1\n2\n");
    sb
}

#[test]
fn two_arg_groups_give_every_combination() {
    let sb = Sandbox::new();
    prints(
        &sb,
        &[
            "echo", "{1}", "and", "{2}", ":::", "A", "B", ":::", "C", "D",
        ],
        &["A and C", "A and D", "B and C", "B and D"],
    );
    // `{}` is the values joined by a space; with no placeholder each
    // value is its own argument (`printf` shows the argument boundaries).
    prints(
        &sb,
        &["echo", "{}", ":::", "A", "B", ":::", "C"],
        &["A C", "B C"],
    );
    prints(
        &sb,
        &["printf", "<%s>\\n", ":::", "a b", ":::", "c"],
        &["<a b>", "<c>"],
    );
    prints(
        &sb,
        &[
            "echo",
            "{1}{2}{3}",
            ":::",
            "a",
            "b",
            ":::",
            "c",
            "d",
            ":::",
            "e",
        ],
        &["ace", "ade", "bce", "bde"],
    );
}

#[test]
fn argument_files_are_sources() {
    let sb = two_files();
    let want = ["x 1", "x 2", "y 1", "y 2"];
    prints(&sb, &["echo", "{1}", "{2}", "::::", "fa", "fb"], &want);
    prints(&sb, &["-a", "fa", "-a", "fb", "echo", "{1}", "{2}"], &want);
    prints(
        &sb,
        &["--arg-file", "fa", "--input", "fb", "echo", "{1}", "{2}"],
        &want,
    );
    // GNU puts `-a` sources before the `:::` groups.
    prints(
        &sb,
        &["-a", "fa", "echo", "{1}", "{2}", ":::", "Q", "R"],
        &["x Q", "x R", "y Q", "y R"],
    );
    prints(
        &sb,
        &["-a", "fa", "echo", ":::", "1", ":::", "z", "::::", "fb"],
        &["x 1 z 1", "x 1 z 2", "y 1 z 1", "y 1 z 2"],
    );
}

#[test]
fn linked_groups_advance_together() {
    let sb = two_files();
    // GNU's man page example: `:::+` links a group to the one before it.
    prints(
        &sb,
        &[
            "echo", ":::", "a", "b", "c", ":::+", "1", "2", "3", ":::", "X", "Y", ":::+", "11",
            "22",
        ],
        &[
            "a 1 X 11", "a 1 Y 22", "b 2 X 11", "b 2 Y 22", "c 3 X 11", "c 3 Y 22",
        ],
    );
    // A linked group is as long as its shortest source (GNU: no wrapping).
    prints(
        &sb,
        &[
            "echo", ":::", "A", "B", "C", ":::+", "D", "E", ":::", "x", "y",
        ],
        &["A D x", "A D y", "B E x", "B E y"],
    );
    prints(&sb, &["echo", "::::", "fa", "::::+", "fb"], &["x 1", "y 2"]);
}

#[test]
fn link_wraps_the_shorter_sources() {
    let sb = two_files();
    let args = [
        "echo", "{1}", "{2}", "{3}", ":::", "1", "2", ":::", "I", "II", "III", ":::", "a", "b",
        "c", "d", "e", "f", "g",
    ];
    let want = [
        "1 I a", "2 II b", "1 III c", "2 I d", "1 II e", "2 III f", "1 I g",
    ];
    prints(&sb, &[&["--link"][..], &args].concat(), &want);
    prints(&sb, &[&["--xapply"][..], &args].concat(), &want);
    prints(
        &sb,
        &["--link", "-a", "fa", "-a", "fb", "echo"],
        &["x 1", "y 2"],
    );
    // `--link` links every source; GNU then wraps `:::+` groups too.
    prints(
        &sb,
        &[
            "--link", "echo", ":::", "a", "b", "c", "d", ":::", "c", "d", ":::+", "1", "2", "3",
        ],
        &["a c 1", "b d 2", "c c 3", "d d 1"],
    );
}

#[test]
fn positions_from_the_end_and_path_forms() {
    let sb = Sandbox::new();
    prints(
        &sb,
        &["echo", "{-1}", "{-2}", ":::", "A", "B", ":::", "C", "D"],
        &["C A", "D A", "C B", "D B"],
    );
    prints(
        &sb,
        &[
            "echo", "{2.}", "{2/}", "{2//}", "{2/.}", "{-1/.}", ":::", "A", ":::", "d/f.txt",
        ],
        &["d/f f.txt d f f"],
    );
    prints(
        &sb,
        &[
            "echo", "{-1.}", "{-2/}", "{-1//}", "{-1/.}", "{.}", "{/}", ":::", "d/a.b", ":::",
            "e/c.d",
        ],
        &["e/c a.b e c d/a e/c a.b c.d"],
    );
    // `--colsep` columns are positions too, for one source or several.
    prints(
        &sb,
        &[
            "--colsep", ",", "echo", "{1}", "{2}", "{3}", "{-1}", ":::", "a,b", ":::", "c",
        ],
        &["a b c c"],
    );
    prints(
        &sb,
        &[
            "--colsep",
            ",",
            "echo",
            "{-1/.}",
            "{1//}",
            ":::",
            "d/x,e/f.g",
        ],
        &["f d"],
    );
}

#[test]
fn a_position_past_the_sources_is_refused_before_anything_runs() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["sh", "-c", "touch ran", "_", "{3}", ":::", "a", ":::", "b"])
        .run()
        .code(2)
        .stderr_has("`{3}` is past the last input source (2 sources");
    sb.fanout()
        .args(["sh", "-c", "touch ran", "_", "{-3}", ":::", "a", ":::", "b"])
        .run()
        .code(2)
        .stderr_has("`{-3}` is past the last input source");
    assert!(!sb.path().join("ran").exists());
}

#[test]
fn header_names_each_source() {
    let sb = Sandbox::new();
    prints(
        &sb,
        &[
            "--header", ":", "echo", "{a}", "{b}", "{1}", "{}", ":::", "a", "1", "2", ":::", "b",
            "3",
        ],
        &["1 3 1 1 3", "2 3 2 2 3"],
    );
    sb.write("t.tsv", "f1\tf2\nx\ty\nz\tw\n");
    // With a column separator the first line names the columns; without
    // one, GNU splits at tabs.
    for colsep in [&["--colsep", "\t"][..], &[]] {
        let args = [
            &["--header", ":"][..],
            colsep,
            &[
                "echo", "{f2}", "{f1}", "{a}", "::::", "t.tsv", ":::", "a", "7",
            ],
        ]
        .concat();
        prints(&sb, &args, &["y x 7", "w z 7"]);
    }
    // A single `::::` file: with --colsep it is lines split at the
    // separator, whatever its extension; without, a `.tsv` file is TSV
    // with its own header row.
    for colsep in [&["--colsep", "\t"][..], &[]] {
        let args = [
            &["--header", ":"][..],
            colsep,
            &["echo", "{f1}", "::::", "t.tsv"],
        ]
        .concat();
        prints(&sb, &args, &["x", "z"]);
    }
    // One source: its first line names it.
    sb.fanout()
        .args([
            "-k",
            "--no-journal",
            "--header",
            ":",
            "echo",
            "{h}",
            "{h/.}",
        ])
        .stdin("h\nd/1.x\n2\n")
        .run()
        .code(0)
        .lines(&["d/1.x 1", "2 2"]);
    sb.fanout()
        .args([
            "--header", ":", "echo", "{c}", ":::", "a", "1", ":::", "b", "3",
        ])
        .run()
        .code(2)
        .stderr_has("column `{c}` is not in the header (columns: a, b)");
    sb.fanout()
        .args(["--header", "1", "echo", ":::", "a"])
        .run()
        .code(2)
        .stderr_has("only `--header :` is supported");
}

#[test]
fn stdin_streams_as_the_first_source() {
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
            "::::",
            "-",
            ":::",
            "a",
            "b",
        ])
        .pipe_stdin()
        .spawn();
    let mut stdin = running.stdin.take().expect("piped stdin");
    stdin.write_all(b"first\n").expect("write the first item");
    stdin.flush().expect("flush");
    // If fanout waited for the end of stdin, this would only end at the
    // safety net.
    let started = running.wait_for_numbered(&sb, "out", 2);
    assert_eq!(started.get(&1).map(Vec::as_slice), Some(&b"first a"[..]));
    assert_eq!(started.get(&2).map(Vec::as_slice), Some(&b"first b"[..]));
    stdin.write_all(b"second\n").expect("write the rest");
    drop(stdin);
    running.wait().code(0);
    let all: Vec<Vec<u8>> = sb.numbered("out").into_values().collect();
    assert_eq!(
        all,
        [
            b"first a".to_vec(),
            b"first b".to_vec(),
            b"second a".to_vec(),
            b"second b".to_vec()
        ]
    );
}

#[test]
fn stdin_as_a_later_source_is_read_whole() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-k", "--no-journal", "echo", ":::", "a", "b", "::::", "-"])
        .stdin("1\n2\n")
        .run()
        .code(0)
        .lines(&["a 1", "a 2", "b 1", "b 2"]);
    sb.fanout()
        .args(["--no-journal", "echo", "::::", "-", "-"])
        .run()
        .code(2)
        .stderr_has("stdin (`-`) can be only one of the input sources");
}

#[test]
fn an_empty_source_gives_no_items() {
    // GNU runs `echo a ''` here; fanout runs nothing rather than jobs with
    // a value missing (README: "Several input sources").
    let sb = Sandbox::new();
    sb.write("empty", "");
    for args in [
        &["echo", ":::", "a", ":::"][..],
        &["echo", "::::", "empty", ":::", "a"],
        &["--link", "echo", ":::", "a", "::::", "empty"],
    ] {
        sb.fanout()
            .args(["--no-journal"])
            .args(args)
            .run()
            .code(0)
            .lines(&[]);
    }
}

#[test]
fn bad_sources_name_their_file() {
    let sb = two_files();
    sb.fanout()
        .args(["echo", "::::", "fa", "missing.txt"])
        .run()
        .code(2)
        .stderr_has("failed to open input `missing.txt`");
    std::fs::create_dir(sb.path().join("dir")).expect("mkdir");
    sb.fanout()
        .args(["echo", ":::", "a", "::::", "dir"])
        .run()
        .code(2)
        .stderr_has("failed to read `dir`");
    sb.fanout()
        .args(["echo", "::::"])
        .run()
        .code(2)
        .stderr_has("`::::` needs one or more files");
    sb.fanout()
        .args(["--format", "csv", "echo", "::::", "fa", "fb"])
        .run()
        .code(2)
        .stderr_has("several input sources are read as lines");
    // A value a row lacks names each value's source and line.
    sb.write("cols", "p,q\nr\n");
    sb.fanout()
        .args([
            "-k", "--colsep", ",", "echo", "{3}", ":::", "a", "::::", "cols",
        ])
        .run()
        .code(1)
        .stdout_has("q")
        .stderr_has("`:::` item 1, `cols` line 2: no position 3 in this item (2 positions)");
}

#[test]
fn dry_run_shard_and_keep_order_see_combinations() {
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "--dry-run",
            "echo",
            "{1}-{2}",
            ":::",
            "a",
            "b c",
            ":::",
            "1",
            "2",
        ])
        .run()
        .code(0)
        .lines(&["echo a-1", "echo a-2", "echo 'b c-1'", "echo 'b c-2'"]);
    sb.fanout()
        .args([
            "--dry-run",
            "--shard",
            "2/3",
            "echo",
            ":::",
            "a",
            "b",
            "c",
            ":::",
            "1",
            "2",
        ])
        .run()
        .code(0)
        .lines(&["echo a 2", "echo c 1"]);
    sb.fanout()
        .args([
            "-k",
            "-j3",
            "--no-journal",
            "sh",
            "-c",
            "echo \"$1$2\"",
            "_",
            "{1}",
            "{2}",
            ":::",
            "a",
            "b",
            "c",
            ":::",
            "1",
            "2",
            "3",
        ])
        .run()
        .code(0)
        .lines(&["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]);
}

#[test]
fn journal_reports_and_events_record_each_combination() {
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "--journal",
            "j",
            "--report",
            "r.jsonl",
            "--events",
            "ev",
            "echo",
            ":::",
            "a b",
            ":::",
            "c",
        ])
        .run()
        .code(0);
    let journal = String::from_utf8(sb.read("j")).expect("utf-8");
    let lines = json_lines(&journal);
    assert_eq!(lines[0]["input"], "::: :::");
    assert_eq!(ok_items(&lines), ["a b c"]);
    let reports = json_lines(&String::from_utf8(sb.read("r.jsonl")).expect("utf-8"));
    assert_eq!(reports[0]["item"], "a b c");
    assert_eq!(reports[0]["command"], "echo 'a b' c");
    let events = String::from_utf8(sb.read("ev")).expect("utf-8");
    assert!(events.contains(r#""item":"a b c""#), "{events}");
}

/// Runs `-j1 --halt soon,fail=1` over a × {1,2} × {x,y}: `a 2 x` fails,
/// so the run stops with the b combinations not started; `--resume` runs
/// only those, and `--retry-failed` only the failure.
#[test]
fn resume_runs_only_the_combinations_left() {
    let sb = Sandbox::new();
    sb.write("fail-a-2-x", "");
    let job = [
        "sh",
        "-c",
        "echo \"$1 $2 $3\" >> ran; [ ! -e \"fail-$1-$2-$3\" ]",
        "_",
        "{1}",
        "{2}",
        "{3}",
        ":::",
        "a",
        "b",
        ":::",
        "1",
        "2",
        ":::",
        "x",
        "y",
    ];
    let run = |extra: &[&str]| {
        sb.fanout()
            .args(["-j1", "--journal", "j"])
            .args(extra)
            .args(job)
            .run()
    };
    let ran = |sb: &Sandbox| -> Vec<String> {
        let text = String::from_utf8(sb.read("ran")).expect("utf-8");
        std::fs::remove_file(sb.path().join("ran")).expect("rm ran");
        text.lines().map(str::to_owned).collect()
    };
    run(&["--halt", "soon,fail=1"]).code(1);
    assert_eq!(ran(&sb), ["a 1 x", "a 1 y", "a 2 x"]);
    run(&["--resume"]).code(1).stderr_has("in an earlier run");
    assert_eq!(ran(&sb), ["a 2 y", "b 1 x", "b 1 y", "b 2 x", "b 2 y"]);
    std::fs::remove_file(sb.path().join("fail-a-2-x")).expect("rm");
    run(&["--retry-failed"]).code(0);
    assert_eq!(ran(&sb), ["a 2 x"]);
    // Values that differ only in where the space is are other items.
    let split = ["sh", "-c", "echo \"$1|$2\" >> ran", "_", "{1}", "{2}"];
    sb.fanout()
        .args(["--journal", "k"])
        .args(split)
        .args([":::", "a b", ":::", "c"])
        .run()
        .code(0);
    assert_eq!(ran(&sb), ["a b|c"]);
    sb.fanout()
        .args(["--journal", "k", "--resume"])
        .args(split)
        .args([":::", "a", ":::", "b c"])
        .run()
        .code(0);
    assert_eq!(ran(&sb), ["a|b c"]);
}

/// The total is the number of combinations: a percentage `--halt` of all
/// six items stops at the second failure (2 of 6 is 30% or more), where a
/// total of the first source's two values would stop at the first.
#[test]
fn the_total_counts_combinations() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["-j1", "--no-journal", "--halt", "soon,fail=30%"])
        .args(["sh", "-c", "echo \"$1\" >> ran; exit 1", "_", "{}"])
        .args([":::", "a", "b", ":::", "1", "2", "3"])
        .run()
        .code(1);
    let ran = String::from_utf8(sb.read("ran")).expect("utf-8");
    assert_eq!(ran.lines().collect::<Vec<_>>(), ["a 1", "a 2"]);
}

/// SIGINT while `b 1` runs (`-j1`): the combinations before it are
/// journaled, `b 1` is interrupted and the rest never started; the resume
/// hint's `--resume` runs exactly `b 1` and what follows.
#[test]
fn an_interrupted_run_of_combinations_resumes_the_rest() {
    let sb = Sandbox::new();
    sb.write("block", "");
    let job = format!(
        r#"echo "$1 $2" >> ran; if [ "$1 $2" = "b 1" ] && [ -e block ]; then touch blocked.1; {}; fi"#,
        crate::util::sh_wait_until("[ ! -e block ]")
    );
    let args = [
        "-j1",
        "--journal",
        "j",
        "sh",
        "-c",
        &job,
        "_",
        "{1}",
        "{2}",
        ":::",
        "a",
        "b",
        "c",
        ":::",
        "1",
        "2",
    ];
    let mut running = sb.fanout().args(args).spawn();
    running.wait_for_numbered(&sb, "blocked", 1);
    running.signal("INT");
    let ended = running.wait();
    ended.interrupted_by(2);
    ended.stderr_has("--resume");
    std::fs::remove_file(sb.path().join("block")).expect("rm block");
    let ran = |sb: &Sandbox| -> Vec<String> {
        let text = String::from_utf8(sb.read("ran")).expect("utf-8");
        std::fs::remove_file(sb.path().join("ran")).expect("rm ran");
        text.lines().map(str::to_owned).collect()
    };
    assert_eq!(ran(&sb), ["a 1", "a 2", "b 1"]);
    sb.fanout()
        .arg("--resume")
        .args(args)
        .run()
        .code(0)
        .stderr_has("2 ok in an earlier run");
    assert_eq!(ran(&sb), ["b 1", "b 2", "c 1", "c 2"]);
}

/// `--results DIR` names an item of several sources by every position,
/// as GNU parallel: `DIR/1/A/2/C`, or with `--header :` by the names.
#[test]
fn results_directories_name_every_source() {
    let sb = Sandbox::new();
    sb.fanout()
        .args([
            "--no-journal",
            "--results",
            "out",
            "echo",
            ":::",
            "A",
            "B",
            ":::",
            "C",
            "D",
        ])
        .run()
        .code(0);
    for (a, c) in [("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")] {
        let stdout = sb.read(&format!("out/1/{a}/2/{c}/stdout"));
        assert_eq!(stdout, format!("{a} {c}\n").as_bytes());
    }
    sb.fanout()
        .args(["--no-journal", "--header", ":", "--results", "named"])
        .args(["echo", ":::", "a", "A", ":::", "b", "C"])
        .run()
        .code(0);
    assert_eq!(sb.read("named/a/A/b/C/stdout"), b"A C\n");
}

/// The input options read every source alike (GNU parallel 20221122 for
/// each line): `-d`, `-0`, `--colsep` as a regular expression, and `-E`,
/// `-r` and `--trim` on each source's values before they are combined.
#[test]
fn input_options_read_every_source() {
    let sb = Sandbox::new();
    sb.write("semi.txt", "a;b;");
    let dash = ["-d", ";", "echo", "{1}-{2}"];
    prints(
        &sb,
        &[&dash[..], &["::::", "semi.txt", ":::", "p", "q"]].concat(),
        &["a-p", "a-q", "b-p", "b-q"],
    );
    prints(
        &sb,
        &[&dash[..], &[":::", "p", "::::", "semi.txt"]].concat(),
        &["p-a", "p-b"],
    );
    sb.write("n1", "a b\0c\0");
    sb.write("n2", "1\0");
    prints(
        &sb,
        &["-0", "echo", "::::", "n1", "::::", "n2"],
        &["a b 1", "c 1"],
    );
    prints(
        &sb,
        &[
            "--colsep",
            "\\s+",
            "echo",
            "{1}{2}{3}{4}",
            ":::",
            "a  b",
            ":::",
            "c d",
        ],
        &["abcd"],
    );
    // Each source ends at its own marker; blank values go, the rest are
    // trimmed: `parallel -k -E b -r --trim lr echo ::: ' a ' '' b c ::: x ' ' b y`.
    prints(
        &sb,
        &[
            "-E", "b", "-r", "--trim", "lr", "echo", "[{1}]", "[{2}]", ":::", " a ", "", "b", "c",
            ":::", "x", " ", "b", "y",
        ],
        &["[a] [x]"],
    );
}

/// `{##}` and `{0#}` count combinations, wherever the first source comes
/// from: `:::` values, a file counted ahead with `-d`, `-E` and `--header
/// :` (each source's first value its name), stdin read whole with `-r`.
#[test]
fn totals_count_combinations_through_the_input_options() {
    let sb = Sandbox::new();
    let mut want: Vec<String> = Vec::new();
    for (n, (first, second)) in ["a", "b", "c"]
        .iter()
        .flat_map(|a| ["1", "2", "3", "4"].map(move |b| (a, b)))
        .enumerate()
    {
        want.push(format!("{:02}/12 {first} {second}", n + 1));
    }
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    prints(
        &sb,
        &[
            "echo",
            "{0#}/{##}",
            "{}",
            ":::",
            "a",
            "b",
            "c",
            ":::",
            "1",
            "2",
            "3",
            "4",
        ],
        &want,
    );
    // `parallel -k --header : -d ';' -E END -a hf echo '{#}' {h} {n} ::: n 1 2`
    // (GNU's `{##}` needs --plus).
    sb.write("hf", "h;x;y;END;z");
    prints(
        &sb,
        &[
            "--header", ":", "-d", ";", "-E", "END", "-a", "hf", "echo", "{#}/{##}", "{h}", "{n}",
            ":::", "n", "1", "2",
        ],
        &["1/4 x 1", "2/4 x 2", "3/4 y 1", "4/4 y 2"],
    );
    // `printf 'a\n\nb\n' | parallel -k --plus -r echo {##} {} :::: - ::: 1 2`
    sb.fanout()
        .args(["-k", "--no-journal", "-r", "echo", "{##}", "{}"])
        .args(["::::", "-", ":::", "1", "2"])
        .stdin("a\n\nb\n")
        .run()
        .code(0)
        .lines(&["4 a 1", "4 a 2", "4 b 1", "4 b 2"]);
    // `:::` values after the rules: a percentage halt counts 2 x 3 items,
    // so the second failure (2 of 6) stops it, not the first (1 of 3).
    sb.fanout()
        .args(["-j1", "--no-journal", "--halt", "soon,fail=30%", "-r"])
        .args(["sh", "-c", "echo \"$1\" >> ran; exit 1", "_", "{}"])
        .args([":::", "a", "", "b", ":::", "1", "2", "3"])
        .run()
        .code(1);
    assert_eq!(sb.lines("ran"), ["a 1", "a 2"]);
}

/// `--shuf` makes every combination and runs them in a random order,
/// numbered in that order (as GNU parallel).
#[test]
fn shuf_shuffles_the_combinations() {
    let sb = Sandbox::new();
    let run = sb
        .fanout()
        .args(["-k", "--no-journal", "--shuf", "echo", "{#}", "{}"])
        .args([":::", "1", "2", "3", "4", "5", "6", ":::", "a", "b", "c"])
        .run();
    run.code(0);
    let mut seen = Vec::new();
    for (n, line) in run.stdout_lines().iter().enumerate() {
        let (seq, item) = line.split_once(' ').unwrap_or_else(|| run.fail("bad line"));
        assert_eq!(seq, (n + 1).to_string(), "{line}");
        seen.push(item.to_owned());
    }
    let mut all: Vec<String> = ["1", "2", "3", "4", "5", "6"]
        .iter()
        .flat_map(|n| ["a", "b", "c"].map(move |l| format!("{n} {l}")))
        .collect();
    // 18 combinations in input order by chance: 1 in 18! (about 10^-16).
    assert_ne!(seen, all, "not shuffled");
    seen.sort();
    all.sort();
    assert_eq!(seen, all);
}

/// In a job of several items each combination's values are the job's
/// values, as GNU parallel 20221122 runs them: `-X echo x{}y`, `-N 2 echo
/// {1}+{2}`; positions of one combination are refused there.
#[test]
fn batches_of_combinations_give_each_value_its_own_argument() {
    let sb = Sandbox::new();
    let sources = [":::", "a b", "c", ":::", "1", "2"];
    prints(
        &sb,
        &[&["-n", "2", "printf", "<%s>"][..], &sources].concat(),
        &["<a b><1><a b><2><c><1><c><2>"],
    );
    prints(
        &sb,
        &[
            "-j1", "-X", "echo", "x{}y", ":::", "a", "b", ":::", "1", "2",
        ],
        &["xay x1y xay x2y xby x1y xby x2y"],
    );
    prints(
        &sb,
        &[
            "-N", "2", "echo", "{1}+{2}", ":::", "a", "b", "c", ":::", "1", "2",
        ],
        &["a+1", "b+1", "c+1"],
    );
    prints(
        &sb,
        &[&["-n", "2", "--dry-run", "echo"][..], &sources].concat(),
        &["echo 'a b' 1 'a b' 2", "echo c 1 c 2"],
    );
    sb.fanout()
        .args(["-n", "2", "echo", "{-1}", ":::", "a", ":::", "b"])
        .run()
        .code(2)
        .stderr_has("`{-1}` is not supported when jobs run several items of several input sources");
}

#[test]
fn a_total_past_two_to_the_64_is_an_error_not_a_wrong_number() {
    let sb = Sandbox::new();
    let values: Vec<String> = (0..2000).map(|n| n.to_string()).collect();
    let mut args: Vec<String> = vec!["--dry-run".into(), "echo".into(), "{##}".into()];
    for _ in 0..6 {
        args.push(":::".into());
        args.extend(values.iter().cloned());
    }
    sb.fanout()
        .args(&args)
        .run()
        .code(2)
        .stderr_has("more than 2^64");
}

/// GNU 20221122: `parallel --header : -N 2 echo {1}+{2} ::: a 1 2 ::: b 3`
/// prints `1+3`: in a job of combinations `{N}` is the job's Nth value,
/// also when `--header :` names the sources.
#[test]
fn positions_of_a_batch_of_named_sources_are_the_jobs_values() {
    let sb = Sandbox::new();
    sb.fanout()
        .args(["--header", ":", "-N", "2", "echo", "{1}+{2}"])
        .args([":::", "a", "1", "2", ":::", "b", "3"])
        .run()
        .code(0)
        .lines(&["1+3"]);
}
