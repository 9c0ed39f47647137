#!/usr/bin/env bash
# A test cluster of N "nodes" on this machine. Each node is a network namespace with its own
# interface (eth0) and address, a UTS namespace with its own hostname, and a mount namespace
# with its own /dev/shm, /run and /etc/hosts (bind mounts of folders and files under the
# cluster's folder; the host's are untouched), and a TMPDIR of its own. The nodes' links meet at a bridge that lives in a
# namespace of its own, so the cluster has no route to the host's network or to any other
# address. Everything else (the source tree, the build, the test's folder) is shared between
# the nodes, as a cluster's network file system is.
#   cluster.sh up DIR N              make node1..nodeN (10.97.0.1..N/24); the state lives in DIR
#   cluster.sh exec DIR NODE CMD...  run CMD on NODE in the current folder, as ssh would
#   cluster.sh rsh DIR [OPTS] NODE WORDS...  the same, for mpirun's rsh agent (words joined
#                                    and run by bash, as ssh runs a remote command)
#   cluster.sh link DIR NODE up|down cut or restore a node's link
#   cluster.sh pids DIR NODE         the processes running on NODE (its network namespace)
#   cluster.sh down DIR              stop every process on the nodes, remove what up made
# `up` writes DIR/hostfile (N slots per node left to the caller: see mpirun_on), DIR/hosts and
# DIR/rsh (an agent for OpenMPI's plm_rsh_agent). Needs root, iproute2 and util-linux.
set -euo pipefail

die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: cluster.sh up|exec|rsh|link|pids|down DIR ..."
ACTION=$1
DIR=$(realpath -m "$2")
shift 2
SELF=$(realpath "$0")

# Namespace names carry a hash of DIR, so that clusters of parallel tests never meet.
ID=dn$(printf '%s' "$DIR" | md5sum | cut -c1-6)
SWITCH_NS=$ID-sw
node_ns() { echo "$ID-$1"; }
holder_pid() {
  local file="$DIR/nodes/$1/holder.pid"
  [ -f "$file" ] || die "no node '$1' in the cluster at $DIR (nodes: $(ls "$DIR/nodes" 2>/dev/null | tr '\n' ' '))"
  cat "$file"
}

# The process that keeps a node's UTS and mount namespaces alive, inside its network
# namespace; what runs on the node later joins its namespaces (nsenter).
start_holder() {
  local node=$1 home=$DIR/nodes/$1
  mkdir -p "$home/tmp" "$home/run" "$home/log"
  chmod 1777 "$home/tmp"
  # nsenter rather than `ip netns exec`, which would mount a sysfs of the node's network over
  # /sys and hide /sys/fs/cgroup, which slurmd needs.
  nsenter --net="/run/netns/$(node_ns "$node")" unshare --uts --mount --propagation private -- \
    bash -c 'set -e
      echo "$1" > /proc/sys/kernel/hostname
      mount --bind "$2/hosts" /etc/hosts
      mount --bind "$3/run" /run
      mount -t tmpfs -o mode=1777,size=2g tmpfs /dev/shm
      echo $$ > "$3/holder.pid.new"
      mv "$3/holder.pid.new" "$3/holder.pid"
      exec sleep infinity' _ "$node" "$DIR" "$home" </dev/null >"$home/log/holder.log" 2>&1 &
  for _ in $(seq 100); do [ -f "$home/holder.pid" ] && return 0; sleep 0.05; done
  die "node $node did not start: $(cat "$home/log/holder.log")"
}

