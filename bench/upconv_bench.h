// `dunet bench upconv`: forward + backward time of the UNet's 2x2 stride-2 transpose
// convolution, LibTorch's torch::nn::ConvTranspose2d against dunet's TransposeConv2x2 (1x1
// convolution + pixel shuffle), on the four up layers of a UNet, with the largest difference
// between their outputs in the same run. `dunet bench infer`: single-image inference latency,
// optionally per 3x3 convolution layer (direct against Winograd, winograd_conv.h).
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

struct InferOptions {
  int64_t base_channels = 64;
  int64_t size = 256;
  int64_t threads = 2;
  int64_t repeats = 5;
  bool layers = false;  // also time each 3x3 convolution: LibTorch's against Winograd
};

// Prints one line: "infer_ms=<median> base=<b> size=<s> threads=<t>".
void run_infer_bench(const InferOptions& options);

}  // namespace dunet::bench
