// Settings of the communication between training processes.
// Plain struct with defaults; config/loader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace dunet::launcher {

struct DistConfig {
  std::string backend = "auto";  // auto | mpi | nccl | local
  std::string device = "auto";   // auto (cuda:<local rank> when LibTorch sees GPUs) | cpu | cuda
  int64_t bucket_mb = 25;        // gradient bucket size for the all-reduce
  int64_t timeout_s = 300;       // a collective that takes longer aborts the run
  // The other ranks' wait for work that only rank 0 does (preparing --train-dir data,
  // writing a checkpoint); a wait that takes longer aborts the run.
  int64_t root_work_timeout_s = 3600;
};

}  // namespace dunet::launcher
