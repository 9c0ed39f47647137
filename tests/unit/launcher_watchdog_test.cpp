// The stall message: which ranks hold up a collective, from the roll-call answers.
#include <gtest/gtest.h>

#include "launcher/collective_watchdog.h"

namespace {

using dunet::launcher::CollectiveStatus;
using dunet::launcher::describe_stall;

CollectiveStatus waiting_in(int rank, uint64_t started, uint64_t id, const char* operation) {
  return {rank, true, started, id, 3.0, operation};
}

TEST(DescribeStall, NamesTheRankThatNeverReachedTheCollective) {
  const std::vector<CollectiveStatus> others = {
      waiting_in(0, 7, 7, "all_reduce"),
      waiting_in(1, 7, 7, "all_reduce"),
      {2, true, 6, 0, 0.0, ""},
  };
  EXPECT_EQ(describe_stall(0, 7, "all_reduce", others),
            "missing: rank 2 never reached it (entered 6 collectives, now in no collective); "
            "also waiting in all_reduce: rank(s) 1");
}

TEST(DescribeStall, NamesSilentRanksAndRanksInAnotherOperation) {
  const std::vector<CollectiveStatus> others = {
      waiting_in(0, 4, 4, "all_reduce"),
      {1, false, 0, 0, 0.0, ""},
      waiting_in(2, 4, 4, "broadcast"),
  };
  EXPECT_EQ(describe_stall(0, 4, "all_reduce", others),
            "missing: rank 1 did not answer (killed, or its process is hung as a whole); "
            "rank 2 is elsewhere (entered 4 collectives, now in broadcast #4 for 3.0 s)");
}

TEST(DescribeStall, SaysSoWhenEveryRankIsWaitingOrNobodyCanBeAsked) {
  const std::vector<CollectiveStatus> others = {waiting_in(0, 2, 2, "barrier"),
                                                waiting_in(1, 2, 2, "barrier")};
  EXPECT_EQ(describe_stall(1, 2, "barrier", others),
            "every other rank answered and is in the same operation (a stuck network or MPI "
            "library?); also waiting in barrier: rank(s) 0");
  EXPECT_EQ(describe_stall(0, 2, "barrier", {}), "the other ranks could not be asked");
}

}  // namespace

namespace {

TEST(DescribeStall, NamesANodeWhoseRanksAreAllSilent) {
  const std::vector<CollectiveStatus> others = {
      waiting_in(0, 9, 9, "all_reduce"),
      waiting_in(1, 9, 9, "all_reduce"),
      {2, false, 0, 0, 0.0, ""},
      {3, false, 0, 0, 0.0, ""},
  };
  const std::vector<std::string> hosts = {"node1", "node1", "node2", "node2"};
  EXPECT_EQ(describe_stall(0, 9, "all_reduce", others, hosts),
            "missing: no rank on node2 answered (rank(s) 2, 3): that node is down, cannot be "
            "reached from node1, or its processes were killed; also waiting in all_reduce: "
            "rank(s) 1");
  // One silent rank of a node whose other rank answers is a process, not a node.
  std::vector<CollectiveStatus> one_silent = others;
  one_silent[3] = waiting_in(3, 9, 9, "all_reduce");
  EXPECT_EQ(describe_stall(0, 9, "all_reduce", one_silent, hosts),
            "missing: rank 2 did not answer (killed, or its process is hung as a whole); also "
            "waiting in all_reduce: rank(s) 1, 3");
}

}  // namespace
