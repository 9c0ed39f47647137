#!/usr/bin/env bash
# One entry point for set-up on Debian 12 or 13: installs what is missing, builds, and then
#   ./dunet.sh demo    synthetic nuclei -> prepare -> train a small UNet -> infer -> picture
#   ./dunet.sh test    every test through CTest, then unit + multi-rank tests under ASan + UBSan
#   ./dunet.sh build   install and build only
#   ./dunet.sh deps    install the Debian packages only
#   ./dunet.sh test-debian13   `test` inside a Debian 13 root made by scripts/debian13.sh
#   ./dunet.sh test-portable   every test in a build without the hand-written CPU kernels
#   ./dunet.sh build-cuda      the CUDA build (Debian 13's CUDA LibTorch and NCCL) in a Debian 13
#                              root, warnings as errors, then its unit and MPI tests (no GPU needed)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
BUILD_DIR=${DUNET_BUILD_DIR:-$ROOT/build}

# LibTorch CPU with OpenBLAS (the reference BLAS, libblas3, trains ~3x slower; it stays
# installed for the test that runs with it), MPI, serial thread-safe HDF5, TOML++, spdlog,
# CLI11, OpenCV, protobuf and Boost (CRC) for TensorBoard event files, GoogleTest, the build
# tools, and SLURM with munge for `dunet submit` and its
# tests (a local single-node cluster), iproute2 for the multi-node test cluster (network
# namespaces), clang with libFuzzer for the fuzz tests, and
# scikit-image for the test that checks `dunet eval` against an independent implementation,
# and PyTorch (python3-torch) for the test of `dunet export` and `dunet import`.
# The same names exist in Debian 12 and 13 (`clang` and `libclang-rt-dev` are each release's
# default LLVM: 14 and 19).
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread libblas3
  libopenmpi-dev openmpi-bin
  libhdf5-dev libtomlplusplus-dev libspdlog-dev libcli11-dev libgtest-dev nlohmann-json3-dev
  libxxhash-dev
  libopencv-dev
  libprotobuf-dev protobuf-compiler libboost-dev
  slurm-wlm munge
  iproute2
  python3-skimage python3-torch
  clang libclang-rt-dev
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  install_deps
  log "building in $BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUNET_WERROR=ON \
    ${DUNET_CMAKE_ARGS:-} > "$BUILD_DIR/configure.log" 2>&1 || {
    cat "$BUILD_DIR/configure.log"; exit 1; }
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

# Every MPI run stays on loopback and shared memory; root needs OpenMPI's explicit consent.
mpi_env() {
  export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

run_tests() {
  build
  mpi_env
  log "running the tests"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" --timeout 1200 "$@")
  [ "${DUNET_SKIP_SANITIZER:-0}" = 1 ] || run_sanitized_tests
}

# The CPU path built with AddressSanitizer + UndefinedBehaviorSanitizer; the unit and
# multi-rank tests run under both (any report fails). DUNET_SKIP_SANITIZER=1 skips it.
run_sanitized_tests() {
  local dir="$ROOT/build-asan"
  log "building with ASan + UBSan in $dir"
  mkdir -p "$dir"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUNET_SANITIZE=ON \
    -DDUNET_WITH_NCCL=OFF > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
  cmake --build "$dir" -j "$(nproc)" --target config_test data_prepare_test \
    data_loader_test model_test trainer_test mpi_comm_test mpi_train_test mpi_stall_program
  log "running the unit and multi-rank tests under ASan + UBSan"
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --output-on-failure -j "$(nproc)" --timeout 1200 -L "unit|mpi" -LE e2e)
}

# DUNET_CPU_KERNELS=OFF: LibTorch's operators compute everything (docs/numerics.md); every
# test must pass, the kernel-specific ones skip.
run_portable_tests() {
  install_deps
  local dir="$ROOT/build-portable"
  log "building without the hand-written CPU kernels in $dir"
  mkdir -p "$dir"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUNET_WERROR=ON \
    -DDUNET_CPU_KERNELS=OFF > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
  cmake --build "$dir" -j "$(nproc)"
  mpi_env
  (cd "$dir" && ctest --output-on-failure -j "$(nproc)" --timeout 1200 "$@")
}

# Debian 13's CUDA LibTorch (contrib, CUDA 12.4 from non-free) and NCCL. It conflicts with the
# CPU libtorch-dev, so it lives in a root of its own (scripts/debian13.sh cuda-root).
CUDA_PACKAGES=(libtorch-cuda-dev libnccl-dev nvidia-cuda-toolkit)

