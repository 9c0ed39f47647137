#!/usr/bin/env bash
# Fails on an #include that runs against the rooms' layering (docs/architecture.md). Each
# room's CMakeLists.txt names what it may include in one line, `dunet_room(<target> SEES ...)`:
# rooms ("data") or single files of a room ("kernels/fast_paths.h"). The build enforces the
# same lists through per-target include roots (cmake/Rooms.cmake); this check reads them from
# the sources alone, so it runs in CI before anything is compiled, and names file and line.
#   tests/layering/check_includes.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
declare -A sees=()
for cmake_file in "$root"/*/CMakeLists.txt; do
  room=$(basename "$(dirname "$cmake_file")")
  line=$(grep -E '^dunet_room\(' "$cmake_file" || true)
  [ -n "$line" ] || continue
  entries=$(sed -E 's/^dunet_room\([A-Za-z0-9_]+ SEES ([^)]*)\).*/\1/' <<<"$line")
  sees[$room]=" $entries "
done
[ ${#sees[@]} -gt 0 ] || { echo "layering: no dunet_room(...) line under $root" >&2; exit 1; }
problems=0
for room in "${!sees[@]}"; do
  while IFS= read -r hit; do
    file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}
    included=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$rest")
    target=${included%%/*}
    [ -n "${sees[$target]+set}" ] || continue  # not a room (tests/, a generated header)
    case "${sees[$room]}" in *" $target "* | *" $included "*) continue ;; esac
    allowed=$(xargs <<<"${sees[$room]}")
    echo "${file#"$root"/}:$line includes $included: $room/ may include only: $allowed" >&2
    problems=$((problems + 1))
  done < <(grep -Hn '^#include "[a-z_]*/' "$root/$room"/*.h "$root/$room"/*.cpp 2>/dev/null || true)
done
if [ $problems -gt 0 ]; then
  echo "layering: $problems include(s) run against the rooms' order" >&2
  exit 1
fi
echo "layering: every include of the ${#sees[@]} rooms follows their order"
