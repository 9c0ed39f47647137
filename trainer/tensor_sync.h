// Keeping model replicas identical across ranks: parameters and buffers broadcast from rank
// 0, and BatchNorm running statistics averaged. Gradients: see gradient_reducer.h.
#pragma once

#include <torch/torch.h>

#include "launcher/communicator.h"

namespace dunet::trainer {

// Copies rank 0's parameters and buffers (BatchNorm statistics) to every rank.
void broadcast_model_state(torch::nn::Module& model, launcher::Communicator& comm);

// Averages floating-point buffers (BatchNorm running mean and variance) over all ranks, so
// that validation and checkpoints see one consistent model; no-op for a single process.
void average_buffers(torch::nn::Module& model, launcher::Communicator& comm);

}  // namespace dunet::trainer
