#!/usr/bin/env bash
# synth -> prepare -> train a small UNet -> best validation IoU well above the all-background
# baseline (IoU 0) -> resume for one more epoch -> infer -> a mask PNG of the image's size.
# Usage: end_to_end.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
TFEVENTS_READER=$(realpath "$(dirname "$0")/tfevents_reader.py")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

"$DUNET" synth --out png --count 48 --size 96x96 --seed 3
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.25 --seed 1
[ "$(ls shards/train-*.h5 | wc -l)" -eq 2 ] || fail "expected 2 train shards"

cat > run.toml <<'TOML'
[run]
output_dir = "runs/e2e"
seed = 5
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 64
[model]
base_channels = 8
depth = 3
[train]
epochs = 12
batch_size = 4
learning_rate = 2e-3
lr_schedule = "cosine"
loss = "bce_dice"
threads = 2
[checkpoint]
keep_last = 2
TOML

"$DUNET" train --config run.toml --set 'run.name="e2e"'
metrics=runs/e2e/metrics.jsonl
[ "$(wc -l < $metrics)" -eq 12 ] || fail "expected 12 epochs of metrics"
best=$(grep -o '"val_iou":[0-9.e-]*' $metrics | cut -d: -f2 | sort -g | tail -1)
awk -v v="$best" 'BEGIN { exit !(v > 0.4) }' || fail "best validation IoU $best is not clearly above 0"
echo "ok: best validation IoU in 12 epochs = $best (all-background baseline: 0)"
[ -f runs/e2e/checkpoints/best.pt ] || fail "no best.pt"
[ -f runs/e2e/config.toml ] || fail "resolved config not written"
grep -q "name = 'e2e'" runs/e2e/config.toml || fail "--set did not reach the resolved config"
[ "$(ls runs/e2e/checkpoints/step-*.pt | wc -l)" -eq 2 ] || fail "keep_last = 2 not applied"

# One more epoch continues from the latest checkpoint instead of starting over.
"$DUNET" train --config run.toml --epochs 13 2>&1 | tee resume.log
grep -q "resumed from" resume.log || fail "did not resume"
[ "$(json_field $metrics epoch)" = 13 ] || fail "resumed run did not log epoch 13"
[ "$(json_field $metrics global_step)" = 117 ] || fail "expected 13 x 9 = 117 steps in total"

# The run to watch: metrics.csv holds the JSON lines' numbers, one row per epoch (the resumed
# epoch included), curves.png is redrawn, and each validation drew its first images.
python3 - runs/e2e <<'PY' || fail "metrics.csv, curves.png or the validation pictures are wrong"
import csv, json, struct, sys
run = sys.argv[1]
lines = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
assert len(rows) == 13 == len(lines), (len(rows), len(lines))
for line, row in zip(lines, rows):
    for key, value in line.items():
        assert float(row[key]) == float(value), (key, row[key], value)
assert rows[0]["val_dsb_score"] == "" or float(rows[0]["val_dsb_score"]) >= 0
def png_size(path):
    head = open(path, "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])
assert png_size(f"{run}/curves.png") == (900, 660), png_size(f"{run}/curves.png")
for epoch in range(1, 14):
    width, height = png_size(f"{run}/predictions/epoch-{epoch:04d}.png")
    assert height >= 4 * 192 and width >= 4 * 192, (epoch, width, height)
PY
echo "ok: metrics.csv matches metrics.jsonl over 13 epochs; curves.png and 13 validation pictures"

# TensorBoard: one event file per start, read by an independent reader (its own CRC-32C and
# protobuf decoding). Every epoch's figures are there at its global step, as float32; the
# resumed run's file says it went back to step 109; each validation picture is there too.
python3 - "$TFEVENTS_READER" runs/e2e <<'PY' || fail "the TensorBoard event files are wrong"
import glob, importlib.util, json, os, struct, sys
spec = importlib.util.spec_from_file_location("reader", sys.argv[1])
reader = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reader)
run = sys.argv[2]
files = sorted(glob.glob(f"{run}/tensorboard/events.out.tfevents.*"))
assert len(files) == 2, files
events = [reader.read_events(f) for f in files]
for file_events in events:
    assert file_events[0].get("file_version") == "brain.Event:2", file_events[0]
restarts = [e for e in events[1] if "session_log" in e]
assert [(e["session_log"], e["step"]) for e in restarts] == [(1, 109)], restarts
f32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]
by_step = {}
for e in events[0] + events[1]:
    if e["scalars"].keys() & {"epoch/train_loss"}:
        by_step[e["step"]] = e["scalars"]
