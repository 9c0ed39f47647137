// The colour side of augmentation: what separates DSB2018's image kinds (fluorescence and
// stained tissue, grey and colour, bright and dim, sharp and blurred) changed at random, so
// that the network learns nuclei rather than one kind's look.
#pragma once

#include <cstdint>

#include "data/augment.h"
#include "data/random.h"

namespace dunet::data {

// Ranges and chances of the changes, applied in this order to pixel values in [0, 1] (each
// drawn independently per patch; ranges as nnU-Net's and StarDist's defaults suggest):
struct PhotometricRanges {
  double grey_chance = 0.2;        // colour images only: every channel the channels' mean
  double colour_chance = 0.3;      // colour images only: each channel times [0.9, 1.1]
  double colour_gain = 0.1;
  double invert_chance = 0.2;      // v -> 1 - v: dark nuclei on light ground and back
  double brightness_chance = 0.5;  // v * [0.75, 1.25]
  double brightness = 0.25;
  double contrast_chance = 0.5;    // around the patch mean, times [0.75, 1.25]
  double contrast = 0.25;
  double gamma_chance = 0.3;       // v^gamma, gamma log-uniform in [0.7, 1.5]
  double gamma_min = 0.7;
  double gamma_max = 1.5;
  double blur_chance = 0.2;        // Gaussian, sigma in [0.5, 1.5] pixels
  double blur_sigma_min = 0.5;
  double blur_sigma_max = 1.5;
  double noise_chance = 0.15;      // additive Gaussian, sigma in [0, 0.05]
  double noise_sigma_max = 0.05;
};

// Recolours a channels x patch x patch normalised patch in place: back to [0, 1], the changes
// above, clipped to [0, 1], normalised again. Geometry (and so the mask) is untouched.
void recolour_patch(float* image, int64_t channels, int64_t patch, const Normalization& norm,
                    KeyedRandom& rng, const PhotometricRanges& ranges = {});

}  // namespace dunet::data
