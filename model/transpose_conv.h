// The UNet's 2x2 stride-2 transpose convolution, computed on the fast path: one 1x1
// convolution to 4x the output channels followed by a pixel shuffle. It is the same function
// with the same parameters: y[n, c, 2h+i, 2w+j] = b[c] + sum_k x[n, k, h, w] W[k, c, i, j].
// LibTorch's ConvTranspose2d runs as im2col + BLAS (3-5 GFLOP/s with Debian's reference BLAS),
// while the 1x1 convolution goes to oneDNN when more than one thread is in use. With OpenBLAS
// and large inputs the 1x1 convolution is OpenBLAS products over blocks of pixels instead
// (kernels::pointwise_conv), which is faster there than oneDNN (`dunet bench upconv`: 1.3x
// ConvTranspose2d at 128x128 where oneDNN gave 0.8-0.9x; oneDNN stays faster at 32x32 and
// below). LibTorch 2.6's ConvTranspose2d is faster than this in `dunet bench upconv` (44 vs
// 70 ms at base 16), but training a base-16 UNet with it was slower (8.0-8.3 vs 8.5-8.6
// images/s, Debian 13), so the decomposition stays.
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

  static constexpr int64_t kMinGemmPixels = 64 * 64;  // input pixels for the OpenBLAS path

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  torch::Tensor weight_;
  torch::Tensor bias_;
};
TORCH_MODULE(TransposeConv2x2);

}  // namespace dunet::model
