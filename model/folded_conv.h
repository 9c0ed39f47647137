// Inference form of the UNet's (3x3 convolution, eval-mode BatchNorm, ReLU): BatchNorm folded
// into the convolution's weight and bias (w * s, (b - mean) * s + beta, s = gamma /
// sqrt(var + eps)), computed by Winograd (kernels::winograd_conv3x3_relu) where that is faster,
// i.e. with enough channels (winograd_pays_off), and by LibTorch's convolution otherwise.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace dunet::model {

class FoldedConvReLU {
 public:
  // norm: the BatchNorm2d or SyncBatchNorm after the convolution, or nullptr.
  FoldedConvReLU(const torch::nn::Conv2dImpl& conv, const torch::nn::Module* norm);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_;  // BatchNorm folded in, float
  torch::Tensor bias_;
  std::function<torch::Tensor(const torch::Tensor&)> winograd_;  // empty: direct convolution
};

}  // namespace dunet::model
