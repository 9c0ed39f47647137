#!/usr/bin/env bash
# The bad-input catalogue, systematic part (bad_input.sh and full_disk.sh hold the hand-picked
# cases): every numeric config key below its range in a file and above it through --set,
# every choice key with a value it does not take, values of the wrong type, misspelt
# sub-commands and options, and bit flips, truncation and loss in shard sets and checkpoints.
# Each case asserts the exit status, the message (which file, key or option, what was
# expected) and that no file below the working folder changed (expect_refusal).
# Usage: catalogue.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
cases=0
refuse() { expect_refusal "$@"; cases=$((cases + 1)); }
refuse_naming() { expect_refusal_naming "$@"; cases=$((cases + 1)); }

"$DUNET" synth --out png --count 6 --size 48x48 --seed 1 > /dev/null
"$DUNET" prepare --input png --out shards --shards 2 --val-fraction 0.34 > /dev/null 2>&1
tiny_config tiny.toml run
"$DUNET" train --config tiny.toml > train.log 2>&1 || fail "tiny training: $(tail -3 train.log)"
ckpt=$(ls run/checkpoints/step-*.pt | head -1)
image=$(ls png/*/images/*.png | head -1)

# ---- Every numeric key, from the ranges `config --defaults` prints ----
# One line per key: section key kind min max (kind: int or float, from the default's text).
"$DUNET" config --defaults | awk '
  /^\[/ { section = substr($1, 2, length($1) - 2) }
  match($0, /\[[-0-9e.+]+, [-0-9e.+]+\]$/) {
    range = substr($0, RSTART + 1, RLENGTH - 2); split(range, bounds, ", ")
    kind = ($3 ~ /[.e]/) ? "float" : "int"
    print section, $1, kind, bounds[1], bounds[2]
  }' > numeric_keys.txt
[ "$(wc -l < numeric_keys.txt)" -ge 30 ] || fail "too few numeric keys: $(cat numeric_keys.txt)"
while read -r section key kind min max; do
  below=$(awk -v k="$kind" -v m="$min" 'BEGIN { if (k == "int") printf "%.0f", m - 1;
    else printf "%.6g", m - (m < 0 ? -m : (m > 1 ? m : 1)) }')
  above=$(awk -v k="$kind" -v m="$max" 'BEGIN { if (k == "int") printf "%.0f", m + 1;
    else printf "%.6g", m + (m > 1 ? m : 1) }')
  [ "$kind" = float ] && case $below in *[.e]*) ;; *) below="$below.0" ;; esac
  [ "$kind" = float ] && case $above in *[.e]*) ;; *) above="$above.0" ;; esac
  word=$([ "$kind" = int ] && echo "an integer" || echo "a number")
  printf '[%s]\n%s = %s\n' "$section" "$key" "$below" > "low-$section-$key.toml"
  refuse_naming "$section.$key = $below (below $min) in a file" 1 "low-$section-$key.toml:2:" \
    "$section.$key: expected $word between" "$DUNET" config --check "low-$section-$key.toml"
  refuse "$section.$key=$above (above $max) by --set" 1 \
    "--set: $section.$key: expected $word between" \
    "$DUNET" train --config tiny.toml --set "$section.$key=$above"
done < numeric_keys.txt

# ---- Every choice key: a value it does not take, with the ones it does ----
"$DUNET" config --defaults | awk '
  /^\[/ { section = substr($1, 2, length($1) - 2) }
  / \([a-z0-9_]+( \| [a-z0-9_]+)+\)$/ { print section, $1 }' > choice_keys.txt
[ "$(wc -l < choice_keys.txt)" -ge 10 ] || fail "too few choice keys: $(cat choice_keys.txt)"
while read -r section key; do
  refuse "$section.$key = \"bogus\"" 1 "--set: $section.$key: expected one of" \
    "$DUNET" train --config tiny.toml --set "$section.$key=\"bogus\""
done < choice_keys.txt

# ---- Values of the wrong type ----
for assignment in 'train.epochs="ten"' 'train.learning_rate="fast"' 'data.augment=1' \
  'data.train=[1, 2]' 'model.depth=2.5' 'train.optimizer=3'; do
  refuse "wrong type: $assignment" 1 "--set: ${assignment%%=*}: expected" \
    "$DUNET" train --config tiny.toml --set "$assignment"
done
refuse "unknown key by --set" 1 "train.epoch: unknown key (did you mean 'epochs'?)" \
  "$DUNET" train --config tiny.toml --set train.epoch=3
refuse "unknown section" 1 "unknown" "$DUNET" train --config tiny.toml --set trian.epochs=3

# ---- Misspelt sub-commands and options name the closest ----
refuse "sub-command trian" 109 "unknown sub-command 'trian' of \`dunet\` (did you mean 'train'?)" \
  "$DUNET" trian --config tiny.toml
refuse "sub-command infre" 109 "(did you mean 'infer'?)" "$DUNET" infre --model "$ckpt"
refuse "sub-command prepair" 109 "(did you mean 'prepare'?)" "$DUNET" prepair --input png
refuse "bench loder" 109 "unknown sub-command 'loder' of \`dunet bench\` (did you mean 'loader'?)" \
  "$DUNET" bench loder
refuse "checkpoint inspct" 109 "(did you mean 'inspect'?)" "$DUNET" checkpoint inspct "$ckpt"
refuse "train --epoch" 109 "unknown option '--epoch' of \`dunet train\` (did you mean '--epochs'?)" \
  "$DUNET" train --config tiny.toml --epoch 3
refuse "infer --modle" 109 "(did you mean '--model'?)" "$DUNET" infer --modle "$ckpt" --image "$image"
refuse "prepare --shard" 109 "(did you mean '--shards'?)" \
  "$DUNET" prepare --input png --out other --shard 2
refuse "synth --sise" 109 "(did you mean '--size'?)" "$DUNET" synth --out s --sise 64x64
refuse "a word nothing takes" 109 "unknown argument 'extra' of \`dunet train\`" \
  "$DUNET" train --config tiny.toml extra

# ---- Shard sets: flipped bytes, truncation, loss, a missing or damaged manifest ----
shard=shards/train-00000-of-00002.h5
size=$(stat -c %s "$shard")
flip() {  # flip FILE OFFSET: inverts one byte in place
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp -r shards pristine
for k in 1 2 3 4 5 6 7 8; do
  offset=$((size * k / 9))
  flip "$shard" "$offset"
  refuse "shard byte $offset of $size flipped" 1 \
    "shard '$shard' does not match the checksum in its manifest" \
    "$DUNET" train --config tiny.toml --set 'run.output_dir="flip"'
  flip "$shard" "$offset"
done
cmp -s "$shard" pristine/train-00000-of-00002.h5 || fail "the flips were not undone"
truncate -s $((size - 100)) "$shard"
refuse_naming "truncated shard" 1 "shard '$shard'" "truncated" \
  "$DUNET" train --config tiny.toml --set 'run.output_dir="cut"'
cp pristine/train-00000-of-00002.h5 "$shard"
mv "$shard" lost.h5
refuse "a shard of the set is missing" 1 "is incomplete: 'train-00000-of-00002.h5' of its manifest is missing" \
  "$DUNET" train --config tiny.toml --set 'run.output_dir="lost"'
mv lost.h5 "$shard"
cp "$shard" shards/train-extra.h5
refuse "a shard that is not in the manifest" 1 "is not in 'shards/manifest.json'" \
  "$DUNET" train --config tiny.toml --set 'run.output_dir="extra"'
rm shards/train-extra.h5
mv shards/manifest.json manifest.bak
refuse "no manifest" 1 "has no manifest.json" \
  "$DUNET" train --config tiny.toml --set 'run.output_dir="nomanifest"'
head -c 40 manifest.bak > shards/manifest.json
refuse "a manifest cut short" 1 "manifest.json' is damaged" \
  "$DUNET" train --config tiny.toml --set 'run.output_dir="cutmanifest"'
mv manifest.bak shards/manifest.json

# ---- Checkpoints: sixteen flipped bytes, truncation, a lost or damaged checksum file ----
csize=$(stat -c %s "$ckpt")
cp "$ckpt" pristine.pt
for k in $(seq 1 16); do
  offset=$((csize * k / 17))
  flip "$ckpt" "$offset"
  refuse "checkpoint byte $offset of $csize flipped" 1 "is damaged: checksum mismatch" \
    "$DUNET" infer --model "$ckpt" --image "$image" --out flipped.png
  flip "$ckpt" "$offset"
done
cmp -s "$ckpt" pristine.pt || fail "the checkpoint flips were not undone"
truncate -s $((csize / 2)) "$ckpt"
refuse "truncated checkpoint" 1 "is damaged" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out cut.png
cp pristine.pt "$ckpt"
printf 'xxh3_64=zz\n' > "$ckpt.sum.new" && cp "$ckpt.sum" sum.bak && mv "$ckpt.sum.new" "$ckpt.sum"
refuse "checksum file with a bad value" 1 "is malformed" \
  "$DUNET" infer --model "$ckpt" --image "$image" --out bad.png
cp sum.bak "$ckpt.sum"

echo "catalogue: $cases cases refused clearly, nothing changed"
[ "$cases" -ge 100 ] || fail "only $cases cases"
