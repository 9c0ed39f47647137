#!/usr/bin/env python3
"""An independent check of `dunet eval`: recomputes every image's figures from the files.

Usage: dsb_score_oracle.py INPUT_DIR REPORT_DIR [MIN_AREA UNFILTERED_REPORT_DIR]

Truth: one mask file per nucleus (INPUT_DIR/<id>/masks/*). Prediction: REPORT_DIR/labels/<id>.png.
Written apart from dunet's C++: images read by scikit-image, the IoU of every pair of objects as
a dense matrix by numpy, the connected components of the predicted foreground by
skimage.measure.label. Checks per image the DSB2018 score, the pixel IoU and Dice, the counts,
and that dunet's nuclei are exactly skimage's 8-connected components; then the summary.
For a 1-channel model scored with --min-nucleus-area 0, the labels' foreground is the predicted
mask. A report made with --min-nucleus-area MIN_AREA is checked against the one made with 0
(UNFILTERED_REPORT_DIR): the same mask, and its components of MIN_AREA pixels or more.
"""
import csv
import json
import os
import sys

import numpy as np
from skimage import io, measure

THRESHOLDS = [(50 + 5 * k) / 100.0 for k in range(10)]  # 0.50, 0.55, ..., 0.95


def dsb_score(truth, predicted):
    true_ids = [i for i in np.unique(truth) if i != 0]
    pred_ids = [i for i in np.unique(predicted) if i != 0]
    if not true_ids and not pred_ids:
        return 1.0
    t = np.stack([truth == i for i in true_ids]) if true_ids else np.zeros((0,) + truth.shape, bool)
    p = np.stack([predicted == i for i in pred_ids]) if pred_ids else np.zeros((0,) + truth.shape, bool)
    t = t.reshape(len(true_ids), truth.size).astype(np.int64)
    p = p.reshape(len(pred_ids), truth.size).astype(np.int64)
    inter = t @ p.T
    union = t.sum(1)[:, None] + p.sum(1)[None, :] - inter
    iou = inter / np.maximum(union, 1)
    scores = []
    for threshold in THRESHOLDS:
        tp = int((iou > threshold).sum())
        fp = len(pred_ids) - tp
        fn = len(true_ids) - tp
        scores.append(tp / (tp + fp + fn))
    return float(np.mean(scores))


