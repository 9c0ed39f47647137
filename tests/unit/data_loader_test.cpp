// The sampler and loader: coverage, disjoint rank slices, determinism, world-size
// independence, and augmentations that keep image and mask aligned.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "core/error.h"
#include "data/loader.h"
#include "data/photometric.h"
#include "data/prepare.h"
#include "tests/fixtures/fixtures.h"

namespace dunet::data {
namespace {

namespace fs = std::filesystem;

const Augmentation kNoAugmentation{/*flips=*/false};
constexpr double kPi = 3.14159265358979323846;

std::shared_ptr<ShardSet> known_set(const testing::TempDir& tmp, int64_t count,
                                    std::vector<int64_t> heights = {40},
                                    std::vector<int64_t> widths = {48}) {
  testing::write_known_dsb(tmp / "in", count, heights, widths);
  PrepareOptions o;
  o.out_dir = tmp / "out";
  o.num_shards = 3;
  o.val_fraction = 0;
  const auto result = prepare_shards(scan_dsb_layout(tmp / "in"), o);
  return std::make_shared<ShardSet>(result.train_shards);
}

TEST(Sampler, EveryRankGetsADisjointSliceAndEqualSteps) {
  for (int64_t world = 1; world <= 4; ++world) {
    const int64_t num_samples = 37, batch = 3;
    std::vector<DistributedSampler> ranks;
    for (int64_t r = 0; r < world; ++r) ranks.emplace_back(num_samples, world, r, batch, 11);
    const int64_t steps = ranks[0].steps_per_epoch();
    EXPECT_EQ(steps, num_samples / (world * batch));
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      const auto order = ranks[0].epoch_order(epoch);
      std::multiset<int64_t> seen;
      for (const auto& sampler : ranks) {
        EXPECT_EQ(sampler.steps_per_epoch(), steps);
        EXPECT_EQ(sampler.epoch_order(epoch), order) << "ranks disagree on the epoch order";
        for (int64_t s = 0; s < steps; ++s) {
          for (const int64_t i : sampler.step_indices(order, s)) seen.insert(i);
        }
      }
      // Exactly the first steps*world*batch positions of the permutation, each once.
      const std::multiset<int64_t> expected(order.begin(), order.begin() + steps * world * batch);
      EXPECT_EQ(seen, expected) << "world " << world << " epoch " << epoch;
      EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(),
                static_cast<size_t>(num_samples));
    }
  }
}

TEST(Sampler, CoversEverySampleOncePerEpochWhenDivisible) {
  const DistributedSampler a(24, 2, 0, 3, 5), b(24, 2, 1, 3, 5);
  const auto order = a.epoch_order(4);
  std::multiset<int64_t> seen;
  for (int64_t s = 0; s < a.steps_per_epoch(); ++s) {
    for (const auto i : a.step_indices(order, s)) seen.insert(i);
    for (const auto i : b.step_indices(order, s)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 24u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 24u);
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1)) << "epochs must be shuffled differently";
  EXPECT_EQ(a.epoch_order(1), DistributedSampler(24, 1, 0, 3, 5).epoch_order(1));
}

TEST(Sampler, RefusesMoreProcessesTimesBatchThanSamples) {
  try {
    DistributedSampler s(5, 2, 0, 3, 0);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("the training set has 5 samples but one step needs 6"),
              std::string::npos);
  }
}

TEST(Loader, PrefetchedBatchesEqualSynchronousOnesAndRepeat) {
  testing::TempDir tmp;
  auto set = known_set(tmp, 10);
  LoaderOptions o;
  o.batch_size = 2;
  o.patch_size = 32;
  o.workers = 3;
  o.prefetch = 2;
  o.seed = 9;
  TrainLoader first(set, o), second(set, o);
  DistributedSampler sampler(set->size(), 1, 0, 2, 9);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    first.start_epoch(epoch);
    second.start_epoch(epoch);
    const auto order = sampler.epoch_order(epoch);
    int64_t steps = 0;
    while (auto a = first.next()) {
      const auto b = second.next();
      ASSERT_TRUE(b.has_value());
      EXPECT_EQ(a->step, steps);
      EXPECT_EQ(a->images, b->images);
      EXPECT_EQ(a->masks, b->masks);
      EXPECT_EQ(a->images, first.build(epoch, order, a->step).images);
      ++steps;
    }
    EXPECT_EQ(steps, 5);
    EXPECT_FALSE(second.next().has_value());
  }
}

