# Shared by the benchmark scripts: options, the dunet binary, MPI on loopback, and the data.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DUNET=${DUNET:-$ROOT/build/apps/dunet}
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
WRITE=0

# parse_bench_args "$@": --steps N and --write.
parse_bench_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --steps) STEPS=$2; shift 2 ;;
      --write) WRITE=1; shift ;;
      *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
  done
}

# Builds dunet if needed and prepares the real DSB2018 set (synthetic data if it is absent)
# into $DATA once; sets DATA_SOURCE.
prepare_bench_data() {
  [ -x "$DUNET" ] || "$ROOT/dunet.sh" build
  DATA=$ROOT/build/bench-data
  local real=$ROOT/../shared/data/dsb2018/train
  if [ -d "$real" ]; then DATA_SOURCE="DSB2018 stage1_train (670 samples)"
  else DATA_SOURCE="synthetic 256x256 (dunet synth)"; fi
  [ ! -f "$DATA/manifest.json" ] || return 0  # a finished set (older sets have none)
  if [ -d "$real" ]; then
    "$DUNET" prepare --input "$real" --out "$DATA" --shards 4 --val-fraction 0.1 --seed 0 --overwrite
  else
    "$DUNET" synth --out "$ROOT/build/bench-png" --count 128 --size 256x256
    "$DUNET" prepare --input "$ROOT/build/bench-png" --out "$DATA" --shards 2 --val-fraction 0.1 \
      --overwrite
  fi
}

# write_bench_config FILE OUTPUT_DIR BASE PATCH THREADS: the training config every benchmark
# uses (batch 4 per process, a log line per step, no validation) on the prepared $DATA.
write_bench_config() {
  cat > "$1" <<TOML
[run]
output_dir = "$2"
[data]
train = ["$DATA/train-*.h5"]
patch_size = $4
[model]
base_channels = $3
[train]
batch_size = 4
threads = $5
log_every_steps = 1
[validation]
every_epochs = 0
[checkpoint]
keep_last = 1
TOML
}

# median_rate LOG WARMUP: median imgs_per_s of the step lines after WARMUP steps.
median_rate() {
  grep -o 'global_step=[0-9]* loss=[^ ]* lr=[^ ]* imgs_per_s=[0-9.]*' "$1" |
    awk -v w="$2" '{split($1,a,"="); split($4,b,"="); if (a[2] > w) print b[2]}' |
    sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}

# write_blocks FILE NAME TEXT [NAME TEXT ...]: replaces <!-- NAME:begin --> ... <!-- NAME:end -->.
write_blocks() {
  python3 - "$@" <<'PY'
import sys, re
path, pairs = sys.argv[1], sys.argv[2:]
text = open(path).read()
for name, block in zip(pairs[::2], pairs[1::2]):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                  lambda m: begin + "\n" + block + end, text, flags=re.S)
open(path, "w").write(text)
PY
}
