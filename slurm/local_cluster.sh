#!/usr/bin/env bash
# A private single-node SLURM cluster for tests: its own munged, slurmctld and slurmd from
# Debian's slurm-wlm, with every file under one folder DIR (slurm.conf, munge key and socket,
# spool, state, logs, pid files) and free ports on 127.0.0.1. It never reads or writes
# /etc/slurm, /etc/munge or /run/munge, and never touches a munged or slurmd that is already
# running: a host that is a real cluster node keeps its own. No systemd or cgroups; run as
# root (slurmd starts jobs as their user).
#   slurm/local_cluster.sh start DIR   (waits until the node is idle; prints SLURM_CONF=...)
#   slurm/local_cluster.sh stop DIR    (TERM to its own daemons by pid file, KILL after 10 s)
# Clients reach it with SLURM_CONF=DIR/slurm.conf. SLURM_CI_CPUS and SLURM_CI_MEM_MB override
# what `slurmd -C` reports.
set -euo pipefail

port_is_free() { ! (: > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Two consecutive free ports from a range that dunet's tests own by convention.
free_ports() {
  local p
  for p in $(seq 26817 2 26999); do
    if port_is_free "$p" && port_is_free $((p + 1)); then echo "$p $((p + 1))"; return 0; fi
  done
  echo "slurm: no two free ports in 26817-27000 on 127.0.0.1" >&2
  return 1
}

write_conf() {
  local dir=$1 node cpus sockets cores threads mem ctld_port d_port
  node=$(hostname -s)
  read -r cpus sockets cores threads mem < <(slurmd -C | head -1 | awk '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["CPUs"], v["SocketsPerBoard"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"] }')
  cpus=${SLURM_CI_CPUS:-$cpus}
  mem=${SLURM_CI_MEM_MB:-$((mem * 9 / 10))}
  if [ -n "${SLURM_CI_CPUS:-}" ]; then sockets=1; cores=$cpus; threads=1; fi
  read -r ctld_port d_port < <(free_ports)
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  cat > "$dir/slurm.conf" <<CONF
ClusterName=dunetci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
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
  # Slurm 23.02 and later (Debian 13 has 24.11) initialise a cgroup plugin in slurmd even with
  # proctrack/linuxproc and task/none, and fail where no cgroup tree is delegated; 22.05
  # (Debian 12) has no such setting and needs none. cgroup.conf is read beside slurm.conf.
  local major
  major=$(slurmd -V | awk '{split($2, v, "."); print v[1]}')
  if [ "${major:-0}" -ge 23 ]; then echo "CgroupPlugin=disabled" > "$dir/cgroup.conf"; fi
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  local m=$1/munge
  install -d -m 0700 "$m"
  [ -f "$m/munge.key" ] || mungekey --create --keyfile="$m/munge.key"
  chmod 0400 "$m/munge.key"
  running "$m/munged.pid" && return 0
  # --force: munged refuses a root-owned setup by default; this one is private to DIR.
  munged --force --socket="$m/munge.socket" --key-file="$m/munge.key" \
    --pid-file="$m/munged.pid" --log-file="$m/munged.log" --seed-file="$m/munged.seed"
  munge --socket="$m/munge.socket" -n | unmunge --socket="$m/munge.socket" > /dev/null
}

stop_daemons() {
  local dir=$1 pids=() f
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
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
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop_daemons "$dir"  # a cluster of an earlier run in the same folder
  start_munge "$dir"
  write_conf "$dir"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  local node state=""
  node=$(hostname -s)
  for _ in $(seq 300); do
    state=$(scontrol show node "$node" -o 2>/dev/null | grep -o 'State=[A-Z+_]*' | cut -d= -f2 || true)
    case "$state" in
      IDLE*|MIXED*|ALLOCATED*) echo "slurm: node $node $state; SLURM_CONF=$SLURM_CONF"; return 0 ;;
      *DRAIN*|DOWN*) scontrol update NodeName="$node" State=RESUME || true ;;
    esac
    sleep 0.1
  done
  echo "slurm: node $node did not become idle (state '$state'); see $dir/log/" >&2
  tail -5 "$dir/log/"*.log >&2 || true
  return 1
}

[ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
case "$1" in
  start) start "$2" ;;
  stop) [ -d "$2" ] && stop_daemons "$(cd "$2" && pwd)"; echo "slurm: stopped" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
