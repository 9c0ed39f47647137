// The element loop of FusedAdam (fused_adam.h): one parameter's update for one step.
#pragma once

#include <cstdint>

namespace dunet::kernels {

struct AdamUpdate {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t size;
  float beta1, beta2, weight_decay, eps;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_root;  // sqrt(1 - beta2^step)
};

// Adam's arithmetic in LibTorch's order (torch/csrc/api/src/optim/adam.cpp), element by
// element, in vector registers where the CPU has AVX2.
void apply_adam_update(const AdamUpdate& update);

}  // namespace dunet::kernels
