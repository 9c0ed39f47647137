#include "model/folded_conv.h"

#include "kernels/fast_paths.h"
#include "model/sync_batch_norm.h"

namespace dunet::model {

namespace {

torch::Tensor as_double(const torch::Tensor& t) { return t.detach().to(torch::kDouble); }

}  // namespace

FoldedConvReLU::FoldedConvReLU(const torch::nn::Conv2dImpl& conv, const torch::nn::Module* norm) {
  // In double, so that folding adds no rounding of its own.
  torch::Tensor weight = as_double(conv.weight);
  torch::Tensor bias = as_double(conv.bias);
  auto fold = [&](const torch::Tensor& gamma, const torch::Tensor& beta, const torch::Tensor& mean,
                  const torch::Tensor& var, double eps) {
    const torch::Tensor scale = as_double(gamma) / (as_double(var) + eps).sqrt();
    weight = weight * scale.view({-1, 1, 1, 1});
    bias = (bias - as_double(mean)) * scale + as_double(beta);
  };
  if (const auto* bn = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(norm)) {
    fold(bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->options.eps());
  } else if (const auto* sync = dynamic_cast<const SyncBatchNormImpl*>(norm)) {
    fold(sync->weight, sync->bias, sync->running_mean, sync->running_var, sync->eps());
  }
  winograd_ = kernels::winograd_conv3x3_relu(weight, bias);
  weight_ = weight.to(conv.weight.scalar_type());
  bias_ = bias.to(conv.weight.scalar_type());
}

torch::Tensor FoldedConvReLU::forward(const torch::Tensor& x) const {
  if (winograd_) return winograd_(x);
  return torch::conv2d(x, weight_, bias_, /*stride=*/1, /*padding=*/1).relu_();
}

}  // namespace dunet::model
