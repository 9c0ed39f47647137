#include "kernels/fused_adam.h"

#include <cmath>
#include <vector>

#include "kernels/adam_kernel.h"
#include "kernels/cpu_kernels.h"
#include "kernels/parallel_each.h"
#include "kernels/torch_compat.h"

namespace dunet::kernels {

namespace {

bool fusable_tensor(const torch::Tensor& t) {
  return t.is_cpu() && t.scalar_type() == torch::kFloat && t.layout() == torch::kStrided &&
         t.is_contiguous();
}

}  // namespace

bool FusedAdam::fusable() const {
  if (!kCpuKernelsBuilt) return false;
  for (const auto& group : param_groups()) {
    if (static_cast<const torch::optim::AdamOptions&>(group.options()).amsgrad()) return false;
    for (const auto& p : group.params()) {
      if (!fusable_tensor(p) || (p.grad().defined() && !fusable_tensor(p.grad()))) return false;
    }
  }
  return true;
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  if (!fusable()) return torch::optim::Adam::step(closure);
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  std::vector<AdamUpdate> updates;
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      // Keyed as Adam keys its state, so that Adam::step, save and load see the same entries.
      auto& slot = state_[optimizer_state_key(state_, p.unsafeGetTensorImpl())];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      const auto [beta1, beta2] = options.betas();
      const double bias_correction1 = 1 - std::pow(beta1, state.step());
      const double bias_correction2 = 1 - std::pow(beta2, state.step());
      updates.push_back(
          {p.data_ptr<float>(), p.grad().data_ptr<float>(), state.exp_avg().data_ptr<float>(),
           state.exp_avg_sq().data_ptr<float>(), p.numel(), static_cast<float>(beta1),
           static_cast<float>(beta2), static_cast<float>(options.weight_decay()),
           static_cast<float>(options.eps()), static_cast<float>(options.lr() / bias_correction1),
           static_cast<float>(std::sqrt(bias_correction2))});
      // The kernel writes through raw pointers: move the version counter as an in-place
      // tensor operation would (the UNet's folded inference weights are keyed on it).
      torch::autograd::impl::bump_version(p);
    }
  }
  parallel_each(static_cast<int64_t>(updates.size()),
                [&](int64_t i) { apply_adam_update(updates[static_cast<size_t>(i)]); });
  return loss;
}

}  // namespace dunet::kernels
