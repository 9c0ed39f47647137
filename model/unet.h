// The classic UNet: DoubleConv = (conv3x3 pad 1, BatchNorm, ReLU) x 2; Down = DoubleConv then
// 2x2 max-pool (kernels::max_pool2x2; the pre-pool map is the skip); Up = 2x2 stride-2 transpose
// conv halving the channels (transpose_conv.h), concatenation with the skip, DoubleConv; a final
// 1x1 conv gives the logits.
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "model/folded_conv.h"
#include "model/model_config.h"
#include "model/sync_batch_norm.h"
#include "model/transpose_conv.h"

namespace dunet::model {

// batch: per-process BatchNorm; sync_batch: statistics over all processes
// (sync_batch_norm.h); group: GroupNorm of group_norm_groups(channels) groups; instance:
// GroupNorm with one group per channel; none: no normalisation. group and instance compute
// the same in training and evaluation, whatever the batch (no running statistics).
enum class Norm { kBatch, kSyncBatch, kGroup, kInstance, kNone };
Norm parse_norm(const std::string& name);
// Groups of Norm::kGroup for a layer of `channels`: 8, or the largest divisor of the
// channels below 8 (GroupNorm's paper found 8-32 channels a group equally good).
int64_t group_norm_groups(int64_t channels);

// One (3x3 convolution pad 1, normalisation, ReLU) unit of DoubleConv, as typed members: the
// fast paths below are chosen from what the unit is, never from a layer list's shape.
struct ConvNormReLU {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d batch_norm{nullptr};  // Norm::kBatch only
  SyncBatchNorm sync_batch_norm{nullptr};      // Norm::kSyncBatch only
  torch::nn::GroupNorm group_norm{nullptr};    // Norm::kGroup and Norm::kInstance only
  torch::nn::ReLU relu{nullptr};

  static constexpr int64_t kMinWinogradTrainingPixels = 16 * 16;

  // The normalisation module, or nullptr with Norm::kNone.
  const torch::nn::Module* norm() const;
  // relu(norm(conv(x))); `cpu_float`: kernels::cpu_fast_path_applies(x), so the CPU fast
  // paths may run.
  torch::Tensor forward(const torch::Tensor& x, bool cpu_float);
};

// On the CPU, with the Winograd path on (kernels/fast_paths.h), the 3x3 convolutions run by
// Winograd: with autograd as winograd_conv2d (from 16x16 pixels up, where it pays off); in
// eval mode without autograd with their BatchNorm folded in (folded_conv.h; GroupNorm cannot
// be folded, so those layers keep the training path). The folded
// weights are rebuilt whenever a parameter or buffer changed since (their version counters),
// so validation between training epochs sees the current weights. In training, BatchNorm and
// its ReLU run as one function (batch_norm_relu).
class DoubleConvImpl : public torch::nn::Module {
 public:
  DoubleConvImpl(int64_t in_channels, int64_t out_channels, Norm norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct InferencePlan {
    std::vector<std::pair<const void*, int64_t>> source_versions;
    std::vector<FoldedConvReLU> convolutions;
  };
  const InferencePlan& inference_plan();
  std::vector<std::pair<const void*, int64_t>> source_versions() const;

  std::array<ConvNormReLU, 2> units_;
  // Holds the units' modules in order, so that parameters keep the names of the weights
  // format ("body.0.weight", ...); forward() uses units_.
  torch::nn::Sequential body_{nullptr};
  std::unique_ptr<InferencePlan> plan_;
};
TORCH_MODULE(DoubleConv);

class DownImpl : public torch::nn::Module {
 public:
  DownImpl(int64_t in_channels, int64_t out_channels, Norm norm);
  // Returns (pooled map for the next level, pre-pool map for the skip connection).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

 private:
  DoubleConv conv_{nullptr};
};
TORCH_MODULE(Down);

class UpImpl : public torch::nn::Module {
 public:
  // in_channels -> in_channels/2 by the transpose conv; after the skip, DoubleConv to out.
  UpImpl(int64_t in_channels, int64_t out_channels, Norm norm);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);

 private:
  TransposeConv2x2 up_{nullptr};
  DoubleConv conv_{nullptr};
};
TORCH_MODULE(Up);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const ModelConfig& config);
  // Any height and width: the input is zero-padded to a multiple of 2^depth and the logits
  // are cropped back, so the output has the input's size.
  torch::Tensor forward(const torch::Tensor& x);

  const ModelConfig& config() const { return config_; }
  int64_t size_multiple() const { return int64_t{1} << config_.depth; }

 private:
  ModelConfig config_;
  torch::nn::ModuleList downs_{nullptr};
  DoubleConv bottom_{nullptr};
  torch::nn::ModuleList ups_{nullptr};
  torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(UNet);

int64_t count_parameters(torch::nn::Module& module);

}  // namespace dunet::model
