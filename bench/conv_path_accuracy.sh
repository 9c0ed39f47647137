#!/usr/bin/env bash
# Training-level check of the convolution path: the same seeded training on the real DSB2018
# set (split seed 0) with model.conv_path = winograd and = direct, one process with two
# threads, and the validation IoU/Dice of each epoch side by side. The two runs round
# differently from the first step on, so they drift apart like two seeds would; the check is
# that the Winograd path trains as well: the mean validation IoU of the last three epochs, over
# several seeds (run it once per seed), within 0.05 of the other path (docs/benchmarks.md).
# --config picks the recipe: configs/dsb2018-seed.toml (the seed's, as measured in
# docs/benchmarks.md) by default, configs/dsb2018.toml for the recipe of docs/accuracy.md.
#   bench/conv_path_accuracy.sh [--epochs N] [--base B] [--patch P] [--seed S] [--config C]
source "$(dirname "$0")/lib.sh"
EPOCHS=8 BASE=16 PATCH=256 SEED=42 CONFIG=configs/dsb2018-seed.toml
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --patch) PATCH=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
prepare_bench_data
OUT=$ROOT/build/bench-conv-path-$(basename "$CONFIG" .toml)-b$BASE-p$PATCH-s$SEED
rm -rf "$OUT"
for path in winograd direct; do
  "$DUNET" train --config "$CONFIG" --resume never \
    --set "run.output_dir=\"$OUT/$path\"" \
    --set "data.train=[\"$DATA/train-*.h5\"]" --set "data.val=[\"$DATA/val-*.h5\"]" \
    --set model.base_channels="$BASE" --set data.patch_size="$PATCH" \
    --set train.epochs="$EPOCHS" --set train.threads=2 --set train.warmup_epochs=0 \
    --set run.seed="$SEED" \
    --set "model.conv_path=\"$path\"" > "$OUT.$path.log" 2>&1 ||
    { tail -20 "$OUT.$path.log"; exit 1; }
done
echo "commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "data: $DATA_SOURCE; $CONFIG, base $BASE, patch $PATCH, seed $SEED, $EPOCHS epochs, 1 process x 2 threads"
echo "| epoch | winograd IoU | direct IoU | winograd Dice | direct Dice |"
echo "|---|---|---|---|---|"
python3 - "$OUT" <<'PY'
import json, sys
rows = {}
for path in ("winograd", "direct"):
    for line in open(f"{sys.argv[1]}/{path}/metrics.jsonl"):
        m = json.loads(line)
        if m.get("val_iou") is not None:
            rows.setdefault(m["epoch"], {})[path] = (m["val_iou"], m["val_dice"])
epochs = [e for e in sorted(rows) if len(rows[e]) == 2]
for epoch in epochs:
    w, d = rows[epoch]["winograd"], rows[epoch]["direct"]
    print(f"| {epoch} | {w[0]:.4f} | {d[0]:.4f} | {w[1]:.4f} | {d[1]:.4f} |")
last = epochs[-3:]
mean = {p: sum(rows[e][p][0] for e in last) / len(last) for p in ("winograd", "direct")}
best = {p: max(rows[e][p][0] for e in epochs) for p in ("winograd", "direct")}
print(f"\nvalidation IoU, mean of the last {len(last)} epochs: winograd {mean['winograd']:.4f}, "
      f"direct {mean['direct']:.4f}, difference {mean['winograd'] - mean['direct']:+.4f}")
print(f"best validation IoU: winograd {best['winograd']:.4f}, direct {best['direct']:.4f}")
PY
