#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine for tests: munged, slurmctld and slurmd from
# Debian's slurm-wlm, every socket on 127.0.0.1, no systemd or cgroups. Run as root.
#   slurm/local_cluster.sh start   (safe to repeat; waits until the node is idle)
#   slurm/local_cluster.sh stop    (TERM by pid file, KILL after 10 s)
# SLURM_CI_CPUS and SLURM_CI_MEM_MB override what `slurmd -C` reports.
set -euo pipefail
CONF=/etc/slurm/slurm.conf

write_conf() {
  local node cpus sockets cores threads mem
  node=$(hostname -s)
  read -r cpus sockets cores threads mem < <(slurmd -C | head -1 | awk '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["CPUs"], v["SocketsPerBoard"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"] }')
  cpus=${SLURM_CI_CPUS:-$cpus}
  mem=${SLURM_CI_MEM_MB:-$((mem * 9 / 10))}
  if [ -n "${SLURM_CI_CPUS:-}" ]; then sockets=1; cores=$cpus; threads=1; fi
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  local new
  new=$(cat <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
KillWait=10
InactiveLimit=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
)
  if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new" ]; then
    echo "$new" > "$CONF"
    stop_daemons
  fi
  # Slurm 23.02 and later (Debian 13 has 24.11) initialise a cgroup plugin in slurmd even with
  # proctrack/linuxproc and task/none, and fail where no cgroup tree is delegated; 22.05
  # (Debian 12) has no such setting and needs none.
  local major
  major=$(slurmd -V | awk '{split($2, v, "."); print v[1]}')
  if [ "${major:-0}" -ge 23 ]; then
    echo "CgroupPlugin=disabled" > /etc/slurm/cgroup.conf
  fi
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  if [ ! -f /etc/munge/munge.key ]; then
    mungekey --create
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge /run/munge
  running /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged
  munge -n | unmunge > /dev/null
}

stop_daemons() {
  local pids=() f
  for f in /run/slurmd.pid /run/slurmctld.pid; do
    if running "$f"; then pids+=("$(cat "$f")"); kill -TERM "$(cat "$f")"; fi
  done
  for _ in $(seq 100); do
    local alive=0 p
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

start() {
  start_munge
  write_conf
  running /run/slurmctld.pid || slurmctld
  running /run/slurmd.pid || slurmd
  local node state
  node=$(hostname -s)
  for _ in $(seq 300); do
    state=$(scontrol show node "$node" -o 2>/dev/null | grep -o 'State=[A-Z+_]*' | cut -d= -f2 || true)
    case "$state" in
      IDLE*|MIXED*|ALLOCATED*) echo "slurm: node $node $state"; return 0 ;;
      *DRAIN*|DOWN*) scontrol update NodeName="$node" State=RESUME || true ;;
    esac
    sleep 0.1
  done
  echo "slurm: node $node did not become idle (state '$state'); see /var/log/slurm/" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons; echo "slurm: stopped" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
