#include "infer/sliding_window.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace dunet::infer {

std::vector<int64_t> window_starts(int64_t length, int64_t tile, double step) {
  DUNET_CHECK(tile > 0 && step > 0 && step <= 1, Error, "window_starts: tile ", tile, " step ",
              step);
  if (length <= tile) return {0};
  const int64_t span = length - tile;
  const int64_t max_step = std::max<int64_t>(1, static_cast<int64_t>(std::floor(tile * step)));
  // The first half rounded to the nearest pixel, the second half mirrored: symmetric under a
  // flip of the axis (so test-time flips see the same windows). Where that leaves a gap wider
  // than max_step, or needs a middle window off the pixel grid, take one window more.
  std::vector<int64_t> starts;
  for (int64_t gaps = (span + max_step - 1) / max_step;; ++gaps) {
    if (gaps % 2 == 0 && span % 2 == 1) continue;
    starts.assign(static_cast<size_t>(gaps + 1), 0);
    for (int64_t i = 0; i <= gaps / 2; ++i) {
      const int64_t nearest = (2 * i * span + gaps) / (2 * gaps);
      starts[static_cast<size_t>(i)] = nearest;
      starts[static_cast<size_t>(gaps - i)] = span - nearest;
    }
    bool fits = true;
    for (size_t i = 1; i < starts.size(); ++i) fits = fits && starts[i] - starts[i - 1] <= max_step;
    if (fits) break;
  }
  return starts;
}

torch::Tensor gaussian_window_weights(int64_t height, int64_t width) {
  const auto axis = [](int64_t size) {
    const double centre = (static_cast<double>(size) - 1) / 2,
                 sigma = static_cast<double>(size) / 8;
    const torch::Tensor d = torch::arange(size, torch::kFloat64) - centre;
    return torch::exp(-d * d / (2 * sigma * sigma));
  };
  torch::Tensor w = axis(height).unsqueeze(1) * axis(width).unsqueeze(0);
  w = w / w.max();
  return w.clamp_min(1e-6).to(torch::kFloat32).view({1, 1, height, width});
}

torch::Tensor dihedral(const torch::Tensor& x, int index) {
  const torch::Tensor flipped = index >= 4 ? x.flip({3}) : x;
  return torch::rot90(flipped, index % 4, {2, 3});
}

torch::Tensor inverse_dihedral(const torch::Tensor& x, int index) {
  const torch::Tensor rotated = torch::rot90(x, -(index % 4), {2, 3});
  return index >= 4 ? rotated.flip({3}) : rotated;
}

LogitsFunction with_test_time_augmentation(LogitsFunction logits) {
  return [logits = std::move(logits)](const torch::Tensor& x) {
    torch::Tensor sum = logits(x);
    for (int i = 1; i < 8; ++i) sum = sum + inverse_dihedral(logits(dihedral(x, i)), i);
    return sum / 8;
  };
}

void predict_in_windows(const LogitsFunction& logits, int64_t height, int64_t width,
                        int64_t size_multiple, const WindowReader& read, const RowSink& sink,
                        const WindowOptions& options) {
  torch::NoGradGuard no_grad;
  const LogitsFunction forward =
      options.tta ? with_test_time_augmentation(logits) : LogitsFunction(logits);
  const int64_t tile = std::max(size_multiple, options.tile_size / size_multiple * size_multiple);
  const int64_t tile_h = std::min(tile, height), tile_w = std::min(tile, width);
  const std::vector<int64_t> ys = window_starts(height, tile_h, options.step);
  const std::vector<int64_t> xs = window_starts(width, tile_w, options.step);
  if (ys.size() == 1 && xs.size() == 1) {
    sink(0, forward(read(0, 0, height, width))[0]);
    return;
  }
  // A band of rows [top, top + sum.size(1)) holds the weighted sum of the windows that reach
  // it. Rows above the next window's top are finished: they go to `sink` and leave the band.
  torch::Tensor weights, sum, weight_sum;
  int64_t top = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    const int64_t y = ys[i];
    for (const int64_t x : xs) {
      const torch::Tensor out = forward(read(y, x, tile_h, tile_w))[0].to(torch::kFloat32);
      if (!sum.defined()) {
        weights = gaussian_window_weights(tile_h, tile_w).to(out.device())[0];
        sum = torch::zeros({out.size(0), tile_h, width}, out.options());
        weight_sum = torch::zeros({1, tile_h, width}, out.options());
      }
      if (sum.size(1) < y + tile_h - top) {  // the band grows down to this window's bottom
        const int64_t more = y + tile_h - top - sum.size(1);
        sum = torch::cat({sum, torch::zeros({sum.size(0), more, width}, sum.options())}, 1);
        weight_sum = torch::cat({weight_sum, torch::zeros({1, more, width}, sum.options())}, 1);
      }
      sum.narrow(1, y - top, tile_h).narrow(2, x, tile_w).add_(out * weights);
      weight_sum.narrow(1, y - top, tile_h).narrow(2, x, tile_w).add_(weights);
    }
    const int64_t finished = (i + 1 < ys.size() ? ys[i + 1] : height) - top;
    sink(top, sum.narrow(1, 0, finished) / weight_sum.narrow(1, 0, finished));
    const int64_t kept = sum.size(1) - finished;
    sum = sum.narrow(1, finished, kept).clone();
    weight_sum = weight_sum.narrow(1, finished, kept).clone();
    top += finished;
  }
}

torch::Tensor predict_logits(model::UNet& model, const torch::Tensor& image,
                             const WindowOptions& options) {
  DUNET_CHECK(image.dim() == 4 && image.size(0) == 1, Error,
              "predict_logits expects one image [1, C, H, W], got ", image.sizes());
  const int64_t height = image.size(2), width = image.size(3);
  torch::Tensor result;
  predict_in_windows(
      [&](const torch::Tensor& x) { return model->forward(x); }, height, width,
      model->size_multiple(),
      [&](int64_t y, int64_t x, int64_t h, int64_t w) {
        return image.narrow(2, y, h).narrow(3, x, w);
      },
      [&](int64_t y, const torch::Tensor& rows) {
        if (!result.defined()) {
          if (y == 0 && rows.size(1) == height) {  // one window: the logits themselves
            result = rows.unsqueeze(0);
            return;
          }
          result = torch::empty({1, rows.size(0), height, width}, rows.options());
        }
        result[0].narrow(1, y, rows.size(1)).copy_(rows);
      },
      options);
  return result;
}

}  // namespace dunet::infer
