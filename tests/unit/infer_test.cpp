// Prediction at any size (infer/sliding_window.h): where windows go, how they are weighted and
// blended, and test-time augmentation. Oracles: closed forms, and functions whose whole-image
// value is known exactly (a pointwise "network").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "infer/sliding_window.h"
#include "model/unet.h"

namespace dunet::infer {
namespace {

constexpr double kFloatEps = std::numeric_limits<float>::epsilon();

TEST(SlidingWindow, StartsAreSymmetricAndNeverFurtherApartThanHalfATile) {
  EXPECT_EQ(window_starts(200, 256, 0.5), (std::vector<int64_t>{0}));
  EXPECT_EQ(window_starts(256, 256, 0.5), (std::vector<int64_t>{0}));
  // Span 744, at most 128 apart: 6 gaps of 124.
  EXPECT_EQ(window_starts(1000, 256, 0.5), (std::vector<int64_t>{0, 124, 248, 372, 496, 620, 744}));
  EXPECT_EQ(window_starts(257, 256, 0.5), (std::vector<int64_t>{0, 1}));
  for (const int64_t length : {65, 100, 127, 333, 1024, 1389, 12000}) {
    for (const int64_t tile : {32, 64, 96, 512}) {
      if (length <= tile) continue;
      const auto starts = window_starts(length, tile, 0.5);
      const int64_t span = length - tile, gaps = static_cast<int64_t>(starts.size()) - 1;
      EXPECT_EQ(starts.front(), 0);
      EXPECT_EQ(starts.back(), span);
      const int64_t fewest = (span + tile / 2 - 1) / (tile / 2);
      EXPECT_GE(gaps, fewest);
      EXPECT_LE(gaps, fewest + 2) << "at most two windows more than the fewest that cover";
      for (size_t i = 0; i < starts.size(); ++i) {
        EXPECT_EQ(starts[i] + starts[starts.size() - 1 - i], span) << "mirror image";
        if (i > 0) {
          EXPECT_LE(starts[i] - starts[i - 1], tile / 2);
          EXPECT_GT(starts[i], starts[i - 1]);
        }
      }
    }
  }
}

TEST(SlidingWindow, GaussianWeightsHaveSigmaOneEighthOfTheWindow) {
  const auto w = gaussian_window_weights(33, 64).to(torch::kFloat64)[0][0];
  EXPECT_DOUBLE_EQ(w.max().item<double>(), w[16][31].item<double>());  // centre row, both middles
  EXPECT_TRUE(torch::equal(w, w.flip({0})));
  EXPECT_TRUE(torch::equal(w, w.flip({1})));
  EXPECT_GE(w.min().item<double>(), static_cast<double>(1e-6f));
  const double sigma_y = 33.0 / 8, sigma_x = 64.0 / 8;
  for (const int64_t dy : {0, 3, 8}) {
    for (const int64_t dx : {0, 5, 12}) {
      const double dcx = static_cast<double>(31 + dx) - 31.5;
      const double expected = std::exp(-(dy * dy) / (2 * sigma_y * sigma_y) -
                                       (dcx * dcx - 0.25) / (2 * sigma_x * sigma_x));
      EXPECT_NEAR(w[16 + dy][31 + dx].item<double>(), expected, 4 * kFloatEps * expected);
    }
  }
  // Transposing the window transposes its weights, bit for bit (rotations in TTA rely on it).
  EXPECT_TRUE(torch::equal(gaussian_window_weights(20, 36)[0][0].t(),
                           gaussian_window_weights(36, 20)[0][0]));
}

TEST(SlidingWindow, SymmetriesAndTheirInversesAreExactPermutations) {
  const auto x = torch::arange(2 * 3 * 4 * 5, torch::kFloat32).view({2, 3, 4, 5});
  std::vector<torch::Tensor> seen;
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(torch::equal(inverse_dihedral(dihedral(x, i), i), x)) << i;
    const auto square = torch::arange(16, torch::kFloat32).view({1, 1, 4, 4});
    const auto image = dihedral(square, i);
    for (const auto& other : seen) EXPECT_FALSE(torch::equal(image, other)) << i;
    seen.push_back(image);
  }
}

// A "network" that acts on each pixel alone: tiled or whole, test-time augmented or not, the
// blended logits equal it up to the rounding of a weighted mean of equal values.
torch::Tensor pointwise(const torch::Tensor& x) {
  return torch::cat({(x * 2).sum(1, true), torch::sin(x).sum(1, true)}, 1);
}

struct Band {
  int64_t y, rows;
};

TEST(SlidingWindow, TiledBlendOfAPointwiseNetworkEqualsTheWholeImage) {
  torch::manual_seed(3);
  const auto image = torch::randn({1, 3, 301, 203});
  const auto expected = pointwise(image);
  for (const bool tta : {false, true}) {
    std::vector<Band> bands;
    torch::Tensor result = torch::full({2, 301, 203}, std::nan(""));
    int64_t reads = 0;
    predict_in_windows(
        pointwise, 301, 203, 16,
        [&](int64_t y, int64_t x, int64_t h, int64_t w) {
          EXPECT_EQ(h, 64);  // 70 rounds down to the size multiple
          EXPECT_EQ(w, 64);
          ++reads;
          return image.narrow(2, y, h).narrow(3, x, w);
        },
        [&](int64_t y, const torch::Tensor& rows) {
          bands.push_back({y, rows.size(1)});
          result.narrow(1, y, rows.size(1)).copy_(rows);
        },
        {70, 0.5, tta});
    EXPECT_EQ(reads, static_cast<int64_t>(window_starts(301, 64, 0.5).size() *
                                          window_starts(203, 64, 0.5).size()));
    // Bands arrive top to bottom, touch, cover every row, and none is taller than a window.
    int64_t next = 0;
    for (const Band& b : bands) {
      EXPECT_EQ(b.y, next);
      EXPECT_LE(b.rows, 64);
      next += b.rows;
    }
    EXPECT_EQ(next, 301);
    // Each value is a weighted mean of at most 9 equal terms, summed in float32.
    const auto error = (result - expected[0]).abs();
    const auto bound = 32 * kFloatEps * expected[0].abs().clamp_min(1);
    EXPECT_TRUE((error <= bound).all().item<bool>())
        << "tta " << tta << ": largest error " << (error - bound).max().item<double>();
  }
}

model::ModelConfig small_unet() {
  model::ModelConfig c;
  c.base_channels = 4;
  c.depth = 2;
  return c;
}

TEST(SlidingWindow, OneWindowGivesTheWholeImagePredictionUnchanged) {
  torch::manual_seed(1);
  model::UNet net(small_unet());
  net->eval();
  torch::NoGradGuard no_grad;
  const auto image = torch::randn({1, 3, 50, 70});
  EXPECT_TRUE(torch::equal(predict_logits(net, image, {128}), net->forward(image)));
}

// TTA averages over a group, and the windows are placed symmetrically, so the augmented
// prediction of a flipped or rotated image is the flipped or rotated prediction, up to the
// order of the float32 sums. A plain network is not: the check has teeth.
TEST(SlidingWindow, TestTimeAugmentationMakesPredictionsEquivariant) {
  torch::manual_seed(2);
  model::UNet net(small_unet());
  net->eval();
  torch::NoGradGuard no_grad;
  const auto image = torch::randn({1, 3, 72, 100});
  for (const int64_t tile : {128, 32}) {  // one window, then 3 x 5 windows
    const auto plain = predict_logits(net, image, {tile, 0.5, false});
    const auto augmented = predict_logits(net, image, {tile, 0.5, true});
    const double scale = augmented.abs().max().item<double>();
    for (const int i : {1, 4, 6}) {
      const auto of_transformed = predict_logits(net, dihedral(image, i), {tile, 0.5, true});
      const double error = (of_transformed - dihedral(augmented, i)).abs().max().item<double>();
      EXPECT_LE(error, 64 * kFloatEps * scale) << "tile " << tile << " symmetry " << i;
      const auto plain_transformed = predict_logits(net, dihedral(image, i), {tile, 0.5, false});
      EXPECT_GT((plain_transformed - dihedral(plain, i)).abs().max().item<double>(),
                1000 * kFloatEps * scale);
    }
  }
}

}  // namespace
}  // namespace dunet::infer
