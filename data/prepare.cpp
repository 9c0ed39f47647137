#include "data/prepare.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <random>

#include "core/error.h"
#include "data/shard_manifest.h"
#include "data/shard_writer.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

std::string shard_name(const std::string& split, int64_t index, int64_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s-%05lld-of-%05lld.h5", split.c_str(),
                static_cast<long long>(index), static_cast<long long>(count));
  return name;
}

// Per-channel running sums of pixel values for the mean and standard deviation.
struct PixelStats {
  std::vector<double> sum, sum_sq;
  double count = 0;

  explicit PixelStats(int64_t channels) : sum(channels, 0.0), sum_sq(channels, 0.0) {}

  void add(const Image& image) {
    const size_t c = sum.size();
    std::vector<uint64_t> s(c, 0), s2(c, 0);
    for (size_t i = 0; i < image.pixels.size(); ++i) {
      const uint64_t v = image.pixels[i];
      s[i % c] += v;
      s2[i % c] += v * v;
    }
    for (size_t k = 0; k < c; ++k) {
      sum[k] += static_cast<double>(s[k]) / 255.0;
      sum_sq[k] += static_cast<double>(s2[k]) / (255.0 * 255.0);
    }
    count += static_cast<double>(image.num_pixels());
  }

  std::vector<double> mean() const {
    std::vector<double> m(sum.size(), 0.0);
    for (size_t k = 0; k < sum.size(); ++k) m[k] = count > 0 ? sum[k] / count : 0.0;
    return m;
  }

  std::vector<double> stddev() const {
    const auto m = mean();
    std::vector<double> s(sum.size(), 1.0);
    for (size_t k = 0; k < sum.size(); ++k) {
      const double var = count > 0 ? sum_sq[k] / count - m[k] * m[k] : 1.0;
      s[k] = std::max(std::sqrt(std::max(var, 0.0)), 1e-3);  // flat images must not divide by 0
    }
    return s;
  }
};

}  // namespace

std::vector<int64_t> validation_positions(int64_t num_samples, double val_fraction, int64_t seed) {
  int64_t num_val = static_cast<int64_t>(std::llround(val_fraction * num_samples));
  if (val_fraction > 0 && num_val == 0 && num_samples >= 2) num_val = 1;
  if (val_fraction < 1 && num_val == num_samples && num_samples >= 2) num_val = num_samples - 1;
  // Fisher-Yates with raw mt19937_64 draws: the same split on every platform and library.
  std::vector<int64_t> order(static_cast<size_t>(num_samples));
  for (int64_t i = 0; i < num_samples; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  for (int64_t i = num_samples - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  std::vector<int64_t> val(order.begin(), order.begin() + num_val);
  std::sort(val.begin(), val.end());
  return val;
}

std::vector<fs::path> list_shards(const fs::path& dir, const std::string& split) {
  std::vector<fs::path> shards;
  if (!fs::is_directory(dir)) return shards;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(split + "-", 0) == 0 && entry.path().extension() == ".h5") {
      shards.push_back(entry.path());
    }
  }
  std::sort(shards.begin(), shards.end());
  return shards;
}

namespace {

// The set is written beside its folder and published as a unit: `<parent>/.<name>.staging`.
fs::path staging_dir_for(const fs::path& out_dir) {
  const fs::path out = fs::absolute(out_dir).lexically_normal();
  const fs::path clean = out.filename().empty() ? out.parent_path() : out;
  return clean.parent_path() / ("." + clean.filename().string() + ".staging");
}

// What publishing may replace: an absent or empty folder, or one that holds a shard set only.
void check_replaceable(const fs::path& out_dir) {
  if (!fs::exists(out_dir)) return;
  DUNET_CHECK(fs::is_directory(out_dir), DataError, "--out '", out_dir.string(),
              "' is a file; expected a folder for the shards");
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == kManifestName || entry.path().extension() == ".h5" ||
                      entry.path().extension() == ".partial";
    DUNET_CHECK(ours, DataError, "output folder '", out_dir.string(), "' holds '", name,
                "', which is not part of a shard set; prepare into an empty or new folder, "
                "so that replacing the set never takes other files with it");
  }
}

// Swaps the finished set in: atomically where a set was (renameat2 RENAME_EXCHANGE), then
// removes the old one; a crash in between leaves one whole set in place and the other under
// the staging name, which the next prepare removes.
void publish(const fs::path& staging, const fs::path& out_dir) {
  const bool replaces = fs::exists(out_dir) && !fs::is_empty(out_dir);
  if (!replaces) {
    if (fs::exists(out_dir)) fs::remove(out_dir);
    fs::rename(staging, out_dir);
    return;
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, out_dir.c_str(), RENAME_EXCHANGE) != 0) {
    throw IoError("cannot publish the shard set '" + out_dir.string() +
                  "': " + std::strerror(errno) + "; the set there is unchanged");
  }
  std::error_code ignored;
  fs::remove_all(staging, ignored);  // the old set
}

PrepareResult prepare_into_staging_and_publish(const std::vector<SourceSample>& samples,
                                               const PrepareOptions& options);

}  // namespace

