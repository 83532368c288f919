//! fanout's state directory: where journals live when `--journal` is not
//! given, how the latest one of a run is found, and pruning.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Header;
use super::line::{Line, parse_line};

/// fanout's state directory: `$XDG_STATE_HOME/fanout`, else
/// `~/.local/state/fanout`.
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("fanout"))
}

/// Where journals live inside the state directory.
pub fn journal_dir(state: &Path) -> PathBuf {
    state.join("journals")
}

/// A new journal path for this run in `dir` (time-ordered names).
pub fn new_journal_path(dir: &Path) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    dir.join(format!(
        "run-{}-{:09}-{}.jsonl",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    ))
}

/// The journals in `dir`, newest first.
pub(super) fn journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("run-") && n.ends_with(".jsonl"))
        })
        .collect();
    // Names start with the time, zero-padded within a second; seconds have
    // the same width for centuries.
    paths.sort();
    paths.reverse();
    paths
}

/// Removes all but the `keep` newest journals in `dir`, except those a live
/// run holds (locked), and makes the others private to their owner (older
/// fanout created them readable by all).
pub fn prune(dir: &Path, keep: usize) {
    use rustix::fs::{FlockOperation, flock};
    use std::os::unix::fs::PermissionsExt;
    for (i, path) in journals(dir).into_iter().enumerate() {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if let Ok(meta) = file.metadata()
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
        }
        // The exclusive lock fails while a run holds its shared one, and
        // keeps a run from starting on the file while it is removed.
        if i >= keep && flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Creates fanout's state directories (`dir` and its parents), private to
/// their owner: the journals in them hold every item's text. Fixes the mode
/// of fanout's own directories made before.
pub fn create_private_dir(state: &Path, dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for own in [state, dir] {
        let meta = fs::metadata(own)?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(own, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The newest journal in `dir` whose first run is the same run as `this`
/// (see [`Header::same_run`]).
pub fn find_latest(dir: &Path, this: &Header) -> Option<PathBuf> {
    journals(dir).into_iter().find(|path| {
        let Ok(file) = File::open(path) else {
            return false;
        };
        let mut first = Vec::new();
        if BufReader::new(file).read_until(b'\n', &mut first).is_err() {
            return false;
        }
        matches!(parse_line(first.trim_ascii_end()), Ok(Line::Header(h)) if h.same_run(this))
    })
}
