#!/usr/bin/env bash
# All-reduce across nodes of the namespace test cluster (tests/multinode/cluster.sh): one rank
# on each of 2 nodes, TCP over their veth link (btl tcp on eth0), against the same 2 ranks on one
# node over shared memory (vader). `dunet bench allreduce` times plain MPI_Allreduce, dunet's MPI
# communicator and its bucketed path from 4 KiB to 256 MiB. The link is a veth pair through a
# bridge on this machine: its bandwidth is this machine's memory and TCP stack, not a network's;
# what carries over to a cluster is the shape of the curve (docs/scaling.md). Needs root.
# Prints markdown and, with --write, replaces the block allreduce-nodes in docs/scaling.md.
# Usage: bench/allreduce_nodes.sh [--write]
source "$(dirname "$0")/lib.sh"
parse_bench_args "$@"
[ -x "$DUNET" ] || "$ROOT/dunet.sh" build
CLUSTER_SH=$ROOT/tests/multinode/cluster.sh
CLUSTER=$ROOT/build/bench-allreduce-nodes
"$CLUSTER_SH" down "$CLUSTER" 2>/dev/null || true
trap '"$CLUSTER_SH" down "$CLUSTER"' EXIT
"$CLUSTER_SH" up "$CLUSTER" 2 > /dev/null
export OMPI_MCA_plm_rsh_agent=$CLUSTER/rsh PRTE_MCA_plm_ssh_agent=$CLUSTER/rsh
export OMPI_MCA_oob_tcp_if_include=eth0 PRTE_MCA_oob_tcp_if_include=eth0
export OMPI_MCA_btl_tcp_if_include=eth0 PRTE_ALLOW_RUN_AS_ROOT=1 PRTE_ALLOW_RUN_AS_ROOT_CONFIRM=1
printf 'node1 slots=1\nnode2 slots=1\n' > "$CLUSTER/two.hosts"
printf 'node1 slots=2\n' > "$CLUSTER/one.hosts"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
bench() {  # bench HOSTFILE BTL
  "$CLUSTER_SH" exec "$CLUSTER" node1 env OMPI_MCA_btl="$2" \
    mpirun --hostfile "$CLUSTER/$1" -n 2 "$DUNET" bench allreduce 2>/dev/null
}
text="Command: \`bench/allreduce_nodes.sh\` (commit $commit, $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')).

Two nodes, one rank each, TCP over the namespace link:

\`\`\`
$(bench two.hosts self,tcp)
\`\`\`

One node, two ranks, shared memory:

\`\`\`
$(bench one.hosts self,vader)
\`\`\`
"
printf '%s\n' "$text"
[ "$WRITE" -eq 0 ] || write_blocks "$ROOT/docs/scaling.md" allreduce-nodes "$text"