TEST(Loader, ResumesMidEpochWithTheSameBatches) {
  testing::TempDir tmp;
  auto set = known_set(tmp, 8);
  LoaderOptions o;
  o.batch_size = 2;
  o.patch_size = 16;
  TrainLoader full(set, o), resumed(set, o);
  full.start_epoch(1);
  resumed.start_epoch(1, /*first_step=*/2);
  full.next();
  full.next();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(full.next()->images, resumed.next()->images);
  EXPECT_FALSE(resumed.next().has_value());
}

// Two ranks with batch B see exactly the patches one process with batch 2B sees.
TEST(Loader, BatchesDoNotDependOnTheNumberOfProcesses) {
  testing::TempDir tmp;
  auto set = known_set(tmp, 12);
  LoaderOptions single;
  single.batch_size = 4;
  single.patch_size = 16;
  single.seed = 3;
  LoaderOptions rank0 = single, rank1 = single;
  rank0.batch_size = rank1.batch_size = 2;
  rank0.world_size = rank1.world_size = 2;
  rank1.rank = 1;
  TrainLoader one(set, single), r0(set, rank0), r1(set, rank1);
  const auto order = DistributedSampler(12, 1, 0, 4, 3).epoch_order(2);
  for (int64_t step = 0; step < 3; ++step) {
    const Batch whole = one.build(2, order, step);
    const Batch a = r0.build(2, order, step), b = r1.build(2, order, step);
    std::vector<float> joined = a.images;
    joined.insert(joined.end(), b.images.begin(), b.images.end());
    EXPECT_EQ(whole.images, joined) << "step " << step;
  }
}

TEST(Augment, WithoutAugmentationAPatchOfTheImageSizeIsTheNormalisedImage) {
  const auto known = testing::known_sample(2, 16, 16);
  Sample s{known.id, known.image, known.union_mask};
  const Normalization norm{{0.5, 0.4, 0.3}, {0.2, 0.25, 0.5}};
  std::vector<float> image(3 * 16 * 16), mask(16 * 16);
  KeyedRandom rng{1};
  make_training_patch(s, 16, kNoAugmentation, rng, norm, image.data(), mask.data());
  EXPECT_EQ(image, normalize_chw(s.image, norm));
  for (size_t i = 0; i < mask.size(); ++i) EXPECT_EQ(mask[i], s.mask[i]);
  // Pixel (y=3, x=5) of channel 1 by hand.
  const double v = known.image.pixels[(3 * 16 + 5) * 3 + 1] / 255.0;
  EXPECT_NEAR(image[256 + 3 * 16 + 5], (v - 0.4) / 0.25, 1e-5);
}

TEST(Augment, SmallImagesArePaddedWithZeroAfterNormalisation) {
  const auto known = testing::known_sample(0, 10, 12);
  Sample s{known.id, known.image, known.union_mask};
  const Normalization norm{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
  std::vector<float> image(3 * 32 * 32, -99), mask(32 * 32, -99);
  KeyedRandom rng{7};
  make_training_patch(s, 32, Augmentation{}, rng, norm, image.data(), mask.data());
  int64_t mask_sum = 0, zero_pixels = 0;
  for (const float m : mask) mask_sum += static_cast<int64_t>(m);
  for (size_t i = 0; i < 32 * 32; ++i) zero_pixels += image[i] == 0.0f && mask[i] == 0.0f;
  int64_t expected_sum = 0;
  for (const auto m : known.union_mask) expected_sum += m;
  EXPECT_EQ(mask_sum, expected_sum) << "the whole mask must fit in the padded patch";
  EXPECT_GE(zero_pixels, 32 * 32 - 10 * 12);
}

// The image's red channel is the mask: after any flip/rotation they must still agree.
TEST(Augment, FlipsAndRotationsKeepImageAndMaskAligned) {
  const auto known = testing::known_sample(1, 24, 24);
  Sample s{known.id, known.image, known.union_mask};
  for (size_t i = 0; i < s.mask.size(); ++i) s.image.pixels[i * 3] = s.mask[i] ? 255 : 0;
  const Normalization norm{{0, 0, 0}, {1, 1, 1}};
  std::set<std::vector<float>> distinct;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::vector<float> image(3 * 16 * 16), mask(16 * 16);
    KeyedRandom rng{seed};
    make_training_patch(s, 16, Augmentation{}, rng, norm, image.data(), mask.data());
    for (size_t i = 0; i < mask.size(); ++i) ASSERT_EQ(image[i] > 0.5f, mask[i] > 0.5f);
    distinct.insert(mask);
  }
  EXPECT_GT(distinct.size(), 10u) << "augmentation should vary";
}

