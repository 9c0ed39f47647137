// Reads a run's TOML file into a validated RunConfig.
// Unknown keys (with a "did you mean" hint), wrong types and out-of-range values are all
// reported at once, each with its key path and source line, as one ConfigError.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/run_config.h"

namespace dunet::config {

// `overrides` are "section.key=value" assignments (from `--set`); the value is TOML
// (`5`, `"a"`, `[1, 2]`), and text that is not valid TOML is taken as a string.
RunConfig load_config_file(const std::filesystem::path& path,
                           const std::vector<std::string>& overrides = {});

// Same, from text in memory; `source_name` is used in messages in place of a file name.
RunConfig load_config_text(std::string_view toml_text, const std::string& source_name,
                           const std::vector<std::string>& overrides = {});

}  // namespace dunet::config
