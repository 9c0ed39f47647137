// The UNet's 2x2 stride-2 transpose convolution, computed on the fast path: one 1x1
// convolution to 4x the output channels followed by a pixel shuffle. It is the same function
// with the same parameters: y[n, c, 2h+i, 2w+j] = b[c] + sum_k x[n, k, h, w] W[k, c, i, j].
// LibTorch's ConvTranspose2d runs as im2col + BLAS (3-5 GFLOP/s with Debian's reference BLAS),
// while the 1x1 convolution goes to oneDNN when more than one thread is in use.
// Parameters keep torch::nn::ConvTranspose2d's names, layout (weight [in, out, 2, 2], bias
// [out]) and initialisation, so weights saved by either load into the other.
#pragma once

#include <torch/torch.h>

namespace dunet::model {

class TransposeConv2x2Impl : public torch::nn::Module {
 public:
  TransposeConv2x2Impl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& bias() const { return bias_; }

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  torch::Tensor weight_;
  torch::Tensor bias_;
};
TORCH_MODULE(TransposeConv2x2);

}  // namespace dunet::model
