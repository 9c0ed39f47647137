#include "infer/tiled_prediction.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace dunet::infer {

namespace {

// Tile origins along one axis: tiles of `tile` with at least `overlap` shared pixels, the
// last one aligned to the end.
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap) {
  if (length <= tile) return {0};
  const int64_t stride = tile - overlap;
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + tile < length; s += stride) starts.push_back(s);
  starts.push_back(length - tile);
  return starts;
}

}  // namespace

torch::Tensor predict_logits(model::UNet& model, const torch::Tensor& image, int64_t tile_size) {
  DUNET_CHECK(image.dim() == 4 && image.size(0) == 1, Error,
              "predict_logits expects one image [1, C, H, W], got ", image.sizes());
  torch::NoGradGuard no_grad;
  const int64_t height = image.size(2), width = image.size(3);
  const int64_t multiple = model->size_multiple();
  const int64_t tile = std::max(multiple, tile_size / multiple * multiple);
  if (height <= tile && width <= tile) return model->forward(image);

  // Overlap of a quarter tile: each tile's border, where context is missing, is averaged
  // with a neighbour's interior.
  const int64_t overlap = tile / 4;
  const int64_t out_channels = model->config().out_channels;
  torch::Tensor sum = torch::zeros({1, out_channels, height, width}, image.options());
  torch::Tensor count = torch::zeros({1, 1, height, width}, image.options());
  for (const int64_t y : tile_starts(height, tile, overlap)) {
    for (const int64_t x : tile_starts(width, tile, overlap)) {
      const int64_t h = std::min(tile, height), w = std::min(tile, width);
      const torch::Tensor patch = image.narrow(2, y, h).narrow(3, x, w);
      sum.narrow(2, y, h).narrow(3, x, w).add_(model->forward(patch));
      count.narrow(2, y, h).narrow(3, x, w).add_(1.0);
    }
  }
  return sum / count;
}

}  // namespace dunet::infer
