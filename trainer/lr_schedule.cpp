#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace dunet::trainer {

double learning_rate_at(const TrainConfig& config, double epoch_progress) {
  const double peak = config.learning_rate;
  const auto warmup = static_cast<double>(config.warmup_epochs);
  if (epoch_progress < warmup) return peak * (epoch_progress + 1e-3) / (warmup + 1e-3);
  const double after = epoch_progress - warmup;
  if (config.lr_schedule == "cosine") {
    const double span = std::max(1.0, static_cast<double>(config.epochs) - warmup);
    const double t = std::clamp(after / span, 0.0, 1.0);
    return 0.5 * peak * (1.0 + std::cos(M_PI * t));
  }
  if (config.lr_schedule == "step") {
    const double decays = std::floor(after / static_cast<double>(config.step_epochs));
    return peak * std::pow(config.step_gamma, decays);
  }
  return peak;
}

}  // namespace dunet::trainer
