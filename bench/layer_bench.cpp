#include "bench/layer_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "infer/sliding_window.h"
#include "kernels/compute_threads.h"
#include "kernels/fast_paths.h"
#include "kernels/numerics.h"
#include "kernels/winograd_conv.h"
#include "model/transpose_conv.h"
#include "model/unet.h"

namespace dunet::bench {
namespace {

using Clock = std::chrono::steady_clock;

template <typename Fn>
double median_seconds(int64_t repeats, Fn&& fn) {
  fn();  // warm-up: first-call allocations and oneDNN primitive creation
  std::vector<double> times;
  for (int64_t i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// The libblas.so.3 this process loaded (the Debian alternative decides which BLAS it is).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto at = line.find('/');
    if (at != std::string::npos && line.find("libblas.so") != std::string::npos) {
      return line.substr(at);
    }
  }
  return "unknown";
}

// Which convolution LibTorch's side of a comparison runs (apply_onednn_policy decides).
const char* onednn_state() {
  return kernels::libtorch_convolves_by_onednn() ? "LibTorch with oneDNN"
                                                 : "LibTorch without oneDNN (im2col)";
}

}  // namespace

void run_upconv_bench(const UpconvOptions& options) {
  kernels::apply_numerics({});  // both sides compute as in training (oneDNN, allocator)
  kernels::set_compute_threads(static_cast<int>(options.threads));
  torch::manual_seed(0);
  std::printf("# dunet bench upconv: batch %ld, %ld threads, median of %ld, BLAS %s, %s\n",
              static_cast<long>(options.batch), static_cast<long>(options.threads),
              static_cast<long>(options.repeats), loaded_blas().c_str(), onednn_state());
  std::printf("%-18s %14s %14s %9s %12s\n", "layer", "ConvT2d ms", "dunet ms", "speed-up",
              "max |diff|");
  double total_standard = 0, total_fast = 0;
  for (int64_t level = 3; level >= 0; --level) {
    const int64_t in = (options.base_channels << level) * 2;
    const int64_t size = options.patch >> (level + 1);
    torch::nn::ConvTranspose2d standard(torch::nn::ConvTranspose2dOptions(in, in / 2, 2).stride(2));
    model::TransposeConv2x2 fast(in, in / 2);
    {
      torch::NoGradGuard no_grad;
      fast->weight().copy_(standard->weight);
      fast->bias().copy_(standard->bias);
    }
    const torch::Tensor x = torch::randn({options.batch, in, size, size}).requires_grad_(true);
    const torch::Tensor probe = torch::randn({options.batch, in / 2, size * 2, size * 2});
    auto step = [&](auto& module) {
      x.mutable_grad() = torch::Tensor();
      module->zero_grad();
      (module->forward(x) * probe).sum().backward();
    };
    const double t_standard = median_seconds(options.repeats, [&] { step(standard); });
    const double t_fast = median_seconds(options.repeats, [&] { step(fast); });
    double diff = 0;
    {
      torch::NoGradGuard no_grad;
      diff = (standard->forward(x) - fast->forward(x)).abs().max().item<double>();
    }
    total_standard += t_standard;
    total_fast += t_fast;
    const std::string name =
        std::to_string(in) + "->" + std::to_string(in / 2) + " @" + std::to_string(size);
    std::printf("%-18s %14.2f %14.2f %8.2fx %12.2e\n", name.c_str(), 1e3 * t_standard, 1e3 * t_fast,
                t_standard / t_fast, diff);
  }
  std::printf("%-18s %14.2f %14.2f %8.2fx\n", "all four", 1e3 * total_standard, 1e3 * total_fast,
              total_standard / total_fast);
}

void run_conv3x3_bench(const Conv3x3Options& options) {
  DUNET_CHECK(kernels::WinogradConv3x3::available(), Error,
              "dunet bench conv3x3 needs OpenBLAS as the system's libblas.so.3");
  kernels::apply_numerics({});  // both sides compute as in training (oneDNN, allocator)
  kernels::set_compute_threads(static_cast<int>(options.threads));
  torch::manual_seed(0);
  struct Layer {
    int64_t in, out, size;
  };
  std::vector<Layer> layers;
  const int64_t base = options.base_channels, depth = 4;
  int64_t channels = 3;
  for (int64_t level = 0; level <= depth; ++level) {  // down path and bottom
    const int64_t width = base << level, size = options.size >> level;
    layers.push_back({channels, width, size});
    layers.push_back({width, width, size});
    channels = width;
  }
  for (int64_t level = depth - 1; level >= 0; --level) {  // up path, after the skip concat
    const int64_t width = base << level, size = options.size >> level;
    layers.push_back({2 * width, width, size});
    layers.push_back({width, width, size});
  }
  std::printf("# dunet bench conv3x3: batch %ld, %ld threads, median of %ld, ms, %s\n",
              static_cast<long>(options.batch), static_cast<long>(options.threads),
              static_cast<long>(options.repeats), onednn_state());
  std::printf("%-16s %9s %9s %7s %11s %11s %7s %10s\n", "layer", "fwd", "wino fwd", "x", "fwd+bwd",
              "wino f+b", "x", "grad err");
  double totals[4] = {0, 0, 0, 0};
  for (const Layer& layer : layers) {
    const torch::Tensor x =
        torch::randn({options.batch, layer.in, layer.size, layer.size}).requires_grad_();
    const torch::Tensor w = (torch::randn({layer.out, layer.in, 3, 3}) * 0.05).requires_grad_();
    const torch::Tensor b = torch::randn({layer.out}).requires_grad_();
    const torch::Tensor grad = torch::randn({options.batch, layer.out, layer.size, layer.size});
    const kernels::WinogradConv3x3 folded(w, b);
    double t[4];
    {
      torch::NoGradGuard no_grad;
      t[0] = median_seconds(options.repeats, [&] { torch::conv2d(x, w, b, 1, 1); });
      t[1] = median_seconds(options.repeats, [&] { folded.forward(x, false); });
    }
    auto train = [&](bool winograd) {
      const torch::Tensor y =
          winograd ? kernels::winograd_conv2d(x, w, b) : torch::conv2d(x, w, b, 1, 1);
      return torch::autograd::grad({y}, {x, w}, {grad});
    };
    t[2] = median_seconds(options.repeats, [&] { train(false); });
    t[3] = median_seconds(options.repeats, [&] { train(true); });
    // Largest weight-gradient difference relative to the largest entry.
    const auto direct = train(false), fast = train(true);
    const double error = ((direct[1] - fast[1]).abs().max() / direct[1].abs().max()).item<double>();
    for (int i = 0; i < 4; ++i) totals[i] += t[i];
    const std::string name = std::to_string(layer.in) + "->" + std::to_string(layer.out) + " @" +
                             std::to_string(layer.size);
    std::printf("%-16s %9.1f %9.1f %6.2fx %11.1f %11.1f %6.2fx %10.1e\n", name.c_str(), 1e3 * t[0],
                1e3 * t[1], t[0] / t[1], 1e3 * t[2], 1e3 * t[3], t[2] / t[3], error);
  }
  std::printf("%-16s %9.1f %9.1f %6.2fx %11.1f %11.1f %6.2fx\n", "all", 1e3 * totals[0],
              1e3 * totals[1], totals[0] / totals[1], 1e3 * totals[2], 1e3 * totals[3],
              totals[2] / totals[3]);
}

void run_infer_bench(const InferOptions& options) {
  kernels::apply_numerics({});
  kernels::set_compute_threads(static_cast<int>(options.threads));
  torch::manual_seed(0);
  model::ModelConfig config;
  config.base_channels = options.base_channels;
  model::UNet net(config);
  net->eval();
  const torch::Tensor image = torch::randn({1, config.in_channels, options.size, options.size});
  const double seconds = median_seconds(
      options.repeats, [&] { torch::sigmoid(infer::predict_logits(net, image, {options.size})); });
  std::printf("infer_ms=%.1f base=%ld size=%ld threads=%ld\n", 1e3 * seconds,
              static_cast<long>(options.base_channels), static_cast<long>(options.size),
              static_cast<long>(options.threads));
}

}  // namespace dunet::bench
