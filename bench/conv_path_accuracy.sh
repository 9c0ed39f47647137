#!/usr/bin/env bash
# Training-level check of the convolution path: the same seeded training on the real DSB2018
# set (split seed 0) with model.conv_path = winograd and = direct, one process with two
# threads, and the validation IoU/Dice of each epoch side by side. The two runs round
# differently from the first step on, so they drift apart like two seeds would; the check is
# that the Winograd path trains as well, within the stated margin (docs/benchmarks.md).
#   bench/conv_path_accuracy.sh [--epochs N] [--base B] [--patch P]
source "$(dirname "$0")/lib.sh"
EPOCHS=3 BASE=16 PATCH=128
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --patch) PATCH=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
prepare_bench_data
OUT=$ROOT/build/bench-conv-path
rm -rf "$OUT"
for path in winograd direct; do
  "$DUNET" train --config configs/dsb2018.toml --resume never \
    --set "run.output_dir=\"$OUT/$path\"" \
    --set "data.train=[\"$DATA/train-*.h5\"]" --set "data.val=[\"$DATA/val-*.h5\"]" \
    --set model.base_channels="$BASE" --set data.patch_size="$PATCH" \
    --set train.epochs="$EPOCHS" --set train.threads=2 --set train.warmup_epochs=0 \
    --set "model.conv_path=\"$path\"" > "$OUT.$path.log" 2>&1 ||
    { tail -20 "$OUT.$path.log"; exit 1; }
done
echo "commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "data: $DATA_SOURCE; base $BASE, patch $PATCH, $EPOCHS epochs, 1 process x 2 threads"
echo "| epoch | winograd IoU | direct IoU | winograd Dice | direct Dice |"
echo "|---|---|---|---|---|"
python3 - "$OUT" <<'PY'
import json, sys
rows = {}
for path in ("winograd", "direct"):
    for line in open(f"{sys.argv[1]}/{path}/metrics.jsonl"):
        m = json.loads(line)
        if "val_iou" in m:
            rows.setdefault(m["epoch"], {})[path] = (m["val_iou"], m["val_dice"])
for epoch in sorted(rows):
    w, d = rows[epoch].get("winograd"), rows[epoch].get("direct")
    if w and d:
        print(f"| {epoch} | {w[0]:.4f} | {d[0]:.4f} | {w[1]:.4f} | {d[1]:.4f} |")
PY
