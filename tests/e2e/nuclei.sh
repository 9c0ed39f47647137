#!/usr/bin/env bash
# One mask per nucleus end to end: a UNet with an outline channel (model.out_channels = 2)
# trains on shards that carry nucleus labels and reports the DSB2018 score in validation;
# `dunet infer` writes the nuclei as a 16-bit label image (PNG and TIFF), a per-nucleus CSV and
# an outline overlay, each checked against scikit-image's regionprops (an independent
# implementation), for one image and for a folder; nuclei under --min-nucleus-area are gone.
# Usage: nuclei.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
PYTHON=${DUNET_TEST_PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

"$DUNET" synth --out png --count 12 --size 64x64 --seed 7 > /dev/null
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.25 > /dev/null 2>&1
tiny_config tiny.toml run
"$DUNET" train --config tiny.toml --set model.out_channels=2 --set train.epochs=4 \
  --set train.learning_rate=0.01 > train.log 2>&1 || fail "training: $(tail -3 train.log)"
grep -q 'val_dsb_score=' train.log || fail "validation reports no DSB2018 score: $(tail -3 train.log)"
"$PYTHON" - run/metrics.jsonl <<'PY' || fail "metrics.jsonl lacks val_dsb_score"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
scores = [r["val_dsb_score"] for r in rows if "val_iou" in r]
assert len(scores) == 4 and all(0 <= s <= 1 for s in scores), scores
PY
ckpt=run/checkpoints/best.pt
"$DUNET" checkpoint inspect "$ckpt" > inspect.txt || fail "inspect: $(cat inspect.txt)"
grep -q 'out_channels=2' inspect.txt || fail "the checkpoint does not say out_channels 2: $(cat inspect.txt)"

image=$(ls png/*/images/*.png | head -1)
"$DUNET" infer --model "$ckpt" --image "$image" --out mask.png --labels labels.tif \
  --objects nuclei.csv --overlay overlay.png > infer.log 2>&1 || fail "infer: $(cat infer.log)"
grep -q 'nuclei=' infer.log || fail "infer does not log the nuclei: $(cat infer.log)"
"$DUNET" infer --model "$ckpt" --image "$image" --out mask2.png --labels labels.png \
  > infer2.log 2>&1 || fail "infer --labels PNG: $(cat infer2.log)"

check_nuclei() {  # IMAGE MASK LABELS CSV
  "$PYTHON" - "$@" <<'PY'
import csv, sys
import numpy as np, skimage.io, skimage.measure
image, mask, labels = (skimage.io.imread(p) for p in sys.argv[1:4])
rows = list(csv.DictReader(open(sys.argv[4])))
assert labels.dtype == np.uint16, labels.dtype
# The nuclei cover the foreground but for specks under --min-nucleus-area (15): groups of
# 4-connected pixels with fewer pixels than that, none 4-adjacent to a nucleus.
foreground, labelled = mask == 255, labels > 0
assert not (labelled & ~foreground).any(), "a nucleus lies outside the foreground"
specks = skimage.measure.label(foreground & ~labelled, connectivity=1)
assert all(p.area < 15 for p in skimage.measure.regionprops(specks)), "a removed object has 15+ pixels"
grown = np.zeros_like(labelled)
grown[1:] |= labelled[:-1]; grown[:-1] |= labelled[1:]
grown[:, 1:] |= labelled[:, :-1]; grown[:, :-1] |= labelled[:, 1:]
assert not (grown & (specks > 0)).any(), "a removed object touches a nucleus"
props = skimage.measure.regionprops(labels.astype(np.int32), intensity_image=image)
assert len(rows) == len(props) == labels.max(), (len(rows), len(props), labels.max())
assert all(p.area >= 15 for p in props), "a nucleus of fewer than 15 pixels"
names = ["red", "green", "blue", "alpha"][: image.shape[2]] if image.ndim == 3 else ["grey"]
for row, p in zip(rows, props):
    assert int(row["label"]) == p.label and int(row["area"]) == p.area, (row, p.label, p.area)
    cy, cx = p.centroid
    assert abs(float(row["centroid_x"]) - cx) < 1e-3 and abs(float(row["centroid_y"]) - cy) < 1e-3
    y0, x0, y1, x1 = p.bbox
    assert [int(row[k]) for k in ("bbox_x", "bbox_y", "bbox_width", "bbox_height")] == \
        [x0, y0, x1 - x0, y1 - y0], row
    mean = np.atleast_1d(p.intensity_mean)
    for name, m in zip(names, mean):
        assert abs(float(row["mean_" + name]) - m) < 1e-3, (name, row, m)
print(f"ok: {len(rows)} nuclei agree with scikit-image")
PY
}
check_nuclei "$image" mask.png labels.tif nuclei.csv || fail "one image: the nuclei disagree"
cmp <("$PYTHON" -c "import skimage.io,sys; sys.stdout.buffer.write(skimage.io.imread('labels.tif').tobytes())") \
    <("$PYTHON" -c "import skimage.io,sys; sys.stdout.buffer.write(skimage.io.imread('labels.png').tobytes())") ||
  fail "the TIFF and PNG label images differ"
read -r w h < <("$PYTHON" -c "import skimage.io; a = skimage.io.imread('$image'); print(a.shape[1], a.shape[0])")
[ "$(png_size overlay.png)" = "$((3 * w))x$h" ] || fail "overlay is $(png_size overlay.png)"

# A folder: one mask, label image and CSV per image.
mkdir folder && cp png/*/images/*.png folder/
"$DUNET" infer --model "$ckpt" --image folder --out masks --labels labels --objects objects \
  > folder.log 2>&1 || fail "folder infer: $(cat folder.log)"
for f in folder/*.png; do
  stem=$(basename "$f" .png)
  check_nuclei "$f" "masks/$stem.png" "labels/$stem.png" "objects/$stem.csv" > /dev/null ||
    fail "folder: the nuclei of $stem disagree"
done
echo "ok: $(ls folder | wc -l) images of a folder"
expect_refusal "infer --labels is --out" 1 "is --out too" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out same.png --labels same.png
echo "nuclei: all checks passed"
