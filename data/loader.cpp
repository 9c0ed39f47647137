#include "data/loader.h"

#include <chrono>

#include "core/error.h"

namespace dunet::data {

TrainLoader::TrainLoader(std::shared_ptr<const ShardSet> samples, const LoaderOptions& options)
    : samples_(std::move(samples)),
      options_(options),
      sampler_(samples_->size(), options.world_size, options.rank, options.batch_size,
               options.seed),
      norm_{samples_->mean(), samples_->std()} {}

TrainLoader::~TrainLoader() { stop_workers(); }

void TrainLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  slot_free_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void TrainLoader::start_epoch(int64_t epoch, int64_t first_step) {
  stop_workers();
  DUNET_ASSERT(first_step >= 0 && first_step <= steps_per_epoch());
  order_ = sampler_.epoch_order(epoch);
  epoch_ = epoch;
  ready_.clear();
  next_to_claim_ = next_to_deliver_ = first_step;
  end_step_ = steps_per_epoch();
  stopping_ = false;
  error_ = nullptr;
  wait_seconds_ = 0.0;
  for (int64_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void TrainLoader::worker_loop() {
  while (true) {
    int64_t step = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      slot_free_.wait(lock, [this] {
        return stopping_ || next_to_claim_ >= end_step_ ||
               next_to_claim_ < next_to_deliver_ + options_.prefetch;
      });
      if (stopping_ || next_to_claim_ >= end_step_) return;
      step = next_to_claim_++;
    }
    try {
      Batch batch = build(epoch_, order_, step);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(step, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stopping_ = true;
    }
    batch_ready_.notify_all();
  }
}

std::optional<Batch> TrainLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_deliver_ >= end_step_) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  batch_ready_.wait(lock, [this] { return error_ || ready_.count(next_to_deliver_) != 0; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (error_) std::rethrow_exception(error_);
  auto node = ready_.extract(next_to_deliver_);
  ++next_to_deliver_;
  lock.unlock();
  slot_free_.notify_all();
  return std::move(node.mapped());
}

Batch TrainLoader::build(int64_t epoch, const std::vector<int64_t>& order, int64_t step) const {
  Batch batch;
  batch.epoch = epoch;
  batch.step = step;
  batch.size = options_.batch_size;
  batch.channels = samples_->channels();
  batch.patch = options_.patch_size;
  batch.indices = sampler_.step_indices(order, step);
  const int64_t plane = batch.patch * batch.patch;
  batch.images.resize(static_cast<size_t>(batch.size * batch.channels * plane));
  batch.targets = options_.contour_target ? 2 : 1;
  batch.masks.resize(static_cast<size_t>(batch.size * batch.targets * plane));
  for (int64_t j = 0; j < batch.size; ++j) {
    const Sample sample = samples_->read(batch.indices[static_cast<size_t>(j)]);
    // Keyed by the global position in the epoch, so augmentation does not depend on how many
    // processes share the epoch.
    const int64_t position = step * sampler_.global_batch() + options_.rank * batch.size + j;
    KeyedRandom rng{options_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(position)};
    make_training_patch(
        sample, batch.patch, options_.augmentation, rng, norm_,
        batch.images.data() + j * batch.channels * plane,
        batch.masks.data() + j * batch.targets * plane,
        options_.contour_target ? batch.masks.data() + (j * 2 + 1) * plane : nullptr);
  }
  return batch;
}

}  // namespace dunet::data
