// UNet shape and size, losses and metrics against values worked out by hand, and whole-image
// (tiled) prediction.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "infer/sliding_window.h"
#include "kernels/caching_allocator.h"
#include "kernels/compute_threads.h"
#include "kernels/cpu_kernels.h"
#include "kernels/fast_paths.h"
#include "kernels/numerics.h"
#include "kernels/precision.h"
#include "kernels/torch_compat.h"
#include "kernels/winograd_conv.h"
#include "model/instance_score.h"
#include "model/loss.h"
#include "model/metrics.h"
#include "model/unet.h"
#include "winograd_error_bound.h"

namespace dunet::model {
namespace {

using namespace dunet::kernels;  // the CPU fast paths the UNet runs on

ModelConfig config(int64_t base, int64_t depth, std::string norm = "batch") {
  ModelConfig c;
  c.base_channels = base;
  c.depth = depth;
  c.norm = std::move(norm);
  return c;
}

// The same networks built in PyTorch (nn.Conv2d with bias, BatchNorm2d, ConvTranspose2d)
// have exactly these many parameters.
TEST(UNet, ParameterCountEqualsThePyTorchNetwork) {
  UNet base64(config(64, 4));
  EXPECT_EQ(count_parameters(*base64), 31043521);
  UNet base16(config(16, 4));
  EXPECT_EQ(count_parameters(*base16), 1944049);
}

// The fast 2x2 transpose convolution computes torch::nn::ConvTranspose2d's function with its
// parameters: outputs and all gradients agree (double precision), the initial weights are the
// same for the same seed, and weights saved from the standard module load into it.
TEST(TransposeConv2x2, SameFunctionAndGradientsAsConvTranspose2d) {
  torch::manual_seed(3);
  torch::nn::ConvTranspose2d standard(torch::nn::ConvTranspose2dOptions(6, 5, 2).stride(2));
  TransposeConv2x2 fast(6, 5);
  standard->to(torch::kFloat64);
  fast->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    fast->weight().copy_(standard->weight);
    fast->bias().copy_(torch::randn({5}, torch::kFloat64));
    standard->bias.copy_(fast->bias());
  }
  // Small inputs take the oneDNN 1x1 convolution, large ones (with OpenBLAS) the product.
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{7, 9}, {64, 65}}) {
    const auto x = torch::randn({3, 6, h, w}, torch::kFloat64).requires_grad_(true);
    const auto probe = torch::randn({3, 5, 2 * h, 2 * w}, torch::kFloat64);
    const auto y_standard = standard->forward(x);
    const auto y_fast = fast->forward(x);
    ASSERT_EQ(y_fast.sizes(), y_standard.sizes());
    EXPECT_LT((y_fast - y_standard).abs().max().item<double>(), 1e-12);
    const auto grads_standard =
        torch::autograd::grad({(y_standard * probe).sum()}, {x, standard->weight, standard->bias});
    const auto grads_fast =
        torch::autograd::grad({(y_fast * probe).sum()}, {x, fast->weight(), fast->bias()});
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_LT((grads_fast[i] - grads_standard[i]).abs().max().item<double>(), 1e-11)
          << i << " at " << h << "x" << w;
    }
  }
}

// The 1x1 convolution over blocks of pixels (the transpose convolution's product): conv2d's
// values and gradients in double precision, including a last block shorter than the rest, and
// in float the same bits for one, two and three threads.
TEST(PointwiseConv, SameAsConv2dAndTheSameBitsForAnyThreadCount) {
  if (!pointwise_conv_applies(torch::zeros({1, 1, 1, 1}))) {
    GTEST_SKIP() << "needs OpenBLAS and dunet's CPU kernels";
  }
  torch::manual_seed(5);
  // 50 x 45 = 2250 pixels: blocks of 1024, 1024 and 202.
  const auto x = torch::randn({2, 6, 50, 45}, torch::kFloat64).requires_grad_(true);
  const auto w = torch::randn({7, 6}, torch::kFloat64).requires_grad_(true);
  const auto b = torch::randn({7}, torch::kFloat64).requires_grad_(true);
  const auto probe = torch::randn({2, 7, 50, 45}, torch::kFloat64);
  const auto expected = torch::conv2d(x, w.view({7, 6, 1, 1}), b);
  const auto got = pointwise_conv(x, w, b);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-12);
  const auto grads_expected = torch::autograd::grad({(expected * probe).sum()}, {x, w, b});
  const auto grads_got = torch::autograd::grad({(got * probe).sum()}, {x, w, b});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_LT((grads_got[i] - grads_expected[i]).abs().max().item<double>(), 1e-11) << i;
  }

  const int before = at::get_num_threads();
  const auto xf = x.detach().to(torch::kFloat).requires_grad_(true);
  const auto wf = w.detach().to(torch::kFloat).requires_grad_(true);
  const auto bf = b.detach().to(torch::kFloat).requires_grad_(true);
  std::vector<torch::Tensor> first;
  for (const int threads : {1, 2, 3}) {
    set_compute_threads(threads);
    const auto y = pointwise_conv(xf, wf, bf);
    auto results = torch::autograd::grad({(y * probe.to(torch::kFloat)).sum()}, {xf, wf, bf});
    results.insert(results.begin(), y.detach());
    if (first.empty()) first = results;
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_TRUE(torch::equal(results[i], first[i])) << i << " with " << threads << " threads";
    }
  }
  set_compute_threads(before);
}

TEST(TransposeConv2x2, InitialisedAndSavedLikeConvTranspose2d) {
  torch::manual_seed(11);
  torch::nn::ConvTranspose2d standard(torch::nn::ConvTranspose2dOptions(8, 4, 2).stride(2));
  torch::manual_seed(11);
  TransposeConv2x2 fast(8, 4);
  EXPECT_TRUE(torch::equal(fast->weight(), standard->weight));
  EXPECT_TRUE(torch::equal(fast->bias(), standard->bias));

  {
    torch::NoGradGuard no_grad;
    standard->weight.normal_();
    standard->bias.normal_();
  }
  std::stringstream saved;
  torch::save(standard, saved);
  torch::load(fast, saved);
  EXPECT_TRUE(torch::equal(fast->weight(), standard->weight));
  EXPECT_TRUE(torch::equal(fast->bias(), standard->bias));
}

