// The placement line of a job's start-up log: which host runs which ranks.
#include <gtest/gtest.h>

#include "launcher/placement.h"

namespace {

using dunet::launcher::describe_placement;

TEST(DescribePlacement, GroupsRanksByHostAsRanges) {
  EXPECT_EQ(describe_placement({"node1", "node1", "node2", "node2"}),
            "2 nodes: node1 ranks 0-1, node2 ranks 2-3");
}

TEST(DescribePlacement, OneRankAndInterleavedRanks) {
  EXPECT_EQ(describe_placement({"vm"}), "1 node: vm rank 0");
  EXPECT_EQ(describe_placement({"a", "b", "a", "b", "b", "c"}),
            "3 nodes: a ranks 0,2, b ranks 1,3-4, c rank 5");
}

}  // namespace
