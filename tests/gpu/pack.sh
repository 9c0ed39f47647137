#!/usr/bin/env bash
# Packs what the GPU check needs besides PyTorch, CUDA, CMake and ninja into one folder that
# travels with the source tree to a machine without a package registry:
#   tests/gpu/pack.sh [DIR]      (default build/gpu-pack)
# GoogleTest's sources, spdlog and fmt (used header-only there) and xxhash.h (inlined), all
# copied from this machine's Debian packages (googletest, libspdlog-dev, libfmt-dev,
# libxxhash-dev). About 5 MiB. tests/gpu/run.sh uses it where the machine lacks them.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/gpu-pack}
for path in /usr/src/googletest /usr/include/spdlog /usr/include/fmt /usr/include/xxhash.h; do
  [ -e "$path" ] || { echo "tests/gpu/pack.sh: $path is missing (run ./dunet.sh deps)" >&2; exit 1; }
done
rm -rf "$out.partial"
mkdir -p "$out.partial/include"
cp -r /usr/src/googletest "$out.partial/googletest"
cp -r /usr/include/spdlog /usr/include/fmt /usr/include/xxhash.h "$out.partial/include/"
{
  echo "packed $(date -u +%F) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  dpkg-query -W -f='${Package} ${Version}\n' googletest libspdlog-dev libfmt-dev libxxhash-dev
} > "$out.partial/PACKED_FROM"
rm -rf "$out"
mv "$out.partial" "$out"
echo "$out: $(du -sh "$out" | cut -f1)"
