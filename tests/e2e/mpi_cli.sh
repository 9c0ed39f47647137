#!/usr/bin/env bash
# `dunet train` under a real mpirun: 2 ranks train, rank 0 writes the run folder, replicas end
# identical; ranks started with different configs or data stop at once with a clear message.
# Usage: mpi_cli.sh PATH_TO_DUNET MPIEXEC
source "$(dirname "$0")/lib.sh"
mpi_test_setup "$1" "$2"

"$DUNET" synth --out png --count 20 --size 64x64 --seed 2
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.2
cat > run.toml <<'TOML'
[run]
output_dir = "runs/mpi"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 32
[model]
base_channels = 4
depth = 2
norm = "sync_batch"
[train]
epochs = 2
batch_size = 2
TOML

"$MPIEXEC" -n 2 --oversubscribe "$DUNET" train --config run.toml 2> train.err
grep -q "processes=2 backend=mpi" runs/mpi/train.log || fail "not a 2-process MPI run: $(cat train.err)"
[ "$(json_field runs/mpi/metrics.jsonl epoch)" = 2 ] || fail "no metrics for epoch 2"
[ "$(json_field runs/mpi/metrics.jsonl global_step)" = 8 ] || fail "16 samples / (2 x 2) = 4 steps per epoch"
grep -q "allreduce_hidden_pct" runs/mpi/train.log || fail "no all-reduce statistics logged"
[ -f runs/mpi/checkpoints/best.pt ] || fail "rank 0 wrote no checkpoint"
echo "ok: 2-rank training"

# Rank 1 gets another seed. Both must stop with an error naming the problem.
expect_failure "ranks with different configs" "rank 1 runs another config than rank 0" \
  "$MPIEXEC" -n 2 "$BY_RANK" "$DUNET" train --config run.toml --set 'run.output_dir="runs/x"' :: \
             "$DUNET" train --config run.toml --set 'run.output_dir="runs/x"' --set run.seed=9
# The same config, but rank 1's node holds another shard set under the same path: both stop,
# naming the data rather than blaming the network.
mkdir -p node2
"$DUNET" synth --out node2/png --count 20 --size 64x64 --seed 3 > /dev/null
(cd node2 && "$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.2 > /dev/null)
expect_failure "ranks that see other data" "rank 1 sees other training data than rank 0" \
  "$MPIEXEC" -n 2 "$BY_RANK" "$DUNET" train --config "$PWD/run.toml" --set 'run.output_dir="runs/y"' :: \
             env -C node2 "$DUNET" train --config "$PWD/run.toml" --set 'run.output_dir="runs/y"'
# `dunet launch`: Ctrl-C (SIGINT to the launcher) makes the ranks checkpoint and stop with
# status 75; launching again resumes and ends with as many steps as an uninterrupted run.
sed -e 's#runs/mpi#runs/launch#' -e 's/epochs = 2/epochs = 60/' run.toml > launch.toml
"$DUNET" launch -n 2 --config launch.toml > launch1.log 2>&1 &
launcher=$!
for _ in $(seq 300); do grep -q "global_step=12 " runs/launch/train.log 2>/dev/null && break; sleep 0.1; done
kill -INT $launcher
set +e; wait $launcher; status=$?; set -e
[ $status -eq 75 ] || fail "dunet launch exited $status after SIGINT, expected 75: $(tail -5 launch1.log)"
grep -q "stopped by signal" launch1.log || fail "ranks did not report the stop"
stopped_at=$(grep -o 'stopped at global_step=[0-9]*' runs/launch/train.log | tail -1 | cut -d= -f2)
[ "$stopped_at" -lt 240 ] || fail "the run was not interrupted"
sed -i 's/epochs = 60/epochs = 20/' launch.toml
"$DUNET" launch -n 2 --config launch.toml > launch2.log 2>&1 || fail "relaunch failed: $(tail -5 launch2.log)"
grep -q "resumed from" runs/launch/train.log || fail "relaunch did not resume"
[ "$(json_field runs/launch/metrics.jsonl global_step)" = 80 ] || fail "expected 20 x 4 = 80 steps"
echo "ok: dunet launch stopped at step $stopped_at on SIGINT (status 75) and resumed to 80 steps"
echo "mpi cli: all checks passed"
