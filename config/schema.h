// The single list of every config key with its doc, range and allowed values.
// Loading, validation and `dunet config --defaults` all walk this list, so they cannot disagree.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "config/run_config.h"

namespace dunet::config {

struct FieldSpec {
  std::string_view section;
  std::string_view key;
  std::string_view doc;
  double min = -std::numeric_limits<double>::infinity();  // inclusive bounds for numbers
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string_view> choices;  // allowed values of a string; empty = any
  bool non_empty = false;                 // strings that must not be empty

  std::string path() const { return std::string(section) + "." + std::string(key); }
};

// Visits every section and key of a RunConfig in a fixed order. The loader reads into the
// referenced fields, the writer prints them.
class ConfigVisitor {
 public:
  virtual ~ConfigVisitor() = default;
  virtual void section(std::string_view name, std::string_view doc) = 0;
  virtual void field(const FieldSpec& spec, int64_t& value) = 0;
  virtual void field(const FieldSpec& spec, double& value) = 0;
  virtual void field(const FieldSpec& spec, bool& value) = 0;
  virtual void field(const FieldSpec& spec, std::string& value) = 0;
  virtual void field(const FieldSpec& spec, std::vector<std::string>& value) = 0;
};

void visit_config(RunConfig& config, ConfigVisitor& visitor);

// Rules that involve more than one key, as (key path, message) pairs; empty when all hold.
std::vector<std::pair<std::string, std::string>> cross_field_problems(const RunConfig& config);

}  // namespace dunet::config
