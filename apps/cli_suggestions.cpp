#include "apps/cli_suggestions.h"

#include <string_view>
#include <vector>

#include "config/did_you_mean.h"

namespace dunet::apps {

namespace {

// The sub-command the user reached: the deepest one that was parsed.
CLI::App* deepest_parsed(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands()) return deepest_parsed(sub);
  return app;
}

std::string command_path(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* parent = app->get_parent(); parent != nullptr;
       parent = parent->get_parent()) {
    path = parent->get_name() + " " + path;
  }
  return path;
}

}  // namespace

std::optional<std::string> describe_unknown_argument(CLI::App& app) {
  const std::vector<std::string> extras = app.remaining(/*recurse=*/true);
  if (extras.empty()) return std::nullopt;
  const std::string& word = extras.front();
  CLI::App* where = deepest_parsed(&app);
  if (where->get_allow_extras()) return std::nullopt;  // it passes them on (`dunet launch`)
  const bool is_option = !word.empty() && word.front() == '-';
  std::vector<std::string> names;
  if (is_option) {
    for (const CLI::Option* option : where->get_options()) {
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    }
  } else {
    for (const CLI::App* sub : where->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
    }
  }
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  std::string what = is_option ? "option" : names.empty() ? "argument" : "sub-command";
  return "unknown " + what + " '" + word + "' of `" + command_path(where) + "`" +
         config::did_you_mean(word, candidates) + "; `" + command_path(where) +
         " --help` lists what it takes";
}

}  // namespace dunet::apps
