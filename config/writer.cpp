#include "config/writer.h"

#include <spdlog/fmt/fmt.h>
#include <toml++/toml.h>
#include <cmath>
#include <sstream>

#include "config/schema.h"

namespace dunet::config {

namespace {

class WriteVisitor final : public ConfigVisitor {
 public:
  void section(std::string_view name, std::string_view doc) override {
    if (out_.tellp() > 0) out_ << "\n";
    out_ << "# " << doc << "\n[" << name << "]\n";
  }
  void field(const FieldSpec& spec, int64_t& value) override {
    write(spec, toml::value(value), /*number=*/true);
  }
  void field(const FieldSpec& spec, double& value) override {
    // Shortest text that reads back to the same double, always with a '.' or exponent so
    // that TOML keeps it a float.
    std::string text = fmt::format("{}", value);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    write(spec, text, /*number=*/true);  // a std::string streams unquoted, unlike toml::value
  }
  void field(const FieldSpec& spec, bool& value) override { write(spec, toml::value(value)); }
  void field(const FieldSpec& spec, std::string& value) override {
    write(spec, toml::value(value));
  }
  void field(const FieldSpec& spec, std::vector<std::string>& value) override {
    toml::array array;
    for (const auto& item : value) array.push_back(item);
    write(spec, array);
  }

  std::string text() const { return out_.str(); }

 private:
  template <typename Node>
  void write(const FieldSpec& spec, const Node& node, bool number = false) {
    std::ostringstream assignment;
    assignment << spec.key << " = " << node;
    const std::string line = assignment.str();
    out_ << line << std::string(std::max<int>(1, 30 - static_cast<int>(line.size())), ' ');
    out_ << "# " << spec.doc;
    // Numbers show their range, as the loader enforces it.
    if (number && (std::isfinite(spec.min) || std::isfinite(spec.max))) {
      out_ << " [" << fmt::format("{}", spec.min) << ", " << fmt::format("{}", spec.max) << "]";
    }
    if (!spec.choices.empty()) {
      out_ << " (";
      for (size_t i = 0; i < spec.choices.size(); ++i) out_ << (i ? " | " : "") << spec.choices[i];
      out_ << ")";
    }
    out_ << "\n";
  }

  std::ostringstream out_;
};

}  // namespace

std::string to_toml(const RunConfig& config) {
  RunConfig copy = config;  // the visitor takes mutable references; printing changes nothing
  WriteVisitor visitor;
  visit_config(copy, visitor);
  return visitor.text();
}

}  // namespace dunet::config
