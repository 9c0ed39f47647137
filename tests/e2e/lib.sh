# Helpers for the end-to-end tests of the dunet executable.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

# png_size FILE -> "WIDTHxHEIGHT", read from the PNG header (bytes 16..23, big-endian).
png_size() {
  local bytes
  bytes=$(od -An -tu1 -j16 -N8 "$1" | tr -s ' ')
  set -- $bytes
  echo "$(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 ))x$(( ($5 << 24) + ($6 << 16) + ($7 << 8) + $8 ))"
}

# json_field FILE KEY -> the number of KEY in the last line of a JSON-lines file.
json_field() {
  tail -n 1 "$1" | grep -o "\"$2\":[-0-9.e+]*" | cut -d: -f2
}

# expect_failure "what" "expected message part" command... : the command must exit non-zero
# and print the message part.
expect_failure() {
  local what=$1 message=$2 out status
  shift 2
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  [ "$status" -ne 0 ] || fail "$what: exited 0; expected an error"
  grep -qF -- "$message" <<<"$out" || fail "$what: expected '$message' in: $out"
  echo "ok: $what -> $(grep -F -- "$message" <<<"$out" | head -1 | cut -c1-160)"
}

# expect_refusal "what" CODE "expected message part" command... : like expect_failure, with the
# exact exit status, and every file below the current folder unchanged by the command (an
# md5 of each before and after; logs, which a refused run appends to, aside).
# expect_refusal_naming "what" CODE "part one" "part two" command... : both parts in the message.
snapshot() { find . -type f ! -name '*.log' -print0 | sort -z | xargs -0 -r md5sum; }
expect_refusal() { refusal_with_parts "$1" "$2" 1 "$3" "${@:4}"; }
expect_refusal_naming() { refusal_with_parts "$1" "$2" 2 "$3" "$4" "${@:5}"; }
refusal_with_parts() {
  local what=$1 code=$2 count=$3 out status before part
  shift 3
  local parts=("${@:1:$count}")
  shift "$count"
  before=$(snapshot)
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  [ "$status" -eq "$code" ] || fail "$what: exit status $status, expected $code; output: $out"
  for part in "${parts[@]}"; do
    grep -qF -- "$part" <<<"$out" || fail "$what: expected '$part' in: $out"
  done
  [ "$(snapshot)" = "$before" ] ||
    fail "$what: files changed: $(diff <(echo "$before") <(snapshot) | head -5)"
  echo "ok: $what -> $(grep -F -- "${parts[-1]}" <<<"$out" | head -1 | cut -c1-160)"
}

# tiny_config FILE OUTPUT_DIR [EXTRA_TOML]: a run config that trains a 4-channel, depth-2 UNet
# on ./shards in seconds; EXTRA_TOML lines go to its [train] table.
tiny_config() {
  cat > "$1" <<TOML
[run]
output_dir = "$2"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 32
[model]
base_channels = 4
depth = 2
[train]
epochs = 1
batch_size = 2
threads = 1
${3:-}
TOML
}

# mpi_test_setup DUNET MPIEXEC: sets DUNET, MPIEXEC and loopback-only MPI settings, and moves
# into a scratch folder WORK that is removed (with any process still using it) on exit.
mpi_test_setup() {
  BY_RANK=$(realpath "$(dirname "${BASH_SOURCE[0]}")/by_rank.sh")  # a command line per rank
  DUNET=$(realpath "$1")
  MPIEXEC=$2
  export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  WORK=$(mktemp -d)
  trap 'pkill -9 -f "config $WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  cd "$WORK"
}

# SLURM job queries. SLURM_CLIENT (an array, empty by default) prefixes every client command,
# e.g. (on_node node1) to ask from a node of the multi-node test cluster.
SLURM_CLIENT=()
job_state() {
  "${SLURM_CLIENT[@]}" scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' |
    cut -d= -f2
}
wait_done() {  # wait_done JOB TIMEOUT_S -> prints the final state
  local end=$(( $(date +%s) + $2 )) st
  while :; do
    st=$(job_state "$1")
    case "$st" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
    [ "$(date +%s)" -lt "$end" ] || { st=WAIT_TIMEOUT; break; }
    sleep 0.5
  done
  echo "$st"
}
