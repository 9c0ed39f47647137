#!/usr/bin/env bash
# The accuracy comparison of docs/accuracy.md: the recipe (configs/dsb2018.toml) against the
# seed's plain recipe (configs/dsb2018-seed.toml at base 16), each trained from scratch for a
# time budget on this machine, one process, then scored by `dunet eval` on the held-out split
# (split seed 0: 67 images of DSB2018 stage1_train), overall and per image kind. The final
# weights are scored, not the best by validation, since validation runs on the same images.
# A budget is a number of epochs per recipe (so that its cosine schedule ends within the
# budget): time one epoch of each first (an epoch's line in the log), then pass the counts.
# Either run may be left out (its column then reads "-"); a run's results stay in
# build/accuracy-NAME/, so the other run can follow later under the same name.
#   bench/accuracy.sh [--recipe-epochs N] [--recipe-set KEY=VALUE]... [--seed-epochs M]
#                     [--name NAME] [--write]
#   bench/accuracy.sh --rescore [--name NAME] [--write]
#   bench/accuracy.sh --name NAME --write
# --write puts the table in docs/accuracy.md between <!-- accuracy-NAME:begin/end -->.
# --rescore scores the final weights of the runs already in build/accuracy-NAME/ again, with
# this build's `dunet eval` (e.g. after a change to how nuclei are found), without training.
# --write alone writes the table of the runs already scored in build/accuracy-NAME/.
# --recipe-set passes a `--set` to the recipe's training only (e.g. train.precision="fp32" for
# the run every CPU gives); the table names it, and the precision each run computed in (the
# recipe's "auto" takes bf16 where the hardware computes it natively).
source "$(dirname "$0")/lib.sh"
RECIPE_EPOCHS="" SEED_EPOCHS="" NAME=run RESCORE=0 RECIPE_SETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rescore) RESCORE=1; shift ;;
    --recipe-epochs) RECIPE_EPOCHS=$2; shift 2 ;;
    --recipe-set) RECIPE_SETS+=(--set "$2"); shift 2 ;;
    --seed-epochs) SEED_EPOCHS=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --write) WRITE=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$RECIPE_EPOCHS$SEED_EPOCHS" ] || [ "$RESCORE" = 1 ] || [ "$WRITE" = 1 ] || {
  echo "usage: bench/accuracy.sh [--recipe-epochs N] [--recipe-set KEY=VALUE]... [--seed-epochs M]" >&2
  echo "                         [--name NAME] [--write]" >&2
  echo "       bench/accuracy.sh --rescore [--name NAME] [--write]" >&2
  echo "       bench/accuracy.sh --name NAME --write" >&2
  exit 2; }
prepare_bench_data
SOURCE_DIR=$ROOT/../shared/data/dsb2018/train
[ -d "$SOURCE_DIR" ] || SOURCE_DIR=$ROOT/build/bench-png
OUT=$ROOT/build/accuracy-$NAME
mkdir -p "$OUT"

# train_and_score WHICH CONFIG EPOCHS [--set ...]: trains, times, and scores the final weights.
train_and_score() {
  local which=$1 config=$2 epochs=$3
  shift 3
  rm -rf "${OUT:?}/$which" "$OUT/$which-eval"
  echo "$epochs" > "$OUT/$which.epochs"
  printf '%s\n' "$@" | grep -v '^--set$' > "$OUT/$which.sets" || true
  git rev-parse --short HEAD > "$OUT/$which.commit"
  local start end
  start=$(date +%s)
  "$DUNET" train --config "$config" --resume never --set "run.output_dir=\"$OUT/$which\"" \
    --set "data.train=[\"$DATA/train-*.h5\"]" --set "data.val=[\"$DATA/val-*.h5\"]" \
    --set train.epochs="$epochs" "$@" > "$OUT/$which.log" 2>&1 ||
    { tail -20 "$OUT/$which.log"; exit 1; }
  end=$(date +%s)
  echo $((end - start)) > "$OUT/$which.seconds"
  score "$which"
}
# score WHICH: `dunet eval` of the run's final weights on the held-out split.
score() {
  local which=$1 final
  final=$(ls "$OUT/$which"/checkpoints/step-*.pt | sort | tail -1)
  rm -rf "${OUT:?}/$which-eval"
  git rev-parse --short HEAD > "$OUT/$which-eval.commit"
  "$DUNET" eval --model "$final" --input "$SOURCE_DIR" --held-out "$DATA" \
    --out "$OUT/$which-eval" > "$OUT/$which-eval.log" 2>&1 ||
    { tail -20 "$OUT/$which-eval.log"; exit 1; }
}
[ -z "$RECIPE_EPOCHS" ] ||
  train_and_score recipe configs/dsb2018.toml "$RECIPE_EPOCHS" "${RECIPE_SETS[@]}"
