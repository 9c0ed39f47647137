// The optimiser a TrainConfig asks for, over a model's parameters, and setting its learning
// rate for the schedule.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "model/unet.h"
#include "trainer/train_config.h"

namespace dunet::trainer {

// Adam (dunet's fused Adam on the CPU, LibTorch's update otherwise) or SGD with momentum.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        model::UNet& model);

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate);

}  // namespace dunet::trainer
