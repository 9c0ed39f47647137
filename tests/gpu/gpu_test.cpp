// The GPU check (label `gpu`, tests/gpu/run.sh): the UNet on CUDA against the CPU in float64,
// 50 training steps in fp32, bf16 and fp16, a checkpoint written on the GPU and read on the CPU,
// and the NCCL communicator with the gradient reducer at world size 1, including an abort.
// Every test skips on a machine without a usable GPU.
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/Sleep.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/format.h"
#include "core/error.h"
#include "kernels/precision.h"
#include "launcher/local_communicator.h"
#include "launcher/nccl_communicator.h"
#include "model/loss.h"
#include "model/unet.h"
#include "trainer/gradient_reducer.h"
#include "trainer/loss_scaler.h"

namespace dunet {
namespace {

namespace fs = std::filesystem;
using kernels::AutocastScope;
using kernels::Precision;

#define SKIP_WITHOUT_GPU()                                                   \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no usable CUDA device"; \
  static_cast<void>(0)

model::ModelConfig unet_config(int64_t base, int64_t depth) {
  model::ModelConfig c;
  c.base_channels = base;
  c.depth = depth;
  return c;
}

// Two UNets with the same initial weights (drawn after the same seed), the first on `first`
// device and type, the second on CUDA in float32.
std::pair<model::UNet, model::UNet> twins(uint64_t seed, int64_t base, int64_t depth,
                                          torch::TensorOptions first) {
  torch::manual_seed(seed);
  model::UNet a(unet_config(base, depth));
  torch::manual_seed(seed);
  model::UNet b(unet_config(base, depth));
  a->to(first.device(), first.dtype().toScalarType());
  b->to(torch::kCUDA);
  return {a, b};
}

// Bright disks on a noisy background, and their masks: a batch the UNet can learn.
std::pair<torch::Tensor, torch::Tensor> disks(int64_t batch, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  const auto coords = torch::arange(size, torch::kFloat);
  const auto y = coords.view({1, size, 1}), x = coords.view({1, 1, size});
  torch::Tensor mask = torch::zeros({batch, size, size});
  for (int disk = 0; disk < 6; ++disk) {
    const auto cy = torch::rand({batch, 1, 1}) * size, cx = torch::rand({batch, 1, 1}) * size;
    const auto r = 3 + torch::rand({batch, 1, 1}) * (size / 8.0);
    mask = torch::max(mask, ((y - cy).square() + (x - cx).square() < r.square()).to(torch::kFloat));
  }
  mask = mask.unsqueeze(1);
  const auto image = (0.2 + 0.6 * mask + 0.1 * torch::randn({batch, 3, size, size})).contiguous();
  return {image, mask.contiguous()};
}

// ||got - exact|| / ||exact|| of one tensor, in float64.
double relative_error(const torch::Tensor& got, const torch::Tensor& exact) {
  const auto e = exact.to(torch::kCPU, torch::kDouble);
  return (got.to(torch::kCPU, torch::kDouble) - e).norm().item<double>() /
         std::max(e.norm().item<double>(), 1e-300);
}

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    // Plain float32 on the GPU: no TF32, deterministic cuDNN algorithms.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
  }
};

// One training step of the same UNet on CUDA in float32 and on the CPU in float64 (the truth),
// judged as docs/numerics.md's Note [UNet gradient tolerance] judges float runs on the CPU:
// logits and loss within 1e-4 and 1e-5 relative, every gradient within 10 % per tensor (behind
// BatchNorm the terms of a weight gradient nearly cancel), and the conv biases in front of a
// BatchNorm, whose exact gradient is zero, below 1e-4 of the largest gradient.
TEST_F(Gpu, UNetForwardAndBackwardOnCudaMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  auto [reference, gpu] = twins(11, 16, 3, torch::TensorOptions(torch::kDouble));
  const auto [image, mask] = disks(2, 64, 3);
  const auto ref_logits = reference->forward(image.to(torch::kDouble));
  const auto ref_loss =
      model::segmentation_loss(ref_logits, mask.to(torch::kDouble), model::LossKind::kBce);
  ref_loss.backward();
  const auto logits = gpu->forward(image.to(torch::kCUDA));
  const auto loss = model::segmentation_loss(logits, mask.to(torch::kCUDA), model::LossKind::kBce);
  loss.backward();
  EXPECT_EQ(logits.device().type(), torch::kCUDA);
  EXPECT_LT(relative_error(logits, ref_logits), 1e-4);
  EXPECT_NEAR(loss.item<double>(), ref_loss.item<double>(), 1e-5 * ref_loss.item<double>());

  double largest = 0;
  for (const auto& p : reference->parameters()) {
    largest = std::max(largest, p.grad().abs().max().item<double>());
  }
  const auto got = gpu->named_parameters(), exact = reference->named_parameters();
  for (const auto& item : exact) {
    const torch::Tensor g = got[item.key()].grad(), e = item.value().grad();
    SCOPED_TRACE(item.key());
    if (e.abs().max().item<double>() < 1e-9 * largest) {
      EXPECT_LT(g.abs().max().item<double>(), 1e-4 * largest);
    } else {
      EXPECT_LT(relative_error(g, e), 0.10);
    }
  }
}