// LibTorch takes the thread count; OpenBLAS (when it is the loaded libblas.so.3) keeps one
// thread, so that its pool never competes with LibTorch's for the cores.
TEST(ComputeThreads, SetsLibTorchThreadsAndKeepsOpenBlasOnOne) {
  const int before = at::get_num_threads();
  for (const int threads : {1, 2, 3}) {
    set_compute_threads(threads);
    EXPECT_EQ(at::get_num_threads(), threads);
    using GetThreads = int (*)();
    if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_get_num_threads")) {
      EXPECT_EQ(reinterpret_cast<GetThreads>(symbol)(), 1) << threads << " threads";
    }
  }
  set_compute_threads(before);
}

// Which library sgemm_ comes from decides, not whether OpenBLAS is loaded at all: it is, for
// LAPACK, beside the reference BLAS too. CTest runs this also with the reference BLAS first
// on the library path (model_test_reference_blas).
TEST(ComputeThreads, DetectsWhichBlasSgemmComesFrom) {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  ASSERT_NE(sgemm, nullptr);
  Dl_info info{};
  ASSERT_NE(dladdr(sgemm, &info), 0);
  const std::string path = std::filesystem::canonical(info.dli_fname).string();
  EXPECT_EQ(blas_is_openblas(), path.find("openblas") != std::string::npos) << path;
  EXPECT_EQ(WinogradConv3x3::available(), kCpuKernelsBuilt && blas_is_openblas());
  if (std::getenv("DUNET_EXPECT_REFERENCE_BLAS") != nullptr) {
    EXPECT_FALSE(blas_is_openblas());
  }
}

// A process that never called set_compute_threads (a program linking dunet's libraries) has
// OpenBLAS's own count, one thread per core; the guard still keeps Winograd's products on the
// calling thread and restores that count.
TEST(ComputeThreads, BlasRunsOnTheCallingThreadWhileTheGuardLives) {
  using GetThreads = int (*)();
  using SetThreads = void (*)(int);
  auto* get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get == nullptr || set == nullptr) GTEST_SKIP() << "the loaded BLAS is not OpenBLAS";
  const int before = get();
  set(2);
  {
    const BlasOnCallingThread guard;
    EXPECT_EQ(get(), 1);
  }
  EXPECT_EQ(get(), 2);
  set(before);
}

double relative_max_error(const torch::Tensor& got, const torch::Tensor& expected) {
  const torch::Tensor reference = expected.to(torch::kDouble);
  return ((got.to(torch::kDouble) - reference).abs().max() / reference.abs().max()).item<double>();
}

// The test's own double-precision F(4x4, 3x3), which the error bounds below evaluate on absolute
// values, is exactly the convolution (to double rounding): the oracle checks itself.
TEST(WinogradErrorBound, ReferenceAlgorithmIsTheConvolution) {
  torch::manual_seed(2);
  const auto x = torch::randn({2, 5, 9, 14}, torch::kDouble);
  const auto w = torch::randn({3, 5, 3, 3}, torch::kDouble);
  const auto direct = torch::conv2d(x, w, {}, /*stride=*/1, /*padding=*/1);
  EXPECT_LT(
      (testing::winograd_forward(x, w, /*absolute=*/false) - direct).abs().max().item<double>(),
      1e-12);
  // The absolute-value form bounds |x| * |w| from above: it is at least direct's.
  const auto abs_direct = torch::conv2d(x.abs(), w.abs(), {}, 1, 1);
  EXPECT_TRUE(
      (testing::winograd_forward(x, w, true) >= abs_direct * (1 - 1e-12)).all().item<bool>());
}

// Against LibTorch's convolution in double, every output element within the rigorous float
// bound of Note [Winograd error bound] (the same on any CPU): partial tiles at the right and
// bottom edges, 1x1 images, several images per call, more than one block of tiles, ReLU on the
// way out.
TEST(WinogradConv3x3, SameAsDirectConvolution) {
  if (!WinogradConv3x3::available()) GTEST_SKIP() << "needs OpenBLAS";
  torch::manual_seed(3);
  struct Shape {
    int64_t batch, in, out, height, width;
  };
  for (const Shape s : {Shape{1, 3, 5, 1, 1}, Shape{2, 4, 6, 7, 9}, Shape{1, 16, 8, 33, 20},
                        Shape{3, 64, 32, 16, 16}, Shape{1, 256, 256, 40, 24}}) {
    const auto x = torch::randn({s.batch, s.in, s.height, s.width});
    const auto w = torch::randn({s.out, s.in, 3, 3});
    const auto b = torch::randn({s.out});
    const auto expected = torch::conv2d(x.to(torch::kDouble), w.to(torch::kDouble),
                                        b.to(torch::kDouble), /*stride=*/1, /*padding=*/1);
    const WinogradConv3x3 conv(w, b);
    const auto got = conv.forward(x, /*relu=*/false);
    EXPECT_EQ(got.sizes(), expected.sizes());
    const auto bound = testing::winograd_forward_bound(x, w, b);
    EXPECT_TRUE(testing::within_bound(got, expected, bound))
        << s.in << "->" << s.out << " @ " << s.height << "x" << s.width << ": error / bound up to "
        << testing::bound_ratio(got, expected, bound);
    EXPECT_TRUE(torch::equal(conv.forward(x, /*relu=*/true), got.clamp_min(0)));
  }
}

// Which 3x3 layers Winograd takes depends on what LibTorch would run instead: against oneDNN
// only the wide ones; against LibTorch's im2col (oneDNN off, as with LibTorch 2.x) every layer
// in training and all but the narrow first layers in inference (dunet bench conv3x3).
TEST(Winograd, TakesTheLayersWhereItBeatsWhatLibTorchWouldRun) {
  const bool before = at::globalContext().userEnabledMkldnn();
  at::globalContext().setUserEnabledMkldnn(false);
  EXPECT_FALSE(libtorch_convolves_by_onednn());
  EXPECT_TRUE(winograd_pays_off(3, 16, /*backward=*/true));
  EXPECT_FALSE(winograd_pays_off(3, 16, /*backward=*/false));
  EXPECT_TRUE(winograd_pays_off(16, 16, /*backward=*/false));
  EXPECT_TRUE(winograd_pays_off(32, 16, /*backward=*/true));
  if (at::hasMKLDNN()) {
    at::globalContext().setUserEnabledMkldnn(true);
    EXPECT_TRUE(libtorch_convolves_by_onednn());
    for (const bool backward : {false, true}) {
      EXPECT_FALSE(winograd_pays_off(16, 16, backward));
      EXPECT_FALSE(winograd_pays_off(32, 32, backward));
      EXPECT_TRUE(winograd_pays_off(32, 64, backward));
    }
  }
  at::globalContext().setUserEnabledMkldnn(before);
}

