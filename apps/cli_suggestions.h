// A clear message for a command line with an unknown sub-command or option, naming the
// closest name that the sub-command the user was in accepts: "unknown sub-command 'trian' of
// `dunet` (did you mean 'train'?)".
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace dunet::apps {

// After a failed parse: the message for the first argument nothing accepted, if there was
// one. That argument is the cause even when CLI11 reports something else (a required option
// missing because it was misspelt).
std::optional<std::string> describe_unknown_argument(CLI::App& app);

}  // namespace dunet::apps
