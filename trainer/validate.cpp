#include "trainer/validate.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
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

// The nuclei of one image's logits [1, K, H, W], found as `dunet infer` finds them
// (infer::Predictor::predict).
data::LabelImage predicted_nuclei(const torch::Tensor& logits, const ValidationConfig& config) {
  const double t = std::clamp(config.threshold, 1e-7, 1.0 - 1e-7);
  const data::Image mask = to_image(logits[0][0] > std::log(t / (1.0 - t)));
  const data::Image outline = logits.size(1) >= 2
                                  ? to_image((torch::sigmoid(logits[0][1]) * 255).round())
                                  : data::Image{};
  return data::find_nuclei(mask, outline, config.min_nucleus_area);
}

// The nuclei of a sample: its labels or, in shards written before labels were, the connected
// components of its mask.
data::LabelImage true_nuclei(const data::Sample& sample) {
  if (sample.labels.empty()) {
    return data::connected_components({sample.image.height, sample.image.width, 1, sample.mask});
  }
  data::LabelImage nuclei{sample.image.height, sample.image.width, 0,
                          {sample.labels.begin(), sample.labels.end()}};
  for (const int32_t label : nuclei.labels) nuclei.count = std::max(nuclei.count, label);
  return nuclei;
}

}  // namespace

model::MetricTotals validate(model::UNet& model, const data::ShardSet& samples,
                             const data::Normalization& norm, const ValidationConfig& config,
                             launcher::Communicator& comm, const torch::Device& device,
                             ValidationPictures* pictures) {
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
    const bool picture_due =
        pictures != nullptr && static_cast<int64_t>(pictures->rows.size()) < pictures->wanted;
    if (!sample.labels.empty() || picture_due) {
      const data::LabelImage nuclei = predicted_nuclei(logits, config);
      if (!sample.labels.empty()) {
        image.dsb_score_sum =
            model::dsb_instance_score({sample.labels.begin(), sample.labels.end()}, nuclei.labels)
                .score();
        image.scored_images = 1;
      }
      if (picture_due) {
        pictures->rows.push_back({fmt::format("val {}: IoU {:.2f}", i, image.iou()), sample.image,
                                  true_nuclei(sample), nuclei});
      }
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