// Runs `body` with the UNet's Winograd path switched on or off, then restores the setting.
template <typename Fn>
auto with_winograd(bool enabled, Fn&& body) {
  const bool before = winograd_enabled();
  set_winograd_enabled(enabled);
  auto result = body();
  set_winograd_enabled(before);
  return result;
}

// Eval mode without autograd takes the folded Winograd path; with Winograd switched off,
// LibTorch's convolutions and BatchNorm. Both give the logits of a float64 run within 1e-4 of
// the largest logit, also after the weights change: ten layers of float rounding, each within
// the rigorous bound of Note [Winograd error bound] (a few 1e-6 relative at these widths),
// with no BatchNorm cancellation in eval mode (docs/numerics.md).
TEST(UNet, InferenceFoldsBatchNormAndMatchesTheDirectPath) {
  if (!winograd_enabled()) GTEST_SKIP() << "needs OpenBLAS and dunet's CPU kernels";
  torch::NoGradGuard no_grad;
  for (const std::string norm : {"batch", "sync_batch", "none"}) {
    torch::manual_seed(4);
    UNet net(config(64, 2, norm));  // wide enough for Winograd (winograd_pays_off)
    // Training-mode passes give BatchNorm running statistics.
    for (int i = 0; i < 3; ++i) net->forward(torch::randn({2, 3, 32, 32}) * 3 + 1);
    net->eval();
    const auto image = torch::randn({2, 3, 40, 56});
    auto compare = [&] {
      net->to(torch::kDouble);
      const auto exact = net->forward(image.to(torch::kDouble));
      net->to(torch::kFloat);
      const auto direct = with_winograd(false, [&] { return net->forward(image); });
      const auto folded = net->forward(image);
      EXPECT_LT(relative_max_error(folded, exact), 1e-4) << norm;
      EXPECT_LT(relative_max_error(direct, exact), 1e-4) << norm;
      // Not bit-equal: the folded Winograd path really ran (a fallback would pass the bound).
      EXPECT_FALSE(torch::equal(folded, direct)) << norm;
    };
    compare();
    net->named_parameters()["downs.0.conv.body.0.weight"].mul_(0.5);
    if (norm != "none") net->named_buffers()["ups.0.conv.body.1.running_var"].mul_(4.0);
    compare();
  }
}

// The autograd function's three gradients against LibTorch's convolution in double.
TEST(WinogradConv2d, GradientsMatchDirectConvolution) {
  if (!WinogradConv3x3::available()) GTEST_SKIP() << "needs OpenBLAS";
  torch::manual_seed(5);
  struct Shape {
    int64_t batch, in, out, height, width;
  };
  for (const Shape s : {Shape{2, 16, 8, 9, 13}, Shape{1, 32, 48, 40, 36}, Shape{3, 8, 4, 4, 4}}) {
    const auto x = torch::randn({s.batch, s.in, s.height, s.width}).requires_grad_();
    const auto w = torch::randn({s.out, s.in, 3, 3}).requires_grad_();
    const auto b = torch::randn({s.out}).requires_grad_();
    const auto grad = torch::randn({s.batch, s.out, s.height, s.width});
    const auto fast = torch::autograd::grad({winograd_conv2d(x, w, b)}, {x, w, b}, {grad});
    const auto xd = x.detach().to(torch::kDouble).requires_grad_();
    const auto wd = w.detach().to(torch::kDouble).requires_grad_();
    const auto bd = b.detach().to(torch::kDouble).requires_grad_();
    const auto exact = torch::autograd::grad({torch::conv2d(xd, wd, bd, 1, 1)}, {xd, wd, bd},
                                             {grad.to(torch::kDouble)});
    const std::vector<torch::Tensor> bounds{
        testing::winograd_input_gradient_bound(grad, w.detach()),
        testing::winograd_weight_gradient_bound(x.detach(), grad),
        // LibTorch's sum over N * H * W values.
        testing::gamma(s.batch * s.height * s.width) *
            grad.to(torch::kDouble).abs().sum({0, 2, 3})};
    const auto forward_bound = testing::winograd_forward_bound(x.detach(), w.detach(), b.detach());
    EXPECT_TRUE(testing::within_bound(winograd_conv2d(x, w, b), torch::conv2d(xd, wd, bd, 1, 1),
                                      forward_bound));
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(fast[i].sizes(), exact[i].sizes());
      EXPECT_TRUE(testing::within_bound(fast[i], exact[i], bounds[i]))
          << "gradient " << i << " for " << s.in << "->" << s.out << " @ " << s.height << "x"
          << s.width << ": error / bound up to "
          << testing::bound_ratio(fast[i], exact[i], bounds[i]);
    }
  }
}

// A training step of a UNet large enough for the Winograd path (64 and 128 channels at 64x64
// and 32x32): the loss and every parameter gradient, per tensor, against a float64 run of
// LibTorch's convolutions. The bounds (Note [UNet gradient tolerance] in docs/numerics.md):
// behind a BatchNorm a weight gradient is a sum of terms that nearly cancel, so float rounding
// that the layer-level bound (Note [Winograd error bound]) allows, relative to the terms, is up
// to a few per cent of the gradient itself; 10 % per tensor leaves room for that on any CPU,
// while a wrong weight, layer or skip is off by the order of the gradient. Conv biases that
// feed a BatchNorm have a gradient of exactly zero in exact arithmetic (BatchNorm removes any
// constant); theirs must stay at rounding level. Both float paths meet the same bounds; they
// are never compared with each other's error.
TEST(UNet, TrainingByWinogradMatchesTheDirectPath) {
  if (!winograd_enabled()) GTEST_SKIP() << "needs OpenBLAS and dunet's CPU kernels";
  torch::manual_seed(6);
  UNet net(config(64, 2));
  const auto image = torch::randn({2, 3, 64, 64});
  const auto target = (torch::rand({2, 1, 64, 64}) > 0.5).to(torch::kFloat);
  auto step = [&](torch::ScalarType type) {
    net->to(type);
    net->zero_grad();
    const auto loss =
        torch::binary_cross_entropy_with_logits(net->forward(image.to(type)), target.to(type));
    loss.backward();
    std::vector<torch::Tensor> result{loss.detach().to(torch::kDouble).clone()};
    for (const auto& p : net->parameters()) result.push_back(p.grad().to(torch::kDouble).clone());
    return result;
  };
  const auto exact = step(torch::kDouble);
  const auto direct = with_winograd(false, [&] { return step(torch::kFloat); });
  const auto fast = step(torch::kFloat);
  double scale = 0;
  for (size_t i = 1; i < exact.size(); ++i) {
    scale = std::max(scale, exact[i].abs().max().item<double>());
  }
  constexpr double kPerTensor = 0.1, kZeroGradient = 1e-4;
  const auto names = net->named_parameters().keys();
  auto check = [&](const std::vector<torch::Tensor>& got, const char* path) {
    EXPECT_NEAR(got[0].item<double>(), exact[0].item<double>(), 1e-5) << path << " loss";
    double worst = 0;
    for (size_t i = 1; i < exact.size(); ++i) {
      const double norm = exact[i].norm().item<double>();
      const double error = (got[i] - exact[i]).norm().item<double>();
      if (norm <= 1e-12 * scale) {  // analytically zero
        EXPECT_LT(got[i].abs().max().item<double>(), kZeroGradient * scale)
            << path << " " << names[i - 1];
        continue;
      }
      worst = std::max(worst, error / norm);
      EXPECT_LT(error / norm, kPerTensor) << path << " " << names[i - 1];
    }
    std::cout << path << ": largest per-tensor relative gradient error " << worst << "\n";
  };
  check(direct, "LibTorch float");
  check(fast, "Winograd");
  // Not bit-equal to LibTorch's float run: the Winograd path really ran.
  bool any_difference = false;
  for (size_t i = 1; i < fast.size(); ++i) any_difference |= !torch::equal(fast[i], direct[i]);
  EXPECT_TRUE(any_difference);
}

