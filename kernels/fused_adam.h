// torch::optim::Adam whose update runs as one pass over each parameter on the CPU. LibTorch's
// Adam issues about a dozen tensor operations per parameter (with temporaries and scalar
// conversions): ~12 ms of a 260 ms base-16 training step with one thread, over 82 parameters.
// Same options, same per-parameter state (AdamParamState) and the same serialisation, so
// checkpoints of either load into the other. Falls back to Adam::step for anything but
// contiguous float CPU parameters and gradients, or with amsgrad.
#pragma once

#include <torch/torch.h>

namespace dunet::kernels {

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
  // Whether step() runs the fused loop (otherwise it is Adam::step).
  bool fusable() const;
};

}  // namespace dunet::kernels
