#include "model/unet.h"

#include <iterator>

#include "core/error.h"
#include "model/batch_norm_relu.h"
#include "model/max_pool.h"
#include "model/sync_batch_norm.h"
#include "model/winograd_conv.h"
#include "model/winograd_function.h"

namespace dunet::model {

namespace nn = torch::nn;

DoubleConvImpl::DoubleConvImpl(int64_t in_channels, int64_t out_channels, Norm norm) {
  body_ = nn::Sequential();
  for (const int64_t in : {in_channels, out_channels}) {
    body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out_channels, 3).padding(1)));
    if (norm == Norm::kBatch) body_->push_back(nn::BatchNorm2d(out_channels));
    if (norm == Norm::kSyncBatch) body_->push_back(SyncBatchNorm(out_channels));
    body_->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  }
  register_module("body", body_);
}

torch::Tensor DoubleConvImpl::forward(const torch::Tensor& x) {
  if (!x.is_cpu() || x.scalar_type() != torch::kFloat) return body_->forward(x);
  torch::Tensor y = x;
  if (!is_training() && !torch::GradMode::is_enabled() && winograd_enabled()) {
    for (const FoldedConvReLU& convolution : inference_plan().convolutions) {
      y = convolution.forward(y);
    }
    return y;
  }
  // body_ is (conv, [norm], ReLU) twice; a BatchNorm2d takes its ReLU along when it can.
  for (auto layer = body_->begin(); layer != body_->end(); ++layer) {
    const auto next = std::next(layer);
    if (const auto* conv = layer->ptr()->as<nn::Conv2dImpl>()) {
      y = winograd_enabled() && trains_by_winograd(*conv, y)
              ? winograd_conv2d(y, conv->weight, conv->bias)
              : layer->forward(y);
    } else if (auto* norm = layer->ptr()->as<nn::BatchNorm2dImpl>();
               norm != nullptr && next != body_->end() && next->ptr()->as<nn::ReLUImpl>() &&
               batch_norm_relu_applies(*norm, y)) {
      y = batch_norm_relu(*norm, y);
      ++layer;  // its ReLU
    } else {
      y = layer->forward(y);
    }
  }
  return y;
}

bool DoubleConvImpl::trains_by_winograd(const nn::Conv2dImpl& conv, const torch::Tensor& x) {
  // Measured (dunet bench conv3x3, batch 4): forward + backward 1.3-3x faster from 16x16
  // pixels up, 0.5-1.1x at 8x8.
  return winograd_pays_off(conv.weight.size(1), conv.weight.size(0)) &&
         x.size(2) * x.size(3) >= kMinWinogradTrainingPixels;
}

std::vector<std::pair<const void*, int64_t>> DoubleConvImpl::source_versions() const {
  std::vector<std::pair<const void*, int64_t>> versions;
  for (const auto& tensors : {parameters(), buffers()}) {
    for (const auto& t : tensors) versions.emplace_back(t.data_ptr(), t._version());
  }
  return versions;
}

const DoubleConvImpl::InferencePlan& DoubleConvImpl::inference_plan() {
  auto versions = source_versions();
  if (plan_ && plan_->source_versions == versions) return *plan_;
  auto plan = std::make_unique<InferencePlan>();
  plan->source_versions = std::move(versions);
  // body_ is (conv, [norm], ReLU) twice.
  const auto layers = body_->children();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto* conv = dynamic_cast<const nn::Conv2dImpl*>(layers[i].get());
    if (conv == nullptr) continue;
    const torch::nn::Module* next = i + 1 < layers.size() ? layers[i + 1].get() : nullptr;
    plan->convolutions.emplace_back(*conv, next);
  }
  plan_ = std::move(plan);
  return *plan_;
}

DownImpl::DownImpl(int64_t in_channels, int64_t out_channels, Norm norm)
    : conv_(register_module("conv", DoubleConv(in_channels, out_channels, norm))) {}

std::pair<torch::Tensor, torch::Tensor> DownImpl::forward(const torch::Tensor& x) {
  torch::Tensor skip = conv_->forward(x);
  return {max_pool2x2(skip), skip};
}

UpImpl::UpImpl(int64_t in_channels, int64_t out_channels, Norm norm)
    : up_(register_module("up", TransposeConv2x2(in_channels, in_channels / 2))),
      conv_(register_module("conv", DoubleConv(in_channels, out_channels, norm))) {}

torch::Tensor UpImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  return conv_->forward(torch::cat({skip, up_->forward(x)}, /*dim=*/1));
}

UNetImpl::UNetImpl(const ModelConfig& config) : config_(config) {
  DUNET_CHECK(config.depth >= 1 && config.base_channels >= 1 && config.in_channels >= 1 &&
                  config.out_channels >= 1,
              Error, "invalid UNet shape");
  const Norm batch_norm = parse_norm(config.norm);
  downs_ = register_module("downs", nn::ModuleList());
  ups_ = register_module("ups", nn::ModuleList());
  int64_t channels = config.in_channels;
  for (int64_t level = 0; level < config.depth; ++level) {
    const int64_t width = config.base_channels << level;
    downs_->push_back(Down(channels, width, batch_norm));
    channels = width;
  }
  bottom_ = register_module("bottom", DoubleConv(channels, channels * 2, batch_norm));
  channels *= 2;
  for (int64_t level = config.depth - 1; level >= 0; --level) {
    const int64_t width = config.base_channels << level;
    ups_->push_back(Up(channels, width, batch_norm));
    channels = width;
  }
  head_ = register_module(
      "head", nn::Conv2d(nn::Conv2dOptions(channels, config.out_channels, /*kernel_size=*/1)));
}

torch::Tensor UNetImpl::forward(const torch::Tensor& input) {
  DUNET_CHECK(input.dim() == 4 && input.size(1) == config_.in_channels, Error,
              "UNet expects a [batch, ", config_.in_channels, ", height, width] tensor, got ",
              input.sizes());
  const int64_t height = input.size(2), width = input.size(3);
  const int64_t multiple = size_multiple();
  const int64_t pad_bottom = (multiple - height % multiple) % multiple;
  const int64_t pad_right = (multiple - width % multiple) % multiple;
  torch::Tensor x = input;
  if (pad_bottom != 0 || pad_right != 0) {
    x = torch::constant_pad_nd(input, {0, pad_right, 0, pad_bottom}, 0.0);
  }
  std::vector<torch::Tensor> skips;
  for (const auto& module : *downs_) {
    auto [pooled, skip] = module->as<DownImpl>()->forward(x);
    skips.push_back(std::move(skip));
    x = pooled;
  }
  x = bottom_->forward(x);
  for (const auto& module : *ups_) {
    x = module->as<UpImpl>()->forward(x, skips.back());
    skips.pop_back();
  }
  x = head_->forward(x);
  if (pad_bottom != 0 || pad_right != 0) {
    x = x.narrow(2, 0, height).narrow(3, 0, width);
  }
  return x;
}

Norm parse_norm(const std::string& name) {
  if (name == "batch") return Norm::kBatch;
  if (name == "sync_batch") return Norm::kSyncBatch;
  if (name == "none") return Norm::kNone;
  throw Error("model.norm '" + name + "' is not supported; expected batch, sync_batch or none");
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace dunet::model
