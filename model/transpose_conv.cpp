#include "model/transpose_conv.h"

#include "kernels/fast_paths.h"

namespace dunet::model {

TransposeConv2x2Impl::TransposeConv2x2Impl(int64_t in_channels, int64_t out_channels)
    : in_channels_(in_channels), out_channels_(out_channels) {
  // Drawn by LibTorch's own module, so the initial weights (and the random stream after them)
  // are exactly those of torch::nn::ConvTranspose2d.
  torch::nn::ConvTranspose2d standard(
      torch::nn::ConvTranspose2dOptions(in_channels, out_channels, 2).stride(2));
  weight_ = register_parameter("weight", standard->weight.detach().clone());
  bias_ = register_parameter("bias", standard->bias.detach().clone());
}

torch::Tensor TransposeConv2x2Impl::forward(const torch::Tensor& x) {
  // Output channel c*4 + i*2 + j of the 1x1 convolution is pixel (i, j) of channel c, which is
  // the order pixel_shuffle reads.
  const torch::Tensor weight_1x1 =
      weight_.permute({1, 2, 3, 0}).reshape({out_channels_ * 4, in_channels_, 1, 1});
  const torch::Tensor bias_1x1 = bias_.repeat_interleave(4);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  if (h * w >= kMinGemmPixels && kernels::pointwise_conv_applies(x)) {
    // Products over blocks of pixels, split over the threads, as ConvTranspose2d does minus
    // its col2im scatter.
    return kernels::pixel_shuffle2(kernels::pointwise_conv(
        x, weight_1x1.view({out_channels_ * 4, in_channels_}), bias_1x1));
  }
  if (x.is_cpu() && h * w >= kMinGemmPixels && kernels::blas_is_openblas()) {
    // Under autocast (or without dunet's kernels): one product per image, in the precision
    // that autocast picks for it.
    const torch::Tensor y =
        torch::baddbmm(bias_1x1.view({1, -1, 1}),
                       weight_1x1.view({out_channels_ * 4, in_channels_}).expand({n, -1, -1}),
                       x.reshape({n, in_channels_, h * w}));
    return kernels::pixel_shuffle2(y.view({n, out_channels_ * 4, h, w}));
  }
  return kernels::pixel_shuffle2(torch::conv2d(x, weight_1x1, bias_1x1));
}

}  // namespace dunet::model
