#!/usr/bin/env bash
# dunet against the PyTorch reference (bench/reference/unet_reference.py: the classic UNet
# training step in PyTorch, DDP over gloo for 2 processes) on the same machine, BLAS, threads
# and HDF5 data, run alternately REPEATS times per setting: median images/s and the ratio,
# achieved GFLOP/s against the measured oneDNN convolution ceiling, peak memory, dunet's data
# wait; then the 2x2 transpose convolution and single-image inference.
# Prints markdown and, with --write, replaces the `compare` block of docs/benchmarks.md.
# Usage: bench/compare.sh [--repeats R] [--quick] [--write]
source "$(dirname "$0")/lib.sh"
REPEATS=3
QUICK=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) REPEATS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;  # base 16 at 128x128 only
    *) args+=("$1"); shift ;;
  esac
done
parse_bench_args "${args[@]+"${args[@]}"}"
PYTHON=${PYTHON:-/usr/bin/python3}
REFERENCE=$ROOT/bench/reference/unet_reference.py
"$PYTHON" -c 'import torch, h5py' || { echo "needs python3-torch and python3-h5py" >&2; exit 2; }
prepare_bench_data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PYTHONWARNINGS=ignore

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
launch() {  # launch NP COMMAND...: mpirun for more than one process
  local np=$1; shift
  if [ "$np" -gt 1 ]; then mpirun -n "$np" --oversubscribe "$@"; else "$@"; fi
}

dunet_run() {  # dunet_run BASE PATCH NP THREADS STEPS WARMUP -> "images/s peak_mb wait_pct"
  local base=$1 patch=$2 np=$3 threads=$4 steps=$5 warmup=$6
  write_bench_config "$WORK/dunet.toml" "$WORK/run" "$base" "$patch" "$threads"
  rm -rf "$WORK/run"
  OPENBLAS_NUM_THREADS=$threads launch "$np" "$DUNET" train --config "$WORK/dunet.toml" \
    --max-steps $((warmup + steps)) --resume never 2> "$WORK/dunet.log" >/dev/null
  echo "$(median_rate "$WORK/dunet.log" "$warmup")" \
    "$(grep -o 'peak_rss_mb=[0-9]*' "$WORK/dunet.log" | tail -1 | cut -d= -f2)" \
    "$(grep -o 'data_wait_pct=[0-9.]*' "$WORK/dunet.log" | tail -1 | cut -d= -f2)"
}

reference_run() {  # reference_run BASE PATCH NP THREADS STEPS WARMUP -> "images/s peak_mb"
  local base=$1 patch=$2 np=$3 threads=$4 steps=$5 warmup=$6
  OPENBLAS_NUM_THREADS=$threads launch "$np" "$PYTHON" "$REFERENCE" --shards "$DATA/train-*.h5" \
    --base "$base" --patch "$patch" --batch 4 --threads "$threads" --steps "$steps" \
    --warmup "$warmup" > "$WORK/ref.json" 2> "$WORK/ref.log"
  "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["images_per_s"], round(r["peak_rss_mb"]))' "$WORK/ref.json"
}

