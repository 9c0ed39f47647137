#include "data/augment.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/photometric.h"

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

constexpr double kPi = 3.14159265358979323846;

// Marks "no centre chosen" in a Pixel, window_origin and window_centre.
constexpr int64_t kAnywhere = -1;

struct Pixel {
  int64_t y = kAnywhere;
  int64_t x = kAnywhere;
};

// With probability `fraction`, a foreground pixel drawn uniformly (else, or if the sample has
// no foreground, kAnywhere). Draws nothing when the fraction is 0, so plain crops keep their
// draws.
Pixel foreground_centre(const Sample& sample, double fraction, KeyedRandom& rng) {
  if (fraction <= 0 || !rng.chance(fraction)) return {};
  int64_t count = 0;
  for (const uint8_t m : sample.mask) count += m != 0;
  if (count == 0) return {};
  int64_t k = rng.below(count);
  for (size_t i = 0; i < sample.mask.size(); ++i) {
    if (sample.mask[i] == 0 || k-- > 0) continue;
    const auto index = static_cast<int64_t>(i);
    return Pixel{index / sample.image.width, index % sample.image.width};
  }
  return {};
}

// Origin of a window of `patch` pixels along an axis of `size` pixels: random, or around
// `centre` and inside the image where it fits; negative (padding) where the image is smaller.
int64_t window_origin(int64_t size, int64_t patch, int64_t centre, KeyedRandom& rng) {
  if (size < patch) return -rng.below(patch - size + 1);
  if (centre == kAnywhere) return rng.below(size - patch + 1);
  return std::clamp<int64_t>(centre - patch / 2, 0, size - patch);
}

// Centre (in pixel coordinates, pixel k spanning [k - 0.5, k + 0.5]) of a source window of
// side `side` along an axis of `size` pixels: random and inside the image where it fits.
double window_centre(int64_t size, double side, int64_t centre, KeyedRandom& rng) {
  const double u = rng.uniform();
  if (centre != kAnywhere) return static_cast<double>(centre);
  const double extent = static_cast<double>(size);
  if (extent >= side) return side / 2 - 0.5 + u * (extent - side);
  return extent / 2 - 0.5 + (u - 0.5) * (side - extent);
}

// The patch x patch pixels seen through a zoom by `scale` and a rotation by `angle_deg` about
// the image point (cy, cx): image bilinear, mask and labels nearest, outside the image the
// mean colour (0 after normalisation) and background.
Sample warp_window(const Sample& sample, int64_t patch, double scale, double angle_deg, double cy,
                   double cx, const Normalization& norm) {
  const Image& image = sample.image;
  const int h = static_cast<int>(image.height), w = static_cast<int>(image.width);
  const int channels = static_cast<int>(image.channels);
  // Output -> source: source = A * output + b, A = rotation / scale, the patch's centre onto
  // (cx, cy).
  const double angle = angle_deg * kPi / 180.0;
  const double a = std::cos(angle) / scale, b = std::sin(angle) / scale;
  const double half = static_cast<double>(patch - 1) / 2;
  const cv::Matx23d to_source(a, -b, cx - (a * half - b * half), b, a, cy - (b * half + a * half));
  const cv::Size size(static_cast<int>(patch), static_cast<int>(patch));
  cv::Scalar mean_colour;
  for (int c = 0; c < channels && c < 4; ++c) mean_colour[c] = std::round(norm.mean[c] * 255.0);

  Sample out;
  out.id = sample.id;
  out.image = {patch, patch, image.channels, std::vector<uint8_t>(patch * patch * channels)};
  out.mask.assign(static_cast<size_t>(patch * patch), 0);
  const auto source_mat = [&](int type, const void* data) {
    return cv::Mat(h, w, type, const_cast<void*>(data));
  };
  cv::Mat image_out(size, CV_8UC(channels), out.image.pixels.data());
  cv::warpAffine(source_mat(CV_8UC(channels), image.pixels.data()), image_out, to_source, size,
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, mean_colour);
  cv::Mat mask_out(size, CV_8UC1, out.mask.data());
  cv::warpAffine(source_mat(CV_8UC1, sample.mask.data()), mask_out, to_source, size,
                 cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, 0);
  if (!sample.labels.empty()) {
    out.labels.assign(static_cast<size_t>(patch * patch), 0);
    cv::Mat labels_out(size, CV_16UC1, out.labels.data());
    cv::warpAffine(source_mat(CV_16UC1, sample.labels.data()), labels_out, to_source, size,
                   cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, 0);
  }
  return out;
}