struct StepsResult {
  std::vector<double> losses;
  int64_t overflows = 0;
  double final_scale = 0;
  torch::ScalarType logits_type = torch::kFloat;
};

// `steps` training steps on CUDA as the trainer takes them: autocast, loss scaling, the
// gradient reducer over an NCCL communicator of one rank, Adam.
StepsResult train_on_gpu(model::UNet& net, Precision precision, int64_t steps) {
  launcher::LocalCommunicator bootstrap;
  launcher::NcclCommunicator comm(bootstrap, launcher::NcclOptions{});
  trainer::GradientReducer reducer(net->parameters(), comm, int64_t{4} << 20);
  trainer::LossScaler scaler("auto", kernels::precision_name(precision), 65536.0);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
  for (uint64_t b = 0; b < 4; ++b) {
    auto [x, y] = disks(4, 64, 100 + b);
    batches.emplace_back(x.to(torch::kCUDA), y.to(torch::kCUDA));
  }
  StepsResult result;
  net->train();
  for (int64_t step = 0; step < steps; ++step) {
    const auto& [x, y] = batches[static_cast<size_t>(step) % batches.size()];
    reducer.zero_grad();
    torch::Tensor logits;
    {
      const AutocastScope autocast(c10::DeviceType::CUDA, precision);
      logits = net->forward(x);
    }
    result.logits_type = logits.scalar_type();
    const auto loss = model::segmentation_loss(logits, y, model::LossKind::kBce);
    reducer.prepare_for_backward(true);
    (loss * scaler.loss_factor()).backward();
    reducer.finish();
    scaler.unscale(net->parameters());
    bool finite = true;
    for (const auto& p : net->parameters()) {
      finite = finite && torch::isfinite(p.grad()).all().item<bool>();
    }
    if (finite) adam.step();
    result.overflows += finite ? 0 : 1;
    scaler.update(finite);
    result.losses.push_back(loss.item<double>());
  }
  result.final_scale = scaler.loss_factor();
  return result;
}

double mean(const std::vector<double>& v, size_t from, size_t count) {
  double sum = 0;
  for (size_t i = from; i < from + count; ++i) sum += v[i];
  return sum / static_cast<double>(count);
}

// 50 steps in each precision: the forward runs in that precision, every loss is finite, the
// loss falls (the mean of the last ten steps below that of the first ten), and fp16's loss
// scale overflows at most a few times.
TEST_F(Gpu, FiftyTrainingStepsInFp32Bf16AndFp16) {
  SKIP_WITHOUT_GPU();
  for (const Precision precision : {Precision::kFp32, Precision::kBf16, Precision::kFp16}) {
    SCOPED_TRACE(kernels::precision_name(precision));
    torch::manual_seed(5);
    model::UNet net(unet_config(16, 3));
    net->to(torch::kCUDA);
    const StepsResult r = train_on_gpu(net, precision, 50);
    const torch::ScalarType expected = precision == Precision::kFp32   ? torch::kFloat
                                       : precision == Precision::kBf16 ? torch::kBFloat16
                                                                       : torch::kHalf;
    EXPECT_EQ(r.logits_type, expected);
    for (double loss : r.losses) EXPECT_TRUE(std::isfinite(loss));
    EXPECT_LT(mean(r.losses, 40, 10), mean(r.losses, 0, 10));
    for (const auto& p : net->parameters()) {
      ASSERT_EQ(p.scalar_type(), torch::kFloat);  // master weights stay float32
      ASSERT_TRUE(torch::isfinite(p).all().item<bool>());
    }
    if (precision == Precision::kFp16) {
      EXPECT_LE(r.overflows, 5);
      EXPECT_GE(r.final_scale, 1.0);
    } else {
      EXPECT_EQ(r.overflows, 0);
    }
  }
}

