// `dunet bench upconv`: forward + backward time of the UNet's 2x2 stride-2 transpose
// convolution, LibTorch's torch::nn::ConvTranspose2d against dunet's TransposeConv2x2 (1x1
// convolution + pixel shuffle), on the four up layers of a UNet, with the largest difference
// between their outputs in the same run. `dunet bench conv3x3`: every 3x3 convolution of a
// UNet, LibTorch's against Winograd (winograd_conv.h), forward alone and forward + backward.
// `dunet bench infer`: single-image inference latency.
#pragma once

#include <cstdint>

namespace dunet::bench {

struct UpconvOptions {
  int64_t base_channels = 64;
  int64_t patch = 256;  // input patch of the UNet; the up layers see patch/16 ... patch/2
  int64_t batch = 4;
  int64_t threads = 2;
  int64_t repeats = 5;  // timed repetitions per layer; the median is reported
};

void run_upconv_bench(const UpconvOptions& options);

struct Conv3x3Options {
  int64_t base_channels = 64;
  int64_t size = 256;  // UNet input size; level l runs at size / 2^l
  int64_t batch = 4;
  int64_t threads = 2;
  int64_t repeats = 3;
};

void run_conv3x3_bench(const Conv3x3Options& options);

struct InferOptions {
  int64_t base_channels = 64;
  int64_t size = 256;
  int64_t threads = 2;
  int64_t repeats = 5;
};

// Prints one line: "infer_ms=<median> base=<b> size=<s> threads=<t>".
void run_infer_bench(const InferOptions& options);

}  // namespace dunet::bench
