// The classic UNet: DoubleConv = (conv3x3 pad 1, BatchNorm, ReLU) x 2; Down = DoubleConv then
// 2x2 max-pool (max_pool.h; the pre-pool map is the skip); Up = 2x2 stride-2 transpose conv
// halving the channels (transpose_conv.h), concatenation with the skip, DoubleConv; a final
// 1x1 conv gives the logits.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

#include "model/folded_conv.h"
#include "model/model_config.h"
#include "model/transpose_conv.h"

namespace dunet::model {

// batch: per-process BatchNorm; sync_batch: statistics over all processes
// (sync_batch_norm.h); none: no normalisation.
enum class Norm { kBatch, kSyncBatch, kNone };
Norm parse_norm(const std::string& name);

// On the CPU (unless DUNET_WINOGRAD=0, winograd_conv.h) the 3x3 convolutions run by Winograd:
// with autograd as winograd_conv2d (from 16x16 pixels up, winograd_pays_off); in eval mode
// without autograd with their BatchNorm folded in (folded_conv.h). The folded weights are
// rebuilt whenever a parameter or buffer changed since (their version counters), so
// validation between training epochs sees the current weights. In training, BatchNorm and
// its ReLU run as one function (batch_norm_relu.h).
class DoubleConvImpl : public torch::nn::Module {
 public:
  DoubleConvImpl(int64_t in_channels, int64_t out_channels, Norm norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct InferencePlan {
    std::vector<std::pair<const void*, int64_t>> source_versions;
    std::vector<FoldedConvReLU> convolutions;
  };
  static bool trains_by_winograd(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x);
  static constexpr int64_t kMinWinogradTrainingPixels = 16 * 16;
  const InferencePlan& inference_plan();
  std::vector<std::pair<const void*, int64_t>> source_versions() const;

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
