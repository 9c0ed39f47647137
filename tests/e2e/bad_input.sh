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
echo "bad input: all checks passed"
