#!/usr/bin/env bash
# A Debian 13 (trixie) root, made with debootstrap from the Debian registry this machine uses,
# and commands run inside it with this source tree mounted at /src:
#   scripts/debian13.sh root            make the root (or check the cached one)
#   scripts/debian13.sh run CMD [ARG]   run CMD in the root, in /src (e.g. ./dunet.sh test)
#   scripts/debian13.sh cuda-root       make the CUDA root: a copy of the root, for the CUDA
#                                       LibTorch (`./dunet.sh build-cuda` installs it there)
#   scripts/debian13.sh cuda-run CMD    run CMD in the CUDA root (builds go to build-cuda)
# The root is cached in $DUNET_DEBIAN13_ROOT (default /var/cache/dunet/debian13), the CUDA
# root beside it ($DUNET_DEBIAN13_CUDA_ROOT, default <root>-cuda); each is rebuilt from
# nothing when it is missing or was left half made. The team's ../shared folder, where
# there is one, is mounted read-only at /shared. Every mount lives in a private mount namespace
# of this script's own (unshare), so none outlives it and the host's are untouched.
# Needs root, debootstrap and unshare (util-linux).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DUNET_DEBIAN13_ROOT:-/var/cache/dunet/debian13}
CUDA_ROOT=${DUNET_DEBIAN13_CUDA_ROOT:-$ROOT-cuda}
SUITE=trixie
STAMP="$ROOT/.dunet-root-ready"

log() { printf '\033[1m==> [debian13] %s\033[0m\n' "$*" >&2; }
die() { printf 'scripts/debian13.sh: %s\n' "$*" >&2; exit 1; }

# The mirror the host's apt uses (deb822 sources or the classic list), so the root comes from
# the same registry.
host_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | head -1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot tell the host's Debian mirror from /etc/apt (set DUNET_DEBIAN_MIRROR)"
  echo "$uri"
}

install_host_tools() {
  command -v debootstrap >/dev/null && command -v unshare >/dev/null && return 0
  log "installing debootstrap on the host"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
    util-linux
}

make_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot)"
  if [ -f "$STAMP" ]; then return 0; fi
  install_host_tools
  local mirror=${DUNET_DEBIAN_MIRROR:-$(host_mirror)}
  local partial="$ROOT.partial"
  rm -rf "$partial"
  mkdir -p "$(dirname "$ROOT")"
  log "debootstrap $SUITE from $mirror into $partial (a few minutes)"
  debootstrap --variant=minbase "$SUITE" "$partial" "$mirror" > "$partial.log" 2>&1 || {
    tail -30 "$partial.log"; die "debootstrap failed (log: $partial.log)"; }
  rm -f "$partial.log"
  cat > "$partial/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -f "$partial/etc/apt/sources.list"
  # Packages installed in the root must not start their daemons (munge, slurm): the tests
  # start private ones themselves.
  printf '#!/bin/sh\nexit 101\n' > "$partial/usr/sbin/policy-rc.d"
  chmod +x "$partial/usr/sbin/policy-rc.d"
  rm -rf "$ROOT"
  mv "$partial" "$ROOT"
  touch "$STAMP"
}

# The CUDA root starts as a copy of the finished root; `./dunet.sh build-cuda` run inside it
# installs the CUDA LibTorch, which conflicts with the CPU one the tests of the root use.
make_cuda_root() {
  make_root
  [ -f "$CUDA_ROOT/.dunet-root-ready" ] && return 0
  log "copying $ROOT to $CUDA_ROOT"
  rm -rf "$CUDA_ROOT.partial"
  cp -a "$ROOT" "$CUDA_ROOT.partial"
  rm -rf "$CUDA_ROOT"
  mv "$CUDA_ROOT.partial" "$CUDA_ROOT"
}

# Runs CMD inside root ROOT with DUNET_BUILD_DIR=BUILD_DIR, in a mount namespace of its own:
# /proc, /dev, a fresh /dev/shm (OpenMPI's shared memory) and the source tree at /src.
#   run_in ROOT BUILD_DIR CMD [ARG...]
run_in() {
  local ROOT=$1 build_dir=$2
  shift 2
  # Name resolution as on the host: apt's mirror, and this host's own name (the SLURM tests'
  # node) must resolve inside the root too.
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  cp -L /etc/hosts "$ROOT/etc/hosts" 2>/dev/null || true
  mkdir -p "$ROOT/src" "$ROOT/shared"
  local quoted
  quoted=$(printf '%q ' "$@")
  unshare --mount --propagation private -- /bin/bash -euc "
    # The root a mount point of its own: \`ip netns\` (the multi-node tests) remounts / .
    mount --bind '$ROOT' '$ROOT'
    mount -t proc proc '$ROOT/proc'
    mount --rbind /dev '$ROOT/dev'
    mount -t tmpfs -o size=4g tmpfs '$ROOT/dev/shm'
    mount -t sysfs sysfs '$ROOT/sys' 2>/dev/null || true
    mount --bind '$SRC' '$ROOT/src'
    # The team's shared data beside the checkout (read-only), as on the host: ../shared.
    if [ -d '$SRC/../shared' ]; then
      mount --bind '$SRC/../shared' '$ROOT/shared'
      mount -o remount,bind,ro '$ROOT/shared'
    fi
    exec chroot '$ROOT' /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM=\${TERM:-dumb} CI=\${CI:-} DUNET_BUILD_DIR='$build_dir' \
      DUNET_SKIP_SANITIZER=\${DUNET_SKIP_SANITIZER:-0} \
      CCACHE_DIR=/root/.cache/ccache /bin/bash -c 'cd /src && exec $quoted'
  "
}

case "${1:-}" in
  root) make_root; log "root ready: $ROOT" ;;
  run) shift; [ $# -gt 0 ] || die "usage: scripts/debian13.sh run CMD [ARG...]"
    make_root; run_in "$ROOT" /src/build-debian13 "$@" ;;
  cuda-root) make_cuda_root; log "CUDA root ready: $CUDA_ROOT" ;;
  cuda-run) shift; [ $# -gt 0 ] || die "usage: scripts/debian13.sh cuda-run CMD [ARG...]"
    make_cuda_root; run_in "$CUDA_ROOT" /src/build-cuda "$@" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