// The outlines by their definition: a nucleus pixel with a 4-neighbour inside the patch of
// another label (background included).
std::vector<float> outlines_by_definition(const std::vector<int>& labels, int64_t n) {
  std::vector<float> out(labels.size(), 0.0f);
  for (int64_t y = 0; y < n; ++y) {
    for (int64_t x = 0; x < n; ++x) {
      const int l = labels[static_cast<size_t>(y * n + x)];
      if (l == 0) continue;
      const auto differs = [&](int64_t yy, int64_t xx) {
        return yy >= 0 && yy < n && xx >= 0 && xx < n && labels[static_cast<size_t>(yy * n + xx)] != l;
      };
      if (differs(y - 1, x) || differs(y + 1, x) || differs(y, x - 1) || differs(y, x + 1)) {
        out[static_cast<size_t>(y * n + x)] = 1.0f;
      }
    }
  }
  return out;
}

TEST(Augment, OutlineTargetsFollowTheNucleiThroughFlipsAndRotations) {
  const auto known = testing::known_sample(2, 24, 24);
  // The label rides along in the image's first channel (10 x label), so the augmented patch
  // says which nucleus each pixel shows.
  Sample s{known.id, known.image, known.union_mask, known.labels};
  ASSERT_FALSE(s.labels.empty());
  for (size_t i = 0; i < s.labels.size(); ++i) {
    s.image.pixels[i * 3] = static_cast<uint8_t>(10 * s.labels[i]);
  }
  const Normalization norm{{0, 0, 0}, {1, 1, 1}};
  int64_t outline_pixels = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    const int64_t n = seed % 2 == 0 ? 24 : 16;
    std::vector<float> image(static_cast<size_t>(3 * n * n)), mask(static_cast<size_t>(n * n)),
        contour(static_cast<size_t>(n * n));
    KeyedRandom rng{seed};
    make_training_patch(s, n, seed > 0 ? Augmentation{} : kNoAugmentation, rng, norm, image.data(), mask.data(), contour.data());
    std::vector<int> labels(static_cast<size_t>(n * n));
    for (size_t i = 0; i < labels.size(); ++i) {
      labels[i] = static_cast<int>(std::lround(image[i] * 255.0f / 10.0f));
      ASSERT_EQ(labels[i] != 0, mask[i] > 0.5f) << "seed " << seed << " pixel " << i;
    }
    ASSERT_EQ(contour, outlines_by_definition(labels, n)) << "seed " << seed;
    for (const float c : contour) outline_pixels += c > 0.5f;
  }
  EXPECT_GT(outline_pixels, 100) << "the sample should have outlines";
  Sample unlabelled{known.id, known.image, known.union_mask, {}};
  std::vector<float> image(3 * 16 * 16), mask(16 * 16), contour(16 * 16);
  KeyedRandom rng{1};
  EXPECT_THROW(make_training_patch(unlabelled, 16, Augmentation{}, rng, norm, image.data(), mask.data(),
                                   contour.data()),
               DataError);
}


// A single-channel h x w sample with one disc of `radius` around (cy, cx); the image is 255
// on the disc and 0 elsewhere, labels 1 on it.
Sample disc_sample(int64_t h, int64_t w, double cy, double cx, double radius) {
  Sample s;
  s.id = "disc";
  s.image = {h, w, 1, std::vector<uint8_t>(static_cast<size_t>(h * w), 0)};
  s.mask.assign(static_cast<size_t>(h * w), 0);
  s.labels.assign(static_cast<size_t>(h * w), 0);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      if ((y - cy) * (y - cy) + (x - cx) * (x - cx) > radius * radius) continue;
      const auto i = static_cast<size_t>(y * w + x);
      s.image.pixels[i] = 255;
      s.mask[i] = 1;
      s.labels[i] = 1;
    }
  }
  return s;
}

