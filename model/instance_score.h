// The 2018 Data Science Bowl score of one image's nuclei: for each IoU threshold t = 0.50,
// 0.55, ..., 0.95, TP(t) / (TP(t) + FP(t) + FN(t)), where a predicted and a true nucleus match
// when their IoU exceeds t (strictly); the image's score is the mean over the ten thresholds.
// Above 0.5 a nucleus can overlap at most one other by more than half, so counting the pairs
// whose IoU exceeds t is the one-to-one matching. Plain C++: label images in, numbers out.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace dunet::model {

inline constexpr int kDsbThresholds = 10;  // t_k = 0.50 + 0.05 k

struct InstanceScore {
  int64_t true_objects = 0;
  int64_t predicted_objects = 0;
  std::array<int64_t, kDsbThresholds> true_positives{};  // pairs with IoU > t_k

  // The DSB2018 score in [0, 1]. An image with no true and no predicted nucleus scores 1.
  double score() const;
  // predicted_objects - true_objects.
  int64_t count_error() const { return predicted_objects - true_objects; }
};

// The threshold t_k, k in [0, kDsbThresholds).
double dsb_threshold(int k);

// `truth` and `predicted` are label images of the same size (row-major): 0 is background,
// every other value one object (any ids, need not be consecutive). Throws dunet::Error when
// the sizes differ.
InstanceScore dsb_instance_score(const std::vector<int32_t>& truth,
                                 const std::vector<int32_t>& predicted);

}  // namespace dunet::model
