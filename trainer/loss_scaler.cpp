#include "trainer/loss_scaler.h"

#include "core/error.h"

namespace dunet::trainer {

LossScaler::LossScaler(const std::string& mode, const std::string& precision, double initial_scale)
    : enabled_(mode == "dynamic" || (mode == "auto" && precision == "fp16")) {
  DUNET_CHECK(mode == "auto" || mode == "dynamic" || mode == "off", ConfigError,
              "train.loss_scaling = '", mode, "'; expected auto, dynamic or off");
  DUNET_CHECK(!(mode == "off" && precision == "fp16"), ConfigError,
              "train.loss_scaling = \"off\" with train.precision = \"fp16\": float16 "
              "gradients underflow without loss scaling; use \"auto\"");
  DUNET_CHECK(initial_scale >= 1.0, ConfigError, "train.initial_loss_scale = ", initial_scale,
              "; expected at least 1");
  state_.scale = initial_scale;
}

void LossScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  if (!enabled_) return;
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / state_.scale;
  for (const auto& p : parameters) {
    // .grad may be a view into a reducer bucket: scaled in place, it stays one.
    if (p.grad().defined()) p.grad().mul_(inverse);
  }
}

void LossScaler::update(bool gradients_finite) {
  if (!enabled_) return;
  if (!gradients_finite) {
    state_.scale *= kBackoffFactor;
    state_.good_steps = 0;
    return;
  }
  if (++state_.good_steps == kGrowthInterval) {
    state_.scale *= kGrowthFactor;
    state_.good_steps = 0;
  }
}

}  // namespace dunet::trainer
