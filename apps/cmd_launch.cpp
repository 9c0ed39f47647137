// `dunet launch -n N --config FILE [train options]`: a data-parallel run on this machine.
#include <spdlog/spdlog.h>

#include "apps/commands.h"
#include "apps/exit_code.h"
#include "launcher/local_launch.h"

namespace dunet::apps {

void add_launch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "launch",
      "Train with N processes on this machine (mpirun with loopback-only settings); "
      "other options go to `dunet train`");
  auto options = std::make_shared<launcher::LaunchOptions>();
  cmd->add_option("-n,--processes", options->processes,
                  "Processes (default: one per GPU, else one per core)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--mpirun", options->mpirun, "The MPI launcher")->capture_default_str();
  cmd->allow_extras();
  cmd->callback([options, cmd] {
    options->train_args = cmd->remaining();
    std::string line;
    for (const auto& arg : launcher::launch_command(*options, "dunet")) line += arg + " ";
    spdlog::info("launch: {}", line);
    const int status = launcher::run_local_job(*options);
    if (status != 0) throw ExitCode{status};
  });
}

}  // namespace dunet::apps
