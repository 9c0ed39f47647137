// A coarse kind of microscope image, from its pixels alone, so that scores can be reported by
// kind (DSB2018 mixes fluorescence, brightfield and stained tissue): "grey" or "colour", then
// "dark" or "light" ground, e.g. "grey-dark" for fluorescence nuclei.
#pragma once

#include <string>

#include "data/sample.h"

namespace dunet::data {

// colour: the mean over pixels of (largest channel - smallest) exceeds 8 grey levels; light
// ground: the median of the pixels' channel means is 128 or more (most of an image is ground).
std::string image_kind(const Image& image);

}  // namespace dunet::data
