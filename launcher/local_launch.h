// `dunet launch`: runs `mpirun -n N dunet train ...` on this machine with loopback-only MPI
// settings, forwards stop signals as SIGUSR1 (so ranks checkpoint and stop instead of being
// killed), and returns the job's exit status.
#pragma once

#include <string>
#include <vector>

namespace dunet::launcher {

struct LaunchOptions {
  int processes = 0;  // 0 = one per visible GPU, else one per core
  std::string mpirun = "mpirun";
  std::vector<std::string> train_args;  // after `dunet train`
};

// The processes `dunet launch` starts when -n is not given.
int default_process_count();

// The full command line, for logs and tests.
std::vector<std::string> launch_command(const LaunchOptions& options, const std::string& dunet);

// Runs the job and returns its exit status (128 + signal if mpirun was killed).
int run_local_job(const LaunchOptions& options);

}  // namespace dunet::launcher
