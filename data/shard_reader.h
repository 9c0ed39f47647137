// Reads samples one at a time from a dunet HDF5 shard. The header, index and sizes are
// validated when the shard is opened, so a bad file fails at loader start, not mid-epoch.
// Thread-safe: HDF5's serial thread-safe build serialises the library calls.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/hdf5_handle.h"
#include "data/sample.h"
#include "data/shard_format.h"

namespace dunet::data {

class ShardReader {
 public:
  explicit ShardReader(std::filesystem::path path);

  const ShardInfo& info() const { return info_; }
  const std::filesystem::path& path() const { return path_; }
  int64_t size() const { return info_.num_samples; }
  const std::string& id(int64_t i) const { return ids_.at(static_cast<size_t>(i)); }
  int64_t height(int64_t i) const { return row(i)[1]; }
  int64_t width(int64_t i) const { return row(i)[2]; }
  int64_t source_order(int64_t i) const { return row(i)[3]; }

  // Whether samples carry nucleus labels (version 2 on).
  bool has_labels() const { return labels_.valid(); }

  Sample read(int64_t i) const;

 private:
  // The opening steps, in order; each throws DataError naming the shard and what is wrong.
  void open_file();
  void read_header();
  void read_index(hid_t index);
  void read_ids(hid_t ids);
  DataError fail(const std::string& what) const;

  const int64_t* row(int64_t i) const;
  template <typename T>
  void read_range(hid_t dataset, hid_t type, int64_t offset, std::vector<T>& out) const;

  std::filesystem::path path_;
  ShardInfo info_;
  int64_t version_ = 0;
  h5::Handle file_;
  h5::Handle images_;
  h5::Handle masks_;
  h5::Handle labels_;  // invalid in version 1 shards
  std::vector<int64_t> index_;
  std::vector<std::string> ids_;
};

}  // namespace dunet::data
