// What a checkpoint says about itself, without LibTorch types (for apps/ and logs).
#pragma once

#include <cstdint>
#include <string>

namespace dunet::checkpoint {

struct CheckpointSummary {
  int64_t epoch = 0;
  int64_t global_step = 0;
  int64_t world_size = 1;
  double best_iou = -1;
  double last_iou = -1;
  int64_t in_channels = 3;
  int64_t base_channels = 64;
  int64_t depth = 4;
};

}  // namespace dunet::checkpoint
