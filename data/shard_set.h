// Several shards seen as one indexed set of samples, opened (and validated) from globs.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/shard_reader.h"

namespace dunet::data {

// Expands shell globs (sorted, duplicates removed). A pattern that matches nothing is an
// error naming `what` (e.g. "data.train") and the pattern.
std::vector<std::filesystem::path> expand_globs(const std::vector<std::string>& patterns,
                                                const std::string& what);

class ShardSet {
 public:
  // Opens every shard; they must agree on channels and normalisation statistics, and be
  // listed, with their sizes and checksums, in their set's manifest (shard_manifest.h).
  explicit ShardSet(const std::vector<std::filesystem::path>& paths);

  int64_t size() const { return static_cast<int64_t>(offsets_.back()); }
  int64_t channels() const { return shards_.front()->info().channels; }
  const std::vector<double>& mean() const { return shards_.front()->info().mean; }
  const std::vector<double>& std() const { return shards_.front()->info().std; }
  const std::vector<std::unique_ptr<ShardReader>>& shards() const { return shards_; }

  Sample read(int64_t index) const;
  // The shards' names and checksums, hashed: equal on every rank that sees the same data.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<int64_t> offsets_;  // offsets_[k] = first global index of shard k; back() = size
  std::string fingerprint_;
};

}  // namespace dunet::data
