#include "infer/image_tensor.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace dunet::infer {

torch::Tensor image_tensor(const data::Image& image, const data::Normalization& norm,
                           const torch::Device& device) {
  std::vector<float> chw = data::normalize_chw(image, norm);
  return torch::from_blob(chw.data(), {1, image.channels, image.height, image.width},
                          torch::kFloat32)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

torch::Tensor image_window_tensor(const data::Image& image, const data::Normalization& norm,
                                  const torch::Device& device, int64_t y, int64_t x, int64_t h,
                                  int64_t w) {
  DUNET_CHECK(y >= 0 && x >= 0 && h > 0 && w > 0 && y + h <= image.height && x + w <= image.width,
              Error, "window ", w, "x", h, " at (", x, ", ", y, ") is outside the ", image.width,
              "x", image.height, " image");
  data::Image window;
  window.height = h;
  window.width = w;
  window.channels = image.channels;
  window.pixels.resize(static_cast<size_t>(h * w * image.channels));
  const size_t row_bytes = static_cast<size_t>(w * image.channels);
  for (int64_t r = 0; r < h; ++r) {
    const auto from = image.pixels.begin() + ((y + r) * image.width + x) * image.channels;
    std::copy(from, from + static_cast<std::ptrdiff_t>(row_bytes),
              window.pixels.begin() +
                  static_cast<std::ptrdiff_t>(r) * static_cast<std::ptrdiff_t>(row_bytes));
  }
  return image_tensor(window, norm, device);
}

}  // namespace dunet::infer
