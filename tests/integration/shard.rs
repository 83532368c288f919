//! `--shard` (issue 12): `hash:K/N` and `slice:K/N` rules, shards read
//! from a scheduler's environment (every provider of the table, 0- and
//! 1-based indices, Slurm arrays with any MIN and STEP), `--shard-by`,
//! `--shard env`, the errors (exit 2), golden hash values that must never
//! change, and the shard in a real run's journal and its resume.
//!
//! Every fanout here starts with a cleared environment (only `PATH`,
//! `HOME` and the harness's variables), so a scheduler's variables on the
//! test machine cannot leak in.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::journal::{self, LastLine};
use crate::util::{DEADLINE, Run, Sandbox, harness_env};

/// `fanout --no-progress ARGS` in `sb` with a cleared environment plus
/// `vars`.
fn run_with(sb: &Sandbox, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(crate::util::bin());
    cmd.env_clear();
    for keep in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(keep) {
            cmd.env(keep, value);
        }
    }
    harness_env(&mut cmd);
    cmd.current_dir(sb.path()).arg("--no-progress").args(args);
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let command = format!("{vars:?} fanout {}", args.join(" "));
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(DEADLINE);
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("run `{command}`: {e}"));
    Run {
        command,
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The items `--dry-run echo {} -a input.txt` lists with `shard` and
/// `vars`, in the order listed.
#[track_caller]
fn dry(sb: &Sandbox, vars: &[(&str, &str)], shard: &[&str]) -> Vec<String> {
    let mut args = shard.to_vec();
    args.extend(["--dry-run", "-a", "input.txt", "echo", "{}"]);
    let run = run_with(sb, vars, &args);
    run.code(0);
    run.stdout_lines()
        .iter()
        .map(|l| {
            l.strip_prefix("echo ")
                .unwrap_or_else(|| run.fail(&format!("not an echo line: {l:?}")))
                .to_owned()
        })
        .collect()
}

/// A sandbox whose `input.txt` holds `item01`..`item30`.
fn thirty() -> (Sandbox, Vec<String>) {
    let sb = Sandbox::new();
    let items: Vec<String> = (1..=30).map(|i| format!("item{i:02}")).collect();
    sb.write("input.txt", items.join("\n") + "\n");
    (sb, items)
}

/// Checks that `shards` (shard 1 first) do not overlap and together hold
/// every item exactly once.
#[track_caller]
fn partition(what: &str, shards: &[Vec<String>], items: &[String]) {
    let mut all: Vec<&String> = shards.iter().flatten().collect();
    all.sort();
    let mut want: Vec<&String> = items.iter().collect();
    want.sort();
    assert_eq!(all, want, "{what}: shards {shards:?} are not a partition");
    assert!(
        shards.iter().filter(|s| !s.is_empty()).count() > 1,
        "{what}: all items in one shard: {shards:?}"
    );
}

/// One provider's environment for shard `k` (1-based) of 3.
type Vars = fn(usize) -> Vec<(&'static str, String)>;

/// Every provider of the table: its name, extra options, its variables for
/// shard `k` of 3.
fn providers() -> Vec<(&'static str, &'static [&'static str], Vars)> {
    fn s(v: usize) -> String {
        v.to_string()
    }
    vec![
        // --array=1-3
        ("slurm", &[], |k| {
            vec![
                ("SLURM_ARRAY_TASK_ID", s(k)),
                ("SLURM_ARRAY_TASK_COUNT", s(3)),
                ("SLURM_ARRAY_TASK_MIN", s(1)),
                ("SLURM_ARRAY_TASK_MAX", s(3)),
                ("SLURM_ARRAY_TASK_STEP", s(1)),
            ]
        }),
        // --array=0-2
        ("slurm", &[], |k| {
            vec![
                ("SLURM_ARRAY_TASK_ID", s(k - 1)),
                ("SLURM_ARRAY_TASK_COUNT", s(3)),
                ("SLURM_ARRAY_TASK_MIN", s(0)),
                ("SLURM_ARRAY_TASK_MAX", s(2)),
                ("SLURM_ARRAY_TASK_STEP", s(1)),
            ]
        }),
        // --array=0-4:2
        ("slurm", &[], |k| {
            vec![
                ("SLURM_ARRAY_TASK_ID", s((k - 1) * 2)),
                ("SLURM_ARRAY_TASK_COUNT", s(3)),
                ("SLURM_ARRAY_TASK_MIN", s(0)),
                ("SLURM_ARRAY_TASK_MAX", s(4)),
                ("SLURM_ARRAY_TASK_STEP", s(2)),
            ]
        }),
        // --array=5-9:2
        ("slurm", &[], |k| {
            vec![
                ("SLURM_ARRAY_TASK_ID", s(5 + (k - 1) * 2)),
                ("SLURM_ARRAY_TASK_COUNT", s(3)),
                ("SLURM_ARRAY_TASK_MIN", s(5)),
                ("SLURM_ARRAY_TASK_MAX", s(9)),
                ("SLURM_ARRAY_TASK_STEP", s(2)),
            ]
        }),
        ("sge", &[], |k| {
            vec![
                ("SGE_TASK_ID", s(k)),
                ("SGE_TASK_FIRST", s(1)),
                ("SGE_TASK_LAST", s(3)),
                ("SGE_TASK_STEPSIZE", s(1)),
            ]
        }),
        ("kubernetes", &["--shard-count", "3"], |k| {
            vec![("JOB_COMPLETION_INDEX", s(k - 1))]
        }),
        ("k8s", &["--shard-count", "3"], |k| {
            vec![("JOB_COMPLETION_INDEX", s(k - 1))]
        }),
        ("gitlab", &[], |k| {
            vec![("CI_NODE_INDEX", s(k)), ("CI_NODE_TOTAL", s(3))]
        }),
        ("circleci", &[], |k| {
            vec![("CIRCLE_NODE_INDEX", s(k - 1)), ("CIRCLE_NODE_TOTAL", s(3))]
        }),
        ("buildkite", &[], |k| {
            vec![
                ("BUILDKITE_PARALLEL_JOB", s(k - 1)),
                ("BUILDKITE_PARALLEL_JOB_COUNT", s(3)),
            ]
        }),
        ("azure", &[], |k| {
            vec![
                ("SYSTEM_JOBPOSITIONINPHASE", s(k)),
                ("SYSTEM_TOTALJOBSINPHASE", s(3)),
            ]
        }),
        ("aws-batch", &[], |k| {
            vec![
                ("AWS_BATCH_JOB_ARRAY_INDEX", s(k - 1)),
                ("AWS_BATCH_JOB_ARRAY_SIZE", s(3)),
            ]
        }),
        ("gcp-batch", &[], |k| {
            vec![("BATCH_TASK_INDEX", s(k - 1)), ("BATCH_TASK_COUNT", s(3))]
        }),
        ("google-batch", &[], |k| {
            vec![("BATCH_TASK_INDEX", s(k - 1)), ("BATCH_TASK_COUNT", s(3))]
        }),
        ("cloud-run", &[], |k| {
            vec![
                ("CLOUD_RUN_TASK_INDEX", s(k - 1)),
                ("CLOUD_RUN_TASK_COUNT", s(3)),
            ]
        }),
    ]
}

/// The variables as `(name, value)` pairs of borrowed strings.
fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn every_provider_gives_the_hash_shard_of_its_index() {
    let (sb, items) = thirty();
    let hash: Vec<Vec<String>> = (1..=3)
        .map(|k| dry(&sb, &[], &["--shard", &format!("hash:{k}/3")]))
        .collect();
    partition("hash:K/3", &hash, &items);
    for (name, extra, vars) in providers() {
        let mut shards = Vec::new();
        for k in 1..=3 {
            let env = vars(k);
            let mut args = vec!["--shard", name];
            args.extend_from_slice(extra);
            let got = dry(&sb, &borrowed(&env), &args);
            assert_eq!(
                got,
                hash[k - 1],
                "--shard {name} with {env:?} should be hash:{k}/3"
            );
            shards.push(got);
        }
        partition(name, &shards, &items);
    }
}

#[test]
fn shard_by_slice_gives_the_slice_shard_of_the_index() {
    let (sb, items) = thirty();
    let slice: Vec<Vec<String>> = (1..=3)
        .map(|k| dry(&sb, &[], &["--shard", &format!("slice:{k}/3")]))
        .collect();
    partition("slice:K/3", &slice, &items);
    for k in 1..=3 {
        // Plain K/N is slice too.
        assert_eq!(dry(&sb, &[], &["--shard", &format!("{k}/3")]), slice[k - 1]);
        let want: Vec<String> = items.iter().skip(k - 1).step_by(3).cloned().collect();
        assert_eq!(slice[k - 1], want, "slice:{k}/3 is positions {k}, {k}+3...");
    }
    for (name, extra, vars) in providers() {
        for k in 1..=3 {
            let env = vars(k);
            let mut args = vec!["--shard", name, "--shard-by", "slice"];
            args.extend_from_slice(extra);
            assert_eq!(
                dry(&sb, &borrowed(&env), &args),
                slice[k - 1],
                "--shard {name} --shard-by slice with {env:?} should be slice:{k}/3"
            );
            // And --shard-by hash is the default.
            let mut args = vec!["--shard", name, "--shard-by", "hash"];
            args.extend_from_slice(extra);
            assert_eq!(
                dry(&sb, &borrowed(&env), &args),
                dry(&sb, &[], &["--shard", &format!("hash:{k}/3")]),
                "--shard {name} --shard-by hash with {env:?}"
            );
        }
    }
}

#[test]
fn shard_env_picks_the_one_provider_set() {
    let (sb, _) = thirty();
    for k in 1..=3 {
        let hash = dry(&sb, &[], &["--shard", &format!("hash:{k}/3")]);
        for (name, extra, vars) in providers() {
            let env = vars(k);
            let mut args = vec!["--shard", "env"];
            args.extend_from_slice(extra);
            assert_eq!(
                dry(&sb, &borrowed(&env), &args),
                hash,
                "--shard env with {name}'s {env:?}"
            );
        }
    }
}

#[test]
fn shard_env_refuses_two_providers_and_none() {
    let sb = Sandbox::new();
    let run = run_with(
        &sb,
        &[
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "2"),
            ("CIRCLE_NODE_INDEX", "0"),
            ("CIRCLE_NODE_TOTAL", "2"),
        ],
        &["--shard", "env", "--dry-run", "echo", ":::", "a"],
    );
    run.code(2);
    assert!(
        run.stderr.contains("gitlab"),
        "names gitlab: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("circleci"),
        "names circleci: {}",
        run.stderr
    );
    let run = run_with(
        &sb,
        &[],
        &["--shard", "env", "--dry-run", "echo", ":::", "a"],
    );
    run.code(2)
        .stderr_has("SLURM_ARRAY_TASK_ID")
        .stderr_has("CI_NODE_INDEX");
    assert!(
        run.stdout.is_empty(),
        "nothing listed: {}",
        run.stdout_text()
    );
}

#[test]
fn a_named_provider_without_its_variables_is_an_error_naming_them() {
    let sb = Sandbox::new();
    for (name, var) in [
        ("slurm", "SLURM_ARRAY_TASK_ID"),
        ("gitlab", "CI_NODE_INDEX"),
        ("aws-batch", "AWS_BATCH_JOB_ARRAY_INDEX"),
    ] {
        run_with(
            &sb,
            &[],
            &["--shard", name, "--dry-run", "echo", ":::", "a"],
        )
        .code(2)
        .stderr_has(var);
    }
}

#[test]
fn an_irregular_slurm_array_is_refused() {
    let sb = Sandbox::new();
    // --array=0,3,7: MIN + (COUNT-1)*STEP = 2 != MAX.
    run_with(
        &sb,
        &[
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_STEP", "1"),
            ("SLURM_ARRAY_TASK_ID", "3"),
        ],
        &["--shard", "slurm", "--dry-run", "echo", ":::", "a"],
    )
    .code(2)
    .stderr_has("irregular");
}

#[test]
fn kubernetes_needs_shard_count() {
    let sb = Sandbox::new();
    run_with(
        &sb,
        &[("JOB_COMPLETION_INDEX", "0")],
        &["--shard", "kubernetes", "--dry-run", "echo", ":::", "a"],
    )
    .code(2)
    .stderr_has("--shard-count");
}

#[test]
fn a_shard_count_that_contradicts_the_environment_is_an_error() {
    let sb = Sandbox::new();
    run_with(
        &sb,
        &[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "3")],
        &[
            "--shard",
            "gitlab",
            "--shard-count",
            "4",
            "--dry-run",
            "echo",
            ":::",
            "a",
        ],
    )
    .code(2);
}

#[test]
fn bad_shard_specs_are_refused() {
    let sb = Sandbox::new();
    for spec in [
        "hash:0/3",
        "hash:4/3",
        "foo",
        "hash:1/0",
        "0/3",
        "slice:4/3",
    ] {
        let run = run_with(
            &sb,
            &[],
            &["--shard", spec, "--dry-run", "echo", ":::", "a"],
        );
        run.code(2).stderr_has("--shard");
        assert!(
            run.stdout.is_empty(),
            "--shard {spec} listed {}",
            run.stdout_text()
        );
    }
}

/// Each item's shard of 4 under `hash`: `xxh64(seed 0, item) % 4 + 1`,
/// computed independently (Python's `xxhash`) and never to change.
const GOLDEN: [(&str, usize); 8] = [
    ("alpha", 1),   // 0xc758e1011dda5848
    ("eta", 2),     // 0xc12fd54bafa801a1
    ("epsilon", 3), // 0xa64fcbd8c140eeaa
    ("delta", 4),   // 0x21c5114e75049e0f
    ("beta", 1),    // 0xf5ee2990398e98c4
    ("iota", 2),    // 0x3770a80c2ee59b31
    ("kappa", 3),   // 0x7e0e1f2ef7032292
    ("zeta", 3),    // 0xd806008b63d80dae
];

/// The shard of 4 each of `items` (written as `input.txt`) lands in.
fn shard_of_each(sb: &Sandbox, items: &[&str]) -> Vec<(String, usize)> {
    sb.write("input.txt", items.join("\n") + "\n");
    let mut found = Vec::new();
    for k in 1..=4 {
        for item in dry(sb, &[], &["--shard", &format!("hash:{k}/4")]) {
            found.push((item, k));
        }
    }
    found.sort();
    found
}

#[test]
fn hash_shards_match_the_golden_values() {
    let sb = Sandbox::new();
    let items: Vec<&str> = GOLDEN.iter().map(|(i, _)| *i).collect();
    let mut want: Vec<(String, usize)> = GOLDEN.iter().map(|(i, k)| (i.to_string(), *k)).collect();
    want.sort();
    assert_eq!(shard_of_each(&sb, &items), want);
}

#[test]
fn reordering_and_growing_the_input_moves_no_item() {
    let sb = Sandbox::new();
    let items: Vec<&str> = GOLDEN.iter().map(|(i, _)| *i).collect();
    let before = shard_of_each(&sb, &items);
    let mut reordered = items.clone();
    reordered.reverse();
    reordered.extend(["lambda", "mu", "omega", "psi"]);
    let after = shard_of_each(&sb, &reordered);
    for entry in &before {
        assert!(after.contains(entry), "{entry:?} moved: {after:?}");
    }
    // Duplicates land together (both copies listed by the same shard).
    let dups = shard_of_each(&sb, &["alpha", "eta", "alpha", "eta", "delta", "alpha"]);
    assert_eq!(
        dups,
        vec![
            ("alpha".to_owned(), 1),
            ("alpha".to_owned(), 1),
            ("alpha".to_owned(), 1),
            ("delta".to_owned(), 4),
            ("eta".to_owned(), 2),
            ("eta".to_owned(), 2),
        ]
    );
}

#[test]
fn key_decides_the_hash_shard() {
    let sb = Sandbox::new();
    // Rows with the same first column land together, whatever the rest.
    let rows: Vec<String> = GOLDEN
        .iter()
        .flat_map(|(key, _)| [format!("{key},one"), format!("{key},two,extra")])
        .collect();
    sb.write("rows.csv", rows.join("\n") + "\n");
    let mut shard_of = Vec::new();
    for k in 1..=4 {
        let run = run_with(
            &sb,
            &[],
            &[
                "--shard",
                &format!("hash:{k}/4"),
                "--key",
                "{1}",
                "--colsep",
                ",",
                "--dry-run",
                "-a",
                "rows.csv",
                "echo",
                "{1}",
            ],
        );
        run.code(0);
        for line in run.stdout_lines() {
            shard_of.push((line.trim_start_matches("echo ").to_owned(), k));
        }
    }
    shard_of.sort();
    // Each key twice (both its rows), in the golden shard of the key alone.
    let mut want: Vec<(String, usize)> = GOLDEN
        .iter()
        .flat_map(|(key, k)| [(key.to_string(), *k), (key.to_string(), *k)])
        .collect();
    want.sort();
    assert_eq!(shard_of, want);
}

/// Records the item; fails for the item in `FAIL` until the file `fixed`
/// exists.
const JOB: &str = r#"echo "$1" >> side; [ "$1" != "$FAIL" ] || [ -e fixed ]"#;

#[test]
fn a_real_shard_run_records_its_shard_and_resumes_only_its_own_failures() {
    let (sb, items) = thirty();
    let mine = dry(&sb, &[], &["--shard", "hash:2/3"]);
    assert!(mine.len() >= 2, "shard 2/3 holds {mine:?}");
    let fail = mine[0].clone();
    let run_args = |extra: &[&str]| {
        let mut args = vec![
            "-j1",
            "--shard",
            "hash:2/3",
            "--journal",
            "j.jsonl",
            "-a",
            "input.txt",
        ];
        args.extend_from_slice(extra);
        args.extend(["sh", "-c", JOB, "_", "{}"]);
        run_with(&sb, &[("FAIL", fail.as_str())], &args)
    };
    run_args(&[]).code(1);
    let mut ran = sb.lines("side");
    ran.sort();
    let mut want = mine.clone();
    want.sort();
    assert_eq!(ran, want, "the run ran its shard's items only");
    let lines = journal::journal_at(&sb.join("j.jsonl"), LastLine::Whole);
    let header = &lines[0];
    assert_eq!(header["type"], "run", "header: {header}");
    assert_eq!(header["shard"], Value::from("hash:2/3"), "header: {header}");
    let others: BTreeSet<&String> = items.iter().filter(|i| !mine.contains(i)).collect();
    for line in &lines[1..] {
        if let Some(item) = line["item"].as_str() {
            assert!(
                !others.contains(&item.to_owned()),
                "journal records {item} of another shard"
            );
        }
    }

    sb.write("fixed", "");
    sb.write("side", "");
    run_args(&["--resume", "--retry-failed"]).code(0);
    assert_eq!(
        sb.lines("side"),
        vec![fail],
        "only the failed item ran again"
    );
}
