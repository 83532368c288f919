#!/usr/bin/env bash
# fanout's benchmark suite: fanout against the machine's spawn limit and its peers
# (GNU xargs, GNU parallel, rust-parallel), side by side in one run.
#
#   bench/run.sh            full run (about 15-20 min on a 2-core VM)
#   bench/run.sh --quick    smoke test: small N's, 3 runs (about 2 min)
#   BENCH_ROWS=g bench/run.sh   only row (g); BENCH_ROWS=a,d,g: rows (a), (d) and (g)
#
# Rows: (a) dispatch of `true`, (b) and (c) `echo` to a file (grouped, -k), (d) output
# throughput, (e) --dry-run rate, (f) peak RSS, (g) start-up, (h) batches.
#
# On a fresh Debian machine it installs what is missing: GNU parallel, hyperfine,
# GNU time and python3 from Debian's packages (needs root), and rust-parallel
# with `cargo install --locked` into bench/.tools. It builds fanout in release
# mode from the checkout it lives in, and bench/spawn-limit (the floor).
#
# Environment:
#   FANOUT_SRC          repo root to build fanout from (default: the parent of bench/)
#   BENCH_RESULTS       where the raw results go (default: bench/results/full or .../quick;
#                       the previous run's are moved to the same name + .prev)
#   RUST_PARALLEL_VERSION  rust-parallel version to install (default 1.24.0)
#   TMPDIR              where the work dir goes (fanout's grouped output uses it too)
#   BENCH_IDLE_WAIT     seconds in all (default 300) that the run may spend waiting,
#                       before each measurement, for other processes to leave the CPUs
#                       idle (busy < BENCH_IDLE_BUSY %, default 15); 0 = never wait
#   BENCH_MAX_BG        measure a command again when other processes used more than
#                       this % of the CPUs during its runs (default 10) ...
#   BENCH_REMEASURE     ... at most this many times in the whole run (default 8)
#   BENCH_ROWS          the rows to run, letters a-h (default: all); (b) and (c) are one
#                       block, run when either is named; the report covers the rows run
#
# Raw results (hyperfine JSON, GNU time reports, env.txt, run.log, report.md,
# targets.json) are kept in the results dir; the report, with PASS/FAIL per
# target, is printed at the end. The exit status is 0 when every measurement ran
# and every tool's output checked out, whatever the targets say. Method and
# reading of the figures: BENCHMARKS.md at the repo root; bench/profile.sh
# shows where fanout's time goes.
set -euo pipefail
export LC_ALL=C

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "${BASH_SOURCE[0]}"; }

MODE=full
for arg in "$@"; do
    case $arg in
        --quick) MODE=quick ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FANOUT_SRC=$(cd "${FANOUT_SRC:-$BENCH_DIR/..}" && pwd)
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results/$MODE}
TOOLS=$BENCH_DIR/.tools
RUST_PARALLEL_VERSION=${RUST_PARALLEL_VERSION:-1.24.0}

if [[ $MODE == full ]]; then
    N=10000          # (a)-(c): tiny jobs
    NG=2000          # GNU parallel's N (about 2.5 ms/job), with every fast tool again at this N
    RUNS=5
    WARMUP=1
    D_JOBS=200       # (d): jobs printing D_BYTES each
    D_BYTES=5000000
    E_N=1000000      # (e): --dry-run items
    F_SMALL=1000000  # (f): --dry-run items for peak RSS, small and large
    F_LARGE=10000000
    F_REAL_SMALL=10000   # (f): real jobs for peak RSS
    F_REAL=100000
    F_TIMEOUT=15     # (f): peers' real-job RSS runs are cut to their first F_TIMEOUT seconds
    G_RUNS=30        # (g): start-up
    H_N=1000000      # (h): items in batches
else
    N=1000
    NG=200
    RUNS=3
    WARMUP=1
    D_JOBS=40
    D_BYTES=5000000
    E_N=100000
    F_SMALL=100000
    F_LARGE=1000000
    F_REAL_SMALL=500
    F_REAL=2000
    F_TIMEOUT=3
    G_RUNS=10
    H_N=100000
fi

# ---------------------------------------------------------------- set-up
# Keep the previous run's results (one generation) beside the new ones.
if [[ -d $RESULTS ]]; then
    rm -rf "$RESULTS.prev"
    mv "$RESULTS" "$RESULTS.prev"
