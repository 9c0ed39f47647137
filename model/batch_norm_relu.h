// Training-mode BatchNorm2d followed by ReLU as one autograd function on the CPU. LibTorch
// 1.13's CPU batch norm takes 10-20x a pass over memory (2.8 ms for a [4, 16, 128, 128]
// batch where a copy takes 0.13 ms), and its ReLU and their backward passes add more: about
// a tenth of a base-16 training step. Here forward is three passes (mean, variance, normalise
// with ReLU) and backward two (sums, then the input gradient with ReLU's mask), split over
// channels.
#pragma once

#include <torch/torch.h>

namespace dunet::model {

// Whether batch_norm_relu can stand in for `norm` followed by ReLU on x: a training-mode
// affine BatchNorm2d tracking running statistics, x a contiguous float CPU [N, C, H, W].
bool batch_norm_relu_applies(const torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x);

// relu(norm(x)) with norm in training mode: batch statistics, running statistics updated as
// BatchNorm2d does (momentum, or the cumulative average without one; unbiased variance).
// Differentiable in x, norm.weight and norm.bias.
torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x);

}  // namespace dunet::model
