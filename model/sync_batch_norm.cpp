#include "model/sync_batch_norm.h"

namespace dunet::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = (x - mean) * invstd * weight + bias with global mean/invstd; backward all-reduces the
// per-channel sums of dy and dy * x_hat so that dx is the gradient of the sum of every
// process's loss (DDP then averages parameter gradients by 1/W).
struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& mean, const torch::Tensor& invstd,
                               double global_count, StatsAllReducer* reducer) {
    const auto shape = std::vector<int64_t>{1, -1, 1, 1};
    const torch::Tensor x_hat = (x - mean.view(shape)) * invstd.view(shape);
    ctx->save_for_backward({x_hat, weight, invstd});
    ctx->saved_data["count"] = global_count;
    ctx->saved_data["reducer"] = reinterpret_cast<int64_t>(reducer);
    return x_hat * weight.view(shape) + bias.view(shape);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x_hat = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& invstd = saved[2];
    const double count = ctx->saved_data["count"].toDouble();
    auto* reducer = reinterpret_cast<StatsAllReducer*>(ctx->saved_data["reducer"].toInt());
    const torch::Tensor dy = grads[0];
    const torch::Tensor sum_dy_local = dy.sum({0, 2, 3});
    const torch::Tensor sum_dy_xhat_local = (dy * x_hat).sum({0, 2, 3});
    torch::Tensor sums = torch::cat({sum_dy_local, sum_dy_xhat_local});
    if (reducer != nullptr) reducer->sum(sums);
    const int64_t c = weight.numel();
    const auto shape = std::vector<int64_t>{1, -1, 1, 1};
    const torch::Tensor mean_dy = sums.narrow(0, 0, c).div(count).view(shape);
    const torch::Tensor mean_dy_xhat = sums.narrow(0, c, c).div(count).view(shape);
    const torch::Tensor dx = (weight * invstd).view(shape) * (dy - mean_dy - x_hat * mean_dy_xhat);
    return {dx,
            sum_dy_xhat_local,
            sum_dy_local,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

SyncBatchNormImpl::SyncBatchNormImpl(int64_t channels, double momentum, double eps)
    : momentum_(momentum), eps_(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& x) {
  if (!is_training()) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, false, 0.0, eps_,
                             /*cudnn_enabled=*/true);
  }
  const int64_t channels = x.size(1);
  torch::Tensor mean, invstd;
  double count = 0;
  {
    torch::NoGradGuard no_grad;
    // Sums in double: one all-reduce of [sum, sum of squares, count] per channel.
    const torch::Tensor xd = x.to(torch::kFloat64);
    torch::Tensor stats =
        torch::cat({xd.sum({0, 2, 3}), (xd * xd).sum({0, 2, 3}),
                    torch::full({1}, static_cast<double>(x.numel() / channels), xd.options())});
    if (reducer_) reducer_->sum(stats);
    count = stats[2 * channels].item<double>();
    const torch::Tensor global_mean = stats.narrow(0, 0, channels) / count;
    const torch::Tensor global_var =
        (stats.narrow(0, channels, channels) / count - global_mean * global_mean).clamp_min(0);
    mean = global_mean.to(x.dtype());
    invstd = (global_var + eps_).rsqrt().to(x.dtype());
    running_mean.mul_(1 - momentum_).add_(momentum_ * mean);
    running_var.mul_(1 - momentum_)
        .add_(momentum_ * (global_var * (count / std::max(count - 1, 1.0))).to(x.dtype()));
    num_batches_tracked.add_(1);
  }
  return SyncBatchNormFunction::apply(x, weight, bias, mean, invstd, count, reducer_.get());
}

void set_stats_reducer(torch::nn::Module& module, const std::shared_ptr<StatsAllReducer>& reducer) {
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (auto* bn = child->as<SyncBatchNormImpl>()) bn->set_reducer(reducer);
  }
}

}  // namespace dunet::model
