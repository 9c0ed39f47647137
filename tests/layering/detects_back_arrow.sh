#!/usr/bin/env bash
# The layering check itself: a tree whose model/ includes trainer/, or a file of kernels/
# other than its one door, must fail, naming the file, the line and what model/ may include;
# the same tree without those includes passes.
set -euo pipefail
check=$(dirname "$0")/check_includes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/model" "$work/trainer" "$work/core" "$work/kernels"
echo 'dunet_room(dunet_core SEES core)' > "$work/core/CMakeLists.txt"
echo 'dunet_room(dunet_kernels SEES core kernels)' > "$work/kernels/CMakeLists.txt"
echo 'dunet_room(dunet_model SEES core kernels/door.h model)' > "$work/model/CMakeLists.txt"
echo 'dunet_room(dunet_trainer SEES core kernels model trainer)' > "$work/trainer/CMakeLists.txt"
printf '#include "core/error.h"\n#include "kernels/door.h"\n#include "model/a.h"\n' \
  > "$work/model/a.cpp"
printf '#include "model/a.h"\n#include "kernels/inner.h"\n' > "$work/trainer/t.cpp"
"$check" "$work" > /dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }
expect_refusal() {  # file, text, expected message
  printf '#include <vector>\n%s\n' "$2" > "$work/$1"
  set +e
  out=$("$check" "$work" 2>&1)
  status=$?
  set -e
  rm "$work/$1"
  [ $status -ne 0 ] || { echo "FAIL: '$2' in $1 was accepted"; exit 1; }
  grep -qF "$3" <<<"$out" || { echo "FAIL: unexpected message: $out"; exit 1; }
}
expect_refusal model/b.cpp '#include "trainer/t.h"' \
  "model/b.cpp:2 includes trainer/t.h: model/ may include only: core kernels/door.h model"
expect_refusal model/c.cpp '#include "kernels/inner.h"' \
  "model/c.cpp:2 includes kernels/inner.h: model/ may include only: core kernels/door.h model"
"$check" "$work" > /dev/null || { echo "FAIL: the clean tree was refused afterwards"; exit 1; }
echo "ok: the layering check names a back arrow and a side door, and accepts a clean tree"
