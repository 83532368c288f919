#!/usr/bin/env bash
# Crash-safety trials for the journal (issue 4): run ITEMS short jobs that each
# append their item to a side file, SIGKILL fanout at a random moment, then
# `--resume` to completion. Each trial checks the journal's guarantee:
#   - no item is lost: every item ran at least once;
#   - no item that the journal recorded as succeeded ran again on resume
#     (only items in flight at the kill, at most -j of them, may repeat).
#
# usage: tests/crash.sh [TRIALS=100] [ITEMS=300] [JOBS=4]
# Builds fanout (release) unless FANOUT is set to a binary.
set -euo pipefail
trials=${1:-100}
items=${2:-300}
jobs=${3:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${FANOUT:-}" ]]; then
  cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
  FANOUT="$root/target/release/fanout"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state"

total_lost=0
total_rerun_ok=0
total_repeated=0
max_repeated=0
killed_before_end=0
for ((t = 1; t <= trials; t++)); do
  dir="$work/t$t"
  mkdir -p "$dir"
  cd "$dir"
  seq 1 "$items" > items
  : > side
  # The job appends its item, so the side file says what really ran.
  "$FANOUT" -j"$jobs" --no-progress --journal journal.jsonl -a items \
    sh -c 'echo "$1" >> side' _ > /dev/null 2> first.err &
  pid=$!
  # Kill at a random moment: after 0 to ITEMS-1 jobs ran (by the side file).
  target=$((RANDOM % items))
  while [[ $(wc -l < side) -lt $target ]] && kill -0 "$pid" 2>/dev/null; do :; done
  if kill -9 "$pid" 2>/dev/null; then killed_before_end=$((killed_before_end + 1)); fi
  wait "$pid" 2>/dev/null || true
  # What the first run recorded as succeeded, before resuming.
  grep -o '"item":"[0-9]*","outcome":"ok"' journal.jsonl | grep -o '[0-9]*' | sort > recorded_ok || true
  # Jobs in flight at the kill (own process groups) may still finish: give
  # them a moment so their appends land before counting.
  sleep 0.05
  "$FANOUT" -j"$jobs" --no-progress --resume --journal journal.jsonl -a items \
    sh -c 'echo "$1" >> side' _ > /dev/null 2> resume.err || {
    echo "trial $t: resume failed:"; cat resume.err; exit 1; }
  # comm wants byte order, not numeric order.
  sort side > side.sorted
  lost=$(comm -23 <(sort items) <(sort -u side) | wc -l)
  repeated=$(uniq -d side.sorted | wc -l)
  rerun_ok=$(comm -12 recorded_ok <(uniq -d side.sorted) | wc -l)
  total_lost=$((total_lost + lost))
  total_rerun_ok=$((total_rerun_ok + rerun_ok))
  total_repeated=$((total_repeated + repeated))
  ((repeated > max_repeated)) && max_repeated=$repeated
  if ((lost > 0 || rerun_ok > 0)); then
    echo "trial $t FAILED: lost $lost, re-ran $rerun_ok recorded as succeeded"
  fi
  cd "$work"
  rm -rf "$dir"
done
echo "trials: $trials (killed mid-run: $killed_before_end), items per trial: $items, jobs: $jobs"
echo "items lost: $total_lost"
echo "items rerun that had been recorded as succeeded: $total_rerun_ok"
echo "items that ran twice (in flight at the kill): $total_repeated in all, at most $max_repeated in one trial"
if ((total_lost > 0 || total_rerun_ok > 0 || max_repeated > jobs)); then
  echo "FAILED"
  exit 1
fi
echo "OK"
