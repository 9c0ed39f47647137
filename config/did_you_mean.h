// " (did you mean 'x'?)" hints for misspelt keys and values, by edit distance.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dunet::config {

// Returns " (did you mean 'best'?)" for the closest candidate within a small edit distance,
// or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace dunet::config
