#include "infer/predictor.h"

#include <thread>

#include "checkpoint/durable_file.h"
#include "checkpoint/format.h"
#include "infer/image_tensor.h"
#include "infer/sliding_window.h"
#include "kernels/compute_threads.h"

namespace dunet::infer {

using checkpoint::CheckpointMeta;
using checkpoint::CheckpointSummary;
using checkpoint::load_checkpoint;
using checkpoint::read_checkpoint_meta;

struct Predictor::Impl {
  model::UNet model{nullptr};
  CheckpointMeta meta;
  CheckpointSummary summary;
  data::Normalization norm;
  torch::Device device{torch::kCPU};
  kernels::NumericsReport numerics;
};

Predictor::Predictor(const std::filesystem::path& checkpoint, int64_t threads,
                     const kernels::NumericsSettings& numerics)
    : impl_(std::make_unique<Impl>()) {
  kernels::set_compute_threads(threads > 0 ? static_cast<int>(threads)
                                           : static_cast<int>(std::thread::hardware_concurrency()));
  impl_->numerics = kernels::apply_numerics(numerics);
  checkpoint::require_intact(checkpoint);  // as `train --resume` does: no damaged weights
  impl_->meta = read_checkpoint_meta(checkpoint);
  impl_->model = model::UNet(impl_->meta.model);
  load_checkpoint(checkpoint, impl_->model, nullptr);
  if (torch::cuda::is_available()) impl_->device = torch::Device(torch::kCUDA, 0);
  impl_->model->to(impl_->device);
  impl_->model->eval();
  impl_->norm = {impl_->meta.mean, impl_->meta.std};
  const CheckpointMeta& m = impl_->meta;
  impl_->summary = {m.epoch,    m.global_step,       m.world_size,          m.best_iou,
                    m.last_iou, m.model.in_channels, m.model.base_channels, m.model.depth};
}

Predictor::~Predictor() = default;

int64_t Predictor::in_channels() const { return impl_->meta.model.in_channels; }

const CheckpointSummary& Predictor::summary() const { return impl_->summary; }

const kernels::NumericsReport& Predictor::numerics() const { return impl_->numerics; }

const std::string& Predictor::trained_with_numerics() const { return impl_->meta.numerics; }

bool Predictor::predicts_outlines() const { return impl_->meta.model.out_channels >= 2; }

int64_t Predictor::trained_patch_size() const { return impl_->meta.patch_size; }

const std::string& Predictor::trained_config_toml() const { return impl_->meta.config_toml; }

int64_t Predictor::window_size(const PredictOptions& options) const {
  if (options.tile_size > 0) return options.tile_size;
  return impl_->meta.patch_size > 0 ? impl_->meta.patch_size : kFallbackWindow;
}

data::Image Predictor::predict_mask(const data::Image& image, const PredictOptions& options) const {
  PredictOptions mask_only = options;
  mask_only.nuclei = false;
  return predict(image, mask_only).mask;
}

namespace {

data::Image single_channel(int64_t height, int64_t width) {
  data::Image map;
  map.height = height;
  map.width = width;
  map.channels = 1;
  map.pixels.resize(static_cast<size_t>(height * width));
  return map;
}

void copy_rows(const torch::Tensor& band, data::Image& into, int64_t y) {
  const torch::Tensor contiguous = band.to(torch::kCPU, torch::kUInt8).contiguous();
  std::copy_n(contiguous.data_ptr<uint8_t>(), contiguous.numel(),
              into.pixels.begin() + static_cast<std::ptrdiff_t>(y * into.width));
}

}  // namespace

Prediction Predictor::predict(const data::Image& image, const PredictOptions& options) const {
  const double t = std::clamp(options.threshold, 1e-7, 1.0 - 1e-7);
  const double logit_threshold = std::log(t / (1.0 - t));
  const bool outlines = predicts_outlines();
  Prediction prediction;
  prediction.mask = single_channel(image.height, image.width);
  if (outlines) prediction.outline = single_channel(image.height, image.width);
  model::UNet& model = impl_->model;
  predict_in_windows(
      [&](const torch::Tensor& x) { return model->forward(x); }, image.height, image.width,
      model->size_multiple(),
      [&](int64_t y, int64_t x, int64_t h, int64_t w) {
        return image_window_tensor(image, impl_->norm, impl_->device, y, x, h, w);
      },
      [&](int64_t y, const torch::Tensor& rows) {
        copy_rows(rows[0] > logit_threshold, prediction.mask, y);
        if (outlines) copy_rows((torch::sigmoid(rows[1]) * 255).round(), prediction.outline, y);
      },
      {window_size(options), 0.5, options.tta});
  if (options.nuclei) {
    prediction.nuclei =
        data::find_nuclei(prediction.mask, prediction.outline, options.min_nucleus_area);
  }
  return prediction;
}

}  // namespace dunet::infer
