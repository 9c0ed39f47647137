// Training-mode BatchNorm2d followed by ReLU as one autograd function on the CPU. LibTorch
// 1.13's CPU batch norm takes 10-20x a pass over memory (2.8 ms for a [4, 16, 128, 128]
// batch where a copy takes 0.13 ms), and its ReLU and their backward passes add more: about
// a tenth of a base-16 training step. Here forward is three passes (mean, variance, normalise
// with ReLU) and backward two (sums, then the input gradient with ReLU's mask), split over
// channels.
#include "kernels/fast_paths.h"

#include <cmath>

#include "core/error.h"
#include "kernels/batch_norm_relu_kernels.h"
#include "kernels/cpu_kernels.h"
#include "kernels/parallel_each.h"

namespace dunet::kernels {

namespace kernels = batch_norm_relu_kernels;

namespace {

kernels::Shape shape_of(const torch::Tensor& x) {
  return {x.size(0), x.size(1), x.size(2) * x.size(3)};
}

class BatchNormReLUFunction : public torch::autograd::Function<BatchNormReLUFunction> {
 public:
  // running_mean and running_var are updated in place with weight `momentum`.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps) {
    const kernels::Shape shape = shape_of(x);
    const int64_t count = shape.values_per_channel();
    const auto options = x.options();
    torch::Tensor mean = torch::empty({shape.channels}, options);
    torch::Tensor inverse_std = torch::empty({shape.channels}, options);
    torch::Tensor y = torch::empty_like(x);
    const float* in = x.data_ptr<float>();
    const float* gamma = weight.data_ptr<float>();
    const float* beta = bias.data_ptr<float>();
    float* out = y.data_ptr<float>();
    float* means = mean.data_ptr<float>();
    float* inverse_stds = inverse_std.data_ptr<float>();
    float* running_means = running_mean.data_ptr<float>();
    float* running_vars = running_var.data_ptr<float>();
    const double unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
    parallel_each(shape.channels, [&](int64_t c) {
      const kernels::Moments m = kernels::channel_moments(in, shape, c);
      const double inverse = 1.0 / std::sqrt(m.variance + eps);
      const double scale = gamma[c] * inverse;
      // x - float(mean) is exact near the mean; the float mean's rounding goes into the shift.
      const auto rounded_mean = static_cast<float>(m.mean);
      kernels::normalise_relu(in, shape, c, rounded_mean, static_cast<float>(scale),
                              static_cast<float>(beta[c] - (m.mean - rounded_mean) * scale), out);
      means[c] = static_cast<float>(m.mean);
      inverse_stds[c] = static_cast<float>(inverse);
      running_means[c] = static_cast<float>((1 - momentum) * running_means[c] + momentum * m.mean);
      running_vars[c] =
          static_cast<float>((1 - momentum) * running_vars[c] + momentum * m.variance * unbiased);
    });
    // The kernels wrote through raw pointers: tell autograd and the inference plan's
    // version check (unet.h) that the running statistics changed.
    torch::autograd::impl::bump_version(running_mean);
    torch::autograd::impl::bump_version(running_var);
    ctx->save_for_backward({x, weight, y, mean, inverse_std});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& y = saved[2];
    const torch::Tensor grad_y = grad_outputs[0].contiguous();
    const kernels::Shape shape = shape_of(x);
    const auto count = static_cast<double>(shape.values_per_channel());
    torch::Tensor grad_x = torch::empty_like(x);
    torch::Tensor grad_weight = torch::empty_like(weight);
    torch::Tensor grad_bias = torch::empty_like(weight);
    const float* dy = grad_y.data_ptr<float>();
    const float* in = x.data_ptr<float>();
    const float* out = y.data_ptr<float>();
    const float* gamma = weight.data_ptr<float>();
    const float* means = saved[3].data_ptr<float>();
    const float* inverse_stds = saved[4].data_ptr<float>();
    float* dx = grad_x.data_ptr<float>();
    float* dgamma = grad_weight.data_ptr<float>();
    float* dbeta = grad_bias.data_ptr<float>();
    parallel_each(shape.channels, [&](int64_t c) {
      const kernels::GradientSums sums =
          kernels::channel_gradient_sums(dy, out, in, shape, c, means[c]);
      const double inverse = inverse_stds[c];
      // dx = gamma inv_std (g - mean(g) - x_hat mean(g x_hat)), x_hat = (x - mean) inv_std
      const double a = gamma[c] * inverse;
      const double b = -a * inverse * inverse * sums.centred_gradient / count;
      const double offset = -a * sums.gradient / count;
      kernels::masked_affine_gradient(dy, out, in, shape, c, means[c], static_cast<float>(a),
                                      static_cast<float>(b), static_cast<float>(offset), dx);
      dgamma[c] = static_cast<float>(sums.centred_gradient * inverse);
      dbeta[c] = static_cast<float>(sums.gradient);
    });
    return {grad_x,          grad_weight,     grad_bias,      torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool batch_norm_relu_applies(const torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x) {
  const auto& options = norm.options;
  return kCpuKernelsBuilt && norm.is_training() && options.affine() &&
         options.track_running_stats() && cpu_fast_path_applies(x) && x.dim() == 4 &&
         x.is_contiguous() && norm.weight.scalar_type() == torch::kFloat &&
         norm.running_mean.is_contiguous() && norm.running_var.is_contiguous();
}

torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& x) {
  DUNET_CHECK(batch_norm_relu_applies(norm, x), Error,
              "batch_norm_relu needs a training-mode affine BatchNorm2d with running statistics "
              "and a contiguous float CPU [N, C, H, W] tensor, got ",
              x.sizes(), " ", x.scalar_type());
  DUNET_CHECK(x.size(1) == norm.options.num_features(), Error, "BatchNorm2d of ",
              norm.options.num_features(), " channels given ", x.size(1), " channels");
  DUNET_CHECK(x.size(0) * x.size(2) * x.size(3) > 1, Error,
              "BatchNorm in training needs more than one value per channel, got ", x.sizes());
  {
    torch::NoGradGuard no_grad;
    norm.num_batches_tracked += 1;
  }
  // As BatchNorm2d: without a momentum the running statistics are the cumulative average.
  const double momentum = norm.options.momentum()
                              ? *norm.options.momentum()
                              : 1.0 / static_cast<double>(norm.num_batches_tracked.item<int64_t>());
  return BatchNormReLUFunction::apply(x, norm.weight, norm.bias, norm.running_mean,
                                      norm.running_var, momentum, norm.options.eps());
}

}  // namespace dunet::kernels
