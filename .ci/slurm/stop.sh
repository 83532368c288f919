#!/usr/bin/env bash
# .ci/slurm/stop.sh - stops what start.sh started, by PID (never by name).
B=${SLURM_CI_BASE:-/tmp/fanout-slurm-ci}
for f in slurmd-n1 slurmd-n2 slurmctld munged; do
  p=$(cat "$B/run/$f.pid" 2>/dev/null) || continue
  case "$(cat /proc/$p/comm 2>/dev/null)" in slurm*|munged) kill -TERM "$p";; esac
done
for f in slurmd-n1 slurmd-n2 slurmctld munged; do
  p=$(cat "$B/run/$f.pid" 2>/dev/null) || continue
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p"
done
exit 0
