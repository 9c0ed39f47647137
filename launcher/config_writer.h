// Prints a RunConfig back as complete, commented TOML that load_config_text reads unchanged.
// Used by `dunet config --defaults` and for the resolved config stored in every run folder.
#pragma once

#include <string>

#include "launcher/run_config.h"

namespace dunet::launcher {

std::string to_toml(const RunConfig& config);

}  // namespace dunet::launcher
