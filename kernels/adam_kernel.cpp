// Compiled with -fno-math-errno and without the project's precompiled header
// (CMakeLists.txt): otherwise sqrt keeps a branch that sets errno and the loop stays scalar.
#include "kernels/adam_kernel.h"

#include <cmath>

#include "kernels/cpu_kernels.h"

namespace dunet::kernels {

namespace {

template <bool kWeightDecay>
__attribute__((always_inline)) inline void apply_each(const AdamUpdate& u) {
  for (int64_t i = 0; i < u.size; ++i) {
    const float g = kWeightDecay ? u.grad[i] + u.weight_decay * u.param[i] : u.grad[i];
    const float m = u.exp_avg[i] * u.beta1 + (1.0f - u.beta1) * g;
    const float v = u.exp_avg_sq[i] * u.beta2 + (1.0f - u.beta2) * (g * g);
    u.exp_avg[i] = m;
    u.exp_avg_sq[i] = v;
    const float denominator = std::sqrt(v) / u.bias_correction2_root + u.eps;
    u.param[i] += -u.step_size * (m / denominator);
  }
}

}  // namespace

__attribute__((always_inline)) inline void apply_adam_update_body(const AdamUpdate& update) {
  if (update.weight_decay != 0.0f) {
    apply_each<true>(update);
  } else {
    apply_each<false>(update);
  }
}
DUNET_CPU_KERNEL(void, apply_adam_update, (const AdamUpdate& update), (update))

}  // namespace dunet::kernels
