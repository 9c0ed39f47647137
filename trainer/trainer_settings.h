// Everything one rank's training loop is told: the sections of the run's configuration that
// the trainer reads, and the whole configuration as text (stored in every checkpoint, and
// compared across ranks). config/run_config.h builds it from a loaded RunConfig.
#pragma once

#include <string>

#include "data/data_config.h"
#include "launcher/dist_config.h"
#include "model/model_config.h"
#include "trainer/train_config.h"

namespace dunet::trainer {

struct TrainerSettings {
  RunSection run;
  data::DataConfig data;
  model::ModelConfig model;
  TrainConfig train;
  ValidationConfig validation;
  CheckpointConfig checkpoint;
  launcher::DistConfig dist;
  std::string resolved_config;  // the run's whole configuration, as TOML
};

}  // namespace dunet::trainer
