// The layout of a dunet HDF5 shard, shared by the writer and the reader.
// See "Shard layout" in docs/design.md for the why.
#pragma once

#include <cstdint>

namespace dunet::data::shard {

inline constexpr char kFormatName[] = "dunet-shard";
// Version 2 adds `labels`; version 1 shards (foreground only) are still read.
inline constexpr int64_t kFormatVersion = 2;
inline constexpr int64_t kOldestReadableVersion = 1;

// Datasets. Images and masks of all samples are concatenated into two 1-D uint8 arrays so that
// every image keeps its own size; `index` row i = (pixel_offset, height, width, source_order).
inline constexpr char kImages[] = "images";  // sum(h*w*channels) uint8, HWC per sample
inline constexpr char kMasks[] = "masks";    // sum(h*w) uint8, 0/1
inline constexpr char kLabels[] = "labels";  // sum(h*w) uint16, one id per nucleus, 0 = none
inline constexpr char kIndex[] = "index";    // [num_samples, 4] int64
inline constexpr char kIds[] = "ids";        // [num_samples] variable-length strings
inline constexpr int64_t kIndexColumns = 4;

// Root attributes.
inline constexpr char kAttrFormat[] = "format";
inline constexpr char kAttrVersion[] = "format_version";
inline constexpr char kAttrSplit[] = "split";  // "train" | "val"
inline constexpr char kAttrNumSamples[] = "num_samples";
inline constexpr char kAttrChannels[] = "channels";
inline constexpr char kAttrShardIndex[] = "shard_index";
inline constexpr char kAttrNumShards[] = "num_shards";
inline constexpr char kAttrSeed[] = "split_seed";
inline constexpr char kAttrValFraction[] = "val_fraction";
inline constexpr char kAttrMean[] = "mean";  // per channel, of train pixels scaled to [0, 1]
inline constexpr char kAttrStd[] = "std";
inline constexpr char kAttrSource[] = "source";

}  // namespace dunet::data::shard

#include <string>
#include <vector>

namespace dunet::data {

// What a shard's attributes say about it.
struct ShardInfo {
  std::string split;  // "train" or "val"
  int64_t num_samples = 0;
  int64_t channels = 3;
  int64_t shard_index = 0;
  int64_t num_shards = 1;
  int64_t split_seed = 0;
  double val_fraction = 0.0;
  std::vector<double> mean;  // per channel
  std::vector<double> std;
  std::string source;
};

}  // namespace dunet::data
