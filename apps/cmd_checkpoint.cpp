// `dunet checkpoint inspect PATH`: prints what a checkpoint holds and whether it is intact.
#include <iostream>

#include "apps/commands.h"
#include "apps/exit_code.h"
#include "checkpoint/inspect.h"

namespace dunet::apps {

void add_checkpoint_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("checkpoint", "Look into checkpoints");
  cmd->require_subcommand(1);
  auto* inspect = cmd->add_subcommand(
      "inspect", "Epoch, step, metrics, config, world size and checksum status of a checkpoint");
  auto path = std::make_shared<std::filesystem::path>();
  inspect->add_option("path", *path, "Checkpoint file (.pt)")->required();
  inspect->callback([path] {
    const std::string report = checkpoint::describe_checkpoint(*path);
    std::cout << report;
    if (report.find("checksum         ok") == std::string::npos) throw ExitCode{3};
  });
}

}  // namespace dunet::apps
