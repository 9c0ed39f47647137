// Writes one HDF5 shard sample by sample (nothing is held in memory but the index).
// The file is written as "<path>.partial" and renamed into place by finish(), so a crash or
// an error never leaves a half-written shard under the final name.
#pragma once

#include <filesystem>

#include "data/hdf5_handle.h"
#include "data/sample.h"
#include "data/shard_format.h"

namespace dunet::data {

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path path, int64_t channels);
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;
  ~ShardWriter();  // removes the partial file unless finish() succeeded

  void append(const Sample& sample, int64_t source_order);
  int64_t num_samples() const { return static_cast<int64_t>(ids_.size()); }

  // Writes the index, ids and attributes (num_samples and channels are filled in here),
  // closes the file and renames it to its final path.
  void finish(ShardInfo info);

 private:
  std::filesystem::path path_;
  std::filesystem::path partial_path_;
  int64_t channels_;
  h5::Handle file_;
  h5::Handle images_;
  h5::Handle masks_;
  h5::Handle labels_;
  int64_t num_pixels_ = 0;
  std::vector<int64_t> index_;  // kIndexColumns per sample
  std::vector<std::string> ids_;
  bool finished_ = false;
};

}  // namespace dunet::data
