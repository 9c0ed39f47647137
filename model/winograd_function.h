// conv2d(x, weight, bias, stride 1, padding 1) for training on the CPU by Winograd F(4x4, 3x3)
// (winograd_conv.h) in the forward pass and in both products of the backward pass:
// the input gradient is the same convolution of the output gradient with the filters turned
// by 180 degrees and in/out swapped, the weight gradient is winograd_weight_gradient. Each is
// a quarter of direct convolution's arithmetic. Needs OpenBLAS (WinogradConv3x3::available()).
#pragma once

#include <torch/torch.h>

namespace dunet::model {

// x [N, in, H, W] float CPU, weight [out, in, 3, 3], bias [out]; differentiable in all three.
torch::Tensor winograd_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias);

}  // namespace dunet::model
