// Which host runs which ranks, for the start-up log of a multi-node job: the first thing to
// check when a cluster run is slow (ranks packed on one node) or hangs (a node missing).
#pragma once

#include <string>
#include <vector>

namespace dunet::launcher {

// "2 nodes: node1 ranks 0-1, node2 ranks 2-3", hosts in the order of their lowest rank,
// consecutive ranks as ranges ("a ranks 0,2" where they interleave).
std::string describe_placement(const std::vector<std::string>& host_of_rank);

}  // namespace dunet::launcher
