#include "infer/image_tensor.h"

#include <vector>

namespace dunet::infer {

torch::Tensor image_tensor(const data::Image& image, const data::Normalization& norm,
                           const torch::Device& device) {
  std::vector<float> chw = data::normalize_chw(image, norm);
  return torch::from_blob(chw.data(), {1, image.channels, image.height, image.width},
                          torch::kFloat32)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace dunet::infer
