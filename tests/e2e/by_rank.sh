#!/usr/bin/env bash
# by_rank.sh CMD0... :: CMD1...   runs CMD0 on MPI rank 0 and CMD1 on every other rank.
# What MPMD's `mpirun -n 1 CMD0 : -n 1 CMD1` does; OpenMPI 5.0.7's mpirun (Debian 13)
# crashes on that syntax, so the tests start one program under mpirun and split here.
set -euo pipefail
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}
args=("$@")
split=-1
for i in "${!args[@]}"; do [ "${args[$i]}" = "::" ] && { split=$i; break; }; done
[ "$split" -ge 0 ] || { echo "by_rank.sh: no :: between the two command lines" >&2; exit 2; }
if [ "$rank" = 0 ]; then exec "${args[@]:0:split}"; fi
exec "${args[@]:split+1}"