// Forward values, running statistics and all three gradients of the fused BatchNorm + ReLU
// against BatchNorm2d + ReLU in double: planes that are not a multiple of the vector lanes,
// one value per image, a mean far from zero (variance by two passes), and the cumulative
// average when there is no momentum.
TEST(BatchNormReLU, SameAsBatchNorm2dThenReLU) {
  if (!kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  torch::manual_seed(7);
  struct Case {
    std::vector<int64_t> shape;
    double offset;
    c10::optional<double> momentum;
  };
  const std::vector<Case> cases{{{4, 16, 33, 20}, 0.0, 0.1},
                                {{3, 5, 1, 1}, 0.5, 0.1},
                                {{2, 8, 16, 16}, 1000.0, 0.3},
                                {{2, 3, 24, 40}, -2.0, c10::nullopt}};
  for (const Case& c : cases) {
    const int64_t channels = c.shape[1];
    auto options = torch::nn::BatchNorm2dOptions(channels).momentum(c.momentum);
    torch::nn::BatchNorm2d fused(options), reference(options);
    fused->weight.data().uniform_(0.5, 1.5);
    fused->bias.data().uniform_(-0.5, 0.5);
    reference->to(torch::kDouble);
    const auto x = (torch::randn(c.shape) + c.offset).requires_grad_();
    const auto grad = torch::randn(c.shape);
    ASSERT_TRUE(batch_norm_relu_applies(*fused, x));
    {
      torch::NoGradGuard no_grad;
      reference->weight.copy_(fused->weight);
      reference->bias.copy_(fused->bias);
    }
    for (int step = 0; step < 2; ++step) {  // twice: the running statistics accumulate
      const auto y = batch_norm_relu(*fused, x);
      const auto xd = x.detach().to(torch::kDouble).requires_grad_();
      const auto yd = torch::relu(reference->forward(xd));
      EXPECT_LT((y.to(torch::kDouble) - yd).abs().max().item<double>(), 2e-6);
      const auto got = torch::autograd::grad({y}, {x, fused->weight, fused->bias}, {grad});
      const auto want = torch::autograd::grad({yd}, {xd, reference->weight, reference->bias},
                                              {grad.to(torch::kDouble)});
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_LT(relative_max_error(got[i], want[i]), 5e-5) << "gradient " << i;
      }
    }
    EXPECT_LT(relative_max_error(fused->running_mean, reference->running_mean), 1e-6);
    EXPECT_LT(relative_max_error(fused->running_var, reference->running_var), 1e-6);
    EXPECT_EQ(fused->num_batches_tracked.item<int64_t>(), 2);
  }
}

TEST(BatchNormReLU, AppliesOnlyInTrainingToContiguousFloatCpuTensors) {
  if (!kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  torch::nn::BatchNorm2d norm(4);
  const auto x = torch::randn({2, 4, 6, 6});
  EXPECT_TRUE(batch_norm_relu_applies(*norm, x));
  EXPECT_FALSE(batch_norm_relu_applies(*norm, x.to(torch::kDouble)));
  EXPECT_FALSE(batch_norm_relu_applies(*norm, x.transpose(2, 3)));
  norm->eval();
  EXPECT_FALSE(batch_norm_relu_applies(*norm, x));
  norm->train();
  EXPECT_THROW(batch_norm_relu(*norm, torch::randn({1, 4, 1, 1})), Error);  // one value each
  EXPECT_THROW(batch_norm_relu(*norm, torch::randn({2, 3, 6, 6})), Error);  // wrong channels
}

// Values and gradients bit-equal to torch::max_pool2d: ties (small integers) go to the first
// maximum, NaN wins, odd sides drop their last row and column, rows both longer and shorter
// than the eight windows of the vector path.
TEST(MaxPool2x2, SameValuesAndGradientsAsMaxPool2d) {
  if (!kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  torch::manual_seed(8);
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {2, 3, 8, 8}, {1, 2, 7, 9}, {2, 4, 34, 40}, {1, 1, 2, 2}, {1, 2, 5, 37}}) {
    auto x = torch::randint(0, 4, shape).to(torch::kFloat);
    x.view(-1)[3] = std::numeric_limits<float>::quiet_NaN();
    x.view(-1)[x.numel() - 1] = std::numeric_limits<float>::quiet_NaN();
    x.requires_grad_();
    const auto reference_input = x.detach().clone().requires_grad_();
    const auto y = max_pool2x2(x);
    const auto expected = torch::max_pool2d(reference_input, 2);
    ASSERT_EQ(y.sizes(), expected.sizes());
    // dunet's own function ran, not a fallback to the one it is compared with.
    EXPECT_NE(y.grad_fn()->name().find("MaxPool2x2Function"), std::string::npos)
        << y.grad_fn()->name();
    EXPECT_TRUE(torch::equal(y.isnan(), expected.isnan()));
    EXPECT_TRUE(torch::equal(y.nan_to_num(-1), expected.nan_to_num(-1)));
    const auto grad = torch::randn(y.sizes());
    y.backward(grad);
    expected.backward(grad);
    EXPECT_TRUE(torch::equal(x.grad(), reference_input.grad())) << torch::IntArrayRef(shape);
  }
}

