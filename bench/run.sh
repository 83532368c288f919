#!/usr/bin/env bash
# fanout's benchmark suite: fanout against the machine's spawn limit and its peers
# (GNU xargs, GNU parallel, rust-parallel), side by side in one run.
#
#   bench/run.sh            full run (about 17-23 min on a 2-core VM)
#   bench/run.sh --quick    smoke test: small N's, 3 runs (about 3 min)
#   BENCH_ROWS=i bench/run.sh   only row (i); BENCH_ROWS=a,d,i: rows (a), (d) and (i)
#
# Rows: (a) dispatch of `true`, (b) and (c) `echo` to a file (grouped, -k), (d) output
# throughput, (e) --dry-run rate, (f) peak RSS, (g) start-up, (h) batches, (i) --pipe
# throughput on a generated text file in the page cache (500 MB; 50 MB with --quick).
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
#   BENCH_ROWS          the rows to run, letters a-i (default: all); (b) and (c) are one
#                       block, run when either is named; the report covers the rows run
#
# Raw results (hyperfine JSON, GNU time reports, env.txt, run.log, report.md,
# targets.json) are kept in the results dir; the report, with PASS/FAIL per
# target, is printed at the end. The exit status is 0 when every measurement ran
# and every tool's output checked out, whatever the targets say (in row (i) a tool
# whose line count is off is reported as WRONG, and a run that fails or hangs as
# such, without stopping the run). Method and reading of the figures: BENCHMARKS.md
# at the repo root; bench/profile.sh shows where fanout's time goes.
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
    I_BYTES=500000000        # (i): the --pipe input file
    I_SMALL_BYTES=100000000  # (i): the smaller file of the RSS comparison
    I_SLOW_RUNS=3    # (i): runs of the slow peers (GNU --pipe, rust-parallel), no warm-up
    I_TIMEOUT=300    # (i): a check run taking longer than this is reported as hung
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
    I_BYTES=50000000
    I_SMALL_BYTES=10000000
    I_SLOW_RUNS=2
    I_TIMEOUT=60
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
ROWS=${BENCH_ROWS:-abcdefghi}
ROWS=${ROWS//[ ,]/}
[[ $ROWS =~ ^[a-i]+$ ]] || die "BENCH_ROWS: letters a-i wanted (e.g. a,d,i), got '$BENCH_ROWS'"
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
I_BYTES=$I_BYTES
I_SMALL_BYTES=$I_SMALL_BYTES
I_SLOW_RUNS=$I_SLOW_RUNS
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

# ---------------------------------------------------------------- (i) --pipe throughput
# One generated text file, in the page cache, cut into blocks by each tool at -j2,
# with `wc -l` and with `cat >/dev/null` as the job. A real pipe (`cat FILE |`) for
# --pipe, so that no tool can use the file itself; `-a FILE` for --pipe-part (whose
# default, in fanout as in GNU, is 10 blocks per job slot; both again at --block 1M,
# the --pipe default, to compare the cost per block). Each
# command runs once first as a check (not timed; it also warms up): its exit status
# and, for `wc -l`, the sum of the jobs' counts against `wc -l FILE`, also on a short
# file whose last line has no newline. A tool that fails or hangs is not timed; one
# whose count is off is timed and reported as WRONG.
if row_on i; then
    IP=$WORK/pipe
    mkdir -p "$IP"
    gen_text() { # FILE BYTES: lines of 1-20 random words, ending in a newline, BYTES at most
        "$PYTHON" - "$1" "$2" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
r = random.Random(11)
words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 10))) for _ in range(5000)]
pool, n = [], 0
while n < 4 << 20:  # a 4 MiB pool of lines, written again and again
    line = " ".join(r.choice(words) for _ in range(r.randint(1, 20))) + "\n"
    pool.append(line)
    n += len(line)
pool = "".join(pool).encode()
with open(path, "wb") as f:
    left = size
    while left >= len(pool):
        f.write(pool)
        left -= len(pool)
    f.write(pool[: pool.rfind(b"\n", 0, left) + 1])
