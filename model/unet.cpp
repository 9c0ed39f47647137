#include "model/unet.h"

#include "core/error.h"
#include "kernels/fast_paths.h"
#include "model/widen.h"

namespace dunet::model {

namespace nn = torch::nn;

const nn::Module* ConvNormReLU::norm() const {
  if (batch_norm) return batch_norm.get();
  if (sync_batch_norm) return sync_batch_norm.get();
  if (group_norm) return group_norm.get();
  return nullptr;
}

torch::Tensor ConvNormReLU::forward(const torch::Tensor& x, bool cpu_float) {
  // Measured (dunet bench conv3x3, batch 4): Winograd's forward + backward is 1.3-3x faster
  // from 16x16 pixels up, 0.5-1.1x at 8x8. A backward pass follows where gradients are on.
  const bool by_winograd =
      cpu_float && kernels::winograd_enabled() &&
      kernels::winograd_pays_off(conv->weight.size(1), conv->weight.size(0),
                                 /*backward=*/torch::GradMode::is_enabled()) &&
      x.size(2) * x.size(3) >= kMinWinogradTrainingPixels;
  torch::Tensor y =
      by_winograd ? kernels::winograd_conv2d(x, conv->weight, conv->bias) : conv->forward(x);
  // Under autocast the convolution gave bfloat16 or float16; the normalisation computes its
  // statistics in float32, as cuDNN's batch norm does.
  if (norm() != nullptr) y = widen_reduced_precision(y);
  if (batch_norm && cpu_float && kernels::batch_norm_relu_applies(*batch_norm, y)) {
    return kernels::batch_norm_relu(*batch_norm, y);
  }
  if (batch_norm) y = batch_norm->forward(y);
  if (sync_batch_norm) y = sync_batch_norm->forward(y);
  if (group_norm) y = group_norm->forward(y);
  return relu->forward(y);
}

DoubleConvImpl::DoubleConvImpl(int64_t in_channels, int64_t out_channels, Norm norm) {
  body_ = nn::Sequential();
  int64_t in = in_channels;
  // Constructed in this order so that the initial weights (drawn by each Conv2d) stay those
  // of every earlier dunet version for the same seed.
  for (ConvNormReLU& unit : units_) {
    unit.conv = nn::Conv2d(nn::Conv2dOptions(in, out_channels, 3).padding(1));
    body_->push_back(unit.conv);
    if (norm == Norm::kBatch) {
      unit.batch_norm = nn::BatchNorm2d(out_channels);
      body_->push_back(unit.batch_norm);
    }
    if (norm == Norm::kSyncBatch) {
      unit.sync_batch_norm = SyncBatchNorm(out_channels);
      body_->push_back(unit.sync_batch_norm);
    }
    if (norm == Norm::kGroup || norm == Norm::kInstance) {
      const int64_t groups = norm == Norm::kGroup ? group_norm_groups(out_channels) : out_channels;
      unit.group_norm = nn::GroupNorm(nn::GroupNormOptions(groups, out_channels));
      body_->push_back(unit.group_norm);
    }
    unit.relu = nn::ReLU(nn::ReLUOptions().inplace(true));
    body_->push_back(unit.relu);
    in = out_channels;
  }
  register_module("body", body_);
}

torch::Tensor DoubleConvImpl::forward(const torch::Tensor& x) {
  const bool cpu_float = kernels::cpu_fast_path_applies(x);
  torch::Tensor y = x;
  if (cpu_float && !is_training() && !torch::GradMode::is_enabled() &&
      kernels::winograd_enabled() && !units_[0].group_norm) {
    for (const FoldedConvReLU& convolution : inference_plan().convolutions) {
      y = convolution.forward(y);
    }
    return y;
  }
  for (ConvNormReLU& unit : units_) y = unit.forward(y, cpu_float);
  return y;
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
  for (const ConvNormReLU& unit : units_) plan->convolutions.emplace_back(*unit.conv, unit.norm());
  plan_ = std::move(plan);
  return *plan_;
}

DownImpl::DownImpl(int64_t in_channels, int64_t out_channels, Norm norm)
    : conv_(register_module("conv", DoubleConv(in_channels, out_channels, norm))) {}

std::pair<torch::Tensor, torch::Tensor> DownImpl::forward(const torch::Tensor& x) {
  torch::Tensor skip = conv_->forward(x);
  return {kernels::max_pool2x2(skip), skip};
}

UpImpl::UpImpl(int64_t in_channels, int64_t out_channels, Norm norm)
    : up_(register_module("up", TransposeConv2x2(in_channels, in_channels / 2))),
      conv_(register_module("conv", DoubleConv(in_channels, out_channels, norm))) {}

torch::Tensor UpImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  torch::Tensor up = up_->forward(x);
  // Under autocast the transpose conv's output may be in a lower precision than the skip.
  if (up.scalar_type() != skip.scalar_type()) up = up.to(skip.scalar_type());
  return conv_->forward(torch::cat({skip, up}, /*dim=*/1));
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
  if (name == "group") return Norm::kGroup;
  if (name == "instance") return Norm::kInstance;
  if (name == "none") return Norm::kNone;
  throw Error("model.norm '" + name +
              "' is not supported; expected batch, sync_batch, group, instance or none");
}

int64_t group_norm_groups(int64_t channels) {
  int64_t groups = 8;
  while (channels % groups != 0) --groups;
  return groups;
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace dunet::model
