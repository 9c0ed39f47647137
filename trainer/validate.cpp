#include "trainer/validate.h"

#include <cmath>

#include "data/labels.h"
#include "infer/image_tensor.h"
#include "infer/sliding_window.h"
#include "model/instance_score.h"

namespace dunet::trainer {

namespace {

data::Image to_image(const torch::Tensor& map) {  // [H, W] uint8
  const torch::Tensor contiguous = map.to(torch::kCPU, torch::kUInt8).contiguous();
  data::Image image;
  image.height = contiguous.size(0);
  image.width = contiguous.size(1);
  image.channels = 1;
  image.pixels.assign(contiguous.data_ptr<uint8_t>(),
                      contiguous.data_ptr<uint8_t>() + contiguous.numel());
  return image;
}

// The DSB2018 score of one image's logits [1, K, H, W] against its nucleus labels, with the
// nuclei found as `dunet infer` finds them (infer::Predictor::predict).
double dsb_score(const torch::Tensor& logits, const std::vector<uint16_t>& labels,
                 double threshold) {
  const double t = std::clamp(threshold, 1e-7, 1.0 - 1e-7);
  const data::Image mask = to_image(logits[0][0] > std::log(t / (1.0 - t)));
  const data::LabelImage nuclei =
      logits.size(1) >= 2
          ? data::split_nuclei(mask, to_image((torch::sigmoid(logits[0][1]) * 255).round()))
          : data::connected_components(mask);
  return model::dsb_instance_score({labels.begin(), labels.end()}, nuclei.labels).score();
}

}  // namespace

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
    // The foreground is channel 0; a second channel holds the nuclei's outlines.
    model::MetricTotals image = model::image_metrics(logits.narrow(1, 0, 1), target, config.threshold);
    if (!sample.labels.empty()) {
      image.dsb_score_sum = dsb_score(logits, sample.labels, config.threshold);
      image.scored_images = 1;
    }
    local.add(image);
  }
  model->train(was_training);
  const auto local_array = local.to_array();
  const auto summed = comm.all_reduce_sum({local_array.begin(), local_array.end()});
  std::array<double, 7> totals{};
  std::copy(summed.begin(), summed.end(), totals.begin());
  return model::MetricTotals::from_array(totals);
}

}  // namespace dunet::trainer