// Weights trained on the GPU, saved, then loaded by a CPU model: the same bits, and the same
// mask for an image (pixels whose logit is within 1e-3 of the largest logit of zero excepted:
// there the two devices' roundings may fall either side).
TEST_F(Gpu, CheckpointWrittenOnTheGpuLoadsOnTheCpuAndPredictsTheSameMask) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(7);
  model::UNet net(unet_config(16, 3));
  net->to(torch::kCUDA);
  train_on_gpu(net, Precision::kFp32, 10);
  net->eval();
  const fs::path dir = fs::temp_directory_path() / ("dunet-gpu-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  checkpoint::CheckpointMeta meta;
  meta.model = net->config();
  meta.mean = {0, 0, 0};
  meta.std = {1, 1, 1};
  checkpoint::save_checkpoint(dir / "gpu.pt", net, nullptr, meta);
  model::UNet cpu(unet_config(16, 3));
  checkpoint::load_checkpoint(dir / "gpu.pt", cpu, nullptr);
  cpu->eval();
  const auto on_gpu = net->named_parameters(), on_cpu = cpu->named_parameters();
  for (const auto& item : on_gpu) {
    EXPECT_TRUE(torch::equal(item.value().cpu(), on_cpu[item.key()])) << item.key();
  }
  const auto buffers_gpu = net->named_buffers(), buffers_cpu = cpu->named_buffers();
  for (const auto& item : buffers_gpu) {
    EXPECT_TRUE(torch::equal(item.value().cpu(), buffers_cpu[item.key()])) << item.key();
  }
  torch::NoGradGuard no_grad;
  const auto image = disks(1, 128, 42).first;
  const auto gpu_logits = net->forward(image.to(torch::kCUDA)).cpu();
  const auto cpu_logits = cpu->forward(image);
  const double margin = 1e-3 * cpu_logits.abs().max().item<double>();
  const auto decided = cpu_logits.abs() > margin;
  const auto differ = (gpu_logits > 0) != (cpu_logits > 0);
  EXPECT_EQ((differ & decided).sum().item<int64_t>(), 0);
  fs::remove_all(dir);
}

// The NCCL communicator at world size 1: sum, average and broadcast leave the tensor as it
// was, also from a non-default LibTorch stream, and the reducer gives the gradients that plain
// backward gives.
TEST_F(Gpu, NcclCommunicatorAndGradientReducerAtWorldSizeOne) {
  SKIP_WITHOUT_GPU();
  launcher::LocalCommunicator bootstrap;
  launcher::NcclCommunicator comm(bootstrap, launcher::NcclOptions{});
  EXPECT_EQ(comm.library_version().rfind("NCCL 2.", 0), 0u) << comm.library_version();
  EXPECT_EQ(comm.device(), 0);
  const c10::cuda::CUDAStreamGuard side_stream(c10::cuda::getStreamFromPool());
  const auto values = torch::arange(1000, torch::TensorOptions(torch::kCUDA).dtype(torch::kFloat));
  for (const auto op : {launcher::ReduceOp::kSum, launcher::ReduceOp::kAverage}) {
    auto t = values.clone();
    comm.all_reduce(t, op);
    EXPECT_TRUE(torch::equal(t, values));
  }
  auto b = values.to(torch::kBFloat16);
  comm.all_reduce(b, launcher::ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(b, values.to(torch::kBFloat16)));
  auto t = values.clone();
  comm.broadcast(t, 0);
  comm.barrier();
  EXPECT_TRUE(torch::equal(t, values));
  auto on_cpu = torch::ones({4});
  EXPECT_THROW(comm.all_reduce(on_cpu, launcher::ReduceOp::kSum), CommError);

  auto [plain, reduced] = twins(9, 8, 2, torch::TensorOptions(torch::kCUDA));
  const auto [x, y] = disks(2, 32, 1);
  const auto xc = x.to(torch::kCUDA), yc = y.to(torch::kCUDA);
  model::segmentation_loss(plain->forward(xc), yc, model::LossKind::kBce).backward();
  trainer::GradientReducer reducer(reduced->parameters(), comm, 64 << 10, 16 << 10);
  reducer.zero_grad();
  reducer.prepare_for_backward(true);
  model::segmentation_loss(reduced->forward(xc), yc, model::LossKind::kBce).backward();
  reducer.finish();
  const auto expected = plain->named_parameters(), got = reduced->named_parameters();
  for (const auto& item : expected) {
    EXPECT_TRUE(torch::allclose(got[item.key()].grad(), item.value().grad(), 1e-6, 1e-7))
        << item.key();
  }
}

// A collective that cannot finish within the timeout (its inputs wait behind a 20 s kernel
// on the caller's stream) is aborted by the watchdog, and the next call raises CommError
// naming the rank, the operation and dist.timeout_s. Last: it leaves the device busy.
TEST_F(Gpu, ZHungCollectiveIsAbortedWithinTheTimeout) {
  SKIP_WITHOUT_GPU();
  launcher::LocalCommunicator bootstrap;
  launcher::NcclOptions options;
  options.timeout_s = 1;
  launcher::NcclCommunicator comm(bootstrap, options);
  auto t = torch::ones({1024}, torch::kCUDA);
  const int64_t clock_khz = at::cuda::getCurrentDeviceProperties()->clockRate;
  at::cuda::sleep(clock_khz * 1000 * 20);  // about 20 s of device time
  const auto start = std::chrono::steady_clock::now();
  comm.all_reduce(t, launcher::ReduceOp::kSum);
  std::string message;
  try {
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
      comm.barrier();  // returns only once all work is done, or throws once aborted
    }
  } catch (const CommError& e) {
    message = e.what();
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(waited, 5.0);
  EXPECT_NE(message.find("rank 0: NCCL all_reduce"), std::string::npos) << message;
  EXPECT_NE(message.find("dist.timeout_s"), std::string::npos) << message;
  EXPECT_THROW(comm.all_reduce(t, launcher::ReduceOp::kSum), CommError);
}

}  // namespace
}  // namespace dunet
