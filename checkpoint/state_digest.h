// A digest of a model's weights and buffers, to tell checkpoints, runs and replicas apart.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dunet::checkpoint {

// XXH3-64 (core/hash.h) of all parameters and buffers in order: equal on every rank when replicas agree.
uint64_t state_digest(torch::nn::Module& model);

}  // namespace dunet::checkpoint
