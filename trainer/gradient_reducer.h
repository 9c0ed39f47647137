// Data-parallel gradient averaging in the shape of PyTorch DDP's reducer: gradients live in
// buckets (a small first one, then `bucket_bytes`; each parameter's .grad is a view into its
// bucket, so autograd accumulates straight into it), in an order fixed at construction and
// identical on every rank; each bucket's all-reduce starts on a communication thread as soon
// as autograd has produced all its gradients, so communication overlaps the rest of backward.
// See Note [Gradient buckets] in docs/design.md.
#pragma once

#include <c10/core/Stream.h>
#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "launcher/communicator.h"

namespace dunet::trainer {

struct ReducerStats {
  double allreduce_seconds = 0;  // time the communication thread spent in all-reduces
  double exposed_seconds = 0;    // time the training thread waited for them after backward
  int64_t num_buckets = 0;
  int64_t bucket_bytes = 0;
  // Share of all-reduce time hidden behind backward.
  double hidden_fraction() const {
    return allreduce_seconds > 0 ? std::max(0.0, 1.0 - exposed_seconds / allreduce_seconds) : 0;
  }
};

class GradientReducer {
 public:
  // Collective (duplicates `comm`): every rank constructs its reducer at the same point.
  GradientReducer(std::vector<torch::Tensor> parameters, launcher::Communicator& comm,
                  int64_t bucket_bytes, int64_t first_bucket_bytes = int64_t{1} << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call before each backward. `sync` = false for the micro-batches of a gradient
  // accumulation that are not the last: their gradients only accumulate locally.
  void prepare_for_backward(bool sync);
  // Call after backward: waits for every bucket; the parameters' .grad then hold the sum over
  // micro-batches averaged over ranks.
  void finish();
  // Zeroes every gradient in place (keeps .grad a view into the buckets; use this instead of
  // Optimizer::zero_grad).
  void zero_grad();

  const ReducerStats& stats() const { return stats_; }
  void reset_stats();

 private:
  struct Bucket {
    std::vector<size_t> parameters;  // indices into parameters_
    std::vector<int64_t> offsets;    // element offset of each parameter in `flat`
    torch::Tensor flat;
    int64_t pending = 0;
    bool ready = false;
  };

  class AccumulatedHook;
  // Runs after autograd accumulated parameter `k`'s gradient (into its bucket view).
  void on_accumulated(size_t k);
  // Makes .grad the bucket view again if someone replaced it, then scales it by 1/world.
  void finalize_slot(size_t k);
  void mark_ready(Bucket& bucket);
  void communication_loop();

  std::vector<torch::Tensor> parameters_;
  std::vector<torch::Tensor> views_;  // parameter-shaped views into the buckets
  // Held so that autograd keeps using the accumulators our hooks are attached to.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
  std::vector<size_t> bucket_of_;  // parameter -> bucket
  std::vector<size_t> slot_of_;    // parameter -> position within its bucket
  std::vector<bool> filled_;       // parameter's slot holds this step's gradient
  std::vector<Bucket> buckets_;
  // Its own communicator: bucket all-reduces on the communication thread never interleave
  // with collectives the training thread issues meanwhile (sync BatchNorm, metrics).
  std::unique_ptr<launcher::Communicator> comm_;
  double scale_;  // 1 / world size, applied while copying into the bucket
  // On a GPU: the training thread's current stream, which produces the gradients. The
  // communication thread runs each all-reduce under a guard for it (its device, and that
  // stream as current), so the communicator orders the all-reduce after the gradients.
  c10::Device device_;
  std::optional<c10::Stream> producer_stream_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool sync_ = false;
  bool active_ = false;  // a round of bucket all-reduces is in progress
  size_t next_bucket_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;
  ReducerStats stats_;
};

}  // namespace dunet::trainer
