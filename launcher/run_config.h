// The whole configuration of a run: one plain struct per module, gathered in RunConfig.
// Loaded and validated by config_loader.h; printed back by config_writer.h.
#pragma once

#include <cstdint>
#include <string>

#include "data/data_config.h"
#include "launcher/dist_config.h"
#include "launcher/slurm_config.h"
#include "model/model_config.h"
#include "trainer/train_config.h"

namespace dunet::launcher {

struct RunSection {
  std::string name = "dunet";
  std::string output_dir = "runs/dunet";  // checkpoints, logs and the resolved config go here
  int64_t seed = 42;
};

struct RunConfig {
  RunSection run;
  data::DataConfig data;
  model::ModelConfig model;
  trainer::TrainConfig train;
  trainer::ValidationConfig validation;
  trainer::CheckpointConfig checkpoint;
  DistConfig dist;
  SlurmConfig slurm;
};

}  // namespace dunet::launcher