double sum(const std::vector<float>& v) {
  double total = 0;
  for (const float x : v) total += x;
  return total;
}

// Bilinear image and nearest mask agree wherever the image is clearly inside or outside: the
// nearest of the four source pixels weighs at least 1/4 in the bilinear sum (less OpenCV's
// 1/32 quantisation), so a pixel above 0.9 has a foreground nearest pixel, below 0.1 not.
TEST(Augment, ZoomAndRotationKeepImageMaskAndOutlinesAligned) {
  const Sample s = disc_sample(80, 72, 40, 30, 14);
  const Normalization norm{{0}, {1}};
  Augmentation a;
  a.scale_min = 0.5;
  a.scale_max = 2.0;
  a.rotation_deg = 180;
  std::set<std::vector<float>> distinct;
  int64_t decided = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::vector<float> image(32 * 32), mask(32 * 32), contour(32 * 32);
    KeyedRandom rng{seed};
    make_training_patch(s, 32, a, rng, norm, image.data(), mask.data(), contour.data());
    for (size_t i = 0; i < mask.size(); ++i) {
      if (image[i] > 0.9f) {
        ASSERT_EQ(mask[i], 1.0f) << "seed " << seed << " pixel " << i;
      }
      if (image[i] < 0.1f) {
        ASSERT_EQ(mask[i], 0.0f) << "seed " << seed << " pixel " << i;
      }
      decided += image[i] > 0.9f || image[i] < 0.1f;
      if (contour[i] > 0.5f) {
        ASSERT_EQ(mask[i], 1.0f) << "outlines lie on nuclei";
      }
    }
    distinct.insert(mask);
  }
  EXPECT_GT(decided, 40 * 32 * 32 * 9 / 10);
  EXPECT_GT(distinct.size(), 30u) << "zoom and rotation should vary";
}

// A ramp of 4 grey levels per pixel seen at zoom 2 climbs 2 levels per pixel, at zoom 0.5 8
// (within one level: the resampled image is rounded to 8 bits).
TEST(Augment, ZoomScalesDistancesByItsFactor) {
  Sample ramp;
  ramp.id = "ramp";
  ramp.image = {48, 60, 1, std::vector<uint8_t>(48 * 60)};
  for (int64_t y = 0; y < 48; ++y)
    for (int64_t x = 0; x < 60; ++x) ramp.image.pixels[static_cast<size_t>(y * 60 + x)] = 4 * x;
  ramp.mask.assign(48 * 60, 0);
  const Normalization norm{{0}, {1}};
  for (const double zoom : {2.0, 0.5}) {
    Augmentation a{/*flips=*/false};
    a.scale_min = a.scale_max = zoom;
    const int64_t patch = zoom > 1 ? 32 : 16;  // inside the image: 16 or 32 source pixels
    std::vector<float> image(static_cast<size_t>(patch * patch)), mask(image.size());
    KeyedRandom rng{3};
    make_training_patch(ramp, patch, a, rng, norm, image.data(), mask.data());
    for (int64_t y = 0; y < patch; ++y) {
      for (int64_t x = 0; x + 1 < patch; ++x) {
        const float step = (image[static_cast<size_t>(y * patch + x + 1)] -
                            image[static_cast<size_t>(y * patch + x)]) * 255.0f;
        ASSERT_NEAR(step, 4.0 / zoom, 1.0 + 1e-3) << "zoom " << zoom << " at " << y << "," << x;
      }
    }
  }
}

