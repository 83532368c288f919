//! `fanout submit slurm` without a cluster: the batch script `--dry-run`
//! prints (the real submission runs in `slurm.rs`), and a missing `sbatch`.

use crate::util::{Sandbox, fanout};

#[test]
fn dry_run_prints_the_array_script_with_every_word_quoted() {
    let sb = Sandbox::new();
    let run = fanout()
        .args(["submit", "slurm", "--tasks", "3", "--dir"])
        .arg(sb.join("jobs"))
        .args([
            "--dry-run",
            "--",
            "-a",
            "items",
            "sh",
            "-c",
            "echo \"$1\" it's",
            "_",
            "{}",
        ])
        .run();
    run.code(0);
    let script = run.stdout_text();
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    assert!(script.contains("#SBATCH --array=1-3\n"), "{script}");
    let jobs = sb.join("jobs");
    assert!(
        script.contains(&format!(
            "#SBATCH --output={}/slurm-%A_%a.out",
            jobs.display()
        )),
        "{script}"
    );
    assert!(script.contains("--shard slurm --journal"), "{script}");
    assert!(
        script.contains("\"/shard-$SLURM_ARRAY_TASK_ID.jsonl\""),
        "{script}"
    );
    assert!(
        script.contains(r#"'echo "$1" it'\''s'"#),
        "quoted: {script}"
    );
    assert!(!jobs.exists(), "a dry run writes nothing");
    // The script runs as written: bash parses it.
    let path = sb.write("fanout.sbatch", &script);
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .status()
        .unwrap();
    assert!(check.success());
}

#[test]
fn without_sbatch_it_says_so() {
    let sb = Sandbox::new();
    fanout()
        .env("PATH", sb.path())
        .args(["submit", "slurm", "--tasks", "2", "--dir"])
        .arg(sb.join("jobs"))
        .args(["--", "true"])
        .run()
        .code(2)
        .stderr_has("sbatch not found");
    assert!(sb.exists("jobs/fanout.sbatch"), "the script is kept");
}
