#include "launcher/placement.h"

#include <fmt/format.h>

#include <map>

namespace dunet::launcher {

namespace {

// "0-1,4" from the sorted ranks {0, 1, 4}.
std::string rank_ranges(const std::vector<int>& ranks) {
  std::string text;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!text.empty()) text += ",";
    text += j == i ? fmt::format("{}", ranks[i]) : fmt::format("{}-{}", ranks[i], ranks[j]);
    i = j + 1;
  }
  return text;
}

}  // namespace

std::string describe_placement(const std::vector<std::string>& host_of_rank) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> ranks_of_host;
  for (size_t rank = 0; rank < host_of_rank.size(); ++rank) {
    auto& ranks = ranks_of_host[host_of_rank[rank]];
    if (ranks.empty()) order.push_back(host_of_rank[rank]);
    ranks.push_back(static_cast<int>(rank));
  }
  std::string text = fmt::format("{} node{}:", order.size(), order.size() == 1 ? "" : "s");
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& ranks = ranks_of_host[order[i]];
    text += fmt::format("{} {} rank{} {}", i == 0 ? "" : ",", order[i], ranks.size() == 1 ? "" : "s",
                        rank_ranges(ranks));
  }
  return text;
}

}  // namespace dunet::launcher
