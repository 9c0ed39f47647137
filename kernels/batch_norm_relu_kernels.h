// The per-channel loops of training-mode BatchNorm followed by ReLU (batch_norm_relu.h) on
// contiguous [N, C, H, W] floats: one channel is N planes of H*W values. Sums are taken in
// float vector lanes over short runs and carried in double, so a 128x128 batch loses no more
// than LibTorch's own reductions.
#pragma once

#include <cstdint>

namespace dunet::kernels::batch_norm_relu_kernels {

struct Shape {
  int64_t batch, channels, plane;  // N, C, H * W

  int64_t values_per_channel() const { return batch * plane; }
  int64_t offset(int64_t image, int64_t channel) const {
    return (image * channels + channel) * plane;
  }
};

struct Moments {
  double mean, variance;  // the variance divides by N * H * W (biased), as normalisation uses
};

// Mean and variance of `channel` in two passes (mean first), which keeps the variance accurate
// when the mean is large against the spread.
Moments channel_moments(const float* x, const Shape& shape, int64_t channel);

// y = max(0, (x - mean) * scale + shift) over `channel`. Centred first: x * scale + (shift -
// mean * scale) would cancel away the digits when the mean is large against the spread.
void normalise_relu(const float* x, const Shape& shape, int64_t channel, float mean, float scale,
                    float shift, float* y);

struct GradientSums {
  double gradient;          // sum of g, where g = dy where y > 0, else 0 (ReLU's gradient)
  double centred_gradient;  // sum of g * (x - mean)
};

GradientSums channel_gradient_sums(const float* grad_y, const float* y, const float* x,
                                   const Shape& shape, int64_t channel, float mean);

// dx = a * g + b * (x - mean) + c over `channel`, g as in GradientSums.
void masked_affine_gradient(const float* grad_y, const float* y, const float* x, const Shape& shape,
                            int64_t channel, float mean, float a, float b, float c, float* grad_x);

}  // namespace dunet::kernels::batch_norm_relu_kernels
