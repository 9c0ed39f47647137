// Reading images (PNG, TIFF, JPEG) and writing PNGs through OpenCV, with clear errors.
// Images come back as 8-bit RGB or grey; masks as 0/1; overlays for humans to look at.
#pragma once

#include <filesystem>
#include <string>

#include "data/sample.h"

namespace dunet::data {

inline constexpr const char* kImageFormats = "PNG, TIFF or JPEG";

// Whether the file name ends like one of kImageFormats (.png, .tif, .tiff, .jpg, .jpeg, any
// case). The content decides in the readers below: a file is read by its signature.
bool has_image_extension(const std::filesystem::path& path);

// Reads an 8-bit or 16-bit PNG, TIFF or JPEG with 1, 3 or 4 channels and returns it with
// `channels` channels (1 = grey, 3 = RGB): alpha is dropped, grey is replicated, colour is
// converted to grey, and 16-bit values are scaled to 8 bits. Throws DataError naming the file
// otherwise (another format, float samples, truncated or corrupt).
Image read_image(const std::filesystem::path& path, int64_t channels);

// Reads a mask (1 channel, or 3/4 identical channels) in any of kImageFormats: 0 is
// background, any other value foreground (in JPEG, above half of the range, because of its
// compression noise). Returns height x width values 0/1.
Image read_mask(const std::filesystem::path& path);

// The bytes of an 8-bit PNG of `image` (1, 3 = RGB or 4 = RGBA channels).
std::string encode_png(const Image& image);

// Writes an 8-bit PNG with 1, 3 (RGB) or 4 (RGBA) channels, whole or not at all
// (core/durable_write.h; IoError names the cause); parent folders are created.
void write_png(const std::filesystem::path& path, const Image& image);

// Returns input | mask | mask drawn in colour over the input, side by side (RGB).
Image make_overlay(const Image& input, const Image& mask01);

}  // namespace dunet::data
