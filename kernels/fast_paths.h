// The one door of kernels/ that model/ may use. Each function here computes what the LibTorch
// operator it names computes, on a hand-written CPU path where dunet was built with its CPU
// kernels (cpu_kernels.h) and the path applies, and by that LibTorch operator otherwise; so a
// module calls them unconditionally and never needs to know which path ran.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace dunet::kernels {

// Whether a hand-written CPU path may take `x`: the CPU kernels are built, `x` is a float32
// tensor on the CPU, and autocast is off there (under train.precision = bf16 LibTorch's
// operators choose the precision). Every function below asks this before its own kernels run,
// so none of them ever sees a CUDA tensor or a reduced-precision one.
bool cpu_fast_path_applies(const torch::Tensor& x);

// ---- 3x3 convolutions (padding 1, stride 1) by Winograd F(4x4, 3x3): winograd_conv.h ----

// Whether the UNet computes its 3x3 convolutions by Winograd on the CPU: when the CPU
// kernels are built, OpenBLAS is loaded and the config's model.conv_path is not "direct"
// (apply_numerics, numerics.h). Tests and benchmarks switch it to compare with LibTorch.
bool winograd_enabled();

// Whether LibTorch computes its CPU convolutions by oneDNN, as with LibTorch 1.x, rather than
// by its own im2col + BLAS (slow_conv2d), as with 2.x where apply_onednn_policy turns oneDNN off.
bool libtorch_convolves_by_onednn();

// Whether Winograd beats LibTorch's convolution for a layer of these channel counts, in a
// forward pass alone (`backward` false: inference) or followed by its backward pass. Measured
// with `dunet bench conv3x3` (base 16 and 64, batch 4, one and two threads):
// - against oneDNN: from 32 channels in and 64 out it is 1.3-4x faster; with fewer, the
//   transforms' memory traffic outweighs the products saved (0.4-1.0x);
// - against im2col, which builds a 9 x in x H x W buffer per image: forward + backward 2-33x
//   faster for every layer of the UNet; the forward pass alone 1.8-37x from 16 channels in,
//   but 0.5x for the first layer's 3 (the buffer is then small).
inline bool winograd_pays_off(int64_t in_channels, int64_t out_channels, bool backward) {
  if (libtorch_convolves_by_onednn()) return in_channels >= 32 && out_channels >= 64;
  return backward || in_channels >= 16;
}

// conv2d(x, weight, bias, stride 1, padding 1) for training on the CPU by Winograd in the
// forward pass and in both products of the backward pass: the input gradient is the same
// convolution of the output gradient with the filters turned by 180 degrees and in/out
// swapped; the weight gradient is winograd_weight_gradient. Each is a quarter of direct
// convolution's arithmetic. x [N, in, H, W] float CPU, weight [out, in, 3, 3], bias [out];
// differentiable in all three. Needs winograd_enabled() and cpu_fast_path_applies(x).
torch::Tensor winograd_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias);

// For inference with fixed weights: relu(conv2d(x, weight, bias, padding 1)) by Winograd,
// the weights transformed once, here. Empty where Winograd is unavailable or does not pay
// off for these channel counts; the caller then keeps LibTorch's convolution.
std::function<torch::Tensor(const torch::Tensor&)> winograd_conv3x3_relu(
    const torch::Tensor& weight, const torch::Tensor& bias);

// ---- BatchNorm2d + ReLU in training mode, as one autograd function: batch_norm_relu.cpp ----

// Whether batch_norm_relu can stand in for `norm` followed by ReLU on x: a training-mode
// affine BatchNorm2d tracking running statistics, x a contiguous float CPU [N, C, H, W], and
// the CPU kernels built.
bool batch_norm_relu_applies(const torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x);

// relu(norm(x)) with norm in training mode: batch statistics, running statistics updated as
// BatchNorm2d does (momentum, or the cumulative average without one; unbiased variance).
// Differentiable in x, norm.weight and norm.bias.
torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x);

// ---- 1x1 convolutions as matrix products: pointwise_conv.cpp ----

// Whether pointwise_conv can take x: the CPU kernels are built, x is a float or double CPU
// tensor [N, C, H, W], autocast is off there and the BLAS is OpenBLAS.
bool pointwise_conv_applies(const torch::Tensor& x);

// conv2d(x, weight.view({out, in, 1, 1}), bias) for weight [out, in], bias [out]: one product
// per block of 1024 pixels, split over LibTorch's threads (OpenBLAS runs each on the calling
// thread, compute_threads.h). Differentiable in all three; the weight and bias gradients sum
// the blocks' parts in a fixed order, so no result's bits depend on the thread count.
torch::Tensor pointwise_conv(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias);

// ---- Data movement: max_pool.cpp, pixel_shuffle.cpp ----

// torch::max_pool2d(x, 2) with the same values and the same gradient (the first maximum in
// each window in row-major order takes it; NaN counts as the maximum). Own kernels for
// contiguous float CPU [N, C, H, W], LibTorch's otherwise.
torch::Tensor max_pool2x2(const torch::Tensor& x);

// torch::pixel_shuffle(x, 2): [N, 4C, H, W] -> [N, C, 2H, 2W], channel 4c + 2i + j to pixel
// (2y + i, 2x + j) of channel c. Differentiable; own kernels for contiguous float CPU
// tensors, torch::pixel_shuffle otherwise.
torch::Tensor pixel_shuffle2(const torch::Tensor& x);

// ---- The BLAS: compute_threads.h ----

// Whether the BLAS that LibTorch and dunet call (sgemm_) is OpenBLAS, not the slow reference
// BLAS: large matrix products are worth routing to it then.
bool blas_is_openblas();

}  // namespace dunet::kernels
