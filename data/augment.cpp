#include "data/augment.h"

#include "core/error.h"

namespace dunet::data {

namespace {

std::vector<float> scales(const Normalization& norm) {
  std::vector<float> s(norm.std.size());
  for (size_t c = 0; c < s.size(); ++c) s[c] = static_cast<float>(1.0 / (255.0 * norm.std[c]));
  return s;
}

std::vector<float> shifts(const Normalization& norm) {
  std::vector<float> s(norm.mean.size());
  for (size_t c = 0; c < s.size(); ++c) s[c] = static_cast<float>(norm.mean[c] / norm.std[c]);
  return s;
}

}  // namespace

std::vector<float> normalize_chw(const Image& image, const Normalization& norm) {
  DUNET_CHECK(static_cast<int64_t>(norm.mean.size()) == image.channels, DataError,
              "normalisation has ", norm.mean.size(), " channels, the image ", image.channels);
  const auto scale = scales(norm);
  const auto shift = shifts(norm);
  const int64_t hw = image.num_pixels();
  const int64_t channels = image.channels;
  std::vector<float> out(static_cast<size_t>(hw * channels));
  for (int64_t c = 0; c < channels; ++c) {
    float* plane = out.data() + c * hw;
    for (int64_t i = 0; i < hw; ++i) {
      plane[i] = static_cast<float>(image.pixels[static_cast<size_t>(i * channels + c)]) *
                     scale[static_cast<size_t>(c)] -
                 shift[static_cast<size_t>(c)];
    }
  }
  return out;
}

void make_training_patch(const Sample& sample, int64_t patch, bool augment, KeyedRandom& rng,
                         const Normalization& norm, float* image_out, float* mask_out,
                         float* contour_out) {
  const Image& image = sample.image;
  DUNET_CHECK(contour_out == nullptr || sample.labels.size() == sample.mask.size(), DataError,
              "sample '", sample.id,
              "' has no nucleus labels, which the contour target needs; "
              "its shard predates them: re-create the shards with `dunet prepare`");
  std::vector<uint16_t> labels(contour_out != nullptr ? static_cast<size_t>(patch * patch) : 0);
  const int64_t h = image.height, w = image.width, channels = image.channels;
  // Window origin in image coordinates; negative when the image is smaller (then padded).
  const int64_t y0 = h >= patch ? rng.below(h - patch + 1) : -rng.below(patch - h + 1);
  const int64_t x0 = w >= patch ? rng.below(w - patch + 1) : -rng.below(patch - w + 1);
  const bool flip_rows = augment && rng.below(2) == 1;
  const bool flip_cols = augment && rng.below(2) == 1;
  const int64_t quarter_turns = augment ? rng.below(4) : 0;

  const auto scale = scales(norm);
  const auto shift = shifts(norm);
  const int64_t plane = patch * patch;
  for (int64_t y = 0; y < patch; ++y) {
    for (int64_t x = 0; x < patch; ++x) {
      // Output (y, x) reads the window at (u, v): undo flips, then the rotations.
      int64_t u = flip_rows ? patch - 1 - y : y;
      int64_t v = flip_cols ? patch - 1 - x : x;
      for (int64_t k = 0; k < quarter_turns; ++k) {
        const int64_t t = u;
        u = v;
        v = patch - 1 - t;
      }
      const int64_t sy = y0 + u, sx = x0 + v;
      const int64_t out = y * patch + x;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (int64_t c = 0; c < channels; ++c) image_out[c * plane + out] = 0.0f;
        mask_out[out] = 0.0f;
        if (contour_out != nullptr) labels[static_cast<size_t>(out)] = 0;
        continue;
      }
      const int64_t src = sy * w + sx;
      for (int64_t c = 0; c < channels; ++c) {
        image_out[c * plane + out] =
            static_cast<float>(image.pixels[static_cast<size_t>(src * channels + c)]) *
                scale[static_cast<size_t>(c)] -
            shift[static_cast<size_t>(c)];
      }
      mask_out[out] = sample.mask[static_cast<size_t>(src)] != 0 ? 1.0f : 0.0f;
      if (contour_out != nullptr)
        labels[static_cast<size_t>(out)] = sample.labels[static_cast<size_t>(src)];
    }
  }
  if (contour_out != nullptr) nucleus_outlines(labels, patch, contour_out);
}

void nucleus_outlines(const std::vector<uint16_t>& labels, int64_t patch, float* contour_out) {
  DUNET_ASSERT(static_cast<int64_t>(labels.size()) == patch * patch);
  const auto at = [&](int64_t y, int64_t x) { return labels[static_cast<size_t>(y * patch + x)]; };
  for (int64_t y = 0; y < patch; ++y) {
    for (int64_t x = 0; x < patch; ++x) {
      const uint16_t l = at(y, x);
      const bool outline =
          l != 0 && ((y > 0 && at(y - 1, x) != l) || (y + 1 < patch && at(y + 1, x) != l) ||
                     (x > 0 && at(y, x - 1) != l) || (x + 1 < patch && at(y, x + 1) != l));
      contour_out[y * patch + x] = outline ? 1.0f : 0.0f;
    }
  }
}

}  // namespace dunet::data
