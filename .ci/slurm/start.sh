#!/usr/bin/env bash
# .ci/slurm/start.sh - a throw-away Slurm cluster of two nodes (n1, n2) on this host, for
# tests/integration/slurm.rs. Debian's Slurm is built with MULTIPLE_SLURMD, so two slurmd
# daemons share the host, each with its own NodeName, port, spool, pid file and log: array
# tasks land on both nodes. Needs root and the packages munge slurmctld slurmd slurm-client.
# No systemd and no cgroups here: proctrack/linuxproc, task/none, no accounting.
#
#   SLURM_CI_BASE  state/log/pid directory (default /tmp/fanout-slurm-ci)
# The last line on stdout is `export SLURM_CONF=...`. Stop with .ci/slurm/stop.sh.
set -euo pipefail
B=${SLURM_CI_BASE:-/tmp/fanout-slurm-ci}
rm -rf "$B"; mkdir -p "$B"/{etc,log,run,state,spool}
H=$(hostname -s)

# munge: a key, its owners, one daemon (ours only if we start it).
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge /var/log/munge; chmod 0600 /etc/munge/munge.key
if ! [ -S /run/munge/munge.socket.2 ] || ! pgrep -x munged >/dev/null; then
  rm -f /run/munge/munge.socket.2*
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$B/run/munged.pid"
fi
for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done

cat > "$B/etc/slurm.conf" <<C
ClusterName=fanoutci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
AuthType=auth/munge
StateSaveLocation=$B/state
SlurmdSpoolDir=$B/spool/%n
SlurmctldPidFile=$B/run/slurmctld.pid
SlurmdPidFile=$B/run/slurmd-%n.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
KillWait=5
NodeName=n1 NodeHostname=$H NodeAddr=127.0.0.1 Port=17001 CPUs=1 RealMemory=1000 State=UNKNOWN
NodeName=n2 NodeHostname=$H NodeAddr=127.0.0.1 Port=17002 CPUs=1 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
C
export SLURM_CONF=$B/etc/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N n1
slurmd -f "$SLURM_CONF" -N n2
s=
for _ in $(seq 120); do
  s=$(timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ' || true)
  case "$s" in *"n1 idle "*"n2 idle "*) break;; esac; sleep 0.5
done
case "$s" in
  *"n1 idle "*"n2 idle "*) ;;
  *) echo "slurm nodes not idle: $s" >&2; tail -n 20 "$B"/log/*.log >&2; exit 1;;
esac
sinfo -N >&2
echo "export SLURM_CONF=$SLURM_CONF"
