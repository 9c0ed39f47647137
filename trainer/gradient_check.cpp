#include "trainer/gradient_check.h"

namespace dunet::trainer {

bool all_finite(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> sums;
  for (const auto& t : tensors) {
    if (t.defined()) sums.push_back(t.sum());
  }
  if (sums.empty() || torch::stack(sums).isfinite().all().item<bool>()) return true;
  for (const auto& t : tensors) {
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace dunet::trainer
