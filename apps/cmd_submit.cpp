// `dunet submit FILE`: a SLURM batch job that trains FILE's run (see launcher/job_script.h).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "apps/commands.h"
#include "config/loader.h"
#include "config/writer.h"
#include "core/durable_write.h"
#include "core/error.h"
#include "launcher/job_script.h"

namespace dunet::apps {

namespace fs = std::filesystem;

namespace {

struct SubmitArgs {
  fs::path config;
  bool dry_run = false;
  std::optional<int64_t> nodes, gpus_per_node;
  std::optional<std::string> time, partition, account;
  std::vector<std::string> set;
};

// A TOML basic string, so any text reaches the validator as the string it is.
std::string toml_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

void run_submit(const SubmitArgs& args) {
  std::vector<std::string> overrides = args.set;
  if (args.nodes) overrides.push_back("slurm.nodes=" + std::to_string(*args.nodes));
  if (args.gpus_per_node) {
    overrides.push_back("slurm.gpus_per_node=" + std::to_string(*args.gpus_per_node));
  }
  if (args.time) overrides.push_back("slurm.time=" + toml_string(*args.time));
  if (args.partition) overrides.push_back("slurm.partition=" + toml_string(*args.partition));
  if (args.account) overrides.push_back("slurm.account=" + toml_string(*args.account));
  const config::RunConfig config = config::load_config_file(args.config, overrides);
  const launcher::JobFiles files = launcher::job_files(config.run.name, config.run.output_dir);
  const std::string dunet = fs::read_symlink("/proc/self/exe").string();
  const std::string script =
      launcher::render_job_script(config.slurm, config.run.name, dunet, files);
  if (args.dry_run) {
    std::cout << script;
    return;
  }
  fs::create_directories(files.script.parent_path());
  write_file_durably(files.config, config::to_toml(config));
  write_file_durably(files.script, script);
  fs::permissions(files.script, fs::perms::owner_exec, fs::perm_options::add);
  fs::remove(files.lost_counter);  // a new submission gets all its requeues for lost nodes
  const std::string job = launcher::submit_job(files.script);
  std::string log = files.log.string();
  log.replace(log.find("%j"), 2, job);
  std::cout << "job " << job << "\nscript " << files.script.string() << "\nlog " << log << "\n";
}

}  // namespace

void add_submit_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("submit", "Train FILE's run as a SLURM batch job");
  auto args = std::make_shared<SubmitArgs>();
  cmd->add_option("config", args->config, "Run config (TOML) with an optional [slurm] table")
      ->required();
  cmd->add_flag("--dry-run", args->dry_run, "Print the sbatch script; submit nothing");
  cmd->add_option("--nodes", args->nodes, "Same as --set slurm.nodes=N");
  cmd->add_option("--gpus-per-node", args->gpus_per_node, "Same as --set slurm.gpus_per_node=G");
  cmd->add_option("--time", args->time, "Time limit, e.g. 02:00:00");
  cmd->add_option("--partition", args->partition, "SLURM partition");
  cmd->add_option("--account", args->account, "SLURM account");
  cmd->add_option("--set", args->set, "Override any config key, as for `dunet train`");
  cmd->callback([args] { run_submit(*args); });
}

}  // namespace dunet::apps
