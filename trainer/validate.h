// Validation on whole images: each rank predicts its share of the validation set and the
// counts are summed over ranks, so every rank gets the single-process metrics.
#pragma once

#include <torch/torch.h>

#include "data/augment.h"
#include "data/shard_set.h"
#include "launcher/communicator.h"
#include "model/metrics.h"
#include "model/unet.h"
#include "trainer/train_config.h"

namespace dunet::trainer {

model::MetricTotals validate(model::UNet& model, const data::ShardSet& samples,
                             const data::Normalization& norm, const ValidationConfig& config,
                             launcher::Communicator& comm, const torch::Device& device);

}  // namespace dunet::trainer
