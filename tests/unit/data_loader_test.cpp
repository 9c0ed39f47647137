// The sampler and loader: coverage, disjoint rank slices, determinism, world-size
// independence, and augmentations that keep image and mask aligned.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "data/loader.h"
#include "data/prepare.h"
#include "tests/fixtures/fixtures.h"

namespace dunet::data {
namespace {

namespace fs = std::filesystem;

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
  make_training_patch(s, 16, /*augment=*/false, rng, norm, image.data(), mask.data());
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
  make_training_patch(s, 32, true, rng, norm, image.data(), mask.data());
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
    make_training_patch(s, 16, true, rng, norm, image.data(), mask.data());
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
    make_training_patch(s, n, seed > 0, rng, norm, image.data(), mask.data(), contour.data());
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
  EXPECT_THROW(make_training_patch(unlabelled, 16, true, rng, norm, image.data(), mask.data(),
                                   contour.data()),
               DataError);
}

}  // namespace
}  // namespace dunet::data
