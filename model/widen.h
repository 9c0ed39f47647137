// Under autocast (train.precision = bf16 | fp16) convolutions return bfloat16 or float16;
// normalisation statistics and the loss are taken in float32, as PyTorch's autocast does.
#pragma once

#include <torch/torch.h>

namespace dunet::model {

// `t` in float32 when it is bfloat16 or float16; otherwise `t` itself (float64 stays float64).
inline torch::Tensor widen_reduced_precision(const torch::Tensor& t) {
  const auto type = t.scalar_type();
  return type == torch::kBFloat16 || type == torch::kHalf ? t.to(torch::kFloat) : t;
}

}  // namespace dunet::model
