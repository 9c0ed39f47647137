// Pictures of label images for people to look at: each object's outline over the input, and
// the montage of the worst-scored images that `dunet eval` writes.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "data/labels.h"
#include "data/sample.h"

namespace dunet::data {

using Rgb = std::array<uint8_t, 3>;

// `image` (grey, RGB or RGBA) as RGB with the outline of every object of `labels` drawn in
// `colour`: the object's pixels that touch another label or the image's edge (4-neighbours).
Image draw_outlines(const Image& image, const LabelImage& labels, Rgb colour);

// make_overlay (data/image_io.h) with the outline of every nucleus drawn in cyan on its third
// panel: input | mask | mask and outlines over the input.
Image make_nuclei_overlay(const Image& input, const Image& mask01, const LabelImage& nuclei);

struct MontageRow {
  std::string caption;  // written on the input panel
  Image image;
  LabelImage truth;
  LabelImage predicted;
};

// One row per entry: input | true outlines (green) | predicted outlines (magenta) | pixel
// errors (white = found, red = predicted but not true, blue = missed). Every panel is scaled
// to `panel_height` (outlines are drawn after scaling, so they stay visible); narrower rows are
// padded with black. An RGB image.
Image make_montage(const std::vector<MontageRow>& rows, int64_t panel_height = 256);

}  // namespace dunet::data
