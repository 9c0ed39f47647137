// Settings of the data pipeline: which shards, patch size, and the background loading.
// Plain struct with defaults; config/loader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dunet::data {

struct DataConfig {
  std::vector<std::string> train;  // globs of training shards (HDF5 from `dunet prepare`)
  std::vector<std::string> val;    // globs of validation shards
  int64_t patch_size = 256;        // square training crop, a multiple of 2^depth
  int64_t workers = 2;             // background threads reading and augmenting samples
  int64_t prefetch = 4;            // batches prepared ahead of the training step
  bool augment = true;             // random flips and 90-degree rotations
  double scale_min = 1.0;          // zoom drawn log-uniformly from [scale_min, scale_max]
  double scale_max = 1.0;
  double rotation_deg = 0.0;       // rotation drawn from [-rotation_deg, rotation_deg]
  bool photometric = false;        // brightness, contrast, gamma, colour, grey, inversion, blur, noise
  double foreground_fraction = 0.0;  // share of patches centred on a foreground pixel
};

}  // namespace dunet::data