struct Orientation {
  bool flip_rows = false;
  bool flip_cols = false;
  int64_t quarter_turns = 0;
};

// The window of `source` at (y0, x0), flipped and turned, normalised; padding outside.
void copy_oriented(const Sample& source, int64_t patch, int64_t y0, int64_t x0,
                   const Orientation& orientation, const Normalization& norm, float* image_out,
                   float* mask_out, uint16_t* labels_out) {
  const Image& image = source.image;
  const int64_t h = image.height, w = image.width, channels = image.channels;
  const auto scale = scales(norm);
  const auto shift = shifts(norm);
  const int64_t plane = patch * patch;
  for (int64_t y = 0; y < patch; ++y) {
    for (int64_t x = 0; x < patch; ++x) {
      // Output (y, x) reads the window at (u, v): undo flips, then the rotations.
      int64_t u = orientation.flip_rows ? patch - 1 - y : y;
      int64_t v = orientation.flip_cols ? patch - 1 - x : x;
      for (int64_t k = 0; k < orientation.quarter_turns; ++k) {
        const int64_t t = u;
        u = v;
        v = patch - 1 - t;
      }
      const int64_t sy = y0 + u, sx = x0 + v;
      const int64_t out = y * patch + x;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (int64_t c = 0; c < channels; ++c) image_out[c * plane + out] = 0.0f;
        mask_out[out] = 0.0f;
        if (labels_out != nullptr) labels_out[out] = 0;
        continue;
      }
      const int64_t src = sy * w + sx;
      for (int64_t c = 0; c < channels; ++c) {
        image_out[c * plane + out] =
            static_cast<float>(image.pixels[static_cast<size_t>(src * channels + c)]) *
                scale[static_cast<size_t>(c)] -
            shift[static_cast<size_t>(c)];
      }
      mask_out[out] = source.mask[static_cast<size_t>(src)] != 0 ? 1.0f : 0.0f;
      if (labels_out != nullptr) labels_out[out] = source.labels[static_cast<size_t>(src)];
    }
  }
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

void make_training_patch(const Sample& sample, int64_t patch, const Augmentation& augmentation,
                         KeyedRandom& rng, const Normalization& norm, float* image_out,
                         float* mask_out, float* contour_out) {
  const Image& image = sample.image;
  DUNET_CHECK(contour_out == nullptr || sample.labels.size() == sample.mask.size(), DataError,
              "sample '", sample.id,
              "' has no nucleus labels, which the contour target needs; "
              "its shard predates them: re-create the shards with `dunet prepare`");
  DUNET_CHECK(static_cast<int64_t>(norm.mean.size()) == image.channels, DataError,
              "normalisation has ", norm.mean.size(), " channels, sample '", sample.id, "' ",
              image.channels);
  std::vector<uint16_t> labels(contour_out != nullptr ? static_cast<size_t>(patch * patch) : 0);
  uint16_t* labels_out = contour_out != nullptr ? labels.data() : nullptr;
  const Pixel centre = foreground_centre(sample, augmentation.foreground_fraction, rng);

  if (augmentation.geometric()) {
    const double scale = std::exp(
        rng.uniform(std::log(augmentation.scale_min), std::log(augmentation.scale_max)));
    const double angle = rng.uniform(-augmentation.rotation_deg, augmentation.rotation_deg);
    const double side = static_cast<double>(patch) / scale;
    const double cy = window_centre(image.height, side, centre.y, rng);
    const double cx = window_centre(image.width, side, centre.x, rng);
    const Sample warped = warp_window(sample, patch, scale, angle, cy, cx, norm);
    Orientation orientation;
    if (augmentation.flips) orientation = {rng.below(2) == 1, rng.below(2) == 1, rng.below(4)};
    copy_oriented(warped, patch, 0, 0, orientation, norm, image_out, mask_out, labels_out);
  } else {
    // Window origin in image coordinates; negative when the image is smaller (then padded).
    const int64_t y0 = window_origin(image.height, patch, centre.y, rng);
    const int64_t x0 = window_origin(image.width, patch, centre.x, rng);
    Orientation orientation;
    if (augmentation.flips) orientation = {rng.below(2) == 1, rng.below(2) == 1, rng.below(4)};
    copy_oriented(sample, patch, y0, x0, orientation, norm, image_out, mask_out, labels_out);
  }
  if (augmentation.photometric) recolour_patch(image_out, image.channels, patch, norm, rng);
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