// Pure data movement: values and gradient bit-equal to torch::pixel_shuffle's.
TEST(PixelShuffle2, SameValuesAndGradientAsPixelShuffle) {
  if (!kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  torch::manual_seed(9);
  for (const auto& shape :
       std::vector<std::vector<int64_t>>{{2, 8, 5, 7}, {1, 4, 1, 1}, {3, 16, 16, 33}}) {
    const auto x = torch::randn(shape).requires_grad_();
    const auto reference_input = x.detach().clone().requires_grad_();
    const auto y = pixel_shuffle2(x);
    const auto expected = torch::pixel_shuffle(reference_input, 2);
    EXPECT_NE(y.grad_fn()->name().find("PixelShuffle2Function"), std::string::npos)
        << y.grad_fn()->name();
    EXPECT_TRUE(torch::equal(y, expected)) << torch::IntArrayRef(shape);
    const auto grad = torch::randn(y.sizes());
    y.backward(grad);
    expected.backward(grad);
    EXPECT_TRUE(torch::equal(x.grad(), reference_input.grad())) << torch::IntArrayRef(shape);
  }
}

TEST(UNet, OutputHasTheInputSizeForOddSizes) {
  torch::manual_seed(0);
  UNet net(config(4, 3));
  for (const auto& [h, w] :
       std::vector<std::pair<int64_t, int64_t>>{{37, 45}, {8, 8}, {1, 1}, {64, 17}}) {
    const auto out = net->forward(torch::randn({2, 3, h, w}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 1, h, w})) << h << "x" << w;
  }
  EXPECT_THROW(net->forward(torch::randn({1, 1, 16, 16})), dunet::Error);
}

TEST(UNet, NoNormHasNoBatchNormParameters) {
  UNet with(config(8, 2)), without(config(8, 2, "none"));
  int64_t bn = 0;
  for (const auto& p : with->named_parameters()) bn += p.key().find("body.1.") != std::string::npos;
  EXPECT_GT(bn, 0);
  EXPECT_LT(count_parameters(*without), count_parameters(*with));
}

// GroupNorm and InstanceNorm have no running statistics: a sample's logits do not depend on
// the rest of its batch nor on train/eval mode (checked in float64, where the only difference
// is summation order, far below 1e-10), and eval mode without autograd never takes the
// folded BatchNorm plan, which would drop them (so both modes give the same float bits).
TEST(UNet, GroupAndInstanceNormAreIndependentOfTheBatchAndTheMode) {
  EXPECT_EQ(group_norm_groups(16), 8);
  EXPECT_EQ(group_norm_groups(12), 6);
  EXPECT_EQ(group_norm_groups(9), 3);
  EXPECT_EQ(group_norm_groups(7), 7);
  for (const std::string norm : {"group", "instance"}) {
    torch::manual_seed(5);
    UNet net(config(16, 2, norm));
    int64_t norms = 0;
    for (const auto& m : net->modules(/*include_self=*/false)) {
      const auto* gn = dynamic_cast<const torch::nn::GroupNormImpl*>(m.get());
      if (gn == nullptr) continue;
      ++norms;
      const int64_t channels = gn->options.num_channels();
      EXPECT_EQ(gn->options.num_groups(), norm == "group" ? group_norm_groups(channels) : channels);
    }
    EXPECT_EQ(norms, 2 * (2 * 2 + 1)) << norm;  // two per DoubleConv: 2 down, bottom, 2 up
    EXPECT_TRUE(net->buffers().empty()) << norm;

    const auto batch = torch::randn({2, 3, 32, 32}) * 2 + 1;
    net->to(torch::kDouble);
    const auto pair = net->forward(batch.to(torch::kDouble));
    const auto alone = net->forward(batch.narrow(0, 0, 1).to(torch::kDouble));
    net->eval();
    const auto pair_eval = net->forward(batch.to(torch::kDouble));
    EXPECT_LT((pair.narrow(0, 0, 1) - alone).abs().max().item<double>(), 1e-10) << norm;
    EXPECT_LT((pair - pair_eval).abs().max().item<double>(), 1e-10) << norm;

    net->to(torch::kFloat);
    const auto with_grad = net->forward(batch).detach();
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(net->forward(batch), with_grad)) << norm;
    // Float against float64: the 1e-4 of InferenceFoldsBatchNorm..., with a margin of 10 for
    // the division by each group's deviation.
    EXPECT_LT((with_grad.to(torch::kDouble) - pair_eval).abs().max().item<double>(),
              1e-3 * pair_eval.abs().max().item<double>())
        << norm;
  }
}

TEST(Loss, BceAndDiceByHand) {
  const auto logits = torch::tensor({0.0, 2.0, -1.0}, torch::kFloat64);
  const auto target = torch::tensor({1.0, 0.0, 0.0}, torch::kFloat64);
  // bce(x, t) = max(x, 0) - x t + log(1 + exp(-|x|))
  const double bce =
      (std::log(2.0) + (2.0 + std::log1p(std::exp(-2.0))) + std::log1p(std::exp(-1.0))) / 3;
  // p = sigmoid(x); dice = 1 - (2 * 0.5 + 1) / (sum p + 1 + 1)
  const double sum_p = 0.5 + 1 / (1 + std::exp(-2.0)) + 1 / (1 + std::exp(1.0));
  const double dice = 1 - 2.0 / (sum_p + 2.0);
  EXPECT_NEAR(segmentation_loss(logits, target, LossKind::kBce).item<double>(), bce, 1e-12);
  EXPECT_NEAR(segmentation_loss(logits, target, LossKind::kDice).item<double>(), dice, 1e-12);
  EXPECT_NEAR(segmentation_loss(logits, target, LossKind::kBceDice).item<double>(), bce + dice,
              1e-12);
  EXPECT_EQ(parse_loss("bce_dice"), LossKind::kBceDice);
  EXPECT_THROW(parse_loss("l2"), dunet::Error);
}

