// One image with its foreground mask and nuclei, as stored in a shard: 8-bit, height x width x
// channels.
// Plain buffers keep data/ free of LibTorch; the trainer wraps batches into tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dunet::data {

struct Image {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;  // row-major, channels interleaved (HWC)

  int64_t num_pixels() const { return height * width; }
};

struct Sample {
  std::string id;
  Image image;                // channels = the shard's channel count
  std::vector<uint8_t> mask;  // height x width, 0 = background, 1 = foreground
  // height x width nucleus ids (0 = background); empty in shards written before labels were.
  std::vector<uint16_t> labels;
};

}  // namespace dunet::data