def same_partition(a, b):
    """Whether label images a and b split the pixels into the same objects (ids aside)."""
    pairs = set(zip(a.ravel().tolist(), b.ravel().tolist()))
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def image_kind(path):
    """dunet's image kind, by its definition: colour when the mean of (largest - smallest
    channel) exceeds 8, light ground when the median of the integer channel means is >= 128."""
    image = io.imread(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    rgb = image[..., :3].astype(np.int64)
    spread = (rgb.max(axis=-1) - rgb.min(axis=-1)).mean()
    brightness = np.sort((rgb.sum(axis=-1) // 3).ravel())
    median = brightness[brightness.size // 2]
    return ("colour" if spread > 8 else "grey") + ("-light" if median >= 128 else "-dark")


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def read_labels(report_dir, sid):
    labels = io.imread(os.path.join(report_dir, "labels", sid + ".png"))
    if labels.dtype != np.uint16:
        fail("%s: labels are %s, expected a 16-bit PNG" % (sid, labels.dtype))
    return labels.astype(np.int64)


def main(input_dir, report_dir, min_area=0, unfiltered_dir=None):
    rows = list(csv.DictReader(open(os.path.join(report_dir, "images.csv"))))
    samples = sorted(d for d in os.listdir(input_dir) if os.path.isdir(os.path.join(input_dir, d)))
    if [r["id"] for r in rows] != samples:
        fail("images.csv rows %s are not the samples %s" % ([r["id"] for r in rows], samples))
    tp_sum = fp_sum = fn_sum = 0
    scores = []
    kinds = {}
    for row in rows:
        sid = row["id"]
        kind = image_kind(os.path.join(input_dir, sid, "images", sid + ".png"))
        if row["kind"] != kind:
            fail("%s: kind %s in images.csv, the oracle finds %s" % (sid, row["kind"], kind))
        mask_dir = os.path.join(input_dir, sid, "masks")
        masks = sorted(os.listdir(mask_dir))
        predicted = read_labels(report_dir, sid)
        unfiltered = read_labels(unfiltered_dir, sid) if unfiltered_dir else predicted
        truth = np.zeros(predicted.shape, np.int64)
        for k, name in enumerate(masks):
            m = io.imread(os.path.join(mask_dir, name))
            truth[(m if m.ndim == 2 else m[..., 0]) > 0] = k + 1
        foreground = unfiltered > 0
        components = measure.label(foreground, connectivity=2)
        if min_area > 0:
            small = np.bincount(components.ravel()) < min_area
            small[0] = False
            components[small[components]] = 0
            components = measure.label(components > 0, connectivity=2)
        if not same_partition(components, predicted):
            fail("%s: dunet's nuclei are not the 8-connected components of its foreground "
                 "with %d pixels or more" % (sid, min_area))
        tp = int((foreground & (truth > 0)).sum())
        fp = int((foreground & (truth == 0)).sum())
        fn = int((~foreground & (truth > 0)).sum())
        iou = tp / (tp + fp + fn) if tp + fp + fn else 1.0
        dice = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
        score = dsb_score(truth, predicted)
        expected = {"true_nuclei": len(masks), "predicted_nuclei": int(components.max()),
                    "pixel_tp": tp, "pixel_fp": fp, "pixel_fn": fn}
        for key, value in expected.items():
            if int(row[key]) != value:
                fail("%s: %s = %s in images.csv, the oracle finds %d" % (sid, key, row[key], value))
        for key, value in (("pixel_iou", iou), ("dice", dice), ("dsb_score", score)):
            if abs(float(row[key]) - value) > 1e-12:
                fail("%s: %s = %s in images.csv, the oracle finds %.17g" % (sid, key, row[key], value))
        tp_sum, fp_sum, fn_sum = tp_sum + tp, fp_sum + fp, fn_sum + fn
        scores.append(score)
        k = kinds.setdefault(kind, [0, 0, 0, []])
        k[0], k[1], k[2] = k[0] + tp, k[1] + fp, k[2] + fn
        k[3].append(score)
    summary = json.load(open(os.path.join(report_dir, "summary.json")))
    checks = {"pixel_iou": tp_sum / (tp_sum + fp_sum + fn_sum),
              "dice": 2 * tp_sum / (2 * tp_sum + fp_sum + fn_sum),
              "mean_dsb2018_score": float(np.mean(scores))}
    for key, value in checks.items():
        if abs(summary[key] - value) > 1e-12:
            fail("summary.json %s = %r, the oracle finds %r" % (key, summary[key], value))
    if sorted(summary["by_kind"]) != sorted(kinds):
        fail("summary.json kinds %s, the oracle finds %s" % (sorted(summary["by_kind"]), sorted(kinds)))
    for kind, (tp, fp, fn, kind_scores) in kinds.items():
        got = summary["by_kind"][kind]
        want = {"images": len(kind_scores), "pixel_iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
                "mean_dsb2018_score": float(np.mean(kind_scores))}
        for key, value in want.items():
            if abs(got[key] - value) > 1e-12:
                fail("summary.json by_kind %s %s = %r, the oracle finds %r" % (kind, key, got[key], value))
    print("oracle: %d images agree (mean DSB2018 score %.4f, pixel IoU %.4f)"
          % (len(rows), checks["mean_dsb2018_score"], checks["pixel_iou"]))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        fail("usage: dsb_score_oracle.py INPUT_DIR REPORT_DIR [MIN_AREA UNFILTERED_REPORT_DIR]")
    main(sys.argv[1], sys.argv[2], *((int(sys.argv[3]), sys.argv[4]) if len(sys.argv) == 5 else ()))