// Rotation keeps a nucleus's area, a zoom by 2 multiplies it by 4; the outline stays within a
// pixel of the disc's edge, so the area is bounded by the disc's perimeter in closed form.
TEST(Augment, RotationKeepsAreasAndZoomScalesThemBySquare) {
  const double radius = 12;
  const Sample s = disc_sample(96, 96, 48, 48, radius);
  const Normalization norm{{0}, {1}};
  for (const double zoom : {1.0, 2.0}) {
    Augmentation a;
    a.rotation_deg = 180;
    a.scale_min = a.scale_max = zoom;
    a.foreground_fraction = 1;  // the disc is in every patch, and whole (128 > 2 * 2 * 2 * 12)
    for (uint64_t seed = 0; seed < 10; ++seed) {
      std::vector<float> image(128 * 128), mask(128 * 128);
      KeyedRandom rng{seed};
      make_training_patch(s, 128, a, rng, norm, image.data(), mask.data());
      const double r = radius * zoom, area = kPi * r * r;
      EXPECT_NEAR(sum(mask), area, 2 * kPi * (r + 1) * zoom) << "zoom " << zoom;
    }
  }
}

// Patches centred on foreground always show some; plain crops of a large image mostly miss
// its one small nucleus.
TEST(Augment, ForegroundFractionCentresPatchesOnNuclei) {
  const Sample s = disc_sample(200, 180, 150, 40, 4);
  const Normalization norm{{0}, {1}};
  for (const bool geometric : {false, true}) {
    int64_t with_foreground = 0, without_fraction = 0;
    for (uint64_t seed = 0; seed < 50; ++seed) {
      std::vector<float> image(32 * 32), mask(32 * 32);
      Augmentation a;
      if (geometric) a.rotation_deg = 30;
      a.foreground_fraction = 1;
      KeyedRandom rng{seed};
      make_training_patch(s, 32, a, rng, norm, image.data(), mask.data());
      with_foreground += sum(mask) > 0;
      a.foreground_fraction = 0;
      KeyedRandom plain{seed};
      make_training_patch(s, 32, a, plain, norm, image.data(), mask.data());
      without_fraction += sum(mask) > 0;
    }
    EXPECT_EQ(with_foreground, 50) << "geometric " << geometric;
    EXPECT_LT(without_fraction, 15) << "geometric " << geometric;
  }
}

// recolour_patch with one change forced at a time, against the change by hand.
TEST(Photometric, EachChangeAsDefined) {
  const Normalization norm{{0.2, 0.3, 0.4}, {0.5, 0.25, 0.2}};
  const int64_t patch = 8, plane = 64;
  std::vector<float> raw(3 * plane);  // values in [0, 1]
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<float>((i * 37 % 101) / 100.0);
  const auto normalised = [&](std::vector<float> v) {
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < plane; ++i) {
        float& x = v[static_cast<size_t>(c * plane + i)];
        x = static_cast<float>((x - norm.mean[static_cast<size_t>(c)]) / norm.std[static_cast<size_t>(c)]);
      }
    return v;
  };
  const auto recoloured = [&](PhotometricRanges r) {
    std::vector<float> v = normalised(raw);
    KeyedRandom rng{9};
    recolour_patch(v.data(), 3, patch, norm, rng, r);
    for (int64_t c = 0; c < 3; ++c)  // back to [0, 1]
      for (int64_t i = 0; i < plane; ++i) {
        float& x = v[static_cast<size_t>(c * plane + i)];
        x = static_cast<float>(x * norm.std[static_cast<size_t>(c)] + norm.mean[static_cast<size_t>(c)]);
      }
    return v;
  };
  PhotometricRanges none;
  none.grey_chance = none.colour_chance = none.invert_chance = none.brightness_chance = 0;
  none.contrast_chance = none.gamma_chance = none.blur_chance = none.noise_chance = 0;
  const auto expect_near = [](const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
  };
  expect_near(recoloured(none), raw);

  PhotometricRanges invert = none;
  invert.invert_chance = 1;
  std::vector<float> inverted = raw;
  for (float& x : inverted) x = 1 - x;
  expect_near(recoloured(invert), inverted);

  PhotometricRanges grey = none;
  grey.grey_chance = 1;
  const auto g = recoloured(grey);
  for (int64_t i = 0; i < plane; ++i) {
    const double mean = (raw[i] + raw[plane + i] + raw[2 * plane + i]) / 3.0;
    for (int64_t c = 0; c < 3; ++c) ASSERT_NEAR(g[c * plane + i], mean, 1e-5);
  }

  // One parameter for every pixel of raw values in [lo, hi]: `of(raw, changed)` must agree
  // across them (within `tolerance`); returns it.
  const auto common = [&](const std::vector<float>& changed, float lo, float hi, double tolerance,
                          const std::function<double(double, double)>& of) {
    double value = -1;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] < lo || raw[i] > hi) continue;
      const double v = of(raw[i], changed[i]);
      if (value < 0) value = v;
      EXPECT_NEAR(v, value, tolerance) << i;
    }
    return value;
  };
  // Brightness: one gain, within the range (compare where raw <= 0.8: no clip at 1 up to 1.25).
  PhotometricRanges bright = none;
  bright.brightness_chance = 1;
  const double gain =
      common(recoloured(bright), 0.05f, 0.8f, 1e-4, [](double r, double c) { return c / r; });
  EXPECT_GE(gain, 0.75 - 1e-6);
  EXPECT_LE(gain, 1.25 + 1e-6);

  // Gamma: one exponent, within [0.7, 1.5].
  PhotometricRanges gamma = none;
  gamma.gamma_chance = 1;
  const double exponent = common(recoloured(gamma), 0.05f, 0.95f, 1e-3,
                                 [](double r, double c) { return std::log(c) / std::log(r); });
  EXPECT_GE(exponent, 0.7 - 1e-3);
  EXPECT_LE(exponent, 1.5 + 1e-3);

  // Blur keeps each channel's mean (reflected border: within 10 % on 8 x 8) and lowers the spread.
  PhotometricRanges blur = none;
  blur.blur_chance = 1;
  const auto blurred = recoloured(blur);
  for (int64_t c = 0; c < 3; ++c) {
    double m0 = 0, m1 = 0, v0 = 0, v1 = 0;
    for (int64_t i = 0; i < plane; ++i) m0 += raw[c * plane + i], m1 += blurred[c * plane + i];
    m0 /= plane, m1 /= plane;
    for (int64_t i = 0; i < plane; ++i) {
      v0 += std::pow(raw[c * plane + i] - m0, 2);
      v1 += std::pow(blurred[c * plane + i] - m1, 2);
    }
    EXPECT_NEAR(m1, m0, 0.1 * m0);
    EXPECT_LT(v1, 0.8 * v0);
  }
}

