// The whole configuration of a run: one plain struct per part, gathered in RunConfig.
// Loaded and validated by loader.h; printed back by writer.h. Each part below takes only
// its own sections (trainer_settings for the training loop, slurm for `dunet submit`).
#pragma once

#include "data/data_config.h"
#include "launcher/dist_config.h"
#include "launcher/slurm_config.h"
#include "model/model_config.h"
#include "trainer/train_config.h"
#include "trainer/trainer_settings.h"

namespace dunet::config {

struct RunConfig {
  trainer::RunSection run;
  data::DataConfig data;
  model::ModelConfig model;
  trainer::TrainConfig train;
  trainer::ValidationConfig validation;
  trainer::CheckpointConfig checkpoint;
  launcher::DistConfig dist;
  launcher::SlurmConfig slurm;
};

// The training loop's sections, with the resolved TOML of the whole config.
trainer::TrainerSettings trainer_settings(const RunConfig& config);

}  // namespace dunet::config
