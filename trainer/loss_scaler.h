// Dynamic loss scaling for float16 training (torch.amp.GradScaler's rule): the loss is
// multiplied by `scale` before backward so that small gradients survive float16's range; the
// gradients are divided by it again before the optimizer step. A step whose gradients hold an
// Inf or NaN overflowed: it is skipped and the scale halved. After `growth_interval` good steps
// in a row the scale doubles. The state travels in every checkpoint, so a resumed run scales
// exactly as an uninterrupted one.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dunet::trainer {

struct LossScaleState {
  double scale = 65536.0;
  int64_t good_steps = 0;  // finite steps since the last overflow or growth
};

class LossScaler {
 public:
  static constexpr int64_t kGrowthInterval = 2000;
  static constexpr double kGrowthFactor = 2.0;
  static constexpr double kBackoffFactor = 0.5;

  // mode: train.loss_scaling (auto | dynamic | off); auto scales with fp16 only.
  LossScaler(const std::string& mode, const std::string& precision, double initial_scale);

  bool enabled() const { return enabled_; }
  const LossScaleState& state() const { return state_; }
  void restore(const LossScaleState& state) { state_ = state; }

  // The factor to multiply the loss by before backward (1 when disabled).
  double loss_factor() const { return enabled_ ? state_.scale : 1.0; }
  // Divides every defined gradient by the scale (in place; nothing when disabled).
  void unscale(const std::vector<torch::Tensor>& parameters) const;
  // After unscale: records whether the step's gradients were finite and adapts the scale.
  void update(bool gradients_finite);

 private:
  bool enabled_;
  LossScaleState state_;
};

}  // namespace dunet::trainer
