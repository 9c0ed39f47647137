#!/usr/bin/env bash
# A full disk, for real: a small tmpfs in a private mount namespace (nothing of the host is
# touched). Training whose checkpoint does not fit stops with exit 74 naming the file and
# ENOSPC, its last checkpoint intact and no temp file left; after space is freed,
# --resume auto finishes the run. A mask write that does not fit leaves the earlier file.
# Usage: full_disk.sh PATH_TO_DUNET   (exit 77 = skipped: no mount namespace here)
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
if [ -z "${DUNET_IN_PRIVATE_MOUNTS:-}" ]; then
  # Inside a chroot (the Debian 13 root) "/" is no mount point, so its propagation cannot be
  # changed; there the test makes its own folder a private mount instead.
  for propagation in private unchanged; do
    if unshare -m --propagation $propagation true 2>/dev/null; then
      exec env DUNET_IN_PRIVATE_MOUNTS=$propagation unshare -m --propagation $propagation \
        bash "$0" "$@"
    fi
  done
  echo "skipped: no mount namespace"
  exit 77
fi
WORK=$(mktemp -d)
# Out of the folder first: a mount under the working directory is busy.
trap 'cd /; umount "$WORK/disk" 2>/dev/null || true; umount "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$DUNET_IN_PRIVATE_MOUNTS" = unchanged ]; then
  mount --bind "$WORK" "$WORK" && mount --make-private "$WORK" ||
    { echo "skipped: cannot make a private mount"; exit 77; }
fi
cd "$WORK"
mkdir disk
mount -t tmpfs -o size=4m tmpfs disk || { echo "skipped: cannot mount a tmpfs"; exit 77; }

"$DUNET" synth --out png --count 6 --size 48x48 --seed 2 > /dev/null
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.34 > /dev/null
printf '[data]\ntrain = ["shards/train-*.h5"]\nval = ["shards/val-*.h5"]\npatch_size = 32\n[model]\nbase_channels = 4\ndepth = 2\n[train]\nepochs = 3\nbatch_size = 2\nthreads = 1\n[checkpoint]\nkeep_last = 5\n[run]\noutput_dir = "disk/run"\n' > run.toml
# The first epoch (2 steps); the same config then resumes, so config.toml needs no rewrite.
"$DUNET" train --config run.toml --max-steps 2 > first.log 2>&1 || fail "first epoch: $(tail -3 first.log)"
latest=$(cat disk/run/checkpoints/latest)
sum_before=$(md5sum "disk/run/checkpoints/$latest")

# Fill the disk to the last byte.
dd if=/dev/zero of=disk/filler bs=64k 2>/dev/null || true
set +e
"$DUNET" train --config run.toml > full.log 2>&1
status=$?
set -e
[ $status -eq 74 ] || fail "checkpoint on a full disk: exit $status, expected 74: $(tail -5 full.log)"
grep -q "cannot write 'disk/run/checkpoints/step-.*No space left on device" full.log ||
  fail "the message does not name the file and ENOSPC: $(grep error full.log)"
grep -qF "earlier checkpoints are untouched" full.log || fail "no word on earlier checkpoints"
[ "$(cat disk/run/checkpoints/latest)" = "$latest" ] || fail "latest moved to an unfinished checkpoint"
[ "$(md5sum "disk/run/checkpoints/$latest")" = "$sum_before" ] || fail "the last checkpoint changed"
inspected=$("$DUNET" checkpoint inspect "disk/run/checkpoints/$latest" 2>&1) ||
  fail "inspect: $inspected"
grep -q "^checksum *ok" <<<"$inspected" || fail "the last checkpoint does not verify: $inspected"
[ -z "$(find disk -name '*.tmp')" ] || fail "temp files left on the full disk: $(find disk -name '*.tmp')"
echo "ok: a checkpoint that does not fit stops the run with 74, the last one intact"

# A mask that does not fit leaves the mask already at that path.
rm disk/filler
"$DUNET" infer --model "disk/run/checkpoints/$latest" --image png/synth00000/images/synth00000.png \
  --out disk/mask.png > infer.log 2>&1 || fail "infer: $(tail -3 infer.log)"
mask_before=$(md5sum disk/mask.png)
dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null || true
expect_failure "a mask on a full disk" "No space left on device" \
  "$DUNET" infer --model "disk/run/checkpoints/$latest" --image png/synth00001/images/synth00001.png \
  --out disk/mask.png
[ "$(md5sum disk/mask.png)" = "$mask_before" ] || fail "a failed mask write changed the earlier mask"

# A shard set replaced on a full disk: a clear error, no crash, the old set whole and in use.
rm disk/filler
cp -r shards disk/shards
set_before=$(cd disk/shards && md5sum *)
dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null || true
"$DUNET" synth --out big --count 12 --size 128x128 --seed 4 > /dev/null
set +e
"$DUNET" prepare --input big --out disk/shards --shards 2 --overwrite > prepare.log 2>&1
status=$?
set -e
[ $status -eq 74 ] || fail "prepare on a full disk: exit $status, expected 74: $(tail -3 prepare.log)"
grep -q "No space left on device" prepare.log || fail "no ENOSPC in: $(grep error prepare.log)"
[ "$(cd disk/shards && md5sum *)" = "$set_before" ] || fail "the earlier shard set changed"
[ -z "$(ls -A disk | grep staging)" ] || fail "staging left behind: $(ls -A disk)"
echo "ok: prepare on a full disk fails with 74 and leaves the earlier set whole"
rm disk/filler

# Space freed: the run continues where its last checkpoint left it and finishes.
"$DUNET" train --config run.toml > resumed.log 2>&1 ||
  fail "resume after freeing space: $(tail -5 resumed.log)"
grep -q "resumed from disk/run/checkpoints/$latest" resumed.log || fail "did not resume: $(head -20 resumed.log)"
grep -q "training complete: epochs=3" resumed.log || fail "did not finish: $(tail -3 resumed.log)"
# The same disk read-only: every writer names EROFS and exits 74; nothing there changes.
mount -o remount,ro disk
before=$(find disk -type f -print0 | sort -z | xargs -0 md5sum)
expect_refusal "a mask into a read-only folder" 74 "Read-only file system" \
  "$DUNET" infer --model "disk/run/checkpoints/$(cat disk/run/checkpoints/latest)" \
  --image png/synth00000/images/synth00000.png --out disk/mask2.png
expect_refusal "a shard set into a read-only folder" 74 "Read-only file system" \
  "$DUNET" prepare --input png --out disk/shards2 --shards 1
set +e
"$DUNET" train --config run.toml --set train.epochs=4 > ro.log 2>&1
status=$?
set -e
[ $status -eq 74 ] || fail "training on a read-only folder: exit $status, expected 74: $(tail -3 ro.log)"
grep -q "Read-only file system" ro.log || fail "no EROFS named: $(grep error ro.log)"
[ "$(find disk -type f -print0 | sort -z | xargs -0 md5sum)" = "$before" ] ||
  fail "files on the read-only disk changed"
echo "ok: a read-only folder is named (EROFS, exit 74) by infer, prepare and train"
echo "full disk: all checks passed"
