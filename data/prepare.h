// `dunet prepare`: converts a folder of image samples (PNG, TIFF, JPEG) into train and
// validation HDF5 shards.
// The split is deterministic (seeded) and recorded in every shard; statistics for
// normalisation are computed over the training pixels and stored in every shard.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "data/source_layout.h"

namespace dunet::data {

struct PrepareOptions {
  std::filesystem::path out_dir;
  int64_t num_shards = 4;     // training shards; validation gets min(num_shards, #val) shards
  double val_fraction = 0.1;  // 0 = everything trains, 1 = everything validates
  int64_t seed = 0;           // split seed
  int64_t channels = 3;       // 3 = RGB, 1 = grey
  int64_t threads = 2;        // image decoding in parallel
  bool overwrite = false;     // replace shards already in out_dir
  std::string source;         // recorded in the shards
  std::function<void(int64_t done, int64_t total)> progress;  // optional
};

struct PrepareResult {
  std::vector<std::filesystem::path> train_shards;
  std::vector<std::filesystem::path> val_shards;
  int64_t num_train = 0;
  int64_t num_val = 0;
  std::vector<double> mean;
  std::vector<double> std;
};

// Deterministic split: positions (into `num_samples` sorted samples) that go to validation.
std::vector<int64_t> validation_positions(int64_t num_samples, double val_fraction, int64_t seed);

// Writes the set into a staging folder beside out_dir, its manifest last, and publishes it
// as a unit (shard_manifest.h). Throws DataError (naming the file) on the first bad sample,
// IoError when the disk refuses; either way nothing of the new set stays behind and a set
// already in out_dir is untouched. out_dir must be new, empty, or hold a shard set only.
PrepareResult prepare_shards(const std::vector<SourceSample>& samples,
                             const PrepareOptions& options);

// Shard files of one split ("train" or "val") in a folder, sorted.
std::vector<std::filesystem::path> list_shards(const std::filesystem::path& dir,
                                               const std::string& split);

}  // namespace dunet::data
