#include "data/shard_set.h"

#include <glob.h>

#include <algorithm>

#include "core/error.h"
#include "data/shard_manifest.h"

namespace dunet::data {

namespace fs = std::filesystem;

std::vector<fs::path> expand_globs(const std::vector<std::string>& patterns,
                                   const std::string& what) {
  DUNET_CHECK(!patterns.empty(), DataError, what,
              " is empty: give the shard files, e.g. [\"data/prepared/train-*.h5\"]");
  std::vector<fs::path> paths;
  for (const auto& pattern : patterns) {
    glob_t matches{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);
    std::vector<fs::path> found;
    for (size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i)
      found.emplace_back(matches.gl_pathv[i]);
    globfree(&matches);
    DUNET_CHECK(!found.empty(), DataError, what, ": pattern '", pattern,
                "' matches no file (relative patterns are resolved from the working folder '",
                fs::current_path().string(), "'); run `dunet prepare` first?");
    paths.insert(paths.end(), found.begin(), found.end());
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

ShardSet::ShardSet(const std::vector<fs::path>& paths) {
  DUNET_ASSERT(!paths.empty());
  offsets_.push_back(0);
  for (const auto& path : paths) {
    shards_.push_back(std::make_unique<ShardReader>(path));
    const ShardInfo& info = shards_.back()->info();
    const ShardInfo& first = shards_.front()->info();
    DUNET_CHECK(info.channels == first.channels && info.mean == first.mean && info.std == first.std,
                DataError, "shard '", path.string(), "' has other channels or statistics than '",
                shards_.front()->path().string(),
                "'; shards used together must come from one `dunet prepare` run");
    offsets_.push_back(offsets_.back() + info.num_samples);
  }
  // After each shard's own checks, so that a file that is no shard at all is named as such.
  fingerprint_ = verify_shard_manifests(paths);
}

Sample ShardSet::read(int64_t index) const {
  DUNET_ASSERT(index >= 0 && index < size());
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), index);
  const auto shard = static_cast<size_t>(it - offsets_.begin() - 1);
  return shards_[shard]->read(index - offsets_[shard]);
}

}  // namespace dunet::data
