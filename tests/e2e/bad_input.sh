#!/usr/bin/env bash
# Bad input through the real command line: one clear message naming the file or key, a
# non-zero exit, and nothing already written damaged.
# Usage: bad_input.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

"$DUNET" synth --out png --count 6 --size 48x48 --seed 1
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.34
before=$(md5sum shards/*.h5)

printf '[train]\nepochs = 2\nlearning_rat = 0.1\n' > typo.toml
expect_failure "unknown key" "typo.toml:3:16: train.learning_rat: unknown key (did you mean 'learning_rate'?)" \
  "$DUNET" train --config typo.toml
printf '[train]\nbatch_size = "four"\n' > type.toml
expect_failure "wrong type" "type.toml:2:14: train.batch_size: expected an integer, got a string" \
  "$DUNET" train --config type.toml
printf '[train\n' > syntax.toml
expect_failure "TOML syntax" "syntax.toml:1:" "$DUNET" train --config syntax.toml
expect_failure "missing config" "no such file" "$DUNET" train --config nope.toml
printf '[data]\ntrain = ["nowhere/*.h5"]\n' > noshards.toml
expect_failure "shard glob matching nothing" "data.train: pattern 'nowhere/*.h5' matches no file" \
  "$DUNET" train --config noshards.toml
printf '[data]\ntrain = ["png/*/images/*.png"]\n[train]\nepochs = 1\n' > notshards.toml
expect_failure "PNG given as shard" "not an HDF5 file" "$DUNET" train --config notshards.toml

mkdir -p empty
expect_failure "empty input folder" "holds no sample folders" \
  "$DUNET" prepare --input empty --out out1
cp -r png broken
first=$(ls broken | head -1)
: > "broken/$first/images/$first.png"
expect_failure "zero-byte PNG" "broken/$first/images/$first.png' is empty (0 bytes)" \
  "$DUNET" prepare --input broken --out out2
[ ! -e out2 ] || [ -z "$(ls out2)" ] || fail "a failed prepare left files in out2: $(ls out2)"
expect_failure "existing shards" "already holds shards; pass --overwrite" \
  "$DUNET" prepare --input png --out shards
expect_failure "overwrite with a broken sample" "is empty (0 bytes)" \
  "$DUNET" prepare --input broken --out shards --overwrite
[ "$(md5sum shards/*.h5)" = "$before" ] || fail "existing shards were changed"

echo "not a checkpoint" > fake.pt
expect_failure "infer with a non-checkpoint" "'fake.pt' is not a dunet checkpoint" \
  "$DUNET" infer --model fake.pt --image "png/$first/images/$first.png" --out m.png
# ---- Checkpoints are verified by every reader; outputs are never inputs ----
tiny_config tiny.toml run
"$DUNET" train --config tiny.toml > train.log 2>&1 || fail "tiny training: $(tail -3 train.log)"
ckpt=$(ls run/checkpoints/step-*.pt | head -1)
image="png/$first/images/$first.png"
"$DUNET" infer --model "$ckpt" --image "$image" --out good.png > infer.log 2>&1 ||
  fail "infer: $(tail -3 infer.log)"
expect_refusal "--config is a folder" 1 "config file 'run' is a folder; expected a TOML file" \
  "$DUNET" train --config run
expect_refusal "refused train keeps the run's config.toml" 1 "already holds checkpoints" \
  "$DUNET" train --config tiny.toml --resume never --set train.epochs=2
expect_refusal "infer --out is the input" 1 "is the input file; choose another --out" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out "$image"
expect_refusal "infer --overlay is the input" 1 "is the input file; choose another --overlay" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out m2.png --overlay "./$image"
expect_refusal "infer --out is --overlay" 1 "is --out too" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out m3.png --overlay m3.png
expect_refusal "infer --out is the checkpoint" 1 "must not be the checkpoint" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out "$ckpt"
expect_refusal "infer folder --out is the input folder" 1 "is the input folder" \
  "$DUNET" infer --model "$ckpt" --image "png/$first/images" --out "png/$first/images/"
cp "$ckpt" flipped.pt && cp "$ckpt.sum" flipped.pt.sum
printf '\x5a' | dd of=flipped.pt bs=1 seek=$(( $(stat -c %s flipped.pt) / 2 )) conv=notrunc 2>/dev/null
if cmp -s "$ckpt" flipped.pt; then printf '\xa5' | dd of=flipped.pt bs=1 seek=$(( $(stat -c %s flipped.pt) / 2 )) conv=notrunc 2>/dev/null; fi
expect_refusal "infer with a flipped byte in the checkpoint" 1 "checkpoint 'flipped.pt' is damaged: checksum mismatch" \
  "$DUNET" infer --model flipped.pt --image "$image" --out good.png
expect_refusal "train --resume with a flipped byte" 1 "checkpoint 'flipped.pt' is damaged" \
  "$DUNET" train --config tiny.toml --resume flipped.pt --set run.output_dir='"run2"'
cp "$ckpt" malformed.pt && printf 'bytes=oops\n' > malformed.pt.sum
expect_refusal "malformed checksum file" 1 "checksum file 'malformed.pt.sum' is malformed (line 1: 'bytes=oops')" \
  "$DUNET" infer --model malformed.pt --image "$image" --out good.png
cp "$ckpt" nosum.pt
"$DUNET" infer --model nosum.pt --image "$image" --out nosum.png > nosum.log 2>&1 ||
  fail "a checkpoint without checksum file was refused: $(tail -3 nosum.log)"
grep -qF "'nosum.pt' has no checksum file 'nosum.pt.sum': loading it unverified" nosum.log ||
  fail "no warning for a checkpoint without checksum file: $(cat nosum.log)"
echo "ok: a checkpoint without checksum file loads, with a warning"
mkdir -p mixed && cp png/*/images/*.png mixed/ && : > mixed/0-broken.png
set +e
"$DUNET" infer --model "$ckpt" --image mixed --out mixed_masks > mixed.log 2>&1
status=$?
set -e
[ $status -eq 1 ] || fail "folder infer with a bad image: exit $status, expected 1"
grep -qF "1 of $(ls mixed | wc -l) images could not be read" mixed.log || fail "no summary: $(tail -3 mixed.log)"
[ "$(ls mixed_masks | wc -l)" -eq $(( $(ls mixed | wc -l) - 1 )) ] ||
  fail "folder infer stopped at the bad image: $(ls mixed_masks)"
echo "ok: folder infer goes on past a bad image and names it"

# ---- Every numeric option has a range; a stray file in a masks folder is named ----
expect_refusal "launch -n 0" 105 "--processes: Value 0 not in range" "$DUNET" launch -n 0 --config tiny.toml
expect_refusal "synth of an absurd size" 1 "each side must be between 8 and 8192 pixels" \
  "$DUNET" synth --out huge --size 100000x100000
expect_refusal "infer --threads 100000" 105 "--threads: Value 100000 not in range" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out t.png --threads 100000
expect_refusal "prepare --threads 0" 105 "--threads: Value 0 not in range" \
  "$DUNET" prepare --input png --out out3 --threads 0
cp -r png stray && echo "notes" > "stray/$first/masks/README.txt"
expect_refusal "a stray file among the masks" 1 "stray/$first/masks/README.txt' is not a PNG, TIFF or JPEG file" \
  "$DUNET" prepare --input stray --out out4
# ---- A prepare killed mid-way (SIGTERM, SIGKILL): the earlier set stays whole and usable,
# and the next prepare removes the leftover staging folder, naming it ----
"$DUNET" synth --out many --count 400 --size 96x96 --seed 5 > /dev/null
for signal in TERM KILL; do
  set_before=$(md5sum shards/*)
  "$DUNET" prepare --input many --out shards --shards 2 --overwrite --threads 1 > killed.log 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -d .shards.staging ] && break; sleep 0.02; done
  [ -d .shards.staging ] || fail "prepare never started staging: $(cat killed.log)"
  kill -$signal $pid
  wait $pid 2>/dev/null && fail "prepare killed by SIG$signal exited 0"
  [ "$(md5sum shards/*)" = "$set_before" ] || fail "SIG$signal during prepare changed the earlier set"
  "$DUNET" train --config tiny.toml --resume never --set 'run.output_dir="run-'$signal'"' \
    --set train.epochs=1 > after.log 2>&1 || fail "the earlier set is unusable after SIG$signal: $(tail -3 after.log)"
  echo "ok: SIG$signal during prepare leaves the earlier set whole and usable"
done
[ -d .shards.staging ] || fail "expected the staging folder of the killed prepare"
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.34 --overwrite > again.log 2>&1 ||
  fail "prepare after a killed one: $(tail -3 again.log)"
grep -qF "removing '$WORK/.shards.staging', left by a \`dunet prepare\` that did not finish" again.log ||
  fail "the leftover staging folder was not named: $(cat again.log)"
[ ! -e .shards.staging ] || fail "the leftover staging folder is still there"
echo "ok: the next prepare removes a killed one's staging folder and says so"
echo "bad input: all checks passed"
