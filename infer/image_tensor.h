// A decoded image as the normalised [1, C, H, W] float tensor the UNet reads.
#pragma once

#include <torch/torch.h>

#include "data/augment.h"
#include "data/sample.h"

namespace dunet::infer {

// One normalised image as a [1, C, H, W] tensor on `device`.
torch::Tensor image_tensor(const data::Image& image, const data::Normalization& norm,
                           const torch::Device& device);

}  // namespace dunet::infer
