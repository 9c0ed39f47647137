#!/usr/bin/python3
"""Where one image's false foreground lies, from a `dunet eval` report (docs/accuracy.md).

Splits the predicted pixels outside the truth by their distance to the nearest true nucleus:
rims (within 2 px: the truth draws the nucleus tighter than the model), near (2-5 px) and far
(more: foreground where the truth has none, e.g. unlabelled nuclei). Optionally writes a
picture: the image above, truth and prediction below (red = missed, green = false,
yellow = both).

    bench/false_pixels.py DSB_DIR EVAL_DIR IMAGE_ID [--picture out.png]

IMAGE_ID may be a prefix. Runs on Debian's Python, with python3-numpy, python3-scipy and
python3-pil (python3-skimage, which dunet.sh installs, brings them).
"""
import argparse
import glob
import os
import sys

import numpy as np
from PIL import Image
from scipy import ndimage


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dsb_dir")
    parser.add_argument("eval_dir")
    parser.add_argument("image_id")
    parser.add_argument("--picture")
    args = parser.parse_args()
    ids = [i for i in os.listdir(args.dsb_dir) if i.startswith(args.image_id)]
    if len(ids) != 1:
        sys.exit(f"{args.image_id}: {len(ids)} images in {args.dsb_dir} start so; expected one")
    image_id = ids[0]
    sample = os.path.join(args.dsb_dir, image_id)
    image = np.array(Image.open(os.path.join(sample, "images", image_id + ".png")).convert("RGB"))
    truth = np.zeros(image.shape[:2], bool)
    for mask in glob.glob(os.path.join(sample, "masks", "*.png")):
        truth |= np.array(Image.open(mask)) > 0
    labels_path = os.path.join(args.eval_dir, "labels", image_id + ".png")
    if not os.path.exists(labels_path):
        sys.exit(f"{labels_path}: no label image; was {image_id} in that evaluation?")
    predicted = np.array(Image.open(labels_path)) > 0

    false = predicted & ~truth
    distance = ndimage.distance_transform_edt(~truth)
    components, count = ndimage.label(predicted)
    touches_truth = ndimage.maximum(truth, components, range(1, count + 1)) > 0
    sizes = ndimage.sum(predicted, components, range(1, count + 1))
    _, true_count = ndimage.label(truth)
    print(f"image {image_id} ({image.shape[1]}x{image.shape[0]})")
    print(f"true pixels {int(truth.sum())} in {true_count} connected nuclei, "
          f"predicted {int(predicted.sum())}, false {int(false.sum())}, "
          f"missed {int((truth & ~predicted).sum())}")
    print(f"false pixels within 2 px of a true nucleus {int((false & (distance <= 2)).sum())}, "
          f"2-5 px {int((false & (distance > 2) & (distance <= 5)).sum())}, "
          f"farther {int((false & (distance > 5)).sum())}")
    print(f"predicted components {count}, touching no true nucleus {int((~touches_truth).sum())} "
          f"({int(sizes[~touches_truth].sum())} px)")
    if args.picture:
        overlay = np.stack([truth, predicted, np.zeros_like(truth)], axis=2).astype(np.uint8) * 255
        Image.fromarray(np.concatenate([image, overlay], axis=0)).save(args.picture)


if __name__ == "__main__":
    main()
