#!/usr/bin/env bash
# Faults across ranks through the real CLI and mpirun: a rank that fails at start, and a rank
# killed with SIGKILL mid-epoch. Every process ends, with a non-zero status and a message;
# resuming the killed run ends with the same weights as an uninterrupted run.
# Usage: faults.sh PATH_TO_DUNET MPIEXEC
source "$(dirname "$0")/lib.sh"
mpi_test_setup "$1" "$2"

no_rank_left() {  # no process of this test's runs may survive
  sleep 1
  if pgrep -f "config $WORK" > /dev/null; then fail "processes left running: $(pgrep -af "config $WORK")"; fi
}

"$DUNET" synth --out png --count 20 --size 64x64 --seed 8
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.2
cat > run.toml <<'TOML'
[run]
output_dir = "runs/full"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 64
[model]
base_channels = 8
depth = 3
[train]
epochs = 12
batch_size = 2
threads = 1
log_every_steps = 1
[dist]
timeout_s = 10
TOML

# 1. Rank 1 fails at start-up (its config file does not exist): the job ends at once.
start=$(date +%s)
expect_failure "a rank that throws" "[rank 1/2] cannot open config file" \
  timeout 120 "$MPIEXEC" -n 2 "$BY_RANK" "$DUNET" train --config "$WORK/run.toml" :: \
                         "$DUNET" train --config "$WORK/missing.toml"
[ $(( $(date +%s) - start )) -lt 60 ] || fail "the job took too long to end"
no_rank_left

# 2. The uninterrupted reference.
"$DUNET" launch -n 2 --config "$WORK/run.toml" > full.log 2>&1 || fail "$(tail -5 full.log)"
full=$("$DUNET" checkpoint inspect runs/full/checkpoints/$(cat runs/full/checkpoints/latest) |
       grep weights_xxh3_64)

# 3. The same run, a rank killed with SIGKILL in epoch 5, then resumed.
sed -i 's#runs/full#runs/killed#' run.toml
"$DUNET" launch -n 2 --config "$WORK/run.toml" > killed.log 2>&1 &
launcher=$!
for _ in $(seq 600); do grep -q "global_step=18 " runs/killed/train.log 2>/dev/null && break; sleep 0.05; done
victim=$(pgrep -f "train --config $WORK/run.toml" | tail -1)
[ -n "$victim" ] || fail "no rank to kill"
kill -KILL "$victim"
set +e; timeout 60 tail --pid=$launcher -f /dev/null; wait $launcher; status=$?; set -e
[ $status -ne 0 ] || fail "the job survived a killed rank with status 0"
no_rank_left
echo "ok: SIGKILL of rank pid $victim ended the job with status $status"
"$DUNET" launch -n 2 --config "$WORK/run.toml" > resumed.log 2>&1 || fail "$(tail -5 resumed.log)"
grep -q "resumed from" runs/killed/train.log || fail "the killed run did not resume"
killed=$("$DUNET" checkpoint inspect runs/killed/checkpoints/$(cat runs/killed/checkpoints/latest) |
         grep weights_xxh3_64)
[ "$killed" = "$full" ] || fail "killed+resumed weights ($killed) differ from uninterrupted ($full)"
echo "ok: killed and resumed run ends with the uninterrupted weights ($full)"
echo "faults: all checks passed"
