#include "data/sampler.h"

#include "core/error.h"
#include "data/random.h"

namespace dunet::data {

DistributedSampler::DistributedSampler(int64_t num_samples, int64_t world_size, int64_t rank,
                                       int64_t batch_size, uint64_t seed, bool shuffle)
    : num_samples_(num_samples),
      world_size_(world_size),
      rank_(rank),
      batch_size_(batch_size),
      seed_(seed),
      shuffle_(shuffle) {
  DUNET_ASSERT(world_size > 0 && rank >= 0 && rank < world_size && batch_size > 0);
  DUNET_CHECK(num_samples >= global_batch(), DataError, "the training set has ", num_samples,
              " samples but one step needs ", global_batch(), " (", world_size,
              " processes x batch_size ", batch_size,
              "); lower train.batch_size, use fewer processes or add data");
}

int64_t DistributedSampler::steps_per_epoch() const { return num_samples_ / global_batch(); }

std::vector<int64_t> DistributedSampler::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(num_samples_));
  for (int64_t i = 0; i < num_samples_; ++i) order[static_cast<size_t>(i)] = i;
  if (!shuffle_) return order;
  KeyedRandom rng{seed_, static_cast<uint64_t>(epoch), 0x5a3b1e5ULL};
  for (int64_t i = num_samples_ - 1; i > 0; --i) {
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.below(i + 1))]);
  }
  return order;
}

std::vector<int64_t> DistributedSampler::step_indices(const std::vector<int64_t>& order,
                                                      int64_t step) const {
  DUNET_ASSERT(step >= 0 && step < steps_per_epoch());
  DUNET_ASSERT(static_cast<int64_t>(order.size()) == num_samples_);
  const int64_t begin = step * global_batch() + rank_ * batch_size_;
  return {order.begin() + begin, order.begin() + begin + batch_size_};
}

}  // namespace dunet::data
