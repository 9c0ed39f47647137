// `dunet bench loader`: how many training patches per second the data loader delivers, per
// worker thread, from real shards: HDF5 reads (chunked, compressed, Fletcher-32 checked),
// random crops, flips and rotations, normalisation, batching. The training step is left
// out, so the figure is the loader's ceiling: divide a GPU's images/s by it for the cores one
// GPU needs (docs/benchmarks.md, "Feeding GPUs").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dunet::bench {

struct LoaderBenchOptions {
  std::vector<std::string> data;       // shard globs, e.g. build/bench-data/train-*.h5
  std::vector<int64_t> workers{1, 2};  // data.workers values to measure
  int64_t patch = 256;
  int64_t batch = 8;
  int64_t batches = 100;  // timed batches per worker count (after 10 untimed ones)
  bool augment = true;
};

// Prints one line per worker count: "loader workers=W patches_per_s=P per_worker=P/W ...".
void run_loader_bench(const LoaderBenchOptions& options);

}  // namespace dunet::bench
