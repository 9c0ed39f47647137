#include "bench/loader_bench.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "data/loader.h"
#include "data/shard_set.h"

namespace dunet::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Takes `count` batches from the loader, across epochs; returns their patches.
int64_t drain(data::TrainLoader& loader, int64_t count, int64_t& epoch) {
  int64_t patches = 0;
  for (int64_t taken = 0; taken < count;) {
    auto batch = loader.next();
    if (!batch) {
      loader.start_epoch(++epoch);
      continue;
    }
    patches += batch->size;
    ++taken;
  }
  return patches;
}

}  // namespace

void run_loader_bench(const LoaderBenchOptions& options) {
  DUNET_CHECK(!options.data.empty(), ConfigError, "dunet bench loader needs --data SHARD_GLOB");
  const auto samples = std::make_shared<data::ShardSet>(data::expand_globs(options.data, "--data"));
  std::printf("loader data=%s samples=%lld channels=%lld patch=%lld batch=%lld augment=%s\n",
              options.data.front().c_str(), static_cast<long long>(samples->size()),
              static_cast<long long>(samples->channels()), static_cast<long long>(options.patch),
              static_cast<long long>(options.batch), options.augment ? "on" : "off");
  for (const int64_t workers : options.workers) {
    DUNET_CHECK(workers >= 1, ConfigError, "--workers takes counts of 1 or more, got ", workers);
    data::LoaderOptions loader_options;
    loader_options.batch_size = options.batch;
    loader_options.patch_size = options.patch;
    loader_options.workers = workers;
    loader_options.prefetch = 2 * workers + 2;
    loader_options.augmentation.flips = options.augment;
    data::TrainLoader loader(samples, loader_options);
    int64_t epoch = 0;
    loader.start_epoch(epoch);
    drain(loader, 10, epoch);  // the workers started and the shards are in the page cache
    const auto start = Clock::now();
    const int64_t patches = drain(loader, options.batches, epoch);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = static_cast<double>(patches) / seconds;
    std::printf("%s\n", fmt::format("loader workers={} batches={} patches_per_s={:.1f} "
                                    "per_worker={:.1f} seconds={:.2f}",
                                    workers, options.batches, rate,
                                    rate / static_cast<double>(workers), seconds)
                            .c_str());
    std::fflush(stdout);
  }
}

}  // namespace dunet::bench
