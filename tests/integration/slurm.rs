//! A real scheduler (issue 12): a two-node Slurm cluster on this host, which
//! `.ci/run` starts as root (`.ci/slurm/start.sh`) and names in
//! `SLURM_CONF`. `fanout submit slurm --tasks 4` on the fixtures, and a
//! hand-written `sbatch --array=1-4` script using `--shard slurm`, must run
//! their tasks on both nodes and merge into what one machine's run gives; a
//! failing item makes the merged exit code 1; an irregular array is refused.
//! Without a cluster (not root, no packages) the test says why it skips, on
//! stderr past the harness's capture, and under `CI=true` it fails instead.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::util::{bin, fixture};

/// Whether the cluster answers; why not, if not.
fn cluster() -> Result<(), String> {
    if std::env::var_os("SLURM_CONF").is_none() {
        return Err("SLURM_CONF is not set (.ci/run starts a two-node cluster as root)".into());
    }
    match Command::new("sinfo")
        .arg("-h")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "sinfo failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!(
            "sinfo cannot run ({e}): Slurm's client is not installed"
        )),
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("start a command")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// (seq, item, status) of a JSON report's rows.
fn rows(path: &Path) -> Vec<(u64, String, String)> {
    let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (r["seq"].as_u64().unwrap(), s("item"), s("status"))
        })
        .collect()
}

/// A world-writable directory under /tmp, which every node sees here.
fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("fanout-slurm-test-")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// The nodes the merge says the shards ran on.
fn nodes(merge_stderr: &str) -> BTreeSet<String> {
    merge_stderr
        .lines()
        .filter_map(|l| l.split(", node ").nth(1))
        .filter_map(|rest| rest.split([' ', ',']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn slurm_array_shards_on_two_nodes_merge_into_one_run() {
    if let Err(why) = cluster() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but no Slurm cluster: {why}"
        );
        // Past the harness's capture, so the skip shows in the output.
        let _ = writeln!(std::io::stderr(), "slurm: SKIPPED: {why}");
        return;
    }
    let dir = shared_dir();
    let d = dir.path();
    let people = fixture("people.csv");
    let people = people.to_str().unwrap();
    let job = "echo \"{name} $SLURMD_NODENAME\"";
    // 1. fanout submit slurm on the fixtures, and the same on one machine.
    let submit = std::thread::scope(|scope| {
        let submitted = scope.spawn(|| {
            run(Command::new(bin())
                .current_dir(d)
                .args(["submit", "slurm", "--tasks", "4", "--dir", "sub"])
                .args(["--report", "merged.json", "--", "-a", people, job]))
        });
        // 2. meanwhile, a hand-written array script with a failing item.
        let items: String = (1..=24).map(|i| format!("item{i}\n")).collect();
        fs::write(d.join("items"), items).unwrap();
        fs::create_dir(d.join("hand")).unwrap();
        let script = format!(
            "#!/bin/bash\n#SBATCH --output={d}/hand/log-%a.out\ncd {d} || exit 2\n\
             exec {bin} --shard slurm -a items --journal hand/shard-$SLURM_ARRAY_TASK_ID.jsonl \
             sh -c 'test \"$1\" != item7' _ {{}}\n",
            d = d.display(),
            bin = bin()
        );
        fs::write(d.join("hand.sbatch"), script).unwrap();
        let hand = run(Command::new("sbatch").current_dir(d).args([
            "--wait",
            "--array=1-4",
            "hand.sbatch",
        ]));
        // 3. and an irregular array: every task refuses it.
        fs::create_dir(d.join("odd")).unwrap();
        let odd_script = format!(
            "#!/bin/bash\n#SBATCH --output={d}/odd/log-%a.out\ncd {d} || exit 2\n\
             exec {bin} --shard slurm -a items true\n",
            d = d.display(),
            bin = bin()
        );
        fs::write(d.join("odd.sbatch"), odd_script).unwrap();
        let odd = run(Command::new("sbatch").current_dir(d).args([
            "--wait",
            "--array=0,3,7",
            "odd.sbatch",
        ]));
        (submitted.join().unwrap(), hand, odd)
    });
    let (submitted, hand, odd) = submit;
    let stderr = text(&submitted.stderr);
    assert_eq!(submitted.status.code(), Some(0), "submit: {stderr}");
    assert!(stderr.contains("4 of 4 shards"), "{stderr}");
    assert_eq!(
        nodes(&stderr),
        BTreeSet::from(["n1".to_owned(), "n2".to_owned()]),
        "tasks ran on both nodes: {stderr}"
    );
    let single = run(Command::new(bin())
        .current_dir(d)
        .env("XDG_STATE_HOME", d.join("state"))
        .args([
            "--no-progress",
            "-a",
            people,
            "--report",
            "single.json",
            job,
        ]));
    assert_eq!(single.status.code(), Some(0), "{}", text(&single.stderr));
    assert_eq!(
        rows(&d.join("merged.json")),
        rows(&d.join("single.json")),
        "the merged shards are the single machine's run"
    );

    assert_eq!(
        hand.status.code(),
        Some(1),
        "sbatch --wait: the highest task exit code"
    );
    let merged = run(Command::new(bin())
        .args(["merge"])
        .arg(d.join("hand"))
        .args(["--report", d.join("hand.json").to_str().unwrap()]));
    let merged_err = text(&merged.stderr);
    assert_eq!(merged.status.code(), Some(1), "{merged_err}");
    assert!(
        merged_err.contains("24 items") && merged_err.contains("23 ok, 1 failed"),
        "{merged_err}"
    );
    assert!(merged_err.contains("FAIL #7 `item7`"), "{merged_err}");
    assert_eq!(nodes(&merged_err).len(), 2, "both nodes: {merged_err}");
    let all: Vec<String> = rows(&d.join("hand.json"))
        .into_iter()
        .map(|r| r.1)
        .collect();
    let want: Vec<String> = (1..=24).map(|i| format!("item{i}")).collect();
    assert_eq!(all, want, "every item once, in input order");

    assert_eq!(odd.status.code(), Some(2), "an irregular array is refused");
    for id in [0, 3, 7] {
        let log = fs::read_to_string(d.join(format!("odd/log-{id}.out"))).unwrap_or_default();
        assert!(log.contains("irregular"), "task {id}: {log}");
    }
}
