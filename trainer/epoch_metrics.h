// What one epoch reports: a `key=value` log line on every rank and, on rank 0, one JSON line
// in <output_dir>/metrics.jsonl (written through nlohmann::json, so NaN becomes null and the
// file stays valid JSON lines), the same figures as a row of metrics.csv (metrics_table.h),
// the run's curves redrawn in curves.png (curves_plot.h) and TensorBoard scalars.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "model/metrics.h"
#include "tensorboard/event_file.h"
#include "trainer/gradient_reducer.h"

namespace dunet::trainer {

struct EpochMetrics {
  int64_t epoch = 0;  // epochs completed
  int64_t global_step = 0;
  double learning_rate = 0;  // of the epoch's last step
  double train_loss = 0;
  double imgs_per_s = 0;
  double data_wait_fraction = 0;
  const ReducerStats* reducer = nullptr;     // with more than one process
  const model::MetricTotals* val = nullptr;  // when the epoch was validated
};

// Runs `write`, which writes a file for people to watch (a table, a picture, TensorBoard). One
// that cannot be written (a full disk) is a warning and training goes on: the checkpoint,
// written at the epoch's end, is what a resume needs, and it stops the run with the cause.
void write_or_warn(const std::string& what, const std::function<void()>& write);

// `events` (rank 0's, or null) gets the same figures as TensorBoard scalars at the global
// step: "val/<name>" for validation, "epoch/<name>" for the others; then it is synced.
void report_epoch_metrics(const EpochMetrics& metrics, const std::filesystem::path& output_dir,
                          bool is_root, tensorboard::EventFileWriter* events = nullptr);

}  // namespace dunet::trainer