build_cuda() {
  if [ "${DUNET_IN_CUDA_ROOT:-0}" != 1 ]; then
    exec "$ROOT/scripts/debian13.sh" cuda-run env DUNET_IN_CUDA_ROOT=1 ./dunet.sh build-cuda "$@"
  fi
  # nvidia-cudnn only downloads cuDNN from NVIDIA's site after its licence question; without
  # internet that fails the install. Declined here: a generated stub stands in (below).
  echo "nvidia-cudnn nvidia-cudnn/question select I Do Not Agree" | debconf-set-selections
  local p cuda_list=("${CUDA_PACKAGES[@]}")
  for p in "${PACKAGES[@]}"; do [ "$p" = libtorch-dev ] || cuda_list+=("$p"); done
  PACKAGES=("${cuda_list[@]}")
  install_deps
  local stub="$BUILD_DIR/cudnn-stub" torch_cuda=/usr/lib/x86_64-linux-gnu/libtorch_cuda.so
  mkdir -p "$BUILD_DIR"
  if ! ldconfig -p | grep -q 'libcudnn.so.9 '; then
    log "no cuDNN on this machine: a stub libcudnn.so.9 for linking and CPU tests"
    "$ROOT/scripts/cudnn_stub.sh" "$torch_cuda" "$stub"
    export LD_LIBRARY_PATH="$stub${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  log "building against the CUDA LibTorch in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUNET_WERROR=ON \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$stub" ${DUNET_CMAKE_ARGS:-} \
    > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
  grep -q "NCCL backend enabled" "$BUILD_DIR/configure.log" || {
    grep "dunet:" "$BUILD_DIR/configure.log"; log "the NCCL backend was not enabled"; exit 1; }
  cmake --build "$BUILD_DIR" -j "$(nproc)"
  mpi_env
  log "running the unit and multi-rank tests with the CUDA LibTorch"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" --timeout 1200 -L "unit|mpi" -LE e2e "$@")
  # The GPU check compiles here too (against Debian's CUDA LibTorch instead of PyTorch's); its
  # tests skip without a GPU, so this proves the build of tests/gpu/run.sh, not its results.
  log "compiling the GPU check (tests/gpu/run.sh)"
  "$ROOT/tests/gpu/pack.sh" "$BUILD_DIR/gpu-pack"
  DUNET_TORCH_PREFIX=/usr DUNET_NCCL_INCLUDE=/usr/include \
    DUNET_NCCL_LIBRARY=/usr/lib/x86_64-linux-gnu/libnccl.so DUNET_GPU_PACK="$BUILD_DIR/gpu-pack" \
    DUNET_GPU_BUILD="$BUILD_DIR/gpu-check" \
    DUNET_GPU_CMAKE_ARGS="-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$stub -DDUNET_WERROR=ON" \
    "$ROOT/tests/gpu/run.sh" "$BUILD_DIR/gpu-check/results"
  log "CUDA build: built, unit and MPI tests passed, GPU check compiled (no GPU here)"
}

run_demo() {
  build
  local dunet="$BUILD_DIR/apps/dunet" demo="$ROOT/demo"
  cd "$ROOT"
  if [ ! -d "$demo/png" ]; then
    log "making 96 synthetic nuclei images in demo/png"
    "$dunet" synth --out "$demo/png" --count 96 --size 192x192 --seed 1
  fi
  if [ ! -f "$demo/prepared/manifest.json" ]; then  # none yet, or one of an older dunet
    log "preparing HDF5 shards in demo/prepared"
    "$dunet" prepare --input "$demo/png" --out "$demo/prepared" --shards 2 --val-fraction 0.2 \
      --overwrite
  fi
  log "training (configs/demo.toml)"
  "$dunet" train --config configs/demo.toml "$@"
  local image
  image=$(ls "$demo"/png/*/images/*.png | head -1)
  log "predicting $image"
  "$dunet" infer --model runs/demo/checkpoints/best.pt --image "$image" \
    --out "$demo/result/mask.png" --overlay "$demo/result/overlay.png"
  log "done: the picture (input | predicted mask | overlay) is $demo/result/overlay.png"
}

case "${1:-}" in
  demo) shift; run_demo "$@" ;;
  test) shift; run_tests "$@" ;;
  build) build ;;
  test-portable) shift; run_portable_tests "$@" ;;
  build-cuda) shift; build_cuda "$@" ;;
  test-debian13) shift; exec "$ROOT/scripts/debian13.sh" run ./dunet.sh test "$@" ;;
  deps) install_deps ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
