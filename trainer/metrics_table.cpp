#include "trainer/metrics_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/durable_write.h"
#include "core/error.h"

namespace dunet::trainer {

namespace {

constexpr size_t kEpochColumn = 0;

std::string header_line() {
  std::string line;
  for (const std::string& column : metrics_columns()) line += (line.empty() ? "" : ",") + column;
  return line;
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

MetricsRow parse_row(const std::string& line, const std::filesystem::path& csv, int line_number) {
  const std::vector<std::string> cells = split_cells(line);
  DUNET_CHECK(cells.size() == metrics_columns().size(), DataError, csv.string(), ":", line_number,
              ": ", cells.size(), " cells, expected ", metrics_columns().size());
  MetricsRow row;
  for (const std::string& cell : cells) {
    if (cell.empty()) {
      row.emplace_back();
      continue;
    }
    double value = 0;
    const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    DUNET_CHECK(error == std::errc() && end == cell.data() + cell.size(), DataError, csv.string(),
                ":", line_number, ": '", cell, "' is not a number");
    row.emplace_back(value);
  }
  DUNET_CHECK(row[kEpochColumn].has_value(), DataError, csv.string(), ":", line_number,
              ": no epoch");
  return row;
}

std::string format_row(const MetricsRow& row) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) line += ',';
    if (row[i]) line += fmt::format("{}", *row[i]);  // shortest text that reads back exactly
  }
  return line;
}

}  // namespace

const std::vector<std::string>& metrics_columns() {
  static const std::vector<std::string> columns{
      "epoch",      "global_step",        "learning_rate",  "train_loss",
      "imgs_per_s", "data_wait_fraction", "peak_rss_bytes", "val_iou",
      "val_dice",   "val_mean_image_iou", "val_dsb_score"};
  return columns;
}

size_t metrics_column(const std::string& name) {
  const auto& columns = metrics_columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  throw std::out_of_range("no metrics column '" + name + "'");
}

std::vector<MetricsRow> read_metrics_csv(const std::filesystem::path& csv) {
  std::vector<MetricsRow> rows;
  std::ifstream in(csv);
  if (!in) return rows;
  std::string line;
  int line_number = 1;
  DUNET_CHECK(std::getline(in, line) && line == header_line(), DataError, csv.string(),
              ":1: the header is not '", header_line(), "'");
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty()) rows.push_back(parse_row(line, csv, line_number));
  }
  return rows;
}

std::vector<MetricsRow> record_metrics_row(const std::filesystem::path& csv,
                                           const MetricsRow& row) {
  DUNET_ASSERT(row.size() == metrics_columns().size() && row[kEpochColumn].has_value());
  std::vector<MetricsRow> rows;
  try {
    rows = read_metrics_csv(csv);
  } catch (const DataError& e) {
    const std::filesystem::path kept = csv.string() + ".old";
    spdlog::warn("{}; keeping it as {} and starting a new table", e.what(), kept.string());
    std::filesystem::rename(csv, kept);
  }
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](const MetricsRow& r) {
                              return *r[kEpochColumn] >= *row[kEpochColumn];
                            }),
             rows.end());
  rows.push_back(row);
  std::string text = header_line() + "\n";
  for (const MetricsRow& r : rows) text += format_row(r) + "\n";
  write_file_durably(csv, text);
  return rows;
}

}  // namespace dunet::trainer
