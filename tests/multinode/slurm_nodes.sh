#!/usr/bin/env bash
# SLURM across nodes: slurmctld and one slurmd per node of a 2-node test cluster, with a
# private configuration. `dunet submit --nodes 2` runs the demo config as a 2-node job
# (srun --mpi=pmix, one rank per node); a run warned with USR1 checkpoints, requeues itself,
# resumes and ends with the same weights as the uninterrupted 2-node run. A run that loses
# node2 (link cut, every process killed) requeues itself and finishes on node1 alone, resuming
# from its last checkpoint with a world size of 1.
# Usage: slurm_nodes.sh PATH_TO_DUNET MPIEXEC WORK_DIR
source "$(dirname "$0")/lib.sh"
DEMO_CONFIG=$(realpath "$(dirname "$0")/../../configs/demo.toml")
multinode_setup "$@"
cluster_up 2
# SLURM marks node2 down once it has not answered for SlurmdTimeout. Keep that well above
# MessageTimeout (10 s): a ping cycle that includes the dead node2 lasts MessageTimeout, and
# slurmctld records node1's answer to it only when the cycle ends. With SlurmdTimeout = 10,
# slurmctld 24.11 once found node1 "not responding" too and killed the batch step on it.
SLURMD_TIMEOUT_S=30 slurm_up 2
submit() { on_node node1 "$DUNET" submit "$@" | awk '/^job /{print $2}'; }

# A requeued job is held for ~2 minutes (Reason=BeginTime) so that the credential of its last
# start, revoked on its nodes, expires first. The test starts it sooner: once the old step's
# PMIx sockets are gone from NODES, and a few seconds later than the revocation, because a
# slurmd refuses a credential issued in the same second ("Job credential revoked") and the job
# would end FAILED instead of starting.
start_requeued_job() {
  local job=$1 node; shift
  for node in "$@"; do
    for _ in $(seq 100); do
      on_node "$node" bash -c "ls /run/slurmd/stepd.slurm.pmix.$job.* >/dev/null 2>&1" || break
      sleep 0.1
    done
  done
  [ "$(job_state "$job")" != PENDING ] || on_node node1 scontrol update JobId="$job" StartTime=now+3
}

"$DUNET" synth --out png --count 40 --size 64x64 --seed 6 > /dev/null
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.2 > /dev/null
mkdir -p demo && ln -s ../shards demo/prepared  # where configs/demo.toml looks for its shards

# 1. The demo config as a 2-node job.
job=$(submit "$DEMO_CONFIG" --nodes 2 --set 'run.output_dir="runs/demo"' --set train.epochs=2 \
      --set train.threads=1)
[ -n "$job" ] || { slurm_logs; fail "sbatch gave no job id"; }
state=$(wait_done "$job" 600)
log=runs/demo/slurm-$job.out
[ "$state" = COMPLETED ] || { slurm_logs; fail "job $job ended $state: $(tail -20 "$log")"; }
grep -q "placement: 2 nodes: node1 rank 0, node2 rank 1" runs/demo/train.log ||
  fail "not one rank per node: $(grep -h placement runs/demo/train.log "$log")"
grep -q "val_iou=" "$log" || fail "no validation IoU in the job log"
echo "ok: demo job $job ran on 2 nodes, $(grep -o 'val_iou=[0-9.]*' "$log" | tail -1)"

cat > base.toml <<'TOML'
[run]
name = "nodes"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 64
[model]
base_channels = 8
depth = 3
norm = "sync_batch"
[train]
epochs = 8
batch_size = 2
threads = 1
log_every_steps = 1
[slurm]
nodes = 2
time = "00:20:00"
TOML

# 2. The uninterrupted 2-node run.
job=$(submit base.toml --set 'run.output_dir="runs/full"')
state=$(wait_done "$job" 600)
[ "$state" = COMPLETED ] || { slurm_logs; fail "job $job ended $state: $(tail -20 runs/full/slurm-$job.out)"; }
full_steps=$(json_field runs/full/metrics.jsonl global_step)
echo "ok: 2-node job $job completed, $full_steps steps"

