// 3x3 convolution (padding 1, stride 1) by Winograd's minimal filtering F(4x4, 3x3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), for inference on CPU.
// Each 4x4 output tile costs 36 multiplications per (input, output) channel pair instead of
// direct convolution's 144: a quarter of the arithmetic. Direct convolution already runs near
// this CPU's limit, so fewer operations is the only way to make inference much faster.
// Results agree with direct convolution to float rounding (the transforms add a few ulps; see
// the test for the measured bound). No autograd: training keeps LibTorch's convolutions.
#pragma once

#include <ATen/ATen.h>

namespace dunet::model {

class WinogradConv3x3 {
 public:
  // weight [out, in, 3, 3]; bias [out] (may be undefined). Transformed once, here.
  WinogradConv3x3(const at::Tensor& weight, const at::Tensor& bias);

  // input [N, in, H, W] float on the CPU, any H and W >= 1. Returns [N, out, H, W]; with
  // `relu`, max(0, .) is applied on the way out (no extra pass over memory).
  at::Tensor forward(const at::Tensor& input, bool relu) const;

  // False when the process has no directly callable BLAS (sgemm_); callers then keep the
  // direct convolution.
  static bool available();

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  at::Tensor transformed_weight_;  // [36, out, in] float: G g G^T, one matrix per frequency
  at::Tensor bias_;                // [out] float
};

}  // namespace dunet::model
