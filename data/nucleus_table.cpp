#include "data/nucleus_table.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/durable_write.h"
#include "core/error.h"

namespace dunet::data {

std::vector<NucleusMeasurement> measure_nuclei(const LabelImage& labels, const Image& image) {
  DUNET_ASSERT(labels.height == image.height && labels.width == image.width);
  const auto channels = static_cast<size_t>(image.channels);
  std::vector<NucleusMeasurement> rows(static_cast<size_t>(labels.count));
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> x0(rows.size(), kNone), y0(rows.size(), kNone), x1(rows.size(), -1),
      y1(rows.size(), -1);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].label = static_cast<int32_t>(i + 1);
    rows[i].mean_intensity.assign(channels, 0.0);
  }
  for (int64_t y = 0; y < labels.height; ++y) {
    for (int64_t x = 0; x < labels.width; ++x) {
      const int64_t p = y * labels.width + x;
      const int32_t l = labels.labels[static_cast<size_t>(p)];
      if (l <= 0) continue;
      DUNET_ASSERT(l <= labels.count);
      const auto k = static_cast<size_t>(l - 1);
      NucleusMeasurement& row = rows[k];
      ++row.area;
      row.centroid_x += static_cast<double>(x);
      row.centroid_y += static_cast<double>(y);
      x0[k] = std::min(x0[k], x), y0[k] = std::min(y0[k], y);
      x1[k] = std::max(x1[k], x), y1[k] = std::max(y1[k], y);
      for (size_t c = 0; c < channels; ++c) {
        row.mean_intensity[c] += image.pixels[static_cast<size_t>(p) * channels + c];
      }
    }
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    NucleusMeasurement& row = rows[k];
    if (row.area == 0) continue;  // a label without pixels keeps zeros
    const auto area = static_cast<double>(row.area);
    row.centroid_x /= area;
    row.centroid_y /= area;
    for (double& v : row.mean_intensity) v /= area;
    row.bbox_x = x0[k], row.bbox_y = y0[k];
    row.bbox_width = x1[k] - x0[k] + 1, row.bbox_height = y1[k] - y0[k] + 1;
  }
  return rows;
}

void write_nucleus_csv(const std::filesystem::path& path,
                       const std::vector<NucleusMeasurement>& nuclei, int64_t channels) {
  static const std::vector<std::vector<std::string>> kNames{
      {"grey"}, {"grey", "alpha"}, {"red", "green", "blue"}, {"red", "green", "blue", "alpha"}};
  DUNET_ASSERT(channels >= 1 && channels <= 4);
  std::string csv = "label,area,centroid_x,centroid_y,bbox_x,bbox_y,bbox_width,bbox_height";
  for (const std::string& name : kNames[static_cast<size_t>(channels - 1)]) csv += ",mean_" + name;
  csv += "\n";
  for (const NucleusMeasurement& n : nuclei) {
    csv += fmt::format("{},{},{:.3f},{:.3f},{},{},{},{}", n.label, n.area, n.centroid_x,
                       n.centroid_y, n.bbox_x, n.bbox_y, n.bbox_width, n.bbox_height);
    for (const double v : n.mean_intensity) csv += fmt::format(",{:.3f}", v);
    csv += "\n";
  }
  write_file_durably(path, csv);
}

}  // namespace dunet::data
