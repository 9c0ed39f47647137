// Fuzzes the config loader: any text must give a RunConfig or a ConfigError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    dunet::config::load_config_text(text, "fuzz.toml");
  } catch (const dunet::ConfigError&) {
  }
  // Overrides go through the same path, from the command line.
  try {
    dunet::config::load_config_text("", "fuzz.toml", {text});
  } catch (const dunet::ConfigError&) {
  }
  return 0;
}
