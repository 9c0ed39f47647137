// Segmentation metrics from counts summed over a whole validation set: IoU = TP/(TP+FP+FN)
// (the seed's), Dice = 2TP/(2TP+FP+FN), the mean of per-image IoUs and, where the truth has
// one label per nucleus, the mean DSB2018 score (model/instance_score.h).
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
  double dsb_score_sum = 0;  // sum of per-image DSB2018 scores, over images with nuclei labels
  double scored_images = 0;

  void add(const MetricTotals& other);
  std::array<double, 7> to_array() const;
  static MetricTotals from_array(const std::array<double, 7>& values);

  // An empty prediction of an empty mask is perfect: IoU and Dice are 1 when TP+FP+FN = 0.
  double iou() const;
  double dice() const;
  double mean_image_iou() const;
  double mean_dsb_score() const;  // 0 without scored images
};

// Counts for one image: pixels with sigmoid(logit) > threshold are foreground.
MetricTotals image_metrics(const torch::Tensor& logits, const torch::Tensor& target,
                           double threshold);

}  // namespace dunet::model
