#include "checkpoint/state_digest.h"

#include "core/fnv1a.h"

namespace dunet::checkpoint {

uint64_t state_digest(torch::nn::Module& model) {
  uint64_t h = kFnv1aOffset;
  const auto add = [&h](const torch::Tensor& t) {
    const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
    h = fnv1a64(cpu.data_ptr(), cpu.nbytes(), h);
  };
  for (const auto& p : model.parameters()) add(p);
  for (const auto& b : model.buffers()) add(b);
  return h;
}

}  // namespace dunet::checkpoint
