// torch::pixel_shuffle(x, 2) and its gradient with dedicated kernels for contiguous float CPU
// tensors. LibTorch 1.13 runs both as a generic permute and copy that moves about 1.6 GB/s:
// 9 ms of a 260 ms base-16 training step went to shuffling the transpose convolutions'
// outputs (transpose_conv.h) and their gradients back.
#pragma once

#include <torch/torch.h>

namespace dunet::model {

// [N, 4C, H, W] -> [N, C, 2H, 2W], channel 4c + 2i + j to pixel (2y + i, 2x + j) of channel c.
// Differentiable; other tensors go to torch::pixel_shuffle.
torch::Tensor pixel_shuffle2(const torch::Tensor& x);

}  // namespace dunet::model
