#!/usr/bin/env bash
# The layering check itself: a tree whose model/ includes trainer/ must fail, naming the file,
# the line and what model/ may include; the same tree without that include passes.
set -euo pipefail
check=$(dirname "$0")/check_includes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/model" "$work/trainer" "$work/core"
printf '#include "core/error.h"\n#include "model/a.h"\n' > "$work/model/a.cpp"
printf '#include "model/a.h"\n' > "$work/trainer/t.cpp"
"$check" "$work" > /dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }
printf '#include <vector>\n#include "trainer/t.h"\n' > "$work/model/b.cpp"
set +e
out=$("$check" "$work" 2>&1)
status=$?
set -e
[ $status -ne 0 ] || { echo "FAIL: model/ including trainer/ was accepted"; exit 1; }
grep -qF "model/b.cpp:2 includes trainer/: model/ may include only: core" <<<"$out" ||
  { echo "FAIL: unexpected message: $out"; exit 1; }
echo "ok: the layering check names a back arrow and accepts a clean tree"
