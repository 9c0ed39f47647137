#include "data/image_kind.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace dunet::data {

std::string image_kind(const Image& image) {
  const int64_t pixels = image.num_pixels(), channels = image.channels;
  if (pixels == 0 || channels == 0) return "empty";
  std::array<int64_t, 256> brightness{};  // histogram of the channel means
  double spread_sum = 0;
  for (int64_t i = 0; i < pixels; ++i) {
    const uint8_t* p = image.pixels.data() + i * channels;
    const auto [lo, hi] = std::minmax_element(p, p + channels);
    spread_sum += *hi - *lo;
    int64_t sum = 0;
    for (int64_t c = 0; c < channels; ++c) sum += p[c];
    ++brightness[static_cast<size_t>(sum / channels)];
  }
  int64_t seen = 0, median = 0;
  while (seen + brightness[static_cast<size_t>(median)] <= pixels / 2) {
    seen += brightness[static_cast<size_t>(median)];
    ++median;
  }
  const bool colour = spread_sum / static_cast<double>(pixels) > 8.0;
  return std::string(colour ? "colour" : "grey") + (median >= 128 ? "-light" : "-dark");
}

}  // namespace dunet::data
