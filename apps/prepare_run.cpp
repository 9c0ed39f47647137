#include "apps/prepare_run.h"

#include <spdlog/spdlog.h>

#include "core/progress.h"

namespace dunet::apps {

data::PrepareResult run_prepare(const std::vector<data::SourceSample>& samples,
                                data::PrepareOptions options) {
  spdlog::info("prepare: {} samples from {} -> {}", samples.size(), options.source,
               options.out_dir.string());
  ProgressBar bar("prepare", static_cast<int64_t>(samples.size()));
  int64_t next_report = 0;
  options.progress = [&bar, &next_report](int64_t done, int64_t total) {
    bar.update(done);
    if (!ProgressBar::stderr_is_terminal() && done >= next_report) {
      spdlog::info("prepare: {}/{} samples", done, total);
      next_report = done + std::max<int64_t>(1, total / 10);
    }
  };
  const auto result = data::prepare_shards(samples, options);
  bar.finish();
  std::string mean, stddev;
  for (size_t c = 0; c < result.mean.size(); ++c) {
    mean += (c ? "," : "") + std::to_string(result.mean[c]);
    stddev += (c ? "," : "") + std::to_string(result.std[c]);
  }
  spdlog::info(
      "prepare: train={} samples in {} shards, val={} samples in {} shards, mean=[{}] "
      "std=[{}]",
      result.num_train, result.train_shards.size(), result.num_val, result.val_shards.size(), mean,
      stddev);
  return result;
}

}  // namespace dunet::apps
