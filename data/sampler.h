// Which samples each rank trains on at each step: a per-epoch shuffle of the global index
// keyed by (seed, epoch); step s of the epoch uses global positions [s*W*B, (s+1)*W*B) and
// rank r takes the r-th run of B in them. Every rank gets the same number of steps.
#pragma once

#include <cstdint>
#include <vector>

namespace dunet::data {

class DistributedSampler {
 public:
  DistributedSampler(int64_t num_samples, int64_t world_size, int64_t rank, int64_t batch_size,
                     uint64_t seed, bool shuffle = true);

  // Full steps per epoch; the last partial global batch is dropped.
  int64_t steps_per_epoch() const;
  // Samples per step over all ranks (world_size x batch_size).
  int64_t global_batch() const { return world_size_ * batch_size_; }
  // The whole epoch's global order (the same on all ranks); compute it once per epoch.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // This rank's sample indices (batch_size of them) for `step`, given the epoch's order.
  std::vector<int64_t> step_indices(const std::vector<int64_t>& epoch_order, int64_t step) const;

 private:
  int64_t num_samples_;
  int64_t world_size_;
  int64_t rank_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_;
};

}  // namespace dunet::data
