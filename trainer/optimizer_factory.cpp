#include "trainer/optimizer_factory.h"

#include "kernels/fused_adam.h"

namespace dunet::trainer {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, model::UNet& model) {
  if (c.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(model->parameters(),
                                               torch::optim::SGDOptions(c.learning_rate)
                                                   .momentum(c.momentum)
                                                   .weight_decay(c.weight_decay));
  }
  return std::make_unique<kernels::FusedAdam>(
      model->parameters(), torch::optim::AdamOptions(c.learning_rate).weight_decay(c.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learning_rate);
}

}  // namespace dunet::trainer
