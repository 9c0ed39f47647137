#include "trainer/validate.h"

#include "infer/image_tensor.h"
#include "infer/sliding_window.h"

namespace dunet::trainer {

model::MetricTotals validate(model::UNet& model, const data::ShardSet& samples,
                             const data::Normalization& norm, const ValidationConfig& config,
                             launcher::Communicator& comm, const torch::Device& device) {
  const bool was_training = model->is_training();
  model->eval();
  model::MetricTotals local;
  for (int64_t i = comm.rank(); i < samples.size(); i += comm.size()) {
    const data::Sample sample = samples.read(i);
    const torch::Tensor input = infer::image_tensor(sample.image, norm, device);
    const torch::Tensor target =
        torch::from_blob(const_cast<uint8_t*>(sample.mask.data()),
                         {1, 1, sample.image.height, sample.image.width}, torch::kUInt8)
            .to(device, torch::kFloat32);
    const torch::Tensor logits = infer::predict_logits(model, input, {config.tile_size});
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
