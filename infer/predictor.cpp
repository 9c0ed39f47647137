#include "infer/predictor.h"

#include <thread>

#include "checkpoint/durable_file.h"
#include "checkpoint/format.h"
#include "infer/image_tensor.h"
#include "infer/tiled_prediction.h"
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

data::Image Predictor::predict_mask(const data::Image& image, double threshold,
                                    int64_t tile_size) const {
  const torch::Tensor input = image_tensor(image, impl_->norm, impl_->device);
  const torch::Tensor logits = predict_logits(impl_->model, input, tile_size);
  const double t = std::clamp(threshold, 1e-7, 1.0 - 1e-7);
  const torch::Tensor mask =
      (logits[0][0] > std::log(t / (1.0 - t))).to(torch::kCPU, torch::kUInt8).contiguous();
  data::Image out;
  out.height = image.height;
  out.width = image.width;
  out.channels = 1;
  out.pixels.assign(mask.data_ptr<uint8_t>(), mask.data_ptr<uint8_t>() + mask.numel());
  return out;
}

}  // namespace dunet::infer
