// Validation on whole images: each rank predicts its share of the validation set and the
// counts are summed over ranks, so every rank gets the single-process metrics.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "data/augment.h"
#include "data/montage.h"
#include "data/shard_set.h"
#include "launcher/communicator.h"
#include "model/metrics.h"
#include "model/unet.h"
#include "trainer/train_config.h"

namespace dunet::trainer {

// The first `wanted` images of this rank's share, as rows of data::make_montage: the true
// nuclei and the predicted ones (found as `dunet infer` finds them), captioned with the image's
// index and pixel IoU.
struct ValidationPictures {
  int64_t wanted = 0;
  std::vector<data::MontageRow> rows;
};

model::MetricTotals validate(model::UNet& model, const data::ShardSet& samples,
                             const data::Normalization& norm, const ValidationConfig& config,
                             launcher::Communicator& comm, const torch::Device& device,
                             ValidationPictures* pictures = nullptr);

}  // namespace dunet::trainer
