// Reading and writing PNG files (through OpenCV) with clear errors for bad files.
// Images come back as 8-bit RGB or grey; masks as 0/1; overlays for humans to look at.
#pragma once

#include <filesystem>

#include "data/sample.h"

namespace dunet::data {

// Reads an 8-bit or 16-bit PNG with 1, 3 or 4 channels and returns it with `channels` channels
// (1 = grey, 3 = RGB): alpha is dropped, grey is replicated, colour is converted to grey, and
// 16-bit values are scaled to 8 bits. Throws DataError naming the file otherwise.
Image read_image(const std::filesystem::path& path, int64_t channels);

// Reads a mask PNG (1 channel, or 3/4 identical channels): 0 is background, any other value
// is foreground. Returns height x width values 0/1 in `mask`.
Image read_mask(const std::filesystem::path& path);

// Writes an 8-bit PNG with 1, 3 (RGB) or 4 (RGBA) channels; parent folders are created.
void write_png(const std::filesystem::path& path, const Image& image);

// Returns input | mask | mask drawn in colour over the input, side by side (RGB).
Image make_overlay(const Image& input, const Image& mask01);

}  // namespace dunet::data
