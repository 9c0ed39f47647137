#!/usr/bin/env bash
# Data-parallel training on this machine: 1 process x 2 threads vs 2 processes x 1 thread
# (UNet base 16, 128x128 patches, batch 4 per process), images/s and the share of gradient
# all-reduce time hidden behind backward; then `dunet bench allreduce` with 2 processes.
# Prints markdown and, with --write, replaces the blocks in docs/benchmarks.md.
# Usage: bench/scaling.sh [--steps N] [--write]
source "$(dirname "$0")/lib.sh"
STEPS=30
WARMUP=5
parse_bench_args "$@"
prepare_bench_data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

run() {  # run NAME PROCESSES THREADS -> "images/s hidden%"
  local name=$1 np=$2 threads=$3
  write_bench_config "$WORK/$name.toml" "$WORK/$name" 16 128 "$threads"
  local cmd=("$DUNET" train --config "$WORK/$name.toml" --max-steps $((WARMUP + STEPS)) --resume never)
  if [ "$np" -gt 1 ]; then cmd=(mpirun -n "$np" --oversubscribe "${cmd[@]}"); fi
  "${cmd[@]}" 2> "$WORK/$name.log"
  local rate hidden
  rate=$(median_rate "$WORK/$name.log" $WARMUP)
  hidden=$(grep -o 'allreduce_hidden_pct=[0-9.]*' "$WORK/$name.log" | tail -1 | cut -d= -f2)
  echo "$rate ${hidden:--}"
}

read -r one _ <<<"$(run one 1 2)"
read -r two hidden <<<"$(run two 2 1)"
ratio=$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
training="Command: \`bench/scaling.sh --steps $STEPS\` (commit $commit, $(date -u +%Y-%m-%d)). UNet base 16,
128x128 patches, batch 4 per process, Adam, BCE, $DATA_SOURCE; median images/s (all processes)
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
[ $WRITE -eq 0 ] || write_blocks "$ROOT/docs/benchmarks.md" scaling "$training" allreduce "$allreduce"
