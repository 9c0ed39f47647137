#!/usr/bin/env bash
# Data-parallel training on this machine: 1 process x 2 threads vs 2 processes x 1 thread
# (UNet base 16, 128x128 patches, batch 4 per process), images/s and the share of gradient
# all-reduce time hidden behind backward; then `dunet bench allreduce` with 2 processes.
# Prints markdown and, with --write, replaces the blocks in docs/benchmarks.md.
# Usage: bench/scaling.sh [--steps N] [--write]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STEPS=30
WARMUP=5
WRITE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --write) WRITE=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
DUNET=${DUNET:-$ROOT/build/apps/dunet}
[ -x "$DUNET" ] || ./dunet.sh build
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DATA=$ROOT/build/bench-data
REAL=$ROOT/../shared/data/dsb2018/train
if [ -z "$(ls "$DATA"/train-*.h5 2>/dev/null)" ]; then
  if [ -d "$REAL" ]; then
    "$DUNET" prepare --input "$REAL" --out "$DATA" --shards 4 --val-fraction 0.1 --seed 0
  else
    "$DUNET" synth --out "$DATA/png" --count 128 --size 256x256
    "$DUNET" prepare --input "$DATA/png" --out "$DATA" --shards 2 --val-fraction 0.1
  fi
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

run() {  # run NAME PROCESSES THREADS -> "images/s hidden%"
  local name=$1 np=$2 threads=$3
  cat > "$WORK/$name.toml" <<TOML
[run]
output_dir = "$WORK/$name"
[data]
train = ["$DATA/train-*.h5"]
patch_size = 128
[model]
base_channels = 16
[train]
batch_size = 4
threads = $threads
log_every_steps = 1
[validation]
every_epochs = 0
TOML
  local cmd=("$DUNET" train --config "$WORK/$name.toml" --max-steps $((WARMUP + STEPS)) --resume never)
  if [ "$np" -gt 1 ]; then cmd=(mpirun -n "$np" --oversubscribe "${cmd[@]}"); fi
  "${cmd[@]}" 2> "$WORK/$name.log"
  local rate hidden
  rate=$(grep -o 'global_step=[0-9]* loss=[^ ]* lr=[^ ]* imgs_per_s=[0-9.]*' "$WORK/$name.log" |
         awk -v w=$WARMUP '{split($1,a,"="); split($4,b,"="); if (a[2] > w) print b[2]}' |
         sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
  hidden=$(grep -o 'allreduce_hidden_pct=[0-9.]*' "$WORK/$name.log" | tail -1 | cut -d= -f2)
  echo "$rate ${hidden:--}"
}

read -r one _ <<<"$(run one 1 2)"
read -r two hidden <<<"$(run two 2 1)"
ratio=$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
training="Command: \`bench/scaling.sh --steps $STEPS\` (commit $commit, $(date -u +%Y-%m-%d)). UNet base 16,
128x128 patches, batch 4 per process, Adam, BCE, DSB2018 shards; median images/s (all processes)
over $STEPS steps after $WARMUP warm-up steps. Hidden = share of the gradient all-reduce time
that overlapped backward (1 - time the step waited / time spent in all-reduces).

| processes x threads | training images/s | speed-up | all-reduce hidden behind backward |
|---|---|---|---|
| 1 x 2 | $one | 1.00 | - |
| 2 x 1 | $two | $ratio | $hidden % |
"
allreduce="Command: \`mpirun -n 2 dunet bench allreduce\` (commit $commit, $(date -u +%Y-%m-%d)), shared
memory (vader). Times are the slowest rank's median.

\`\`\`
$(mpirun -n 2 "$DUNET" bench allreduce 2>/dev/null)
\`\`\`
"
printf '%s\n%s\n' "$training" "$allreduce"
if [ $WRITE -eq 1 ]; then
  python3 - "$ROOT/docs/benchmarks.md" "$training" "$allreduce" <<'PY'
import sys, re
path, training, allreduce = sys.argv[1:4]
text = open(path).read()
for name, block in (("scaling", training), ("allreduce", allreduce)):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: begin + "\n" + block + end,
                  text, flags=re.S)
open(path, "w").write(text)
PY
fi
