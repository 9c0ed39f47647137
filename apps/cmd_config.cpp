// `dunet config`: prints every key with its default, or checks a config file.
#include <iostream>

#include "apps/commands.h"
#include "config/loader.h"
#include "config/writer.h"
#include "core/error.h"

namespace dunet::apps {

void add_config_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print the default config, or check a config file");
  auto defaults = std::make_shared<bool>(false);
  auto check = std::make_shared<std::filesystem::path>();
  auto set = std::make_shared<std::vector<std::string>>();
  auto* defaults_flag =
      cmd->add_flag("--defaults", *defaults, "Print a complete, commented TOML with defaults");
  auto* check_opt = cmd->add_option("--check", *check,
                                    "Validate FILE and print it resolved (defaults filled in)");
  cmd->add_option("--set", *set, "Overrides applied to --check, as for `dunet train`");
  defaults_flag->excludes(check_opt);
  cmd->callback([=] {
    DUNET_CHECK(*defaults || !check->empty(), Error, "config: give --defaults or --check FILE");
    const config::RunConfig config =
        *defaults ? config::RunConfig{} : config::load_config_file(*check, *set);
    std::cout << "# dunet run configuration (every key; `dunet train --config FILE`)\n"
              << config::to_toml(config);
  });
}

}  // namespace dunet::apps
