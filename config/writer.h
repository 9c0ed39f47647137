// Prints a RunConfig back as complete, commented TOML that load_config_text reads unchanged.
// Used by `dunet config --defaults` and for the resolved config stored in every run folder.
#pragma once

#include <string>

#include "config/run_config.h"

namespace dunet::config {

std::string to_toml(const RunConfig& config);

}  // namespace dunet::config
