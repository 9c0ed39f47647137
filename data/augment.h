// Turns stored 8-bit samples into normalised float arrays: random training patches (crop or
// pad, flips, 90-degree rotations) and whole images for validation and inference.
#pragma once

#include <cstdint>
#include <vector>

#include "data/random.h"
#include "data/sample.h"

namespace dunet::data {

// Per-channel statistics of pixels scaled to [0, 1]; normalised = (v/255 - mean) / std.
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

// A whole image as channels x height x width floats, normalised.
std::vector<float> normalize_chw(const Image& image, const Normalization& norm);

// One square training patch of side `patch`: a random window of the sample (images smaller
// than the patch are placed at a random offset and padded with the mean, i.e. 0 after
// normalisation), then, if `augment`, a random flip and rotation. Writes channels*patch*patch
// floats to `image_out` and patch*patch mask values 0/1 to `mask_out`. With `contour_out`,
// also the patch's nucleus outlines (0/1): the pixels of a nucleus with a 4-neighbour in the
// patch of another label, background included; the sample must have labels.
void make_training_patch(const Sample& sample, int64_t patch, bool augment, KeyedRandom& rng,
                         const Normalization& norm, float* image_out, float* mask_out,
                         float* contour_out = nullptr);

// The outlines of a patch x patch label patch, as above.
void nucleus_outlines(const std::vector<uint16_t>& labels, int64_t patch, float* contour_out);

}  // namespace dunet::data
