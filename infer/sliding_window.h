// Prediction at any size, as nnU-Net does it: overlapping windows (step half a tile) whose
// logits are blended with Gaussian weights (sigma = tile/8 per axis), so that each pixel is
// decided mostly by windows that see it near their centre. Optional test-time augmentation
// averages the logits of the 8 flips and rotations of each window. The result is produced a
// band of rows at a time: memory grows with the tile and the image's width, never its height.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "model/unet.h"

namespace dunet::infer {

struct WindowOptions {
  int64_t tile_size = 512;  // rounded down to the model's size multiple
  double step = 0.5;        // window spacing as a fraction of the tile (at most)
  bool tta = false;         // average over the 8 flips/rotations of each window
};

// [1, C, h, w] normalised input -> [1, K, h, w] logits.
using LogitsFunction = std::function<torch::Tensor(const torch::Tensor&)>;
// The normalised input window at rows [y, y + h) and columns [x, x + w): [1, C, h, w].
using WindowReader = std::function<torch::Tensor(int64_t y, int64_t x, int64_t h, int64_t w)>;
// Finished logits for rows [y, y + rows.size(1)) of the whole width: [K, rows, width].
using RowSink = std::function<void(int64_t y, const torch::Tensor& rows)>;

// Window origins along one axis: evenly spaced from 0 to length - tile, no further apart than
// step * tile, so the windows cover the axis symmetrically. One origin, 0, when it fits.
std::vector<int64_t> window_starts(int64_t length, int64_t tile, double step);

// exp(-(dy^2 / 2 sy^2 + dx^2 / 2 sx^2)) about the window's centre with s = size / 8, scaled to a
// maximum of 1 and kept >= 1e-6 so that every pixel has some weight. [1, 1, h, w], float32.
torch::Tensor gaussian_window_weights(int64_t height, int64_t width);

// The 8 symmetries of the square (index 0 is the identity), applied to dims 2 and 3, and their
// inverses: inverse_dihedral(dihedral(x, i), i) == x.
torch::Tensor dihedral(const torch::Tensor& x, int index);
torch::Tensor inverse_dihedral(const torch::Tensor& x, int index);

// `logits` averaged over the 8 symmetries: mean_i inverse_i(logits(transform_i(x))).
LogitsFunction with_test_time_augmentation(LogitsFunction logits);

// Predicts a height x width image window by window (WindowOptions) and hands each band of
// finished rows to `sink`, top to bottom. Where one window covers the image, `sink` gets
// `logits` of the whole image unchanged. Runs without autograd.
void predict_in_windows(const LogitsFunction& logits, int64_t height, int64_t width,
                        int64_t size_multiple, const WindowReader& read, const RowSink& sink,
                        const WindowOptions& options);

// The same for an image already in memory ([1, C, H, W], normalised), with `model` as it is
// (the caller chooses eval mode). Returns [1, out_channels, H, W].
torch::Tensor predict_logits(model::UNet& model, const torch::Tensor& image,
                             const WindowOptions& options);

}  // namespace dunet::infer
