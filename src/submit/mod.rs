//! `fanout submit slurm`: the whole batch as one Slurm job array. It writes
//! the array's batch script (each task runs `fanout --shard slurm` with its
//! own journal in a directory every node sees), submits it with `sbatch`,
//! shows one progress line fed by the shard journals while the array runs,
//! cancels the array (`scancel`) on Ctrl-C, then merges the journals
//! (`fanout merge`) and exits with the merged exit code.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cli::{MergeArgs, SlurmArgs};
use crate::exit;
use crate::template::shell_quote;

/// How often the array's state and the journals are read.
const POLL: Duration = Duration::from_millis(500);

/// Submits, follows, merges; the merged exit code.
pub fn slurm(args: &SlurmArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let dir = match &args.dir {
        Some(dir) => cwd.join(dir),
        None => cwd.join(format!(
            "fanout-slurm-{}",
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string()
                .replace([':', '-'], "")
                .trim_end_matches('Z')
        )),
    };
    let exe = std::env::current_exe().context("failed to find fanout's own path")?;
    let script = batch_script(args, &exe, &cwd, &dir);
    if args.dry_run {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(script.as_bytes())
            .and_then(|()| out.flush())
            .context("failed to write the script to stdout")?;
        return Ok(exit::SUCCESS);
    }
    fs::create_dir_all(&dir)
        .with_context(|| format!("failed to create the directory `{}`", dir.display()))?;
    let script_path = dir.join("fanout.sbatch");
    fs::write(&script_path, &script)
        .with_context(|| format!("failed to write `{}`", script_path.display()))?;
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(&args.sbatch_arg)
        .arg(&script_path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!(
                    "sbatch not found: is Slurm's client on PATH? (the script is in `{}`)",
                    script_path.display()
                )
            }
            _ => anyhow::anyhow!("failed to run sbatch: {e}"),
        })?;
    if !out.status.success() {
        bail!(
            "sbatch failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job = stdout
        .trim()
        .split(';')
        .next()
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .with_context(|| format!("sbatch printed no job id: {stdout:?}"))?
        .to_owned();
    crate::errln!(
        "fanout submit: job array {job} of {} tasks; journals and logs in {}",
        args.tasks,
        dir.display()
    );
    let interrupted = follow(&job, args.tasks, &dir)?;
    let logs = format!("{}/slurm-{job}_*.out", dir.display());
    let code = crate::merge::run(
        &MergeArgs {
            journals: vec![dir],
            report: args.report.clone(),
            quiet: false,
            input: None,
        },
        &|_, _| Ok(Vec::new()),
    )
    .with_context(|| {
        format!("the array's tasks left no journals to merge: see their logs, {logs}")
    })?;
    if code != exit::SUCCESS {
        crate::errln!("fanout submit: the tasks' logs are {logs}");
    }
    Ok(match interrupted {
        true => exit::for_signal(libc::SIGINT),
        false => code,
    })
}

/// The array's batch script.
fn batch_script(args: &SlurmArgs, exe: &Path, cwd: &Path, dir: &Path) -> String {
    let q = |bytes: &[u8]| String::from_utf8_lossy(&shell_quote(bytes)).into_owned();
    let mut words: Vec<String> = vec![
        q(exe.as_os_str().as_bytes()),
        "--shard".into(),
        "slurm".into(),
        "--journal".into(),
        format!(
            "{}\"/shard-$SLURM_ARRAY_TASK_ID.jsonl\"",
            q(dir.as_os_str().as_bytes())
        ),
    ];
    words.extend(args.args.iter().map(|a: &OsString| q(a.as_bytes())));
    format!(
        "#!/bin/bash\n\
         # Written by `fanout submit slurm`: each task of the array runs its shard of the\n\
         # items (--shard slurm) with its own journal; `fanout merge {dir}` merges them.\n\
         #SBATCH --job-name=fanout\n\
         #SBATCH --array=1-{tasks}\n\
         #SBATCH --output={dir}/slurm-%A_%a.out\n\
         cd {cwd} || exit 2\n\
         exec {words}\n",
        dir = dir.display(),
        tasks = args.tasks,
        cwd = q(cwd.as_os_str().as_bytes()),
        words = words.join(" "),
    )
}

/// Follows the array until it leaves the queue; `true` if Ctrl-C (or
/// SIGTERM) cancelled it.
fn follow(job: &str, tasks: u64, dir: &Path) -> anyhow::Result<bool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("failed to set up signal handling")?;
    }
    let mut progress = Progress::new(tasks);
    let mut cancelled = false;
    let mut shown = String::new();
    let mut last_shown = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) && !cancelled {
            cancelled = true;
            crate::errln!("fanout submit: cancelling job array {job} (scancel)");
            let _ = Command::new("scancel")
                .arg(job)
                .stdin(Stdio::null())
                .status();
        }
        progress.read(dir);
        let queued = in_queue(job);
        let line = progress.line(queued);
        if line != shown && (last_shown.elapsed() >= Duration::from_secs(2) || queued.is_none()) {
            crate::errln!("fanout submit: {line}");
            shown = line;
            last_shown = Instant::now();
        }
        if queued.is_none() || (progress.ended == tasks) {
            return Ok(cancelled);
        }
        std::thread::sleep(POLL);
    }
}

/// The array's tasks still in the queue (`None`: none, the array is over).
fn in_queue(job: &str) -> Option<usize> {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%i"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    // squeue forgets a finished job: an error or no lines both mean over.
    let n = String::from_utf8_lossy(&out.stdout).lines().count();
    (out.status.success() && n > 0).then_some(n)
}

/// Counts read off the shard journals as they grow.
struct Progress {
    tasks: u64,
    offsets: Vec<u64>,
    ok: u64,
    failed: u64,
    ended: u64,
}

impl Progress {
    fn new(tasks: u64) -> Progress {
        Progress {
            tasks,
            offsets: vec![0; usize::try_from(tasks).unwrap_or(0)],
            ok: 0,
            failed: 0,
            ended: 0,
        }
    }

    /// Reads what each journal gained since the last look (whole lines).
    fn read(&mut self, dir: &Path) {
        for (i, offset) in self.offsets.iter_mut().enumerate() {
            let path: PathBuf = dir.join(format!("shard-{}.jsonl", i + 1));
            let Ok(mut file) = fs::File::open(&path) else {
                continue;
            };
            let mut text = Vec::new();
            if file.seek(SeekFrom::Start(*offset)).is_err() || file.read_to_end(&mut text).is_err()
            {
                continue;
            }
            let whole = memchr::memrchr(b'\n', &text).map_or(0, |i| i + 1);
            for line in text[..whole].split(|b| *b == b'\n') {
                let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
                if has(br#""type":"item""#) {
                    match has(br#""outcome":"ok""#) {
                        true => self.ok += 1,
                        false => self.failed += 1,
                    }
                } else if has(br#""type":"end""#) {
                    self.ended += 1;
                }
            }
            *offset += whole as u64;
        }
    }

    fn line(&self, queued: Option<usize>) -> String {
        format!(
            "{} items done ({} ok, {} failed); {} of {} tasks finished{}",
            self.ok + self.failed,
            self.ok,
            self.failed,
            self.ended,
            self.tasks,
            match queued {
                Some(n) => format!(", {n} in the queue"),
                None => String::new(),
            }
        )
    }
}
