#include "trainer/epoch_metrics.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/memory_usage.h"
#include "data/image_io.h"
#include "trainer/curves_plot.h"
#include "trainer/metrics_table.h"

namespace dunet::trainer {

void write_or_warn(const std::string& what, const std::function<void()>& write) {
  try {
    write();
  } catch (const IoError& e) {
    spdlog::warn("{}: {}; training goes on", what, e.what());
  }
}

void report_epoch_metrics(const EpochMetrics& m, const std::filesystem::path& output_dir,
                          bool is_root, tensorboard::EventFileWriter* events) {
  const auto peak_bytes = peak_resident_bytes();
  std::string line = fmt::format(
      "epoch={} train_loss={:.5f} imgs_per_s={:.2f} data_wait_pct={:.2f} peak_rss_mb={}", m.epoch,
      m.train_loss, m.imgs_per_s, 100.0 * m.data_wait_fraction, peak_bytes >> 20);
  if (m.reducer != nullptr) {
    const ReducerStats& r = *m.reducer;
    line += fmt::format(
        " allreduce_s={:.3f} allreduce_exposed_s={:.3f} allreduce_hidden_pct={:.1f}"
        " buckets={}",
        r.allreduce_seconds, r.exposed_seconds, 100.0 * r.hidden_fraction(), r.num_buckets);
  }
  if (m.val != nullptr) {
    line += fmt::format(" val_iou={:.5f} val_dice={:.5f} val_mean_image_iou={:.5f} val_images={}",
                        m.val->iou(), m.val->dice(), m.val->mean_image_iou(),
                        static_cast<int64_t>(m.val->num_images));
    if (m.val->scored_images > 0) line += fmt::format(" val_dsb_score={:.5f}", m.val->mean_dsb_score());
  }
  spdlog::info("{}", line);
  if (!is_root) return;
  // The same numbers for scripts and tests, in a fixed key order.
  nlohmann::ordered_json json{{"epoch", m.epoch},
                              {"global_step", m.global_step},
                              {"learning_rate", m.learning_rate},
                              {"train_loss", m.train_loss},
                              {"imgs_per_s", m.imgs_per_s},
                              {"data_wait_fraction", m.data_wait_fraction},
                              {"peak_rss_bytes", peak_bytes}};
  if (m.val != nullptr) {
    json["val_iou"] = m.val->iou();
    json["val_dice"] = m.val->dice();
    json["val_mean_image_iou"] = m.val->mean_image_iou();
    if (m.val->scored_images > 0) json["val_dsb_score"] = m.val->mean_dsb_score();
  }
  std::ofstream(output_dir / "metrics.jsonl", std::ios::app) << json.dump() << "\n";
  write_or_warn("metrics.csv and curves.png", [&] {
    MetricsRow row;
    for (const std::string& column : metrics_columns()) {
      const auto value = json.find(column);
      if (value != json.end() && value->is_number()) {
        row.emplace_back(value->get<double>());
      } else {
        row.emplace_back();
      }
    }
    const std::vector<MetricsRow> rows = record_metrics_row(output_dir / "metrics.csv", row);
    data::write_png(output_dir / "curves.png", draw_curves(run_curves(rows)));
  });
  if (events == nullptr) return;
  write_or_warn("TensorBoard scalars", [&] {
    std::vector<tensorboard::Scalar> scalars;
    for (const auto& [key, value] : json.items()) {
      if (key == "epoch" || key == "global_step" || !value.is_number()) continue;
      const bool validation = key.rfind("val_", 0) == 0;
      scalars.push_back(
          {validation ? "val/" + key.substr(4) : "epoch/" + key, value.get<double>()});
    }
    scalars.push_back({"epoch/epoch", static_cast<double>(m.epoch)});
    events->write_scalars(m.global_step, scalars);
    events->sync();
  });
}

}  // namespace dunet::trainer
