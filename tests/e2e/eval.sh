#!/usr/bin/env bash
# `dunet eval` end to end: a small model scored on a DSB2018-layout folder, its report checked
# file by file against an independent implementation (dsb_score_oracle.py: numpy and
# scikit-image), and its refusals: a report folder inside the input, a damaged checkpoint.
# Usage: eval.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
ORACLE=$(realpath "$(dirname "$0")/dsb_score_oracle.py")
# Debian's Python, where python3-skimage is installed (not a python3 earlier on PATH).
PYTHON=${DUNET_TEST_PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

"$DUNET" synth --out png --count 16 --size 64x64 --seed 4 > /dev/null
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.25 > /dev/null 2>&1
tiny_config tiny.toml run
"$DUNET" train --config tiny.toml --set train.epochs=6 --set train.learning_rate=0.01 > train.log 2>&1 ||
  fail "training: $(tail -3 train.log)"
ckpt=run/checkpoints/best.pt

# Every predicted object kept, so that the labels show the whole predicted mask.
"$DUNET" eval --model "$ckpt" --input png --out report --min-nucleus-area 0 > eval.log 2>&1 ||
  fail "eval: $(cat eval.log)"
grep -q "eval: 16 images, pixel IoU" eval.log || fail "no summary line: $(cat eval.log)"
[ "$(ls report/labels | wc -l)" = 16 ] || fail "expected 16 label images: $(ls report/labels)"
[ "$(wc -l < report/images.csv)" = 17 ] || fail "expected a header and 16 rows: $(cat report/images.csv)"
"$PYTHON" "$ORACLE" png report || fail "dunet eval disagrees with the oracle"
echo "ok: dunet eval agrees with numpy and scikit-image on every image"
# The default: objects under 15 pixels are no nuclei; the mask and its pixel figures stay.
"$DUNET" eval --model "$ckpt" --input png --out report_min > eval.log 2>&1 ||
  fail "eval: $(cat eval.log)"
grep -q '"min_nucleus_area": 15' report_min/summary.json || fail "summary.json does not say min_nucleus_area"
# Windows default to the size of the training patches (tiny.toml: 32 px), which GroupNorm and
# InstanceNorm normalise over.
grep -q '"tile_size": 32' report_min/summary.json ||
  fail "eval's default windows are not the training patch size: $(grep tile report_min/summary.json)"
grep -q 'windows of 32 px' eval.log || fail "eval does not say its windows: $(cat eval.log)"
"$PYTHON" "$ORACLE" png report_min 15 report || fail "dunet eval --min-nucleus-area 15 disagrees with the oracle"
echo "ok: with --min-nucleus-area 15, the oracle's components of 15 pixels or more"
# The held-out split of the prepared set: its 4 validation samples (16 x 0.25), each row the
# same as in the report over every image.
"$DUNET" eval --model "$ckpt" --input png --held-out shards --out held > held.log 2>&1 ||
  fail "eval --held-out: $(cat held.log)"
[ "$(wc -l < held/images.csv)" = 5 ] || fail "expected a header and 4 held-out rows: $(cat held/images.csv)"
tail -n +2 held/images.csv | while read -r row; do
  grep -qxF "$row" report_min/images.csv || fail "held-out row differs from the full report: $row"
done
"$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["images"] == 4, s' \
  held/summary.json || fail "held/summary.json does not count 4 images"
# The ten worst images, one row each of four 256-pixel panels.
[ "$(png_size report/worst.png)" = 1024x2560 ] || fail "worst.png is $(png_size report/worst.png)"

# Test-time augmentation averages over flips and rotations, on windows placed symmetrically:
# the mask of a mirrored image is the mirrored mask (up to pixels at the threshold itself).
"$DUNET" synth --out wide --count 1 --size 300x200 --seed 12 > /dev/null
"$PYTHON" - wide/*/images/*.png mirrored.png <<'PY'
import sys, skimage.io
skimage.io.imsave(sys.argv[2], skimage.io.imread(sys.argv[1])[:, ::-1], check_contrast=False)
PY
"$DUNET" infer --model "$ckpt" --image wide/*/images/*.png --out tta.png --tta --tile-size 128 \
  > tta.log 2>&1 || fail "infer --tta: $(cat tta.log)"
"$DUNET" infer --model "$ckpt" --image mirrored.png --out tta_mirrored.png --tta --tile-size 128 \
  > tta.log 2>&1 || fail "infer --tta: $(cat tta.log)"
"$PYTHON" - tta.png tta_mirrored.png <<'PY' || fail "--tta is not equivariant under a mirror"
import sys, skimage.io
a = skimage.io.imread(sys.argv[1]); b = skimage.io.imread(sys.argv[2])[:, ::-1]
assert a.shape == (200, 300), a.shape
differ = (a != b).mean()
print(f"tta: mirrored image's mask differs from the mirrored mask at {differ:.4%} of pixels")
assert differ <= 0.001, differ
PY
"$DUNET" eval --model "$ckpt" --input png --out report_tta --tta > eval.log 2>&1 ||
  fail "eval --tta: $(cat eval.log)"
grep -q '"tta": true' report_tta/summary.json || fail "summary.json does not say tta"

expect_refusal "eval report inside the input folder" 1 "lies inside it" \
  "$DUNET" eval --model "$ckpt" --input png --out png/report
cp "$ckpt" flipped.pt && cp "$ckpt.sum" flipped.pt.sum
printf '\xff' | dd of=flipped.pt bs=1 seek=4096 conv=notrunc 2>/dev/null
expect_refusal "eval with a damaged checkpoint" 1 "is damaged" \
  "$DUNET" eval --model flipped.pt --input png --out report2
echo "eval: all checks passed"
