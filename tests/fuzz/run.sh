#!/usr/bin/env bash
# build | run NAME SECONDS: builds the libFuzzer targets with clang (own build tree), or runs
# one for a bounded time on a scratch copy of its seed corpus (the committed corpus is never
# written). A crash, leak or sanitizer report fails the run and leaves the input in the log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${DUNET_FUZZ_BUILD_DIR:-$HERE/../../build-fuzz}
case "${1:-}" in
  build)
    CXX=$(command -v clang++)
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" > "$BUILD.configure.log" 2>&1 ||
      { cat "$BUILD.configure.log"; exit 1; }
    cmake --build "$BUILD" -j "$(nproc)"
    ;;
  run)
    name=$2 seconds=$3
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp -r "$HERE/corpus/$name" "$work/corpus"
    # leak detection off: OpenCV and HDF5 keep global caches for the life of the process.
    ASAN_OPTIONS=detect_leaks=0 "$BUILD/${name}_fuzzer" -max_total_time="$seconds" \
      -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix="$work/" \
      "$work/corpus" 2>&1 | tail -25
    ;;
  *) echo "usage: $0 build | run NAME SECONDS" >&2; exit 2 ;;
esac
