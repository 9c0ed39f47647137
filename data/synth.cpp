#include "data/synth.h"

#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/random.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

enum class Style { kFluorescence, kStained, kBrightfield };

double uniform(KeyedRandom& rng, double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(rng.next() >> 11) / 9007199254740992.0;
}

void write_or_throw(const fs::path& path, const cv::Mat& mat) {
  fs::create_directories(path.parent_path());
  DUNET_CHECK(cv::imwrite(path.string(), mat), DataError, "cannot write '", path.string(), "'");
}

// Draws non-overlapping elliptic nuclei; returns one 0/255 mask per nucleus.
std::vector<cv::Mat> place_nuclei(KeyedRandom& rng, int width, int height) {
  const double density = uniform(rng, 0.2, 1.0);
  const double size_scale = uniform(rng, 0.6, 1.6);
  const int area = width * height;
  const int wanted = std::max(2, static_cast<int>(density * area / (900.0 * size_scale)));
  cv::Mat occupied = cv::Mat::zeros(height, width, CV_8U);
  std::vector<cv::Mat> masks;
  for (int attempt = 0; attempt < wanted * 4 && static_cast<int>(masks.size()) < wanted;
       ++attempt) {
    const double radius = uniform(rng, 4.0, 13.0) * size_scale;
    const cv::Point center(static_cast<int>(rng.below(width)), static_cast<int>(rng.below(height)));
    const cv::Size axes(std::max(2, static_cast<int>(radius)),
                        std::max(2, static_cast<int>(radius * uniform(rng, 0.55, 1.0))));
    cv::Mat mask = cv::Mat::zeros(height, width, CV_8U);
    cv::ellipse(mask, center, axes, uniform(rng, 0, 180), 0, 360, cv::Scalar(255), cv::FILLED);
    cv::Mat overlap;
    cv::bitwise_and(mask, occupied, overlap);
    if (cv::countNonZero(overlap) > 0 || cv::countNonZero(mask) < 12) continue;
    occupied |= mask;
    masks.push_back(mask);
  }
  return masks;
}

// Renders the image for the given nuclei in one of the styles, as 8-bit BGR.
cv::Mat render(KeyedRandom& rng, Style style, const std::vector<cv::Mat>& masks, int width,
               int height) {
  cv::Mat signal = cv::Mat::zeros(height, width, CV_32F);  // nucleus "stain amount" in [0, 1]
  cv::Mat texture(height, width, CV_32F);
  cv::randn(texture, 0.0, 1.0);
  cv::GaussianBlur(texture, texture, cv::Size(0, 0), 1.5);
  for (const auto& mask : masks) {
    const float level = static_cast<float>(uniform(rng, 0.35, 1.0));
    cv::Mat body;
    mask.convertTo(body, CV_32F, level / 255.0);
    signal += body;
  }
  cv::Mat inside;
  cv::threshold(signal, inside, 0.0, 1.0, cv::THRESH_BINARY);
  signal += inside.mul(texture) * 0.12;
  cv::GaussianBlur(signal, signal, cv::Size(0, 0), uniform(rng, 0.6, 1.6));

  cv::Mat noise(height, width, CV_32F);
  cv::randn(noise, 0.0, uniform(rng, 0.01, 0.05));
  std::vector<cv::Mat> channels(3);
  if (style == Style::kFluorescence) {
    cv::Mat grey = signal * uniform(rng, 0.5, 0.95) + uniform(rng, 0.0, 0.08) + noise;
    channels = {grey, grey, grey};
  } else {
    // Background colour b, nucleus colour n: mix by signal, then noise.
    const bool stained = style == Style::kStained;
    const cv::Vec3f background = stained ? cv::Vec3f(0.85f, 0.75f, 0.92f)  // BGR pinkish
                                         : cv::Vec3f(0.80f, 0.80f, 0.80f);
    const cv::Vec3f nucleus = stained ? cv::Vec3f(0.55f, 0.25f, 0.45f)  // purple
                                      : cv::Vec3f(0.30f, 0.30f, 0.35f);
    cv::Mat s = cv::min(signal, 1.0);
    for (int c = 0; c < 3; ++c) {
      channels[static_cast<size_t>(c)] = background[c] + s * (nucleus[c] - background[c]) + noise;
    }
  }
  cv::Mat merged, out;
  cv::merge(channels, merged);
  merged.convertTo(out, CV_8UC3, 255.0);
  return out;
}

}  // namespace

int64_t write_synthetic_dataset(const SynthOptions& options) {
  DUNET_CHECK(options.count >= 1, DataError, "--count must be >= 1");
  DUNET_CHECK(options.width >= 16 && options.height >= 16, DataError,
              "--size must be at least 16x16, got ", options.width, "x", options.height);
  int64_t total_nuclei = 0;
  for (int64_t i = 0; i < options.count; ++i) {
    KeyedRandom rng{options.seed, static_cast<uint64_t>(i), 0x5717ULL};
    char id[32];
    std::snprintf(id, sizeof(id), "synth%05lld", static_cast<long long>(i));
    const int w = static_cast<int>(options.width), h = static_cast<int>(options.height);
    const auto masks = place_nuclei(rng, w, h);
    const auto style = static_cast<Style>(rng.below(3));
    const cv::Mat bgr = render(rng, style, masks, w, h);

    // Store like the real data varies: grey as 1 channel, colour as RGB or RGBA.
    cv::Mat stored;
    if (style == Style::kFluorescence && rng.below(2) == 0) {
      cv::cvtColor(bgr, stored, cv::COLOR_BGR2GRAY);
    } else if (rng.below(2) == 0) {
      cv::cvtColor(bgr, stored, cv::COLOR_BGR2BGRA);
    } else {
      stored = bgr;
    }
    const fs::path dir = options.out_dir / id;
    write_or_throw(dir / "images" / (std::string(id) + ".png"), stored);
    for (size_t k = 0; k < masks.size(); ++k) {
      char name[32];
      std::snprintf(name, sizeof(name), "nucleus%03zu.png", k);
      write_or_throw(dir / "masks" / name, masks[k]);
    }
    total_nuclei += static_cast<int64_t>(masks.size());
    if (options.progress) options.progress(i + 1, options.count);
  }
  return total_nuclei;
}

}  // namespace dunet::data
