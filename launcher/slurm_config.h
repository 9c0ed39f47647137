// The [slurm] table: how `dunet submit` asks SLURM for resources. Plain struct with defaults;
// config/loader.cpp fills it, launcher/job_script.cpp validates and renders it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dunet::launcher {

struct SlurmConfig {
  int64_t nodes = 1;
  int64_t restart_nodes = 0;  // nodes to restart on after a lost node; 0 = `nodes` again
  int64_t gpus_per_node = 0;   // 0 = a CPU job
  int64_t tasks_per_node = 0;  // 0 = gpus_per_node, or 1 on CPU
  int64_t cpus_per_task = 1;
  std::string time = "01:00:00";  // SLURM time limit: [D-]HH:MM:SS, MM:SS or minutes
  std::string partition;
  std::string account;
  std::string qos;
  std::vector<std::string> extra_sbatch;  // more "--option=value" lines for #SBATCH
  std::vector<std::string> setup;         // shell lines run before training (module load ...)
  int64_t signal_margin_s = 180;          // SIGUSR1 this long before the time limit
  bool requeue = true;                    // requeue the job after a checkpoint-and-stop
  int64_t lost_node_requeues = 3;         // requeues after a lost rank or node, at most
};

}  // namespace dunet::launcher
