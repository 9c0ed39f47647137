#!/usr/bin/env bash
# MPI across nodes: a 2-node test cluster (cluster.sh), mpirun with a hostfile that reaches the
# second node through an rsh agent, as it would over ssh, and TCP between the nodes on their
# named interface (eth0). The same training with sync BatchNorm and validation runs as 1 node x 4
# ranks and as 2 nodes x 2 ranks: the final weights and every epoch's figures must be equal,
# bit for bit (why that holds: docs/cluster.md). Shared memory alone (btl self,vader) must not
# connect the two nodes: they really are separate hosts.
# Usage: mpi_nodes.sh PATH_TO_DUNET MPIEXEC WORK_DIR
source "$(dirname "$0")/lib.sh"
multinode_setup "$@"
cluster_up 2

"$DUNET" synth --out png --count 40 --size 64x64 --seed 5 > /dev/null
"$DUNET" prepare --input png --out shards --shards 4 --val-fraction 0.2 > /dev/null
tiny_config run.toml runs/RUN
sed -i 's/^epochs = 1/epochs = 2/' run.toml
cat >> run.toml <<'TOML'
[validation]
every_epochs = 1
TOML
sed -i 's/^depth = 2/depth = 2\nnorm = "sync_batch"/' run.toml

printf 'node1 slots=4\n' > one-node.hosts
printf 'node1 slots=2\nnode2 slots=2\n' > two-nodes.hosts
train_on() {  # train_on HOSTFILE RUN [extra env]: 4 ranks from node1
  local hosts=$1 run=$2
  shift 2
  sed "s#runs/RUN#runs/$run#" run.toml > "$run.toml"
  on_node node1 env "$@" timeout 300 "$MPIEXEC" --hostfile "$hosts" -n 4 \
    "$DUNET" train --config "$run.toml" > "$run.out" 2>&1
}
train_on one-node.hosts one || fail "1 node x 4 ranks: $(tail -20 one.out)"
grep -q "placement: 1 node: node1 ranks 0-3" runs/one/train.log ||
  fail "1 node x 4: placement not logged: $(grep placement runs/one/train.log)"
train_on two-nodes.hosts two || fail "2 nodes x 2 ranks: $(tail -20 two.out)"
grep -q "placement: 2 nodes: node1 ranks 0-1, node2 ranks 2-3" runs/two/train.log ||
  fail "2 nodes x 2: placement not logged: $(grep placement runs/two/train.log)"
echo "ok: 4 ranks on 1 node and on 2 nodes"

# Equal weights (the digest of every parameter and buffer, BatchNorm statistics included) and
# equal figures per epoch: training loss, validation IoU and Dice over the whole split.
[ -n "$(last_digest one)" ] && [ "$(last_digest one)" = "$(last_digest two)" ] ||
  fail "final weights differ: 1 node $(last_digest one), 2 nodes $(last_digest two)"
figures() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    print(m["epoch"], m["global_step"], repr(m["train_loss"]), repr(m["val_iou"]), repr(m["val_dice"]))
' "runs/$1/metrics.jsonl"; }
[ "$(figures one | wc -l)" = 2 ] || fail "expected 2 epochs of metrics: $(figures one)"
[ "$(figures one)" = "$(figures two)" ] ||
  fail "figures differ: 1 node: $(figures one); 2 nodes: $(figures two)"
echo "ok: 2 nodes x 2 ranks train to the same weights ($(last_digest two)) and figures as 1 node x 4"

# Without TCP, ranks on different nodes cannot reach each other.
set +e
train_on two-nodes.hosts vader-only OMPI_MCA_btl=self,vader
status=$?
set -e
[ $status -ne 0 ] || fail "2 nodes joined by shared memory alone: the nodes are not separate"
grep -qi "unable to reach each other\|unreachable\|BTLs attempted" vader-only.out ||
  fail "no reachability error without TCP: $(tail -20 vader-only.out)"
echo "ok: without btl tcp the nodes cannot reach each other (exit status $status)"
echo "multinode mpi: all checks passed"