TEST(Metrics, CountsAndScoresByHand) {
  const auto logits = torch::tensor({1.0, -1.0, 1.0, 1.0, -1.0, -1.0}).view({1, 1, 2, 3});
  const auto target = torch::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 0.0}).view({1, 1, 2, 3});
  const MetricTotals m = image_metrics(logits, target, 0.5);
  EXPECT_EQ(m.true_positives, 2);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_EQ(m.false_negatives, 1);
  EXPECT_DOUBLE_EQ(m.iou(), 0.5);
  EXPECT_DOUBLE_EQ(m.dice(), 4.0 / 6.0);
  // A stricter threshold (p > 0.8 <=> logit > 1.386) removes every prediction.
  EXPECT_EQ(image_metrics(logits, target, 0.8).true_positives, 0);

  MetricTotals total = m;
  MetricTotals empty = image_metrics(-torch::ones({1, 1, 2, 2}), torch::zeros({1, 1, 2, 2}), 0.5);
  EXPECT_DOUBLE_EQ(empty.iou(), 1.0);  // nothing to find, nothing found
  total.add(empty);
  EXPECT_DOUBLE_EQ(total.iou(), 0.5);              // summed counts
  EXPECT_DOUBLE_EQ(total.mean_image_iou(), 0.75);  // mean of 0.5 and 1
  EXPECT_EQ(MetricTotals::from_array(total.to_array()).to_array(), total.to_array());
}

TEST(Predict, WholeImageWhenItFitsTiledOtherwise) {
  torch::manual_seed(1);
  UNet net(config(4, 2));
  net->eval();
  const auto image = torch::randn({1, 3, 50, 70});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(infer::predict_logits(net, image, {128}), net->forward(image)));
  const auto tiled = infer::predict_logits(net, image, {32});
  EXPECT_EQ(tiled.sizes(), (std::vector<int64_t>{1, 1, 50, 70}));
  EXPECT_TRUE(torch::isfinite(tiled).all().item<bool>());
  // Tiles see less context, so values differ a little near tile borders, not wildly.
  EXPECT_LT((tiled - net->forward(image)).abs().mean().item<double>(), 1.0);
}

// Note [CPU kernel dispatch]: the portable code and the AVX2 code of every kernel give the same
// bits, forward and backward, so a machine without AVX2 trains exactly like one with it.
TEST(CpuKernels, PortableCodeGivesTheSameBitsAsAvx2) {
  if (!kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  set_portable_cpu_kernels(false);
  if (!cpu_kernels_use_avx2()) {
    GTEST_SKIP() << "this CPU has no AVX2: only the portable code runs (every kernel test here "
                    "already exercises it)";
  }
  torch::manual_seed(12);
  const auto image = torch::randn({2, 32, 20, 28});
  const auto weight = torch::randn({64, 32, 3, 3}) * 0.1;
  const auto bias = torch::randn({64});
  const auto grad = torch::randn({2, 64, 20, 28});
  auto run = [&] {
    std::vector<torch::Tensor> results;
    auto track = [&](torch::Tensor y, const torch::Tensor& x, const torch::Tensor& dy) {
      results.push_back(y.detach().clone());
      results.push_back(torch::autograd::grad({y}, {x}, {dy})[0]);
    };
    const auto x = image.clone().requires_grad_();
    if (WinogradConv3x3::available()) {
      const auto w = weight.clone().requires_grad_();
      const auto y = winograd_conv2d(x, w, bias);
      const auto grads = torch::autograd::grad({y}, {x, w}, {grad});
      results.insert(results.end(), {y.detach(), grads[0], grads[1]});
    }
    torch::nn::BatchNorm2d norm(32);
    track(batch_norm_relu(*norm, x), x, image);
    track(max_pool2x2(x), x, image.narrow(2, 0, 10).narrow(3, 0, 14).contiguous());
    const auto z = grad.narrow(2, 0, 10).narrow(3, 0, 14).contiguous().requires_grad_();
    track(pixel_shuffle2(z), z, image.narrow(1, 0, 16).contiguous());
    return results;
  };
  const auto avx2 = run();
  set_portable_cpu_kernels(true);
  EXPECT_EQ(std::string(cpu_kernel_isa()), "default (portable)");
  const auto portable = run();
  set_portable_cpu_kernels(false);
  ASSERT_EQ(avx2.size(), portable.size());
  for (size_t i = 0; i < avx2.size(); ++i) {
    EXPECT_TRUE(torch::equal(avx2[i], portable[i])) << "result " << i;
  }
}

// The config's choices reach the UNet and LibTorch, and the report says what runs.
TEST(Numerics, ConvPathAndAllocatorFollowTheSettings) {
  const NumericsReport direct = apply_numerics({"direct", "system"});
  EXPECT_FALSE(winograd_enabled());
  EXPECT_FALSE(caching_cpu_allocator_in_use());
  EXPECT_EQ(direct.get("conv_path").rfind("direct", 0), 0u) << direct.line();
  EXPECT_EQ(direct.get("cpu_allocator").rfind("system", 0), 0u) << direct.line();

  const NumericsReport automatic = apply_numerics({});
  EXPECT_EQ(winograd_enabled(), WinogradConv3x3::available());
  EXPECT_EQ(automatic.get("conv_path"),
            WinogradConv3x3::available() ? "winograd" : direct.get("conv_path"));
  EXPECT_EQ(caching_cpu_allocator_in_use(), caching_allocator_unavailable_reason().empty());
  if (caching_cpu_allocator_in_use()) {
    // LibTorch's tensors now come from the caching allocator.
    const auto before = caching_allocator_stats().live_bytes;
    const auto big = torch::empty({1 << 20});
    EXPECT_GE(caching_allocator_stats().live_bytes, before + (4u << 20));
  }
  // Asking for a path that cannot run names why; nothing changes.
  if (!WinogradConv3x3::available()) {
    EXPECT_THROW(apply_numerics({"winograd", "auto"}), ConfigError);
  } else {
    EXPECT_EQ(apply_numerics({"winograd", "auto"}).get("conv_path"), "winograd");
  }
  if (!caching_allocator_unavailable_reason().empty()) {
    EXPECT_THROW(apply_numerics({"auto", "caching"}), ConfigError);
  }
  EXPECT_THROW(apply_numerics({"fast", "auto"}), ConfigError);
  EXPECT_THROW(apply_numerics({"auto", "pool"}), ConfigError);
  // oneDNN: on with LibTorch 1.x, off with 2.x (apply_onednn_policy), and reported so.
  const NumericsReport applied = apply_numerics({});
  EXPECT_EQ(at::globalContext().userEnabledMkldnn(), TORCH_VERSION_MAJOR < 2);
  EXPECT_EQ(applied.get("onednn").rfind(TORCH_VERSION_MAJOR < 2 ? "o" : "off", 0), 0u)
      << applied.line();
  if (TORCH_VERSION_MAJOR < 2 && at::hasMKLDNN()) {
    EXPECT_EQ(applied.get("onednn"), "on");
  }
}

TEST(Numerics, ReportNamesEveryFactInAFixedParseableOrder) {
  const NumericsReport report = current_numerics();
  std::vector<std::string> keys;
  for (const auto& field : report.fields) keys.push_back(field.first);
  EXPECT_EQ(keys, (std::vector<std::string>{"torch", "blas", "cpu", "cpu_kernels", "conv_path",
                                            "cpu_allocator", "precision", "onednn", "cuda"}));
  EXPECT_EQ(report.get("torch"), TORCH_VERSION);
  EXPECT_EQ(report.get("precision"), "fp32");
  EXPECT_EQ(report.get("cuda"), "none");  // these machines have no GPU
  EXPECT_EQ(report.get("cpu_kernels"),
            kCpuKernelsBuilt ? cpu_kernel_isa() : "off (DUNET_CPU_KERNELS=OFF)");
  EXPECT_NE(report.get("blas").find(blas_is_openblas() ? "OpenBLAS" : "not OpenBLAS"),
            std::string::npos);
  // Values with spaces are quoted: `key=value` pairs split back exactly.
  const std::string line = report.line();
  EXPECT_EQ(line.rfind("torch=" TORCH_VERSION " blas=\"", 0), 0u) << line;
  EXPECT_NE(line.find(" cpu=\"" + report.get("cpu") + "\""), std::string::npos) << line;
}

// The one place that hides LibTorch 1.13's string keys and 2.x's pointer keys.
// Under train.precision = bf16 a convolution computes on bfloat16 operands. Oracle: float64
// convolution of the operands rounded to bfloat16. Bound: the float32 accumulation of K = 9C
// products (K u32 sum|w||x|, u32 = 2^-24) plus rounding the result to bfloat16 (2^-8 |y|).
// Without autocast the same call is float32 and much closer to the float64 result.
TEST(Precision, AutocastRunsConvolutionsInBfloat16AndRestoresTheState) {
  apply_onednn_policy();  // as every dunet process computes
  try {
    check_precision_supported(Precision::kBf16, c10::DeviceType::CPU);
  } catch (const ConfigError& e) {
    GTEST_SKIP() << e.what();
  }
  torch::manual_seed(3);
  const auto x = torch::randn({2, 8, 12, 12}), w = torch::randn({4, 8, 3, 3});
  const auto to_bf16_double = [](const torch::Tensor& t) {
    return t.to(torch::kBFloat16).to(torch::kDouble);
  };
  const auto reference = torch::conv2d(to_bf16_double(x), to_bf16_double(w), {}, 1, 1);
  const auto magnitude = torch::conv2d(to_bf16_double(x).abs(), to_bf16_double(w).abs(), {}, 1, 1);
  torch::Tensor y;
  {
    const AutocastScope autocast(c10::DeviceType::CPU, Precision::kBf16);
    EXPECT_TRUE(autocast_active(c10::DeviceType::CPU));
    y = torch::conv2d(x, w, {}, 1, 1);
  }
  EXPECT_FALSE(autocast_active(c10::DeviceType::CPU));
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  const double k = 9 * 8;
  const auto bound = k * std::ldexp(1.0, -24) * magnitude + std::ldexp(1.0, -8) * reference.abs();
  EXPECT_TRUE((y.to(torch::kDouble) - reference).abs().le(bound).all().item<bool>());
  // fp32 is no autocast at all.
  {
    const AutocastScope none(c10::DeviceType::CPU, Precision::kFp32);
    EXPECT_FALSE(autocast_active(c10::DeviceType::CPU));
    EXPECT_EQ(torch::conv2d(x, w, {}, 1, 1).scalar_type(), torch::kFloat);
  }
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_STREQ(precision_name(Precision::kFp16), "fp16");
  EXPECT_THROW(parse_precision("fp8"), ConfigError);
  EXPECT_THROW(check_precision_supported(Precision::kFp16, c10::DeviceType::CPU), ConfigError);
  EXPECT_NO_THROW(check_precision_supported(Precision::kFp16, c10::DeviceType::CUDA));
}

// Whether the kernel lists `flag` among this CPU's features (/proc/cpuinfo), read independently
// of the compiler's __builtin_cpu_supports that dunet asks.
bool cpuinfo_lists_flag(const std::string& flag) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string word;
    while (words >> word) {
      if (word == flag) return true;
    }
    return false;
  }
  return false;
}