settings=("16 128 1 2 30 3" "16 128 2 1 30 3")
[ $QUICK -eq 1 ] || settings+=("64 256 1 2 4 1" "64 256 2 1 3 1")
ceiling=$("$PYTHON" "$REFERENCE" --ceiling --threads 2)
rows=""
for setting in "${settings[@]}"; do
  read -r base patch np threads steps warmup <<<"$setting"
  : > "$WORK/d"; : > "$WORK/r"
  for ((i = 0; i < REPEATS; i++)); do  # alternate, so that machine noise hits both
    reference_run "$base" "$patch" "$np" "$threads" "$steps" "$warmup" >> "$WORK/r"
    dunet_run "$base" "$patch" "$np" "$threads" "$steps" "$warmup" >> "$WORK/d"
    echo "[compare] base $base ${patch}px ${np}x$threads run $((i + 1)): reference $(tail -1 "$WORK/r"), dunet $(tail -1 "$WORK/d")" >&2
  done
  ref=$(cut -d' ' -f1 "$WORK/r" | median); ref_mb=$(cut -d' ' -f2 "$WORK/r" | median)
  ours=$(cut -d' ' -f1 "$WORK/d" | median); ours_mb=$(cut -d' ' -f2 "$WORK/d" | median)
  wait_pct=$(cut -d' ' -f3 "$WORK/d" | median)
  gflop=$("$PYTHON" "$REFERENCE" --flops --base "$base" --patch "$patch")
  rows+=$(awk -v b="$base" -v p="$patch" -v n="$np" -v t="$threads" -v r="$ref" -v o="$ours" \
    -v g="$gflop" -v rm="$ref_mb" -v om="$ours_mb" -v w="$wait_pct" 'BEGIN {
      printf "| %d | %dx%d | %d x %d | %.3f | %.3f | **%.2fx** | %.0f | %.0f | %d | %d | %s |\n",
             b, p, p, n, t, r, o, o / r, r * g, o * g, rm, om, w }')$'\n'
done

upconv_ref=$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas "$DUNET" bench upconv --repeats 3)
upconv_openblas=$("$DUNET" bench upconv --repeats 5)
infer_ref=$("$PYTHON" "$REFERENCE" --shards "$DATA/train-*.h5" --base 64 --patch 256 --threads 2 \
  --steps 1 --warmup 0 --infer 5 | "$PYTHON" -c 'import json, sys; print(round(json.load(sys.stdin)["infer_ms"]))')
infer_ours=$("$DUNET" bench infer --base 64 --size 256 --threads 2 --repeats 5 | grep -o 'infer_ms=[0-9.]*' | cut -d= -f2)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
table="Command: \`bench/compare.sh --repeats $REPEATS$([ $QUICK -eq 1 ] && echo ' --quick')\` (commit $commit, $(date -u +%Y-%m-%d), $(nproc) cores,
$(basename "$(dirname "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu)")") BLAS, OPENBLAS_NUM_THREADS = threads for both). Data: $DATA_SOURCE. Batch 4 per
process, Adam, BCE; PyTorch = \`bench/reference/unet_reference.py\` (python3-torch, the same
LibTorch 1.13; DDP over gloo for 2 processes; patches preloaded, so it never waits for data).
Medians of $REPEATS alternating runs, each the median step after warm-up. GFLOP/s = images/s x
training GFLOP per image (convolutions, forward + backward, counted as direct convolution);
measured oneDNN 3x3 convolution ceiling on 2 threads: **$ceiling GFLOP/s**. dunet's Winograd
convolutions do a quarter of those products, so its rate can exceed the ceiling: it is the
direct-convolution rate that would be needed for the same speed. Memory: peak resident set of
rank 0.

| base | patch | processes x threads | PyTorch images/s | dunet images/s | dunet / PyTorch | PyTorch GFLOP/s | dunet GFLOP/s | PyTorch peak MiB | dunet peak MiB | dunet data wait % |
|---|---|---|---|---|---|---|---|---|---|---|
$rows
2x2 stride-2 transpose convolution, forward + backward, UNet base 64 up layers at 256x256, batch
4, 2 threads (\`dunet bench upconv\`), with Debian's reference BLAS
(\`LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas\`) and with OpenBLAS:

\`\`\`
$upconv_ref

$upconv_openblas
\`\`\`

Single-image inference, base 64, 256x256, 2 threads, median of 5: PyTorch (\`model.eval()\`,
\`torch.no_grad()\`) **$infer_ref ms**, dunet (\`dunet bench infer\`) **$infer_ours ms**
($(awk -v o="$infer_ours" -v r="$infer_ref" 'BEGIN { printf "%.2f", o / r }')x the reference's latency).
"
echo "$table"
[ $WRITE -eq 0 ] || write_blocks "$ROOT/docs/benchmarks.md" compare "$table"
