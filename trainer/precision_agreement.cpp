#include "trainer/precision_agreement.h"

#include <vector>

namespace dunet::trainer {

kernels::Precision agree_on_precision(kernels::Precision local, launcher::Communicator& comm) {
  const std::vector<kernels::Precision> all = {kernels::Precision::kFp32,
                                               kernels::Precision::kBf16,
                                               kernels::Precision::kFp16};
  std::vector<double> votes(all.size(), 0.0);
  for (size_t i = 0; i < all.size(); ++i) votes[i] = all[i] == local ? 1.0 : 0.0;
  const std::vector<double> counts = comm.all_reduce_sum(votes);
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == local) return counts[i] == comm.size() ? local : kernels::Precision::kFp32;
  }
  return kernels::Precision::kFp32;
}

}  // namespace dunet::trainer