cluster_up() {
  local count=$1 k
  [[ "$count" =~ ^[1-9]$ ]] || die "up: the number of nodes must be 1 to 9, got '$count'"
  [ "$(id -u)" -eq 0 ] || die "up: needs root (network namespaces)"
  [ ! -e "/run/netns/$SWITCH_NS" ] || die "up: a cluster already runs at $DIR (cluster.sh down $DIR)"
  mkdir -p "$DIR/nodes"
  : > "$DIR/hosts.new"
  printf '127.0.0.1 localhost\n' >> "$DIR/hosts.new"
  for k in $(seq "$count"); do printf '10.97.0.%d node%d\n' "$k" "$k" >> "$DIR/hosts.new"; done
  mv "$DIR/hosts.new" "$DIR/hosts"
  cat > "$DIR/rsh" <<EOF
#!/usr/bin/env bash
exec "$SELF" rsh "$DIR" "\$@"
EOF
  chmod +x "$DIR/rsh"
  ip netns add "$SWITCH_NS"
  ip -n "$SWITCH_NS" link add br0 type bridge
  ip -n "$SWITCH_NS" link set br0 up
  for k in $(seq "$count"); do
    local ns
    ns=$(node_ns "node$k")
    ip netns add "$ns"
    ip -n "$SWITCH_NS" link add "port$k" type veth peer name eth0 netns "$ns"
    ip -n "$SWITCH_NS" link set "port$k" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.97.0.$k/24" dev eth0
    ip -n "$ns" link set eth0 up
    start_holder "node$k"
  done
  # The links come up in the background; wait until node1 reaches every node.
  for k in $(seq "$count"); do
    local reached=0
    for _ in $(seq 100); do
      if node_reaches node1 "10.97.0.$k"; then reached=1; break; fi
      sleep 0.1
    done
    [ $reached -eq 1 ] || die "up: node1 cannot reach node$k (10.97.0.$k)"
  done
  echo "cluster at $DIR: $(seq -f 'node%g' -s ' ' "$count") (10.97.0.0/24)"
}

# node_reaches NODE ADDRESS: a TCP connection attempt from NODE; a refused connection proves the
# address answers (no ping in minimal installs).
node_reaches() {
  local out
  out=$(ip netns exec "$(node_ns "$1")" timeout 2 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1) && return 0
  grep -q "refused" <<<"$out"
}

cluster_exec() {
  local node=$1 pid
  shift
  pid=$(holder_pid "$node")
  # --root: the holder's root, which is a chroot's where the tests run in one (Debian 13 CI).
  # TMPDIR rather than a /tmp of its own, which would hide a shared folder under /tmp.
  exec nsenter --target "$pid" --net --uts --mount --root -- \
    env -C "$PWD" TMPDIR="$DIR/nodes/$node/tmp" "$@"
}

# OpenMPI calls its agent as `agent [ssh options] HOST WORDS...` and expects the words to run
# in a shell on HOST, as ssh does.
cluster_rsh() {
  while [ $# -gt 0 ] && [[ "$1" == -* ]]; do shift; done
  [ $# -ge 2 ] || die "rsh: expected a node and a command"
  local node=$1
  shift
  cluster_exec "$node" bash -c "$*"
}

cluster_link() {
  [ $# -eq 2 ] && [[ "$2" == up || "$2" == down ]] || die "usage: cluster.sh link DIR NODE up|down"
  holder_pid "$1" > /dev/null
  ip -n "$(node_ns "$1")" link set eth0 "$2"
}

# Stops only what runs in this cluster's namespaces, then removes them and the node folders.
cluster_down() {
  local ns pids round
  for ns in $(ip netns list | awk '{print $1}' | grep "^$ID-" || true); do
    for round in TERM KILL; do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -n "$pids" ] || break
      kill -s "$round" $pids 2>/dev/null || true
      for _ in $(seq 50); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$DIR/nodes" "$DIR/hosts" "$DIR/rsh"
}

case "$ACTION" in
  up) [ $# -eq 1 ] || die "usage: cluster.sh up DIR N"; cluster_up "$1" ;;
  exec) [ $# -ge 2 ] || die "usage: cluster.sh exec DIR NODE CMD..."; cluster_exec "$@" ;;
  rsh) cluster_rsh "$@" ;;
  link) cluster_link "$@" ;;
  pids) [ $# -eq 1 ] || die "usage: cluster.sh pids DIR NODE"; holder_pid "$1" > /dev/null
    ip netns pids "$(node_ns "$1")" ;;
  down) cluster_down ;;
  *) die "unknown action '$ACTION' (up, exec, rsh, link, pids, down)" ;;
esac
