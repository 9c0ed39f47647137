// GPU figures for docs/benchmarks.md (tests/gpu/run.sh): training images/s of the base-64,
// depth-4 UNet at 256x256 in fp32, bf16 and fp16, and the latency of predicting one image.
// Prints one `key=value` line per figure, after a line naming the GPU and the versions.
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/numerics.h"
#include "kernels/precision.h"
#include "model/loss.h"
#include "model/unet.h"

namespace {

using namespace dunet;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The seed's full-size UNet (31 M parameters) on the GPU, the same weights every time.
model::UNet base64_unet() {
  torch::manual_seed(1);
  model::ModelConfig config;
  config.base_channels = 64;
  config.depth = 4;
  model::UNet net(config);
  net->to(torch::kCUDA);
  return net;
}

double train_images_per_second(kernels::Precision precision, int64_t batch, int64_t size,
                               int64_t warmup, int64_t steps) {
  model::UNet net = base64_unet();
  net->train();
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-4));
  const auto x = torch::rand({batch, 3, size, size}, torch::kCUDA);
  const auto y = (torch::rand({batch, 1, size, size}, torch::kCUDA) > 0.7).to(torch::kFloat);
  const double scale = precision == kernels::Precision::kFp16 ? 1024.0 : 1.0;
  Clock::time_point start;
  for (int64_t step = 0; step < warmup + steps; ++step) {
    if (step == warmup) {
      torch::cuda::synchronize();
      start = Clock::now();
    }
    adam.zero_grad();
    torch::Tensor logits;
    {
      const kernels::AutocastScope autocast(c10::DeviceType::CUDA, precision);
      logits = net->forward(x);
    }
    (model::segmentation_loss(logits, y, model::LossKind::kBce) * scale).backward();
    adam.step();
  }
  torch::cuda::synchronize();
  return static_cast<double>(batch * steps) / seconds(start);
}

// Median milliseconds of one eval-mode forward of a [1, 3, size, size] image.
double inference_ms(int64_t size, kernels::Precision precision) {
  model::UNet net = base64_unet();
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({1, 3, size, size}, torch::kCUDA);
  std::vector<double> times;
  for (int i = 0; i < 25; ++i) {
    torch::cuda::synchronize();
    const auto start = Clock::now();
    {
      const kernels::AutocastScope autocast(c10::DeviceType::CUDA, precision);
      (void)torch::sigmoid(net->forward(x)).gt(0.5).to(torch::kCPU);
    }
    if (i >= 5) times.push_back(1e3 * seconds(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::printf("no usable CUDA device: no GPU figures\n");
    return 77;
  }
  at::globalContext().setBenchmarkCuDNN(true);  // as training would run
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  int driver = 0, runtime = 0, nccl = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  ncclGetVersion(&nccl);
  std::printf("gpu=\"%s\" memory_gib=%.0f driver_cuda=%d runtime_cuda=%d nccl=%d\n", props->name,
              static_cast<double>(props->totalGlobalMem) / (1 << 30), driver, runtime, nccl);
  std::printf("numerics %s\n", kernels::current_numerics().line().c_str());
  const int64_t batch = 16, size = 256;
  for (const auto precision :
       {kernels::Precision::kFp32, kernels::Precision::kBf16, kernels::Precision::kFp16}) {
    std::printf("train base=64 depth=4 size=%ld batch=%ld precision=%s images_per_s=%.1f\n",
                static_cast<long>(size), static_cast<long>(batch),
                kernels::precision_name(precision),
                train_images_per_second(precision, batch, size, 5, 30));
    std::fflush(stdout);
  }
  for (const int64_t image : {256, 1024}) {
    for (const auto precision : {kernels::Precision::kFp32, kernels::Precision::kBf16}) {
      std::printf("infer base=64 depth=4 size=%ld precision=%s latency_ms=%.2f\n",
                  static_cast<long>(image), kernels::precision_name(precision),
                  inference_ms(image, precision));
    }
  }
  return 0;
}
