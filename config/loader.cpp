#include "config/loader.h"

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/did_you_mean.h"
#include "config/schema.h"
#include "core/error.h"

namespace dunet::config {

namespace {

constexpr std::string_view kOverrideSource = "--set";

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

std::string shown(const toml::node& node) {
  std::ostringstream out;
  node.visit([&out](const auto& concrete) { out << concrete; });
  std::string text = out.str();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string range_text(const FieldSpec& spec) {
  std::ostringstream out;
  const bool has_min = std::isfinite(spec.min);
  const bool has_max = std::isfinite(spec.max);
  if (has_min && has_max) {
    out << "between " << spec.min << " and " << spec.max;
  } else if (has_min) {
    out << ">= " << spec.min;
  } else if (has_max) {
    out << "<= " << spec.max;
  }
  return out.str();
}

// Reads values from the parsed table into the config and collects every problem found.
class LoadVisitor final : public ConfigVisitor {
 public:
  LoadVisitor(const toml::table& root, std::string source, std::set<std::string> overridden)
      : root_(root), source_(std::move(source)), overridden_(std::move(overridden)) {}

  void section(std::string_view name, std::string_view /*doc*/) override {
    known_sections_.emplace_back(name);
    const toml::node* node = root_.get(name);
    if (node != nullptr && !node->is_table()) {
      problem(*node, std::string(name),
              "expected a table [" + std::string(name) + "], got " + type_name(*node));
    }
  }

  void field(const FieldSpec& spec, int64_t& value) override {
    const toml::node* node = lookup(spec);
    if (node == nullptr) return;
    if (!node->is_integer()) return wrong_type(spec, *node, "an integer");
    const int64_t v = **node->as_integer();
    if (!in_range(spec, static_cast<double>(v))) {
      return problem(*node, spec.path(),
                     "expected an integer " + range_text(spec) + ", got " + std::to_string(v));
    }
    value = v;
  }

  void field(const FieldSpec& spec, double& value) override {
    const toml::node* node = lookup(spec);
    if (node == nullptr) return;
    if (!node->is_number()) return wrong_type(spec, *node, "a number");
    const double v = *node->value<double>();
    if (!std::isfinite(v) || !in_range(spec, v)) {
      return problem(*node, spec.path(),
                     "expected a number " + range_text(spec) + ", got " + shown(*node));
    }
    value = v;
  }

  void field(const FieldSpec& spec, bool& value) override {
    const toml::node* node = lookup(spec);
    if (node == nullptr) return;
    if (!node->is_boolean()) return wrong_type(spec, *node, "true or false");
    value = **node->as_boolean();
  }

  void field(const FieldSpec& spec, std::string& value) override {
    const toml::node* node = lookup(spec);
    if (node == nullptr) return;
    if (!node->is_string()) return wrong_type(spec, *node, "a string");
    const std::string v = **node->as_string();
    if (spec.non_empty && v.empty()) {
      return problem(*node, spec.path(), "must not be empty");
    }
    if (!spec.choices.empty() &&
        std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
      std::string allowed;
      for (const auto& choice : spec.choices) {
        allowed += (allowed.empty() ? "" : " | ") + std::string(choice);
      }
      return problem(
          *node, spec.path(),
          "expected one of " + allowed + ", got \"" + v + "\"" + did_you_mean(v, spec.choices));
    }
    value = v;
  }

  void field(const FieldSpec& spec, std::vector<std::string>& value) override {
    const toml::node* node = lookup(spec);
    if (node == nullptr) return;
    if (node->is_string()) {
      value = {**node->as_string()};
      return;
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) return wrong_type(spec, *node, "a string or an array of strings");
    std::vector<std::string> items;
    for (const toml::node& item : *array) {
      if (!item.is_string()) return wrong_type(spec, item, "an array of strings");
      items.push_back(**item.as_string());
    }
    value = std::move(items);
  }

  // Keys that no field visited: misspellings or keys from another version.
  void report_unknown_keys() {
    for (const auto& [section_key, section_node] : root_) {
      const std::string section(section_key.str());
      auto known = std::find(known_sections_.begin(), known_sections_.end(), section);
      if (known == known_sections_.end()) {
        std::vector<std::string_view> candidates(known_sections_.begin(), known_sections_.end());
        problem(section_node, section, "unknown section" + did_you_mean(section, candidates));
        continue;
      }
      const toml::table* table = section_node.as_table();
      if (table == nullptr) continue;
      for (const auto& [key, node] : *table) {
        const std::string path = section + "." + std::string(key.str());
        if (known_keys_.count(path) != 0) continue;
        std::vector<std::string_view> candidates;
        for (const auto& k : keys_by_section_[section]) candidates.push_back(k);
        problem(node, path, "unknown key" + did_you_mean(std::string(key.str()), candidates));
      }
    }
  }

  void report_cross_field(const RunConfig& config) {
    for (const auto& [path, message] : cross_field_problems(config)) {
      const auto dot = path.find('.');
      const toml::node* node = nullptr;
      if (const toml::table* t = root_[path.substr(0, dot)].as_table()) {
        node = t->get(path.substr(dot + 1));
      }
      problems_.push_back(location(node, path) + path + ": " + message);
    }
  }

  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const toml::node* lookup(const FieldSpec& spec) {
    known_keys_.insert(spec.path());
    keys_by_section_[std::string(spec.section)].emplace_back(spec.key);
    const toml::table* table = root_[spec.section].as_table();
    return table == nullptr ? nullptr : table->get(spec.key);
  }

  static bool in_range(const FieldSpec& spec, double v) { return v >= spec.min && v <= spec.max; }

  void wrong_type(const FieldSpec& spec, const toml::node& node, const std::string& expected) {
    problem(node, spec.path(),
            "expected " + expected + ", got " + type_name(node) + " (" + shown(node) + ")");
  }

  std::string location(const toml::node* node, const std::string& path) const {
    if (overridden_.count(path) != 0) return std::string(kOverrideSource) + ": ";
    if (node == nullptr || node->source().begin.line == 0) return source_ + ": ";
    return source_ + ":" + std::to_string(node->source().begin.line) + ":" +
           std::to_string(node->source().begin.column) + ": ";
  }

  void problem(const toml::node& node, const std::string& path, const std::string& message) {
    problems_.push_back(location(&node, path) + path + ": " + message);
  }

  const toml::table& root_;
  std::string source_;
  std::set<std::string> overridden_;
  std::vector<std::string> known_sections_;
  std::set<std::string> known_keys_;
  std::map<std::string, std::vector<std::string>> keys_by_section_;
  std::vector<std::string> problems_;
};

// Applies one "section.key=value" assignment to the parsed table; returns the key path.
std::string apply_override(toml::table& root, const std::string& assignment) {
  const auto equals = assignment.find('=');
  DUNET_CHECK(equals != std::string::npos && equals > 0, ConfigError, "--set '", assignment,
              "': expected section.key=value, e.g. --set train.epochs=5");
  const std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  const auto dot = path.find('.');
  DUNET_CHECK(dot != std::string::npos && dot > 0 && dot + 1 < path.size() &&
                  path.find('.', dot + 1) == std::string::npos,
              ConfigError, "--set '", assignment,
              "': the key must be section.key, e.g. train.epochs");
  const std::string section = path.substr(0, dot);
  const std::string key = path.substr(dot + 1);

  toml::table value_holder;
  try {
    value_holder = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    value_holder.insert_or_assign("v", text);  // not TOML: take it as a plain string
  }
  if (root.get(section) == nullptr) root.insert_or_assign(section, toml::table{});
  toml::table* table = root.get(section)->as_table();
  DUNET_CHECK(table != nullptr, ConfigError, "--set '", assignment, "': [", section,
              "] is not a table in the config file");
  table->insert_or_assign(key, *value_holder.get("v"));
  return path;
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string text = problems.size() == 1
                         ? "invalid configuration:\n"
                         : std::to_string(problems.size()) + " problems in the configuration:\n";
  for (const auto& p : problems) text += "  " + p + "\n";
  text += "  (run `dunet config --defaults` for every key with its meaning and default)";
  return text;
}

RunConfig load_from_table(toml::table& root, const std::string& source,
                          const std::vector<std::string>& overrides) {
  std::set<std::string> overridden;
  for (const auto& assignment : overrides) overridden.insert(apply_override(root, assignment));
  RunConfig config;
  LoadVisitor visitor(root, source, overridden);
  visit_config(config, visitor);
  visitor.report_unknown_keys();
  if (visitor.problems().empty()) visitor.report_cross_field(config);
  if (!visitor.problems().empty()) throw ConfigError(join_problems(visitor.problems()));
  return config;
}

toml::table parse_or_throw(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) +
                      ": TOML syntax error: " + std::string(e.description()));
  }
}

}  // namespace

RunConfig load_config_text(std::string_view toml_text, const std::string& source_name,
                           const std::vector<std::string>& overrides) {
  toml::table root = parse_or_throw(toml_text, source_name);
  return load_from_table(root, source_name, overrides);
}

RunConfig load_config_file(const std::filesystem::path& path,
                           const std::vector<std::string>& overrides) {
  DUNET_CHECK(!std::filesystem::is_directory(path), ConfigError, "config file '", path.string(),
              "' is a folder; expected a TOML file");
  std::ifstream in(path, std::ios::binary);
  DUNET_CHECK(in.good(), ConfigError, "cannot open config file '", path.string(),
              "': ", std::filesystem::exists(path) ? "not readable" : "no such file");
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path.string(), overrides);
}

}  // namespace dunet::config
