// Segmentation metrics from counts summed over a whole validation set: IoU = TP/(TP+FP+FN)
// (the seed's), Dice = 2TP/(2TP+FP+FN), and the mean of per-image IoUs.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace dunet::model {

// Sums over images; plain numbers so that ranks can add them with one all-reduce.
struct MetricTotals {
  double true_positives = 0;
  double false_positives = 0;
  double false_negatives = 0;
  double image_iou_sum = 0;  // sum of per-image IoU
  double num_images = 0;

  void add(const MetricTotals& other);
  std::array<double, 5> to_array() const;
  static MetricTotals from_array(const std::array<double, 5>& values);

  // An empty prediction of an empty mask is perfect: IoU and Dice are 1 when TP+FP+FN = 0.
  double iou() const;
  double dice() const;
  double mean_image_iou() const;
};

// Counts for one image: pixels with sigmoid(logit) > threshold are foreground.
MetricTotals image_metrics(const torch::Tensor& logits, const torch::Tensor& target,
                           double threshold);

}  // namespace dunet::model
