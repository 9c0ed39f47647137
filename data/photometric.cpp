#include "data/photometric.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

namespace dunet::data {

namespace {

constexpr double kTwoPi = 6.28318530717958647692;

// A standard normal draw (Box-Muller), from two uniforms of `rng`.
double normal(KeyedRandom& rng) {
  const double u1 = 1.0 - rng.uniform();  // in (0, 1]: log stays finite
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

template <typename F>
void for_each_value(std::vector<float>& v, F f) {
  for (float& x : v) x = f(x);
}

}  // namespace

void recolour_patch(float* image, int64_t channels, int64_t patch, const Normalization& norm,
                    KeyedRandom& rng, const PhotometricRanges& ranges) {
  const int64_t plane = patch * patch;
  std::vector<std::vector<float>> planes(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const auto mean = static_cast<float>(norm.mean[static_cast<size_t>(c)]);
    const auto spread = static_cast<float>(norm.std[static_cast<size_t>(c)]);
    planes[static_cast<size_t>(c)].assign(image + c * plane, image + (c + 1) * plane);
    for_each_value(planes[static_cast<size_t>(c)], [&](float v) { return v * spread + mean; });
  }
  const bool colour = channels > 1;
  if (colour && rng.chance(ranges.grey_chance)) {
    for (int64_t i = 0; i < plane; ++i) {
      float sum = 0;
      for (const auto& p : planes) sum += p[static_cast<size_t>(i)];
      for (auto& p : planes) p[static_cast<size_t>(i)] = sum / static_cast<float>(channels);
    }
  } else if (colour && rng.chance(ranges.colour_chance)) {
    for (auto& p : planes) {
      const auto gain =
          static_cast<float>(rng.uniform(1.0 - ranges.colour_gain, 1.0 + ranges.colour_gain));
      for_each_value(p, [&](float v) { return v * gain; });
    }
  }
  if (rng.chance(ranges.invert_chance)) {
    for (auto& p : planes) for_each_value(p, [](float v) { return 1.0f - v; });
  }
  if (rng.chance(ranges.brightness_chance)) {
    const auto gain =
        static_cast<float>(rng.uniform(1.0 - ranges.brightness, 1.0 + ranges.brightness));
    for (auto& p : planes) for_each_value(p, [&](float v) { return v * gain; });
  }
  if (rng.chance(ranges.contrast_chance)) {
    const auto factor =
        static_cast<float>(rng.uniform(1.0 - ranges.contrast, 1.0 + ranges.contrast));
    for (auto& p : planes) {
      double sum = 0;
      for (const float v : p) sum += v;
      const auto mean = static_cast<float>(sum / static_cast<double>(plane));
      for_each_value(p, [&](float v) { return (v - mean) * factor + mean; });
    }
  }
  if (rng.chance(ranges.gamma_chance)) {
    const auto gamma = static_cast<float>(
        std::exp(rng.uniform(std::log(ranges.gamma_min), std::log(ranges.gamma_max))));
    for (auto& p : planes) {
      for_each_value(p, [&](float v) { return std::pow(std::clamp(v, 0.0f, 1.0f), gamma); });
    }
  }
  if (rng.chance(ranges.blur_chance)) {
    const double sigma = rng.uniform(ranges.blur_sigma_min, ranges.blur_sigma_max);
    for (auto& p : planes) {
      cv::Mat m(static_cast<int>(patch), static_cast<int>(patch), CV_32FC1, p.data());
      cv::GaussianBlur(m, m, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
    }
  }
  if (rng.chance(ranges.noise_chance)) {
    const double sigma = rng.uniform(0.0, ranges.noise_sigma_max);
    for (auto& p : planes) {
      for_each_value(p, [&](float v) { return v + static_cast<float>(sigma * normal(rng)); });
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    const auto mean = static_cast<float>(norm.mean[static_cast<size_t>(c)]);
    const auto spread = static_cast<float>(norm.std[static_cast<size_t>(c)]);
    const auto& p = planes[static_cast<size_t>(c)];
    for (int64_t i = 0; i < plane; ++i) {
      image[c * plane + i] = (std::clamp(p[static_cast<size_t>(i)], 0.0f, 1.0f) - mean) / spread;
    }
  }
}

}  // namespace dunet::data
