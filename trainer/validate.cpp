#include "trainer/validate.h"

#include "model/predict.h"

namespace dunet::trainer {

torch::Tensor image_tensor(const data::Image& image, const data::Normalization& norm,
                           const torch::Device& device) {
  std::vector<float> chw = data::normalize_chw(image, norm);
  return torch::from_blob(chw.data(), {1, image.channels, image.height, image.width},
                          torch::kFloat32)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

model::MetricTotals validate(model::UNet& model, const data::ShardSet& samples,
                             const data::Normalization& norm, const ValidationConfig& config,
                             launcher::Communicator& comm, const torch::Device& device) {
  const bool was_training = model->is_training();
  model->eval();
  model::MetricTotals local;
  for (int64_t i = comm.rank(); i < samples.size(); i += comm.size()) {
    const data::Sample sample = samples.read(i);
    const torch::Tensor input = image_tensor(sample.image, norm, device);
    const torch::Tensor target =
        torch::from_blob(const_cast<uint8_t*>(sample.mask.data()),
                         {1, 1, sample.image.height, sample.image.width}, torch::kUInt8)
            .to(device, torch::kFloat32);
    const torch::Tensor logits = model::predict_logits(model, input, config.tile_size);
    local.add(model::image_metrics(logits, target, config.threshold));
  }
  model->train(was_training);
  const auto local_array = local.to_array();
  const auto summed = comm.all_reduce_sum({local_array.begin(), local_array.end()});
  std::array<double, 5> totals{};
  std::copy(summed.begin(), summed.end(), totals.begin());
  return model::MetricTotals::from_array(totals);
}

}  // namespace dunet::trainer
