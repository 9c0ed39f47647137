// `dunet submit`: validates the [slurm] table, renders the sbatch script from
// slurm/dunet.sbatch.in (compiled in), and submits it with `sbatch --parsable`.
#pragma once

#include <filesystem>
#include <string>

#include "launcher/slurm_config.h"

namespace dunet::launcher {

// Throws ConfigError naming the [slurm] key and what was expected.
void validate_slurm(const SlurmConfig& slurm);

// Quotes a value for bash: 'text', with embedded quotes escaped.
std::string shell_quote(const std::string& text);

struct JobFiles {
  std::filesystem::path script;  // <output_dir>/slurm/<run>.sbatch
  std::filesystem::path config;  // <output_dir>/slurm/<run>.toml, the resolved config it trains
  std::filesystem::path log;     // <output_dir>/slurm-<jobid>.out
  std::filesystem::path lost_counter;  // <output_dir>/slurm/<run>.lost-node-requeues
};

// The script text of the job `run_name` asked for by `slurm`, training with `dunet` (an
// absolute path) from `files.config`.
std::string render_job_script(const SlurmConfig& slurm, const std::string& run_name,
                              const std::string& dunet, const JobFiles& files);

// Where the files of the job of run `run_name` writing to `output_dir` go (absolute paths).
JobFiles job_files(const std::string& run_name, const std::filesystem::path& output_dir);

// Runs `sbatch --parsable SCRIPT`; returns the job id or throws Error with sbatch's message.
std::string submit_job(const std::filesystem::path& script);

}  // namespace dunet::launcher
