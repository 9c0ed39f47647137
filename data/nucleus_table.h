// One row per nucleus of a label image, as a biologist measures them: area, centroid, bounding
// box and mean intensity per channel of the input. `dunet infer --objects` writes it as CSV.
#pragma once

#include <filesystem>
#include <vector>

#include "data/labels.h"
#include "data/sample.h"

namespace dunet::data {

struct NucleusMeasurement {
  int32_t label = 0;
  int64_t area = 0;  // pixels
  double centroid_x = 0, centroid_y = 0;
  int64_t bbox_x = 0, bbox_y = 0, bbox_width = 0, bbox_height = 0;
  std::vector<double> mean_intensity;  // one per channel of the image as read, 0..255
};

// Rows in label order, 1..labels.count; `image` has the labels' size.
std::vector<NucleusMeasurement> measure_nuclei(const LabelImage& labels, const Image& image);

// label,area,centroid_x,centroid_y,bbox_x,bbox_y,bbox_width,bbox_height,mean_<channel>...
// (channels named grey, red/green/blue(/alpha)); whole or not at all.
void write_nucleus_csv(const std::filesystem::path& path,
                       const std::vector<NucleusMeasurement>& nuclei, int64_t channels);

}  // namespace dunet::data