# 3. The same run warned with USR1 (as before its time limit) once under way.
job=$(submit base.toml --set 'run.output_dir="runs/pre"')
log=runs/pre/slurm-$job.out
for _ in $(seq 600); do grep -q "global_step=12 " "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "global_step=12 " "$log" || fail "job $job did not start training: $(cat "$log")"
on_node node1 scancel --signal=USR1 --batch "$job"
for _ in $(seq 600); do [ "$(job_state "$job")" = PENDING ] && break; sleep 0.1; done
[ "$(job_state "$job")" = PENDING ] || fail "job $job was not requeued: $(tail -20 "$log")"
start_requeued_job "$job" node1 node2
state=$(wait_done "$job" 600)
[ "$state" = COMPLETED ] || { slurm_logs; fail "requeued job $job ended $state: $(tail -20 "$log")"; }
grep -q "stopped by signal 10" "$log" || fail "the ranks did not stop on USR1"
grep -q "requeueing $job" "$log" || fail "the job did not requeue itself"
grep -q "resumed from" "$log" || fail "the requeued job did not resume"
[ "$(json_field runs/pre/metrics.jsonl global_step)" = "$full_steps" ] ||
  fail "interrupted job made $(json_field runs/pre/metrics.jsonl global_step) steps, uninterrupted $full_steps"
[ "$(last_digest pre)" = "$(last_digest full)" ] ||
  fail "interrupted and resumed: weights $(last_digest pre), uninterrupted $(last_digest full)"
echo "ok: job $job checkpointed on USR1, requeued, resumed on 2 nodes: same $full_steps steps and weights ($(last_digest full))"

# 4. node2 lost mid-job: its link cut and every process on it killed. The ranks on node1 time
# out (dist.timeout_s = 10) and exit with status 4; the job requeues itself, asking for 1 node
# (slurm.restart_nodes); SLURM marks node2 down, and the job restarts on node1 alone and resumes
# from the last checkpoint.
job=$(submit base.toml --set 'run.output_dir="runs/lost"' --set slurm.restart_nodes=1 \
      --set dist.timeout_s=10)
log=runs/lost/slurm-$job.out
for _ in $(seq 600); do grep -q "global_step=20 " "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "global_step=20 " "$log" || fail "job $job did not start training: $(cat "$log")"
grep -q "placement: 2 nodes: node1 rank 0, node2 rank 1" runs/lost/train.log ||
  fail "job $job did not start on 2 nodes: $(grep placement runs/lost/train.log)"
"$CLUSTER_SH" link "$CLUSTER" node2 down
holder=$(cat "$CLUSTER/nodes/node2/holder.pid")
kill -KILL $("$CLUSTER_SH" pids "$CLUSTER" node2 | grep -vx "$holder") 2>/dev/null || true
requeued="a rank or node was lost; requeueing $job (1 of 3)"
# srun returns once SLURM has marked node2 down: SlurmdTimeout plus a ping cycle or two.
for _ in $(seq 1200); do grep -qF "$requeued" "$log" && break; sleep 0.1; done
grep -qF "$requeued" "$log" || { slurm_logs; fail "job $job was not requeued after losing node2: $(tail -20 "$log")"; }
# Start it once SLURM has marked node2 down, so that it runs on node1.
for _ in $(seq 300); do on_node node1 sinfo -h -n node2 -o %t | grep -q down && break; sleep 0.2; done
start_requeued_job "$job" node1
state=$(wait_done "$job" 600)
[ "$state" = COMPLETED ] || { slurm_logs; fail "job $job ended $state after losing node2: $(tail -20 "$log")"; }
grep -q "placement: 1 node: node1 rank 0" runs/lost/train.log ||
  fail "the restarted job did not run on node1 alone: $(grep placement runs/lost/train.log)"
resumed=$(grep -o "resumed from .* (saved with 2 processes)" runs/lost/train.log | tail -1)
[ -n "$resumed" ] || fail "the restarted job did not resume a 2-process checkpoint: $(grep -i resum runs/lost/train.log)"
# The documented position (docs/design.md): the epoch continues at samples_in_epoch / (1 x 2).
# Checkpoints here are written at epoch ends, so the run resumes at an epoch's start and every
# remaining epoch takes 32 / (1 x 2) = 16 steps.
epoch=$(sed -E 's/.* at epoch=([0-9]+) .*/\1/' <<<"$resumed")
step=$(sed -E 's/.* global_step=([0-9]+) .*/\1/' <<<"$resumed")
[ "$(json_field runs/lost/metrics.jsonl epoch)" = 8 ] || fail "the lost-node run did not finish its 8 epochs"
[ "$(json_field runs/lost/metrics.jsonl global_step)" = $((step + (8 - epoch) * 16)) ] ||
  fail "after resuming at epoch $epoch step $step: $(json_field runs/lost/metrics.jsonl global_step) steps, expected $((step + (8 - epoch) * 16))"
echo "ok: job $job lost node2, requeued itself, resumed at epoch $epoch (step $step) on node1 alone and finished"
echo "multinode slurm: all checks passed"
