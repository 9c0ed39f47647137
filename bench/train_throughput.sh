#!/usr/bin/env bash
# Training images/s and peak memory of one dunet process on this machine, for UNets of base
# 64 and 16 at 256x256 patches, batch 4, on the real DSB2018 set (synthetic data if absent).
# Prints a markdown table and, with --write, replaces the block in docs/benchmarks.md.
# Usage: bench/train_throughput.sh [--steps N] [--write]
source "$(dirname "$0")/lib.sh"
STEPS=6
WARMUP=2
parse_bench_args "$@"
prepare_bench_data

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rows=""
for base in 64 16; do
  write_bench_config "$WORK/bench.toml" "$WORK/run$base" "$base" 256 2
  log="$WORK/log$base"
  "$DUNET" train --config "$WORK/bench.toml" --max-steps $((WARMUP + STEPS)) --resume never 2> "$log"
  rate=$(median_rate "$log" $WARMUP)
  peak=$(grep -o 'peak_rss_mb=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  params=$(grep -o 'params=[0-9]*' "$log" | cut -d= -f2)
  rows+="| $base | $params | $rate | $peak |"$'\n'
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
table="Command: \`bench/train_throughput.sh --steps $STEPS\` (commit $commit, $(date -u +%Y-%m-%d), $(nproc) cores,
$(basename "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null | xargs dirname 2>/dev/null)" 2>/dev/null) BLAS). Data: $DATA_SOURCE. One process, 2 threads,
256x256 patches, batch 4, Adam, BCE; median images/s over $STEPS steps after $WARMUP warm-up steps;
peak resident memory of the process.

| base channels | parameters | training images/s | peak memory (MiB) |
|---|---|---|---|
$rows"
echo "$table"
[ $WRITE -eq 0 ] || write_blocks "$ROOT/docs/benchmarks.md" train_throughput "$table"