// train.precision = "auto" takes bfloat16 exactly where the CPU has bfloat16 instructions and
// oneDNN (on with LibTorch 1.x) computes with them, fp32 elsewhere; explicit choices stay as
// given, and the numerics line names the choice, never "auto". The expectation is derived from
// /proc/cpuinfo and the LibTorch in use, so the verdict holds on any CPU.
TEST(Precision, AutoTakesBfloat16WhereTheCpuComputesItNatively) {
  apply_onednn_policy();  // as every dunet process computes
  bool computes_bf16 = true;
  try {
    check_precision_supported(Precision::kBf16, c10::DeviceType::CPU);
  } catch (const ConfigError&) {
    computes_bf16 = false;
  }
  const bool instructions = cpuinfo_lists_flag("avx512_bf16") || cpuinfo_lists_flag("amx_bf16");
  const bool onednn = TORCH_VERSION_MAJOR < 2 && at::hasMKLDNN();
  const Precision expected =
      instructions && onednn && computes_bf16 ? Precision::kBf16 : Precision::kFp32;
  EXPECT_EQ(auto_precision(c10::DeviceType::CPU), expected);
  EXPECT_EQ(resolve_precision("auto", c10::DeviceType::CPU), expected);
  EXPECT_EQ(resolve_precision("fp32", c10::DeviceType::CPU), Precision::kFp32);
  EXPECT_EQ(resolve_precision("bf16", c10::DeviceType::CPU), Precision::kBf16);
  EXPECT_THROW(resolve_precision("fp8", c10::DeviceType::CPU), ConfigError);
  if (!at::globalContext().hasCUDA()) {  // no GPU, so no cuDNN with bfloat16 convolutions
    EXPECT_EQ(auto_precision(c10::DeviceType::CUDA), Precision::kFp32);
  }
  const NumericsReport report = apply_numerics({"auto", "auto", "auto"});
  EXPECT_EQ(report.get("precision"), precision_name(expected)) << report.line();
  EXPECT_EQ(training_precision(), expected);
  // The numerics line names the instructions the choice rests on.
  EXPECT_EQ(report.get("cpu").find("avx512bf16") != std::string::npos,
            cpuinfo_lists_flag("avx512_bf16"))
      << report.get("cpu");
  apply_numerics({});
  EXPECT_EQ(training_precision(), Precision::kFp32);
}

