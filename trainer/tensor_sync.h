// Keeping model replicas identical across ranks: parameters and buffers broadcast from rank
// 0, gradients averaged. Single flat buffer for now; see the data-parallel design for buckets.
#pragma once

#include <torch/torch.h>

#include "launcher/communicator.h"

namespace dunet::trainer {

// Copies rank 0's parameters and buffers (BatchNorm statistics) to every rank.
void broadcast_model_state(torch::nn::Module& model, launcher::Communicator& comm);

// Averages every parameter's gradient over all ranks; no-op for a single process.
void average_gradients(torch::nn::Module& model, launcher::Communicator& comm);

}  // namespace dunet::trainer
