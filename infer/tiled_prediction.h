// Whole-image prediction of any size: one pass when the image fits in a tile, otherwise
// overlapping tiles whose logits are averaged where they overlap.
#pragma once

#include <torch/torch.h>

#include "model/unet.h"

namespace dunet::infer {

// image: [1, C, H, W], normalised. Returns logits [1, out_channels, H, W]. Runs without
// autograd; the caller chooses train/eval mode (eval for inference).
torch::Tensor predict_logits(model::UNet& model, const torch::Tensor& image, int64_t tile_size);

}  // namespace dunet::infer
