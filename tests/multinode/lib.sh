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
# PRRTE reads PRTE_MCA_*).
cluster_up() {
  "$CLUSTER_SH" up "$CLUSTER" "$1"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export PRTE_ALLOW_RUN_AS_ROOT=1 PRTE_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_plm_rsh_agent=$CLUSTER/rsh PRTE_MCA_plm_rsh_agent=$CLUSTER/rsh
  export OMPI_MCA_oob_tcp_if_include=eth0 PRTE_MCA_oob_tcp_if_include=eth0
  export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=eth0
  export OMPI_MCA_rmaps_base_oversubscribe=1 PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe
}

# on_node NODE CMD...: runs CMD on NODE, in the current folder.
on_node() { "$CLUSTER_SH" exec "$CLUSTER" "$@"; }
