// Streams training batches from shards: background workers read this rank's samples for the
// coming steps, cut augmented patches and keep up to `prefetch` batches ready, in step order.
#pragma once

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/sampler.h"
#include "data/shard_set.h"

namespace dunet::data {

struct LoaderOptions {
  int64_t batch_size = 4;
  int64_t patch_size = 256;
  int64_t workers = 2;
  int64_t prefetch = 4;
  Augmentation augmentation;
  bool contour_target = false;  // a second target channel: nucleus outlines (data/augment.h)
  uint64_t seed = 0;
  int64_t rank = 0;
  int64_t world_size = 1;
};

// batch x channels x patch x patch images and batch x targets x patch x patch targets (0/1), as
// floats: the foreground, then the outlines where asked.
struct Batch {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t size = 0;
  int64_t channels = 0;
  int64_t patch = 0;
  int64_t targets = 1;
  std::vector<float> images;
  std::vector<float> masks;
  std::vector<int64_t> indices;  // global sample indices, for tests and debugging
};

class TrainLoader {
 public:
  TrainLoader(std::shared_ptr<const ShardSet> samples, const LoaderOptions& options);
  TrainLoader(const TrainLoader&) = delete;
  TrainLoader& operator=(const TrainLoader&) = delete;
  ~TrainLoader();

  int64_t steps_per_epoch() const { return sampler_.steps_per_epoch(); }
  const Normalization& normalization() const { return norm_; }

  // Starts producing the batches of `epoch` from `first_step` on (resume mid-epoch).
  void start_epoch(int64_t epoch, int64_t first_step = 0);
  // The next batch of the epoch, or nothing at its end. Rethrows a worker's error.
  std::optional<Batch> next();
  // Seconds next() spent waiting for data since start_epoch.
  double wait_seconds() const { return wait_seconds_; }

  // Builds one batch synchronously (no workers); the same values next() delivers.
  Batch build(int64_t epoch, const std::vector<int64_t>& order, int64_t step) const;

 private:
  void stop_workers();
  void worker_loop();

  std::shared_ptr<const ShardSet> samples_;
  LoaderOptions options_;
  DistributedSampler sampler_;
  Normalization norm_;

  std::mutex mutex_;
  std::condition_variable batch_ready_;
  std::condition_variable slot_free_;
  std::map<int64_t, Batch> ready_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0;
  int64_t next_to_claim_ = 0;
  int64_t next_to_deliver_ = 0;
  int64_t end_step_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
  double wait_seconds_ = 0.0;
};

}  // namespace dunet::data
