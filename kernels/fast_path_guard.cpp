#include <torch/torch.h>

#include "kernels/cpu_kernels.h"
#include "kernels/fast_paths.h"
#include "kernels/precision.h"

namespace dunet::kernels {

bool cpu_fast_path_applies(const torch::Tensor& x) {
  return kCpuKernelsBuilt && x.defined() && x.is_cpu() && x.scalar_type() == torch::kFloat &&
         !autocast_active(c10::DeviceType::CPU);
}

bool libtorch_convolves_by_onednn() {
  return at::globalContext().userEnabledMkldnn() && at::hasMKLDNN();
}

}  // namespace dunet::kernels
