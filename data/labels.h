// Label images, one id per object (nucleus): the truth of a DSB2018 sample (one mask file per
// nucleus), objects found in a predicted foreground, and 16-bit label PNGs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/sample.h"

namespace dunet::data {

struct LabelImage {
  int64_t height = 0;
  int64_t width = 0;
  int32_t count = 0;            // objects, labelled 1..count
  std::vector<int32_t> labels;  // row-major; 0 = background
};

// Mask file k of `masks` (in that order) becomes label k + 1. Throws DataError naming the file
// whose size differs from the first's; where masks overlap, the later one wins.
LabelImage read_instance_masks(const std::vector<std::filesystem::path>& masks);

// The 8-connected components of a 0/1 mask (OpenCV's connectedComponents), labelled 1..N in
// the raster order of their first pixel.
LabelImage connected_components(const Image& mask01);

// Nuclei from a 0/1 foreground and a map of outline probabilities (1 channel, 0..255), as the
// border-channel entries of DSB2018 did: seeds are the foreground's pixels off the outlines
// (probability < 128), one per 4-connected component; a foreground region without a seed is a
// seed itself. A watershed then floods the outlines from the seeds, lowest probability first
// and breadth-first on a plateau; each pixel joins the nucleus most of its 4-neighbours belong
// to. Every foreground pixel gets one nucleus; the background stays 0. Labels are 1..N in the raster order of each nucleus' first pixel.
LabelImage split_nuclei(const Image& foreground01, const Image& outline_probability);

// Objects smaller than `min_area` pixels merge into the object they share the most 4-neighbour
// edges with (on a tie, the larger, then the lower label), smallest first, so that two specks
// touching each other may make one nucleus; an object that touches none is removed (0). Labels
// are then 1..N in raster order. These are the bits of a nucleus that the outline band cuts off
// and the specks of foreground noise, which cost the DSB2018 score a false positive each.
// min_area <= 1 keeps every object.
void remove_small_nuclei(LabelImage& nuclei, int64_t min_area);

// The nuclei of a predicted 0/1 foreground, as `dunet infer`, `dunet eval` and validation find
// them: split_nuclei where there is an outline map (not empty), else the connected components;
// then remove_small_nuclei(min_area).
LabelImage find_nuclei(const Image& foreground01, const Image& outline_probability,
                       int64_t min_area);

// A 16-bit grey image of the labels, TIFF for a .tif/.tiff path and PNG otherwise (whole or
// not at all); DataError beyond 65535 objects.
void write_label_image(const std::filesystem::path& path, const LabelImage& labels);

}  // namespace dunet::data
