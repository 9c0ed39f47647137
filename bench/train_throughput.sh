#!/usr/bin/env bash
# Training images/s and peak memory of one dunet process on this machine, for UNets of base
# 64 and 16 at 256x256 patches, batch 4, on the real DSB2018 set (synthetic data if absent).
# Prints a markdown table and, with --write, replaces the block in docs/benchmarks.md.
# Usage: bench/train_throughput.sh [--steps N] [--write]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STEPS=6
WARMUP=2
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
DATA=$ROOT/build/bench-data
REAL=$ROOT/../shared/data/dsb2018/train
if [ -z "$(ls "$DATA"/train-*.h5 2>/dev/null)" ]; then
  if [ -d "$REAL" ]; then
    SOURCE="DSB2018 stage1_train (670 samples)"
    "$DUNET" prepare --input "$REAL" --out "$DATA" --shards 4 --val-fraction 0.1 --seed 0
  else
    SOURCE="synthetic 256x256 (dunet synth)"
    "$DUNET" synth --out "$DATA/png" --count 64 --size 256x256
    "$DUNET" prepare --input "$DATA/png" --out "$DATA" --shards 2 --val-fraction 0.1
  fi
fi
SOURCE=${SOURCE:-"$(h5dump -a source "$DATA"/train-00000-*.h5 2>/dev/null | grep -o '"[^"]*"' | head -1 || echo prepared data)"}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rows=""
for base in 64 16; do
  cat > "$WORK/bench.toml" <<TOML
[run]
output_dir = "$WORK/run$base"
[data]
train = ["$DATA/train-*.h5"]
patch_size = 256
[model]
base_channels = $base
[train]
batch_size = 4
threads = 2
log_every_steps = 1
[validation]
every_epochs = 0
TOML
  log="$WORK/log$base"
  "$DUNET" train --config "$WORK/bench.toml" --max-steps $((WARMUP + STEPS)) --resume never 2> "$log"
  rate=$(grep -o 'global_step=[0-9]* loss=[^ ]* lr=[^ ]* imgs_per_s=[0-9.]*' "$log" |
         awk -v w=$WARMUP '{split($1,a,"="); split($4,b,"="); if (a[2] > w) print b[2]}' |
         sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
  peak=$(grep -o 'peak_rss_mb=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  params=$(grep -o 'params=[0-9]*' "$log" | cut -d= -f2)
  rows+="| $base | $params | $rate | $peak |"$'\n'
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
table="Command: \`bench/train_throughput.sh --steps $STEPS\` (commit $commit, $(date -u +%Y-%m-%d), $(nproc) cores,
$(basename "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null | xargs dirname 2>/dev/null)" 2>/dev/null) BLAS). Data: $SOURCE. One process, 2 threads,
256x256 patches, batch 4, Adam, BCE; median images/s over $STEPS steps after $WARMUP warm-up steps;
peak resident memory of the process.

| base channels | parameters | training images/s | peak memory (MiB) |
|---|---|---|---|
$rows"
echo "$table"
if [ $WRITE -eq 1 ]; then
  python3 - "$ROOT/docs/benchmarks.md" "$table" <<'PY'
import sys, re
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- train_throughput:begin -->", "<!-- train_throughput:end -->"
text = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + table + end, text, flags=re.S)
open(path, "w").write(text)
PY
fi
