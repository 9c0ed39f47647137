#!/usr/bin/env bash
# The build's side of the layering: with a room's own include root (cmake/Rooms.cmake), an
# include of a room it may not see does not even preprocess, while its allowed rooms do.
#   build_refuses_back_arrow.sh CXX BUILD_DIR
set -euo pipefail
cxx=$1 rooms=$(cd "$2" && pwd)/rooms
# From an empty folder: "room/file.h" is looked up beside the including file first.
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
cd "$empty"
preprocesses() {  # target, include line
  printf '%s\n' "$2" | "$cxx" -std=c++17 -E -I "$rooms/$1" -x c++ - -o /dev/null 2>/dev/null
}
check() {  # target, include, expected (yes/no)
  if preprocesses "$1" "#include \"$2\""; then got=yes; else got=no; fi
  [ "$got" = "$3" ] || { echo "FAIL: $1 including $2: expected $3, got $got"; exit 1; }
}
check dunet_model model/model_config.h yes
check dunet_model core/error.h yes
check dunet_model trainer/train_config.h no
check dunet_model data/data_config.h no
check dunet_model kernels/cpu_kernels.h no        # only kernels/fast_paths.h is its door
check dunet_launcher trainer/train_config.h no     # the launcher knows no training
check dunet_launcher config/run_config.h no
check dunet_infer trainer/train_config.h no
check dunet_data model/model_config.h no
check dunet_config trainer/train_config.h yes
check dunet_trainer config/run_config.h no         # only config/ gathers the settings
echo "ok: each room's include root shows just the rooms it may include"