lines = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
for line in lines:
    scalars = by_step[line["global_step"]]
    assert scalars["epoch/epoch"] == line["epoch"]
    assert scalars["epoch/train_loss"] == f32(line["train_loss"]), (scalars, line)
    assert scalars["epoch/learning_rate"] == f32(line["learning_rate"]), (scalars, line)
    assert scalars["val/iou"] == f32(line["val_iou"]), (scalars, line)
    assert scalars["val/dice"] == f32(line["val_dice"]), (scalars, line)
steps = [e for e in events[0] if "step/loss" in e["scalars"]]
assert len(steps) >= 12, len(steps)
pictures = [(e["step"], e["images"]["val/predictions"]) for es in events for e in es
            if "val/predictions" in e["images"]]
assert [s for s, _ in pictures] == [9 * k for k in range(1, 14)], pictures
for step, image in pictures:
    assert image["png_signature_ok"] and image["colorspace"] == 3, image
    assert (image["width"], image["height"]) == (image["png_width"], image["png_height"]), image
PY
echo "ok: TensorBoard event files read back: 13 epochs of scalars and pictures, the restart at step 109"

# What a checkpoint holds, and whether it is intact.
"$DUNET" checkpoint inspect runs/e2e/checkpoints/best.pt > inspect.txt
grep -q "^checksum         ok" inspect.txt || fail "best.pt does not verify: $(cat inspect.txt)"
grep -q "^model            in_channels=3 base_channels=8 depth=3" inspect.txt || fail "no model shape"
grep -q "^\[train\]" inspect.txt || fail "the stored config is not shown"
cp runs/e2e/checkpoints/best.pt damaged.pt && cp runs/e2e/checkpoints/best.pt.sum damaged.pt.sum
truncate -s -1000 damaged.pt
expect_failure "inspect a truncated checkpoint" "checksum NOT OK: truncated" "$DUNET" checkpoint inspect damaged.pt

# A damaged latest checkpoint is reported and the newest intact one is used instead.
latest=runs/e2e/checkpoints/$(cat runs/e2e/checkpoints/latest)
truncate -s 100 "$latest"
"$DUNET" train --config run.toml --epochs 14 > fallback.log 2>&1 || fail "$(tail -5 fallback.log)"
grep -q "is damaged (truncated" fallback.log || fail "the damaged checkpoint was not reported"
grep -q "resumed from runs/e2e/checkpoints/step-000000108.pt" fallback.log ||
  fail "did not fall back to step 108: $(grep resumed fallback.log)"
echo "ok: damaged latest checkpoint skipped, resumed from the one before"

image=$(ls png/*/images/*.png | head -1)
"$DUNET" infer --model runs/e2e/checkpoints/best.pt --image "$image" --out out/mask.png \
  --overlay out/overlay.png
[ "$(png_size out/mask.png)" = 96x96 ] || fail "mask is $(png_size out/mask.png), not 96x96"
[ "$(png_size out/overlay.png)" = 288x96 ] || fail "overlay is not input|mask|overlay"

# A folder of images, one of them larger than a tile.
mkdir -p many && cp "$image" many/a.png
"$DUNET" synth --out big --count 1 --size 300x200 --seed 9
cp big/*/images/*.png many/b.png
"$DUNET" infer --model runs/e2e/checkpoints/best.pt --image many --out many_masks --tile-size 128
[ "$(png_size many_masks/b.png)" = 300x200 ] || fail "tiled mask has the wrong size"

# The seed's habit: train straight from PNG folders.
"$DUNET" train --config run.toml --set 'run.output_dir="runs/dirs"' --set data.train=[] \
  --set data.val=[] --epochs 1 --train-dir png --val-dir png
[ -f runs/dirs/data/train/train-00000-of-00001.h5 ] || fail "--train-dir was not prepared"
[ "$(json_field runs/dirs/metrics.jsonl epoch)" = 1 ] || fail "--train-dir run did not train"

# The loader benchmark reads the shards it is given and counts what it delivered.
"$DUNET" bench loader --data 'shards/train-*.h5' --workers 1 2 --patch 32 --batch 4 \
  --batches 20 > loader.txt
grep -q "samples=36 channels=3 patch=32 batch=4 augment=on" loader.txt || fail "$(cat loader.txt)"
[ "$(grep -c '^loader workers=[12] batches=20 patches_per_s=' loader.txt)" = 2 ] ||
  fail "bench loader: $(cat loader.txt)"

# The defaults printed by `config --defaults` load back unchanged.
"$DUNET" config --defaults > defaults.toml
"$DUNET" config --check defaults.toml > checked.toml
diff defaults.toml checked.toml || fail "config --defaults does not round-trip"
echo "end-to-end: all checks passed"