PY
    }
    BIG=$IP/big.txt
    SMALL=$IP/small.txt
    EDGE=$IP/edge.txt # 5 MB, the last line without its newline
    gen_text "$BIG" "$I_BYTES"
    gen_text "$SMALL" "$I_SMALL_BYTES"
    gen_text "$EDGE" 5000000
    truncate -s -1 "$EDGE"
    I_MB=$((I_BYTES / 1000000))
    log "(i) --pipe throughput: $(stat -c %s "$BIG") bytes, $(wc -l <"$BIG") lines of text in the page cache, -j2"
    cat "$BIG" "$SMALL" "$EDGE" >/dev/null
    command -v fincore >/dev/null && fincore "$BIG" "$SMALL" "$EDGE"
    printf 'workload\ttool\tinput\tfile\tstatus\tlines\tblocks\texpected\n' >"$RESULTS/pipe.tsv"
    declare -A IEXPECT
    for f in "$BIG" "$SMALL" "$EDGE"; do IEXPECT[$f]=$(wc -l <"$f"); done
    if "$FANOUT" --help 2>&1 | grep -q -- '--pipe-part'; then FANOUT_PIPE=1; else FANOUT_PIPE=; fi
    [[ $FANOUT_PIPE ]] || echo "    ($FANOUT has no --pipe-part: its rows are skipped)"

    # pipe_check WORKLOAD TOOL INPUT FILE COMMAND: run COMMAND (@F@ = FILE, @O@ = the
    # output file) once, check it, record it in pipe.tsv; its status in ICHECK.
    pipe_check() {
        local workload=$1 tool=$2 input=$3 file=$4 cmd=${5//@F@/$4} out=$O/i-out rc=0 status lines=- blocks=-
        cmd=${cmd//@O@/$out}
        rm -f "$out"
        timeout "$I_TIMEOUT" sh -c "$cmd" >"$O/i-stdout" 2>"$O/i-stderr" </dev/null || rc=$?
        if ((rc == 124)); then
            status="hung (killed after ${I_TIMEOUT}s)"
        elif ((rc != 0)); then
            status="exit $rc"
        elif [[ $workload == pipe-wc ]]; then
            lines=$(awk '{s += $1} END {print s + 0}' "$out")
            blocks=$(wc -l <"$out")
            [[ $lines == "${IEXPECT[$file]}" ]] && status=ok || status=WRONG
        else
            [[ -s $O/i-stdout ]] && status="unexpected output" || status=ok
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$tool" "$input" "${file##*/}" \
            "$status" "$lines" "$blocks" "${IEXPECT[$file]}" >>"$RESULTS/pipe.tsv"
        [[ $status == ok ]] || { echo "    check on ${file##*/}: $status (lines $lines, expected ${IEXPECT[$file]})"; head -5 "$O/i-stderr" | sed 's/^/    stderr: /'; }
        ICHECK=$status
    }
    # pipe_bench WORKLOAD TOOL INPUT PACE COMMAND: check COMMAND on the edge file (wc -l
    # only) and on the big one, then time it on the big one unless it failed or hung.
    # PACE: "" = WARMUP and RUNS, slow = I_SLOW_RUNS runs without warm-up, ref = twice
    # RUNS (the one-process references are quick, and a pipe's speed varies with where
    # the scheduler puts its two ends).
    pipe_bench() {
        local workload=$1 tool=$2 input=$3 pace=$4 cmd=$5 warmup=$WARMUP runs=$RUNS json
        local big=${cmd//@F@/$BIG}
        big=${big//@O@/$O/i-out}
        echo "--- $workload / $tool: $big"
        if [[ $workload == pipe-wc ]]; then
            pipe_check "$workload" "$tool" "$input" "$EDGE" "$cmd"
            [[ $ICHECK == ok || $ICHECK == WRONG ]] || return 0
        fi
        pipe_check "$workload" "$tool" "$input" "$BIG" "$cmd"
        [[ $ICHECK == ok || $ICHECK == WRONG ]] || return 0
        case $pace in
            slow) warmup=0 runs=$I_SLOW_RUNS ;;
            ref) runs=$((2 * RUNS)) ;;
        esac
        printf '%s\t%s\t%s\t%s\n' "$workload" "$tool" "$I_BYTES" "$big" >>"$RESULTS/commands.tsv"
        json=$RESULTS/hf/${workload}__$tool.json
        measure "$json" "$tool" "$big" "$warmup" "$runs" || true
        [[ -s $json ]] || echo "    (hyperfine failed: no timing for $tool)"
    }
    fanout_bench() { if [[ $FANOUT_PIPE ]]; then pipe_bench "$@"; else printf '%s\t%s\t%s\t%s\t%s\t-\t-\t%s\n' "$1" "$2" "$3" big.txt "skipped (no --pipe)" "${IEXPECT[$BIG]}" >>"$RESULTS/pipe.tsv"; fi; }

    log "(i) job \`wc -l\`: references, then fanout, GNU parallel, rust-parallel"
    pipe_bench pipe-wc wc-l-file file ref "wc -l @F@ > @O@"
    pipe_bench pipe-wc cat-wc-l pipe ref "cat @F@ | wc -l > @O@"
    fanout_bench pipe-wc fanout-pipe pipe "" "cat @F@ | $FANOUT --pipe -j2 -q wc -l > @O@"
    fanout_bench pipe-wc fanout-pipe-part file "" "$FANOUT --pipe-part -a @F@ -j2 -q wc -l > @O@"
    pipe_bench pipe-wc gnu-pipe pipe slow "cat @F@ | $PARALLEL --will-cite --pipe -j2 wc -l > @O@"
    pipe_bench pipe-wc gnu-pipe-part file "" "$PARALLEL --will-cite --pipe-part -a @F@ -j2 wc -l > @O@"
    fanout_bench pipe-wc fanout-pipe-part-block1M file "" "$FANOUT --pipe-part --block 1M -a @F@ -j2 -q wc -l > @O@"
    pipe_bench pipe-wc gnu-pipe-part-block1M file slow "$PARALLEL --will-cite --pipe-part --block 1M -a @F@ -j2 wc -l > @O@"
    pipe_bench pipe-wc rust-parallel-pipe pipe slow "cat @F@ | $RP --pipe -j2 wc -l > @O@"

    log "(i) job \`cat >/dev/null\`"
    pipe_bench pipe-cat cat-cat pipe ref "cat @F@ | cat >/dev/null"
    fanout_bench pipe-cat fanout-pipe pipe "" "cat @F@ | $FANOUT --pipe -j2 -q 'cat >/dev/null'"
    fanout_bench pipe-cat fanout-pipe-part file "" "$FANOUT --pipe-part -a @F@ -j2 -q 'cat >/dev/null'"
    pipe_bench pipe-cat gnu-pipe pipe slow "cat @F@ | $PARALLEL --will-cite --pipe -j2 'cat >/dev/null'"
    pipe_bench pipe-cat gnu-pipe-part file "" "$PARALLEL --will-cite --pipe-part -a @F@ -j2 'cat >/dev/null'"
    pipe_bench pipe-cat rust-parallel-pipe pipe slow "cat @F@ | $RP --pipe -j2 -s --shell-path /bin/sh 'cat >/dev/null'"

    # Peak RSS of fanout (GNU time -v: fanout itself, the largest process it waits for)
    # at two input sizes; the counts are checked too.
    log "(i) peak RSS of fanout --pipe and --pipe-part, $((I_SMALL_BYTES / 1000000)) and $I_MB MB"
    printf 'label\tmode\tbytes\tstatus\tcommand\n' >"$RESULTS/pipe-rss.tsv"
    pipe_rss() { # LABEL MODE FILE
        local label=$1 mode=$2 file=$3 txt=$RESULTS/rss/$1.txt rc=0 status cmd lines
        if [[ $mode == pipe ]]; then
            cmd="cat $file | /usr/bin/time -v $FANOUT --pipe -j2 -q wc -l"
        else
            cmd="/usr/bin/time -v $FANOUT --pipe-part -a $file -j2 -q wc -l"
        fi
        echo "--- $label: $cmd"
        wait_idle
        if [[ $mode == pipe ]]; then
            cat "$file" | /usr/bin/time -v -o "$txt" timeout "$I_TIMEOUT" "$FANOUT" --pipe -j2 -q wc -l >"$O/i-out" 2>"$RESULTS/rss/$label.stderr" || rc=$?
        else
            /usr/bin/time -v -o "$txt" timeout "$I_TIMEOUT" "$FANOUT" --pipe-part -a "$file" -j2 -q wc -l >"$O/i-out" 2>"$RESULTS/rss/$label.stderr" </dev/null || rc=$?
        fi
        echo "exit $rc" >>"$txt"
        lines=$(awk '{s += $1} END {print s + 0}' "$O/i-out")
        if ((rc != 0)); then status="exit $rc"; elif [[ $lines == "${IEXPECT[$file]}" ]]; then status=ok; else status=WRONG; fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$mode" "$(stat -c %s "$file")" "$status" "$cmd" >>"$RESULTS/pipe-rss.tsv"
        grep -E 'Maximum resident|Elapsed' "$txt" | sed 's/^\s*/    /'
        [[ $status == ok ]] || echo "    $status (lines $lines, expected ${IEXPECT[$file]})"
    }
    if [[ $FANOUT_PIPE ]]; then
        pipe_rss pipe-rss-pipe-small pipe "$SMALL"
        pipe_rss pipe-rss-pipe-big pipe "$BIG"
        pipe_rss pipe-rss-part-small pipe-part "$SMALL"
        pipe_rss pipe-rss-part-big pipe-part "$BIG"
    fi
    rm -f "$O"/i-* "$BIG" "$SMALL" "$EDGE"
fi

# ---------------------------------------------------------------- report
echo "loadavg end:   $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/env.txt"
echo "wall time:     $(($(date +%s) - T_START)) s" >>"$RESULTS/env.txt"
log "report"
"$PYTHON" "$BENCH_DIR/report.py" "$RESULTS"
