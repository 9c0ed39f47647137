#include "checkpoint/state_digest.h"

#include "core/hash.h"

namespace dunet::checkpoint {

uint64_t state_digest(torch::nn::Module& model) {
  Hash64 hash;
  const auto add = [&hash](const torch::Tensor& t) {
    const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
    hash.update(cpu.data_ptr(), cpu.nbytes());
  };
  for (const auto& p : model.parameters()) add(p);
  for (const auto& b : model.buffers()) add(b);
  return hash.digest();
}

}  // namespace dunet::checkpoint