fi
mkdir -p "$RESULTS/hf" "$RESULTS/rss"
exec > >(tee "$RESULTS/run.log") 2>&1
T_START=$(date +%s)
log() { printf '\n=== %s  [%ss, load %s]\n' "$*" "$(($(date +%s) - T_START))" "$(cut -d' ' -f1 /proc/loadavg)"; }
die() { echo "run.sh: $*" >&2; exit 2; }
ROWS=${BENCH_ROWS:-abcdefgh}
ROWS=${ROWS//[ ,]/}
[[ $ROWS =~ ^[a-h]+$ ]] || die "BENCH_ROWS: letters a-h wanted (e.g. a,d,g), got '$BENCH_ROWS'"
row_on() { [[ $ROWS == *"$1"* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fanout-bench.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "mode $MODE, fanout from $FANOUT_SRC, results in $RESULTS, work dir $WORK"

log "peers and tools"
is_gnu_parallel() { command -v parallel >/dev/null && parallel --version 2>/dev/null | head -1 | grep -q '^GNU parallel'; }
apt_want=()
is_gnu_parallel || apt_want+=(parallel)
command -v hyperfine >/dev/null || apt_want+=(hyperfine)
[[ -x /usr/bin/time ]] || apt_want+=(time)
command -v python3 >/dev/null || apt_want+=(python3)
command -v timeout >/dev/null || apt_want+=(coreutils)
if ((${#apt_want[@]})); then
    [[ $(id -u) == 0 ]] || die "missing ${apt_want[*]}: run as root or install them (apt-get install ${apt_want[*]})"
    echo "installing from Debian: ${apt_want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${apt_want[@]}" </dev/null
fi
is_gnu_parallel || die "parallel on PATH is not GNU parallel"
command -v cargo >/dev/null || die "cargo is needed (Rust toolchain)"

RP=$TOOLS/bin/rust-parallel
if [[ ! -x $RP ]]; then
    echo "installing rust-parallel $RUST_PARALLEL_VERSION into $TOOLS"
    cargo install --locked --quiet --root "$TOOLS" --version "$RUST_PARALLEL_VERSION" rust-parallel </dev/null
fi

# cargo build, then the path of the named binary (honours CARGO_TARGET_DIR).
build_bin() { # MANIFEST BIN
    cargo build --release --locked --manifest-path "$1" --bin "$2" \
        --message-format=json-render-diagnostics </dev/null |
        python3 -c '
import json, sys
exe = None
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        exe = m["executable"]
if not exe:
    sys.exit("no executable for " + sys.argv[1])
print(exe)' "$2"
}

log "building fanout (release) and spawn-limit"
FANOUT=$(build_bin "$FANOUT_SRC/Cargo.toml" fanout)
SL=$(build_bin "$BENCH_DIR/spawn-limit/Cargo.toml" spawn-limit)
PARALLEL=$(command -v parallel)
XARGS=$(command -v xargs)
HYPERFINE=$(command -v hyperfine)
PYTHON=$(command -v python3)
RUSTC_VERSION=$(rustc --version)
echo "fanout:      $FANOUT"
echo "spawn-limit: $SL"

# The jobs (`true`, `echo`) are found by PATH lookup, one failed execve per
# directory before theirs: measure with Debian's default PATH, not this shell's.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- environment
fanout_commit() { # the checkout's HEAD, read without running git
    python3 - "$FANOUT_SRC" <<'EOF'
import os, sys
g = os.path.join(sys.argv[1], ".git")
try:
    if os.path.isfile(g):  # worktree: "gitdir: PATH"
        g = open(g).read().split(":", 1)[1].strip()
    head = open(os.path.join(g, "HEAD")).read().strip()
    if not head.startswith("ref: "):
        print(head); sys.exit()
    ref = head[5:]
    if os.path.isfile(os.path.join(g, "commondir")):  # a worktree's refs live in the main repo
        g = os.path.join(g, open(os.path.join(g, "commondir")).read().strip())
    p = os.path.join(g, ref)
    if os.path.exists(p):
        print(open(p).read().strip(), "(" + ref + ")"); sys.exit()
    for line in open(os.path.join(g, "packed-refs")):
        if line.strip().endswith(" " + ref):
            print(line.split()[0], "(" + ref + ")"); sys.exit()
    print("unknown")
except OSError:
    print("unknown (no .git)")
EOF
}
{
    echo "date:          $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "mode:          $MODE"
    echo "nproc:         $(nproc)"
    echo "cpu:           $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel:        $(uname -sr)"
    echo "os:            $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "memory:        $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
    echo "loadavg start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fanout:        $("$FANOUT" --version) at $(fanout_commit) from $FANOUT_SRC"
    echo "spawn-limit:   bench/spawn-limit, $RUSTC_VERSION"
    echo "xargs:         $XARGS, $("$XARGS" --version | head -1)"
    echo "parallel:      $PARALLEL, $("$PARALLEL" --will-cite --version | head -1)"
    echo "rust-parallel: $RP, $("$RP" --version)"
    echo "hyperfine:     $HYPERFINE, $("$HYPERFINE" --version)"
    echo "time:          /usr/bin/time, $(/usr/bin/time --version 2>&1 | head -1) (Debian package $(dpkg-query -W -f='${Version}' time 2>/dev/null || echo '?'))"
    echo "jobs:          $(type -P true), $(type -P echo) ($("$(type -P true)" --version | head -1)); the runners exec these"
    echo "PATH, locale:  PATH=$PATH LC_ALL=$LC_ALL"
} | tee "$RESULTS/env.txt"

cat >"$RESULTS/params.env" <<EOF
MODE=$MODE
N=$N
NG=$NG
RUNS=$RUNS
WARMUP=$WARMUP
D_JOBS=$D_JOBS
D_BYTES=$D_BYTES
E_N=$E_N
F_SMALL=$F_SMALL
F_LARGE=$F_LARGE
F_REAL_SMALL=$F_REAL_SMALL
F_REAL=$F_REAL
F_TIMEOUT=$F_TIMEOUT
G_RUNS=$G_RUNS
H_N=$H_N
ROWS=$ROWS
WORK=$WORK
FANOUT=$FANOUT
SL=$SL
RP=$RP
XARGS=$XARGS
PARALLEL=$PARALLEL
EOF

# ---------------------------------------------------------------- inputs
mkdir -p "$WORK/items" "$WORK/out"
items() { # N -> path of a file holding `seq 1 N`
    local f=$WORK/items/$1
    [[ -f $f ]] || seq 1 "$1" >"$f"
    echo "$f"
}
ONE=$WORK/items/one
echo x >"$ONE"
O=$WORK/out
I=$(items "$N")   # (a)-(c)
IG=$(items "$NG") # (a)-(c) at GNU parallel's N

# ---------------------------------------------------------------- helpers
# The machine may be shared: other processes' CPU use skews wall times. Before
# each measurement, wait (within a total budget) until the CPUs are nearly idle,
# and record how busy the machine was during the measurement beyond the
# measured commands themselves ("bg" in the report).
IDLE_LEFT=${BENCH_IDLE_WAIT:-300}
IDLE_BUSY=${BENCH_IDLE_BUSY:-15}
cpu_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
busy_pct() { # busy % of all CPUs over 1 s
    local b0 t0 b1 t1
    read -r b0 t0 < <(cpu_jiffies)
    sleep 1
    read -r b1 t1 < <(cpu_jiffies)
    echo $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}
wait_idle() {
    local busy waited=0
    busy=$(busy_pct)
    while ((busy >= IDLE_BUSY && IDLE_LEFT > 0)); do
        ((waited == 0)) && echo "    (machine busy: ${busy}% of the CPUs used by other processes; waiting)"
        sleep 4
        IDLE_LEFT=$((IDLE_LEFT - 5))
        waited=$((waited + 5))
        busy=$(busy_pct)
    done
    ((waited == 0)) || echo "    (waited ${waited}s; now ${busy}% busy; idle-wait budget left ${IDLE_LEFT}s)"
}
# bench WORKLOAD TOOL N COMMAND: hyperfine one command (shell redirections allowed),
# keeping the JSON as hf/WORKLOAD__TOOL.json and the command in commands.tsv.
bench() {
    local workload=$1 tool=$2 n=$3 cmd=$4
    printf '%s\t%s\t%s\t%s\n' "$workload" "$tool" "$n" "$cmd" >>"$RESULTS/commands.tsv"
    echo "--- $workload / $tool: $cmd"
    measure "$RESULTS/hf/${workload}__${tool// /_}.json" "$tool" "$cmd" "$WARMUP" "$RUNS"
}
# measure JSON NAME COMMAND WARMUP RUNS [HYPERFINE-OPTIONS...]: hyperfine it, and
# measure again (up to BENCH_REMEASURE times in the whole run) when other
# processes took more than BENCH_MAX_BG % of the CPUs meanwhile (and more than
# 0.5 CPU-seconds, so that a short measurement is not repeated for noise).
REMEASURE_LEFT=${BENCH_REMEASURE:-8}
MAX_BG=${BENCH_MAX_BG:-10}
measure() {
    local json=$1 name=$2 cmd=$3 warmup=$4 runs=$5 j0 j1 bgp bgms
    shift 5
    while :; do
        wait_idle
        j0=$(cpu_jiffies)
        "$HYPERFINE" --style basic "$@" --warmup "$warmup" --runs "$runs" \
            --export-json "$json" -n "$name" "$cmd"
        j1=$(cpu_jiffies)
        echo "$j0 $j1 $(getconf CLK_TCK) $(nproc) $((warmup + runs))" >"${json%.json}.cpu"
        read -r bgp bgms < <("$PYTHON" "$BENCH_DIR/report.py" --bg "$json")
        ((bgp > MAX_BG && bgms > 500 && REMEASURE_LEFT > 0)) || break
        REMEASURE_LEFT=$((REMEASURE_LEFT - 1))
        echo "    (other processes used ${bgp}% of the CPUs meanwhile: measuring again; $REMEASURE_LEFT re-measurements left)"
    done
}
# Output checks: the benchmark is void if a tool did not do the work.
check_lines() { # FILE N
    local got
    got=$(wc -l <"$1")
    [[ $got == "$2" ]] || die "$1: $got lines, expected $2"
}
check_set() { # FILE ITEMS: the same lines as ITEMS, in any order
    check_lines "$1" "$(wc -l <"$2")"
    sort -n "$1" | cmp -s - "$2" || die "$1: not the items of $2"
}
check_order() { # FILE ITEMS: exactly ITEMS, in order
    cmp -s "$1" "$2" || die "$1: not the items of $2 in order"
}
check_bytes() { # FILE BYTES
    local got
    got=$(stat -c %s "$1")
    [[ $got == "$2" ]] || die "$1: $got bytes, expected $2"
}

# ---------------------------------------------------------------- spawn-limit bench
if row_on a; then
    log "spawn-limit bench $NG (the floor, several variants)"
    "$SL" bench "$NG" | tee "$RESULTS/spawn-limit-bench.txt"
fi

# ---------------------------------------------------------------- (a) dispatch: `true`
if row_on a; then
    log "(a) $N jobs of \`true ITEM\`, -j2"
    bench true-N$N spawn-limit "$N" "$SL run -j 2 true < $I"
    bench true-N$N fanout "$N" "$FANOUT -j2 -q true < $I"
    bench true-N$N xargs "$N" "$XARGS -P2 -n1 true < $I"
    bench true-N$N rust-parallel "$N" "$RP -j2 true < $I"
    bench true-N$N spawn-limit-again "$N" "$SL run -j 2 true < $I"

    log "(a) $NG jobs of \`true ITEM\`, -j2 (GNU parallel's N, every tool again)"
    bench true-N$NG spawn-limit "$NG" "$SL run -j 2 true < $IG"
    bench true-N$NG fanout "$NG" "$FANOUT -j2 -q true < $IG"
    bench true-N$NG xargs "$NG" "$XARGS -P2 -n1 true < $IG"
    bench true-N$NG rust-parallel "$NG" "$RP -j2 true < $IG"
    bench true-N$NG gnu-parallel "$NG" "$PARALLEL --will-cite -j2 true :::: $IG"
fi

# ---------------------------------------------------------------- (b), (c) `echo {}` to a file
if row_on b || row_on c; then
    log "(b) and (c) $N jobs of \`echo ITEM\`, output to a file, -j2"
    bench echo-N$N spawn-limit-capture "$N" "$SL run -j 2 --capture echo < $I > $O/echo-sl"
    check_set "$O/echo-sl" "$I"
    bench echo-N$N fanout "$N" "$FANOUT -j2 -q echo {} < $I > $O/echo-fanout"
    check_set "$O/echo-fanout" "$I"
    bench echo-N$N fanout-k "$N" "$FANOUT -j2 -q -k echo {} < $I > $O/echo-fanout-k"
    check_order "$O/echo-fanout-k" "$I"
    bench echo-N$N fanout-ungroup "$N" "$FANOUT -j2 -q --output ungroup echo {} < $I > $O/echo-fanout-ungroup"
    check_set "$O/echo-fanout-ungroup" "$I"
    bench echo-N$N xargs "$N" "$XARGS -P2 -n1 echo < $I > $O/echo-xargs"
    check_set "$O/echo-xargs" "$I"
    bench echo-N$N rust-parallel "$N" "$RP -j2 echo < $I > $O/echo-rp"
    check_set "$O/echo-rp" "$I"
    bench echo-N$N rust-parallel-k "$N" "$RP -j2 -k echo < $I > $O/echo-rp-k"
    check_order "$O/echo-rp-k" "$I"
    rm -f "$O"/echo-*

    log "(b) and (c) $NG jobs of \`echo ITEM\` (GNU parallel's N)"
    bench echo-N$NG spawn-limit-capture "$NG" "$SL run -j 2 --capture echo < $IG > $O/echo-sl"
    check_set "$O/echo-sl" "$IG"
    bench echo-N$NG fanout "$NG" "$FANOUT -j2 -q echo {} < $IG > $O/echo-fanout"
    check_set "$O/echo-fanout" "$IG"
    bench echo-N$NG fanout-k "$NG" "$FANOUT -j2 -q -k echo {} < $IG > $O/echo-fanout-k"
    check_order "$O/echo-fanout-k" "$IG"
    bench echo-N$NG gnu-parallel "$NG" "$PARALLEL --will-cite -j2 echo {} :::: $IG > $O/echo-gp"
    check_set "$O/echo-gp" "$IG"
    bench echo-N$NG gnu-parallel-k "$NG" "$PARALLEL --will-cite -j2 -k echo {} :::: $IG > $O/echo-gp-k"
    check_order "$O/echo-gp-k" "$IG"
    rm -f "$O"/echo-*
fi

# ---------------------------------------------------------------- (d) output throughput
if row_on d; then
    ID=$(items "$D_JOBS")
    TOTAL=$((D_JOBS * D_BYTES))
    EMIT="$SL emit $D_BYTES"
    log "(d) $D_JOBS jobs each printing $D_BYTES bytes ($TOTAL bytes), to a file, -j2"
    d_bench() { # TOOL COMMAND-WITHOUT-REDIRECTIONS
        bench output "$1" "$D_JOBS" "$2 < $ID > $O/d-out"
        check_bytes "$O/d-out" "$TOTAL"
        rm -f "$O/d-out"
    }
    d_bench spawn-limit-inherit "$SL run -j 2 --inherit $EMIT"
    d_bench spawn-limit-capture "$SL run -j 2 --capture $EMIT"
    d_bench fanout "$FANOUT -j2 -q $EMIT"
    d_bench fanout-ungroup "$FANOUT -j2 -q --output ungroup $EMIT"
    d_bench fanout-k "$FANOUT -j2 -q -k $EMIT"
    d_bench xargs "$XARGS -P2 -n1 $EMIT"
    d_bench rust-parallel "$RP -j2 $EMIT"
    d_bench gnu-parallel "$PARALLEL --will-cite -j2 $EMIT"
fi

# ---------------------------------------------------------------- (e) --dry-run rate
if row_on e; then
    IE=$(items "$E_N")
    log "(e) $E_N items with --dry-run (output to /dev/null)"
    check_lines <("$FANOUT" --dry-run -j2 true <"$IE") "$E_N"
    bench dryrun-N$E_N fanout "$E_N" "$FANOUT --dry-run -j2 true < $IE"
    bench dryrun-N$E_N rust-parallel "$E_N" "$RP --dry-run -j2 true < $IE"
fi

# ---------------------------------------------------------------- (f) peak RSS
if row_on f; then
    # GNU time's "Maximum resident set size" is the largest single process that it
    # waited for: the runner itself (timeout(1) and the jobs are about 1-2 MB).
    log "(f) peak RSS (GNU time -v)"
    printf 'label\ttool\twhat\tn\tcommand\n' >"$RESULTS/rss.tsv"
    rss() { # LABEL TOOL WHAT N INPUT COMMAND... (stdin from INPUT, stdout to /dev/null)
        local label=$1 tool=$2 what=$3 n=$4 input=$5
        shift 5
        printf '%s\t%s\t%s\t%s\t%s < %s\n' "$label" "$tool" "$what" "$n" "$*" "$input" >>"$RESULTS/rss.tsv"
        echo "--- $label: $* < $input"
        wait_idle
        local rc=0
        /usr/bin/time -v -o "$RESULTS/rss/$label.txt" "$@" <"$input" >/dev/null 2>"$RESULTS/rss/$label.stderr" || rc=$?
        echo "exit $rc" >>"$RESULTS/rss/$label.txt"
        grep -E 'Maximum resident|Elapsed' "$RESULTS/rss/$label.txt" | sed 's/^\s*/    /'
    }
    IF1=$(items "$F_SMALL")
    IF2=$(items "$F_LARGE")
    IFR=$(items "$F_REAL")
    IFRS=$(items "$F_REAL_SMALL")
    rss fanout-dryrun-small fanout dry-run "$F_SMALL" "$IF1" "$FANOUT" --dry-run -j2 true
    rss fanout-dryrun-large fanout dry-run "$F_LARGE" "$IF2" "$FANOUT" --dry-run -j2 true
    rss rust-parallel-dryrun-small rust-parallel dry-run "$F_SMALL" "$IF1" "$RP" --dry-run -j2 true
    rss fanout-real-small fanout "real jobs" "$F_REAL_SMALL" "$IFRS" "$FANOUT" -j2 -q true
    rss fanout-real fanout "real jobs" "$F_REAL" "$IFR" "$FANOUT" -j2 -q true
    rss xargs-real xargs "real jobs, first ${F_TIMEOUT}s" "$F_REAL" "$IFR" timeout "$F_TIMEOUT" "$XARGS" -P2 -n1 true
    rss rust-parallel-real rust-parallel "real jobs, first ${F_TIMEOUT}s" "$F_REAL" "$IFR" timeout "$F_TIMEOUT" "$RP" -j2 true
    rss gnu-parallel-real gnu-parallel "real jobs, first ${F_TIMEOUT}s" "$F_REAL" "$IFR" timeout "$F_TIMEOUT" "$PARALLEL" --will-cite -j2 true
fi

# ---------------------------------------------------------------- (g) start-up
if row_on g; then
    log "(g) start-up: one item, $G_RUNS runs, no shell (hyperfine -N)"
    g_bench() { # TOOL COMMAND
        printf '%s\t%s\t%s\t%s\n' startup "$1" 1 "$2" >>"$RESULTS/commands.tsv"
        echo "--- startup / $1: $2"
        measure "$RESULTS/hf/startup__$1.json" "$1" "$2" 3 "$G_RUNS" -N
    }
    g_bench spawn-limit "$SL run -a $ONE true"
    g_bench fanout "$FANOUT true ::: x"
    g_bench xargs "$XARGS -a $ONE true"
    g_bench rust-parallel "$RP true ::: x"
    g_bench gnu-parallel "$PARALLEL --will-cite true ::: x"
fi

# ---------------------------------------------------------------- (h) batches
if row_on h; then
    IH=$(items "$H_N")
    log "(h) $H_N items in batches, -j2 (per-item journal on)"
    words() { wc -w <"$1" | tr -d ' '; }
    check_words() { # FILE N
        [[ $(words "$1") == "$2" ]] || die "$1: $(words "$1") words, expected $2"
    }
    bench batch-true-N$H_N xargs-n500 "$H_N" "$XARGS -P2 -n500 true < $IH"
    bench batch-true-N$H_N fanout-n500 "$H_N" "$FANOUT -j2 -q -n500 --journal $WORK/h.jsonl --force true < $IH"
    bench batch-true-N$H_N fanout-X "$H_N" "$FANOUT -j2 -q -X --journal $WORK/h.jsonl --force true < $IH"
    bench batch-echo-N$H_N xargs-n500 "$H_N" "$XARGS -P2 -n500 echo < $IH > $O/h-xargs"
    check_words "$O/h-xargs" "$H_N"
    bench batch-echo-N$H_N fanout-n500 "$H_N" "$FANOUT -j2 -q -n500 --journal $WORK/h.jsonl --force echo < $IH > $O/h-fanout"
    check_words "$O/h-fanout" "$H_N"
    rm -f "$O"/h-* "$WORK/h.jsonl"
fi

# ---------------------------------------------------------------- report
echo "loadavg end:   $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/env.txt"
echo "wall time:     $(($(date +%s) - T_START)) s" >>"$RESULTS/env.txt"
log "report"
"$PYTHON" "$BENCH_DIR/report.py" "$RESULTS"
