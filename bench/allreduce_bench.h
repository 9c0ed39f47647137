// `dunet bench allreduce`: all-reduce time and bandwidth like nccl-tests, for plain
// MPI_Allreduce, dunet's MPI communicator, and dunet's bucketed gradient path, with a
// correctness check of every result in the same run.
#pragma once

#include <cstdint>
#include <string>

namespace dunet::bench {

struct AllreduceOptions {
  int64_t min_bytes = 4 << 10;
  int64_t max_bytes = 256 << 20;
  int64_t factor = 2;  // sizes grow by this factor
  int64_t warmup = 2;
  int64_t iterations = 10;  // timed iterations per size (fewer above 64 MB)
  int64_t bucket_mb = 25;
  std::string command_line;
};

// Runs on every rank of the MPI job; rank 0 prints the table. Returns the number of wrong
// elements seen (0 when every result was right).
int64_t run_allreduce_bench(const AllreduceOptions& options);

}  // namespace dunet::bench
