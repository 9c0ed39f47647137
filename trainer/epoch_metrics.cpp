#include "trainer/epoch_metrics.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/memory_usage.h"

namespace dunet::trainer {

namespace {

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

void report_epoch_metrics(const EpochMetrics& m, const std::filesystem::path& output_dir,
                          bool is_root) {
  const auto peak_bytes = peak_resident_bytes();
  std::string line = "epoch=" + std::to_string(m.epoch) + " train_loss=" + fixed(m.train_loss, 5) +
                     " imgs_per_s=" + fixed(m.imgs_per_s, 2) +
                     " data_wait_pct=" + fixed(100.0 * m.data_wait_fraction, 2) +
                     " peak_rss_mb=" + std::to_string(peak_bytes >> 20);
  if (m.reducer != nullptr) {
    const ReducerStats& r = *m.reducer;
    line += " allreduce_s=" + fixed(r.allreduce_seconds, 3) +
            " allreduce_exposed_s=" + fixed(r.exposed_seconds, 3) +
            " allreduce_hidden_pct=" + fixed(100.0 * r.hidden_fraction(), 1) +
            " buckets=" + std::to_string(r.num_buckets);
  }
  if (m.val != nullptr) {
    line += " val_iou=" + fixed(m.val->iou(), 5) + " val_dice=" + fixed(m.val->dice(), 5) +
            " val_mean_image_iou=" + fixed(m.val->mean_image_iou(), 5) +
            " val_images=" + std::to_string(static_cast<int64_t>(m.val->num_images));
  }
  spdlog::info("{}", line);
  if (!is_root) return;
  // The same numbers for scripts and tests, in a fixed key order.
  nlohmann::ordered_json json{{"epoch", m.epoch},
                              {"global_step", m.global_step},
                              {"train_loss", m.train_loss},
                              {"imgs_per_s", m.imgs_per_s},
                              {"data_wait_fraction", m.data_wait_fraction},
                              {"peak_rss_bytes", peak_bytes}};
  if (m.val != nullptr) {
    json["val_iou"] = m.val->iou();
    json["val_dice"] = m.val->dice();
    json["val_mean_image_iou"] = m.val->mean_image_iou();
  }
  std::ofstream(output_dir / "metrics.jsonl", std::ios::app) << json.dump() << "\n";
}

}  // namespace dunet::trainer
