// A run's per-epoch figures as a table: <output_dir>/metrics.csv beside metrics.jsonl, for
// spreadsheets, pandas and the curves picture. The file is rewritten whole (durably) after
// each epoch, so it is never a torn line; a row replaces the rows of its epoch and later ones,
// which a run left that went further before it resumed from an older checkpoint.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dunet::trainer {

// The columns, in order: epoch, global_step, learning_rate, train_loss, imgs_per_s,
// data_wait_fraction, peak_rss_bytes, val_iou, val_dice, val_mean_image_iou, val_dsb_score.
const std::vector<std::string>& metrics_columns();

// Index of `name` in metrics_columns(); throws std::out_of_range for another name.
size_t metrics_column(const std::string& name);

// One value per column; nullopt where the epoch did not measure it (no validation), an empty
// cell in the file.
using MetricsRow = std::vector<std::optional<double>>;

// The rows of `csv`; none when it does not exist. Throws DataError naming the file and line
// when the header is not metrics_columns() or a cell is not a number.
std::vector<MetricsRow> read_metrics_csv(const std::filesystem::path& csv);

// Adds `row` to `csv` as described above and returns every row of the file. A file that
// cannot be read (another dunet's columns, edited by hand) is kept as <csv>.old and a new one
// begun, with a warning.
std::vector<MetricsRow> record_metrics_row(const std::filesystem::path& csv, const MetricsRow& row);

}  // namespace dunet::trainer
