#!/usr/bin/env bash
# slurm/local_cluster.sh keeps to its folder: the host's SLURM and munge files are unchanged,
# daemons that ran before still run, its own daemons answer on its own SLURM_CONF, and after
# `stop` none of them is left.
# Usage: private_cluster.sh PATH_TO_LOCAL_CLUSTER_SH
source "$(dirname "$0")/../e2e/lib.sh"
CLUSTER=$(realpath "$1")
WORK=$(mktemp -d)
trap 'bash "$CLUSTER" stop "$WORK/cluster" > /dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
cd "$WORK"

# (Folders that do not exist on this host are no error: /run/munge exists only once munged ran.)
host_files() { { find /etc/slurm /etc/munge /run/munge -type f -print0 2>/dev/null || true; } | sort -z | xargs -0 -r md5sum; }
daemons() { pgrep -x 'munged|slurmctld|slurmd' | sort || true; }
files_before=$(host_files)
daemons_before=$(daemons)

bash "$CLUSTER" start "$WORK/cluster" > start.log 2>&1 || fail "start: $(cat start.log)"
SLURM_CONF=$WORK/cluster/slurm.conf sinfo -h -o '%T' | grep -q idle || fail "its node is not idle"
for f in slurmctld slurmd munge/munged; do
  kill -0 "$(cat "$WORK/cluster/$f.pid")" || fail "$f is not running from its own pid file"
done
own=$(cat "$WORK/cluster/slurmctld.pid" "$WORK/cluster/slurmd.pid" "$WORK/cluster/munge/munged.pid")
grep -q "^AuthInfo=socket=$WORK/cluster/munge/munge.socket$" "$WORK/cluster/slurm.conf" ||
  fail "slurm.conf does not use its own munge socket"
bash "$CLUSTER" stop "$WORK/cluster" > /dev/null
for p in $own; do ! kill -0 "$p" 2>/dev/null || fail "its daemon $p still runs after stop"; done
[ "$(host_files)" = "$files_before" ] || fail "files under /etc/slurm, /etc/munge or /run/munge changed"
for p in $daemons_before; do kill -0 "$p" 2>/dev/null || fail "a daemon that ran before ($p) was stopped"; done
echo "ok: the test cluster is private to its folder"
