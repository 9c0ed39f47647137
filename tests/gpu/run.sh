#!/usr/bin/env bash
# The GPU check, for a machine with one NVIDIA GPU, CUDA, PyTorch (its bundled LibTorch and
# NCCL), CMake and ninja, and no package registry:
#   tests/gpu/run.sh [OUT_DIR]
# 1. builds dunet's model, kernels, checkpoints, mixed precision, NCCL communicator and gradient
#    reducer against PyTorch's LibTorch (tests/gpu/CMakeLists.txt), with the folder that
#    tests/gpu/pack.sh made on a Debian machine (GoogleTest, spdlog, fmt, xxhash.h);
# 2. runs the `gpu` CTest label (tests/gpu/gpu_test.cpp);
# 3. prints the GPU figures (gpu_bench): base-64 training images/s at 256x256 per precision and
#    the inference latency.
# Results go to OUT_DIR (default $OUT, else build-gpu/results): build.log, ctest.log, bench.txt.
# Environment: PYTHON (python3), DUNET_GPU_PACK (build/gpu-pack), DUNET_GPU_BUILD (build-gpu),
# DUNET_GPU_CMAKE_ARGS (more CMake arguments).
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$(pwd)
PYTHON=${PYTHON:-python3}
PACK=$(realpath -m "${DUNET_GPU_PACK:-build/gpu-pack}")
BUILD=$(realpath -m "${DUNET_GPU_BUILD:-build-gpu}")
RESULTS=$(realpath -m "${1:-${OUT:-$BUILD/results}}")
mkdir -p "$BUILD" "$RESULTS"
log() { printf '==> [gpu] %s\n' "$*" | tee -a "$RESULTS/summary.txt" >&2; }
die() { log "FAILED: $*"; exit 1; }

[ -f "$PACK/googletest/CMakeLists.txt" ] || die "no pack at $PACK (make it with tests/gpu/pack.sh)"
command -v cmake > /dev/null || die "cmake is missing"
command -v ninja > /dev/null || die "ninja is missing"

# PyTorch's LibTorch and the NCCL it bundles (the nvidia-nccl wheel, or beside libtorch).
# DUNET_TORCH_PREFIX, DUNET_NCCL_INCLUDE and DUNET_NCCL_LIBRARY name another CUDA LibTorch
# instead (./dunet.sh build-cuda compiles the check against Debian's).
if [ -n "${DUNET_TORCH_PREFIX:-}" ]; then
  TORCH_PREFIX=$DUNET_TORCH_PREFIX TORCH_VERSION=system TORCH_CUDA=system
  NCCL_INCLUDE=${DUNET_NCCL_INCLUDE:?} NCCL_LIB=${DUNET_NCCL_LIBRARY:?}
else
read -r TORCH_PREFIX TORCH_VERSION TORCH_CUDA < <("$PYTHON" - <<'PY'
import torch
print(torch.utils.cmake_prefix_path, torch.__version__, torch.version.cuda or "none")
PY
) || die "$PYTHON cannot import torch"
[ "$TORCH_CUDA" != none ] || die "PyTorch $TORCH_VERSION is a CPU build"
read -r NCCL_INCLUDE NCCL_LIB < <("$PYTHON" - <<'PY'
import glob, os
roots = []
try:
    import nvidia.nccl
    roots += list(nvidia.nccl.__path__)
except ImportError:
    pass
import torch
roots.append(os.path.dirname(torch.__file__))
for root in roots:
    headers = glob.glob(os.path.join(root, "include", "nccl.h"))
    libs = sorted(glob.glob(os.path.join(root, "lib", "libnccl.so*")))
    if headers and libs:
        print(os.path.dirname(headers[0]), libs[0])
        break
else:
    for inc, lib in (("/usr/include", "/usr/lib/x86_64-linux-gnu/libnccl.so.2"),
                     ("/usr/local/cuda/include", "/usr/local/cuda/lib64/libnccl.so.2")):
        if os.path.exists(os.path.join(inc, "nccl.h")) and os.path.exists(lib):
            print(inc, lib)
            break
PY
) || true
fi
[ -n "${NCCL_LIB:-}" ] || die "no nccl.h and libnccl next to PyTorch or CUDA"
log "PyTorch $TORCH_VERSION (CUDA $TORCH_CUDA), LibTorch from $TORCH_PREFIX, NCCL $NCCL_LIB"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader | sed 's/^/gpu: /' | tee -a "$RESULTS/summary.txt" >&2 || true

log "building in $BUILD"
cmake -S "$SRC/tests/gpu" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DDUNET_GPU_PACK="$PACK" \
  -DNCCL_INCLUDE_DIR="$NCCL_INCLUDE" -DNCCL_LIBRARY="$NCCL_LIB" ${DUNET_GPU_CMAKE_ARGS:-} \
  > "$RESULTS/build.log" 2>&1 || { tail -40 "$RESULTS/build.log"; die "configure (build.log)"; }
cmake --build "$BUILD" -j "$(nproc)" >> "$RESULTS/build.log" 2>&1 ||
  { grep -m20 -E "error|Error" "$RESULTS/build.log"; die "build (build.log)"; }

log "running the gpu label"
status=0
(cd "$BUILD" && ctest -L gpu -V --timeout 600) > "$RESULTS/ctest.log" 2>&1 ||
  status=$?
grep -E "^\[ +(OK|FAILED|SKIPPED) +\]|tests passed" "$RESULTS/ctest.log" |
  tee -a "$RESULTS/summary.txt" >&2 || true

log "GPU figures"
bench=0
"$BUILD/gpu_bench" > "$RESULTS/bench.txt" 2>&1 || bench=$?
[ "$bench" -ne 77 ] || bench=0  # no GPU: nothing to measure, and nothing claimed
tee -a "$RESULTS/summary.txt" < "$RESULTS/bench.txt" >&2
[ "$status" -eq 0 ] || die "gpu tests (ctest.log)"
[ "$bench" -eq 0 ] || die "gpu_bench exited with $bench"
log "done: $RESULTS"
