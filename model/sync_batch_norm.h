// BatchNorm whose batch statistics cover the whole global batch: per-channel sums are added
// over all processes in forward, and the matching sums of gradients in backward (as PyTorch's
// SyncBatchNorm). model/ knows nothing of MPI: the sum goes through StatsAllReducer, which the
// trainer backs with its Communicator. Without one it is plain BatchNorm.
#pragma once

#include <torch/torch.h>

#include <memory>

namespace dunet::model {

// Sums a tensor in place over all processes (same call order on every process).
class StatsAllReducer {
 public:
  virtual ~StatsAllReducer() = default;
  virtual void sum(torch::Tensor& tensor) = 0;
};

class SyncBatchNormImpl : public torch::nn::Module {
 public:
  explicit SyncBatchNormImpl(int64_t channels, double momentum = 0.1, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);
  void set_reducer(std::shared_ptr<StatsAllReducer> reducer) { reducer_ = std::move(reducer); }
  double eps() const { return eps_; }

  // Same names as torch::nn::BatchNorm2d, so weights load either way.
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  double momentum_, eps_;
  std::shared_ptr<StatsAllReducer> reducer_;
};
TORCH_MODULE(SyncBatchNorm);

// Gives every SyncBatchNorm in `module` the reducer (nullptr: back to per-process statistics).
void set_stats_reducer(torch::nn::Module& module, const std::shared_ptr<StatsAllReducer>& reducer);

}  // namespace dunet::model