[ -z "$SEED_EPOCHS" ] ||
  train_and_score seed configs/dsb2018-seed.toml "$SEED_EPOCHS" --set model.base_channels=16
if [ "$RESCORE" = 1 ]; then
  for which in recipe seed; do
    if [ -f "$OUT/$which.seconds" ]; then score "$which"; fi
  done
fi

TABLE=$(python3 - "$OUT" "$(git rev-parse --short HEAD)" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$DATA_SOURCE" <<'PY'
import json, os, re, sys
out, commit, cpu, data = sys.argv[1:]
configs = {"recipe": "configs/dsb2018.toml", "seed": "configs/dsb2018-seed.toml, base 16"}
def recipe_sets(which):
    path = f"{out}/{which}.sets"
    sets = open(path).read().splitlines() if which == "recipe" and os.path.exists(path) else []
    return [s for s in sets if s]
def precision_of(which):  # what train.precision resolved to: the log's numerics line says
    path = f"{out}/{which}.log"
    found = re.search(r"\bprecision=(\w+)", open(path, errors="replace").read()) \
        if os.path.exists(path) else None
    return f"; precision={found.group(1)}" if found else ""
runs = {w: (c + "".join(f", {s}" for s in recipe_sets(w)) + precision_of(w),
            open(f"{out}/{w}.epochs").read().strip())
        for w, c in configs.items() if os.path.exists(f"{out}/{w}-eval/summary.json")}
flags = " ".join(f"--{w}-epochs {e}" + "".join(f" --recipe-set '{s}'" for s in recipe_sets(w))
                 for w, (c, e) in runs.items())
def commit_of(path, unknown):
    return open(path).read().strip() if os.path.exists(path) else unknown
trained = ", ".join(f"{w} at {commit_of(f'{out}/{w}.commit', '?')}" for w in runs)
def windows(which):  # the sliding windows `dunet eval` used (summary.json; absent before it)
    tile = json.load(open(f"{out}/{which}-eval/summary.json")).get("tile_size")
    return f" in {tile}-px windows" if tile else ""
scored = ", ".join(f"{w} at {commit_of(f'{out}/{w}-eval.commit', commit)}{windows(w)}"
                   for w in runs)
print(f"Command: `bench/accuracy.sh {flags}` (trained: {trained}; scored: {scored}; "
      f"{cpu}, 1 process x 2 threads; data: {data}).\n")
print("| run | epochs | training time | held-out pixel IoU | Dice | DSB2018 score | "
      "validation IoU per epoch |")
print("|---|---|---|---|---|---|---|")
summaries = {}
for which, (config, epochs) in runs.items():
    s = json.load(open(f"{out}/{which}-eval/summary.json"))
    summaries[which] = s
    seconds = int(open(f"{out}/{which}.seconds").read())
    curve = [m["val_iou"] for m in map(json.loads, open(f"{out}/{which}/metrics.jsonl"))
             if m.get("val_iou") is not None]
    print(f"| {which} ({config}) | {epochs} | {seconds / 60:.1f} min | {s['pixel_iou']:.3f} | "
          f"{s['dice']:.3f} | {s['mean_dsb2018_score']:.3f} | "
          f"{' '.join(f'{v:.2f}' for v in curve)} |")
print("\nBy image kind (held-out images of each kind; pixel IoU / DSB2018 score):\n")
print("| kind | images | recipe | seed |")
print("|---|---|---|---|")
kinds = sorted({k for s in summaries.values() for k in s["by_kind"]})
def cell(which, kind):
    k = summaries.get(which, {}).get("by_kind", {}).get(kind)
    return f"{k['pixel_iou']:.3f} / {k['mean_dsb2018_score']:.3f}" if k else "-"
for kind in kinds:
    images = next(s["by_kind"][kind]["images"] for s in summaries.values() if kind in s["by_kind"])
    print(f"| {kind} | {images} | {cell('recipe', kind)} | {cell('seed', kind)} |")
PY
)
echo "$TABLE"
if [ "$WRITE" = 1 ]; then
  grep -q "<!-- accuracy-$NAME:begin -->" docs/accuracy.md ||
    printf '\n<!-- accuracy-%s:begin -->\n<!-- accuracy-%s:end -->\n' "$NAME" "$NAME" >> docs/accuracy.md
  write_blocks docs/accuracy.md "accuracy-$NAME" "$TABLE
"
fi
