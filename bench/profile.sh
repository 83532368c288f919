#!/usr/bin/env bash
# Where fanout's time goes, next to the spawn limit (bench/spawn-limit).
#
#   bench/profile.sh [N]     (default N=5000 tiny jobs; about 3 min)
#
# Needs perf (Debian `linux-perf`) and strace; installs them when missing (root).
# Builds fanout from FANOUT_SRC (default: the parent of bench/) like run.sh.
# Writes bench/results/profile/ (or $BENCH_RESULTS): perf stat per variant,
# perf report summaries per thread and per kernel symbol, strace syscall counts,
# and summary.txt with the per-job figures. Run it on an otherwise idle machine;
# it does not change fanout.
set -euo pipefail
export LC_ALL=C

N=${1:-5000}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FANOUT_SRC=$(cd "${FANOUT_SRC:-$BENCH_DIR/..}" && pwd)
OUT=${BENCH_RESULTS:-$BENCH_DIR/results/profile}
rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fanout-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

want=()
command -v perf >/dev/null || want+=(linux-perf)
command -v strace >/dev/null || want+=(strace)
if ((${#want[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${want[@]}" </dev/null
fi

(cd "$FANOUT_SRC" && cargo build --release --locked --quiet </dev/null)
cargo build --release --locked --quiet --manifest-path "$BENCH_DIR/spawn-limit/Cargo.toml" </dev/null
FANOUT=${CARGO_TARGET_DIR:-$FANOUT_SRC/target}/release/fanout
SL=${CARGO_TARGET_DIR:-$BENCH_DIR/spawn-limit/target}/release/spawn-limit
[[ -x $FANOUT && -x $SL ]] || { echo "profile.sh: binaries not found (CARGO_TARGET_DIR?)" >&2; exit 2; }
PYTHON=$(command -v python3)
# The same PATH as run.sh: the jobs are found by PATH lookup.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

I=$WORK/items
seq 1 "$N" >"$I"
mkdir -p "$WORK/out"

# ------------------------------------------------------------ perf stat per variant
# task-clock counts the runner and all its jobs (perf stat follows children).
variants=(
    "spawn-limit|$SL run -j 2 true"
    "fanout|$FANOUT -j2 -q true"
    "fanout-ungroup|$FANOUT -j2 -q --output ungroup true"
    "fanout-tmpdir-shm|env TMPDIR=/dev/shm $FANOUT -j2 -q true"
    "spawn-limit-capture-echo|$SL run -j 2 --capture echo"
    "fanout-echo|$FANOUT -j2 -q echo {}"
    "fanout-echo-k|$FANOUT -j2 -q -k echo {}"
    "fanout-echo-ungroup|$FANOUT -j2 -q --output ungroup echo {}"
)
# Interleaved rounds, so that drift and other load hit every variant alike.
ROUNDS=5
for r in $(seq 1 $ROUNDS); do
    for v in "${variants[@]}"; do
        name=${v%%|*}
        cmd=${v#*|}
        # shellcheck disable=SC2086
        perf stat -e task-clock,context-switches,page-faults -o "$OUT/stat-$name-$r.txt" \
            -- $cmd <"$I" >"$WORK/out/o" 2>/dev/null
    done
done
"$PYTHON" - "$OUT" "$N" "$ROUNDS" "${TMPDIR:-/tmp}" "$(findmnt -no FSTYPE -T "${TMPDIR:-/tmp}")" \
    "$(ls /proc/fs/jbd2 2>/dev/null | wc -l)" "${variants[@]%%|*}" >"$OUT/summary.txt" <<'EOF2'
import re, sys
out, n, rounds, tmpdir, fstype, journals = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
print(f"perf stat, {n} jobs at -j2, {rounds} interleaved rounds; median of each column over the rounds;")
print("cpu = task-clock of the runner and all its jobs (perf stat follows children)")
print(f"fanout's capture files go to TMPDIR={tmpdir} ({fstype}; {journals} jbd2 journals on this machine)")
print(f"{'variant':26} {'wall s':>8} {'us/job':>8} {'cpu us/job':>11} {'ctxsw/job':>10} {'faults/job':>11}")
med = lambda xs: sorted(xs)[len(xs) // 2]
for name in sys.argv[7:]:
    runs = []
    for r in range(1, rounds + 1):
        t = open(f"{out}/stat-{name}-{r}.txt").read()
        num = lambda pat: float(re.search(r"([\d,.]+)\s+(?:msec\s+)?" + pat, t).group(1).replace(",", ""))
        runs.append((num("seconds time elapsed"), num("task-clock"), num("context-switches"), num("page-faults")))
    wall, cpu_ms, ctx, pf = (med(col) for col in zip(*runs))
    print(f"{name:26} {wall:8.3f} {wall / n * 1e6:8.0f} {cpu_ms * 1e3 / n:11.0f} {ctx / n:10.1f} {pf / n:11.1f}")
EOF2

# ------------------------------------------------------------ perf record: where the CPU goes
record() { # NAME COMMAND...
    local name=$1
    shift
    perf record -q -o "$WORK/$name.data" -e cpu-clock -F 4000 -g -- "$@" <"$I" >"$WORK/out/o" 2>/dev/null
    local data=$WORK/$name.data
    {
        echo "# samples by thread and object, $N jobs: $*"
        echo "# (a spawned child keeps its runner thread's name until it execs)"
        perf report -i "$data" -n --no-children --sort comm,dso --stdio -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -25
        echo
        echo "# top symbols of the runner's threads (all comms but the jobs')"
        perf report -i "$data" -n --no-children --sort comm,sym --stdio -g none 2>/dev/null |
            grep -v '^#' | awk 'NF && $3 !~ /^(true|echo|emit)$/' | head -40
        echo
        echo "# the same with their callers (>= 1% of all samples)"
        perf report -i "$data" --no-children --sort comm,sym --stdio -G --percent-limit 1 2>/dev/null |
            "$PYTHON" -c '
import sys
blocks = sys.stdin.read().split("\n\n")
for b in blocks:
    lines = [l for l in b.splitlines() if not l.startswith("#")]
    if not lines:
        continue
    head = lines[0].split()
    if len(head) >= 2 and head[1] not in ("true", "echo", "emit"):
        print("\n".join(lines[:40]))
        print()'
    } >"$OUT/perf-$name.txt" || true
}
record spawn-limit "$SL" run -j 2 true
record fanout "$FANOUT" -j2 -q true
record fanout-ungroup "$FANOUT" -j2 -q --output ungroup true
record fanout-echo-k "$FANOUT" -j2 -q -k echo {}
record fanout-tmpdir-shm env TMPDIR=/dev/shm "$FANOUT" -j2 -q true

# ------------------------------------------------------------ syscalls per job
strace -f -c -o "$OUT/strace-fanout.txt" "$FANOUT" -j2 -q true <"$I" >/dev/null 2>&1 || true
strace -f -c -o "$OUT/strace-spawn-limit.txt" "$SL" run -j 2 true <"$I" >/dev/null 2>&1 || true
# output path: 40 jobs of 5 MB each to a file, grouped (what copies the capture file out?)
seq 1 40 >"$WORK/items40"
strace -f -c -o "$OUT/strace-fanout-output.txt" "$FANOUT" -j2 -q "$SL" emit 5000000 <"$WORK/items40" >"$WORK/out/big" 2>/dev/null || true
strace -f -e trace=read,write,copy_file_range,sendfile,splice,lseek,clone3 -o "$WORK/out.strace" \
    "$FANOUT" -j2 -q "$SL" emit 5000000 <"$WORK/items40" >"$WORK/out/big" 2>/dev/null || true
"$PYTHON" - "$WORK/out.strace" >"$OUT/output-syscalls.txt" <<'EOF2'
import collections, re, sys
lines = open(sys.argv[1]).read().splitlines()
# fanout's threads: the main pid and every clone3(...CLONE_THREAD...) result.
ours = {lines[0].split()[0]}
pending = set()
for l in lines:
    pid = l.split()[0]
    if pid not in ours:
        continue
    if re.search(r"clone3\(\{flags=[^}]*CLONE_THREAD", l):
        m = re.search(r"= (\d+)$", l)
        if m:
            ours.add(m.group(1))
        elif "<unfinished" in l:
            pending.add(pid)
    elif "<... clone3 resumed>" in l and pid in pending:
        pending.discard(pid)
        m = re.search(r"= (\d+)$", l)
        if m:
            ours.add(m.group(1))
count, size = collections.Counter(), collections.Counter()
for l in lines:
    m = re.match(r"(\d+) +(read|write|copy_file_range|sendfile|splice)\((\d+),.*= (\d+)$", l)
    if m and m.group(1) in ours:
        key = f"{m.group(2)} fd {'1 (stdout)' if m.group(3) == '1' else m.group(3)}"
        count[key] += 1
        size[key] += int(m.group(4))
print("fanout's own read/write/copy calls while it copies 40 grouped outputs of 5 MB each (the jobs' excluded; calls that strace split across threads are not counted):")
for k, n in count.most_common():
    print(f"{k:28} {n:7} calls, {size[k] / n:9.0f} bytes per call on average")
EOF2
rm -f "$WORK/out/big"
# start-up: one item, every syscall with timestamps
strace -f -tt -o "$OUT/strace-startup-fanout.txt" "$FANOUT" true ::: x >/dev/null 2>&1 || true

cat "$OUT/summary.txt"
echo
echo "results in $OUT"
