//! The sandbox: a fresh directory per test that fanout and its jobs run in,
//! and the files the jobs leave there (side files that say what ran,
//! `PREFIX.N` records such as `pid.N`) read back.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::fanout::Fanout;
use super::process::processes_in;

/// A fresh temporary directory that a test's jobs run in. Dropping it kills
/// every process still working in it, so a failing test (or a fanout that
/// orphans its jobs) leaves nothing running behind.
pub struct Sandbox {
    dir: TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in processes_in(self.path()) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    }
}

impl Sandbox {
    /// A new, empty sandbox.
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("fanout-it-")
                .tempdir()
                .expect("create a sandbox directory"),
        }
    }

    /// The sandbox directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the sandbox.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `contents` to `name` in the sandbox and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The bytes of `name` in the sandbox.
    #[track_caller]
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.join(name);
        fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "read {}: {e}; the sandbox holds {:?}",
                path.display(),
                self.names()
            )
        })
    }

    /// The lines of `name` in the sandbox; none when it does not exist (a
    /// side file that no job has written yet).
    pub fn lines(&self, name: &str) -> Vec<String> {
        if !self.exists(name) {
            return Vec::new();
        }
        String::from_utf8_lossy(&self.read(name))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Whether `name` exists in the sandbox.
    pub fn exists(&self, name: &str) -> bool {
        self.join(name).exists()
    }

    /// Every file name in the sandbox, sorted (lossy for non-UTF-8 names).
    pub fn names(&self) -> Vec<String> {
        names_in(self.path())
    }

    /// The files `PREFIX.N` (N a number) and their contents, keyed by N.
    /// Jobs write `out.$FANOUT_SEQ` files; this reads them back in order.
    pub fn numbered(&self, prefix: &str) -> BTreeMap<u64, Vec<u8>> {
        let mut found = BTreeMap::new();
        for name in self.names() {
            let Some(n) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            if let Ok(n) = n.parse::<u64>() {
                found.insert(n, self.read(&name));
            }
        }
        found
    }

    /// The pids that jobs recorded in the files `PREFIX.N`, in order of N.
    pub fn pids(&self, prefix: &str) -> Vec<u32> {
        self.numbered(prefix)
            .values()
            .map(|b| parse_pid(b))
            .collect()
    }

    /// A `fanout --no-progress` invocation that runs in the sandbox.
    pub fn fanout(&self) -> Fanout {
        Fanout::new(Some(self.path())).arg("--no-progress")
    }

    /// A `fanout` invocation in the sandbox through a symbolic link named
    /// `name` (in the sandbox's `bin/`), as when it is installed as `parallel`.
    pub fn fanout_named(&self, name: &str) -> Fanout {
        let dir = self.join("bin");
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let link = dir.join(name);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(super::bin(), &link)
                .unwrap_or_else(|e| panic!("link {}: {e}", link.display()));
        }
        Fanout::with_program(&link, Some(self.path())).arg("--no-progress")
    }
}

/// Sorted file names in `dir`.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("read a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Parses a pid written by a job (`echo $$ > pid.N`).
#[track_caller]
pub fn parse_pid(bytes: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(bytes);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad pid file {text:?}: {e}"))
}
