#include "model/metrics.h"

#include <cmath>

namespace dunet::model {

void MetricTotals::add(const MetricTotals& o) {
  true_positives += o.true_positives;
  false_positives += o.false_positives;
  false_negatives += o.false_negatives;
  image_iou_sum += o.image_iou_sum;
  num_images += o.num_images;
  dsb_score_sum += o.dsb_score_sum;
  scored_images += o.scored_images;
}

std::array<double, 7> MetricTotals::to_array() const {
  return {true_positives, false_positives, false_negatives, image_iou_sum,
          num_images,     dsb_score_sum,   scored_images};
}

MetricTotals MetricTotals::from_array(const std::array<double, 7>& v) {
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
}

double MetricTotals::iou() const {
  const double denominator = true_positives + false_positives + false_negatives;
  return denominator == 0 ? 1.0 : true_positives / denominator;
}

double MetricTotals::dice() const {
  const double denominator = 2 * true_positives + false_positives + false_negatives;
  return denominator == 0 ? 1.0 : 2 * true_positives / denominator;
}

double MetricTotals::mean_image_iou() const {
  return num_images == 0 ? 0.0 : image_iou_sum / num_images;
}

double MetricTotals::mean_dsb_score() const {
  return scored_images == 0 ? 0.0 : dsb_score_sum / scored_images;
}

MetricTotals image_metrics(const torch::Tensor& logits, const torch::Tensor& target,
                           double threshold) {
  // sigmoid(x) > t  <=>  x > log(t / (1 - t)); avoids a sigmoid over the whole image.
  const double t = std::clamp(threshold, 1e-7, 1.0 - 1e-7);
  const torch::Tensor predicted = logits > std::log(t / (1.0 - t));
  const torch::Tensor truth = target > 0.5;
  MetricTotals m;
  m.true_positives = static_cast<double>((predicted & truth).sum().item<int64_t>());
  m.false_positives = static_cast<double>((predicted & ~truth).sum().item<int64_t>());
  m.false_negatives = static_cast<double>((~predicted & truth).sum().item<int64_t>());
  m.image_iou_sum = m.iou();
  m.num_images = 1;
  return m;
}

}  // namespace dunet::model
