// Shape of the UNet: channels in and out, width of the first level, number of down steps.
// Plain struct with defaults; config/loader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace dunet::model {

struct ModelConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 1;
  int64_t base_channels = 64;  // channels after the first DoubleConv; doubled per down step
  int64_t depth = 4;           // number of down (and up) steps
  std::string norm = "batch";  // batch | sync_batch (over all processes) | group | instance | none
  // How 3x3 convolutions are computed on the CPU: auto (Winograd where OpenBLAS is loaded and
  // a layer gains from it) | winograd (the same, an error where it cannot run) | direct
  // (LibTorch's convolution everywhere). Not part of the model's shape.
  std::string conv_path = "auto";
};

}  // namespace dunet::model
