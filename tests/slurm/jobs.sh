#!/usr/bin/env bash
# Real SLURM jobs on the private test cluster (slurm/local_cluster.sh, started by CTest):
# `dunet submit` of a 2-task run completes with a checkpoint and a validation IoU; the same
# run sent USR1 mid-training checkpoints, requeues itself, resumes and ends with as many steps
# as the uninterrupted job.
# Usage: jobs.sh PATH_TO_DUNET
source "$(dirname "$0")/../e2e/lib.sh"
DUNET=$(realpath "$1")
DEMO_CONFIG=$(realpath "$(dirname "$0")/../../configs/demo.toml")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

submit() { "$DUNET" submit "$@" | awk '/^job /{print $2}'; }

"$DUNET" synth --out png --count 40 --size 64x64 --seed 6
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.2
mkdir -p demo && ln -s ../shards demo/prepared  # where configs/demo.toml looks for its shards
cat > base.toml <<'TOML'
[run]
name = "ci"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 64
[model]
base_channels = 8
depth = 3
[train]
epochs = 8
batch_size = 2
threads = 1
log_every_steps = 1
[slurm]
tasks_per_node = 2
time = "00:20:00"
TOML
steps_per_epoch=$(( 32 / (2 * 2) ))

# 1. The demo config as a 2-task job.
job=$(submit "$DEMO_CONFIG" --set 'run.output_dir="runs/demo"' --set train.epochs=2 \
      --set slurm.tasks_per_node=2 --set train.threads=1)
[ -n "$job" ] || fail "sbatch gave no job id"
state=$(wait_done "$job" 600)
log=runs/demo/slurm-$job.out
[ "$state" = COMPLETED ] || fail "job $job ended $state: $(tail -20 $log)"
grep -q "processes=2 backend=mpi" runs/demo/train.log || fail "not 2 tasks: $(cat $log)"
grep -q "val_iou=" $log || fail "no validation IoU in the job log"
[ -f runs/demo/checkpoints/best.pt ] || fail "no checkpoint"
echo "ok: demo job $job completed with 2 tasks, $(grep -o 'val_iou=[0-9.]*' $log | tail -1)"

# 2. An uninterrupted job, the reference for the preempted one.
job=$(submit base.toml --set 'run.output_dir="runs/full"')
state=$(wait_done "$job" 600)
[ "$state" = COMPLETED ] || fail "job $job ended $state: $(tail -20 runs/full/slurm-$job.out)"
full_steps=$(json_field runs/full/metrics.jsonl global_step)
[ "$full_steps" = $(( 8 * steps_per_epoch )) ] || fail "uninterrupted job made $full_steps steps"
echo "ok: job $job completed, $full_steps steps"

# 3. The same run, warned with USR1 (as before a time limit) once it is under way.
job=$(submit base.toml --set 'run.output_dir="runs/pre"')
log=runs/pre/slurm-$job.out
for _ in $(seq 600); do grep -q "global_step=12 " $log 2>/dev/null && break; sleep 0.1; done
grep -q "global_step=12 " $log || fail "job $job did not start training: $(cat $log)"
scancel --signal=USR1 --batch "$job"
for _ in $(seq 600); do [ "$(job_state "$job")" = PENDING ] && break; sleep 0.1; done
[ "$(job_state "$job")" = PENDING ] || fail "job $job was not requeued: $(tail -20 $log)"
# SLURM holds a requeued job for ~2 minutes (Reason=BeginTime); start it now, once the old
# step's PMIx socket is gone.
spool=$(scontrol show config | awk '/^SlurmdSpoolDir/ {print $3}')
for _ in $(seq 100); do [ -e "$spool/stepd.slurm.pmix.$job.0" ] || break; sleep 0.1; done
sleep 1
scontrol update JobId="$job" StartTime=now
state=$(wait_done "$job" 600)
[ "$state" = COMPLETED ] || fail "requeued job $job ended $state: $(tail -20 $log)"
grep -q "stopped by signal 10" $log || fail "the ranks did not stop on USR1"
grep -q "requeueing $job" $log || fail "the job did not requeue itself"
grep -q "resumed from" $log || fail "the requeued job did not resume"
pre_steps=$(json_field runs/pre/metrics.jsonl global_step)
[ "$pre_steps" = "$full_steps" ] || fail "interrupted job made $pre_steps steps, uninterrupted $full_steps"
echo "ok: job $job checkpointed on USR1, requeued, resumed and made $pre_steps steps"
echo "slurm jobs: all checks passed"