PrepareResult prepare_shards(const std::vector<SourceSample>& samples,
                             const PrepareOptions& options) {
  try {
    return prepare_into_staging_and_publish(samples, options);
  } catch (...) {
    // Nothing of an unfinished set stays behind; a set already in --out was never touched.
    std::error_code ignored;
    fs::remove_all(staging_dir_for(options.out_dir), ignored);
    throw;
  }
}

namespace {

PrepareResult prepare_into_staging_and_publish(const std::vector<SourceSample>& samples,
                                               const PrepareOptions& options) {
  DUNET_CHECK(!samples.empty(), DataError, "no samples to prepare");
  DUNET_CHECK(options.num_shards >= 1, DataError, "--shards must be >= 1");
  DUNET_CHECK(options.val_fraction >= 0 && options.val_fraction <= 1, DataError,
              "--val-fraction must be between 0 and 1, got ", options.val_fraction);
  const auto existing_train = list_shards(options.out_dir, "train");
  const auto existing_val = list_shards(options.out_dir, "val");
  DUNET_CHECK(options.overwrite || (existing_train.empty() && existing_val.empty() &&
                                    !fs::exists(options.out_dir / kManifestName)),
              DataError, "output folder '", options.out_dir.string(),
              "' already holds shards; pass --overwrite to replace them or choose another --out");
  check_replaceable(options.out_dir);
  const fs::path staging = staging_dir_for(options.out_dir);
  if (fs::exists(staging)) {
    spdlog::warn("removing '{}', left by a `dunet prepare` that did not finish", staging.string());
    fs::remove_all(staging);
  }

  const auto num_samples = static_cast<int64_t>(samples.size());
  const auto val_positions = validation_positions(num_samples, options.val_fraction, options.seed);
  std::vector<bool> is_val(samples.size(), false);
  for (const int64_t p : val_positions) is_val[static_cast<size_t>(p)] = true;

  PrepareResult result;
  result.num_val = static_cast<int64_t>(val_positions.size());
  result.num_train = num_samples - result.num_val;
  const int64_t train_shards = std::min(options.num_shards, result.num_train);
  const int64_t val_shards = std::min(options.num_shards, result.num_val);

  std::vector<std::unique_ptr<ShardWriter>> train_writers, val_writers;
  std::vector<fs::path> staged;
  for (int64_t k = 0; k < train_shards; ++k) {
    result.train_shards.push_back(options.out_dir / shard_name("train", k, train_shards));
    staged.push_back(staging / shard_name("train", k, train_shards));
    train_writers.push_back(std::make_unique<ShardWriter>(staged.back(), options.channels));
  }
  for (int64_t k = 0; k < val_shards; ++k) {
    result.val_shards.push_back(options.out_dir / shard_name("val", k, val_shards));
    staged.push_back(staging / shard_name("val", k, val_shards));
    val_writers.push_back(std::make_unique<ShardWriter>(staged.back(), options.channels));
  }

  // Statistics come from the training pixels; a validation-only folder uses its own.
  PixelStats stats(options.channels);
  const bool stats_from_val = result.num_train == 0;
  int64_t train_seen = 0, val_seen = 0;
  const int64_t block = std::max<int64_t>(1, options.threads) * 2;
  for (int64_t start = 0; start < num_samples; start += block) {
    const int64_t end = std::min(num_samples, start + block);
    std::vector<std::future<Sample>> decoded;
    for (int64_t i = start; i < end; ++i) {
      decoded.push_back(std::async(std::launch::async, [&samples, &options, i] {
        return load_source_sample(samples[static_cast<size_t>(i)], options.channels);
      }));
    }
    for (int64_t i = start; i < end; ++i) {
      const Sample sample = decoded[static_cast<size_t>(i - start)].get();
      if (is_val[static_cast<size_t>(i)]) {
        val_writers[static_cast<size_t>(val_seen++ % val_shards)]->append(sample, i);
        if (stats_from_val) stats.add(sample.image);
      } else {
        train_writers[static_cast<size_t>(train_seen++ % train_shards)]->append(sample, i);
        stats.add(sample.image);
      }
      if (options.progress) options.progress(i + 1, num_samples);
    }
  }

  result.mean = stats.mean();
  result.std = stats.stddev();
  const auto finish_all = [&](std::vector<std::unique_ptr<ShardWriter>>& writers,
                              const std::string& split) {
    for (size_t k = 0; k < writers.size(); ++k) {
      ShardInfo info;
      info.split = split;
      info.shard_index = static_cast<int64_t>(k);
      info.num_shards = static_cast<int64_t>(writers.size());
      info.split_seed = options.seed;
      info.val_fraction = options.val_fraction;
      info.mean = result.mean;
      info.std = result.std;
      info.source = options.source;
      writers[k]->finish(info);
    }
  };
  finish_all(train_writers, "train");
  finish_all(val_writers, "val");
  write_shard_manifest(staging, staged);  // last: a set without it was never finished
  publish(staging, options.out_dir);
  return result;
}

}  // namespace

}  // namespace dunet::data
