#include "kernels/batch_norm_relu_kernels.h"

#include <algorithm>
#include <utility>

#include "kernels/cpu_kernels.h"

namespace dunet::kernels::batch_norm_relu_kernels {

namespace {

constexpr int64_t kLanes = 16;  // two AVX registers of floats: independent accumulators
constexpr int64_t kRun = 512;   // values summed in float before the lanes go into a double

// The two sums over `channel` of the pair term(i) gives for each value index i. Runs of kRun
// values are summed in kLanes float lanes, the runs in double.
template <typename Term>
__attribute__((always_inline)) inline std::pair<double, double> channel_sums(const Shape& shape,
                                                                             int64_t channel,
                                                                             const Term& term) {
  double first = 0, second = 0;
  for (int64_t n = 0; n < shape.batch; ++n) {
    const int64_t base = shape.offset(n, channel);
    for (int64_t start = 0; start < shape.plane; start += kRun) {
      const int64_t end = std::min(shape.plane, start + kRun);
      float lanes_first[kLanes] = {}, lanes_second[kLanes] = {};
      int64_t i = start;
      for (; i + kLanes <= end; i += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
          const auto [a, b] = term(base + i + l);
          lanes_first[l] += a;
          lanes_second[l] += b;
        }
      }
      for (; i < end; ++i) {
        const auto [a, b] = term(base + i);
        lanes_first[0] += a;
        lanes_second[0] += b;
      }
      for (int64_t l = 0; l < kLanes; ++l) {
        first += lanes_first[l];
        second += lanes_second[l];
      }
    }
  }
  return {first, second};
}

}  // namespace

__attribute__((always_inline)) inline Moments channel_moments_body(const float* x,
                                                                   const Shape& shape,
                                                                   int64_t channel) {
  const auto count = static_cast<double>(shape.values_per_channel());
  // Summed relative to one of the values: with a mean far from zero, float runs of the raw
  // values would lose the digits that matter.
  const float pivot = x[shape.offset(0, channel)];
  const double mean =
      pivot +
      channel_sums(shape, channel, [&](int64_t i) { return std::pair(x[i] - pivot, 0.0f); }).first /
          count;
  const auto m = static_cast<float>(mean);
  const double variance = channel_sums(shape, channel,
                                       [&](int64_t i) {
                                         const float d = x[i] - m;
                                         return std::pair(d * d, 0.0f);
                                       })
                              .first /
                          count;
  // The float mean's rounding error shifts every square by the same amount: remove it.
  const double shift = static_cast<double>(m) - mean;
  return {mean, std::max(0.0, variance - shift * shift)};
}
DUNET_CPU_KERNEL(Moments, channel_moments, (const float* x, const Shape& shape, int64_t channel),
                 (x, shape, channel))

__attribute__((always_inline)) inline void normalise_relu_body(const float* x, const Shape& shape,
                                                               int64_t channel, float mean,
                                                               float scale, float shift, float* y) {
  for (int64_t n = 0; n < shape.batch; ++n) {
    const int64_t base = shape.offset(n, channel);
    const float* in = x + base;
    float* out = y + base;
    for (int64_t i = 0; i < shape.plane; ++i) {
      out[i] = std::max((in[i] - mean) * scale + shift, 0.0f);
    }
  }
}
DUNET_CPU_KERNEL(void, normalise_relu,
                 (const float* x, const Shape& shape, int64_t channel, float mean, float scale,
                  float shift, float* y),
                 (x, shape, channel, mean, scale, shift, y))

__attribute__((always_inline)) inline GradientSums channel_gradient_sums_body(
    const float* grad_y, const float* y, const float* x, const Shape& shape, int64_t channel,
    float mean) {
  const auto [gradient, centred_gradient] = channel_sums(shape, channel, [&](int64_t i) {
    const float g = y[i] > 0.0f ? grad_y[i] : 0.0f;
    return std::pair(g, g * (x[i] - mean));
  });
  return {gradient, centred_gradient};
}
DUNET_CPU_KERNEL(GradientSums, channel_gradient_sums,
                 (const float* grad_y, const float* y, const float* x, const Shape& shape,
                  int64_t channel, float mean),
                 (grad_y, y, x, shape, channel, mean))

__attribute__((always_inline)) inline void masked_affine_gradient_body(
    const float* grad_y, const float* y, const float* x, const Shape& shape, int64_t channel,
    float mean, float a, float b, float c, float* grad_x) {
  for (int64_t n = 0; n < shape.batch; ++n) {
    const int64_t base = shape.offset(n, channel);
    for (int64_t i = base; i < base + shape.plane; ++i) {
      const float g = y[i] > 0.0f ? grad_y[i] : 0.0f;
      grad_x[i] = a * g + b * (x[i] - mean) + c;
    }
  }
}
DUNET_CPU_KERNEL(void, masked_affine_gradient,
                 (const float* grad_y, const float* y, const float* x, const Shape& shape,
                  int64_t channel, float mean, float a, float b, float c, float* grad_x),
                 (grad_y, y, x, shape, channel, mean, a, b, c, grad_x))

}  // namespace dunet::kernels::batch_norm_relu_kernels
