// Finds the samples of an input folder: the DSB2018 layout (<id>/images/<id>.png with
// <id>/masks/*.png) or a generic pair of folders (images/x.png with masks/x.png); every image
// and mask may be PNG, TIFF or JPEG (data/image_io.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/sample.h"

namespace dunet::data {

struct SourceSample {
  std::string id;
  std::filesystem::path image;
  std::vector<std::filesystem::path> masks;  // their union is the sample's foreground
  // DSB2018: each mask file is one nucleus. Otherwise one file holds them all, and its
  // connected components are the nuclei.
  bool mask_per_nucleus = true;
};

// Samples sorted by id. Throws DataError for an empty or missing folder, a sample without an
// image or without a masks folder.
std::vector<SourceSample> scan_dsb_layout(const std::filesystem::path& root);

// Images and masks with matching file names in two folders; sorted by file name.
std::vector<SourceSample> scan_paired_layout(const std::filesystem::path& images_dir,
                                             const std::filesystem::path& masks_dir);

// Decodes the image (as `channels` channels), the union of its masks and its nuclei's labels;
// throws DataError when a mask's size differs from the image's, or beyond 65535 nuclei.
Sample load_source_sample(const SourceSample& source, int64_t channels);

}  // namespace dunet::data
