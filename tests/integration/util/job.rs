//! Shell snippets for the jobs the tests run (`sh -c JOB`): they record
//! what the test waits for in files of the sandbox, through a rename, so a
//! file is whole when it appears, and every wait of theirs ends by itself
//! after the safety net, so a broken run cannot leave them running.

/// Records the job's pid (the id of its process group) in `pid.SEQ`.
pub const RECORD_PID: &str =
    "echo $$ > pidtmp.$FANOUT_SEQ && mv pidtmp.$FANOUT_SEQ pid.$FANOUT_SEQ;";

/// Starts a background `sleep 1000` and records its pid in `bg.SEQ`.
pub const BACKGROUND: &str =
    "sleep 1000 & echo $! > bgtmp.$FANOUT_SEQ && mv bgtmp.$FANOUT_SEQ bg.$FANOUT_SEQ;";

/// A busy loop that ends by itself long after the safety net, so a fanout
/// that fails to kill it does not leave it running forever.
pub const LOOP: &str = "n=0; while [ $n -lt 3000 ]; do sleep 0.05; n=$((n+1)); done";

/// Blocks on a marker the test never creates (until the safety net).
pub fn block() -> String {
    sh_wait_for("never-created")
}

/// A shell snippet that waits (polling, bounded by the safety net) until
/// `path` exists; after the bound the job exits 97 so a broken run ends.
pub fn sh_wait_for(path: &str) -> String {
    sh_wait_until(&format!("[ -e {path} ]"))
}

/// A shell snippet that waits (polling, bounded by the safety net) until the
/// shell command `condition` succeeds; after the bound the job exits 97.
pub fn sh_wait_until(condition: &str) -> String {
    format!(
        "n=0; until {condition}; do n=$((n+1)); \
         if [ $n -gt 6000 ]; then echo 'gave up waiting' >&2; exit 97; fi; \
         sleep 0.01; done"
    )
}
