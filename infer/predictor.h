// `dunet infer`: a trained checkpoint applied to images of any size and channel count.
// Free of LibTorch in its interface so that apps/ stays a thin, fast-to-build layer.
#pragma once

#include <filesystem>
#include <memory>

#include "checkpoint/summary.h"
#include "data/labels.h"
#include "data/sample.h"
#include "kernels/numerics.h"

namespace dunet::infer {

struct PredictOptions {
  double threshold = 0.5;   // foreground probability
  // Larger images are predicted in Gaussian-blended windows of this size; 0 = the patch size
  // the model was trained on (Predictor::window_size).
  int64_t tile_size = 0;
  bool tta = false;         // average over the 8 flips and rotations
  bool nuclei = true;       // Predictor::predict labels the nuclei too
  int64_t min_nucleus_area = 15;  // smaller ones merge into a neighbour or go (data::find_nuclei)
};

// What one image gives: the foreground, and the nuclei in it.
struct Prediction {
  data::Image mask;     // 0/1, channels = 1
  data::Image outline;  // outline probability 0..255 (channels = 1); empty for a 1-output model
  // One label per nucleus (data::find_nuclei): the watershed of the outlines from the cores
  // for a model with an outline channel, else the connected components of the foreground;
  // nuclei under PredictOptions::min_nucleus_area pixels merged into a neighbour or removed.
  data::LabelImage nuclei;
};

class Predictor {
 public:
  // Loads the checkpoint (weights and normalisation); `threads` 0 = all cores. `numerics`
  // chooses the convolution path and CPU allocator (kernels::apply_numerics).
  explicit Predictor(const std::filesystem::path& checkpoint, int64_t threads = 0,
                     const kernels::NumericsSettings& numerics = {});
  ~Predictor();

  int64_t in_channels() const;
  const checkpoint::CheckpointSummary& summary() const;
  // What computes the predictions here, and what computed the weights (may be empty).
  const kernels::NumericsReport& numerics() const;
  const std::string& trained_with_numerics() const;

  // Returns a height x width mask with values 0/1 (channels = 1) for an image with
  // in_channels() channels (infer/sliding_window.h). Beyond the image and the mask, memory
  // grows with the tile and the image's width only.
  data::Image predict_mask(const data::Image& image, const PredictOptions& options) const;
  // The mask, the outlines where the model has them, and the nuclei.
  Prediction predict(const data::Image& image, const PredictOptions& options) const;
  bool predicts_outlines() const;  // model.out_channels == 2
  // The window options.tile_size asks for, or by default the training patch size recorded in
  // the checkpoint (kFallbackWindow where it records none). GroupNorm and InstanceNorm
  // normalise over what the network sees, so windows of another size than the training
  // patches change their statistics: 512-pixel windows on a model trained on 256-pixel
  // patches marked an embryo's yolk as nuclei (docs/inference.md).
  int64_t window_size(const PredictOptions& options) const;
  int64_t trained_patch_size() const;  // 0 where the checkpoint does not record it
  const std::string& trained_config_toml() const;  // the training run's resolved config
  static constexpr int64_t kFallbackWindow = 512;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dunet::infer
