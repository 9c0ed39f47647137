// 3x3 convolution (padding 1, stride 1) by Winograd's minimal filtering F(4x4, 3x3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), for inference on CPU.
// Each 4x4 output tile costs 36 multiplications per (input, output) channel pair instead of
// direct convolution's 144: a quarter of the arithmetic. Direct convolution already runs near
// this CPU's limit, so fewer operations is the only way to make inference much faster.
// Results agree with direct convolution to float rounding (the transforms add a few ulps; see
// the test for the measured bound). fast_paths.h's winograd_conv2d makes it trainable.
#pragma once

#include <ATen/ATen.h>

#include "kernels/fast_paths.h"

namespace dunet::kernels {

class WinogradConv3x3 {
 public:
  // weight [out, in, 3, 3]; bias [out] (may be undefined). Transformed once, here.
  WinogradConv3x3(const at::Tensor& weight, const at::Tensor& bias);

  // input [N, in, H, W] float on the CPU, any H and W >= 1. Returns [N, out, H, W]; with
  // `relu`, max(0, .) is applied on the way out (no extra pass over memory).
  at::Tensor forward(const at::Tensor& input, bool relu) const;

  // False when the process has no OpenBLAS sgemm_ or dunet was built without its CPU kernels
  // (cpu_kernels.h); callers then keep the direct convolution.
  static bool available();

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  at::Tensor transformed_weight_;  // [36, out, in] float: G g G^T, one matrix per frequency
  at::Tensor bias_;                // [out] float
};

// Switches winograd_enabled() (fast_paths.h): apply_numerics (numerics.h) from the config's
// model.conv_path; tests and benchmarks, to compare with LibTorch's convolutions.
void set_winograd_enabled(bool enabled);

// The weight gradient [out, in, 3, 3] of that convolution, for input [N, in, H, W] and output
// gradient [N, out, H, W], by the same algorithm: G^T (sum over tiles of (A dy A^T) * (B^T d B))
// G, with one product per frequency summing over the tiles.
at::Tensor winograd_weight_gradient(const at::Tensor& input, const at::Tensor& grad_output);

}  // namespace dunet::kernels
