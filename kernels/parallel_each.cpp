#include "kernels/parallel_each.h"

#include <ATen/Parallel.h>

namespace dunet::kernels {

void parallel_each(int64_t n, const std::function<void(int64_t)>& fn) {
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace dunet::kernels
