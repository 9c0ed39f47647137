# Helpers of the multi-node tests: a test cluster of their own (cluster.sh) in their work
# folder, removed with everything that runs on it when the test ends.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
CLUSTER_SH=$(realpath "$(dirname "${BASH_SOURCE[0]}")/cluster.sh")

# multinode_setup DUNET MPIEXEC WORK_DIR: needs root (namespaces); exits 77 (skipped) without.
# Moves into WORK_DIR/work, which the nodes share; the cluster's state lives in WORK_DIR/cluster.
multinode_setup() {
  [ $# -eq 3 ] || fail "usage: $0 PATH_TO_DUNET MPIEXEC WORK_DIR"
  if [ "$(id -u)" -ne 0 ]; then echo "skipped: network namespaces need root"; exit 77; fi
  DUNET=$(realpath "$1")
  MPIEXEC=$2
  TEST_ROOT=$(realpath -m "$3")
  CLUSTER=$TEST_ROOT/cluster
  "$CLUSTER_SH" down "$CLUSTER" 2>/dev/null || true  # what an aborted earlier run left
  rm -rf "$TEST_ROOT"
  mkdir -p "$TEST_ROOT/work"
  trap '"$CLUSTER_SH" down "$CLUSTER" || true' EXIT
  cd "$TEST_ROOT/work"
}

# cluster_up N: nodes node1..nodeN; MPI between them over TCP on eth0 only, the second node
# reached through the cluster's rsh agent (OpenMPI 4 reads OMPI_MCA_*, OpenMPI 5's launcher
# PRRTE reads PRTE_MCA_*, where the agent is plm_ssh_agent).
cluster_up() {
  "$CLUSTER_SH" up "$CLUSTER" "$1"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export PRTE_ALLOW_RUN_AS_ROOT=1 PRTE_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_plm_rsh_agent=$CLUSTER/rsh PRTE_MCA_plm_ssh_agent=$CLUSTER/rsh
  export OMPI_MCA_oob_tcp_if_include=eth0 PRTE_MCA_oob_tcp_if_include=eth0
  export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=eth0
  # Ranks fill each node's slots of the hostfile in order, unbound: a node here has 2 cores
  # for up to 4 ranks (oversubscription instead would let OpenMPI 5 put every rank on node1).
  export OMPI_MCA_rmaps_base_mapping_policy=slot PRTE_MCA_rmaps_default_mapping_policy=slot
  export OMPI_MCA_hwloc_base_binding_policy=none PRTE_MCA_hwloc_default_binding_policy=none
}

# on_node NODE CMD...: runs CMD on NODE, in the current folder.
on_node() { "$CLUSTER_SH" exec "$CLUSTER" "$@"; }

# slurm_up N: SLURM on the test cluster: munged on every node (one shared key, each node's own
# socket under its private /run), slurmctld on node1, a slurmd per node, a private
# configuration in $CLUSTER/slurm (nothing under /etc). Clients run on node1 with
# SLURM_CONF (exported). TmpFS (PMIx's per-step folders) is node-private too: /tmp may be
# shared. slurm_logs prints the daemons' logs for failures.
slurm_up() {
  local count=$1 k major
  SLURM_DIR=$CLUSTER/slurm
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/log"
  install -m 0700 -d "$SLURM_DIR/munge"
  mungekey --create --keyfile="$SLURM_DIR/munge/munge.key"
  chmod 0400 "$SLURM_DIR/munge/munge.key"
  cat > "$SLURM_DIR/slurm.conf" <<CONF
ClusterName=dunetnodes
SlurmctldHost=node1(10.97.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=/run/slurmd
TmpFS=/run/slurm-tmp
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log
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
SlurmdTimeout=${SLURMD_TIMEOUT_S:-300}
NodeName=node[1-$count] NodeAddr=10.97.0.[1-$count] CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=node[1-$count] Default=YES MaxTime=INFINITE State=UP
CONF
  major=$(slurmd -V | awk '{split($2, v, "."); print v[1]}')
  if [ "${major:-0}" -ge 23 ]; then echo "CgroupPlugin=disabled" > "$SLURM_DIR/cgroup.conf"; fi
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  SLURM_CLIENT=(on_node node1)  # job_state, wait_done (e2e/lib.sh) ask from node1
  for k in $(seq "$count"); do
    on_node "node$k" bash -c 'set -e; install -d -m 0755 /run/munge /run/slurmd
      install -d -m 1777 /run/slurm-tmp
      munged --force --key-file="$1/munge.key" --log-file="$1/munged-$2.log" \
        --pid-file=/run/munge/munged.pid --seed-file=/run/munge/munged.seed' _ \
      "$SLURM_DIR/munge" "node$k"
  done
  on_node node1 slurmctld -f "$SLURM_CONF"
  for k in $(seq "$count"); do on_node "node$k" slurmd -f "$SLURM_CONF" -N "node$k"; done
  local idle=""
  for _ in $(seq 300); do
    idle=$(on_node node1 sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l)
    [ "$idle" = "$count" ] && { echo "slurm: $count nodes idle"; return 0; }
    sleep 0.2
  done
  slurm_logs
  fail "slurm: $idle of $count nodes idle: $(on_node node1 sinfo -N 2>&1)"
}
slurm_logs() { tail -n 15 "$SLURM_DIR"/log/*.log "$SLURM_DIR"/munge/*.log >&2 2>/dev/null || true; }

# node_ranks NODE PATTERN [NAME]: pids of the processes on NODE whose command line has PATTERN
# (and whose executable is NAME, dunet by default).
node_ranks() {
  local pid
  for pid in $("$CLUSTER_SH" pids "$CLUSTER" "$1"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${3:-dunet}" ] || continue
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" && echo "$pid"
  done
  return 0
}

# last_digest RUN: the weights digest of runs/RUN's newest checkpoint.
last_digest() {
  "$DUNET" checkpoint inspect "$(ls runs/"$1"/checkpoints/step-*.pt | sort | tail -1)" |
    awk '/weights_xxh3_64/ {print $2}'
}
