// fn(i) for every i in [0, n), split over LibTorch's intra-op threads.
//
// A function, not a template: at::parallel_for is a header template that only runs on
// LibTorch's OpenMP threads when the calling file is compiled with OpenMP (otherwise the whole
// range runs on one thread), so it is called from one file built that way (CMakeLists.txt).
#pragma once

#include <cstdint>
#include <functional>

namespace dunet::kernels {

void parallel_each(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace dunet::kernels
