// A decoded image, or a window of it, as the normalised [1, C, h, w] float tensor the UNet reads.
#pragma once

#include <torch/torch.h>

#include "data/augment.h"
#include "data/sample.h"

namespace dunet::infer {

// One normalised image as a [1, C, H, W] tensor on `device`.
torch::Tensor image_tensor(const data::Image& image, const data::Normalization& norm,
                           const torch::Device& device);

// Rows [y, y + h) and columns [x, x + w) of `image`, normalised, as [1, C, h, w] on `device`.
torch::Tensor image_window_tensor(const data::Image& image, const data::Normalization& norm,
                                  const torch::Device& device, int64_t y, int64_t x, int64_t h,
                                  int64_t w);

}  // namespace dunet::infer