// The hand-written CPU paths take only float32 CPU tensors outside autocast: never a tensor
// of another device (a meta tensor stands in for CUDA here), type or precision. A UNet under
// bf16 autocast then runs on LibTorch's operators alone and still gives float32-close logits.
TEST(Precision, CpuFastPathsNeverTakeOtherDevicesTypesOrAutocast) {
  apply_onednn_policy();  // as every dunet process computes
  const auto cpu = torch::ones({1, 4, 4, 4});
  EXPECT_EQ(cpu_fast_path_applies(cpu), kCpuKernelsBuilt);
  EXPECT_FALSE(cpu_fast_path_applies(torch::ones({1, 4, 4, 4}, torch::kDouble)));
  EXPECT_FALSE(cpu_fast_path_applies(torch::ones({1, 4, 4, 4}, torch::kBFloat16)));
  EXPECT_FALSE(cpu_fast_path_applies(torch::empty({1, 4, 4, 4}, torch::device(torch::kMeta))));
  EXPECT_FALSE(cpu_fast_path_applies(torch::Tensor()));
  torch::nn::BatchNorm2d norm(4);
  {
    const AutocastScope autocast(c10::DeviceType::CPU, Precision::kBf16);
    EXPECT_FALSE(cpu_fast_path_applies(cpu));
    EXPECT_FALSE(batch_norm_relu_applies(*norm, cpu));
    EXPECT_THROW(winograd_conv2d(cpu, torch::ones({4, 4, 3, 3}), torch::zeros({4})), Error);
  }
  try {
    check_precision_supported(Precision::kBf16, c10::DeviceType::CPU);
  } catch (const ConfigError& e) {
    GTEST_SKIP() << e.what();
  }
  torch::manual_seed(5);
  UNet net(config(8, 2));
  net->train();
  const auto input = torch::randn({2, 3, 32, 32});
  const auto fp32 = net->forward(input);
  torch::Tensor bf16;
  {
    const AutocastScope autocast(c10::DeviceType::CPU, Precision::kBf16);
    bf16 = net->forward(input);
  }
  EXPECT_EQ(bf16.scalar_type(), torch::kBFloat16);  // the head convolution ran in bf16
  EXPECT_EQ(bf16.sizes(), fp32.sizes());
  // Loose, for a 10-layer network of bf16 operands (8 significant bits): a tenth of the
  // logits' spread; an fp32 path taken by mistake would also pass, the dtype above would not.
  const double spread = fp32.std().item<double>();
  EXPECT_LT((bf16.to(torch::kFloat) - fp32).abs().max().item<double>(), 0.1 * spread + 1e-3);
}

// A 40 x 20 label image with rectangles [x0, x1) x [y0, y1) given ids.
struct Rect {
  int x0, y0, x1, y1, id;
};
std::vector<int32_t> labels_of(const std::vector<Rect>& rects) {
  std::vector<int32_t> labels(40 * 20, 0);
  for (const Rect& r : rects) {
    for (int y = r.y0; y < r.y1; ++y) {
      for (int x = r.x0; x < r.x1; ++x) labels[static_cast<size_t>(y * 40 + x)] = r.id;
    }
  }
  return labels;
}

// The DSB2018 score on cases worked out by hand (IoU > t for t = 0.50, 0.55, ..., 0.95).
TEST(InstanceScore, ClosedFormCases) {
  const auto two = labels_of({{0, 0, 10, 10, 1}, {20, 5, 30, 15, 2}});
  const InstanceScore same =
      dsb_instance_score(two, labels_of({{0, 0, 10, 10, 7}, {20, 5, 30, 15, 3}}));
  EXPECT_EQ(same.true_objects, 2);
  EXPECT_EQ(same.predicted_objects, 2);
  EXPECT_EQ(same.score(), 1.0);
  // Shifted one pixel: IoU = 90 / 110 = 0.818, above t = 0.50 ... 0.80 (7 of 10).
  const InstanceScore shifted =
      dsb_instance_score(labels_of({{0, 0, 10, 10, 1}}), labels_of({{1, 0, 11, 10, 1}}));
  EXPECT_DOUBLE_EQ(shifted.score(), 0.7);
  EXPECT_EQ(shifted.true_positives[6], 1);
  EXPECT_EQ(shifted.true_positives[7], 0);
  // One nucleus predicted as its two halves: IoU 0.5 each, never above 0.5: TP 0, FP 2, FN 1.
  const InstanceScore split = dsb_instance_score(
      labels_of({{0, 0, 20, 10, 1}}), labels_of({{0, 0, 10, 10, 1}, {10, 0, 20, 10, 2}}));
  EXPECT_EQ(split.score(), 0.0);
  EXPECT_EQ(split.count_error(), 1);
  // Two touching nuclei predicted as one: the same, the other way round.
  const InstanceScore merged = dsb_instance_score(
      labels_of({{0, 0, 10, 10, 1}, {10, 0, 20, 10, 2}}), labels_of({{0, 0, 20, 10, 5}}));
  EXPECT_EQ(merged.score(), 0.0);
  EXPECT_EQ(merged.count_error(), -1);
  // Two of three found exactly, one false positive: 2 / (2 + 1 + 1) at every threshold.
  const InstanceScore partial =
      dsb_instance_score(labels_of({{0, 0, 5, 5, 1}, {10, 0, 15, 5, 2}, {20, 0, 25, 5, 3}}),
                         labels_of({{0, 0, 5, 5, 1}, {10, 0, 15, 5, 2}, {30, 10, 35, 15, 3}}));
  EXPECT_DOUBLE_EQ(partial.score(), 0.5);
  // Empty images.
  const auto empty = labels_of({});
  EXPECT_EQ(dsb_instance_score(empty, empty).score(), 1.0);
  EXPECT_EQ(dsb_instance_score(empty, two).score(), 0.0);
  EXPECT_EQ(dsb_instance_score(two, empty).score(), 0.0);
  EXPECT_THROW(dsb_instance_score(two, std::vector<int32_t>(10, 0)), Error);
  EXPECT_DOUBLE_EQ(dsb_threshold(0), 0.5);
  EXPECT_DOUBLE_EQ(dsb_threshold(9), 0.95);
}

TEST(TorchCompat, OptimizerStateKeyFollowsTheMapsKeyType) {
  int object = 0;
  const std::map<std::string, int> by_string;
  const std::map<void*, int> by_pointer;
  std::ostringstream printed;
  printed << static_cast<const void*>(&object);
  EXPECT_EQ(optimizer_state_key(by_string, &object), printed.str());
  EXPECT_EQ(optimizer_state_key(by_pointer, &object), static_cast<void*>(&object));
}

}  // namespace
}  // namespace dunet::model
