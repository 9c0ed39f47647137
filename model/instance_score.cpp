#include "model/instance_score.h"

#include <unordered_map>

#include "core/error.h"

namespace dunet::model {

double dsb_threshold(int k) { return (50.0 + 5.0 * k) / 100.0; }

double InstanceScore::score() const {
  if (true_objects == 0 && predicted_objects == 0) return 1.0;
  double sum = 0;
  for (int k = 0; k < kDsbThresholds; ++k) {
    const auto tp = static_cast<double>(true_positives[static_cast<size_t>(k)]);
    const double fp = static_cast<double>(predicted_objects) - tp;
    const double fn = static_cast<double>(true_objects) - tp;
    sum += tp / (tp + fp + fn);
  }
  return sum / kDsbThresholds;
}

InstanceScore dsb_instance_score(const std::vector<int32_t>& truth,
                                 const std::vector<int32_t>& predicted) {
  DUNET_CHECK(truth.size() == predicted.size(), Error, "instance score: label images of ",
              truth.size(), " and ", predicted.size(), " pixels");
  // Areas of every object, and the overlap of every pair that overlaps at all.
  std::unordered_map<int32_t, int64_t> true_area, predicted_area;
  std::unordered_map<uint64_t, int64_t> overlap;
  for (size_t i = 0; i < truth.size(); ++i) {
    const int32_t t = truth[i], p = predicted[i];
    if (t != 0) ++true_area[t];
    if (p != 0) ++predicted_area[p];
    if (t != 0 && p != 0) {
      ++overlap[(static_cast<uint64_t>(static_cast<uint32_t>(t)) << 32) | static_cast<uint32_t>(p)];
    }
  }
  InstanceScore score;
  score.true_objects = static_cast<int64_t>(true_area.size());
  score.predicted_objects = static_cast<int64_t>(predicted_area.size());
  for (const auto& [key, intersection] : overlap) {
    const auto t = static_cast<int32_t>(key >> 32);
    const auto p = static_cast<int32_t>(key & 0xffffffffu);
    const int64_t united = true_area.at(t) + predicted_area.at(p) - intersection;
    const double iou = static_cast<double>(intersection) / static_cast<double>(united);
    for (int k = 0; k < kDsbThresholds; ++k) {
      if (iou > dsb_threshold(k)) ++score.true_positives[static_cast<size_t>(k)];
    }
  }
  return score;
}

}  // namespace dunet::model