// The whole recipe is a pure function of the keys (resume and world-size independence rest on
// it), keeps values in the normalised [0, 1] range, and leaves the mask to the geometry.
TEST(Augment, TheRecipeIsReproducibleAndPhotometryLeavesTheMask) {
  const auto known = testing::known_sample(3, 70, 90);
  const Sample s{known.id, known.image, known.union_mask, known.labels};
  const Normalization norm{{0.5, 0.4, 0.3}, {0.2, 0.25, 0.5}};
  Augmentation recipe;
  recipe.scale_min = 0.5;
  recipe.scale_max = 2;
  recipe.rotation_deg = 180;
  recipe.photometric = true;
  recipe.foreground_fraction = 0.5;
  Augmentation geometry_only = recipe;
  geometry_only.photometric = false;
  int64_t recoloured = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<float> i1(3 * 48 * 48), m1(48 * 48), c1(48 * 48), i2 = i1, m2 = m1, c2 = c1,
                                                                i3 = i1, m3 = m1;
    KeyedRandom r1{seed, 7}, r2{seed, 7}, r3{seed, 7};
    make_training_patch(s, 48, recipe, r1, norm, i1.data(), m1.data(), c1.data());
    make_training_patch(s, 48, recipe, r2, norm, i2.data(), m2.data(), c2.data());
    make_training_patch(s, 48, geometry_only, r3, norm, i3.data(), m3.data());
    ASSERT_EQ(i1, i2);
    ASSERT_EQ(m1, m2);
    ASSERT_EQ(c1, c2);
    ASSERT_EQ(m1, m3) << "seed " << seed;
    recoloured += i1 != i3;
    for (int64_t c = 0; c < 3; ++c) {
      const double lo = (0 - norm.mean[c]) / norm.std[c], hi = (1 - norm.mean[c]) / norm.std[c];
      for (int64_t i = 0; i < 48 * 48; ++i) {
        ASSERT_GE(i1[c * 48 * 48 + i], lo - 1e-5);
        ASSERT_LE(i1[c * 48 * 48 + i], hi + 1e-5);
      }
    }
  }
  EXPECT_GT(recoloured, 10);
}

}  // namespace
}  // namespace dunet::data
