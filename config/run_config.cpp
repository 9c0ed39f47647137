#include "config/run_config.h"

#include "config/writer.h"

namespace dunet::config {

trainer::TrainerSettings trainer_settings(const RunConfig& config) {
  return {config.run,        config.data,       config.model, config.train,
          config.validation, config.checkpoint, config.dist,  to_toml(config)};
}

}  // namespace dunet::config
