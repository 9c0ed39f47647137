// Turns stored 8-bit samples into normalised float arrays: random training patches (a crop,
// optionally zoomed, rotated, flipped and recoloured) and whole images for validation and
// inference.
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

// What a training patch goes through besides the crop. All off: the plain crop of the seed.
struct Augmentation {
  bool flips = true;       // random flips and 90-degree rotations
  double scale_min = 1.0;  // zoom factor drawn log-uniformly from [scale_min, scale_max];
  double scale_max = 1.0;  //   2 shows nuclei twice as large
  double rotation_deg = 0;  // a rotation drawn uniformly from [-rotation_deg, rotation_deg]
  bool photometric = false;  // brightness, contrast, gamma, colour, grey, inversion, blur, noise
  double foreground_fraction = 0;  // share of patches centred on a random foreground pixel

  bool geometric() const { return scale_min != 1.0 || scale_max != 1.0 || rotation_deg != 0; }
};

// A whole image as channels x height x width floats, normalised.
std::vector<float> normalize_chw(const Image& image, const Normalization& norm);

// One square training patch of side `patch`. Without zoom or rotation: a random window of the
// sample (images smaller than the patch are placed at a random offset and padded with the
// mean, i.e. 0 after normalisation). With them: the window's pixels are resampled (image
// bilinear, mask and labels nearest) through the drawn zoom and rotation about its centre,
// outside the image padded likewise. Then flips and rotations by quarter turns, then the
// photometric changes (data/photometric.h). Writes channels*patch*patch floats to `image_out`
// and patch*patch mask values 0/1 to `mask_out`. With `contour_out`, also the patch's nucleus
// outlines (0/1): the pixels of a nucleus with a 4-neighbour in the patch of another label,
// background included; the sample must have labels. Every draw comes from `rng`, so the same
// keys give the same patch bit for bit.
void make_training_patch(const Sample& sample, int64_t patch, const Augmentation& augmentation,
                         KeyedRandom& rng, const Normalization& norm, float* image_out,
                         float* mask_out, float* contour_out = nullptr);

// The outlines of a patch x patch label patch, as above.
void nucleus_outlines(const std::vector<uint16_t>& labels, int64_t patch, float* contour_out);

}  // namespace dunet::data
